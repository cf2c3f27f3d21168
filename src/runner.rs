//! The live runner: one experiment variant in a worker process (see
//! [`heaplab_experiments::worker`]), whose samples a reader thread tags and passes on.
//!
//! The worker runs the one measuring loop and publishes a [`Sample`] at a fixed cadence; this
//! side only receives. Switching variant, size or budget replaces the worker with a new one
//! (a new epoch); pausing and resuming are commands to the running one. A worker that dies is
//! that run's error (`crashed: SIGSEGV`), never the dashboard's. The owner is never blocked by
//! a slow or silent worker: events arrive on its own bounded channel, with `try_send`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use heaplab_experiments::measure::Stop;
pub use heaplab_experiments::measure::{Phase, Sample};
use heaplab_experiments::sites::Sites;
use heaplab_experiments::worker::{Job, Message, Process};
pub use heaplab_experiments::worker::{Launcher, ProcessRss};
use heaplab_experiments::{Experiment, SetupError};

/// How often the worker publishes by default.
pub const DEFAULT_SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// What to run.
#[derive(Debug, Clone)]
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
    /// How to start a worker process.
    pub launcher: Arc<Launcher>,
}

impl RunConfig {
    /// Checks the variant and size against the experiment, so a bad request fails here and
    /// not in the worker.
    pub fn validate(&self) -> Result<(), SetupError> {
        let info = self.experiment.info();
        let variant = info.variants.get(self.variant).map_or("?", |v| v.name);
        if self.input.is_some() {
            // The file sets the size; the variant is all there is to check.
            return heaplab_experiments::check(self.experiment, variant, info.default_size)
                .map(|_| ());
        }
        heaplab_experiments::check(self.experiment, variant, self.size).map(|_| ())
    }

    fn job(&self, sites: bool) -> Job {
        let info = self.experiment.info();
        Job {
            experiment: info.id.to_owned(),
            variant: info
                .variants
                .get(self.variant)
                .map_or("?", |v| v.name)
                .to_owned(),
            size: self.size,
            budget: self.budget,
            input: self.input.map(std::path::Path::to_path_buf),
            stop: Stop::Never,
            sample_every: Some(self.sample_every),
            sites,
            sites_sample_every: 0,
            sites_ops: None,
        }
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
    /// The operating system refused the worker process or its reader thread.
    #[error("could not start the worker process: {0}")]
    Spawn(#[from] std::io::Error),
}

/// What the runner can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Replace the worker with one running this variant (by index).
    SwitchVariant(usize),
    /// Stop running operations until [`Command::Resume`].
    Pause,
    /// Run operations again (a run stopped over budget starts again).
    Resume,
    /// Replace the worker with one at this workload size.
    SetSize(usize),
    /// Replace the worker with one under this memory budget (`None`: no budget).
    SetBudget(Option<u64>),
    /// Capture allocation sites (a window every second), or stop capturing; later workers
    /// (another variant, size or budget) keep the setting.
    Sites(bool),
    /// End the worker.
    Stop,
}

/// What the runner tells its owner.
// A sample (about 260 bytes) is moved by value ten times a second: boxing it would cost the
// dashboard an allocation per sample for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerEvent {
    /// A worker process has started and is about to set the experiment up.
    WorkerReady {
        /// The epoch it runs.
        epoch: u64,
        /// From the spawn to its first word: the worker's own start, before any setup.
        after: Duration,
    },
    /// A periodic measurement.
    Sample(Sample),
    /// The experiment's own counters (pool hits and misses, cache hit rate...), as of the
    /// latest sample of `epoch`.
    Counters {
        /// The epoch they belong to.
        epoch: u64,
        /// Name and value of each.
        counters: Vec<(String, f64)>,
    },
    /// A captured window of the running variant's allocation sites, symbolized.
    Sites {
        /// The epoch it belongs to.
        epoch: u64,
        /// The variant it was captured on (by index).
        variant: usize,
        /// The sites.
        sites: Arc<Sites>,
    },
    /// The worker ended by itself: `error` says why if it did not end cleanly (over budget is
    /// clean: its last sample says so).
    WorkerExited {
        /// The experiment's id.
        experiment: &'static str,
        /// Why it ended: a panic's message, a failed setup, `crashed: SIGSEGV`.
        error: Option<String>,
    },
}

type Emit = Arc<dyn Fn(RunnerEvent) -> bool + Send + Sync>;

/// One worker process and the thread that reads it.
struct Worker {
    process: Process,
    reader: Option<JoinHandle<()>>,
    /// Set before we kill it: its end is ours, not news.
    quiet: Arc<AtomicBool>,
    /// Set once its output has ended.
    ended: Arc<AtomicBool>,
}

impl Worker {
    /// Kills the worker and waits a bounded time for its reader, which ends with the worker's
    /// output. A reader still blocked after that (a process that escaped the worker's group
    /// holds the pipe) is left to end on its own: its events are muted, and the owner must
    /// never wait on a worker.
    fn stop(mut self) {
        self.quiet.store(true, Ordering::Relaxed);
        self.process.kill();
        if let Some(reader) = self.reader.take() {
            let deadline = Instant::now() + Duration::from_secs(1);
            while !reader.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
    }
}

/// A running experiment. Dropping it stops the worker.
pub struct Runner {
    config: RunConfig,
    epoch: u64,
    paused: bool,
    sites: bool,
    started: Instant,
    emit: Emit,
    worker: Option<Worker>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("experiment", &self.config.experiment.info().id)
            .field("epoch", &self.epoch)
            .field("paused", &self.paused)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// Validates `config` and starts a worker process for it. Events are sent into `events`
    /// (a bounded channel of the owner's own event type) with `try_send`: when the owner falls
    /// behind, samples are dropped, never queued without bound.
    pub fn start<E>(config: RunConfig, events: SyncSender<E>) -> Result<Runner, StartError>
    where
        E: From<RunnerEvent> + Send + 'static,
    {
        config.validate()?;
        let emit: Emit = Arc::new(move |event| match events.try_send(E::from(event)) {
            Ok(()) | Err(TrySendError::Full(_)) => true,
            Err(TrySendError::Disconnected(_)) => false,
        });
        let mut runner = Runner {
            config,
            epoch: 0,
            paused: false,
            sites: false,
            started: Instant::now(),
            emit,
            worker: None,
        };
        runner.respawn()?;
        Ok(runner)
    }

