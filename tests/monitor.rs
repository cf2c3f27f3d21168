//! The program's side of watching a running program (`heaplab::monitor`), from a test binary
//! that installs the counting allocator and starts the monitor as a user's program would: the
//! private directory and socket, viewers (plain `UnixStream`s) reading a hello then frames,
//! two at once, stale sockets cleared at start, another user refused, `snapshot()` and
//! `prometheus()`.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use heaplab::monitor::protocol::{
    Frame, Hello, Message, PROTOCOL, SITES_EVERY, ThreadFrame, ThreadRole, Totals,
};
use heaplab::monitor::{MonitorError, Options};
use openmetrics_parser::{MetricNumber, PrometheusType, PrometheusValue};

#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

/// Short, so that the tests read many frames quickly; nothing below depends on its length.
const INTERVAL: Duration = Duration::from_millis(20);

/// Bounds a read that would otherwise hang the test run if the monitor never answered: a
/// guard against a hang, not a measure of speed.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Held by the tests that look at or change the directory's and socket's modes.
static MODES: Mutex<()> = Mutex::new(());

/// The test's monitor directories: `/tmp/heaplab-monitor-test-PID`.
const TMP_PREFIX: &str = "heaplab-monitor-test-";

/// The monitor of this test process, started once, as the first thing any test needs.
struct Setup {
    dir: PathBuf,
    socket: PathBuf,
    /// A socket left by a process that no longer exists, planted before the start.
    stale: PathBuf,
}

fn monitor() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let pid = std::process::id();
        // Under /tmp, not the target directory: a socket's path must fit in 108 bytes, and
        // another user must be able to reach it when the test opens the modes.
        let tmp = std::env::temp_dir();
        // The directories of earlier runs of this test, if their process is gone.
        for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(old) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)) else {
                continue;
            };
            if !Path::new(&format!("/proc/{old}")).exists() {
                std::fs::remove_dir_all(entry.path()).ok();
            }
        }
        let dir = tmp.join(format!("{TMP_PREFIX}{pid}"));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .expect("the test's monitor directory");
        // A socket left by a crashed program, and one left by an earlier process that had
        // this process's id: both must go, or binding fails.
        let stale = dir.join(format!("{}.sock", dead_pid()));
        drop(UnixListener::bind(&stale).expect("plant a stale socket"));
        drop(UnixListener::bind(dir.join(format!("{pid}.sock"))).expect("plant an old socket"));
        heaplab::monitor::start_with(&Options::default().interval(INTERVAL).dir(&dir))
            .expect("the monitor starts");
        let socket = heaplab::monitor::socket().expect("a socket once started");
        Setup { dir, socket, stale }
    })
}

/// The id of a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("run `true`");
    let pid = child.id();
    child.wait().expect("wait for `true`");
    pid
}

/// A viewer: the socket's lines, one message each.
struct Viewer(BufReader<UnixStream>);

impl Viewer {
    fn connect(socket: &Path) -> Self {
        let stream = UnixStream::connect(socket).expect("connect to the monitor");
        stream
            .set_read_timeout(Some(HANG_GUARD))
            .expect("read timeout");
        Self(BufReader::new(stream))
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let read = self.0.read_line(&mut line).expect("read a line");
        assert!(read > 0, "the monitor closed the connection");
        line
    }

    fn message(&mut self) -> Message {
        let line = self.line();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a message ({e}): {line}"))
    }

    fn hello(&mut self) -> Hello {
        match self.message() {
            Message::Hello(hello) => hello,
            other @ (Message::Frame(_) | Message::Sites(_)) => {
                panic!("expected a hello first, got {other:?}")
            }
        }
    }

    /// The next frame (sites frames between are skipped: these tests read counters).
    fn frame(&mut self) -> Frame {
        loop {
            match self.message() {
                Message::Frame(frame) => return frame,
                Message::Sites(_) => {}
                other @ Message::Hello(_) => panic!("expected a frame, got {other:?}"),
            }
        }
    }
}

#[test]
fn the_directory_is_private_and_the_socket_is_ours_alone() {
    let setup = monitor();
    let _modes = MODES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = std::fs::metadata(&setup.dir).expect("stat the directory");
    assert_eq!(dir.permissions().mode() & 0o777, 0o700);
    let socket = std::fs::symlink_metadata(&setup.socket).expect("stat the socket");
    assert!(socket.file_type().is_socket());
    assert_eq!(socket.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        setup.socket,
        setup.dir.join(format!("{}.sock", std::process::id()))
    );
}

