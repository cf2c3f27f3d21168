//! The chapter's claims for each experiment of the catalog, checked with exact allocation
//! counts from the counting allocator (installed over `System`, as the binary installs it).
//! No timing here: only counts, bytes and results.

// Exact equality of counts is the point of these tests, floats included.
#![allow(clippy::float_cmp)]

use std::alloc::System;

use heaplab_experiments::counting::{self, CountingAlloc, WorkerSlot};
use heaplab_experiments::measure::{Measurement, Stop, measure};
use heaplab_experiments::{Checksum, catalog, checksum_of, find, setup};

#[global_allocator]
static ALLOC: CountingAlloc<System> = CountingAlloc::new(System);

/// Measures `n` operations of `variant` at `size` after the experiment's own warm-up.
fn run(slot: &WorkerSlot, id: &str, variant: &str, size: usize, n: u64) -> Measurement {
    let experiment = find(id).unwrap_or_else(|| panic!("no experiment {id}"));
    measure(slot, experiment, variant, size, Stop::Iterations(n))
        .unwrap_or_else(|e| panic!("{id} {variant}: {e}"))
}

/// [`run`] at the default size.
fn run_default(slot: &WorkerSlot, id: &str, variant: &str, n: u64) -> Measurement {
    let size = find(id).expect("exists").info().default_size;
    run(slot, id, variant, size, n)
}

fn extra(m: &Measurement, name: &str) -> f64 {
    m.extra_counters
        .iter()
        .find(|(n, _)| *n == name)
        .map_or_else(
            || panic!("{} {} reports no `{name}`", m.experiment, m.variant),
            |&(_, v)| v,
        )
}

/// Every variant of `id` agrees with naive after `ops` operations at each of `sizes`.
fn assert_same_checksums(id: &str, sizes: &[usize], ops: u64) {
    let experiment = find(id).expect("exists");
    let info = experiment.info();
    for &size in sizes {
        let reference = checksum_of(experiment, "naive", size, ops).expect("naive");
        for variant in &info.variants[1..] {
            let checksum = checksum_of(experiment, variant.name, size, ops).expect("variant");
            assert_eq!(checksum, reference, "{id} {} size {size}", variant.name);
        }
    }
}

#[test]
fn the_catalog_has_every_chapter_experiment_once() {
    let ids: Vec<&str> = catalog().iter().map(|e| e.info().id).collect();
    for id in ["in-place", "preallocation", "bit-packing"] {
        assert_eq!(ids.iter().filter(|&&i| i == id).count(), 1, "{id}");
    }
    let sections: Vec<_> = catalog().iter().map(|e| e.info().section).collect();
    assert!(sections.is_sorted(), "catalog out of chapter order");
    for experiment in catalog() {
        let info = experiment.info();
        assert_eq!(info.variants[0].name, "naive", "{}", info.id);
        assert!(info.variant_index("optimized").is_some(), "{}", info.id);
        let (min, max) = info.size_range;
        assert!((min..=max).contains(&info.default_size), "{}", info.id);
        assert!(info.why.len() > 400, "{}: a why says why", info.id);
    }
}

#[test]
fn every_zero_allocation_claim_holds_at_the_default_size() {
    let slot = counting::register_worker().expect("slot");
    let claimed: Vec<_> = catalog()
        .iter()
        .filter(|e| e.info().targets.zero_allocs)
        .map(|e| e.info().id)
        .collect();
    for id in [
        "in-place",
        "preallocation",
        "sync-pool",
        "channel-pool",
        "streaming",
        "low-alloc-api",
    ] {
        assert!(claimed.contains(&id), "{id} must claim zero allocations");
    }
    for id in claimed {
        let m = run_default(&slot, id, "optimized", 3);
        assert_eq!(m.allocs, 0, "{id} optimized allocates after warm-up");
        assert_eq!(m.reallocs, 0, "{id} optimized reallocates after warm-up");
    }
}

// 04-01 buffer-reuse

