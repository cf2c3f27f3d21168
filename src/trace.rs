//! `heaplab run ID --trace`: no dashboard, one line per sample interval on standard output, in
//! the spirit of Go's `GODEBUG=gctrace=1`, for pipes, logs and scripts.
//!
//! A line is `key=value` pairs separated by spaces, always in the same order, every value a
//! plain number (or a variant name), so `awk`, `grep` and a spreadsheet can read it:
//!
//! ```text
//! t=2.000 variant=naive ops_per_sec=1398211 allocs_per_sec=1398211 alloc_bytes_per_sec=2863536128 allocs_per_op=1.00 live_heap_bytes=1024 peak_heap_bytes=3072 rss_bytes=13844480
//! ```
//!
//! Rates are over the interval that ends at `t` (the difference of two samples of the same
//! variant, so a line never mixes two variants). `allocs_per_op` is cumulative since the
//! variant's warm-up ended, like the dashboard's figure. Setup and warm-up print nothing: no
//! line is better than a made-up rate.
//!
//! The worker samples more often than a line goes out ([`cadence`]: every 0.1 s, as for the
//! dashboard), and [`Lines`] prints one line per interval, on the interval's grid. So when
//! `--duration` ends the trace between two lines, a last line covers the part of the interval
//! measured since the previous one, and a duration shorter than the interval still prints one.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr as _};

use heaplab_experiments::sites::Sites;

use crate::runner::{Command, Phase, RunConfig, Runner, RunnerEvent, Sample};

/// The field names of a trace line, in order: what docs/commands.md documents and tests parse.
pub const FIELDS: [&str; 9] = [
    "t",
    "variant",
    "ops_per_sec",
    "allocs_per_sec",
    "alloc_bytes_per_sec",
    "allocs_per_op",
    "live_heap_bytes",
    "peak_heap_bytes",
    "rss_bytes",
];

/// How a trace ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceEnd {
    /// `--duration` ran out.
    Duration,
    /// The reader closed the pipe (`heaplab run ID --trace | head`).
    ClosedPipe,
    /// SIGINT, SIGTERM or SIGHUP (its number).
    Signal(i32),
    /// The worker ended by itself (a panic, a crash or a failed setup: the message is on
    /// stderr).
    WorkerExited,
    /// The run passed its memory budget and was stopped (the message is on stderr).
    OverBudget,
}

/// The trace line for `sample`, given the previous sample of the same variant, or `None`
/// when there is no interval to report (first sample of a variant, setup, warm-up, pause).
#[must_use]
pub fn line(previous: &Sample, sample: &Sample) -> Option<String> {
    // Rates over measured time, not wall time: a pause or a slow sampler tick does not dilute
    // them.
    let rates = sample.rates_since(previous)?;
    Some(format!(
        "t={:.3} variant={} ops_per_sec={:.0} allocs_per_sec={:.0} alloc_bytes_per_sec={:.0} \
         allocs_per_op={:.2} live_heap_bytes={} peak_heap_bytes={} rss_bytes={}",
        sample.elapsed.as_secs_f64(),
        sample.variant,
        rates.ops_per_sec.round(),
        rates.allocs_per_sec.round(),
        rates.alloc_bytes_per_sec.round(),
        sample.allocs_per_op(),
        sample.live_heap_bytes.max(0),
        sample.peak_heap_bytes,
        sample.process_rss_bytes,
    ))
}

/// How often the worker samples when a line goes out every `interval`: as for the dashboard
/// ([`crate::runner::DEFAULT_SAMPLE_EVERY`]), or every interval if that is shorter, and always
/// a whole fraction of the interval, so that samples fall on the interval's grid.
#[must_use]
pub fn cadence(interval: Duration) -> Duration {
    let fine = crate::runner::DEFAULT_SAMPLE_EVERY;
    if interval <= fine {
        return interval;
    }
    let parts = interval.as_nanos().div_ceil(fine.as_nanos());
    interval / u32::try_from(parts).unwrap_or(u32::MAX)
}

