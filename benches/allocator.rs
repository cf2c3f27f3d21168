//! What counting costs: one alloc+free pair of 64 bytes through plain `System`, through
//! `Cap<System>`, through heaplab's counting allocator (over `System` with its own slot fuse
//! set, as installed, and over `Cap<System>`, cap being the process-wide fuse a worker process
//! could use instead, as heaplab was first built), through the counting allocators a user would
//! otherwise reach for (divan's `AllocProfiler`, `stats_alloc`'s `StatsAlloc`,
//! `tracking-allocator` with a counting tracker, and dhat's heap profiler), and through the
//! design heaplab avoids, a single set of shared atomic counters; first on one thread, then
//! with two threads allocating at once. Then heaplab's counting on a thread without a slot of
//! its own (the shared bucket), and, once every thread is counted
//! (`counting::count_every_thread`, which is one way and so comes last), on a thread that
//! claimed its slot by itself. Last, live sampled sites (`sites::start_live_sampling`, one way
//! too): the free of an unsampled block before and after it starts, the pairs with sampling on
//! at its default rate, and the cost of one sampled capture.
//!
//! Run with `cargo bench --bench allocator` (`HEAPLAB_BENCH_ROUNDS`, 201 by default). Each
//! allocator is a static instance called directly, so the bench binary's own global allocator
//! does not matter.
//!
//! The runs are interleaved: each round runs every allocator for about 1 ms, in an order that
//! rotates, and each allocator's cost is compared with `System`'s *in the same round*. On a
//! shared 2-core machine the speed of `System` itself drifts by 20% or more over a minute, more
//! than the differences measured here, so timing each allocator in a window of its own (as
//! criterion does) compares machines, not allocators. The table gives the median over rounds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use cap::Cap;
use heaplab_experiments::counting::{self, CountingAlloc, SharedCounter};
use heaplab_experiments::sites;
use std::cell::Cell;
use tracking_allocator::{AllocationGroupId, AllocationRegistry, AllocationTracker};

static SYSTEM: System = System;
static CAP: Cap<System> = Cap::new(System, usize::MAX);
static HEAPLAB: CountingAlloc<System> = CountingAlloc::new(System);
// With a limit, as a worker process's fuse would have one (cap checks it on every allocation).
static COUNTING_CAP: CountingAlloc<Cap<System>> = CountingAlloc::new(Cap::new(System, 16 << 30));
static SHARED: SharedCounter<System> = SharedCounter::new(System);
static SHARED_CAP: SharedCounter<Cap<System>> = SharedCounter::new(Cap::new(System, usize::MAX));
// The peers, as their documentation installs them.
static DIVAN: divan::AllocProfiler = divan::AllocProfiler::system();
static STATS_ALLOC: stats_alloc::StatsAlloc<System> = stats_alloc::StatsAlloc::system();
static TRACKING: tracking_allocator::Allocator<System> = tracking_allocator::Allocator::system();
static DHAT: dhat::Alloc = dhat::Alloc;

thread_local! {
    /// What the tracker counts: calls and bytes, allocated and freed, of the calling thread.
    static TRACKED: [Cell<u64>; 4] = const { [const { Cell::new(0) }; 4] };
}

/// tracking-allocator only calls a tracker: this one counts into thread-local cells, the
/// cheapest exact tracker a user could write (shared atomics would add contention of its own).
struct CountingTracker;

impl AllocationTracker for CountingTracker {
    fn allocated(&self, _addr: usize, size: usize, _wrapped: usize, _group: AllocationGroupId) {
        TRACKED.with(|[allocs, bytes, ..]| {
            allocs.set(allocs.get() + 1);
            bytes.set(bytes.get() + size as u64);
        });
    }

    fn deallocated(
        &self,
        _addr: usize,
        size: usize,
        _wrapped: usize,
        _source: AllocationGroupId,
        _current: AllocationGroupId,
    ) {
        TRACKED.with(|[_, _, frees, bytes]| {
            frees.set(frees.get() + 1);
            bytes.set(bytes.get() + size as u64);
        });
    }
}

const LAYOUT: Layout = match Layout::from_size_align(64, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("64-byte layout"),
};

