//! The workshop's demo watched as a person would watch it (issue 26's "done when"): started
//! with its monitor, attached headless for a few seconds, its named threads seen in the
//! per-thread figures, its heap seen growing at the rate of its leak, and the program found
//! still running, still attachable, after detach. Every wait is for frames or lines, bounded
//! only by [`HANG_GUARD`]; the leak is judged by a count of sessions, not by seconds.

mod binary;
mod demo;

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use binary::HANG_GUARD;
use demo::{Demo, Held};
use heaplab::attach::client::{Connection, Read, resolve};
use heaplab::attach::figures::Watch;
use heaplab::monitor::protocol::{Frame, ThreadRole};

/// Reads frames until `enough` says so, into `watch`; returns them.
fn frames(
    connection: &mut Connection,
    watch: &mut Watch,
    mut enough: impl FnMut(&[(Instant, Frame)]) -> bool,
) -> Vec<(Instant, Frame)> {
    let started = Instant::now();
    let mut frames = Vec::new();
    while !enough(&frames) {
        assert!(started.elapsed() < HANG_GUARD, "frames stopped coming");
        match connection.read().expect("reads the program") {
            Read::Frame(frame) => {
                watch.push(&frame, connection.rss_bytes());
                frames.push((Instant::now(), frame));
            }
            Read::Nothing | Read::Sites(_) => {}
            Read::Ended => panic!("the demo ended while watched"),
        }
    }
    frames
}

/// The live heap at `at`: that of the frame that came closest to it.
fn heap_at(frames: &[(Instant, Frame)], at: Instant) -> i64 {
    let gap = |came: Instant| came.max(at) - came.min(at);
    frames
        .iter()
        .min_by_key(|(came, _)| gap(*came))
        .map(|(_, frame)| frame.totals.live_bytes())
        .expect("frames")
}

#[test]
fn the_demo_is_watched_live_its_threads_named_its_leak_seen_and_it_runs_on_after_detach() {
    let mut demo = Demo::start(&[]);
    let (pid, socket, lines) = (demo.pid, demo.socket.clone(), &demo.lines);
    // Its cache fills in its first second; two of its lines later the heap grows by the leak.
    for _ in 0..2 {
        lines
            .recv_timeout(HANG_GUARD)
            .expect("a line from the demo");
    }

    // Attached, as `heaplab attach PID` is, without a terminal, and read as frames come, so
    // that a frame's arrival dates it on the clock the demo's lines are dated on.
    let target = resolve(Some(pid), Some(socket.clone())).expect("the demo's socket");
    let mut connection = Connection::open(target).expect("attaches");
    assert_eq!(connection.hello.pid, pid);
    assert!(
        connection.hello.counting,
        "the demo installs heaplab's allocator"
    );
    connection
        .set_timeout(Duration::from_millis(500))
        .expect("a timeout");
    let mut watch = Watch::default();

    let last = the_heap_grows_by_the_leak(&mut connection, &mut watch, lines);

    // The demo's named workers, each counted on its own, and the monitor's thread marked.
    let threads = watch.threads();
    for worker in ["ingest-1", "ingest-2", "ingest-3"] {
        let row = threads
            .iter()
            .find(|t| t.name == worker)
            .unwrap_or_else(|| panic!("no {worker} among {threads:#?}"));
        assert_eq!(row.role, ThreadRole::Program);
        assert!(row.allocated_since_attach() > 0, "{row:?}");
    }
    assert!(
        threads
            .iter()
            .any(|t| t.name == "heaplab-viewer" && t.role == ThreadRole::Monitor),
        "{threads:#?}"
    );

    // Detached: the demo runs on, and takes the next viewer.
    drop(connection);
    let more = lines.recv_timeout(HANG_GUARD).expect("the demo goes on");
    assert!(more.bytes >= last.bytes);
    assert!(demo.child.try_wait().expect("its status").is_none());

    trace_names_the_busiest_worker(pid, &socket);
    assert!(demo.child.try_wait().expect("its status").is_none());
    let again = resolve(Some(pid), Some(socket)).expect("the socket is still there");
    let again = Connection::open(again).expect("attaches again");
    assert_eq!(again.hello.pid, pid);
}

/// `heaplab attach --trace`, interrupted after three lines, names the busiest worker and ends
/// with the status of its signal.
fn trace_names_the_busiest_worker(pid: u32, socket: &Path) {
    let mut trace = Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(["attach", &pid.to_string(), "--trace", "--socket"])
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("heaplab attach starts");
    // Kept open until the end, so the trace is ended by the signal, not by a closed pipe.
    let mut out = BufReader::new(trace.stdout.take().expect("its output"));
    let traced: Vec<String> = out.by_ref().lines().map_while(Result::ok).take(3).collect();
    assert_eq!(traced.len(), 3, "{traced:?}");
    assert!(
        traced.iter().any(|l| l.contains("busiest_thread=ingest-")),
        "{traced:?}"
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&trace),
        rustix::process::Signal::INT,
    )
    .expect("SIGINT");
    let status = trace.wait().expect("attach ends");
    assert_eq!(
        status.code(),
        Some(128 + 2),
        "a signal ends the trace with 128 + SIGINT"
    );
    drop(out);
}

/// Reads frames until the demo's sessions hold 300 KB more, and checks that the live heap grew
/// by that, and that it is a slow leak; returns the demo's last line.
fn the_heap_grows_by_the_leak(
    connection: &mut Connection,
    watch: &mut Watch,
    lines: &mpsc::Receiver<Held>,
) -> Held {
    // A window long enough for the leak to stand out of the heap's coming and going (tens of
    // kilobytes in flight): from the demo's first line after the first frame, until the
    // sessions hold 300 KB more (some 550 of them), with frames on both sides of each line.
    let (mut warm, mut last): (Option<Held>, Option<Held>) = (None, None);
    let window = frames(connection, watch, |f| {
        while let Ok(line) = lines.try_recv() {
            if f.is_empty() {
                continue;
            }
            match &warm {
                None => warm = Some(line),
                Some(_) => last = Some(line),
            }
        }
        matches!((&warm, &last, f.last()), (Some(warm), Some(last), Some((came, _)))
            if last.bytes >= warm.bytes + 300_000 && *came > last.at)
    });
    let (warm, last) = (warm.expect("a first line"), last.expect("a last line"));
    let leaked = (last.bytes - warm.bytes) as f64;
    let grown = (heap_at(&window, last.at) - heap_at(&window, warm.at)) as f64;
    // The sessions' own bytes, plus the B-tree's nodes that hold them (about a sixth more).
    assert!(
        (0.9..1.5).contains(&(grown / leaked)),
        "the live heap grew {grown:.0} bytes while the sessions came to hold {leaked:.0} more"
    );

    // A slow leak: well under 1% of what the demo allocates.
    let ((_, first), (_, end)) = (&window[0], &window[window.len() - 1]);
    let allocated = (end.totals.bytes_allocated - first.totals.bytes_allocated) as f64;
    let leaked_in_window =
        leaked * (end.at_ms - first.at_ms) as f64 / 1000.0 / (last.at - warm.at).as_secs_f64();
    assert!(
        leaked_in_window < 0.01 * allocated,
        "leaks {leaked_in_window:.0} bytes of {allocated:.0} allocated"
    );
    eprintln!(
        "leaked {leaked:.0} B, heap grew {grown:.0} B; {:.2}% of the bytes allocated",
        100.0 * leaked_in_window / allocated
    );
    last
}
