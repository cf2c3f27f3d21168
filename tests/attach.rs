//! `heaplab attach --trace`, `attach` refusals and `heaplab ps`, against a fake program
//! (`tests/attach_fake`): lines per frame, the program's exit ending the trace, an alert's exit
//! status, `--record`, stale and missing sockets, several programs to choose from, and
//! `--trace --sites`' lines (placed by a fake `PlaceStack`).

mod attach_fake;

use std::os::unix::net::UnixListener;
use std::process::{Command, Output};
use std::sync::atomic::AtomicUsize;

use attach_fake::{Fake, line_address, sampling_hello, script, script_with_sites};
use heaplab::attach::client::{Connection, resolve};
use heaplab::attach::sites::{PlaceStack, PlacedStack};
use heaplab::attach::trace::{SITE_FIELDS, SitesTrace, TraceEnd, run};

fn heaplab(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_heaplab"));
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("heaplab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

#[test]
fn a_trace_prints_a_line_per_frame_and_ends_with_the_programs_exit() {
    let mut fake = Fake::serve(script(5, 4096), false);
    let out = heaplab(&["attach", "--trace"], &[fake.env()]);
    fake.exit();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "one line per frame after the first:\n{stdout}"
    );
    let keys: Vec<&str> = lines[0]
        .split(' ')
        .map(|pair| pair.split_once('=').expect("key=value").0)
        .collect();
    assert_eq!(keys, heaplab::attach::trace::FIELDS);
    assert_eq!(field(lines[0], "t"), "1.000");
    // parser-1 allocates 3000 blocks a second, parser-2 1000, flusher 100, the monitor 10.
    assert_eq!(field(lines[0], "allocs_per_sec"), "4110");
    assert_eq!(field(lines[0], "busiest_thread"), "parser-1");
    assert_eq!(field(lines[0], "busiest_allocs_per_sec"), "3000");
    assert_eq!(
        field(lines[3], "live_heap_bytes"),
        (4 * 4096 + (1 << 20)).to_string()
    );
    assert!(
        field(lines[3], "rss_bytes")
            .parse::<u64>()
            .expect("a number")
            > 0
    );
    assert!(
        stderr.contains("ingest (process") && stderr.contains("exited; the trace ends"),
        "{stderr}"
    );
}

#[test]
fn a_crossed_alert_prints_its_line_and_exits_with_status_4() {
    let mut fake = Fake::serve(script(8, 1 << 20), false);
    let out = heaplab(
        &[
            "attach",
            "--trace",
            "--alert",
            "rate>1G/s",
            "--alert",
            "heap>3MiB",
        ],
        &[fake.env()],
    );
    fake.exit();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(4), "{stdout}\n{stderr}");
    let last = stdout.lines().last().expect("lines");
    // 1 MiB at attach and 1 MiB more a second: above 3 MiB at t=3.
    assert!(
        last.starts_with("alert t=3.000 heap>3145728B crossed: live heap 4.0 MiB"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().count(),
        4,
        "three lines, then the alert:\n{stdout}"
    );
    assert!(stderr.contains("exit status 4"), "{stderr}");
}

#[test]
fn growth_alerts_judge_the_heaps_growth_per_minute() {
    let mut fake = Fake::serve(script(4, 1 << 20), false);
    let out = heaplab(
        &["attach", "--trace", "--alert", "growth>50MiB/min"],
        &[fake.env()],
    );
    fake.exit();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("alert t=1.000 growth>52428800B/min crossed: live heap growing 60 MiB/min"),
        "{stdout}"
    );
}

#[test]
fn record_writes_every_frame_as_csv() {
    let mut fake = Fake::serve(script(3, 4096), false);
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("watch.csv");
    let out = heaplab(
        &[
            "attach",
            "--trace",
            "--record",
            csv.to_str().expect("utf-8"),
        ],
        &[fake.env()],
    );
    fake.exit();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&csv).expect("the recording");
    let rows: Vec<&str> = written.lines().collect();
    assert_eq!(rows.len(), 4, "a header and every frame:\n{written}");
    assert!(rows[0].starts_with("t,allocs,deallocs"), "{written}");
    assert!(rows[3].starts_with("2.0,"), "{written}");
}

