//! The one measuring loop: setup, warm-up, measured batches, budget checks, teardown, on the
//! calling thread, with a [`Sample`] of cumulative figures published after every batch.
//!
//! Every view runs variants through [`run`]: `heaplab bench` and the scorecard to the end of a
//! [`Stop`], the dashboard, the tour and `--trace` (in a worker process, see [`crate::engine::worker`])
//! until told to stop. So a figure means the same thing wherever it is shown.
//!
//! It counts through the calling thread's own [`WorkerSlot`], so the counts are exact only
//! where [`CountingAlloc`] is the global allocator (check with [`counting_is_installed`]).
//! Only what happens inside a measured batch is counted: each batch's counters are read
//! before and after it, so whatever happens between batches (a pause, publishing, a command)
//! never reaches a figure.
//!
//! [`CountingAlloc`]: crate::engine::counting::CountingAlloc

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

mod sample;
pub use sample::{FirstOp, Measurement, Phase, Rates, Sample};

use crate::engine::counting::{Counters, OverBudget, SlotId, WorkerSlot};
use crate::engine::experiment::{
    Checksum, Experiment, SetupError, Workload, check, setup, setup_with_input,
};
use crate::engine::sites::{Capture, RawSites};

/// A batch of operations aims at this long, so the clock and the counters are read rarely and
/// a command or a stop is seen within a few milliseconds.
pub const BATCH_TARGET: Duration = Duration::from_millis(2);

/// How often a running loop refreshes the experiment's own counters for its watchers.
const COUNTERS_EVERY: Duration = Duration::from_millis(100);

/// How long a capture window of allocation sites runs (at least one operation): long enough
/// for many operations, short enough that a variant with thousands of allocations per
/// operation does not stall the dashboard.
pub const SITES_WINDOW: Duration = Duration::from_millis(100);

/// How often a run that goes on until stopped captures a window of sites, while they are
/// wanted ([`Live::want_sites`]).
pub const SITES_EVERY: Duration = Duration::from_secs(1);

/// How long a bounded run's replay of its operations with sites captured may take: past it,
/// the window is the first operations only (each captured allocation costs microseconds).
/// A replay given a number of operations ([`Live::replay_sites_ops`]) has no time limit.
pub const SITES_REPLAY_LIMIT: Duration = Duration::from_secs(2);

/// How long to measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Stop {
    /// Exactly this many measured operations after the warm-up.
    Iterations(u64),
    /// As many operations as fit in this much measured time.
    Time(Duration),
    /// Until [`Live::stop`] is called (the dashboard, the tour, `--trace`).
    Never,
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    /// The experiment.
    pub experiment: &'a dyn Experiment,
    /// The variant's name.
    pub variant: &'a str,
    /// The workload size (ignored with an input file, whose length sets it).
    pub size: usize,
    /// Once the run's live heap (above its level before setup) passes this many bytes, it
    /// stops between operations, or inside one at a
    /// [`budget_checkpoint`](crate::engine::counting::budget_checkpoint).
    pub budget: Option<u64>,
    /// A user's file to run on instead of generated input (experiments that take one).
    pub input: Option<&'a Path>,
    /// How long to measure.
    pub stop: Stop,
}

/// The window between a running loop and the threads that watch and steer it: the loop
/// publishes its latest [`Sample`] here after every batch and reads `paused` and `stop`
/// between batches. Nothing here allocates.
#[derive(Debug, Default)]
pub struct Live {
    /// The latest sample, and the slot it counts in with the live-byte level its heap
    /// figures count from.
    latest: Mutex<(Sample, Option<(SlotId, i64)>)>,
    /// The experiment's own counters (pool hits, cache hit rate...), refreshed between
    /// batches about ten times a second.
    counters: Mutex<Vec<(&'static str, f64)>>,
    paused: AtomicBool,
    stop: AtomicBool,
    /// Whether watchers want allocation sites captured.
    sites_wanted: AtomicBool,
    /// 0: capture every allocation. Else sample one per about this many bytes.
    sites_sample_every: AtomicU64,
    /// 0: a bounded run replays its operations for at most [`SITES_REPLAY_LIMIT`] (all of
    /// them when sampled). Else it replays the first this many, however long they take.
    sites_replay_ops: AtomicU64,
    /// The latest captured window of sites, until a watcher takes it.
    sites: Mutex<Option<RawSites>>,
}

impl Live {
    /// A fresh window: nothing published, not paused, not stopped.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The latest sample, with the run's live and peak heap read now (so a long setup shows
    /// its growth before the first batch ends).
    #[must_use]
    pub fn latest(&self) -> Sample {
        let (mut sample, slot) = *self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((slot, baseline)) = slot
            && !matches!(sample.phase, Phase::OverBudget { .. } | Phase::Exited)
        {
            let now = crate::engine::counting::snapshot(slot);
            sample.live_heap_bytes = now.live_bytes() - baseline;
            sample.peak_heap_bytes = u64::try_from(now.peak_live_bytes - baseline).unwrap_or(0);
        }
        sample
    }

