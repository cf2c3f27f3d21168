//! The hook through which a live sampler of allocation sites sees every counted thread's
//! sampled allocations and the frees of the blocks it sampled: the switch
//! ([`start_live`]), each owner's sample point, and the calls to the sampler's [`LiveHooks`].
//! Counting knows nothing of stacks or sites: the sampler hooks in (`sites::live`).
//!
//! Which allocation is sampled: the one during which the owner's allocated bytes pass a point
//! drawn from an exponential distribution of mean `every` (as a [`Capture`](super::Recorder)
//! samples, from the same per-slot random state), so an allocation of `s` bytes is sampled
//! with probability `1 - exp(-s / every)` and stands for the inverse of that many. The owner's
//! `fuse_check_at` stays no further than its sample point, so the allocation that passes it
//! takes the out-of-line path and the fast path is the same instructions as without sampling.
//! The shared bucket's threads (slot 0) and a thread inside a capture window are not sampled.
//!
//! How its free is found: a sampled block is placed by `alloc.rs` at 64 bytes into a page,
//! behind a header the free reads (see [`Block`]); `dealloc` tests that offset before anything.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::capture::{Kind, next_sample_gap, sample_weight};
use super::slot::{Slot, used_slots};
use super::worker_slot::unmeasured;

/// "No stack": the sampler's table had no room for the sampled event's stack.
pub const NO_STACK: u32 = u32::MAX;

/// One sampled event, as counting hands it to [`LiveHooks::sampled`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampled {
    /// What kind of call it was.
    pub kind: Kind,
    /// The bytes it allocated (a reallocation: its growth).
    pub bytes: u64,
    /// How many events it stands for (the inverse of its probability of being sampled).
    pub weight: f64,
    /// The kernel thread id of the slot's owner, the thread that made it.
    pub tid: u32,
    /// Whether its block is tracked: its free (or reallocation) will reach
    /// [`LiveHooks::freed`] (or [`LiveHooks::resized`]). Never for a reallocation event, nor
    /// for an alignment past what a sampled block's placement gives (64 bytes).
    pub tracked: bool,
}

/// What a tracked sampled block carries, from its allocation to its free.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    /// The stack [`LiveHooks::sampled`] returned for it ([`NO_STACK`]: none).
    pub stack: u32,
    /// Its size as the program asked for it.
    pub size: u64,
    /// What it stands for.
    pub weight: f64,
    /// When it was allocated, in nanoseconds of the monotonic clock since sampling started.
    pub born_ns: u64,
}

/// What the live sampler does with sampled events. They run inside the allocator: they must
/// neither allocate nor lock. `sampled` runs with the thread detached from its slot (what the
/// unwinder might allocate counts in the shared bucket and is never sampled); `freed` and
/// `resized` only update atomics.
#[derive(Debug, Clone, Copy)]
pub struct LiveHooks {
    /// Records one sampled event with the calling thread's stack; returns the stack's id
    /// ([`NO_STACK`]: no room).
    pub sampled: fn(Sampled) -> u32,
    /// A tracked block was freed, `lived_ns` after its allocation.
    pub freed: fn(Block, u64),
    /// A tracked block was reallocated (moved to a new tracked block) to `new_size` bytes.
    pub resized: fn(Block, u64),
}

/// The mean gap in bytes between two sampled allocations of a thread (0: off).
static EVERY: AtomicU64 = AtomicU64::new(0);
static HOOKS: OnceLock<LiveHooks> = OnceLock::new();
/// The monotonic clock's origin for [`Block::born_ns`].
static EPOCH: OnceLock<Instant> = OnceLock::new();
/// What a sampled block's header holds beside its address, so that a block of the program's
/// own that happens to sit 64 bytes into a page is not taken for one: random per process.
static SECRET: AtomicU64 = AtomicU64::new(0);