#[test]
fn buffer_reuse_naive_allocates_per_call_reuse_and_bytes_never() {
    let slot = counting::register_worker().expect("slot");
    let naive = run_default(&slot, "buffer-reuse", "naive", 100);
    assert_eq!(naive.allocs_per_op(), 1.0);
    for variant in ["optimized", "crate"] {
        let m = run_default(&slot, "buffer-reuse", variant, 100);
        assert_eq!(m.allocs_per_op(), 0.0, "{variant}");
        assert_eq!(m.reallocs_per_op(), 0.0, "{variant}");
    }
}

#[test]
fn buffer_reuse_variants_agree() {
    assert_same_checksums("buffer-reuse", &[1, 7, 1024, 100_000], 10);
}

// 04-01 in-place

#[test]
fn in_place_naive_makes_three_vectors_optimized_none() {
    let slot = counting::register_worker().expect("slot");
    let naive = run_default(&slot, "in-place", "naive", 50);
    assert_eq!(naive.allocs_per_op(), 3.0);
    assert!(
        naive.reallocs_per_op() >= 10.0,
        "{}",
        naive.reallocs_per_op()
    );
    let optimized = run_default(&slot, "in-place", "optimized", 50);
    assert_eq!(optimized.allocs_per_op(), 0.0);
    assert_eq!(optimized.reallocs_per_op(), 0.0);
    assert_eq!(optimized.bytes_allocated, 0);
}

#[test]
fn in_place_variants_agree() {
    assert_same_checksums("in-place", &[1, 2, 7, 1000, 10_000], 20);
}

// 04-01 preallocation

#[test]
fn preallocation_growth_reallocates_sizing_once_does_not_reuse_allocates_nothing() {
    let slot = counting::register_worker().expect("slot");
    let naive = run_default(&slot, "preallocation", "naive", 20);
    assert_eq!(naive.allocs_per_op(), 2.0);
    assert!(
        naive.reallocs_per_op() >= 20.0,
        "{}",
        naive.reallocs_per_op()
    );
    let sized = run_default(&slot, "preallocation", "with-capacity", 20);
    assert_eq!((sized.allocs_per_op(), sized.reallocs_per_op()), (2.0, 0.0));
    let reused = run_default(&slot, "preallocation", "optimized", 20);
    assert_eq!(
        (reused.allocs_per_op(), reused.reallocs_per_op()),
        (0.0, 0.0)
    );
    assert_eq!(reused.bytes_allocated, 0);
}

#[test]
fn preallocation_variants_agree() {
    assert_same_checksums("preallocation", &[1, 5, 1000], 10);
}

// 04-02 bit-packing

#[test]
fn bit_packing_holds_an_eighth_and_allocates_nothing_per_op() {
    let slot = counting::register_worker().expect("slot");
    let n = 1_000_000u64;
    let naive = run_default(&slot, "bit-packing", "naive", 3);
    let packed = run_default(&slot, "bit-packing", "optimized", 3);
    let columns = run_default(&slot, "bit-packing", "crate", 3);
    for m in [&naive, &packed, &columns] {
        assert_eq!(m.allocs_per_op(), 0.0, "{}", m.variant);
    }
    // 9 bytes per user; 9 one-bit columns (8 flags and active); 10 (9 and a scratch set).
    assert!((9 * n..9 * n + 256).contains(&naive.peak_heap_bytes));
    assert!((n + n / 8..n + n / 8 + 256).contains(&packed.peak_heap_bytes));
    assert!((10 * n / 8..10 * n / 8 + 1024).contains(&columns.peak_heap_bytes));
    assert!(
        packed.peak_heap_bytes * 10 < naive.peak_heap_bytes * 6,
        "40% less"
    );
}

#[test]
fn bit_packing_variants_agree() {
    assert_same_checksums("bit-packing", &[1, 63, 64, 65, 10_000], 12);
}

// 04-02 compact-collections

