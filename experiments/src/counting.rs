//! The counting allocator: per-thread counter slots wrapped around any `GlobalAlloc`, with the
//! process's live heap and a process-wide fuse derived from them.
//!
//! This module holds all of heaplab's `unsafe` code. It has one job: count every allocation,
//! deallocation and reallocation exactly, attributed to the thread that made it, without
//! allocating, locking or contending inside the allocator.
//!
//! # Design
//! - A static array of [`MAX_SLOTS`] counter slots. Slot 0 is the shared "other" bucket: every
//!   thread that has not registered (the UI, std internals, test harness threads) counts there
//!   with atomic read-modify-write operations, because several threads write it at once.
//! - A thread that calls [`register_worker`] owns a slot until its [`WorkerSlot`] guard drops.
//!   Only the owner writes an owned slot, so the owner uses plain relaxed loads and stores (no
//!   `lock`-prefixed instructions, no cache-line ping-pong), and readers on other threads take a
//!   consistent [`Counters`] snapshot with relaxed loads and a retry. The three call counters
//!   are their own sequence locks: each holds twice its count, and is odd while the owner records
//!   an event of that kind, so an event costs no store beyond its own counters but one.
//!   The thread finds its slot through a thread-local reference (one `fs`-relative load).
//! - A slot's raw counters only ever grow, for the life of the process; a registration records
//!   where they stood, and [`snapshot`] reports what happened since. So the sum of every slot's
//!   live bytes is the process's live heap ([`process_live_bytes`]), exact whichever threads
//!   allocate, free or come and go, with no shared counter on the hot path.
//! - The fuse ([`set_fuse`]): each slot re-checks the process heap against the limit after at
//!   most 1 MiB of its own allocations (sooner near the limit), and before any allocation
//!   larger than that; past the limit an allocation fails.
//! - `realloc` counts as one reallocation and adds only the change in size to the byte totals;
//!   `alloc_zeroed` and `realloc` are forwarded to the inner allocator, never emulated, so
//!   calloc's and mremap's fast paths stay intact.
//! - A free is counted before it is forwarded, so the inner allocator's `free` is a tail call.
//!   So is an ordinary allocation: under 1 MiB, at most 16-byte aligned, with the slot's fuse
//!   check not due. That is why such an allocation stays counted in the rare case that the inner
//!   allocator then refuses it, which for a request that small, with the fuse's headroom left,
//!   happens only when the operating system itself is out of memory (Rust then aborts the
//!   process, unless the caller used a fallible API such as `Vec::try_reserve`). Every other
//!   allocation (large, over-aligned, or due for a fuse check) is counted only once it
//!   succeeded. Measured (`cargo bench --bench allocator`): with the tail call, and the call
//!   counters as their own sequence locks, an alloc+free pair went from +21..38% over `System`
//!   to +10..20%, about 1 ns less. On 2026-12-02, seven runs on a host where `System` takes
//!   7.4 ns per pair: +7% on one thread and +6% on two (medians), the cheapest exact counter in
//!   the bench (divan's `AllocProfiler` +14% and +11%). Half of that is the wrapper alone (the
//!   thread-local load, the tests, the tail call: +3%); checking the peak after each free, or
//!   as a branchless `max` on every allocation, measured dearer (README, "What counting
//!   costs").
//!
//! Memory freed by a thread other than the one that allocated it counts as freed by the freeing
//! thread: a slot's live bytes can therefore be negative for a thread that frees what others made.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering, fence};

/// Number of counter slots, including the shared "other" bucket in slot 0.
pub const MAX_SLOTS: usize = 64;

/// Index of a counter slot. [`SlotId::OTHER`] is the shared bucket of unregistered threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotId(u16);

impl SlotId {
    /// The shared bucket every unregistered thread counts into.
    pub const OTHER: SlotId = SlotId(0);

