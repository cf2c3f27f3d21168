//! `heaplab bench`'s aligned table and Markdown: a line per row, its top allocation sites
//! under it; and the column layout `heaplab compare` shares.

use std::fmt::Write as _;

use heaplab_experiments::compare::Comparison;
use heaplab_experiments::sites::Sites;

use super::extra_text;
use crate::results::VariantRow;
use crate::units;

const HEADERS: [&str; 15] = [
    "experiment",
    "variant",
    "size",
    "runs",
    "iterations",
    "ns/op",
    "±95%",
    "allocs/op",
    "bytes/op",
    "reallocs/op",
    "peak heap",
    "ops/s",
    "throughput",
    "checksum",
    "vs naive",
];

fn cells(row: &VariantRow) -> Vec<String> {
    // A stopped run says why instead of comparing.
    let mut vs = match &row.error {
        Some(error) => error.clone(),
        None => row
            .vs_naive
            .as_ref()
            .map(Comparison::text)
            .unwrap_or_default(),
    };
    if !row.extra.is_empty() {
        if !vs.is_empty() {
            vs.push_str("; ");
        }
        vs.push_str(&extra_text(&row.extra));
    }
    vec![
        row.experiment.to_string(),
        row.variant.to_string(),
        row.size.to_string(),
        row.runs.to_string(),
        row.iterations.to_string(),
        format!("{:.1}", row.ns_per_op),
        spread_text(row.ns_per_op, row.ns_per_op_ci95),
        format!("{:.2}", row.allocs_per_op),
        format!("{:.0}", row.bytes_per_op),
        format!("{:.2}", row.reallocs_per_op),
        units::bytes(row.peak_heap_bytes),
        units::count(row.ops_per_sec),
        units::work_rate(&row.work_unit, row.work_per_sec),
        row.checksum.clone(),
        vs,
    ]
}

/// The comparison column's name: `vs naive` when every row's experiment compares with a
/// variant called `naive`, a lab's own baseline's name (`vs value`) likewise, `vs baseline`
/// when they differ.
fn vs_header(rows: &[VariantRow]) -> String {
    let mut baselines = rows
        .iter()
        .filter_map(|row| crate::catalog::find(&row.experiment))
        .map(|experiment| experiment.info().baseline());
    let first = baselines.next().unwrap_or("naive");
    if baselines.all(|name| name == first) {
        format!("vs {first}")
    } else {
        "vs baseline".to_owned()
    }
}

/// The half-width of a 95% interval as a share of the median, the wider side: `±1.2%`
/// (`–` without an interval).
#[must_use]
pub fn spread_text(median: f64, interval: Option<[f64; 2]>) -> String {
    match interval {
        Some([low, high]) if median > 0.0 => {
            let half = (median - low).max(high - median) / median * 100.0;
            if half < 10.0 {
                format!("±{half:.1}%")
            } else {
                format!("±{half:.0}%")
            }
        }
        _ => "–".to_owned(),
    }
}

/// The rows whose first operation, cold, counted other than their steady state, a line each
/// (`lab reuse: first op 11 allocs + 2 reallocs, 1.4 KiB, 38.2 µs; steady 9.00 allocs/op +
/// 0.00 reallocs/op`; reallocations only where either side has any): the one-time costs (a per-thread cache, a buffer's first growth) that the
/// warm-up keeps out of the table's figures. Empty when every first operation counted as the
/// steady state does, to the nearest whole allocation.
#[must_use]
pub fn first_op_lines(rows: &[VariantRow]) -> Vec<String> {
    rows.iter()
        .filter_map(|row| {
            let first = row.first_op?;
            let apart = |cold: u64, steady: f64| (cold as f64 - steady).abs() >= 0.5;
            let differs = apart(first.allocs, row.allocs_per_op)
                || apart(first.reallocs, row.reallocs_per_op);
            differs.then(|| {
                let took = match first.ns {
                    ns if ns < 10_000 => format!("{ns} ns"),
                    ns if ns < 10_000_000 => format!("{:.1} µs", ns as f64 / 1e3),
                    ns => format!("{:.1} ms", ns as f64 / 1e6),
                };
                // Reallocations only where either side has any.
                let (cold_reallocs, steady_reallocs) =
                    if first.reallocs > 0 || row.reallocs_per_op > 0.0 {
                        (
                            format!(" + {}", units::counted(first.reallocs, "realloc")),
                            format!(" + {:.2} reallocs/op", row.reallocs_per_op),
                        )
                    } else {
                        (String::new(), String::new())
                    };
                format!(
                    "{} {}: first op {}{cold_reallocs}, {}, {took}; steady {:.2} allocs/op{steady_reallocs}",
                    row.experiment,
                    row.variant,
                    units::counted(first.allocs, "alloc"),
                    units::bytes(first.bytes_allocated),
                    row.allocs_per_op,
                )
            })
        })
        .collect()
}

/// The most sites shown under a row in a table (JSON has them all).
pub const TOP_SITES: usize = 5;

