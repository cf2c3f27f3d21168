//! `heaplab compare` on real bench exports, edited as a user's change would move them: every
//! figure judged (allocs/op, reallocs/op, bytes/op, peak heap beside ns/op), rows only one side
//! has listed, the host each export records, and `--fail-on`'s exit status (issue 25).

mod binary;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use binary::{heaplab, stderr};
use serde_json::Value;

/// One real export, measured once for every test here: two experiments, every variant, the
/// same operations in every run (`--iterations`), so that its counts are exact.
fn base() -> &'static Value {
    static BASE: OnceLock<Value> = OnceLock::new();
    BASE.get_or_init(|| {
        let out = heaplab(&[
            "bench",
            "buffer-reuse",
            "sync-pool",
            "--iterations",
            "200",
            "--runs",
            "3",
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("a JSON export")
    })
}

/// Writes `export` to `name` in `dir`, returns its path as text.
fn write(dir: &Path, name: &str, export: &Value) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, export.to_string()).expect("written");
    path.display().to_string()
}

fn rows_mut(export: &mut Value) -> &mut Vec<Value> {
    export["results"].as_array_mut().expect("rows")
}

/// The base export with each optimized variant moved from 0 to 1 allocation per operation
/// (64 bytes each) and its peak heap tripled: what a change that brings an allocation back
/// looks like.
fn allocating() -> Value {
    let mut export = base().clone();
    for row in rows_mut(&mut export) {
        if row["variant"] == "optimized" {
            assert_eq!(row["allocs_per_op"], 0.0, "{row}");
            row["allocs_per_op"] = 1.0.into();
            row["bytes_per_op"] = 64.0.into();
            let peak = row["peak_heap_bytes"].as_u64().expect("a peak");
            row["peak_heap_bytes"] = (3 * peak).into();
        }
    }
    export
}

fn comparisons(out: &std::process::Output) -> Vec<Value> {
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    report["comparisons"]
        .as_array()
        .expect("comparisons")
        .clone()
}