    /// The slot's index in the static table.
    #[must_use]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// "The budget has not been passed", in [`Slot::over_budget_at`].
const NOT_OVER: i64 = i64::MIN;

/// One slot's counters. Aligned to two cache lines, so that two workers never share a line;
/// `repr(C)` keeps everything an allocation or a free touches in the first one.
#[repr(C, align(128))]
struct Slot {
    /// Sequence lock for the owner's rare writes (registration, peak reset): odd during one.
    seq: AtomicU64,
    // Raw counters: they only grow, from the start of the process. The three call counters hold
    // twice the number of calls and are odd while the owner records a call of their kind: each
    // is the sequence lock of its own events.
    allocs: AtomicU64,
    deallocs: AtomicU64,
    bytes_allocated: AtomicU64,
    bytes_freed: AtomicU64,
    /// The highest raw live byte count since the registration or the last peak reset.
    peak_live_bytes: AtomicI64,
    /// Raw live bytes past which the slot is flagged over budget (`i64::MAX`: no budget).
    budget_live_bytes: AtomicI64,
    /// `bytes_allocated` at or past which the next allocation re-checks the fuse.
    fuse_check_at: AtomicU64,
    // Second line: what the hot path does not touch.
    reallocs: AtomicU64,
    /// The raw live byte count at which the budget was first passed ([`NOT_OVER`]: not passed).
    over_budget_at: AtomicI64,
    // Where the raw counters stood when the current owner registered.
    base_allocs: AtomicU64,
    base_deallocs: AtomicU64,
    base_reallocs: AtomicU64,
    base_bytes_allocated: AtomicU64,
    base_bytes_freed: AtomicU64,
    in_use: AtomicBool,
    /// Whether the owner's allocations are being captured with their call stacks
    /// ([`crate::sites`]); while it is set, `fuse_check_at` stays 0 so that every allocation
    /// takes the out-of-line path, and the fast path pays nothing for the feature.
    capturing: AtomicBool,
    /// While capturing: 0 to capture every allocation, else the mean number of bytes between
    /// two sampled ones (a sampled capture keeps `fuse_check_at` no further than `sample_at`).
    sample_every: AtomicU64,
    /// While sampling: the raw `bytes_allocated` at or past which the next allocation is
    /// sampled.
    sample_at: AtomicU64,
    /// The sampler's random state (xorshift), the owner's own.
    sample_seed: AtomicU64,
}

impl Slot {
    const fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            allocs: AtomicU64::new(0),
            deallocs: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
            peak_live_bytes: AtomicI64::new(0),
            budget_live_bytes: AtomicI64::new(i64::MAX),
            fuse_check_at: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            over_budget_at: AtomicI64::new(NOT_OVER),
            base_allocs: AtomicU64::new(0),
            base_deallocs: AtomicU64::new(0),
            base_reallocs: AtomicU64::new(0),
            base_bytes_allocated: AtomicU64::new(0),
            base_bytes_freed: AtomicU64::new(0),
            in_use: AtomicBool::new(false),
            capturing: AtomicBool::new(false),
            sample_every: AtomicU64::new(0),
            sample_at: AtomicU64::new(0),
            sample_seed: AtomicU64::new(0x9e37_79b9_7f4a_7c15),
        }
    }

    /// Raw live bytes: everything this slot's threads allocated minus everything they freed.
    #[inline]
    fn raw_live(&self) -> i64 {
        // Freed first: a free between the two loads makes the figure high, never low.
        let freed = self.bytes_freed.load(Ordering::Relaxed);
        self.bytes_allocated
            .load(Ordering::Relaxed)
            .wrapping_sub(freed) as i64
    }

    /// Raw live bytes when the current owner registered (0 for the shared bucket).
    fn base_live(&self) -> i64 {
        self.base_bytes_allocated
            .load(Ordering::Relaxed)
            .wrapping_sub(self.base_bytes_freed.load(Ordering::Relaxed)) as i64
    }

    /// Runs `write` as the owner, under the slot's own sequence lock, so that readers never see
    /// half of it. For the rare writes; each kind of call has a sequence lock of its own.
    fn owner_write(&self, write: impl FnOnce(&Slot)) {
        write_section(&self.seq, || write(self));
    }
}

