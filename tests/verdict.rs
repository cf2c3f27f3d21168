//! The verdict line says what is true of what is running, in words that keep its figures, at a
//! cost that does not grow with the run (issue "Nothing lost, nothing misread", items 4, 6, 7
//! and 12). The dashboard's state driven by messages, screens on ratatui's `TestBackend`.

use heaplab::runner::Sample;
use heaplab::ui::app::{App, SPEED_TEST_EVERY_SECS};
use heaplab::ui::keys::Action;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

mod common;
use common::{catalog, screen, select};

/// The line of the numbers panel's bottom border, where the verdict is.
fn verdict_line(text: &str) -> String {
    text.lines()
        .rfind(|l| l.contains('╰') && (l.contains("allocs/op") || l.contains("% allocs")))
        .unwrap_or_else(|| panic!("no verdict on screen:\n{text}"))
        .to_owned()
}

/// A dashboard on `id`, started, with the selection moved there.
fn started(id: &str) -> App {
    let mut app = App::new(catalog());
    select(&mut app, id);
    app.handle(Action::StartStop, 0.0);
    app
}

/// A sample of `id`'s `variant`, `secs` into run `epoch`: `ops_per_sec` operations a second,
/// `allocs_per_op` allocations each, a peak heap of `peak`.
fn sample(
    id: &'static str,
    variant: usize,
    epoch: u64,
    secs: f64,
    (ops_per_sec, allocs_per_op, peak): (f64, u64, u64),
) -> Sample {
    let info = catalog()
        .iter()
        .find(|e| e.info().id == id)
        .expect("experiment")
        .info();
    let mut s = common::sample(0, epoch, secs, ops_per_sec, allocs_per_op);
    s.experiment = info.id;
    s.variant = info.variants[variant].name;
    s.variant_index = variant;
    s.size = info.default_size;
    s.peak_heap_bytes = peak;
    s
}

/// Item 12: over ten minutes of compare mode the speed tests made grow with the minutes (at
/// most one per variant per [`SPEED_TEST_EVERY_SECS`]), not with every sample times the
/// intervals kept; the verdict still has its tested speed.
#[test]
fn the_comparisons_cost_grows_with_time_not_with_samples() {
    let mut app = started("buffer-reuse");
    app.handle(Action::ToggleCompare, 0.0);
    let minutes = 10.0;
    let (mut epoch, mut run_start, mut variant) = (1, 0.0, 0);
    let mut samples = 0u64;
    for tick in 1..=(minutes * 600.0) as u32 {
        let now = f64::from(tick) / 10.0;
        app.tick(now);
        let running = app.running.expect("running").variant;
        if running != variant {
            (variant, epoch, run_start) = (running, epoch + 1, now);
        }
        // Speeds that differ by variant, with some noise so that intervals are not all tied.
        let jitter = f64::from(tick % 7) * 1_000.0;
        let ops_per_sec = 1.0e6 * (1.0 + variant as f64 * 0.25) + jitter;
        let s = sample(
            "buffer-reuse",
            variant,
            epoch,
            now - run_start,
            (ops_per_sec, 1, 4096),
        );
        app.on_sample(s, now);
        samples += 1;
    }
    let variants = catalog()[app.selected].info().variants.len() as u64;
    let most = (minutes * 60.0 / SPEED_TEST_EVERY_SECS) as u64 * (variants - 1) + 2 * variants;
    assert!(
        app.speed_tests_made() <= most,
        "{} speed tests for {samples} samples over {minutes} minutes: at most {most} expected",
        app.speed_tests_made()
    );
    let (verdict, _) = app.verdict().expect("a verdict");
    assert!(
        verdict.figures.speed.is_some(),
        "the speed is still tested: {verdict:?}"
    );
}

/// Item 4: the verdict is about the running variant, not the last one that has figures; with
/// naive running it is about the variant that ran before, and says so.
#[test]
fn the_verdict_names_the_running_variant() {
    let mut app = started("channel-pool");
    let variants = catalog()[app.selected].info().variants;
    let mut now = 0.0;
    let mut first = true;
    // Every variant runs once, then the switch wraps round to naive and on to optimized.
    for (v, _) in variants
        .iter()
        .enumerate()
        .chain([(0, &variants[0]), (1, &variants[1])])
    {
        if now > 0.0 {
            app.handle(Action::SwitchVariant, now);
        }
        for i in 1..=20 {
            let t = f64::from(i) * 0.25;
            let figures = (
                100_000.0 * (v as f64 + 1.0),
                u64::from(v == 0),
                1 << (20 + v),
            );
            let epoch = (now / 10.0) as u64 + 1;
            app.on_sample(sample("channel-pool", v, epoch, t, figures), now + t);
        }
        now += 10.0;
        let running = app.running.expect("running").variant;
        assert_eq!(running, v);
        let text = screen(&app, 140, 45);
        if std::mem::take(&mut first) {
            assert!(
                !text.contains(" vs naive"),
                "naive alone: no verdict\n{text}"
            );
            continue;
        }
        let line = verdict_line(&text);
        if v == 0 {
            // The five variants ran, the last of them too-large; naive runs again.
            assert!(
                line.contains("too-large vs naive, which runs now:"),
                "with naive running, the variant that ran before and a word that says so: {line}"
            );
        } else {
            let name = variants[v].name;
            assert!(
                line.contains(&format!("╰ {name} vs naive: ")),
                "{name} runs, so the verdict is about {name}: {line}"
            );
        }
    }
}

/// Item 6: at 80 columns the verdict shortens its words, and keeps the allocation and heap
/// figures (streaming's point) before the speed.
#[test]
fn at_80_columns_the_verdict_keeps_allocations_and_peak_heap() {
    let mut app = started("streaming");
    for v in 0..2 {
        if v == 1 {
            app.handle(Action::SwitchVariant, 10.0);
        }
        for i in 1..=40 {
            let t = f64::from(i) * 0.25;
            // The same speed (with noise), all allocations gone, the peak down to 3%.
            let ops = 12_000.0 + f64::from(i % 5) * 100.0;
            let figures = if v == 0 {
                (ops, 3012, 4 << 20)
            } else {
                (ops, 9, 128 << 10)
            };
            app.on_sample(
                sample("streaming", v, v as u64 + 1, t, figures),
                10.0 * v as f64 + t,
            );
        }
    }
    for (width, height) in [(80, 24), (140, 45)] {
        let line = verdict_line(&screen(&app, width, height));
        assert!(
            line.contains("99.7%") && line.contains("-97%"),
            "{width}x{height}: the allocation and heap figures, never 100% for 9 against 3012: {line}"
        );
        assert!(line.contains("optimized"), "{line}");
    }
}
