//! One experiment variant before and after a change (`heaplab compare`): every figure of two
//! rows set against each other and judged. Counts (allocs/op, reallocs/op, bytes/op, peak heap)
//! are exact, so they change or they do not; time is judged by its runs' test, a minimum
//! effect size and whether both sides were measured on the same host.

use heaplab_experiments::stats;
use serde::Serialize;

use super::row::VariantRow;

/// A significant time change smaller than this, in percent, is reported as no change (`~`):
/// process-to-process drift on a quiet machine moved medians by up to 13% between two exports
/// of one build (issue 25), so a few percent is noise whatever its p-value.
pub const DEFAULT_MIN_EFFECT_PCT: f64 = 5.0;

/// How far, in percent of the larger side, a count may move before it is called a change when
/// the two sides measured different numbers of operations (time-bound runs): each side's
/// figure is then an average over a different stretch of the workload. Measured between two
/// time-bound exports of one build: bounded-cache's optimized allocs/op moved 4.5%, its bytes/op
/// 9.7%, size-classes' naive bytes/op 6.8%.
pub const OTHER_OPERATIONS_TOLERANCE_PCT: f64 = 25.0;

/// How far, in percent of the larger side, a count may move in a variant that declares its
/// allocations depend on scheduling
/// ([`Experiment::depends_on_scheduling`](heaplab_experiments::Experiment::depends_on_scheduling)):
/// channel-pool's alloc-on-empty measured 0.16 to 0.27 allocs/op in six time-bound exports.
pub const SCHEDULING_TOLERANCE_PCT: f64 = 50.0;

/// Two counts that differ by less than this share of the larger are the same: the rounding of
/// a per-operation average, not a change.
const ROUNDING: f64 = 1e-9;

/// A figure `heaplab compare` judges; `--fail-on` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// ns/op: its runs' test, above the minimum effect, on one host.
    Time,
    /// allocs/op.
    Allocs,
    /// reallocs/op.
    Reallocs,
    /// bytes/op.
    Bytes,
    /// Peak heap.
    Peak,
}

impl Figure {
    /// Every figure, in the order a comparison shows them.
    pub const ALL: [Figure; 5] = [
        Figure::Time,
        Figure::Allocs,
        Figure::Reallocs,
        Figure::Bytes,
        Figure::Peak,
    ];

    /// The figure's name in a report: `allocs/op`, `peak heap`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Figure::Time => "ns/op",
            Figure::Allocs => "allocs/op",
            Figure::Reallocs => "reallocs/op",
            Figure::Bytes => "bytes/op",
            Figure::Peak => "peak heap",
        }
    }
}

/// What happened to a figure (or to a row, its worst figure's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Worse: more allocations, bytes or peak heap, or significantly slower.
    Regressed,
    /// Better.
    Improved,
    /// Moved, but within the tolerance for this comparison (for time: a change the runs show,
    /// below the minimum effect or measured on different hosts).
    WithinTolerance,
    /// The same figure (for time: no change the runs show).
    Same,
}

impl Verdict {
    /// The verdict's word in exports: `regressed`, `within_tolerance`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::WithinTolerance => "within_tolerance",
            Verdict::Same => "same",
        }
    }
}

/// One count before and after.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CountChange {
    /// Before.
    pub old: f64,
    /// After.
    pub new: f64,
    /// The change in percent of the old figure (`None` from 0).
    pub change_pct: Option<f64>,
    /// Judged with the row's tolerance.
    pub verdict: Verdict,
}

impl CountChange {
    /// `old` against `new`: more is worse; a move within `tolerance_pct` of the larger is
    /// within tolerance, below [`ROUNDING`] the same.
    fn judge(old: f64, new: f64, tolerance_pct: f64) -> Self {
        let larger = old.abs().max(new.abs());
        let moved = if larger > 0.0 {
            (new - old).abs() / larger
        } else {
            0.0
        };
        let verdict = if moved <= ROUNDING {
            Verdict::Same
        } else if moved * 100.0 <= tolerance_pct {
            Verdict::WithinTolerance
        } else if new > old {
            Verdict::Regressed
        } else {
            Verdict::Improved
        };
        CountChange {
            old,
            new,
            change_pct: (old > 0.0).then(|| (new - old) / old * 100.0),
            verdict,
        }
    }
}

