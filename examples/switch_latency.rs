//! How long a variant switch takes in the dashboard's runner, which replaces the worker
//! process: from the command (the key) to the worker's first word (its own start: spawn to
//! ready, before the experiment's setup), and to the new variant's first measured sample.
//!
//! `cargo build --release && cargo run --release --example switch_latency [ID] [SWITCHES]`
//! (default: buffer-reuse, 30 switches). It starts the `heaplab` binary built beside it.

use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use heaplab::runner::{Command, Launcher, Phase, RunConfig, Runner, RunnerEvent};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let id = args.next().unwrap_or_else(|| "buffer-reuse".to_owned());
    let switches: usize = args.next().map_or(Ok(30), |n| n.parse())?;
    let experiment = heaplab_experiments::find(&id).ok_or("no such experiment")?;
    // target/release/examples/switch_latency -> target/release/heaplab
    let exe = std::env::current_exe()?
        .parent()
        .and_then(|examples| examples.parent())
        .map(|dir| dir.join("heaplab"))
        .ok_or("no heaplab binary beside this example")?;
    let (tx, rx) = mpsc::sync_channel(1024);
    let config = RunConfig {
        experiment,
        variant: 0,
        size: experiment.info().default_size,
        // The dashboard's cadence.
        sample_every: heaplab::runner::DEFAULT_SAMPLE_EVERY,
        budget: None,
        input: None,
        launcher: Arc::new(Launcher::new(exe)),
    };
    let mut runner = Runner::start(config, tx)?;
    let variants = experiment.info().variants.len();
    let (mut ready, mut first) = (Vec::new(), Vec::new());
    for switch in 0..=switches {
        let epoch = switch as u64 + 1;
        let key = Instant::now();
        if switch > 0 && !runner.send(Command::SwitchVariant(switch % variants)) {
            return Err("the runner refused a switch".into());
        }
        let deadline = key + Duration::from_secs(30);
        loop {
            let event = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))?;
            match event {
                RunnerEvent::WorkerReady { epoch: e, after } if e == epoch => ready.push(after),
                RunnerEvent::Sample(s)
                    if s.epoch == epoch && s.phase == Phase::Running && s.ops > 0 =>
                {
                    first.push(key.elapsed());
                    break;
                }
                RunnerEvent::WorkerExited { error, .. } => {
                    return Err(format!("the worker ended: {error:?}").into());
                }
                _ => {}
            }
        }
    }
    runner.stop();
    // The first start is the cold one (page cache, dynamic loader): report the switches only.
    let (ready, first) = (&mut ready[1..], &mut first[1..]);
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    for (what, values) in [
        ("worker start (spawn to ready)", ready),
        ("key to first measured sample", first),
    ] {
        values.sort();
        println!(
            "{id}, {switches} switches: {what}: median {:.1} ms, max {:.1} ms",
            ms(&values[values.len() / 2]),
            ms(&values[values.len() - 1])
        );
    }
    Ok(())
}