/// Turns samples into trace lines: one per interval, when a sample reaches the next point of
/// the interval's grid (counted from the first sample, when the worker started), with the
/// rates since the previous line; and, when the trace ends, one for the interval so far.
#[derive(Debug)]
pub struct Lines {
    interval: Duration,
    /// How early a sample may arrive at a grid point and still count: half the cadence.
    slack: Duration,
    /// When the first sample came: where the grid starts.
    origin: Option<Duration>,
    /// The next grid point, counted from `origin`.
    due: Duration,
    /// Where the interval being summed up started: the previous line's sample, or the first
    /// sample of a running variant.
    start: Option<Sample>,
    /// The latest sample since `start` that no line covers yet.
    pending: Option<Sample>,
}

impl Lines {
    /// Lines every `interval`, from samples taken every `cadence`.
    #[must_use]
    pub fn new(interval: Duration, cadence: Duration) -> Self {
        Self {
            interval,
            slack: cadence / 2,
            origin: None,
            due: interval,
            start: None,
            pending: None,
        }
    }

    /// The line `sample` completes, if it ends an interval.
    pub fn push(&mut self, sample: &Sample) -> Option<String> {
        let origin = *self.origin.get_or_insert(sample.elapsed);
        let Some(text) = self.start.as_ref().and_then(|start| line(start, sample)) else {
            // Setup, warm-up, a new variant or nothing measured yet: the interval starts here.
            self.start = Some(*sample);
            self.pending = None;
            return None;
        };
        let reached = sample.elapsed.saturating_sub(origin) + self.slack;
        if reached < self.due {
            self.pending = Some(*sample);
            return None;
        }
        while self.due <= reached {
            self.due += self.interval;
        }
        self.start = Some(*sample);
        self.pending = None;
        Some(text)
    }

    /// The line for the part of an interval measured since the last line, if any.
    #[must_use]
    pub fn finish(&self) -> Option<String> {
        line(self.start.as_ref()?, self.pending.as_ref()?)
    }
}

/// A flag that SIGINT, SIGTERM and SIGHUP set to their number (0: none yet), for a loop that
/// checks it and ends cleanly, files written, instead of dying mid-line.
pub fn signal_flag() -> Result<Arc<AtomicUsize>> {
    let signalled = Arc::new(AtomicUsize::new(0));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register_usize(signal, Arc::clone(&signalled), signal as usize)
            .wrap_err("could not install signal handlers")?;
    }
    Ok(signalled)
}

