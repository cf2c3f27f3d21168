//! The worker process: every run of a variant (the dashboard's, the tour's, `--trace`'s, and
//! each `bench` and scorecard row) happens in a child process of the program, which streams
//! its samples to the parent over a pipe. The parent only receives them; its allocations,
//! heap arena, threads and caches never touch an experiment.
//!
//! The protocol, both sides:
//! - The parent starts `EXE ARGS worker JOB`, `JOB` being a [`Job`] as JSON, with its stdin,
//!   stdout and stderr piped ([`Process::spawn`]).
//! - The worker ([`serve`]) answers with one [`Message`] per line of JSON on stdout:
//!   [`Message::Ready`] as soon as it has started (before the experiment's setup), a
//!   [`Message::Sample`] every [`Job::sample_every`], and at the end [`Message::Done`] with the
//!   whole [`Measurement`], or [`Message::Failed`].
//! - The parent may write `pause`, `resume`, `sites on`, `sites off` or `stop` lines to the worker's stdin. A closed
//!   stdin (the parent has died, or dropped the pipe) ends the worker at once, as `stop` does.
//! - A worker that dies (a signal, an abort) says nothing more: the parent reads how from its
//!   exit status and the last line of its stderr ([`Outcome`]).

use std::any::Any;
use std::ffi::OsString;
use std::io::{self, BufRead as _, BufReader, Read as _, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::experiment::Experiment;
use crate::engine::measure::{self, Live, Measurement, Phase, Sample, Spec, Stop};
use crate::engine::sites::RawSites;

/// Until the run is measuring, how often the worker looks for a change of phase to report.
const PHASE_POLL: Duration = Duration::from_millis(2);

/// The name of the hidden subcommand that runs a worker.
pub const SUBCOMMAND: &str = "worker";

/// What a worker runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The experiment's id.
    pub experiment: String,
    /// The variant's name.
    pub variant: String,
    /// The workload size.
    pub size: usize,
    /// The memory budget (see [`Spec::budget`]).
    pub budget: Option<u64>,
    /// A user's file to run on instead of generated input.
    pub input: Option<PathBuf>,
    /// How long to measure.
    pub stop: Stop,
    /// How often to publish a sample (`None`: only at the end, as `bench` wants).
    pub sample_every: Option<Duration>,
    /// Whether to capture allocation sites from the start ([`Live::want_sites`]); the parent
    /// can also switch them with `sites on` and `sites off`.
    #[serde(default)]
    pub sites: bool,
    /// With `sites`: 0 to capture every allocation, else one per about this many bytes
    /// ([`Live::sample_sites`]).
    #[serde(default)]
    pub sites_sample_every: u64,
    /// With `sites`, in a bounded run: replay this many of its operations, however long that
    /// takes, instead of at most [`crate::engine::measure::SITES_REPLAY_LIMIT`]
    /// ([`Live::replay_sites_ops`]).
    #[serde(default)]
    pub sites_ops: Option<u64>,
}

/// One line from a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// The worker has started and is about to set the experiment up.
    Ready,
    /// A periodic reading (tags empty: the parent fills them in).
    Sample(Sample),
    /// The experiment's own counters (pool hits, cache hit rate...), sent with a sample when
    /// it reports any.
    Counters(Vec<(String, f64)>),
    /// A captured window of allocation sites, its addresses relative to the executable (the
    /// parent, the same executable, symbolizes them: [`crate::engine::sites::symbolize`]).
    Sites(RawSites),
    /// The run ended: its measurement.
    Done(Measurement),
    /// The run failed: a panic (with where it happened) or a setup error.
    Failed(String),
}

/// How to start a worker: the program (normally the running one) and the arguments that go
/// before the subcommand (global options such as `--max-memory`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    /// The program to run.
    pub exe: PathBuf,
    /// Arguments before [`SUBCOMMAND`].
    pub args: Vec<OsString>,
    /// Environment variables to set for the worker (beyond what it inherits).
    pub env: Vec<(OsString, OsString)>,
}

