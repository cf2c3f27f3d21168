//! The live runner, driven like the dashboard drives it: commands in, samples out. The heaplab
//! library installs the counting allocator, so these figures are the real ones. Each test
//! waits for the samples it needs, bounded only by [`HANG_GUARD`].

// Exact equality of counts is the point of these tests, floats included.
#![allow(clippy::float_cmp)]

mod binary;

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use std::sync::Arc;

use binary::HANG_GUARD;

use heaplab::runner::{Command, Launcher, Phase, RunConfig, Runner, RunnerEvent, Sample};

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

fn launcher() -> Arc<Launcher> {
    Arc::new(Launcher::new(env!("CARGO_BIN_EXE_heaplab")))
}

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
        launcher: launcher(),
    };
    (Runner::start(config, tx).expect("runner starts"), rx)
}

/// The first sample that satisfies `pred` (failing, past [`HANG_GUARD`], with `what`).
fn wait_for(rx: &Receiver<RunnerEvent>, what: &str, pred: impl Fn(&Sample) -> bool) -> Sample {
    let deadline = Instant::now() + HANG_GUARD;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(RunnerEvent::Sample(s)) if pred(&s) => return s,
            Ok(RunnerEvent::WorkerExited { error, .. }) => panic!("worker exited: {error:?}"),
            Ok(_) | Err(_) => {}
        }
    }
    panic!("no sample where {what} in {} s", HANG_GUARD.as_secs());
}

#[test]
fn samples_are_exact_per_variant_and_follow_commands() {
    let (mut runner, rx) = start("buffer-reuse", 1, 1024);
    let s = wait_for(&rx, "optimized has run", |s| {
        s.phase == Phase::Running && s.ops > 1000
    });
    assert_eq!(s.variant, "optimized");
    assert_eq!(s.allocs, 0, "optimized allocates nothing after warm-up");
    assert_eq!(s.work, s.ops * 1024);
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
    let exited = rx
        .try_iter()
        .any(|e| matches!(e, RunnerEvent::WorkerExited { .. }));
    assert!(
        !exited,
        "a worker we stop is not reported as ending by itself"
    );
}

#[test]
fn a_pause_never_reaches_the_figures_of_a_zero_allocation_variant() {
    let (mut runner, rx) = start("buffer-reuse", 1, 1024);
    wait_for(&rx, "running", |s| {
        s.phase == Phase::Running && s.ops > 1000
    });
    for _ in 0..3 {
        assert!(runner.send(Command::Pause));
        let paused = wait_for(&rx, "paused", |s| s.phase == Phase::Paused);
        wait_for(&rx, "still paused", |s| {
            s.phase == Phase::Paused && s.elapsed > paused.elapsed + Duration::from_millis(60)
        });
        assert!(runner.send(Command::Resume));
        wait_for(&rx, "resumed", |s| {
            s.phase == Phase::Running && s.ops > paused.ops
        });
    }
    let s = wait_for(&rx, "ran on", |s| s.ops > 5000);
    assert_eq!(
        s.allocs, 0,
        "waiting out a pause allocated into the figures"
    );
    assert_eq!(s.epoch, 1, "pausing keeps the worker");
    runner.stop();
}

#[test]
fn every_switch_is_a_new_worker_process_that_says_when_it_is_ready() {
    let (mut runner, rx) = start("buffer-reuse", 0, 64);
    wait_for(&rx, "running", |s| s.phase == Phase::Running);
    assert!(runner.send(Command::SwitchVariant(1)));
    let deadline = Instant::now() + HANG_GUARD;
    let ready = loop {
        assert!(Instant::now() < deadline, "no WorkerReady for epoch 2");
        if let Ok(RunnerEvent::WorkerReady { epoch: 2, after }) =
            rx.recv_timeout(Duration::from_secs(1))
        {
            break after;
        }
    };
    assert!(ready > Duration::ZERO);
    let s = wait_for(&rx, "optimized runs", |s| {
        s.epoch == 2 && s.phase == Phase::Running && s.ops > 0
    });
    assert_eq!(s.variant, "optimized");
    runner.stop();
}

#[test]
fn other_threads_allocations_never_reach_the_workers_figures() {
    let (runner, rx) = start("string-processing", 1, 10_000);
    wait_for(&rx, "running", |s| s.phase == Phase::Running && s.ops > 0);
    // This thread plays the UI: it allocates hard while the worker runs 10 000 operations.
    let mut junk = Vec::new();
    let deadline = Instant::now() + HANG_GUARD;
    let s = loop {
        assert!(Instant::now() < deadline, "no sample of 10 000 operations");
        for _ in 0..1000 {
            junk.push(vec![0u8; 256]);
            if junk.len() > 10_000 {
                junk.clear();
            }
        }
        match rx.try_recv() {
            Ok(RunnerEvent::Sample(s)) if s.ops > 10_000 => break s,
            Ok(RunnerEvent::WorkerExited { error, .. }) => panic!("worker exited: {error:?}"),
            Ok(_) | Err(_) => {}
        }
    };
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
            launcher: launcher(),
        };
        assert!(Runner::start(config, tx.clone()).is_err());
    }
}

#[test]
fn a_silent_worker_never_blocks_its_owner() {
    // A "worker" that never says a word: sh sleeping an hour, with the job as ignored
    // arguments. An owner that waited on it would wait that hour, far past the hang guard.
    let silent =
        Launcher::new("sh").with_args(vec!["-c".into(), "exec sleep 3600".into(), "sh".into()]);
    let experiment = heaplab_experiments::find("buffer-reuse").expect("experiment");
    let (tx, rx) = mpsc::sync_channel(4);
    let config = RunConfig {
        experiment,
        variant: 0,
        size: 64,
        sample_every: Duration::from_millis(20),
        budget: None,
        input: None,
        launcher: Arc::new(silent),
    };
    let owner = std::thread::spawn(move || {
        let mut runner = Runner::start(config, tx).expect("starts");
        assert!(runner.send(Command::Pause));
        assert!(runner.send(Command::Resume));
        assert!(runner.send(Command::SwitchVariant(1)));
        runner.stop();
    });
    let deadline = Instant::now() + HANG_GUARD;
    while !owner.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the owner is still waiting on a silent worker after {} s",
            HANG_GUARD.as_secs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    owner.join().expect("the owner's commands");
    assert!(
        rx.try_iter().all(|e| !matches!(e, RunnerEvent::Sample(_))),
        "samples from nowhere"
    );
}

#[test]
fn the_worker_sends_the_experiments_own_counters_as_it_runs() {
    let (runner, rx) = start("channel-pool", 3, 4096);
    let deadline = Instant::now() + HANG_GUARD;
    let counters = loop {
        assert!(
            Instant::now() < deadline,
            "no counters with misses in {} s",
            HANG_GUARD.as_secs()
        );
        if let Ok(RunnerEvent::Counters { counters, .. }) = rx.recv_timeout(Duration::from_secs(1))
            && counters
                .iter()
                .any(|(name, v)| name == "misses" && *v > 0.0)
        {
            break counters;
        }
    };
    // alloc-on-empty: gets that found the pool empty allocated, and their buffers were dropped.
    assert!(
        counters.iter().any(|(name, _)| name == "dropped"),
        "{counters:?}"
    );
    runner.stop();
}
