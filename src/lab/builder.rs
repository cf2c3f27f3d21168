//! [`ExperimentBuilder`]: one experiment of a lab, described by chained calls in any order,
//! checked and turned into the [`ExperimentInfo`] the whole program reads.
//!
//! The builder's type says whether the experiment has an input yet ([`NoInput`], then
//! [`Input`] after `.input(make)`, in `state.rs`): the operations over the input (`.op` and
//! its kin, in `input.rs`) exist only once it is there, and a call in the wrong order is a
//! compile error that says what to do, not a method the compiler cannot find.

use std::hash::Hash;
use std::panic::Location;
use std::sync::Arc;

use heaplab_experiments::layout::TypeLayout;
use heaplab_experiments::limits::Limits;
use heaplab_experiments::{ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload};

use super::LabError;
use super::closure::{self, Make, Pending, SizeWork, UserExperiment};
use super::source::variants_source;
use super::state::{Input, NoInput, NoInputYet, State, sealed};

/// One variant as described: its name, where its call is (for the source view), and how its
/// workload is built.
struct VariantDef {
    name: String,
    location: &'static Location<'static>,
    build: Pending,
}

/// Per variant, in variant order: its summary, its limits, whether its allocations depend on
/// scheduling.
type PerVariant = (Vec<String>, Vec<Limits>, Vec<bool>);

/// What a builder call said of a variant by its name.
#[derive(Debug, Clone)]
enum Named {
    Summary(String),
    Limits(Limits),
    Scheduling,
}

impl Named {
    /// The builder method that said it, for a message naming the call.
    fn method(&self) -> &'static str {
        match self {
            Named::Summary(_) => "summary",
            Named::Limits(_) => "limits",
            Named::Scheduling => "depends_on_scheduling",
        }
    }
}

/// One experiment of a [`Lab`](super::Lab), described by chained calls in any order; only a
/// variant is required. `S` says whether it has an input yet: [`NoInput`] until
/// [`input`](Self::input), then [`Input`].
pub struct ExperimentBuilder<S: State = NoInput> {
    id: String,
    title: Option<String>,
    why: Option<String>,
    size_unit: String,
    default_size: usize,
    size_range: Option<(usize, usize)>,
    work_unit: Option<String>,
    /// `.work` before `.input` (or without one): counted from the size.
    work_from_size: Option<SizeWork>,
    targets: Targets,
    warmup: u64,
    layouts: Vec<TypeLayout>,
    /// What was said of a variant by name (`.summary`, `.limits`, `.depends_on_scheduling`),
    /// with where it was said: resolved, or refused, when the lab is built.
    named: Vec<(String, Named, &'static Location<'static>)>,
    variants: Vec<VariantDef>,
    pub(super) state: S,
}

impl<S: State> ExperimentBuilder<S> {
    /// What the workload size counts (`lines per batch`), and the size used when none is
    /// given. Sizes from 1 to 1 000 000 000 are accepted unless [`Self::size_range`] says
    /// otherwise.
    #[must_use]
    pub fn size(mut self, unit: &str, default: usize) -> Self {
        unit.clone_into(&mut self.size_unit);
        self.default_size = default;
        self
    }

    /// The smallest and largest sizes accepted (`[`/`]` on the dashboard stay inside them).
    #[must_use]
    pub fn size_range(mut self, min: usize, max: usize) -> Self {
        self.size_range = Some((min, max));
        self
    }

    /// A title for listings (the id otherwise).
    #[must_use]
    pub fn title(mut self, title: &str) -> Self {
        self.title = Some(title.to_owned());
        self
    }

    /// A paragraph on what the variants show and what to watch, for the dashboard, the tour
    /// and `list`.
    #[must_use]
    pub fn why(mut self, why: &str) -> Self {
        self.why = Some(why.to_owned());
        self
    }

    /// The chapter targets the experiment claims (the scorecard judges `naive` against
    /// `optimized` by them).
    #[must_use]
    pub fn targets(mut self, targets: Targets) -> Self {
        self.targets = targets;
        self
    }

