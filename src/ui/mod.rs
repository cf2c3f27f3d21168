//! The dashboard: one thread owns the terminal and the [`App`]; an input thread and a signal
//! thread send it messages over one bounded channel, and so does the runner.
//!
//! The loop drains messages with a per-turn budget, applies the app's effects to the runner, and
//! redraws only when something changed and a frame is due.

mod actions;
pub mod app;
#[cfg(unix)]
pub mod attach_view;
pub mod budget;
pub mod charts;
pub mod draw;
pub mod fit;
pub mod glossary;
pub mod keys;
pub mod layout_view;
pub mod presenter;
pub mod sites_view;
pub mod source_view;
pub mod svg;
pub(crate) mod terminal;
pub mod theme;
pub mod tour;
pub mod view;
pub mod workshop;

use std::io::{self, IsTerminal as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr as _};
use heaplab_experiments::counting::{self, SlotId};
use ratatui::Terminal;
use ratatui::backend::{Backend, TestBackend};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use self::app::{App, Effect, SelfCost};
use crate::runner::{Command, DEFAULT_SAMPLE_EVERY, Launcher, RunConfig, Runner, RunnerEvent};

/// Everything the UI thread hears about.
// A runner event holds a sample by value (see `RunnerEvent`): no allocation per sample.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AppEvent {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal was resized.
    Resize,
    /// The runner said something.
    Runner(RunnerEvent),
    /// SIGINT, SIGTERM or SIGHUP arrived.
    Signal(i32),
    /// The terminal stopped giving input (closed, or an error).
    InputClosed(String),
}

impl From<RunnerEvent> for AppEvent {
    fn from(event: RunnerEvent) -> Self {
        AppEvent::Runner(event)
    }
}

/// What the signal and input threads say, as the dashboard's events.
fn app_event(event: terminal::TermEvent) -> AppEvent {
    match event {
        terminal::TermEvent::Key(key) => AppEvent::Key(key),
        terminal::TermEvent::Resize => AppEvent::Resize,
        terminal::TermEvent::Signal(signal) => AppEvent::Signal(signal),
        terminal::TermEvent::InputClosed(why) => AppEvent::InputClosed(why),
    }
}

/// How the dashboard opens.
#[derive(Debug, Clone)]
pub struct Options {
    /// Frames per second at most (1..=60).
    pub fps: u32,
    /// An experiment to start at once: catalog index, variant index, optional size.
    pub start: Option<(usize, usize, Option<usize>)>,
    /// The memory budget for runs.
    pub budget: Option<u64>,
    /// A user's file for the experiments that take one (`run streaming --input FILE`).
    pub input: Option<&'static std::path::Path>,
    /// Recording, presenter mode, tour.
    pub workshop: workshop::WorkshopOptions,
    /// How to start the worker processes that run experiments.
    pub launcher: Arc<Launcher>,
}

/// The dashboard needs a terminal.
#[derive(Debug, thiserror::Error)]
#[error(
    "the dashboard needs a terminal, and standard output is not one; \
     for figures in a pipe, a script or CI, run `{0} bench` (e.g. `{0} bench --format json`)",
    crate::program::name()
)]
pub struct NotATerminal;

/// How the dashboard ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The user quit.
    Quit,
    /// A signal (SIGINT, SIGTERM, SIGHUP) or a closed terminal ended it.
    Signal(i32),
}

/// How the dashboard ended, and where the session's figures went.
#[derive(Debug)]
pub struct Ended {
    /// Quit or signal.
    pub ending: Ending,
    /// The session file written (`Ok(None)`: nothing was measured), or why it could not be.
    pub session: Result<Option<std::path::PathBuf>, String>,
}

/// Opens the dashboard and runs it until the user quits or a signal arrives. The terminal is
/// restored on every way out: return, error, panic (ratatui's hook) and signal.
pub fn run(options: Options) -> Result<Ended> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(NotATerminal.into());
    }
    let (tx, rx) = mpsc::sync_channel::<AppEvent>(1024);
    let stop = Arc::new(AtomicBool::new(false));
    let signals = terminal::SignalThread::spawn("heaplab-signals", tx.clone(), app_event)?;

    // ratatui's panic hook is installed last, so it restores the terminal before color-eyre's
    // hook prints the report.
    let mut terminal = ratatui::try_init().wrap_err("could not set up the terminal")?;
    // Outermost: a panic on an experiment's worker is that run's error, reported on screen;
    // it must not restore (and so break) the terminal of a dashboard that goes on.
    heaplab_experiments::panic::install_worker_filter();
    let input_thread =
        terminal::spawn_input("heaplab-input", tx.clone(), Arc::clone(&stop), app_event)?;
    let result = event_loop(&mut terminal, &rx, &tx, options);
    terminal::restore(terminal);
    stop.store(true, Ordering::Relaxed);
    drop(tx);
    signals.close();
    terminal::join_input(input_thread);
    result
}

