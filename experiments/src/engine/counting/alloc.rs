//! The counting allocator's unsafe core: [`CountingAlloc`]'s `GlobalAlloc` implementation
//! with its fast and out-of-line paths, the rejected [`SharedCounter`], and
//! [`share_one_c_heap`], and the placement of live-sampled blocks (page-aligned, behind a
//! header, so that a free tells one by its address). All of the counting module's `unsafe` is
//! here, each block with its `SAFETY` comment; the bookkeeping it calls is safe code in the
//! sibling files.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, Ordering};

use super::capture::{Kind, captured};
use super::claim::count;
use super::live::{self, Block, live_due, live_every, magic, now_ns, started};
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
        // A live-sampled block sits `SAMPLED_OFFSET` into a page: one test of the address,
        // no load, before anything else.
        if ptr.addr() & PAGE_MASK == SAMPLED_OFFSET {
            // SAFETY: our caller's guarantee, passed on.
            return unsafe { dealloc_maybe_sampled(&self.inner, ptr, layout) };
        }
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
        if ptr.addr() & PAGE_MASK == SAMPLED_OFFSET {
            // SAFETY: our caller's guarantee, passed on.
            return unsafe { realloc_maybe_sampled(&self.inner, ptr, layout, new_size) };
        }
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
        count_realloc(owned, old_size, new_size);
    }
    new_ptr
}

/// Counts a reallocation from `old_size` to `new_size` bytes that succeeded, and hands it to a
/// capture or the live sampler if either wants it.
#[allow(clippy::inline_always)] // see `write_section`
#[inline(always)]
fn count_realloc(owned: Option<&'static Slot>, old_size: usize, new_size: usize) {
    let grown = new_size.saturating_sub(old_size) as u64;
    if new_size >= old_size {
        count(owned, Event::Grow(grown));
    } else {
        count(owned, Event::Shrink((old_size - new_size) as u64));
    }
    if let Some(slot) = owned
        && (slot.capturing.load(Ordering::Relaxed) || live_every() != 0)
    {
        realloc_event(slot, grown);
    }
}

