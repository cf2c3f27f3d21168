//! The dashboard without a terminal: app state driven by messages (key -> action -> state), and
//! whole screens rendered on ratatui's `TestBackend` from fixed, synthetic samples, checked with
//! insta snapshots.

// Exact equality of figures is the point of these tests, floats included.
#![allow(clippy::float_cmp)]

use heaplab::runner::Command;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

mod common;
use common::{render, sample};
use heaplab::ui::app::{App, Effect, HISTORY_CAPACITY, SelfCost};
use heaplab::ui::keys::Action;
use heaplab::ui::theme::{ghost_color, variant_color};
use heaplab_experiments::Experiment;
use heaplab_experiments::measure::{FirstOp, Sample};

/// A fixed catalog, so snapshots do not change when experiments are added.
fn catalog() -> &'static [&'static dyn Experiment] {
    let ids = ["buffer-reuse", "string-processing", "struct-layout"];
    let experiments: Vec<&'static dyn Experiment> = ids
        .iter()
        .map(|id| heaplab_experiments::find(id).expect("experiment"))
        .collect();
    Box::leak(experiments.into_boxed_slice())
}

/// Naive for 20 s at 1.2 M ops/s, then optimized for 20 s at 1.5 M ops/s, sampled every 0.5 s.
fn app_after_a_switch() -> App {
    let mut app = App::new(catalog());
    let effects = app.handle(Action::StartStop, 0.0);
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
    for i in 1..=40 {
        let t = f64::from(i) * 0.5;
        app.on_sample(sample(0, 1, t, 1.2e6, 1), t);
    }
    assert_eq!(
        app.handle(Action::SwitchVariant, 20.0),
        vec![Effect::Send(Command::SwitchVariant(1))]
    );
    for i in 1..=40 {
        let t = f64::from(i) * 0.5;
        app.on_sample(sample(1, 2, t, 1.5e6, 0), 20.0 + t);
    }
    app.on_self_cost(SelfCost {
        allocs_per_sec: 1234.0,
        cpu_percent: 1.5,
    });
    app
}

#[test]
fn snapshot_idle_dashboard_lists_experiments_by_section() {
    let app = App::new(catalog());
    insta::assert_snapshot!(render(&app, 120, 36).backend());
}

