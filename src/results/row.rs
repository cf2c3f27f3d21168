//! A row: one experiment variant's figures, as `heaplab bench` exports them, and how its run
//! ended.

use std::borrow::Cow;
use std::collections::BTreeMap;

use heaplab_experiments::ExperimentInfo;
use heaplab_experiments::compare::{Comparison, SpeedVerdict};
use heaplab_experiments::measure::{FirstOp, Measurement, Phase, Sample};
use heaplab_experiments::sites::Sites;
use serde::{Deserialize, Serialize};

/// How a row's run ended.
///
/// Not the engine's [`Phase`]: a worker that panicked or died sends no measurement, so only the
/// row can say so; an over-budget stop becomes this in one place ([`RowStatus::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Measured to the end.
    Ok,
    /// Stopped when its live heap passed `--budget`; figures cover what ran before.
    OverBudget,
    /// The experiment panicked; no figures.
    Panicked,
    /// The worker process died (a signal, an abort); no figures.
    Crashed,
}

impl RowStatus {
    /// How a measured run ended (its last sample's phase), in a row's words: its status, and
    /// what stopped it (`None` when it ran to the end).
    #[must_use]
    pub fn of(ended: Phase) -> (Self, Option<String>) {
        match ended {
            Phase::OverBudget { live_bytes, after } => (
                RowStatus::OverBudget,
                Some(format!(
                    "over budget at {live_bytes} bytes after {:.2} s",
                    after.as_secs_f64()
                )),
            ),
            _ => (RowStatus::Ok, None),
        }
    }
}

/// One measured experiment variant: the figures of one run, or of several aggregated
/// ([`VariantRow::aggregate`]), with its comparison against the baseline.
///
/// The one figure type that is exported and read back (`bench --format json`, the session
/// file, `heaplab compare`), so its field names are the exports' keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantRow {
    /// The experiment's id.
    pub experiment: Cow<'static, str>,
    /// The variant's name.
    pub variant: Cow<'static, str>,
    /// The workload size.
    pub size: usize,
    /// Measured operations (after the warm-up).
    pub iterations: u64,
    /// Nanoseconds per operation.
    pub ns_per_op: f64,
    /// Allocations per operation.
    pub allocs_per_op: f64,
    /// Bytes allocated per operation (realloc growth included).
    pub bytes_per_op: f64,
    /// Reallocations per operation.
    pub reallocs_per_op: f64,
    /// The variant's peak live heap, setup included.
    pub peak_heap_bytes: u64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Work done per second, in `work_unit` (`bytes_per_sec` in exports from before the unit).
    #[serde(alias = "bytes_per_sec")]
    pub work_per_sec: f64,
    /// What the experiment's work is counted in (`bytes`, `records`, `lookups`...): the same
    /// work for every variant. Exports from before it was recorded read as `bytes`.
    #[serde(default = "bytes_unit")]
    pub work_unit: Cow<'static, str>,
    /// Digest of the warm-up operations' results, as 16 hex digits.
    pub checksum: String,
    /// Against the naive row (`None` on the naive row, or if naive was not measured).
    pub vs_naive: Option<Comparison>,
    /// The experiment's own counters (pool hits, cache hit rate...).
    pub extra: BTreeMap<String, f64>,
    /// How the run ended.
    pub status: RowStatus,
    /// What stopped it, in words (`None` when it ran to the end).
    pub error: Option<String>,
    /// Independent runs behind the figures (each in a fresh worker process).
    #[serde(default = "one")]
    pub runs: usize,
    /// ns/op of each run, in the order measured: what `heaplab compare` tests.
    #[serde(default)]
    pub ns_per_op_runs: Vec<f64>,
    /// 95% confidence interval of the median ns/op (`None` with fewer than 6 runs).
    #[serde(default)]
    pub ns_per_op_ci95: Option<[f64; 2]>,
    /// 95% confidence interval of ops/s, the same runs seen as rates.
    #[serde(default)]
    pub ops_per_sec_ci95: Option<[f64; 2]>,
    /// Against naive: how many times faster (Hodges-Lehmann estimate over the runs).
    #[serde(default)]
    pub speedup: Option<f64>,
    /// Its 95% confidence interval.
    #[serde(default)]
    pub speedup_ci95: Option<[f64; 2]>,
    /// The Mann-Whitney p-value of the runs against naive's.
    #[serde(default)]
    pub speedup_p_value: Option<f64>,
    /// `faster`, `slower`, or `same` (no significant difference at p < 0.05).
    #[serde(default)]
    pub speed_verdict: Option<SpeedVerdict>,
    /// Where the variant allocates (`bench --sites`): its operations replayed with every
    /// allocation captured; the sites' allocs/op add up to the window's, which is the row's
    /// when the window replayed all of them (`sites.ops == iterations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<Sites>,
    /// The first operation of the (first) run, cold, beside the steady state the other
    /// figures are: a first call's one-time costs (a per-thread cache, a buffer's first growth)
    /// that the warm-up keeps out of them. `null` in exports from before it was recorded.
    #[serde(default)]
    pub first_op: Option<FirstOp>,
}

fn one() -> usize {
    1
}

fn bytes_unit() -> Cow<'static, str> {
    Cow::Borrowed("bytes")
}

/// An interval as a row stores it.
pub(super) fn pair(interval: Option<(f64, f64)>) -> Option<[f64; 2]> {
    interval.map(|(low, high)| [low, high])
}