#[test]
fn compact_collections_hold_far_less_and_allocate_nothing_per_op() {
    let slot = counting::register_worker().expect("slot");
    let n = 100_000u64;
    let naive = run_default(&slot, "compact-collections", "naive", 20);
    let dict = run_default(&slot, "compact-collections", "optimized", 20);
    let interned = run_default(&slot, "compact-collections", "crate", 20);
    for m in [&naive, &dict, &interned] {
        assert_eq!(m.allocs_per_op(), 0.0, "{}", m.variant);
    }
    // A String header per tag, plus its text (at least 4 bytes); then a 4-byte code per tag,
    // plus each distinct tag once.
    assert!(naive.peak_heap_bytes >= 28 * n, "{}", naive.peak_heap_bytes);
    assert!(dict.peak_heap_bytes < 6 * n, "{}", dict.peak_heap_bytes);
    assert!(dict.peak_heap_bytes <= interned.peak_heap_bytes);
    assert!(
        dict.peak_heap_bytes * 10 < naive.peak_heap_bytes * 6,
        "40% less"
    );
}

#[test]
fn compact_collections_variants_agree() {
    assert_same_checksums("compact-collections", &[1, 2, 100, 20_000], 70);
}

// 04-02 inline-storage

#[test]
fn inline_storage_naive_allocates_per_endpoint_inline_never() {
    let slot = counting::register_worker().expect("slot");
    let n = 100_000u64;
    let naive = run_default(&slot, "inline-storage", "naive", 10);
    assert_eq!(naive.allocs_per_op(), 1024.0);
    assert_eq!(naive.deallocs, 10 * 1024);
    let inline = run_default(&slot, "inline-storage", "optimized", 10);
    let arrayvec = run_default(&slot, "inline-storage", "crate", 10);
    let smallvec = run_default(&slot, "inline-storage", "smallvec", 10);
    assert_eq!(inline.allocs_per_op(), 0.0);
    assert_eq!(arrayvec.allocs_per_op(), 0.0);
    assert_eq!(smallvec.allocs_per_op(), 0.0, "no address spills");
    // 20, 24 and 40 bytes per endpoint, nothing else (the boxed workload is a few words).
    assert!((20 * n..20 * n + 128).contains(&inline.peak_heap_bytes));
    assert!((24 * n..24 * n + 128).contains(&arrayvec.peak_heap_bytes));
    assert!((40 * n..40 * n + 128).contains(&smallvec.peak_heap_bytes));
    // 32 bytes plus a 4- or 16-byte block per endpoint.
    assert!((36 * n..48 * n).contains(&naive.peak_heap_bytes));
    assert!(
        inline.peak_heap_bytes * 10 < naive.peak_heap_bytes * 6,
        "40% less"
    );
}

#[test]
fn inline_storage_variants_agree() {
    assert_same_checksums("inline-storage", &[1, 3, 1000, 5000], 8);
}

// 04-03 sync-pool

#[test]
fn sync_pool_allocates_once_then_never() {
    let slot = counting::register_worker().expect("slot");
    let naive = run_default(&slot, "sync-pool", "naive", 500);
    assert_eq!(naive.allocs_per_op(), 1.0);
    let pooled = run_default(&slot, "sync-pool", "optimized", 500);
    assert_eq!(pooled.allocs_per_op(), 0.0);
    assert_eq!(pooled.reallocs_per_op(), 0.0);
    let gets = (pooled.warmup_ops + 500) as f64;
    assert_eq!(extra(&pooled, "gets"), gets);
    assert_eq!(
        extra(&pooled, "misses"),
        1.0,
        "one buffer serves every request"
    );
    assert_eq!(extra(&pooled, "hits"), gets - 1.0);
    assert_eq!(extra(&pooled, "dropped"), 0.0);
    assert_eq!(extra(&pooled, "idle"), 1.0, "the buffer came back");
    let crate_pool = run_default(&slot, "sync-pool", "crate", 500);
    assert_eq!(crate_pool.allocs_per_op(), 0.0);
    assert_eq!(crate_pool.reallocs_per_op(), 0.0);
}

