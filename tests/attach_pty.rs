//! The real `heaplab attach` in a pseudo-terminal, against a fake program (`tests/attach_fake`),
//! at 80x24 and 140x45: the view's figures on screen, keys sent (help, freeze, the growing
//! sites, detach) and the screen read back, the program's sites frames reaching the growing
//! sites, the program's exit ending the view, the terminal restored. Every wait is for a
//! screen or an exit, bounded only by a hang guard.

mod attach_fake;

use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use attach_fake::{Fake, hello, script};
use heaplab::monitor::protocol::{Hello, Message, SITES_EVERY, SitesFrame};
use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

/// Turns a hang into a failure, minutes past what a slow machine needs.
const HANG_GUARD: Duration = Duration::from_secs(300);

struct Session {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn std::io::Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    reader: JoinHandle<()>,
    master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Session {
    fn start(fake: &Fake, rows: u16, cols: u16) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_heaplab"));
        command.arg("attach");
        command.env("TERM", "xterm-256color");
        let (key, value) = fake.env();
        command.env(key, value);
        let child = pty.slave.spawn_command(command).expect("heaplab starts");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let parser = Arc::clone(&screen);
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.lock().expect("parser").process(&buf[..n]);
            }
        });
        Self {
            child,
            writer,
            screen,
            reader,
            master: pty.master,
        }
    }

    fn contents(&self) -> String {
        self.screen.lock().expect("parser").screen().contents()
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let text = self.contents();
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{text}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("keys sent");
        self.writer.flush().expect("flushed");
    }

    fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.exit_code();
            }
            assert!(
                Instant::now() < deadline,
                "heaplab did not exit:\n{}",
                self.contents()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Main screen, cursor shown: as heaplab found the terminal.
    fn assert_restored(self) {
        let Self {
            reader,
            screen,
            master,
            ..
        } = self;
        // heaplab has exited; what it wrote is read once the master is closed.
        drop(master);
        let deadline = Instant::now() + HANG_GUARD;
        while !reader.is_finished() {
            assert!(Instant::now() < deadline, "heaplab's output never ended");
            thread::sleep(Duration::from_millis(20));
        }
        let parser = screen.lock().expect("parser");
        assert!(
            !parser.screen().alternate_screen(),
            "still on the alternate screen"
        );
        assert!(!parser.screen().hide_cursor(), "cursor left hidden");
    }
}

fn keys_help_freeze_and_detach(rows: u16, cols: u16) {
    let mut fake = Fake::serve(script(12, 1 << 20), true);
    let mut s = Session::start(&fake, rows, cols);
    let screen = s.wait_for("the program's threads and figures", |t| {
        t.contains("ingest") && t.contains("parser-1") && t.contains("11 s attached")
    });
    assert!(screen.contains("allocation rate · 4.11 k/s"), "{screen}");
    assert!(screen.contains("live heap 12.0 MiB"), "{screen}");
    s.keys("?");
    s.wait_for("the help overlay", |t| t.contains("keys and figures"));
    s.keys("\x1b");
    s.wait_for("the overlay closed", |t| !t.contains("keys and figures"));
    s.keys("g");
    s.wait_for("the growing sites, sampling off", |t| {
        t.contains("The program samples no sites")
    });
    s.keys("g");
    s.wait_for("the charts again", |t| t.contains("allocation rate"));
    s.keys("f");
    s.wait_for("the charts frozen", |t| t.contains("FROZEN"));
    s.keys("q");
    assert_eq!(s.wait_exit(), 0);
    let text = s.contents();
    s.assert_restored();
    assert!(text.contains("detached from ingest"), "{text}");
    // Detaching left the program as it was: it still serves, and ends when it chooses.
    fake.exit();
}

#[test]
fn attach_keys_80x24() {
    keys_help_freeze_and_detach(24, 80);
}

#[test]
fn attach_keys_140x45() {
    keys_help_freeze_and_detach(45, 140);
}

#[test]
fn the_programs_sites_frames_reach_the_growing_sites() {
    let hello = Hello {
        sample_every: 65_536,
        ..hello()
    };
    let mut messages = Vec::new();
    for (i, frame) in script(12, 1 << 20).into_iter().enumerate() {
        let at_ms = frame.at_ms;
        messages.push(Message::Frame(frame));
        // As the program's monitor: a sites frame right after every tenth frame.
        if (i as u64 + 1).is_multiple_of(SITES_EVERY) {
            messages.push(Message::Sites(SitesFrame {
                at_ms,
                sample_every: 65_536,
                samples: 640,
                ..SitesFrame::default()
            }));
        }
    }
    let mut fake = Fake::serve_messages(&hello, messages, true);
    let mut s = Session::start(&fake, 24, 80);
    s.wait_for("every frame read", |t| t.contains("11 s attached"));
    s.keys("g");
    let screen = s.wait_for("the growing sites", |t| t.contains("g charts"));
    assert!(
        screen.contains("sampled, 1 in ~64 KiB"),
        "labelled approximate:\n{screen}"
    );
    assert!(
        screen.contains("Nothing sampled on the program's lines yet (640 samples so far)"),
        "the sites frame reached the view:\n{screen}"
    );
    assert!(
        screen.contains("g charts"),
        "the keys say how back:\n{screen}"
    );
    s.keys("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_restored();
    fake.exit();
}

#[test]
fn the_programs_exit_ends_the_view_with_a_line() {
    let mut fake = Fake::serve(script(4, 4096), true);
    let mut s = Session::start(&fake, 24, 80);
    s.wait_for("the view", |t| t.contains("3 s attached"));
    fake.exit();
    assert_eq!(s.wait_exit(), 0);
    let text = s.contents();
    s.assert_restored();
    assert!(
        text.contains("ingest (process") && text.contains("exited; the view ends"),
        "{text}"
    );
}