    /// The experiment's own counters as last refreshed (empty if it reports none).
    #[must_use]
    pub fn counters(&self) -> Vec<(&'static str, f64)> {
        self.counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Pauses or resumes the loop (it notices between batches).
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// Asks the loop to capture allocation sites ([`crate::engine::sites`]) or to stop doing so. A run
    /// that goes on until stopped captures a window every [`SITES_EVERY`]; a bounded run (a
    /// `bench` row) replays its measured operations on a fresh setup with every allocation
    /// captured (see [`SITES_REPLAY_LIMIT`]). Windows are in no other figure: their
    /// operations and time are not the sample's.
    pub fn want_sites(&self, on: bool) {
        self.sites_wanted.store(on, Ordering::Relaxed);
    }

    /// Samples a bounded run's sites instead, one allocation per about `bytes` allocated
    /// (0: every allocation, as by default): the replay then covers every operation of the
    /// run, however long, and the sites' figures are estimates.
    pub fn sample_sites(&self, bytes: u64) {
        self.sites_sample_every.store(bytes, Ordering::Relaxed);
    }

    /// Bounds a bounded run's replay by operations instead of time: with `Some(n)` the window
    /// is the run's first `n` operations (all of them if it ran fewer), however long their
    /// replay takes, so it does not depend on how fast the machine is. `None`: at most
    /// [`SITES_REPLAY_LIMIT`] of replay when every allocation is captured, as by default.
    pub fn replay_sites_ops(&self, ops: Option<u64>) {
        self.sites_replay_ops
            .store(ops.unwrap_or(0), Ordering::Relaxed);
    }

    fn sites_wanted(&self) -> bool {
        self.sites_wanted.load(Ordering::Relaxed)
    }

    /// The latest window of sites, if one was captured since the last call.
    #[must_use]
    pub fn take_sites(&self) -> Option<RawSites> {
        self.sites
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Keeps `raw` as the latest window, replacing (and freeing) the one before: with the
    /// measuring thread detached from its slot, so that none of it is in the run's heap.
    fn publish_sites(&self, raw: RawSites) {
        crate::engine::counting::unmeasured(|| {
            *self.sites.lock().unwrap_or_else(PoisonError::into_inner) = Some(raw);
        });
    }

    /// Asks the loop to end after its current batch.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn publish(&self, sample: Sample, slot: SlotId, baseline: i64) {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) =
            (sample, Some((slot, baseline)));
    }
}

/// Whether the counting allocator is the global allocator of this program.
#[must_use]
pub fn counting_is_installed() -> bool {
    let slot = crate::engine::counting::current_slot_id();
    let before = crate::engine::counting::snapshot(slot).allocs;
    let probe = std::hint::black_box(Box::new(0u64));
    let after = crate::engine::counting::snapshot(slot).allocs;
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
    let spec = Spec {
        experiment,
        variant,
        size,
        budget: None,
        input: None,
        stop,
    };
    run(slot, &spec, &Live::new())
}

/// Runs `spec` on the calling thread, counting through `slot`, publishing into `live` after
/// every batch: setup and warm-up outside the measured region, then measured batches of about
/// [`BATCH_TARGET`] until `spec.stop` (or [`Live::stop`]), or until the live heap passes the
/// budget. The workload is dropped before returning.
///
/// A panic in the experiment propagates (after the budget is cleared); a stop over budget ends
/// in [`Phase::OverBudget`], with the figures of the operations that completed.
pub fn run(slot: &WorkerSlot, spec: &Spec<'_>, live: &Live) -> Result<Measurement, SetupError> {
    let experiment = spec.experiment;
    let info = experiment.info();
    // An input file sets its own size (its length, which may even be 0): check the variant only.
    let checked_size = if spec.input.is_some() {
        info.default_size
    } else {
        spec.size
    };
    let variant_index = check(experiment, spec.variant, checked_size)?;

    let started = Instant::now();
    slot.reset_peak();
    let baseline = slot.counters().live_bytes();
    slot.set_budget_above(baseline, spec.budget);
    let mut state = Measuring {
        slot,
        live,
        baseline,
        sample: Sample {
            experiment: info.id,
            variant: info.variants[variant_index].name,
            variant_index,
            size: spec.size,
            budget_bytes: spec.budget,
            ..Sample::default()
        },
        checksum: Checksum::new(),
        warm_checksum: Checksum::new(),
        extra_counters: Vec::new(),
    };
    state.publish();
    let warmup_ops = experiment.warmup_ops(spec.size);
    // Setup, warm-up and measuring may each pass the budget; an OverBudget unwind from a
    // checkpoint lands here, and the workload (everything it allocated) is dropped on the way.
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let workload = match spec.input {
            Some(path) => setup_with_input(experiment, spec.variant, path),
            None => setup(experiment, spec.variant, spec.size),
        }?;
        state.go(workload, warmup_ops, spec.stop);
        Ok(())
    }));
    let passed_at = slot.over_budget();
    slot.set_budget(None);
    let over_at = match outcome {
        Ok(Err(e)) => return Err(e),
        Ok(Ok(())) => passed_at,
        Err(payload) => match payload.downcast_ref::<OverBudget>() {
            Some(over) => Some(over.live_bytes),
            None => panic::resume_unwind(payload),
        },
    };
    // How the run ended is its last sample's phase, the one place it is kept.
    let ended = match over_at {
        Some(live_bytes) => Phase::OverBudget {
            live_bytes: u64::try_from(live_bytes - baseline).unwrap_or(0),
            after: started.elapsed(),
        },
        None => Phase::Exited,
    };
    let now = slot.counters();
    state.sample.peak_heap_bytes = u64::try_from(now.peak_live_bytes - baseline).unwrap_or(0);
    state.sample.live_heap_bytes = now.live_bytes() - baseline;
    if live.sites_wanted() && spec.stop != Stop::Never && ended == Phase::Exited {
        replay_with_sites(slot, spec, live, warmup_ops, state.sample.ops);
    }
    state.sample.phase = ended;
    state.publish();
    Ok(Measurement {
        sample: state.sample,
        warmup_ops,
        checksum: state.warm_checksum.value(),
        extra_counters: state.extra_counters,
    })
}

