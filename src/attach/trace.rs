//! `heaplab attach --trace`: a line per frame of the watched program on standard output, as
//! `run --trace` prints (`key=value` pairs, always in the same order), an `alert` line and
//! exit status [`ALERT_STATUS`] when an `--alert` is crossed, and a line on stderr when the
//! program exits (status 0). Needs no dashboard. With `--sites`, after each of the program's
//! sites frames, its top lines by growth of what they hold ([`site_lines`]), each a `site` line.
//!
//! ```text
//! t=1.000 allocs_per_sec=120000 live_heap_bytes=5242880 peak_heap_bytes=6291456 rss_bytes=13844480 busiest_thread=parser-1 busiest_allocs_per_sec=80000
//! site t=1.000 rank=1 growth=+1.2MiB/min live=3.4MiB allocs_per_sec=1200 temporary=35% at=src/ingest.rs:42 function=ingest::parse thread=parser-1 growing=yes
//! ```

use std::collections::HashMap;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr as _};

use super::alerts::Alert;
use super::client::{Connection, Read};
use super::figures::{Point, Watch};
use super::record::FrameRecorder;
use super::sites::{GrowingSite, PlaceStack, SiteBook};
use super::symbols::Symbols;
use crate::monitor::protocol::{Frame, Hello, SitesFrame};

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

/// The field names of a `site` line, in order, after the word `site`.
pub const SITE_FIELDS: [&str; 10] = [
    "t",
    "rank",
    "growth",
    "live",
    "allocs_per_sec",
    "temporary",
    "at",
    "function",
    "thread",
    "growing",
];

/// The lines `--sites` prints after each sites frame when no `--top` says otherwise.
pub const DEFAULT_TOP: usize = 5;

/// The window `--sites` judges growth over.
pub const SITES_WINDOW: Duration = Duration::from_secs(60);

/// What `--sites` needs: what places the program's stacks, and how many lines to print.
pub struct SitesTrace<'a> {
    /// The program's symbols (`attach::symbols::Symbols`), or a fake in tests.
    pub place: &'a mut dyn PlaceStack,
    /// The lines printed after each sites frame.
    pub top: usize,
}

impl std::fmt::Debug for SitesTrace<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SitesTrace")
            .field("top", &self.top)
            .finish_non_exhaustive()
    }
}

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

/// The `site` lines for the top `top` lines of `book`, `t_secs` after attach: growth over
/// the window per minute (`-` before the window spans any time), estimated live bytes,
/// allocations per second, the share of allocations that were temporaries, the line, its
/// function, the thread of its latest sample, and whether the growth is beyond sampling
/// noise.
#[must_use]
pub fn site_lines(book: &SiteBook, t_secs: f64, top: usize) -> Vec<String> {
    let span_secs = book.span().as_secs_f64();
    book.growing()
        .iter()
        .take(top)
        .enumerate()
        .map(|(index, site)| site_line(site, index + 1, t_secs, span_secs))
        .collect()
}

fn site_line(site: &GrowingSite, rank: usize, t_secs: f64, span_secs: f64) -> String {
    let growth = if span_secs > 0.0 {
        let per_min = site.growth / span_secs * 60.0;
        let sign = if per_min < 0.0 { '-' } else { '+' };
        format!("{sign}{}/min", compact_bytes(per_min.abs()))
    } else {
        "-".to_owned()
    };
    let temporary = if site.allocs > 0.0 {
        format!("{:.0}%", 100.0 * site.temporary / site.allocs)
    } else {
        "-".to_owned()
    };
    format!(
        "site t={t_secs:.3} rank={rank} growth={growth} live={} allocs_per_sec={:.0} \
         temporary={temporary} at={} function={} thread={} growing={}",
        compact_bytes(site.live_bytes),
        site.allocs_per_sec.max(0.0).round(),
        one_field(&site.location),
        one_field(&site.function),
        one_field(&site.thread),
        if site.growing { "yes" } else { "no" },
    )
}

