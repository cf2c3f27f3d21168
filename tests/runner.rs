//! The live runner, driven like the dashboard drives it: commands in, samples out. The heaplab
//! library installs the counting allocator, so these figures are the real ones.

// Exact equality of counts is the point of these tests, floats included.
#![allow(clippy::float_cmp)]

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use heaplab::runner::{Command, Phase, RunConfig, Runner, RunnerEvent, Sample};

fn start(id: &str, variant: usize, size: usize) -> (Runner, Receiver<RunnerEvent>) {
    let experiment = heaplab_experiments::find(id).expect("experiment");
    let (tx, rx) = mpsc::sync_channel(256);
    let config = RunConfig {
        experiment,
        variant,
        size,
        sample_every: Duration::from_millis(20),
        budget: None,
        input: None,
    };
    (Runner::start(config, tx).expect("runner starts"), rx)
}

/// The first sample that satisfies `pred`, within ten seconds.
fn wait_for(rx: &Receiver<RunnerEvent>, what: &str, pred: impl Fn(&Sample) -> bool) -> Sample {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(RunnerEvent::Sample(s)) if pred(&s) => return s,
            Ok(RunnerEvent::WorkerExited { error, .. }) => panic!("worker exited: {error:?}"),
            Ok(_) | Err(_) => {}
        }
    }
    panic!("no sample where {what} within 10 s");
}

#[test]
fn samples_are_exact_per_variant_and_follow_commands() {
    let (runner, rx) = start("buffer-reuse", 1, 1024);
    let s = wait_for(&rx, "optimized has run", |s| {
        s.phase == Phase::Running && s.ops > 1000
    });
    assert_eq!(s.variant, "optimized");
    assert_eq!(s.allocs, 0, "optimized allocates nothing after warm-up");
    assert_eq!(s.bytes_processed, s.ops * 1024);
    assert!(s.process_heap_bytes > 0 && s.process_rss_bytes > 0);
    assert!(
        s.peak_heap_bytes >= 3 * 1024,
        "input and output buffers are held"
    );

    assert!(runner.send(Command::SwitchVariant(0)));
    let s = wait_for(&rx, "naive has run", |s| {
        s.variant == "naive" && s.ops > 1000
    });
    assert!(s.epoch > 1);
    // Counters are taken at batch boundaries, with the op count: the ratio is exact.
    assert_eq!(s.allocs, s.ops, "naive makes exactly one allocation per op");
    assert_eq!(s.deallocs, s.ops);
    assert_eq!(s.bytes_allocated, s.ops * 2048);
    assert_eq!(s.allocs_per_op(), 1.0);

    assert!(runner.send(Command::Pause));
    let paused = wait_for(&rx, "paused", |s| s.phase == Phase::Paused);
    let later = wait_for(&rx, "still paused", |s| {
        s.phase == Phase::Paused && s.elapsed > paused.elapsed + Duration::from_millis(100)
    });
    assert_eq!(later.ops, paused.ops, "no operations while paused");
    assert!(runner.send(Command::Resume));
    wait_for(&rx, "resumed", |s| {
        s.phase == Phase::Running && s.ops > paused.ops
    });

    assert!(runner.send(Command::SetSize(4096)));
    let s = wait_for(&rx, "resized", |s| s.size == 4096 && s.ops > 100);
    assert_eq!(s.bytes_allocated, s.ops * 8192);

    runner.stop();
    let exited = rx.try_iter().find_map(|e| match e {
        RunnerEvent::WorkerExited { error, .. } => Some(error),
        RunnerEvent::Sample(_) => None,
    });
    assert_eq!(exited, Some(None), "the worker ends cleanly on Stop");
}

#[test]
fn other_threads_allocations_never_reach_the_workers_figures() {
    let (runner, rx) = start("string-processing", 1, 10_000);
    wait_for(&rx, "running", |s| s.phase == Phase::Running && s.ops > 0);
    // This thread plays the UI: it allocates hard while the worker runs.
    let mut junk = Vec::new();
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        junk.push(vec![0u8; 256]);
        if junk.len() > 10_000 {
            junk.clear();
        }
    }
    let s = wait_for(&rx, "ran for a while", |s| s.ops > 10_000);
    assert_eq!(
        s.allocs, 0,
        "the worker's slot saw another thread's allocations"
    );
    runner.stop();
}

#[test]
fn bad_sizes_and_variants_are_refused_before_a_thread_starts() {
    let experiment = heaplab_experiments::find("buffer-reuse").expect("experiment");
    let (tx, _rx) = mpsc::sync_channel::<RunnerEvent>(4);
    for (variant, size) in [(7, 10), (0, 0)] {
        let config = RunConfig {
            experiment,
            variant,
            size,
            sample_every: Duration::from_millis(100),
            budget: None,
            input: None,
        };
        assert!(Runner::start(config, tx.clone()).is_err());
    }
}