#[test]
fn snapshot_charts_with_ghost_trace_and_numbers_panel() {
    let app = app_after_a_switch();
    let terminal = render(&app, 120, 36);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn the_naive_ghost_is_muted_and_the_live_optimized_trace_is_bright() {
    let app = app_after_a_switch();
    let terminal = render(&app, 120, 36);
    let buffer = terminal.backend().buffer();
    let traced_in = |color| {
        buffer.content().iter().any(|cell| {
            cell.symbol()
                .chars()
                .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
                && cell.fg == color
        })
    };
    assert!(traced_in(ghost_color(0)), "no naive ghost trace drawn");
    assert!(traced_in(variant_color(1)), "no live optimized trace drawn");
    assert!(
        !traced_in(variant_color(0)),
        "naive drawn as if it were live"
    );
}

#[test]
fn snapshot_help_overlay_lists_every_key_and_the_glossary() {
    let mut app = App::new(catalog());
    app.handle(Action::ToggleHelp, 0.0);
    insta::assert_snapshot!(render(&app, 120, 36).backend());
}

#[test]
fn snapshot_too_small_terminal() {
    let app = app_after_a_switch();
    insta::assert_snapshot!(render(&app, 60, 12).backend());
    // Down to 20x5 (and below): no panic, a message.
    for (w, h) in [(20, 5), (1, 1), (79, 24), (80, 23)] {
        let text = format!("{}", render(&app, w, h).backend());
        assert!(w < 20 || text.contains("heaplab"), "{w}x{h}:\n{text}");
    }
}

#[test]
fn numbers_and_ratios_come_from_the_samples() {
    let app = app_after_a_switch();
    let naive = app.stats[0].expect("naive figures");
    let optimized = app.stats[1].expect("optimized figures");
    assert_eq!(naive.allocs_per_op(), 1.0);
    assert_eq!(optimized.allocs_per_op(), 0.0);
    assert_eq!(naive.bytes_per_op(), 2048.0);
    let comparison = &app.comparisons[0];
    assert_eq!(comparison.allocs, "100% fewer allocs/op");
    assert_eq!(comparison.speed, "1.25x faster (1.25-1.25)");
    assert_eq!(comparison.peak, "+1% peak heap");
    // Rates come from consecutive samples of one epoch: 1.2 M allocs/s while naive ran.
    let naive_rates: Vec<f64> = app
        .history
        .iter()
        .filter(|p| p.variant == 0 && p.allocs_per_sec.is_finite())
        .map(|p| p.allocs_per_sec)
        .collect();
    assert_eq!(
        naive_rates.len(),
        39,
        "the first sample of an epoch has no rate"
    );
    assert!(
        naive_rates.iter().all(|r| (r - 1.2e6).abs() < 3.0),
        "{naive_rates:?}"
    );
}

#[test]
fn o_shows_each_variants_first_operation_cold() {
    let mut app = App::new(catalog());
    app.handle(Action::StartStop, 0.0);
    let first = FirstOp {
        allocs: 11,
        reallocs: 2,
        bytes_allocated: 1400,
        ns: 38_200,
    };
    for i in 1..=4 {
        let t = f64::from(i) * 0.5;
        let s = Sample {
            first_op: Some(first),
            ..sample(0, 1, t, 1.2e6, 1)
        };
        app.on_sample(s, t);
    }
    let steady = common::screen(&app, 120, 30);
    assert!(
        !steady.contains("11 +2r") && !steady.contains("first op"),
        "{steady}"
    );
    app.handle(Action::ToggleFirstOp, 2.0);
    let cold = common::screen(&app, 120, 30);
    for shown in ["first op, cold (o: steady)", "11 +2r", "1400", "38200"] {
        assert!(cold.contains(shown), "{shown} in\n{cold}");
    }
    // At 80x24 the table is narrower, the first op still there.
    let small = common::screen(&app, 80, 24);
    assert!(
        small.contains("first op") && small.contains("11"),
        "{small}"
    );
    app.handle(Action::ToggleFirstOp, 3.0);
    let back = common::screen(&app, 120, 30);
    assert!(!back.contains("11 +2r") && !back.contains("first op") && back.contains("1.00"));
}

#[test]
fn keys_drive_the_state() {
    let mut app = App::new(catalog());
    assert!(app.handle(Action::SelectPrevious, 0.0).is_empty());
    assert_eq!(app.selected, 0);
    app.handle(Action::SelectNext, 0.0);
    app.handle(Action::SelectNext, 0.0);
    app.handle(Action::SelectNext, 0.0);
    assert_eq!(app.selected, 2, "selection stops at the last experiment");
    app.handle(Action::SelectPrevious, 0.0);
    assert_eq!(app.selected, 1);

    // Nothing running: variant, pause and size keys do nothing but say why.
    assert!(app.handle(Action::SwitchVariant, 0.0).is_empty());
    assert!(app.notice.is_some());
    assert!(app.handle(Action::TogglePause, 0.0).is_empty());

    let started = app.handle(Action::StartStop, 1.0);
    assert!(matches!(
        started[..],
        [Effect::Start {
            experiment: 1,
            variant: 0,
            size: 10_000,
            budget: None,
            input: None,
        }]
    ));
    assert_eq!(
        app.handle(Action::TogglePause, 1.0),
        vec![Effect::Send(Command::Pause)]
    );
    assert_eq!(
        app.handle(Action::TogglePause, 1.0),
        vec![Effect::Send(Command::Resume)]
    );
    assert_eq!(
        app.handle(Action::LargerWorkload, 1.0),
        vec![Effect::Send(Command::SetSize(20_000))]
    );
    assert_eq!(
        app.handle(Action::SmallerWorkload, 1.0),
        vec![Effect::Send(Command::SetSize(10_000))]
    );

    // Window: 60 s by default, 10 s .. 10 min.
    assert_eq!(app.window_secs(), 60.0);
    for _ in 0..10 {
        app.handle(Action::WiderWindow, 1.0);
    }
    assert_eq!(app.window_secs(), 600.0);
    for _ in 0..10 {
        app.handle(Action::NarrowerWindow, 1.0);
    }
    assert_eq!(app.window_secs(), 10.0);

    // Freeze pins the chart's end; the experiment keeps running.
    app.handle(Action::ToggleFreeze, 30.0);
    app.tick(45.0);
    assert_eq!(app.chart_span(), (20.0, 30.0));
    app.handle(Action::ToggleFreeze, 45.0);
    assert_eq!(app.chart_span(), (35.0, 45.0));

    // Help swallows other keys; Esc closes it; Esc again never quits; q quits and stops the
    // runner.
    app.handle(Action::ToggleHelp, 50.0);
    assert!(app.handle(Action::SwitchVariant, 50.0).is_empty());
    app.handle(Action::Back, 50.0);
    assert!(!app.help.open && !app.quit);
    assert!(app.handle(Action::Back, 50.0).is_empty());
    assert!(!app.quit);
    assert_eq!(app.handle(Action::Quit, 50.0), vec![Effect::Stop]);
    assert!(app.quit);
}

#[test]
fn enter_stops_the_running_experiment_and_starts_another() {
    let mut app = App::new(catalog());
    app.handle(Action::StartStop, 0.0);
    assert_eq!(app.handle(Action::StartStop, 1.0), vec![Effect::Stop]);
    assert!(app.running.is_none());
    app.handle(Action::StartStop, 2.0);
    app.handle(Action::SelectNext, 2.0);
    let effects = app.handle(Action::StartStop, 3.0);
    assert!(
        matches!(effects[..], [Effect::Start { experiment: 1, .. }]),
        "{effects:?}"
    );
}

#[test]
fn compare_mode_alternates_variants_every_few_seconds() {
    let mut app = App::new(catalog());
    app.handle(Action::StartStop, 0.0);
    app.handle(Action::ToggleCompare, 0.0);
    assert!(app.tick(4.0).is_empty());
    assert_eq!(app.tick(5.0), vec![Effect::Send(Command::SwitchVariant(1))]);
    assert!(app.tick(9.0).is_empty());
    // buffer-reuse has three variants: naive, optimized, crate, then naive again.
    assert_eq!(
        app.tick(10.0),
        vec![Effect::Send(Command::SwitchVariant(2))]
    );
    assert_eq!(
        app.tick(15.0),
        vec![Effect::Send(Command::SwitchVariant(0))]
    );
    app.handle(Action::ToggleCompare, 16.0);
    assert!(app.tick(30.0).is_empty());
}

#[test]
fn history_is_bounded_however_long_it_runs() {
    let mut app = App::new(catalog());
    app.handle(Action::StartStop, 0.0);
    for i in 1..=(HISTORY_CAPACITY as u32 * 2) {
        let t = f64::from(i) * 0.1;
        app.on_sample(sample(0, 1, t, 1e6, 1), t);
    }
    assert_eq!(app.history.len(), HISTORY_CAPACITY);
    assert_eq!(app.history.capacity(), HISTORY_CAPACITY.next_power_of_two());
}

#[test]
fn a_worker_that_dies_is_reported_and_samples_of_others_are_ignored() {
    let mut app = App::new(catalog());
    app.handle(Action::StartStop, 0.0);
    let mut stray = sample(0, 1, 1.0, 1e6, 1);
    stray.experiment = "struct-layout";
    app.on_sample(stray, 1.0);
    assert!(
        app.history.is_empty(),
        "a stopped runner's late sample was charted"
    );
    app.on_worker_exited("buffer-reuse", Some("the experiment panicked: boom".into()));
    assert!(app.running.is_none());
    assert_eq!(
        app.notice.as_deref(),
        Some("buffer-reuse stopped: the experiment panicked: boom")
    );
}

#[test]
fn the_readmes_key_table_is_the_key_table() {
    // The README's table is the one the help overlay draws from, word for word.
    // `HEAPLAB_BLESS=1 cargo test --test ui readme` writes it into the README.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README");
    let start = readme
        .find("| key | does |")
        .expect("the README has a key table");
    let end = readme[start..]
        .find("\n\n")
        .map_or(readme.len(), |at| start + at + 1);
    let table = heaplab::ui::keys::markdown_table();
    if std::env::var_os("HEAPLAB_BLESS").is_some() {
        let updated = format!("{}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).expect("README written");
    } else {
        assert_eq!(
            readme[start..end],
            table,
            "the README's key table differs from the keys (HEAPLAB_BLESS=1 rewrites it)"
        );
    }
}