/// `1.2MiB`: bytes as a field (no space inside).
fn compact_bytes(bytes: f64) -> String {
    crate::units::bytes_short(bytes).replace(' ', "")
}

/// `text` as one field: spaces would split it, and an empty one would read as missing.
fn one_field(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.replace(char::is_whitespace, "_")
    }
}

/// What `--sites` says of a program that samples no sites.
#[must_use]
pub fn no_sites_note(hello: &Hello) -> String {
    let who = format!("{} (process {})", hello.program, hello.pid);
    if !hello.counting {
        return format!(
            "{who} samples no sites: its global allocator is not heaplab's (heaplab::Counting)"
        );
    }
    format!(
        "{who} samples no sites: it runs with {}=0 or Options::sample_every(0); start it without either to sample one allocation per {} a thread allocates",
        crate::monitor::SAMPLE_EVERY_ENV,
        crate::units::bytes(heaplab_experiments::sites::DEFAULT_LIVE_SAMPLE_EVERY)
    )
}

/// The thread names of the latest frame, by kernel id, for the sites' lines.
#[derive(Debug, Default)]
struct ThreadNames(HashMap<u32, String>);

impl ThreadNames {
    /// The latest frame's threads only: a program that starts and ends threads all day must
    /// not grow the viewer's memory.
    fn update(&mut self, frame: &Frame) {
        self.0.clear();
        self.0.extend(
            frame
                .threads
                .iter()
                .filter(|thread| thread.tid != 0)
                .map(|thread| (thread.tid, thread.name.clone())),
        );
    }

    /// A thread's name, or its id once it ended before a frame named it.
    fn name(&self, tid: u32) -> String {
        self.0.get(&tid).cloned().unwrap_or_else(|| tid.to_string())
    }
}

/// `--sites`' state during a trace.
struct SitesState<'a> {
    trace: SitesTrace<'a>,
    book: SiteBook,
    threads: ThreadNames,
}

impl SitesState<'_> {
    /// Folds in a sites frame; its lines, `t` seconds after `origin_ms` (attach).
    fn lines(&mut self, sites: &SitesFrame, origin_ms: Option<u64>) -> Vec<String> {
        let threads = &self.threads;
        self.book
            .update(sites, self.trace.place, &|tid| threads.name(tid));
        let origin_ms = origin_ms.unwrap_or(sites.at_ms);
        let t_secs = sites.at_ms.saturating_sub(origin_ms) as f64 / 1000.0;
        site_lines(&self.book, t_secs, self.trace.top)
    }
}

/// Reads frames from `connection` and writes a line each to `out` until the program exits,
/// an alert is crossed, the reader goes or `signalled` holds a signal's number; with
/// `sites`, the top sites' lines after each sites frame.
pub fn run(
    connection: &mut Connection,
    alerts: &[Alert],
    out: &mut dyn Write,
    recorder: Option<&mut FrameRecorder>,
    signalled: &AtomicUsize,
    sites: Option<SitesTrace<'_>>,
) -> Result<TraceEnd> {
    let mut recorder = recorder;
    let mut watch = Watch::default();
    let mut sites = sites.map(|trace| SitesState {
        trace,
        book: SiteBook::new(SITES_WINDOW),
        threads: ThreadNames::default(),
    });
    // When the first frame came (attach), on the program's clock.
    let mut origin_ms = None;
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
            Read::Sites(frame) => {
                if let Some(sites) = sites.as_mut() {
                    for text in sites.lines(&frame, origin_ms) {
                        if write_line(out, &text)? {
                            return Ok(TraceEnd::ClosedPipe);
                        }
                    }
                }
                continue;
            }
            Read::Nothing => continue,
            Read::Ended => return Ok(TraceEnd::ProgramExited),
        };
        origin_ms.get_or_insert(frame.at_ms);
        if let Some(sites) = sites.as_mut() {
            sites.threads.update(&frame);
        }
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