#[test]
fn sync_pool_variants_agree() {
    assert_same_checksums("sync-pool", &[1, 9, 100, 16_384], 80);
}

// 04-03 channel-pool

#[test]
fn channel_pool_sizing_shows_in_allocations_waits_and_memory() {
    let slot = counting::register_worker().expect("slot");
    let n = 2_000;
    let buffer = 64 << 10;
    let naive = run_default(&slot, "channel-pool", "naive", n);
    assert_eq!(naive.allocs_per_op(), 1.0);
    let right = run_default(&slot, "channel-pool", "optimized", n);
    let small = run_default(&slot, "channel-pool", "too-small", n);
    let fallback = run_default(&slot, "channel-pool", "alloc-on-empty", n);
    let large = run_default(&slot, "channel-pool", "too-large", n);
    for m in [&right, &small, &fallback, &large] {
        let gets = (m.warmup_ops + n) as f64;
        // Every request took exactly one buffer: from the channel or newly allocated.
        assert_eq!(extra(m, "hits") + extra(m, "misses"), gets, "{}", m.variant);
    }
    for (m, buffers) in [(&right, 16.0), (&small, 4.0), (&large, 256.0)] {
        assert_eq!(m.allocs_per_op(), 0.0, "{}", m.variant);
        assert_eq!(extra(m, "misses"), 0.0, "{}", m.variant);
        // Nothing leaked: every buffer is idle in the channel or held by a request in flight.
        assert_eq!(
            extra(m, "idle") + extra(m, "in_flight"),
            buffers,
            "{}",
            m.variant
        );
    }
    assert_eq!(extra(&right, "waits"), 0.0, "16 buffers cover every burst");
    assert_eq!(extra(&large, "waits"), 0.0);
    assert!(extra(&small, "waits") > 100.0, "4 buffers make bursts wait");
    // The fallback pool allocates when empty and frees what the full channel cannot take.
    assert!(
        fallback.allocs_per_op() > 0.1,
        "{}",
        fallback.allocs_per_op()
    );
    assert_eq!(extra(&fallback, "waits"), 0.0);
    assert_eq!(
        4.0 + extra(&fallback, "misses"),
        extra(&fallback, "idle") + extra(&fallback, "in_flight") + extra(&fallback, "dropped"),
        "every buffer made is idle, in flight or freed"
    );
    // Memory: the pool's buffers, whether used or not.
    assert!(small.peak_heap_bytes < 5 * buffer);
    assert!(right.peak_heap_bytes >= 16 * buffer && right.peak_heap_bytes < 17 * buffer);
    assert!(large.peak_heap_bytes >= 256 * buffer);
    assert!(naive.peak_heap_bytes <= 17 * buffer);
}

#[test]
fn channel_pool_variants_agree() {
    assert_same_checksums("channel-pool", &[1, 8, 100, 65_536], 100);
}

// 04-03 size-classes

#[test]
fn size_classes_stop_allocating_after_one_pass_and_waste_less_than_one_size() {
    let slot = counting::register_worker().expect("slot");
    let n = 3_000;
    let naive = run_default(&slot, "size-classes", "naive", n);
    let classes = run_default(&slot, "size-classes", "optimized", n);
    let one_size = run_default(&slot, "size-classes", "one-size", n);
    assert_eq!(naive.allocs_per_op(), 1.0);
    assert_eq!(classes.allocs_per_op(), 0.0);
    assert_eq!(one_size.allocs_per_op(), 0.0);
    for m in [&classes, &one_size] {
        assert_eq!(extra(m, "gets"), (m.warmup_ops + n) as f64);
    }
    // One-size makes exactly one 64 KiB buffer per request in flight and holds them all.
    assert_eq!(extra(&one_size, "misses"), 32.0);
    assert_eq!(extra(&one_size, "pooled_bytes"), f64::from(32 << 16));
    assert!(extra(&classes, "waste_per_get") * 10.0 < extra(&one_size, "waste_per_get"));
    assert!(naive.peak_heap_bytes < classes.peak_heap_bytes);
    assert!(classes.peak_heap_bytes * 2 < one_size.peak_heap_bytes);
}

