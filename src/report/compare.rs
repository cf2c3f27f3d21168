//! `heaplab compare`'s text: every figure's change per experiment and variant as aligned
//! columns, JSON, CSV, or Markdown for a pull-request comment (regressions first, then
//! improvements, the unchanged rows folded away). The judging is [`crate::benchstat`]'s.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Format, RenderError, render_table, spread_text};
use crate::benchstat::{Compared, RowName};
use crate::results::{Change, CountChange, Figure, Verdict};
use crate::units;

const HEADERS: [&str; 10] = [
    "experiment",
    "variant",
    "old ns/op",
    "new ns/op",
    "time",
    "p, n",
    "allocs/op",
    "reallocs/op",
    "bytes/op",
    "peak heap",
];

/// A count as a report prints it: allocs/op with two decimals (four below 0.01, `0` for
/// none), bytes whole,
/// the peak in binary units.
fn count_text(figure: Figure, value: f64) -> String {
    match figure {
        Figure::Allocs | Figure::Reallocs if value == 0.0 => "0".to_owned(),
        // A rare allocation (one in thousands of operations) is not printed as none.
        Figure::Allocs | Figure::Reallocs if value.abs() < 0.01 => format!("{value:.4}"),
        Figure::Allocs | Figure::Reallocs => format!("{value:.2}"),
        Figure::Bytes => format!("{value:.0}"),
        Figure::Peak => units::bytes(value.round() as u64),
        Figure::Time => format!("{value:.1}"),
    }
}

/// A change in percent: `+212%`, `-4.5%`.
fn pct_text(pct: f64) -> String {
    if pct.abs() >= 10.0 {
        format!("{pct:+.0}%")
    } else {
        format!("{pct:+.1}%")
    }
}

fn count_cell(figure: Figure, c: &CountChange) -> String {
    let (old, new) = (count_text(figure, c.old), count_text(figure, c.new));
    match c.verdict {
        Verdict::Same => new,
        Verdict::WithinTolerance => format!("{old} → {new} ~"),
        Verdict::Regressed | Verdict::Improved => match c.change_pct {
            Some(pct) => format!("{old} → {new} ({})", pct_text(pct)),
            None => format!("{old} → {new}"),
        },
    }
}

/// What happened to `figure` in `change`, in a report's words: `0 → 1.00`, `12.0 KiB →
/// 36.0 KiB (+200%)`, `+8.1% (+6.0%..+10.2%)`, `~`.
#[must_use]
fn figure_text(change: &Change, figure: Figure) -> String {
    if let Some(count) = change.count(figure) {
        return count_cell(figure, count);
    }
    match &change.time {
        None => "–".to_owned(),
        Some(t) if !t.significant => "~".to_owned(),
        Some(t) => match t.change_pct_ci95 {
            Some([low, high]) => format!("{:+.1}% ({low:+.1}%..{high:+.1}%)", t.change_pct),
            None => format!("{:+.1}%", t.change_pct),
        },
    }
}

/// The regressions of the figures in `fail_on`, a line each (`buffer-reuse optimized (size
/// 4096): allocs/op 0 → 1.00`): what `compare --fail-on` prints on stderr.
#[must_use]
pub fn regressions(compared: &Compared, fail_on: &[Figure]) -> Vec<String> {
    let mut lines = Vec::new();
    for change in &compared.changes {
        for figure in change.regressions() {
            if fail_on.contains(&figure) {
                lines.push(format!(
                    "{} {} (size {}): {} {}",
                    change.experiment,
                    change.variant,
                    change.size,
                    figure.name(),
                    figure_text(change, figure)
                ));
            }
        }
    }
    lines
}

fn cells(c: &Change) -> Vec<String> {
    let ns = |median: f64, interval| format!("{median:.1} {}", spread_text(median, interval));
    let (old, new, test) = match &c.time {
        Some(t) => (
            ns(t.old_ns_per_op, t.old_ns_per_op_ci95),
            ns(t.new_ns_per_op, t.new_ns_per_op_ci95),
            format!("p={:.3} n={}+{}", t.p_value, t.old_runs, t.new_runs),
        ),
        None => ("–".to_owned(), "–".to_owned(), "–".to_owned()),
    };
    let mut cells = vec![c.experiment.clone(), c.variant.clone(), old, new];
    cells.push(figure_text(c, Figure::Time));
    cells.push(test);
    for figure in [
        Figure::Allocs,
        Figure::Reallocs,
        Figure::Bytes,
        Figure::Peak,
    ] {
        cells.push(figure_text(c, figure));
    }
    cells
}

