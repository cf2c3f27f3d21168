//! Allocation sites as this program names them: [`heaplab_experiments::sites::symbolize`]
//! over the experiments this process registered (their source files say where their
//! workspace is), with the frames of heaplab's own glue folded too, so that a lab's sites are
//! its own lines; and the one line that says what to add when a build has no line tables.

use std::sync::OnceLock;

use heaplab_experiments::sites::{RawSites, Scope, Sites};

/// The file that calls a lab's closures: its frames are heaplab's, not the experiment's.
const LAB_GLUE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/lab/closure.rs");

/// Symbolizes a window of allocation sites captured by a worker of this executable.
#[must_use]
pub fn symbolize(raw: &RawSites) -> Sites {
    heaplab_experiments::sites::symbolize(
        raw,
        &Scope {
            own_files: own_files(),
            also_folded: &[LAB_GLUE],
            also_folded_crates: &[env!("CARGO_CRATE_NAME")],
        },
    )
}

/// The source files of this process's experiments, as rustc was given them: the chapter's
/// `file!()`s, a lab's variants' `Location::file()`s (read from the `// FILE:LINE` lines of
/// their source, `src/lab/source.rs`).
fn own_files() -> &'static [&'static str] {
    static FILES: OnceLock<Vec<&'static str>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut files: Vec<&'static str> = Vec::new();
        for experiment in crate::catalog::catalog() {
            let info = experiment.info();
            files.push(info.source_file);
            for variant in info.variants {
                for line in info.variant_lines(variant.name).unwrap_or_default() {
                    files.push(line.file);
                }
            }
        }
        files.retain(|file| !file.is_empty());
        files.sort_unstable();
        files.dedup();
        files
    })
}

/// The one line that says why sites name functions, not lines, and exactly what to add to
/// `Cargo.toml` for lines: for the profile this executable was built with (its folder:
/// `target/release` for `--release` and `cargo bench`, `target/debug` for the dev profile).
#[must_use]
pub fn line_tables_advice() -> String {
    let profile = std::env::current_exe()
        .ok()
        .and_then(|exe| profile_of(&exe))
        .unwrap_or_else(|| "release".to_owned());
    let inherits = if profile == "release" {
        " (cargo bench's profile inherits it)"
    } else {
        ""
    };
    format!(
        "sites name functions, not lines: your code was built without line tables. Add to \
         Cargo.toml: [profile.{profile}] debug = \"line-tables-only\"{inherits}"
    )
}

/// The cargo profile an executable at `exe` was built with, from its folder
/// (`target/debug/examples/x`: `dev`).
fn profile_of(exe: &std::path::Path) -> Option<String> {
    let mut dir = exe.parent()?;
    if dir
        .file_name()
        .is_some_and(|name| name == "deps" || name == "examples")
    {
        dir = dir.parent()?;
    }
    let name = dir.file_name()?.to_str()?;
    Some(if name == "debug" { "dev" } else { name }.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_is_the_folder_the_executable_was_built_in() {
        let profile = |path: &str| profile_of(std::path::Path::new(path));
        assert_eq!(profile("/w/target/release/lab").as_deref(), Some("release"));
        assert_eq!(
            profile("/w/target/release/deps/lab-0a1b").as_deref(),
            Some("release")
        );
        assert_eq!(
            profile("/w/target/debug/examples/parse_csv").as_deref(),
            Some("dev")
        );
        assert_eq!(
            profile("/w/target/profiling/lab").as_deref(),
            Some("profiling")
        );
    }

    #[test]
    fn the_chapters_own_files_are_its_experiments_sources() {
        let files = own_files();
        assert!(
            files.contains(&"experiments/src/chapter/in_place.rs"),
            "{files:?}"
        );
    }
}
