//! `heaplab bench`: measure experiments headless, one row per experiment and variant, like
//! `go test -benchmem`, in table, JSON, CSV or Markdown.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::thread;

use heaplab_experiments::compare::Figures;
pub use heaplab_experiments::compare::{Comparison, SpeedVerdict};
use heaplab_experiments::measure::{self, Live, Measurement, Sample, Spec, Status, Stop};
use heaplab_experiments::sites::Sites;
use heaplab_experiments::stats;
use heaplab_experiments::worker::{Job, Launcher, Message, Process};
use heaplab_experiments::{Experiment, ExperimentInfo, SetupError, counting};
use serde::{Deserialize, Serialize};

use crate::units;

/// What to measure: experiments, each with the variants to run and a size.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The experiments, in the order given.
    pub items: Vec<PlanItem>,
    /// How long to measure each run of a variant.
    pub stop: Stop,
    /// Independent runs of each variant (each in a fresh worker process, the variants of an
    /// experiment taking turns), whose spread the figures report.
    pub runs: usize,
    /// The memory budget per row: past it a variant is stopped and reported `over_budget`.
    pub budget: Option<u64>,
    /// A user's file to run on instead of generated input (experiments that take one).
    pub input: Option<PathBuf>,
    /// Capture each row's allocation sites: after its measured operations, the workload set
    /// up again and the same operations replayed with every allocation captured (the first
    /// ones only past two seconds), in no other figure ([`heaplab_experiments::sites`]).
    pub sites: bool,
    /// With `sites`: 0 to capture every allocation of the replay, else one per about this many
    /// bytes, over every operation of the run (estimates).
    pub sites_sample_every: u64,
    /// With `sites`: replay the first this many operations of each run however long that
    /// takes, instead of at most two seconds of them (a window that does not depend on how
    /// fast the machine is).
    pub sites_ops: Option<u64>,
}

/// One experiment in a plan.
#[derive(Debug, Clone)]
pub struct PlanItem {
    /// The experiment.
    pub experiment: &'static dyn Experiment,
    /// Variant names to measure, in the experiment's order.
    pub variants: Vec<&'static str>,
    /// The workload size.
    pub size: usize,
}

/// Which variants to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariantChoice {
    /// Every variant of every experiment.
    All,
    /// Only this one.
    Named(String),
}

/// A request that cannot be measured: a bad id, variant or size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// No experiment has this id.
    #[error("unknown experiment `{id}`; valid ids: {valid}")]
    UnknownExperiment {
        /// The id given.
        id: String,
        /// The ids there are.
        valid: String,
    },
    /// None of the chosen experiments has this variant.
    #[error(
        "no chosen experiment has a variant `{0}`; variants are naive, optimized and, for some, crate (see `heaplab list`)"
    )]
    UnknownVariant(String),
    /// The variant or size does not fit an experiment.
    #[error(transparent)]
    Setup(#[from] SetupError),
}

/// Runs per variant by default: six is the fewest whose median has a 95% interval (order
/// statistics: five reach 93.75% at best), and with [`DEFAULT_RUN_TIME`] the whole catalog
/// benches in about a minute.
pub const DEFAULT_RUNS: usize = 6;

/// Measured time per run by default.
pub const DEFAULT_RUN_TIME: std::time::Duration = std::time::Duration::from_millis(200);

