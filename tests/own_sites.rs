//! Allocation sites in a user's own crate, built in a temporary folder (`tests/user_crate`):
//! without line tables the sites name the user's functions and one line says what to add to
//! `Cargo.toml`; with them, every frame outside the user's workspace folds by what it is (std's
//! vendored hashbrown included), a closure is named by its enclosing function, files are
//! relative to the workspace (the absolute path beside), and the folded frames are kept in
//! the stack. Each binary is run directly, from another folder, without cargo's environment.

mod user_crate;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use user_crate::UserCrate;

/// A lab whose variants allocate on known lines: through a helper and its closure, through a
/// `HashMap` (std's vendored hashbrown), and through a helper in another file of the
/// workspace.
const LAB: &str = r#"
#[path = "helpers.rs"]
mod helpers;

#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

#[inline(never)]
fn normalize_record(items: &[usize]) -> Vec<String> {
    items.iter().map(|i| format!("{i}")).collect()
}

fn main() -> std::process::ExitCode {
    heaplab::Lab::new()
        .experiment("own", |e| {
            e.size("items", 4)
                .variant("record", |size| {
                    let items: Vec<usize> = (0..size).collect();
                    move || normalize_record(&items).len()
                })
                .variant("map", |size| {
                    move || {
                        let mut map = std::collections::HashMap::new();
                        for i in 0..size { map.insert(i, i); }
                        map.len()
                    }
                })
                .variant("helper", |size| move || helpers::spell(size).len())
        })
        .main()
}
"#;

/// Another file of the user's workspace (a binary of its own too, so the fixture writes it).
const HELPERS: &str = r"
#![allow(dead_code)]

#[inline(never)]
pub fn spell(n: usize) -> String {
    let mut word = String::with_capacity(n);
    for _ in 0..n {
        word.push('x');
    }
    word
}

fn main() {}
";

/// The lab, built as `name` with `profile` lines for the user's package only (heaplab's own
/// build stays the one every test shares).
fn build(name: &str, profile: &str) -> user_crate::Built {
    UserCrate::new()
        .bin(name, LAB)
        .bin("helpers", HELPERS)
        .manifest(&format!("[profile.dev.package.userlab]\n{profile}"))
        .build()
}

/// `bench --sites --format json` of every variant, run directly from `/`, not from the crate's
/// folder, with no `CARGO_MANIFEST_DIR` (what `cargo run` would set).
fn bench_sites(binary: &Path) -> (Vec<Value>, Output) {
    let out = Command::new(binary)
        .args(["bench", "own", "--sites", "--format", "json"])
        .args(["--iterations", "20", "--runs", "1"])
        .current_dir("/")
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .expect("the lab runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let rows = report["results"].as_array().cloned().unwrap_or_default();
    (rows, out)
}

fn sites_of<'a>(rows: &'a [Value], variant: &str) -> &'a Value {
    &rows
        .iter()
        .find(|r| r["variant"] == variant)
        .unwrap_or_else(|| panic!("no row for {variant}: {rows:?}"))["sites"]
}

fn list(sites: &Value) -> Vec<Value> {
    sites["sites"].as_array().cloned().unwrap_or_default()
}

fn line_of(source: &str, text: &str) -> u64 {
    source
        .lines()
        .position(|l| l.contains(text))
        .expect("the line is in the source") as u64
        + 1
}

#[test]
fn without_line_tables_sites_name_the_users_functions_and_say_what_to_add() {
    let built = build("sites_unlined", "debug = false");
    let (rows, out) = bench_sites(&built.bin("sites_unlined"));

    // One line, with the exact lines to add for the profile the binary was built with.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let advice: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("line tables"))
        .collect();
    assert_eq!(advice.len(), 1, "{stderr}");
    assert!(
        advice[0].contains("[profile.dev] debug = \"line-tables-only\""),
        "{stderr}"
    );

    let record = sites_of(&rows, "record");
    assert_eq!(record["missing_line_tables"], true, "{record}");
    let sites = list(record);
    // Every allocation is charged to a function of the user's, never to no frame at all.
    for site in &sites {
        let function = site["function"].as_str().unwrap_or_default();
        assert!(
            function.starts_with("sites_unlined::"),
            "a function of the user's crate: {site}"
        );
        assert_eq!(site["file"], "", "{site}");
    }
    // The strings are made in the helper's closure, the vector in the helper.
    assert!(
        sites.iter().any(|s| s["function"]
            .as_str()
            .is_some_and(|f| f.contains("normalize_record::{{closure}}"))
            && s["allocs_per_op"] == 4.0),
        "{sites:?}"
    );
    assert!(
        sites
            .iter()
            .any(|s| s["function"] == "sites_unlined::normalize_record"),
        "{sites:?}"
    );

    // The table's site lines name the function where the line would be, not `:0`.
    let out = Command::new(built.bin("sites_unlined"))
        .args(["bench", "own", "--variant", "record", "--sites"])
        .args(["--iterations", "20", "--runs", "1"])
        .output()
        .expect("the lab runs");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!table.contains(":0 "), "{table}");
    assert!(
        table.contains("  normalize_record::{{closure}}  "),
        "{table}"
    );
}

