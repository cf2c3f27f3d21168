//! The live runner: one experiment variant on a worker thread with its own counter slot, and a
//! sampler thread that publishes a [`Sample`] at a fixed cadence.
//!
//! The worker runs operations in batches of about two milliseconds. Between batches, and only
//! then, it takes commands and publishes its progress (operation count and a snapshot of its own
//! counters, taken at the same instant, so `allocs / ops` is exact at every sample). It never
//! sends, allocates or locks per operation. The sampler reads that progress, adds the process
//! heap (every slot summed) and RSS (sysinfo), and sends a `Sample`; its own allocations land in the shared
//! "other" bucket, never in the worker's slot.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use heaplab_experiments::counting::{self, Counters, OverBudget, SlotId};
use heaplab_experiments::{Checksum, Experiment, SetupError};

/// How often the sampler publishes by default.
pub const DEFAULT_SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// A batch of operations aims at this long, so commands are seen promptly and the clock is
/// read rarely.
const BATCH_TARGET: Duration = Duration::from_millis(2);

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct RunConfig {
    /// The experiment.
    pub experiment: &'static dyn Experiment,
    /// Index of the variant to start with.
    pub variant: usize,
    /// Workload size.
    pub size: usize,
    /// Sampling cadence.
    pub sample_every: Duration,
    /// Memory budget: the variant is stopped once its live heap passes this many bytes.
    pub budget: Option<u64>,
    /// A user's file to run on instead of generated input (experiments that take one).
    pub input: Option<&'static std::path::Path>,
}

impl RunConfig {
    /// Checks the variant and size against the experiment, so a bad request fails here and
    /// not on the worker.
    pub fn validate(&self) -> Result<(), SetupError> {
        let info = self.experiment.info();
        let variant = info.variants.get(self.variant).map_or("?", |v| v.name);
        heaplab_experiments::check(self.experiment, variant, self.size).map(|_| ())
    }
}

/// Whether `size` is within the experiment's accepted range.
#[must_use]
pub fn size_fits(experiment: &dyn Experiment, size: usize) -> bool {
    let (min, max) = experiment.info().size_range;
    (min..=max).contains(&size)
}

/// Why a runner could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The variant or size does not fit the experiment.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The operating system refused a thread.
    #[error("could not start the worker thread: {0}")]
    Spawn(#[from] std::io::Error),
}

/// What the runner can be told between batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Tear the current variant down and set this one up (by index).
    SwitchVariant(usize),
    /// Stop running operations until [`Command::Resume`].
    Pause,
    /// Run operations again.
    Resume,
    /// Tear down and set up again with this workload size.
    SetSize(usize),
    /// Change the memory budget (`None`: no budget). A run stopped over budget starts again.
    SetBudget(Option<u64>),
    /// Tear down and end the worker.
    Stop,
}

/// What the worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Building the workload (outside the measured region).
    SettingUp,
    /// Running the warm-up operations (not in the figures).
    WarmingUp,
    /// Running measured operations.
    Running,
    /// Paused by a command.
    Paused,
    /// Stopped because its live heap passed the budget; its memory has been returned. It
    /// waits for a command (a new variant, size or budget, or Resume to try again).
    OverBudget {
        /// The variant's live heap when it passed the budget.
        live_bytes: u64,
        /// Time from the start of setup to the stop.
        after: Duration,
    },
    /// The worker has ended.
    Exited,
}