/// Builds a plan from the command line's choices, checking everything before anything runs.
///
/// With explicit ids, each must have the chosen variant; with none (every experiment), those
/// that lack it are skipped.
pub fn plan(
    ids: &[String],
    variant: &VariantChoice,
    size: Option<usize>,
    stop: Stop,
) -> Result<Plan, PlanError> {
    let experiments: Vec<&'static dyn Experiment> = if ids.is_empty() {
        crate::catalog::catalog().to_vec()
    } else {
        ids.iter()
            .map(|id| {
                crate::catalog::find(id).ok_or_else(|| PlanError::UnknownExperiment {
                    id: id.clone(),
                    valid: crate::catalog::ids(),
                })
            })
            .collect::<Result<_, _>>()?
    };
    let mut items = Vec::new();
    for experiment in experiments {
        let info = experiment.info();
        let size = size.unwrap_or(info.default_size);
        let variants: Vec<&'static str> = match variant {
            VariantChoice::All => info.variants.iter().map(|v| v.name).collect(),
            VariantChoice::Named(name) => match info.variant_index(name) {
                Some(index) => vec![info.variants[index].name],
                None if ids.is_empty() => continue,
                None => {
                    return Err(heaplab_experiments::check(experiment, name, size)
                        .err()
                        .map_or_else(|| PlanError::UnknownVariant(name.clone()), Into::into));
                }
            },
        };
        for name in &variants {
            heaplab_experiments::check(experiment, name, size)?;
        }
        items.push(PlanItem {
            experiment,
            variants,
            size,
        });
    }
    if items.is_empty() {
        let VariantChoice::Named(name) = variant else {
            unreachable!("every experiment has variants")
        };
        return Err(PlanError::UnknownVariant(name.clone()));
    }
    Ok(Plan {
        items,
        stop,
        runs: DEFAULT_RUNS,
        budget: None,
        input: None,
        sites: false,
        sites_sample_every: 0,
        sites_ops: None,
    })
}

/// Points the plan at a user's file: keeps the experiments that take one (all of them must, if
/// ids were named) and checks the file now, so that a bad path fails before any work.
pub fn with_input(mut plan: Plan, named_ids: bool, input: PathBuf) -> Result<Plan, PlanError> {
    if !named_ids {
        plan.items.retain(|i| i.experiment.takes_input());
    }
    // A named experiment that takes no file is refused here too, with the ones that do.
    for item in &mut plan.items {
        let first = item.variants.first().copied().unwrap_or("naive");
        heaplab_experiments::setup_with_input(item.experiment, first, &input)?;
        item.size =
            usize::try_from(std::fs::metadata(&input).map_or(0, |m| m.len())).unwrap_or(usize::MAX);
    }
    plan.input = Some(input);
    Ok(plan)
}

/// How a row's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Measured to the end.
    Ok,
    /// Stopped when its live heap passed `--budget`; figures cover what ran before.
    OverBudget,
    /// The experiment panicked; no figures.
    Panicked,
    /// The worker process died (a signal, an abort); no figures.
    Crashed,
}

/// One measured experiment variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The experiment's id.
    pub experiment: Cow<'static, str>,
    /// The variant's name.
    pub variant: Cow<'static, str>,
    /// The workload size.
    pub size: usize,
    /// Measured operations (after the warm-up).
    pub iterations: u64,
    /// Nanoseconds per operation.
    pub ns_per_op: f64,
    /// Allocations per operation.
    pub allocs_per_op: f64,
    /// Bytes allocated per operation (realloc growth included).
    pub bytes_per_op: f64,
    /// Reallocations per operation.
    pub reallocs_per_op: f64,
    /// The variant's peak live heap, setup included.
    pub peak_heap_bytes: u64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Work done per second, in `work_unit` (`bytes_per_sec` in exports from before the unit).
    #[serde(alias = "bytes_per_sec")]
    pub work_per_sec: f64,
    /// What the experiment's work is counted in (`bytes`, `records`, `lookups`...): the same
    /// work for every variant. Exports from before it was recorded read as `bytes`.
    #[serde(default = "bytes_unit")]
    pub work_unit: Cow<'static, str>,
    /// Digest of the warm-up operations' results, as 16 hex digits.
    pub checksum: String,
    /// Against the naive row (`None` on the naive row, or if naive was not measured).
    pub vs_naive: Option<Comparison>,
    /// The experiment's own counters (pool hits, cache hit rate...).
    pub extra: BTreeMap<String, f64>,
    /// How the run ended.
    pub status: RowStatus,
    /// What stopped it, in words (`None` when it ran to the end).
    pub error: Option<String>,
    /// Independent runs behind the figures (each in a fresh worker process).
    #[serde(default = "one")]
    pub runs: usize,
    /// ns/op of each run, in the order measured: what `heaplab compare` tests.
    #[serde(default)]
    pub ns_per_op_runs: Vec<f64>,
    /// 95% confidence interval of the median ns/op (`None` with fewer than 6 runs).
    #[serde(default)]
    pub ns_per_op_ci95: Option<[f64; 2]>,
    /// 95% confidence interval of ops/s, the same runs seen as rates.
    #[serde(default)]
    pub ops_per_sec_ci95: Option<[f64; 2]>,
    /// Against naive: how many times faster (Hodges-Lehmann estimate over the runs).
    #[serde(default)]
    pub speedup: Option<f64>,
    /// Its 95% confidence interval.
    #[serde(default)]
    pub speedup_ci95: Option<[f64; 2]>,
    /// The Mann-Whitney p-value of the runs against naive's.
    #[serde(default)]
    pub speedup_p_value: Option<f64>,
    /// `faster`, `slower`, or `same` (no significant difference at p < 0.05).
    #[serde(default)]
    pub speed_verdict: Option<SpeedVerdict>,
    /// Where the variant allocates (`bench --sites`): its operations replayed with every
    /// allocation captured; the sites' allocs/op add up to the window's, which is the row's
    /// when the window replayed all of them (`sites.ops == iterations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<Sites>,
}

