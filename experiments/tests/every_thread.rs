//! Every thread counted (`counting::count_every_thread`): a thread's own slot with exact counts,
//! a finished thread's slot claimed again with a higher generation while the process's totals
//! stay exact, the shared bucket once every slot is taken, and a worker registering on a thread
//! that holds a slot it claimed.
//!
//! The switch is process-wide and one way, and the checks need to know which threads exist: the
//! file has a `main` of its own (`harness = false`), no libtest threads beside it, and runs its
//! checks one after the other. `every_thread_off.rs` checks the same allocator without it.

use std::alloc::System;
use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::{self, ScopedJoinHandle};

use heaplab_experiments::counting::{self, CountingAlloc, SlotId, ThreadCounters};

#[global_allocator]
static ALLOC: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: usize = 1 << 20;

fn main() {
    // `cargo test -- --list` and filters would meet a harness; there is one check here.
    if std::env::args().any(|a| a == "--list") {
        println!("every_thread_is_counted: test");
        return;
    }
    counting::count_every_thread();
    assert!(counting::counting_every_thread());
    assert!(
        counting::installed(),
        "installed() holds with every thread counted"
    );
    a_new_thread_counts_exactly_in_a_slot_of_its_own();
    a_finished_threads_slot_is_claimed_again_and_the_totals_stay_exact();
    a_worker_registers_on_a_thread_that_claimed_its_slot();
    unmeasured_code_counts_in_the_shared_bucket_and_claims_nothing();
    with_every_slot_taken_a_thread_counts_in_the_shared_bucket_until_one_is_free();
    println!("every_thread: 1 passed, 0 failed");
}

/// The calling thread's id as the kernel knows it.
fn gettid() -> u32 {
    rustix::thread::gettid()
        .as_raw_nonzero()
        .get()
        .unsigned_abs()
}

/// What `threads()` lists for the thread `tid`, if it has a slot. Allocates nothing: `out` has
/// room for every slot.
fn entry_of(tid: u32, out: &mut Vec<ThreadCounters>) -> Option<ThreadCounters> {
    assert!(out.capacity() >= counting::MAX_SLOTS);
    counting::threads(out);
    out.iter().copied().find(|t| t.tid == tid)
}

/// Ten boxes of 64 bytes, made and freed: exactly ten allocations of 640 bytes in all.
fn ten_boxes() -> [Box<[u8; 64]>; 10] {
    std::array::from_fn(|i| Box::new([i as u8; 64]))
}

fn a_new_thread_counts_exactly_in_a_slot_of_its_own() {
    let mut out = Vec::with_capacity(counting::MAX_SLOTS);
    let tid = AtomicU32::new(0);
    let made = Barrier::new(2);
    let read = Barrier::new(2);
    thread::scope(|scope| {
        let child = scope.spawn(|| {
            let boxes = black_box(ten_boxes());
            tid.store(gettid(), Ordering::Relaxed);
            made.wait();
            read.wait();
            drop(boxes);
        });
        made.wait();
        let entry = entry_of(tid.load(Ordering::Relaxed), &mut out);
        // Asserted once the thread may go on: a failure must not leave it waiting.
        read.wait();
        let entry = entry.expect("the new thread is listed by its tid");
        assert_ne!(entry.slot, SlotId::OTHER, "a slot of its own");
        assert!(entry.auto, "claimed by itself, not registered");
        let c = entry.counters;
        // Allocations only: a new thread's start frees a little of what the spawning thread
        // allocated for it (std's own), which counts as this thread's free.
        assert_eq!(
            (c.allocs, c.bytes_allocated, c.reallocs),
            (10, 640, 0),
            "exactly its ten boxes: {c:?}"
        );
        assert!(c.peak_live_bytes <= 640, "{c:?}");
        // Joined, not only finished (as the end of the scope waits for): its thread-local
        // destructors have run, the guard among them.
        child.join().expect("child");
    });
    let child = tid.load(Ordering::Relaxed);
    assert_eq!(
        entry_of(child, &mut out),
        None,
        "a finished thread's slot is free"
    );
    // The main thread claimed one too, at its first allocation after the switch.
    let main = entry_of(gettid(), &mut out).expect("the main thread has a slot");
    assert!(main.auto && main.slot != SlotId::OTHER);
    assert_eq!(out[0].slot, SlotId::OTHER, "the shared bucket comes first");
}

fn a_finished_threads_slot_is_claimed_again_and_the_totals_stay_exact() {
    let mut out = Vec::with_capacity(counting::MAX_SLOTS);
    let start = counting::process_live_bytes();
    let totals_start = counting::process_counters();

    // The first thread leaves a mebibyte behind: its slot's live bytes, after it ended.
    let (first, block) = thread::spawn(|| {
        let block = black_box(vec![7u8; MIB]);
        (counting::current_slot_id(), block)
    })
    .join()
    .expect("first thread");
    assert_ne!(first, SlotId::OTHER);
    assert_eq!(counting::process_live_bytes() - start, MIB as i64);

    // The next thread finds that slot the lowest free one (the main thread holds its own).
    let tid = AtomicU32::new(0);
    let claimed = Barrier::new(2);
    let read = Barrier::new(2);
    let second = thread::scope(|scope| {
        let child = scope.spawn(|| {
            let boxes = black_box(ten_boxes());
            tid.store(gettid(), Ordering::Relaxed);
            claimed.wait();
            read.wait();
            drop(boxes);
        });
        claimed.wait();
        let entry = entry_of(tid.load(Ordering::Relaxed), &mut out);
        read.wait();
        child.join().expect("second thread");
        entry.expect("listed")
    });
    assert_eq!(
        second.slot, first,
        "the finished thread's slot, claimed again"
    );
    assert!(
        second.generation >= 1,
        "claimed before: generation {}",
        second.generation
    );
    assert_eq!(
        (second.counters.allocs, second.counters.bytes_allocated),
        (10, 640),
        "the new owner's counts start from zero"
    );
    assert_eq!(
        counting::process_live_bytes() - start,
        MIB as i64,
        "the first thread's block still counts, its slot reused"
    );

    // A third claim of the same slot: the generation grows by one each time.
    let third = thread::spawn(|| {
        drop(black_box(Box::new(1u64)));
        let mut out = Vec::with_capacity(counting::MAX_SLOTS);
        entry_of(gettid(), &mut out)
    })
    .join()
    .expect("third thread")
    .expect("listed");
    assert_eq!(
        (third.slot, third.generation),
        (first, second.generation + 1)
    );

    drop(block);
    let totals = counting::process_counters();
    assert_eq!(
        counting::process_live_bytes(),
        start,
        "all freed: back to the start"
    );
    assert_eq!(totals.live_bytes(), start);
    assert!(
        totals.allocs >= totals_start.allocs + 22,
        "the threads' allocations are in the totals"
    );
}