/// Runs the real dashboard loop on an off-screen `width` x `height` terminal: the `start`
/// experiment (catalog index, variant, size) for `seconds`, then (as if Space were pressed) the
/// next variant for `seconds`, and returns the last frame. What `heaplab screenshot` draws the README's picture from.
pub fn screenshot(
    start: (usize, usize, Option<usize>),
    seconds: f64,
    width: u16,
    height: u16,
    view: workshop::ShotView,
    launcher: Arc<Launcher>,
) -> Result<Buffer> {
    let (tx, rx) = mpsc::sync_channel::<AppEvent>(1024);
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;
    let script = {
        let tx = tx.clone();
        thread::Builder::new()
            .name("heaplab-screenshot".into())
            .spawn(move || {
                for (pause, key) in view.script(seconds) {
                    thread::sleep(Duration::from_secs_f64(pause));
                    let _ = tx.send(AppEvent::Key(KeyEvent::from(KeyCode::Char(key))));
                }
            })?
    };
    let options = Options {
        fps: 15,
        start: Some(start),
        budget: None,
        input: None,
        workshop: view.options(),
        launcher,
    };
    event_loop(&mut terminal, &rx, &tx, options)?;
    let _ = script.join();
    Ok(terminal.backend().buffer().clone())
}

/// Applies the workshop options to a new dashboard (a tour starts its first step).
fn open_workshop(app: &mut App, options: &workshop::WorkshopOptions, now: f64) -> Vec<Effect> {
    app.workshop.presenter = options.presenter;
    app.workshop.no_color = options.no_color;
    match options.tour {
        Some(mode) => app.start_tour(mode, 0, now),
        None => Vec::new(),
    }
}

/// Messages handled per turn at most, so a flood of samples cannot starve the frame.
const EVENTS_PER_TURN: usize = 256;

/// The worker's figures are drawn at most this often: every second sample (5 times a second).
const DATA_FRAME_EVERY: Duration =
    Duration::from_millis(2 * DEFAULT_SAMPLE_EVERY.as_millis() as u64);

