//! The real binary, headless: `list`, `bench` in every format, exit statuses, atomic output,
//! and an independent allocation counter (valgrind) agreeing with ours.

// Exact equality of counts is the point of these tests, floats included.
#![allow(clippy::float_cmp)]

mod binary;

use binary::{heaplab, stderr};
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

const ROW_FIELDS: [&str; 16] = [
    "experiment",
    "variant",
    "ns_per_op",
    "allocs_per_op",
    "bytes_per_op",
    "reallocs_per_op",
    "peak_heap_bytes",
    "ops_per_sec",
    "bytes_per_sec",
    "checksum",
    "iterations",
    "size",
    "vs_naive",
    "extra",
    "status",
    "error",
];

#[test]
fn list_json_describes_every_experiment() {
    let list = stdout_json(&heaplab(&["list", "--format", "json"]));
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), heaplab_experiments::catalog().len());
    for entry in list {
        for field in ["id", "section", "title", "why", "variants", "default_size"] {
            assert!(entry.get(field).is_some(), "{field} missing in {entry}");
        }
    }
    assert!(
        list.iter()
            .any(|e| e["id"] == "buffer-reuse" && e["section"] == "04-01")
    );
}

#[test]
fn list_table_groups_by_section() {
    let out = heaplab(&["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("04-01 Zero-allocation\n"), "{text}");
    assert!(
        text.contains("04-02 Data structures\n  struct-layout"),
        "{text}"
    );
}

#[test]
fn bench_json_has_the_documented_fields_and_exact_counts() {
    let report = stdout_json(&heaplab(&[
        "bench",
        "buffer-reuse",
        "string-processing",
        "--iterations",
        "500",
        "--format",
        "json",
    ]));
    let rows = report["results"].as_array().expect("results array");
    assert_eq!(rows.len(), 4);
    for row in rows {
        let fields: Vec<&str> = row
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        for field in ROW_FIELDS {
            assert!(fields.contains(&field), "{field} missing: {fields:?}");
        }
        assert_eq!(
            fields.len(),
            ROW_FIELDS.len(),
            "unexpected fields: {fields:?}"
        );
        assert_eq!(row["iterations"], 500);
        assert_eq!(row["checksum"].as_str().map(str::len), Some(16));
    }
    let find = |e: &str, v: &str| {
        rows.iter()
            .find(|r| r["experiment"] == e && r["variant"] == v)
            .unwrap_or_else(|| panic!("row {e} {v}"))
    };
    let naive = find("buffer-reuse", "naive");
    let optimized = find("buffer-reuse", "optimized");
    assert_eq!(naive["allocs_per_op"], 1.0);
    assert_eq!(naive["bytes_per_op"], 2048.0);
    assert_eq!(optimized["allocs_per_op"], 0.0);
    assert_eq!(naive["vs_naive"], Value::Null);
    assert_eq!(optimized["vs_naive"]["allocs_reduction_pct"], 100.0);
    assert_eq!(optimized["vs_naive"]["same_checksum"], true);
    assert_eq!(naive["checksum"], optimized["checksum"]);
    assert_eq!(find("string-processing", "optimized")["allocs_per_op"], 0.0);
    assert!(find("string-processing", "naive")["allocs_per_op"].as_f64() >= Some(5.0));
}

#[test]
fn bench_csv_and_markdown_have_a_header_and_a_line_per_row() {
    let args = ["bench", "buffer-reuse", "--iterations", "50", "--format"];
    let csv = heaplab(&[&args[..], &["csv"]].concat());
    let csv = String::from_utf8_lossy(&csv.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("experiment,variant,size,iterations,ns_per_op,allocs_per_op"));
    assert!(lines[2].starts_with("buffer-reuse,optimized,1024,50,"));

    let md = heaplab(&[&args[..], &["markdown"]].concat());
    let md = String::from_utf8_lossy(&md.stdout);
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines.len(), 4, "{md}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("| ") && l.ends_with('|'))
    );
    assert!(lines[1].starts_with("| :---"));
    assert!(lines[3].contains("100% fewer allocs"));
}

#[test]
fn bad_arguments_exit_2_with_one_line_naming_the_value() {
    for (args, expected) in [
        (
            &["bench", "no-such"][..],
            "unknown experiment `no-such`; valid ids: buffer-reuse",
        ),
        (
            &["bench", "buffer-reuse", "--variant", "fast"],
            "no variant `fast`",
        ),
        (&["bench", "--iterations", "0"], "'0'"),
        (&["bench", "--iterations", "-3"], "'-3'"),
        (&["bench", "--size", "0"], "size `0` must be at least 1"),
        (
            &["bench", "--size", "12 parsecs"],
            "invalid size `12 parsecs`",
        ),
        (
            &["bench", "buffer-reuse", "--size", "999999999999"],
            "out of range",
        ),
        (&["bench", "--time", "0"], "`0` is out of range"),
        (
            &["bench", "--time", "1", "--iterations", "5"],
            "cannot be used with",
        ),
        (&["bench", "--format", "xml"], "'xml'"),
        (
            &["--max-memory", "0", "list"],
            "--max-memory must be more than 0",
        ),
        (&["--max-memory", "1", "list"], "below the"),
    ] {
        let out = heaplab(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{args:?}");
    }
}

#[test]
fn output_is_written_whole_or_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.json");
    let path_text = path.to_str().expect("utf-8 path");
    let out = heaplab(&[
        "bench",
        "buffer-reuse",
        "--iterations",
        "10",
        "--format",
        "json",
        "-o",
        path_text,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("report written")).expect("JSON");
    assert_eq!(written["results"].as_array().map(Vec::len), Some(2));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "report.json")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let started = std::time::Instant::now();
    let out = heaplab(&["bench", "-o", "/nonexistent-dir/report.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot write to `/nonexistent-dir/report.json`"));
    assert!(
        started.elapsed().as_secs() < 5,
        "refused only after measuring"
    );
    let out = heaplab(&["bench", "-o", dir.path().to_str().expect("utf-8")]);
    assert!(
        stderr(&out).contains("it is a directory"),
        "{}",
        stderr(&out)
    );
}

/// The measurement both counters take: valgrind's and ours see the same command.
const CROSS_CHECKED: [&str; 6] = [
    "bench",
    "buffer-reuse",
    "--variant",
    "naive",
    "--size",
    "64",
];

/// valgrind's own malloc count for `heaplab bench buffer-reuse --variant naive --iterations N`.
fn valgrind_allocs(iterations: u64) -> u64 {
    let out = Command::new("valgrind")
        .args(["--tool=memcheck", "--leak-check=no"])
        .arg(env!("CARGO_BIN_EXE_heaplab"))
        .args(CROSS_CHECKED)
        .args(["--format", "json"])
        // valgrind follows one process: measure in it, not in a child per row.
        .arg("--in-process")
        .args(["--iterations", &iterations.to_string()])
        .output()
        .expect("valgrind runs");
    let text = stderr(&out);
    let line = text
        .lines()
        .find(|l| l.contains("total heap usage:"))
        .unwrap_or_else(|| panic!("no heap summary from valgrind:\n{text}"));
    let allocs = line
        .split("total heap usage:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a count");
    allocs.replace(',', "").parse().expect("a number")
}

#[test]
fn an_independent_counter_agrees_with_ours() {
    let have_valgrind = Command::new("valgrind").arg("--version").output().is_ok();
    if !have_valgrind {
        assert!(
            std::env::var_os("HEAPLAB_REQUIRE_VALGRIND").is_none(),
            "HEAPLAB_REQUIRE_VALGRIND is set but valgrind is not installed"
        );
        eprintln!("valgrind not installed: skipping the independent allocation count");
        return;
    }
    // Two runs that differ only in the number of measured operations: everything else heaplab
    // allocates (arguments, threads, setup, output) is the same, so the difference is the
    // operations' own allocations, counted by valgrind's malloc interception, not by us.
    let (few, many) = (1_000, 3_000);
    let per_op = (valgrind_allocs(many) - valgrind_allocs(few)) as f64 / (many - few) as f64;
    let ours = stdout_json(&heaplab(
        &[
            CROSS_CHECKED.as_slice(),
            &["--iterations", "1000", "--format", "json"],
        ]
        .concat(),
    ))["results"][0]["allocs_per_op"]
        .as_f64()
        .expect("a number");
    assert!(
        (per_op - ours).abs() < 0.01,
        "valgrind {per_op} allocs/op, heaplab {ours}"
    );
    assert!(Path::new(env!("CARGO_BIN_EXE_heaplab")).exists());
}

#[test]
fn without_a_terminal_the_dashboard_points_to_bench() {
    // Output captured by the test harness: standard output is a pipe, not a terminal.
    for args in [&[][..], &["run", "buffer-reuse"]] {
        let out = heaplab(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("needs a terminal") && err.contains("heaplab bench"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "one line, no backtrace: {err}");
    }
    // Bad arguments to `run` are refused before the terminal matters.
    let out = heaplab(&["run", "no-such"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown experiment `no-such`"));
}

#[test]
fn scorecard_scores_every_experiment_against_the_targets() {
    let report = stdout_json(&heaplab(&[
        "scorecard",
        "--time",
        "0.02",
        "--format",
        "json",
    ]));
    let scores = report["scores"].as_array().expect("scores");
    assert_eq!(scores.len(), heaplab_experiments::catalog().len());
    for score in scores {
        for check in ["allocations", "peak_heap", "throughput", "crate_variant"] {
            let verdict = score[check]["verdict"].as_str().expect("a verdict");
            assert!(
                ["met", "not_met", "not_applicable"].contains(&verdict),
                "{score}"
            );
        }
        assert!(score["all_met"].is_boolean());
    }
    let buffer_reuse = scores
        .iter()
        .find(|s| s["experiment"] == "buffer-reuse")
        .expect("buffer-reuse scored");
    assert_eq!(buffer_reuse["allocations"]["target"], "exactly 0/op");
    assert_eq!(buffer_reuse["allocations"]["verdict"], "met");
    assert!(
        report["results"]
            .as_array()
            .is_some_and(|r| r.len() >= 2 * scores.len())
    );
}
