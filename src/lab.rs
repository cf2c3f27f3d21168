//! heaplab over your own code: [`Lab`] gathers experiments written as one closure per variant
//! and hands them to the whole program (dashboard, `run`, `bench`, `trace`, `compare`, `list`,
//! the source view, the tour), the same entry point the `heaplab` binary hands the chapter's
//! catalog to.
//!
//! ```no_run
//! // benches/lab.rs, with [[bench]] name = "lab", harness = false
//! #[global_allocator]
//! static ALLOC: heaplab::Counting = heaplab::Counting::system();
//!
//! fn main() -> std::process::ExitCode {
//!     heaplab::Lab::new()
//!         .experiment("sum-squares", |e| {
//!             e.size("numbers per call", 1_000)
//!                 .variant("naive", |size| {
//!                     move || (0..size as u64).map(|n| n * n).collect::<Vec<_>>().iter().sum::<u64>()
//!                 })
//!                 .variant("optimized", |size| move || (0..size as u64).map(|n| n * n).sum::<u64>())
//!         })
//!         .main()
//! }
//! ```
//!
//! A variant's outer closure is its setup (outside the measured region), given the workload
//! size; the closure it returns is one operation, and what the operation returns is hashed into
//! the checksum, so heaplab can say when two variants do not compute the same thing.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::marker::PhantomData;
use std::panic::Location;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser as _;
use heaplab_experiments::layout::TypeLayout;
use heaplab_experiments::{
    Checksum, Experiment, ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload,
};

use crate::UsageError;
use crate::cli::{self, Cli};

/// The allocator heaplab counts with: install it in your binary with
/// `#[global_allocator] static ALLOC: heaplab::Counting = heaplab::Counting::system();`.
pub type Counting = heaplab_experiments::counting::CountingAlloc<std::alloc::System>;

/// A set of experiments and the program over them: see the [module documentation](self).
#[derive(Default)]
pub struct Lab {
    experiments: Vec<ExperimentBuilder>,
    chapter: bool,
}

impl Lab {
    /// A lab with no experiment yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The course chapter's catalog: what the `heaplab` binary runs.
    #[must_use]
    pub fn chapter() -> Self {
        Self::new().with_chapter()
    }

    /// Lists the chapter's experiments after yours, to compare against.
    #[must_use]
    pub fn with_chapter(mut self) -> Self {
        self.chapter = true;
        self
    }

    /// Adds the experiment `id` (kebab-case, as typed on the command line), described by
    /// `define`: its size, its variants, and anything else [`ExperimentBuilder`] takes.
    #[must_use]
    pub fn experiment<B: Into<ExperimentBuilder>>(
        mut self,
        id: &str,
        define: impl FnOnce(ExperimentBuilder) -> B,
    ) -> Self {
        self.experiments
            .push(define(ExperimentBuilder::new(id)).into());
        self
    }

