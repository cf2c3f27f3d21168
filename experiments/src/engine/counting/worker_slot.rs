//! A thread's claim on its own counter slot ([`WorkerSlot`]): registering, the budget and its
//! checkpoint, and running code detached from the slot ([`unmeasured`]).

use std::sync::atomic::Ordering;

use super::claim::{Claim, claim_free, hold_off, release, set_state, state, take};
use super::slot::{
    CURRENT_SLOT, Counters, MAX_SLOTS, NOT_OVER, SLOTS, SlotId, current_slot, owned_slot, snapshot,
};
use super::threads::process_counters;

/// Why [`register_worker`] could not give the thread a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// Every worker slot is owned by a live thread.
    #[error(
        "all {} allocation counter slots are in use; stop a running experiment and try again",
        MAX_SLOTS - 1
    )]
    SlotsExhausted,
    /// The calling thread already owns a slot (its counts would be split between two).
    #[error("this thread already has an allocation counter slot; drop its guard first")]
    AlreadyRegistered,
}

const _: () = assert!(MAX_SLOTS <= u16::MAX as usize);

/// A registered thread's claim on its own counter slot. Dropping it hands the slot back and
/// sends the thread's later allocations to the shared bucket again.
///
/// It is tied to the thread that registered (it is neither `Send` nor `Sync`).
#[derive(Debug)]
pub struct WorkerSlot {
    id: SlotId,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl WorkerSlot {
    /// The slot's id, which any thread may pass to [`snapshot`].
    #[must_use]
    pub fn id(&self) -> SlotId {
        self.id
    }

    /// This slot's counters, read by the owner itself.
    #[must_use]
    pub fn counters(&self) -> Counters {
        snapshot(self.id)
    }

    /// Lowers the recorded peak to the current live byte count, so the next peak is measured
    /// from here. Only the owner may do this, which is why it lives on the guard.
    pub fn reset_peak(&self) {
        SLOTS[self.id.index()].owner_write(|slot| {
            slot.peak_live_bytes
                .store(slot.raw_live(), Ordering::Relaxed);
        });
    }
}

impl WorkerSlot {
    /// Flags this slot once its live bytes pass `limit` (absolute, as [`Counters::live_bytes`]
    /// counts them), or never with `None`; clears any earlier flag. Only the owner may do this.
    pub fn set_budget(&self, limit: Option<i64>) {
        let slot = &SLOTS[self.id.index()];
        // In raw terms, as the allocator compares it.
        let limit = limit.map_or(i64::MAX, |limit| limit.saturating_add(slot.base_live()));
        slot.budget_live_bytes.store(limit, Ordering::Relaxed);
        // Already past it: flag now, since the allocator only checks when the peak rises.
        let live = slot.raw_live();
        slot.over_budget_at.store(
            if live > limit { live } else { NOT_OVER },
            Ordering::Relaxed,
        );
    }

    /// [`WorkerSlot::set_budget`] for a budget of `budget` bytes above `baseline` live bytes
    /// (a variant's own footprint, counted from before its setup).
    pub fn set_budget_above(&self, baseline: i64, budget: Option<u64>) {
        let limit = budget.map(|b| baseline.saturating_add(i64::try_from(b).unwrap_or(i64::MAX)));
        self.set_budget(limit);
    }

    /// The live byte count at which the budget was passed, if it was.
    #[must_use]
    pub fn over_budget(&self) -> Option<i64> {
        over_budget_at(self.id.index())
    }
}

/// The live byte count (as [`Counters::live_bytes`] counts it) at which the slot's budget was
/// passed, if it was.
fn over_budget_at(index: usize) -> Option<i64> {
    let slot = &SLOTS[index];
    match slot.over_budget_at.load(Ordering::Relaxed) {
        NOT_OVER => None,
        live => Some(live.wrapping_sub(slot.base_live())),
    }
}

/// What an experiment unwinds with when its thread is over budget (see [`budget_checkpoint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    /// The live byte count at which the budget was passed.
    pub live_bytes: i64,
}

/// A point in a long-running operation where it may be stopped: if the calling thread's slot
/// is over its budget, unwinds (without running the panic hook) with an [`OverBudget`] payload
/// that the runner catches. Costs a thread-local read and a load when under budget.
///
/// Experiments call it inside loops that can allocate without bound within one operation
/// (reading a whole input, filling a cache); between operations the runner checks by itself.
pub fn budget_checkpoint() {
    let index = current_slot();
    if index != 0
        && let Some(live_bytes) = over_budget_at(index)
    {
        std::panic::resume_unwind(Box::new(OverBudget { live_bytes }));
    }
}

impl Drop for WorkerSlot {
    fn drop(&mut self) {
        release(&SLOTS[self.id.index()]);
        // Every thread counted: the thread may claim a slot by itself again.
        if state() == Claim::Busy {
            set_state(Claim::Unclaimed {
                failed_at: u64::MAX,
            });
        }
    }
}

/// Gives the calling thread a counter slot of its own, zeroed. Allocations the thread makes
/// from now until the guard drops are counted there and nowhere else.
///
/// A thread owns at most one slot at a time. A thread that claimed one by itself (see
/// [`count_every_thread`](super::count_every_thread)) keeps it, as a worker's from now on: a
/// new generation, counted from zero.
pub fn register_worker() -> Result<WorkerSlot, RegisterError> {
    let slot = match (owned_slot(), state()) {
        (Some(slot), Claim::Auto) => {
            take(slot, false);
            slot
        }
        (Some(_), _) => return Err(RegisterError::AlreadyRegistered),
        (None, _) => claim_free(false).ok_or(RegisterError::SlotsExhausted)?,
    };
    set_state(Claim::Busy);
    // In bounds and no truncation: the reference points into SLOTS, whose length fits in u16
    // (checked at compile time above).
    let index = (std::ptr::from_ref(slot).addr() - SLOTS.as_ptr().addr()) / size_of_val(slot);
    Ok(WorkerSlot {
        id: SlotId(index as u16),
        _not_send: std::marker::PhantomData,
    })
}

/// Whether the process's global allocator is a [`CountingAlloc`]: an allocation made now
/// moves the process's counters. A program that forgot the `#[global_allocator]` line would
/// show zeros everywhere; this is how it finds out first.
///
/// The whole process's, not the thread's slot's: the allocation may be the one at which the
/// thread claims a slot of its own (see [`count_every_thread`](super::count_every_thread)).
///
/// [`CountingAlloc`]: super::CountingAlloc
#[must_use]
pub fn installed() -> bool {
    // Every slot's raw count only grows, so the sum read after is at least the one before.
    let before = process_counters().allocs;
    drop(std::hint::black_box(Box::new(std::hint::black_box(0u64))));
    process_counters().allocs != before
}

/// The slot the calling thread counts into right now.
#[must_use]
pub fn current_slot_id() -> SlotId {
    SlotId(current_slot() as u16)
}

/// Runs `f` with the calling thread detached from its slot: what it allocates or frees counts
/// in the shared bucket, as another thread's would. For the measuring thread's own
/// bookkeeping between batches (collecting captured sites), which must not reach the
/// experiment's heap figures.
///
/// Meanwhile the thread does not claim a slot by itself either.
pub fn unmeasured<T>(f: impl FnOnce() -> T) -> T {
    let owned = CURRENT_SLOT
        .try_with(|current| current.replace(None))
        .ok()
        .flatten();
    let claim = hold_off();
    let out = f();
    set_state(claim);
    let _ = CURRENT_SLOT.try_with(|current| current.set(owned));
    out
}
