//! Measuring one variant: setup, warm-up, measured operations, teardown, on the calling thread.
//!
//! This is `heaplab bench`'s core and what the tests assert with. It counts through the calling
//! thread's own [`WorkerSlot`], so the counts are exact only where [`CountingAlloc`] is the
//! global allocator (check with [`counting_is_installed`]).
//!
//! [`CountingAlloc`]: crate::counting::CountingAlloc

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::counting::{Counters, OverBudget, WorkerSlot};
use crate::{Checksum, Experiment, SetupError, setup};

/// How long to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// Exactly this many measured operations after the warm-up.
    Iterations(u64),
    /// As many operations as fit in this time (checked between batches of about a millisecond).
    Time(Duration),
}

/// How a measured run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It ran to the end.
    Completed,
    /// The worker's live heap passed the budget; the run was stopped there and its memory
    /// returned. The figures cover the operations that completed before.
    OverBudget {
        /// The variant's live heap (above its level before setup) when it passed the budget.
        live_bytes: u64,
        /// Time from the start of setup to the stop.
        after: Duration,
    },
}

/// The figures of one measured run of one variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The experiment's id.
    pub experiment: &'static str,
    /// The variant's name.
    pub variant: &'static str,
    /// The workload size.
    pub size: usize,
    /// Warm-up operations run before measuring (not in any figure but the checksum).
    pub warmup_ops: u64,
    /// Measured operations.
    pub iterations: u64,
    /// Wall time of the measured operations.
    pub elapsed: Duration,
    /// Bytes the measured operations processed, as they reported them.
    pub bytes_processed: u64,
    /// Allocator events during the measured operations only.
    pub counters: Counters,
    /// The highest live heap of the worker from setup to the end of measuring, above what it
    /// held before setup: the variant's own footprint.
    pub peak_heap_bytes: u64,
    /// Digest of the warm-up operations' results: the same operations for every variant.
    pub checksum: Checksum,
    /// The experiment's own counters at the end of the run (see [`Workload::extra_counters`]).
    ///
    /// [`Workload::extra_counters`]: crate::Workload::extra_counters
    pub extra_counters: Vec<(&'static str, f64)>,
    /// Whether the run completed or was stopped over budget.
    pub status: Status,
}

impl Measurement {
    fn per_op(&self, total: u64) -> f64 {
        if self.iterations == 0 {
            0.0
        } else {
            total as f64 / self.iterations as f64
        }
    }