/// `heaplab attach --trace`: the whole command, once the connection is open; `sites_top`:
/// `--sites` with its `--top`.
pub fn main(
    mut connection: Connection,
    alerts: &[Alert],
    recorder: Option<FrameRecorder>,
    sites_top: Option<usize>,
) -> Result<ExitCode> {
    let signalled = crate::trace::signal_flag()?;
    let hello = connection.hello.clone();
    let mut symbols = match sites_top {
        Some(_) if hello.sample_every == 0 => {
            let _ = writeln!(io::stderr(), "heaplab attach: {}", no_sites_note(&hello));
            None
        }
        Some(top) => {
            let symbols = Symbols::open(hello.pid).wrap_err_with(|| {
                format!(
                    "--sites: could not read the symbols of {} (process {}); attach without --sites, or as a user who may read /proc/{}/exe",
                    hello.program, hello.pid, hello.pid
                )
            })?;
            let _ = writeln!(
                io::stderr(),
                "heaplab attach: sites sampled every {} a thread allocates; after each sites frame, the top {top} lines by growth of what they hold over {} s (estimates)",
                crate::units::bytes(hello.sample_every),
                SITES_WINDOW.as_secs()
            );
            Some((symbols, top))
        }
        None => None,
    };
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
        symbols.as_mut().map(|(symbols, top)| SitesTrace {
            place: symbols,
            top: *top,
        }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::protocol::{ThreadFrame, ThreadRole, Totals};

    fn site() -> GrowingSite {
        GrowingSite {
            location: "src/my file.rs:7".into(),
            function: String::new(),
            thread: "pool worker".into(),
            live_bytes: 3.0 * 1024.0 * 1024.0,
            growth: -30.0 * 1024.0,
            allocs: 200.0,
            allocs_per_sec: 12.4,
            temporary: 50.0,
            ..GrowingSite::default()
        }
    }

    #[test]
    fn a_site_line_keeps_one_field_per_key_and_signs_its_growth() {
        let line = site_line(&site(), 3, 2.5, 30.0);
        assert_eq!(
            line,
            "site t=2.500 rank=3 growth=-60KiB/min live=3.0MiB allocs_per_sec=12 \
             temporary=25% at=src/my_file.rs:7 function=- thread=pool_worker growing=no"
        );
        // Before the window spans any time, and with nothing allocated yet.
        let quiet = GrowingSite {
            allocs: 0.0,
            growing: true,
            ..site()
        };
        let line = site_line(&quiet, 1, 0.0, 0.0);
        assert!(line.contains(" growth=- "), "{line}");
        assert!(line.contains(" temporary=- "), "{line}");
        assert!(line.ends_with(" growing=yes"), "{line}");
    }

    fn frame(tids: &[u32]) -> Frame {
        Frame {
            threads: tids
                .iter()
                .map(|&tid| ThreadFrame {
                    tid,
                    name: format!("t{tid}"),
                    slot: 1,
                    generation: 0,
                    role: ThreadRole::Program,
                    totals: Totals::default(),
                })
                .collect(),
            ..Frame::default()
        }
    }

    #[test]
    fn thread_names_are_the_latest_frames_only() {
        let mut names = ThreadNames::default();
        for first in 0..1000 {
            names.update(&frame(&[0, first, first + 1]));
        }
        assert_eq!(names.0.len(), 2, "threads that ended are forgotten");
        assert_eq!(names.name(999), "t999");
        assert_eq!(names.name(5), "5", "an ended thread goes by its id");
    }

    #[test]
    fn the_no_sites_note_says_why() {
        let mut hello = Hello {
            protocol: 2,
            heaplab: "0.1.0".into(),
            pid: 42,
            program: "ingest".into(),
            interval_ms: 100,
            counting: true,
            sample_every: 0,
        };
        assert!(
            no_sites_note(&hello).contains("HEAPLAB_SAMPLE_EVERY=0 or Options::sample_every(0)")
        );
        hello.counting = false;
        assert!(no_sites_note(&hello).contains("not heaplab's"));
    }
}
