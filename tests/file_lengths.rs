//! "No file over 700 lines of non-test code" for the dashboard (`src/ui`) and the lab API
//! (`src/lab`): inline `#[cfg(test)] mod` blocks do not count. The folders split to keep to it
//! are walked whole, so a file added there later is held to it too.

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
fn no_dashboard_or_lab_file_is_over_700_lines_of_non_test_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = rust_files(&root.join("src/ui"));
    files.extend(rust_files(&root.join("src/lab")));
    // The lab was one file before it became a folder.
    files.push(root.join("src/lab.rs"));
    let mut checked = 0;
    let mut over = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        checked += 1;
        let lines = non_test_lines(&text);
        if lines > LIMIT {
            over.push(format!("{}: {lines}", path.display()));
        }
    }
    assert!(
        checked >= 20,
        "only {checked} files found under src/ui and src/lab"
    );
    assert!(
        over.is_empty(),
        "over {LIMIT} lines of non-test code (split them): {over:?}"
    );
}
