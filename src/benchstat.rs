//! `heaplab compare OLD.json NEW.json`: benchstat for heaplab. Two `bench --format json`
//! exports (before and after a change) side by side per experiment and variant: the median
//! ns/op of each with its spread, the change with its 95% interval, the Mann-Whitney p-value and
//! the runs behind each side. A change the runs do not support is marked `~`.

use std::fmt::Write as _;
use std::path::Path;

use heaplab_experiments::stats;
use serde::{Deserialize, Serialize};

use crate::report::{Format, RenderError, render_table, spread_text};
use crate::results::VariantRow;

/// A bench export, as `heaplab bench --format json` writes it, or a dashboard's session file
/// (the same rows, with a `session` header).
#[derive(Deserialize)]
struct Export {
    results: Vec<VariantRow>,
    #[serde(default)]
    session: Option<crate::session::SessionInfo>,
}

/// The changes between two exports, and what the reader must know of where they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// One per experiment and variant both measured at the same size.
    pub changes: Vec<Change>,
    /// A line per side that is a dashboard session, saying what its intervals are.
    pub notes: Vec<String>,
}

/// Why two exports cannot be compared: one line for the user, status 2.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A file could not be read.
    #[error("cannot read `{path}`: {reason}")]
    Read {
        /// The path given.
        path: String,
        /// What the system said.
        reason: String,
    },
    /// A file is not a bench export.
    #[error(
        "`{path}` is not a heaplab bench export (make one with `heaplab bench --format json -o FILE`): {reason}"
    )]
    NotAnExport {
        /// The path given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The exports have no row in common.
    #[error(
        "`{old}` and `{new}` have no experiment and variant measured at the same size in common"
    )]
    NothingInCommon {
        /// The first path.
        old: String,
        /// The second path.
        new: String,
    },
}

/// One experiment and variant, before and after.
///
/// Not a [`VariantRow`]: two rows' ns/op set against each other, the change and its test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The experiment's id.
    pub experiment: String,
    /// The variant's name.
    pub variant: String,
    /// The workload size (the same on both sides).
    pub size: usize,
    /// Median ns/op before.
    pub old_ns_per_op: f64,
    /// Its 95% interval.
    pub old_ns_per_op_ci95: Option<[f64; 2]>,
    /// Median ns/op after.
    pub new_ns_per_op: f64,
    /// Its 95% interval.
    pub new_ns_per_op_ci95: Option<[f64; 2]>,
    /// The change in time per operation, in percent (negative: faster), estimated over every
    /// pair of runs (Hodges-Lehmann).
    pub change_pct: f64,
    /// Its 95% interval (`None` with too few runs).
    pub change_pct_ci95: Option<[f64; 2]>,
    /// Two-sided Mann-Whitney p-value of the runs.
    pub p_value: f64,
    /// Whether the change is significant at p < 0.05.
    pub significant: bool,
    /// Runs before.
    pub old_runs: usize,
    /// Runs after.
    pub new_runs: usize,
}

