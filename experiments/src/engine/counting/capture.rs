//! The hook through which an allocation-site recorder sees a capturing thread's events: while
//! a slot captures, each allocation and reallocation its thread makes, once counted, goes to
//! the [`Recorder`] the thread gave [`WorkerSlot::set_capturing`] (every one, or a sample).
//! Counting knows nothing of what a recorder does with them; a capturing slot keeps its fuse
//! check due, so its events take the out-of-line path and the fast path pays nothing.

use std::cell::Cell;
use std::sync::atomic::Ordering;

use super::slot::{SLOTS, Slot};
use super::worker_slot::{WorkerSlot, unmeasured};

/// What kind of call a captured event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `alloc` or `alloc_zeroed`.
    Alloc,
    /// `realloc`.
    Realloc,
}

/// Receives one captured event of the calling thread: its kind, the bytes it allocated, and
/// how many events it stands for (1 unless sampled). It runs inside the allocator, with the
/// thread detached from its slot: it must not lock what an allocation could hold.
pub type Recorder = fn(Kind, u64, f64);

thread_local! {
    // The capturing thread's recorder: only the owner of a slot captures, so it is the
    // thread's own. Const-initialised, no destructor: reading it never allocates.
    static RECORDER: Cell<Option<Recorder>> = const { Cell::new(None) };
}

impl WorkerSlot {
    /// Starts (`Some`) or stops (`None`) sending every allocation and reallocation of this
    /// thread, already counted, to `recorder` (the allocation-site recorder hands its own).
    /// Only the owner may do this.
    ///
    /// `sample_every` 0 captures every allocation; otherwise one allocation per about that
    /// many bytes is sampled, as pprof and tcmalloc do: the one during which the thread's
    /// allocated bytes pass a point drawn from an exponential distribution of that mean, so an
    /// allocation of `s` bytes is sampled with probability `1 - exp(-s / mean)` and stands for
    /// the inverse of that many allocations.
    pub(crate) fn set_capturing(&self, recorder: Option<Recorder>, sample_every: u64) {
        let slot = &SLOTS[self.id().index()];
        let on = recorder.is_some();
        let _ = RECORDER.try_with(|current| current.set(recorder));
        slot.sample_every.store(sample_every, Ordering::Relaxed);
        if on && sample_every > 0 {
            let next = slot
                .bytes_allocated
                .load(Ordering::Relaxed)
                .wrapping_add(next_sample_gap(slot, sample_every));
            slot.sample_at.store(next, Ordering::Relaxed);
        }
        slot.capturing.store(on, Ordering::Relaxed);
        // On: the next allocation takes the out-of-line path, which keeps it so (sampling: no
        // further than the next sample point). Off: the next one re-arms the fuse check at its
        // usual distance.
        slot.fuse_check_at.store(0, Ordering::Relaxed);
    }
}

/// An event of `kind` and `bytes` on a capturing slot, already counted: captured if every
/// event is, or if it is the one sampled.
#[cold]
#[inline(never)]
pub(super) fn captured(slot: &Slot, kind: Kind, bytes: u64) {
    let every = slot.sample_every.load(Ordering::Relaxed);
    if every == 0 {
        capture(kind, bytes, 1.0);
        return;
    }
    let allocated = slot.bytes_allocated.load(Ordering::Relaxed);
    let at = slot.sample_at.load(Ordering::Relaxed);
    if allocated < at {
        return;
    }
    let weight = sample_weight(bytes, every);
    let next = allocated.wrapping_add(next_sample_gap(slot, every));
    slot.sample_at.store(next, Ordering::Relaxed);
    let fuse_at = slot.fuse_check_at.load(Ordering::Relaxed);
    slot.fuse_check_at
        .store(fuse_at.min(next), Ordering::Relaxed);
    capture(kind, bytes, weight);
}

/// What an event of `bytes` sampled at a mean gap of `every` bytes stands for: it was sampled
/// with probability `1 - exp(-bytes / every)`, so the inverse of that.
pub(super) fn sample_weight(bytes: u64, every: u64) -> f64 {
    let probability = -(-(bytes.max(1) as f64) / every as f64).exp_m1();
    1.0 / probability
}

/// A draw from an exponential distribution of mean `every` bytes (at least 1), from the
/// slot's own xorshift state: no allocation, no lock.
pub(super) fn next_sample_gap(slot: &Slot, every: u64) -> u64 {
    let mut x = slot.sample_seed.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    slot.sample_seed.store(x, Ordering::Relaxed);
    // Uniform in (0, 1]: the top 53 bits, never 0.
    let uniform = ((x >> 11) + 1) as f64 / (1u64 << 53) as f64;
    ((-uniform.ln() * every as f64) as u64).max(1)
}

/// Hands the event just counted to the thread's [`Recorder`]. The thread is detached from its
/// slot meanwhile, so that whatever the recorder allocates (the unwinder, say) counts in the
/// shared bucket, is never captured (no recursion), and never reaches the experiment's figures.
#[cold]
#[inline(never)]
fn capture(kind: Kind, bytes: u64, weight: f64) {
    if let Some(recorder) = RECORDER.try_with(Cell::get).ok().flatten() {
        unmeasured(|| recorder(kind, bytes, weight));
    }
}
