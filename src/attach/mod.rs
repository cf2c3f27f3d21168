//! `heaplab attach` and `heaplab ps`: the viewer's side of watching a running program. The
//! program (`heaplab::monitor::start()`) sends cumulative counters over its socket; here they
//! are found and read ([`client`]), turned into rates, per-thread figures and history
//! ([`figures`]), judged against `--alert`s ([`alerts`]), printed as `--trace` lines
//! ([`trace`]) and recorded as CSV ([`record`]); [`ps`] lists the programs. The dashboard view
//! of them is `ui::attach_view` (the `dashboard` feature); everything here works without it.

pub mod alerts;
pub mod client;
pub mod figures;
pub mod ps;
pub mod record;
pub mod trace;
