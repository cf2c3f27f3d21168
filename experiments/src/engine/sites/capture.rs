//! Capturing allocation sites in the worker: a [`Capture`] window records every allocation
//! and reallocation of the measuring thread with its raw call stack, without allocating or
//! locking, and [`RawSites`] carries the window's stacks out, relative to the executable.
//!
//! A [`Capture`] window sends each event through [`record`], which walks the call stack with
//! the system unwinder (`backtrace::trace_unsynchronized`, libgcc's `_Unwind_Backtrace` on
//! Linux: it reads the binary's unwind tables and allocates nothing) and adds the raw return
//! addresses to a fixed table of distinct stacks. Nothing on that path allocates or locks:
//! - the table is a static array, written only by the one thread that holds the capture;
//! - while the unwinder runs, the thread is detached from its counter slot
//!   ([`crate::engine::counting`]), so should anything in it allocate, that allocation counts in the
//!   shared bucket, is never captured (no recursion) and never reaches the experiment's figures;
//! - the counting fast path is untouched: a capturing slot keeps its fuse check due, which
//!   sends each of its allocations down the out-of-line path, where the capture happens.
//!
//! A capture window is exhaustive: every allocation of a whole number of operations, so the
//! sites' allocations per operation add up to the window's exactly ([`RawSites::unrecorded`]
//! says how many found no room in the table, normally none). Unwinding costs microseconds per
//! allocation, so windows are short and their time is in no figure.

use std::cell::UnsafeCell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::engine::counting::{Counters, Kind, WorkerSlot};

/// The deepest stack kept, from the allocator outwards.
pub const MAX_FRAMES: usize = 48;
/// Distinct stacks one window can hold.
const TABLE_SIZE: usize = 2048;

/// One distinct stack in the table.
#[derive(Clone, Copy)]
struct Entry {
    /// 0: empty.
    hash: u64,
    depth: u8,
    frames: [usize; MAX_FRAMES],
    allocs: u64,
    reallocs: u64,
    bytes: u64,
    /// What the events stand for, each weighted (sampling; equal to the counts otherwise).
    weighted: [f64; 3],
}

const EMPTY: Entry = Entry {
    hash: 0,
    depth: 0,
    frames: [0; MAX_FRAMES],
    allocs: 0,
    reallocs: 0,
    bytes: 0,
    weighted: [0.0; 3],
};

struct Table {
    entries: UnsafeCell<[Entry; TABLE_SIZE]>,
    /// Events that found the table full.
    unrecorded: AtomicU64,
}

// SAFETY: `entries` is written only by `record`, which runs only on the thread holding
// `CAPTURING` (its slot's `capturing` flag is set only by that thread's `Capture`), and read
// only by that same thread once its own capturing has stopped (`Capture::end`).
unsafe impl Sync for Table {}

static TABLE: Table = Table {
    entries: UnsafeCell::new([EMPTY; TABLE_SIZE]),
    unrecorded: AtomicU64::new(0),
};

/// Held by the one thread capturing at a time.
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// The unwinder stops at the first frame whose stack pointer is above this: the frame of the
/// loop that runs the captured operations, and everything that called it, are the same for
/// every allocation (`usize::MAX`: no limit).
static STACK_TOP: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Adds the calling thread's current stack to the table, as one event of `kind` that
/// allocated `bytes`, standing for `weight` events (1 unless sampled): the recorder a
/// [`Capture`] hooks into the counting allocator, which calls it on the capturing thread only.
fn record(kind: Kind, bytes: u64, weight: f64) {
    let mut frames = [0usize; MAX_FRAMES];
    let mut depth = 0;
    let top = STACK_TOP.load(Ordering::Relaxed);
    // SAFETY: libgcc's unwinder is thread-safe; "unsynchronized" only skips backtrace's own
    // lock, which would allocate the first time. The callback neither allocates nor panics.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            if frame.sp() as usize > top {
                return false;
            }
            frames[depth] = frame.ip() as usize;
            depth += 1;
            depth < MAX_FRAMES
        });
    }
    let frames = &frames[..depth];
    let hash = frames
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &ip| {
            (h ^ ip as u64).wrapping_mul(0x0100_0000_01b3)
        })
        .max(1);
    // SAFETY: see `Table`'s `Sync`: we are the capturing thread.
    let entries = unsafe { &mut *TABLE.entries.get() };
    let mut at = hash as usize % TABLE_SIZE;
    for _ in 0..TABLE_SIZE {
        let entry = &mut entries[at];
        if entry.hash == 0 {
            entry.hash = hash;
            entry.depth = depth as u8;
            entry.frames[..depth].copy_from_slice(frames);
        }
        if entry.hash == hash && &entry.frames[..usize::from(entry.depth)] == frames {
            match kind {
                Kind::Alloc => {
                    entry.allocs += 1;
                    entry.weighted[0] += weight;
                }
                Kind::Realloc => {
                    entry.reallocs += 1;
                    entry.weighted[1] += weight;
                }
            }
            entry.bytes += bytes;
            entry.weighted[2] += bytes as f64 * weight;
            return;
        }
        at = (at + 1) % TABLE_SIZE;
    }
    TABLE.unrecorded.fetch_add(1, Ordering::Relaxed);
}

