//! Allocation sites, captured in this very process: each names the line that allocated, with
//! exact counts per operation, and capturing costs the experiment's figures nothing.

// Exact counts are the point, floats included.
#![allow(clippy::float_cmp)]

use std::hint::black_box;

use heaplab_experiments::counting::{self, CountingAlloc};
use heaplab_experiments::sites::{self, Capture};

#[global_allocator]
static ALLOC: CountingAlloc<std::alloc::System> = CountingAlloc::system();

/// One operation: a box (line `BOX`), a string (line `STRING`), and a vector that grows once
/// (allocated at `VEC`, reallocated at `GROW`).
#[inline(never)]
fn op(keep: &mut Vec<String>) -> [u32; 4] {
    let (boxed, at_box) = (black_box(Box::new(7u64)), line!());
    let (text, at_string) = (black_box(String::from("seven")), line!());
    let (mut v, at_vec): (Vec<u64>, _) = (black_box(Vec::with_capacity(1)), line!());
    v.push(1);
    let ((), at_grow) = (v.push(2), line!());
    keep.push(text);
    keep.clear();
    black_box((boxed, v));
    [at_box, at_string, at_vec, at_grow]
}

/// A capture, once the other test's has ended (one thread of a process captures at a time).
fn begin(slot: &counting::WorkerSlot) -> Capture<'_> {
    loop {
        if let Ok(capture) = Capture::begin(slot) {
            return capture;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn each_site_is_the_line_that_allocated_with_exact_counts_per_operation() {
    let slot = counting::register_worker().expect("a slot");
    let mut keep = Vec::with_capacity(4);
    let lines = op(&mut keep);
    let capture = begin(&slot);
    for _ in 0..10 {
        op(&mut keep);
    }
    let raw = capture.end(10);
    assert_eq!(raw.allocs, 30, "{raw:?}");
    assert_eq!(raw.reallocs, 10, "{raw:?}");
    assert_eq!(raw.unrecorded, 0);
    let captured: u64 = raw.stacks.iter().map(|s| s.allocs).sum();
    assert_eq!(captured, raw.allocs, "every allocation has its stack");

    let found = sites::symbolize(
        &raw,
        &sites::Scope {
            own_files: &[file!()],
            ..sites::Scope::default()
        },
    );
    let at = |line: u32| {
        found
            .in_file(file!())
            .find(|site| site.line == line)
            .unwrap_or_else(|| panic!("no site at line {line}: {found:#?}"))
    };
    let [at_box, at_string, at_vec, at_grow] = lines;
    assert_eq!(at(at_box).allocs_per_op, 1.0);
    assert_eq!(at(at_box).bytes_per_op, 8.0);
    assert_eq!(at(at_string).allocs_per_op, 1.0);
    assert_eq!(at(at_vec).allocs_per_op, 1.0);
    assert_eq!(at(at_grow).reallocs_per_op, 1.0);
    assert_eq!(at(at_grow).allocs_per_op, 0.0);
    assert!(
        at(at_box).function.ends_with("sites::op"),
        "{:?}",
        at(at_box)
    );
    let total: f64 = found.sites.iter().map(|s| s.allocs_per_op).sum();
    assert_eq!(total, found.allocs_per_op);
    assert_eq!(found.allocs_per_op, 3.0);
    // The file is given relative to the workspace, as `file!()` spells it; the absolute
    // path is kept beside it.
    assert_eq!(at(at_box).file, file!());
    assert!(
        at(at_box).absolute_file.ends_with(&format!("/{}", file!())),
        "{:?}",
        at(at_box)
    );
    // The whole stack, innermost first: the allocator and std folded, then the op.
    let stack = &at(at_box).stack;
    let first_own = stack.iter().position(|f| !f.folded).expect("an own frame");
    assert!(first_own > 0, "the allocator and std, folded: {stack:?}");
    assert!(stack[first_own].function.contains("sites::op"), "{stack:?}");
}

#[test]
fn a_capture_leaves_the_counters_as_they_would_be_without_it() {
    let slot = counting::register_worker().expect("a slot");
    let mut keep = Vec::with_capacity(4);
    op(&mut keep);
    let before = slot.counters();
    for _ in 0..10 {
        op(&mut keep);
    }
    let plain = slot.counters().since(&before);

    let capture = begin(&slot);
    let before = slot.counters();
    for _ in 0..10 {
        op(&mut keep);
    }
    let captured = slot.counters().since(&before);
    let live_before_end = slot.counters().live_bytes();
    let raw = capture.end(10);
    assert_eq!(
        captured, plain,
        "the unwinder's own work is not the thread's"
    );
    assert_eq!(
        slot.counters().live_bytes(),
        live_before_end,
        "copying the table out is not in the thread's heap"
    );
    drop(counting::unmeasured(|| raw));
}