    /// Operations run before measuring (64 by default): their results, and theirs only, are
    /// hashed into the checksum that says whether two variants compute the same thing.
    #[must_use]
    pub fn warmup(mut self, ops: u64) -> Self {
        self.warmup = ops;
        self
    }

    /// Types whose layout the inspector (`l`) shows: build each with
    /// [`heaplab_experiments::type_layout!`].
    #[must_use]
    pub fn layouts(mut self, layouts: Vec<TypeLayout>) -> Self {
        self.layouts = layouts;
        self
    }

    /// One line on what `variant` does differently (shown by `list --format json` and the
    /// dashboard), before or after the variant is added: a name no variant has is refused
    /// when the lab is built.
    #[must_use]
    #[track_caller]
    pub fn summary(mut self, variant: &str, text: &str) -> Self {
        self.named.push((
            variant.to_owned(),
            Named::Summary(text.to_owned()),
            Location::caller(),
        ));
        self
    }

    /// Limits `variant`'s exact figures must keep (allocator calls or bytes per operation,
    /// peak heap): `bench --check` and `check` fail, naming the line that allocates most, when
    /// one is broken. Before or after the variant is added, as [`Self::summary`].
    ///
    /// ```no_run
    /// # heaplab::Lab::new().experiment("sum", |e| {
    /// e.variant("reused", |size| move || size)
    ///     .limits("reused", heaplab::Limits { max_allocs_per_op: Some(0.0), ..heaplab::Limits::NONE })
    /// # });
    /// ```
    #[must_use]
    #[track_caller]
    pub fn limits(mut self, variant: &str, limits: Limits) -> Self {
        self.named.push((
            variant.to_owned(),
            Named::Limits(limits),
            Location::caller(),
        ));
        self
    }

    /// `variant` must make not one allocator call per operation in steady state: the limit
    /// "this must never allocate" ([`Limits::ZERO_ALLOCS`]).
    #[must_use]
    #[track_caller]
    pub fn zero_allocs(self, variant: &str) -> Self {
        self.limits(variant, Limits::ZERO_ALLOCS)
    }

    /// `variant`'s allocation figures depend on how its threads are scheduled (a pool that
    /// allocates when a worker is late), not only on its operations: `heaplab compare` then
    /// judges its allocs/op, bytes/op and peak with a tolerance instead of exactly.
    #[must_use]
    #[track_caller]
    pub fn depends_on_scheduling(mut self, variant: &str) -> Self {
        self.named
            .push((variant.to_owned(), Named::Scheduling, Location::caller()));
        self
    }

    /// Adds a variant with a setup of its own. `setup` runs once per run, outside the
    /// measured region, given the workload size, and returns the operation: each call of it
    /// is one measured operation. What the operation captures (its state) lives for the run;
    /// its result lives for one operation (see [the lab's docs](super#what-lives-how-long)).
    /// The first variant is the baseline the others are compared with.
    ///
    /// ```no_run
    /// # heaplab::Lab::new().experiment("sum", |e| {
    /// e.variant("reused", |size| {
    ///     let mut buffer: Vec<u64> = Vec::with_capacity(size);
    ///     move || {
    ///         buffer.clear();
    ///         buffer.extend(0..size as u64);
    ///         buffer.iter().sum::<u64>()
    ///     }
    /// })
    /// # });
    /// ```
    #[must_use]
    #[track_caller]
    pub fn variant<Setup, Op, R>(self, name: &str, setup: Setup) -> Self
    where
        Setup: Fn(usize) -> Op + Send + Sync + 'static,
        Op: FnMut() -> R + Send + 'static,
        R: Hash + 'static,
    {
        self.with_variant(name, Location::caller(), Pending::Own(closure::own(setup)))
    }