/// Runs `write` as the owner, bracketed by the sequence word `word`: odd while it runs, and two
/// more than before once it has. A reader that saw the same even value before and after reading
/// (see [`snapshot`]) saw none of `write`'s stores, or all of them.
// Measured: left to itself, LLVM outlined this and `record` into calls taking the event
// through the stack, and a 64-byte alloc+free pair went from 12.6 to 17 ns.
#[allow(clippy::inline_always)]
#[inline(always)]
fn write_section(word: &AtomicU64, write: impl FnOnce()) {
    let seq = word.load(Ordering::Relaxed);
    word.store(seq.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    write();
    word.store(seq.wrapping_add(2), Ordering::Release);
}

static SLOTS: [Slot; MAX_SLOTS] = [const { Slot::new() }; MAX_SLOTS];

thread_local! {
    // The calling thread's own slot (`None`: the shared bucket). A const-initialised `Cell`
    // with no destructor: reading it never allocates and never fails, not even while the
    // thread is being torn down.
    static CURRENT_SLOT: Cell<Option<&'static Slot>> = const { Cell::new(None) };
}

/// The calling thread's own slot, if it registered one.
#[inline]
fn owned_slot() -> Option<&'static Slot> {
    CURRENT_SLOT.try_with(Cell::get).ok().flatten()
}

#[inline]
fn current_slot() -> usize {
    owned_slot().map_or(0, |slot| {
        // In bounds: the reference always points into SLOTS.
        (std::ptr::from_ref(slot).addr() - SLOTS.as_ptr().addr()) / size_of::<Slot>()
    })
}

/// What one event does to a slot's counters.
#[derive(Clone, Copy)]
enum Event {
    Alloc(u64),
    Dealloc(u64),
    Grow(u64),
    Shrink(u64),
}

#[allow(clippy::inline_always)] // see `write_section`
#[inline(always)]
fn record(owned: Option<&'static Slot>, event: Event) {
    match owned {
        Some(slot) => record_owned(slot, event),
        None => record_shared(&SLOTS[0], event),
    }
}

/// The owner's path: plain loads and stores, no read-modify-write. Each event is written under
/// its own call counter, which is the sequence lock of its kind and ends two higher (one call).
#[allow(clippy::inline_always)] // see `write_section`
#[inline(always)]
fn record_owned(slot: &Slot, event: Event) {
    #[inline]
    fn bump(counter: &AtomicU64, by: u64) -> u64 {
        let value = counter.load(Ordering::Relaxed).wrapping_add(by);
        counter.store(value, Ordering::Relaxed);
        value
    }
    let allocated = |bytes| {
        slot.bytes_allocated
            .load(Ordering::Relaxed)
            .wrapping_add(bytes)
    };
    match event {
        Event::Alloc(bytes) => record_growth(slot, &slot.allocs, allocated(bytes)),
        Event::Grow(bytes) => record_growth(slot, &slot.reallocs, allocated(bytes)),
        Event::Dealloc(bytes) => write_section(&slot.deallocs, || {
            bump(&slot.bytes_freed, bytes);
        }),
        Event::Shrink(bytes) => write_section(&slot.reallocs, || {
            bump(&slot.bytes_freed, bytes);
        }),
    }
}

/// An event that grew the owner's byte total to `allocated`, written under `word` (`allocs` for
/// an allocation, `reallocs` for a growing reallocation).
#[allow(clippy::inline_always)] // see `write_section`
#[inline(always)]
fn record_growth(slot: &Slot, word: &AtomicU64, allocated: u64) {
    write_section(word, || {
        slot.bytes_allocated.store(allocated, Ordering::Relaxed);
        grew(slot, allocated);
    });
}

/// After the owner's live bytes grew: raise the peak, and flag the budget if it was passed.
/// The allocation itself always goes ahead: failing it for the budget's sake would abort the
/// whole process.
#[inline]
fn grew(slot: &Slot, allocated: u64) {
    let live = allocated.wrapping_sub(slot.bytes_freed.load(Ordering::Relaxed)) as i64;
    if live <= slot.peak_live_bytes.load(Ordering::Relaxed) {
        return;
    }
    slot.peak_live_bytes.store(live, Ordering::Relaxed);
    if live > slot.budget_live_bytes.load(Ordering::Relaxed)
        && slot.over_budget_at.load(Ordering::Relaxed) == NOT_OVER
    {
        slot.over_budget_at.store(live, Ordering::Relaxed);
    }
}