fn one() -> usize {
    1
}

fn bytes_unit() -> Cow<'static, str> {
    Cow::Borrowed("bytes")
}

fn pair(interval: Option<(f64, f64)>) -> Option<[f64; 2]> {
    interval.map(|(low, high)| [low, high])
}

impl Row {
    /// The row of a run's figures so far (no checksum, no counters of its own): what the
    /// tour scores the dashboard's figures with.
    #[must_use]
    pub fn from_sample(
        info: &'static ExperimentInfo,
        variant: &'static str,
        size: usize,
        sample: &Sample,
    ) -> Self {
        let m = Measurement {
            sample: *sample,
            warmup_ops: 0,
            checksum: 0,
            extra_counters: Vec::new(),
            status: Status::Completed,
        };
        Row {
            checksum: String::new(),
            ..Self::from_measurement(info, variant, size, &m)
        }
    }

    /// The row of a measured run of `variant` of `experiment` at `size`.
    #[must_use]
    pub fn from_measurement(
        info: &'static ExperimentInfo,
        variant: &'static str,
        size: usize,
        m: &Measurement,
    ) -> Self {
        let (status, error) = match m.status {
            Status::Completed => (RowStatus::Ok, None),
            Status::OverBudget { live_bytes, after } => (
                RowStatus::OverBudget,
                Some(format!(
                    "over budget at {live_bytes} bytes after {:.2} s",
                    after.as_secs_f64()
                )),
            ),
        };
        let s = &m.sample;
        Row {
            experiment: Cow::Borrowed(info.id),
            variant: Cow::Borrowed(variant),
            size,
            iterations: s.ops,
            ns_per_op: s.ns_per_op(),
            allocs_per_op: s.allocs_per_op(),
            bytes_per_op: s.bytes_per_op(),
            reallocs_per_op: s.reallocs_per_op(),
            peak_heap_bytes: s.peak_heap_bytes,
            ops_per_sec: s.ops_per_sec(),
            work_per_sec: s.work_per_sec(),
            work_unit: Cow::Borrowed(info.work_unit.name()),
            checksum: m.checksum_hex(),
            vs_naive: None,
            extra: m.extra_counters.iter().cloned().collect(),
            runs: 1,
            ns_per_op_runs: vec![s.ns_per_op()],
            ns_per_op_ci95: None,
            ops_per_sec_ci95: None,
            speedup: None,
            speedup_ci95: None,
            speedup_p_value: None,
            speed_verdict: None,
            status,
            error,
            sites: None,
        }
    }

    /// A row for a run that produced no figures.
    fn failed(
        info: &'static ExperimentInfo,
        variant: &'static str,
        size: usize,
        status: RowStatus,
        error: String,
    ) -> Self {
        Row {
            status,
            error: Some(error),
            ns_per_op_runs: Vec::new(),
            ..Self::from_sample(info, variant, size, &Sample::default())
        }
    }

