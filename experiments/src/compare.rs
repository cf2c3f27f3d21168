//! A variant against naive: the one comparison every view shows (the dashboard's verdict line,
//! presenter mode, the tour, `heaplab bench`'s `vs_naive`, the scorecard).
//!
//! Figures come in as [`Sample`]s, so a comparison is between two runs measured by the same
//! loop; the words each view prints come from here too, so no two views can word a figure
//! differently.

use serde::{Deserialize, Serialize};

use crate::measure::Sample;

/// A variant's figures against naive's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// How many percent fewer allocations per operation (`None` if naive makes none).
    pub allocs_reduction_pct: Option<f64>,
    /// How many percent lower the peak heap (`None` if naive's is 0).
    pub peak_heap_reduction_pct: Option<f64>,
    /// Naive's ns/op divided by this variant's (0 when either has no measured operation).
    pub speedup: f64,
    /// Whether both computed the same checksum.
    pub same_checksum: bool,
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
        }
    }

    /// The allocation claim: `100% fewer allocs/op`, `2.0x the allocs/op`, or `no allocs/op
    /// either way`.
    #[must_use]
    pub fn allocs_text(&self) -> String {
        match self.allocs_reduction_pct {
            Some(pct) if pct >= 0.0 => format!("{pct:.0}% fewer allocs/op"),
            Some(pct) => format!("{:.1}x the allocs/op", 1.0 - pct / 100.0),
            None => "no allocs/op either way".to_owned(),
        }
    }

    /// The memory claim: `-33% peak heap`, or `peak heap n/a` when naive's peak is 0.
    #[must_use]
    pub fn peak_text(&self) -> String {
        match self.peak_heap_reduction_pct {
            Some(pct) => format!("{:+.0}% peak heap", -pct),
            None => "peak heap n/a".to_owned(),
        }
    }

    /// The speed claim: `2.71x faster`, `1.30x slower`, or `speed n/a`.
    #[must_use]
    pub fn speed_text(&self) -> String {
        if self.speedup <= 0.0 {
            "speed n/a".to_owned()
        } else if self.speedup >= 1.0 {
            format!("{:.2}x faster", self.speedup)
        } else {
            format!("{:.2}x slower", 1.0 / self.speedup)
        }
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
}
