//! A variant against naive: the one comparison every view shows (the dashboard's verdict line,
//! presenter mode, the tour, `heaplab bench`'s `vs_naive`, the scorecard).
//!
//! Figures come in as [`Sample`]s, so a comparison is between two runs measured by the same
//! loop; the words each view prints come from here too, so no two views can word a figure
//! differently.

use serde::{Deserialize, Serialize};

use crate::engine::measure::Sample;
use crate::engine::stats;

/// A variant's figures against naive's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// How many percent fewer allocations per operation (`None` if naive makes none).
    pub allocs_reduction_pct: Option<f64>,
    /// How many percent lower the peak heap (`None` if naive's is 0).
    pub peak_heap_reduction_pct: Option<f64>,
    /// Naive's ns/op divided by this variant's (0 when either has no measured operation);
    /// with repeated runs, [`Speed::speedup`].
    pub speedup: f64,
    /// Whether both computed the same checksum.
    pub same_checksum: bool,
    /// The speed-up with its spread, when both sides were measured more than once.
    #[serde(skip)]
    pub speed: Option<Speed>,
}

/// Whether a speed difference is real: the Mann-Whitney test at [`stats::ALPHA`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeedVerdict {
    /// Significantly faster than the baseline.
    Faster,
    /// Significantly slower.
    Slower,
    /// No significant difference.
    Same,
}

/// One speed against another over repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Speed {
    /// How many times faster (baseline time over this time): the Hodges-Lehmann estimate.
    pub speedup: f64,
    /// Its 95% confidence interval (`None` with too few runs to reach 95%).
    pub ci95: Option<(f64, f64)>,
    /// The two-sided Mann-Whitney p-value.
    pub p_value: f64,
    /// Faster, slower, or no significant difference.
    pub verdict: SpeedVerdict,
}

impl Speed {
    /// `this` against `baseline`, each a set of times per operation (one per run or interval);
    /// `None` when either is empty or holds a time that is not positive.
    #[must_use]
    pub fn between(baseline_ns: &[f64], this_ns: &[f64]) -> Option<Speed> {
        let (speedup, ci95) = stats::ratio_ci(baseline_ns, this_ns)?;
        let p_value = stats::mann_whitney(baseline_ns, this_ns)?.p_value;
        Some(Speed::judged(speedup, ci95, p_value))
    }

    /// [`Speed::between`] for runs taken in turns, `baseline_ns[i]` beside `this_ns[i]`: the
    /// speed-up from the per-round ratios (Wilcoxon signed-rank, [`stats::paired_ratio`]), so a
    /// drift of the machine's speed between rounds is not counted as noise. `None` when the
    /// sides differ in length (not paired), are empty, or hold a time that is not positive.
    #[must_use]
    pub fn paired(baseline_ns: &[f64], this_ns: &[f64]) -> Option<Speed> {
        let paired = stats::paired_ratio(baseline_ns, this_ns)?;
        Some(Speed::judged(paired.ratio, paired.ci95, paired.p_value))
    }

    fn judged(speedup: f64, ci95: Option<(f64, f64)>, p_value: f64) -> Speed {
        let verdict = if p_value >= stats::ALPHA {
            SpeedVerdict::Same
        } else if speedup >= 1.0 {
            SpeedVerdict::Faster
        } else {
            SpeedVerdict::Slower
        };
        Speed {
            speedup,
            ci95,
            p_value,
            verdict,
        }
    }

    /// `2.71x faster (2.60-2.83)`, `1.30x slower (...)`, or `no significant difference
    /// (p=0.41)`: never a ratio that reads like a win when the runs do not support one.
    #[must_use]
    pub fn text(&self) -> String {
        let interval = |(low, high): (f64, f64), invert: bool| {
            if invert {
                format!(" ({:.2}-{:.2})", 1.0 / high, 1.0 / low)
            } else {
                format!(" ({low:.2}-{high:.2})")
            }
        };
        match self.verdict {
            SpeedVerdict::Same => format!("no significant difference (p={:.2})", self.p_value),
            SpeedVerdict::Faster => format!(
                "{:.2}x faster{}",
                self.speedup,
                self.ci95.map(|c| interval(c, false)).unwrap_or_default()
            ),
            SpeedVerdict::Slower => format!(
                "{:.2}x slower{}",
                1.0 / self.speedup,
                self.ci95.map(|c| interval(c, true)).unwrap_or_default()
            ),
        }
    }
}

/// The figures a comparison needs from a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Allocations per operation.
    pub allocs_per_op: f64,
    /// Peak heap of the run.
    pub peak_heap_bytes: u64,
    /// Nanoseconds per operation.
    pub ns_per_op: f64,
}

