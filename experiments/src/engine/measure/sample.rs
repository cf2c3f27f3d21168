//! What the measuring loop publishes: a [`Sample`] of cumulative figures after every batch,
//! the [`Phase`] it is in (its last one says how the run ended), [`Rates`] derived from two
//! samples, and the final [`Measurement`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::counting::Counters;

/// What the loop is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Phase {
    /// Building the workload (outside the measured region).
    #[default]
    SettingUp,
    /// Running the warm-up operations (in no figure but the checksum).
    WarmingUp,
    /// Running measured operations.
    Running,
    /// Paused by [`Live::set_paused`]: no operation runs, no figure moves.
    Paused,
    /// Stopped because its live heap passed the budget; its workload has been dropped, so its
    /// memory is returned. The figures cover the operations that completed.
    OverBudget {
        /// The variant's live heap (above its level before setup) when it passed the budget.
        live_bytes: u64,
        /// Time from the start of setup to the stop.
        after: Duration,
    },
    /// The run has ended.
    Exited,
}

/// One reading of a run: cumulative figures since its warm-up ended, taken at the end of a
/// batch (so `allocs / ops` is exact), plus readings of the process it runs in.
///
/// It is the one type for a run's figures: the worker publishes it, the dashboard draws it,
/// `--trace` prints it, `--record` stores it, and [`Measurement`] ends with it. The fields
/// marked "tag" are the parent's: a worker leaves them empty and its owner fills them in.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Sample {
    /// Tag: time since the owner started the run (its clock, for chart axes only: every
    /// rate is over `measured_for`).
    #[serde(skip)]
    pub elapsed: Duration,
    /// Tag: the experiment's id.
    #[serde(skip)]
    pub experiment: &'static str,
    /// Tag: the variant's name.
    #[serde(skip)]
    pub variant: &'static str,
    /// Tag: the variant's index in the experiment's list.
    #[serde(skip)]
    pub variant_index: usize,
    /// Tag: increases with every workload set up (variant switch, size change, new budget):
    /// figures of different epochs must not be subtracted from each other.
    #[serde(skip)]
    pub epoch: u64,
    /// Tag: the workload size.
    #[serde(skip)]
    pub size: usize,
    /// Tag: the memory budget in force.
    #[serde(skip)]
    pub budget_bytes: Option<u64>,
    /// What the run is doing.
    pub phase: Phase,
    /// Time spent inside measured batches (pauses and everything between batches excluded):
    /// the one clock every rate is computed over.
    pub measured_for: Duration,
    /// Measured operations.
    pub ops: u64,
    /// Work the measured operations did, in the experiment's [`WorkUnit`](crate::engine::experiment::WorkUnit), as they
    /// reported it.
    pub work: u64,
    /// Allocations (`alloc` and `alloc_zeroed`) during measured batches.
    pub allocs: u64,
    /// Deallocations during measured batches.
    pub deallocs: u64,
    /// Reallocations during measured batches.
    pub reallocs: u64,
    /// Bytes allocated during measured batches (realloc growth included).
    pub bytes_allocated: u64,
    /// The run's live heap now, above its level before setup.
    pub live_heap_bytes: i64,
    /// The run's highest live heap from setup on, above its level before setup: the
    /// variant's own footprint.
    pub peak_heap_bytes: u64,
    /// The live heap of the whole process the run is in (every thread's counters summed).
    pub process_heap_bytes: u64,
    /// The resident set size of the process the run is in.
    pub process_rss_bytes: u64,
    /// The run's very first operation, cold (the first of the warm-up, or of the measured
    /// operations when there is no warm-up): what a program's first call costs, which the
    /// steady-state figures leave out. `None` until it has run.
    #[serde(default)]
    pub first_op: Option<FirstOp>,
}

/// The counts and time of one operation: a run's first ([`Sample::first_op`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FirstOp {
    /// Allocations (`alloc` and `alloc_zeroed`).
    pub allocs: u64,
    /// Reallocations.
    pub reallocs: u64,
    /// Bytes allocated (realloc growth included).
    pub bytes_allocated: u64,
    /// Nanoseconds the operation took.
    pub ns: u64,
}

impl FirstOp {
    /// The operation between two readings of its thread's counters, taking `took`.
    #[must_use]
    pub fn between(before: &Counters, after: &Counters, took: Duration) -> Self {
        let during = after.since(before);
        FirstOp {
            allocs: during.allocs,
            reallocs: during.reallocs,
            bytes_allocated: during.bytes_allocated,
            ns: u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
        }
    }
}

impl Sample {
    fn per_op(&self, total: u64) -> f64 {
        if self.ops == 0 {
            0.0
        } else {
            total as f64 / self.ops as f64
        }
    }

