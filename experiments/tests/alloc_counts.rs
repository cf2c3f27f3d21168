//! The counting allocator against known patterns, and every experiment's allocation claims,
//! with the counting allocator installed over `System` exactly as the heaplab binary installs it.

// Exact equality of counts is the point of these tests, floats included.
#![allow(clippy::float_cmp)]

use std::alloc::System;
use std::hint::black_box;

use heaplab_experiments::counting::{self, CountingAlloc, RegisterError, SlotId};
use heaplab_experiments::measure::{Stop, counting_is_installed, measure};
use heaplab_experiments::{catalog, checksum_of, find};

#[global_allocator]
static ALLOC: CountingAlloc<System> = CountingAlloc::new(System);

/// Runs `f` on this thread with a fresh slot and returns what it did to the slot.
fn count<T>(f: impl FnOnce() -> T) -> (counting::Counters, T) {
    let slot = counting::register_worker().expect("a free slot");
    let before = slot.counters();
    let value = f();
    let after = slot.counters();
    (after.since(&before), value)
}

#[test]
fn the_allocator_is_installed() {
    assert!(counting_is_installed());
}

#[test]
fn with_capacity_is_one_allocation_of_exactly_n_bytes() {
    for n in [1usize, 7, 64, 4096, 1 << 20] {
        let (c, v) = count(|| black_box(Vec::<u8>::with_capacity(n)));
        assert_eq!(
            (c.allocs, c.bytes_allocated, c.reallocs),
            (1, n as u64, 0),
            "n = {n}"
        );
        assert_eq!(c.live_bytes(), n as i64);
        drop(v);
    }
}

#[test]
fn vec_of_u32_counts_element_bytes() {
    let (c, v) = count(|| black_box(Vec::<u32>::with_capacity(1000)));
    assert_eq!((c.allocs, c.bytes_allocated), (1, 4000));
    drop(v);
}

#[test]
fn growth_by_push_counts_the_reallocations_it_really_makes() {
    let (c, (capacity_changes, final_capacity)) = count(|| {
        let mut v: Vec<u64> = Vec::new();
        let mut changes = 0u64;
        let mut capacity = v.capacity();
        for i in 0..10_000u64 {
            v.push(i);
            if v.capacity() != capacity {
                changes += 1;
                capacity = v.capacity();
            }
        }
        black_box(&v);
        let cap = v.capacity();
        std::mem::forget(v); // keep it live so only growth is counted
        (changes, cap)
    });
    // The first capacity change is the allocation, every later one a reallocation.
    assert_eq!(c.allocs, 1);
    assert_eq!(c.reallocs, capacity_changes - 1);
    assert!(
        c.reallocs >= 10,
        "10 000 pushes must grow more than 10 times"
    );
    // realloc adds only the growth: the bytes allocated are the final capacity, no more.
    assert_eq!(c.bytes_allocated, final_capacity as u64 * 8);
    assert_eq!(c.deallocs, 0);
}

#[test]
fn shrinking_realloc_counts_freed_bytes() {
    let mut v = Vec::<u8>::with_capacity(1000);
    v.push(1);
    let (c, ()) = count(|| v.shrink_to(100));
    assert_eq!(
        (c.reallocs, c.allocs, c.bytes_freed, c.bytes_allocated),
        (1, 0, 900, 0)
    );
    drop(v);
}

#[test]
fn a_string_cloned_k_times_is_k_allocations() {
    let s = String::from("a string long enough to live on the heap");
    for k in [1u64, 3, 100] {
        let (c, clones) = count(|| (0..k).map(|_| s.clone()).collect::<Vec<_>>());
        // k clones plus the one Vec that holds them (exact-size iterator: no growth).
        assert_eq!(c.allocs, k + 1, "k = {k}");
        assert_eq!(c.bytes_allocated, k * s.len() as u64 + k * 24);
        drop(clones);
    }
}

#[test]
fn alloc_zeroed_and_dealloc_are_counted() {
    let (c, ()) = count(|| {
        let v = black_box(vec![0u8; 5000]);
        drop(v);
    });
    assert_eq!(
        (c.allocs, c.deallocs, c.bytes_allocated, c.bytes_freed),
        (1, 1, 5000, 5000)
    );
    assert_eq!(c.live_bytes(), 0);
}