/// Runs `config`, whose worker samples every `config.sample_every` (see [`cadence`]), and
/// writes a trace line to `out` per `interval` until `duration` (if any) passes, the reader
/// closes the pipe, a signal arrives or the worker ends. When `duration` ends it, a last line
/// covers the interval so far. `on_sample` sees every sample (what `--record` keeps).
pub fn run(
    config: RunConfig,
    interval: Duration,
    duration: Option<Duration>,
    sites: bool,
    out: &mut dyn Write,
    on_sample: &mut dyn FnMut(&Sample) -> Result<()>,
) -> Result<TraceEnd> {
    // The handler only stores the signal's number; the loop below notices it within 50 ms
    // and stops the runner, so a `--record` file is still written.
    let signalled = signal_flag()?;
    let mut lines = Lines::new(interval, config.sample_every);
    let (tx, rx) = mpsc::sync_channel::<RunnerEvent>(64);
    // Before the runner's clock starts: every sample that arrives before the deadline is then
    // dated (`t`) within `duration`.
    let started = Instant::now();
    let mut runner = Runner::start(config, tx).wrap_err("could not start the experiment")?;
    if sites {
        // The worker has just started: it takes the command before its first batch ends.
        let _ = runner.send(Command::Sites(true));
    }
    let mut latest_sites: Option<Arc<Sites>> = None;
    let mut advised = false;
    let end = loop {
        match signalled.load(Ordering::Relaxed) {
            0 => {}
            signal => break TraceEnd::Signal(signal as i32),
        }
        if duration.is_some_and(|d| started.elapsed() >= d) {
            break TraceEnd::Duration;
        }
        // Wake often enough to notice a signal or the end of `duration` promptly.
        let poll = Duration::from_millis(50);
        let wait = duration.map_or(poll, |d| d.saturating_sub(started.elapsed()).min(poll));
        match rx.recv_timeout(wait) {
            Ok(RunnerEvent::Sample(sample)) => {
                // Taken after the deadline (the wait above woke late): not this trace's.
                if duration.is_some_and(|d| sample.elapsed > d) {
                    break TraceEnd::Duration;
                }
                on_sample(&sample)?;
                if let Phase::OverBudget { live_bytes, after } = sample.phase {
                    eprintln!(
                        "{}: {} {} over budget at {} after {:.2} s: stopped, its memory returned",
                        crate::program::name(),
                        sample.experiment,
                        sample.variant,
                        crate::units::bytes(live_bytes),
                        after.as_secs_f64()
                    );
                    break TraceEnd::OverBudget;
                }
                if let Some(text) = lines.push(&sample) {
                    if let Some(end) = write_line(out, &text)? {
                        break end;
                    }
                    if let Some(sites) = latest_sites.take()
                        && let Some(end) = write_sites(out, &sample, &sites)?
                    {
                        break end;
                    }
                }
            }
            Ok(RunnerEvent::Sites { sites, .. }) => {
                // Once per trace: the site lines name functions, and this says why.
                if sites.missing_line_tables && !advised {
                    eprintln!(
                        "{}: {}",
                        crate::program::name(),
                        crate::sites::line_tables_advice()
                    );
                    advised = true;
                }
                latest_sites = Some(sites);
            }
            Ok(RunnerEvent::WorkerExited { experiment, error }) => {
                if let Some(error) = error {
                    eprintln!("{}: {experiment} stopped: {error}", crate::program::name());
                }
                break TraceEnd::WorkerExited;
            }
            Ok(RunnerEvent::WorkerReady { .. } | RunnerEvent::Counters { .. })
            | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break TraceEnd::WorkerExited,
        }
    };
    runner.stop();
    if end == TraceEnd::Duration
        && let Some(text) = lines.finish()
        && let Some(closed) = write_line(out, &text)?
    {
        return Ok(closed);
    }
    Ok(end)
}

/// Writes the top sites of the latest window, a `site` line each after the interval's line:
/// `site t=1.004 variant=naive allocs_per_op=1.00 reallocs_per_op=12.00 bytes_per_op=65536
/// share=0.52 at=chapter/in_place.rs:83 fn=clean_readings` (or one `site ... none ops=N`
/// line when it allocates nowhere), so that a reader of the trace lines can skip them by their
/// first word.
fn write_sites(out: &mut dyn Write, sample: &Sample, sites: &Sites) -> Result<Option<TraceEnd>> {
    let head = format!(
        "site t={:.3} variant={}",
        sample.elapsed.as_secs_f64(),
        sample.variant
    );
    if sites.sites.is_empty() {
        return write_line(out, &format!("{head} none ops={}", sites.ops));
    }
    for site in sites.sites.iter().take(crate::report::TOP_SITES) {
        let text = format!(
            "{head} allocs_per_op={:.2} reallocs_per_op={:.2} bytes_per_op={:.0} share={:.2} at={} fn={}",
            site.allocs_per_op,
            site.reallocs_per_op,
            site.bytes_per_op,
            site.share,
            site.location(),
            site.function
        );
        if let Some(end) = write_line(out, &text)? {
            return Ok(Some(end));
        }
    }
    Ok(None)
}

/// Writes one line; `Some(ClosedPipe)` when the reader has gone.
fn write_line(out: &mut dyn Write, text: &str) -> Result<Option<TraceEnd>> {
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Some(TraceEnd::ClosedPipe)),
        Err(e) => Err(e).wrap_err("could not write the trace to standard output"),
    }
}