    fn per_sec(&self, total: u64) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { total as f64 / secs } else { 0.0 }
    }

    /// Nanoseconds per measured operation.
    #[must_use]
    pub fn ns_per_op(&self) -> f64 {
        self.per_op(u64::try_from(self.elapsed.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Allocations (`alloc` and `alloc_zeroed` calls) per operation.
    #[must_use]
    pub fn allocs_per_op(&self) -> f64 {
        self.per_op(self.counters.allocs)
    }

    /// Bytes allocated per operation, counting the growth of reallocations.
    #[must_use]
    pub fn bytes_per_op(&self) -> f64 {
        self.per_op(self.counters.bytes_allocated)
    }

    /// Reallocations per operation.
    #[must_use]
    pub fn reallocs_per_op(&self) -> f64 {
        self.per_op(self.counters.reallocs)
    }

    /// Operations per second.
    #[must_use]
    pub fn ops_per_sec(&self) -> f64 {
        self.per_sec(self.iterations)
    }

    /// Bytes processed per second.
    #[must_use]
    pub fn bytes_per_sec(&self) -> f64 {
        self.per_sec(self.bytes_processed)
    }
}

/// Whether the counting allocator is the global allocator of this program.
#[must_use]
pub fn counting_is_installed() -> bool {
    let slot = crate::counting::current_slot_id();
    let before = crate::counting::snapshot(slot).allocs;
    let probe = std::hint::black_box(Box::new(0u64));
    let after = crate::counting::snapshot(slot).allocs;
    drop(probe);
    after != before
}

/// Sets up `variant` of `experiment` at `size`, runs its warm-up, then measures until `stop`,
/// counting through `slot` (which the calling thread owns). Teardown happens before returning.
pub fn measure(
    slot: &WorkerSlot,
    experiment: &dyn Experiment,
    variant: &str,
    size: usize,
    stop: Stop,
) -> Result<Measurement, SetupError> {
    measure_with_budget(slot, experiment, variant, size, stop, None, None)
}

/// [`measure`] with a memory budget: once the variant's live heap (above its level before
/// setup) passes `budget` bytes, the run stops between operations, or inside one at a
/// [`budget_checkpoint`](crate::counting::budget_checkpoint), and reports [`Status::OverBudget`].
pub fn measure_with_budget(
    slot: &WorkerSlot,
    experiment: &dyn Experiment,
    variant: &str,
    size: usize,
    stop: Stop,
    budget: Option<u64>,
    input: Option<&std::path::Path>,
) -> Result<Measurement, SetupError> {
    let info = experiment.info();
    let started = Instant::now();
    slot.reset_peak();
    let live_before = slot.counters().live_bytes();
    slot.set_budget_above(live_before, budget);
    // An input file sets its own size (its length, which may even be 0): check the variant only.
    let checked_size = if input.is_some() {
        info.default_size
    } else {
        size
    };
    let variant_name = info.variants[crate::check(experiment, variant, checked_size)?].name;

    let mut run = Run {
        checksum: Checksum::new(),
        warm_checksum: Checksum::new(),
        iterations: 0,
        bytes_processed: 0,
        before: slot.counters(),
        after: None,
        elapsed: Duration::ZERO,
        extra_counters: Vec::new(),
    };
    let warmup_ops = experiment.warmup_ops(size);
    // Setup, warm-up and measuring may each pass the budget; an OverBudget unwind from a
    // checkpoint lands here, and the workload (everything it allocated) is dropped on the way.
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let workload = match input {
            Some(path) => crate::setup_with_input(experiment, variant, path),
            None => setup(experiment, variant, size),
        }?;
        run.go(slot, workload, warmup_ops, stop);
        Ok(())
    }));
    if let Ok(Err(e)) = outcome {
        slot.set_budget(None);
        return Err(e);
    }
    // Taken when measuring ended (or now, after an unwind), before anything of ours allocated.
    let after = run.after.unwrap_or_else(|| slot.counters());
    // Where the slot first passed the budget, as the runner reports it too.
    let passed_at = slot.over_budget();
    slot.set_budget(None);
    let status = match outcome {
        Ok(_) => match passed_at {
            Some(live) => over(live - live_before, started),
            None => Status::Completed,
        },
        Err(payload) => match payload.downcast_ref::<OverBudget>() {
            Some(o) => over(o.live_bytes - live_before, started),
            None => panic::resume_unwind(payload),
        },
    };
    let peak = after.peak_live_bytes.saturating_sub(live_before);
    Ok(Measurement {
        experiment: info.id,
        variant: variant_name,
        size,
        warmup_ops,
        iterations: run.iterations,
        elapsed: run.elapsed,
        bytes_processed: run.bytes_processed,
        counters: after.since(&run.before),
        peak_heap_bytes: u64::try_from(peak).unwrap_or(0),
        checksum: run.warm_checksum,
        extra_counters: run.extra_counters,
        status,
    })
}

fn over(live_bytes: i64, started: Instant) -> Status {
    Status::OverBudget {
        live_bytes: u64::try_from(live_bytes).unwrap_or(0),
        after: started.elapsed(),
    }
}

/// The state of one measured run, kept outside the unwind boundary so that a stop over budget
/// keeps the figures of the operations that completed.
struct Run {
    checksum: Checksum,
    warm_checksum: Checksum,
    iterations: u64,
    bytes_processed: u64,
    before: Counters,
    /// The counters the moment measuring ended.
    after: Option<Counters>,
    elapsed: Duration,
    extra_counters: Vec<(&'static str, f64)>,
}

impl Run {
    fn go(
        &mut self,
        slot: &WorkerSlot,
        mut workload: Box<dyn crate::Workload>,
        warmup_ops: u64,
        stop: Stop,
    ) {
        let over = || slot.over_budget().is_some();
        for _ in 0..warmup_ops {
            if over() {
                return;
            }
            workload.run_op(&mut self.checksum);
        }
        self.warm_checksum = self.checksum;
        self.before = slot.counters();
        let start = Instant::now();
        match stop {
            Stop::Iterations(n) => {
                for _ in 0..n {
                    if over() {
                        break;
                    }
                    self.bytes_processed += workload.run_op(&mut self.checksum);
                    self.iterations += 1;
                }
            }
            Stop::Time(limit) => {
                let mut batch = 1u64;
                'measuring: loop {
                    let batch_start = Instant::now();
                    for _ in 0..batch {
                        if over() {
                            break 'measuring;
                        }
                        self.bytes_processed += workload.run_op(&mut self.checksum);
                        self.iterations += 1;
                    }
                    let now = Instant::now();
                    if now.duration_since(start) >= limit {
                        break;
                    }
                    // Grow batches until one takes about a millisecond, to keep the clock cheap.
                    if now.duration_since(batch_start) < Duration::from_millis(1) {
                        batch = batch.saturating_mul(2);
                    }
                }
            }
        }
        self.elapsed = start.elapsed();
        self.after = Some(slot.counters());
        std::hint::black_box(self.checksum);
        // Collecting the experiment's own counters allocates: after the snapshot, never before.
        let extra = &mut self.extra_counters;
        workload.extra_counters(&mut |name, value| extra.push((name, value)));
    }
}
