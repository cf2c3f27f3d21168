//! The live views' commands: the dashboard (`heaplab`, `run`, `tour`), `run --trace` and
//! `screenshot`, each checked before the terminal is touched.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use color_eyre::eyre::Result;

use super::args::{DashboardArgs, ScreenshotArgs};
use super::{Job, launcher, set_fuse};
use crate::UsageError;
use crate::catalog::catalog;
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

/// `heaplab run`: the dashboard, or with `--trace` lines on standard output.
pub(super) fn prepare_run(
    start: Start,
    input: Option<&'static Path>,
    trace: crate::trace::TraceArgs,
    dashboard: DashboardArgs,
    max_memory: Option<Size>,
) -> Result<Job, UsageError> {
    if !trace.trace {
        return prepare_dashboard(dashboard, max_memory, input, Some((start, trace.record)));
    }
    set_fuse(max_memory, dashboard.budget)?;
    let recorder = trace
        .record
        .as_deref()
        .map(crate::export::Recorder::create)
        .transpose()?;
    let live = LiveOptions {
        fps: dashboard.fps.unwrap_or(DEFAULT_FPS),
        budget: dashboard.budget,
        input,
        max_memory,
    };
    Ok(Box::new(move || {
        crate::trace::main(start, &trace, &live, recorder)
    }))
}

/// Frames per second of the dashboard without `--fps`.
const DEFAULT_FPS: u32 = 15;

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

pub(super) fn prepare_workshop(
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
        crate::export::Recorder::create(path)?;
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

/// Checks `heaplab run --input`'s file before the terminal is touched; it lives as long as
/// the process, so the runner may keep a `&'static` to it.
pub(super) fn check_run_input(
    experiment: usize,
    path: PathBuf,
) -> Result<&'static Path, UsageError> {
    let experiment = catalog()[experiment];
    heaplab_experiments::setup_with_input(experiment, experiment.info().baseline(), &path)
        .map_err(|e| UsageError(e.to_string()))?;
    Ok(Box::leak(path.into_boxed_path()))
}

/// Where a live view starts: the experiment's index in the catalog, the variant's, the size.
type Start = (usize, usize, Option<usize>);

/// Checks `heaplab run`'s id, variant and size before the terminal is touched.
pub(super) fn resolve_start(
    id: &str,
    variant: Option<&str>,
    size: Option<usize>,
) -> Result<Start, UsageError> {
    let catalog = catalog();
    let index = catalog
        .iter()
        .position(|e| e.info().id == id)
        .ok_or_else(|| {
            UsageError(format!(
                "unknown experiment `{id}`; valid ids: {}",
                crate::catalog::ids()
            ))
        })?;
    let experiment = catalog[index];
    let size_to_check = size.unwrap_or(experiment.info().default_size);
    let variant = variant.unwrap_or(experiment.info().baseline());
    let variant = heaplab_experiments::check(experiment, variant, size_to_check)
        .map_err(|e| UsageError(e.to_string()))?;
    Ok((index, variant, size))
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
