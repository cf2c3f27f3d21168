//! The process's live heap, summed from every slot, and the fuse built on it.
//!
//! Both are process-wide, so nothing else may allocate beside them: the file has a `main` of
//! its own (`harness = false`). Under libtest its harness thread sometimes booked the running
//! test (144 bytes) between two readings of the process's heap, on a slow machine (one core
//! shared with a busy loop), and the exact count was off by that much.

use std::alloc::System;
use std::hint::black_box;
use std::thread;

use heaplab_experiments::counting::{self, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: usize = 1 << 20;

fn main() {
    // `cargo test -- --list` and filters would meet a harness; there is one check here.
    if std::env::args().any(|a| a == "--list") {
        println!("the_process_heap_is_exact_and_the_fuse_holds: test");
        return;
    }
    the_process_heap_follows_memory_across_threads_and_slots();
    the_fuse_refuses_what_would_pass_it();
    println!("process_heap: 1 passed, 0 failed");
}

fn the_process_heap_follows_memory_across_threads_and_slots() {
    let start = counting::process_live_bytes();

    // A worker allocates and hands its memory over before its slot is given up; a second
    // worker then takes a slot (the same one, as the first is free again).
    let block = thread::spawn(|| {
        let _slot = counting::register_worker().expect("a slot");
        black_box(vec![7u8; MIB])
    })
    .join()
    .expect("worker");
    let with_block = counting::process_live_bytes();
    let reused = thread::spawn(|| {
        let slot = counting::register_worker().expect("a slot");
        // The new owner starts from zero, yet the process still counts the first one's block.
        (slot.counters(), counting::process_live_bytes())
    })
    .join()
    .expect("second worker");

    // An unregistered thread (the shared bucket) allocates too.
    let shared = thread::spawn(|| black_box(vec![1u8; 3 * MIB]))
        .join()
        .expect("unregistered thread");
    let with_both = counting::process_live_bytes();
    drop(block);
    let after_first_free = counting::process_live_bytes();
    drop(shared);
    let end = counting::process_live_bytes();

    assert_eq!(with_block - start, MIB as i64, "the worker's block counts");
    assert_eq!(reused.0.allocs, 0, "a new owner's counters start from zero");
    assert!(
        reused.1 >= with_block,
        "re-registering a slot does not drop the old owner's live bytes: {} < {with_block}",
        reused.1
    );
    assert_eq!(
        with_both - with_block,
        3 * MIB as i64,
        "the shared bucket counts"
    );
    assert_eq!(
        with_both - after_first_free,
        MIB as i64,
        "a free on another thread"
    );
    assert_eq!(end, start, "everything freed: back to where it began");
}

fn the_fuse_refuses_what_would_pass_it() {
    assert_eq!(counting::fuse(), u64::MAX, "no fuse until one is set");
    let live = counting::process_live_bytes() as u64;
    assert_eq!(
        counting::set_fuse(live / 2),
        Err(live),
        "a fuse below the live heap is refused with the live heap"
    );

    let limit = live + 8 * MIB as u64;
    counting::set_fuse(limit).expect("a fuse above the live heap");

    // One request larger than the headroom fails cleanly, as does growing past it.
    let mut big: Vec<u8> = Vec::new();
    assert!(big.try_reserve_exact(16 * MIB).is_err());
    let mut grown = vec![5u8; 4 * MIB];
    assert!(grown.try_reserve_exact(8 * MIB).is_err());
    assert!(
        grown.iter().all(|&b| b == 5),
        "a refused realloc keeps the block"
    );

    // Small requests are admitted up to the limit and no further.
    let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(128);
    let refused_at = loop {
        let mut block = Vec::new();
        if block.try_reserve_exact(64 << 10).is_err() {
            break counting::process_live_bytes() as u64;
        }
        blocks.push(block);
        assert!(
            blocks.len() < 128,
            "4 MiB of headroom admitted 8 MiB of blocks"
        );
    };
    assert!(
        refused_at <= limit,
        "the fuse let the heap pass it: {refused_at} > {limit}"
    );
    assert!(
        refused_at + (64 << 10) > limit,
        "refused with room left: {refused_at} + 64 KiB <= {limit}"
    );

    drop((blocks, grown));
    counting::set_fuse(u64::MAX).expect("lifting the fuse");
    assert_eq!(counting::fuse(), u64::MAX);
    let mut big: Vec<u8> = Vec::new();
    assert!(big.try_reserve_exact(16 * MIB).is_ok(), "lifted");
}