/// The shared bucket's path: several threads write it, so every update is an atomic add. Its
/// call counters step by two as well (one call), and are never odd.
#[inline]
fn record_shared(slot: &Slot, event: Event) {
    let grew = match event {
        Event::Alloc(bytes) => {
            slot.allocs.fetch_add(2, Ordering::Relaxed);
            Some(bytes)
        }
        Event::Grow(bytes) => {
            slot.reallocs.fetch_add(2, Ordering::Relaxed);
            Some(bytes)
        }
        Event::Dealloc(bytes) => {
            slot.deallocs.fetch_add(2, Ordering::Relaxed);
            slot.bytes_freed.fetch_add(bytes, Ordering::Relaxed);
            None
        }
        Event::Shrink(bytes) => {
            slot.reallocs.fetch_add(2, Ordering::Relaxed);
            slot.bytes_freed.fetch_add(bytes, Ordering::Relaxed);
            None
        }
    };
    if let Some(bytes) = grew {
        let allocated = slot
            .bytes_allocated
            .fetch_add(bytes, Ordering::Relaxed)
            .wrapping_add(bytes);
        let live = allocated.wrapping_sub(slot.bytes_freed.load(Ordering::Relaxed)) as i64;
        slot.peak_live_bytes.fetch_max(live, Ordering::Relaxed);
    }
}

/// Bytes the whole process has allocated and not freed: the sum of every slot's live bytes,
/// registered or not, past or present owner. Exact when no thread allocates during the call;
/// otherwise each slot is read at a slightly different instant.
#[must_use]
pub fn process_live_bytes() -> i64 {
    SLOTS
        .iter()
        .fold(0i64, |sum, slot| sum.wrapping_add(slot.raw_live()))
}

/// The fuse: live process heap in bytes past which allocations fail (`u64::MAX`: none).
static FUSE_LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);

/// The most a slot allocates between two checks of the fuse.
const FUSE_STEP: u64 = 1 << 20;

/// Sets the process-wide fuse: once the live process heap would pass `limit` bytes, an
/// allocation fails instead (and Rust aborts the process on a failed infallible allocation).
/// Refuses, returning the live heap, a limit below what is already allocated.
///
/// Every slot checks within its next 1 MiB of allocations; a slot that was checking at that very
/// moment may finish one more step under the old limit.
pub fn set_fuse(limit: u64) -> Result<(), u64> {
    let live = process_live_bytes().max(0) as u64;
    if limit < live {
        return Err(live);
    }
    FUSE_LIMIT.store(limit, Ordering::Relaxed);
    for slot in &SLOTS {
        slot.fuse_check_at.store(0, Ordering::Relaxed);
    }
    Ok(())
}

/// The fuse in bytes (`u64::MAX`: none).
#[must_use]
pub fn fuse() -> u64 {
    FUSE_LIMIT.load(Ordering::Relaxed)
}

/// Whether the calling thread may allocate `bytes` more: a load and a compare, unless the slot
/// is due for a check of the whole process against the fuse.
#[inline]
fn fuse_allows(owned: Option<&'static Slot>, bytes: u64) -> bool {
    let slot = owned.unwrap_or(&SLOTS[0]);
    slot.bytes_allocated
        .load(Ordering::Relaxed)
        .wrapping_add(bytes)
        < slot.fuse_check_at.load(Ordering::Relaxed)
        || fuse_check(slot, bytes)
}

/// Sums the process heap and compares it with the fuse; if `bytes` more fit, schedules the
/// slot's next check so that all slots together cannot allocate past the limit before one of
/// them checks again.
#[cold]
#[inline(never)]
fn fuse_check(slot: &Slot, bytes: u64) -> bool {
    let limit = FUSE_LIMIT.load(Ordering::Relaxed);
    let after = (process_live_bytes().max(0) as u64).saturating_add(bytes);
    if after > limit {
        return false;
    }
    let step = FUSE_STEP.min((limit - after) / MAX_SLOTS as u64);
    // The owner's own field, or the shared bucket's (where a racing store only moves the next
    // check by one step). While the slot captures sites, every allocation must come here.
    let fuse_next = slot
        .bytes_allocated
        .load(Ordering::Relaxed)
        .wrapping_add(bytes)
        .wrapping_add(step);
    let next = if !slot.capturing.load(Ordering::Relaxed) {
        fuse_next
    } else if slot.sample_every.load(Ordering::Relaxed) == 0 {
        0
    } else {
        fuse_next.min(slot.sample_at.load(Ordering::Relaxed))
    };
    slot.fuse_check_at.store(next, Ordering::Relaxed);
    true
}