/// One published measurement: cumulative figures since the current variant's warm-up ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Time since the runner started.
    pub elapsed: Duration,
    /// The experiment's id.
    pub experiment: &'static str,
    /// The variant's name.
    pub variant: &'static str,
    /// The variant's index in the experiment's list.
    pub variant_index: usize,
    /// Increases every time a workload is set up (variant switch, size change): figures of
    /// different epochs must not be subtracted from each other.
    pub epoch: u64,
    /// The workload size.
    pub size: usize,
    /// What the worker is doing.
    pub phase: Phase,
    /// Time spent running measured operations in this epoch (pauses excluded).
    pub measured_for: Duration,
    /// Measured operations.
    pub ops: u64,
    /// Bytes the measured operations processed.
    pub bytes_processed: u64,
    /// Allocations during measured operations.
    pub allocs: u64,
    /// Deallocations during measured operations.
    pub deallocs: u64,
    /// Reallocations during measured operations.
    pub reallocs: u64,
    /// Bytes allocated during measured operations (realloc growth included).
    pub bytes_allocated: u64,
    /// The worker's live heap now, above its level before setup.
    pub live_heap_bytes: i64,
    /// The worker's highest live heap in this epoch (setup included), above its level before
    /// setup.
    pub peak_heap_bytes: u64,
    /// The whole process's live heap (every slot summed).
    pub process_heap_bytes: u64,
    /// The whole process's resident set size (sysinfo).
    pub process_rss_bytes: u64,
    /// CPU time the worker thread has used since it started (all epochs).
    pub worker_cpu: Duration,
    /// The memory budget in force.
    pub budget_bytes: Option<u64>,
}

impl Sample {
    /// Allocations per measured operation (0 before the first).
    #[must_use]
    pub fn allocs_per_op(&self) -> f64 {
        if self.ops == 0 {
            0.0
        } else {
            self.allocs as f64 / self.ops as f64
        }
    }
}

/// What the runner tells its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerEvent {
    /// A periodic measurement.
    Sample(Sample),
    /// The worker ended: `error` says why if it did not end on request.
    WorkerExited {
        /// The experiment's id.
        experiment: &'static str,
        /// Why it ended, if not on request (a panic's message, a failed setup).
        error: Option<String>,
    },
}

/// The worker's progress, published between batches and read by the sampler.
#[derive(Clone, Copy)]
struct Progress {
    slot: SlotId,
    epoch: u64,
    variant: usize,
    size: usize,
    phase: Phase,
    measured_for: Duration,
    ops: u64,
    bytes_processed: u64,
    /// The worker's counters when the warm-up ended.
    base: Counters,
    /// The worker's counters at the end of the last batch (consistent with `ops`).
    at_batch: Counters,
    /// The worker's live bytes before setup.
    live_baseline: i64,
    /// The worker thread's CPU time at the end of the last batch.
    worker_cpu: Duration,
    budget: Option<u64>,
}

