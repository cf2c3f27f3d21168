//! Faults an experiment can throw at heaplab: a panic, a budget passed inside one operation, a
//! worker process that dies (SIGSEGV, abort, stack overflow). Each must come back as that run's
//! error or status, with heaplab going on. The `fault` experiment is the catalog's test double,
//! there only with `HEAPLAB_TEST_FAULTS` set.

mod binary;

use std::process::Command;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use binary::HANG_GUARD;
use heaplab::bench::measure_on_worker;
use heaplab::results::RowStatus;
use heaplab::runner::{Launcher, RunConfig, Runner, RunnerEvent};
use heaplab_experiments::fault::{ENABLE, Fault};
use heaplab_experiments::measure::Stop;
use serde_json::Value;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

static FAULT: Fault = Fault;

fn launcher() -> Arc<Launcher> {
    Arc::new(Launcher::new(env!("CARGO_BIN_EXE_heaplab")).with_env(ENABLE, "1"))
}

#[test]
fn a_panicking_experiment_is_a_panicked_row_and_bench_goes_on() {
    heaplab_experiments::panic::install_worker_filter();
    let row = measure_on_worker(&FAULT, "naive", 1, Stop::Iterations(10), None, None)
        .expect("a row, not an error");
    assert_eq!(row.status, RowStatus::Panicked);
    let error = row.error.expect("a message");
    assert!(error.contains("boom on operation 3"), "{error}");
    assert!(error.contains("fault.rs"), "where it panicked: {error}");
    // The next measurement runs normally.
    let next = measure_on_worker(
        heaplab_experiments::find("buffer-reuse").expect("exists"),
        "optimized",
        64,
        Stop::Iterations(10),
        None,
        None,
    )
    .expect("measures");
    assert_eq!(next.status, RowStatus::Ok);
}

#[test]
fn a_budget_passed_inside_one_operation_stops_it_at_a_checkpoint() {
    let row = measure_on_worker(
        &FAULT,
        "optimized",
        1,
        Stop::Iterations(1),
        Some(8 << 20),
        None,
    )
    .expect("a row");
    assert_eq!(row.status, RowStatus::OverBudget);
    let error = row.error.expect("a message");
    assert!(error.starts_with("over budget at "), "{error}");
    let bytes: u64 = error["over budget at ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a byte count");
    assert!((8 << 20..10 << 20).contains(&bytes), "stopped at {bytes}");
}

/// Runs `variant` of `fault` in a worker process and returns how the runner says it ended.
fn live_run_ends_with(variant: usize) -> String {
    let (tx, rx) = mpsc::sync_channel(64);
    let config = RunConfig {
        experiment: &FAULT,
        variant,
        size: 1,
        sample_every: Duration::from_millis(20),
        budget: None,
        input: None,
        launcher: launcher(),
    };
    let _runner = Runner::start(config, tx).expect("starts");
    loop {
        match rx.recv_timeout(HANG_GUARD).expect("an event") {
            RunnerEvent::WorkerExited { error, .. } => break error.expect("an error"),
            RunnerEvent::Sample(_)
            | RunnerEvent::WorkerReady { .. }
            | RunnerEvent::Counters { .. }
            | RunnerEvent::Sites { .. } => {}
        }
    }
}

#[test]
fn the_runner_reports_a_panic_as_the_runs_error() {
    let error = live_run_ends_with(0);
    assert!(error.contains("panicked: boom on operation 3"), "{error}");
}

#[test]
fn a_worker_that_dies_is_that_runs_error_named_by_its_signal() {
    let segfault = live_run_ends_with(2);
    assert!(segfault.starts_with("crashed: SIGSEGV"), "{segfault}");
    let abort = live_run_ends_with(3);
    assert!(abort.starts_with("crashed: SIGABRT"), "{abort}");
    let overflow = live_run_ends_with(4);
    assert!(overflow.starts_with("crashed: SIG"), "{overflow}");
    assert!(overflow.contains("stack overflow"), "{overflow}");
}

#[test]
fn bench_reports_a_crashed_row_and_exits_1_after_the_other_rows() {
    let output = Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .env(ENABLE, "1")
        .args(["bench", "fault", "--format", "json", "--time", "0.05"])
        .args(["--budget", "16MiB"])
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let status = |variant: &str| {
        report["results"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["variant"] == variant)
            .map(|r| (r["status"].clone(), r["error"].clone()))
            .expect("a row for every variant")
    };
    assert_eq!(status("naive").0, "panicked");
    assert_eq!(status("optimized").0, "over_budget");
    let (segfault, error) = status("segfault");
    assert_eq!(segfault, "crashed");
    assert!(
        error
            .as_str()
            .is_some_and(|e| e.starts_with("crashed: SIGSEGV")),
        "{error}"
    );
    assert_eq!(status("abort").0, "crashed");
    assert_eq!(status("stack-overflow").0, "crashed");
    // The row after the crashes was measured all the same.
    assert_eq!(status("slow").0, "ok");
    // Over budget is status 3, and it comes first.
    assert_eq!(output.status.code(), Some(3));

    let output = Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .env(ENABLE, "1")
        .args(["bench", "fault", "--variant", "segfault", "--format", "csv"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "a crashed row is status 1");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("crashed"), "{text}");
}