fn table(changes: &[&Change], markdown: bool) -> String {
    let rows: Vec<Vec<String>> = changes.iter().map(|c| cells(c)).collect();
    render_table(&HEADERS, &rows, &[0, 1], markdown)
}

/// `2 regressed, 1 improved, 34 unchanged`.
fn tally(compared: &Compared) -> String {
    let count = |verdict: fn(Verdict) -> bool| {
        compared
            .changes
            .iter()
            .filter(|c| verdict(c.verdict))
            .count()
    };
    format!(
        "{} regressed, {} improved, {} unchanged",
        count(|v| v == Verdict::Regressed),
        count(|v| v == Verdict::Improved),
        count(|v| v >= Verdict::WithinTolerance)
    )
}

/// The lines under the tables: how figures are judged, the rows not compared, the notes.
fn closing_lines(compared: &Compared, markdown: bool) -> Vec<String> {
    let changes = &compared.changes;
    let timed = changes.iter().filter(|c| c.time.is_some()).count();
    let significant = changes
        .iter()
        .filter(|c| c.time.as_ref().is_some_and(|t| t.significant))
        .count();
    let mut lines = vec![format!(
        "time: {significant} of {timed} changes significant at p < 0.05 (Mann-Whitney U) and at \
         least {}% (`--min-effect`); `~`: no significant change",
        compared.rules.min_effect_pct
    )];
    lines.push(
        "counts (allocs/op, reallocs/op, bytes/op, peak heap): exact over the same operations; \
         `~`: moved within the tolerance noted below"
            .to_owned(),
    );
    let list = |rows: &[RowName]| {
        rows.iter()
            .map(|r| match &r.why {
                Some(why) => format!("{} ({why})", r.text()),
                None => r.text(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let [old, new] = &compared.paths;
    for (rows, what) in [
        (&compared.only_old, format!("only in `{old}`")),
        (&compared.only_new, format!("only in `{new}`")),
        (&compared.not_compared, "not compared".to_owned()),
    ] {
        if !rows.is_empty() {
            lines.push(format!("{what}: {}", list(rows)));
        }
    }
    lines.extend(compared.notes.iter().cloned());
    if markdown {
        for line in &mut lines {
            line.insert_str(0, "- ");
        }
    }
    lines
}

/// A pull-request comment: the tally, regressions, improvements, the unchanged folded away.
fn markdown(compared: &Compared) -> String {
    let [old, new] = &compared.paths;
    let mut text = format!(
        "**heaplab compare**: {} (`{old}` → `{new}`)\n",
        tally(compared)
    );
    let of = |verdict: fn(Verdict) -> bool| -> Vec<&Change> {
        compared
            .changes
            .iter()
            .filter(|c| verdict(c.verdict))
            .collect()
    };
    for (title, rows) in [
        ("Regressions", of(|v| v == Verdict::Regressed)),
        ("Improvements", of(|v| v == Verdict::Improved)),
    ] {
        if !rows.is_empty() {
            let _ = write!(text, "\n### {title}\n\n{}", table(&rows, true));
        }
    }
    let unchanged = of(|v| v >= Verdict::WithinTolerance);
    if !unchanged.is_empty() {
        let _ = write!(
            text,
            "\n<details><summary>{} unchanged</summary>\n\n{}\n</details>\n",
            unchanged.len(),
            table(&unchanged, true)
        );
    }
    text.push('\n');
    for line in closing_lines(compared, true) {
        let _ = writeln!(text, "{line}");
    }
    text
}

/// Renders a comparison in `format`.
pub fn render(compared: &Compared, format: Format) -> Result<String, RenderError> {
    match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&serde_json::json!({
                "heaplab_version": env!("CARGO_PKG_VERSION"),
                "old": compared.paths[0],
                "new": compared.paths[1],
                "min_effect_pct": compared.rules.min_effect_pct,
                "hosts_differ": compared.rules.hosts_differ,
                "comparisons": compared.changes,
                "only_in_old": compared.only_old,
                "only_in_new": compared.only_new,
                "not_compared": compared.not_compared,
                "notes": compared.notes,
            }))?;
            text.push('\n');
            Ok(text)
        }
        Format::Csv => csv(compared),
        Format::Table => {
            let all: Vec<&Change> = compared.changes.iter().collect();
            let mut text = table(&all, false);
            let _ = writeln!(text, "\n{}", tally(compared));
            for line in closing_lines(compared, false) {
                let _ = writeln!(text, "{line}");
            }
            Ok(text)
        }
        Format::Markdown => Ok(markdown(compared)),
    }
}

/// A comparison as one flat CSV line: each count's old, new, change and verdict side by side.
/// Rows only one side has, or not compared, are lines with their verdict and no figures.
#[derive(Serialize, Default)]
struct CsvChange<'a> {
    experiment: &'a str,
    variant: &'a str,
    size: usize,
    verdict: &'a str,
    same_operations: Option<bool>,
    count_tolerance_pct: Option<f64>,
    old_ns_per_op: Option<f64>,
    new_ns_per_op: Option<f64>,
    change_pct: Option<f64>,
    change_pct_ci95_low: Option<f64>,
    change_pct_ci95_high: Option<f64>,
    p_value: Option<f64>,
    significant: Option<bool>,
    old_runs: Option<usize>,
    new_runs: Option<usize>,
    old_allocs_per_op: Option<f64>,
    new_allocs_per_op: Option<f64>,
    allocs_per_op_verdict: Option<Verdict>,
    old_reallocs_per_op: Option<f64>,
    new_reallocs_per_op: Option<f64>,
    reallocs_per_op_verdict: Option<Verdict>,
    old_bytes_per_op: Option<f64>,
    new_bytes_per_op: Option<f64>,
    bytes_per_op_verdict: Option<Verdict>,
    old_peak_heap_bytes: Option<f64>,
    new_peak_heap_bytes: Option<f64>,
    peak_heap_bytes_verdict: Option<Verdict>,
}