    /// Replaces the worker (if any) with a new one for the current configuration.
    fn respawn(&mut self) -> Result<(), StartError> {
        if let Some(old) = self.worker.take() {
            old.stop();
        }
        self.epoch += 1;
        let mut process = Process::spawn(&self.config.launcher, &self.config.job(self.sites))?;
        if self.paused {
            process.send("pause");
        }
        let mut output = process
            .take_output()
            .ok_or_else(|| std::io::Error::other("the worker's output is gone"))?;
        let quiet = Arc::new(AtomicBool::new(false));
        let ended = Arc::new(AtomicBool::new(false));
        let tags = Tags {
            started: self.started,
            spawned_at: process.spawned_at(),
            experiment: self.config.experiment,
            variant: self.config.variant,
            epoch: self.epoch,
            size: self.config.size,
            budget: self.config.budget,
        };
        let reader = {
            let emit = Arc::clone(&self.emit);
            let quiet = Arc::clone(&quiet);
            let ended = Arc::clone(&ended);
            thread::Builder::new()
                .name("heaplab-reader".into())
                .spawn(move || {
                    while let Some(message) = output.next_message() {
                        if quiet.load(Ordering::Relaxed) {
                            continue;
                        }
                        let event = match message {
                            Message::Ready => RunnerEvent::WorkerReady {
                                epoch: tags.epoch,
                                after: tags.spawned_at.elapsed(),
                            },
                            Message::Sample(sample) => RunnerEvent::Sample(tags.tag(sample)),
                            Message::Counters(counters) => RunnerEvent::Counters {
                                epoch: tags.epoch,
                                counters,
                            },
                            Message::Sites(raw) => RunnerEvent::Sites {
                                epoch: tags.epoch,
                                variant: tags.variant,
                                sites: Arc::new(crate::sites::symbolize(&raw)),
                            },
                            Message::Done(_) | Message::Failed(_) => continue,
                        };
                        if !emit(event) {
                            break;
                        }
                    }
                    let outcome = output.finish();
                    ended.store(true, Ordering::Relaxed);
                    if !quiet.load(Ordering::Relaxed) {
                        emit(RunnerEvent::WorkerExited {
                            experiment: tags.experiment.info().id,
                            error: outcome.error,
                        });
                    }
                })?
        };
        self.worker = Some(Worker {
            process,
            reader: Some(reader),
            quiet,
            ended,
        });
        Ok(())
    }

    /// Carries out a command. Returns `false` if it could not be: the worker has ended (for
    /// a pause), or a new one could not be started.
    #[must_use = "a `false` means the command was not carried out"]
    pub fn send(&mut self, command: Command) -> bool {
        let ended = self
            .worker
            .as_ref()
            .is_none_or(|w| w.ended.load(Ordering::Relaxed));
        match command {
            Command::Pause | Command::Resume => {
                self.paused = command == Command::Pause;
                if ended {
                    // Resuming a run that stopped (over budget) starts it again.
                    return !self.paused && self.respawn().is_ok();
                }
                let word = if self.paused { "pause" } else { "resume" };
                self.worker.as_mut().is_some_and(|w| w.process.send(word))
            }
            Command::SwitchVariant(v) => {
                if v >= self.config.experiment.info().variants.len() {
                    return false;
                }
                self.config.variant = v;
                self.respawn().is_ok()
            }
            Command::SetSize(size) => {
                if !size_fits(self.config.experiment, size) {
                    return false;
                }
                self.config.size = size;
                self.respawn().is_ok()
            }
            Command::SetBudget(budget) => {
                self.config.budget = budget;
                self.respawn().is_ok()
            }
            Command::Sites(on) => {
                self.sites = on;
                let word = if on { "sites on" } else { "sites off" };
                ended || self.worker.as_mut().is_some_and(|w| w.process.send(word))
            }
            Command::Stop => {
                if let Some(worker) = self.worker.take() {
                    worker.stop();
                }
                true
            }
        }
    }

    /// Stops the worker and waits for its reader.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.stop();
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the reader adds to a worker's samples: who, which epoch, and when on our clock.
struct Tags {
    started: Instant,
    spawned_at: Instant,
    experiment: &'static dyn Experiment,
    variant: usize,
    epoch: u64,
    size: usize,
    budget: Option<u64>,
}

impl Tags {
    fn tag(&self, mut sample: Sample) -> Sample {
        let info = self.experiment.info();
        sample.elapsed = self.started.elapsed();
        sample.experiment = info.id;
        sample.variant = info.variants.get(self.variant).map_or("?", |v| v.name);
        sample.variant_index = self.variant;
        sample.epoch = self.epoch;
        sample.size = self.size;
        sample.budget_bytes = self.budget;
        sample
    }
}
