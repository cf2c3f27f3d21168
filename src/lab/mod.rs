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
//!
//! The folder: [`ExperimentBuilder`] describes one experiment (`builder.rs`), the closures
//! become an [`Experiment`] and its workloads in `closure.rs` (the one file whose frames the
//! sites view folds away as heaplab's), the variants' source is read for the source view in
//! `source.rs`, and [`Lab::main`] hands the catalog to the program (`entry.rs`).

mod builder;
mod closure;
mod entry;
mod source;

use heaplab_experiments::Experiment;

pub use builder::{ExperimentBuilder, WithInput};

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
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("experiments", &self.experiments)
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
