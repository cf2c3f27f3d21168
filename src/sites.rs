//! Allocation sites as this program names them: [`heaplab_experiments::sites::symbolize`]
//! with the frames of heaplab's own glue folded too, so that a lab's sites are its own lines.

use heaplab_experiments::sites::{RawSites, Sites};

/// The file that calls a lab's closures: its frames are heaplab's, not the experiment's.
const LAB_GLUE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/lab/closure.rs");

/// Symbolizes a window of allocation sites captured by a worker of this executable.
#[must_use]
pub fn symbolize(raw: &RawSites) -> Sites {
    heaplab_experiments::sites::symbolize(raw, &[LAB_GLUE])
}