#[test]
fn with_line_tables_sites_are_the_users_lines_in_their_workspace() {
    // Optimized, so that closures are inlined and the line tables name them alone.
    let built = build("sites_lined", "opt-level = 3\ndebug = \"line-tables-only\"");
    let (rows, out) = bench_sites(&built.bin("sites_lined"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("line tables"), "{stderr}");

    let file = "src/bin/sites_lined.rs";
    let all: Vec<Value> = ["record", "map", "helper"]
        .iter()
        .flat_map(|v| list(sites_of(&rows, v)))
        .collect();
    for site in &all {
        // Relative to the workspace, as `file!()` spells it; the absolute path beside it.
        let relative = site["file"].as_str().unwrap_or_default();
        let absolute = site["absolute_file"].as_str().unwrap_or_default();
        assert!(
            relative.starts_with("src/bin/") && Path::new(absolute).is_absolute(),
            "{site}"
        );
        assert!(absolute.ends_with(&format!("/{relative}")), "{site}");
    }

    // A closure is named by the function it is in.
    let record = list(sites_of(&rows, "record"));
    let closure = record
        .iter()
        .find(|s| s["allocs_per_op"] == 4.0)
        .unwrap_or_else(|| panic!("the closure's four strings: {record:?}"));
    let function = closure["function"].as_str().unwrap_or_default();
    assert!(
        function.contains("normalize_record::{"),
        "named by its enclosing function: {closure}"
    );
    assert_eq!(closure["file"], file);
    assert_eq!(closure["line"], line_of(LAB, "format!(\"{i}\")"));

    // std's vendored hashbrown folds: the site is the user's `insert` line, and the frames
    // below it are still in the stack, folded.
    let map = list(sites_of(&rows, "map"));
    assert_eq!(map.len(), 1, "{map:?}");
    assert_eq!(map[0]["file"], file, "{map:?}");
    assert_eq!(map[0]["line"], line_of(LAB, "map.insert(i, i)"));
    let stack = map[0]["stack"].as_array().cloned().unwrap_or_default();
    assert!(
        stack
            .iter()
            .any(|f| f["folded"] == true
                && f["file"].as_str().is_some_and(|p| p.contains("hashbrown"))),
        "the folded hashbrown frames are kept: {stack:?}"
    );
    assert!(
        stack
            .iter()
            .any(|f| f["folded"] == false && f["file"] == file),
        "{stack:?}"
    );

    // Another file of the workspace is the user's code too.
    let helper = list(sites_of(&rows, "helper"));
    assert_eq!(helper.len(), 1, "{helper:?}");
    assert_eq!(helper[0]["file"], "src/bin/helpers.rs", "{helper:?}");
    assert_eq!(
        helper[0]["line"],
        line_of(HELPERS, "String::with_capacity(n)"),
        "{helper:?}"
    );
}

/// The README's own-code section shows the lines the advice asks for, and the advice asks
/// for exactly them.
#[test]
fn the_readme_shows_the_profile_lines_the_advice_asks_for() {
    let readme = include_str!("../README.md");
    let section = readme
        .split("## Your own code")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a section for your own code");
    assert!(
        section.contains("```toml\n[profile.release]\ndebug = \"line-tables-only\"\n```"),
        "{section}"
    );
    let advice = heaplab::sites::line_tables_advice();
    assert!(
        advice.contains("debug = \"line-tables-only\"") && advice.contains("Cargo.toml"),
        "{advice}"
    );
}
