//! Watching a running program: the program's side (`monitor::start()`: a background thread
//! and a Unix socket in a private directory, through which a viewer reads every thread's
//! counters) and what both sides share: the socket's place ([`paths`]) and the lines sent on
//! it ([`protocol`]). The viewer is `heaplab attach`.
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOC: heaplab::Counting = heaplab::Counting::system();
//!
//! fn main() -> Result<(), heaplab::monitor::MonitorError> {
//!     heaplab::monitor::start()?;
//!     // ... the program, unchanged ...
//!     Ok(())
//! }
//! ```
//!
//! The same figures are the program's own: [`snapshot`] (a [`Frame`]) and [`prometheus`] (the
//! Prometheus text exposition, for the endpoint the program already serves).
//!
//! # Files
//! - `server.rs`: the listener thread (`heaplab-monitor`), one thread per viewer
//!   (`heaplab-viewer`), the peer check.
//! - `figures.rs`: a [`Frame`] from the engine's counters, thread names, the sampled peak.
//! - `sites.rs`: a viewer's [`protocol::SitesFrame`] from the engine's live sampled sites.
//! - `prometheus.rs`: a [`Frame`] as Prometheus text.

mod figures;
pub mod paths;
mod prometheus;
pub mod protocol;
mod server;
mod sites;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub use figures::snapshot;
pub use prometheus::{
    CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE, prometheus, render as render_prometheus,
};
pub use protocol::Frame;

/// The environment variable that sets the mean gap between two sampled allocations, in bytes
/// (`65536`, `64KiB`; `0`: no sites), when the program leaves [`Options::sample_every`] unset.
pub const SAMPLE_EVERY_ENV: &str = "HEAPLAB_SAMPLE_EVERY";

/// The shortest interval between two frames [`start_with`] accepts: a viewer at 15 frames per
/// second needs no more, and a shorter one would make watching cost the program.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// How the monitor runs: [`Options::default`] is what [`start`] uses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Time between two frames sent to a viewer, and between two samples of the peak
    /// (default 100 ms; at least [`MIN_INTERVAL`]).
    pub interval: Duration,
    /// Where the socket goes (default [`paths::own_dir`]: `$HEAPLAB_MONITOR_DIR`, else
    /// `/tmp/heaplab-UID`). A viewer looks there only if `$HEAPLAB_MONITOR_DIR` says so too.
    pub dir: Option<PathBuf>,
    /// The mean gap, in bytes a thread allocates, between two sampled allocations whose sites
    /// a viewer is sent (0: none). `None`: `$HEAPLAB_SAMPLE_EVERY` if set, else
    /// [`DEFAULT_LIVE_SAMPLE_EVERY`](heaplab_experiments::sites::DEFAULT_LIVE_SAMPLE_EVERY)
    /// (64 KiB).
    pub sample_every: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(100),
            dir: None,
            sample_every: None,
        }
    }
}

impl Options {
    /// These options with `interval` between two frames.
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// These options with the socket in `dir`.
    #[must_use]
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// These options sampling one allocation per about `bytes` bytes a thread allocates
    /// (0: no sites sampled, none sent). Set here, it wins over `$HEAPLAB_SAMPLE_EVERY`.
    #[must_use]
    pub fn sample_every(mut self, bytes: u64) -> Self {
        self.sample_every = Some(bytes);
        self
    }
}

/// The sampling gap the monitor runs at: the program's own choice, else the environment's,
/// else the default.
fn sample_every(chosen: Option<u64>, env: Option<&OsStr>) -> Result<u64, MonitorError> {
    if let Some(bytes) = chosen {
        return Ok(bytes);
    }
    let Some(value) = env else {
        return Ok(heaplab_experiments::sites::DEFAULT_LIVE_SAMPLE_EVERY);
    };
    let bad = |why: String| MonitorError::SampleEvery {
        value: value.to_string_lossy().into_owned(),
        why,
    };
    let text = value
        .to_str()
        .ok_or_else(|| bad("it is not UTF-8".to_owned()))?;
    text.parse::<crate::units::Size>()
        .map(|size| size.0)
        .map_err(|e| bad(e.to_string()))
}