#[test]
fn size_classes_variants_agree() {
    assert_same_checksums("size-classes", &[1, 3, 100, 5_000], 5_050);
}

// 04-04 streaming

#[test]
fn streaming_allocates_nothing_and_its_peak_does_not_grow_with_the_input() {
    let slot = counting::register_worker().expect("slot");
    let naive = run(&slot, "streaming", "naive", 1 << 20, 2);
    assert_eq!(
        naive.allocs_per_op(),
        2.0,
        "the input's Vec and the Vec of lines"
    );
    assert!(naive.reallocs_per_op() >= 10.0);
    assert!(
        naive.peak_heap_bytes >= 1 << 20,
        "the whole input is in memory"
    );
    let small = run(&slot, "streaming", "optimized", 1 << 20, 2);
    let large = run(&slot, "streaming", "optimized", 16 << 20, 1);
    let memchr = run(&slot, "streaming", "crate", 1 << 20, 2);
    assert_eq!(memchr.peak_heap_bytes, small.peak_heap_bytes);
    for m in [&small, &large, &memchr] {
        assert_eq!(m.allocs_per_op(), 0.0, "size {}", m.size);
        assert_eq!(m.reallocs, 0, "size {}", m.size);
    }
    // A 64 KiB chunk and a 16 KiB carry, plus a few words; the same for 16 times the input.
    assert_eq!(small.peak_heap_bytes, large.peak_heap_bytes);
    assert!(
        small.peak_heap_bytes < 81 << 10,
        "{}",
        small.peak_heap_bytes
    );
    assert!(
        small.peak_heap_bytes * 10 < naive.peak_heap_bytes * 6,
        "40% less"
    );
}

#[test]
fn streaming_variants_agree() {
    assert_same_checksums("streaming", &[1, 2, 41, 100, 70_000, 300_000], 2);
}

#[test]
fn streaming_runs_over_a_users_file() {
    use heaplab_experiments::streaming::{LogGenerator, Variant, summarize};
    use std::io::Write as _;

    let path = std::env::temp_dir().join(format!("heaplab-streaming-{}.log", std::process::id()));
    let mut log = Vec::new();
    std::io::copy(&mut LogGenerator::new(9, 200_000), &mut log).expect("generates");
    log.extend_from_slice(b"\n\xff\xfe binary \x00 tail without a newline");
    std::fs::File::create(&path)
        .and_then(|mut file| file.write_all(&log))
        .expect("writes the file");
    let open = || std::fs::File::open(&path).expect("opens the file");
    let naive = summarize(Variant::Naive, open()).expect("naive");
    let streamed = summarize(Variant::Optimized, open()).expect("streaming");
    let memchr = summarize(Variant::Memchr, open()).expect("streaming with memchr");
    std::fs::remove_file(&path).expect("removes the file");
    assert_eq!(naive, streamed);
    assert_eq!(naive, memchr);
    assert!(naive.records() > 4_000);
    assert!(naive.invalid >= 1, "the binary tail is an invalid line");
}

// 04-04 bounded-cache

fn counter(workload: &dyn heaplab_experiments::Workload, name: &str) -> f64 {
    let mut found = None;
    workload.extra_counters(&mut |n, v| {
        if n == name {
            found = Some(v);
        }
    });
    found.unwrap_or_else(|| panic!("no counter {name}"))
}

