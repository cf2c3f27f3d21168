//! The command line in a lab's own words: in a user's binary, its help and messages name that
//! binary, its experiments and its variants, where heaplab's own speak of the chapter
//! (`heaplab list`, "naive, optimized, crate", buffer-reuse).

use std::ffi::OsStr;

use clap::CommandFactory as _;
use heaplab_experiments::Section;

use super::Cli;
use crate::catalog::{catalog, variant_names};

pub use crate::program::name as program;

/// The name a binary is called by, from its path (`argv[0]`): `lab` for `src/bin/lab.rs`, and
/// for a bench too, whose file cargo names `lab-` and 16 hex digits.
#[must_use]
pub fn program_name(path: &OsStr) -> String {
    let stem = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match stem.rsplit_once('-') {
        Some((name, hash))
            if !name.is_empty()
                && hash.len() == 16
                && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            name.to_owned()
        }
        _ => stem,
    };
    if name.is_empty() {
        "heaplab".to_owned()
    } else {
        name
    }
}

/// Names the program `program` for every message, and returns its command line over the
/// registered catalog: heaplab's, with the help's words that speak of the chapter in the
/// lab's own.
#[must_use]
pub fn lab_command(program: &str) -> clap::Command {
    let program: &'static str = crate::program::set(program);
    let experiments = catalog();
    let own: Vec<&str> = experiments
        .iter()
        .map(|e| e.info())
        .filter(|info| info.section == Section::Yours)
        .map(|info| info.id)
        .collect();
    let first = experiments.first().map(|e| e.info().id).unwrap_or_default();
    let chapter = if own.len() < experiments.len() {
        " and the chapter's"
    } else {
        ""
    };
    let baselines: Vec<&str> = experiments.iter().map(|e| e.info().baseline()).collect();
    let baseline = match baselines.first() {
        Some(&one) if baselines.iter().all(|&b| b == one) => format!(": `{one}`"),
        _ => String::new(),
    };
    let taking: Vec<&str> = experiments
        .iter()
        .filter(|e| e.takes_input())
        .map(|e| e.info().id)
        .collect();
    let input = if taking.is_empty() {
        "Run on this file instead of generated input (none of these experiments takes one)"
            .to_owned()
    } else {
        format!(
            "Run on this file instead of generated input (experiments that take one: {})",
            taking.join(", ")
        )
    };
    let list = format!("see `{program} list`");
    let run_input = input.clone();
    let bench_list = list.clone();
    Cli::command()
        .name(program)
        .bin_name(program)
        .version(leak(format!("(heaplab {})", env!("CARGO_PKG_VERSION"))))
        .about(format!(
            "{program}: your experiments ({}){chapter}, each variant's allocations counted \
             exactly by heaplab, live on the dashboard or headless with `bench`.",
            own.join(", ")
        ))
        .mut_subcommand("list", |c| {
            c.about("List the experiments: id, section, title, variants")
        })
        .mut_subcommand("bench", |c| {
            c.mut_arg("ids", |a| {
                a.help(format!("Experiment ids (default: all; {bench_list})"))
            })
            .mut_arg("variant", |a| {
                a.help(format!(
                    "Which variant to measure: {}, or all",
                    variant_names()
                ))
            })
            .mut_arg("input", |a| a.help(input))
        })
        .mut_subcommand("run", |c| {
            c.mut_arg("id", |a| a.help(format!("The experiment's id ({list})")))
                .mut_arg("variant", |a| {
                    a.help(format!(
                        "The variant to start with (default: the experiment's first, its \
                         baseline{baseline})"
                    ))
                })
                .mut_arg("input", |a| a.help(run_input))
        })
        .mut_subcommand("screenshot", |c| {
            c.about(
                "Draw the dashboard as an SVG picture: an experiment's first variant, then the \
                 switch to the next, measured for real on an off-screen terminal",
            )
            .mut_arg("id", |a| a.default_value(leak(first.to_owned())))
        })
        .mut_subcommand("tour", |c| {
            c.about(
                "The guided tour: every experiment in order, its baseline then the others, \
                 each judged against the targets it claims. `n`/`N` move between steps",
            )
        })
        .mut_subcommand("scorecard", |c| {
            c.about(
                "Measure every experiment against the targets it claims (`.targets`), one row each",
            )
        })
}

/// Text for clap's `&'static str` settings, made once per process.
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_is_named_by_its_file_without_cargos_hash() {
        assert_eq!(program_name(OsStr::new("target/debug/lab")), "lab");
        assert_eq!(
            program_name(OsStr::new("target/release/deps/my-lab-0123456789abcdef")),
            "my-lab"
        );
        assert_eq!(
            program_name(OsStr::new("/x/parse-csv-2024")),
            "parse-csv-2024"
        );
        assert_eq!(program_name(OsStr::new("")), "heaplab");
    }
}
