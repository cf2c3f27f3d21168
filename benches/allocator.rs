//! What counting costs: one alloc+free pair of 64 bytes through plain `System`, through
//! `Cap<System>`, through heaplab's counting allocator (over `Cap<System>`, as installed, and over
//! `System`, to isolate the slots), and through the design heaplab avoids, a single set of
//! shared atomic counters; first on one thread, then with two threads allocating at once.
//!
//! Run with `cargo bench --bench allocator`. Each allocator is a static instance called
//! directly, so the bench binary's own global allocator does not matter.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use cap::Cap;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use heaplab_experiments::counting::{self, CountingAlloc, SharedCounter};

static SYSTEM: System = System;
static CAP: Cap<System> = Cap::new(System, usize::MAX);
static HEAPLAB: CountingAlloc<Cap<System>> = CountingAlloc::new(Cap::new(System, usize::MAX));
static COUNTING_SYSTEM: CountingAlloc<System> = CountingAlloc::new(System);
static SHARED: SharedCounter<System> = SharedCounter::new(System);
static SHARED_CAP: SharedCounter<Cap<System>> = SharedCounter::new(Cap::new(System, usize::MAX));

const LAYOUT: Layout = match Layout::from_size_align(64, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("64-byte layout"),
};

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

/// `threads` threads, each registered for its own slot, each doing `iters` pairs at once; the
/// time is the wall time of the slowest, per pair per thread.
fn on_threads(
    allocator: &'static (dyn GlobalAlloc + Sync),
    threads: usize,
    iters: u64,
) -> Duration {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let _slot = counting::register_worker().expect("a counter slot");
                    barrier.wait();
                    let start = Instant::now();
                    pairs(allocator, iters);
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

fn allocators() -> [(&'static str, &'static (dyn GlobalAlloc + Sync)); 6] {
    [
        ("system", &SYSTEM),
        ("cap-system", &CAP),
        ("heaplab-counting-cap", &HEAPLAB),
        ("heaplab-counting-system", &COUNTING_SYSTEM),
        ("shared-atomics-system", &SHARED),
        ("shared-atomics-cap", &SHARED_CAP),
    ]
}

fn alloc_free_pair(c: &mut Criterion) {
    for threads in [1usize, 2] {
        let mut group = c.benchmark_group(format!("alloc-free-64B/{threads}-thread"));
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        for (name, allocator) in allocators() {
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter_custom(|iters| on_threads(allocator, threads, iters));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, alloc_free_pair);
criterion_main!(benches);
