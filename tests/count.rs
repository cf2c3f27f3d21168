//! `heaplab::count` and its assertion forms inside a test binary that installs the counting
//! allocator, as a user's test file would: exact counts for the calling thread only, while the
//! harness runs other tests (and other threads allocate) at the same time.

// Exact equality of counts is the point of these tests, floats included.
#![allow(clippy::float_cmp)]

use std::hint::black_box;

#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

#[test]
fn a_closure_is_counted_exactly() {
    let (counts, v) = heaplab::count(|| Vec::<u64>::with_capacity(100));
    assert_eq!(
        (counts.allocs, counts.reallocs, counts.deallocs),
        (1, 0, 0),
        "{counts}"
    );
    assert_eq!((counts.bytes_allocated, counts.peak_bytes), (800, 800));
    assert_eq!(counts.live_bytes(), 800, "the result is kept, not freed");
    drop(v);

    // Growth: one allocation, then reallocations; a temporary's bytes freed, its peak kept.
    let (counts, ()) = heaplab::count(|| {
        let mut v: Vec<u8> = Vec::with_capacity(1);
        for i in 0..100u8 {
            v.push(i);
        }
        black_box(&v);
        drop(black_box(vec![0u8; 4096]));
    });
    assert_eq!(counts.allocs, 2, "{counts}");
    assert!(counts.reallocs >= 5, "{counts}");
    assert_eq!(counts.deallocs, 2);
    assert_eq!(counts.live_bytes(), 0);
    assert!(counts.peak_bytes >= 4096, "{counts}");
}

#[test]
fn other_threads_do_not_count_here() {
    let (counts, handle) = heaplab::count(|| {
        std::thread::spawn(|| {
            let kept: Vec<Vec<u8>> = (0..1000).map(|_| vec![1; 64]).collect();
            kept.len()
        })
    });
    let spawned = handle.join().expect("the thread ends");
    assert_eq!(spawned, 1000);
    // Spawning allocates a little on this thread (the thread's handle); the thread's own
    // thousand vectors are counted on that thread, not here.
    assert!(counts.allocs < 20, "{counts}");
    assert!(counts.bytes_allocated < 64 * 1000, "{counts}");
}

#[test]
fn allocs_per_run_leaves_the_first_call_out() {
    let mut cache: Option<Vec<u8>> = None;
    let per_run = heaplab::allocs_per_run(50, || {
        cache.get_or_insert_with(|| vec![0; 1024])[0] += 1;
    });
    assert_eq!(per_run, 0.0);
    let per_run = heaplab::allocs_per_run(50, || {
        black_box(Box::new(1u8));
        black_box(String::from("two"));
    });
    assert_eq!(per_run, 2.0);
}

#[test]
fn assert_allocs_says_what_was_made() {
    let mut buf = String::with_capacity(64);
    let len = heaplab::assert_allocs(0, || {
        buf.clear();
        buf.push_str("no allocation here");
        buf.len()
    });
    assert_eq!(len, 18);
    let failed = std::panic::catch_unwind(|| {
        heaplab::assert_allocs(1, || {
            black_box(vec![1u8; 10]);
            black_box(vec![1u8; 20]);
        });
    })
    .expect_err("two allocations where one may be");
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.starts_with(
            "expected at most 1 allocation, made 2 allocs + 0 reallocs (30 B allocated"
        ),
        "{message}"
    );
}

#[test]
fn a_nested_count_is_refused_with_a_reason() {
    let (_, inner) = heaplab::count(|| heaplab::try_count(|| 1));
    let error = inner.expect_err("the thread already counts");
    assert!(
        error
            .to_string()
            .contains("already has an allocation counter slot"),
        "{error}"
    );
}
