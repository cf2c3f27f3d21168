//! Running a plan: each variant measured in a fresh worker process (or on a thread of this
//! one), its runs aggregated into a row and compared with the baseline's.

use std::path::PathBuf;
use std::thread;

use heaplab_experiments::measure::{self, Spec, Stop};
use heaplab_experiments::worker::{Job, Launcher, Message, Process};
use heaplab_experiments::{Experiment, SetupError, counting};

use super::plan::{Plan, PlanItem};
use crate::results::{RowStatus, VariantRow};

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
) -> Result<VariantRow, RunError> {
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
) -> Result<VariantRow, RunError> {
    let info = experiment.info();
    let id = info.id;
    let panicked = move |payload: &(dyn std::any::Any + Send)| {
        let message = format!(
            "panicked: {}",
            heaplab_experiments::panic::describe(payload)
        );
        VariantRow::failed(info, variant, size, RowStatus::Panicked, message)
    };
    let handle = thread::Builder::new()
        .name(format!("heaplab-bench-{id}"))
        .spawn(move || -> Result<VariantRow, RunError> {
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
                let live = measure::Live::new();
                let (sample_every, replay_ops) = sites.unwrap_or_default();
                live.want_sites(sites.is_some());
                live.sample_sites(sample_every);
                live.replay_sites_ops(replay_ops);
                measure::run(&slot, &spec, &live).map(|m| (m, live.take_sites()))
            }));
            match outcome {
                Ok(measured) => {
                    let (measurement, raw) = measured?;
                    let mut row = VariantRow::from_measurement(info, variant, size, &measurement);
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
) -> Result<VariantRow, RunError> {
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
    let failed = |status, error| VariantRow::failed(info, variant, item.size, status, error);
    Ok(match (outcome.last, outcome.error) {
        (Some(Message::Done(m)), None) => VariantRow {
            sites,
            ..VariantRow::from_measurement(info, variant, item.size, &m)
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
) -> Result<VariantRow, RunError> {
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
    mut on_row: impl FnMut(&VariantRow),
) -> Result<Vec<VariantRow>, RunError> {
    let mut rows: Vec<VariantRow> = Vec::new();
    for item in &plan.items {
        let mut runs = Runs::new(item);
        runs.measure(item, plan, isolation, plan.runs.max(1))?;
        for row in runs.rows(item) {
            on_row(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}

/// One plan item's runs so far, each variant's apart: more can be added ([`Runs::measure`])
/// before they are aggregated into rows ([`Runs::rows`]).
#[derive(Debug)]
pub struct Runs(Vec<Vec<VariantRow>>);

impl Runs {
    /// No runs yet of `item`'s variants.
    #[must_use]
    pub fn new(item: &PlanItem) -> Self {
        Self(vec![Vec::new(); item.variants.len()])
    }

    /// Runs each variant `rounds` more times. The variants take turns, run after run, so a
    /// drift of the machine's speed touches them alike instead of favouring whichever ran
    /// first.
    pub fn measure(
        &mut self,
        item: &PlanItem,
        plan: &Plan,
        isolation: &Isolation,
        rounds: usize,
    ) -> Result<(), RunError> {
        for _ in 0..rounds {
            for (variant, runs) in item.variants.iter().zip(&mut self.0) {
                runs.push(measure_row(item, variant, plan, isolation)?);
            }
        }
        Ok(())
    }

    /// Runs per variant so far.
    #[must_use]
    pub fn count(&self) -> usize {
        self.0.first().map_or(0, Vec::len)
    }

    /// A row per variant over all its runs so far, compared with the baseline's.
    #[must_use]
    pub fn rows(&self, item: &PlanItem) -> Vec<VariantRow> {
        let mut rows: Vec<VariantRow> = Vec::new();
        for runs in &self.0 {
            let Some(mut row) = VariantRow::aggregate(runs) else {
                continue;
            };
            let baseline = item.experiment.info().baseline();
            if let Some(naive) = rows.iter().find(|r| r.variant == baseline) {
                row.compare(naive);
            }
            rows.push(row);
        }
        rows
    }
}
