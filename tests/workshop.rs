//! The workshop views on ratatui's `TestBackend`, checked with insta snapshots: source side by
//! side (and stacked at 80 columns), the layout inspector, the zero-allocation badge, a tour
//! step and presenter mode.

use heaplab::runner::Command;
use heaplab::scorecard::Verdict;
use heaplab::ui::app::{App, Effect};
use heaplab::ui::keys::Action;
use heaplab::ui::tour::{self, Stage, TourMode};
use heaplab::ui::workshop::View;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

mod common;
use common::{catalog, render, sample, select};

#[test]
fn snapshot_source_view_side_by_side() {
    let mut app = App::new(catalog());
    app.handle(Action::ToggleSource, 0.0);
    assert_eq!(app.workshop.view, View::Source);
    insta::assert_snapshot!(render(&app, 120, 36).backend());
}

#[test]
fn snapshot_source_view_stacks_at_80_columns_and_scrolls() {
    let mut app = App::new(catalog());
    select(&mut app, "string-processing");
    app.handle(Action::ToggleSource, 0.0);
    for _ in 0..3 {
        app.handle(Action::SelectNext, 0.0);
    }
    assert_eq!(app.workshop.source.scroll, 3);
    assert_eq!(app.selected, 1, "arrows scroll the view, not the list");
    insta::assert_snapshot!(render(&app, 80, 24).backend());
    app.handle(Action::Back, 0.0);
    assert_eq!(app.workshop.view, View::Dashboard);
    assert!(!app.quit, "Esc closes the view first");
}

#[test]
fn the_source_view_scrolls_sideways_to_the_end_of_long_lines() {
    let mut app = App::new(catalog());
    app.handle(Action::ToggleSource, 0.0);
    let text = |app: &App| {
        // buffer-reuse's three panes side by side, 60 columns each.
        let terminal = render(app, 180, 36);
        terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(ratatui::buffer::Cell::symbol)
            .collect::<String>()
    };
    // The optimized pane is 58 columns inside: its assert's message is cut, and says so.
    let start = text(&app);
    assert!(!start.contains("too small"), "{start}");
    assert!(start.contains("\"output buf›"));
    app.handle(Action::ScrollLeft, 0.0);
    assert_eq!(
        app.workshop.source.hscroll, 0,
        "nothing to the left of column 1"
    );
    for _ in 0..3 {
        app.handle(Action::ScrollRight, 0.0);
    }
    assert_eq!(app.workshop.source.hscroll, 24);
    let moved = text(&app);
    assert!(moved.contains("\"output buffer too small\");"), "{moved}");
    assert!(moved.contains("(from column 25)"));
    // No further than the widest line's last character.
    for _ in 0..100 {
        app.handle(Action::ScrollRight, 0.0);
    }
    let widest = app
        .workshop
        .source
        .pane
        .as_ref()
        .map_or(0, heaplab::ui::source_view::SourcePane::widest);
    assert_eq!(usize::from(app.workshop.source.hscroll), widest - 1);
    // Closing the view and opening it again starts from the left.
    app.handle(Action::Back, 0.0);
    app.handle(Action::ScrollRight, 0.0);
    app.handle(Action::ToggleSource, 0.0);
    assert_eq!(app.workshop.source.hscroll, 0);
}

#[test]
fn snapshot_layout_inspector_struct_layout() {
    let mut app = App::new(catalog());
    select(&mut app, "struct-layout");
    app.handle(Action::ToggleLayout, 0.0);
    assert_eq!(app.workshop.view, View::Layout);
    insta::assert_snapshot!(render(&app, 120, 36).backend());
}