fn a_worker_registers_on_a_thread_that_claimed_its_slot() {
    thread::spawn(|| {
        let mut out = Vec::with_capacity(counting::MAX_SLOTS);
        let me = gettid();
        drop(black_box(Box::new(1u64)));
        let auto = entry_of(me, &mut out).expect("claimed at its first allocation");
        assert!(auto.auto);

        let worker = counting::register_worker().expect("registers on its claimed slot");
        assert_eq!(worker.id(), auto.slot, "the same slot, now the worker's");
        assert_eq!(
            counting::register_worker().map(|_| ()),
            Err(counting::RegisterError::AlreadyRegistered),
            "a worker still registers once"
        );
        let registered = entry_of(me, &mut out).expect("listed as a worker");
        assert!(!registered.auto, "registered, not claimed");
        assert_eq!(registered.generation, auto.generation + 1, "a new owner");
        let before = worker.counters();
        assert_eq!(before.allocs, 0, "counted from zero");
        drop(black_box(ten_boxes()));
        let during = worker.counters().since(&before);
        assert_eq!(
            (during.allocs, during.bytes_allocated, during.deallocs),
            (10, 640, 10)
        );
        drop(worker);
        assert_eq!(
            entry_of(me, &mut out),
            None,
            "the worker's slot is handed back"
        );

        // Once the worker's guard dropped, the thread claims a slot by itself again.
        drop(black_box(Box::new(1u64)));
        let again = entry_of(me, &mut out).expect("claimed again");
        assert!(again.auto);
        assert_eq!(again.slot, auto.slot);
        assert_eq!(again.generation, auto.generation + 2);
    })
    .join()
    .expect("worker thread");
}

fn unmeasured_code_counts_in_the_shared_bucket_and_claims_nothing() {
    thread::spawn(|| {
        let inside = counting::unmeasured(|| {
            drop(black_box(Box::new(1u64)));
            counting::current_slot_id()
        });
        assert_eq!(inside, SlotId::OTHER, "no claim inside unmeasured");
        drop(black_box(Box::new(1u64)));
        assert_ne!(
            counting::current_slot_id(),
            SlotId::OTHER,
            "claimed after it"
        );
    })
    .join()
    .expect("thread");
}

fn with_every_slot_taken_a_thread_counts_in_the_shared_bucket_until_one_is_free() {
    let mut out = Vec::with_capacity(counting::MAX_SLOTS);
    counting::threads(&mut out);
    // Every slot but the shared bucket, less those held now (the main thread's).
    let free = counting::MAX_SLOTS - out.len();
    let herd_claimed = Barrier::new(free + 1);
    let herd_leave = Barrier::new(free + 1);
    let late_counted = Barrier::new(2);
    let late_retry = Barrier::new(2);
    thread::scope(|scope| {
        let mut herd = Vec::with_capacity(free);
        for _ in 0..free {
            herd.push(
                thread::Builder::new()
                    .stack_size(64 << 10)
                    .spawn_scoped(scope, || {
                        drop(black_box(Box::new(1u64)));
                        let own = counting::current_slot_id() != SlotId::OTHER;
                        herd_claimed.wait();
                        herd_leave.wait();
                        own
                    })
                    .expect("a thread of the herd"),
            );
        }
        herd_claimed.wait();
        counting::threads(&mut out);
        let listed = out.len();

        let late = scope.spawn(|| {
            let other = counting::snapshot(SlotId::OTHER);
            let boxes = black_box(ten_boxes());
            let slot = counting::current_slot_id();
            let shared = counting::snapshot(SlotId::OTHER).since(&other);
            late_counted.wait();
            late_retry.wait();
            drop(boxes);
            // A slot was handed back since: this thread claims it at this free.
            (slot, shared, counting::current_slot_id())
        });
        late_counted.wait();
        herd_leave.wait();
        let herd_owned = herd
            .into_iter()
            .map(ScopedJoinHandle::join)
            .filter(|own| matches!(own, Ok(true)))
            .count();
        late_retry.wait();
        assert_eq!(herd_owned, free, "each of the herd claimed a slot");
        let (slot, shared, after) = late.join().expect("late thread");
        assert_eq!(listed, counting::MAX_SLOTS, "every slot was taken");
        assert_eq!(slot, SlotId::OTHER, "no free slot: the shared bucket");
        assert_eq!(
            (shared.allocs, shared.bytes_allocated),
            (10, 640),
            "its boxes counted in the shared bucket, exactly"
        );
        assert_ne!(after, SlotId::OTHER, "a slot once one was free again");
    });
}