    /// One row from several runs of the same variant: ns/op and ops/s are the medians, with
    /// their 95% intervals; per-operation counts are over every operation of every run; the
    /// peak is the highest. A run that did not end well (over budget, panicked, crashed) gives
    /// the row its status and error, and its figures count only if no run ended well.
    #[must_use]
    pub fn aggregate(runs: &[Row]) -> Option<Row> {
        let first = runs.first()?;
        let failed = runs.iter().find(|r| r.status != RowStatus::Ok);
        let ok: Vec<&Row> = runs.iter().filter(|r| r.status == RowStatus::Ok).collect();
        let pool: Vec<&Row> = if ok.is_empty() {
            runs.iter().collect()
        } else {
            ok
        };
        let iterations: u64 = pool.iter().map(|r| r.iterations).sum();
        let per_op = |f: fn(&Row) -> f64| {
            let total: f64 = pool.iter().map(|r| f(r) * r.iterations as f64).sum();
            if iterations == 0 {
                0.0
            } else {
                total / iterations as f64
            }
        };
        let ns: Vec<f64> = pool.iter().map(|r| r.ns_per_op).collect();
        let ns_per_op = stats::median(&ns);
        let ci = stats::median_ci(&ns);
        let rate = |ns: f64| if ns > 0.0 { 1e9 / ns } else { 0.0 };
        // Work per second is ops/s times the work of an operation (over every operation of
        // every run), so the two throughputs a row prints always agree: a median of each run's
        // work rate would not be the median ops/s times anything.
        let work_per_op = per_op(|r| {
            if r.ops_per_sec > 0.0 {
                r.work_per_sec / r.ops_per_sec
            } else {
                0.0
            }
        });
        Some(Row {
            iterations,
            ns_per_op,
            allocs_per_op: per_op(|r| r.allocs_per_op),
            bytes_per_op: per_op(|r| r.bytes_per_op),
            reallocs_per_op: per_op(|r| r.reallocs_per_op),
            peak_heap_bytes: pool.iter().map(|r| r.peak_heap_bytes).max().unwrap_or(0),
            ops_per_sec: rate(ns_per_op),
            work_per_sec: rate(ns_per_op) * work_per_op,
            extra: pool.last().map_or_else(BTreeMap::new, |r| r.extra.clone()),
            status: failed.map_or(RowStatus::Ok, |r| r.status),
            error: failed.and_then(|r| r.error.clone()),
            runs: pool.len(),
            ns_per_op_ci95: pair(ci),
            ops_per_sec_ci95: pair(ci.map(|(low, high)| (rate(high), rate(low)))),
            ns_per_op_runs: ns,
            sites: pool.iter().find_map(|r| r.sites.clone()),
            ..first.clone()
        })
    }

    /// The figures a comparison takes.
    #[must_use]
    pub fn figures(&self) -> Figures {
        Figures {
            allocs_per_op: self.allocs_per_op,
            peak_heap_bytes: self.peak_heap_bytes,
            ns_per_op: self.ns_per_op,
        }
    }

    fn compare(&mut self, naive: &Row) {
        if self.status != RowStatus::Ok || naive.status != RowStatus::Ok {
            return; // a stopped run's figures are not comparable
        }
        let vs = Comparison::between(
            naive.figures(),
            self.figures(),
            naive.checksum == self.checksum,
        )
        .with_runs(&naive.ns_per_op_runs, &self.ns_per_op_runs);
        if let Some(speed) = vs.speed {
            self.speedup = Some(speed.speedup);
            self.speedup_ci95 = pair(speed.ci95);
            self.speedup_p_value = Some(speed.p_value);
            self.speed_verdict = Some(speed.verdict);
        }
        self.vs_naive = Some(vs);
    }
}

