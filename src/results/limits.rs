//! A row against its variant's limits ([`Limits`]): each limit it breaks, in words, for
//! `heaplab bench --check` and `heaplab check`.

use heaplab_experiments::limits::Limits;

use super::row::{RowStatus, VariantRow};
use crate::units;

/// One broken limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    /// `buffer-reuse optimized`.
    pub row: String,
    /// `allocs/op`, `bytes/op` or `peak heap`.
    pub figure: &'static str,
    /// What was measured (`1.00 allocs/op + 0.00 reallocs/op`).
    pub measured: String,
    /// The limit (`at most 0`).
    pub limit: String,
    /// Whether an allocation site can say where (allocs/op and bytes/op: the line that
    /// allocates most; the peak has no one line).
    pub by_site: bool,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} {}, limit {}",
            self.row, self.figure, self.measured, self.limit
        )
    }
}

/// The limits `row` breaks. A row that did not end well breaks none here (its status already
/// fails the command), and a row with no operation measured cannot break a per-op limit.
#[must_use]
pub fn broken(row: &VariantRow, limits: &Limits) -> Vec<Broken> {
    if row.status != RowStatus::Ok || !limits.any() {
        return Vec::new();
    }
    let name = format!("{} {}", row.experiment, row.variant);
    let mut out = Vec::new();
    let calls = row.allocs_per_op + row.reallocs_per_op;
    if let Some(max) = limits.max_allocs_per_op
        && row.iterations > 0
        && calls > max
    {
        out.push(Broken {
            row: name.clone(),
            figure: "allocs/op",
            measured: format!(
                "{:.2} allocs/op + {:.2} reallocs/op",
                row.allocs_per_op, row.reallocs_per_op
            ),
            limit: format!("at most {max} allocator calls/op"),
            by_site: true,
        });
    }
    if let Some(max) = limits.max_bytes_per_op
        && row.iterations > 0
        && row.bytes_per_op > max
    {
        out.push(Broken {
            row: name.clone(),
            figure: "bytes/op",
            measured: format!("{:.0} B/op", row.bytes_per_op),
            limit: format!("at most {max} B/op"),
            by_site: true,
        });
    }
    if let Some(max) = limits.max_peak_bytes
        && row.peak_heap_bytes > max
    {
        out.push(Broken {
            row: name,
            figure: "peak heap",
            measured: units::bytes(row.peak_heap_bytes),
            limit: format!("at most {}", units::bytes(max)),
            by_site: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use heaplab_experiments::measure::Sample;

    fn row(allocs: u64, reallocs: u64, bytes: u64, peak: u64) -> VariantRow {
        let sample = Sample {
            ops: 100,
            allocs: allocs * 100,
            reallocs: reallocs * 100,
            bytes_allocated: bytes * 100,
            peak_heap_bytes: peak,
            ..Sample::default()
        };
        let info = heaplab_experiments::catalog()[0].info();
        VariantRow::from_sample(info, "optimized", 10, &sample)
    }

    #[test]
    fn each_limit_is_judged_on_its_own_figure() {
        let zero = Limits::ZERO_ALLOCS;
        assert!(broken(&row(0, 0, 0, 1 << 20), &zero).is_empty());
        // A reallocation is an allocator call too.
        let found = broken(&row(0, 1, 16, 0), &zero);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].to_string(),
            "buffer-reuse optimized: allocs/op 0.00 allocs/op + 1.00 reallocs/op, \
             limit at most 0 allocator calls/op"
        );
        let all = Limits {
            max_allocs_per_op: Some(2.0),
            max_bytes_per_op: Some(64.0),
            max_peak_bytes: Some(4096),
        };
        assert!(broken(&row(2, 0, 64, 4096), &all).is_empty());
        let found: Vec<&str> = broken(&row(3, 0, 65, 4097), &all)
            .iter()
            .map(|b| b.figure)
            .collect();
        assert_eq!(found, ["allocs/op", "bytes/op", "peak heap"]);
        assert!(broken(&row(9, 9, 9, 9), &Limits::NONE).is_empty());
    }

    #[test]
    fn a_failed_row_is_not_judged_again() {
        let failed = VariantRow {
            status: RowStatus::Panicked,
            ..row(5, 0, 0, 0)
        };
        assert!(broken(&failed, &Limits::ZERO_ALLOCS).is_empty());
    }
}
