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
pub mod runner;
pub mod scorecard;
pub mod trace;
pub mod ui;
pub mod units;