/// A bounded run's sites: the workload set up again and warmed up as before, then the same
/// operations replayed with every allocation captured, so that for a workload whose
/// operations are the same each run (all of the catalog's) the sites add up to the run's own
/// allocs/op. A replay longer than [`SITES_REPLAY_LIMIT`] stops early (unless given a number
/// of operations, [`Live::replay_sites_ops`]): its window is then the first operations. Nothing of it is in the run's figures, which are final by now.
fn replay_with_sites(slot: &WorkerSlot, spec: &Spec<'_>, live: &Live, warmup_ops: u64, ops: u64) {
    let replayed = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut workload = match spec.input {
            Some(path) => setup_with_input(spec.experiment, spec.variant, path),
            None => setup(spec.experiment, spec.variant, spec.size),
        }
        .ok()?;
        let mut checksum = Checksum::new();
        for _ in 0..warmup_ops {
            workload.run_op(&mut checksum);
        }
        let start = Instant::now();
        let sample_every = live.sites_sample_every.load(Ordering::Relaxed);
        let capture = Capture::begin_sampled(slot, Some(&start), sample_every).ok()?;
        // Sampled, a replay is cheap: it covers every operation of the run. Asked for a number
        // of operations, it runs them all, however long they take.
        let (ops, limit) = match live.sites_replay_ops.load(Ordering::Relaxed) {
            0 if sample_every == 0 => (ops, SITES_REPLAY_LIMIT),
            0 => (ops, Duration::MAX),
            wanted => (ops.min(wanted), Duration::MAX),
        };
        let mut done = 0u64;
        while done < ops.max(1) && (done == 0 || start.elapsed() < limit) {
            workload.run_op(&mut checksum);
            done += 1;
        }
        let raw = capture.end(done);
        std::hint::black_box(checksum);
        Some(raw)
    }));
    if let Ok(Some(raw)) = replayed {
        live.publish_sites(raw);
    }
}

/// The state of one run, kept outside the unwind boundary so that a stop over budget keeps
/// the figures of the operations that completed.
struct Measuring<'a> {
    slot: &'a WorkerSlot,
    live: &'a Live,
    baseline: i64,
    sample: Sample,
    checksum: Checksum,
    warm_checksum: Checksum,
    extra_counters: Vec<(String, f64)>,
}

