//! Measured figures' one home: a row (one experiment variant's figures), how its run ended,
//! its aggregation across runs and its comparison with the baseline. `heaplab bench`, the
//! scorecard, `heaplab compare`, the session file, the tour and the SVG export read rows from
//! here; how a row becomes text (table, JSON, CSV, Markdown) is the `report` module's.
//!
//! The figure types that remain elsewhere each say why they are not a [`VariantRow`]: the
//! engine's `Sample` (one reading of a running loop), `Measurement` (a finished run, as the
//! worker sends it), `Rates` (an interval between two readings) and `compare::Figures` (the
//! three figures a comparison needs, so that the engine compares without this crate).

mod aggregate;
mod compare;
mod limits;
mod row;

pub use compare::Claims;
pub use limits::{Broken, broken};
pub use row::{RowStatus, VariantRow};
