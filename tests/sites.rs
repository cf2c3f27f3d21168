//! Allocation sites, measured by the real binary: every variant of every experiment allocates
//! on exactly the lines its code allocates on (the expectation list below, kept by hand and
//! checked against the measurement, not the other way round), the sites add up to the row's
//! allocs/op, valgrind's own per-site counts agree, and `--trace --sites` prints them.

// Exact equality of counts is the point of these tests, floats included.
#![allow(clippy::float_cmp)]

mod binary;

use std::collections::BTreeMap;
use std::process::Command;

use binary::{heaplab, stderr};
use heaplab_experiments::sites::same_file;
use serde_json::Value;

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

/// What each variant allocates on: text found on each allocating line of the experiment's
/// source. Every site measured must be on a line with one of these, and each of these must be
/// measured. A variant not listed allocates nowhere.
const ALLOCATES_ON: &[(&str, &str, &[&str])] = &[
    (
        "buffer-reuse",
        "naive",
        &["let mut result = vec![0u8; data.len() * 2];"],
    ),
    (
        "string-processing",
        "naive",
        &[
            "let fields: Vec<String> = line.split(',').map(|f| f.trim().to_string()).collect();",
            ".collect::<Vec<&str>>()",
            ".join(\" \");",
            "let email = fields[1].to_ascii_lowercase();",
            "Ok(age) => age.to_string(),",
            "Err(_) => \"?\".to_string(),",
            "let first = chars.next().map(|c| c.to_ascii_uppercase().to_string());",
            "first.unwrap_or_default() + &chars.as_str().to_ascii_lowercase()",
            ".collect::<Vec<String>>()",
            "Some(format!(\"{name}|{email}|{age}|{city}\"))",
        ],
    ),
    (
        "in-place",
        "naive",
        &[
            "let valid: Vec<u32> = batch.iter().copied().filter(|&r| r != DROPOUT).collect();",
            "distinct.push(reading);",
            "distinct.into_iter().rev().map(to_fahrenheit).collect()",
        ],
    ),
    (
        "preallocation",
        "naive",
        &[
            "totals.push(total);",
            "let _ = writeln!(report, \"{},{total}\", line.id);",
        ],
    ),
    (
        "preallocation",
        "with-capacity",
        &[
            "let mut totals = Vec::with_capacity(lines.len());",
            "let mut report = String::with_capacity(lines.len() * MAX_REPORT_LINE);",
        ],
    ),
    ("inline-storage", "naive", &["addr: addr.to_vec(),"]),
    (
        "sync-pool",
        "naive",
        &["let mut buf = Vec::with_capacity(capacity);"],
    ),
    (
        "channel-pool",
        "naive",
        &["Buffers::Fresh { capacity } => Vec::with_capacity(*capacity),"],
    ),
    // The case a hand-written marker missed: the pool allocates when it runs dry.
    (
        "channel-pool",
        "alloc-on-empty",
        &["Vec::with_capacity(self.buffer_capacity)"],
    ),
    (
        "size-classes",
        "naive",
        &["Source::Exact => Vec::with_capacity(len),"],
    ),
    (
        "streaming",
        "naive",
        &[
            "input.read_to_end(&mut data)",
            "let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\\n').collect();",
        ],
    ),
    // A cache miss renders the value: naive and crate allocate it, the cache's own bookkeeping
    // nothing. The optimized LRU renders into the buffer of an entry it evicted: it allocates
    // only now and then (see MAY_ALLOCATE_ON).
    (
        "bounded-cache",
        "naive",
        &["let mut value = Vec::with_capacity(len);"],
    ),
    (
        "bounded-cache",
        "crate",
        &["let mut value = Vec::with_capacity(len);"],
    ),
    (
        "low-alloc-api",
        "naive",
        &[
            "Box::new(move |config| config.precision = precision)",
            "Box::new(move |config| config.unit = unit)",
            ".map(|(key, value)| (key.to_string(), value.to_string()))",
            ".collect()",
            "s.replace(',', \"\\\\,\")",
            ".replace('=', \"\\\\=\")",
            ".replace(' ', \"\\\\ \")",
            "measurement: measurement.to_string(),",
            "self.point.tags.push((key.to_string(), value.to_string()));",
            "self.point.fields.push((key.to_string(), value));",
            ".map(|(key, value)| format!(\"{}={}\", escape(key), escape(value)))",
            ".map(|(key, value)| format!(\"{}={:.*}\", escape(key), config.precision, value))",
            ".collect();",
            "line = line + \",\" + &tags.join(\",\");",
            "format!(",
            "fields.join(\",\"),",
        ],
    ),
];