/// Time per operation before and after, tested over both sides' runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeChange {
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
    /// Whether the change counts: p < 0.05, at least the minimum effect, and both sides
    /// measured on the same host.
    pub significant: bool,
    /// Slower is a regression; `same` when the runs show no change (p >= 0.05),
    /// `within_tolerance` when they do but it is not significant (below the minimum effect,
    /// or measured on different hosts).
    pub time_verdict: Verdict,
    /// Runs before.
    pub old_runs: usize,
    /// Runs after.
    pub new_runs: usize,
}

/// How time changes are judged in one comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRules {
    /// A significant change smaller than this, in percent, is no change.
    pub min_effect_pct: f64,
    /// The two exports were measured on different hosts (or with different bench options):
    /// no time change is significant.
    pub hosts_differ: bool,
}

impl Default for TimeRules {
    fn default() -> Self {
        TimeRules {
            min_effect_pct: DEFAULT_MIN_EFFECT_PCT,
            hosts_differ: false,
        }
    }
}

/// The times per operation of a row's runs (its median alone for an export of one run).
fn runs_of(row: &VariantRow) -> Vec<f64> {
    if row.ns_per_op_runs.is_empty() {
        vec![row.ns_per_op]
    } else {
        row.ns_per_op_runs.clone()
    }
}

impl TimeChange {
    /// `before`'s runs against `after`'s (`None` if either has no positive time).
    fn between(before: &VariantRow, after: &VariantRow, rules: TimeRules) -> Option<Self> {
        let (old, new) = (runs_of(before), runs_of(after));
        // The ratio new/old of times: above 1 is slower.
        let (ratio, interval) = stats::ratio_ci(&new, &old)?;
        let p_value = stats::mann_whitney(&old, &new)?.p_value;
        let pct = |r: f64| (r - 1.0) * 100.0;
        let change_pct = pct(ratio);
        let tested = p_value < stats::ALPHA;
        let significant = tested && change_pct.abs() >= rules.min_effect_pct && !rules.hosts_differ;
        let time_verdict = match (tested, significant, change_pct > 0.0) {
            (false, _, _) => Verdict::Same,
            (true, false, _) => Verdict::WithinTolerance,
            (true, true, true) => Verdict::Regressed,
            (true, true, false) => Verdict::Improved,
        };
        Some(TimeChange {
            old_ns_per_op: stats::median(&old),
            old_ns_per_op_ci95: stats::median_ci(&old).map(|(l, h)| [l, h]),
            new_ns_per_op: stats::median(&new),
            new_ns_per_op_ci95: stats::median_ci(&new).map(|(l, h)| [l, h]),
            change_pct,
            change_pct_ci95: interval.map(|(low, high)| [pct(low), pct(high)]),
            p_value,
            significant,
            time_verdict,
            old_runs: old.len(),
            new_runs: new.len(),
        })
    }
}

/// One experiment and variant, before and after: every figure judged.
///
/// Not a [`VariantRow`]: two rows set against each other, each figure's change and verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The experiment's id.
    pub experiment: String,
    /// The variant's name.
    pub variant: String,
    /// The workload size (the same on both sides).
    pub size: usize,
    /// Both sides measured the same number of operations in the same number of runs (bench
    /// `--iterations`), so their counts are exact: any move is a change.
    pub same_operations: bool,
    /// The variant declares that its allocations depend on scheduling.
    pub depends_on_scheduling: bool,
    /// How far a count may move, in percent of the larger side, before it is a change.
    pub count_tolerance_pct: f64,
    /// Time, if both sides have runs to test (flattened: `old_ns_per_op`, `change_pct`...).
    #[serde(flatten)]
    pub time: Option<TimeChange>,
    /// Allocations per operation.
    pub allocs_per_op: CountChange,
    /// Reallocations per operation.
    pub reallocs_per_op: CountChange,
    /// Bytes allocated per operation.
    pub bytes_per_op: CountChange,
    /// Peak live heap, in bytes.
    pub peak_heap_bytes: CountChange,
    /// The row's verdict: regressed if any figure did, else improved if any did, else the
    /// same (within tolerance when something moved).
    pub verdict: Verdict,
}

