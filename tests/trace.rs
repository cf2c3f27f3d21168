//! `heaplab run ID --trace`, the real binary: lines parsed field by field, exact zero for a
//! zero-allocation variant, and a closed pipe ending it quietly.

// Exact counts are the point of these tests, floats included.
#![allow(clippy::float_cmp)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use heaplab::trace::FIELDS;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

fn trace(args: &[&str]) -> Vec<BTreeMap<String, String>> {
    let output = Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(args)
        .output()
        .expect("heaplab runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("heaplab trace: "), "{stderr}");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            let pairs: Vec<(String, String)> = line
                .split(' ')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').expect("key=value");
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys, FIELDS, "{line}");
            pairs.into_iter().collect()
        })
        .collect()
}

fn number(line: &BTreeMap<String, String>, key: &str) -> f64 {
    line[key].parse().expect("a number")
}

#[test]
fn a_trace_line_per_interval_with_exact_allocation_figures() {
    let naive = trace(&[
        "run",
        "buffer-reuse",
        "--size",
        "64",
        "--trace",
        "--interval",
        "0.25",
        "--duration",
        "2",
    ]);
    // The first interval after warm-up has no rate; after that one line per quarter second.
    assert!(naive.len() >= 4, "{naive:?}");
    let mut last_t = 0.0;
    for line in &naive {
        assert_eq!(line["variant"], "naive");
        let t = number(line, "t");
        assert!(t > last_t, "time goes forward: {naive:?}");
        last_t = t;
        // buffer-reuse's naive variant allocates exactly once per operation.
        assert_eq!(line["allocs_per_op"], "1.00");
        let ops = number(line, "ops_per_sec");
        let allocs = number(line, "allocs_per_sec");
        assert!(ops > 0.0);
        assert!((allocs - ops).abs() <= 1.0, "{line:?}");
        assert!(number(line, "peak_heap_bytes") >= number(line, "live_heap_bytes"));
        assert!(number(line, "rss_bytes") > 0.0);
    }

    let optimized = trace(&[
        "run",
        "buffer-reuse",
        "--variant",
        "optimized",
        "--trace",
        "--interval",
        "0.25",
        "--duration",
        "1.5",
    ]);
    assert!(!optimized.is_empty());
    for line in &optimized {
        assert_eq!(line["variant"], "optimized");
        assert_eq!(number(line, "allocs_per_sec"), 0.0);
        assert_eq!(number(line, "alloc_bytes_per_sec"), 0.0);
        assert_eq!(line["allocs_per_op"], "0.00");
    }
}

#[test]
fn a_duration_shorter_than_two_intervals_still_prints_a_line() {
    // The default interval is 1 s: before, the first line needed a sample a whole interval
    // after the warm-up, which a 1 s duration never waited for.
    let started = Instant::now();
    let lines = trace(&["run", "buffer-reuse", "--trace", "--duration", "1"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!lines.is_empty(), "no line in 1 s");
    for line in &lines {
        assert_eq!(line["variant"], "naive");
        // Within the duration: no line from a sample taken after it.
        let t = number(line, "t");
        assert!(t > 0.0 && t <= 1.0, "{line:?}");
        assert!(number(line, "ops_per_sec") > 0.0, "{line:?}");
        assert_eq!(line["allocs_per_op"], "1.00");
    }
    // A duration that ends between two lines: the rest of the interval gets a line too.
    let lines = trace(&[
        "run",
        "buffer-reuse",
        "--trace",
        "--interval",
        "1",
        "--duration",
        "1.5",
    ]);
    let last = number(lines.last().expect("a line"), "t");
    assert!(last > 1.1 && last <= 1.5, "{lines:?}");
}

#[test]
fn a_closed_pipe_ends_the_trace_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(["run", "buffer-reuse", "--trace", "--interval", "0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("heaplab starts");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("a line");
    assert!(first.starts_with("t="), "{first}");
    drop(reader);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running after its reader left"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().expect("stderr");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(status.success(), "{status:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "only the header: {stderr}");
}

#[test]
fn trace_options_need_trace() {
    let output = Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(["run", "buffer-reuse", "--duration", "1"])
        .output()
        .expect("heaplab runs");
    assert_eq!(output.status.code(), Some(2));
}