/// A snapshot of one slot's counters.
///
/// For an owned slot the snapshot is consistent: all fields were read between two of the owner's
/// updates. For the shared "other" bucket each field is exact but fields may be a few events
/// apart, since several threads update it at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
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
    /// The highest live byte count seen since the slot was registered or its peak was reset.
    pub peak_live_bytes: i64,
}

impl Counters {
    /// Bytes allocated and not yet freed (negative if this thread freed other threads' memory).
    #[must_use]
    pub fn live_bytes(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }

    /// The events between `earlier` and `self` (the peak is `self`'s).
    #[must_use]
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            allocs: self.allocs.wrapping_sub(earlier.allocs),
            deallocs: self.deallocs.wrapping_sub(earlier.deallocs),
            reallocs: self.reallocs.wrapping_sub(earlier.reallocs),
            bytes_allocated: self.bytes_allocated.wrapping_sub(earlier.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_sub(earlier.bytes_freed),
            peak_live_bytes: self.peak_live_bytes,
        }
    }
}

/// Reads a consistent snapshot of `slot` from any thread, with relaxed loads.
///
/// The slot has four sequence locks (the three call counters, each for its own events, and
/// `seq` for the rest); the snapshot is the one read while none of them was odd and none moved.
#[must_use]
pub fn snapshot(slot: SlotId) -> Counters {
    let slot = &SLOTS[slot.index()];
    let words = |order| {
        [
            slot.allocs.load(order),
            slot.deallocs.load(order),
            slot.reallocs.load(order),
            slot.seq.load(order),
        ]
    };
    let calls = |word: u64, base: &AtomicU64| word.wrapping_sub(base.load(Ordering::Relaxed)) / 2;
    let since = |raw: &AtomicU64, base: &AtomicU64| {
        raw.load(Ordering::Relaxed)
            .wrapping_sub(base.load(Ordering::Relaxed))
    };
    loop {
        let before = words(Ordering::Acquire);
        if before.iter().any(|word| word % 2 == 1) {
            std::hint::spin_loop();
            continue;
        }
        let counters = Counters {
            allocs: calls(before[0], &slot.base_allocs),
            deallocs: calls(before[1], &slot.base_deallocs),
            reallocs: calls(before[2], &slot.base_reallocs),
            bytes_allocated: since(&slot.bytes_allocated, &slot.base_bytes_allocated),
            bytes_freed: since(&slot.bytes_freed, &slot.base_bytes_freed),
            peak_live_bytes: slot
                .peak_live_bytes
                .load(Ordering::Relaxed)
                .wrapping_sub(slot.base_live()),
        };
        fence(Ordering::Acquire);
        if words(Ordering::Relaxed) == before {
            return counters;
        }
        std::hint::spin_loop();
    }
}

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

    /// Starts or stops sending every allocation and reallocation of this thread through
    /// [`crate::sites`] with its call stack. Only the owner may do this; [`crate::sites::Capture`]
    /// is the way in.
    ///
    /// `sample_every` 0 captures every allocation; otherwise one allocation per about that
    /// many bytes is sampled, as pprof and tcmalloc do: the one during which the thread's
    /// allocated bytes pass a point drawn from an exponential distribution of that mean, so an
    /// allocation of `s` bytes is sampled with probability `1 - exp(-s / mean)` and stands for
    /// the inverse of that many allocations.
    pub(crate) fn set_capturing(&self, on: bool, sample_every: u64) {
        let slot = &SLOTS[self.id.index()];
        slot.sample_every.store(sample_every, Ordering::Relaxed);
        if on && sample_every > 0 {
            let next = slot
                .bytes_allocated
                .load(Ordering::Relaxed)
                .wrapping_add(next_sample_gap(slot, sample_every));
            slot.sample_at.store(next, Ordering::Relaxed);
        }
        slot.capturing.store(on, Ordering::Relaxed);
        // On: the next allocation takes the out-of-line path, which keeps it so (sampling: no
        // further than the next sample point). Off: the next one re-arms the fuse check at its
        // usual distance.
        slot.fuse_check_at.store(0, Ordering::Relaxed);
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
        // Stop counting into the slot before handing it back, so a new owner never sees our
        // writes. Its raw counters stay: they are part of the process's live heap.
        let _ = CURRENT_SLOT.try_with(|current| current.set(None));
        SLOTS[self.id.index()]
            .in_use
            .store(false, Ordering::Release);
    }
}

