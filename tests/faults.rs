//! Faults an experiment can throw at heaplab: a panic, a budget passed inside one operation.
//! Each must come back as that run's error or status, with heaplab going on.

use std::sync::mpsc;
use std::time::Duration;

use heaplab::bench::{RowStatus, measure_on_worker};
use heaplab::runner::{RunConfig, Runner, RunnerEvent};
use heaplab_experiments::measure::Stop;
use heaplab_experiments::{
    Checksum, Experiment, ExperimentInfo, Section, Targets, VariantInfo, Workload, counting,
};

/// An experiment that panics on its third operation, or grows without bound (variant 1).
struct Faulty;

static INFO: ExperimentInfo = ExperimentInfo {
    id: "faulty",
    section: Section::ZeroAllocation,
    title: "fails on purpose",
    why: "a test double",
    variants: &[
        VariantInfo {
            name: "naive",
            summary: "panics on its third operation",
        },
        VariantInfo {
            name: "optimized",
            summary: "allocates 1 MiB per checkpointed step, forever, in one operation",
        },
    ],
    size_unit: "nothing",
    default_size: 1,
    size_range: (1, 1),
    targets: Targets {
        zero_allocs: false,
        peak_heap: false,
        speedup: false,
    },
    source: "",
};

struct Panics(u32);

impl Workload for Panics {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        self.0 += 1;
        assert!(self.0 < 3, "boom on operation {}", self.0);
        checksum.fold(u64::from(self.0));
        1
    }
}

struct Grows;

impl Workload for Grows {
    fn run_op(&mut self, _checksum: &mut Checksum) -> u64 {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1; 1 << 20]);
            counting::budget_checkpoint();
        }
    }
}

impl Experiment for Faulty {
    fn info(&self) -> &'static ExperimentInfo {
        &INFO
    }

    fn build(&self, variant: usize, _size: usize) -> Box<dyn Workload> {
        if variant == 0 {
            Box::new(Panics(0))
        } else {
            Box::new(Grows)
        }
    }

    fn warmup_ops(&self, _size: usize) -> u64 {
        0
    }
}

static FAULTY: Faulty = Faulty;

#[test]
fn a_panicking_experiment_is_a_panicked_row_and_bench_goes_on() {
    heaplab::panic::install_worker_filter();
    let row = measure_on_worker(&FAULTY, "naive", 1, Stop::Iterations(10), None, None)
        .expect("a row, not an error");
    assert_eq!(row.status, RowStatus::Panicked);
    let error = row.error.expect("a message");
    assert!(error.contains("boom on operation 3"), "{error}");
    assert!(
        error.contains("tests/faults.rs"),
        "where it panicked: {error}"
    );
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
        &FAULTY,
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

#[test]
fn the_runner_reports_a_panic_as_the_runs_error() {
    heaplab::panic::install_worker_filter();
    let (tx, rx) = mpsc::sync_channel(64);
    let config = RunConfig {
        experiment: &FAULTY,
        variant: 0,
        size: 1,
        sample_every: Duration::from_millis(20),
        budget: None,
        input: None,
    };
    let _runner = Runner::start(config, tx).expect("starts");
    let error = loop {
        match rx.recv_timeout(Duration::from_secs(10)).expect("an event") {
            RunnerEvent::WorkerExited { error, .. } => break error.expect("an error"),
            RunnerEvent::Sample(_) => {}
        }
    };
    assert!(
        error.contains("the experiment panicked: boom on operation 3"),
        "{error}"
    );
}