/// Why the monitor could not start. The program itself is unaffected: a caller may log the
/// error and go on unwatched.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The private directory could not be made or is unsafe.
    #[error("heaplab monitor: {0}")]
    Dir(#[from] paths::DirError),
    /// The socket could not be made.
    #[error(
        "heaplab monitor: cannot {action} the socket {}: {source}; check that its directory is writable, or set {} to another directory",
        path.display(),
        paths::DIR_ENV
    )]
    Socket {
        /// What was being done (`bind`, `set the mode of`).
        action: &'static str,
        /// The socket's path.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The listener thread could not be started.
    #[error("heaplab monitor: cannot start its thread: {0}")]
    Thread(std::io::Error),
    /// The interval asked for is too short.
    #[error(
        "heaplab monitor: an interval of {asked:?} is too short; use at least {MIN_INTERVAL:?}"
    )]
    Interval {
        /// The interval asked for.
        asked: Duration,
    },
    /// `$HEAPLAB_SAMPLE_EVERY` is not a size.
    #[error(
        "heaplab monitor: {SAMPLE_EVERY_ENV}={value:?} is not a sampling gap: {why}; set it to the mean bytes between two sampled allocations (65536 or 64KiB, the default), 0 for no sites, or unset it"
    )]
    SampleEvery {
        /// The variable's value.
        value: String,
        /// Why it is not a size.
        why: String,
    },
}

/// The monitor this process runs, if any.
#[derive(Debug)]
struct Running {
    /// The process that started it: after a `fork`, the child sees its parent's record but
    /// runs no monitor (threads do not survive a fork), and starts its own.
    pid: u32,
    /// Its socket.
    socket: PathBuf,
}

static RUNNING: Mutex<Option<Running>> = Mutex::new(None);

/// Starts watching this process with the default [`Options`]: counts every thread, and
/// listens on `PID.sock` in the private monitor directory for `heaplab attach`, on a thread
/// named `heaplab-monitor` that runs for the life of the process. See [`start_with`].
pub fn start() -> Result<(), MonitorError> {
    start_with(&Options::default())
}

/// Starts watching this process: counts every thread from now on, samples their allocations'
/// sites (one per about [`Options::sample_every`] bytes a thread allocates), makes the private
/// directory (mode 0700), removes the sockets there of processes that no longer exist (and
/// an old one of this process's id), binds `PID.sock` (mode 0600) and serves viewers on a
/// thread named `heaplab-monitor` for the life of the process. Only the same user, or root,
/// may attach. With nobody attached the thread wakes once an interval to sample the peak, and
/// does nothing else.
///
/// Calling it again in the same process does nothing (the first options stay); a child made
/// by `fork` runs no monitor until it calls it itself, and then gets a socket of its own.
pub fn start_with(options: &Options) -> Result<(), MonitorError> {
    if options.interval < MIN_INTERVAL {
        return Err(MonitorError::Interval {
            asked: options.interval,
        });
    }
    let pid = std::process::id();
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    if running.as_ref().is_some_and(|running| running.pid == pid) {
        return Ok(());
    }
    let sample_every = sample_every(
        options.sample_every,
        std::env::var_os(SAMPLE_EVERY_ENV).as_deref(),
    )?;
    heaplab_experiments::counting::count_every_thread();
    let dir = options.dir.clone().unwrap_or_else(paths::own_dir);
    let socket = server::start(&dir, pid, options.interval, sample_every)?;
    *running = Some(Running { pid, socket });
    Ok(())
}

/// The socket this process's monitor listens on, if [`start`] ran in this process.
#[must_use]
pub fn socket() -> Option<PathBuf> {
    let running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    running
        .as_ref()
        .filter(|running| running.pid == std::process::id())
        .map(|running| running.socket.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use heaplab_experiments::sites::DEFAULT_LIVE_SAMPLE_EVERY;

    #[test]
    fn the_programs_choice_wins_then_the_environment_then_the_default() {
        let env = |text: &str| Some(OsStr::new(text).to_owned());
        assert_eq!(
            sample_every(None, None).expect("default"),
            DEFAULT_LIVE_SAMPLE_EVERY
        );
        assert_eq!(
            sample_every(None, env("4096").as_deref()).expect("bytes"),
            4096
        );
        assert_eq!(
            sample_every(None, env("1MiB").as_deref()).expect("a unit"),
            1 << 20
        );
        assert_eq!(sample_every(None, env("0").as_deref()).expect("off"), 0);
        assert_eq!(
            sample_every(Some(512), env("0").as_deref()).expect("chosen"),
            512
        );
        assert_eq!(
            Options::default().sample_every(0).sample_every,
            Some(0),
            "0 is a choice (no sites), not the default"
        );
    }

    #[test]
    fn a_bad_sampling_gap_in_the_environment_is_a_clear_error() {
        let error = sample_every(None, Some(OsStr::new("lots"))).expect_err("not a size");
        let text = error.to_string();
        assert!(
            text.contains("HEAPLAB_SAMPLE_EVERY=\"lots\"")
                && text.contains("does not start with a number")
                && text.contains("0 for no sites"),
            "{text}"
        );
        assert!(!text.contains('\n'), "one line: {text}");
        assert!(sample_every(None, Some(OsStr::new("-5"))).is_err());
    }
}