impl From<&Sample> for Figures {
    fn from(sample: &Sample) -> Self {
        Figures {
            allocs_per_op: sample.allocs_per_op(),
            peak_heap_bytes: sample.peak_heap_bytes,
            ns_per_op: sample.ns_per_op(),
        }
    }
}

/// A percentage with as few decimals as tell it apart from 0 and from 100: `100` and `0` only
/// for exactly 100 and 0 (`99.7` for 9 allocations against 3012, `0.02` for a hair's change).
#[must_use]
pub fn percent(pct: f64) -> String {
    exact_enough(pct, &[0.0, 100.0], 0)
}

/// A ratio with one decimal, or as many more as tell it apart from 1: `2.0`, `1.003`.
#[must_use]
pub fn times(ratio: f64) -> String {
    exact_enough(ratio, &[1.0], 1)
}

/// `value` with at least `decimals` decimals and up to four more, the fewest that do not
/// print it as one of `landmarks` it is not; past that, rounded away from the landmark
/// (`99.9999`, never `100.0000`, for `99.999_999`).
#[allow(clippy::float_cmp)] // a landmark is an exact value (0, 100, 1)
fn exact_enough(value: f64, landmarks: &[f64], decimals: usize) -> String {
    let hides = |places: usize| {
        let shown: f64 = format!("{value:.places$}").parse().unwrap_or(value);
        landmarks
            .iter()
            .copied()
            .find(|&l| shown == l && value != l)
    };
    let most = decimals + 4;
    if let Some(places) = (decimals..=most).find(|&places| hides(places).is_none()) {
        return format!("{value:.places$}");
    }
    let scale = 10f64.powi(most as i32);
    let landmark = hides(most).unwrap_or(value);
    let away = if value < landmark {
        (value * scale).floor()
    } else {
        (value * scale).ceil()
    };
    format!("{:.most$}", away / scale)
}

/// `100 * (1 - this / naive)`, or `None` when naive is 0 (nothing to reduce).
#[must_use]
pub fn reduction_pct(naive: f64, this: f64) -> Option<f64> {
    (naive > 0.0).then(|| (1.0 - this / naive) * 100.0)
}

impl Comparison {
    /// `this` against `naive`; `same_checksum` says whether both computed the same thing (the
    /// live view, which sees no checksum, passes `true`).
    #[must_use]
    pub fn between(naive: Figures, this: Figures, same_checksum: bool) -> Self {
        Comparison {
            allocs_reduction_pct: reduction_pct(naive.allocs_per_op, this.allocs_per_op),
            peak_heap_reduction_pct: reduction_pct(
                naive.peak_heap_bytes as f64,
                this.peak_heap_bytes as f64,
            ),
            speedup: if this.ns_per_op > 0.0 && naive.ns_per_op > 0.0 {
                naive.ns_per_op / this.ns_per_op
            } else {
                0.0
            },
            same_checksum,
            speed: None,
        }
    }

    /// The same comparison, with the speed-up taken from repeated measurements of each side
    /// (times per operation) and tested for significance.
    #[must_use]
    pub fn with_runs(self, naive_ns: &[f64], this_ns: &[f64]) -> Self {
        self.with_speed(Speed::between(naive_ns, this_ns))
    }

    /// The same comparison, with the speed-up as `speed` judged it (when there is one).
    #[must_use]
    pub fn with_speed(mut self, speed: Option<Speed>) -> Self {
        self.speed = speed;
        if let Some(speed) = self.speed {
            self.speedup = speed.speedup;
        }
        self
    }

    /// The allocation claim: `100% fewer allocs/op` (only when this variant makes none),
    /// `99.7% fewer allocs/op`, `2.0x the allocs/op`, or `no allocs/op either way`.
    #[must_use]
    pub fn allocs_text(&self) -> String {
        match self.allocs_reduction_pct {
            Some(pct) if pct >= 0.0 => format!("{}% fewer allocs/op", percent(pct)),
            Some(pct) => format!("{}x the allocs/op", times(1.0 - pct / 100.0)),
            None => "no allocs/op either way".to_owned(),
        }
    }

    /// The allocation claim in few characters: `-100% allocs`, `2.0x allocs`, `no allocs`.
    #[must_use]
    pub fn allocs_short(&self) -> String {
        match self.allocs_reduction_pct {
            Some(pct) if pct >= 0.0 => format!("-{}% allocs", percent(pct)),
            Some(pct) => format!("{}x allocs", times(1.0 - pct / 100.0)),
            None => "no allocs".to_owned(),
        }
    }