#[test]
fn a_viewer_reads_a_hello_then_frames_whose_totals_grow() {
    const KEPT: u64 = 1 << 20;
    let setup = monitor();
    let mut viewer = Viewer::connect(&setup.socket);
    let hello = viewer.hello();
    assert_eq!(hello.protocol, PROTOCOL);
    assert_eq!(hello.pid, std::process::id());
    assert_eq!(hello.interval_ms, 20);
    assert!(hello.counting, "this binary installs heaplab::Counting");
    assert!(hello.program.starts_with("monitor"), "{}", hello.program);

    let first = viewer.frame();
    let kept = std::hint::black_box(vec![1u8; KEPT as usize]);
    // Frames are cumulative: one sent after the allocation carries it, however slow the
    // machine is (a bound on frames read, not on time).
    let grown = (0..10_000)
        .map(|_| viewer.frame())
        .find(|frame| frame.totals.bytes_allocated >= first.totals.bytes_allocated + KEPT)
        .expect("a frame that counts the allocation");
    assert!(grown.totals.allocs > first.totals.allocs);
    assert!(grown.at_ms >= first.at_ms);
    assert!(grown.peak_live_bytes >= grown.totals.live_bytes().min(KEPT as i64));
    // The shared bucket is always listed first; the viewer's own thread is listed too, as
    // `heaplab-viewer` with the monitor's role.
    let shared = &grown.threads[0];
    assert_eq!((shared.slot, shared.tid), (0, 0));
    assert_eq!(shared.role, ThreadRole::Shared);
    assert!(
        grown
            .threads
            .iter()
            .any(|row| row.name == "heaplab-viewer" && row.role == ThreadRole::Monitor),
        "{grown:?}"
    );
    drop(kept);
}

#[test]
fn two_viewers_watch_at_once() {
    let setup = monitor();
    let mut one = Viewer::connect(&setup.socket);
    let mut two = Viewer::connect(&setup.socket);
    assert_eq!(one.hello().pid, two.hello().pid);
    for _ in 0..3 {
        let (a, b) = (one.frame(), two.frame());
        assert!(a.totals.allocs > 0 && b.totals.allocs > 0);
    }
    drop(one);
    // The other viewer is unaffected by the first one's going.
    let before = two.frame();
    let after = two.frame();
    assert!(after.at_ms >= before.at_ms);
}

#[test]
fn sites_follow_the_first_frame_and_every_tenth_when_the_program_samples() {
    let setup = monitor();
    let mut viewer = Viewer::connect(&setup.socket);
    let hello = viewer.hello();
    // After how many frames each sites frame came, and its stacks' ids with frames sent.
    let mut frames = 0u64;
    let mut sites = Vec::new();
    let mut with_frames = std::collections::HashSet::new();
    // Up to the frame after the 21st, so that the sites frame following the 21st is read.
    while frames < 2 * SITES_EVERY + 2 {
        match viewer.message() {
            Message::Frame(_) => frames += 1,
            Message::Sites(sent) => {
                assert_eq!(sent.sample_every, hello.sample_every);
                for stack in &sent.stacks {
                    if !stack.frames.is_empty() {
                        assert!(
                            with_frames.insert(stack.id),
                            "stack {} framed twice",
                            stack.id
                        );
                    }
                    assert!(
                        with_frames.contains(&stack.id),
                        "stack {} never framed",
                        stack.id
                    );
                }
                sites.push(frames);
            }
            other @ Message::Hello(_) => panic!("a second hello: {other:?}"),
        }
    }
    if hello.sample_every == 0 {
        // The engine samples nothing (sampling off): nothing to send.
        assert!(sites.is_empty(), "{sites:?}");
    } else {
        assert_eq!(sites, [1, 1 + SITES_EVERY, 1 + 2 * SITES_EVERY]);
    }
}

#[test]
fn a_stale_socket_is_removed_at_start_and_the_new_one_answers() {
    let setup = monitor();
    assert!(
        !setup.stale.exists(),
        "{} was left by a process that no longer exists",
        setup.stale.display()
    );
    // The old socket of this process's id was replaced by a live one.
    Viewer::connect(&setup.socket).hello();
}

#[test]
fn starting_again_in_the_same_process_changes_nothing() {
    let setup = monitor();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    heaplab::monitor::start_with(&Options::default().dir(elsewhere.path()))
        .expect("a second start is a no-op");
    assert_eq!(heaplab::monitor::socket(), Some(setup.socket.clone()));
    assert!(
        std::fs::read_dir(elsewhere.path())
            .expect("read")
            .next()
            .is_none(),
        "no second socket"
    );
}