/// Why a measurement failed while running.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The experiment could not be set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The worker thread could not get a counter slot.
    #[error(transparent)]
    Slot(#[from] counting::RegisterError),
    /// The worker thread could not start.
    #[error("could not start a worker thread: {0}")]
    Spawn(#[from] std::io::Error),
    /// The worker process that measured a row ended without a word about it.
    #[error("measuring `{experiment}` `{variant}` in a worker process failed: {error}")]
    Child {
        /// The experiment's id.
        experiment: &'static str,
        /// The variant.
        variant: &'static str,
        /// How the worker ended.
        error: String,
    },
}

/// Measures one variant on a fresh worker thread of this process that owns its own counter
/// slot. A panic becomes a `panicked` row; a stop over `budget`, an `over_budget` row.
pub fn measure_on_worker(
    experiment: &'static dyn Experiment,
    variant: &'static str,
    size: usize,
    stop: Stop,
    budget: Option<u64>,
    input: Option<PathBuf>,
) -> Result<Row, RunError> {
    measure_in_thread(experiment, variant, size, stop, (budget, input), None)
}

/// [`measure_on_worker`], and the row's allocation sites if `sites` (sampled one per about
/// that many bytes, or every allocation with 0; the replay bounded by that many operations,
/// if given).
fn measure_in_thread(
    experiment: &'static dyn Experiment,
    variant: &'static str,
    size: usize,
    stop: Stop,
    (budget, input): (Option<u64>, Option<PathBuf>),
    sites: Option<(u64, Option<u64>)>,
) -> Result<Row, RunError> {
    let info = experiment.info();
    let id = info.id;
    let panicked = move |payload: &(dyn std::any::Any + Send)| {
        let message = format!(
            "panicked: {}",
            heaplab_experiments::panic::describe(payload)
        );
        Row::failed(info, variant, size, RowStatus::Panicked, message)
    };
    let handle = thread::Builder::new()
        .name(format!("heaplab-bench-{id}"))
        .spawn(move || -> Result<Row, RunError> {
            let slot = counting::register_worker()?;
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let spec = Spec {
                    experiment,
                    variant,
                    size,
                    budget,
                    input: input.as_deref(),
                    stop,
                };
                let live = Live::new();
                let (sample_every, replay_ops) = sites.unwrap_or_default();
                live.want_sites(sites.is_some());
                live.sample_sites(sample_every);
                live.replay_sites_ops(replay_ops);
                measure::run(&slot, &spec, &live).map(|m| (m, live.take_sites()))
            }));
            match outcome {
                Ok(measured) => {
                    let (measurement, raw) = measured?;
                    let mut row = Row::from_measurement(info, variant, size, &measurement);
                    row.sites = raw.map(|raw| crate::sites::symbolize(&raw));
                    Ok(row)
                }
                Err(payload) => Ok(panicked(&*payload)),
            }
        })?;
    handle
        .join()
        .unwrap_or_else(|payload| Ok(panicked(&*payload)))
}

/// Where each row is measured.
#[derive(Debug, Clone)]
pub enum Isolation {
    /// On a worker thread of this process: rows can depend on what ran before them, because
    /// the allocator adapts (glibc raises its mmap and trim thresholds after large frees).
    InProcess,
    /// In a fresh worker process per row, the same worker the dashboard runs, so that every
    /// row starts from the same allocator state whatever ran before it.
    Worker(Launcher),
}

/// Measures one row in a worker process. A panic is a `panicked` row, a dead worker a
/// `crashed` one; only a worker that ends without a word is an error.
pub fn measure_in_worker(
    launcher: &Launcher,
    item: &PlanItem,
    variant: &'static str,
    plan: &Plan,
) -> Result<Row, RunError> {
    let info = item.experiment.info();
    let experiment = info.id;
    let job = Job {
        experiment: experiment.to_owned(),
        variant: variant.to_owned(),
        size: item.size,
        budget: plan.budget,
        input: plan.input.clone(),
        stop: plan.stop,
        sample_every: None,
        sites: plan.sites,
        sites_sample_every: plan.sites_sample_every,
        sites_ops: plan.sites_ops,
    };
    let mut sites = None;
    let outcome = Process::spawn(launcher, &job)?.finish(|message| {
        if let Message::Sites(raw) = message {
            sites = Some(crate::sites::symbolize(raw));
        }
    });
    let failed = |status, error| Row::failed(info, variant, item.size, status, error);
    Ok(match (outcome.last, outcome.error) {
        (Some(Message::Done(m)), None) => Row {
            sites,
            ..Row::from_measurement(info, variant, item.size, &m)
        },
        (Some(Message::Failed(message)), _) => failed(RowStatus::Panicked, message),
        (_, Some(error)) if error.starts_with("crashed") => failed(RowStatus::Crashed, error),
        (_, error) => {
            return Err(RunError::Child {
                experiment,
                variant,
                error: error.unwrap_or_else(|| "it exited without a measurement".to_owned()),
            });
        }
    })
}

fn measure_row(
    item: &PlanItem,
    variant: &'static str,
    plan: &Plan,
    isolation: &Isolation,
) -> Result<Row, RunError> {
    match isolation {
        Isolation::InProcess => measure_in_thread(
            item.experiment,
            variant,
            item.size,
            plan.stop,
            (plan.budget, plan.input.clone()),
            plan.sites
                .then_some((plan.sites_sample_every, plan.sites_ops)),
        ),
        Isolation::Worker(launcher) => measure_in_worker(launcher, item, variant, plan),
    }
}

