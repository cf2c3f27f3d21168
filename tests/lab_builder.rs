//! The builder's shapes in a user's crate: one crate (built once, through `tests/user_crate`)
//! whose one binary, `shapes`, declares an op with state of its own over the shared input, a
//! result that borrows from the input, ops returning `Result`, a result whose `Hash`
//! allocates, work counted from the input, and the calls in the order a user may write them.
//! It must compile, give exact counts, report an `Err` as its run's error, and speak of
//! `shapes` and its variants, never of the chapter. A second crate, which must not compile,
//! puts an op before its input and gives an experiment two inputs, and reads the compiler's
//! messages.

mod user_crate;

use std::process::{Command, Output};

use serde_json::Value;
use user_crate::{UserCrate, row};

const SHAPES: &str = r#"
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

/// A result whose `Hash` allocates, as serde_json's `Map` does with `preserve_order`.
struct Noisy(u64);

impl std::hash::Hash for Noisy {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(*Box::new(self.0));
    }
}

/// `0,x0,y`, `1,x1,y`...
fn make(size: usize) -> Vec<String> {
    (0..size).map(|i| format!("{i},x{i},y")).collect()
}

fn main() -> std::process::ExitCode {
    heaplab::Lab::new()
        .experiment("shapes", |e| {
            e.input(make)
                .size("records", 90)
                .summary("reuse", "one buffer for the run")
                .work("bytes", |lines| lines.iter().map(|l| l.len() as u64).sum())
                .op("value", |lines| lines.iter().map(|l| l.to_owned().len()).sum::<usize>())
                .op_mut("reuse", |lines| {
                    let mut buffer = String::with_capacity(lines.iter().map(String::len).max().unwrap_or(0));
                    move |lines| {
                        lines.iter().map(|l| { buffer.clear(); buffer.push_str(l); buffer.len() }).sum::<usize>()
                    }
                })
                .op_sink("fields", |lines, sink| {
                    let mut fields = Vec::with_capacity(3 * lines.len());
                    fields.extend(lines.iter().flat_map(|l| l.split(',')));
                    sink.put(fields)
                })
                .try_op("parsed", |lines| {
                    lines.iter().map(|l| l.split(',').next().unwrap_or("").parse::<usize>()).sum::<Result<usize, std::num::ParseIntError>>()
                })
                .try_op("strict", |lines| lines.iter().map(|l| l.parse::<usize>()).sum::<Result<usize, _>>())
                .op("noisy", |lines| Noisy(lines.len() as u64))
                .title("The builder's shapes")
        })
        .main()
}
"#;

const OP_BEFORE_INPUT: &str = r#"
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

fn main() -> std::process::ExitCode {
    heaplab::Lab::new()
        .experiment("early", |e| e.op("len", |text: &String| text.len()).input(|size| "x".repeat(size)))
        .experiment("twice", |e| e.input(|size| size).input(|size| "x".repeat(size)).op("len", |text| text.len()))
        .main()
}
"#;

