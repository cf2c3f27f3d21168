//! What every live view (dashboard, tour, `--trace`) takes from the command line and the
//! environment (`NO_COLOR`), and how they start worker processes.

use std::path::Path;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr as _};
use heaplab_experiments::worker::Launcher;

use crate::units::Size;

/// What every live view (dashboard, tour, trace) takes from the command line.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Dashboard frames per second at most.
    pub fps: u32,
    /// The memory budget per run.
    pub budget: Option<u64>,
    /// A user's file for the experiments that take one.
    pub input: Option<&'static Path>,
    /// The process-wide fuse, passed on to workers.
    pub max_memory: Option<Size>,
}

/// Whether `NO_COLOR` asks for no colour (set and not empty): the dashboard's and the error
/// reports' colours alike.
#[must_use]
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// How to start worker processes: this program, with the global options a worker needs.
pub fn launcher(max_memory: Option<Size>) -> Result<Launcher> {
    let mut args = Vec::new();
    if let Some(Size(bytes)) = max_memory {
        args.push("--max-memory".into());
        args.push(bytes.to_string().into());
    }
    Ok(Launcher::current()
        .wrap_err("could not find heaplab's own executable")?
        .with_args(args))
}

/// Parses a number of seconds for `--time`, `--interval`, `--duration`: more than 0, at most
/// an hour.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds (use e.g. 1 or 0.5)"))?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err(format!(
            "`{text}` is out of range: use more than 0 and at most 3600 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}
