//! Test support shared by the dashboard's test files: synthetic samples, and the app drawn on
//! an off-screen terminal. Each test file uses a part of it.
#![allow(dead_code)]

use std::time::Duration;

use heaplab::runner::{Phase, Sample};
use heaplab::ui::app::App;
use heaplab::ui::keys::Action;
use heaplab_experiments::Experiment;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A sample of buffer-reuse: `allocs_per_op` allocations per op, `ops_per_sec` ops per second,
/// `secs` into the epoch.
pub fn sample(
    variant: usize,
    epoch: u64,
    secs: f64,
    ops_per_sec: f64,
    allocs_per_op: u64,
) -> Sample {
    let ops = (secs * ops_per_sec) as u64;
    Sample {
        elapsed: Duration::from_secs_f64(secs + epoch as f64 * 100.0),
        experiment: "buffer-reuse",
        variant: ["naive", "optimized"][variant],
        variant_index: variant,
        epoch,
        size: 1024,
        phase: Phase::Running,
        measured_for: Duration::from_secs_f64(secs),
        ops,
        work: ops * 1024,
        allocs: ops * allocs_per_op,
        deallocs: ops * allocs_per_op,
        bytes_allocated: ops * allocs_per_op * 2048,
        live_heap_bytes: 1024 + if variant == 1 { 2048 } else { 0 },
        peak_heap_bytes: 3072 + 32 * variant as u64,
        process_heap_bytes: 2 << 20,
        process_rss_bytes: 6 << 20,
        ..Sample::default()
    }
}

/// `app` drawn on a `width` x `height` off-screen terminal.
pub fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| frame.render_widget(app, frame.area()))
        .expect("draws");
    terminal
}

/// The whole catalog, in chapter order.
pub fn catalog() -> &'static [&'static dyn Experiment] {
    heaplab_experiments::catalog()
}

/// `app` drawn at `width` x `height`, as text.
pub fn screen(app: &App, width: u16, height: u16) -> String {
    format!("{}", render(app, width, height).backend())
}

/// Moves the selection to experiment `id`.
pub fn select(app: &mut App, id: &str) {
    let index = catalog()
        .iter()
        .position(|e| e.info().id == id)
        .expect("experiment");
    while app.selected < index {
        app.handle(Action::SelectNext, 0.0);
    }
    while app.selected > index {
        app.handle(Action::SelectPrevious, 0.0);
    }
}