#[test]
fn a_failed_allocation_is_not_counted_and_raises_neither_peak_nor_budget() {
    let slot = counting::register_worker().expect("slot");
    let base = slot.counters().live_bytes();
    slot.set_budget_above(base, Some(1 << 20));
    let before = slot.counters();
    // A valid layout that no allocator can serve: counted first, then taken back.
    let mut huge: Vec<u8> = Vec::new();
    assert!(huge.try_reserve_exact(isize::MAX as usize / 2).is_err());
    let mut vec = vec![0u8; 16];
    assert!(vec.try_reserve_exact(isize::MAX as usize / 2).is_err());
    assert_eq!(
        vec.len(),
        16,
        "a failed realloc leaves the vector as it was"
    );
    let after = slot.counters().since(&before);
    assert_eq!(
        (after.allocs, after.reallocs, after.bytes_allocated),
        (1, 0, 16)
    );
    assert_eq!(after.peak_live_bytes, before.peak_live_bytes.max(base + 16));
    assert_eq!(
        slot.over_budget(),
        None,
        "a refused request is not over budget"
    );
    drop(vec);
}

#[test]
fn the_peak_follows_the_high_water_mark() {
    let slot = counting::register_worker().expect("slot");
    slot.reset_peak();
    let base = slot.counters().live_bytes();
    let big = black_box(vec![1u8; 1 << 20]);
    drop(big);
    let small = black_box(vec![1u8; 10]);
    let c = slot.counters();
    assert_eq!(c.peak_live_bytes - base, 1 << 20);
    assert_eq!(c.live_bytes() - base, 10);
    slot.reset_peak();
    assert_eq!(slot.counters().peak_live_bytes - base, 10);
    drop(small);
}

#[test]
fn other_threads_count_into_their_own_slots_not_the_workers() {
    let slot = counting::register_worker().expect("slot");
    let before = slot.counters();
    let helper = std::thread::spawn(|| {
        // Unregistered: counts in the shared bucket.
        let unregistered: Vec<Box<u64>> = (0..1000).map(Box::new).collect();
        // Registered: counts in its own slot, exactly.
        let own = counting::register_worker().expect("slot");
        let registered: Vec<Box<u64>> = (0..500).map(Box::new).collect();
        let c = own.counters();
        drop(registered);
        drop(unregistered);
        c
    });
    let helper_counts = helper.join().expect("helper thread");
    let after = slot.counters().since(&before);
    assert_eq!(helper_counts.allocs, 501);
    // Spawning and joining a thread allocates a little on this thread (its handle, its name
    // and packet); none of the helper's 1500 boxes may appear here.
    assert!(
        after.allocs < 10,
        "worker slot saw {} allocations",
        after.allocs
    );
    assert!(counting::snapshot(SlotId::OTHER).allocs >= 1000);
}

#[test]
fn a_snapshot_from_another_thread_never_sees_half_an_event() {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, Ordering};
    static START: OnceLock<(SlotId, counting::Counters)> = OnceLock::new();
    static STOP: AtomicBool = AtomicBool::new(false);
    // The owner repeats one pattern and nothing else: alloc 64 B, grow it to 96 B, free 96 B.
    let owner = std::thread::spawn(|| {
        let slot = counting::register_worker().expect("slot");
        let _ = START.set((slot.id(), slot.counters()));
        let mut rounds = 0u64;
        while !STOP.load(Ordering::Relaxed) {
            let mut v: Vec<u8> = Vec::with_capacity(64);
            v.reserve_exact(96);
            black_box(&v);
            drop(v);
            rounds += 1;
        }
        (rounds, slot.counters())
    });
    let (id, base) = loop {
        if let Some(start) = START.get() {
            break *start;
        }
        std::thread::yield_now();
    };
    // Until the reader has both read a lot and seen the owner move a lot (on a loaded machine
    // the two threads may take turns on one core for a while).
    let mut seen_allocs = Vec::new();
    let mut reads = 0u32;
    // A hang guard only: on one shared core this takes seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while (reads < 200_000 || seen_allocs.len() < 1000) && std::time::Instant::now() < deadline {
        reads += 1;
        let raw = counting::snapshot(id);
        let c = raw.since(&base);
        // Between two events, and only then: every call's bytes are in, and no others.
        assert_eq!(c.bytes_allocated, 64 * c.allocs + 32 * c.reallocs, "{c:?}");
        assert_eq!(c.bytes_freed, 96 * c.deallocs, "{c:?}");
        assert!(c.deallocs <= c.reallocs && c.reallocs <= c.allocs, "{c:?}");
        assert!(c.allocs <= c.deallocs + 1, "{c:?}");
        assert!(raw.peak_live_bytes >= raw.live_bytes(), "{raw:?}");
        if seen_allocs.last() != Some(&c.allocs) && seen_allocs.len() < 1000 {
            seen_allocs.push(c.allocs);
        }
    }
    STOP.store(true, Ordering::Relaxed);
    let (rounds, last) = owner.join().expect("owner thread");
    let last = last.since(&base);
    assert_eq!(
        (last.allocs, last.reallocs, last.deallocs),
        (rounds, rounds, rounds)
    );
    assert_eq!(
        seen_allocs.len(),
        1000,
        "the reader raced the owner for five minutes and saw it move only {} times",
        seen_allocs.len()
    );
}

