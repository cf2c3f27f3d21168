//! [`ExperimentBuilder`]: one experiment of a lab, described by chained calls, checked and
//! turned into the [`ExperimentInfo`] the whole program reads.

use std::hash::Hash;
use std::panic::Location;
use std::sync::Arc;

use heaplab_experiments::layout::TypeLayout;
use heaplab_experiments::{ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload};

use super::LabError;
use super::closure::{self, Build, UserExperiment};
use super::source::variants_source;

/// One variant as described: its name, where its call is (for the source view), and how its
/// workload is built.
struct VariantDef {
    name: String,
    summary: String,
    location: &'static Location<'static>,
    build: Build,
}

/// One experiment of a [`Lab`], described by chained calls; only `variant` is required.
pub struct ExperimentBuilder {
    id: String,
    title: Option<String>,
    why: Option<String>,
    size_unit: String,
    default_size: usize,
    size_range: Option<(usize, usize)>,
    work_unit: Option<String>,
    work_per_op: Box<dyn Fn(usize) -> u64 + Send + Sync>,
    targets: Targets,
    warmup: u64,
    layouts: Vec<TypeLayout>,
    variants: Vec<VariantDef>,
}

impl ExperimentBuilder {
    pub(super) fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            title: None,
            why: None,
            size_unit: "size".to_owned(),
            default_size: 1,
            size_range: None,
            work_unit: None,
            work_per_op: Box::new(|_| 1),
            targets: Targets {
                zero_allocs: false,
                peak_heap: false,
                speedup: false,
            },
            warmup: 64,
            layouts: Vec::new(),
            variants: Vec::new(),
        }
    }

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

    /// What throughput counts: `unit` in the plural (`lines`, `records`, or `bytes`), and how
    /// many of them one operation processes at a given size, the same for every variant.
    /// Without it throughput is in operations.
    #[must_use]
    pub fn work(
        mut self,
        unit: &str,
        per_op: impl Fn(usize) -> u64 + Send + Sync + 'static,
    ) -> Self {
        self.work_unit = Some(unit.to_owned());
        self.work_per_op = Box::new(per_op);
        self
    }

    /// The chapter targets the experiment claims (the scorecard judges `naive` against
    /// `optimized` by them).
    #[must_use]
    pub fn targets(mut self, targets: Targets) -> Self {
        self.targets = targets;
        self
    }

    /// Operations run before measuring (64 by default); their results make the checksum.
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

    /// Adds a variant. `setup` runs outside the measured region, given the workload size, and
    /// returns the operation: each call of it is one measured operation, and its result is
    /// hashed into the checksum. The first variant is the baseline the others are compared
    /// with.
    #[must_use]
    #[track_caller]
    pub fn variant<S, Op, R>(self, name: &str, setup: S) -> Self
    where
        S: Fn(usize) -> Op + Send + Sync + 'static,
        Op: FnMut() -> R + Send + 'static,
        R: Hash + 'static,
    {
        self.with_variant(name, Location::caller(), closure::build(setup))
    }

    /// Adds a variant whose call is at `location`, its workload built by `build`.
    fn with_variant(
        mut self,
        name: &str,
        location: &'static Location<'static>,
        build: Build,
    ) -> Self {
        self.variants.push(VariantDef {
            name: name.to_owned(),
            summary: String::new(),
            location,
            build,
        });
        self
    }

    /// Adds a variant written as a [`Workload`] of your own, for what closures cannot say:
    /// counters of its own ([`Workload::extra_counters`]), work that varies per operation.
    #[must_use]
    #[track_caller]
    pub fn workload_variant<W: Workload + 'static>(
        self,
        name: &str,
        setup: impl Fn(usize) -> W + Send + Sync + 'static,
    ) -> Self {
        self.with_variant(name, Location::caller(), closure::build_workload(setup))
    }

    /// The input every [`WithInput::op`] variant works on, made once per run by `make` from
    /// the workload size, outside the measured region: `.input(make_log).op("owned", |log|
    /// parse_owned(log))`, a line per variant. Describe the experiment (size, title, work...)
    /// before it.
    #[must_use]
    pub fn input<I: Send + 'static>(
        self,
        make: impl Fn(usize) -> I + Send + Sync + 'static,
    ) -> WithInput<I> {
        WithInput {
            builder: self,
            make: Arc::new(make),
        }
    }

    /// One line on what the last variant added does differently (shown by `list`).
    #[must_use]
    pub fn summary(mut self, text: &str) -> Self {
        if let Some(variant) = self.variants.last_mut() {
            text.clone_into(&mut variant.summary);
        }
        self
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
        let variants: Vec<VariantInfo> = self
            .variants
            .iter()
            .map(|v| VariantInfo {
                name: leak(&v.name),
                summary: leak(&v.summary),
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
        Ok(UserExperiment {
            info,
            builds: self.variants.into_iter().map(|v| v.build).collect(),
            work_per_op: self.work_per_op,
            warmup: self.warmup,
            layouts: self.layouts,
        })
    }
}

impl std::fmt::Debug for ExperimentBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let variants: Vec<&str> = self.variants.iter().map(|v| v.name.as_str()).collect();
        f.debug_struct("ExperimentBuilder")
            .field("id", &self.id)
            .field("variants", &variants)
            .finish_non_exhaustive()
    }
}

/// An experiment whose variants share one input: see [`ExperimentBuilder::input`].
pub struct WithInput<I> {
    builder: ExperimentBuilder,
    make: Arc<dyn Fn(usize) -> I + Send + Sync>,
}

impl<I: Send + 'static> WithInput<I> {
    /// Adds a variant whose operation is `op` over the input: each call is one measured
    /// operation, its result hashed into the checksum.
    #[must_use]
    #[track_caller]
    pub fn op<R: Hash + 'static>(
        self,
        name: &str,
        op: impl Fn(&I) -> R + Send + Sync + 'static,
    ) -> Self {
        let build = closure::build_over_input(Arc::clone(&self.make), op);
        let builder = self.builder.with_variant(name, Location::caller(), build);
        Self { builder, ..self }
    }

    /// Adds a variant with a setup of its own (state besides the input): see
    /// [`ExperimentBuilder::variant`].
    #[must_use]
    #[track_caller]
    pub fn variant<S, Op, R>(self, name: &str, setup: S) -> Self
    where
        S: Fn(usize) -> Op + Send + Sync + 'static,
        Op: FnMut() -> R + Send + 'static,
        R: Hash + 'static,
    {
        Self {
            builder: self.builder.variant(name, setup),
            ..self
        }
    }

    /// One line on what the last variant added does differently (shown by `list`).
    #[must_use]
    pub fn summary(self, text: &str) -> Self {
        Self {
            builder: self.builder.summary(text),
            ..self
        }
    }
}

impl<I> std::fmt::Debug for WithInput<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithInput")
            .field("builder", &self.builder)
            .finish_non_exhaustive()
    }
}

impl<I> From<WithInput<I>> for ExperimentBuilder {
    fn from(with: WithInput<I>) -> Self {
        with.builder
    }
}

/// Text that lives as long as the process: the lab is described once, at start.
fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}
