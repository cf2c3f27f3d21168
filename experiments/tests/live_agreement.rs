//! Live sampling agrees with an exhaustive capture (issue 27's done-when): the chapter's
//! string-processing naive variant (several sites) runs one pass over its records under an
//! exhaustive [`Capture`], then `PASSES` passes with live sampling on at a mean gap of
//! [`EVERY`] bytes; both become allocations per operation per line with the same
//! `sites::symbolize`, and every line with at least 5% of the allocations agrees within four
//! standard errors of the sampled estimate.
//!
//! The error, derived (docs/methodology.md, "Live sampled sites"): an allocation of `s` bytes
//! is sampled with probability `p = 1 - exp(-s / EVERY)` and then stands for `w = 1 / p`
//! allocations, so a site's estimated count over `A` allocations has variance
//! `sum (w_i - 1)`, about `A (w - 1)` with `w` taken at the site's mean size (from the exhaustive
//! capture): a relative standard error of `sqrt((w - 1) / A)`, about `1 / sqrt(expected samples)`.
//! Sizes spread around the mean make the true error somewhat larger (the mean of `1 / s` is at
//! least `1 / mean`), which the four standard errors leave room for.
//!
//! Live sampling is process-wide and one way: the file has a `main` of its own
//! (`harness = false`) and no other thread.

use std::alloc::System;

use heaplab_experiments::counting::{self, CountingAlloc};
use heaplab_experiments::sites::{self, Capture, LiveSites, Scope, Sites};
use heaplab_experiments::{Checksum, find, setup};

#[global_allocator]
static ALLOC: CountingAlloc<System> = CountingAlloc::new(System);

/// The sampler's mean gap in bytes for this check: small, for many samples in a short run.
const EVERY: u64 = 1024;
/// Records in the corpus: one pass is `SIZE` operations, each record once.
const SIZE: usize = 2000;
/// Passes over the corpus with live sampling on.
const PASSES: u64 = 25;
/// How many standard errors a line may be off.
const SIGMAS: f64 = 4.0;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("live_agrees_with_an_exhaustive_capture: test");
        return;
    }
    let experiment = find("string-processing").expect("the chapter's experiment");
    let scope = Scope {
        own_files: &[experiment.info().source_file],
        ..Scope::default()
    };
    let slot = counting::register_worker().expect("a slot");
    let mut work = setup(experiment, "naive", SIZE).expect("naive");
    let mut checksum = Checksum::default();
    let mut run = |ops: u64| {
        for _ in 0..ops {
            work.run_op(&mut checksum);
        }
    };
    // A warm-up pass, then one pass captured exhaustively: its figures per operation are
    // those of any whole number of passes.
    run(SIZE as u64);
    let capture = Capture::begin(&slot).expect("no other capture");
    run(SIZE as u64);
    let exhaustive = sites::symbolize(&capture.end(SIZE as u64), &scope);
    assert!(sites::start_live_sampling(EVERY));
    let ops = PASSES * SIZE as u64;
    run(ops);
    let sampled = counting::unmeasured(|| {
        let mut live = LiveSites::default();
        sites::live_snapshot(&mut live);
        assert_eq!(live.unrecorded, 0);
        sites::symbolize(&live.to_raw_sites(ops), &scope)
    });
    let checked = agree(&exhaustive, &sampled, ops);
    assert!(checked >= 3, "several sites checked: {checked}");
    println!("live_agreement: 1 passed, 0 failed");
}

/// Asserts that every line of `exhaustive` with at least 5% of its allocations has the same
/// allocations per operation in `sampled` within [`SIGMAS`] standard errors; how many it checked.
fn agree(exhaustive: &Sites, sampled: &Sites, ops: u64) -> usize {
    let mut checked = 0;
    for site in &exhaustive.sites {
        if site.allocs_per_op < 0.05 * exhaustive.allocs_per_op {
            continue;
        }
        let allocs = site.allocs_per_op * ops as f64;
        let mean_size = site.bytes_per_op / (site.allocs_per_op + site.reallocs_per_op);
        let weight = 1.0 / -(-mean_size.max(1.0) / EVERY as f64).exp_m1();
        let error = (allocs * (weight - 1.0)).sqrt() / ops as f64;
        let found = sampled
            .sites
            .iter()
            .find(|s| s.file == site.file && s.line == site.line)
            .map_or(0.0, |s| s.allocs_per_op);
        let off = (found - site.allocs_per_op).abs();
        println!(
            "{}: exhaustive {:.4} allocs/op, sampled {found:.4} (off {:.1} standard errors of \
             {error:.4})",
            site.location(),
            site.allocs_per_op,
            off / error
        );
        assert!(
            off <= SIGMAS * error,
            "{}: sampled {found} allocs/op against {} exhaustive, more than {SIGMAS} standard \
             errors ({error}) off",
            site.location(),
            site.allocs_per_op
        );
        checked += 1;
    }
    checked
}
