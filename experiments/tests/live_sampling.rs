//! Live sampled sites (`sites::start_live_sampling`): every counted thread sampled, the counts
//! still exact, the frees of sampled blocks matched to their sites (a site whose blocks are all
//! freed holds exactly nothing; one that keeps blocks holds their bytes within the estimate's
//! error), reallocations of sampled blocks moved with their contents, temporaries, alignments
//! the sampler cannot place, and an exhaustive capture still exact beside it.
//!
//! Live sampling and counting every thread are process-wide and one way, and the checks read a
//! process-wide table: the file has a `main` of its own (`harness = false`), no libtest threads
//! beside it, and runs its checks one after the other.

// Exactly nothing held is the point: floats compared exactly.
#![allow(clippy::float_cmp)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use heaplab_experiments::counting::{self, CountingAlloc};
use heaplab_experiments::sites::{self, Capture, LiveSites, LiveStack};

#[global_allocator]
static ALLOC: CountingAlloc<System> = CountingAlloc::new(System);

/// The mean gap between samples here: small, so that a few thousand blocks give many samples.
const EVERY: u64 = 4096;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("live_sampling: test");
        return;
    }
    assert!(!sites::start_live_sampling(0), "0 leaves sampling off");
    assert_eq!(sites::live_sample_every(), 0);
    counting::count_every_thread();
    assert!(sites::start_live_sampling(EVERY));
    assert!(sites::start_live_sampling(1), "on already");
    assert_eq!(sites::live_sample_every(), EVERY, "the first rate stays");
    counts_stay_exact_with_sampling_on();
    frees_are_matched_to_their_sites();
    reallocated_sampled_blocks_keep_their_contents_and_site();
    temporaries_are_counted_apart();
    every_thread_is_sampled();
    over_aligned_blocks_are_sampled_untracked();
    an_exhaustive_capture_stays_exact_beside_sampling();
    the_snapshot_reuses_its_buffers();
    println!("live_sampling: 1 passed, 0 failed");
}

/// The table now, copied with this thread detached from counting.
fn snapshot() -> LiveSites {
    counting::unmeasured(|| {
        let mut live = LiveSites::default();
        sites::live_snapshot(&mut live);
        live
    })
}

/// Whether a frame of `stack` is in a function whose name contains `function`.
fn made_in(stack: &LiveStack, function: &str) -> bool {
    stack.frames.iter().any(|&ip| {
        let mut found = false;
        backtrace::resolve(ip as usize as *mut std::ffi::c_void, |symbol| {
            found |= symbol
                .name()
                .is_some_and(|name| name.to_string().contains(function));
        });
        found
    })
}

/// Every stack made in `function`, summed: (samples, allocs, live bytes, live variance,
/// live blocks, temporary).
fn site(live: &LiveSites, function: &str) -> [f64; 6] {
    counting::unmeasured(|| {
        live.stacks
            .iter()
            .filter(|stack| made_in(stack, function))
            .fold([0.0; 6], |sum, s| {
                [
                    sum[0] + s.samples as f64,
                    sum[1] + s.allocs,
                    sum[2] + s.live_bytes,
                    sum[3] + s.live_variance,
                    sum[4] + s.live_blocks,
                    sum[5] + s.temporary,
                ]
            })
    })
}

fn counts_stay_exact_with_sampling_on() {
    let slot = counting::register_worker().expect("a slot");
    let before = slot.counters();
    exact_loop();
    let during = slot.counters().since(&before);
    // 4000 boxes of 100 bytes and 1000 vectors of 8 KiB made then grown to 16 KiB.
    assert_eq!(during.allocs, 5000, "{during:?}");
    assert_eq!(during.reallocs, 1000, "{during:?}");
    assert_eq!(during.deallocs, 5000, "{during:?}");
    assert_eq!(
        during.bytes_allocated,
        4000 * 100 + 1000 * 16384,
        "{during:?}"
    );
    assert_eq!(during.bytes_freed, during.bytes_allocated, "{during:?}");
    assert!(snapshot().samples > 100, "sampled meanwhile");
}

#[inline(never)]
fn exact_loop() {
    for _ in 0..4000 {
        drop(black_box(Box::new([7u8; 100])));
    }
    for _ in 0..1000 {
        let mut v: Vec<u8> = black_box(Vec::with_capacity(8192));
        v.reserve_exact(16384);
        drop(black_box(v));
    }
}

