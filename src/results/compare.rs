//! A variant against its baseline: the engine's one comparison ([`Comparison`]), fed with
//! rows' figures and runs (`heaplab bench`), or with the dashboard's live samples and put in
//! words ([`Claims`]).

use heaplab_experiments::compare::{Comparison, Figures, Speed};
use heaplab_experiments::measure::Sample;

use super::row::{RowStatus, VariantRow, pair};

impl VariantRow {
    /// The figures a comparison takes.
    #[must_use]
    pub fn figures(&self) -> Figures {
        Figures {
            allocs_per_op: self.allocs_per_op,
            peak_heap_bytes: self.peak_heap_bytes,
            ns_per_op: self.ns_per_op,
        }
    }

    /// Fills in this row's comparison against `naive`'s (its speed tested over both rows'
    /// runs); a row that did not run to the end, on either side, is not compared.
    pub fn compare(&mut self, naive: &VariantRow) {
        if self.status != RowStatus::Ok || naive.status != RowStatus::Ok {
            return; // a stopped run's figures are not comparable
        }
        let vs = Comparison::between(
            naive.figures(),
            self.figures(),
            naive.checksum == self.checksum,
        )
        .with_runs(&naive.ns_per_op_runs, &self.ns_per_op_runs);
        if let Some(speed) = vs.speed {
            self.speedup = Some(speed.speedup);
            self.speedup_ci95 = pair(speed.ci95);
            self.speedup_p_value = Some(speed.p_value);
            self.speed_verdict = Some(speed.verdict);
        }
        self.vs_naive = Some(vs);
    }
}

/// One variant against naive on the dashboard, in the words of the one comparison module
/// ([`heaplab_experiments::compare`]): `100% fewer allocs/op`, `2.71x faster`, `-33% peak heap`.
///
/// Not a [`VariantRow`]'s `vs_naive`: the live figures change every sample, so the words are
/// made once per sample here rather than at every frame that draws them.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// The variant compared (not naive).
    pub variant: &'static str,
    /// The figures behind the words.
    pub figures: Comparison,
    /// The allocation claim.
    pub allocs: String,
    /// The speed claim.
    pub speed: String,
    /// The memory claim.
    pub peak: String,
}

impl Claims {
    /// `variant`'s latest sample (`other`) against `naive`'s, with the speed tested over
    /// their intervals if there were enough (`speed`).
    #[must_use]
    pub fn new(
        variant: &'static str,
        naive: &Sample,
        other: &Sample,
        speed: Option<Speed>,
    ) -> Self {
        let mut figures = Comparison::between(naive.into(), other.into(), true);
        if let Some(speed) = speed {
            figures.speed = Some(speed);
            figures.speedup = speed.speedup;
        }
        Self {
            variant,
            allocs: figures.allocs_text(),
            speed: figures.speed_text(),
            peak: figures.peak_text(),
            figures,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sample(allocs: u64, peak: u64, micros: u64) -> Sample {
        Sample {
            ops: 100,
            allocs,
            peak_heap_bytes: peak,
            measured_for: Duration::from_micros(micros),
            ..Sample::default()
        }
    }

    /// The dashboard's claims are the engine's comparison in its own words; a tested speed
    /// replaces the ratio of two samples.
    #[test]
    fn claims_say_the_comparison_and_take_the_tested_speed() {
        let naive = sample(300, 4000, 200);
        let other = sample(0, 3000, 100);
        let claims = Claims::new("optimized", &naive, &other, None);
        assert_eq!(claims.allocs, "100% fewer allocs/op");
        assert_eq!(claims.peak, "-25% peak heap");
        assert_eq!(claims.speed, "2.00x faster");
        let runs = |ns: f64| [ns, ns + 1.0, ns - 1.0, ns + 2.0, ns - 2.0, ns + 0.5];
        let speed = Speed::between(&runs(300.0), &runs(100.0)).expect("a speed");
        let tested = Claims::new("optimized", &naive, &other, Some(speed));
        assert!((tested.figures.speedup - speed.speedup).abs() < 1e-12);
        assert_eq!(tested.speed, tested.figures.speed_text());
        assert!(tested.speed.contains("x faster ("), "{}", tested.speed);
    }

    /// A stopped run's figures are not compared: no `vs_naive`, no speed-up.
    #[test]
    fn a_row_that_did_not_end_well_is_not_compared() {
        let info = heaplab_experiments::catalog()[0].info();
        let naive = VariantRow::from_sample(info, "naive", 10, &sample(300, 4000, 200));
        let mut over = VariantRow {
            status: RowStatus::OverBudget,
            ..VariantRow::from_sample(info, "optimized", 10, &sample(0, 3000, 100))
        };
        over.compare(&naive);
        assert_eq!((over.vs_naive, over.speedup), (None, None));
        let mut ok = VariantRow::from_sample(info, "optimized", 10, &sample(0, 3000, 100));
        ok.compare(&naive);
        let vs = ok.vs_naive.expect("compared");
        assert_eq!(vs.allocs_reduction_pct, Some(100.0));
        assert!((vs.speedup - 2.0).abs() < 1e-12, "{}", vs.speedup);
    }
}
