//! The attach view without a terminal: whole screens drawn on ratatui's `TestBackend` from
//! scripted frames (`tests/attach_fake`'s script), checked with insta snapshots at 80x24 and
//! 140x45, frozen, with an alert crossed and the help overlay; and its growing sites (`g`)
//! from a fixed ranking, a stack open, unfolded, with the sizes, and before anything is ranked.

mod attach_fake;

use heaplab::attach::alerts::Alert;
use heaplab::attach::sites::{GrowingSite, PlaceStack, PlacedStack};
use heaplab::monitor::protocol::{Hello, SitesFrame};
use heaplab::ui::attach_view::AttachView;
use heaplab_experiments::sites::{Frame, SIZE_BUCKETS};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn view_after(frames: u64, alerts: &[Alert]) -> AttachView {
    // A fixed process id, so that the screen does not depend on this process.
    let hello = heaplab::monitor::protocol::Hello {
        pid: 4242,
        ..attach_fake::hello()
    };
    let mut view = AttachView::new(hello, alerts);
    view.no_color = false;
    for (i, frame) in attach_fake::script(frames, 1 << 20).iter().enumerate() {
        // A fixed RSS, so that the screen does not depend on this process.
        view.push(frame, (64 << 20) + (i as u64) * (1 << 20));
    }
    view
}

fn screen(view: &AttachView, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| frame.render_widget(view, frame.area()))
        .expect("draws");
    format!("{}", terminal.backend())
}

