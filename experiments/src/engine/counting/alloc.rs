//! The counting allocator's unsafe core: [`CountingAlloc`]'s `GlobalAlloc` implementation
//! with its fast and out-of-line paths, the rejected [`SharedCounter`], and
//! [`share_one_c_heap`]. All of the counting module's `unsafe` is here, each block with its
//! `SAFETY` comment; the bookkeeping it calls is safe code in the sibling files.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, Ordering};

use super::capture::{Kind, captured};
use super::claim::count;
use super::slot::{Event, FUSE_STEP, Slot, fuse_allows, owned_slot, record, record_growth};

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
        let Some(slot) = owned_slot() else {
            // SAFETY: our caller's guarantee, passed on.
            return unsafe { dealloc_unowned(&self.inner, ptr, layout) };
        };
        // Counted first, so that the free below is the last thing done (a tail call).
        record(Some(slot), Event::Dealloc(layout.size() as u64));
        // SAFETY: the caller guarantees `ptr` came from this allocator with `layout`; every
        // pointer we hand out came from `inner` with the same layout.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(slot) = owned_slot() else {
            // SAFETY: our caller's guarantee, passed on.
            return unsafe { realloc_unowned(&self.inner, ptr, layout, new_size) };
        };
        // SAFETY: our caller's guarantee, passed on.
        unsafe { counted_realloc(&self.inner, Some(slot), ptr, layout, new_size) }
    }
}

/// A reallocation by `inner` counted in `owned` (`None`: a thread without a slot, which may
/// claim one as it counts), or refused by the fuse.
///
/// # Safety
/// As for [`GlobalAlloc::realloc`].
#[allow(clippy::inline_always)] // see `write_section`
#[inline(always)]
unsafe fn counted_realloc<A: GlobalAlloc>(
    inner: &A,
    owned: Option<&'static Slot>,
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    let old_size = layout.size();
    if new_size > old_size && !fuse_allows(owned, (new_size - old_size) as u64) {
        // A failed realloc leaves the old block as it was, as the contract requires.
        return std::ptr::null_mut();
    }
    // SAFETY: the caller upholds `realloc`'s contract; `ptr` and `layout` came from `inner`.
    let new_ptr = unsafe { inner.realloc(ptr, layout, new_size) };
    if !new_ptr.is_null() {
        let grown = new_size.saturating_sub(old_size) as u64;
        if new_size >= old_size {
            count(owned, Event::Grow(grown));
        } else {
            count(owned, Event::Shrink((old_size - new_size) as u64));
        }
        if let Some(slot) = owned
            && slot.capturing.load(Ordering::Relaxed)
        {
            captured(slot, Kind::Realloc, grown);
        }
    }
    new_ptr
}

/// [`GlobalAlloc::realloc`] for a thread without a slot, out of line as
/// [`dealloc_unowned`] is, for the same reason.
///
/// # Safety
/// As for [`GlobalAlloc::realloc`].
#[cold]
#[inline(never)]
unsafe fn realloc_unowned<A: GlobalAlloc>(
    inner: &A,
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    // SAFETY: the caller's guarantee, passed on.
    unsafe { counted_realloc(inner, None, ptr, layout, new_size) }
}

/// [`GlobalAlloc::dealloc`] for a thread without a slot: counted (in a slot it may claim now,
/// or the shared bucket), then freed. Out of line and whole, free included, so that the owner's
/// path keeps nothing across a call: with only the counting out of line, the compiled `dealloc`
/// saved and restored a register on every owner's free too (seen in its disassembly).
///
/// # Safety
/// As for [`GlobalAlloc::dealloc`].
#[cold]
#[inline(never)]
unsafe fn dealloc_unowned<A: GlobalAlloc>(inner: &A, ptr: *mut u8, layout: Layout) {
    count(None, Event::Dealloc(layout.size() as u64));
    // SAFETY: the caller's guarantee, passed on.
    unsafe { inner.dealloc(ptr, layout) }
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
    // Threads without a slot (the shared bucket, or about to claim one) take the out-of-line
    // path too.
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
/// allocation only if it succeeded (a thread without a slot may claim one as it counts it).
///
/// # Safety
/// As for [`GlobalAlloc::alloc`]: `layout` has a non-zero size.
// Cold for a thread with a slot, though threads without one take it every time: the hint
// keeps the fast path's tests plain branches.
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
        count(owned, Event::Alloc(size));
        if let Some(slot) = owned
            && slot.capturing.load(Ordering::Relaxed)
        {
            captured(slot, Kind::Alloc, size);
        }
    }
    ptr
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

/// Gives the C allocator's free memory back to the system (glibc: `malloc_trim(0)`, which
/// also releases free pages in the middle of the heap); off glibc it does nothing.
///
/// Why: glibc keeps the pages of small blocks once freed. The viewer reads an attached
/// program's debug information into tens of MB of small blocks, then lets it all go; without
/// this its RSS would stay at that peak, interleaved with the few blocks it keeps.
pub fn give_back_free_c_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim takes a size and no pointers; it only returns free memory of
        // the C allocator's arenas to the system, under their locks. Its result (whether any
        // was returned) changes nothing for the caller.
        unsafe {
            malloc_trim(0);
        }
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
