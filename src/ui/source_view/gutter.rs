//! The source view's gutter: each line's measured allocations per operation (and bytes per
//! operation on a wide pane), added up over the sites measured at that line.

use heaplab_experiments::sites::{Sites, same_file};

use super::{SourceLine, WIDE_PANE};

/// The gutter's width: allocations per operation (`  3.00 `), and bytes on a wide pane; a
/// pane not measured yet keeps two columns of margin.
pub(super) const GUTTER: usize = 7;
pub(super) const WIDE_GUTTER: usize = 17;
pub(super) const UNMEASURED_GUTTER: usize = 2;

/// The sites measured at `line` (several when inlined calls share it), added up. Drawing
/// calls it for every visible line: it allocates nothing.
pub(super) fn measured(sites: &Sites, line: &SourceLine) -> Option<(f64, f64, f64)> {
    if line.line == 0 {
        return None;
    }
    sites
        .sites
        .iter()
        .filter(|s| s.line == line.line && same_file(&s.file, line.file))
        .fold(None, |sum, s| {
            let (allocs, reallocs, bytes) = sum.unwrap_or((0.0, 0.0, 0.0));
            Some((
                allocs + s.allocs_per_op,
                reallocs + s.reallocs_per_op,
                bytes + s.bytes_per_op,
            ))
        })
}

/// The gutter's width for a pane `inner_width` wide, measured or not.
pub(super) fn gutter_width(measured: bool, inner_width: u16) -> usize {
    match (measured, inner_width >= WIDE_PANE) {
        (false, _) => UNMEASURED_GUTTER,
        (true, true) => WIDE_GUTTER,
        (true, false) => GUTTER,
    }
}

/// Allocations per operation as the gutter and the `a` view show them: `1.00`, or `↻0.50`
/// where there are only reallocations.
#[must_use]
pub fn per_op_text(allocs: f64, reallocs: f64) -> String {
    if allocs == 0.0 && reallocs > 0.0 {
        format!("↻{reallocs:.2}")
    } else {
        format!("{allocs:.2}")
    }
}

/// A line's gutter: its allocs/op (`↻0.50` when it only reallocates), and bytes/op when
/// `wide`; blank when nothing was measured on it.
pub(super) fn gutter(figures: Option<(f64, f64, f64)>, wide: bool) -> String {
    let width = if wide { WIDE_GUTTER } else { GUTTER };
    let Some((allocs, reallocs, bytes)) = figures else {
        return " ".repeat(width);
    };
    let count = per_op_text(allocs, reallocs);
    if wide {
        let bytes = crate::units::bytes(bytes.round() as u64);
        format!("{count:>6} {bytes:>9} ")
    } else {
        format!("{count:>6} ")
    }
}
