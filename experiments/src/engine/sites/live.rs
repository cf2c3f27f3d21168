//! Live sampled allocation sites, on every thread of a watched program: allocations sampled by
//! bytes (an exponential gap per thread, each sample weighted by the inverse of its
//! probability), their raw stacks in one table every thread writes without locking, and the
//! frees of sampled blocks matched to their sites, so that each site has what it still holds as
//! well as what it allocated. The watched program only records raw addresses; the viewer
//! resolves them (the program never loads its own debug information).
//!
//! CONTRACT (issue 27): the types and functions below are the interface the program's monitor
//! and the viewer are built against. Their bodies are the engine's to write.

use serde::{Deserialize, Serialize};

use super::capture::{RawSites, RawStack};
use super::live_table as table;
use crate::engine::counting::{self, LiveHooks};

// The table's own, defined there so that it needs nothing of this file.
pub use super::live_table::{SIZE_BUCKETS, TEMPORARY_NS, size_bucket};

/// The mean gap, in bytes allocated by one thread, between two sampled allocations when the
/// monitor samples at its default rate.
pub const DEFAULT_LIVE_SAMPLE_EVERY: u64 = 64 * 1024;

/// The sizes bucket `index` holds, for people: `"64 B-127 B"`-like bounds as numbers
/// (`(low, Some(high))`, or `(low, None)` for the last, open bucket).
#[must_use]
pub fn bucket_bounds(index: usize) -> (u64, Option<u64>) {
    let low = 1u64 << index;
    if index + 1 >= SIZE_BUCKETS {
        (low, None)
    } else {
        (low, Some((low << 1) - 1))
    }
}

/// Starts sampling every counted thread's allocations (each thread that holds a slot of its own
/// now or claims one later), one per about `sample_every` bytes it allocates. Needs
/// [`count_every_thread`](crate::engine::counting::count_every_thread) for threads other than
/// workers. Returns whether sampling is on (`false` when `sample_every` is 0). Calling it again
/// changes nothing.
// Not `must_use`: a program that starts sampling need not look at whether it did.
#[allow(clippy::must_use_candidate)]
pub fn start_live_sampling(sample_every: u64) -> bool {
    counting::start_live(
        sample_every,
        LiveHooks {
            sampled: table::sampled,
            freed: table::freed,
            resized: table::resized,
        },
    )
}

/// The mean gap live sampling runs at (0: off).
#[must_use]
pub fn live_sample_every() -> u64 {
    counting::live_every()
}

/// Copies the live table's figures into `into`, reusing its buffers (it allocates only when the
/// table holds more stacks than `into` had room for). Call it with the calling thread detached
/// from counting (`counting::unmeasured`) or from a monitor thread, so the copy lands in no
/// figure of the program's.
pub fn live_snapshot(into: &mut LiveSites) {
    into.sample_every = live_sample_every();
    [into.samples, into.untracked, into.unrecorded] = table::totals();
    into.sizes.clear();
    into.sizes.extend(table::sizes());
    let mut count = 0;
    for stack in table::stacks() {
        if count == into.stacks.len() {
            into.stacks.push(LiveStack::default());
        }
        let out = &mut into.stacks[count];
        out.id = stack.id;
        out.frames.clear();
        out.frames.extend(stack.frames());
        out.tid = stack.tid();
        out.samples = stack.samples();
        [out.allocs, out.reallocs, out.bytes] = stack.allocated();
        [
            out.live_bytes,
            out.live_blocks,
            out.live_variance,
            out.temporary,
        ] = stack.live();
        out.sizes.clear();
        out.sizes.extend(stack.sizes());
        count += 1;
    }
    into.stacks.truncate(count);
}