type Shared = Arc<Mutex<Progress>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Progress> {
    // A poisoned lock only means the other thread panicked mid-update of plain numbers.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running experiment. Dropping it stops and joins both threads.
#[derive(Debug)]
pub struct Runner {
    commands: SyncSender<Command>,
    stop_sampler: Option<SyncSender<()>>,
    worker: Option<JoinHandle<()>>,
    sampler: Option<JoinHandle<()>>,
}

impl Runner {
    /// Validates `config` and starts the worker and sampler threads. Events are sent into
    /// `events` (a bounded channel of the owner's own event type) with `try_send`: when the
    /// owner falls behind, samples are dropped, never queued without bound.
    pub fn start<E>(config: RunConfig, events: SyncSender<E>) -> Result<Runner, StartError>
    where
        E: From<RunnerEvent> + Send + 'static,
    {
        config.validate()?;
        let (command_tx, command_rx) = mpsc::sync_channel(16);
        let (stop_tx, stop_rx) = mpsc::sync_channel(1);
        let (slot_tx, slot_rx) = mpsc::sync_channel(1);
        let started = Instant::now();
        let experiment_id = config.experiment.info().id;

        let worker_events = events.clone();
        let worker = thread::Builder::new()
            .name(format!("heaplab-worker-{experiment_id}"))
            .spawn(move || {
                let error = worker_main(config, &command_rx, &slot_tx).err();
                let _ = worker_events.try_send(E::from(RunnerEvent::WorkerExited {
                    experiment: experiment_id,
                    error,
                }));
            })?;

        // The sampler needs the worker's shared progress, which the worker creates once it owns
        // a slot; if the worker failed first, there is nothing to sample.
        let sampler = match slot_rx.recv() {
            Ok(shared) => thread::Builder::new()
                .name("heaplab-sampler".into())
                .spawn(move || sampler_main(&config, &shared, started, &stop_rx, &events))
                .ok(),
            Err(_) => None,
        };
        Ok(Runner {
            commands: command_tx,
            stop_sampler: Some(stop_tx),
            worker: Some(worker),
            sampler,
        })
    }

    /// Sends a command to the worker; it takes effect at the end of the current batch.
    /// Returns `false` if the worker has already ended.
    #[must_use = "a `false` means the worker has ended"]
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// Stops the worker and the sampler and waits for both.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.commands.try_send(Command::Stop);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
            // The experiment's memory is free now: give its pages back, so the process's RSS
            // does not carry it into whatever runs next.
            counting::release_free_memory();
        }
        // Dropping the sender wakes the sampler at once.
        self.stop_sampler.take();
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The worker thread: owns a counter slot and runs the experiment until told to stop. Returns
/// why it ended if that was not a `Stop` command.
fn worker_main(
    config: RunConfig,
    commands: &Receiver<Command>,
    slot_out: &SyncSender<Shared>,
) -> Result<(), String> {
    let slot = counting::register_worker().map_err(|e| e.to_string())?;
    let shared: Shared = Arc::new(Mutex::new(Progress {
        slot: slot.id(),
        epoch: 0,
        variant: config.variant,
        size: config.size,
        phase: Phase::SettingUp,
        measured_for: Duration::ZERO,
        ops: 0,
        bytes_processed: 0,
        base: Counters::default(),
        at_batch: Counters::default(),
        live_baseline: 0,
        worker_cpu: Duration::ZERO,
        budget: config.budget,
    }));
    slot_out
        .send(Arc::clone(&shared))
        .map_err(|_| "the runner was dropped while starting".to_owned())?;

    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        run_epochs(config, commands, &slot, &shared);
    }));
    lock(&shared).phase = Phase::Exited;
    result.map_err(|payload| {
        format!(
            "the experiment panicked: {}",
            crate::panic::describe(&*payload)
        )
    })
}

/// What a command asks of the epoch loop.
enum Next {
    /// Keep running this workload.
    Continue,
    /// The live heap passed the budget at this many bytes (absolute, as the slot counts).
    OverBudget(i64),
    /// Tear down and set up again (new variant or size).
    Restart,
    /// Tear down and end.
    Stop,
}

/// The worker's state across epochs (one epoch per workload set up).
struct Worker<'a> {
    experiment: &'static dyn Experiment,
    variant: usize,
    size: usize,
    budget: Option<u64>,
    input: Option<&'static std::path::Path>,
    /// The worker's live bytes before this epoch's setup: budgets count from here.
    live_baseline: i64,
    paused: bool,
    commands: &'a Receiver<Command>,
    slot: &'a counting::WorkerSlot,
    shared: &'a Shared,
}

fn run_epochs(
    config: RunConfig,
    commands: &Receiver<Command>,
    slot: &counting::WorkerSlot,
    shared: &Shared,
) {
    let mut worker = Worker {
        experiment: config.experiment,
        variant: config.variant,
        size: config.size,
        budget: config.budget,
        input: config.input,
        live_baseline: 0,
        paused: false,
        commands,
        slot,
        shared,
    };
    let mut epoch = 0u64;
    loop {
        epoch += 1;
        if let Next::Stop = worker.run_epoch(epoch) {
            return;
        }
    }
}