/// `heaplab run`'s options for running without the dashboard.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TraceArgs {
    /// No dashboard: print one line per sample interval to standard output (time, variant,
    /// ops/s, allocs/s, bytes/s, allocs/op, live and peak heap, RSS), like Go's gctrace.
    #[arg(long)]
    pub trace: bool,
    /// With --trace: seconds between lines [default: 1].
    #[arg(long, value_name = "SECS", requires = "trace",
          value_parser = crate::live::parse_seconds)]
    pub interval: Option<Duration>,
    /// With --trace: stop after this many seconds, with a last line for the interval so far
    /// [default: at Ctrl-C or a closed pipe].
    #[arg(long, value_name = "SECS", requires = "trace",
          value_parser = crate::live::parse_seconds)]
    pub duration: Option<Duration>,
    /// With --trace: also capture where the variant allocates, a window of whole operations
    /// every second (in no figure), and print its top sites after the interval's line, a
    /// line each starting with `site`.
    #[arg(long, requires = "trace")]
    pub sites: bool,
    /// Record every sample of the session (cumulative counters, as sampled) to FILE: CSV or
    /// JSON by its extension, written when the session ends.
    #[arg(long, value_name = "FILE.csv|FILE.json")]
    pub record: Option<PathBuf>,
}

/// `heaplab run ID --trace`: the experiment `start` (catalog index, variant, size) traced to
/// standard output, every sample kept by `recorder` (`--record`, claimed before the run).
pub fn main(
    start: (usize, usize, Option<usize>),
    args: &TraceArgs,
    live: &crate::live::LiveOptions,
    mut recorder: Option<crate::record::Recorder>,
) -> Result<ExitCode> {
    let (index, variant, size) = start;
    let experiment = crate::catalog::catalog()[index];
    let info = experiment.info();
    let interval = args.interval.unwrap_or(Duration::from_secs(1));
    let config = RunConfig {
        experiment,
        variant,
        size: size.unwrap_or(info.default_size),
        sample_every: cadence(interval),
        budget: live.budget,
        input: live.input,
        launcher: std::sync::Arc::new(crate::live::launcher(live.max_memory)?),
    };
    // The header goes to stderr, so standard output is nothing but trace lines.
    eprintln!(
        "heaplab trace: {} {}, size {} {}, a line every {:.1} s; Ctrl-C stops",
        info.id,
        info.variants[variant].name,
        config.size,
        info.size_unit,
        interval.as_secs_f64()
    );
    let mut stdout = io::stdout().lock();
    let end = run(
        config,
        interval,
        args.duration,
        args.sites,
        &mut stdout,
        &mut |sample| {
            if let Some(recorder) = recorder.as_mut() {
                recorder.record(sample);
            }
            Ok(())
        },
    )?;
    if let Some(recorder) = recorder {
        recorder.finish()?;
    }
    match end {
        TraceEnd::WorkerExited => Ok(ExitCode::FAILURE),
        // As bench: over budget is status 3.
        TraceEnd::OverBudget => Ok(ExitCode::from(3)),
        TraceEnd::Duration | TraceEnd::ClosedPipe => Ok(ExitCode::SUCCESS),
        // The shell's convention, as the dashboard does.
        TraceEnd::Signal(signal) => Ok(ExitCode::from(128 + signal as u8)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(epoch: u64, secs: f64, ops: u64, allocs: u64) -> Sample {
        Sample {
            elapsed: Duration::from_secs_f64(secs + 0.5),
            experiment: "buffer-reuse",
            variant: "naive",
            variant_index: 0,
            epoch,
            size: 1024,
            phase: Phase::Running,
            measured_for: Duration::from_secs_f64(secs),
            ops,
            allocs,
            deallocs: allocs,
            bytes_allocated: allocs * 2048,
            live_heap_bytes: 1024,
            peak_heap_bytes: 3072,
            process_heap_bytes: 1 << 20,
            process_rss_bytes: 8 << 20,
            ..Sample::default()
        }
    }

    #[test]
    fn a_line_reports_the_interval_between_two_samples() {
        let text = line(&sample(1, 1.0, 1000, 1000), &sample(1, 2.0, 3000, 3000)).expect("line");
        assert_eq!(
            text,
            "t=2.500 variant=naive ops_per_sec=2000 allocs_per_sec=2000 \
             alloc_bytes_per_sec=4096000 allocs_per_op=1.00 live_heap_bytes=1024 \
             peak_heap_bytes=3072 rss_bytes=8388608"
        );
        let keys: Vec<&str> = text
            .split(' ')
            .map(|kv| kv.split_once('=').expect("key=value").0)
            .collect();
        assert_eq!(keys, FIELDS);
    }

    #[test]
    fn no_line_across_variants_or_outside_running() {
        assert_eq!(line(&sample(1, 1.0, 10, 0), &sample(2, 2.0, 20, 0)), None);
        let mut warming = sample(1, 2.0, 20, 0);
        warming.phase = Phase::WarmingUp;
        assert_eq!(line(&sample(1, 1.0, 10, 0), &warming), None);
        assert_eq!(line(&sample(1, 1.0, 10, 0), &sample(1, 1.0, 10, 0)), None);
    }

    #[test]
    fn the_worker_samples_a_whole_fraction_of_the_interval() {
        let ms = Duration::from_millis;
        assert_eq!(cadence(ms(1000)), ms(100));
        assert_eq!(cadence(ms(50)), ms(50));
        assert_eq!(cadence(ms(100)), ms(100));
        assert_eq!(cadence(ms(250)), Duration::from_nanos(83_333_333)); // 3 a quarter second
        assert_eq!(cadence(Duration::from_secs(3600)), ms(100));
    }

    /// A running sample `secs` after the runner started, measured since `from`, at 1000 ops/s.
    fn at(secs: f64, from: f64) -> Sample {
        let measured = (secs - from).max(0.0);
        Sample {
            elapsed: Duration::from_secs_f64(secs),
            ..sample(1, measured, (measured * 1000.0) as u64, 0)
        }
    }

    /// Samples as the worker sends them: at setup, when the warm-up is over, then every 0.1 s
    /// from its start (0.004) until `until`.
    fn session(until: f64) -> Vec<Sample> {
        let mut setup = at(0.004, 0.004);
        setup.phase = Phase::SettingUp;
        let mut samples = vec![setup, at(0.006, 0.006)];
        let mut tick = 1;
        while 0.004 + f64::from(tick) * 0.1 <= until {
            samples.push(at(0.004 + f64::from(tick) * 0.1, 0.006));
            tick += 1;
        }
        samples
    }

    fn times(lines: &[String]) -> Vec<&str> {
        lines
            .iter()
            .map(|l| l.split(' ').next().expect("t=").trim_start_matches("t="))
            .collect()
    }

    #[test]
    fn a_line_per_interval_on_its_grid_and_a_last_one_for_the_rest() {
        let mut lines = Lines::new(Duration::from_secs(1), Duration::from_millis(100));
        let mut printed: Vec<String> = session(2.45).iter().filter_map(|s| lines.push(s)).collect();
        assert_eq!(times(&printed), ["1.004", "2.004"]);
        printed.extend(lines.finish());
        assert_eq!(times(&printed), ["1.004", "2.004", "2.404"]);
        assert!(printed[2].contains(" ops_per_sec=1000 "), "{}", printed[2]);
        // Ended right after a line: nothing left to cover.
        let mut lines = Lines::new(Duration::from_secs(1), Duration::from_millis(100));
        let printed: Vec<String> = session(2.01).iter().filter_map(|s| lines.push(s)).collect();
        assert_eq!(times(&printed), ["1.004", "2.004"]);
        assert_eq!(lines.finish(), None);
    }

    #[test]
    fn a_duration_shorter_than_the_interval_still_gets_a_line() {
        let mut lines = Lines::new(Duration::from_secs(1), Duration::from_millis(100));
        for sample in session(0.95) {
            assert_eq!(lines.push(&sample), None);
        }
        let last = lines.finish().expect("a last line");
        assert!(last.starts_with("t=0.904 variant=naive "), "{last}");
        // Still warming up when it ended: no line, rather than a made-up one.
        let mut lines = Lines::new(Duration::from_secs(1), Duration::from_millis(100));
        let mut warming = at(0.5, 0.5);
        warming.phase = Phase::WarmingUp;
        assert_eq!(lines.push(&warming), None);
        assert_eq!(lines.finish(), None);
    }
}
