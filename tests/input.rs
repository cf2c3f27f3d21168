//! `--input FILE`: every kind of bad file gets a clear error or a correct result, never a panic;
//! and the streaming variants' peak heap stays bounded on a single 100 MB line.

mod binary;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

use binary::{heaplab, stderr};
use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn bench_file(path: &Path) -> (Output, Option<Value>) {
    let out = heaplab(&[
        "bench",
        "streaming",
        "--iterations",
        "2",
        "--format",
        "json",
        "--input",
        path.to_str().expect("utf-8 path"),
    ]);
    let json = serde_json::from_slice(&out.stdout).ok();
    (out, json)
}

/// Every variant (naive, optimized, crate) ran to the end, and they agree.
fn assert_correct(path: &Path) -> Vec<Value> {
    let (out, json) = bench_file(path);
    assert!(out.status.success(), "{}: {}", path.display(), stderr(&out));
    let rows = json.expect("JSON")["results"]
        .as_array()
        .expect("rows")
        .clone();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row["status"], "ok", "{row}");
        assert_eq!(
            row["checksum"], rows[0]["checksum"],
            "the variants disagree"
        );
    }
    assert!(!stderr(&out).contains("panicked"));
    rows
}

#[test]
fn unusable_paths_are_refused_before_any_work_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, reason) in [
        (
            dir.path().join("missing.log"),
            "no such file; check the path",
        ),
        (dir.path().to_path_buf(), "it is a directory; give a file"),
    ] {
        let (out, _) = bench_file(&path);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("cannot use `{}` as input", path.display())),
            "{err}"
        );
        assert!(err.contains(reason), "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn an_unreadable_file_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("secret.log");
    std::fs::write(&path, "GET / 200 1ms\n").expect("written");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o000))
        .expect("chmod");
    if std::fs::File::open(&path).is_ok() {
        // Root reads anything: the refusal cannot be provoked here.
        eprintln!("running as root: an unreadable file cannot be made, skipping");
        return;
    }
    let (out, _) = bench_file(&path);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("permission denied; make it readable"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn empty_binary_and_invalid_utf8_files_give_correct_results() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").expect("written");
    let rows = assert_correct(&empty);
    assert_eq!(rows[0]["size"], 0);

    let binary = dir.path().join("binary.bin");
    let bytes: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&binary, bytes).expect("written");
    assert_correct(&binary);

    let invalid = dir.path().join("invalid.log");
    std::fs::write(
        &invalid,
        b"GET /a 200 5ms\n\xff\xfe\xc3\x28 bad\nPOST /b 500 9ms\r\n",
    )
    .expect("written");
    assert_correct(&invalid);
}

#[test]
fn a_single_100_mb_line_keeps_the_streaming_peak_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("one-line.log");
    let mut data = vec![b'x'; 100 << 20];
    data.extend_from_slice(b"\nGET /a 200 5ms\n");
    std::fs::write(&path, &data).expect("written");
    let rows = assert_correct(&path);
    let peak = |row: &Value| row["peak_heap_bytes"].as_u64().expect("peak");
    assert!(peak(&rows[0]) >= 100 << 20, "naive holds the whole file");
    // The carried partial line is capped (MAX_LINE), so the streaming peak is its buffers.
    for row in &rows[1..] {
        assert!(peak(row) < 1 << 20, "streaming peak {}", peak(row));
    }
}

#[test]
fn a_file_larger_than_the_budget_stops_naive_before_reading_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.log");
    std::fs::write(&path, "GET /a 200 5ms\n".repeat(1 << 20)).expect("written");
    let out = heaplab(&[
        "bench",
        "streaming",
        "--budget",
        "4MiB",
        "--iterations",
        "2",
        "--format",
        "json",
        "--input",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "over budget exits 3: {}",
        stderr(&out)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let rows = json["results"].as_array().expect("rows");
    assert_eq!(rows[0]["status"], "over_budget");
    assert!(
        rows[0]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("over budget at"))
    );
    assert_eq!(rows[1]["status"], "ok", "streaming fits in 4 MiB");
}

#[test]
fn experiments_without_input_and_absurd_budgets_are_refused() {
    for (args, expected) in [
        (
            &["bench", "buffer-reuse", "--input", "x.log"][..],
            "does not take an input file (these do: streaming)",
        ),
        (
            &["bench", "--budget", "0"],
            "budget `0` must be more than 0",
        ),
        (
            &["bench", "--budget", "1TiB"],
            "is not below the process-wide fuse",
        ),
        (&["bench", "--budget", "lots"], "invalid size `lots`"),
        (
            &["run", "buffer-reuse", "--input", "x.log"],
            "does not take an input file",
        ),
    ] {
        let out = heaplab(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}
