//! heaplab as a library for users' crates: a new crate in a temporary folder depends on heaplab
//! by path, declares variants with known allocation counts (and one that panics, one that
//! aborts its process, one that grows past a budget), and its `bench --format json` must give exactly those counts, as the
//! chapter's catalog does. Also: `docs/your-own-code.md` holds the whole example word for word,
//! and the README's "Your own code" excerpt is taken from it, line for line.

mod user_crate;

use std::process::Command;

use serde_json::Value;
use user_crate::{UserCrate, row};

const LAB: &str = r#"
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

fn main() -> std::process::ExitCode {
    heaplab::Lab::new()
        .experiment("known-counts", |e| {
            e.size("boxes", 4)
                .variant("naive", |size| {
                    move || (0..size).map(|i| *Box::new(i) + *Box::new(1)).sum::<usize>()
                })
                .variant("none", |size| move || (0..size).map(|i| i + 1).sum::<usize>())
                .variant("other", |size| move || size)
                // Limits: `none` keeps its promise, `naive` makes 8 where 4 are allowed.
                .zero_allocs("none")
                .limits(
                    "naive",
                    heaplab::Limits {
                        max_allocs_per_op: Some(4.0),
                        ..heaplab::Limits::NONE
                    },
                )
                .variant("once", |size| {
                    // Grows once, on the first call: one allocation cold, none steady.
                    let mut kept: Vec<usize> = Vec::new();
                    move || {
                        kept.resize(size, 1);
                        kept.iter().sum::<usize>()
                    }
                })
        })
        .experiment("faults", |e| {
            e.variant("naive", |_| || 1u8)
                .variant("panics", |_| {
                    let mut n = 0u32;
                    move || {
                        n += 1;
                        assert!(n < 100, "boom at {n}");
                        1u8
                    }
                })
                .variant("aborts", |_| || -> u8 { std::process::abort() })
                .variant("grows", |_| {
                    let mut kept: Vec<Vec<u8>> = Vec::new();
                    move || {
                        kept.push(vec![1; 1 << 20]);
                        1u8
                    }
                })
        })
        .main()
}
"#;

const FORGOT: &str = r#"
fn main() -> std::process::ExitCode {
    heaplab::Lab::new()
        .experiment("x", |e| e.variant("naive", |_| || 1))
        .main()
}
"#;

/// The user's crate with the two binaries above.
fn build_user_crate() -> user_crate::Built {
    UserCrate::new()
        .bin("lab", LAB)
        .bin("forgot", FORGOT)
        .build()
}

