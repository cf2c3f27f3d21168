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
//!                 .input(|size| (0..size as u64).collect::<Vec<u64>>())
//!                 .op("collected", |numbers| {
//!                     numbers.iter().map(|n| n * n).collect::<Vec<_>>().iter().sum::<u64>()
//!                 })
//!                 .op("summed", |numbers| numbers.iter().map(|n| n * n).sum::<u64>())
//!         })
//!         .main()
//! }
//! ```
//!
//! # What lives how long
//!
//! A *run* is one variant measured once: a worker process of the dashboard, one of `bench`'s
//! runs, or the replay that captures allocation sites. Each run sets everything up afresh,
//! outside the measured region, then calls the operation many times.
//!
//! - **The input** (`.input(make)`) is made by `make` from the workload size at the start of
//!   every run and lives for the whole run; every op variant receives it as `&input`.
//! - **State** lives for the run too. `.op_mut(name, |input| { state; move |input| op })`
//!   runs its outer closure (the setup) once per run, given the input, and the operation it
//!   returns owns the state (a reused buffer, a parser's record), kept from one call to the
//!   next. `.variant(name, |size| { state; move || op })` is the same without an input: its
//!   setup gets the size, and makes whatever input it needs itself.
//! - **A result** lives for one operation. The warm-up's results (64 operations unless
//!   `.warmup(n)`) are hashed into the checksum, which says when two variants do not compute
//!   the same thing; after the warm-up they are not hashed. Every result is dropped inside its
//!   operation. A returned result may not borrow from the input: `.op_sink(name, |input,
//!   sink| sink.put(result))` takes one that does.
//!
//! So what is measured is the operation's call and the drop of its result, nothing else:
//! not the input, not the setup, not hashing, not counting the work (`.work`, once per run).
//!
//! ```no_run
//! # struct StringRecord(String);
//! # impl StringRecord { fn new() -> Self { Self(String::new()) } }
//! # fn csv_reuse(data: &[u8], record: &mut StringRecord) -> usize { record.0.len() + data.len() }
//! # fn make_csv(size: usize) -> Vec<u8> { vec![b','; size] }
//! # heaplab::Lab::new().experiment("csv", |e| {
//! e.input(make_csv) // once per run, shared by every op variant
//!     .work("bytes", |data| data.len() as u64) // once per run, from the input
//!     .op_mut("reuse", |_data| {
//!         let mut record = StringRecord::new(); // once per run
//!         move |data| csv_reuse(data, &mut record) // each call: one measured operation
//!     })
//!     .op_sink("fields", |data, sink| {
//!         sink.put(data.split(|b| *b == b',').collect::<Vec<&[u8]>>()) // borrows the input
//!     })
//!     .try_op("utf8", |data| std::str::from_utf8(data).map(str::len)) // an Err ends the run
//! # });
//! ```
//!
//! The folder: [`ExperimentBuilder`] describes one experiment (`builder.rs`), in a state that
//! says whether it has an input yet (`state.rs`), the operations over its input are in
//! `input.rs`, the closures become an [`Experiment`] and its workloads
//! in `closure.rs` (the one file whose frames the sites view folds away as heaplab's), the
//! variants' source is read for the source view in `source.rs`, and [`Lab::main`] hands the
//! catalog to the program (`entry.rs`).

mod builder;
mod closure;
mod entry;
mod input;
mod source;
mod state;

use heaplab_experiments::Experiment;

pub use builder::ExperimentBuilder;
pub use closure::Sink;
pub use state::{HasInput, Input, NoInput, NoInputYet, State};

use closure::UserExperiment;

/// The allocator heaplab counts with: install it in your binary with
/// `#[global_allocator] static ALLOC: heaplab::Counting = heaplab::Counting::system();`.
pub type Counting = heaplab_experiments::counting::CountingAlloc<std::alloc::System>;

/// A set of experiments and the program over them: see the [module documentation](self).
#[derive(Default)]
pub struct Lab {
    /// Each experiment as described, checked (its error waits for [`Lab::build`]).
    experiments: Vec<Result<UserExperiment, LabError>>,
    chapter: bool,
}

impl Lab {
    /// A lab with no experiment yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The course chapter's catalog: what the `heaplab` binary runs.
    #[cfg(feature = "chapter")]
    #[must_use]
    pub fn chapter() -> Self {
        Self::new().with_chapter()
    }

    /// Lists the chapter's experiments after yours, to compare against.
    #[cfg(feature = "chapter")]
    #[must_use]
    pub fn with_chapter(mut self) -> Self {
        self.chapter = true;
        self
    }

    /// Adds the experiment `id` (kebab-case, as typed on the command line), described by
    /// `define`: its size, its variants, and anything else [`ExperimentBuilder`] takes.
    #[must_use]
    pub fn experiment<S: State>(
        mut self,
        id: &str,
        define: impl FnOnce(ExperimentBuilder) -> ExperimentBuilder<S>,
    ) -> Self {
        self.experiments
            .push(define(ExperimentBuilder::new(id)).finish());
        self
    }

    /// Whether the lab runs experiments of its own (else it is the chapter's catalog alone,
    /// the `heaplab` binary).
    pub(crate) fn has_own(&self) -> bool {
        !self.experiments.is_empty()
    }

    /// Checks the experiments and builds the catalog they make (the chapter's after them if
    /// asked), without registering it.
    pub fn build(self) -> Result<Vec<&'static dyn Experiment>, LabError> {
        let mut catalog: Vec<&'static dyn Experiment> = Vec::new();
        for experiment in self.experiments {
            let experiment = experiment?;
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
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<Result<&str, &LabError>> = self
            .experiments
            .iter()
            .map(|e| e.as_ref().map(|e| e.info.id))
            .collect();
        f.debug_struct("Lab")
            .field("experiments", &ids)
            .field("chapter", &self.chapter)
            .finish()
    }
}

/// A lab that cannot run: a bad id, no variant, two variants of one name...
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LabError(String);

#[cfg(test)]
mod tests {
    use super::*;
    use heaplab_experiments::{Checksum, Section, Workload};

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
        assert!(source.contains("src/lab/mod.rs:"), "{source}");
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
