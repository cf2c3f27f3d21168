//! What `heaplab bench` measures: the experiments, variants and size a command line asks for,
//! checked before anything runs.

use std::path::PathBuf;

use heaplab_experiments::measure::Stop;
use heaplab_experiments::{Experiment, SetupError};

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
    #[error("no chosen experiment has a variant `{variant}`; their variants are: {valid}")]
    UnknownVariant {
        /// The name given.
        variant: String,
        /// Every variant name of the catalog.
        valid: String,
    },
    /// The variant or size does not fit an experiment.
    #[error(transparent)]
    Setup(#[from] SetupError),
}

fn unknown_variant(name: &str) -> PlanError {
    PlanError::UnknownVariant {
        variant: name.to_owned(),
        valid: crate::catalog::variant_names(),
    }
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
                        .map_or_else(|| unknown_variant(name), Into::into));
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
        return Err(unknown_variant(name));
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