fn run(built: &user_crate::Built, args: &[&str]) -> Output {
    Command::new(built.bin("shapes"))
        .args(args)
        .output()
        .expect("runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_users_builder_shapes_compile_measure_exactly_and_speak_its_names() {
    let built = UserCrate::new().bin("shapes", SHAPES).build();

    let out = run(
        &built,
        &[
            "bench",
            "--format",
            "json",
            "--iterations",
            "200",
            "--runs",
            "1",
        ],
    );
    let rows = user_crate::report_rows(&out);
    // One String per record; a buffer set up once per run, outside the measured region.
    assert_eq!(row(&rows, "value")["allocs_per_op"], 90.0);
    assert_eq!(row(&rows, "reuse")["allocs_per_op"], 0.0);
    assert_eq!(row(&rows, "reuse")["vs_naive"]["same_checksum"], true);
    // A result that borrows from the input: its Vec, and nothing else.
    assert_eq!(row(&rows, "fields")["allocs_per_op"], 1.0);
    assert_eq!(row(&rows, "parsed")["status"], "ok");
    assert_eq!(row(&rows, "parsed")["allocs_per_op"], 0.0);
    // Hashing happens in the warm-up only: a result whose Hash allocates costs nothing here.
    assert_eq!(row(&rows, "noisy")["allocs_per_op"], 0.0);
    // Nor in its first operation, which runs in the warm-up.
    assert_eq!(row(&rows, "noisy")["first_op"]["allocs"], 0);
    // An Err is the run's error, as a panic is, naming the variant and its line.
    let strict = row(&rows, "strict");
    assert_eq!(strict["status"], "panicked");
    let error = strict["error"].as_str().unwrap_or_default();
    let line = SHAPES
        .lines()
        .position(|l| l.contains(".try_op(\"strict\""))
        .expect("the line")
        + 1;
    assert!(
        error.contains("`strict` returned an error: invalid digit found in string"),
        "{error}"
    );
    assert!(
        error.contains(&format!("src/bin/shapes.rs:{line}")),
        "{error}"
    );
    // The work is counted from the input: its bytes, per operation.
    let bytes: usize = (0..90).map(|i| format!("{i},x{i},y").len()).sum();
    let value = row(&rows, "value");
    assert_eq!(value["work_unit"], "bytes");
    let per_op = value["work_per_sec"].as_f64().unwrap_or_default()
        / value["ops_per_sec"].as_f64().unwrap_or(1.0);
    assert!(
        (per_op - bytes as f64).abs() < 1e-6 * bytes as f64,
        "{per_op} bytes/op, not {bytes}"
    );

    // A summary given before its variant is that variant's.
    let out = run(&built, &["list", "--format", "json"]);
    let list: Value = serde_json::from_slice(&out.stdout).expect("a JSON list");
    let variants = list[0]["variants"].as_array().cloned().unwrap_or_default();
    let summary = |name: &str| {
        variants
            .iter()
            .find(|v| v["name"] == name)
            .map(|v| v["summary"].clone())
    };
    assert_eq!(
        summary("reuse"),
        Some(Value::from("one buffer for the run"))
    );
    assert_eq!(summary("noisy"), Some(Value::from("")));

    speaks_of_itself_and_its_variants(&built);
}

/// In the user's binary, help and messages name `shapes`, its experiment and its variants.
fn speaks_of_itself_and_its_variants(built: &user_crate::Built) {
    let mut help = String::new();
    for args in [
        &["--help"][..],
        &["bench", "--help"],
        &["run", "--help"],
        &["screenshot", "--help"],
        &["tour", "--help"],
    ] {
        let out = run(built, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        help.push_str(&text(&out.stdout));
    }
    for chapter in [
        "heaplab list",
        "naive",
        "optimized, crate",
        "buffer-reuse",
        "chapter",
    ] {
        assert!(
            !help.contains(chapter),
            "help speaks of {chapter:?}:\n{help}"
        );
    }
    assert!(help.contains("Usage: shapes [OPTIONS] [COMMAND]"), "{help}");
    assert!(help.contains("see `shapes list`"), "{help}");
    assert!(
        help.contains("value, reuse, fields, parsed, strict, noisy, or all"),
        "{help}"
    );
    assert!(
        help.contains("[default: shapes]"),
        "screenshot's id:\n{help}"
    );

    let out = run(built, &["bench", "--variant", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    let error = text(&out.stderr);
    assert!(error.contains("value, reuse, fields"), "{error}");
    assert!(
        !error.contains("heaplab") && !error.contains("naive"),
        "{error}"
    );

    let out = run(built, &["list", "--presenter"]);
    let error = text(&out.stderr);
    assert!(!error.contains("heaplab"), "{error}");

    // The comparison column is named after the baseline.
    let out = run(
        built,
        &[
            "bench",
            "--variant",
            "noisy",
            "--iterations",
            "10",
            "--runs",
            "1",
        ],
    );
    let table = text(&out.stdout);
    let header = table.lines().next().unwrap_or_default();
    assert!(header.trim_end().ends_with("vs value"), "{table}");
}

#[test]
fn an_op_before_its_input_or_a_second_input_is_a_compile_error_that_says_what_to_do() {
    // The fixture panics with cargo's own message when a crate does not build: that message
    // is what this test reads.
    let failed =
        std::panic::catch_unwind(|| UserCrate::new().bin("early", OP_BEFORE_INPUT).build());
    let payload = failed.expect_err("an op before the input does not compile");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains(
            "op variants work on the experiment's input, and this experiment has none yet"
        ),
        "{message}"
    );
    assert!(
        message.contains("call `.input(|size| ...)` before the first op variant"),
        "{message}"
    );
}
