//! `heaplab attach` and `heaplab ps`: the viewer's side of watching a running program. The
//! program (`heaplab::monitor::start()`) sends cumulative counters over its socket; here they
//! are found and read ([`client`]), turned into rates, per-thread figures and history
//! ([`figures`]), judged against `--alert`s ([`alerts`]), printed as `--trace` lines
//! ([`trace`]) and recorded as CSV ([`record`]); [`ps`] lists the programs. Its sampled
//! sites are resolved from its executable here ([`symbols`]) and ranked by growth ([`sites`]). The dashboard view
//! of them is `ui::attach_view` (the `dashboard` feature); everything here works without it.

pub mod alerts;
pub mod client;
pub mod figures;
pub mod ps;
pub mod record;
pub mod sites;
pub mod symbols;
pub mod trace;