#[test]
fn bounded_caches_never_exceed_their_budget() {
    let experiment = find("bounded-cache").expect("exists");
    for budget in [1, 1_000, 64 << 10, 4 << 20] {
        for variant in ["optimized", "crate"] {
            let mut workload = setup(experiment, variant, budget).expect("sets up");
            let mut checksum = Checksum::new();
            for op in 0..30_000 {
                workload.run_op(&mut checksum);
                let cached = counter(&*workload, "cached_bytes");
                assert!(
                    cached <= budget as f64,
                    "{variant} {budget}: {cached} after {op}"
                );
            }
            let hit_rate = counter(&*workload, "hit_rate");
            if budget >= 64 << 10 {
                assert!(hit_rate > 0.2, "{variant} {budget}: hit rate {hit_rate}");
            }
        }
    }
}

/// The allocations of `variant` over `n` requests after the warm-up, with the misses and the
/// fresh buffers (the optimized LRU's count of misses that found no evicted buffer) among them.
fn steady_state_allocs(
    slot: &counting::WorkerSlot,
    variant: &str,
    budget: usize,
    n: u64,
) -> (f64, f64, f64) {
    let experiment = find("bounded-cache").expect("exists");
    let mut workload = setup(experiment, variant, budget).expect("sets up");
    let mut checksum = Checksum::new();
    for _ in 0..experiment.warmup_ops(budget) {
        workload.run_op(&mut checksum);
    }
    let fresh = |w: &dyn heaplab_experiments::Workload| {
        let mut found = 0.0;
        w.extra_counters(&mut |name, value| {
            if name == "fresh_buffers" {
                found = value;
            }
        });
        found
    };
    let (misses_before, fresh_before) = (counter(&*workload, "misses"), fresh(&*workload));
    let before = slot.counters();
    for _ in 0..n {
        workload.run_op(&mut checksum);
    }
    let allocs = slot.counters().since(&before).allocs as f64;
    (
        allocs,
        counter(&*workload, "misses") - misses_before,
        fresh(&*workload) - fresh_before,
    )
}

#[test]
fn bounded_cache_holds_a_fraction_of_the_unbounded_one_and_renders_into_evicted_buffers() {
    let slot = counting::register_worker().expect("slot");
    let budget = 4u64 << 20;
    let n = 20_000;
    // The unbounded map grows with every new key: after 220 000 requests (a fraction of a
    // second's worth) it holds several times the budget.
    let naive = run_default(&slot, "bounded-cache", "naive", 200_000);
    let lru = run_default(&slot, "bounded-cache", "optimized", n);
    let quick = run_default(&slot, "bounded-cache", "crate", n);
    for m in [&lru, &quick] {
        assert!(
            m.peak_heap_bytes < budget + budget / 4,
            "{}: {}",
            m.variant,
            m.peak_heap_bytes
        );
        assert!(
            m.peak_heap_bytes * 10 < naive.peak_heap_bytes * 6,
            "40% less"
        );
        assert!(extra(m, "cached_bytes") <= budget as f64);
    }
    assert!(extra(&naive, "cached_bytes") > 4.0 * budget as f64);
    // A miss of quick_cache renders a new value: one allocation per miss, a hit none.
    let (allocs, misses, _) = steady_state_allocs(&slot, "crate", budget as usize, n);
    assert!(
        misses > 0.2 * n as f64,
        "a bounded cache keeps missing: {misses}"
    );
    // Its table may still grow a step or two past the warm-up.
    assert!(
        (misses..=misses + 4.0).contains(&allocs),
        "crate: {allocs} allocations, {misses} misses"
    );
    // A miss of the optimized LRU renders into the buffer of an entry it evicted: it misses as
    // often, yet allocates only when no evicted buffer fits (at most 0.02 per request), each
    // such allocation a fresh buffer (the map and slab aside, which may grow a step or two).
    let (allocs, misses, fresh) = steady_state_allocs(&slot, "optimized", budget as usize, n);
    assert!(
        misses > 0.2 * n as f64,
        "a bounded cache keeps missing: {misses}"
    );
    assert!(
        allocs <= 0.02 * n as f64,
        "optimized: {allocs} allocations in {n} requests"
    );
    assert!(
        (fresh..=fresh + 4.0).contains(&allocs),
        "optimized: {allocs} allocations, {fresh} fresh buffers"
    );
    // measure() sees the same, up to a table growth or two: std's HashMap seeds its hasher at
    // random, and with deletions, when it rehashes depends on where its tombstones fall.
    let measured_allocs = lru.allocs_per_op() * n as f64;
    assert!(
        (measured_allocs - allocs).abs() <= 4.0,
        "measure() saw {measured_allocs} allocations, the manual run {allocs}"
    );
    // At least 90% fewer than the unbounded map, whose misses fade as it fills.
    assert!(
        lru.allocs_per_op() * 10.0 < naive.allocs_per_op(),
        "optimized {} against naive {} allocs/op",
        lru.allocs_per_op(),
        naive.allocs_per_op()
    );
}