/// Pairs per allocator per round: about 1 ms. Short slices, many rounds: with 5 ms slices and
/// 41 rounds, one run in six put even the shared-atomics wrapper (normally +0..3%) at +18%.
const PAIRS: u64 = 100_000;
/// dhat records a backtrace per allocation, about a hundred times slower: fewer pairs keep its
/// slice near 1 ms too.
const DHAT_PAIRS: u64 = 1_000;

// The only unsafe outside the counting module: calling an allocator directly is unsafe.
fn pairs(allocator: &(dyn GlobalAlloc + Sync), n: u64) {
    for _ in 0..n {
        // SAFETY: LAYOUT has non-zero size; the pointer is freed with the same layout and
        // allocator, once, and never dereferenced.
        unsafe {
            let ptr = allocator.alloc(LAYOUT);
            assert!(!ptr.is_null());
            allocator.dealloc(black_box(ptr), LAYOUT);
        }
    }
}

/// How a bench thread stands with heaplab's counter slots.
#[derive(Clone, Copy)]
enum Slot {
    /// Registered as a worker, as heaplab's measuring loop does.
    Registered,
    /// Not registered: the shared bucket, or (once every thread is counted) a slot the thread
    /// claims by itself at its first pair.
    Unregistered,
    /// Inside `counting::unmeasured`: the shared bucket, with every thread counted.
    Unmeasured,
}

/// `threads` threads, each doing `iters` pairs at once, each with its `slot`; the time is the
/// wall time of the slowest.
fn on_threads(
    allocator: &'static (dyn GlobalAlloc + Sync),
    threads: usize,
    iters: u64,
    slot: Slot,
) -> Duration {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let _slot = matches!(slot, Slot::Registered)
                        .then(|| counting::register_worker().expect("a counter slot"));
                    // One pair first, outside the timing: where an unregistered thread claims.
                    pairs(allocator, 1);
                    barrier.wait();
                    let start = Instant::now();
                    if matches!(slot, Slot::Unmeasured) {
                        counting::unmeasured(|| pairs(allocator, iters));
                    } else {
                        pairs(allocator, iters);
                    }
                    start.elapsed()
                })
            })
            .collect();
        barrier.wait();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .max()
            .unwrap_or_default()
    })
}

/// An allocator in the table: its name, the allocator, the pairs it runs per round, and how
/// its threads stand with heaplab's slots. `System` comes first: the others are compared with it.
type Entry = (&'static str, &'static (dyn GlobalAlloc + Sync), u64, Slot);

const ALLOCATORS: [Entry; 11] = [
    ("`System`", &SYSTEM, PAIRS, Slot::Registered),
    ("`Cap<System>`", &CAP, PAIRS, Slot::Registered),
    (
        "**heaplab: counting over `System`** (as installed)",
        &HEAPLAB,
        PAIRS,
        Slot::Registered,
    ),
    (
        "counting over `System`, a thread without a slot (the shared bucket)",
        &HEAPLAB,
        PAIRS,
        Slot::Unregistered,
    ),
    (
        "counting over `Cap<System>` (cap as the worker's fuse; heaplab as first built)",
        &COUNTING_CAP,
        PAIRS,
        Slot::Registered,
    ),
    (
        "divan `AllocProfiler` (per-thread tallies)",
        &DIVAN,
        PAIRS,
        Slot::Registered,
    ),
    (
        "`stats_alloc::StatsAlloc` (shared atomics)",
        &STATS_ALLOC,
        PAIRS,
        Slot::Registered,
    ),
    (
        "`tracking_allocator::Allocator` (thread-local counting tracker)",
        &TRACKING,
        PAIRS,
        Slot::Registered,
    ),
    (
        "dhat `Alloc` (heap profiler running)",
        &DHAT,
        DHAT_PAIRS,
        Slot::Registered,
    ),
    (
        "one set of shared atomic counters over `System`",
        &SHARED,
        PAIRS,
        Slot::Registered,
    ),
    (
        "shared atomic counters over `Cap<System>`",
        &SHARED_CAP,
        PAIRS,
        Slot::Registered,
    ),
];