#[test]
fn an_interval_too_short_is_refused_with_a_clear_error() {
    let err = heaplab::monitor::start_with(&Options::default().interval(Duration::from_millis(1)))
        .expect_err("1 ms is too short");
    assert!(matches!(err, MonitorError::Interval { .. }));
    assert_eq!(
        err.to_string(),
        "heaplab monitor: an interval of 1ms is too short; use at least 10ms"
    );
}

/// Runs [`connect_as_another_user`] in a copy of this test binary as uid/gid 65534, and
/// returns what it printed.
fn as_another_user(socket: &Path) -> String {
    use std::os::unix::process::CommandExt;
    let output = std::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "connect_as_another_user",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_SOCKET, socket)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run this test binary as uid 65534");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the child failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

const CHILD_SOCKET: &str = "HEAPLAB_TEST_CHILD_SOCKET";

#[test]
#[ignore = "the child of another_user_is_refused, run as another user"]
fn connect_as_another_user() {
    let socket = std::env::var_os(CHILD_SOCKET).expect("run by another_user_is_refused");
    match UnixStream::connect(&socket) {
        Err(e) => println!("connect failed: {:?}", e.kind()),
        Ok(stream) => {
            stream
                .set_read_timeout(Some(HANG_GUARD))
                .expect("read timeout");
            let mut line = String::new();
            BufReader::new(stream)
                .read_line(&mut line)
                .expect("read the monitor's answer");
            println!("first line: {line}");
        }
    }
}

#[test]
fn another_user_is_refused() {
    if !rustix::process::geteuid().is_root() {
        println!("skipped: only root can run a child as another user (CI runs as root)");
        return;
    }
    let setup = monitor();
    let _modes = MODES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // As made: the directory keeps everyone else out before the socket is even reached.
    let out = as_another_user(&setup.socket);
    assert!(out.contains("connect failed: PermissionDenied"), "{out}");

    // Had the modes been opened (by hand, by a careless umask), the peer check still refuses.
    let permissions = |path: &Path| std::fs::metadata(path).expect("stat").permissions();
    let set =
        |path: &Path, permissions| std::fs::set_permissions(path, permissions).expect("chmod");
    let (dir, socket) = (permissions(&setup.dir), permissions(&setup.socket));
    set(&setup.dir, std::fs::Permissions::from_mode(0o711));
    set(&setup.socket, std::fs::Permissions::from_mode(0o666));
    let out = as_another_user(&setup.socket);
    // Put back as the monitor made them, for the test of the modes.
    set(&setup.socket, socket);
    set(&setup.dir, dir);
    let expected = format!(
        "first line: refused: uid 65534 may not watch process {}, which runs as uid 0: only the same user or root may attach",
        std::process::id()
    );
    assert!(out.contains(&expected), "{out}");
    // And the monitor goes on serving its own user.
    Viewer::connect(&setup.socket).hello();
}