#[test]
fn bounded_cache_variants_agree() {
    assert_same_checksums("bounded-cache", &[1, 3, 100, 20_000, 1 << 20], 20_010);
}

// 04-04 low-alloc-api

#[test]
fn low_alloc_api_writes_lines_without_allocating() {
    let slot = counting::register_worker().expect("slot");
    let n = 10_000; // every sample once
    let naive = run_default(&slot, "low-alloc-api", "naive", n);
    let optimized = run_default(&slot, "low-alloc-api", "optimized", n);
    assert_eq!(naive.allocs_per_op(), 57.0, "the count the why states");
    assert_eq!(optimized.allocs_per_op(), 0.0);
    assert_eq!(optimized.reallocs, 0);
    assert_eq!(optimized.bytes_allocated, 0);
    assert_eq!(naive.work, optimized.work, "the same lines");
}

#[test]
fn low_alloc_api_variants_agree() {
    assert_same_checksums("low-alloc-api", &[1, 2, 10, 100, 10_000], 120);
}

/// A "why" quotes a speed only with its spread: every sentence that says "N times faster"
/// (or "Nx slower") also says its 95% interval or the scorecard runs behind it, so no speed
/// claim reads as a single unrepeated sample.
#[test]
fn every_speed_claim_in_a_why_carries_its_interval() {
    for experiment in catalog() {
        let info = experiment.info();
        for sentence in info.why.split(". ") {
            let words: Vec<&str> = sentence.split_whitespace().collect();
            let claims_a_speed = words.windows(3).any(|w| {
                let number = w[0].trim_end_matches('x').parse::<f64>().is_ok()
                    && (w[0].ends_with('x') || w[1] == "times");
                let direction =
                    |word: &str| word.starts_with("faster") || word.starts_with("slower");
                number && (direction(w[1]) || direction(w[2]))
            });
            if claims_a_speed {
                assert!(
                    sentence.contains("interval") || sentence.contains("scorecard runs"),
                    "{}: a speed claim without its spread: {sentence}",
                    info.id
                );
            }
        }
    }
}

/// Throughput means the same work for every variant: an operation reports its work in the
/// experiment's unit (records, lookups, bytes every variant reads alike), so a variant that
/// moves fewer bytes for the same records does not look slower for it.
#[test]
fn every_variant_reports_the_same_work_for_the_same_operations() {
    for &experiment in catalog() {
        let info = experiment.info();
        let (min, max) = info.size_range;
        let size = (info.default_size / 64).clamp(min, max);
        let work_of = |variant: &str| {
            let mut workload = setup(experiment, variant, size).expect("sets up");
            let mut checksum = Checksum::new();
            (0..50).map(|_| workload.run_op(&mut checksum)).sum::<u64>()
        };
        let reference = work_of("naive");
        assert!(reference > 0, "{} reports no work", info.id);
        for variant in &info.variants[1..] {
            assert_eq!(
                work_of(variant.name),
                reference,
                "{} {}: {} per 50 operations",
                info.id,
                variant.name,
                info.work_unit.name()
            );
        }
    }
}