/// After `counting::count_every_thread()`: heaplab's counting on a thread that claimed its
/// slot by itself, beside a registered one and the shared bucket.
const EVERY_THREAD: [Entry; 4] = [
    ("`System`", &SYSTEM, PAIRS, Slot::Registered),
    (
        "**heaplab: counting over `System`** (as installed)",
        &HEAPLAB,
        PAIRS,
        Slot::Registered,
    ),
    (
        "every thread counted: a thread that claimed its own slot",
        &HEAPLAB,
        PAIRS,
        Slot::Unregistered,
    ),
    (
        "every thread counted: a thread in the shared bucket (`unmeasured`)",
        &HEAPLAB,
        PAIRS,
        Slot::Unmeasured,
    ),
];

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // As installed: heaplab always runs with a fuse (75% of physical memory by default).
    counting::set_fuse(16 << 30).expect("a fuse above what the bench holds");
    AllocationRegistry::set_global_tracker(CountingTracker).expect("no tracker set yet");
    AllocationRegistry::enable_tracking();
    // In testing mode dhat writes no file; its profiler records every dhat allocation.
    let _dhat = dhat::Profiler::builder().testing().build();
    let rounds: usize = std::env::var("HEAPLAB_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(201);
    println!("alloc+free pairs of 64 B, {rounds} interleaved rounds of {PAIRS} pairs each\n");
    table(&ALLOCATORS, rounds);
    counting::count_every_thread();
    println!("\nOnce every thread is counted (`counting::count_every_thread()`):\n");
    table(&EVERY_THREAD, rounds);
    live(rounds);
}

/// Blocks freed at a time in [`free_costs`]: few enough to stay in the cache.
const FREES: usize = 1000;
/// Batches of [`FREES`] per allocator per round.
const FREE_BATCHES: u32 = 100;

/// The median cost in ns of freeing one unsampled 64-byte block through `System` and through
/// heaplab's counting (a registered thread), interleaved batch by batch: each batch allocates
/// `FREES` blocks from `System` untimed (so that none is sampled and both free the same kind
/// of heap), then times freeing them (heaplab forwards to `System`, so either may free them).
fn free_costs(rounds: usize) -> [f64; 2] {
    let _slot = counting::register_worker().expect("a counter slot");
    let mut blocks = Vec::with_capacity(FREES);
    let allocators: [&(dyn GlobalAlloc + Sync); 2] = [&SYSTEM, &HEAPLAB];
    let mut ns = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
    for round in 0..=rounds {
        let mut elapsed = [Duration::ZERO; 2];
        for batch in 0..2 * FREE_BATCHES {
            let index = (batch as usize + round) % 2;
            let allocator = allocators[index];
            // SAFETY: LAYOUT has a non-zero size; each block is freed once, with the same
            // layout, by `System` or by heaplab's counting over it (which hands it to
            // `System`), and never dereferenced.
            unsafe {
                blocks.extend((0..FREES).map(|_| SYSTEM.alloc(LAYOUT)));
                let start = Instant::now();
                for &ptr in &blocks {
                    allocator.dealloc(black_box(ptr), LAYOUT);
                }
                elapsed[index] += start.elapsed();
            }
            blocks.clear();
        }
        if round > 0 {
            for (series, time) in ns.iter_mut().zip(elapsed) {
                series.push(time.as_nanos() as f64 / f64::from(FREE_BATCHES) / FREES as f64);
            }
        }
    }
    ns.map(|mut series| median(&mut series))
}

/// Pairs of a block this large are sampled (probability `1 - exp(-8)` at 64 KiB).
const SAMPLED: Layout = match Layout::from_size_align(512 << 10, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("a valid layout"),
};