fn read(path: &Path) -> Result<Export, CompareError> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| CompareError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let export: Export = serde_json::from_slice(&text).map_err(|e| CompareError::NotAnExport {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    Ok(export)
}

/// What a session file's runs are: not independent processes, as bench's are.
fn session_note(path: &Path, export: &Export) -> Option<String> {
    export.session.as_ref().map(|s| {
        format!(
            "`{}` is a dashboard session: its runs are the dashboard's {} ms samples of one \
             worker at a time, not independent runs, so its intervals are narrower than a bench \
             export's",
            path.display(),
            s.sample_every_ms
        )
    })
}

/// The times per operation of a row's runs (its median alone for an export of one run).
fn runs_of(row: &VariantRow) -> Vec<f64> {
    if row.ns_per_op_runs.is_empty() {
        vec![row.ns_per_op]
    } else {
        row.ns_per_op_runs.clone()
    }
}

/// Compares the rows the two exports have in common (same experiment, variant and size), in
/// the order of `old`. Rows that did not run to the end on either side are left out.
pub fn compare(old_path: &Path, new_path: &Path) -> Result<Compared, CompareError> {
    let old_export = read(old_path)?;
    let new_export = read(new_path)?;
    let notes = [(old_path, &old_export), (new_path, &new_export)]
        .into_iter()
        .filter_map(|(path, export)| session_note(path, export))
        .collect();
    let (old, new) = (&old_export.results, &new_export.results);
    let changes: Vec<Change> = old
        .iter()
        .filter_map(|before| {
            let after = new.iter().find(|r| {
                r.experiment == before.experiment
                    && r.variant == before.variant
                    && r.size == before.size
            })?;
            change(before, after)
        })
        .collect();
    if changes.is_empty() {
        return Err(CompareError::NothingInCommon {
            old: old_path.display().to_string(),
            new: new_path.display().to_string(),
        });
    }
    Ok(Compared { changes, notes })
}

fn change(before: &VariantRow, after: &VariantRow) -> Option<Change> {
    let (old, new) = (runs_of(before), runs_of(after));
    // The ratio new/old of times: above 1 is slower.
    let (ratio, interval) = stats::ratio_ci(&new, &old)?;
    let p_value = stats::mann_whitney(&old, &new)?.p_value;
    let pct = |r: f64| (r - 1.0) * 100.0;
    Some(Change {
        experiment: before.experiment.to_string(),
        variant: before.variant.to_string(),
        size: before.size,
        old_ns_per_op: stats::median(&old),
        old_ns_per_op_ci95: stats::median_ci(&old).map(|(l, h)| [l, h]),
        new_ns_per_op: stats::median(&new),
        new_ns_per_op_ci95: stats::median_ci(&new).map(|(l, h)| [l, h]),
        change_pct: pct(ratio),
        change_pct_ci95: interval.map(|(low, high)| [pct(low), pct(high)]),
        p_value,
        significant: p_value < stats::ALPHA,
        old_runs: old.len(),
        new_runs: new.len(),
    })
}

const HEADERS: [&str; 6] = [
    "experiment",
    "variant",
    "old ns/op",
    "new ns/op",
    "change",
    "p, n",
];

fn cells(c: &Change) -> Vec<String> {
    let ns = |median: f64, interval| format!("{median:.1} {}", spread_text(median, interval));
    let change = if c.significant {
        match c.change_pct_ci95 {
            Some([low, high]) => format!("{:+.1}% ({low:+.1}%..{high:+.1}%)", c.change_pct),
            None => format!("{:+.1}%", c.change_pct),
        }
    } else {
        "~".to_owned()
    };
    vec![
        c.experiment.clone(),
        c.variant.clone(),
        ns(c.old_ns_per_op, c.old_ns_per_op_ci95),
        ns(c.new_ns_per_op, c.new_ns_per_op_ci95),
        change,
        format!("p={:.3} n={}+{}", c.p_value, c.old_runs, c.new_runs),
    ]
}

/// Renders the changes in `format`, with a closing line that counts the significant ones.
pub fn render(compared: &Compared, format: Format) -> Result<String, RenderError> {
    let changes = &compared.changes;
    match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&serde_json::json!({
                "heaplab_version": env!("CARGO_PKG_VERSION"),
                "comparisons": changes,
                "notes": compared.notes,
            }))?;
            text.push('\n');
            Ok(text)
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            for c in changes {
                writer.serialize(CsvChange::from(c))?;
            }
            let bytes = writer
                .into_inner()
                .map_err(|e| RenderError::CsvText(e.to_string()))?;
            String::from_utf8(bytes).map_err(|e| RenderError::CsvText(e.to_string()))
        }
        Format::Table | Format::Markdown => {
            let table: Vec<Vec<String>> = changes.iter().map(cells).collect();
            let mut text = render_table(&HEADERS, &table, &[0, 1, 4], format == Format::Markdown);
            let significant = changes.iter().filter(|c| c.significant).count();
            let _ = writeln!(
                text,
                "\n{significant} of {} changes significant at p < 0.05 (Mann-Whitney U); `~`: no significant change",
                changes.len()
            );
            for note in &compared.notes {
                let _ = writeln!(text, "{note}");
            }
            Ok(text)
        }
    }
}

#[derive(Serialize)]
struct CsvChange<'a> {
    experiment: &'a str,
    variant: &'a str,
    size: usize,
    old_ns_per_op: f64,
    new_ns_per_op: f64,
    change_pct: f64,
    change_pct_ci95_low: Option<f64>,
    change_pct_ci95_high: Option<f64>,
    p_value: f64,
    significant: bool,
    old_runs: usize,
    new_runs: usize,
}

impl<'a> From<&'a Change> for CsvChange<'a> {
    fn from(c: &'a Change) -> Self {
        CsvChange {
            experiment: &c.experiment,
            variant: &c.variant,
            size: c.size,
            old_ns_per_op: c.old_ns_per_op,
            new_ns_per_op: c.new_ns_per_op,
            change_pct: c.change_pct,
            change_pct_ci95_low: c.change_pct_ci95.map(|c| c[0]),
            change_pct_ci95_high: c.change_pct_ci95.map(|c| c[1]),
            p_value: c.p_value,
            significant: c.significant,
            old_runs: c.old_runs,
            new_runs: c.new_runs,
        }
    }
}