impl VariantRow {
    /// A row of `variant` of `info` at `size` with no figures: nothing measured, no runs
    /// behind it, ended well.
    fn blank(info: &'static ExperimentInfo, variant: &'static str, size: usize) -> Self {
        VariantRow {
            experiment: Cow::Borrowed(info.id),
            variant: Cow::Borrowed(variant),
            size,
            iterations: 0,
            ns_per_op: 0.0,
            allocs_per_op: 0.0,
            bytes_per_op: 0.0,
            reallocs_per_op: 0.0,
            peak_heap_bytes: 0,
            ops_per_sec: 0.0,
            work_per_sec: 0.0,
            work_unit: Cow::Borrowed(info.work_unit.name()),
            checksum: String::new(),
            vs_naive: None,
            extra: BTreeMap::new(),
            status: RowStatus::Ok,
            error: None,
            runs: 1,
            ns_per_op_runs: Vec::new(),
            ns_per_op_ci95: None,
            ops_per_sec_ci95: None,
            speedup: None,
            speedup_ci95: None,
            speedup_p_value: None,
            speed_verdict: None,
            sites: None,
            first_op: None,
        }
    }

    /// The row of a run's figures so far: one run, no checksum, no counters of its own. What
    /// the dashboard's figures are judged (the tour) and kept (the session file) as.
    #[must_use]
    pub fn from_sample(
        info: &'static ExperimentInfo,
        variant: &'static str,
        size: usize,
        sample: &Sample,
    ) -> Self {
        VariantRow {
            iterations: sample.ops,
            ns_per_op: sample.ns_per_op(),
            allocs_per_op: sample.allocs_per_op(),
            bytes_per_op: sample.bytes_per_op(),
            reallocs_per_op: sample.reallocs_per_op(),
            peak_heap_bytes: sample.peak_heap_bytes,
            ops_per_sec: sample.ops_per_sec(),
            work_per_sec: sample.work_per_sec(),
            ns_per_op_runs: vec![sample.ns_per_op()],
            first_op: sample.first_op,
            ..Self::blank(info, variant, size)
        }
    }

    /// The row of a measured run of `variant` of `info` at `size`: its last sample's figures,
    /// its checksum and counters, and how it ended.
    #[must_use]
    pub fn from_measurement(
        info: &'static ExperimentInfo,
        variant: &'static str,
        size: usize,
        m: &Measurement,
    ) -> Self {
        let (status, error) = RowStatus::of(m.sample.phase);
        VariantRow {
            checksum: m.checksum_hex(),
            extra: m.extra_counters.iter().cloned().collect(),
            status,
            error,
            ..Self::from_sample(info, variant, size, &m.sample)
        }
    }

    /// The row of a run that produced no figures (it panicked, its worker died): `status`,
    /// and `error` saying what happened.
    #[must_use]
    pub fn failed(
        info: &'static ExperimentInfo,
        variant: &'static str,
        size: usize,
        status: RowStatus,
        error: String,
    ) -> Self {
        VariantRow {
            status,
            error: Some(error),
            ..Self::blank(info, variant, size)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn info() -> &'static ExperimentInfo {
        heaplab_experiments::catalog()[0].info()
    }

    /// A run that produced nothing has no figure at all, not a sample's zeros standing in for
    /// them: no operation, no run time, and the words of what happened.
    #[test]
    fn a_failed_row_has_its_status_and_no_figures() {
        let row = VariantRow::failed(
            info(),
            "naive",
            10,
            RowStatus::Crashed,
            "crashed: SIGSEGV".into(),
        );
        assert_eq!(row.status, RowStatus::Crashed);
        assert_eq!(row.error.as_deref(), Some("crashed: SIGSEGV"));
        assert_eq!((row.iterations, row.peak_heap_bytes), (0, 0));
        assert!(row.ns_per_op_runs.is_empty(), "{:?}", row.ns_per_op_runs);
        assert!(row.checksum.is_empty());
        assert_eq!(row.work_unit, info().work_unit.name());
    }

    /// A sample judged as a row carries its figures and nothing it did not measure: no
    /// checksum (a made-up `0000000000000000` would read as a digest), no counters.
    #[test]
    fn a_sample_becomes_a_row_without_a_checksum() {
        let sample = Sample {
            ops: 1000,
            allocs: 2000,
            bytes_allocated: 64_000,
            work: 4000,
            peak_heap_bytes: 4096,
            measured_for: Duration::from_micros(250),
            ..Sample::default()
        };
        let row = VariantRow::from_sample(info(), "naive", 10, &sample);
        assert!(row.checksum.is_empty());
        assert!(row.extra.is_empty());
        assert_eq!(row.status, RowStatus::Ok);
        assert_eq!((row.iterations, row.peak_heap_bytes), (1000, 4096));
        assert!((row.ns_per_op - 250.0).abs() < 1e-9, "{}", row.ns_per_op);
        assert!((row.allocs_per_op - 2.0).abs() < 1e-12);
        assert!((row.bytes_per_op - 64.0).abs() < 1e-12);
        assert!((row.ops_per_sec - 4e6).abs() < 1e-3);
        assert!((row.work_per_sec - 16e6).abs() < 1e-3);
        assert_eq!(row.ns_per_op_runs, [row.ns_per_op]);
    }

    /// An over-budget stop is worded in one place, the same for every row.
    #[test]
    fn an_over_budget_stop_is_the_rows_status_and_error() {
        let (status, error) = RowStatus::of(Phase::OverBudget {
            live_bytes: 1_048_576,
            after: Duration::from_millis(1500),
        });
        assert_eq!(status, RowStatus::OverBudget);
        assert_eq!(
            error.as_deref(),
            Some("over budget at 1048576 bytes after 1.50 s")
        );
        assert_eq!(RowStatus::of(Phase::Exited), (RowStatus::Ok, None));
    }
}
