//! The one fixture for tests that build a user's crate: a new crate in a temporary folder that
//! depends on this heaplab by path, compiled with this workspace's lock file and target folder
//! (`CARGO_TARGET_DIR` when set, else `target/`), so heaplab and its dependencies are built once
//! for every such test and only the user's crate is compiled per test. Each test file that
//! builds a user crate says what its crate holds; this file says how it is built.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A user's crate to build: its binaries, how it depends on heaplab, and any manifest lines.
#[derive(Debug, Default)]
pub struct UserCrate {
    bins: Vec<(String, String)>,
    dependency: String,
    manifest: String,
}

/// A built user crate: the temporary folder it lives in (removed on drop) and its binaries.
#[derive(Debug)]
pub struct Built {
    pub dir: tempfile::TempDir,
    pub bin_dir: PathBuf,
}

impl Built {
    /// The path of the binary `name` (a file of `src/bin/`).
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

impl UserCrate {
    pub fn new() -> Self {
        Self::default()
    }

    /// A binary `src/bin/{name}.rs` holding `source`.
    #[must_use]
    pub fn bin(mut self, name: &str, source: &str) -> Self {
        self.bins.push((name.to_owned(), source.to_owned()));
        self
    }

    /// Extra keys of the heaplab dependency, e.g. `default-features = false`.
    #[must_use]
    pub fn dependency(mut self, keys: &str) -> Self {
        keys.clone_into(&mut self.dependency);
        self
    }

    /// Lines appended to the crate's `Cargo.toml` (a `[profile...]` table, say). A profile
    /// setting for the user's own package only (`[profile.dev.package.userlab]`) keeps heaplab's
    /// build shared with the other tests; one for the whole profile rebuilds every dependency.
    #[must_use]
    pub fn manifest(mut self, lines: &str) -> Self {
        lines.clone_into(&mut self.manifest);
        self
    }

    /// Writes the crate into a new temporary folder and builds its binaries (debug profile),
    /// panicking with cargo's own message when it does not build.
    pub fn build(self) -> Built {
        let dir = tempfile::tempdir().expect("temporary folder");
        let bin_dir = self.build_in(dir.path());
        Built { dir, bin_dir }
    }

    fn build_in(&self, dir: &Path) -> PathBuf {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::create_dir_all(dir.join("src/bin")).expect("folders");
        let separator = if self.dependency.is_empty() { "" } else { ", " };
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"userlab\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
                 [dependencies]\nheaplab = {{ path = {:?}{separator}{} }}\n\n[workspace]\n\n{}\n",
                root.display().to_string(),
                self.dependency,
                self.manifest,
            ),
        )
        .expect("manifest");
        std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("lock file");
        for (name, source) in &self.bins {
            std::fs::write(dir.join(format!("src/bin/{name}.rs")), source).expect("a binary");
        }
        let target = target_dir(root);
        let out = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--bins"])
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "the user's crate builds:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("debug")
    }
}

/// Where this workspace's build lives: the same folder its own tests were built in.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// The rows of a `bench --format json` report, or a panic that shows what was printed instead.
pub fn report_rows(output: &std::process::Output) -> Vec<serde_json::Value> {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "a JSON report ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    report["results"].as_array().cloned().unwrap_or_default()
}

/// The row of `variant` in a report's rows, or a panic that lists them.
pub fn row<'a>(rows: &'a [serde_json::Value], variant: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["variant"] == variant)
        .unwrap_or_else(|| panic!("no row for {variant}: {rows:?}"))
}