impl Worker<'_> {
    /// Sets up a workload, warms it up, and runs it until a command ends the epoch or its live
    /// heap passes the budget, in which case it is dropped (its memory returned) and the worker
    /// waits for the next command.
    fn run_epoch(&mut self, epoch: u64) -> Next {
        if epoch > 1 {
            // The previous workload was dropped: its pages go back before the next is set up.
            counting::release_free_memory();
        }
        self.slot.reset_peak();
        self.live_baseline = self.slot.counters().live_bytes();
        self.apply_budget();
        {
            let mut p = lock(self.shared);
            *p = Progress {
                epoch,
                variant: self.variant,
                size: self.size,
                phase: Phase::SettingUp,
                measured_for: Duration::ZERO,
                ops: 0,
                bytes_processed: 0,
                live_baseline: self.live_baseline,
                budget: self.budget,
                ..*p
            };
        }
        let started = Instant::now();
        // An experiment stopped inside an operation unwinds with `OverBudget`; its workload is
        // dropped on the way out, so its memory is back before we report.
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| self.run_workload()));
        let next = match outcome {
            Ok(next) => next,
            Err(payload) => match payload.downcast_ref::<OverBudget>() {
                Some(over) => Next::OverBudget(over.live_bytes),
                None => panic::resume_unwind(payload),
            },
        };
        match next {
            Next::OverBudget(live) => self.wait_over_budget(live, started),
            other => other,
        }
    }

    /// Sets the slot's budget from `self.budget`, counted from this epoch's baseline.
    fn apply_budget(&self) {
        self.slot.set_budget_above(self.live_baseline, self.budget);
    }

    fn run_workload(&mut self) -> Next {
        let mut workload = match self.input {
            Some(path) if self.experiment.takes_input() => {
                match self.experiment.build_with_input(self.variant, path) {
                    Ok(workload) => workload,
                    // Checked when the run started: failing now means the file changed.
                    Err(e) => panic!("{e}"),
                }
            }
            _ => self.experiment.build(self.variant, self.size),
        };
        if let Some(live) = self.slot.over_budget() {
            return Next::OverBudget(live);
        }
        lock(self.shared).phase = Phase::WarmingUp;
        let mut checksum = Checksum::new();
        for _ in 0..self.experiment.warmup_ops(self.size) {
            workload.run_op(&mut checksum);
            if let Some(live) = self.slot.over_budget() {
                return Next::OverBudget(live);
            }
        }
        let base = self.slot.counters();
        {
            let mut p = lock(self.shared);
            p.base = base;
            p.at_batch = base;
            p.phase = if self.paused {
                Phase::Paused
            } else {
                Phase::Running
            };
        }

        let mut batch = 1u64;
        loop {
            match self.next_command() {
                Next::Continue if self.paused => continue,
                Next::Continue => {}
                other => return other,
            }
            let start = Instant::now();
            let mut bytes = 0u64;
            let mut done = 0u64;
            let mut over = None;
            while done < batch {
                bytes += workload.run_op(&mut checksum);
                done += 1;
                // One relaxed load per operation: stop at the first one past the budget.
                over = self.slot.over_budget();
                if over.is_some() {
                    break;
                }
            }
            let took = start.elapsed();
            let counters = self.slot.counters();
            // A clock_gettime per batch (about every 2 ms), never per operation.
            let cpu = cpu_time::ThreadTime::try_now().map_or(Duration::ZERO, |t| t.as_duration());
            {
                let mut p = lock(self.shared);
                p.worker_cpu = cpu;
                p.ops += done;
                p.bytes_processed += bytes;
                p.measured_for += took;
                p.at_batch = counters;
            }
            if let Some(live) = over {
                std::hint::black_box(checksum);
                return Next::OverBudget(live);
            }
            if took < BATCH_TARGET {
                batch = batch.saturating_mul(2);
            } else if took > BATCH_TARGET * 4 && batch > 1 {
                batch /= 2;
            }
        }
    }

    /// Reports the stop over budget and waits for a command that starts something again.
    fn wait_over_budget(&mut self, live: i64, started: Instant) -> Next {
        let live_bytes = u64::try_from(live - self.live_baseline).unwrap_or(0);
        lock(self.shared).phase = Phase::OverBudget {
            live_bytes,
            after: started.elapsed(),
        };
        self.slot.set_budget(None);
        counting::release_free_memory();
        loop {
            match self.commands.recv().unwrap_or(Command::Stop) {
                Command::Stop => return Next::Stop,
                Command::Pause => self.paused = true,
                Command::Resume => {
                    self.paused = false;
                    return Next::Restart;
                }
                Command::SwitchVariant(v) if v < self.experiment.info().variants.len() => {
                    self.variant = v;
                    return Next::Restart;
                }
                Command::SetSize(size) if size_fits(self.experiment, size) => {
                    self.size = size;
                    return Next::Restart;
                }
                Command::SetBudget(budget) => {
                    self.budget = budget;
                    return Next::Restart;
                }
                Command::SwitchVariant(_) | Command::SetSize(_) => {}
            }
        }
    }

    /// Takes one command, if any (waiting for one while paused), and applies it.
    fn next_command(&mut self) -> Next {
        let command = if self.paused {
            self.commands.recv().unwrap_or(Command::Stop)
        } else {
            match self.commands.try_recv() {
                Ok(command) => command,
                Err(TryRecvError::Empty) => return Next::Continue,
                Err(TryRecvError::Disconnected) => Command::Stop,
            }
        };
        match command {
            Command::Pause | Command::Resume => {
                self.paused = command == Command::Pause;
                lock(self.shared).phase = if self.paused {
                    Phase::Paused
                } else {
                    Phase::Running
                };
                Next::Continue
            }
            Command::SwitchVariant(v) if v < self.experiment.info().variants.len() => {
                self.variant = v;
                Next::Restart
            }
            Command::SetSize(s) if size_fits(self.experiment, s) => {
                self.size = s;
                Next::Restart
            }
            Command::SetBudget(budget) => {
                self.budget = budget;
                lock(self.shared).budget = budget;
                self.apply_budget();
                Next::Continue
            }
            // Out-of-range requests are refused by the owner before sending; ignore strays.
            Command::SwitchVariant(_) | Command::SetSize(_) => Next::Continue,
            Command::Stop => Next::Stop,
        }
    }
}

