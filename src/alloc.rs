//! The process's global allocator: heaplab's counting wrapper over `cap::Cap<System>`.
//!
//! Counting (per thread, exact) is `heaplab_experiments::counting`; cap adds the process-wide
//! live heap figure and the `--max-memory` fuse. No `unsafe` here: installing an allocator is
//! safe, the unsafe code is all in the counting module.

use std::alloc::System;

use cap::Cap;
use heaplab_experiments::counting::CountingAlloc;

/// Every allocation of the process goes through here.
#[global_allocator]
static ALLOCATOR: CountingAlloc<Cap<System>> = CountingAlloc::new(Cap::new(System, usize::MAX));

/// Bytes the whole process has allocated and not freed, as cap counts them.
#[must_use]
pub fn process_heap_bytes() -> u64 {
    ALLOCATOR.inner().allocated() as u64
}

/// The process-wide fuse: past `limit` bytes of live heap, allocations fail, and Rust aborts
/// the process on a failed infallible allocation (`memory allocation of N bytes failed`). It
/// guards the machine, not an experiment: experiments get budgets of their own.
pub fn set_memory_fuse(limit: u64) -> Result<(), FuseError> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    ALLOCATOR.inner().set_limit(limit).map_err(|()| FuseError {
        limit: limit as u64,
        allocated: process_heap_bytes(),
    })
}

/// The fuse in bytes (`u64::MAX` when unset).
#[must_use]
pub fn memory_fuse() -> u64 {
    ALLOCATOR.inner().limit() as u64
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
