//! Counts inside a unit test: [`count`] runs a closure and returns what it allocated on the
//! calling thread, exactly (allocations, reallocations, frees, bytes, peak); [`allocs_per_run`]
//! is Go's `testing.AllocsPerRun`; [`assert_allocs`] fails a `#[test]` that allocates more
//! than it may, saying what it did.
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOC: heaplab::Counting = heaplab::Counting::system();
//!
//! #[test]
//! fn parsing_a_line_does_not_allocate() {
//!     let mut fields = Vec::with_capacity(8);
//!     heaplab::assert_allocs(0, || {
//!         fields.clear();
//!         fields.extend("a,b,c".split(','));
//!     });
//! }
//! ```
//!
//! What is counted: the calling thread's own allocator calls while the closure runs. The thread
//! gets a counter slot of its own for that time (test harness threads otherwise share one), so
//! tests running in parallel never see each other's allocations. Threads the closure starts
//! count on their own threads, not here; memory the closure frees that another thread allocated
//! counts as freed here (its live bytes can go below zero).

use std::hint::black_box;

use heaplab_experiments::counting::{self, RegisterError};

/// What a closure did to the heap on the calling thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Calls to `alloc` and `alloc_zeroed`.
    pub allocs: u64,
    /// Calls to `realloc` (a `Vec` growing in place or moving).
    pub reallocs: u64,
    /// Calls to `dealloc`.
    pub deallocs: u64,
    /// Bytes allocated, a reallocation's growth included.
    pub bytes_allocated: u64,
    /// Bytes freed, a reallocation's shrinking included.
    pub bytes_freed: u64,
    /// The highest the thread's live heap rose above where it stood when the closure began.
    pub peak_bytes: u64,
}

impl Counts {
    /// Allocations and reallocations together: every call that asked the allocator for memory.
    #[must_use]
    pub fn calls(&self) -> u64 {
        self.allocs + self.reallocs
    }

    /// Bytes allocated and not freed by the closure (its result, if kept, and anything leaked).
    #[must_use]
    pub fn live_bytes(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} + {} ({} allocated, {} freed, peak {})",
            crate::units::counted(self.allocs, "alloc"),
            crate::units::counted(self.reallocs, "realloc"),
            crate::units::bytes(self.bytes_allocated),
            crate::units::bytes(self.bytes_freed),
            crate::units::bytes(self.peak_bytes),
        )
    }
}

/// Why a closure could not be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    /// The program's global allocator is not heaplab's: nothing is counted.
    #[error(
        "heaplab::count needs the counting allocator: add `#[global_allocator] static ALLOC: \
         heaplab::Counting = heaplab::Counting::system();` to this test file (each integration \
         test file is its own program)"
    )]
    NotInstalled,
    /// The thread already counts into a slot of its own (a nested `count`, or inside a
    /// heaplab experiment): counting again would split its figures.
    #[error("heaplab::count cannot run here: {0}")]
    Slot(#[from] RegisterError),
}

/// Runs `f` on this thread and returns what it allocated, with its result. The result is
/// returned, not dropped: its memory counts as allocated and not freed.
pub fn try_count<T>(f: impl FnOnce() -> T) -> Result<(Counts, T), CountError> {
    if !counting::installed() {
        return Err(CountError::NotInstalled);
    }
    let slot = counting::register_worker()?;
    let before = slot.counters();
    let value = black_box(f());
    let after = slot.counters();
    drop(slot);
    let during = after.since(&before);
    let counts = Counts {
        allocs: during.allocs,
        reallocs: during.reallocs,
        deallocs: during.deallocs,
        bytes_allocated: during.bytes_allocated,
        bytes_freed: during.bytes_freed,
        peak_bytes: u64::try_from(after.peak_live_bytes - before.live_bytes()).unwrap_or(0),
    };
    Ok((counts, value))
}

/// [`try_count`], panicking with its one-line reason when it cannot count (for tests, where a
/// panic is the failure).
#[track_caller]
pub fn count<T>(f: impl FnOnce() -> T) -> (Counts, T) {
    try_count(f).unwrap_or_else(|e| panic!("{e}"))
}

/// Go's `testing.AllocsPerRun`: calls `f` once to warm up (a first call's one-time costs are
/// left out), then `runs` times, and returns the allocator calls (allocations and
/// reallocations) per run.
#[track_caller]
pub fn allocs_per_run(runs: u32, mut f: impl FnMut()) -> f64 {
    f();
    let (counts, ()) = count(|| (0..runs).for_each(|_| f()));
    if runs == 0 {
        0.0
    } else {
        counts.calls() as f64 / f64::from(runs)
    }
}

/// Fails the calling test when `f` makes more than `max` allocator calls (allocations and
/// reallocations) on this thread, saying what it made: `expected at most 0 allocations, made 2
/// allocs + 1 realloc (96 B allocated, ...)`. One call, cold: warm caches up before it if
/// the first call is not what the test is about.
#[track_caller]
pub fn assert_allocs<T>(max: u64, f: impl FnOnce() -> T) -> T {
    let (counts, value) = count(f);
    assert!(
        counts.calls() <= max,
        "expected at most {}, made {counts}",
        crate::units::counted(max, "allocation")
    );
    value
}