    /// Checks the experiments and builds the catalog they make (the chapter's after them if
    /// asked), without registering it.
    pub fn build(self) -> Result<Vec<&'static dyn Experiment>, LabError> {
        let mut catalog: Vec<&'static dyn Experiment> = Vec::new();
        for builder in self.experiments {
            let experiment = builder.finish()?;
            let id = experiment.info().id;
            if catalog.iter().any(|e| e.info().id == id)
                || (self.chapter && heaplab_experiments::find(id).is_some())
            {
                return Err(LabError(format!("two experiments are called `{id}`")));
            }
            catalog.push(Box::leak(Box::new(experiment)));
        }
        if self.chapter {
            catalog.extend(heaplab_experiments::catalog());
        }
        if catalog.is_empty() {
            return Err(LabError(
                "the lab has no experiment: add one with .experiment(\"id\", |e| ...)".into(),
            ));
        }
        Ok(catalog)
    }

    /// Runs the whole program over the lab's experiments, with the command line of this
    /// process: the dashboard without arguments, `bench`, `run ID`, `list`... as `heaplab`
    /// takes them. Returns the exit status to end with.
    #[must_use]
    pub fn main(self) -> ExitCode {
        // Before any thread exists: one C heap for every thread, in the dashboard and in
        // every worker process alike. (Off glibc it does nothing.)
        let _ = heaplab_experiments::counting::share_one_c_heap();
        if !heaplab_experiments::counting::installed() {
            let _ = writeln!(
                std::io::stderr(),
                "error: heaplab counts allocations through its allocator, and this program does \
                 not use it: add `#[global_allocator] static ALLOC: heaplab::Counting = \
                 heaplab::Counting::system();` to the file with `main`"
            );
            return ExitCode::from(2);
        }
        let catalog = match self.build() {
            Ok(catalog) => catalog,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "error: {e}");
                return ExitCode::from(2);
            }
        };
        if crate::catalog::register(catalog.leak()).is_err() {
            let _ = writeln!(std::io::stderr(), "error: Lab::main runs once per process");
            return ExitCode::from(2);
        }
        // NO_COLOR: error reports without colour too.
        let hooks = if crate::ui::workshop::no_color() {
            color_eyre::config::HookBuilder::blank().install()
        } else {
            color_eyre::install()
        };
        if let Err(e) = hooks {
            let _ = writeln!(
                std::io::stderr(),
                "heaplab: could not install the error reporter: {e}"
            );
        }
        heaplab_experiments::panic::install_worker_filter();
        // `cargo bench` adds `--bench` to a harness-less bench's arguments: not ours.
        let args = std::env::args_os().filter(|a| a != "--bench");
        let cli = match Cli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        };
        match cli::run(cli) {
            Ok(code) => code,
            // Expected refusals get one plain line; only surprises get the full report.
            // `writeln!` and not `eprintln!`: with the terminal closed, stderr may be gone
            // too, and a failed print must not panic on the way out.
            Err(report) if report.downcast_ref::<UsageError>().is_some() => {
                let _ = writeln!(std::io::stderr(), "error: {report}");
                ExitCode::from(2)
            }
            Err(report) if report.downcast_ref::<crate::ui::NotATerminal>().is_some() => {
                let _ = writeln!(std::io::stderr(), "error: {report}");
                ExitCode::FAILURE
            }
            Err(report) => {
                let _ = writeln!(std::io::stderr(), "error: {report:?}");
                ExitCode::FAILURE
            }
        }
    }
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("experiments", &self.experiments)
            .field("chapter", &self.chapter)
            .finish()
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

/// A lab that cannot run: a bad id, no variant, two variants of one name...
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LabError(String);

/// Builds one variant's workload: given the size and the work one operation does.
type Build = Box<dyn Fn(usize, u64) -> Box<dyn Workload> + Send + Sync>;

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
    fn new(id: &str) -> Self {
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
    pub fn variant<S, Op, R>(mut self, name: &str, setup: S) -> Self
    where
        S: Fn(usize) -> Op + Send + Sync + 'static,
        Op: FnMut() -> R + Send + 'static,
        R: Hash + 'static,
    {
        self.variants.push(VariantDef {
            name: name.to_owned(),
            summary: String::new(),
            location: Location::caller(),
            build: Box::new(move |size, work| {
                Box::new(ClosureWorkload {
                    op: setup(size),
                    work,
                    result: PhantomData,
                })
            }),
        });
        self
    }

    /// Adds a variant written as a [`Workload`] of your own, for what closures cannot say:
    /// counters of its own ([`Workload::extra_counters`]), work that varies per operation.
    #[must_use]
    #[track_caller]
    pub fn workload_variant<W: Workload + 'static>(
        mut self,
        name: &str,
        setup: impl Fn(usize) -> W + Send + Sync + 'static,
    ) -> Self {
        self.variants.push(VariantDef {
            name: name.to_owned(),
            summary: String::new(),
            location: Location::caller(),
            build: Box::new(move |size, _| Box::new(setup(size))),
        });
        self
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

    fn finish(self) -> Result<UserExperiment, LabError> {
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
        let source = variants_source(&self.variants);
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
        let make = Arc::clone(&self.make);
        let op = Arc::new(op);
        let builder = self.builder.variant(name, move |size| {
            let input = make(size);
            let op = Arc::clone(&op);
            move || op(&input)
        });
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

/// An experiment made by [`ExperimentBuilder`].
struct UserExperiment {
    info: &'static ExperimentInfo,
    builds: Vec<Build>,
    work_per_op: Box<dyn Fn(usize) -> u64 + Send + Sync>,
    warmup: u64,
    layouts: Vec<TypeLayout>,
}

impl Experiment for UserExperiment {
    fn info(&self) -> &'static ExperimentInfo {
        self.info
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        (self.builds[variant])(size, (self.work_per_op)(size))
    }

    fn warmup_ops(&self, _size: usize) -> u64 {
        self.warmup
    }

    fn layouts(&self) -> Vec<TypeLayout> {
        self.layouts.clone()
    }
}

/// A variant's operation: the closure its setup returned.
struct ClosureWorkload<Op, R> {
    op: Op,
    work: u64,
    result: PhantomData<fn() -> R>,
}

impl<Op, R> Workload for ClosureWorkload<Op, R>
where
    Op: FnMut() -> R + Send,
    R: Hash,
{
    #[inline]
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        let result = std::hint::black_box((self.op)());
        result.hash(&mut Fold(checksum));
        self.work
    }
}