impl<'a> From<&'a Change> for CsvChange<'a> {
    fn from(c: &'a Change) -> Self {
        let t = c.time.as_ref();
        CsvChange {
            experiment: &c.experiment,
            variant: &c.variant,
            size: c.size,
            verdict: c.verdict.name(),
            same_operations: Some(c.same_operations),
            count_tolerance_pct: Some(c.count_tolerance_pct),
            old_ns_per_op: t.map(|t| t.old_ns_per_op),
            new_ns_per_op: t.map(|t| t.new_ns_per_op),
            change_pct: t.map(|t| t.change_pct),
            change_pct_ci95_low: t.and_then(|t| t.change_pct_ci95).map(|c| c[0]),
            change_pct_ci95_high: t.and_then(|t| t.change_pct_ci95).map(|c| c[1]),
            p_value: t.map(|t| t.p_value),
            significant: t.map(|t| t.significant),
            old_runs: t.map(|t| t.old_runs),
            new_runs: t.map(|t| t.new_runs),
            old_allocs_per_op: Some(c.allocs_per_op.old),
            new_allocs_per_op: Some(c.allocs_per_op.new),
            allocs_per_op_verdict: Some(c.allocs_per_op.verdict),
            old_reallocs_per_op: Some(c.reallocs_per_op.old),
            new_reallocs_per_op: Some(c.reallocs_per_op.new),
            reallocs_per_op_verdict: Some(c.reallocs_per_op.verdict),
            old_bytes_per_op: Some(c.bytes_per_op.old),
            new_bytes_per_op: Some(c.bytes_per_op.new),
            bytes_per_op_verdict: Some(c.bytes_per_op.verdict),
            old_peak_heap_bytes: Some(c.peak_heap_bytes.old),
            new_peak_heap_bytes: Some(c.peak_heap_bytes.new),
            peak_heap_bytes_verdict: Some(c.peak_heap_bytes.verdict),
        }
    }
}

fn csv(compared: &Compared) -> Result<String, RenderError> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    for c in &compared.changes {
        writer.serialize(CsvChange::from(c))?;
    }
    for (rows, verdict) in [
        (&compared.only_old, "only_in_old"),
        (&compared.only_new, "only_in_new"),
        (&compared.not_compared, "not_compared"),
    ] {
        for row in rows {
            writer.serialize(CsvChange {
                experiment: &row.experiment,
                variant: &row.variant,
                size: row.size,
                verdict,
                ..CsvChange::default()
            })?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| RenderError::CsvText(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| RenderError::CsvText(e.to_string()))
}
