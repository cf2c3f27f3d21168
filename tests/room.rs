//! What a presenter hit (issue "The dashboard, fit for a room"): each fix here has a test that
//! failed before it. The dashboard's state driven by messages, screens on ratatui's
//! `TestBackend`.

// Exact equality of figures is the point of these tests, floats included.
#![allow(clippy::float_cmp)]

use std::time::Duration;

use heaplab::runner::Phase;
use heaplab::ui::app::{App, Effect};
use heaplab::ui::keys::Action;
use heaplab::ui::workshop::View;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

mod common;
use common::{catalog, render, sample, screen, select};

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.budget_key(&KeyEvent::from(KeyCode::Char(c)));
    }
}

/// Item 1: `b` draws a prompt that starts empty, shows what is typed and how to cancel; typing
/// a budget over one in force replaces it (it used to append: 64 B then `1MiB` set 641 MiB).
#[test]
fn the_budget_prompt_is_visible_starts_empty_and_replaces_the_budget() {
    let mut app = App::new(catalog());
    app.budget = Some(64);
    app.handle(Action::SetBudget, 0.0);
    assert_eq!(
        app.budget_prompt.typed(),
        Some(""),
        "the prompt starts empty"
    );
    typed(&mut app, "1MiB");
    let text = screen(&app, 80, 24);
    assert!(text.contains("memory budget"), "{text}");
    assert!(
        text.contains("budget: 1MiB"),
        "what is typed is shown:\n{text}"
    );
    assert!(
        text.contains("now 64 B"),
        "the budget in force is a hint:\n{text}"
    );
    assert!(text.contains("Esc cancels"), "{text}");
    insta::assert_snapshot!(render(&app, 80, 24).backend());
    app.budget_key(&KeyEvent::from(KeyCode::Enter));
    assert_eq!(app.budget, Some(1 << 20));
    assert!(!app.budget_prompt.is_open());
    assert!(
        !screen(&app, 80, 24).contains("Esc cancels"),
        "the prompt closed"
    );

    // Esc cancels, leaving the budget alone.
    app.handle(Action::SetBudget, 0.0);
    typed(&mut app, "9GiB");
    app.budget_key(&KeyEvent::from(KeyCode::Esc));
    assert_eq!(app.budget, Some(1 << 20));
}

/// Item 2: the newest sample is at "now" from the first second, not at "-55s".
#[test]
fn the_newest_sample_is_drawn_at_now_from_the_start() {
    let mut app = App::new(catalog());
    app.handle(Action::StartStop, 0.0);
    for i in 1..=10 {
        let t = f64::from(i) * 0.5;
        app.on_sample(sample(0, 1, t, 1.0e6, 1), t);
    }
    let (start, end) = app.chart_span();
    assert_eq!(end, 5.0, "the span ends at the newest sample");
    assert_eq!(start, end - app.window_secs());
    // The trace sits at the right edge of the chart: braille in the column just left of the
    // border, in the allocation-rate chart's rows.
    let terminal = render(&app, 120, 36);
    let buffer = terminal.backend().buffer();
    let braille = |x: u16, y: u16| {
        buffer[(x, y)]
            .symbol()
            .chars()
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
    };
    // The allocation-rate chart spans columns 34 to 76 (the list takes 34): its trace
    // must sit in its right half.
    let xs: Vec<u16> = (34..77)
        .filter(|&x| (1..9).any(|y| braille(x, y)))
        .collect();
    assert!(!xs.is_empty(), "no trace:\n{}", terminal.backend());
    assert!(
        xs.iter().all(|&x| x > 60),
        "a 5 s run drawn away from now, at columns {xs:?}:\n{}",
        terminal.backend()
    );
}

