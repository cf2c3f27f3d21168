//! `heaplab attach --trace`: a line per frame of the watched program on standard output, as
//! `run --trace` prints (`key=value` pairs, always in the same order), an `alert` line and
//! exit status [`ALERT_STATUS`] when an `--alert` is crossed, and a line on stderr when the
//! program exits (status 0). Needs no dashboard.
//!
//! ```text
//! t=1.000 allocs_per_sec=120000 live_heap_bytes=5242880 peak_heap_bytes=6291456 rss_bytes=13844480 busiest_thread=parser-1 busiest_allocs_per_sec=80000
//! ```

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr as _};

use super::alerts::Alert;
use super::client::{Connection, Read};
use super::figures::{Point, Watch};
use super::record::FrameRecorder;

/// The exit status of a trace that an `--alert` ended (1 is an error, 2 a refused command,
/// 3 a run over its budget).
pub const ALERT_STATUS: u8 = 4;

/// The field names of a trace line, in order.
pub const FIELDS: [&str; 7] = [
    "t",
    "allocs_per_sec",
    "live_heap_bytes",
    "peak_heap_bytes",
    "rss_bytes",
    "busiest_thread",
    "busiest_allocs_per_sec",
];

/// How a trace ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEnd {
    /// The program closed the connection (it exited).
    ProgramExited,
    /// An alert was crossed (its words).
    Alert(String),
    /// The reader closed the pipe.
    ClosedPipe,
    /// SIGINT, SIGTERM or SIGHUP.
    Signal(i32),
}

/// The trace line for `point`, with the busiest thread of `watch` (`-` and 0 when none
/// allocates).
#[must_use]
pub fn line(point: &Point, watch: &Watch) -> String {
    let (name, rate) = watch.busiest().map_or(("-".to_owned(), 0.0), |row| {
        // A name is one field: spaces would split it.
        (
            row.name.replace(char::is_whitespace, "_"),
            row.allocs_per_sec,
        )
    });
    format!(
        "t={:.3} allocs_per_sec={:.0} live_heap_bytes={} peak_heap_bytes={} rss_bytes={} \
         busiest_thread={name} busiest_allocs_per_sec={:.0}",
        point.t_secs,
        point.allocs_per_sec.round(),
        point.live_bytes,
        point.peak_bytes,
        point.rss_bytes,
        rate.round(),
    )
}

/// Reads frames from `connection` and writes a line each to `out` until the program exits,
/// an alert is crossed, the reader goes or `signalled` holds a signal's number.
pub fn run(
    connection: &mut Connection,
    alerts: &[Alert],
    out: &mut dyn Write,
    recorder: Option<&mut FrameRecorder>,
    signalled: &AtomicUsize,
) -> Result<TraceEnd> {
    let mut recorder = recorder;
    let mut watch = Watch::default();
    // Wake often enough to notice a signal promptly.
    connection
        .set_timeout(Duration::from_millis(100))
        .wrap_err("could not set the socket's timeout")?;
    loop {
        match signalled.load(Ordering::Relaxed) {
            0 => {}
            signal => return Ok(TraceEnd::Signal(signal as i32)),
        }
        let frame = match connection
            .read()
            .wrap_err("could not read the program's monitor")?
        {
            Read::Frame(frame) => frame,
            Read::Nothing | Read::Sites(_) => continue,
            Read::Ended => return Ok(TraceEnd::ProgramExited),
        };
        let rss = connection.rss_bytes();
        if let Some(recorder) = recorder.as_deref_mut() {
            recorder.record(&frame, rss);
        }
        let Some(point) = watch.push(&frame, rss) else {
            continue;
        };
        if write_line(out, &line(&point, &watch))? {
            return Ok(TraceEnd::ClosedPipe);
        }
        let reading = watch.reading().unwrap_or_default();
        if let Some(crossed) = alerts.iter().find_map(|alert| alert.crossed(&reading)) {
            let text = format!("alert t={:.3} {crossed}", point.t_secs);
            if write_line(out, &text)? {
                return Ok(TraceEnd::ClosedPipe);
            }
            return Ok(TraceEnd::Alert(crossed));
        }
    }
}

/// Writes one line; `true` when the reader has gone.
fn write_line(out: &mut dyn Write, text: &str) -> Result<bool> {
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(true),
        Err(e) => Err(e).wrap_err("could not write the trace to standard output"),
    }
}

/// `heaplab attach --trace`: the whole command, once the connection is open.
pub fn main(
    mut connection: Connection,
    alerts: &[Alert],
    recorder: Option<FrameRecorder>,
) -> Result<ExitCode> {
    let signalled = crate::trace::signal_flag()?;
    let hello = connection.hello.clone();
    // The header goes to stderr, so standard output is nothing but trace lines.
    let _ = writeln!(
        io::stderr(),
        "heaplab attach: {} (process {}), a line every {:.1} s; Ctrl-C detaches{}",
        hello.program,
        hello.pid,
        hello.interval_ms as f64 / 1000.0,
        if hello.counting {
            ""
        } else {
            " (its allocator is not heaplab's: every figure stays 0)"
        }
    );
    let mut recorder = recorder;
    let end = run(
        &mut connection,
        alerts,
        &mut io::stdout().lock(),
        recorder.as_mut(),
        &signalled,
    )?;
    drop(connection);
    if let Some(recorder) = recorder {
        recorder.finish()?;
    }
    Ok(match end {
        TraceEnd::ProgramExited => {
            let _ = writeln!(
                io::stderr(),
                "heaplab attach: {} (process {}) exited; the trace ends",
                hello.program,
                hello.pid
            );
            ExitCode::SUCCESS
        }
        TraceEnd::Alert(crossed) => {
            let _ = writeln!(
                io::stderr(),
                "heaplab attach: alert {crossed}; detached (exit status {ALERT_STATUS})"
            );
            ExitCode::from(ALERT_STATUS)
        }
        TraceEnd::ClosedPipe => ExitCode::SUCCESS,
        TraceEnd::Signal(signal) => ExitCode::from(128 + signal as u8),
    })
}
