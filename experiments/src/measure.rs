//! Measuring one variant: setup, warm-up, measured operations, teardown, on the calling thread.
//!
//! This is `heaplab bench`'s core and what the tests assert with. It counts through the calling
//! thread's own [`WorkerSlot`], so the counts are exact only where [`CountingAlloc`] is the
//! global allocator (check with [`counting_is_installed`]).
//!
//! [`CountingAlloc`]: crate::counting::CountingAlloc

use std::time::{Duration, Instant};

use crate::counting::{Counters, WorkerSlot};
use crate::{Checksum, Experiment, SetupError, setup};

/// How long to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// Exactly this many measured operations after the warm-up.
    Iterations(u64),
    /// As many operations as fit in this time (checked between batches of about a millisecond).
    Time(Duration),
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
    let info = experiment.info();
    slot.reset_peak();
    let live_before = slot.counters().live_bytes();
    let mut workload = setup(experiment, variant, size)?;
    let variant = info.variants[info.variant_index(variant).unwrap_or(0)].name;

    let warmup_ops = experiment.warmup_ops(size);
    let mut checksum = Checksum::new();
    for _ in 0..warmup_ops {
        workload.run_op(&mut checksum);
    }
    let warm_checksum = checksum;

    let mut bytes_processed = 0u64;
    let mut iterations = 0u64;
    let before = slot.counters();
    let start = Instant::now();
    match stop {
        Stop::Iterations(n) => {
            for _ in 0..n {
                bytes_processed += workload.run_op(&mut checksum);
            }
            iterations = n;
        }
        Stop::Time(limit) => {
            let mut batch = 1u64;
            loop {
                let batch_start = Instant::now();
                for _ in 0..batch {
                    bytes_processed += workload.run_op(&mut checksum);
                }
                iterations += batch;
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
    let elapsed = start.elapsed();
    let after = slot.counters();
    std::hint::black_box(checksum);
    let mut extra_counters = Vec::new();
    workload.extra_counters(&mut |name, value| extra_counters.push((name, value)));
    drop(workload);

    let peak = after.peak_live_bytes.saturating_sub(live_before);
    Ok(Measurement {
        experiment: info.id,
        variant,
        size,
        warmup_ops,
        iterations,
        elapsed,
        bytes_processed,
        counters: after.since(&before),
        peak_heap_bytes: u64::try_from(peak).unwrap_or(0),
        checksum: warm_checksum,
        extra_counters,
    })
}
