//! The line whose memory keeps growing, found live on the workshop's demo (issue 27's "done
//! when"): the demo runs with its monitor sampling sites, a viewer attaches headless, resolves
//! the demo's stacks from its executable (`/proc/PID/exe`), and ranks its lines by how much
//! their live bytes grew. The leaking line (a session's state, never freed: about 0.2% of the
//! bytes the demo allocates) must come out on top as growing, with its file and line; the
//! cache's line (10,000 paths, more than the leak holds in the test's time, churning as the
//! cache evicts) must not be among the growing.
//!
//! The demo samples one allocation per about 8 KiB here rather than its default 64 KiB: the
//! leak's growth stands out of the sampling noise (growth over twice its standard error) after
//! some 40 KB leaked instead of some 300 KB, so a debug build finds it in seconds. Every wait
//! is for sites frames, bounded only by [`HANG_GUARD`].

mod binary;
mod demo;

use std::time::{Duration, Instant};

use binary::HANG_GUARD;
use demo::{Demo, line_of};
use heaplab::attach::client::{Connection, Read, resolve};
use heaplab::attach::sites::{GrowingSite, SiteBook};
use heaplab::attach::symbols::Symbols;

/// The demo's sampling gap for this test, in bytes (see the module's documentation).
const SAMPLE_EVERY: &str = "8192";

/// Sites frames in a row the leak must hold the top for: once could be noise.
const STEADY: usize = 3;

#[test]
fn the_leaking_line_tops_the_growing_sites_and_the_cache_does_not_grow() {
    let demo = Demo::start(&[("HEAPLAB_SAMPLE_EVERY", SAMPLE_EVERY)]);
    // The cache fills in the demo's first second: attached after it, its line churns.
    demo.line();
    demo.line();
    let target = resolve(Some(demo.pid), Some(demo.socket.clone())).expect("the demo's socket");
    let mut connection = Connection::open(target).expect("attaches");
    assert_eq!(
        connection.hello.sample_every,
        SAMPLE_EVERY.parse::<u64>().expect("a number"),
        "the demo samples at the gap the test set"
    );
    connection
        .set_timeout(Duration::from_millis(500))
        .expect("a timeout");
    let mut symbols = Symbols::open(demo.pid).expect("the demo's symbols");
    let mut book = SiteBook::new(Duration::from_secs(60));

    let leak = format!(
        "examples/monitor_demo.rs:{}",
        line_of("vec![0u8; SESSION_STATE]")
    );
    let cache = format!(
        "examples/monitor_demo.rs:{}",
        line_of("self.order.push_back(record.path.clone())")
    );
    let started = Instant::now();
    let mut on_top = 0;
    let mut frames = 0;
    let ranked = loop {
        assert!(
            started.elapsed() < HANG_GUARD,
            "after {frames} sites frames the leak ({leak}) is not on top: {:#?}",
            summary(&book.growing())
        );
        match connection.read().expect("reads the demo") {
            Read::Sites(sites) => {
                frames += 1;
                book.update(&sites, &mut symbols, &|tid| tid.to_string());
            }
            Read::Frame(_) | Read::Nothing => continue,
            Read::Ended => panic!("the demo ended while watched"),
        }
        let ranked = book.growing();
        let top = ranked.first().filter(|site| site.growing);
        on_top = if top.is_some_and(|site| site.location == leak) {
            on_top + 1
        } else {
            0
        };
        if on_top == STEADY {
            break ranked;
        }
    };

    let top = &ranked[0];
    assert!(top.function.contains("add"), "{top:#?}");
    assert!(
        top.live_bytes > 0.0 && top.growth > 2.0 * top.growth_error,
        "{top:#?}"
    );
    assert!(
        top.stack
            .iter()
            .any(|frame| !frame.folded && frame.line > 0),
        "the leak's stack shows the demo's own lines: {top:#?}"
    );
    // Each session's state is 512 bytes: the leak line's sizes are all in the 512-1023 bucket.
    let bucket = heaplab_experiments::sites::size_bucket(512);
    let in_bucket = top.sizes[bucket] / top.sizes.iter().sum::<f64>();
    assert!(in_bucket > 0.99, "{:?}", top.sizes);

    let cache_site = ranked
        .iter()
        .find(|site| site.location == cache)
        .unwrap_or_else(|| {
            panic!(
                "the cache's line {cache} is sampled: {:#?}",
                summary(&ranked)
            )
        });
    assert!(
        !cache_site.growing,
        "the cache does not grow: {cache_site:#?}"
    );
    // What it holds is sampled: live, and not falling to nothing as its entries are evicted.
    assert!(cache_site.live_bytes > 0.0, "{cache_site:#?}");
    assert!(
        ranked
            .iter()
            .filter(|site| site.growing)
            .all(|site| site.location != cache),
        "{:#?}",
        summary(&ranked)
    );
    assert!(!book.sizes().is_empty(), "the process's sizes are kept");
}

/// The ranking as one line per site, for failure messages.
fn summary(ranked: &[GrowingSite]) -> Vec<String> {
    ranked
        .iter()
        .take(12)
        .map(|site| {
            format!(
                "{} {} growth {:.0} ± {:.0} live {:.0} ({})",
                if site.growing { "GROWING" } else { "       " },
                site.location,
                site.growth,
                site.growth_error,
                site.live_bytes,
                site.function
            )
        })
        .collect()
}
