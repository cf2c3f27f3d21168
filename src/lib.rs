//! heaplab: a terminal dashboard and headless bench for memory experiments.
//!
//! Your own experiments get the whole program through [`Lab`] (see [`lab`]): one closure per
//! variant, and `Lab::main` where `main` was; the `heaplab` binary is the chapter's catalog
//! handed to the same entry point.
//!
//! The library holds everything but `main`: the allocator to install ([`Counting`]) and the
//! process-wide fuse ([`alloc`]), the live runner ([`runner`]), the dashboard ([`ui`]), `heaplab
//! bench` ([`mod@bench`]), the measured figures ([`results`]) and their text ([`report`]), the
//! command line ([`cli`]) and human-readable units ([`units`]). Inside your own unit tests,
//! [`count`] gives a closure's exact allocations (see [`mod@count`]). Experiments themselves live in
//! `heaplab-experiments`.
//!
//! # Features
//! Both on by default; a crate that only benches its own code turns them off
//! (`default-features = false`) and builds in a fraction of the time (docs/your-own-code.md).
//! - `dashboard`: the terminal dashboard and everything drawn (`ui`, the SVG charts of
//!   `export`, `screenshot`, `bench --plot`). Without it the commands that draw say so in one
//!   line and exit with status 2; `bench`, `run --trace`, `list`, `compare` and `scorecard` work.
//! - `chapter`: the chapter's experiments (`Lab::chapter`, `Lab::with_chapter`).
//!
//! The `heaplab` binary needs both.

pub mod alloc;
#[cfg(unix)]
pub mod attach;
pub mod bench;
pub mod benchstat;
pub mod catalog;
pub mod cli;
pub mod count;
#[cfg(feature = "dashboard")]
pub mod export;
pub mod files;
pub mod lab;
pub mod live;
#[cfg(unix)]
pub mod monitor;
pub mod program;
pub mod record;
pub mod report;
pub mod results;
pub mod runner;
pub mod scorecard;
pub mod session;
pub mod sites;
pub mod trace;
#[cfg(feature = "dashboard")]
pub mod ui;
pub mod units;

pub use count::{Counts, allocs_per_run, assert_allocs, count, try_count};
pub use heaplab_experiments::limits::Limits;
pub use heaplab_experiments::{Targets, WorkUnit, Workload, type_layout};
pub use lab::{Counting, ExperimentBuilder, Lab};

/// A request heaplab refuses before doing any work: exit status 2, one line on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
