//! `heaplab attach` and `heaplab ps`: the target found, the connection opened and its hello
//! checked, `--record` claimed, all before the terminal is touched; then the view (the
//! `dashboard` feature) or `--trace` (any build).

use std::io::Write as _;
use std::process::ExitCode;

use color_eyre::eyre::Result;

use super::args::AttachArgs;
use super::{Job, print_stdout};
use crate::UsageError;
use crate::attach::client::{Connection, resolve};
use crate::attach::record::FrameRecorder;

/// Checks `attach`'s arguments and connects; returns the view or the trace to run.
pub(super) fn prepare_attach(args: AttachArgs) -> Result<Job, UsageError> {
    let AttachArgs {
        pid,
        socket,
        trace,
        sites,
        top,
        record,
        alert,
        fps,
        screenshot,
        frames,
    } = args;
    if trace && fps.is_some() {
        return Err(UsageError(
            "--fps is the view's; --trace prints a line per frame of the program".into(),
        ));
    }
    let recorder = record.as_deref().map(FrameRecorder::create).transpose()?;
    let picture = screenshot
        .as_deref()
        .map(crate::files::Output::create)
        .transpose()?;
    let connection = Connection::open(resolve(pid, socket)?)?;
    if let (Some(file), Some(path)) = (picture, screenshot) {
        return picture_job(connection, alert, file, path, frames.unwrap_or(100));
    }
    if trace {
        let sites_top =
            sites.then(|| top.map_or(crate::attach::trace::DEFAULT_TOP, |top| top as usize));
        return Ok(Box::new(move || {
            crate::attach::trace::main(connection, &alert, recorder, sites_top)
        }));
    }
    view(connection, alert, recorder, fps)
}

#[cfg(feature = "dashboard")]
#[allow(clippy::unnecessary_wraps)] // the headless build's signature, which refuses
fn view(
    connection: Connection,
    alerts: Vec<crate::attach::alerts::Alert>,
    record: Option<FrameRecorder>,
    fps: Option<u32>,
) -> Result<Job, UsageError> {
    use crate::ui::attach_view::{Ended, Options, run};
    Ok(Box::new(move || {
        let hello = connection.hello.clone();
        let who = format!("{} (process {})", hello.program, hello.pid);
        let ended = run(
            connection,
            Options {
                fps: fps.unwrap_or(super::views::DEFAULT_FPS),
                alerts,
                record,
            },
        )?;
        // Not `eprintln!`: it panics when standard error is a terminal that is gone.
        let mut stderr = std::io::stderr();
        Ok(match ended {
            Ended::Detached => {
                let _ = writeln!(stderr, "heaplab attach: detached from {who}; it runs on");
                ExitCode::SUCCESS
            }
            Ended::ProgramExited => {
                let _ = writeln!(stderr, "heaplab attach: {who} exited; the view ends");
                ExitCode::SUCCESS
            }
            Ended::Lost(why) => {
                let _ = writeln!(stderr, "heaplab attach: lost {who}: {why}");
                ExitCode::FAILURE
            }
            Ended::Signal(signal) => ExitCode::from(128 + signal as u8),
        })
    }))
}

/// `attach --screenshot`: the view after `frames` frames, drawn off-screen, as SVG.
#[cfg(feature = "dashboard")]
#[allow(clippy::unnecessary_wraps)] // the headless build's signature, which refuses
fn picture_job(
    connection: Connection,
    alerts: Vec<crate::attach::alerts::Alert>,
    file: crate::files::Output,
    path: std::path::PathBuf,
    frames: u32,
) -> Result<Job, UsageError> {
    Ok(Box::new(move || {
        let buffer = crate::ui::attach_view::screenshot(connection, &alerts, frames, 100, 30)?;
        file.commit(crate::ui::svg::buffer_to_svg(&buffer).as_bytes())?;
        let _ = writeln!(std::io::stderr(), "wrote {}", path.display());
        Ok(ExitCode::SUCCESS)
    }))
}

#[cfg(not(feature = "dashboard"))]
#[allow(clippy::needless_pass_by_value)] // the dashboard build's signature
fn picture_job(
    _: Connection,
    _: Vec<crate::attach::alerts::Alert>,
    _: crate::files::Output,
    _: std::path::PathBuf,
    _: u32,
) -> Result<Job, UsageError> {
    Err(super::no_dashboard::without_dashboard(
        "`attach --screenshot` (the view)",
    ))
}

#[cfg(not(feature = "dashboard"))]
#[allow(clippy::needless_pass_by_value)] // the dashboard build's signature
fn view(
    _: Connection,
    _: Vec<crate::attach::alerts::Alert>,
    _: Option<FrameRecorder>,
    _: Option<u32>,
) -> Result<Job, UsageError> {
    Err(super::no_dashboard::without_dashboard(
        "`attach` without --trace (the view)",
    ))
}

/// `heaplab ps`.
pub(super) fn ps() -> Result<ExitCode> {
    let (table, note) = crate::attach::ps::report();
    print_stdout(&table)?;
    if let Some(note) = note {
        let _ = writeln!(std::io::stderr(), "heaplab ps: {note}");
    }
    Ok(ExitCode::SUCCESS)
}
