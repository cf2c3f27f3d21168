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
//! Rates are over the interval that ends at `t` (the difference of two consecutive samples of
//! the same variant, so a line never mixes two variants). `allocs_per_op` is cumulative since
//! the variant's warm-up ended, like the dashboard's figure. The first interval of a variant,
//! and setup and warm-up, print nothing: no line is better than a made-up rate.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr as _};

use crate::runner::{Phase, RunConfig, Runner, RunnerEvent, Sample};

/// The field names of a trace line, in order: what the README documents and tests parse.
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

/// Runs `config` and writes a trace line to `out` per sample interval until `duration` (if
/// any) passes, the reader closes the pipe, a signal arrives or the worker ends. `on_sample`
/// sees every sample (what `--record` keeps).
pub fn run(
    config: RunConfig,
    duration: Option<Duration>,
    out: &mut dyn Write,
    on_sample: &mut dyn FnMut(&Sample) -> Result<()>,
) -> Result<TraceEnd> {
    // The handler only stores the signal's number; the loop below notices it within 50 ms
    // and stops the runner, so a `--record` file is still written.
    let signalled = Arc::new(AtomicUsize::new(0));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register_usize(signal, Arc::clone(&signalled), signal as usize)
            .wrap_err("could not install signal handlers")?;
    }
    let (tx, rx) = mpsc::sync_channel::<RunnerEvent>(64);
    let runner = Runner::start(config, tx).wrap_err("could not start the experiment")?;
    let started = Instant::now();
    let mut previous: Option<Sample> = None;
    let end = loop {
        match signalled.load(Ordering::Relaxed) {
            0 => {}
            signal => break TraceEnd::Signal(signal as i32),
        }
        if duration.is_some_and(|d| started.elapsed() >= d) {
            break TraceEnd::Duration;
        }
        // Wake often enough to notice a signal or the end of `duration` promptly.
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(RunnerEvent::Sample(sample)) => {
                on_sample(&sample)?;
                if let Phase::OverBudget { live_bytes, after } = sample.phase {
                    eprintln!(
                        "heaplab: {} {} over budget at {} after {:.2} s: stopped, its memory returned",
                        sample.experiment,
                        sample.variant,
                        crate::units::bytes(live_bytes),
                        after.as_secs_f64()
                    );
                    break TraceEnd::OverBudget;
                }
                let text = previous.as_ref().and_then(|p| line(p, &sample));
                previous = Some(sample);
                if let Some(text) = text
                    && let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush())
                {
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        break TraceEnd::ClosedPipe;
                    }
                    return Err(e).wrap_err("could not write the trace to standard output");
                }
            }
            Ok(RunnerEvent::WorkerExited { experiment, error }) => {
                if let Some(error) = error {
                    eprintln!("heaplab: {experiment} stopped: {error}");
                }
                break TraceEnd::WorkerExited;
            }
            Ok(RunnerEvent::WorkerReady { .. }) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break TraceEnd::WorkerExited,
        }
    };
    runner.stop();
    Ok(end)
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
          value_parser = crate::cli::parse_seconds)]
    pub interval: Option<Duration>,
    /// With --trace: stop after this many seconds [default: at Ctrl-C or a closed pipe].
    #[arg(long, value_name = "SECS", requires = "trace",
          value_parser = crate::cli::parse_seconds)]
    pub duration: Option<Duration>,
    /// Record every sample of the session (cumulative counters, as sampled) to FILE: CSV or
    /// JSON by its extension, written when the session ends.
    #[arg(long, value_name = "FILE.csv|FILE.json")]
    pub record: Option<PathBuf>,
}

/// `heaplab run ID --trace`: the experiment `start` (catalog index, variant, size) traced to
/// standard output.
pub fn main(
    start: (usize, usize, Option<usize>),
    args: &TraceArgs,
    live: &crate::cli::Live,
) -> Result<ExitCode> {
    let (index, variant, size) = start;
    let experiment = heaplab_experiments::catalog()[index];
    let info = experiment.info();
    let config = RunConfig {
        experiment,
        variant,
        size: size.unwrap_or(info.default_size),
        sample_every: args.interval.unwrap_or(Duration::from_secs(1)),
        budget: live.budget,
        input: live.input,
        launcher: std::sync::Arc::new(crate::cli::launcher(live.max_memory)?),
    };
    // The header goes to stderr, so standard output is nothing but trace lines.
    eprintln!(
        "heaplab trace: {} {}, size {} {}, a line every {:.1} s; Ctrl-C stops",
        info.id,
        info.variants[variant].name,
        config.size,
        info.size_unit,
        config.sample_every.as_secs_f64()
    );
    let mut recorder = args
        .record
        .as_deref()
        .map(crate::export::Recorder::create)
        .transpose()?;
    let mut stdout = io::stdout().lock();
    let end = run(config, args.duration, &mut stdout, &mut |sample| {
        if let Some(recorder) = recorder.as_mut() {
            recorder.record(sample);
        }
        Ok(())
    })?;
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
            bytes_processed: ops * 1024,
            allocs,
            deallocs: allocs,
            reallocs: 0,
            bytes_allocated: allocs * 2048,
            live_heap_bytes: 1024,
            peak_heap_bytes: 3072,
            process_heap_bytes: 1 << 20,
            process_rss_bytes: 8 << 20,
            budget_bytes: None,
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
}