/// Hashes a result into the checksum, allocation-free.
struct Fold<'a>(&'a mut Checksum);

impl Hasher for Fold<'_> {
    fn finish(&self) -> u64 {
        self.0.value()
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.fold_bytes(bytes);
    }

    fn write_u64(&mut self, n: u64) {
        self.0.fold(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.0.fold(n as u64);
    }
}

/// The source view's text for the variants: each variant's call, read from its file where the
/// file is here, between the region markers the source view looks for.
fn variants_source(variants: &[VariantDef]) -> String {
    let mut out = String::new();
    for v in variants {
        let text = call_text(v.location).unwrap_or_else(|why| {
            format!(
                "// the code of `{}` is at {}:{}, which {why}",
                v.name,
                v.location.file(),
                v.location.line()
            )
        });
        let _ = write!(
            out,
            "// region:{name}\n// {}:{}\n{text}\n// endregion:{name}\n",
            v.location.file(),
            v.location.line(),
            name = v.name
        );
    }
    out
}

/// The text of the call at `location` (`.variant("naive", |size| { ... })`), from its line to
/// the parenthesis that closes it, dedented.
fn call_text(location: &Location) -> Result<String, String> {
    let path = std::path::Path::new(location.file());
    let candidates = [
        Some(path.to_path_buf()),
        std::env::var_os("CARGO_MANIFEST_DIR").map(|dir| std::path::Path::new(&dir).join(path)),
    ];
    let text = candidates
        .iter()
        .flatten()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .ok_or("cannot be read from here (run from the crate's folder to see it)")?;
    let lines: Vec<&str> = text.lines().collect();
    let first = usize::try_from(location.line())
        .ok()
        .and_then(|l| l.checked_sub(1))
        .filter(|&l| l < lines.len())
        .ok_or("has fewer lines than the call's")?;
    let rest = lines[first..].join("\n");
    let column = usize::try_from(location.column())
        .unwrap_or(1)
        .saturating_sub(1);
    let open = rest
        .get(column..)
        .and_then(|after| after.find('('))
        .map(|at| column + at)
        .ok_or("does not hold the call any more")?;
    let close = matching_paren(&rest[open..]).ok_or("holds no end to the call")? + open;
    let end = rest[close..].find('\n').map_or(rest.len(), |at| close + at);
    let call: Vec<&str> = rest[..end].lines().collect();
    let indent = call
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    Ok(call
        .iter()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Where the parenthesis that `text` opens with closes, skipping strings, characters and
/// comments.
fn matching_paren(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Lab {
        Lab::new().experiment("three-allocs", |e| {
            e.size("items", 8)
                .variant("naive", |size| {
                    move || {
                        let a = vec![1u8; size];
                        let b = a.clone();
                        let c = b.clone();
                        c.len()
                    }
                })
                .variant("optimized", |size| move || size)
        })
    }

    #[test]
    fn a_lab_describes_its_experiments() {
        let catalog = lab().build().expect("builds");
        let info = catalog[0].info();
        assert_eq!(info.id, "three-allocs");
        assert_eq!(info.section, Section::Yours);
        assert_eq!(info.variant_names(), "naive, optimized");
        assert_eq!(info.size_unit, "items");
        let source = info
            .variant_source("naive")
            .expect("the naive variant's code");
        assert!(source.contains("let b = a.clone();"), "{source}");
        assert!(source.contains("src/lab.rs:"), "{source}");
        assert!(!source.contains("optimized"), "{source}");
    }

    #[test]
    fn variants_that_compute_the_same_have_the_same_checksum() {
        let catalog = lab().build().expect("builds");
        let naive = heaplab_experiments::checksum_of(catalog[0], "naive", 8, 10).expect("runs");
        let optimized =
            heaplab_experiments::checksum_of(catalog[0], "optimized", 8, 10).expect("runs");
        assert_eq!(naive, optimized);
    }

    #[test]
    fn variants_over_one_input_take_a_line_each() {
        let catalog = Lab::new()
            .experiment("sum", |e| {
                e.size("numbers", 100)
                    .input(|size| (0..size as u64).collect::<Vec<u64>>())
                    .op("naive", |v| {
                        v.iter()
                            .rev()
                            .copied()
                            .collect::<Vec<u64>>()
                            .iter()
                            .sum::<u64>()
                    })
                    .op("optimized", |v| v.iter().sum::<u64>())
            })
            .build()
            .expect("builds");
        let experiment = catalog[0];
        assert_eq!(experiment.info().variant_names(), "naive, optimized");
        let source = experiment.info().variant_source("optimized").expect("code");
        assert!(
            source.contains(".op(\"optimized\", |v| v.iter().sum::<u64>())"),
            "{source}"
        );
        let naive = heaplab_experiments::checksum_of(experiment, "naive", 100, 5).expect("runs");
        let optimized =
            heaplab_experiments::checksum_of(experiment, "optimized", 100, 5).expect("runs");
        assert_eq!(naive, optimized);
    }

    /// A workload of the user's own, with counters the dashboard shows under the table.
    struct Pool {
        hits: u64,
    }

    impl Workload for Pool {
        fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
            self.hits += 1;
            checksum.fold(self.hits);
            1
        }

        fn extra_counters(&self, report: &mut dyn FnMut(&'static str, f64)) {
            report("hits", self.hits as f64);
        }
    }

    #[allow(dead_code)] // Only its layout is shown.
    struct Record {
        id: u64,
        flag: bool,
    }

    #[test]
    fn counters_and_layouts_are_declared_as_the_chapters_are() {
        let catalog = Lab::new()
            .experiment("pool", |e| {
                e.layouts(vec![crate::type_layout!("naive", Record, "", [id, flag])])
                    .workload_variant("naive", |_| Pool { hits: 0 })
            })
            .build()
            .expect("builds");
        let mut workload = catalog[0].build(0, 1);
        let mut checksum = Checksum::new();
        workload.run_op(&mut checksum);
        workload.run_op(&mut checksum);
        let mut counters = Vec::new();
        workload.extra_counters(&mut |name, value| counters.push((name, value)));
        assert_eq!(counters, [("hits", 2.0)]);
        let layouts = catalog[0].layouts();
        assert_eq!(layouts.len(), 1);
        assert_eq!(layouts[0].size, 16);
    }

    #[test]
    fn a_lab_that_cannot_run_says_why() {
        let no_variant = Lab::new().experiment("x", |e| e).build();
        assert!(no_variant.is_err_and(|e| e.to_string().contains("no variant")));
        let twice = Lab::new()
            .experiment("x", |e| e.variant("a", |_| || 1).variant("a", |_| || 2))
            .build();
        assert!(twice.is_err_and(|e| e.to_string().contains("two variants called `a`")));
        let clash = Lab::new()
            .with_chapter()
            .experiment("buffer-reuse", |e| e.variant("a", |_| || 1))
            .build();
        assert!(clash.is_err_and(|e| e.to_string().contains("two experiments")));
        let bad_id = Lab::new()
            .experiment("Parse Log", |e| e.variant("a", |_| || 1))
            .build();
        assert!(bad_id.is_err_and(|e| e.to_string().contains("lowercase")));
        assert!(Lab::new().build().is_err());
    }
}