    /// The memory claim: `-33% peak heap`, `+0.4% peak heap`, or `peak heap n/a` when naive's
    /// peak is 0.
    #[must_use]
    pub fn peak_text(&self) -> String {
        match self.peak_heap_reduction_pct {
            Some(_) => format!("{} heap", self.peak_short()),
            None => "peak heap n/a".to_owned(),
        }
    }

    /// The memory claim in few characters: `-33% peak`, `peak n/a`.
    #[must_use]
    pub fn peak_short(&self) -> String {
        match self.peak_heap_reduction_pct {
            Some(pct) if pct >= 0.0 => format!("-{}% peak", percent(pct)),
            Some(pct) => format!("+{}% peak", percent(-pct)),
            None => "peak n/a".to_owned(),
        }
    }

    /// The speed claim: `2.71x faster`, `1.30x slower`, or `speed n/a`; with repeated runs,
    /// [`Speed::text`].
    #[must_use]
    pub fn speed_text(&self) -> String {
        if let Some(speed) = &self.speed {
            return speed.text();
        }
        self.speed_short()
    }

    /// The speed claim without its interval: `2.71x faster`, `1.30x slower`, `same speed`
    /// (when the runs support no difference), or `speed n/a`.
    #[must_use]
    pub fn speed_short(&self) -> String {
        match self.speed.map(|s| s.verdict) {
            Some(SpeedVerdict::Same) => "same speed".to_owned(),
            _ if self.speedup <= 0.0 => "speed n/a".to_owned(),
            _ if self.speedup >= 1.0 => format!("{:.2}x faster", self.speedup),
            _ => format!("{:.2}x slower", 1.0 / self.speedup),
        }
    }

    /// The verdict line of `variant` against `baseline`, from the longest wording to the
    /// shortest, for a view to take the longest that fits. It shortens by abbreviating, then
    /// by dropping the speed's interval and the speed; the allocation and heap figures stay to
    /// the last (they are what most experiments are about). With `baseline_running`, the
    /// line says that the variant compared ran before the baseline now running.
    #[must_use]
    pub fn verdict_wordings(
        &self,
        variant: &str,
        baseline: &str,
        baseline_running: bool,
    ) -> Vec<String> {
        let (long, short) = if baseline_running {
            (
                format!("{variant} vs {baseline}, which runs now"),
                format!("{variant} (ran before)"),
            )
        } else {
            (format!("{variant} vs {baseline}"), variant.to_owned())
        };
        let (allocs, peak, speed) = (self.allocs_text(), self.peak_text(), self.speed_text());
        let (allocs_short, peak_short, speed_short) =
            (self.allocs_short(), self.peak_short(), self.speed_short());
        let mut wordings = vec![
            format!("{long}: {allocs} · {peak} · {speed}"),
            format!("{long}: {allocs} · {peak} · {speed_short}"),
            format!("{short}: {allocs} · {peak} · {speed_short}"),
            format!("{short}: {allocs_short} · {peak_short} · {speed_short}"),
            format!("{short}: {allocs_short} · {peak_short}"),
            format!("{allocs_short} · {peak_short}"),
        ];
        if !self.same_checksum {
            for wording in &mut wordings {
                wording.push_str(" · CHECKSUM DIFFERS");
            }
        }
        wordings
    }