/// Why a capture could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("another thread of this process is capturing allocation sites")]
pub struct Busy;

/// A capture window on the calling thread: from [`Capture::begin`] to [`Capture::end`], every
/// allocation the thread makes is recorded with its stack. Dropping it without `end` discards
/// what it captured.
#[derive(Debug)]
pub struct Capture<'a> {
    slot: &'a WorkerSlot,
    before: Counters,
    started: std::time::Instant,
    sample_every: u64,
}

impl<'a> Capture<'a> {
    /// Starts capturing the allocations of `slot`'s thread (the caller), each stack from the
    /// allocator up to the caller's frame.
    pub fn begin(slot: &'a WorkerSlot) -> Result<Self, Busy> {
        Self::begin_below::<u8>(slot, None)
    }

    /// [`Capture::begin`], unwinding each stack no further than `marker`, a local variable of
    /// the function that runs the captured operations: its frame and its callers' are the same
    /// for every allocation, and unwinding them is most of the cost of a deep stack.
    pub fn begin_below<T>(slot: &'a WorkerSlot, marker: Option<&T>) -> Result<Self, Busy> {
        Self::begin_sampled(slot, marker, 0)
    }

    /// [`Capture::begin_below`], capturing one allocation per about `sample_every` bytes
    /// allocated (every one with 0): each sampled allocation stands for the allocations it was
    /// drawn among, so the sites' figures are estimates, and cheap enough to cover a long run.
    pub fn begin_sampled<T>(
        slot: &'a WorkerSlot,
        marker: Option<&T>,
        sample_every: u64,
    ) -> Result<Self, Busy> {
        CAPTURING
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map_err(|_| Busy)?;
        clear();
        STACK_TOP.store(
            marker.map_or(usize::MAX, |m| std::ptr::from_ref(m).addr()),
            Ordering::Relaxed,
        );
        let before = slot.counters();
        slot.set_capturing(Some(record), sample_every);
        Ok(Self {
            slot,
            before,
            started: std::time::Instant::now(),
            sample_every,
        })
    }

    /// Stops capturing and returns what was captured, over `ops` operations. The table is
    /// copied out with the thread detached from its slot, so that nothing of it reaches the
    /// experiment's heap figures.
    #[must_use]
    pub fn end(self, ops: u64) -> RawSites {
        self.slot.set_capturing(None, 0);
        let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let during = self.slot.counters().since(&self.before);
        crate::engine::counting::unmeasured(|| {
            // SAFETY: capturing has stopped, and we hold `CAPTURING`.
            let entries = unsafe { &*TABLE.entries.get() };
            let stacks = entries
                .iter()
                .filter(|entry| entry.hash != 0)
                .map(|entry| RawStack {
                    frames: entry.frames[..usize::from(entry.depth)]
                        .iter()
                        .map(|&ip| ip as i64)
                        .collect(),
                    allocs: entry.allocs,
                    reallocs: entry.reallocs,
                    bytes: entry.bytes,
                    weighted: entry.weighted,
                })
                .collect();
            RawSites {
                ops,
                allocs: during.allocs,
                reallocs: during.reallocs,
                bytes: during.bytes_allocated,
                unrecorded: TABLE.unrecorded.load(Ordering::Relaxed),
                nanos,
                sample_every: self.sample_every,
                stacks,
                relative: false,
            }
        })
        // `self` drops here: the table is cleared for the next window by `begin`.
    }
}

