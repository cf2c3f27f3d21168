//! Without `counting::count_every_thread`: a thread that does not register counts in the shared
//! bucket as it always did, and `threads()` lists the shared bucket and the registered workers
//! only, each worker with its kernel thread id and a generation that grows at every claim.
//!
//! A `main` of its own (`harness = false`), as `every_thread.rs`: the checks need to know which
//! threads hold slots.

use std::alloc::System;
use std::hint::black_box;
use std::thread;

use heaplab_experiments::counting::{self, CountingAlloc, SlotId, ThreadCounters};

#[global_allocator]
static ALLOC: CountingAlloc<System> = CountingAlloc::new(System);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("without_the_switch_only_workers_have_slots: test");
        return;
    }
    a_thread_that_does_not_register_counts_in_the_shared_bucket();
    a_registered_worker_is_listed_with_its_tid_and_generation();
    println!("every_thread_off: 1 passed, 0 failed");
}

fn gettid() -> u32 {
    rustix::thread::gettid()
        .as_raw_nonzero()
        .get()
        .unsigned_abs()
}

fn listed() -> Vec<ThreadCounters> {
    let mut out = Vec::with_capacity(counting::MAX_SLOTS);
    counting::threads(&mut out);
    out
}

fn a_thread_that_does_not_register_counts_in_the_shared_bucket() {
    assert!(!counting::counting_every_thread());
    let (slot, shared) = thread::spawn(|| {
        let before = counting::snapshot(SlotId::OTHER);
        let boxes: [Box<u64>; 10] = std::array::from_fn(|i| Box::new(i as u64));
        let shared = counting::snapshot(SlotId::OTHER).since(&before);
        drop(black_box(boxes));
        (counting::current_slot_id(), shared)
    })
    .join()
    .expect("thread");
    assert_eq!(slot, SlotId::OTHER, "no slot without the switch");
    assert_eq!((shared.allocs, shared.bytes_allocated), (10, 80));
    let all = listed();
    assert_eq!(all.len(), 1, "only the shared bucket: {all:?}");
    assert_eq!(
        (all[0].slot, all[0].tid, all[0].auto),
        (SlotId::OTHER, 0, false)
    );
}

fn a_registered_worker_is_listed_with_its_tid_and_generation() {
    let first = thread::spawn(|| {
        let _slot = counting::register_worker().expect("a slot");
        listed()
            .into_iter()
            .find(|t| t.tid == gettid())
            .expect("the worker, by its tid")
    })
    .join()
    .expect("first worker");
    let second = thread::spawn(|| {
        let slot = counting::register_worker().expect("a slot");
        let me = listed()
            .into_iter()
            .find(|t| t.tid == gettid())
            .expect("the worker, by its tid");
        drop(slot);
        assert!(
            listed().iter().all(|t| t.tid != gettid()),
            "unlisted once its guard dropped"
        );
        me
    })
    .join()
    .expect("second worker");
    assert_ne!(first.slot, SlotId::OTHER);
    assert!(!first.auto && !second.auto, "registered, not claimed");
    assert_eq!(second.slot, first.slot, "the free slot, claimed again");
    assert_eq!(second.generation, first.generation + 1, "a new generation");
    assert_eq!(listed().len(), 1, "both gone: the shared bucket alone");
}
