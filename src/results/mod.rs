//! Measured figures' one home: a row (one experiment variant's figures), how its run ended,
//! its aggregation across runs, its comparison with the baseline, its change between two
//! exports (`change`) and where an export was measured (`host`). `heaplab bench`, the
//! scorecard, `heaplab compare`, the session file, the tour and the SVG export read rows from
//! here; how a row becomes text (table, JSON, CSV, Markdown) is the `report` module's.
//!
//! The figure types that remain elsewhere each say why they are not a [`VariantRow`]: the
//! engine's `Sample` (one reading of a running loop), `Measurement` (a finished run, as the
//! worker sends it), `Rates` (an interval between two readings) and `compare::Figures` (the
//! three figures a comparison needs, so that the engine compares without this crate).

mod aggregate;
mod change;
mod compare;
mod host;
mod limits;
mod row;

pub use change::{
    Change, CountChange, DEFAULT_MIN_EFFECT_PCT, Figure, OTHER_OPERATIONS_TOLERANCE_PCT,
    SCHEDULING_TOLERANCE_PCT, TimeChange, TimeRules, Verdict,
};
pub use compare::Claims;
pub use host::{BenchOptions, Host};
pub use limits::{Broken, broken};
pub use row::{RowStatus, VariantRow};