/// Item 4: `s` and `l` show the selected experiment, even while another one runs.
#[test]
fn source_and_layout_show_the_selected_experiment_not_the_running_one() {
    let mut app = App::new(catalog());
    select(&mut app, "string-processing");
    app.handle(Action::StartStop, 0.0);
    select(&mut app, "struct-layout");
    app.handle(Action::ToggleLayout, 0.0);
    assert_eq!(app.workshop.view, View::Layout);
    let text = screen(&app, 120, 36);
    assert!(
        text.contains("BadStruct") && !text.contains("compares no struct layouts"),
        "{text}"
    );
    app.handle(Action::Back, 0.0);
    app.handle(Action::ToggleSource, 0.0);
    let text = screen(&app, 120, 36);
    assert!(text.contains(" source · struct-layout · "), "{text}");
}

/// Item 8: after a stop over budget, the table's peak is the run's peak, as the chart's.
#[test]
fn after_a_stop_over_budget_every_view_says_the_same_peak() {
    let mut app = App::new(catalog());
    select(&mut app, "bounded-cache");
    app.handle(Action::StartStop, 0.0);
    let running = |ops: u64, peak: u64| {
        let mut s = sample(0, 1, 0.5, 1.0e6, 0);
        s.experiment = "bounded-cache";
        s.ops = ops;
        s.peak_heap_bytes = peak;
        s
    };
    app.on_sample(running(1000, 56 << 20), 0.5);
    let mut over = running(1200, 70 << 20);
    over.phase = Phase::OverBudget {
        live_bytes: 70 << 20,
        after: Duration::from_millis(200),
    };
    app.on_sample(over, 0.7);
    let stats = app.stats[0].expect("figures");
    assert_eq!(stats.peak_heap_bytes, 70 << 20);
    let text = screen(&app, 140, 45);
    let table = text
        .lines()
        .find(|l| l.contains("│naive "))
        .unwrap_or_else(|| panic!("no naive row:\n{text}"));
    assert!(table.contains("70.0 MiB"), "{table}");
    assert!(
        !text.contains("56.0 MiB"),
        "a stale peak is on screen:\n{text}"
    );
}

/// Item 10: `e` with nothing run refuses and says why; a stopped experiment shows no rate.
#[test]
fn nothing_to_export_is_refused_and_stopped_means_stopped() {
    let mut app = App::new(catalog());
    let effects = app.handle(Action::Export, 0.0);
    assert!(!effects.contains(&Effect::Export), "{effects:?}");
    assert!(
        app.notice
            .as_deref()
            .is_some_and(|n| n.contains("nothing to export")),
        "{:?}",
        app.notice
    );

    app.handle(Action::StartStop, 0.0);
    for i in 1..=6 {
        let t = f64::from(i) * 0.5;
        app.on_sample(sample(0, 1, t, 21.0e6, 1), t);
    }
    assert!(screen(&app, 120, 36).contains("allocation rate: 21.0 M/s"));
    assert_eq!(app.handle(Action::Export, 3.0), vec![Effect::Export]);
    app.handle(Action::StartStop, 3.5); // Enter on the running experiment stops it
    let text = screen(&app, 120, 36);
    assert!(text.contains("allocation rate: stopped"), "{text}");
    assert!(!text.contains("21.0 M/s"), "{text}");
}

/// Item 7: a long message is shown whole (wrapped on lines of its own), and the key hints are
/// whole words or absent, never cut to `b b`.
#[test]
fn long_messages_wrap_and_key_hints_are_never_cut() {
    let mut app = App::new(catalog());
    let message = "bounded-cache naive stopped: over budget at 70.1 MiB (73500000 bytes) after \
                   30.4 s; its memory was returned (Space, [ ] or b to go on)";
    app.notice = Some(message.to_owned());
    for (width, height) in [(80, 24), (140, 45)] {
        let text = screen(&app, width, height);
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for word in message.split_whitespace() {
            assert!(
                flat.contains(word),
                "`{word}` is missing at {width}x{height}:\n{text}"
            );
        }
        let status = text.lines().last().expect("a status line");
        assert!(status.contains("q/Ctrl-C quit"), "{status}");
        assert!(status.contains("? help"), "{status}");
        let words: Vec<&str> = status.split_whitespace().collect();
        assert!(
            !words.windows(2).any(|w| w == ["b", "b"]),
            "a cut hint: {status}"
        );
    }
}

