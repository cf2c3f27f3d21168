//! What the counting allocator does when the allocator it wraps refuses a request: the
//! documented rule (see `counting`'s module documentation) that only a fast-path allocation the
//! inner allocator refuses stays counted, and that every other refusal leaves no trace.
//!
//! No global allocator here: the wrapper is called directly (which is why this file has
//! `unsafe`), over an inner allocator that refuses on demand, so the thread's own allocations
//! never reach the slot and every count below is exact.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

use heaplab_experiments::counting::{self, Counters, CountingAlloc};

/// `System`, or nothing at all while `REFUSE` is set.
struct Refusing;

static REFUSE: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards to `System` unchanged, or returns null (a valid "no") without calling it.
unsafe impl GlobalAlloc for Refusing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if REFUSE.load(Ordering::Relaxed) {
            return std::ptr::null_mut();
        }
        // SAFETY: our caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if REFUSE.load(Ordering::Relaxed) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

static WRAPPED: CountingAlloc<Refusing> = CountingAlloc::new(Refusing);

/// Allocates `layout` through the wrapper (zeroed or not), frees it if it came back, and says
/// whether it did and what the slot saw (with the peak as a rise, not a level).
fn round_trip(slot: &counting::WorkerSlot, layout: Layout, zeroed: bool) -> (bool, Counters) {
    let before = slot.counters();
    // SAFETY: every layout below has a non-zero size; a returned block is freed once, with the
    // same layout and allocator, and never dereferenced.
    let granted = unsafe {
        let ptr = if zeroed {
            WRAPPED.alloc_zeroed(layout)
        } else {
            WRAPPED.alloc(layout)
        };
        if !ptr.is_null() {
            WRAPPED.dealloc(ptr, layout);
        }
        !ptr.is_null()
    };
    let after = slot.counters();
    let mut change = after.since(&before);
    change.peak_live_bytes = after.peak_live_bytes - before.peak_live_bytes;
    (granted, change)
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).expect("a valid layout")
}

#[test]
fn only_a_fast_path_allocation_the_inner_allocator_refuses_stays_counted() {
    let slot = counting::register_worker().expect("a slot");
    let ordinary = layout(64, 8);
    // Granted: counted, then freed. (The first allocation also schedules the slot's next fuse
    // check, so that the ones below may take the fast path.)
    for zeroed in [false, true] {
        let (granted, c) = round_trip(&slot, ordinary, zeroed);
        assert!(granted);
        assert_eq!(
            (c.allocs, c.bytes_allocated, c.deallocs, c.bytes_freed),
            (1, 64, 1, 64)
        );
    }

    REFUSE.store(true, Ordering::Relaxed);
    // Out of line, counted only once granted: over-aligned, smaller than its alignment, or
    // larger than the fuse's 1 MiB step.
    for refused in [layout(64, 64), layout(8, 16), layout(2 << 20, 8)] {
        for zeroed in [false, true] {
            let (granted, c) = round_trip(&slot, refused, zeroed);
            assert!(!granted);
            assert_eq!(
                c,
                Counters::default(),
                "{refused:?} refused, zeroed: {zeroed}"
            );
        }
    }
    // The fast path counts first and hands over as a tail call, so a refusal there stays
    // counted: the documented exception (for such a size, only an out-of-memory system refuses).
    let (granted, c) = round_trip(&slot, ordinary, false);
    assert!(!granted);
    assert_eq!((c.allocs, c.bytes_allocated, c.deallocs), (1, 64, 0));
    REFUSE.store(false, Ordering::Relaxed);

    // Granted through the out-of-line paths: counted like any other.
    for granted_layout in [layout(64, 64), layout(2 << 20, 8)] {
        let (granted, c) = round_trip(&slot, granted_layout, false);
        assert!(granted);
        let size = granted_layout.size() as u64;
        assert_eq!(
            (c.allocs, c.bytes_allocated, c.deallocs, c.bytes_freed),
            (1, size, 1, size)
        );
    }
}
