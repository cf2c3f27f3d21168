//! Soak: the dashboard's real event loop, headless, for ten minutes, switching variants every
//! 2 s and experiments every 4 s; the process's RSS at the end must be within 2 MiB of its RSS
//! after the first minute, and its live heap must not grow. Both readings are taken with the
//! experiment stopped, so that they measure heaplab, not the experiment of the moment. Not run by default:
//!
//! `cargo test --release --test soak -- --ignored` (`HEAPLAB_SOAK_SECS=600` by default).
//!
//! It has a `main` of its own (`harness = false`): like heaplab's `main`, it must choose the C
//! heap's arenas before any other thread starts, and libtest runs every test on a thread of its
//! own.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use heaplab::runner::ProcessRss;
use heaplab::ui::{AppEvent, Options, event_loop};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

fn main() {
    let one_heap = heaplab_experiments::counting::share_one_c_heap();
    let asked = std::env::args().any(|a| a == "--ignored" || a == "--include-ignored");
    if !asked {
        println!(
            "soak: ten minutes, skipped; run with `cargo test --release --test soak -- --ignored`"
        );
        return;
    }
    the_dashboard_does_not_grow_over_ten_minutes();
    println!("soak: ok (one C heap: {one_heap})");
}

fn the_dashboard_does_not_grow_over_ten_minutes() {
    let total: u64 = std::env::var("HEAPLAB_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let settle = Duration::from_secs(60.min(total));
    let (tx, rx) = mpsc::sync_channel::<AppEvent>(1024);
    let script = {
        let tx = tx.clone();
        thread::spawn(move || {
            let key = |code| AppEvent::Key(KeyEvent::from(code));
            let send = |codes: &[KeyCode]| {
                for &code in codes {
                    let _ = tx.send(key(code));
                }
            };
            // Readings are taken with no experiment running (Enter stops the one selected),
            // after a pause for its memory to go back: what is left is heaplab's own.
            let mut rss = ProcessRss::new();
            let reading = |rss: &mut ProcessRss| {
                send(&[KeyCode::Enter]);
                thread::sleep(Duration::from_secs(2));
                let figures = (rss.read(), heaplab::alloc::process_heap_bytes());
                // Every worker started so far has been stopped and reaped: no child is left.
                assert_eq!(children(), 0, "worker processes left behind");
                send(&[KeyCode::Enter]);
                figures
            };
            let start = Instant::now();
            let experiments = heaplab_experiments::catalog().len();
            let mut current = 0usize;
            let mut after_settle = None;
            let mut step = 0u64;
            while start.elapsed() < Duration::from_secs(total) {
                thread::sleep(Duration::from_secs(2));
                step += 1;
                // Every 2 s switch variant; every 4 s start the next experiment, wrapping to
                // the first: one full cycle of the catalog fits in the first minute.
                let mut keys = vec![KeyCode::Char(' ')];
                if step.is_multiple_of(2) {
                    if current + 1 == experiments {
                        keys = vec![KeyCode::Char('k'); experiments];
                        current = 0;
                    } else {
                        keys = vec![KeyCode::Down];
                        current += 1;
                    }
                    keys.push(KeyCode::Enter);
                }
                send(&keys);
                if after_settle.is_none() && start.elapsed() >= settle {
                    after_settle = Some(reading(&mut rss));
                }
            }
            let end = reading(&mut rss);
            send(&[KeyCode::Char('q')]);
            (after_settle.unwrap_or(end), end)
        })
    };
    let mut terminal = Terminal::new(TestBackend::new(120, 36)).expect("terminal");
    let options = Options {
        fps: 15,
        start: Some((0, 0, None)),
        // The naive cache grows without bound: a budget keeps the soak about the dashboard.
        budget: Some(64 << 20),
        input: None,
        workshop: heaplab::ui::workshop::WorkshopOptions::default(),
        launcher: std::sync::Arc::new(heaplab::runner::Launcher::new(env!(
            "CARGO_BIN_EXE_heaplab"
        ))),
    };
    event_loop(&mut terminal, &rx, &tx, options).expect("the loop runs");
    let ((rss_settled, heap_settled), (rss_end, heap_end)) = script.join().expect("script");
    if std::env::var_os("HEAPLAB_SOAK_SMAPS").is_some() {
        print_largest_mappings();
    }
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    eprintln!(
        "soak {total} s: after {} s RSS {:.1} MiB, heap {:.2} MiB; at the end RSS {:.1} MiB \
         ({:+.2}), heap {:.2} MiB ({:+.3})",
        settle.as_secs(),
        mib(rss_settled),
        mib(heap_settled),
        mib(rss_end),
        mib(rss_end) - mib(rss_settled),
        mib(heap_end),
        mib(heap_end) - mib(heap_settled),
    );
    // heaplab's own live heap (no experiment running) must not creep: bounded history.
    assert!(
        heap_end <= heap_settled + (256 << 10),
        "heap grew from {heap_settled} to {heap_end} bytes"
    );
    assert!(
        rss_end <= rss_settled + (2 << 20),
        "RSS grew from {rss_settled} to {rss_end} bytes"
    );
}

/// How many child processes this process has (Linux's /proc; 0 elsewhere).
fn children() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .map(|task| {
            std::fs::read_to_string(task.path().join("children"))
                .map_or(0, |c| c.split_whitespace().count())
        })
        .sum()
}

/// The mappings holding the most resident memory, from `/proc/self/smaps`: where RSS sits.
fn print_largest_mappings() {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut maps: Vec<(u64, String)> = Vec::new();
    let mut name = String::new();
    for line in smaps.lines() {
        if line.contains('-') && !line.starts_with(char::is_uppercase) {
            line.clone_into(&mut name);
        } else if let Some(rss) = line.strip_prefix("Rss:") {
            let kb = rss
                .trim()
                .trim_end_matches(" kB")
                .trim()
                .parse()
                .unwrap_or(0);
            maps.push((kb, name.clone()));
        }
    }
    maps.sort_by_key(|&(kb, _)| std::cmp::Reverse(kb));
    for (kb, name) in maps.iter().take(15) {
        eprintln!("{kb:>8} kB  {name}");
    }
}