#[test]
fn snapshot_counts_a_threads_allocations() {
    const BYTES: u64 = 3 * 64 * 1024;
    let (allocated_tx, allocated_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    // Started, every thread is counted on its own.
    monitor();
    let before = heaplab::monitor::snapshot();
    let worker = std::thread::Builder::new()
        .name("snap-worker".into())
        .spawn(move || {
            let kept: Vec<Vec<u8>> = (0..3).map(|_| vec![7u8; 64 * 1024]).collect();
            allocated_tx.send(()).expect("send");
            // Alive, and its blocks kept, until the snapshot is taken.
            done_rx.recv().ok();
            drop(kept);
        })
        .expect("spawn");
    allocated_rx.recv().expect("the worker allocated");
    let after = heaplab::monitor::snapshot();
    drop(done_tx);
    worker.join().expect("join");

    assert!(
        after.totals.bytes_allocated >= before.totals.bytes_allocated + BYTES,
        "{before:?} -> {after:?}"
    );
    assert!(after.totals.allocs >= before.totals.allocs + 3);
    assert!(after.peak_live_bytes >= after.totals.live_bytes().min(BYTES as i64));
    let shared = &after.threads[0];
    assert_eq!(shared.role, ThreadRole::Shared);
    // The thread's allocations are in a row of its own, under its name.
    let own_row = after
        .threads
        .iter()
        .find(|row| row.name == "snap-worker")
        .unwrap_or_else(|| panic!("snap-worker has a row of its own: {after:?}"));
    assert_eq!(own_row.role, ThreadRole::Program);
    assert!(own_row.totals.bytes_allocated >= BYTES, "{after:?}");
    assert!(own_row.totals.allocs >= 3, "{own_row:?}");
}

/// The type of `family`, and the value of its sample whose labels are `labels` (name, value).
fn value(
    exposition: &openmetrics_parser::MetricsExposition<PrometheusType, PrometheusValue>,
    family: &str,
    labels: &[(&str, &str)],
) -> (PrometheusType, i64) {
    let family = exposition
        .families
        .get(family)
        .unwrap_or_else(|| panic!("no family {family}"));
    // The parser keeps a family's label names sorted: ask for the values in that order.
    let values: Vec<String> = family
        .get_label_names()
        .iter()
        .map(|name| {
            let (_, value) = labels
                .iter()
                .find(|(label, _)| label == name)
                .unwrap_or_else(|| panic!("unexpected label {name} in {}", family.family_name));
            (*value).to_owned()
        })
        .collect();
    assert_eq!(values.len(), labels.len(), "{labels:?}");
    let sample = family
        .get_sample_by_label_values(&values)
        .unwrap_or_else(|| {
            let samples: Vec<_> = family.iter_samples().collect();
            panic!(
                "no sample {labels:?} in {}: {samples:?}",
                family.family_name
            )
        });
    let number = match &sample.value {
        PrometheusValue::Counter(counter) => &counter.value,
        PrometheusValue::Gauge(number) => number,
        other => panic!("unexpected value {other:?}"),
    };
    // Counts are written as integers, exactly.
    let MetricNumber::Int(value) = *number else {
        panic!("{} is not an integer: {number:?}", family.family_name)
    };
    (family.family_type.clone(), value)
}

#[test]
fn prometheus_text_parses_and_carries_the_expected_metrics() {
    let text = heaplab::monitor::prometheus();
    let exposition = openmetrics_parser::prometheus::parse_prometheus(&text)
        .unwrap_or_else(|e| panic!("not Prometheus text ({e:?}):\n{text}"));
    for counter in [
        "heaplab_allocations_total",
        "heaplab_deallocations_total",
        "heaplab_reallocations_total",
        "heaplab_allocated_bytes_total",
        "heaplab_freed_bytes_total",
    ] {
        let (kind, value) = value(&exposition, counter, &[]);
        assert_eq!(kind, PrometheusType::Counter, "{counter}");
        assert!(value > 0, "{counter} is {value}");
    }
    for gauge in ["heaplab_live_heap_bytes", "heaplab_peak_live_heap_bytes"] {
        let (kind, value) = value(&exposition, gauge, &[]);
        assert_eq!(kind, PrometheusType::Gauge, "{gauge}");
        assert!(value > 0, "{gauge} is {value}");
    }
    let (kind, shared) = value(
        &exposition,
        "heaplab_thread_allocations_total",
        &[
            ("thread", "(other threads)"),
            ("tid", "0"),
            ("role", "shared"),
        ],
    );
    assert_eq!(kind, PrometheusType::Counter);
    assert!(shared > 0);
}

#[test]
fn prometheus_text_escapes_a_thread_name_and_keeps_exact_figures() {
    let totals = Totals {
        allocs: 12,
        deallocs: 5,
        reallocs: 1,
        bytes_allocated: 4096,
        bytes_freed: 5000,
    };
    let frame = Frame {
        at_ms: 100,
        totals,
        peak_live_bytes: 4096,
        threads: vec![ThreadFrame {
            tid: 4242,
            name: "odd \"name\\".into(),
            slot: 3,
            generation: 1,
            role: ThreadRole::Program,
            totals,
        }],
    };
    let text = heaplab::monitor::render_prometheus(&frame);
    let exposition = openmetrics_parser::prometheus::parse_prometheus(&text)
        .unwrap_or_else(|e| panic!("not Prometheus text ({e:?}):\n{text}"));
    let labels = [
        ("thread", "odd \"name\\"),
        ("tid", "4242"),
        ("role", "program"),
    ];
    for (family, expected) in [
        ("heaplab_thread_allocations_total", 12),
        ("heaplab_thread_deallocations_total", 5),
        ("heaplab_thread_reallocations_total", 1),
        ("heaplab_thread_allocated_bytes_total", 4096),
        ("heaplab_thread_freed_bytes_total", 5000),
    ] {
        assert_eq!(value(&exposition, family, &labels).1, expected, "{family}");
    }
    // The same name unescaped is refused: the parser is strict where Prometheus is.
    let unescaped = text.replace(r#"odd \"name\\""#, r#"odd "name\"#);
    assert!(openmetrics_parser::prometheus::parse_prometheus(&unescaped).is_err());
    // Freed more than allocated: a negative gauge, as the figure is.
    assert_eq!(value(&exposition, "heaplab_live_heap_bytes", &[]).1, -904);
}