impl Launcher {
    /// Workers of `exe`, with no arguments before the subcommand.
    #[must_use]
    pub fn new(exe: impl Into<PathBuf>) -> Self {
        Self {
            exe: exe.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Workers of the running program.
    pub fn current() -> io::Result<Self> {
        Ok(Self::new(std::env::current_exe()?))
    }

    /// The same launcher with `args` before the subcommand.
    #[must_use]
    pub fn with_args(mut self, args: Vec<OsString>) -> Self {
        self.args = args;
        self
    }

    /// The same launcher, setting `key` to `value` in the worker's environment.
    #[must_use]
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// A running worker, seen from the parent. Dropping it kills the worker.
#[derive(Debug)]
pub struct Process {
    child: Arc<Mutex<Child>>,
    stdin: Option<ChildStdin>,
    output: Option<Output>,
    spawned_at: Instant,
}

/// A worker's output: its messages, then how it ended. It can go to a thread of its own
/// ([`Process::take_output`]) while the [`Process`] stays with whoever steers the worker.
#[derive(Debug)]
pub struct Output {
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Option<ChildStderr>,
    child: Arc<Mutex<Child>>,
    last: Option<Message>,
}

/// How a worker ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Its last word: `Done` or `Failed`, if it said one.
    pub last: Option<Message>,
    /// Why it ended, if not by finishing its job or by being stopped: a failure's message,
    /// `crashed: SIGSEGV (...)`, or an unexpected exit status.
    pub error: Option<String>,
}

fn lock(child: &Mutex<Child>) -> std::sync::MutexGuard<'_, Child> {
    child.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Process {
    /// Starts a worker on `job`.
    pub fn spawn(launcher: &Launcher, job: &Job) -> io::Result<Self> {
        let job = serde_json::to_string(job).map_err(io::Error::other)?;
        let spawned_at = Instant::now();
        let mut command = Command::new(&launcher.exe);
        // A group of its own: Ctrl-C in a terminal (`--trace`) or a hangup goes to the parent,
        // which decides; the worker ends when the parent does (its stdin closes).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .args(&launcher.args)
            .arg(SUBCOMMAND)
            .arg(job)
            // A worker's own error reports are for us to pass on in a line, not a backtrace.
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .envs(launcher.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        let stderr = child.stderr.take();
        let child = Arc::new(Mutex::new(child));
        Ok(Self {
            output: Some(Output {
                stdout,
                stderr,
                child: Arc::clone(&child),
                last: None,
            }),
            child,
            stdin,
            spawned_at,
        })
    }

    /// When the process was started.
    #[must_use]
    pub fn spawned_at(&self) -> Instant {
        self.spawned_at
    }

    /// Sends a command line (`pause`, `resume`, `stop`); false if the worker is gone.
    pub fn send(&mut self, command: &str) -> bool {
        match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{command}")
                .and_then(|()| stdin.flush())
                .is_ok(),
            None => false,
        }
    }

    /// Kills the worker at once (its memory goes with it), and anything it started: its whole
    /// process group, so that no grandchild keeps its output open. Whoever holds its
    /// [`Output`] sees the output end.
    pub fn kill(&mut self) {
        self.stdin = None;
        let mut child = lock(&self.child);
        #[cfg(unix)]
        if matches!(child.try_wait(), Ok(None))
            && let Some(group) = rustix::process::Pid::from_raw(child.id() as i32)
        {
            // The worker leads a group of its own (see `spawn`); still unreaped, so the id
            // is still its own.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = child.kill();
    }

    /// The worker's output, to read on another thread (once; `None` after).
    pub fn take_output(&mut self) -> Option<Output> {
        self.output.take()
    }

    /// Reads messages until the worker's output ends, passing each to `on_message`, then waits
    /// for it and says how it ended.
    pub fn finish(mut self, mut on_message: impl FnMut(&Message)) -> Outcome {
        let Some(mut output) = self.output.take() else {
            return Outcome {
                last: None,
                error: Some("the worker's output was taken".into()),
            };
        };
        while let Some(message) = output.next_message() {
            on_message(&message);
        }
        // Its stdin stays open until here: a worker ends on a closed stdin.
        self.stdin = None;
        output.finish()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let mut child = lock(&self.child);
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
        }
    }
}

impl Output {
    /// The next message, blocking until one comes; `None` once the worker's output ends (it
    /// exited or died). A line that is not a message (a worker printing by mistake) is skipped.
    pub fn next_message(&mut self) -> Option<Message> {
        let stdout = self.stdout.as_mut()?;
        let mut line = String::new();
        loop {
            line.clear();
            match stdout.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    self.stdout = None;
                    return None;
                }
                Ok(_) => {
                    if let Ok(message) = serde_json::from_str::<Message>(&line) {
                        if matches!(message, Message::Done(_) | Message::Failed(_)) {
                            self.last = Some(message.clone());
                        }
                        return Some(message);
                    }
                }
            }
        }
    }