/// Gives the calling thread a counter slot of its own, zeroed. Allocations the thread makes
/// from now until the guard drops are counted there and nowhere else.
///
/// A thread owns at most one slot at a time.
pub fn register_worker() -> Result<WorkerSlot, RegisterError> {
    if current_slot() != 0 {
        return Err(RegisterError::AlreadyRegistered);
    }
    for (index, slot) in SLOTS.iter().enumerate().skip(1) {
        if slot
            .in_use
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            // We own the slot now. Its counters start from zero for us: record where the raw
            // ones stand, under the sequence lock so readers never see a mix.
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
            });
            CURRENT_SLOT.with(|current| current.set(Some(slot)));
            // Cannot truncate: MAX_SLOTS fits in u16 (checked at compile time above).
            return Ok(WorkerSlot {
                id: SlotId(index as u16),
                _not_send: std::marker::PhantomData,
            });
        }
    }
    Err(RegisterError::SlotsExhausted)
}

/// Whether the process's global allocator is a [`CountingAlloc`]: an allocation made now
/// moves the calling thread's counters. A program that forgot the `#[global_allocator]` line
/// would show zeros everywhere; this is how it finds out first.
#[must_use]
pub fn installed() -> bool {
    let before = snapshot(current_slot_id());
    drop(std::hint::black_box(Box::new(std::hint::black_box(0u64))));
    snapshot(current_slot_id()).allocs != before.allocs
}

/// The slot the calling thread counts into right now.
#[must_use]
pub fn current_slot_id() -> SlotId {
    SlotId(current_slot() as u16)
}

/// A `GlobalAlloc` that counts every call into the calling thread's slot, then forwards it to
/// `A` unchanged; an allocation that would pass the fuse ([`set_fuse`]) fails without reaching `A`.
///
/// Install it with `#[global_allocator] static A: CountingAlloc<System> = CountingAlloc::new(System);`
/// (the heaplab binary installs exactly that).
#[derive(Debug)]
pub struct CountingAlloc<A> {
    inner: A,
}

impl<A> CountingAlloc<A> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

impl CountingAlloc<std::alloc::System> {
    /// Counting over the system allocator: what heaplab installs.
    #[must_use]
    pub const fn system() -> Self {
        Self::new(std::alloc::System)
    }
}

