//! The counting allocator: per-thread counter slots wrapped around any `GlobalAlloc`.
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
//!   `lock`-prefixed instructions, no cache-line ping-pong) under a sequence lock, and readers on
//!   other threads take a consistent [`Counters`] snapshot with relaxed loads and a retry.
//! - `realloc` counts as one reallocation and adds only the change in size to the byte totals;
//!   `alloc_zeroed` and `realloc` are forwarded to the inner allocator, never emulated, so
//!   calloc's and mremap's fast paths stay intact.
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

/// One slot's counters. Aligned to two cache lines so that two workers never share a line.
#[repr(align(128))]
struct Slot {
    /// Sequence lock: odd while the owner is writing.
    seq: AtomicU64,
    allocs: AtomicU64,
    deallocs: AtomicU64,
    reallocs: AtomicU64,
    bytes_allocated: AtomicU64,
    bytes_freed: AtomicU64,
    peak_live_bytes: AtomicI64,
    /// Live bytes past which the slot is flagged over budget (`i64::MAX`: no budget).
    budget_live_bytes: AtomicI64,
    /// The live byte count at which the budget was first passed (0: not passed).
    over_budget_at: AtomicI64,
    in_use: AtomicBool,
}

impl Slot {
    const fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            allocs: AtomicU64::new(0),
            deallocs: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
            peak_live_bytes: AtomicI64::new(0),
            budget_live_bytes: AtomicI64::new(i64::MAX),
            over_budget_at: AtomicI64::new(0),
            in_use: AtomicBool::new(false),
        }
    }
}

static SLOTS: [Slot; MAX_SLOTS] = [const { Slot::new() }; MAX_SLOTS];

thread_local! {
    // A const-initialised `Cell` with no destructor: reading it never allocates and never
    // fails, not even while the thread is being torn down.
    static CURRENT_SLOT: Cell<u16> = const { Cell::new(0) };
}

#[inline]
fn current_slot() -> usize {
    CURRENT_SLOT.try_with(Cell::get).map_or(0, usize::from)
}

/// What one event does to a slot's counters.
#[derive(Clone, Copy)]
enum Event {
    Alloc(u64),
    Dealloc(u64),
    Grow(u64),
    Shrink(u64),
}

#[inline]
fn record(event: Event) {
    let index = current_slot();
    let slot = &SLOTS[index];
    if index == 0 {
        record_shared(slot, event);
    } else {
        record_owned(slot, event);
    }
}

/// The owner's path: plain loads and stores under the sequence lock, no read-modify-write.
#[inline]
fn record_owned(slot: &Slot, event: Event) {
    #[inline]
    fn bump(counter: &AtomicU64, by: u64) -> u64 {
        let value = counter.load(Ordering::Relaxed).wrapping_add(by);
        counter.store(value, Ordering::Relaxed);
        value
    }
    let seq = slot.seq.load(Ordering::Relaxed);
    slot.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    match event {
        Event::Alloc(bytes) => {
            bump(&slot.allocs, 1);
            grew(slot, bump(&slot.bytes_allocated, bytes));
        }
        Event::Grow(bytes) => {
            bump(&slot.reallocs, 1);
            grew(slot, bump(&slot.bytes_allocated, bytes));
        }
        Event::Dealloc(bytes) => {
            bump(&slot.deallocs, 1);
            bump(&slot.bytes_freed, bytes);
        }
        Event::Shrink(bytes) => {
            bump(&slot.reallocs, 1);
            bump(&slot.bytes_freed, bytes);
        }
    }
    slot.seq.store(seq.wrapping_add(2), Ordering::Release);
}

/// After the owner's live bytes grew: raise the peak, and flag the budget if it was passed.
/// The allocation itself always succeeds: failing it would abort the whole process.
#[inline]
fn grew(slot: &Slot, allocated: u64) {
    let live = allocated.wrapping_sub(slot.bytes_freed.load(Ordering::Relaxed)) as i64;
    if live > slot.peak_live_bytes.load(Ordering::Relaxed) {
        slot.peak_live_bytes.store(live, Ordering::Relaxed);
        if live > slot.budget_live_bytes.load(Ordering::Relaxed)
            && slot.over_budget_at.load(Ordering::Relaxed) == 0
        {
            slot.over_budget_at.store(live, Ordering::Relaxed);
        }
    }
}