    /// Adds a variant written as a [`Workload`] of your own, for what closures cannot say:
    /// counters of its own ([`Workload::extra_counters`]), work that varies per operation.
    /// Its `run_op` folds what it likes into the checksum and returns its own work.
    #[must_use]
    #[track_caller]
    pub fn workload_variant<W: Workload + 'static>(
        self,
        name: &str,
        setup: impl Fn(usize) -> W + Send + Sync + 'static,
    ) -> Self {
        let build = Pending::Workload(closure::own_workload(setup));
        self.with_variant(name, Location::caller(), build)
    }

    /// The input every op variant ([`op`](Self::op), [`op_mut`](Self::op_mut),
    /// [`try_op`](Self::try_op), [`op_sink`](Self::op_sink)) receives: made by `make` from the
    /// workload size once per run, outside the measured region, and kept for the whole run.
    /// `.input(make_log).op("owned", |log| parse_owned(log))`, a line per variant; the other
    /// calls may come before or after it.
    #[must_use]
    pub fn input<I: Send + 'static>(
        self,
        make: impl Fn(usize) -> I + Send + Sync + 'static,
    ) -> ExperimentBuilder<Input<I>>
    where
        S: NoInputYet,
    {
        let make: Make<I> = Arc::new(make);
        self.with_state(Input::new(make))
    }

    /// The same description in another state.
    pub(super) fn with_state<T: State>(self, state: T) -> ExperimentBuilder<T> {
        ExperimentBuilder {
            id: self.id,
            title: self.title,
            why: self.why,
            size_unit: self.size_unit,
            default_size: self.default_size,
            size_range: self.size_range,
            work_unit: self.work_unit,
            work_from_size: self.work_from_size,
            targets: self.targets,
            warmup: self.warmup,
            layouts: self.layouts,
            named: self.named,
            variants: self.variants,
            state,
        }
    }

    /// Adds a variant whose call is at `location`, its workload built by `build`.
    pub(super) fn with_variant(
        mut self,
        name: &str,
        location: &'static Location<'static>,
        build: Pending,
    ) -> Self {
        self.variants.push(VariantDef {
            name: name.to_owned(),
            location,
            build,
        });
        self
    }

    /// Counts the work of one operation in `unit`: from the size (`per_op`), or, with `None`,
    /// from what the state knows (the input).
    pub(super) fn with_work(mut self, unit: &str, per_op: Option<SizeWork>) -> Self {
        self.work_unit = Some(unit.to_owned());
        self.work_from_size = per_op;
        self
    }

    /// Checks the description and turns it into the engine's
    /// [`Experiment`](heaplab_experiments::Experiment).
    /// What was said of each variant by name, in variant order: summaries, limits, and
    /// whether its allocations depend on scheduling; a name no variant has is refused,
    /// naming the call and where it was made.
    fn resolve_named(&self, id: &str) -> Result<PerVariant, LabError> {
        let count = self.variants.len();
        let mut summaries = vec![String::new(); count];
        let mut limits = vec![Limits::NONE; count];
        let mut scheduling = vec![false; count];
        for (variant, said, at) in &self.named {
            let Some(index) = self.variants.iter().position(|v| v.name == *variant) else {
                return Err(LabError(format!(
                    "experiment `{id}`: `.{}(\"{variant}\", ..)` at {}:{} names no \
                     variant (it has: {})",
                    said.method(),
                    at.file(),
                    at.line(),
                    names(&self.variants)
                )));
            };
            match said {
                Named::Summary(text) => summaries[index].clone_from(text),
                Named::Limits(l) => limits[index] = *l,
                Named::Scheduling => scheduling[index] = true,
            }
        }
        Ok((summaries, limits, scheduling))
    }

    pub(super) fn finish(self) -> Result<UserExperiment, LabError> {
        let id = &self.id;
        let kebab = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !id.starts_with('-');
        if !kebab {
            return Err(LabError(format!(
                "experiment id `{id}`: use lowercase letters, digits and dashes (parse-log)"
            )));
        }
        if self.variants.is_empty() {
            return Err(LabError(format!(
                "experiment `{id}` has no variant: add one with .variant(\"naive\", |size| ...)"
            )));
        }
        for (i, v) in self.variants.iter().enumerate() {
            if v.name.is_empty() || v.name.contains(char::is_whitespace) {
                return Err(LabError(format!(
                    "experiment `{id}`: variant name `{}` must be one word",
                    v.name
                )));
            }
            if self.variants[..i].iter().any(|w| w.name == v.name) {
                return Err(LabError(format!(
                    "experiment `{id}` has two variants called `{}`",
                    v.name
                )));
            }
        }
        let size_range = self.size_range.unwrap_or((1, 1_000_000_000));
        if !(size_range.0..=size_range.1).contains(&self.default_size) {
            return Err(LabError(format!(
                "experiment `{id}`: the default size {} is outside {}..={}",
                self.default_size, size_range.0, size_range.1
            )));
        }
        let (summaries, limits, scheduling) = self.resolve_named(id)?;
        let variants: Vec<VariantInfo> = self
            .variants
            .iter()
            .zip(&summaries)
            .map(|(v, summary)| VariantInfo {
                name: leak(&v.name),
                summary: leak(summary),
            })
            .collect();
        let source = variants_source(self.variants.iter().map(|v| (v.name.as_str(), v.location)));
        let work_unit = match self.work_unit.as_deref() {
            None => WorkUnit::Items("operations"),
            Some(unit) if unit == WorkUnit::Bytes.name() => WorkUnit::Bytes,
            Some(unit) => WorkUnit::Items(leak(unit)),
        };
        let info = Box::leak(Box::new(ExperimentInfo {
            id: leak(id),
            section: Section::Yours,
            title: leak(self.title.as_deref().unwrap_or(id)),
            why: leak(self.why.as_deref().unwrap_or(
                "your experiment: each variant's operation measured the same way as the \
                 chapter's, allocations counted exactly",
            )),
            variants: variants.leak(),
            size_unit: leak(&self.size_unit),
            work_unit,
            default_size: self.default_size,
            size_range,
            targets: self.targets,
            source: leak(&source),
            // Each variant's block says where its lines are, in a `// FILE:LINE` line.
            source_file: "",
        }));
        let pending = self.variants.into_iter().map(|v| v.build).collect();
        let builds = sealed::Sealed::into_input(self.state)
            .builds(pending, self.work_from_size, self.warmup)
            .ok_or_else(|| LabError(format!("experiment `{id}`: an op variant lost its build")))?;
        Ok(UserExperiment {
            info,
            builds,
            warmup: self.warmup,
            layouts: self.layouts,
            limits,
            scheduling,
        })
    }
}

