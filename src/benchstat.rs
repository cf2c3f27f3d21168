//! `heaplab compare OLD.json NEW.json`: benchstat for heaplab. Two `bench --format json`
//! exports (before and after a change) matched per experiment, variant and size, every figure
//! judged ([`crate::results::Change`]), the rows only one side has listed, and what the reader
//! must know of where the exports come from (their hosts). How it reads, and the lines
//! `--fail-on` prints, are [`crate::report::compare`]'s.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::results::{
    Change, Host, OTHER_OPERATIONS_TOLERANCE_PCT, RowStatus, SCHEDULING_TOLERANCE_PCT, TimeRules,
    VariantRow,
};

/// A bench export, as `heaplab bench --format json` writes it, or a dashboard's session file
/// (the same rows, with a `session` header). Exports from before the host was recorded have
/// none.
#[derive(Deserialize)]
struct Export {
    results: Vec<VariantRow>,
    #[serde(default)]
    session: Option<crate::session::SessionInfo>,
    #[serde(default)]
    host: Option<Host>,
}

/// An experiment variant at a size: a row's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowName {
    /// The experiment's id.
    pub experiment: String,
    /// The variant's name.
    pub variant: String,
    /// The workload size.
    pub size: usize,
    /// Why it was not compared (`None` for a row only one side has).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl RowName {
    fn of(row: &VariantRow, why: Option<String>) -> Self {
        RowName {
            experiment: row.experiment.to_string(),
            variant: row.variant.to_string(),
            size: row.size,
            why,
        }
    }

    /// `buffer-reuse optimized (size 4096)`.
    #[must_use]
    pub fn text(&self) -> String {
        format!("{} {} (size {})", self.experiment, self.variant, self.size)
    }
}

/// The changes between two exports, and what the reader must know of where they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// The two files, as given.
    pub paths: [String; 2],
    /// One per experiment, variant and size both measured to the end.
    pub changes: Vec<Change>,
    /// Rows only the old export has.
    pub only_old: Vec<RowName>,
    /// Rows only the new export has.
    pub only_new: Vec<RowName>,
    /// Rows both have that did not run to the end on one side, with why.
    pub not_compared: Vec<RowName>,
    /// How time was judged.
    pub rules: TimeRules,
    /// Lines the reader must know: hosts, session files, tolerances used.
    pub notes: Vec<String>,
}

/// Why two exports cannot be compared: one line for the user, status 2.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A file could not be read.
    #[error("cannot read `{path}`: {reason}")]
    Read {
        /// The path given.
        path: String,
        /// What the system said.
        reason: String,
    },
    /// A file is not a bench export.
    #[error(
        "`{path}` is not a heaplab bench export (make one with `heaplab bench --format json -o FILE`): {reason}"
    )]
    NotAnExport {
        /// The path given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A binary's bench could not be run (`compare --run`).
    #[error("could not run `{path} bench`: {reason}")]
    Run {
        /// The binary given.
        path: String,
        /// What the system, or the binary, said.
        reason: String,
    },
    /// The exports have no row in common.
    #[error(
        "`{old}` and `{new}` have no experiment and variant measured at the same size in common"
    )]
    NothingInCommon {
        /// The first path.
        old: String,
        /// The second path.
        new: String,
    },
}

fn read(path: &Path) -> Result<Export, CompareError> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| CompareError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let export: Export = serde_json::from_slice(&text).map_err(|e| CompareError::NotAnExport {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    Ok(export)
}

/// What a session file's runs are: not independent processes, as bench's are.
fn session_note(path: &Path, export: &Export) -> Option<String> {
    export.session.as_ref().map(|s| {
        format!(
            "`{}` is a dashboard session: its runs are the dashboard's {} ms samples of one \
             worker at a time, not independent runs, so its intervals are narrower than a bench \
             export's",
            path.display(),
            s.sample_every_ms
        )
    })
}

/// Whether the hosts differ, and the lines that say where the exports were measured.
fn host_notes(paths: [&Path; 2], hosts: [Option<&Host>; 2]) -> (bool, Vec<String>) {
    let [Some(old), Some(new)] = hosts else {
        let lines = paths
            .iter()
            .zip(hosts)
            .filter(|(_, host)| host.is_none())
            .map(|(path, _)| {
                format!(
                    "`{}` does not say where it was measured (an export from before hosts were \
                     recorded): time is judged as if both came from one host",
                    path.display()
                )
            })
            .collect();
        return (false, lines);
    };
    let differences = old.differences(new);
    if differences.is_empty() {
        let line = format!(
            "host: {}, {} cores, kernel {}, heaplab {}, bench {}",
            old.cpu,
            old.cores,
            old.kernel,
            old.heaplab_version,
            old.bench.text()
        );
        return (false, vec![line]);
    }
    let line = format!(
        "hosts differ ({}): no time change is called significant; compare exports taken on \
         one machine with the same bench options",
        differences.join("; ")
    );
    (true, vec![line])
}

fn same_row(a: &VariantRow, b: &VariantRow) -> bool {
    a.experiment == b.experiment && a.variant == b.variant && a.size == b.size
}

/// Whether `row`'s experiment, in this process's catalog, declares that its variant's
/// allocations depend on scheduling (false for an experiment this binary does not know).
fn depends_on_scheduling(row: &VariantRow) -> bool {
    crate::catalog::find(&row.experiment).is_some_and(|experiment| {
        experiment
            .info()
            .variant_index(&row.variant)
            .is_some_and(|index| experiment.depends_on_scheduling(index))
    })
}

/// Compares the rows of two exports: those both have (same experiment, variant and size), in
/// the order of `old`, judged by `min_effect_pct` for time; those only one has, listed.
pub fn compare(
    old_path: &Path,
    new_path: &Path,
    min_effect_pct: f64,
) -> Result<Compared, CompareError> {
    let old_export = read(old_path)?;
    let new_export = read(new_path)?;
    compare_exports(
        [old_path, new_path],
        &old_export,
        &new_export,
        min_effect_pct,
    )
}

/// `compare --run BASE NEW -- BENCH_ARGS`: both binaries' benches measured here, one run of
/// each per round, `rounds` times, the two alternating which goes first, so that the machine's
/// drift falls on both sides alike; then compared as two exports of `rounds` runs each.
pub fn run_interleaved(
    [base, new]: [&Path; 2],
    bench_args: &[String],
    rounds: usize,
    min_effect_pct: f64,
) -> Result<Compared, CompareError> {
    let mut sides: [Vec<Export>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            sides[side].push(bench_once([base, new][side], bench_args)?);
        }
    }
    let [old, new_side] = sides.map(merge_runs);
    compare_exports([base, new], &old, &new_side, min_effect_pct)
}

