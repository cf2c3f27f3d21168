//! Rows as text: `heaplab bench`'s table, JSON, CSV and Markdown, and `heaplab compare`'s
//! (`compare`). The rows themselves are [`crate::results`]'.

pub mod compare;
mod csv;
mod table;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::results::{Host, VariantRow};
use crate::units;

pub use table::{TOP_SITES, render_table, site_lines, spread_text};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// `{"results": [...]}` for scripts.
    Json,
    /// One header line, one line per row.
    Csv,
    /// A Markdown table for slides and READMEs.
    Markdown,
}

/// The JSON document.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    heaplab_version: &'static str,
    /// Where the rows were measured, so that `heaplab compare` can tell two hosts apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a Host>,
    results: &'a [VariantRow],
}

/// Renders rows in `format`; JSON records `host`, where they were measured.
pub fn render(
    rows: &[VariantRow],
    format: Format,
    host: Option<&Host>,
) -> Result<String, RenderError> {
    match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&JsonReport {
                heaplab_version: env!("CARGO_PKG_VERSION"),
                host,
                results: rows,
            })?;
            text.push('\n');
            Ok(text)
        }
        Format::Csv => csv::render(rows),
        Format::Table => Ok(table::render_columns(rows, false)),
        Format::Markdown => Ok(table::render_columns(rows, true)),
    }
}

/// The one line to print beside a report whose sites name functions, not lines, because the
/// measured code was built without line tables: what to add to `Cargo.toml`.
#[must_use]
pub fn sites_advice(rows: &[VariantRow]) -> Option<String> {
    rows.iter()
        .filter_map(|row| row.sites.as_ref())
        .any(|sites| sites.missing_line_tables)
        .then(crate::sites::line_tables_advice)
}

/// Rendering can only fail in serialisation.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// JSON serialisation failed.
    #[error("could not write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV serialisation failed.
    #[error("could not write CSV: {0}")]
    Csv(#[from] ::csv::Error),
    /// CSV output was not UTF-8 (cannot happen with our fields).
    #[error("could not write CSV: {0}")]
    CsvText(String),
}

/// A row's own counters on one line: `hits=12 misses=3`.
fn extra_text(extra: &BTreeMap<String, f64>) -> String {
    let mut text = String::new();
    for (i, (name, value)) in extra.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        let _ = write!(text, "{name}={}", units::count(*value));
    }
    text
}