#[test]
fn a_stale_socket_is_removed_with_a_line() {
    // A program that died: its socket is left, its process id gone.
    let dir = tempfile::tempdir().expect("tempdir");
    let dead = dir.path().join("999999999.sock");
    drop(UnixListener::bind(&dead).expect("bind"));
    let env = [(
        "HEAPLAB_MONITOR_DIR",
        dir.path().to_string_lossy().into_owned(),
    )];
    let out = heaplab(&["attach", "--trace"], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("removed stale monitor socket")
            && stderr.contains("process 999999999 is gone"),
        "{stderr}"
    );
    assert!(stderr.contains("heaplab::monitor::start()"), "{stderr}");
    assert!(!dead.exists());

    // A live process id but nothing listening: connection refused.
    let refused = dir.path().join(format!("{}.sock", std::process::id()));
    drop(UnixListener::bind(&refused).expect("bind"));
    let out = heaplab(&["attach", "--trace"], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing listens on"), "{stderr}");
    assert!(!refused.exists());
}

#[test]
fn a_missing_socket_says_how_to_start_the_monitor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [(
        "HEAPLAB_MONITOR_DIR",
        dir.path().to_string_lossy().into_owned(),
    )];
    let out = heaplab(&["attach", "4242", "--trace"], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("process 4242 has no monitor socket")
            && stderr.contains("heaplab::monitor::start()"),
        "{stderr}"
    );
}