/// Starts sampling every owned slot's allocations, one per about `every` bytes, handing them
/// to `hooks`. The first call with `every > 0` decides; later calls change nothing. Returns
/// whether sampling is on.
pub fn start_live(every: u64, hooks: LiveHooks) -> bool {
    if every == 0 || EVERY.load(Ordering::Acquire) != 0 {
        return live_every() != 0;
    }
    if HOOKS.set(hooks).is_err() {
        // Another thread is starting it at this very moment: its `every` decides.
        return true;
    }
    let _ = EPOCH.set(Instant::now());
    let secret = std::hash::BuildHasher::hash_one(
        &std::collections::hash_map::RandomState::new(),
        std::ptr::from_ref(&SECRET).addr(),
    );
    SECRET.store(secret | 1, Ordering::Relaxed);
    EVERY.store(every, Ordering::Release);
    // Every owner draws its first sample point at its next allocation: a racing store only
    // sends one more allocation down the out-of-line path.
    for slot in used_slots() {
        slot.fuse_check_at.store(0, Ordering::Relaxed);
    }
    true
}

/// The mean gap live sampling runs at (0: off).
#[must_use]
pub fn live_every() -> u64 {
    EVERY.load(Ordering::Acquire)
}

/// The magic a sampled block's header at `ptr` holds (0 while sampling is off: no block is
/// sampled then, and a header never holds 0 since the secret is odd).
#[inline]
pub(super) fn magic(ptr: usize) -> u64 {
    SECRET.load(Ordering::Relaxed) ^ ptr as u64
}

/// Whether any block may have been sampled yet.
#[inline]
pub(super) fn started() -> bool {
    SECRET.load(Ordering::Relaxed) != 0
}

/// Nanoseconds since sampling started, on the monotonic clock (no allocation, a vDSO call).
pub(super) fn now_ns() -> u64 {
    EPOCH.get().map_or(0, |epoch| {
        u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    })
}

/// Whether the owner's event that brings its raw allocated bytes to `after`, `bytes` of them
/// its own, is sampled: its weight if so. Draws the owner's next sample point when it passed
/// one (or has none yet), and keeps the fuse check no further.
#[inline]
pub(super) fn live_due(slot: &Slot, bytes: u64, after: u64) -> Option<f64> {
    let every = EVERY.load(Ordering::Relaxed);
    if every == 0 || slot.capturing.load(Ordering::Relaxed) {
        return None;
    }
    let mut at = slot.live_at.load(Ordering::Relaxed);
    if at == 0 {
        // The first point is drawn from where the owner stood before this event.
        at = after
            .wrapping_sub(bytes)
            .wrapping_add(next_sample_gap(slot, every));
    }
    let due = after >= at;
    if due {
        at = after.wrapping_add(next_sample_gap(slot, every));
    }
    slot.live_at.store(at, Ordering::Relaxed);
    let fuse_at = slot.fuse_check_at.load(Ordering::Relaxed);
    slot.fuse_check_at.store(fuse_at.min(at), Ordering::Relaxed);
    due.then(|| sample_weight(bytes, every))
}

/// Hands a sampled event of `slot`'s owner to the sampler, detached from the slot; its stack.
#[cold]
#[inline(never)]
pub(super) fn sampled(slot: &Slot, kind: Kind, bytes: u64, weight: f64, tracked: bool) -> u32 {
    let Some(hooks) = HOOKS.get() else {
        return NO_STACK;
    };
    let event = Sampled {
        kind,
        bytes,
        weight,
        tid: slot.tid.load(Ordering::Relaxed),
        tracked,
    };
    unmeasured(|| (hooks.sampled)(event))
}

/// A tracked block freed now.
pub(super) fn freed(block: Block) {
    if let Some(hooks) = HOOKS.get() {
        (hooks.freed)(block, now_ns().saturating_sub(block.born_ns));
    }
}

/// A tracked block reallocated to `new_size` bytes.
pub(super) fn resized(block: Block, new_size: u64) {
    if let Some(hooks) = HOOKS.get() {
        (hooks.resized)(block, new_size);
    }
}
