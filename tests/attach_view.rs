//! The attach view without a terminal: whole screens drawn on ratatui's `TestBackend` from
//! scripted frames (`tests/attach_fake`'s script), checked with insta snapshots at 80x24 and
//! 140x45, frozen, with an alert crossed and the help overlay.

mod attach_fake;

use heaplab::attach::alerts::Alert;
use heaplab::ui::attach_view::AttachView;
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
