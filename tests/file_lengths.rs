//! "No file over 700 lines of non-test code", for both crates (`src/` and `experiments/src/`):
//! inline `#[cfg(test)] mod` blocks do not count. The folders are walked whole, so a file added
//! later is held to it too.

use std::path::{Path, PathBuf};

/// The most lines of non-test code a file may have.
const LIMIT: usize = 700;

/// The Rust files under `dir`, at any depth.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The lines of `text` before its inline test module (`#[cfg(test)]` then `mod`).
fn non_test_lines(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .position(|w| w[0] == "#[cfg(test)]" && w[1].starts_with("mod "))
        .unwrap_or(lines.len())
}

#[test]
fn counting_stops_at_the_inline_test_module() {
    let text = "//! a\nfn f() {}\n#[cfg(test)]\nfn helper() {}\n#[cfg(test)]\nmod tests {\n}\n";
    assert_eq!(non_test_lines(text), 4);
    assert_eq!(non_test_lines("//! a\nfn f() {}\n"), 2);
}

#[test]
fn no_file_of_either_crate_is_over_700_lines_of_non_test_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = rust_files(&root.join("src"));
    files.extend(rust_files(&root.join("experiments/src")));
    let mut over = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let lines = non_test_lines(&text);
        if lines > LIMIT {
            over.push(format!("{}: {lines}", path.display()));
        }
    }
    assert!(files.len() >= 80, "only {} files found", files.len());
    assert!(
        over.is_empty(),
        "over {LIMIT} lines of non-test code (split them): {over:?}"
    );
}
