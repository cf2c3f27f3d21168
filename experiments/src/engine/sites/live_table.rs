//! The live sampler's one process-wide table of distinct stacks, which every thread writes at
//! once without locks or allocation: the hooks counting calls for a sampled event, a freed
//! sampled block and a reallocated one, and the snapshot that copies the table out.
//!
//! - Open addressing over a fixed array in bss: a stack's slot is claimed by a compare-and-swap
//!   of its hash into `HASHES` (kept apart from the entries, so that a snapshot scanning for
//!   used slots touches 32 KiB, not the whole table); the claimer writes the frames and then
//!   publishes them (`ready`, release). Another thread with the same hash waits for that a
//!   bounded number of spins, then counts its event `unrecorded` rather than block.
//! - Every figure is an atomic integer, added with `fetch_add`: estimated counts in fixed point
//!   ([`COUNT_ONE`] per event), bytes rounded to whole bytes. A tracked block adds to its site's
//!   live figures exactly what its free subtracts (the same integers, from the same size and
//!   weight), so a site whose blocks are all freed holds exactly 0, whatever the order.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::capture::MAX_FRAMES;
use crate::engine::counting::{Block, Kind, NO_STACK, Sampled};

/// How many power-of-two size buckets a histogram has: bucket `i` holds sizes in
/// `[2^i, 2^(i+1))`, the last one everything from `2^(SIZE_BUCKETS-1)` up.
pub const SIZE_BUCKETS: usize = 32;

/// A sampled block freed within this many nanoseconds of its allocation was a temporary.
pub const TEMPORARY_NS: u64 = 10_000_000;

/// The bucket of an allocation of `size` bytes (0 and 1 in bucket 0).
#[must_use]
pub fn size_bucket(size: u64) -> usize {
    (63 - size.max(1).leading_zeros() as usize).min(SIZE_BUCKETS - 1)
}

/// Distinct stacks the table can hold.
const TABLE_SIZE: usize = 4096;
/// One estimated event, in the table's fixed point.
const COUNT_ONE: f64 = 65536.0;
/// How long a thread waits for another to publish the stack it claimed.
const PUBLISH_SPINS: u32 = 1 << 12;

#[allow(clippy::declare_interior_mutable_const)] // only to initialise the statics below
const ZERO: AtomicU64 = AtomicU64::new(0);

/// One distinct stack and its figures.
struct Entry {
    /// Its frames are written and may be read.
    ready: AtomicBool,
    depth: AtomicUsize,
    frames: [AtomicUsize; MAX_FRAMES],
    tid: AtomicU32,
    samples: AtomicU64,
    /// Fixed point.
    allocs: AtomicU64,
    /// Fixed point.
    reallocs: AtomicU64,
    bytes: AtomicU64,
    /// Wrapping sums, read as signed: what tracked blocks added minus what their frees took.
    live_bytes: AtomicU64,
    /// Fixed point, wrapping.
    live_blocks: AtomicU64,
    /// Wrapping.
    live_variance: AtomicU64,
    /// Fixed point.
    temporary: AtomicU64,
    /// Fixed point.
    sizes: [AtomicU64; SIZE_BUCKETS],
}

impl Entry {
    const fn new() -> Self {
        Self {
            ready: AtomicBool::new(false),
            depth: AtomicUsize::new(0),
            frames: [const { AtomicUsize::new(0) }; MAX_FRAMES],
            tid: AtomicU32::new(0),
            samples: ZERO,
            allocs: ZERO,
            reallocs: ZERO,
            bytes: ZERO,
            live_bytes: ZERO,
            live_blocks: ZERO,
            live_variance: ZERO,
            temporary: ZERO,
            sizes: [ZERO; SIZE_BUCKETS],
        }
    }
}

/// Each slot's stack hash (0: free), apart from the entries.
static HASHES: [AtomicU64; TABLE_SIZE] = [ZERO; TABLE_SIZE];
static ENTRIES: [Entry; TABLE_SIZE] = [const { Entry::new() }; TABLE_SIZE];
static SAMPLES: AtomicU64 = ZERO;
static UNTRACKED: AtomicU64 = ZERO;
static UNRECORDED: AtomicU64 = ZERO;
/// The process's sizes, fixed point.
static SIZES: [AtomicU64; SIZE_BUCKETS] = [ZERO; SIZE_BUCKETS];

/// `value` estimated events in fixed point.
fn fixed(value: f64) -> u64 {
    (value * COUNT_ONE).round() as u64
}

fn unfixed(value: u64) -> f64 {
    value as f64 / COUNT_ONE
}