// SAFETY: every method forwards to `A`, which upholds the `GlobalAlloc` contract, with the same
// arguments and returns its result unchanged, or fails (returns null) without calling it when the
// fuse refuses; the counting around it neither allocates nor unwinds, and touches only atomics in
// a static table and a const-initialised thread local.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract (non-zero size), which we pass on.
        unsafe { counted_alloc::<A, false>(&self.inner, layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe { counted_alloc::<A, true>(&self.inner, layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Counted first, so that the free below is the last thing done (a tail call).
        record(owned_slot(), Event::Dealloc(layout.size() as u64));
        // SAFETY: the caller guarantees `ptr` came from this allocator with `layout`; every
        // pointer we hand out came from `inner` with the same layout.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let owned = owned_slot();
        let old_size = layout.size();
        if new_size > old_size && !fuse_allows(owned, (new_size - old_size) as u64) {
            // A failed realloc leaves the old block as it was, as the contract requires.
            return std::ptr::null_mut();
        }
        // SAFETY: the caller upholds `realloc`'s contract; `ptr` and `layout` came from `inner`.
        let new_ptr = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            let grown = new_size.saturating_sub(old_size) as u64;
            if new_size >= old_size {
                record(owned, Event::Grow(grown));
            } else {
                record(owned, Event::Shrink((old_size - new_size) as u64));
            }
            if let Some(slot) = owned
                && slot.capturing.load(Ordering::Relaxed)
            {
                captured(slot, crate::sites::Kind::Realloc, grown);
            }
        }
        new_ptr
    }
}

/// The alignment up to which an allocation may take the fast path: what `System` serves with a
/// plain `malloc` on 64-bit targets (it calls `posix_memalign` past it).
const FAST_ALIGN: usize = 16;

/// An allocation of `layout` by `inner` (zeroed if `ZEROED`), counted, or refused by the fuse.
///
/// The fast path, for a request under 1 MiB ([`FUSE_STEP`]) at most [`FAST_ALIGN`]-aligned with
/// the slot's fuse check not due, counts it and then hands it to `inner` as a tail call, with no
/// stack frame: measured, that is 1 ns per alloc+free pair, most of what counting cost before.
/// So a fast allocation that `inner` then refuses stays counted (see the module documentation
/// for when that can happen). Anything else takes [`checked_alloc`].
///
/// # Safety
/// As for [`GlobalAlloc::alloc`]: `layout` has a non-zero size.
#[allow(clippy::inline_always)] // see `write_section`
#[inline(always)]
unsafe fn counted_alloc<A: GlobalAlloc, const ZEROED: bool>(inner: &A, layout: Layout) -> *mut u8 {
    let size = layout.size() as u64;
    // Unregistered threads (the shared bucket) take the out-of-line path too.
    let Some(slot) = owned_slot() else {
        // SAFETY: our caller's guarantee, passed on.
        return unsafe { checked_alloc::<A, ZEROED>(inner, layout) };
    };
    // Only the owner writes its slot, so this is the value `record` would load again.
    let allocated = slot
        .bytes_allocated
        .load(Ordering::Relaxed)
        .wrapping_add(size);
    if size >= FUSE_STEP
        || layout.align() > FAST_ALIGN
        || layout.align() > layout.size()
        || allocated >= slot.fuse_check_at.load(Ordering::Relaxed)
    {
        // SAFETY: our caller's guarantee, passed on.
        return unsafe { checked_alloc::<A, ZEROED>(inner, layout) };
    }
    // `record_owned` for `Event::Alloc`, with the new total already in hand.
    record_growth(slot, &slot.allocs, allocated);
    // SAFETY: our caller's guarantee, passed on.
    unsafe { allocate::<A, ZEROED>(inner, layout) }
}

/// The out-of-line path of [`counted_alloc`]: checks the fuse, allocates, and counts the
/// allocation only if it succeeded.
///
/// # Safety
/// As for [`GlobalAlloc::alloc`]: `layout` has a non-zero size.
// Cold for a measured (registered) thread, though unregistered threads take it every time:
// the hint keeps the fast path's tests plain branches.
#[cold]
#[inline(never)]
unsafe fn checked_alloc<A: GlobalAlloc, const ZEROED: bool>(inner: &A, layout: Layout) -> *mut u8 {
    let owned = owned_slot();
    let size = layout.size() as u64;
    if !fuse_allows(owned, size) {
        return std::ptr::null_mut();
    }
    // SAFETY: our caller's guarantee, passed on.
    let ptr = unsafe { allocate::<A, ZEROED>(inner, layout) };
    if !ptr.is_null() {
        record(owned, Event::Alloc(size));
        if let Some(slot) = owned
            && slot.capturing.load(Ordering::Relaxed)
        {
            captured(slot, crate::sites::Kind::Alloc, size);
        }
    }
    ptr
}

/// An event of `kind` and `bytes` on a capturing slot, already counted: captured if every
/// event is, or if it is the one sampled.
#[cold]
#[inline(never)]
fn captured(slot: &Slot, kind: crate::sites::Kind, bytes: u64) {
    let every = slot.sample_every.load(Ordering::Relaxed);
    if every == 0 {
        capture(kind, bytes, 1.0);
        return;
    }
    let allocated = slot.bytes_allocated.load(Ordering::Relaxed);
    let at = slot.sample_at.load(Ordering::Relaxed);
    if allocated < at {
        return;
    }
    // Sampled with probability 1 - exp(-bytes / every): it stands for the inverse.
    let probability = -(-(bytes.max(1) as f64) / every as f64).exp_m1();
    let next = allocated.wrapping_add(next_sample_gap(slot, every));
    slot.sample_at.store(next, Ordering::Relaxed);
    let fuse_at = slot.fuse_check_at.load(Ordering::Relaxed);
    slot.fuse_check_at
        .store(fuse_at.min(next), Ordering::Relaxed);
    capture(kind, bytes, 1.0 / probability);
}

/// A draw from an exponential distribution of mean `every` bytes (at least 1), from the
/// slot's own xorshift state: no allocation, no lock.
fn next_sample_gap(slot: &Slot, every: u64) -> u64 {
    let mut x = slot.sample_seed.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    slot.sample_seed.store(x, Ordering::Relaxed);
    // Uniform in (0, 1]: the top 53 bits, never 0.
    let uniform = ((x >> 11) + 1) as f64 / (1u64 << 53) as f64;
    ((-uniform.ln() * every as f64) as u64).max(1)
}

/// Records the call stack of the allocation just counted ([`crate::sites`]). The thread is
/// detached from its slot meanwhile, so that whatever the unwinder itself allocates counts in
/// the shared bucket, is never captured (no recursion), and never reaches the experiment's
/// figures.
#[cold]
#[inline(never)]
fn capture(kind: crate::sites::Kind, bytes: u64, weight: f64) {
    unmeasured(|| crate::sites::record(kind, bytes, weight));
}

/// Runs `f` with the calling thread detached from its slot: what it allocates or frees counts
/// in the shared bucket, as another thread's would. For the measuring thread's own
/// bookkeeping between batches (collecting captured sites), which must not reach the
/// experiment's heap figures.
pub fn unmeasured<T>(f: impl FnOnce() -> T) -> T {
    let owned = CURRENT_SLOT
        .try_with(|current| current.replace(None))
        .ok()
        .flatten();
    let out = f();
    let _ = CURRENT_SLOT.try_with(|current| current.set(owned));
    out
}

/// `inner.alloc(layout)`, or `inner.alloc_zeroed(layout)` if `ZEROED`: forwarded, never
/// emulated, so calloc's fast path for fresh pages stays intact.
///
/// # Safety
/// As for [`GlobalAlloc::alloc`]: `layout` has a non-zero size.
#[allow(clippy::inline_always)] // see `write_section`
#[inline(always)]
unsafe fn allocate<A: GlobalAlloc, const ZEROED: bool>(inner: &A, layout: Layout) -> *mut u8 {
    // SAFETY: the caller upholds `alloc`'s contract, which is also `alloc_zeroed`'s.
    unsafe {
        if ZEROED {
            inner.alloc_zeroed(layout)
        } else {
            inner.alloc(layout)
        }
    }
}

/// The design heaplab rejects, kept for the instrumentation benchmark: every thread counts
/// into one set of shared atomics, so two threads allocating at once fight over a cache line.
#[derive(Debug)]
pub struct SharedCounter<A> {
    inner: A,
    allocs: AtomicU64,
    bytes: AtomicU64,
    frees: AtomicU64,
}

impl<A> SharedCounter<A> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            allocs: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            frees: AtomicU64::new(0),
        }
    }

    /// Allocations counted so far.
    pub fn allocs(&self) -> u64 {
        self.allocs.load(Ordering::Relaxed)
    }
}