impl Measuring<'_> {
    fn publish(&self) {
        self.live
            .publish(self.sample, self.slot.id(), self.baseline);
    }

    fn set_phase(&mut self, phase: Phase) {
        if self.sample.phase != phase {
            self.sample.phase = phase;
            self.publish();
        }
    }

    fn over(&self) -> bool {
        self.slot.over_budget().is_some()
    }

    /// Whether measuring is over: the stop is reached or asked for.
    fn done(&self, stop: Stop) -> bool {
        self.live.stopped()
            || match stop {
                Stop::Iterations(n) => self.sample.ops >= n,
                Stop::Time(limit) => self.sample.measured_for >= limit,
                Stop::Never => false,
            }
    }

    fn go(&mut self, mut workload: Box<dyn Workload>, warmup_ops: u64, stop: Stop) {
        self.set_phase(Phase::WarmingUp);
        for op in 0..warmup_ops {
            if self.over() || self.live.stopped() {
                return;
            }
            if op == 0 {
                // The first operation alone, cold: reading the counters and the clock
                // allocates nothing, so the figures are the operation's own.
                let before = self.slot.counters();
                let start = Instant::now();
                workload.run_op(&mut self.checksum);
                let took = start.elapsed();
                self.sample.first_op = Some(FirstOp::between(&before, &self.slot.counters(), took));
                self.publish();
            } else {
                workload.run_op(&mut self.checksum);
            }
        }
        self.warm_checksum = self.checksum;
        self.set_phase(Phase::Running);

        let mut batch = 1u64;
        let mut counters_at = Instant::now();
        let mut sites_at: Option<Instant> = None;
        while !self.done(stop) && !self.over() {
            if self.live.paused.load(Ordering::Relaxed) {
                self.set_phase(Phase::Paused);
                // A sleep does not allocate, and nothing of a pause is in any figure.
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            self.set_phase(Phase::Running);
            let n = match stop {
                Stop::Iterations(total) => batch.min(total - self.sample.ops),
                Stop::Time(_) | Stop::Never => batch,
            };
            let before = self.slot.counters();
            let start = Instant::now();
            let mut done = 0u64;
            let mut work = 0u64;
            while done < n {
                work += workload.run_op(&mut self.checksum);
                done += 1;
                // One relaxed load per operation: stop at the first one past the budget.
                if self.over() {
                    break;
                }
            }
            let took = start.elapsed();
            let after = self.slot.counters();
            self.add(done, work, took, &before, &after);
            if self.sample.first_op.is_none() && self.sample.ops == 1 {
                // No warm-up: the first measured batch is one operation, the first.
                self.sample.first_op = Some(FirstOp::between(&before, &after, took));
            }
            self.publish();
            if counters_at.elapsed() >= COUNTERS_EVERY {
                // Between batches, so in no figure; the vector keeps its capacity, so after
                // the first time this allocates nothing.
                counters_at = Instant::now();
                let mut counters = self
                    .live
                    .counters
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                counters.clear();
                workload.extra_counters(&mut |name, value| counters.push((name, value)));
            }
            if took < BATCH_TARGET {
                batch = batch.saturating_mul(2);
            } else if took > BATCH_TARGET * 4 && batch > 1 {
                batch /= 2;
            }
            if stop == Stop::Never
                && self.live.sites_wanted()
                && sites_at.is_none_or(|at| at.elapsed() >= SITES_EVERY)
            {
                self.capture_sites(&mut *workload);
                sites_at = Some(Instant::now());
            }
        }
        std::hint::black_box(self.checksum);
        // Collecting the experiment's own counters allocates: after the last batch, never in one.
        let extra = &mut self.extra_counters;
        workload.extra_counters(&mut |name, value| extra.push((name.to_owned(), value)));
    }

    /// Runs a window of whole operations with their allocations captured, for at least one
    /// operation and about [`SITES_WINDOW`], and publishes it. None of it is in the sample.
    fn capture_sites(&mut self, workload: &mut dyn Workload) {
        let start = Instant::now();
        let Ok(capture) = Capture::begin_below(self.slot, Some(&start)) else {
            return;
        };
        let mut ops = 0u64;
        while ops == 0 || (start.elapsed() < SITES_WINDOW && !self.live.stopped()) {
            workload.run_op(&mut self.checksum);
            ops += 1;
            if self.over() {
                break;
            }
        }
        self.live.publish_sites(capture.end(ops));
    }

    /// Adds a batch: its operations, and the counters' movement from `before` to `after` it.
    fn add(&mut self, ops: u64, work: u64, took: Duration, before: &Counters, after: &Counters) {
        let during = after.since(before);
        let s = &mut self.sample;
        s.ops += ops;
        s.work += work;
        s.measured_for += took;
        s.allocs += during.allocs;
        s.deallocs += during.deallocs;
        s.reallocs += during.reallocs;
        s.bytes_allocated += during.bytes_allocated;
        s.live_heap_bytes = after.live_bytes() - self.baseline;
        s.peak_heap_bytes = u64::try_from(during.peak_live_bytes - self.baseline).unwrap_or(0);
    }
}