    /// After the output has ended: waits for the worker and says how it ended.
    #[must_use]
    pub fn finish(mut self) -> Outcome {
        while self.next_message().is_some() {}
        let mut stderr = String::new();
        if let Some(mut pipe) = self.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        let status = lock(&self.child).wait();
        let error = match (&self.last, status) {
            (Some(Message::Failed(message)), _) => Some(message.clone()),
            (_, Err(e)) => Some(format!("could not wait for the worker: {e}")),
            (_, Ok(status)) => exit_error(status, &stderr),
        };
        Outcome {
            last: self.last,
            error,
        }
    }
}

/// Why a worker's exit is an error, or `None` for a clean exit.
fn exit_error(status: ExitStatus, stderr: &str) -> Option<String> {
    if status.success() {
        return None;
    }
    // The worker's last words, if any: Rust's abort messages ("memory allocation of N bytes
    // failed", "thread ... has overflowed its stack") come just before the signal.
    let said = stderr
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .map(|line| format!(" ({line})"))
        .unwrap_or_default();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return Some(format!("crashed: {}{said}", signal_name(signal)));
        }
    }
    Some(match status.code() {
        Some(code) => format!("the worker exited with status {code}{said}"),
        None => format!("the worker ended: {status}{said}"),
    })
}

/// `SIGSEGV` for 11, and so on; `signal N` for the rest.
#[must_use]
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

