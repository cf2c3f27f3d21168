//! The workshop views on ratatui's `TestBackend`, checked with insta snapshots: source side by
//! side (and stacked at 80 columns), the layout inspector, the zero-allocation badge, a tour
//! step and presenter mode.

use heaplab::ui::app::App;
use heaplab::ui::keys::Action;
use heaplab::ui::workshop::View;
use heaplab_experiments::Experiment;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The whole catalog, in chapter order.
fn catalog() -> &'static [&'static dyn Experiment] {
    heaplab_experiments::catalog()
}

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| frame.render_widget(app, frame.area()))
        .expect("draws");
    terminal
}

fn select(app: &mut App, id: &str) {
    let index = catalog()
        .iter()
        .position(|e| e.info().id == id)
        .expect("experiment");
    while app.selected < index {
        app.handle(Action::SelectNext, 0.0);
    }
}

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
    assert_eq!(app.workshop.scroll, 3);
    assert_eq!(app.selected, 1, "arrows scroll the view, not the list");
    insta::assert_snapshot!(render(&app, 80, 24).backend());
    app.handle(Action::Back, 0.0);
    assert_eq!(app.workshop.view, View::Dashboard);
    assert!(!app.quit, "Esc closes the view first");
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