#[test]
fn snapshot_layout_inspector_inline_storage_at_80_columns() {
    let mut app = App::new(catalog());
    select(&mut app, "inline-storage");
    app.handle(Action::ToggleLayout, 0.0);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn the_inspector_shows_what_the_experiment_reports_and_says_so_when_there_is_nothing() {
    let mut app = App::new(catalog());
    select(&mut app, "struct-layout");
    app.handle(Action::ToggleLayout, 0.0);
    let text = format!("{}", render(&app, 120, 36).backend());
    for layout in catalog()[app.selected].layouts() {
        assert!(
            text.contains(&format!(
                "{}  {} B, align {}, {} B padding",
                layout.name,
                layout.size,
                layout.align,
                layout.padding()
            )),
            "{text}"
        );
        for field in &layout.fields {
            assert!(text.contains(&format!(
                "{} @{} ({} B)",
                field.ty, field.offset, field.size
            )));
        }
    }
    assert!(
        text.contains("22.9 MiB") && text.contains("15.3 MiB"),
        "{text}"
    );

    app.handle(Action::Back, 0.0);
    app.handle(Action::SelectPrevious, 0.0);
    app.handle(Action::ToggleLayout, 0.0);
    let text = format!("{}", render(&app, 120, 36).backend());
    assert!(text.contains("compares no struct layouts"), "{text}");
}

/// Feeds `variant`'s samples every half second from `from` to `to` (dashboard time).
fn feed(app: &mut App, variant: usize, epoch: u64, from: f64, to: f64, rate: f64, allocs: u64) {
    let mut t = from + 0.5;
    while t <= to + 1e-9 {
        app.on_sample(sample(variant, epoch, t - from, rate, allocs), t);
        t += 0.5;
    }
}

/// A manual tour of buffer-reuse taken to its result.
fn tour_at_result() -> App {
    let mut app = App::new(catalog());
    let effects = app.start_tour(TourMode::Manual, 0, 0.0);
    assert_eq!(
        effects,
        vec![Effect::Start {
            experiment: 0,
            variant: 0,
            size: 1024,
            budget: None,
            input: None,
        }]
    );
    feed(&mut app, 0, 1, 0.0, 5.0, 1.2e6, 1);
    assert!(app.tick(5.0).is_empty(), "naive runs its full time");
    feed(&mut app, 0, 1, 5.0, 6.5, 1.2e6, 1);
    assert_eq!(app.tick(6.5), vec![Effect::Send(Command::SwitchVariant(1))]);
    feed(&mut app, 1, 2, 6.5, 12.0, 2.4e6, 0);
    assert!(app.tick(12.0).is_empty());
    feed(&mut app, 1, 2, 12.0, 13.0, 2.4e6, 0);
    assert!(app.tick(13.0).is_empty());
    app
}

#[test]
fn the_tour_runs_naive_then_optimized_then_judges_against_the_targets() {
    let mut app = tour_at_result();
    let tour = app.workshop.tour.clone().expect("touring");
    let Stage::Result(Some(score)) = tour.stage else {
        panic!("at the result: {tour:?}")
    };
    // buffer-reuse claims zero allocations: 1.00 -> 0.00/op is met, exactly.
    assert_eq!(score.allocations.verdict, Verdict::Met);
    assert_eq!(score.allocations.target, "exactly 0/op");
    // The speed-up over the steady-state intervals, as the verdict line tests it.
    assert_eq!(score.throughput.measured, "2.00x (2.00-2.00)");
    // Manual mode waits at the result however long.
    assert!(app.tick(600.0).is_empty());
    assert_eq!(
        app.handle(Action::TourNext, 600.0),
        vec![Effect::Start {
            experiment: 1,
            variant: 0,
            size: 10_000,
            budget: None,
            input: None,
        }]
    );
    assert!(matches!(
        app.handle(Action::TourPrevious, 601.0)[..],
        [Effect::Start { experiment: 0, .. }]
    ));
    // Back from the first step is the last.
    assert!(matches!(
        app.handle(Action::TourPrevious, 602.0)[..],
        [Effect::Start { experiment: 13, .. }]
    ));
    app.handle(Action::ToggleTour, 603.0);
    assert!(app.workshop.tour.is_none(), "t ends the tour");
}

#[test]
fn auto_mode_moves_on_by_itself_and_loops() {
    let mut app = App::new(catalog());
    app.start_tour(TourMode::Auto, 13, 0.0);
    if let Some(tour) = app.workshop.tour.as_mut() {
        tour.stage = Stage::Result(None);
        tour.since = 0.0;
    }
    assert!(app.tick(tour::AUTO_RESULT_SECS - 0.1).is_empty());
    assert!(matches!(
        app.tick(tour::AUTO_RESULT_SECS)[..],
        [Effect::Start { experiment: 0, .. }]
    ));
}

#[test]
fn snapshot_tour_step_at_its_result() {
    let app = tour_at_result();
    insta::assert_snapshot!(render(&app, 120, 36).backend());
}

#[test]
fn snapshot_zero_allocation_badge() {
    let mut app = App::new(catalog());
    app.handle(Action::StartStop, 0.0);
    app.handle(Action::SwitchVariant, 0.0);
    // 999 operations without an allocation: not yet.
    app.on_sample(sample(1, 2, 0.5, 1998.0, 0), 0.5);
    assert!(!app.workshop.streak.earned());
    app.on_sample(sample(1, 2, 1.0, 1998.0, 0), 1.0);
    assert!(app.workshop.streak.earned());
    insta::assert_snapshot!(render(&app, 100, 24).backend());
}

/// buffer-reuse, naive then optimized, as the dashboard sees it after a switch.
fn app_after_a_switch() -> App {
    let mut app = App::new(catalog());
    app.handle(Action::StartStop, 0.0);
    feed(&mut app, 0, 1, 0.0, 10.0, 1.2e6, 1);
    app.handle(Action::SwitchVariant, 10.0);
    feed(&mut app, 1, 2, 10.0, 20.0, 2.4e6, 0);
    app
}

#[test]
fn snapshot_presenter_mode() {
    let mut app = app_after_a_switch();
    app.workshop.presenter = true;
    let figure = heaplab::ui::presenter::key_figure(&app);
    assert_eq!(figure.big, "0 allocs/op");
    assert_eq!(
        figure.caption,
        "allocations per operation: naive 1.00 → optimized 0.00"
    );
    insta::assert_snapshot!(render(&app, 120, 36).backend());
}

#[test]
fn snapshot_presenter_mode_at_80_columns() {
    let mut app = app_after_a_switch();
    app.workshop.presenter = true;
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn no_color_draws_no_colour_at_all() {
    for presenter in [false, true] {
        let mut app = app_after_a_switch();
        app.workshop.presenter = presenter;
        app.workshop.no_color = true;
        let terminal = render(&app, 120, 36);
        let coloured: Vec<_> = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .filter(|c| {
                c.fg != ratatui::style::Color::Reset || c.bg != ratatui::style::Color::Reset
            })
            .map(|c| c.symbol().to_owned())
            .collect();
        assert!(coloured.is_empty(), "coloured cells: {coloured:?}");
        // Without colour the text is all still there.
        let text = format!("{}", terminal.backend());
        assert!(text.contains("allocs/op"), "{text}");
    }
}

#[test]
fn every_figure_on_screen_has_a_glossary_entry() {
    use heaplab::ui::glossary::GLOSSARY;
    let terms: Vec<&str> = GLOSSARY.iter().map(|(term, _)| *term).collect();
    let text = format!("{}", render(&app_after_a_switch(), 120, 36).backend());
    // Chart titles and column headers as drawn, each explained.
    for shown in [
        "allocation rate",
        "bytes allocated",
        "worker heap",
        "live",
        "peak",
        "heap",
        "RSS",
        "throughput",
        "bytes processed",
        "allocs/op",
        "bytes/op",
        "ns/op",
        "peak heap",
        "vs naive",
        "✔ 0 allocs/op",
        "heaplab: ",
    ] {
        assert!(text.contains(shown), "{shown} is not on screen:\n{text}");
    }
    for term in [
        "allocation rate",
        "bytes allocated",
        "worker heap",
        "live heap",
        "peak heap",
        "process heap",
        "RSS",
        "throughput",
        "processed",
        "allocs/op",
        "bytes/op",
        "ns/op",
        "vs naive",
        "✔ 0 allocs/op",
        "ghost",
        "heaplab: N",
        "window",
        "gutter",
        "sites",
        "size, align",
        "░ padding",
        "met, NOT MET",
        "big figure",
    ] {
        assert!(terms.contains(&term), "no glossary entry for {term}");
    }
    // RSS is explained against the live heap.
    let rss = GLOSSARY.iter().find(|(t, _)| *t == "RSS").expect("RSS").1;
    assert!(rss.contains("live heap"), "{rss}");
}

#[test]
fn the_help_overlay_scrolls_to_the_end_of_the_glossary() {
    let mut app = App::new(catalog());
    app.handle(Action::ToggleHelp, 0.0);
    let first = format!("{}", render(&app, 80, 24).backend());
    assert!(first.contains("select the experiment above"), "{first}");
    for _ in 0..200 {
        app.handle(Action::SelectNext, 0.0);
    }
    assert_eq!(app.selected, 0, "arrows scroll the help, not the list");
    let last = format!("{}", render(&app, 80, 24).backend());
    assert!(last.contains("big figure"), "{last}");
}

/// string-processing's rows with their sites, measured in this process exactly as
/// `heaplab bench string-processing --sites --iterations 5 --sites-ops 5` measures them (the
/// replay asked for all five operations, however slow the machine).
fn string_processing_sites() -> Vec<heaplab::results::VariantRow> {
    use heaplab::bench::{self, Isolation, VariantChoice};
    let mut plan = bench::plan(
        &["string-processing".to_owned()],
        &VariantChoice::All,
        None,
        heaplab_experiments::measure::Stop::Iterations(5),
    )
    .expect("a plan");
    plan.runs = 1;
    plan.sites = true;
    plan.sites_ops = Some(5);
    bench::run(&plan, &Isolation::InProcess, |_| {}).expect("measured")
}

/// The dashboard running string-processing's optimized variant after its naive one, each
/// with the sites of `rows`.
fn measured_app(rows: &[heaplab::results::VariantRow]) -> App {
    let mut app = App::new(catalog());
    select(&mut app, "string-processing");
    app.handle(Action::StartStop, 0.0);
    app.on_sites(
        0,
        std::sync::Arc::new(rows[0].sites.clone().expect("sites")),
    );
    app.handle(Action::SwitchVariant, 1.0);
    app.on_sites(
        1,
        std::sync::Arc::new(rows[1].sites.clone().expect("sites")),
    );
    app
}

fn screen_text(app: &App, width: u16, height: u16) -> Vec<String> {
    let terminal = render(app, width, height);
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

#[test]
fn the_gutter_shows_what_bench_sites_measured_on_each_line() {
    let rows = string_processing_sites();
    let mut app = measured_app(&rows);
    app.handle(Action::ToggleSource, 2.0);
    assert_eq!(app.workshop.view, View::Source);
    insta::assert_snapshot!(render(&app, 120, 36).backend());
    // Wide panes show bytes/op too; each measured line's gutter has bench's figure.
    let info = heaplab::catalog::find("string-processing")
        .expect("exists")
        .info();
    let screen = screen_text(&app, 240, 60);
    let naive = rows[0].sites.as_ref().expect("sites");
    let mut checked = 0;
    for site in &naive.sites {
        let code = info
            .source
            .lines()
            .nth(site.line as usize - 1)
            .expect("line");
        let Some(row) = screen.iter().find(|row| row.contains(code.trim())) else {
            continue; // a line outside the variant's marked region
        };
        let figure = format!("{:.2}", site.allocs_per_op);
        assert!(
            row.contains(&figure),
            "{figure} not in the gutter of:\n{row}"
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} sites shown");
    assert!(
        screen
            .iter()
            .any(|row| row.contains("measured: 0 allocs/op over 5 ops")),
        "the optimized pane says it allocates nowhere"
    );
}

#[test]
fn the_sites_view_shows_the_running_variant_beside_the_last_one() {
    let rows = string_processing_sites();
    let mut app = measured_app(&rows);
    app.handle(Action::ToggleSites, 2.0);
    assert_eq!(app.workshop.view, View::Sites);
    insta::assert_snapshot!("sites_view_120x36", render(&app, 120, 36).backend());
    insta::assert_snapshot!("sites_view_80x24", render(&app, 80, 24).backend());
    // The naive column holds bench's figures; optimized's are all zero.
    let screen = screen_text(&app, 160, 40).join("\n");
    let naive = rows[0].sites.as_ref().expect("sites");
    for site in naive.sites.iter().take(10) {
        let location = site.location();
        let row = screen
            .lines()
            .find(|row| row.contains(&location))
            .unwrap_or_else(|| panic!("{location} not listed:\n{screen}"));
        assert!(row.contains(&format!("{:.2}", site.allocs_per_op)), "{row}");
    }
    assert!(
        screen.contains("the sites add up to 0.00 allocs/op"),
        "{screen}"
    );
    // ↓ and Enter: the selected site's whole stack.
    app.handle(Action::SelectNext, 3.0);
    app.handle(Action::StartStop, 3.0);
    assert!(app.workshop.sites.stack_open);
    assert!(
        app.running.is_some(),
        "Enter in this view does not stop the run"
    );
    let screen = screen_text(&app, 160, 40).join("\n");
    assert!(
        screen.contains("stack of chapter/string_processing.rs:"),
        "{screen}"
    );
    assert!(screen.contains("normalize_record"), "{screen}");
}

#[test]
fn opening_a_sites_view_asks_the_worker_for_sites_and_closing_it_stops() {
    let mut app = App::new(catalog());
    app.handle(Action::StartStop, 0.0);
    let effects = app.handle(Action::ToggleSites, 1.0);
    assert!(
        effects.contains(&Effect::Send(Command::Sites(true))),
        "{effects:?}"
    );
    // Closed, then the source view opened: its gutters want sites again.
    app.handle(Action::ToggleSites, 1.0);
    let effects = app.handle(Action::ToggleSource, 1.0);
    assert!(
        effects.contains(&Effect::Send(Command::Sites(true))),
        "{effects:?}"
    );
    let effects = app.handle(Action::Back, 2.0);
    assert!(
        effects.contains(&Effect::Send(Command::Sites(false))),
        "{effects:?}"
    );
}

#[test]
fn a_view_opened_scrolled_and_closed_leaves_the_tours_why_where_it_was() {
    // Each view keeps its own place: scrolling the source, layout or sites view must not move
    // the tour's why, which is drawn again when the view closes.
    let down = Action::SelectNext;
    let tour = |keys: &[Action]| {
        let mut app = App::new(catalog());
        app.start_tour(TourMode::Manual, 0, 0.0);
        for &key in keys {
            app.handle(key, 0.0);
        }
        screen_text(&app, 80, 24)
    };
    let scrolled = tour(&[down, down]);
    assert_ne!(scrolled, tour(&[]), "the why scrolls at 80x24");
    assert_ne!(
        scrolled,
        tour(&[down; 5]),
        "and has more than two lines to scroll"
    );
    for open in [
        Action::ToggleSource,
        Action::ToggleLayout,
        Action::ToggleSites,
    ] {
        let mut keys = vec![down, down, open];
        keys.extend([down; 3]);
        keys.push(Action::Back);
        assert_eq!(tour(&keys), scrolled, "after {open:?}, ↓ x3 and Esc");
    }
}