fn sampler_main<E: From<RunnerEvent>>(
    config: &RunConfig,
    shared: &Shared,
    started: Instant,
    stop: &Receiver<()>,
    events: &SyncSender<E>,
) {
    let info = config.experiment.info();
    let mut rss = ProcessRss::new();
    let mut next_tick = Instant::now();
    loop {
        let progress = *lock(shared);
        let now = counting::snapshot(progress.slot);
        let measured = progress.at_batch.since(&progress.base);
        let sample = Sample {
            elapsed: started.elapsed(),
            experiment: info.id,
            variant: info.variants.get(progress.variant).map_or("?", |v| v.name),
            variant_index: progress.variant,
            epoch: progress.epoch,
            size: progress.size,
            phase: progress.phase,
            measured_for: progress.measured_for,
            ops: progress.ops,
            bytes_processed: progress.bytes_processed,
            allocs: measured.allocs,
            deallocs: measured.deallocs,
            reallocs: measured.reallocs,
            bytes_allocated: measured.bytes_allocated,
            live_heap_bytes: now.live_bytes() - progress.live_baseline,
            peak_heap_bytes: u64::try_from(now.peak_live_bytes - progress.live_baseline)
                .unwrap_or(0),
            process_heap_bytes: crate::alloc::process_heap_bytes(),
            process_rss_bytes: rss.read(),
            worker_cpu: progress.worker_cpu,
            budget_bytes: progress.budget,
        };
        match events.try_send(E::from(RunnerEvent::Sample(sample))) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => return,
        }
        if progress.phase == Phase::Exited {
            return;
        }
        next_tick += config.sample_every;
        let wait = next_tick.saturating_duration_since(Instant::now());
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// The process's resident set size, read with one long-lived `sysinfo::System` that refreshes
/// only this process's memory.
#[derive(Debug)]
pub struct ProcessRss {
    system: sysinfo::System,
    pid: Option<sysinfo::Pid>,
}

impl Default for ProcessRss {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessRss {
    /// Prepares to read this process's RSS.
    #[must_use]
    pub fn new() -> Self {
        Self {
            system: sysinfo::System::new(),
            pid: sysinfo::get_current_pid().ok(),
        }
    }

    /// The RSS in bytes now (0 if the platform cannot tell).
    pub fn read(&mut self) -> u64 {
        let Some(pid) = self.pid else { return 0 };
        self.system.refresh_processes_specifics(
            sysinfo::ProcessesToUpdate::Some(&[pid]),
            false,
            sysinfo::ProcessRefreshKind::nothing().with_memory(),
        );
        self.system.process(pid).map_or(0, sysinfo::Process::memory)
    }
}