/// Item 1 and 3: each changed count is shown with its size, the rows judged regressed, and
/// `--fail-on` exits 1 with a line per regression; without it compare only reports.
#[test]
fn every_count_change_is_shown_and_fails_the_job_when_asked() {
    let dir = tempfile::tempdir().expect("a directory");
    let old = write(dir.path(), "old.json", base());
    let new = write(dir.path(), "new.json", &allocating());

    let table = heaplab(&["compare", &old, &new]);
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    let text = String::from_utf8_lossy(&table.stdout);
    for experiment in ["buffer-reuse", "sync-pool"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(experiment) && l.contains("optimized"))
            .unwrap_or_else(|| panic!("{experiment} optimized: {text}"));
        assert!(line.contains("0 → 1.00"), "{line}");
        assert!(line.contains("0 → 64"), "{line}");
        assert!(line.contains("(+200%)"), "{line}");
        let naive = text
            .lines()
            .find(|l| l.starts_with(experiment) && l.contains("naive"))
            .expect("naive");
        assert!(!naive.contains('→'), "naive did not change: {naive}");
    }
    assert!(
        text.contains("2 regressed, 0 improved, 4 unchanged"),
        "{text}"
    );

    let json = heaplab(&["compare", &old, &new, "--format", "json"]);
    for row in comparisons(&json) {
        let optimized = row["variant"] == "optimized";
        let expected = if optimized { "regressed" } else { "same" };
        for figure in ["allocs_per_op", "bytes_per_op", "peak_heap_bytes"] {
            assert_eq!(row[figure]["verdict"], expected, "{figure}: {row}");
        }
        assert_eq!(row["reallocs_per_op"]["verdict"], "same", "{row}");
        assert_eq!(row["same_operations"], true, "{row}");
        assert_eq!(row["verdict"], expected, "{row}");
    }

    let failing = heaplab(&["compare", &old, &new, "--fail-on", "allocs,peak"]);
    assert_eq!(failing.status.code(), Some(1), "{}", stderr(&failing));
    let err = stderr(&failing);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "two variants, two figures each: {err}");
    assert!(lines.iter().all(|l| l.starts_with("regression: ")), "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("sync-pool optimized") && l.contains("allocs/op 0 → 1.00")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("buffer-reuse optimized") && l.contains("peak heap")),
        "{err}"
    );
    // The report is on stdout all the same.
    assert!(String::from_utf8_lossy(&failing.stdout).contains("2 regressed"));
    // Time did not move, reallocs did not: naming them alone passes.
    let time = heaplab(&["compare", &old, &new, "--fail-on", "time,reallocs"]);
    assert_eq!(time.status.code(), Some(0), "{}", stderr(&time));
    // An export against itself: nothing changed, nothing fails.
    let same = heaplab(&[
        "compare",
        &old,
        &old,
        "--fail-on",
        "allocs,reallocs,bytes,peak,time",
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(String::from_utf8_lossy(&same.stdout).contains("0 regressed, 0 improved, 6 unchanged"));
    // A figure compare does not know: clap's one-line refusal, status 2.
    let bad = heaplab(&["compare", &old, &new, "--fail-on", "allocs,speed"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("speed"), "{}", stderr(&bad));
}

/// Item 1: the markdown for a pull-request comment puts the regressions first, then the
/// improvements, and folds the unchanged rows into a `<details>`.
#[test]
fn the_markdown_puts_regressions_first_and_folds_the_unchanged() {
    let dir = tempfile::tempdir().expect("a directory");
    let mut export = allocating();
    // One improvement: buffer-reuse's naive allocates half as many bytes.
    for row in rows_mut(&mut export) {
        if row["experiment"] == "buffer-reuse" && row["variant"] == "naive" {
            let bytes = row["bytes_per_op"].as_f64().expect("bytes");
            row["bytes_per_op"] = (bytes / 2.0).into();
        }
    }
    let old = write(dir.path(), "old.json", base());
    let new = write(dir.path(), "new.json", &export);
    let out = heaplab(&["compare", &old, &new, "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let at = |what: &str| {
        text.find(what)
            .unwrap_or_else(|| panic!("no {what:?} in:\n{text}"))
    };
    assert!(text.starts_with("**heaplab compare**: 2 regressed, 1 improved, 3 unchanged"));
    assert!(at("### Regressions") < at("### Improvements"), "{text}");
    assert!(
        at("### Improvements") < at("<details><summary>3 unchanged"),
        "{text}"
    );
    let regressions = &text[at("### Regressions")..at("### Improvements")];
    assert_eq!(
        regressions.matches("| optimized").count(),
        2,
        "{regressions}"
    );
    let improvements = &text[at("### Improvements")..at("<details>")];
    assert!(improvements.contains("(-50%)"), "{improvements}");
    let folded = &text[at("<details>")..at("</details>")];
    assert_eq!(folded.matches("| sync-pool").count(), 2, "{folded}");
}

/// Item 1: rows only one export has are listed (table, JSON, CSV), not dropped.
#[test]
fn rows_in_one_export_only_are_listed() {
    let dir = tempfile::tempdir().expect("a directory");
    let mut export = base().clone();
    let rows = rows_mut(&mut export);
    let removed = rows.remove(1);
    let mut added = rows[0].clone();
    added["variant"] = "brand-new".into();
    rows.push(added);
    let old = write(dir.path(), "old.json", base());
    let new = write(dir.path(), "new.json", &export);
    let table = heaplab(&["compare", &old, &new]);
    let text = String::from_utf8_lossy(&table.stdout);
    let only_old = format!(
        "only in `{old}`: {} {}",
        removed["experiment"].as_str().expect("id"),
        removed["variant"].as_str().expect("name")
    );
    assert!(text.contains(&only_old), "{text}");
    assert!(text.contains("buffer-reuse brand-new (size"), "{text}");
    let json: Value =
        serde_json::from_slice(&heaplab(&["compare", &old, &new, "--format", "json"]).stdout)
            .expect("JSON");
    assert_eq!(json["only_in_old"][0]["variant"], removed["variant"]);
    assert_eq!(json["only_in_new"][0]["variant"], "brand-new");
    let csv = heaplab(&["compare", &old, &new, "--format", "csv"]);
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(
        csv.lines()
            .any(|l| l.contains(",brand-new,") && l.contains("only_in_new")),
        "{csv}"
    );
    assert!(csv.lines().any(|l| l.contains("only_in_old")), "{csv}");
}

/// Item 2: an export says where it was measured, and compare uses it: on different hosts no
/// time change is significant (it says why); on one host a doubled time is.
#[test]
fn exports_record_their_host_and_different_hosts_judge_no_time() {
    let host = &base()["host"];
    assert!(host["cores"].as_u64() >= Some(1), "{host}");
    assert_eq!(host["heaplab_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        host["cpu"].is_string() && host["kernel"].is_string(),
        "{host}"
    );
    assert_eq!(host["bench"]["iterations"], 200, "{host}");
    assert_eq!(host["bench"]["runs"], 3, "{host}");
    assert_eq!(host["bench"]["in_process"], false, "{host}");

    // Six steady runs a side (the measured ones vary too much in a debug build to test a
    // doubling on three), the new side twice as slow.
    let dir = tempfile::tempdir().expect("a directory");
    let timed = |factor: f64| {
        let mut export = base().clone();
        for row in rows_mut(&mut export) {
            let runs: Vec<f64> = (0..6).map(|i| factor * (1000.0 + f64::from(i))).collect();
            row["ns_per_op_runs"] = runs.into();
        }
        export
    };
    let (old_export, mut slower) = (timed(1.0), timed(2.0));
    let old = write(dir.path(), "old.json", &old_export);
    let new = write(dir.path(), "new.json", &slower);
    let here = comparisons(&heaplab(&["compare", &old, &new, "--format", "json"]));
    assert!(here.iter().all(|c| c["significant"] == true), "{here:?}");
    let out = heaplab(&["compare", &old, &new, "--fail-on", "time"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    slower["host"]["cores"] = (host["cores"].as_u64().expect("cores") + 6).into();
    let elsewhere = write(dir.path(), "elsewhere.json", &slower);
    let out = heaplab(&["compare", &old, &elsewhere, "--fail-on", "time"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hosts differ (cores: "), "{text}");
    assert!(text.contains("0 regressed"), "{text}");
    // And a doubling below the minimum effect asked for is no change either.
    let out = heaplab(&[
        "compare",
        &old,
        &new,
        "--min-effect",
        "150",
        "--format",
        "json",
    ]);
    assert!(comparisons(&out).iter().all(|c| c["significant"] == false));
}

/// Exports from before hosts were recorded (and before throughput had a unit) still load and
/// compare, every figure judged, with a note that their host is unknown.
#[test]
fn old_exports_without_a_host_still_compare() {
    let dir = tempfile::tempdir().expect("a directory");
    let strip = |export: &Value| {
        let mut old = export.clone();
        old.as_object_mut().expect("an object").remove("host");
        for row in rows_mut(&mut old) {
            let row = row.as_object_mut().expect("a row");
            row.remove("work_unit");
            let rate = row.remove("work_per_sec").expect("a rate");
            row.insert("bytes_per_sec".into(), rate);
        }
        old
    };
    let old = write(dir.path(), "old.json", &strip(base()));
    let new = write(dir.path(), "new.json", &strip(&allocating()));
    let out = heaplab(&["compare", &old, &new, "--fail-on", "allocs"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 → 1.00"), "{text}");
    assert!(
        text.contains(&format!("`{old}` does not say where it was measured")),
        "{text}"
    );
    // One old, one new: the host is unknown on one side only, and time is still judged.
    let recorded = write(dir.path(), "recorded.json", base());
    let mixed = heaplab(&["compare", &old, &recorded]);
    assert_eq!(mixed.status.code(), Some(0), "{}", stderr(&mixed));
    let text = String::from_utf8_lossy(&mixed.stdout);
    assert!(
        text.contains("0 regressed, 0 improved, 6 unchanged"),
        "{text}"
    );
    assert!(
        !text.contains(&format!("`{recorded}` does not say")),
        "{text}"
    );
}

/// Item 2: `compare --run BASE NEW -- BENCH_ARGS` measures both binaries itself, a run of each
/// per round, and compares those; the same binary on both sides changes nothing.
#[test]
fn compare_runs_two_binaries_benches_interleaved() {
    let bin = env!("CARGO_BIN_EXE_heaplab");
    let args = [
        "compare",
        "--run",
        bin,
        bin,
        "--rounds",
        "2",
        "--fail-on",
        "allocs,bytes,peak",
        "--format",
        "json",
        "--",
        "buffer-reuse",
        "--iterations",
        "50",
    ];
    let out = heaplab(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = comparisons(&out);
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in &rows {
        assert_eq!(
            (row["old_runs"].as_u64(), row["new_runs"].as_u64()),
            (Some(2), Some(2)),
            "{row}"
        );
        assert_eq!(row["same_operations"], true, "{row}");
        assert_eq!(row["allocs_per_op"]["verdict"], "same", "{row}");
    }
    // A binary that is not there: one line, status 2.
    let missing = heaplab(&[
        "compare",
        "--run",
        "/nonexistent/heaplab",
        bin,
        "--",
        "buffer-reuse",
    ]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("could not run `/nonexistent/heaplab bench`"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(stderr(&missing).lines().count(), 1, "{}", stderr(&missing));
}
