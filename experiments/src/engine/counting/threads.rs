//! Every thread's counters, for a program watched while it runs (`heaplab::monitor`): the
//! switch that gives every thread a slot of its own ([`count_every_thread`]), the list of the
//! slots in use with the thread that owns each ([`threads`]), and the whole process's totals
//! ([`process_counters`]).

use std::sync::atomic::Ordering;

use super::claim::EVERY_THREAD;
use super::slot::{Counters, SlotId, snapshot_with, used_slots};

/// From now on, every thread that allocates or frees gets a counter slot of its own (while
/// slots last; then the shared bucket), not only threads that register as workers. For a
/// program watched while it runs; the measuring loop never turns it on. One way: there is no
/// switching it off.
///
/// A thread without a slot (one that existed before the call too) claims a free one at its
/// next allocation or free, and counts there as its owner until it ends, when the slot is
/// handed back (its counts stay in the process's totals) for a later thread to claim, with a
/// higher generation. While every slot is taken a thread counts in the shared bucket, and
/// tries again once some slot was handed back. What a thread allocates after its own
/// thread-local storage is torn down (other thread locals' destructors) counts in the shared
/// bucket too. [`register_worker`](super::register_worker) still works on a thread that holds a
/// slot it claimed: the slot becomes the worker's, counted from zero.
pub fn count_every_thread() {
    EVERY_THREAD.store(true, Ordering::Relaxed);
}

/// Whether [`count_every_thread`] was called.
#[must_use]
pub fn counting_every_thread() -> bool {
    EVERY_THREAD.load(Ordering::Relaxed)
}

/// One slot in use: who owns it and what it counted since its owner claimed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadCounters {
    /// The slot ([`SlotId::OTHER`]: the shared bucket of threads without a slot).
    pub slot: SlotId,
    /// How many times the slot was claimed before: a slot whose generation changed belongs
    /// to another thread now, and its counters started again from zero.
    pub generation: u64,
    /// The owning thread's id as the kernel knows it (`gettid`; its name is in
    /// `/proc/self/task/TID/comm`); 0 for the shared bucket or when unknown.
    pub tid: u32,
    /// Whether the owner claimed the slot by itself ([`count_every_thread`]); `false` for a
    /// registered worker ([`register_worker`](super::register_worker)) and the shared bucket.
    pub auto: bool,
    /// What the owner did since it claimed the slot.
    pub counters: Counters,
}

/// Appends every slot in use to `out` (cleared first), the shared bucket first. Allocates only
/// if `out` lacks the capacity.
pub fn threads(out: &mut Vec<ThreadCounters>) {
    out.clear();
    for (index, slot) in used_slots().iter().enumerate() {
        if index == 0 || slot.in_use.load(Ordering::Acquire) {
            // Cannot truncate: MAX_SLOTS fits in u16.
            let id = SlotId(index as u16);
            // Read with the counters: a slot claimed meanwhile shows its new owner, whole.
            let (counters, (claims, tid, auto)) = snapshot_with(id, |slot| {
                (
                    slot.claims.load(Ordering::Relaxed),
                    slot.tid.load(Ordering::Relaxed),
                    slot.auto.load(Ordering::Relaxed),
                )
            });
            let owned = index != 0;
            out.push(ThreadCounters {
                slot: id,
                generation: claims.saturating_sub(1),
                tid: if owned { tid } else { 0 },
                auto: owned && auto,
                counters,
            });
        }
    }
}

/// The whole process's counts since it started: every slot's, in use or not, whichever
/// thread owned it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessCounters {
    /// Calls to `alloc` and `alloc_zeroed` that succeeded.
    pub allocs: u64,
    /// Calls to `dealloc`.
    pub deallocs: u64,
    /// Calls to `realloc` that succeeded.
    pub reallocs: u64,
    /// Bytes handed out by `alloc`, `alloc_zeroed` and the growth of `realloc`.
    pub bytes_allocated: u64,
    /// Bytes returned by `dealloc` and the shrinking of `realloc`.
    pub bytes_freed: u64,
}

impl ProcessCounters {
    /// Bytes allocated and not yet freed: the process's live heap.
    #[must_use]
    pub fn live_bytes(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }
}

/// The process's totals: the raw counters of every slot summed. Each slot is read at a
/// slightly different instant while other threads allocate.
#[must_use]
pub fn process_counters() -> ProcessCounters {
    used_slots()
        .iter()
        .fold(ProcessCounters::default(), |sum, slot| {
            // Freed first: a free between the two loads makes live bytes high, never low.
            let bytes_freed = slot.bytes_freed.load(Ordering::Relaxed);
            ProcessCounters {
                // The call counters hold twice the number of calls (see `slot.rs`).
                allocs: sum.allocs + slot.allocs.load(Ordering::Relaxed) / 2,
                deallocs: sum.deallocs + slot.deallocs.load(Ordering::Relaxed) / 2,
                reallocs: sum.reallocs + slot.reallocs.load(Ordering::Relaxed) / 2,
                bytes_allocated: sum
                    .bytes_allocated
                    .wrapping_add(slot.bytes_allocated.load(Ordering::Relaxed)),
                bytes_freed: sum.bytes_freed.wrapping_add(bytes_freed),
            }
        })
}
