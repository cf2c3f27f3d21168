//! The session file: what a dashboard session measured, written when it ends (however it
//! ends), so that quitting by mistake loses nothing. It is a bench export (`{"results":
//! [...]}`, one row per experiment, variant and size) with a `session` header that says where
//! its figures come from: `heaplab compare` reads it like any export and says so.

use std::path::PathBuf;

use heaplab_experiments::Experiment;
use serde::{Deserialize, Serialize};

use crate::results::VariantRow;
use crate::runner::{DEFAULT_SAMPLE_EVERY, Sample};

/// What a variant measured at one size, kept for the session file when the figures on screen
/// are cleared (another experiment, another size) and at the end: its samples added up, and its
/// steady-state intervals (ns/op per 100 ms sample).
///
/// Not a [`VariantRow`]: it grows while the dashboard runs (samples added up, intervals
/// appended), and becomes one ([`VariantRow::from_intervals`]) only when the session is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Index into the catalog.
    pub experiment: usize,
    /// Variant index.
    pub variant: usize,
    /// Every run of it at this size, added up.
    pub sample: Sample,
    /// Its steady-state intervals, oldest first (at most [`MEASURED_INTERVALS`]).
    pub intervals: Vec<f64>,
}

/// The intervals a session keeps per variant and size: an hour of 100 ms samples.
pub const MEASURED_INTERVALS: usize = 36_000;

/// Where a session file's figures come from, and for how long each variant ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Always `dashboard`.
    pub source: String,
    /// The dashboard's sample period: each interval behind a row's `ns_per_op_runs` is one.
    pub sample_every_ms: u64,
    /// When the session ended, seconds since the Unix epoch.
    pub ended_unix_secs: u64,
    /// Per row, in the same order: how long the variant was measured, all its runs added up.
    pub measured_secs: Vec<f64>,
}

#[derive(Serialize)]
struct SessionFile<'a> {
    heaplab_version: &'static str,
    session: &'a SessionInfo,
    results: &'a [VariantRow],
}

/// One row per experiment, variant and size (see [`VariantRow::from_intervals`]).
#[must_use]
pub fn rows(experiments: &[&'static dyn Experiment], measured: &[Measured]) -> Vec<VariantRow> {
    measured
        .iter()
        .map(|m| {
            VariantRow::from_intervals(
                experiments[m.experiment].info(),
                m.variant,
                &m.sample,
                &m.intervals,
            )
        })
        .collect()
}

/// Writes the session's figures to `session-ID-UNIXTIME.json` in heaplab's data directory
/// and returns its path; `None` if nothing was measured.
pub fn save(
    experiments: &[&'static dyn Experiment],
    measured: &[Measured],
) -> color_eyre::Result<Option<PathBuf>> {
    if measured.is_empty() {
        return Ok(None);
    }
    let rows = rows(experiments, measured);
    let ended = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let info = SessionInfo {
        source: "dashboard".to_owned(),
        sample_every_ms: DEFAULT_SAMPLE_EVERY.as_millis() as u64,
        ended_unix_secs: ended,
        measured_secs: measured
            .iter()
            .map(|m| m.sample.measured_for.as_secs_f64())
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&SessionFile {
        heaplab_version: env!("CARGO_PKG_VERSION"),
        session: &info,
        results: &rows,
    })?;
    text.push('\n');
    let id = experiments[measured[measured.len() - 1].experiment]
        .info()
        .id;
    let path = crate::files::data_dir()?.join(format!("session-{id}-{ended}.json"));
    crate::files::write(&path, text.as_bytes())?;
    Ok(Some(path))
}