impl Change {
    /// `before` against `after` (the same experiment, variant and size): counts judged with
    /// the tolerance that fits (none for the same operations), time by `rules`.
    /// `depends_on_scheduling` is the variant's own declaration.
    #[must_use]
    pub fn between(
        before: &VariantRow,
        after: &VariantRow,
        depends_on_scheduling: bool,
        rules: TimeRules,
    ) -> Self {
        let same_operations = before.iterations == after.iterations && before.runs == after.runs;
        let count_tolerance_pct = match (depends_on_scheduling, same_operations) {
            (true, _) => SCHEDULING_TOLERANCE_PCT,
            (false, true) => 0.0,
            (false, false) => OTHER_OPERATIONS_TOLERANCE_PCT,
        };
        let count = |figure: fn(&VariantRow) -> f64| {
            CountChange::judge(figure(before), figure(after), count_tolerance_pct)
        };
        let mut change = Change {
            experiment: before.experiment.to_string(),
            variant: before.variant.to_string(),
            size: before.size,
            same_operations,
            depends_on_scheduling,
            count_tolerance_pct,
            time: TimeChange::between(before, after, rules),
            allocs_per_op: count(|r| r.allocs_per_op),
            reallocs_per_op: count(|r| r.reallocs_per_op),
            bytes_per_op: count(|r| r.bytes_per_op),
            peak_heap_bytes: count(|r| r.peak_heap_bytes as f64),
            verdict: Verdict::Same,
        };
        change.verdict = Figure::ALL
            .iter()
            .filter_map(|&f| change.verdict_of(f))
            .min()
            .unwrap_or(Verdict::Same);
        change
    }

    /// The verdict on `figure` (`None`: time without runs to test).
    #[must_use]
    pub fn verdict_of(&self, figure: Figure) -> Option<Verdict> {
        match figure {
            Figure::Time => self.time.as_ref().map(|t| t.time_verdict),
            Figure::Allocs => Some(self.allocs_per_op.verdict),
            Figure::Reallocs => Some(self.reallocs_per_op.verdict),
            Figure::Bytes => Some(self.bytes_per_op.verdict),
            Figure::Peak => Some(self.peak_heap_bytes.verdict),
        }
    }

    /// The count behind `figure` (`None` for time).
    #[must_use]
    pub fn count(&self, figure: Figure) -> Option<&CountChange> {
        match figure {
            Figure::Time => None,
            Figure::Allocs => Some(&self.allocs_per_op),
            Figure::Reallocs => Some(&self.reallocs_per_op),
            Figure::Bytes => Some(&self.bytes_per_op),
            Figure::Peak => Some(&self.peak_heap_bytes),
        }
    }

