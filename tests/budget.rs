//! Memory budgets: the showcase (naive bounded-cache under 64 MiB) stops cleanly and hands its
//! memory back. Alone in its test binary so that no other test's allocations blur the process
//! heap it checks. It waits for the samples it needs, bounded only by [`HANG_GUARD`].

mod binary;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use std::sync::Arc;

use binary::HANG_GUARD;
use heaplab::runner::{Command, Launcher, Phase, RunConfig, Runner, RunnerEvent};

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

#[test]
fn the_naive_cache_under_64_mib_stops_and_returns_its_memory() {
    let experiment = heaplab_experiments::find("bounded-cache").expect("experiment");
    let budget = 64 << 20;
    // The worker process's heap when it first speaks, before the cache has grown.
    let mut heap_before = None;
    let (tx, rx) = mpsc::sync_channel(256);
    let config = RunConfig {
        experiment,
        variant: 0,
        size: experiment.info().default_size,
        sample_every: Duration::from_millis(20),
        budget: Some(budget),
        input: None,
        launcher: Arc::new(Launcher::new(env!("CARGO_BIN_EXE_heaplab"))),
    };
    let mut runner = Runner::start(config, tx).expect("starts");
    let deadline = Instant::now() + HANG_GUARD;
    let (live_bytes, heap_after) = loop {
        assert!(Instant::now() < deadline, "never went over budget");
        match rx.recv_timeout(HANG_GUARD) {
            Ok(RunnerEvent::Sample(s)) => {
                heap_before.get_or_insert(s.process_heap_bytes);
                if let Phase::OverBudget { live_bytes, .. } = s.phase {
                    assert!(
                        s.live_heap_bytes < 64 << 10,
                        "the cache kept {}",
                        s.live_heap_bytes
                    );
                    break (live_bytes, s.process_heap_bytes);
                }
                assert!(
                    s.peak_heap_bytes < 4 * budget,
                    "ran far past the budget unchecked"
                );
            }
            Ok(RunnerEvent::WorkerExited { error, .. }) => panic!("worker exited: {error:?}"),
            Ok(
                RunnerEvent::WorkerReady { .. }
                | RunnerEvent::Counters { .. }
                | RunnerEvent::Sites { .. },
            ) => {}
            Err(e) => panic!("no sample: {e}"),
        }
    };
    assert!(
        live_bytes > budget,
        "stopped at {live_bytes}, under the budget"
    );
    // The stop is between operations, or at the allocation that crossed: one operation (or
    // one table growth) past the budget, not more.
    assert!(
        live_bytes < budget + (32 << 20),
        "stopped late, at {live_bytes}"
    );
    // Its memory is back: the worker's heap is no more than 5% above where it was when the
    // worker first spoke (that first sample may already include part of the setup, so the heap
    // may end lower).
    let heap_before = heap_before.expect("a sample before the stop");
    let allowed = heap_before / 20 + (64 << 10);
    assert!(
        heap_after <= heap_before + allowed,
        "process heap {heap_after} after, {heap_before} before"
    );
    // It waits for a command, and a larger budget starts it again.
    assert!(runner.send(Command::SetBudget(Some(budget * 2))));
    let restarted = loop {
        match rx.recv_timeout(HANG_GUARD) {
            Ok(RunnerEvent::Sample(s)) if s.phase == Phase::Running && s.ops > 0 => break s,
            Ok(RunnerEvent::WorkerExited { error, .. }) => panic!("worker exited: {error:?}"),
            Ok(_) => {}
            Err(e) => panic!("did not restart: {e}"),
        }
    };
    assert_eq!(restarted.budget_bytes, Some(budget * 2));
    runner.stop();
}