    fn per_sec(&self, total: u64) -> f64 {
        let secs = self.measured_for.as_secs_f64();
        if secs > 0.0 { total as f64 / secs } else { 0.0 }
    }

    /// Allocations per measured operation (0 before the first).
    #[must_use]
    pub fn allocs_per_op(&self) -> f64 {
        self.per_op(self.allocs)
    }

    /// Bytes allocated per operation, counting the growth of reallocations.
    #[must_use]
    pub fn bytes_per_op(&self) -> f64 {
        self.per_op(self.bytes_allocated)
    }

    /// Reallocations per operation.
    #[must_use]
    pub fn reallocs_per_op(&self) -> f64 {
        self.per_op(self.reallocs)
    }

    /// Nanoseconds of measured time per operation.
    #[must_use]
    pub fn ns_per_op(&self) -> f64 {
        self.per_op(u64::try_from(self.measured_for.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Operations per second of measured time.
    #[must_use]
    pub fn ops_per_sec(&self) -> f64 {
        self.per_sec(self.ops)
    }

    /// Work done per second of measured time, in the experiment's [`WorkUnit`](crate::engine::experiment::WorkUnit).
    #[must_use]
    pub fn work_per_sec(&self) -> f64 {
        self.per_sec(self.work)
    }

    /// This run's figures added to `earlier`'s, as one run of the same variant and size that
    /// went on where `earlier` stopped: counts and measured time summed, the higher peak, the
    /// rest (phase, live heap, tags) this sample's.
    #[must_use]
    pub fn after(&self, earlier: &Sample) -> Sample {
        Sample {
            measured_for: earlier.measured_for + self.measured_for,
            ops: earlier.ops + self.ops,
            work: earlier.work + self.work,
            allocs: earlier.allocs + self.allocs,
            deallocs: earlier.deallocs + self.deallocs,
            reallocs: earlier.reallocs + self.reallocs,
            bytes_allocated: earlier.bytes_allocated + self.bytes_allocated,
            peak_heap_bytes: earlier.peak_heap_bytes.max(self.peak_heap_bytes),
            ..*self
        }
    }

    /// The rates between `earlier` and this sample, over the measured time between them, or
    /// `None` when there is no interval to report: another epoch, a phase other than
    /// running on either side, or no measured time in between.
    #[must_use]
    pub fn rates_since(&self, earlier: &Sample) -> Option<Rates> {
        if self.phase != Phase::Running
            || earlier.phase != Phase::Running
            || earlier.epoch != self.epoch
        {
            return None;
        }
        let secs = self
            .measured_for
            .saturating_sub(earlier.measured_for)
            .as_secs_f64();
        if secs <= 0.0 {
            return None;
        }
        let rate = |now: u64, before: u64| now.saturating_sub(before) as f64 / secs;
        Some(Rates {
            ops_per_sec: rate(self.ops, earlier.ops),
            allocs_per_sec: rate(self.allocs, earlier.allocs),
            alloc_bytes_per_sec: rate(self.bytes_allocated, earlier.bytes_allocated),
            work_per_sec: rate(self.work, earlier.work),
        })
    }
}

/// Rates over an interval between two samples of one epoch (see [`Sample::rates_since`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Allocations per second.
    pub allocs_per_sec: f64,
    /// Bytes allocated per second.
    pub alloc_bytes_per_sec: f64,
    /// Work done per second, in the experiment's [`WorkUnit`](crate::engine::experiment::WorkUnit).
    pub work_per_sec: f64,
}

/// A whole run: its last [`Sample`] and what only the end of a run knows. How it ended is
/// that sample's [`Phase`]: [`Phase::Exited`], or [`Phase::OverBudget`] with the figures of
/// the operations that completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The figures when measuring ended.
    pub sample: Sample,
    /// Warm-up operations run before measuring (in no figure but the checksum).
    pub warmup_ops: u64,
    /// Digest of the warm-up operations' results: the same operations for every variant.
    pub checksum: u64,
    /// The experiment's own counters at the end of the run (see
    /// [`Workload::extra_counters`](Workload::extra_counters)).
    pub extra_counters: Vec<(String, f64)>,
}

/// A measurement reads as its last sample: `m.allocs_per_op()`, `m.peak_heap_bytes`.
impl std::ops::Deref for Measurement {
    type Target = Sample;

    fn deref(&self) -> &Sample {
        &self.sample
    }
}

impl Measurement {
    /// The checksum as 16 hex digits, as exports print it.
    #[must_use]
    pub fn checksum_hex(&self) -> String {
        format!("{:016x}", self.checksum)
    }
}