impl Drop for Capture<'_> {
    fn drop(&mut self) {
        self.slot.set_capturing(None, 0);
        CAPTURING.store(false, Ordering::Release);
    }
}

fn clear() {
    // SAFETY: we hold `CAPTURING` and no slot is capturing yet.
    let entries = unsafe { &mut *TABLE.entries.get() };
    for entry in entries.iter_mut().filter(|entry| entry.hash != 0) {
        *entry = EMPTY;
    }
    TABLE.unrecorded.store(0, Ordering::Relaxed);
}

/// One captured window, as the worker sends it: raw stacks with their counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawSites {
    /// Operations the window spans.
    pub ops: u64,
    /// Allocations the window made, as the thread's counters saw them.
    pub allocs: u64,
    /// Reallocations the window made.
    pub reallocs: u64,
    /// Bytes the window allocated (reallocations' growth included).
    pub bytes: u64,
    /// Events that found the stack table full (their sites are unknown).
    pub unrecorded: u64,
    /// How long the window took, capturing: what capture costs, against the run's ns/op.
    #[serde(default)]
    pub nanos: u64,
    /// 0: every allocation was captured. Else one per about this many bytes was, and the
    /// stacks' `weighted` figures are estimates.
    #[serde(default)]
    pub sample_every: u64,
    /// The distinct stacks: return addresses, innermost (the allocator) first.
    pub stacks: Vec<RawStack>,
    /// Whether the addresses are relative to the executable ([`RawSites::relocate`]), or
    /// absolute in the capturing process.
    pub relative: bool,
}

/// One distinct stack of a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawStack {
    /// Return addresses, innermost first ([`OUTSIDE`]: in a shared library).
    pub frames: Vec<i64>,
    /// Allocations made from this stack.
    pub allocs: u64,
    /// Reallocations made from this stack.
    pub reallocs: u64,
    /// Bytes allocated from this stack.
    pub bytes: u64,
    /// Allocations, reallocations and bytes this stack's events stand for: the counts above
    /// when every event was captured, estimates when they were sampled.
    #[serde(default)]
    pub weighted: [f64; 3],
}

/// A frame outside the executable (the C library, the unwinder): never the experiment's code.
pub const OUTSIDE: i64 = i64::MIN;

/// The executable's addresses are given relative to this function's.
#[inline(never)]
pub(super) fn anchor() -> usize {
    anchor as fn() -> usize as usize
}

/// The address range the executable is mapped at (Linux: from `/proc/self/maps`).
fn image() -> Option<(usize, usize)> {
    static IMAGE: OnceLock<Option<(usize, usize)>> = OnceLock::new();
    *IMAGE.get_or_init(|| {
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let at = anchor();
        let parse = |line: &str| {
            let mut fields = line.split_whitespace();
            let (start, end) = fields.next()?.split_once('-')?;
            let path = fields.nth(4).unwrap_or("");
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
                path.to_owned(),
            ))
        };
        let mappings: Vec<_> = maps.lines().filter_map(parse).collect();
        let (_, _, path) = mappings
            .iter()
            .find(|(start, end, _)| (*start..*end).contains(&at))?;
        let ours = mappings.iter().filter(|(_, _, p)| p == path);
        let start = ours.clone().map(|m| m.0).min()?;
        let end = ours.map(|m| m.1).max()?;
        Some((start, end))
    })
}

impl RawSites {
    /// Makes the addresses relative to the executable, so that another process of the same
    /// executable can [`symbolize`](super::symbolize) them; frames outside it become [`OUTSIDE`].
    pub fn relocate(&mut self) {
        if self.relative {
            return;
        }
        let at = anchor() as i64;
        let image = image();
        for stack in &mut self.stacks {
            for ip in &mut stack.frames {
                let inside =
                    image.is_none_or(|(start, end)| (start..end).contains(&(*ip as usize)));
                *ip = if inside { *ip - at } else { OUTSIDE };
            }
        }
        self.relative = true;
    }
}
