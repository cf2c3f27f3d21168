//! Without the `dashboard` feature: the commands that draw (the dashboard, `run` without
//! `--trace`, `tour`, `screenshot`, `bench --plot`) refused in one line that names the feature
//! to turn on, with the same signatures as `views`' so that `prepare` reads the same in both
//! builds.

use std::path::{Path, PathBuf};

use super::Job;
use super::args::{DashboardArgs, ScreenshotArgs};
use super::views::Start;
use crate::UsageError;
use crate::units::Size;

/// The refusal of `what`, which needs the dashboard.
pub(super) fn without_dashboard(what: &str) -> UsageError {
    UsageError(format!(
        "{what} needs heaplab's `dashboard` feature, which this build leaves out: add \
         `features = [\"dashboard\"]` to heaplab's line in Cargo.toml (or drop \
         `default-features = false`); `bench` and `run ID --trace` work without it"
    ))
}

#[allow(clippy::needless_pass_by_value)] // `views::prepare_dashboard`'s signature
pub(super) fn prepare_dashboard(
    _: DashboardArgs,
    _: Option<Size>,
    _: Option<&'static Path>,
    run: Option<(Start, Option<PathBuf>)>,
) -> Result<Job, UsageError> {
    Err(without_dashboard(if run.is_some() {
        "`run` without --trace (the dashboard)"
    } else {
        "the dashboard (no command given)"
    }))
}

#[allow(clippy::needless_pass_by_value)] // `views::prepare_tour`'s signature
pub(super) fn prepare_tour(
    _: bool,
    _: Option<PathBuf>,
    _: DashboardArgs,
    _: Option<Size>,
) -> Result<Job, UsageError> {
    Err(without_dashboard("`tour`"))
}

#[allow(clippy::needless_pass_by_value)] // `views::prepare_screenshot`'s signature
pub(super) fn prepare_screenshot(_: ScreenshotArgs, _: Option<Size>) -> Result<Job, UsageError> {
    Err(without_dashboard("`screenshot`"))
}