/// One `BIN bench ARGS --runs 1 --format json`, read as an export.
fn bench_once(bin: &Path, args: &[String]) -> Result<Export, CompareError> {
    let shown = bin.display().to_string();
    let out = std::process::Command::new(bin)
        .arg("bench")
        .args(args)
        .args(["--runs", "1", "--format", "json"])
        .output()
        .map_err(|e| CompareError::Run {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    // Status 3 is a row over its budget: the export is whole, that row is listed.
    if !(out.status.success() || out.status.code() == Some(3)) {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(CompareError::Run {
            path: shown,
            reason: said.lines().last().unwrap_or("no message").to_owned(),
        });
    }
    serde_json::from_slice(&out.stdout).map_err(|e| CompareError::NotAnExport {
        path: format!("{shown} bench"),
        reason: e.to_string(),
    })
}

/// One export of several one-run exports: each row aggregated over its runs, in the order
/// rows first appear; the first export's host.
fn merge_runs(exports: Vec<Export>) -> Export {
    let host = exports.iter().find_map(|e| e.host.clone());
    let mut groups: Vec<Vec<VariantRow>> = Vec::new();
    for row in exports.into_iter().flat_map(|e| e.results) {
        match groups.iter_mut().find(|g| same_row(&g[0], &row)) {
            Some(group) => group.push(row),
            None => groups.push(vec![row]),
        }
    }
    Export {
        results: groups
            .iter()
            .filter_map(|runs| VariantRow::aggregate(runs))
            .collect(),
        session: None,
        host,
    }
}

/// Compares two exports read from `paths` (see [`compare`]).
fn compare_exports(
    [old_path, new_path]: [&Path; 2],
    old_export: &Export,
    new_export: &Export,
    min_effect_pct: f64,
) -> Result<Compared, CompareError> {
    let (hosts_differ, mut notes) = host_notes(
        [old_path, new_path],
        [old_export.host.as_ref(), new_export.host.as_ref()],
    );
    notes.extend(
        [(old_path, old_export), (new_path, new_export)]
            .into_iter()
            .filter_map(|(path, export)| session_note(path, export)),
    );
    let rules = TimeRules {
        min_effect_pct,
        hosts_differ,
    };
    let (old, new) = (&old_export.results, &new_export.results);
    let mut changes = Vec::new();
    let mut not_compared = Vec::new();
    let mut only_old = Vec::new();
    for before in old {
        let Some(after) = new.iter().find(|r| same_row(r, before)) else {
            only_old.push(RowName::of(before, None));
            continue;
        };
        let stopped = [before, after]
            .into_iter()
            .zip(["old", "new"])
            .find(|(row, _)| row.status != RowStatus::Ok);
        if let Some((row, side)) = stopped {
            let why = row
                .error
                .clone()
                .unwrap_or_else(|| format!("{:?}", row.status));
            not_compared.push(RowName::of(before, Some(format!("{side}: {why}"))));
            continue;
        }
        changes.push(Change::between(
            before,
            after,
            depends_on_scheduling(before),
            rules,
        ));
    }
    let only_new = new
        .iter()
        .filter(|after| !old.iter().any(|before| same_row(before, after)))
        .map(|row| RowName::of(row, None))
        .collect();
    if changes.is_empty() && not_compared.is_empty() {
        return Err(CompareError::NothingInCommon {
            old: old_path.display().to_string(),
            new: new_path.display().to_string(),
        });
    }
    notes.extend(tolerance_notes(&changes));
    Ok(Compared {
        paths: [old_path, new_path].map(|p| p.display().to_string()),
        changes,
        only_old,
        only_new,
        not_compared,
        rules,
        notes,
    })
}

/// Which rows' counts were compared with a tolerance, and why.
fn tolerance_notes(changes: &[Change]) -> Vec<String> {
    let mut notes = Vec::new();
    let sampled = changes
        .iter()
        .filter(|c| !c.same_operations && !c.depends_on_scheduling)
        .count();
    if sampled > 0 {
        notes.push(format!(
            "{sampled} of {} rows measured different numbers of operations (time-bound runs): \
             their counts are averages over different stretches of the workload, compared \
             within {OTHER_OPERATIONS_TOLERANCE_PCT}%; bench both with the same `--iterations N \
             --runs K` to compare them exactly",
            changes.len()
        ));
    }
    for c in changes.iter().filter(|c| c.depends_on_scheduling) {
        notes.push(format!(
            "{} {} allocates depending on thread scheduling: its counts are compared within \
             {SCHEDULING_TOLERANCE_PCT}%",
            c.experiment, c.variant
        ));
    }
    notes
}