// SAFETY: forwards every call to `A` unchanged, with the same arguments; the counting around it
// touches only atomics and neither allocates nor unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for SharedCounter<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocs.fetch_add(1, Ordering::Relaxed);
        self.bytes
            .fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.frees.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `inner` with `layout`, as the caller guarantees.
        unsafe { self.inner.dealloc(ptr, layout) }
    }
}

/// Makes every thread of the process allocate from the C allocator's main arena (glibc:
/// `mallopt(M_ARENA_MAX, 1)`). Returns whether the setting took (always `false` off glibc,
/// where it does nothing).
///
/// Why: glibc gives each new thread an arena of its own, up to eight per core, and keeps the
/// free memory of each. The dashboard starts a reader thread per worker process, a new one at
/// every switch of variant, so over a long session its RSS would grow with arenas it no longer
/// uses; and every worker process runs its experiment under the same settings as every `bench`
/// row has since heaplab began.
///
/// Call it first thing in `main`, before any other thread exists: a thread that has already
/// allocated keeps the arena it has. The cost is that threads share one arena lock on the paths
/// that miss glibc's per-thread cache; heaplab's threads other than the worker allocate little.
#[must_use]
pub fn share_one_c_heap() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_ARENA_MAX: std::ffi::c_int = -8;
        unsafe extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: mallopt takes two integers and no pointers; M_ARENA_MAX is a documented
        // parameter (malloc.h) that only limits how many arenas glibc creates from now on.
        unsafe { mallopt(M_ARENA_MAX, 1) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