    /// The figures that regressed.
    #[must_use]
    pub fn regressions(&self) -> Vec<Figure> {
        Figure::ALL
            .into_iter()
            .filter(|&f| self.verdict_of(f) == Some(Verdict::Regressed))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heaplab_experiments::measure::Sample;

    fn row(iterations: u64, allocs: u64, peak: u64, ns: &[f64]) -> VariantRow {
        let info = heaplab_experiments::catalog()[0].info();
        let sample = Sample {
            ops: iterations,
            allocs,
            bytes_allocated: allocs * 32,
            peak_heap_bytes: peak,
            measured_for: std::time::Duration::from_micros(iterations),
            ..Sample::default()
        };
        VariantRow {
            runs: ns.len(),
            ns_per_op_runs: ns.to_vec(),
            ..VariantRow::from_sample(info, "optimized", 64, &sample)
        }
    }

    const STEADY: [f64; 6] = [100.0, 101.0, 99.0, 100.5, 99.5, 102.0];

    /// Issue 25 item 1: from 0 to 1 allocation per operation, with the peak tripled, is a
    /// regression of allocs/op, bytes/op and peak heap, each with its size, whatever time did.
    #[test]
    fn an_allocation_where_there_was_none_is_a_regression() {
        let before = row(6000, 0, 4096, &STEADY);
        let after = row(6000, 6000, 3 * 4096, &STEADY);
        let change = Change::between(&before, &after, false, TimeRules::default());
        assert!(change.same_operations);
        assert_eq!(change.allocs_per_op.verdict, Verdict::Regressed);
        assert_eq!(change.allocs_per_op.change_pct, None, "from 0");
        assert_eq!(change.peak_heap_bytes.change_pct, Some(200.0));
        assert_eq!(
            change.regressions(),
            [Figure::Allocs, Figure::Bytes, Figure::Peak]
        );
        assert_eq!(change.reallocs_per_op.verdict, Verdict::Same);
        assert_eq!(change.verdict, Verdict::Regressed);
        // The other way round, the same figures improved.
        let back = Change::between(&after, &before, false, TimeRules::default());
        assert_eq!(back.verdict, Verdict::Improved);
        assert!(back.regressions().is_empty());
    }

    /// Over the same operations a count is exact: one allocation more in 6000 operations is
    /// a change. Over different numbers of operations, and in a variant that depends on
    /// scheduling, a move within the stated tolerance is not.
    #[test]
    fn counts_are_exact_over_the_same_operations_only() {
        let before = row(6000, 6000, 4096, &STEADY);
        let one_more = row(6000, 6001, 4096, &STEADY);
        let exact = Change::between(&before, &one_more, false, TimeRules::default());
        assert_eq!(exact.allocs_per_op.verdict, Verdict::Regressed);
        let longer = row(7000, 7070, 4096, &STEADY);
        let sampled = Change::between(&before, &longer, false, TimeRules::default());
        assert!(!sampled.same_operations);
        assert!((sampled.count_tolerance_pct - OTHER_OPERATIONS_TOLERANCE_PCT).abs() < 1e-12);
        assert_eq!(sampled.allocs_per_op.verdict, Verdict::WithinTolerance);
        let scheduled = Change::between(
            &before,
            &row(6000, 8000, 4096, &STEADY),
            true,
            TimeRules::default(),
        );
        assert_eq!(scheduled.allocs_per_op.verdict, Verdict::WithinTolerance);
        let doubled = Change::between(
            &before,
            &row(6000, 12_001, 4096, &STEADY),
            true,
            TimeRules::default(),
        );
        assert_eq!(doubled.allocs_per_op.verdict, Verdict::Regressed);
    }

    /// Time: a significant slowdown is a regression on one host; below the minimum effect, or
    /// between two hosts, it is no change.
    #[test]
    fn time_counts_above_the_minimum_effect_on_one_host() {
        let before = row(6000, 0, 4096, &STEADY);
        let slower = |pct: f64| {
            let runs: Vec<f64> = STEADY.iter().map(|ns| ns * (1.0 + pct / 100.0)).collect();
            row(6000, 0, 4096, &runs)
        };
        let judged = |after: &VariantRow, rules| {
            Change::between(&before, after, false, rules)
                .time
                .expect("timed")
        };
        let ten = judged(&slower(10.0), TimeRules::default());
        assert!(ten.significant, "{ten:?}");
        assert_eq!(ten.time_verdict, Verdict::Regressed);
        let three = judged(&slower(3.0), TimeRules::default());
        assert!(three.p_value < stats::ALPHA, "{three:?}");
        assert_eq!(three.time_verdict, Verdict::WithinTolerance);
        let elsewhere = TimeRules {
            hosts_differ: true,
            ..TimeRules::default()
        };
        assert!(!judged(&slower(10.0), elsewhere).significant);
    }
}
