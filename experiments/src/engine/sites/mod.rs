//! Allocation sites: which line of an experiment allocates, measured.
//!
//! - `capture.rs`: the worker's side. A [`Capture`] window records every allocation of the
//!   measuring thread with its raw call stack, allocating nothing, and [`RawSites`] carries
//!   the stacks out, relative to the executable.
//! - `frames.rs`: one frame of a stack, resolved to function, file and line with the binary's
//!   line tables (cached per address), and told apart by what it is: the experiment's own code
//!   (a file in the workspace its source files are in), or folded (the toolchain's sources,
//!   std's vendored crates, the cargo registry and git checkouts, anything outside that
//!   workspace, heaplab's own engine and glue, code the compiler made). A closure is named by
//!   its enclosing function (`normalize_record::{closure#0}`).
//! - `symbolize.rs`: the parent's side. [`symbolize`] turns a window into [`Sites`]: each site
//!   is the first frame of a stack in the experiment's own code, with its file relative to the
//!   workspace and its whole stack (every frame, the folded ones marked). Where the
//!   experiment's code was built without line tables, it names the function instead, and
//!   says so ([`Sites::missing_line_tables`]). [`place_stack`] places one stack resolved
//!   elsewhere (another program's, by its executable: [`Resolve`], [`Classifier::for_program`]).
//! - `live.rs`: a watched program's sampled sites on every thread, live, with what each site
//!   still holds (frees of sampled blocks matched to their sites) and its sizes.
//! - `live_table.rs`: the live sampler's one table of distinct stacks, which every thread
//!   writes at once without locks or allocation (in this folder, so its frames fold as the
//!   engine's do).

mod capture;
mod frames;
pub mod live;
mod live_table;
mod symbolize;

pub use capture::{Busy, Capture, MAX_FRAMES, OUTSIDE, RawSites, RawStack};
pub use frames::{
    Classifier, Resolve, Scope, Symbol, ThisProcess, bare_closure, path_tails, same_file,
    short_function,
};
pub use live::{
    DEFAULT_LIVE_SAMPLE_EVERY, LiveSites, LiveStack, SIZE_BUCKETS, TEMPORARY_NS, bucket_bounds,
    live_sample_every, live_snapshot, size_bucket, start_live_sampling,
};
pub use symbolize::{Frame, NO_FRAME, Placement, SHARE_OF, Site, Sites, place_stack, symbolize};