impl ExperimentBuilder<NoInput> {
    pub(super) fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            title: None,
            why: None,
            size_unit: "size".to_owned(),
            default_size: 1,
            size_range: None,
            work_unit: None,
            work_from_size: None,
            targets: Targets {
                zero_allocs: false,
                peak_heap: false,
                speedup: false,
            },
            warmup: 64,
            layouts: Vec::new(),
            named: Vec::new(),
            variants: Vec::new(),
            state: NoInput::default(),
        }
    }

    /// What throughput counts: `unit` in the plural (`lines`, `records`, or `bytes`), and how
    /// many of them one operation processes at a given size, the same for every variant.
    /// Without it throughput is in operations. With an input, `.work` receives the input
    /// instead (call it after [`input`](Self::input)).
    #[must_use]
    pub fn work(self, unit: &str, per_op: impl Fn(usize) -> u64 + Send + Sync + 'static) -> Self {
        self.with_work(unit, Some(Arc::new(per_op)))
    }
}

impl<S: State> std::fmt::Debug for ExperimentBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExperimentBuilder")
            .field("id", &self.id)
            .field("variants", &names(&self.variants))
            .finish_non_exhaustive()
    }
}

/// The variants' names joined with `, `.
fn names(variants: &[VariantDef]) -> String {
    variants
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text that lives as long as the process: the lab is described once, at start.
fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}
