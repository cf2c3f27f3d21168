//! Exports: SVG charts are well-formed XML with the expected series (bench `--plot`, and the
//! dashboard's chart with its time series), and `--record` writes every sample as CSV or JSON.

mod binary;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

use binary::{heaplab, stderr};

use heaplab::export::{Bar, BarGroup, ChartData, Series, TimeSeries, svg};

/// Every text node of a well-formed SVG document (parsing fails on anything that is not).
fn svg_texts(text: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(text).expect("well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
        .collect()
}

#[test]
fn bench_plot_draws_every_variant_in_three_panels() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plot = dir.path().join("bench.svg");
    let output = heaplab(&[
        "bench",
        "buffer-reuse",
        "struct-layout",
        "--iterations",
        "200",
        "--format",
        "json",
        "--plot",
        plot.to_str().expect("UTF-8 path"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let texts = svg_texts(&std::fs::read_to_string(&plot).expect("plot written"));
    for expected in [
        "buffer-reuse (size 1024)",
        "struct-layout (size 1000000)",
        "allocs/op",
        "peak heap",
        "throughput (ops/s)",
        "naive",
        "optimized",
        // The bars carry their values: buffer-reuse allocates once per op, then never.
        "1.00",
        "0.00",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "{expected} missing: {texts:?}"
        );
    }
    assert_eq!(
        texts.iter().filter(|t| *t == "allocs/op").count(),
        2,
        "one panel per experiment"
    );
    // Nothing but the chart is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn the_dashboard_chart_has_a_legend_entry_per_variant_for_each_time_series() {
    let run = |variant: &str, index, from: f64, rate: f64| Series {
        variant: variant.to_owned(),
        index,
        points: (0..20).map(|i| (from + f64::from(i), rate)).collect(),
    };
    let chart = ChartData {
        title: "heaplab: buffer-reuse".to_owned(),
        groups: vec![BarGroup {
            title: "buffer-reuse (size 1024)".to_owned(),
            bars: vec![
                Bar {
                    variant: "naive".to_owned(),
                    index: 0,
                    allocs_per_op: 1.0,
                    peak_heap_bytes: 3072,
                    ops_per_sec: 1.2e6,
                },
                Bar {
                    variant: "optimized".to_owned(),
                    index: 1,
                    allocs_per_op: 0.0,
                    peak_heap_bytes: 3104,
                    ops_per_sec: 1.5e6,
                },
            ],
        }],
        series: Some(TimeSeries {
            // Compare mode: naive, optimized, naive again: still one legend entry each.
            allocs_per_sec: vec![
                run("naive", 0, 0.0, 1.2e6),
                run("optimized", 1, 20.0, 0.0),
                run("naive", 0, 40.0, 1.2e6),
            ],
            live_heap_bytes: vec![run("naive", 0, 0.0, 1024.0)],
            ops_per_sec: vec![
                run("naive", 0, 0.0, 1.2e6),
                run("optimized", 1, 20.0, 1.5e6),
            ],
        }),
    };
    let texts = svg_texts(&svg(&chart).expect("drawn"));
    for panel in [
        "allocation rate (allocations/s)",
        "worker live heap",
        "throughput (operations/s)",
    ] {
        assert!(texts.iter().any(|t| t == panel), "{panel}: {texts:?}");
    }
    // Legends: naive in all three series panels, optimized in two; plus one x-label per bar.
    let count = |name: &str| texts.iter().filter(|t| *t == name).count();
    assert_eq!(count("naive"), 3 + 3, "{texts:?}");
    assert_eq!(count("optimized"), 2 + 3, "{texts:?}");
}

#[test]
fn record_writes_every_sample_as_csv_or_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = dir.path().join("session.csv");
    let json_path = dir.path().join("session.json");
    for path in [&csv_path, &json_path] {
        // Three lines (four running samples at least), however long they take; the closed
        // pipe then ends the session, which writes the record.
        let (_, output) = binary::lines_until(
            &[
                "run",
                "buffer-reuse",
                "--trace",
                "--interval",
                "0.2",
                "--record",
                path.to_str().expect("UTF-8 path"),
            ],
            "three trace lines",
            |lines| lines.len() >= 3,
        );
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let csv = std::fs::read_to_string(&csv_path).expect("csv written");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(
        &header[..6],
        ["t", "experiment", "variant", "epoch", "size", "phase"]
    );
    assert!(header.contains(&"allocs") && header.contains(&"process_rss_bytes"));
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 4, "{csv}");
    assert!(rows.iter().all(|r| r.split(',').count() == header.len()));

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json written"))
            .expect("valid JSON");
    let samples = json.as_array().expect("an array");
    assert!(samples.len() >= 4);
    // Cumulative and exact: naive buffer-reuse allocates once per measured operation.
    let running: Vec<_> = samples.iter().filter(|s| s["phase"] == "running").collect();
    let last = running.last().expect("a running sample");
    assert_eq!(last["allocs"], last["ops"], "{last}");
    assert_eq!(last["experiment"], "buffer-reuse");
}

#[test]
fn record_refuses_an_unknown_extension_before_running() {
    let output = heaplab(&["run", "buffer-reuse", "--trace", "--record", "samples.txt"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert!(
        stderr.contains(".csv") && stderr.contains("samples.txt"),
        "{stderr}"
    );
}
