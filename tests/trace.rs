//! `heaplab run ID --trace`, the real binary: lines parsed field by field, exact zero for a
//! zero-allocation variant, and a closed pipe ending it quietly. Each test asks for lines or
//! checks them against the samples recorded, so none depends on how fast the machine is.

// Exact counts are the point of these tests, floats included.
#![allow(clippy::float_cmp)]

mod binary;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use binary::{lines_until, stderr, wait_exit};
use heaplab::trace::FIELDS;
use serde_json::Value;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

/// A trace line's fields, checked to be [`FIELDS`] in order.
fn parse(line: &str) -> BTreeMap<String, String> {
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
}

/// A trace that ends by itself (`--duration`), parsed.
fn trace(args: &[&str]) -> Vec<BTreeMap<String, String>> {
    let child = Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("heaplab runs");
    let output = wait_exit(child, &format!("heaplab {args:?} to end at its duration"));
    let stderr = stderr(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.starts_with("heaplab trace: "), "{stderr}");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(parse)
        .collect()
}

/// The first `n` lines of a trace that runs until its reader leaves, parsed; the trace then
/// ends quietly.
fn first_lines(args: &[&str], n: usize) -> Vec<BTreeMap<String, String>> {
    let (lines, output) = lines_until(args, &format!("{n} trace lines"), |l| l.len() >= n);
    let stderr = stderr(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.starts_with("heaplab trace: "), "{stderr}");
    lines.iter().map(|l| parse(l)).collect()
}

fn number(line: &BTreeMap<String, String>, key: &str) -> f64 {
    line[key].parse().expect("a number")
}

#[test]
fn a_trace_line_per_interval_with_exact_allocation_figures() {
    // Four lines, however long the machine takes to produce them.
    let naive = first_lines(
        &[
            "run",
            "buffer-reuse",
            "--size",
            "64",
            "--trace",
            "--interval",
            "0.25",
        ],
        4,
    );
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

    let optimized = first_lines(
        &[
            "run",
            "buffer-reuse",
            "--variant",
            "optimized",
            "--trace",
            "--interval",
            "0.25",
        ],
        2,
    );
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
    // after the warm-up, which a 1 s duration never waited for. A duration counts from the
    // start, so how many samples fit in it depends on the machine: the record says which ones
    // the trace saw, and its last line must cover the interval up to the last of them. The
    // second duration ends between two lines: the rest of the interval gets a line too.
    for (duration, interval) in [("1", None), ("1.5", Some("1"))] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let record = dir.path().join("samples.json");
        let mut args = vec!["run", "buffer-reuse", "--trace", "--duration", duration];
        args.extend(["--record", record.to_str().expect("UTF-8 path")]);
        if let Some(interval) = interval {
            args.extend(["--interval", interval]);
        }
        let lines = trace(&args);
        let limit: f64 = duration.parse().expect("a number");
        for line in &lines {
            assert_eq!(line["variant"], "naive");
            // Within the duration: no line from a sample taken after it.
            let t = number(line, "t");
            assert!(t > 0.0 && t <= limit, "{line:?}");
            assert!(number(line, "ops_per_sec") > 0.0, "{line:?}");
            assert_eq!(line["allocs_per_op"], "1.00");
        }
        let samples: Value =
            serde_json::from_slice(&std::fs::read(&record).expect("the record")).expect("JSON");
        let running: Vec<(f64, f64)> = samples
            .as_array()
            .expect("samples")
            .iter()
            .filter(|s| s["phase"] == "running")
            .map(|s| (number_of(&s["t"]), number_of(&s["measured_secs"])))
            .collect();
        assert!(running.iter().all(|&(t, _)| t <= limit), "{samples}");
        let measured = running.iter().map(|&(_, m)| m).fold(0.0, f64::max);
        if running.first().is_some_and(|&(_, first)| measured > first) {
            // The last line ends at the last sample (or at one as far measured: a repeat).
            let last = lines.last().expect("a line for the interval so far");
            let ends: Vec<String> = running
                .iter()
                .filter(|&&(_, m)| m == measured)
                .map(|&(t, _)| format!("{t:.3}"))
                .collect();
            assert!(
                ends.contains(&last["t"]),
                "{last:?} ends at none of {ends:?}"
            );
        } else {
            // Nothing measured within the duration: no line, rather than a made-up one.
            assert!(lines.is_empty(), "{lines:?} from {samples}");
        }
    }
}

fn number_of(value: &Value) -> f64 {
    value.as_f64().expect("a number")
}

#[test]
fn a_closed_pipe_ends_the_trace_quietly() {
    let (lines, output) = lines_until(
        &["run", "buffer-reuse", "--trace", "--interval", "0.1"],
        "a first line",
        |l| !l.is_empty(),
    );
    assert!(lines[0].starts_with("t="), "{lines:?}");
    let stderr = stderr(&output);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
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
