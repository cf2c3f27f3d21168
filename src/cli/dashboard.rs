//! The dashboard's commands (the `dashboard` feature): the dashboard (`heaplab`, `run`
//! without `--trace`), `tour` and `screenshot`, each checked before the terminal is touched.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use color_eyre::eyre::Result;

use super::args::{DashboardArgs, ScreenshotArgs};
use super::views::{DEFAULT_FPS, Start, resolve_start};
use super::{Job, launcher, set_fuse};
use crate::UsageError;
use crate::files::Output;
use crate::live::LiveOptions;
use crate::units::Size;

pub(super) fn prepare_screenshot(
    args: ScreenshotArgs,
    max_memory: Option<Size>,
) -> Result<Job, UsageError> {
    let ScreenshotArgs {
        id,
        seconds,
        size,
        view,
        output,
        width,
        height,
    } = args;
    let start = resolve_start(&id, None, size)?;
    let output = output.unwrap_or_else(|| PathBuf::from(format!("assets/{}.svg", view.name())));
    let file = Output::create(&output)?;
    Ok(Box::new(move || {
        let launcher = Arc::new(launcher(max_memory)?);
        let buffer = crate::ui::screenshot(start, seconds, width, height, view, launcher)?;
        file.commit(crate::ui::svg::buffer_to_svg(&buffer).as_bytes())?;
        eprintln!("wrote {}", output.display());
        Ok(ExitCode::SUCCESS)
    }))
}

/// The dashboard, with `run`'s experiment and `--record` if any.
pub(super) fn prepare_dashboard(
    dashboard: DashboardArgs,
    max_memory: Option<Size>,
    input: Option<&'static Path>,
    run: Option<(Start, Option<PathBuf>)>,
) -> Result<Job, UsageError> {
    let (start, record) = run.unzip();
    let workshop = crate::ui::workshop::WorkshopOptions {
        record: record.flatten(),
        ..crate::ui::workshop::WorkshopOptions::from_env()
    };
    prepare_workshop(dashboard, max_memory, input, start, workshop)
}

/// `heaplab tour`: the dashboard with the guided tour running.
pub(super) fn prepare_tour(
    auto: bool,
    record: Option<PathBuf>,
    dashboard: DashboardArgs,
    max_memory: Option<Size>,
) -> Result<Job, UsageError> {
    let workshop = crate::ui::workshop::WorkshopOptions {
        record,
        tour: Some(if auto {
            crate::ui::tour::TourMode::Auto
        } else {
            crate::ui::tour::TourMode::Manual
        }),
        ..crate::ui::workshop::WorkshopOptions::from_env()
    };
    prepare_workshop(dashboard, max_memory, None, None, workshop)
}

fn prepare_workshop(
    dashboard: DashboardArgs,
    max_memory: Option<Size>,
    input: Option<&'static Path>,
    start: Option<Start>,
    workshop: crate::ui::workshop::WorkshopOptions,
) -> Result<Job, UsageError> {
    set_fuse(max_memory, dashboard.budget)?;
    if let Some(path) = &workshop.record {
        // Refused now, before the terminal is taken; the dashboard claims it again when it
        // starts (this claim's temporary file is removed when it is dropped).
        crate::record::Recorder::create(path)?;
    }
    if let Some(dir) = dashboard.data_dir {
        crate::files::set_data_dir(dir);
    }
    let live = LiveOptions {
        fps: dashboard.fps.unwrap_or(DEFAULT_FPS),
        budget: dashboard.budget,
        input,
        max_memory,
    };
    let workshop = crate::ui::workshop::WorkshopOptions {
        presenter: dashboard.presenter,
        ..workshop
    };
    Ok(Box::new(move || dashboard_job(&live, start, workshop)))
}

fn dashboard_job(
    live: &LiveOptions,
    start: Option<Start>,
    workshop: crate::ui::workshop::WorkshopOptions,
) -> Result<ExitCode> {
    let ended = crate::ui::run(crate::ui::Options {
        fps: live.fps,
        start,
        budget: live.budget,
        input: live.input,
        workshop,
        launcher: Arc::new(launcher(live.max_memory)?),
    })?;
    // Not `eprintln!`: it panics when standard error is a terminal that is gone.
    let _ = match &ended.session {
        Ok(Some(path)) => writeln!(
            std::io::stderr(),
            "heaplab: this session's figures are in {} (heaplab compare reads it)",
            path.display()
        ),
        Ok(None) => Ok(()),
        Err(why) => writeln!(
            std::io::stderr(),
            "heaplab: could not keep this session's figures: {why}"
        ),
    };
    match ended.ending {
        crate::ui::Ending::Quit => Ok(ExitCode::SUCCESS),
        // The shell's convention for "ended by signal N", so scripts can tell.
        crate::ui::Ending::Signal(signal) => Ok(ExitCode::from(128 + signal as u8)),
    }
}
