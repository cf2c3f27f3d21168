//! A row against its baseline's: the engine's one comparison ([`Comparison`]), fed with
//! rows' figures and runs.

use heaplab_experiments::compare::{Comparison, Figures};

use super::row::{Row, RowStatus, pair};

impl Row {
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
    pub fn compare(&mut self, naive: &Row) {
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
