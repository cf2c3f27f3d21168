//! `heaplab bench --format csv`: one header line, one flat line per row.

use heaplab_experiments::compare::SpeedVerdict;
use serde::Serialize;

use super::{RenderError, extra_text};
use crate::results::{RowStatus, VariantRow};

/// A row flattened for CSV.
///
/// Not a [`VariantRow`]: a CSV cell holds no list or map, so the comparison, the intervals and
/// the counters and the first operation are spread over columns of their own (and the sites
/// and runs left out).
#[derive(Serialize)]
struct CsvRow<'a> {
    experiment: &'a str,
    variant: &'a str,
    size: usize,
    iterations: u64,
    ns_per_op: f64,
    allocs_per_op: f64,
    bytes_per_op: f64,
    reallocs_per_op: f64,
    peak_heap_bytes: u64,
    ops_per_sec: f64,
    work_per_sec: f64,
    work_unit: &'a str,
    checksum: &'a str,
    allocs_reduction_pct: Option<f64>,
    peak_heap_reduction_pct: Option<f64>,
    speedup: Option<f64>,
    same_checksum: Option<bool>,
    extra: String,
    status: RowStatus,
    error: Option<&'a str>,
    runs: usize,
    ns_per_op_ci95_low: Option<f64>,
    ns_per_op_ci95_high: Option<f64>,
    ops_per_sec_ci95_low: Option<f64>,
    ops_per_sec_ci95_high: Option<f64>,
    speedup_ci95_low: Option<f64>,
    speedup_ci95_high: Option<f64>,
    speedup_p_value: Option<f64>,
    speed_verdict: Option<SpeedVerdict>,
    first_op_allocs: Option<u64>,
    first_op_reallocs: Option<u64>,
    first_op_bytes_allocated: Option<u64>,
    first_op_ns: Option<u64>,
}

impl<'a> From<&'a VariantRow> for CsvRow<'a> {
    fn from(row: &'a VariantRow) -> Self {
        CsvRow {
            experiment: &row.experiment,
            variant: &row.variant,
            size: row.size,
            iterations: row.iterations,
            ns_per_op: row.ns_per_op,
            allocs_per_op: row.allocs_per_op,
            bytes_per_op: row.bytes_per_op,
            reallocs_per_op: row.reallocs_per_op,
            peak_heap_bytes: row.peak_heap_bytes,
            ops_per_sec: row.ops_per_sec,
            work_per_sec: row.work_per_sec,
            work_unit: &row.work_unit,
            checksum: &row.checksum,
            allocs_reduction_pct: row.vs_naive.and_then(|v| v.allocs_reduction_pct),
            peak_heap_reduction_pct: row.vs_naive.and_then(|v| v.peak_heap_reduction_pct),
            speedup: row.vs_naive.map(|v| v.speedup),
            same_checksum: row.vs_naive.map(|v| v.same_checksum),
            extra: extra_text(&row.extra),
            status: row.status,
            error: row.error.as_deref(),
            runs: row.runs,
            ns_per_op_ci95_low: row.ns_per_op_ci95.map(|c| c[0]),
            ns_per_op_ci95_high: row.ns_per_op_ci95.map(|c| c[1]),
            ops_per_sec_ci95_low: row.ops_per_sec_ci95.map(|c| c[0]),
            ops_per_sec_ci95_high: row.ops_per_sec_ci95.map(|c| c[1]),
            speedup_ci95_low: row.speedup_ci95.map(|c| c[0]),
            speedup_ci95_high: row.speedup_ci95.map(|c| c[1]),
            speedup_p_value: row.speedup_p_value,
            speed_verdict: row.speed_verdict,
            first_op_allocs: row.first_op.map(|f| f.allocs),
            first_op_reallocs: row.first_op.map(|f| f.reallocs),
            first_op_bytes_allocated: row.first_op.map(|f| f.bytes_allocated),
            first_op_ns: row.first_op.map(|f| f.ns),
        }
    }
}

/// The rows as CSV, a header line first.
pub(super) fn render(rows: &[VariantRow]) -> Result<String, RenderError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(CsvRow::from(row))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| RenderError::CsvText(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| RenderError::CsvText(e.to_string()))
}