/// A wrapping sum read as the signed figure it is, in fixed point or not.
fn signed(value: u64) -> f64 {
    value as i64 as f64
}

/// What one tracked block of `size` bytes and `weight` adds to its site's live bytes, blocks
/// and variance (`size^2 * w * (w - 1)`, at most `every^2`), as integers its free subtracts.
fn live_share(size: u64, weight: f64) -> [u64; 3] {
    let size = size as f64;
    [
        (size * weight).round() as u64,
        fixed(weight),
        (size * size * weight * (weight - 1.0)).round() as u64,
    ]
}

/// Walks the calling thread's stack (absolute return addresses, innermost first), into `frames`;
/// how many it wrote.
fn walk(frames: &mut [usize; MAX_FRAMES]) -> usize {
    let mut depth = 0;
    // SAFETY: libgcc's unwinder is thread-safe; "unsynchronized" only skips backtrace's own
    // lock, which would allocate the first time. The callback neither allocates nor panics.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            frames[depth] = frame.ip() as usize;
            depth += 1;
            depth < MAX_FRAMES
        });
    }
    depth
}

/// The id of `frames`' entry, claimed if new; `None` when the table is full (or its entry was
/// being published for longer than we wait).
fn find_or_claim(frames: &[usize]) -> Option<usize> {
    let hash = frames
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &ip| {
            (h ^ ip as u64).wrapping_mul(0x0100_0000_01b3)
        })
        .max(1);
    let mut at = hash as usize % TABLE_SIZE;
    for _ in 0..TABLE_SIZE {
        let mut found = HASHES[at].load(Ordering::Acquire);
        if found == 0 {
            match HASHES[at].compare_exchange(0, hash, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    let entry = &ENTRIES[at];
                    for (slot, &ip) in entry.frames.iter().zip(frames) {
                        slot.store(ip, Ordering::Relaxed);
                    }
                    entry.depth.store(frames.len(), Ordering::Relaxed);
                    entry.ready.store(true, Ordering::Release);
                    return Some(at);
                }
                Err(now) => found = now,
            }
        }
        if found == hash && same_frames(&ENTRIES[at], frames)? {
            return Some(at);
        }
        at = (at + 1) % TABLE_SIZE;
    }
    None
}

/// Whether `entry` holds `frames`, once its claimer published them (`None`: not in time).
fn same_frames(entry: &Entry, frames: &[usize]) -> Option<bool> {
    let mut spins = 0;
    while !entry.ready.load(Ordering::Acquire) {
        spins += 1;
        if spins > PUBLISH_SPINS {
            return None;
        }
        std::hint::spin_loop();
    }
    let depth = entry.depth.load(Ordering::Relaxed);
    Some(
        depth == frames.len()
            && entry
                .frames
                .iter()
                .zip(frames)
                .all(|(slot, &ip)| slot.load(Ordering::Relaxed) == ip),
    )
}

/// [`LiveHooks::sampled`](crate::engine::counting::LiveHooks): one sampled event, on the
/// thread that made it (detached from its slot).
pub(super) fn sampled(event: Sampled) -> u32 {
    SAMPLES.fetch_add(1, Ordering::Relaxed);
    let allocation = event.kind == Kind::Alloc;
    let weighted = fixed(event.weight);
    if allocation {
        SIZES[size_bucket(event.bytes)].fetch_add(weighted, Ordering::Relaxed);
        if !event.tracked {
            UNTRACKED.fetch_add(1, Ordering::Relaxed);
        }
    }
    let mut frames = [0usize; MAX_FRAMES];
    let depth = walk(&mut frames);
    let Some(id) = find_or_claim(&frames[..depth]) else {
        UNRECORDED.fetch_add(1, Ordering::Relaxed);
        return NO_STACK;
    };
    let entry = &ENTRIES[id];
    entry.tid.store(event.tid, Ordering::Relaxed);
    entry.samples.fetch_add(1, Ordering::Relaxed);
    entry.allocs.fetch_add(weighted, Ordering::Relaxed);
    entry.bytes.fetch_add(
        (event.bytes as f64 * event.weight).round() as u64,
        Ordering::Relaxed,
    );
    if allocation {
        entry.sizes[size_bucket(event.bytes)].fetch_add(weighted, Ordering::Relaxed);
    } else {
        entry.reallocs.fetch_add(weighted, Ordering::Relaxed);
    }
    if event.tracked {
        add_live(entry, live_share(event.bytes, event.weight), true);
    }
    // Cannot truncate: TABLE_SIZE fits in u32.
    id as u32
}

