//! Many figures into one row: several runs of a variant (`heaplab bench --runs`), or the
//! dashboard's steady-state intervals of one (the session file, the tour).

use std::collections::BTreeMap;

use heaplab_experiments::ExperimentInfo;
use heaplab_experiments::measure::Sample;
use heaplab_experiments::stats;

use super::row::{RowStatus, VariantRow, pair};

/// Operations per second at `ns` per operation (0 for no time).
fn rate(ns: f64) -> f64 {
    if ns > 0.0 { 1e9 / ns } else { 0.0 }
}

impl VariantRow {
    /// One row from several runs of the same variant: ns/op and ops/s are the medians, with
    /// their 95% intervals; per-operation counts are over every operation of every run; the
    /// peak is the highest. A run that did not end well (over budget, panicked, crashed) gives
    /// the row its status and error, and its figures count only if no run ended well.
    #[must_use]
    pub fn aggregate(runs: &[VariantRow]) -> Option<VariantRow> {
        let first = runs.first()?;
        let failed = runs.iter().find(|r| r.status != RowStatus::Ok);
        let ok: Vec<&VariantRow> = runs.iter().filter(|r| r.status == RowStatus::Ok).collect();
        let pool: Vec<&VariantRow> = if ok.is_empty() {
            runs.iter().collect()
        } else {
            ok
        };
        let iterations: u64 = pool.iter().map(|r| r.iterations).sum();
        let per_op = |f: fn(&VariantRow) -> f64| {
            let total: f64 = pool.iter().map(|r| f(r) * r.iterations as f64).sum();
            if iterations == 0 {
                0.0
            } else {
                total / iterations as f64
            }
        };
        let ns: Vec<f64> = pool.iter().map(|r| r.ns_per_op).collect();
        let ns_per_op = stats::median(&ns);
        let ci = stats::median_ci(&ns);
        // Work per second is ops/s times the work of an operation (over every operation of
        // every run), so the two throughputs a row prints always agree: a median of each run's
        // work rate would not be the median ops/s times anything.
        let work_per_op = per_op(VariantRow::work_per_op);
        Some(VariantRow {
            iterations,
            ns_per_op,
            allocs_per_op: per_op(|r| r.allocs_per_op),
            bytes_per_op: per_op(|r| r.bytes_per_op),
            reallocs_per_op: per_op(|r| r.reallocs_per_op),
            peak_heap_bytes: pool.iter().map(|r| r.peak_heap_bytes).max().unwrap_or(0),
            ops_per_sec: rate(ns_per_op),
            work_per_sec: rate(ns_per_op) * work_per_op,
            extra: pool.last().map_or_else(BTreeMap::new, |r| r.extra.clone()),
            status: failed.map_or(RowStatus::Ok, |r| r.status),
            error: failed.and_then(|r| r.error.clone()),
            runs: pool.len(),
            ns_per_op_ci95: pair(ci),
            ops_per_sec_ci95: pair(ci.map(|(low, high)| (rate(high), rate(low)))),
            ns_per_op_runs: ns,
            sites: pool.iter().find_map(|r| r.sites.clone()),
            ..first.clone()
        })
    }

    /// A dashboard variant's row: the counts over every operation of `sample` (all its runs
    /// added up), and ns/op as the dashboard's table shows it, the median of the steady-state
    /// `intervals` (ns/op per sample) with its 95% interval, the intervals as the row's runs.
    #[must_use]
    pub fn from_intervals(
        info: &'static ExperimentInfo,
        variant: usize,
        sample: &Sample,
        intervals: &[f64],
    ) -> VariantRow {
        let name = info.variants[variant].name;
        let mut row = VariantRow::from_sample(info, name, sample.size, sample);
        if !intervals.is_empty() {
            let work_per_op = row.work_per_op();
            row.ns_per_op = stats::median(intervals);
            row.ns_per_op_ci95 = pair(stats::median_ci(intervals));
            row.ops_per_sec = 1e9 / row.ns_per_op;
            row.ops_per_sec_ci95 = row.ns_per_op_ci95.map(|[l, h]| [1e9 / h, 1e9 / l]);
            row.work_per_sec = row.ops_per_sec * work_per_op;
            row.runs = intervals.len();
            row.ns_per_op_runs = intervals.to_vec();
        }
        row
    }

    /// The work of one operation, in the row's `work_unit` (0 without operations).
    fn work_per_op(&self) -> f64 {
        if self.ops_per_sec > 0.0 {
            self.work_per_sec / self.ops_per_sec
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 22 item 8: a row's ops/s and its work per second say the same throughput (413 k
    /// ops/s beside 424 MiB/s at 1024 B/op did not), whatever the spread of the runs.
    #[test]
    fn a_rows_two_throughputs_agree() {
        let info = heaplab_experiments::catalog()
            .iter()
            .find(|e| e.info().id == "buffer-reuse")
            .expect("buffer-reuse")
            .info();
        let runs: Vec<VariantRow> = [100u64, 110, 120, 130, 140, 200]
            .iter()
            .map(|&ns| {
                let ops = 1_000_000;
                let sample = Sample {
                    ops,
                    work: ops * 1024,
                    measured_for: std::time::Duration::from_nanos(ns * ops),
                    ..Sample::default()
                };
                VariantRow::from_sample(info, "naive", 1024, &sample)
            })
            .collect();
        let row = VariantRow::aggregate(&runs).expect("a row");
        let bytes_per_op = row.work_per_sec / row.ops_per_sec;
        assert!(
            (bytes_per_op - 1024.0).abs() < 1e-9,
            "{} ops/s beside {} B/s: {bytes_per_op} B/op",
            row.ops_per_sec,
            row.work_per_sec
        );
    }
}