/// The shared bucket's path: several threads write it, so every update is an atomic add.
#[inline]
fn record_shared(slot: &Slot, event: Event) {
    let grew = match event {
        Event::Alloc(bytes) => {
            slot.allocs.fetch_add(1, Ordering::Relaxed);
            Some(bytes)
        }
        Event::Grow(bytes) => {
            slot.reallocs.fetch_add(1, Ordering::Relaxed);
            Some(bytes)
        }
        Event::Dealloc(bytes) => {
            slot.deallocs.fetch_add(1, Ordering::Relaxed);
            slot.bytes_freed.fetch_add(bytes, Ordering::Relaxed);
            None
        }
        Event::Shrink(bytes) => {
            slot.reallocs.fetch_add(1, Ordering::Relaxed);
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
#[must_use]
pub fn snapshot(slot: SlotId) -> Counters {
    let slot = &SLOTS[slot.index()];
    loop {
        let before = slot.seq.load(Ordering::Acquire);
        let counters = Counters {
            allocs: slot.allocs.load(Ordering::Relaxed),
            deallocs: slot.deallocs.load(Ordering::Relaxed),
            reallocs: slot.reallocs.load(Ordering::Relaxed),
            bytes_allocated: slot.bytes_allocated.load(Ordering::Relaxed),
            bytes_freed: slot.bytes_freed.load(Ordering::Relaxed),
            peak_live_bytes: slot.peak_live_bytes.load(Ordering::Relaxed),
        };
        fence(Ordering::Acquire);
        let after = slot.seq.load(Ordering::Relaxed);
        if before == after && before.is_multiple_of(2) {
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
        let slot = &SLOTS[self.id.index()];
        let seq = slot.seq.load(Ordering::Relaxed);
        slot.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        let live = slot
            .bytes_allocated
            .load(Ordering::Relaxed)
            .wrapping_sub(slot.bytes_freed.load(Ordering::Relaxed)) as i64;
        slot.peak_live_bytes.store(live, Ordering::Relaxed);
        slot.seq.store(seq.wrapping_add(2), Ordering::Release);
    }
}

impl WorkerSlot {
    /// Flags this slot once its live bytes pass `limit` (absolute, as [`Counters::live_bytes`]
    /// counts them), or never with `None`; clears any earlier flag. Only the owner may do this.
    pub fn set_budget(&self, limit: Option<i64>) {
        let slot = &SLOTS[self.id.index()];
        let limit = limit.unwrap_or(i64::MAX);
        slot.budget_live_bytes.store(limit, Ordering::Relaxed);
        // Already past it: flag now, since the allocator only checks when the peak rises.
        let live = self.counters().live_bytes();
        slot.over_budget_at
            .store(if live > limit { live } else { 0 }, Ordering::Relaxed);
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

fn over_budget_at(index: usize) -> Option<i64> {
    match SLOTS[index].over_budget_at.load(Ordering::Relaxed) {
        0 => None,
        live => Some(live),
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
        // Stop counting into the slot before handing it back, so a new owner never sees our writes.
        let _ = CURRENT_SLOT.try_with(|current| current.set(0));
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
            // We own the slot now; zero it under the sequence lock so readers never see a mix.
            let seq = slot.seq.load(Ordering::Relaxed);
            slot.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
            fence(Ordering::Release);
            for counter in [
                &slot.allocs,
                &slot.deallocs,
                &slot.reallocs,
                &slot.bytes_allocated,
                &slot.bytes_freed,
            ] {
                counter.store(0, Ordering::Relaxed);
            }
            slot.peak_live_bytes.store(0, Ordering::Relaxed);
            slot.budget_live_bytes.store(i64::MAX, Ordering::Relaxed);
            slot.over_budget_at.store(0, Ordering::Relaxed);
            slot.seq.store(seq.wrapping_add(2), Ordering::Release);
            // Cannot truncate: MAX_SLOTS fits in u16 (checked at compile time above).
            let id = index as u16;
            CURRENT_SLOT.with(|current| current.set(id));
            return Ok(WorkerSlot {
                id: SlotId(id),
                _not_send: std::marker::PhantomData,
            });
        }
    }
    Err(RegisterError::SlotsExhausted)
}

/// The slot the calling thread counts into right now.
#[must_use]
pub fn current_slot_id() -> SlotId {
    SlotId(current_slot() as u16)
}

/// A `GlobalAlloc` that counts every call into the calling thread's slot, then forwards it to
/// `A` unchanged.
///
/// Install it with `#[global_allocator] static A: CountingAlloc<System> = CountingAlloc::new(System);`
/// (the heaplab binary wraps `cap::Cap<System>` instead).
#[derive(Debug)]
pub struct CountingAlloc<A> {
    inner: A,
}

impl<A> CountingAlloc<A> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }

    /// The wrapped allocator (for example to read or set cap's limit).
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

// SAFETY: every method forwards to `A`, which upholds the `GlobalAlloc` contract, with the same
// arguments and returns its result unchanged; the counting around it neither allocates nor
// unwinds, and touches only atomics in a static table and a const-initialised thread local.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract (non-zero size), which we pass on.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            record(Event::Alloc(layout.size() as u64));
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`; forwarding keeps the inner allocator's zeroing fast path.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record(Event::Alloc(layout.size() as u64));
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator with `layout`; every
        // pointer we hand out came from `inner` with the same layout.
        unsafe { self.inner.dealloc(ptr, layout) };
        record(Event::Dealloc(layout.size() as u64));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract; `ptr` and `layout` came from `inner`.
        let new_ptr = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            let old_size = layout.size();
            if new_size >= old_size {
                record(Event::Grow((new_size - old_size) as u64));
            } else {
                record(Event::Shrink((old_size - new_size) as u64));
            }
        }
        new_ptr
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

/// Hands memory that is free but still resident back to the operating system, where the C
/// allocator can (glibc's `malloc_trim`, which walks every arena); elsewhere does nothing.
///
/// Called when an experiment ends: glibc keeps the pages of freed chunks inside its arenas, so
/// without it a process's RSS carries the garbage of every experiment that ever ran, and the
/// next experiment's RSS chart starts from its predecessor's high-water mark.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim takes no pointers, only a padding size, and is thread-safe: it
        // locks each arena while trimming it. It releases only memory that malloc holds free.
        // The result only says whether anything was released; either way is fine.
        unsafe {
            malloc_trim(0);
        }
    }
}
