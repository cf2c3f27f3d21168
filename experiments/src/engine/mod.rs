//! The engine: what measures an experiment, and knows no experiment of the chapter.
//!
//! - [`experiment`]: the contract every experiment implements ([`Experiment`](experiment::Experiment),
//!   [`Workload`](experiment::Workload)) and the checks run before one is built.
//! - [`counting`]: the counting allocator, per-thread counter slots, the budget and the fuse.
//! - [`measure`]: the one measuring loop, and the figures it publishes.
//! - [`worker`]: the worker process and its protocol with the parent.
//! - [`sites`]: allocation sites, captured with their call stacks (it hooks its recorder into
//!   [`counting`]; counting knows nothing of it).
//! - [`stats`] and [`compare`]: the statistics behind every speed, and a variant against its
//!   baseline in words.
//! - [`limits`]: absolute limits on a variant's figures (`bench --check`).
//! - [`layout`]: type layouts for the layout inspector; [`data`]: deterministic workload
//!   data for the experiments; [`panic`]: panics on worker threads; [`fault`]: the
//!   experiment that fails on purpose, which tests throw at the engine.
//!
//! Imports only go down this list's dependencies, never up to the crate root or to the
//! chapter.

pub mod compare;
pub mod counting;
// The chapter's generated data: only its experiments use it.
#[cfg(feature = "chapter")]
pub(crate) mod data;
pub(crate) mod experiment;
pub mod fault;
pub mod layout;
pub mod limits;
pub mod measure;
pub mod panic;
pub mod sites;
pub mod stats;
pub mod worker;