/// Limits declared in the builder: `check` names the broken one, the figure, the limit and
/// the user's line that allocates most, says it in the binary's own name, and exits 1.
fn limits_fail_the_check(lab: &std::path::Path) {
    let out = Command::new(lab)
        .args(["check", "known-counts"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let line = LAB
        .lines()
        .position(|l| l.contains("*Box::new(i) + *Box::new(1)"))
        .expect("the line")
        + 1;
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(
            "limit broken: known-counts naive: allocs/op 8.00 allocs/op + 0.00 reallocs/op, \
             limit at most 4 allocator calls/op; most at bin/lab.rs:"
        ) && lines[0].contains(&format!("lab.rs:{line} ")),
        "{err}"
    );
    assert_eq!(lines[1], "lab check: 1 limit broken in 2 rows with limits");
    // A limit kept: status 0.
    let out = Command::new(lab)
        .args(["check", "known-counts", "--variant", "none"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Cold and steady: the first operation beside the steady state, in JSON and in the table.
fn cold_and_steady(lab: &std::path::Path, rows: &[Value]) {
    assert_eq!(row(rows, "once")["allocs_per_op"], 0.0);
    let first = &row(rows, "once")["first_op"];
    assert_eq!(
        (&first["allocs"], &first["reallocs"]),
        (&1.into(), &0.into())
    );
    assert_eq!(first["bytes_allocated"], 32, "4 usizes: {first}");
    assert_eq!(row(rows, "naive")["first_op"]["allocs"], 8);
    let out = Command::new(lab)
        .args([
            "bench",
            "known-counts",
            "--iterations",
            "1000",
            "--runs",
            "1",
        ])
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&out.stdout);
    let cold: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("First operation, cold"))
        .skip(1)
        .collect();
    assert_eq!(cold.len(), 1, "only `once` differs: {table}");
    assert!(
        cold[0].contains("known-counts once: first op 1 alloc, 32 B,")
            && cold[0].ends_with("; steady 0.00 allocs/op"),
        "{table}"
    );
}

#[test]
fn a_users_crate_gets_exact_counts_checksums_budgets_and_crash_isolation() {
    let built = build_user_crate();
    let lab = built.bin("lab");

    // Exact counts: two boxes per item, four items per operation.
    let out = Command::new(&lab)
        .args(["bench", "known-counts", "--format", "json"])
        .args(["--iterations", "1000", "--runs", "1"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = user_crate::report_rows(&out);
    assert_eq!(row(&rows, "naive")["allocs_per_op"], 8.0);
    assert_eq!(row(&rows, "naive")["bytes_per_op"], 64.0);
    assert_eq!(row(&rows, "none")["allocs_per_op"], 0.0);
    // Checksums: `none` computes what naive does, `other` does not, and bench says so.
    assert_eq!(row(&rows, "none")["vs_naive"]["same_checksum"], true);
    assert_eq!(row(&rows, "other")["vs_naive"]["same_checksum"], false);
    cold_and_steady(&lab, &rows);
    limits_fail_the_check(&lab);

    // Sites: the user's own line, with all eight allocations, heaplab's glue folded away.
    let out = Command::new(&lab)
        .args(["bench", "known-counts", "--variant", "naive", "--sites"])
        .args(["--format", "json", "--iterations", "100", "--runs", "1"])
        .output()
        .expect("runs");
    let rows = user_crate::report_rows(&out);
    let sites = row(&rows, "naive")["sites"]["sites"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let line = LAB
        .lines()
        .position(|l| l.contains("*Box::new(i) + *Box::new(1)"))
        .expect("the line")
        + 1;
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert!(
        sites[0]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("src/bin/lab.rs")),
        "{sites:?}"
    );
    assert_eq!(sites[0]["line"], line);
    assert_eq!(sites[0]["allocs_per_op"], 8.0);

    // A panic is that row's error, a budget stops its run; the rest go on.
    let out = Command::new(&lab)
        .args(["bench", "faults", "--format", "json", "--budget", "64MiB"])
        .args(["--iterations", "200", "--runs", "1"])
        .output()
        .expect("runs");
    let rows = user_crate::report_rows(&out);
    assert_eq!(row(&rows, "naive")["status"], "ok");
    assert_eq!(row(&rows, "panics")["status"], "panicked");
    let error = row(&rows, "panics")["error"].as_str().unwrap_or_default();
    assert!(error.contains("boom at 100"), "{error}");
    assert_eq!(row(&rows, "grows")["status"], "over_budget");
    assert_eq!(row(&rows, "aborts")["status"], "crashed");
    let error = row(&rows, "aborts")["error"].as_str().unwrap_or_default();
    assert!(error.contains("SIGABRT"), "{error}");

    // The user's experiments are listed, in a section of their own.
    let out = Command::new(&lab).arg("list").output().expect("runs");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.starts_with("lab Your experiments\n  known-counts"),
        "{list}"
    );
    assert!(
        !list.contains("buffer-reuse"),
        "no chapter unless asked: {list}"
    );

    // Without a terminal the dashboard points to the lab's own bench, not heaplab's.
    let out = Command::new(&lab)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(
        stderr.contains("run `lab bench`") && !stderr.contains("heaplab bench"),
        "{stderr}"
    );

    // Without the allocator, one line that says what to add, and status 2.
    let out = Command::new(built.bin("forgot"))
        .arg("list")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("#[global_allocator]"), "{stderr}");
}

#[test]
fn the_docs_own_experiment_is_the_example() {
    let doc = include_str!("../docs/your-own-code.md");
    let example = include_str!("../examples/parse_csv.rs");
    let section = doc
        .split("# Your own experiments")
        .nth(1)
        .expect("a section for your own experiments");
    assert!(
        section.contains(&format!("```rust\n{example}```")),
        "docs/your-own-code.md's code differs from examples/parse_csv.rs"
    );
}

#[test]
fn the_readmes_own_code_is_taken_from_the_example() {
    let readme = include_str!("../README.md");
    let example: Vec<&str> = include_str!("../examples/parse_csv.rs").lines().collect();
    let section = readme
        .split("## Your own code")
        .nth(1)
        .expect("a section for your own code");
    let excerpt = section
        .split("```rust\n")
        .nth(1)
        .and_then(|code| code.split("```").next())
        .expect("the section shows code");
    // Every line of the excerpt is a line of the example, in the example's order: lines may
    // be left out, none changed or added.
    let mut at = 0;
    for line in excerpt.lines() {
        let found = example[at..].iter().position(|l| *l == line);
        let Some(found) = found else {
            panic!("the README's line {line:?} is not in examples/parse_csv.rs (after line {at})")
        };
        at += found + 1;
    }
    for needed in [
        "heaplab::Counting::system()",
        "heaplab::Lab::new()",
        ".main()",
    ] {
        assert!(
            excerpt.contains(needed),
            "the README's excerpt leaves out {needed}: {excerpt}"
        );
    }
}
