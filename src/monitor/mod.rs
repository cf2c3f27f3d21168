//! Watching a running program: the program's side (`monitor::start()`: a background thread
//! and a Unix socket in a private directory, through which a viewer reads every thread's
//! counters) and what both sides share: the socket's place ([`paths`]) and the lines sent on
//! it ([`protocol`]). The viewer is `heaplab attach`.

pub mod paths;
pub mod protocol;