#[test]
fn a_thread_cannot_hold_two_slots_and_slots_are_reused() {
    let first = counting::register_worker().expect("slot");
    assert_eq!(
        counting::register_worker().unwrap_err(),
        RegisterError::AlreadyRegistered
    );
    let id = first.id();
    assert_ne!(id, SlotId::OTHER);
    assert_eq!(counting::current_slot_id(), id);
    drop(first);
    assert_eq!(counting::current_slot_id(), SlotId::OTHER);
    let second = counting::register_worker().expect("slot");
    assert_eq!(second.counters().allocs, 0, "a new owner starts from zero");
}

#[test]
fn every_experiments_variants_compute_the_same_checksum() {
    for experiment in catalog() {
        let info = experiment.info();
        let sizes = [info.size_range.0, 3, 100, info.default_size.min(20_000)];
        for size in sizes {
            let ops = experiment.warmup_ops(size).max(10) + 7;
            let reference =
                checksum_of(*experiment, info.variants[0].name, size, ops).expect("naive sets up");
            for variant in &info.variants[1..] {
                let checksum =
                    checksum_of(*experiment, variant.name, size, ops).expect("variant sets up");
                assert_eq!(
                    checksum, reference,
                    "{} {} size {size}",
                    info.id, variant.name
                );
            }
        }
    }
}

fn allocs_per_op(id: &str, variant: &str) -> (f64, u64) {
    let experiment = find(id).expect("experiment exists");
    let slot = counting::register_worker().expect("slot");
    let size = experiment.info().default_size;
    let m = measure(&slot, experiment, variant, size, Stop::Iterations(200)).expect("measures");
    (m.allocs_per_op(), m.peak_heap_bytes)
}

#[test]
fn zero_allocation_experiments_make_none_per_op_in_steady_state() {
    for id in ["buffer-reuse", "string-processing"] {
        let (naive, _) = allocs_per_op(id, "naive");
        let (optimized, _) = allocs_per_op(id, "optimized");
        assert!(naive >= 1.0, "{id} naive: {naive} allocs/op");
        assert_eq!(optimized, 0.0, "{id} optimized allocates in steady state");
    }
}

#[test]
fn buffer_reuse_naive_makes_exactly_one_allocation_per_op() {
    let (naive, _) = allocs_per_op("buffer-reuse", "naive");
    assert_eq!(naive, 1.0);
}

#[test]
fn struct_layout_holds_a_third_less_and_allocates_nothing_per_op() {
    let (naive_allocs, naive_peak) = allocs_per_op("struct-layout", "naive");
    let (good_allocs, good_peak) = allocs_per_op("struct-layout", "optimized");
    assert_eq!((naive_allocs, good_allocs), (0.0, 0.0));
    // The records dominate the footprint: 24 and 16 bytes each, plus the boxed workload.
    let n = 1_000_000u64;
    assert!(
        (24 * n..24 * n + 256).contains(&naive_peak),
        "naive peak {naive_peak}"
    );
    assert!(
        (16 * n..16 * n + 256).contains(&good_peak),
        "optimized peak {good_peak}"
    );
}

#[test]
fn measure_runs_exactly_the_iterations_asked_for() {
    let slot = counting::register_worker().expect("slot");
    let experiment = find("buffer-reuse").expect("exists");
    let m = measure(&slot, experiment, "naive", 100, Stop::Iterations(1234)).expect("measures");
    assert_eq!(m.ops, 1234);
    assert_eq!(m.allocs, 1234);
    assert_eq!(m.bytes_allocated, 1234 * 200);
    assert_eq!(m.work, 1234 * 100);
    assert_eq!(m.warmup_ops, experiment.warmup_ops(100));
}

#[test]
fn bad_variants_and_sizes_are_errors_not_panics() {
    let slot = counting::register_worker().expect("slot");
    let experiment = find("buffer-reuse").expect("exists");
    let err = measure(&slot, experiment, "fast", 10, Stop::Iterations(1)).unwrap_err();
    assert!(err.to_string().contains("naive, optimized"), "{err}");
    let err = measure(&slot, experiment, "naive", 0, Stop::Iterations(1)).unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn every_variant_shows_its_source() {
    for experiment in catalog() {
        let info = experiment.info();
        for variant in info.variants {
            let source = info.variant_source(variant.name);
            let source =
                source.unwrap_or_else(|| panic!("{} {} has no source", info.id, variant.name));
            assert!(
                source.lines().count() >= 3,
                "{} {}: {source}",
                info.id,
                variant.name
            );
            assert!(!source.contains("region:"), "markers leak into {}", info.id);
        }
    }
}