/// Adds (or takes away) one block's `share` of live figures.
fn add_live(entry: &Entry, share: [u64; 3], add: bool) {
    let figures = [&entry.live_bytes, &entry.live_blocks, &entry.live_variance];
    for (figure, value) in figures.into_iter().zip(share) {
        if add {
            figure.fetch_add(value, Ordering::Relaxed);
        } else {
            figure.fetch_sub(value, Ordering::Relaxed);
        }
    }
}

/// The entry of a tracked block's stack, if it has one.
fn entry_of(block: &Block) -> Option<&'static Entry> {
    ENTRIES.get(usize::try_from(block.stack).ok()?)
}

/// [`LiveHooks::freed`](crate::engine::counting::LiveHooks): a tracked block freed, `lived_ns`
/// after its allocation.
pub(super) fn freed(block: Block, lived_ns: u64) {
    let Some(entry) = entry_of(&block) else {
        return;
    };
    add_live(entry, live_share(block.size, block.weight), false);
    if lived_ns < TEMPORARY_NS {
        entry
            .temporary
            .fetch_add(fixed(block.weight), Ordering::Relaxed);
    }
}

/// [`LiveHooks::resized`](crate::engine::counting::LiveHooks): a tracked block reallocated to
/// `new_size` bytes, its weight kept.
pub(super) fn resized(block: Block, new_size: u64) {
    let Some(entry) = entry_of(&block) else {
        return;
    };
    add_live(entry, live_share(block.size, block.weight), false);
    // Its block count stays: the share of the new size minus the old, blocks included, nets
    // to the same count.
    add_live(entry, live_share(new_size, block.weight), true);
}

/// Sampled events, of them untracked allocations, and events whose stack found no room.
pub(super) fn totals() -> [u64; 3] {
    [&SAMPLES, &UNTRACKED, &UNRECORDED].map(|total| total.load(Ordering::Relaxed))
}

/// The process's estimated allocations per size bucket.
pub(super) fn sizes() -> impl Iterator<Item = f64> {
    SIZES
        .iter()
        .map(|bucket| unfixed(bucket.load(Ordering::Relaxed)))
}

/// One stack of the table, read field by field (each figure exact, the figures of a stack
/// sampled meanwhile a few events apart).
pub(super) struct Stack {
    entry: &'static Entry,
    pub(super) id: u32,
}

impl Stack {
    pub(super) fn frames(&self) -> impl Iterator<Item = u64> + '_ {
        self.entry.frames[..self.entry.depth.load(Ordering::Relaxed)]
            .iter()
            .map(|ip| ip.load(Ordering::Relaxed) as u64)
    }

    pub(super) fn tid(&self) -> u32 {
        self.entry.tid.load(Ordering::Relaxed)
    }

    pub(super) fn samples(&self) -> u64 {
        self.entry.samples.load(Ordering::Relaxed)
    }

    /// Estimated allocations (reallocations included), reallocations, bytes.
    pub(super) fn allocated(&self) -> [f64; 3] {
        let load = |figure: &AtomicU64| figure.load(Ordering::Relaxed);
        [
            unfixed(load(&self.entry.allocs)),
            unfixed(load(&self.entry.reallocs)),
            load(&self.entry.bytes) as f64,
        ]
    }

    /// Estimated live bytes, live blocks, the variance of the live bytes, and temporaries.
    pub(super) fn live(&self) -> [f64; 4] {
        let load = |figure: &AtomicU64| figure.load(Ordering::Relaxed);
        [
            signed(load(&self.entry.live_bytes)),
            signed(load(&self.entry.live_blocks)) / COUNT_ONE,
            signed(load(&self.entry.live_variance)),
            unfixed(load(&self.entry.temporary)),
        ]
    }

    pub(super) fn sizes(&self) -> impl Iterator<Item = f64> + '_ {
        self.entry
            .sizes
            .iter()
            .map(|bucket| unfixed(bucket.load(Ordering::Relaxed)))
    }
}

/// Every stack whose frames are published, by id.
pub(super) fn stacks() -> impl Iterator<Item = Stack> {
    HASHES
        .iter()
        .zip(&ENTRIES)
        .enumerate()
        .filter(|(_, (hash, entry))| {
            hash.load(Ordering::Relaxed) != 0 && entry.ready.load(Ordering::Acquire)
        })
        // Cannot truncate: TABLE_SIZE fits in u32.
        .map(|(id, (_, entry))| Stack {
            entry,
            id: id as u32,
        })
}
