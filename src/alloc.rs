//! The process-wide figures of heaplab's counting allocator, which each binary installs
//! itself (`#[global_allocator] static ALLOC: heaplab::Counting = heaplab::Counting::system();`,
//! as `src/main.rs` does): a library that installed it would clash with a user's own.
//!
//! Counting (per thread, exact), the process-wide live heap and the `--max-memory` fuse are all
//! `heaplab_experiments::counting`. No `unsafe` here: installing an allocator is safe; the
//! allocator's unsafe code is all in `experiments/src/engine/counting/alloc.rs`.

use heaplab_experiments::counting;

/// Bytes the whole process has allocated and not freed: the sum of every thread's counters.
#[must_use]
pub fn process_heap_bytes() -> u64 {
    counting::process_live_bytes().max(0) as u64
}

/// The process-wide fuse: past `limit` bytes of live heap, allocations fail, and Rust aborts
/// the process on a failed infallible allocation (`memory allocation of N bytes failed`). It
/// guards the machine, not an experiment: experiments get budgets of their own.
pub fn set_memory_fuse(limit: u64) -> Result<(), FuseError> {
    counting::set_fuse(limit).map_err(|allocated| FuseError { limit, allocated })
}

/// The fuse in bytes (`u64::MAX` when unset).
#[must_use]
pub fn memory_fuse() -> u64 {
    counting::fuse()
}

/// The fuse cannot be set below what is already allocated.
#[derive(Debug, thiserror::Error)]
#[error("--max-memory {limit} bytes is below the {allocated} bytes heaplab already uses")]
pub struct FuseError {
    limit: u64,
    allocated: u64,
}

/// The share of physical memory the fuse defaults to: high enough for any experiment's naive
/// variant, low enough that the machine stays usable when one runs away.
pub const DEFAULT_FUSE_SHARE: f64 = 0.75;