/// Whether `variant` of `experiment` declares that its allocations depend on how threads are
/// scheduled ([`heaplab_experiments::Experiment::depends_on_scheduling`]: channel-pool's
/// `alloc-on-empty` allocates only when its workers have not returned a buffer in time, which
/// some runs of 30 operations never see). Its lines are required only when it allocated.
fn depends_on_scheduling(experiment: &str, variant: &str) -> bool {
    let found = heaplab_experiments::find(experiment).expect("a chapter experiment");
    let index = found.info().variant_index(variant).expect("its variant");
    found.depends_on_scheduling(index)
}

/// Lines allowed to allocate now and then, outside any steady state: the optimized LRU's free
/// list, and a fresh buffer when no evicted one fits a miss (about 1.5% of its misses).
const MAY_ALLOCATE_ON: &[(&str, &str, &str)] = &[
    ("bounded-cache", "optimized", "self.free.push(index);"),
    ("bounded-cache", "optimized", "Vec::with_capacity(len)"),
];

/// `bench --sites` rows, with each replay asked for all of its run's `iterations` operations
/// (`--sites-ops`): by default a replay stops after 2 s, which a slow machine reaches first.
fn bench_sites(iterations: u64, args: &[&str]) -> Vec<Value> {
    let n = iterations.to_string();
    let out = heaplab(
        &[
            &["bench", "--sites", "--runs", "1", "--format", "json"][..],
            &["--iterations", &n, "--sites-ops", &n],
            args,
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    report["results"].as_array().expect("rows").clone()
}

fn number(value: &Value) -> f64 {
    value.as_f64().expect("a number")
}

/// The text of the line a site names, if it is in `experiment`'s own source.
fn line_text(experiment: &str, site: &Value) -> Option<&'static str> {
    let info = heaplab::catalog::find(experiment)
        .expect("in the catalog")
        .info();
    let file = site["file"].as_str().expect("a file");
    if !same_file(file, info.source_file) {
        return None;
    }
    let line = site["line"].as_u64().expect("a line") as usize;
    info.source.lines().nth(line.checked_sub(1)?).map(str::trim)
}

#[test]
fn every_variant_allocates_on_the_lines_its_code_allocates_on() {
    let rows = bench_sites(30, &[]);
    let listed = heaplab::catalog::catalog()
        .iter()
        .map(|e| e.info().variants.len())
        .sum::<usize>();
    assert_eq!(rows.len(), listed, "a row per variant of the catalog");
    let mut failures = Vec::new();
    for row in &rows {
        let experiment = row["experiment"].as_str().expect("id");
        let variant = row["variant"].as_str().expect("variant");
        let sites = &row["sites"];
        // The sites add up to their window exactly; the window replays the row's operations,
        // so it adds up to the row's figures too, but where thread scheduling decides.
        assert_eq!(sites["ops"], row["iterations"], "{experiment} {variant}");
        assert_eq!(number(&sites["unrecorded_per_op"]), 0.0);
        let list = sites["sites"].as_array().expect("sites");
        let sum = |key: &str| list.iter().fold(0.0, |sum, s| sum + number(&s[key]));
        let window = |key: &str| number(&sites[key]);
        for key in ["allocs_per_op", "reallocs_per_op"] {
            assert!(
                (sum(key) - window(key)).abs() < 1e-9,
                "{experiment} {variant}: sites add up to {} {key}, the window says {}",
                sum(key),
                window(key)
            );
        }
        let scheduled = depends_on_scheduling(experiment, variant);
        if !scheduled {
            for key in ["allocs_per_op", "reallocs_per_op"] {
                assert!(
                    (window(key) - number(&row[key])).abs() < 1e-9,
                    "{experiment} {variant}: the window has {} {key}, the row {}",
                    window(key),
                    row[key]
                );
            }
        }

        let expected: &[&str] = ALLOCATES_ON
            .iter()
            .find(|(e, v, _)| *e == experiment && *v == variant)
            .map_or(&[], |(_, _, lines)| lines);
        let allowed = |text: &str| {
            expected.iter().any(|fragment| text.contains(fragment))
                || MAY_ALLOCATE_ON
                    .iter()
                    .any(|(e, v, f)| *e == experiment && *v == variant && text.contains(f))
        };
        let texts: Vec<Option<&str>> = list.iter().map(|s| line_text(experiment, s)).collect();
        for (site, text) in list.iter().zip(&texts) {
            if !text.is_some_and(allowed) {
                failures.push(format!(
                    "{experiment} {variant}: unexpected site {}:{} {:?} ({} allocs/op)",
                    site["file"], site["line"], text, site["allocs_per_op"]
                ));
            }
        }
        let may_not_allocate = scheduled && window("allocs_per_op") == 0.0;
        for fragment in expected {
            if !may_not_allocate && !texts.iter().flatten().any(|t| t.contains(fragment)) {
                failures.push(format!(
                    "{experiment} {variant}: no site on the line with {fragment:?}"
                ));
            }
        }
        // Every site names its function and carries its stack, and its file is relative to
        // the workspace (as `file!()` spells it), the absolute path beside it.
        for site in list {
            assert!(!site["function"].as_str().expect("function").is_empty());
            assert!(!site["stack"].as_array().expect("stack").is_empty());
            let file = site["file"].as_str().expect("file");
            let absolute = site["absolute_file"].as_str().expect("absolute file");
            assert!(
                std::path::Path::new(file).is_relative() && absolute.ends_with(&format!("/{file}")),
                "{experiment} {variant}: {site}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// valgrind's DHAT on `bench ID --variant naive` with `iterations` operations: blocks per
/// source line of the experiment's file, each allocation at the first frame in that file.
fn dhat_blocks(experiment: &str, iterations: u64) -> BTreeMap<u32, u64> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("dhat.json");
    let out = Command::new("valgrind")
        .arg("--tool=dhat")
        .arg("--num-callers=64")
        .arg(format!("--dhat-out-file={}", file.display()))
        .arg(env!("CARGO_BIN_EXE_heaplab"))
        .args(["bench", experiment, "--variant", "naive", "--runs", "1"])
        .args(["--in-process", "--format", "json"])
        .args(["--iterations", &iterations.to_string()])
        .output()
        .expect("valgrind runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let dhat: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("DHAT's file")).expect("JSON");
    let frames = dhat["ftbl"].as_array().expect("frame table");
    let source_file = heaplab::catalog::find(experiment)
        .expect("in the catalog")
        .info()
        .source_file;
    let name = source_file.rsplit('/').next().expect("a file name");
    let marker = format!("({name}:");
    let mut blocks = BTreeMap::new();
    for pp in dhat["pps"].as_array().expect("program points") {
        let line = pp["fs"].as_array().expect("frames").iter().find_map(|f| {
            let frame = frames[f.as_u64().expect("index") as usize]
                .as_str()
                .expect("text");
            let at = frame.find(&marker)? + marker.len();
            frame[at..].trim_end_matches(')').parse::<u32>().ok()
        });
        if let Some(line) = line {
            *blocks.entry(line).or_insert(0) += pp["tbk"].as_u64().expect("blocks");
        }
    }
    blocks
}

/// Lines that grow a block another line allocated, and that line: (experiment, text on the
/// growing line, text on the allocating line).
const GROWN_ELSEWHERE: &[(&str, &str, &str)] = &[
    // `String + &str` grows the string the closure's first line made.
    (
        "string-processing",
        "first.unwrap_or_default() + &chars.as_str().to_ascii_lowercase()",
        "let first = chars.next().map(|c| c.to_ascii_uppercase().to_string());",
    ),
    // The line grows the escaped measurement, which `escape`'s last `replace` made.
    (
        "low-alloc-api",
        "line = line + \",\" + &tags.join(\",\");",
        ".replace(' ', \"\\\\ \")",
    ),
];

/// Where the block `line` of `experiment` reallocates was allocated, if on another line.
fn grown_elsewhere(experiment: &str, line: u32) -> Option<u32> {
    let source = heaplab::catalog::find(experiment)?.info().source;
    let text = source.lines().nth(line as usize - 1)?;
    let (_, _, born) = GROWN_ELSEWHERE
        .iter()
        .find(|(e, grows, _)| *e == experiment && text.contains(grows))?;
    let at = source.lines().position(|l| l.contains(born))?;
    Some(at as u32 + 1)
}

#[test]
fn valgrinds_own_per_site_counts_agree_with_ours() {
    if !binary::valgrind_available("the independent per-site count") {
        return;
    }
    // Two runs that differ only in the number of operations: the difference per line is the
    // operations' own allocations (DHAT counts a realloc as a block, as we count one event).
    let (few, many) = (10, 30);
    for experiment in [
        "string-processing",
        "low-alloc-api",
        "in-place",
        "channel-pool",
    ] {
        let (before, after) = (dhat_blocks(experiment, few), dhat_blocks(experiment, many));
        let theirs: BTreeMap<u32, f64> = after
            .iter()
            .map(|(&line, &n)| {
                let per_op =
                    (n - before.get(&line).copied().unwrap_or(0)) as f64 / (many - few) as f64;
                (line, per_op)
            })
            .filter(|&(_, per_op)| per_op > 0.0)
            .collect();
        // Ours over the same operations: the replayed windows of `many` and of `few`, told
        // apart line by line (string-processing's operations differ from one another).
        let events = |iterations: u64| -> BTreeMap<u32, (f64, f64)> {
            let rows = bench_sites(iterations, &[experiment, "--variant", "naive"]);
            rows[0]["sites"]["sites"]
                .as_array()
                .expect("sites")
                .iter()
                .map(|s| {
                    let n = |key: &str| number(&s[key]) * iterations as f64;
                    (
                        s["line"].as_u64().expect("line") as u32,
                        (n("allocs_per_op"), n("reallocs_per_op")),
                    )
                })
                .collect()
        };
        let (ours_few, ours_many) = (events(few), events(many));
        let mut ours: BTreeMap<u32, f64> = BTreeMap::new();
        for (&line, &(allocs, reallocs)) in &ours_many {
            let (allocs_before, reallocs_before) =
                ours_few.get(&line).copied().unwrap_or((0.0, 0.0));
            let per_op = |now: f64, before: f64| (now - before) / (many - few) as f64;
            *ours.entry(line).or_default() += per_op(allocs, allocs_before);
            // DHAT counts a realloc at the line that allocated the block; we count it at the
            // line that grows it. Where those differ, move ours to compare like with like.
            let to = grown_elsewhere(experiment, line).unwrap_or(line);
            *ours.entry(to).or_default() += per_op(reallocs, reallocs_before);
        }
        ours.retain(|_, per_op| *per_op > 0.0);
        assert!(!ours.is_empty(), "{experiment} naive allocates");
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{experiment}: lines (ours {ours:?}, valgrind {theirs:?})"
        );
        for (line, per_op) in &ours {
            assert!(
                (per_op - theirs[line]).abs() < 0.01,
                "{experiment} line {line}: ours {per_op}/op, valgrind {}/op ({ours:?} vs {theirs:?})",
                theirs[line]
            );
        }
        // And the optimized variant allocates nowhere.
        let optimized = bench_sites(30, &[experiment, "--variant", "optimized"]);
        assert_eq!(optimized[0]["sites"]["sites"], Value::Array(Vec::new()));
    }
}

#[test]
fn the_table_shows_each_rows_top_sites_under_it() {
    let out = heaplab(&[
        "bench",
        "in-place",
        "--sites",
        "--runs",
        "1",
        "--iterations",
        "20",
        "--sites-ops",
        "20",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    let naive = lines
        .iter()
        .position(|l| l.starts_with("in-place") && l.contains("naive"))
        .expect("the naive row");
    assert!(lines[naive + 1].contains("chapter/in_place.rs:"), "{text}");
    assert!(lines[naive + 1].contains("1.00 allocs/op"), "{text}");
    assert!(lines[naive + 1].contains("clean_readings"), "{text}");
    let optimized = lines
        .iter()
        .position(|l| l.starts_with("in-place") && l.contains("optimized"))
        .expect("the optimized row");
    assert!(
        lines[optimized + 1].contains("no allocation site: 0 allocs/op over 20 ops"),
        "{text}"
    );
}

#[test]
fn a_trace_with_sites_prints_them_after_its_lines() {
    // Until the first window's sites are out, however long the machine takes to capture one.
    let naive_site = |l: &String| {
        l.starts_with("site ")
            && l.contains("allocs_per_op=1.00")
            && l.contains("at=chapter/in_place.rs:")
            && l.contains("fn=")
    };
    let (lines, out) = binary::lines_until(
        &["run", "in-place", "--trace", "--sites", "--interval", "0.5"],
        "a site line of in-place naive",
        |lines| lines.iter().any(naive_site),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = lines.join("\n");
    // A site line follows its interval's line; the other lines are trace lines, as before.
    assert!(lines[0].starts_with("t="), "{text}");
    for line in &lines {
        assert!(
            line.starts_with("t=")
                || line.starts_with("site t=") && line.contains(" variant=naive "),
            "{text}"
        );
    }
}

#[test]
fn a_replay_asked_for_operations_replays_exactly_those() {
    // In-place's naive operations allocate alike, so any window's allocs/op is the row's.
    let window = |sites_ops: &str| {
        let out = heaplab(&[
            "bench",
            "in-place",
            "--variant",
            "naive",
            "--runs",
            "1",
            "--format",
            "json",
            "--iterations",
            "30",
            "--sites",
            "--sites-ops",
            sites_ops,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let row = report["results"][0].clone();
        assert_eq!(row["sites"]["allocs_per_op"], row["allocs_per_op"], "{row}");
        row["sites"]["ops"].clone()
    };
    // The first 7 of 30 operations, however long they take.
    assert_eq!(window("7"), 7);
    // More than the run's: the run's own operations, all of them.
    assert_eq!(window("1000"), 30);
}

#[test]
fn sampled_sites_cover_the_whole_run_and_estimate_the_exact_figures() {
    let exact = bench_sites(1000, &["in-place", "--variant", "naive"]);
    let sampled = bench_sites(
        1000,
        &["in-place", "--variant", "naive", "--sample-every", "32KiB"],
    );
    let (exact, sampled) = (&exact[0]["sites"], &sampled[0]["sites"]);
    assert_eq!(exact["sample_every"], 0);
    assert_eq!(sampled["sample_every"], 32 * 1024);
    assert_eq!(
        sampled["ops"], 1000,
        "a sampled replay covers every operation"
    );
    let by_line = |sites: &Value| -> BTreeMap<u64, (f64, f64)> {
        sites["sites"]
            .as_array()
            .expect("sites")
            .iter()
            .map(|s| {
                (
                    s["line"].as_u64().expect("line"),
                    (
                        number(&s["allocs_per_op"]) + number(&s["reallocs_per_op"]),
                        number(&s["bytes_per_op"]),
                    ),
                )
            })
            .collect()
    };
    let (exact, sampled) = (by_line(exact), by_line(sampled));
    assert_eq!(
        exact.keys().collect::<Vec<_>>(),
        sampled.keys().collect::<Vec<_>>(),
        "the same lines"
    );
    for (line, (events, bytes)) in &exact {
        let (est_events, est_bytes) = sampled[line];
        // Hundreds of samples a line: the estimates land within a few percent.
        assert!(
            (est_bytes / bytes - 1.0).abs() < 0.15,
            "line {line}: {est_bytes} bytes/op estimated, {bytes} exact"
        );
        assert!(
            (est_events / events - 1.0).abs() < 0.25,
            "line {line}: {est_events} events/op estimated, {events} exact"
        );
    }
}