/// channel-pool after all five variants ran, the fifth (too-large) running.
fn channel_pool_on_its_fifth_variant() -> App {
    let mut app = App::new(catalog());
    select(&mut app, "channel-pool");
    app.handle(Action::StartStop, 0.0);
    let names = [
        "naive",
        "optimized",
        "too-small",
        "alloc-on-empty",
        "too-large",
    ];
    for (v, name) in names.iter().enumerate() {
        if v > 0 {
            app.handle(Action::SwitchVariant, 10.0 * v as f64);
        }
        for i in 1..=20 {
            let t = f64::from(i) * 0.5;
            let mut s = sample(
                0,
                v as u64 + 1,
                t,
                195_000.0 * (v as f64 + 1.0),
                u64::from(v == 0),
            );
            s.experiment = "channel-pool";
            s.variant = name;
            s.variant_index = v;
            s.size = 65536;
            s.peak_heap_bytes = 1 << (20 + v);
            app.on_sample(s, 10.0 * v as f64 + t);
        }
    }
    app
}

/// Item 3: at 80x24 and at 140x45 no title, legend or verdict is cut (text shortens by
/// dropping words, each ends before the border with a space), axis labels do not run into
/// each other, headers are whole, and the running fifth variant has its row.
#[test]
fn at_80x24_and_140x45_nothing_is_cut_and_the_running_variant_has_its_row() {
    let app = channel_pool_on_its_fifth_variant();
    for (width, height) in [(80, 24), (140, 45)] {
        let text = screen(&app, width, height);
        for line in text.lines().filter(|l| l.contains('╭') || l.contains('╰')) {
            let chars: Vec<char> = line.chars().collect();
            for pair in chars.windows(2) {
                assert!(
                    !(pair[0].is_alphanumeric() && matches!(pair[1], '─' | '╮' | '╯' | '═')),
                    "text cut at the border at {width}x{height}: {line}\n{text}"
                );
            }
        }
        assert!(!text.contains("/s0/s") && !text.contains("B0 B"), "{text}");
        assert!(
            text.contains("too-large"),
            "the running variant's row:\n{text}"
        );
        let header = text
            .lines()
            .find(|l| l.contains("variant") && l.contains("ns/op"))
            .unwrap_or_else(|| panic!("no table header:\n{text}"));
        for word in ["allocs/op", "ns/op", "peak"] {
            assert!(header.contains(word), "`{word}` cut: {header}");
        }
        // At 80 columns bytes/op gives its room to the rest; wider, it is there whole.
        assert!(width < 100 || header.contains("bytes/op"), "{header}");
        assert!(
            header.contains("ops/s") || header.contains("throughput"),
            "{header}"
        );
    }
    insta::assert_snapshot!("channel_pool_80x24", render(&app, 80, 24).backend());
    insta::assert_snapshot!("channel_pool_140x45", render(&app, 140, 45).backend());
}

/// Item 5: the experiment's own counters (what its why says to watch) are on screen.
#[test]
fn the_experiments_own_counters_are_on_screen() {
    let mut app = channel_pool_on_its_fifth_variant();
    let epoch = 5;
    app.on_counters(
        epoch,
        vec![
            ("hits".to_owned(), 538_000.0),
            ("misses".to_owned(), 86_700.0),
            ("dropped".to_owned(), 86_700.0),
            ("in_flight".to_owned(), 3.0),
        ],
    );
    for (width, height) in [(80, 24), (140, 45)] {
        let text = screen(&app, width, height);
        assert!(
            text.contains("too-large: hits 538 k misses 86.7 k"),
            "{width}x{height}:\n{text}"
        );
        assert!(
            text.contains("│too-large "),
            "the running row stays:\n{text}"
        );
    }
    // Another run's counters are not shown for this one.
    app.on_counters(2, vec![("waits".to_owned(), 1.0)]);
    assert!(!screen(&app, 140, 45).contains("waits"));
}