#[inline(never)]
fn freed_site(n: usize) {
    for i in 0..n {
        drop(black_box(vec![i as u8; 1000]));
    }
}

/// Fills `into` (with room for `n` already: only the blocks are this site's).
#[inline(never)]
fn kept_site(n: usize, into: &mut Vec<Vec<u8>>) {
    into.extend((0..n).map(|i| black_box(vec![i as u8; 1000])));
}

fn frees_are_matched_to_their_sites() {
    freed_site(20_000);
    let mut kept = Vec::with_capacity(20_000);
    kept_site(20_000, &mut kept);
    let live = snapshot();
    let [samples, allocs, live_bytes, variance, ..] = site(&live, "freed_site");
    assert!(samples > 1000.0, "sampled: {samples}");
    assert!(
        (allocs - 20_000.0).abs() < 4.0 * (20_000.0 * 3.6f64).sqrt(),
        "{allocs}"
    );
    assert_eq!(live_bytes, 0.0, "every block freed: nothing held");
    assert_eq!(variance, 0.0);
    // Each 1000-byte block is sampled with p = 1 - exp(-1000/4096): weight w = 4.6, so the
    // standard error of 20 MB held is sqrt(20000 * 1000^2 * (w - 1)) = 0.27 MB, which the
    // site's live variance estimates (its sampled blocks' 1000^2 * w * (w - 1)).
    let [samples, _, live_bytes, variance, live_blocks, _] = site(&live, "kept_site");
    let held = 20_000.0 * 1000.0;
    let error = variance.sqrt();
    assert!(samples > 1000.0, "sampled: {samples}");
    assert!(error > 0.0 && error < held / 10.0, "error {error}");
    assert!(
        (live_bytes - held).abs() < 4.0 * error,
        "{live_bytes} held for {held} (error {error})"
    );
    assert!(
        (live_blocks - 20_000.0).abs() < 4.0 * error / 1000.0,
        "{live_blocks}"
    );
    drop(kept);
    let after = site(&snapshot(), "kept_site");
    assert_eq!(after[2], 0.0, "freed: nothing held");
    assert_eq!(after[4], 0.0);
}

/// 3000 blocks of 8 KiB, each filled, grown to 24 KiB and then shrunk to 12 KiB.
#[inline(never)]
fn grown_site(into: &mut Vec<Vec<u8>>) {
    into.extend((0..3000u32).map(|i| {
        let mut v = Vec::with_capacity(8192);
        v.extend((0..8192u32).map(|j| (i ^ j) as u8));
        v.reserve_exact(24 * 1024 - v.len());
        v.extend(std::iter::repeat_n(0xA5, 4 * 1024));
        v.shrink_to(12 * 1024);
        black_box(v)
    }));
}

fn reallocated_sampled_blocks_keep_their_contents_and_site() {
    let mut grown = Vec::with_capacity(3000);
    grown_site(&mut grown);
    for (i, v) in grown.iter().enumerate() {
        assert_eq!(v.capacity(), 12 * 1024);
        assert!(
            v[..8192]
                .iter()
                .enumerate()
                .all(|(j, &b)| b == (i as u32 ^ j as u32) as u8),
            "block {i} kept its bytes"
        );
        assert!(v[8192..].iter().all(|&b| b == 0xA5));
    }
    let [samples, _, live_bytes, variance, ..] = site(&snapshot(), "grown_site");
    let held = 3000.0 * 12.0 * 1024.0;
    let error = variance.sqrt();
    assert!(samples > 2000.0, "sampled: {samples}");
    assert!(
        (live_bytes - held).abs() < 4.0 * error.max(1.0),
        "{live_bytes} held for {held} (error {error})"
    );
    drop(grown);
    assert_eq!(
        site(&snapshot(), "grown_site")[2],
        0.0,
        "freed: nothing held"
    );
}

#[inline(never)]
fn short_lived_site() {
    for _ in 0..5000 {
        drop(black_box(vec![1u8; 2000]));
    }
}

#[inline(never)]
fn long_lived_site(into: &mut Vec<Vec<u8>>) {
    into.extend((0..5000).map(|_| black_box(vec![1u8; 2000])));
}

