//! heaplab: a terminal dashboard and headless bench for memory experiments.
//!
//! The library holds everything but `main`: the process's global allocator ([`alloc`]), the
//! live runner ([`runner`]), the dashboard ([`ui`]), `heaplab bench` ([`bench`]), the command
//! line ([`cli`]) and human-readable units ([`units`]). Experiments themselves live in `heaplab-experiments`.

pub mod alloc;
pub mod bench;
pub mod benchstat;
pub mod cli;
pub mod export;
pub mod files;
pub mod live;
pub mod runner;
pub mod scorecard;
pub mod trace;
pub mod ui;
pub mod units;

/// A request heaplab refuses before doing any work: exit status 2, one line on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