/// A reallocation that grew the owner's bytes by `grown`, already counted, captured or sampled.
#[cold]
#[inline(never)]
fn realloc_event(slot: &'static Slot, grown: u64) {
    if slot.capturing.load(Ordering::Relaxed) {
        captured(slot, Kind::Realloc, grown);
    } else if let Some(weight) = live_due(slot, grown, slot.bytes_allocated.load(Ordering::Relaxed))
    {
        // A reallocation is sampled as an event: its block, if not sampled, stays untracked.
        live::sampled(slot, Kind::Realloc, grown, weight, false);
    }
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
    if let Some(slot) = owned
        && let Some(weight) = live_due(
            slot,
            size,
            slot.bytes_allocated
                .load(Ordering::Relaxed)
                .wrapping_add(size),
        )
    {
        // SAFETY: our caller's guarantee, passed on.
        return unsafe { sampled_alloc::<A, ZEROED>(inner, layout, slot, weight) };
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

/// Where a live-sampled block's pointer sits in its page: right after its [`Header`]. Also the
/// largest alignment such a block can have; a sampled allocation aligned further is untracked.
const SAMPLED_OFFSET: usize = 64;
/// The alignment of a sampled block's allocation from the inner allocator.
const PAGE: usize = 4096;
const PAGE_MASK: usize = PAGE - 1;

/// What precedes a live-sampled block, at the start of its page.
#[repr(C)]
struct Header {
    /// `live::magic(ptr)`: tells our block from another that sits `SAMPLED_OFFSET` into a page.
    /// Zeroed when the block is freed, so that memory reused at that address is never taken
    /// for a sampled block by a stale header.
    magic: u64,
    block: Block,
}

const _: () = assert!(size_of::<Header>() <= SAMPLED_OFFSET);

/// The header of the block at `ptr`, `SAMPLED_OFFSET` into its page: the start of that page.
#[allow(clippy::cast_ptr_alignment)] // page-aligned, so aligned for `Header`
fn header_of(ptr: *mut u8) -> *mut Header {
    ptr.wrapping_sub(SAMPLED_OFFSET).cast::<Header>()
}

/// The layout a tracked sampled block of `size` bytes takes from the inner allocator.
fn padded(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(SAMPLED_OFFSET)?, PAGE).ok()
}

/// A sampled allocation of `layout` (its `weight`), by `slot`'s owner: placed `SAMPLED_OFFSET`
/// into a page behind its header when its alignment allows, counted with the program's own
/// size (never the padding), and handed to the live sampler.
///
/// # Safety
/// As for [`GlobalAlloc::alloc`]: `layout` has a non-zero size.
#[cold]
#[inline(never)]
unsafe fn sampled_alloc<A: GlobalAlloc, const ZEROED: bool>(
    inner: &A,
    layout: Layout,
    slot: &'static Slot,
    weight: f64,
) -> *mut u8 {
    let size = layout.size() as u64;
    let padded = padded(layout.size()).filter(|_| layout.align() <= SAMPLED_OFFSET);
    let ptr = match padded {
        // SAFETY: `padded` has a non-zero size; the block is ours from `SAMPLED_OFFSET` on,
        // which is in bounds since the padded size is the program's plus that.
        Some(padded) => unsafe {
            let base = allocate::<A, ZEROED>(inner, padded);
            if base.is_null() {
                return base;
            }
            base.add(SAMPLED_OFFSET)
        },
        // SAFETY: our caller's guarantee, passed on.
        None => unsafe { allocate::<A, ZEROED>(inner, layout) },
    };
    if ptr.is_null() {
        return ptr;
    }
    count(Some(slot), Event::Alloc(size));
    let born_ns = now_ns();
    let stack = live::sampled(slot, Kind::Alloc, size, weight, padded.is_some());
    if padded.is_some() {
        let header = Header {
            magic: magic(ptr.addr()),
            block: Block {
                stack,
                size,
                weight,
                born_ns,
            },
        };
        // SAFETY: the header's room is the first `SAMPLED_OFFSET` bytes of the block we just
        // allocated, page-aligned (so aligned for `Header`), and no one else knows of it yet.
        unsafe { header_of(ptr).write(header) };
    }
    ptr
}

/// The block at `ptr` if live sampling placed it there.
///
/// # Safety
/// `ptr` is a live block of this allocator of `layout`, `SAMPLED_OFFSET` bytes into its page.
unsafe fn sampled_block(ptr: *mut u8, layout: Layout) -> Option<Block> {
    if !started() {
        return None;
    }
    let header = header_of(ptr);
    // SAFETY: `header` is the start of the page `ptr` is in, so mapped and aligned. For a block
    // of ours it is our header; for any other it is memory of the inner allocator's or of
    // another block in that page, only compared with the magic, never trusted (volatile: the
    // compiler assumes nothing of it).
    let found = unsafe { std::ptr::addr_of!((*header).magic).read_volatile() };
    if found != magic(ptr.addr()) {
        return None;
    }
    // SAFETY: the magic matched: this is a header we wrote, whole, when we placed the block.
    let block = unsafe { std::ptr::addr_of!((*header).block).read() };
    (block.size == layout.size() as u64).then_some(block)
}

/// Unmarks the sampled block at `ptr` and frees it from `inner` with its padded layout.
///
/// # Safety
/// [`sampled_block`] found `ptr` to be a sampled block of `size` bytes, still live.
unsafe fn free_sampled<A: GlobalAlloc>(inner: &A, ptr: *mut u8, size: usize) {
    let Some(padded) = padded(size) else {
        // It was allocated with this very layout, so this cannot fail.
        return;
    };
    // SAFETY: the caller's guarantee: the header is ours, and the block came from `inner` at
    // its page with `padded`.
    unsafe {
        std::ptr::addr_of_mut!((*header_of(ptr)).magic).write_volatile(0);
        inner.dealloc(ptr.sub(SAMPLED_OFFSET), padded);
    }
}

/// [`GlobalAlloc::dealloc`] of a block `SAMPLED_OFFSET` into its page: a live-sampled block's
/// free is counted (with the program's size), matched to its site, and freed with its padded
/// layout; any other block (one in 256 of a 16-byte-aligned heap's) freed as usual.
///
/// # Safety
/// As for [`GlobalAlloc::dealloc`].
#[cold]
#[inline(never)]
unsafe fn dealloc_maybe_sampled<A: GlobalAlloc>(inner: &A, ptr: *mut u8, layout: Layout) {
    count(owned_slot(), Event::Dealloc(layout.size() as u64));
    // SAFETY: the caller's guarantee, and `ptr` is `SAMPLED_OFFSET` into its page.
    match unsafe { sampled_block(ptr, layout) } {
        Some(block) => {
            live::freed(block);
            // SAFETY: `sampled_block` found it ours, and the caller frees it only once.
            unsafe { free_sampled(inner, ptr, layout.size()) };
        }
        // SAFETY: the caller's guarantee, passed on.
        None => unsafe { inner.dealloc(ptr, layout) },
    }
}

/// [`GlobalAlloc::realloc`] of a block `SAMPLED_OFFSET` into its page: a live-sampled block
/// moves to a new sampled block (same stack, same weight; its site's live bytes change by the
/// difference), any other is reallocated as usual.
///
/// # Safety
/// As for [`GlobalAlloc::realloc`].
#[cold]
#[inline(never)]
unsafe fn realloc_maybe_sampled<A: GlobalAlloc>(
    inner: &A,
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    let owned = owned_slot();
    // SAFETY: the caller's guarantee, and `ptr` is `SAMPLED_OFFSET` into its page.
    let Some(block) = (unsafe { sampled_block(ptr, layout) }) else {
        // SAFETY: the caller's guarantee, passed on.
        return unsafe { counted_realloc(inner, owned, ptr, layout, new_size) };
    };
    let old_size = layout.size();
    if new_size > old_size && !fuse_allows(owned, (new_size - old_size) as u64) {
        return std::ptr::null_mut();
    }
    let Some(new_padded) = padded(new_size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `new_padded` has a non-zero size. The new block is ours from `SAMPLED_OFFSET`
    // on, `new_size` bytes; the old one has `old_size` bytes at `ptr`; they do not overlap.
    // The old block is freed once, as the caller hands it over to us.
    let new_ptr = unsafe {
        let base = inner.alloc(new_padded);
        if base.is_null() {
            return base;
        }
        let new_ptr = base.add(SAMPLED_OFFSET);
        std::ptr::copy_nonoverlapping(ptr, new_ptr, old_size.min(new_size));
        let header = Header {
            magic: magic(new_ptr.addr()),
            block: Block {
                size: new_size as u64,
                ..block
            },
        };
        header_of(new_ptr).write(header);
        free_sampled(inner, ptr, old_size);
        new_ptr
    };
    live::resized(block, new_size as u64);
    count_realloc(owned, old_size, new_size);
    new_ptr
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