/// Runs the plan, calling `on_row` as each row is measured, and returns the rows with their
/// comparisons against naive filled in.
pub fn run(
    plan: &Plan,
    isolation: &Isolation,
    mut on_row: impl FnMut(&Row),
) -> Result<Vec<Row>, RunError> {
    let mut rows: Vec<Row> = Vec::new();
    for item in &plan.items {
        // The variants take turns, run after run, so a drift of the machine's speed touches
        // them alike instead of favouring whichever ran first.
        let mut runs: Vec<Vec<Row>> = vec![Vec::new(); item.variants.len()];
        for _ in 0..plan.runs.max(1) {
            for (variant, runs) in item.variants.iter().zip(&mut runs) {
                runs.push(measure_row(item, variant, plan, isolation)?);
            }
        }
        let first = rows.len();
        for runs in &runs {
            let Some(mut row) = Row::aggregate(runs) else {
                continue;
            };
            let baseline = item.experiment.info().baseline();
            if let Some(naive) = rows[first..].iter().find(|r| r.variant == baseline) {
                row.compare(naive);
            }
            on_row(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// `{"results": [...]}` for scripts.
    Json,
    /// One header line, one line per row.
    Csv,
    /// A Markdown table for slides and READMEs.
    Markdown,
}

/// The JSON document.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    heaplab_version: &'static str,
    results: &'a [Row],
}

/// Renders rows in `format`.
pub fn render(rows: &[Row], format: Format) -> Result<String, RenderError> {
    match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&JsonReport {
                heaplab_version: env!("CARGO_PKG_VERSION"),
                results: rows,
            })?;
            text.push('\n');
            Ok(text)
        }
        Format::Csv => render_csv(rows),
        Format::Table => Ok(render_columns(rows, false)),
        Format::Markdown => Ok(render_columns(rows, true)),
    }
}

/// Rendering can only fail in serialisation.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// JSON serialisation failed.
    #[error("could not write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV serialisation failed.
    #[error("could not write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// CSV output was not UTF-8 (cannot happen with our fields).
    #[error("could not write CSV: {0}")]
    CsvText(String),
}

#[derive(Serialize)]
struct CsvRow<'a> {
    experiment: &'a str,
    variant: &'a str,
    size: usize,
    iterations: u64,
    ns_per_op: f64,
    allocs_per_op: f64,
    bytes_per_op: f64,
    reallocs_per_op: f64,
    peak_heap_bytes: u64,
    ops_per_sec: f64,
    work_per_sec: f64,
    work_unit: &'a str,
    checksum: &'a str,
    allocs_reduction_pct: Option<f64>,
    peak_heap_reduction_pct: Option<f64>,
    speedup: Option<f64>,
    same_checksum: Option<bool>,
    extra: String,
    status: RowStatus,
    error: Option<&'a str>,
    runs: usize,
    ns_per_op_ci95_low: Option<f64>,
    ns_per_op_ci95_high: Option<f64>,
    ops_per_sec_ci95_low: Option<f64>,
    ops_per_sec_ci95_high: Option<f64>,
    speedup_ci95_low: Option<f64>,
    speedup_ci95_high: Option<f64>,
    speedup_p_value: Option<f64>,
    speed_verdict: Option<SpeedVerdict>,
}

