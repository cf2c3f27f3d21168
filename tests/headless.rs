//! A user's crate that only benches its own code, built headless (`default-features = false`:
//! no dashboard, no chapter): none of the dashboard's or the chapter's crates is in its build,
//! its bench gives exact counts, and each command that would draw is refused in one line that
//! names the feature to turn on (status 2, no panic). Built through the shared fixture, so
//! heaplab is compiled once more, headless, for all such tests.

mod user_crate;

use std::process::Command;

use user_crate::UserCrate;

const LAB: &str = r#"
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

fn main() -> std::process::ExitCode {
    heaplab::Lab::new()
        .experiment("boxes", |e| {
            e.size("items", 5)
                .variant("boxed", |size| {
                    move || (0..size).map(Box::new).map(|b| *b).sum::<usize>()
                })
                .variant("plain", |size| move || (0..size).sum::<usize>())
        })
        .main()
}
"#;

/// The crates a headless build leaves out: the dashboard's and the chapter's.
const LEFT_OUT: [&str; 8] = [
    "ratatui",
    "syntect",
    "plotters",
    "tui-big-text",
    "textwrap",
    "cpu-time",
    "string-interner",
    "lockfree-object-pool",
];

#[test]
fn a_headless_crate_builds_without_the_dashboard_benches_exactly_and_refuses_views() {
    let built = UserCrate::new()
        .dependency("default-features = false")
        .bin("lab", LAB)
        .build();

    let tree = Command::new(env!("CARGO"))
        .args([
            "tree", "--edges", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(built.dir.path())
        .output()
        .expect("cargo tree runs");
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let tree = String::from_utf8_lossy(&tree.stdout);
    assert!(tree.contains("heaplab v"), "heaplab is in the tree: {tree}");
    for name in LEFT_OUT {
        assert!(
            !tree.lines().any(|l| l.starts_with(&format!("{name} v"))),
            "{name} is built headless:\n{tree}"
        );
    }

    let lab = built.bin("lab");
    let out = Command::new(&lab)
        .args([
            "bench",
            "--format",
            "json",
            "--iterations",
            "200",
            "--runs",
            "1",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let allocs = |variant: &str| {
        report["results"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["variant"] == variant))
            .map_or_else(
                || panic!("no row for {variant}: {report}"),
                |r| r["allocs_per_op"].clone(),
            )
    };
    // A box per item, five items: exactly five allocations an operation; none without.
    assert_eq!(allocs("boxed"), 5.0);
    assert_eq!(allocs("plain"), 0.0);

    let svg = built.dir.path().join("plot.svg");
    let plot = ["bench", "--plot", svg.to_str().expect("a UTF-8 path")];
    for args in [
        &[][..],
        &["run", "boxes"],
        &["tour"],
        &["screenshot", "boxes"],
        &plot,
    ] {
        let out = Command::new(&lab).args(args).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains("`dashboard` feature"),
            "{args:?} names the feature to turn on: {stderr}"
        );
    }
    assert!(!svg.exists(), "no chart is written: {}", svg.display());

    // `run --trace` needs no dashboard.
    let out = Command::new(&lab)
        .args(["run", "boxes", "--trace", "--duration", "0.5"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
