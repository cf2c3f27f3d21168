//! How a thread comes to own a counter slot and gives it back: the one claim that both a
//! registering worker and (after [`count_every_thread`]) any thread's first allocation or free
//! make, the owner's kernel thread id and the slot's generation, and the guard that hands an
//! automatically claimed slot back when its thread ends.
//!
//! A claim happens inside the allocator, on the out-of-line path of a thread without a slot, so
//! it must neither recurse nor lock what an allocation could hold: while a thread claims, its
//! state says so, and anything it allocates meanwhile (the registration of the guard's
//! destructor may) counts in the shared bucket without claiming again.
//!
//! [`count_every_thread`]: super::count_every_thread

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::slot::{CURRENT_SLOT, Event, NOT_OVER, SLOTS, Slot, claimed, owned_slot, record};

/// Whether every thread claims a slot of its own on its first allocation or free.
pub(super) static EVERY_THREAD: AtomicBool = AtomicBool::new(false);

/// How many times a slot was given back: a thread that found no free slot tries again only
/// once this has moved, so the shared bucket's path stays a few loads while slots are full.
static RELEASES: AtomicU64 = AtomicU64::new(0);

/// Where a thread stands with its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Claim {
    /// No slot: the thread claims one at its next allocation or free, if every thread is
    /// counted and some slot was given back since its last attempt (`failed_at`: [`RELEASES`]
    /// then, `u64::MAX` if it never failed).
    Unclaimed { failed_at: u64 },
    /// The thread holds a slot it claimed by itself (in `CURRENT_SLOT`).
    Auto,
    /// The thread must not claim: it is claiming right now, holds a worker's slot, or runs
    /// [`unmeasured`](super::unmeasured).
    Busy,
    /// The thread is ending: its guard has run, and whatever it allocates from now on (other
    /// thread-local destructors) counts in the shared bucket.
    Exited,
}

const UNCLAIMED: Claim = Claim::Unclaimed {
    failed_at: u64::MAX,
};

/// Gives an automatically claimed slot back when its thread ends.
struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        if CLAIM.try_with(|current| current.replace(Claim::Exited)) == Ok(Claim::Auto)
            && let Some(slot) = owned_slot()
        {
            release(slot);
        }
    }
}

thread_local! {
    // Const-initialised and without a destructor: readable at any point of the thread's life,
    // its destructors included, without allocating.
    static CLAIM: Cell<Claim> = const { Cell::new(UNCLAIMED) };
    // Its destructor is registered at the thread's first automatic claim (once per thread, as
    // the standard library does for any thread local with one), and runs when the thread ends.
    static GUARD: ExitGuard = const { ExitGuard };
}

/// Where the calling thread stands ([`Claim::Exited`] if that cannot be read).
pub(super) fn state() -> Claim {
    CLAIM.try_with(Cell::get).unwrap_or(Claim::Exited)
}

/// Sets the calling thread's state, unless the thread is ending (then it stays so).
pub(super) fn set_state(claim: Claim) {
    let _ = CLAIM.try_with(|current| {
        if current.get() != Claim::Exited {
            current.set(claim);
        }
    });
}

/// [`set_state`] to [`Claim::Busy`], returning the state it replaced, for [`set_state`] later.
pub(super) fn hold_off() -> Claim {
    let before = state();
    set_state(Claim::Busy);
    before
}

/// Claims the first free slot for the calling thread and counts into it from now on; `None`
/// when every slot is taken. `auto`: claimed by itself (not a worker registering).
pub(super) fn claim_free(auto: bool) -> Option<&'static Slot> {
    for (index, slot) in SLOTS.iter().enumerate().skip(1) {
        // A load first: no write to (and no cache-line theft from) slots that are taken.
        if !slot.in_use.load(Ordering::Relaxed)
            && slot
                .in_use
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            claimed(index);
            take(slot, auto);
            return Some(slot);
        }
    }
    None
}

