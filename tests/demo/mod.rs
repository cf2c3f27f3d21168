//! The workshop's demo (`examples/monitor_demo.rs`) for the tests that watch it: built if a
//! filtered `cargo test` did not build it, started with its monitor in a private directory of
//! the test's own, killed when the test ends however it ends, and its once-a-second lines read
//! on a thread of their own, each dated, with the bytes its leaked sessions hold.

#![allow(dead_code)] // each test uses its part

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use heaplab::monitor::paths::DIR_ENV;

use crate::binary::HANG_GUARD;

/// The demo, built by this test if `cargo test` did not build it already (a filtered run).
pub fn demo_binary() -> PathBuf {
    let heaplab = PathBuf::from(env!("CARGO_BIN_EXE_heaplab"));
    let debug = heaplab.parent().expect("the binary's folder");
    let demo = debug.join("examples").join("monitor_demo");
    let out = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "monitor_demo"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "CARGO_TARGET_DIR",
            debug.parent().expect("the target folder"),
        )
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "the demo builds:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    demo
}

/// One of the demo's once-a-second lines: when it came, and the bytes its sessions hold.
#[derive(Debug)]
pub struct Held {
    pub at: Instant,
    pub bytes: u64,
    /// How many sessions it holds.
    pub sessions: u64,
}

fn held(line: &str) -> Option<Held> {
    let (before, _) = line.split_once(" bytes (never evicted)")?;
    let bytes = before.rsplit(' ').next()?.parse().ok()?;
    let (before, _) = line.split_once(" sessions holding")?;
    let sessions = before.rsplit(' ').next()?.parse().ok()?;
    Some(Held {
        at: Instant::now(),
        bytes,
        sessions,
    })
}

/// A running demo, killed when dropped.
pub struct Demo {
    pub child: Child,
    pub pid: u32,
    /// Its monitor's socket (it exists once [`Demo::start`] returns).
    pub socket: PathBuf,
    /// Its once-a-second lines.
    pub lines: mpsc::Receiver<Held>,
    /// Its monitor's directory, removed last.
    _dir: tempfile::TempDir,
}

impl Demo {
    /// Starts the demo with its monitor (and `env` set), and waits for its socket.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let demo = demo_binary();
        // Short: a socket's path must fit in 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("hl-demo")
            .tempdir_in("/tmp")
            .expect("a directory");
        let monitor_dir = dir.path().join("monitor");
        let mut command = Command::new(&demo);
        command
            .args(["--seconds", "3600"])
            .env(DIR_ENV, &monitor_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the demo starts");
        let pid = child.id();
        let stdout = child.stdout.take().expect("its output");
        let (tx, lines) = mpsc::channel::<Held>();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(held) = held(&line)
                    && tx.send(held).is_err()
                {
                    return;
                }
            }
        });
        let socket = monitor_dir.join(format!("{pid}.sock"));
        let demo = Self {
            child,
            pid,
            socket,
            lines,
            _dir: dir,
        };
        wait_for(&demo.socket);
        demo
    }

    /// The demo's next line.
    pub fn line(&self) -> Held {
        self.lines
            .recv_timeout(HANG_GUARD)
            .expect("a line from the demo")
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `path` to exist.
fn wait_for(path: &Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < HANG_GUARD,
            "no socket at {}",
            path.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The line of `examples/monitor_demo.rs` that holds `text` (1-based), for tests that name
/// the demo's lines without hard-coding their numbers.
pub fn line_of(text: &str) -> u32 {
    let source = include_str!("../../examples/monitor_demo.rs");
    let found: Vec<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains(text))
        .map(|(at, _)| at + 1)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{text:?} is on one line of the demo: {found:?}"
    );
    found[0] as u32
}
