//! What capturing allocation sites costs, next to the tools that do it after the run: one
//! experiment's naive variant (string-processing by default, `HEAPLAB_SITES_EXPERIMENT` for
//! another), its ns/op
//! - as heaplab measures it (`heaplab bench --sites`: the row, uncaptured, and the replay
//!   with every allocation's stack captured),
//! - in this process under dhat-rs's heap profiler (`dhat::Alloc`, which also records every
//!   allocation's backtrace), and without a profiler running,
//! - under valgrind's DHAT (`valgrind --tool=dhat heaplab bench --in-process`), from the wall
//!   time of two runs that differ only in their number of operations,
//!
//! each as a slowdown against heaplab's uncaptured ns/op. Run with `cargo bench --bench sites`.
//! The machine is shared: compare the ratios, measured in one run, not the absolute times.

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use heaplab_experiments::Checksum;

#[global_allocator]
static DHAT: dhat::Alloc = dhat::Alloc;

const HEAPLAB: &str = env!("CARGO_BIN_EXE_heaplab");

fn experiment() -> String {
    std::env::var("HEAPLAB_SITES_EXPERIMENT").unwrap_or_else(|_| "string-processing".into())
}

/// ns/op of `ops` operations of the naive variant, in this process.
fn in_process(id: &str, ops: u64) -> f64 {
    let experiment = heaplab_experiments::find(id).expect("an experiment");
    let size = experiment.info().default_size;
    let mut workload = heaplab_experiments::setup(experiment, "naive", size).expect("set up");
    let mut checksum = Checksum::new();
    for _ in 0..experiment.warmup_ops(size) {
        workload.run_op(&mut checksum);
    }
    let start = Instant::now();
    for _ in 0..ops {
        workload.run_op(&mut checksum);
    }
    let took = start.elapsed();
    black_box(checksum);
    took.as_nanos() as f64 / ops as f64
}

/// heaplab's row: (ns/op uncaptured, ns/op of the replay with every allocation captured,
/// captured events per op).
fn heaplab_row(id: &str, ops: u64) -> (f64, f64, f64) {
    let out = Command::new(HEAPLAB)
        .args(["bench", id, "--variant", "naive", "--sites", "--runs", "1"])
        .args(["--format", "json", "--iterations", &ops.to_string()])
        .output()
        .expect("heaplab runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let row = &report["results"][0];
    let number = |v: &serde_json::Value| v.as_f64().expect("a number");
    (
        number(&row["ns_per_op"]),
        number(&row["sites"]["ns_per_op"]),
        number(&row["allocs_per_op"]) + number(&row["reallocs_per_op"]),
    )
}

/// Wall time of `valgrind --tool=dhat` on `ops` operations, in seconds (`None` without
/// valgrind).
fn valgrind_secs(id: &str, ops: u64) -> Option<f64> {
    let dir = tempfile::tempdir().ok()?;
    let start = Instant::now();
    let out = Command::new("valgrind")
        .arg("--tool=dhat")
        .arg(format!(
            "--dhat-out-file={}",
            dir.path().join("dhat.json").display()
        ))
        .arg(HEAPLAB)
        .args([
            "bench",
            id,
            "--variant",
            "naive",
            "--runs",
            "1",
            "--in-process",
        ])
        .args(["--format", "json", "--iterations", &ops.to_string()])
        .output()
        .ok()?;
    out.status.success().then(|| start.elapsed().as_secs_f64())
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let id = experiment();
    let ops: u64 = if quick { 20 } else { 2_000 };

    let (ours, captured, events) = heaplab_row(&id, ops);
    let plain = in_process(&id, ops);
    let profiled = {
        let _profiler = dhat::Profiler::builder().testing().build();
        in_process(&id, ops)
    };
    // Enough operations that valgrind's start (seconds) is small beside their difference.
    let (few, many) = if quick { (10, 20) } else { (5_000, 50_000) };
    let valgrind = valgrind_secs(&id, few)
        .zip(valgrind_secs(&id, many))
        .map(|(few_secs, many_secs)| (many_secs - few_secs) * 1e9 / (many - few) as f64);

    println!("{id} naive, {ops} operations, {events:.2} allocations and reallocations per op");
    println!("| tool | ns/op | vs heaplab uncaptured |");
    println!("| --- | ---: | ---: |");
    let line = |tool: &str, ns: f64| println!("| {tool} | {ns:.0} | {:.1}x |", ns / ours);
    line("heaplab, counting (the row)", ours);
    line("heaplab, every allocation's stack captured", captured);
    line("dhat-rs allocator, no profiler", plain);
    line("dhat-rs heap profiler", profiled);
    match valgrind {
        Some(ns) => line("valgrind --tool=dhat", ns),
        None => println!("| valgrind --tool=dhat | not installed | |"),
    }
    println!(
        "capture: {:.2} µs per captured allocation ((captured - row) / events per op)",
        (captured - ours) / events.max(1.0) / 1000.0
    );
}