/// The loop proper, generic over the backend so tests can drive it on a `TestBackend`.
pub fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    rx: &Receiver<AppEvent>,
    tx: &SyncSender<AppEvent>,
    options: Options,
) -> Result<Ended>
where
    B::Error: Send + Sync + 'static,
{
    let started = Instant::now();
    let clock = || started.elapsed().as_secs_f64();
    let mut app = App::new(crate::catalog::catalog());
    app.budget = options.budget;
    app.input = options.input;
    let opening = open_workshop(&mut app, &options.workshop, clock());
    let mut loop_state = EventLoop {
        runner: None,
        launcher: options.launcher,
        tx: tx.clone(),
        ending: Ending::Quit,
        recorder: options
            .workshop
            .record
            .map(|path| crate::record::Recorder::create(&path))
            .transpose()?,
    };
    loop_state.apply(&mut app, opening);
    if let Some((experiment, variant, size)) = options.start {
        let effects = match size {
            Some(size) => app.start_sized(experiment, variant, size, clock()),
            None => app.start(experiment, variant, clock()),
        };
        loop_state.apply(&mut app, effects);
    }
    let frame_every = Duration::from_secs_f64(1.0 / f64::from(options.fps.clamp(1, 60)));
    // What the worker sends (a sample, then its counters a moment later, every 100 ms) is
    // drawn at most every DATA_FRAME_EVERY: every sample is kept, and drawing each as it comes
    // would double the dashboard's CPU (which competes with the worker on a 2-core laptop) for
    // a refresh no person reads faster. Keys are drawn at the frame rate.
    let data_frame_every = frame_every.max(DATA_FRAME_EVERY);
    let mut cost = CostMeter::new();
    let mut dirty = true;
    let mut data_dirty = false;
    let mut last_frame: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let due = |every: Duration| last_frame.is_none_or(|at| now >= at + every);
        if (dirty && due(frame_every)) || (data_dirty && due(data_frame_every)) {
            if terminal
                .draw(|frame| frame.render_widget(&app, frame.area()))
                .is_err()
            {
                // Output to the terminal fails once it is gone (a closed window): end as on
                // the hangup that comes with it, stopping the experiment on the way out.
                loop_state.ending = Ending::Signal(signal_hook::consts::SIGHUP);
                break;
            }
            (dirty, data_dirty) = (false, false);
            last_frame = Some(now);
        }
        let until = |every: Duration| {
            last_frame.map_or(Duration::ZERO, |at| {
                (at + every).saturating_duration_since(Instant::now())
            })
        };
        let wait = if dirty {
            until(frame_every)
        } else if data_dirty {
            until(data_frame_every)
        } else {
            Duration::from_millis(250)
        };
        match rx.recv_timeout(wait) {
            Ok(event) => {
                let first = std::iter::once(event);
                for event in first.chain(rx.try_iter().take(EVENTS_PER_TURN)) {
                    let data = matches!(event, AppEvent::Runner(_));
                    let changed = loop_state.handle(&mut app, event, clock());
                    if data {
                        data_dirty |= changed;
                    } else {
                        dirty |= changed;
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let effects = app.tick(clock());
        dirty |= !effects.is_empty();
        loop_state.apply(&mut app, effects);
        if let Some(measured) = cost.measure() {
            app.on_self_cost(measured);
            data_dirty = true;
        }
        if app.quit {
            break;
        }
    }
    if let Some(runner) = loop_state.runner.take() {
        runner.stop();
    }
    if let Some(recorder) = loop_state.recorder.take() {
        recorder.finish()?;
    }
    // However the session ends, what it measured is kept.
    let session =
        crate::session::save(app.experiments, &app.session()).map_err(|e| format!("{e:#}"));
    Ok(Ended {
        ending: loop_state.ending,
        session,
    })
}

/// The loop's side of things: the runner and the sender it gives runners.
struct EventLoop {
    runner: Option<Runner>,
    launcher: Arc<Launcher>,
    tx: SyncSender<AppEvent>,
    ending: Ending,
    recorder: Option<crate::record::Recorder>,
}

impl EventLoop {
    /// Handles one message; returns whether the screen needs redrawing.
    fn handle(&mut self, app: &mut App, event: AppEvent, now: f64) -> bool {
        match event {
            AppEvent::Key(key) => {
                let (effects, changed) = app.key(&key, now);
                self.apply(app, effects);
                return changed;
            }
            AppEvent::Resize => {}
            AppEvent::Runner(RunnerEvent::Sample(sample)) => {
                if let Some(recorder) = self.recorder.as_mut() {
                    recorder.record(&sample);
                }
                app.on_sample(sample, now);
            }
            AppEvent::Runner(RunnerEvent::WorkerReady { .. }) => return false,
            AppEvent::Runner(RunnerEvent::Counters { epoch, counters }) => {
                app.on_counters(epoch, counters);
            }
            AppEvent::Runner(RunnerEvent::Sites { variant, sites, .. }) => {
                app.on_sites(variant, sites);
            }
            AppEvent::Runner(RunnerEvent::WorkerExited { experiment, error }) => {
                app.on_worker_exited(experiment, error);
            }
            AppEvent::Signal(signal) => {
                self.ending = Ending::Signal(signal);
                app.quit = true;
            }
            AppEvent::InputClosed(_) => {
                self.ending = Ending::Signal(signal_hook::consts::SIGHUP);
                app.quit = true;
            }
        }
        true
    }

    fn apply(&mut self, app: &mut App, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Start {
                    experiment,
                    variant,
                    size,
                    budget,
                    input,
                } => {
                    if let Some(old) = self.runner.take() {
                        old.stop();
                    }
                    let config = RunConfig {
                        experiment: app.experiments[experiment],
                        variant,
                        size,
                        sample_every: DEFAULT_SAMPLE_EVERY,
                        budget,
                        input,
                        launcher: Arc::clone(&self.launcher),
                    };
                    match Runner::start(config, self.tx.clone()) {
                        Ok(mut runner) => {
                            if app.wants_sites() {
                                let _ = runner.send(Command::Sites(true));
                            }
                            self.runner = Some(runner);
                        }
                        Err(e) => {
                            app.running = None;
                            app.notice = Some(format!("could not start: {e}"));
                        }
                    }
                }
                Effect::Send(command) => {
                    if let Some(runner) = self.runner.as_mut()
                        && !runner.send(command)
                    {
                        app.notice = Some("the experiment has already stopped".into());
                    }
                }
                Effect::Stop => {
                    if let Some(runner) = self.runner.take() {
                        runner.stop();
                    }
                }
                Effect::Export => {
                    let info = app.shown_experiment().info();
                    let size = app.running.map_or(info.default_size, |r| r.size);
                    let chart = crate::export::from_dashboard(info, size, &app.stats, &app.history);
                    app.notice = Some(crate::export::export_dashboard(&chart, info.id));
                }
            }
        }
    }
}

/// Measures what the dashboard costs: its process's allocations and CPU, once a second. The
/// experiment runs in a worker process of its own, so all of it is the dashboard's.
struct CostMeter {
    at: Instant,
    allocs: u64,
    process_cpu: Duration,
}

impl CostMeter {
    fn new() -> Self {
        Self {
            at: Instant::now(),
            allocs: own_allocs(),
            process_cpu: process_cpu(),
        }
    }

    fn measure(&mut self) -> Option<SelfCost> {
        let elapsed = self.at.elapsed();
        if elapsed < Duration::from_secs(1) {
            return None;
        }
        let allocs = own_allocs();
        let cpu = process_cpu();
        let secs = elapsed.as_secs_f64();
        let cost = SelfCost {
            allocs_per_sec: allocs.saturating_sub(self.allocs) as f64 / secs,
            cpu_percent: cpu.saturating_sub(self.process_cpu).as_secs_f64() / secs * 100.0,
        };
        self.at = Instant::now();
        self.allocs = allocs;
        self.process_cpu = cpu;
        Some(cost)
    }
}

/// Every allocation of this process: the shared bucket (no thread here owns a slot).
fn own_allocs() -> u64 {
    counting::snapshot(SlotId::OTHER).allocs
}

fn process_cpu() -> Duration {
    cpu_time::ProcessTime::try_now().map_or(Duration::ZERO, |t| t.as_duration())
}
