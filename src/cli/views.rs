//! `heaplab run`: where a live view starts (the experiment, variant, size and input file,
//! checked before the terminal is touched), and `run --trace`, which needs no dashboard. The
//! dashboard's own commands are `dashboard`'s (or `no_dashboard`'s refusals).

use std::path::{Path, PathBuf};

use color_eyre::eyre::Result;

use super::args::DashboardArgs;
use super::{Job, set_fuse};
use crate::UsageError;
use crate::catalog::catalog;
use crate::live::LiveOptions;
use crate::units::Size;

/// `heaplab run`: the dashboard, or with `--trace` lines on standard output.
pub(super) fn prepare_run(
    start: Start,
    input: Option<&'static Path>,
    trace: crate::trace::TraceArgs,
    dashboard: DashboardArgs,
    max_memory: Option<Size>,
) -> Result<Job, UsageError> {
    if !trace.trace {
        return super::prepare_dashboard(dashboard, max_memory, input, Some((start, trace.record)));
    }
    set_fuse(max_memory, dashboard.budget)?;
    let recorder = trace
        .record
        .as_deref()
        .map(crate::record::Recorder::create)
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
pub(super) const DEFAULT_FPS: u32 = 15;

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
pub(super) type Start = (usize, usize, Option<usize>);

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