#[test]
fn attach_view_80x24() {
    let alert: Alert = "heap>4MiB".parse().expect("alert");
    let view = view_after(12, &[alert]);
    let text = screen(&view, 80, 24);
    assert!(text.contains("parser-1"), "{text}");
    assert!(text.contains("ALERT heap>4194304B crossed"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn attach_view_140x45() {
    let view = view_after(30, &[]);
    let text = screen(&view, 140, 45);
    for name in [
        "parser-1",
        "parser-2",
        "evictor",
        "heaplab-monitor",
        "flusher-new",
        "flusher-old",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(text.contains("monitor") && text.contains("ended"), "{text}");
    assert!(
        text.contains("−"),
        "the evictor's diff is negative:\n{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn attach_view_frozen_with_help_140x45() {
    let mut view = view_after(10, &[]);
    let press = |view: &mut AttachView, c: char| {
        view.key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    };
    press(&mut view, 'f');
    for frame in attach_fake::script(20, 1 << 20).iter().skip(10) {
        view.push(frame, 1 << 26);
    }
    let frozen = screen(&view, 140, 45);
    assert!(frozen.contains("FROZEN"), "{frozen}");
    assert!(
        frozen.contains("9 s attached"),
        "frozen at its 10th frame:\n{frozen}"
    );
    press(&mut view, '?');
    let help = screen(&view, 140, 45);
    assert!(
        help.contains("keys and figures") && help.contains("detach"),
        "{help}"
    );
    insta::assert_snapshot!(help);
}

/// Places every stack on one line: the fake program's symbols (the ranking shown is the
/// test's own, below).
struct OneLine;

impl PlaceStack for OneLine {
    fn place(&mut self, _frames: &[u64]) -> PlacedStack {
        PlacedStack::default()
    }
}

fn frame_at(function: &str, file: &str, line: u32, folded: bool) -> Frame {
    Frame {
        function: function.into(),
        file: file.into(),
        line,
        folded,
    }
}

/// Sizes with `allocs` estimated allocations in each `(bucket, allocs)`.
fn sizes(buckets: &[(usize, f64)]) -> Vec<f64> {
    let mut sizes = vec![0.0; SIZE_BUCKETS];
    for &(bucket, allocs) in buckets {
        sizes[bucket] = allocs;
    }
    sizes
}

/// The fake program's lines as a sites book ranks them: a leak (growing well beyond its
/// error), a large cache that holds much and does not grow, a line of temporaries, a small one.
fn ranked() -> Vec<GrowingSite> {
    const MIB: f64 = 1024.0 * 1024.0;
    let leak_stack = vec![
        frame_at("alloc::raw_vec::RawVec<T>::grow_one", "", 0, true),
        frame_at("alloc::vec::Vec<T>::push", "", 0, true),
        frame_at(
            "ingest::parse::Parser::intern",
            "src/ingest/parse.rs",
            42,
            false,
        ),
        frame_at(
            "ingest::parse::Parser::line",
            "src/ingest/parse.rs",
            20,
            false,
        ),
        frame_at("ingest::worker::run", "src/ingest/worker.rs", 9, false),
        frame_at(
            "std::thread::Builder::spawn_unchecked_::{{closure}}",
            "",
            0,
            true,
        ),
        frame_at(
            "std::sys::pal::unix::thread::Thread::new::thread_start",
            "",
            0,
            true,
        ),
    ];
    vec![
        GrowingSite {
            location: "src/ingest/parse.rs:42".into(),
            function: "ingest::parse::Parser::intern".into(),
            stack: leak_stack,
            thread: "parser-1".into(),
            live_bytes: 3.25 * MIB,
            growth: 1.5 * MIB,
            growth_error: 96.0 * 1024.0,
            growing: true,
            allocs: 42_000.0,
            allocs_per_sec: 42_000.0 / 70.0,
            bytes: 3.4 * MIB,
            temporary: 0.0,
            trend: [1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25]
                .iter()
                .map(|m| m * MIB)
                .collect(),
            sizes: sizes(&[(6, 40_000.0), (7, 2_000.0)]),
        },
        GrowingSite {
            location: "src/ingest/cache.rs:88".into(),
            function: "ingest::cache::Cache::insert".into(),
            stack: vec![frame_at(
                "ingest::cache::Cache::insert",
                "src/ingest/cache.rs",
                88,
                false,
            )],
            thread: "parser-2".into(),
            live_bytes: 24.0 * MIB,
            growth: 40.0 * 1024.0,
            growth_error: 310.0 * 1024.0,
            growing: false,
            allocs: 6_000.0,
            allocs_per_sec: 6_000.0 / 70.0,
            bytes: 30.0 * MIB,
            temporary: 0.0,
            trend: vec![24.0 * MIB; 7],
            sizes: sizes(&[(12, 6_000.0)]),
        },
        GrowingSite {
            location: "src/ingest/batch.rs:17".into(),
            function: "ingest::batch::Batch::split".into(),
            stack: vec![],
            thread: "parser-2".into(),
            live_bytes: 64.0 * 1024.0,
            growth: -12.0 * 1024.0,
            growth_error: 20.0 * 1024.0,
            growing: false,
            allocs: 2_400_000.0,
            allocs_per_sec: 2_400_000.0 / 70.0,
            bytes: 600.0 * MIB,
            temporary: 2_280_000.0,
            trend: vec![80.0 * 1024.0, 70.0 * 1024.0, 64.0 * 1024.0],
            sizes: sizes(&[(8, 2_400_000.0)]),
        },
    ]
}

/// The view after 30 frames and seven sites frames ten seconds apart (the window's minute),
/// showing [`ranked`], with `keys` pressed.
fn growing_view(keys: &[KeyCode]) -> AttachView {
    let mut view = view_after(30, &[]);
    view.hello = Hello {
        sample_every: 65_536,
        ..view.hello.clone()
    };
    for i in 0..7 {
        let frame = SitesFrame {
            at_ms: 10_000 * (i + 1),
            sample_every: 65_536,
            samples: 900 * (i + 1),
            ..SitesFrame::default()
        };
        view.push_sites_placed(&frame, &mut OneLine);
    }
    view.sites_mut().show(
        ranked(),
        sizes(&[(6, 40_000.0), (7, 2_000.0), (8, 2_400_000.0), (12, 6_000.0)]),
    );
    for &code in keys {
        view.key(&KeyEvent::new(code, KeyModifiers::NONE));
    }
    view
}

#[test]
fn growing_view_80x24_with_a_stack_open() {
    let view = growing_view(&[KeyCode::Char('g'), KeyCode::Enter]);
    let text = screen(&view, 80, 24);
    assert!(
        text.contains("growing sites · 1 of 3 lines growing"),
        "{text}"
    );
    assert!(text.contains("▲"), "the leak is marked:\n{text}");
    assert!(
        text.contains("+1.5 MiB"),
        "its growth over the minute:\n{text}"
    );
    assert!(text.contains("stack of src/ingest/parse.rs:42"), "{text}");
    assert!(
        text.contains("[2 frames in std, dependencies or heaplab]"),
        "the stack's folded runs, one line each:\n{text}"
    );
    assert!(
        text.contains("95%"),
        "the batch line's temporaries:\n{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn growing_view_140x45_unfolded_with_the_sizes() {
    let view = growing_view(&[
        KeyCode::Char('g'),
        KeyCode::Right,
        KeyCode::Right,
        KeyCode::Char('h'),
    ]);
    let text = screen(&view, 140, 45);
    for words in [
        "std::thread::Builder::spawn_unchecked_",
        "ingest::cache::Cache::insert",
        "parser-2",
        "±96 KiB",
        "64 B–128 B",
        "4 KiB–8 KiB",
        "sampled, 1 in ~64 KiB: approximate",
        "parse.rs:42",
    ] {
        assert!(text.contains(words), "{words} missing:\n{text}");
    }
    assert!(!text.contains("frames in std"), "unfolded:\n{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn the_selected_lines_sizes_follow_the_selection() {
    let view = growing_view(&[KeyCode::Char('h'), KeyCode::Down]);
    let text = screen(&view, 140, 45);
    assert!(text.contains("ingest/cache.rs:88"), "{text}");
    assert!(
        text.contains("100% ████"),
        "all of the cache's in 4 KiB–8 KiB:\n{text}"
    );
}

#[test]
fn the_growing_view_says_when_there_is_nothing_to_rank() {
    let mut off = view_after(3, &[]);
    off.key(&KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE));
    let text = screen(&off, 80, 24);
    assert!(
        text.contains("The program samples no sites: start its monitor with")
            && text.contains("Options::sample_every"),
        "{text}"
    );
    let mut waiting = view_after(3, &[]);
    waiting.hello.sample_every = 65_536;
    waiting.key(&KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE));
    let text = screen(&waiting, 80, 24);
    assert!(text.contains("No sites yet"), "{text}");
    waiting.push_sites_placed(
        &SitesFrame {
            at_ms: 10_000,
            sample_every: 65_536,
            samples: 12,
            ..SitesFrame::default()
        },
        &mut OneLine,
    );
    let text = screen(&waiting, 80, 24);
    assert!(
        text.contains("Nothing sampled on the program's lines yet (12 samples"),
        "{text}"
    );
    waiting.key(&KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE));
    assert!(
        screen(&waiting, 80, 24).contains("allocation rate"),
        "g again: the charts"
    );
}

#[test]
fn what_the_viewer_could_not_do_is_said_above_the_ranking() {
    let mut view = growing_view(&[KeyCode::Char('g')]);
    let pane = view.sites_mut();
    pane.notice = Some("stacks stay addresses: cannot read /proc/1/exe: denied".into());
    pane.missing_line_tables = true;
    pane.sampling.unrecorded = 7;
    let text = screen(&view, 80, 24);
    for words in [
        "stacks stay addresses: cannot read /proc/1/exe",
        "7 sampled events found the stack table full",
        "add debug = \"line-tables-only\" to [profile.release]",
        "src/ingest/parse.rs:42",
    ] {
        assert!(text.contains(words), "{words} missing:\n{text}");
    }
}

#[test]
fn a_long_ranking_scrolls_to_its_selection() {
    let mut view = growing_view(&[KeyCode::Char('g')]);
    let many: Vec<GrowingSite> = (0..500)
        .map(|i| GrowingSite {
            location: format!("src/gen.rs:{i}"),
            ..GrowingSite::default()
        })
        .collect();
    view.sites_mut().show(many, vec![]);
    for _ in 0..40 {
        view.key(&KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    }
    let text = screen(&view, 80, 24);
    assert!(
        text.contains("src/gen.rs:40 "),
        "the selection in sight:\n{text}"
    );
    assert!(
        !text.contains("src/gen.rs:0 "),
        "scrolled past the first:\n{text}"
    );
    assert!(
        !text.contains("src/gen.rs:41 "),
        "the selection is the last row in sight:\n{text}"
    );
}
