//! The counting allocator: per-thread counter slots wrapped around any `GlobalAlloc`, with the
//! process's live heap and a process-wide fuse derived from them.
//!
//! It has one job: count every allocation, deallocation and reallocation exactly, attributed
//! to the thread that made it, without allocating, locking or contending inside the allocator.
//!
//! # Files
//! - `alloc.rs`: the unsafe core, where every `unsafe` of this module is (kept whole): the
//!   `GlobalAlloc` implementations and the fast and out-of-line allocation paths.
//! - `slot.rs`: the slot table, how each event is written to it, snapshots, the fuse.
//! - `claim.rs`: how a thread claims a slot and hands it back (a worker registering, or any
//!   thread by itself once every thread is counted), and the guard that hands it back at
//!   thread exit.
//! - `worker_slot.rs`: a worker's claim on its slot, its budget, and detaching from it.
//! - `threads.rs`: every thread's counters, for a program watched while it runs.
//! - `live.rs`: the hook through which a live sampler of sites sees every owner's sampled
//!   allocations (one per about `every` bytes) and the frees of the blocks it sampled, which
//!   `alloc.rs` places 64 bytes into a page behind a header, so that a free tells one by its
//!   address before any load.
//! - `capture.rs`: the hook through which a recorder of allocation sites sees a capturing
//!   slot's events. Counting knows nothing of sites: the recorder hooks in.
//!
//! # Design
//! - A static array of [`MAX_SLOTS`] counter slots. Slot 0 is the shared "other" bucket: every
//!   thread without a slot of its own (the UI, std internals, test harness threads) counts there
//!   with atomic read-modify-write operations, because several threads write it at once.
//! - A thread that calls [`register_worker`] owns a slot until its [`WorkerSlot`] guard drops.
//!   After [`count_every_thread`], a thread without one also claims a free slot by itself, at
//!   its next allocation or free, and owns it until it ends (a thread-local guard hands it
//!   back). The claim is made on the shared bucket's path, which is out of line: the fast path
//!   of a thread with a slot is the same instructions with or without it (`claim.rs`). Every
//!   claim records the owner's kernel thread id and raises the slot's generation, so that
//!   [`threads`] tells one owner from the next.
//!   Only the owner writes an owned slot, so the owner uses plain relaxed loads and stores (no
//!   `lock`-prefixed instructions, no cache-line ping-pong), and readers on other threads take a
//!   consistent [`Counters`] snapshot with relaxed loads and a retry. The three call counters
//!   are their own sequence locks: each holds twice its count, and is odd while the owner records
//!   an event of that kind, so an event costs no store beyond its own counters but one.
//!   The thread finds its slot through a thread-local reference (one `fs`-relative load).
//! - A slot's raw counters only ever grow, for the life of the process; a registration records
//!   where they stood, and [`snapshot`] reports what happened since. So the sum of every slot's
//!   live bytes is the process's live heap ([`process_live_bytes`]), exact whichever threads
//!   allocate, free or come and go, with no shared counter on the hot path.
//! - The fuse ([`set_fuse`]): each slot re-checks the process heap against the limit after at
//!   most 1 MiB of its own allocations (sooner near the limit), and before any allocation
//!   larger than that; past the limit an allocation fails.
//! - `realloc` counts as one reallocation and adds only the change in size to the byte totals;
//!   `alloc_zeroed` and `realloc` are forwarded to the inner allocator, never emulated, so
//!   calloc's and mremap's fast paths stay intact.
//! - A free is counted before it is forwarded, so the inner allocator's `free` is a tail call.
//!   So is an ordinary allocation: under 1 MiB, at most 16-byte aligned, with the slot's fuse
//!   check not due. That is why such an allocation stays counted in the rare case that the inner
//!   allocator then refuses it, which for a request that small, with the fuse's headroom left,
//!   happens only when the operating system itself is out of memory (Rust then aborts the
//!   process, unless the caller used a fallible API such as `Vec::try_reserve`). Every other
//!   allocation (large, over-aligned, or due for a fuse check) is counted only once it
//!   succeeded. Measured (`cargo bench --bench allocator`): with the tail call, and the call
//!   counters as their own sequence locks, an alloc+free pair went from +21..38% over `System`
//!   to +10..20%, about 1 ns less. On 2026-12-02, seven runs on a host where `System` takes
//!   7.4 ns per pair: +7% on one thread and +6% on two (medians), the cheapest exact counter in
//!   the bench (divan's `AllocProfiler` +14% and +11%). Half of that is the wrapper alone (the
//!   thread-local load, the tests, the tail call: +3%); checking the peak after each free, or
//!   as a branchless `max` on every allocation, measured dearer
//!   (`docs/methodology.md#what-counting-costs`).
//!
//! Memory freed by a thread other than the one that allocated it counts as freed by the freeing
//! thread: a slot's live bytes can therefore be negative for a thread that frees what others made.

mod alloc;
mod capture;
mod claim;
mod live;
mod slot;
mod threads;
mod worker_slot;

pub use alloc::{CountingAlloc, SharedCounter, give_back_free_c_heap, share_one_c_heap};
pub use capture::{Kind, Recorder};
pub use live::{Block, LiveHooks, NO_STACK, Sampled, live_every, start_live};
pub use slot::{Counters, MAX_SLOTS, SlotId, fuse, process_live_bytes, set_fuse, snapshot};
pub use threads::{
    ProcessCounters, ThreadCounters, count_every_thread, counting_every_thread, process_counters,
    threads,
};
pub use worker_slot::{
    OverBudget, RegisterError, WorkerSlot, budget_checkpoint, current_slot_id, installed,
    register_worker, unmeasured,
};