fn temporaries_are_counted_apart() {
    short_lived_site();
    let mut held = Vec::with_capacity(5000);
    long_lived_site(&mut held);
    // Longer than `TEMPORARY_NS`: these are no temporaries, however slow the machine.
    std::thread::sleep(std::time::Duration::from_nanos(3 * sites::TEMPORARY_NS));
    drop(held);
    let live = snapshot();
    let [_, allocs, _, _, _, temporary] = site(&live, "short_lived_site");
    assert!(allocs > 0.0);
    // Freed microseconds after being made: all of them, on any machine that is not stopped.
    assert!(temporary > 0.5 * allocs, "{temporary} of {allocs}");
    assert!(temporary <= allocs * 1.000_001);
    let [_, allocs, _, _, _, temporary] = site(&live, "long_lived_site");
    assert!(allocs > 0.0);
    assert_eq!(temporary, 0.0, "held past the span");
}

#[inline(never)]
fn thread_site(n: usize, into: &mut Vec<Vec<u8>>) {
    into.extend((0..n).map(|_| black_box(vec![3u8; 500])));
}

fn every_thread_is_sampled() {
    let tids: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    let mut kept = Vec::with_capacity(20_000);
                    thread_site(20_000, &mut kept);
                    let tid = rustix::thread::gettid()
                        .as_raw_nonzero()
                        .get()
                        .unsigned_abs();
                    drop(kept);
                    tid
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let live = snapshot();
    let stacks: Vec<&LiveStack> = counting::unmeasured(|| {
        live.stacks
            .iter()
            .filter(|s| made_in(s, "thread_site"))
            .collect()
    });
    let seen: Vec<u32> = stacks.iter().map(|s| s.tid).collect();
    assert!(
        tids.iter().any(|tid| seen.contains(tid)),
        "a stack names a sampling thread: {tids:?} in {seen:?}"
    );
    let samples: u64 = stacks.iter().map(|s| s.samples).sum();
    // 60000 blocks of 500 bytes, p = 0.115: about 6900 samples from the three threads.
    assert!(samples > 3000, "{samples} samples");
    let allocs: f64 = stacks.iter().map(|s| s.allocs).sum();
    assert!(
        (allocs - 60_000.0).abs() < 4.0 * (60_000.0 * 7.7f64).sqrt(),
        "{allocs}"
    );
    let live_bytes: f64 = stacks.iter().map(|s| s.live_bytes).sum();
    assert_eq!(live_bytes, 0.0);
    let sizes: f64 = stacks
        .iter()
        .map(|s| s.sizes[sites::size_bucket(500)])
        .sum();
    assert!(
        (sizes - allocs).abs() < 1e-3,
        "every one in the 256-511 bucket"
    );
    assert!(live.sizes[sites::size_bucket(500)] >= sizes - 1e-3);
}

fn over_aligned_blocks_are_sampled_untracked() {
    let before = snapshot().untracked;
    let layout = Layout::from_size_align(4096, 128).expect("a layout");
    let slot = counting::register_worker().expect("a slot");
    let counted = slot.counters();
    for _ in 0..200 {
        // SAFETY: a non-zero size; freed at once with the same layout.
        unsafe {
            let ptr = ALLOC.alloc(layout);
            assert!(!ptr.is_null());
            assert_eq!(ptr.addr() % 128, 0);
            ALLOC.dealloc(black_box(ptr), layout);
        }
    }
    let during = slot.counters().since(&counted);
    assert_eq!(during.allocs, 200);
    assert_eq!(during.bytes_allocated, 200 * 4096);
    assert!(snapshot().untracked > before, "sampled, untracked");
}

fn an_exhaustive_capture_stays_exact_beside_sampling() {
    let slot = counting::register_worker().expect("a slot");
    let capture = Capture::begin(&slot).expect("no other capture");
    exact_loop();
    let raw = capture.end(1);
    assert_eq!(raw.allocs, 5000);
    assert_eq!(raw.reallocs, 1000);
    let captured: u64 = raw.stacks.iter().map(|s| s.allocs).sum();
    assert_eq!(captured, 5000, "every allocation has its stack");
}

fn the_snapshot_reuses_its_buffers() {
    let mut live = snapshot();
    let stacks = live.stacks.as_ptr();
    let before = counting::process_counters().allocs;
    sites::live_snapshot(&mut live);
    assert_eq!(counting::process_counters().allocs, before, "no allocation");
    assert_eq!(live.stacks.as_ptr(), stacks);
}