/// What live sampling saw since it started: cumulative, like the monitor's frames.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveSites {
    /// The mean gap in bytes between two sampled allocations (0: sampling is off).
    pub sample_every: u64,
    /// Sampled events (allocations and reallocations) so far.
    pub samples: u64,
    /// Sampled allocations whose free cannot be matched (an alignment past what the sampler
    /// can place): counted in `allocs`/`bytes`, never in `live_bytes`.
    pub untracked: u64,
    /// Sampled events that found the stack table full (their sites are unknown).
    pub unrecorded: u64,
    /// The process's allocation sizes: estimated allocations per [`size_bucket`]
    /// ([`SIZE_BUCKETS`] long).
    pub sizes: Vec<f64>,
    /// Every distinct stack sampled so far.
    pub stacks: Vec<LiveStack>,
}

/// One distinct sampled stack and what its allocations stand for (estimates: each sample
/// weighted by the inverse of its probability).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveStack {
    /// Its place in the table, the same for the life of the process.
    pub id: u32,
    /// Absolute return addresses in the watched process, innermost (the allocator) first.
    pub frames: Vec<u64>,
    /// The kernel thread id of the thread that made its latest sample.
    pub tid: u32,
    /// Sampled events from this stack.
    pub samples: u64,
    /// Estimated allocations (and reallocations) made from it.
    pub allocs: f64,
    /// Of `allocs`, the estimated reallocations (sampled by the bytes they grew).
    #[serde(default)]
    pub reallocs: f64,
    /// Estimated bytes allocated from it.
    pub bytes: f64,
    /// Estimated bytes of its blocks not yet freed.
    pub live_bytes: f64,
    /// Estimated blocks not yet freed.
    pub live_blocks: f64,
    /// The variance of `live_bytes` as an estimate (sum over its live sampled blocks of
    /// `size^2 * w * (w - 1)`, `w` a block's weight): what tells growth from sampling noise.
    pub live_variance: f64,
    /// Estimated allocations freed within [`TEMPORARY_NS`] of being made.
    pub temporary: f64,
    /// Estimated allocations per [`size_bucket`] ([`SIZE_BUCKETS`] long).
    pub sizes: Vec<f64>,
}

impl LiveSites {
    /// The stacks as a window of `ops` operations that [`symbolize`](super::symbolize) reads
    /// (weighted allocations, reallocations and bytes; sampled counts as its counts), its
    /// addresses made relative to the executable ([`RawSites::relocate`]): for comparing
    /// live sampling with an exhaustive [`Capture`](super::Capture) in this process.
    #[must_use]
    pub fn to_raw_sites(&self, ops: u64) -> RawSites {
        let total = |figure: fn(&LiveStack) -> f64| {
            self.stacks.iter().map(figure).sum::<f64>().round() as u64
        };
        let mut raw = RawSites {
            ops,
            allocs: total(|s| s.allocs - s.reallocs),
            reallocs: total(|s| s.reallocs),
            bytes: total(|s| s.bytes),
            unrecorded: self.unrecorded,
            nanos: 0,
            sample_every: self.sample_every.max(1),
            stacks: self
                .stacks
                .iter()
                .map(|stack| RawStack {
                    frames: stack.frames.iter().map(|&ip| ip as i64).collect(),
                    allocs: stack.samples,
                    reallocs: 0,
                    bytes: 0,
                    weighted: [stack.allocs - stack.reallocs, stack.reallocs, stack.bytes],
                })
                .collect(),
            relative: false,
        };
        raw.relocate();
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_fall_in_power_of_two_buckets() {
        assert_eq!(size_bucket(0), 0);
        assert_eq!(size_bucket(1), 0);
        assert_eq!(size_bucket(2), 1);
        assert_eq!(size_bucket(3), 1);
        assert_eq!(size_bucket(64), 6);
        assert_eq!(size_bucket(127), 6);
        assert_eq!(size_bucket(u64::MAX), SIZE_BUCKETS - 1);
        assert_eq!(bucket_bounds(6), (64, Some(127)));
        assert_eq!(bucket_bounds(SIZE_BUCKETS - 1).1, None);
    }
}