fn render_csv(rows: &[Row]) -> Result<String, RenderError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(CsvRow {
            experiment: &row.experiment,
            variant: &row.variant,
            size: row.size,
            iterations: row.iterations,
            ns_per_op: row.ns_per_op,
            allocs_per_op: row.allocs_per_op,
            bytes_per_op: row.bytes_per_op,
            reallocs_per_op: row.reallocs_per_op,
            peak_heap_bytes: row.peak_heap_bytes,
            ops_per_sec: row.ops_per_sec,
            work_per_sec: row.work_per_sec,
            work_unit: &row.work_unit,
            checksum: &row.checksum,
            allocs_reduction_pct: row.vs_naive.and_then(|v| v.allocs_reduction_pct),
            peak_heap_reduction_pct: row.vs_naive.and_then(|v| v.peak_heap_reduction_pct),
            speedup: row.vs_naive.map(|v| v.speedup),
            same_checksum: row.vs_naive.map(|v| v.same_checksum),
            extra: extra_text(&row.extra),
            status: row.status,
            error: row.error.as_deref(),
            runs: row.runs,
            ns_per_op_ci95_low: row.ns_per_op_ci95.map(|c| c[0]),
            ns_per_op_ci95_high: row.ns_per_op_ci95.map(|c| c[1]),
            ops_per_sec_ci95_low: row.ops_per_sec_ci95.map(|c| c[0]),
            ops_per_sec_ci95_high: row.ops_per_sec_ci95.map(|c| c[1]),
            speedup_ci95_low: row.speedup_ci95.map(|c| c[0]),
            speedup_ci95_high: row.speedup_ci95.map(|c| c[1]),
            speedup_p_value: row.speedup_p_value,
            speed_verdict: row.speed_verdict,
        })?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| RenderError::CsvText(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| RenderError::CsvText(e.to_string()))
}

fn extra_text(extra: &BTreeMap<String, f64>) -> String {
    let mut text = String::new();
    for (i, (name, value)) in extra.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        let _ = write!(text, "{name}={}", units::count(*value));
    }
    text
}

const HEADERS: [&str; 15] = [
    "experiment",
    "variant",
    "size",
    "runs",
    "iterations",
    "ns/op",
    "±95%",
    "allocs/op",
    "bytes/op",
    "reallocs/op",
    "peak heap",
    "ops/s",
    "throughput",
    "checksum",
    "vs naive",
];

fn cells(row: &Row) -> Vec<String> {
    // A stopped run says why instead of comparing.
    let mut vs = match &row.error {
        Some(error) => error.clone(),
        None => row
            .vs_naive
            .as_ref()
            .map(Comparison::text)
            .unwrap_or_default(),
    };
    if !row.extra.is_empty() {
        if !vs.is_empty() {
            vs.push_str("; ");
        }
        vs.push_str(&extra_text(&row.extra));
    }
    vec![
        row.experiment.to_string(),
        row.variant.to_string(),
        row.size.to_string(),
        row.runs.to_string(),
        row.iterations.to_string(),
        format!("{:.1}", row.ns_per_op),
        spread_text(row.ns_per_op, row.ns_per_op_ci95),
        format!("{:.2}", row.allocs_per_op),
        format!("{:.0}", row.bytes_per_op),
        format!("{:.2}", row.reallocs_per_op),
        units::bytes(row.peak_heap_bytes),
        units::count(row.ops_per_sec),
        units::work_rate(&row.work_unit, row.work_per_sec),
        row.checksum.clone(),
        vs,
    ]
}

/// The half-width of a 95% interval as a share of the median, the wider side: `±1.2%`
/// (`–` without an interval).
#[must_use]
pub fn spread_text(median: f64, interval: Option<[f64; 2]>) -> String {
    match interval {
        Some([low, high]) if median > 0.0 => {
            let half = (median - low).max(high - median) / median * 100.0;
            if half < 10.0 {
                format!("±{half:.1}%")
            } else {
                format!("±{half:.0}%")
            }
        }
        _ => "–".to_owned(),
    }
}

/// The most sites shown under a row in a table (JSON has them all).
pub const TOP_SITES: usize = 5;

fn render_columns(rows: &[Row], markdown: bool) -> String {
    let table: Vec<Vec<String>> = rows.iter().map(cells).collect();
    let text = render_table(&HEADERS, &table, &[0, 1, 13, 14], markdown);
    if !rows.iter().any(|row| row.sites.is_some()) {
        return text;
    }
    if markdown {
        // A table cannot hold lines of another shape: the sites follow it, a list per row.
        let mut out = text;
        let _ = writeln!(out, "\nAllocation sites (top {TOP_SITES} per variant):");
        for row in rows {
            let Some(sites) = &row.sites else { continue };
            let _ = writeln!(out, "\n- **{} {}**", row.experiment, row.variant);
            for line in site_lines(sites) {
                let _ = writeln!(out, "  - `{line}`");
            }
        }
        return out;
    }
    // Under each row, its top sites, indented.
    let mut lines = text.lines();
    let mut out = String::new();
    if let Some(header) = lines.next() {
        out.push_str(header);
        out.push('\n');
    }
    for (row, line) in rows.iter().zip(lines) {
        out.push_str(line);
        out.push('\n');
        if let Some(sites) = &row.sites {
            for site in site_lines(sites) {
                let _ = writeln!(out, "    {site}");
            }
        }
    }
    out
}