/// The rows as aligned columns, or a Markdown table, with their sites if they have any.
pub(super) fn render_columns(rows: &[VariantRow], markdown: bool) -> String {
    let table: Vec<Vec<String>> = rows.iter().map(cells).collect();
    let vs = vs_header(rows);
    let mut headers = HEADERS;
    headers[14] = &vs;
    let text = render_table(&headers, &table, &[0, 1, 13, 14], markdown);
    let mut out = with_sites(rows, text, markdown);
    let cold = first_op_lines(rows);
    if !cold.is_empty() {
        // Under the table and its sites (a Markdown table cannot hold lines of another shape).
        let _ = writeln!(
            out,
            "\nFirst operation, cold, where it differs from the steady state:"
        );
        for line in cold {
            let bullet = if markdown { "- " } else { "  " };
            let _ = writeln!(out, "{bullet}{line}");
        }
    }
    out
}

/// The table `text` of `rows` with each row's top sites, if any row has them.
fn with_sites(rows: &[VariantRow], text: String, markdown: bool) -> String {
    if !rows.iter().any(|row| row.sites.is_some()) {
        return text;
    }
    if markdown {
        // A table cannot hold lines of another shape: the sites follow it, a list per row.
        let mut out = text;
        let _ = writeln!(out, "\nAllocation sites (top {TOP_SITES} per variant):");
        for row in rows {
            let Some(sites) = &row.sites else { continue };
            let _ = writeln!(out, "\n- **{} {}**", row.experiment, row.variant);
            for line in site_lines(sites) {
                let _ = writeln!(out, "  - `{line}`");
            }
        }
        return out;
    }
    // Under each row, its top sites, indented.
    let mut lines = text.lines();
    let mut out = String::new();
    if let Some(header) = lines.next() {
        out.push_str(header);
        out.push('\n');
    }
    for (row, line) in rows.iter().zip(lines) {
        out.push_str(line);
        out.push('\n');
        if let Some(sites) = &row.sites {
            for site in site_lines(sites) {
                let _ = writeln!(out, "    {site}");
            }
        }
    }
    out
}

/// A row's top sites, a line each (`1.00 allocs/op  24 B/op  100%  src/a.rs:12  a::f`), or
/// one line saying it allocates nowhere.
#[must_use]
pub fn site_lines(sites: &Sites) -> Vec<String> {
    if sites.sites.is_empty() && sites.sample_every > 0 {
        return vec![format!(
            "no allocation sampled over {} ops (one per ~{})",
            sites.ops,
            units::bytes(sites.sample_every)
        )];
    }
    if sites.sites.is_empty() {
        return vec![format!(
            "no allocation site: 0 allocs/op over {} ops captured",
            sites.ops
        )];
    }
    let mut out: Vec<String> = sites
        .sites
        .iter()
        .take(TOP_SITES)
        .map(|site| {
            let mut counts = format!("{:>8.2} allocs/op", site.allocs_per_op);
            if site.reallocs_per_op > 0.0 {
                let _ = write!(counts, " {:.2} reallocs/op", site.reallocs_per_op);
            }
            format!(
                "{counts} {:>10}/op {:>4.0}%  {}  {}",
                units::bytes(site.bytes_per_op.round() as u64),
                site.share * 100.0,
                site.location(),
                site.function
            )
        })
        .collect();
    if sites.sample_every > 0 {
        out.insert(
            0,
            format!(
                "≈ sampled, one allocation per ~{} over {} ops: estimates",
                units::bytes(sites.sample_every),
                sites.ops
            ),
        );
    }
    if sites.sites.len() > TOP_SITES {
        out.push(format!(
            "... {} more ({} captured)",
            units::counted((sites.sites.len() - TOP_SITES) as u64, "site"),
            units::counted(sites.ops, "op")
        ));
    }
    out
}

/// Aligned columns (or a Markdown table): text columns (`left`) to the left, figures right.
#[must_use]
pub fn render_table(
    headers: &[&str],
    table: &[Vec<String>],
    left: &[usize],
    markdown: bool,
) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for line in table {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let left = |column: usize| left.contains(&column);
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (column, cell) in cells.enumerate() {
            let width = widths[column];
            if markdown {
                text.push_str("| ");
            } else if column > 0 {
                text.push_str("  ");
            }
            if left(column) {
                let _ = write!(text, "{cell:<width$}");
            } else {
                let _ = write!(text, "{cell:>width$}");
            }
            if markdown {
                text.push(' ');
            }
        }
        if markdown {
            text.push('|');
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    if markdown {
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(column, &w)| {
                if left(column) {
                    format!(":{}", "-".repeat(w.max(2) - 1))
                } else {
                    format!("{}:", "-".repeat(w.max(2) - 1))
                }
            })
            .collect();
        line(&mut rule.iter().map(String::as_str));
    }
    for cells in table {
        line(&mut cells.iter().map(String::as_str));
    }
    out
}