    /// All three claims and a checksum warning, in one line.
    #[must_use]
    pub fn text(&self) -> String {
        let checksum = if self.same_checksum {
            ""
        } else {
            ", CHECKSUM DIFFERS"
        };
        format!(
            "{}, {}, {}{checksum}",
            self.allocs_text(),
            self.peak_text(),
            self.speed_text()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(allocs_per_op: f64, peak_heap_bytes: u64, ns_per_op: f64) -> Figures {
        Figures {
            allocs_per_op,
            peak_heap_bytes,
            ns_per_op,
        }
    }

    #[test]
    fn a_zero_allocation_variant_is_100_percent_fewer_never_a_huge_ratio() {
        let c = Comparison::between(figures(1.0, 4096, 20.0), figures(0.0, 3072, 10.0), true);
        assert_eq!(c.allocs_text(), "100% fewer allocs/op");
        assert_eq!(c.peak_text(), "-25% peak heap");
        assert_eq!(c.speed_text(), "2.00x faster");
        assert_eq!(
            c.text(),
            "100% fewer allocs/op, -25% peak heap, 2.00x faster"
        );
    }

    /// Item 7 of issue 22: 9 allocations against 3012 are not "100% fewer".
    #[test]
    fn a_figure_that_is_not_zero_never_reads_as_zero_or_a_hundred_percent() {
        let c = Comparison::between(figures(3012.0, 1000, 20.0), figures(9.0, 997, 10.0), true);
        assert_eq!(c.allocs_text(), "99.7% fewer allocs/op");
        assert_eq!(c.allocs_short(), "-99.7% allocs");
        assert_eq!(c.peak_text(), "-0.3% peak heap");
        assert_eq!(percent(99.999_999), "99.9999");
        assert_eq!(percent(0.000_000_1), "0.0001");
        assert_eq!(percent(100.0), "100");
        assert_eq!(percent(0.0), "0");
        assert_eq!(percent(33.3), "33");
        assert_eq!(times(1.0004), "1.0004");
        assert_eq!(times(2.0), "2.0");
        let more = Comparison::between(
            figures(1000.0, 1000, 20.0),
            figures(1001.0, 1001, 20.0),
            true,
        );
        assert_eq!(more.allocs_text(), "1.001x the allocs/op");
        assert_eq!(more.peak_text(), "+0.1% peak heap");
    }

    /// Item 6 of issue 22: shortening keeps the allocation and heap figures to the last.
    #[test]
    fn verdict_wordings_shorten_by_abbreviating_and_drop_speed_before_memory() {
        let c = Comparison::between(figures(30.0, 4096, 20.0), figures(0.0, 128, 20.5), true)
            .with_runs(
                &[20.0, 21.0, 19.5, 20.5, 22.0, 19.0],
                &[20.2, 19.8, 21.5, 19.2, 20.8, 22.5],
            );
        let wordings = c.verdict_wordings("optimized", "naive", false);
        assert!(wordings[0].starts_with("optimized vs naive: 100% fewer allocs/op · -97% peak heap · no significant difference (p="), "{wordings:?}");
        for pair in wordings.windows(2) {
            assert!(
                pair[0].chars().count() > pair[1].chars().count(),
                "{wordings:?}"
            );
        }
        for w in &wordings {
            assert!(
                w.contains("100%") && w.contains("-97%"),
                "a wording lost a figure: {w}"
            );
        }
        assert_eq!(
            wordings.last().map(String::as_str),
            Some("-100% allocs · -97% peak")
        );
        let before = c.verdict_wordings("crate", "naive", true);
        assert!(
            before[0].starts_with("crate vs naive, which runs now: "),
            "{before:?}"
        );
        assert!(before[3].starts_with("crate (ran before): "), "{before:?}");
    }

    #[test]
    fn more_allocations_slower_and_nothing_to_compare() {
        let c = Comparison::between(figures(1.0, 0, 10.0), figures(2.0, 10, 13.0), false);
        assert_eq!(c.allocs_text(), "2.0x the allocs/op");
        assert_eq!(c.peak_text(), "peak heap n/a");
        assert_eq!(c.speed_text(), "1.30x slower");
        assert!(c.text().ends_with("CHECKSUM DIFFERS"));
        let none = Comparison::between(figures(0.0, 0, 0.0), figures(0.0, 0, 5.0), true);
        assert_eq!(none.allocs_text(), "no allocs/op either way");
        assert_eq!(none.speed_text(), "speed n/a");
    }

    #[test]
    fn with_runs_a_speed_claim_needs_significance() {
        let base = Comparison::between(figures(1.0, 10, 20.0), figures(0.0, 10, 10.0), true);
        let naive = [20.0, 21.0, 19.5, 20.5, 22.0, 19.0];
        let fast = [10.0, 10.5, 9.8, 10.2, 11.0, 9.9];
        let c = base.with_runs(&naive, &fast);
        let speed = c.speed.expect("a speed");
        assert_eq!(speed.verdict, SpeedVerdict::Faster);
        assert!(speed.p_value < 0.01, "{speed:?}");
        assert!(
            c.speed_text().starts_with("1.99x faster (1.86-2.12)"),
            "{}",
            c.speed_text()
        );
        assert!(c.speed_text().contains("x faster ("), "{}", c.speed_text());
        // Overlapping runs: no claim, whatever the ratio of medians says.
        let same = base.with_runs(&naive, &[20.2, 19.8, 21.5, 19.2, 20.8, 22.5]);
        assert_eq!(same.speed.expect("a speed").verdict, SpeedVerdict::Same);
        assert!(
            same.speed_text()
                .starts_with("no significant difference (p=")
        );
        let slow = base.with_runs(&fast, &naive);
        assert_eq!(slow.speed.expect("a speed").verdict, SpeedVerdict::Slower);
        assert!(
            slow.speed_text().contains("x slower ("),
            "{}",
            slow.speed_text()
        );
    }
}