/// The worker's side: runs `job` and writes its messages to standard output. Returns the
/// process's exit status: 0 when the job ran to its end (or over budget), 1 when it failed,
/// 2 when the job names no experiment `find` knows.
///
/// Call it from the program's `main` when it is started as `EXE ARGS worker JOB`, after the
/// panic filter ([`crate::engine::panic::install_worker_filter`]) is installed.
pub fn serve(job: &Job, find: impl Fn(&str) -> Option<&'static dyn Experiment>) -> u8 {
    let mut out = io::stdout().lock();
    let Some(experiment) = find(&job.experiment) else {
        let message = format!("no experiment `{}` in this program", job.experiment);
        say(&mut out, &Message::Failed(message));
        return 2;
    };
    say(&mut out, &Message::Ready);

    let live = Arc::new(Live::new());
    live.want_sites(job.sites);
    live.sample_sites(job.sites_sample_every);
    live.replay_sites_ops(job.sites_ops);
    listen_for_commands(Arc::clone(&live));
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let runner = {
        let live = Arc::clone(&live);
        let job = job.clone();
        thread::Builder::new()
            .name(format!("heaplab-worker-{}", job.experiment))
            .spawn(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let slot =
                        crate::engine::counting::register_worker().map_err(|e| e.to_string())?;
                    let spec = Spec {
                        experiment,
                        variant: &job.variant,
                        size: job.size,
                        budget: job.budget,
                        input: job.input.as_deref(),
                        stop: job.stop,
                    };
                    measure::run(&slot, &spec, &live).map_err(|e| e.to_string())
                }));
                let result = outcome.unwrap_or_else(|payload| Err(panicked(&*payload)));
                let _ = done_tx.send(result);
            })
    };
    if let Err(e) = runner {
        say(
            &mut out,
            &Message::Failed(format!("could not start a thread: {e}")),
        );
        return 1;
    }

    let mut rss = ProcessRss::new();
    let mut next_tick = Instant::now();
    let mut said = None;
    let result = loop {
        let wait = match job.sample_every {
            Some(every) => {
                // On the cadence, and at once when the phase changes or the first measured
                // operations are in: a new variant's first figures should not wait out a
                // whole interval.
                let latest = live.latest();
                let state = (latest.phase, latest.ops > 0);
                if Instant::now() >= next_tick || said != Some(state) {
                    let sample = with_process(latest, &mut rss);
                    say(&mut out, &Message::Sample(sample));
                    let counters = live.counters();
                    if !counters.is_empty() {
                        let named = counters.iter().map(|&(n, v)| (n.to_owned(), v)).collect();
                        say(&mut out, &Message::Counters(named));
                    }
                    send_sites(&mut out, &live);
                    said = Some(state);
                    if Instant::now() >= next_tick {
                        next_tick += every;
                    }
                }
                let until_tick = next_tick.saturating_duration_since(Instant::now());
                if state == (Phase::Running, true) {
                    until_tick
                } else {
                    until_tick.min(PHASE_POLL)
                }
            }
            None => Duration::from_secs(3600),
        };
        match done_rx.recv_timeout(wait) {
            Ok(result) => break result,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break Err("the worker thread vanished".into()),
        }
    };
    send_sites(&mut out, &live);
    match result {
        Ok(mut measurement) => {
            measurement.sample = with_process(measurement.sample, &mut rss);
            if job.sample_every.is_some() {
                say(&mut out, &Message::Sample(measurement.sample));
            }
            say(&mut out, &Message::Done(measurement));
            0
        }
        Err(message) => {
            let mut last = with_process(live.latest(), &mut rss);
            last.phase = Phase::Exited;
            if job.sample_every.is_some() {
                say(&mut out, &Message::Sample(last));
            }
            say(&mut out, &Message::Failed(message));
            1
        }
    }
}

/// Sends the latest window of sites, if there is a new one.
fn send_sites(out: &mut impl Write, live: &Live) {
    if let Some(mut sites) = live.take_sites() {
        sites.relocate();
        say(out, &Message::Sites(sites));
    }
}

/// The message of a caught panic, and where it happened.
fn panicked(payload: &(dyn Any + Send)) -> String {
    format!("panicked: {}", crate::engine::panic::describe(payload))
}

/// Adds the readings of this process to a sample of its run.
fn with_process(mut sample: Sample, rss: &mut ProcessRss) -> Sample {
    sample.process_heap_bytes = crate::engine::counting::process_live_bytes().max(0) as u64;
    sample.process_rss_bytes = rss.read();
    sample
}

/// Writes one message line; a parent that stopped reading ends the worker.
fn say(out: &mut impl Write, message: &Message) {
    let written = serde_json::to_writer(&mut *out, message)
        .map_err(io::Error::other)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if written.is_err() {
        std::process::exit(0);
    }
}

/// Reads `pause`, `resume`, `sites on`, `sites off` and `stop` from stdin on a thread of its own; `stop` or a closed
/// stdin (the parent is gone) ends the process at once: nothing of a worker needs saving.
fn listen_for_commands(live: Arc<Live>) {
    let spawned = thread::Builder::new()
        .name("heaplab-worker-commands".into())
        .spawn(move || {
            for line in io::stdin().lock().lines() {
                match line.as_deref().map(str::trim) {
                    Ok("pause") => live.set_paused(true),
                    Ok("resume") => live.set_paused(false),
                    Ok("sites on") => live.want_sites(true),
                    Ok("sites off") => live.want_sites(false),
                    Ok("stop") | Err(_) => std::process::exit(0),
                    Ok(_) => {}
                }
            }
            std::process::exit(0);
        });
    if spawned.is_err() {
        // Without it the worker could outlive its parent: refuse to run at all.
        std::process::exit(1);
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
