//! Limits a variant's exact figures must keep: at most so many allocator calls or bytes per
//! operation, at most so much peak heap. `heaplab bench --check` and `heaplab check` fail when
//! one is broken. Unlike the scorecard's targets (relative to naive, and about speed too),
//! limits are absolute, and allocation counts are the same on every machine, so a CI job can
//! gate on them without noise.

use serde::Serialize;

/// A variant's limits; `None` is no limit on that figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Limits {
    /// Allocator calls (allocations and reallocations) per operation, at most.
    pub max_allocs_per_op: Option<f64>,
    /// Bytes allocated per operation (a reallocation's growth included), at most.
    pub max_bytes_per_op: Option<f64>,
    /// Peak live heap of a run (setup included), at most.
    pub max_peak_bytes: Option<u64>,
}

impl Limits {
    /// No limit at all.
    pub const NONE: Limits = Limits {
        max_allocs_per_op: None,
        max_bytes_per_op: None,
        max_peak_bytes: None,
    };

    /// Not one allocator call per operation in steady state.
    pub const ZERO_ALLOCS: Limits = Limits {
        max_allocs_per_op: Some(0.0),
        max_bytes_per_op: None,
        max_peak_bytes: None,
    };

    /// Whether any figure is limited.
    #[must_use]
    pub fn any(&self) -> bool {
        *self != Limits::NONE
    }
}
