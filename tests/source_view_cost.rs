//! What a frame of the source view (`s`) costs in allocations: its syntect highlighting is done
//! once, when the view opens for an experiment, and never again while it is drawn.
//!
//! The heaplab library installs the counting allocator, and each test counts its own thread's
//! allocations in a worker slot of its own, so the figures are exact.

use heaplab::ui::app::App;
use heaplab::ui::keys::Action;
use heaplab::ui::source_view::SourcePane;
use heaplab::ui::workshop::View;
use heaplab_experiments::counting;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget as _;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

/// Allocations the calling thread makes in `f`.
fn allocs_of<T>(f: impl FnOnce() -> T) -> (u64, T) {
    let slot = counting::register_worker().expect("a counter slot");
    let out = f();
    (slot.counters().allocs, out)
}

#[test]
fn drawing_the_source_view_again_does_not_highlight_again() {
    let catalog = heaplab_experiments::catalog();
    let index = catalog
        .iter()
        .position(|e| e.info().id == "string-processing")
        .expect("string-processing");
    let mut app = App::new(catalog);
    while app.selected < index {
        app.handle(Action::SelectNext, 0.0);
    }
    // Opening the view highlights (and, the first time in the process, loads and compiles the
    // grammar).
    let (open, ()) = allocs_of(|| {
        app.handle(Action::ToggleSource, 0.0);
    });
    assert_eq!(app.workshop.view, View::Source);
    assert_eq!(
        app.workshop.source.pane.as_ref().map(|p| p.experiment),
        Some("string-processing")
    );
    // What highlighting the experiment costs once the grammar is loaded.
    let (highlight, _) = allocs_of(|| SourcePane::build(catalog[index].info()));

    let area = Rect::new(0, 0, 120, 36);
    let mut buf = Buffer::empty(area);
    // The first frame also fills ratatui's per-thread layout cache.
    let (first, ()) = allocs_of(|| (&app).render(area, &mut buf));
    let (second, ()) = allocs_of(|| (&app).render(area, &mut buf));
    println!(
        "string-processing at 120x36: opening {open} allocations, highlighting {highlight}, \
         first frame {first}, second frame {second}"
    );
    let shown: String = buf
        .content()
        .iter()
        .map(ratatui::buffer::Cell::symbol)
        .collect();
    assert!(shown.contains("normalize_record"), "the source is drawn");

    assert!(
        second <= first,
        "a frame costs more the second time ({second} > {first})"
    );
    assert!(
        second * 10 < highlight,
        "a frame ({second} allocations) costs as much as highlighting ({highlight}): \
         it highlights again"
    );
    assert!(
        second * 10 < open,
        "a frame ({second} allocations) costs as much as opening the view ({open})"
    );
}