/// A row's top sites, a line each (`1.00 allocs/op  24 B/op  100%  src/a.rs:12  a::f`), or
/// one line saying it allocates nowhere.
#[must_use]
pub fn site_lines(sites: &Sites) -> Vec<String> {
    if sites.sites.is_empty() && sites.sample_every > 0 {
        return vec![format!(
            "no allocation sampled over {} ops (one per ~{})",
            sites.ops,
            units::bytes(sites.sample_every)
        )];
    }
    if sites.sites.is_empty() {
        return vec![format!(
            "no allocation site: 0 allocs/op over {} ops captured",
            sites.ops
        )];
    }
    let mut out: Vec<String> = sites
        .sites
        .iter()
        .take(TOP_SITES)
        .map(|site| {
            let mut counts = format!("{:>8.2} allocs/op", site.allocs_per_op);
            if site.reallocs_per_op > 0.0 {
                let _ = write!(counts, " {:.2} reallocs/op", site.reallocs_per_op);
            }
            format!(
                "{counts} {:>10}/op {:>4.0}%  {}  {}",
                units::bytes(site.bytes_per_op.round() as u64),
                site.share * 100.0,
                site.location(),
                site.function
            )
        })
        .collect();
    if sites.sample_every > 0 {
        out.insert(
            0,
            format!(
                "≈ sampled, one allocation per ~{} over {} ops: estimates",
                units::bytes(sites.sample_every),
                sites.ops
            ),
        );
    }
    if sites.sites.len() > TOP_SITES {
        out.push(format!(
            "... {} more ({} captured)",
            units::counted((sites.sites.len() - TOP_SITES) as u64, "site"),
            units::counted(sites.ops, "op")
        ));
    }
    out
}

/// Aligned columns (or a Markdown table): text columns (`left`) to the left, figures right.
#[must_use]
pub fn render_table(
    headers: &[&str],
    table: &[Vec<String>],
    left: &[usize],
    markdown: bool,
) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for line in table {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let left = |column: usize| left.contains(&column);
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (column, cell) in cells.enumerate() {
            let width = widths[column];
            if markdown {
                text.push_str("| ");
            } else if column > 0 {
                text.push_str("  ");
            }
            if left(column) {
                let _ = write!(text, "{cell:<width$}");
            } else {
                let _ = write!(text, "{cell:>width$}");
            }
            if markdown {
                text.push(' ');
            }
        }
        if markdown {
            text.push('|');
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    if markdown {
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(column, &w)| {
                if left(column) {
                    format!(":{}", "-".repeat(w.max(2) - 1))
                } else {
                    format!("{}:", "-".repeat(w.max(2) - 1))
                }
            })
            .collect();
        line(&mut rule.iter().map(String::as_str));
    }
    for cells in table {
        line(&mut cells.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 22 item 8: a row's ops/s and its work per second say the same throughput (413 k
    /// ops/s beside 424 MiB/s at 1024 B/op did not), whatever the spread of the runs.
    #[test]
    fn a_rows_two_throughputs_agree() {
        let info = heaplab_experiments::catalog()
            .iter()
            .find(|e| e.info().id == "buffer-reuse")
            .expect("buffer-reuse")
            .info();
        let runs: Vec<Row> = [100u64, 110, 120, 130, 140, 200]
            .iter()
            .map(|&ns| {
                let ops = 1_000_000;
                let sample = Sample {
                    ops,
                    work: ops * 1024,
                    measured_for: std::time::Duration::from_nanos(ns * ops),
                    ..Sample::default()
                };
                Row::from_sample(info, "naive", 1024, &sample)
            })
            .collect();
        let row = Row::aggregate(&runs).expect("a row");
        let bytes_per_op = row.work_per_sec / row.ops_per_sec;
        assert!(
            (bytes_per_op - 1024.0).abs() < 1e-9,
            "{} ops/s beside {} B/s: {bytes_per_op} B/op",
            row.ops_per_sec,
            row.work_per_sec
        );
    }
}