#[test]
fn several_programs_are_listed_and_ps_shows_them() {
    let fake = Fake::serve(vec![], false);
    // A second attachable program: process 1 is always alive.
    let other = fake.dir.path().join("1.sock");
    let _listener = UnixListener::bind(&other).expect("bind");
    let out = heaplab(&["attach", "--trace"], &[fake.env()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("2 programs can be attached") && stderr.contains("pass one's PID"),
        "{stderr}"
    );
    let out = heaplab(&["ps"], &[fake.env()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stdout.contains(&format!("{}.sock", fake.pid)), "{stdout}");
    assert!(stdout.contains("attachable"), "{stdout}");
}

#[test]
fn a_bad_alert_is_refused_in_one_line() {
    let out = heaplab(&["attach", "--trace", "--alert", "heap<5MiB"], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("only `>` is supported"), "{stderr}");
}

#[test]
fn a_program_of_another_protocol_is_refused() {
    let mut hello = attach_fake::hello();
    hello.protocol = 99;
    let mut fake = Fake::serve_as(&hello, vec![], false);
    let out = heaplab(&["attach", "--trace"], &[fake.env()]);
    fake.exit();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains(&format!(
            "speaks monitor protocol 99, this heaplab {}",
            heaplab::monitor::protocol::PROTOCOL
        )),
        "{stderr}"
    );
}

#[test]
fn a_screenshot_draws_the_view_after_its_frames_as_svg() {
    let mut fake = Fake::serve(script(5, 4096), false);
    let dir = tempfile::tempdir().expect("a directory");
    let picture = dir.path().join("attach.svg");
    let path = picture.to_str().expect("a UTF-8 path");
    let out = heaplab(
        &["attach", "--screenshot", path, "--frames", "5"],
        &[fake.env()],
    );
    fake.exit();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let svg = std::fs::read_to_string(&picture).expect("the picture");
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let shown: String = doc
        .descendants()
        .filter_map(|node| node.text())
        .collect::<Vec<_>>()
        .join("");
    for seen in ["ingest", "parser-1", "flusher"] {
        assert!(shown.contains(seen), "{seen} not in the picture: {shown}");
    }
    // Without the view there is nothing to draw: refused before anything is read.
    let out = heaplab(&["attach", "--screenshot", path, "--trace"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// Places the fake's stacks on the line their first address names (`line_address`).
struct FakeLines;

impl PlaceStack for FakeLines {
    fn place(&mut self, frames: &[u64]) -> PlacedStack {
        let line = u32::try_from(frames[0] / line_address(1)).expect("a small line");
        PlacedStack {
            function: format!("ingest::line_{line}"),
            file: "src/ingest.rs".into(),
            line,
            stack: Vec::new(),
        }
    }
}

fn site_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("site ")).collect()
}

#[test]
fn trace_sites_prints_the_top_lines_by_growth_after_each_sites_frame() {
    let mut fake = Fake::serve_messages(&sampling_hello(), script_with_sites(6), false);
    let target = resolve(Some(fake.pid), Some(fake.socket.clone())).expect("the fake's socket");
    let mut connection = Connection::open(target).expect("attaches");
    let mut out = Vec::new();
    let end = run(
        &mut connection,
        &[],
        &mut out,
        None,
        &AtomicUsize::new(0),
        Some(SitesTrace {
            place: &mut FakeLines,
            top: 5,
        }),
    )
    .expect("the trace runs");
    fake.exit();
    assert_eq!(end, TraceEnd::ProgramExited);
    let stdout = text(&out);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("t=")).count(),
        5,
        "frame lines as without --sites:\n{stdout}"
    );
    let sites = site_lines(&stdout);
    assert_eq!(
        sites.len(),
        12,
        "two lines after each of 6 sites frames:\n{stdout}"
    );
    let keys: Vec<&str> = sites[0]
        .split(' ')
        .skip(1)
        .map(|pair| pair.split_once('=').expect("key=value").0)
        .collect();
    assert_eq!(keys, SITE_FIELDS);
    assert_eq!(field(sites[0], "growth"), "-", "no window yet:\n{stdout}");
    let (leak, cache) = (sites[10], sites[11]);
    // Over 5 s, the leak held 50 kB more: 600 kB a minute.
    for (key, value) in [
        ("t", "5.000"),
        ("rank", "1"),
        ("growth", "+586KiB/min"),
        ("live", "49KiB"),
        ("allocs_per_sec", "100"),
        ("temporary", "25%"),
        ("at", "src/ingest.rs:10"),
        ("function", "ingest::line_10"),
        ("thread", "parser-1"),
        ("growing", "yes"),
    ] {
        assert_eq!(field(leak, key), value, "{key} in {leak}");
    }
    for (key, value) in [
        ("rank", "2"),
        ("at", "src/ingest.rs:20"),
        ("thread", "evictor"),
        ("growing", "no"),
    ] {
        assert_eq!(field(cache, key), value, "{key} in {cache}");
    }
}

#[test]
fn attach_trace_sites_prints_site_lines_or_says_the_program_samples_none() {
    let mut fake = Fake::serve_messages(&sampling_hello(), script_with_sites(4), false);
    let out = heaplab(
        &["attach", "--trace", "--sites", "--top", "1"],
        &[fake.env()],
    );
    fake.exit();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let sites = site_lines(&stdout);
    assert_eq!(sites.len(), 4, "--top 1: a line a sites frame:\n{stdout}");
    assert!(sites.iter().all(|l| field(l, "rank") == "1"), "{stdout}");
    assert_eq!(field(sites[3], "growing"), "yes", "{stdout}");
    assert!(stderr.contains("the top 1 lines by growth"), "{stderr}");

    // A program that samples nothing: said once, and the trace goes on.
    let mut fake = Fake::serve(script(3, 4096), false);
    let out = heaplab(&["attach", "--trace", "--sites"], &[fake.env()]);
    fake.exit();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(site_lines(&stdout).is_empty(), "{stdout}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stderr.contains("ingest (process")
            && stderr.contains("samples no sites: it runs with HEAPLAB_SAMPLE_EVERY=0"),
        "{stderr}"
    );
}

#[test]
fn sites_options_need_the_trace_and_a_positive_top() {
    for args in [
        &["attach", "--sites"][..],
        &["attach", "--trace", "--top", "3"],
        &["attach", "--trace", "--sites", "--top", "0"],
    ] {
        let out = heaplab(args, &[]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
