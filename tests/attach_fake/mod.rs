//! A fake watched program for the attach tests: a Unix socket named after a live process id
//! in a temporary `HEAPLAB_MONITOR_DIR`, speaking `src/monitor/protocol.rs` (a hello, then
//! scripted frames as JSON lines), so the viewer is tested without the program's side.

// Not every test file uses every helper.
#![allow(dead_code)]

use std::io::Write as _;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use heaplab::monitor::protocol::{
    Frame, Hello, Message, PROTOCOL, ThreadFrame, ThreadRole, Totals,
};

/// A socket directory with a fake program listening in it.
pub struct Fake {
    /// The directory (`HEAPLAB_MONITOR_DIR`).
    pub dir: tempfile::TempDir,
    /// The socket.
    pub socket: PathBuf,
    /// The process id the socket is named after: this test process, which is alive.
    pub pid: u32,
    release: Option<mpsc::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl Fake {
    /// Serves one viewer: the hello, `frames`, then (if `hold`) keeps the connection open
    /// until [`Fake::exit`], else closes it (the program exited).
    pub fn serve(frames: Vec<Frame>, hold: bool) -> Self {
        Self::serve_as(&hello(), frames, hold)
    }

    /// As [`Fake::serve`], with this hello.
    pub fn serve_as(hello: &Hello, frames: Vec<Frame>, hold: bool) -> Self {
        Self::serve_messages(
            hello,
            frames.into_iter().map(Message::Frame).collect(),
            hold,
        )
    }

    /// As [`Fake::serve`], with this hello and these messages after it (frames and sites
    /// frames, in the order given).
    pub fn serve_messages(hello: &Hello, messages: Vec<Message>, hold: bool) -> Self {
        let dir = tempfile::tempdir().expect("a socket directory");
        let pid = std::process::id();
        let socket = dir.path().join(format!("{pid}.sock"));
        let listener = UnixListener::bind(&socket).expect("the socket binds");
        let (release, released) = mpsc::channel::<()>();
        let hello = Message::Hello(hello.clone());
        let server = thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut lines = vec![serde_json::to_string(&hello).expect("json")];
            lines.extend(
                messages
                    .iter()
                    .map(|m| serde_json::to_string(m).expect("json")),
            );
            for line in lines {
                if writeln!(stream, "{line}").is_err() {
                    return;
                }
            }
            if hold {
                let _ = released.recv();
            }
        });
        Self {
            dir,
            socket,
            pid,
            release: Some(release),
            server: Some(server),
        }
    }

    /// The environment that points heaplab at this directory.
    pub fn env(&self) -> (&'static str, String) {
        (
            "HEAPLAB_MONITOR_DIR",
            self.dir.path().to_string_lossy().into_owned(),
        )
    }

    /// The program exits: its connection closes.
    pub fn exit(&mut self) {
        drop(self.release.take());
        if let Some(server) = self.server.take() {
            server.join().expect("the fake program ends");
        }
    }
}

/// The fake program's hello: protocol 1, a frame a second.
pub fn hello() -> Hello {
    Hello {
        protocol: PROTOCOL,
        heaplab: "0.1.0".into(),
        pid: std::process::id(),
        program: "ingest".into(),
        interval_ms: 1000,
        counting: true,
        sample_every: 0,
    }
}

/// One thread's frame.
pub fn thread(
    slot: u16,
    generation: u64,
    name: &str,
    role: ThreadRole,
    allocated: u64,
    freed: u64,
) -> ThreadFrame {
    ThreadFrame {
        tid: 1000 + u32::from(slot),
        name: name.into(),
        slot,
        generation,
        role,
        totals: Totals {
            allocs: allocated / 1024,
            deallocs: freed / 1024,
            reallocs: 0,
            bytes_allocated: allocated,
            bytes_freed: freed,
        },
    }
}

/// `n` frames a second apart of a program whose heap grows `leak` bytes a second (at most
/// 4 MB), blocks of 1 KiB, with two
/// named workers, a thread that frees what they allocate, the monitor's thread and a worker
/// that ends after the third frame and whose slot a new worker claims.
pub fn script(n: u64, leak: u64) -> Vec<Frame> {
    (0..n)
        .map(|s| {
            let per_sec = 1024 * 1000;
            let a = s * per_sec * 3;
            let b = s * per_sec;
            let freed = (a + b).saturating_sub(s * leak);
            let mut threads = vec![
                thread(1, 0, "parser-1", ThreadRole::Program, a, 0),
                thread(2, 0, "parser-2", ThreadRole::Program, b, 0),
                thread(3, 0, "evictor", ThreadRole::Program, 0, freed),
                thread(
                    4,
                    0,
                    "heaplab-monitor",
                    ThreadRole::Monitor,
                    s * 10240,
                    s * 10240,
                ),
            ];
            threads.push(if s < 3 {
                thread(
                    5,
                    0,
                    "flusher-old",
                    ThreadRole::Program,
                    s * 102_400,
                    s * 102_400,
                )
            } else {
                thread(
                    5,
                    1,
                    "flusher-new",
                    ThreadRole::Program,
                    (s - 2) * 102_400,
                    (s - 2) * 102_400,
                )
            });
            let allocated: u64 = threads.iter().map(|t| t.totals.bytes_allocated).sum();
            let freed: u64 = threads.iter().map(|t| t.totals.bytes_freed).sum();
            // The ended flusher's counts stay in the process's totals.
            let (allocated, freed) = if s < 3 {
                (allocated, freed)
            } else {
                (allocated + 2 * 102_400, freed + 2 * 102_400)
            };
            let totals = Totals {
                allocs: allocated / 1024,
                deallocs: freed / 1024,
                reallocs: 0,
                bytes_allocated: allocated + (1 << 20),
                bytes_freed: freed,
            };
            Frame {
                at_ms: 5000 + s * 1000,
                totals,
                peak_live_bytes: totals.live_bytes(),
                threads,
            }
        })
        .collect()
}