/// Makes the calling thread the new owner of `slot`, which it holds already (free a moment ago,
/// or its own automatic slot): a new generation, counters from zero, no budget, no capture.
pub(super) fn take(slot: &'static Slot, auto: bool) {
    let tid = gettid();
    // Where the raw counters stand now, under the sequence lock so readers never see a mix.
    slot.owner_write(|slot| {
        for (raw, base) in [
            (&slot.allocs, &slot.base_allocs),
            (&slot.deallocs, &slot.base_deallocs),
            (&slot.reallocs, &slot.base_reallocs),
            (&slot.bytes_allocated, &slot.base_bytes_allocated),
            (&slot.bytes_freed, &slot.base_bytes_freed),
        ] {
            base.store(raw.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        slot.peak_live_bytes
            .store(slot.raw_live(), Ordering::Relaxed);
        slot.budget_live_bytes.store(i64::MAX, Ordering::Relaxed);
        slot.over_budget_at.store(NOT_OVER, Ordering::Relaxed);
        slot.capturing.store(false, Ordering::Relaxed);
        // A new owner draws its own first live sample point, at its first allocation.
        slot.live_at.store(0, Ordering::Relaxed);
        slot.fuse_check_at.store(0, Ordering::Relaxed);
        slot.claims.fetch_add(1, Ordering::Relaxed);
        slot.tid.store(tid, Ordering::Relaxed);
        slot.auto.store(auto, Ordering::Relaxed);
    });
    let _ = CURRENT_SLOT.try_with(|current| current.set(Some(slot)));
}

/// Stops the calling thread counting into `slot` and hands the slot back. Its raw counters stay:
/// they are part of the process's live heap.
pub(super) fn release(slot: &'static Slot) {
    // Stop counting first, so a new owner never sees our writes.
    let _ = CURRENT_SLOT.try_with(|current| current.set(None));
    slot.in_use.store(false, Ordering::Release);
    RELEASES.fetch_add(1, Ordering::Release);
}

/// Counts `event` in the calling thread's slot, `owned`; a thread without one counts in a slot
/// it claims now if it may (see [`Claim::Unclaimed`]), else in the shared bucket.
///
/// Only where the allocator is out of line already, or where a thread with a slot takes the
/// same instructions with it as without (the compiled `alloc`, `dealloc` and `realloc` were
/// compared): a claim is the shared bucket's business.
// Inlined, so that the event is known where it is recorded (no dispatch on its kind).
#[allow(clippy::inline_always)]
#[inline(always)]
pub(super) fn count(owned: Option<&'static Slot>, event: Event) {
    record(owned.or_else(claim_auto), event);
}

/// The calling thread's own new slot, if every thread is counted, it may claim and one is free.
/// The tests are inlined and the claim is not: a thread that stays in the shared bucket pays a
/// few loads, not the claim's stack frame (measured: with the claim inlined, the shared
/// bucket's pair cost twice what it did before claims existed).
#[inline]
fn claim_auto() -> Option<&'static Slot> {
    if !EVERY_THREAD.load(Ordering::Relaxed) {
        return None;
    }
    let Claim::Unclaimed { failed_at } = state() else {
        return None;
    };
    let releases = RELEASES.load(Ordering::Acquire);
    if failed_at == releases {
        return None;
    }
    claim_now(releases)
}

/// [`claim_auto`] once the thread may claim; `releases`: [`RELEASES`] when it checked.
#[cold]
#[inline(never)]
fn claim_now(releases: u64) -> Option<&'static Slot> {
    // From here until the claim is settled, whatever this thread allocates (the standard
    // library may allocate to register the guard's destructor) counts in the shared bucket.
    set_state(Claim::Busy);
    if GUARD.try_with(|_| ()).is_err() {
        // Its destructor has run already: the thread is ending.
        set_state(Claim::Exited);
        return None;
    }
    let slot = claim_free(true);
    set_state(match slot {
        Some(_) => Claim::Auto,
        None => Claim::Unclaimed {
            failed_at: releases,
        },
    });
    slot
}

/// The calling thread's id as the kernel knows it (0 where there is no such thing). A system
/// call that allocates nothing, made at each claim rather than cached: a forked child's thread
/// has another id than the thread it was copied from.
fn gettid() -> u32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::thread::gettid()
            .as_raw_nonzero()
            .get()
            .unsigned_abs()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        0
    }
}