/// The palette holds channel-pool's five variants (it had three colours), each ghost differs
/// from every live trace, and without colour each variant has a marker of its own.
#[test]
fn five_variants_five_colours_and_without_colour_five_markers() {
    use heaplab::ui::theme::{ghost_color, variant_color, variant_marker};
    let live: Vec<_> = (0..5).map(variant_color).collect();
    let ghosts: Vec<_> = (0..5).map(ghost_color).collect();
    for i in 0..5 {
        for j in 0..5 {
            if i != j {
                assert_ne!(live[i], live[j], "variants {i} and {j} share a colour");
            }
            assert_ne!(ghosts[i], live[j], "ghost {i} looks like live {j}");
        }
    }
    let glyphs: Vec<&str> = (0..4).map(|v| variant_marker(v, true).1).collect();
    for i in 0..4 {
        for j in (i + 1)..4 {
            assert_ne!(glyphs[i], glyphs[j]);
        }
    }
    // On screen without colour: the legend shows the markers.
    let mut app = channel_pool_on_its_fifth_variant();
    app.workshop.no_color = true;
    let text = screen(&app, 140, 45);
    assert!(text.contains("⣿ too-large"), "the legend's marker:\n{text}");
    // too-small's and alloc-on-empty's ghosts are drawn in blocks and bars, not braille.
    assert!(
        text.contains('█') && text.contains('▄'),
        "every trace in braille:\n{text}"
    );
}

/// Item 12: throughput is counted in a unit that means the same work for every variant.
/// struct-layout's optimized records are smaller: "bytes processed" made it look slower for
/// the same records (14 against 23 GiB/s); records/s shows it faster, as ns/op does.
#[test]
fn throughput_counts_the_same_work_for_every_variant() {
    let mut app = App::new(catalog());
    select(&mut app, "struct-layout");
    app.handle(Action::StartStop, 0.0);
    let records = 15_625u64;
    for (v, (name, ops_per_sec)) in [("naive", 1000.0), ("optimized", 1100.0)]
        .into_iter()
        .enumerate()
    {
        if v > 0 {
            app.handle(Action::SwitchVariant, 10.0);
        }
        for i in 1..=20 {
            let t = f64::from(i) * 0.5;
            let mut s = sample(0, v as u64 + 1, t, ops_per_sec, 0);
            s.experiment = "struct-layout";
            s.variant = name;
            s.variant_index = v;
            s.size = records as usize;
            s.work = s.ops * records;
            app.on_sample(s, 10.0 * v as f64 + t);
        }
    }
    let text = screen(&app, 140, 45);
    assert!(text.contains("records processed: 17.2 M/s"), "{text}");
    assert!(!text.contains("bytes processed"), "{text}");
    for row in [
        "1.00 k op/s · 15.6 M records/s",
        "1.10 k op/s · 17.2 M records/s",
    ] {
        assert!(text.contains(row), "no `{row}`:\n{text}");
    }
}

/// The UI's knots: a key that changes nothing on screen asks for no frame (the loop redraws
/// only on change); one that changes something does.
#[test]
fn only_a_key_that_changes_something_asks_for_a_frame() {
    let mut app = App::new(catalog());
    let key = |c: char| KeyEvent::from(KeyCode::Char(c));
    assert_eq!(app.key(&key('Z'), 0.0), (Vec::new(), false), "unbound");
    assert_eq!(
        app.key(&key('k'), 0.0),
        (Vec::new(), false),
        "already first"
    );
    assert_eq!(app.key(&key('j'), 0.0), (Vec::new(), true));
    assert_eq!(app.selected, 1);
    assert_eq!(app.key(&key('?'), 0.0), (Vec::new(), true), "help opens");
    assert_eq!(
        app.key(&key('k'), 0.0),
        (Vec::new(), false),
        "help at its top"
    );
    assert_eq!(app.key(&key('?'), 0.0), (Vec::new(), true), "help closes");
    let (effects, changed) = app.key(&KeyEvent::from(KeyCode::Enter), 0.0);
    assert!(changed && matches!(effects[..], [Effect::Start { .. }]));
    // While the budget prompt is open keys are text: each one typed shows.
    assert!(app.key(&key('b'), 0.0).1);
    assert!(app.key(&key('6'), 0.0).1);
    assert_eq!(app.budget_prompt.typed(), Some("6"));
}
