//! `heaplab bench`: measure experiments headless, one row per experiment and variant, like
//! `go test -benchmem`. What to measure is [`plan`]'s, measuring it [`run`]'s; the rows are
//! [`crate::results`]' and their text [`crate::report`]'s.

mod check;
mod plan;
mod run;

pub use check::{Checked, check};
pub use plan::{
    DEFAULT_RUN_TIME, DEFAULT_RUNS, Plan, PlanError, PlanItem, VariantChoice, plan, with_input,
};
pub use run::{Isolation, RunError, Runs, measure_in_worker, measure_on_worker, run};