/// The median cost in ns of one pair of `SAMPLED` blocks, sampled (a registered thread) and
/// not (the same thread inside `counting::unmeasured`, the shared bucket, never sampled),
/// interleaved: the difference is what one sampled capture costs.
fn sampled_costs(rounds: usize) -> [f64; 2] {
    const PAIRS: u32 = 200;
    let slot = counting::register_worker().expect("a counter slot");
    let pair = || {
        // SAFETY: SAMPLED has a non-zero size; the block is freed at once with the same layout.
        unsafe {
            let ptr = HEAPLAB.alloc(SAMPLED);
            assert!(!ptr.is_null());
            HEAPLAB.dealloc(black_box(ptr), SAMPLED);
        }
    };
    let time = |sampled: bool| {
        let start = Instant::now();
        if sampled {
            (0..PAIRS).for_each(|_| pair());
        } else {
            counting::unmeasured(|| (0..PAIRS).for_each(|_| pair()));
        }
        start.elapsed().as_nanos() as f64 / f64::from(PAIRS)
    };
    let mut ns = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
    for round in 0..=rounds {
        for k in 0..2 {
            let index = (k + round) % 2;
            let cost = time(index == 0);
            if round > 0 {
                ns[index].push(cost);
            }
        }
    }
    drop(slot);
    ns.map(|mut series| median(&mut series))
}

/// With live sampling on at its default rate: heaplab's counting as installed and on a thread
/// that claimed its slot, sampled.
const LIVE: [Entry; 3] = [
    ("`System`", &SYSTEM, PAIRS, Slot::Registered),
    (
        "**heaplab, live sampling on** (a registered thread)",
        &HEAPLAB,
        PAIRS,
        Slot::Registered,
    ),
    (
        "live sampling on: a thread that claimed its own slot",
        &HEAPLAB,
        PAIRS,
        Slot::Unregistered,
    ),
];

/// The free of an unsampled block with live sampling off and on, the pairs with it on, and
/// one sampled capture's cost. Starting it is one way, so this comes last.
fn live(rounds: usize) {
    let off = free_costs(rounds);
    let every = sites::DEFAULT_LIVE_SAMPLE_EVERY;
    assert!(sites::start_live_sampling(every));
    let on = free_costs(rounds);
    println!(
        "\nLive sampled sites (`sites::start_live_sampling({every})`), the free of an unsampled \
         64 B block, in batches of {FREES}:\n"
    );
    println!("| live sampling | `System` free (median) | heaplab free (median) | over `System` |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, [system, heaplab]) in [("off", off), ("on", on)] {
        let over = (heaplab / system - 1.0) * 100.0;
        println!("| {name} | {system:.2} ns | {heaplab:.2} ns | {over:+.0}% |");
    }
    println!("\nalloc+free pairs of 64 B with live sampling on at {every} B:\n");
    table(&LIVE, rounds);
    let [sampled, unsampled] = sampled_costs(rounds.min(51));
    println!(
        "\nOne sampled capture (a pair of {} KiB blocks, sampled with probability 1 - exp(-8), \
         the bench's stack {} frames deep at most): {sampled:.0} ns a pair sampled, \
         {unsampled:.0} ns not: {:.0} ns per sampled capture",
        SAMPLED.size() >> 10,
        sites::MAX_FRAMES,
        sampled - unsampled
    );
}

/// Runs `entries` interleaved for `rounds` rounds, on one thread then two, and prints the
/// table (`entries[0]` is the reference).
fn table(entries: &[Entry], rounds: usize) {
    println!("| allocator | threads | ns per pair (median) | over `System`, same round (median) |");
    println!("| --- | ---: | ---: | ---: |");
    for threads in [1usize, 2] {
        let n = entries.len();
        let mut ns = vec![Vec::with_capacity(rounds); n];
        // One round to warm up, not counted.
        for round in 0..=rounds {
            let mut this_round = vec![0.0; n];
            for k in 0..n {
                let index = (k + round) % n;
                let (_, allocator, pairs, slot) = entries[index];
                let elapsed = on_threads(allocator, threads, pairs, slot);
                this_round[index] = elapsed.as_nanos() as f64 / pairs as f64;
            }
            if round > 0 {
                for (series, value) in ns.iter_mut().zip(this_round) {
                    series.push(value);
                }
            }
        }
        for (index, (name, ..)) in entries.iter().enumerate() {
            let mut ratios: Vec<f64> = ns[index].iter().zip(&ns[0]).map(|(a, s)| a / s).collect();
            let over = (median(&mut ratios) - 1.0) * 100.0;
            let over = if index == 0 {
                String::new()
            } else {
                format!("{over:+.0}%")
            };
            println!(
                "| {name} | {threads} | {:.1} ns | {over} |",
                median(&mut ns[index].clone())
            );
        }
    }
}
