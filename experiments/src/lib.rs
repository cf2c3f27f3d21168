//! heaplab's experiments: the chapter's memory patterns as naive/optimized pairs, and the
//! engine that measures them with a counting allocator. No terminal, no UI: testable and
//! benchable alone.
//!
//! # Two folders
//! - `src/engine/`: what measures, and knows no experiment of the chapter: the [`Experiment`]
//!   contract, the counting allocator, the measuring loop, the worker process, statistics,
//!   comparisons, allocation sites. Its own map is in `engine/mod.rs`.
//! - `src/chapter/`: one file per experiment, and the [`catalog`] listing them. A chapter file
//!   uses the engine; the engine never uses the chapter, and no module `use`s this root.
//!
//! # The public surface
//! What the `heaplab` binary, its tests, benches and examples use, re-exported here and
//! nothing else public:
//! - the contract: [`Experiment`], [`Workload`], [`ExperimentInfo`], [`VariantInfo`],
//!   [`Section`], [`WorkUnit`], [`Targets`], [`Checksum`], [`SetupError`], [`check`],
//!   [`setup`], [`checksum_of`], [`find_in`], [`ids_of`] and [`type_layout!`];
//! - the catalog: [`catalog`], [`find`], [`setup_with_input`] (which names the catalog's
//!   experiments that take a file), and [`streaming`]'s functions, which its fuzz test drives;
//! - the engine's modules, whole for this round: [`counting`], [`measure`], [`worker`],
//!   [`sites`], [`stats`], [`compare`], [`layout`], [`panic`] and [`fault`] (the experiment that
//!   fails on purpose, in the catalog only for tests).
//!
//! # Adding an experiment
//! 1. Write `src/chapter/NAME.rs`: a unit struct implementing [`Experiment`] (its
//!    [`ExperimentInfo`]: a kebab-case id, its [`Section`], a `why` paragraph, variants with
//!    `naive` first, sizes, [`Targets`], `source: include_str!("NAME.rs")` and
//!    `source_file: file!()`), and a [`Workload`] per variant whose `run_op` folds its result
//!    into the [`Checksum`] and returns the work done, the same for every variant. Mark each
//!    variant's code with `// region:VARIANT` .. `// endregion:VARIANT` for the source view.
//! 2. Add one line to the `chapter!` list in `src/chapter/mod.rs`, in chapter order:
//!    `NAME::YourExperiment,` (that declares the module too).
//! 3. Add its entries to the tests' expectation lists: `tests/sites.rs`'s `ALLOCATES_ON` (the
//!    lines each variant allocates on) and the claims in `experiments/tests/catalog.rs`; then
//!    review the snapshots that list the catalog (`cargo insta review`).
//!
//! Nothing else holds the catalog's length or its order: the test-only fault experiment is
//! appended to whatever the list holds. `chapter::tests` adds a throwaway fifteenth experiment
//! that way and runs the catalog's checks on it.
//!
//! # Features
//! `chapter` (on by default): the chapter's experiments and the crates they use. Without it
//! [`catalog`] is empty and none of those crates is built: the engine alone, for a lab of
//! one's own code (heaplab's own `chapter` feature turns this one on).

mod chapter;
mod engine;

#[cfg(feature = "chapter")]
pub use chapter::streaming;
pub use chapter::{catalog, find, setup_with_input};
pub use engine::experiment::{
    Checksum, Experiment, ExperimentInfo, Section, SetupError, Targets, VariantInfo, WorkUnit,
    Workload, check, checksum_of, find_in, ids_of, setup,
};
pub use engine::{compare, counting, fault, layout, limits, measure, panic, sites, stats, worker};
