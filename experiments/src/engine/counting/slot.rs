//! The slot table: one set of counters per thread that owns a slot plus the shared bucket, how
//! each event is written to them (plain stores for an owner, atomic adds for the shared bucket),
//! consistent snapshots, the process's live heap and the fuse. No `unsafe` here.

use std::cell::Cell;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};

/// Number of counter slots, including the shared "other" bucket in slot 0.
///
/// 255 threads of a watched program can each have one (a program with more shares the bucket).
/// What reads every slot (the process's heap, the fuse's check, [`threads`](super::threads))
/// reads only as far as the highest slot ever claimed, so a process that uses few pays for few;
/// the fuse's step is divided by all of them, which only shortens it within 256 MiB of the limit.
pub const MAX_SLOTS: usize = 256;

/// Index of a counter slot. [`SlotId::OTHER`] is the shared bucket of unregistered threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotId(pub(super) u16);

impl SlotId {
    /// The shared bucket every unregistered thread counts into.
    pub const OTHER: SlotId = SlotId(0);

    /// The slot's index in the static table.
    #[must_use]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// "The budget has not been passed", in [`Slot::over_budget_at`].
pub(super) const NOT_OVER: i64 = i64::MIN;

/// One slot's counters. Aligned to two cache lines, so that two workers never share a line;
/// `repr(C)` keeps everything an allocation or a free touches in the first one.
#[repr(C, align(128))]
pub(super) struct Slot {
    /// Sequence lock for the owner's rare writes (registration, peak reset): odd during one.
    pub(super) seq: AtomicU64,
    // Raw counters: they only grow, from the start of the process. The three call counters hold
    // twice the number of calls and are odd while the owner records a call of their kind: each
    // is the sequence lock of its own events.
    pub(super) allocs: AtomicU64,
    pub(super) deallocs: AtomicU64,
    pub(super) bytes_allocated: AtomicU64,
    pub(super) bytes_freed: AtomicU64,
    /// The highest raw live byte count since the registration or the last peak reset.
    pub(super) peak_live_bytes: AtomicI64,
    /// Raw live bytes past which the slot is flagged over budget (`i64::MAX`: no budget).
    pub(super) budget_live_bytes: AtomicI64,
    /// `bytes_allocated` at or past which the next allocation re-checks the fuse.
    pub(super) fuse_check_at: AtomicU64,
    // Second line: what the hot path does not touch.
    pub(super) reallocs: AtomicU64,
    /// The raw live byte count at which the budget was first passed ([`NOT_OVER`]: not passed).
    pub(super) over_budget_at: AtomicI64,
    // Where the raw counters stood when the current owner registered.
    pub(super) base_allocs: AtomicU64,
    pub(super) base_deallocs: AtomicU64,
    pub(super) base_reallocs: AtomicU64,
    pub(super) base_bytes_allocated: AtomicU64,
    pub(super) base_bytes_freed: AtomicU64,
    /// How many times the slot was claimed, the current owner's claim included.
    pub(super) claims: AtomicU64,
    /// The current (or last) owner's kernel thread id (0: unknown).
    pub(super) tid: AtomicU32,
    pub(super) in_use: AtomicBool,
    /// Whether the current owner claimed the slot by itself ([`count_every_thread`]) rather than
    /// registering as a worker.
    ///
    /// [`count_every_thread`]: super::count_every_thread
    pub(super) auto: AtomicBool,
    /// Whether the owner's allocations are being captured with their call stacks
    /// (the hook of `capture.rs`); while it is set, `fuse_check_at` stays 0 so that every allocation
    /// takes the out-of-line path, and the fast path pays nothing for the feature.
    pub(super) capturing: AtomicBool,
    /// While capturing: 0 to capture every allocation, else the mean number of bytes between
    /// two sampled ones (a sampled capture keeps `fuse_check_at` no further than `sample_at`).
    pub(super) sample_every: AtomicU64,
    /// While sampling: the raw `bytes_allocated` at or past which the next allocation is
    /// sampled.
    pub(super) sample_at: AtomicU64,
    /// The sampler's random state (xorshift), the owner's own.
    pub(super) sample_seed: AtomicU64,
    /// While live sampling is on (`live.rs`): the raw `bytes_allocated` at or past which the
    /// owner's next allocation is sampled (0: not drawn yet). `fuse_check_at` stays no further.
    pub(super) live_at: AtomicU64,
}

impl Slot {
    const fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            allocs: AtomicU64::new(0),
            deallocs: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
            peak_live_bytes: AtomicI64::new(0),
            budget_live_bytes: AtomicI64::new(i64::MAX),
            fuse_check_at: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            over_budget_at: AtomicI64::new(NOT_OVER),
            base_allocs: AtomicU64::new(0),
            base_deallocs: AtomicU64::new(0),
            base_reallocs: AtomicU64::new(0),
            base_bytes_allocated: AtomicU64::new(0),
            base_bytes_freed: AtomicU64::new(0),
            claims: AtomicU64::new(0),
            tid: AtomicU32::new(0),
            in_use: AtomicBool::new(false),
            auto: AtomicBool::new(false),
            capturing: AtomicBool::new(false),
            sample_every: AtomicU64::new(0),
            sample_at: AtomicU64::new(0),
            sample_seed: AtomicU64::new(0x9e37_79b9_7f4a_7c15),
            live_at: AtomicU64::new(0),
        }
    }

    /// Raw live bytes: everything this slot's threads allocated minus everything they freed.
    #[inline]
    pub(super) fn raw_live(&self) -> i64 {
        // Freed first: a free between the two loads makes the figure high, never low.
        let freed = self.bytes_freed.load(Ordering::Relaxed);
        self.bytes_allocated
            .load(Ordering::Relaxed)
            .wrapping_sub(freed) as i64
    }

    /// Raw live bytes when the current owner registered (0 for the shared bucket).
    pub(super) fn base_live(&self) -> i64 {
        self.base_bytes_allocated
            .load(Ordering::Relaxed)
            .wrapping_sub(self.base_bytes_freed.load(Ordering::Relaxed)) as i64
    }

    /// Runs `write` as the owner, under the slot's own sequence lock, so that readers never see
    /// half of it. For the rare writes; each kind of call has a sequence lock of its own.
    pub(super) fn owner_write(&self, write: impl FnOnce(&Slot)) {
        write_section(&self.seq, || write(self));
    }
}

/// Runs `write` as the owner, bracketed by the sequence word `word`: odd while it runs, and two
/// more than before once it has. A reader that saw the same even value before and after reading
/// (see [`snapshot`]) saw none of `write`'s stores, or all of them.
// Measured: left to itself, LLVM outlined this and `record` into calls taking the event
// through the stack, and a 64-byte alloc+free pair went from 12.6 to 17 ns.
#[allow(clippy::inline_always)]
#[inline(always)]
fn write_section(word: &AtomicU64, write: impl FnOnce()) {
    let seq = word.load(Ordering::Relaxed);
    word.store(seq.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    write();
    word.store(seq.wrapping_add(2), Ordering::Release);
}

pub(super) static SLOTS: [Slot; MAX_SLOTS] = [const { Slot::new() }; MAX_SLOTS];

/// One past the highest slot ever claimed (1: only the shared bucket). Slots past it have never
/// counted anything, so whatever sums or lists slots stops there.
static HIGH_WATER: AtomicUsize = AtomicUsize::new(1);

/// Notes that slot `index` was claimed: called after claiming it, before its owner counts.
pub(super) fn claimed(index: usize) {
    HIGH_WATER.fetch_max(index + 1, Ordering::AcqRel);
}

/// Every slot that ever counted anything: the shared bucket and every slot ever claimed.
pub(super) fn used_slots() -> &'static [Slot] {
    &SLOTS[..HIGH_WATER.load(Ordering::Acquire).min(MAX_SLOTS)]
}

thread_local! {
    // The calling thread's own slot (`None`: the shared bucket). A const-initialised `Cell`
    // with no destructor: reading it never allocates and never fails, not even while the
    // thread is being torn down.
    pub(super) static CURRENT_SLOT: Cell<Option<&'static Slot>> = const { Cell::new(None) };
}

/// The calling thread's own slot, if it registered one.
#[inline]
pub(super) fn owned_slot() -> Option<&'static Slot> {
    CURRENT_SLOT.try_with(Cell::get).ok().flatten()
}

#[inline]
pub(super) fn current_slot() -> usize {
    owned_slot().map_or(0, |slot| {
        // In bounds: the reference always points into SLOTS.
        (std::ptr::from_ref(slot).addr() - SLOTS.as_ptr().addr()) / size_of::<Slot>()
    })
}

/// What one event does to a slot's counters.
#[derive(Clone, Copy)]
pub(super) enum Event {
    Alloc(u64),
    Dealloc(u64),
    Grow(u64),
    Shrink(u64),
}

#[allow(clippy::inline_always)] // see `write_section`
#[inline(always)]
pub(super) fn record(owned: Option<&'static Slot>, event: Event) {
    match owned {
        Some(slot) => record_owned(slot, event),
        None => record_shared(&SLOTS[0], event),
    }
}

/// The owner's path: plain loads and stores, no read-modify-write. Each event is written under
/// its own call counter, which is the sequence lock of its kind and ends two higher (one call).
#[allow(clippy::inline_always)] // see `write_section`
#[inline(always)]
fn record_owned(slot: &Slot, event: Event) {
    #[inline]
    fn bump(counter: &AtomicU64, by: u64) -> u64 {
        let value = counter.load(Ordering::Relaxed).wrapping_add(by);
        counter.store(value, Ordering::Relaxed);
        value
    }
    let allocated = |bytes| {
        slot.bytes_allocated
            .load(Ordering::Relaxed)
            .wrapping_add(bytes)
    };
    match event {
        Event::Alloc(bytes) => record_growth(slot, &slot.allocs, allocated(bytes)),
        Event::Grow(bytes) => record_growth(slot, &slot.reallocs, allocated(bytes)),
        Event::Dealloc(bytes) => write_section(&slot.deallocs, || {
            bump(&slot.bytes_freed, bytes);
        }),
        Event::Shrink(bytes) => write_section(&slot.reallocs, || {
            bump(&slot.bytes_freed, bytes);
        }),
    }
}

/// An event that grew the owner's byte total to `allocated`, written under `word` (`allocs` for
/// an allocation, `reallocs` for a growing reallocation).
#[allow(clippy::inline_always)] // see `write_section`
#[inline(always)]
pub(super) fn record_growth(slot: &Slot, word: &AtomicU64, allocated: u64) {
    write_section(word, || {
        slot.bytes_allocated.store(allocated, Ordering::Relaxed);
        grew(slot, allocated);
    });
}

/// After the owner's live bytes grew: raise the peak, and flag the budget if it was passed.
/// The allocation itself always goes ahead: failing it for the budget's sake would abort the
/// whole process.
#[inline]
fn grew(slot: &Slot, allocated: u64) {
    let live = allocated.wrapping_sub(slot.bytes_freed.load(Ordering::Relaxed)) as i64;
    if live <= slot.peak_live_bytes.load(Ordering::Relaxed) {
        return;
    }
    slot.peak_live_bytes.store(live, Ordering::Relaxed);
    if live > slot.budget_live_bytes.load(Ordering::Relaxed)
        && slot.over_budget_at.load(Ordering::Relaxed) == NOT_OVER
    {
        slot.over_budget_at.store(live, Ordering::Relaxed);
    }
}

/// The shared bucket's path: several threads write it, so every update is an atomic add. Its
/// call counters step by two as well (one call), and are never odd.
#[inline]
fn record_shared(slot: &Slot, event: Event) {
    let grew = match event {
        Event::Alloc(bytes) => {
            slot.allocs.fetch_add(2, Ordering::Relaxed);
            Some(bytes)
        }
        Event::Grow(bytes) => {
            slot.reallocs.fetch_add(2, Ordering::Relaxed);
            Some(bytes)
        }
        Event::Dealloc(bytes) => {
            slot.deallocs.fetch_add(2, Ordering::Relaxed);
            slot.bytes_freed.fetch_add(bytes, Ordering::Relaxed);
            None
        }
        Event::Shrink(bytes) => {
            slot.reallocs.fetch_add(2, Ordering::Relaxed);
            slot.bytes_freed.fetch_add(bytes, Ordering::Relaxed);
            None
        }
    };
    if let Some(bytes) = grew {
        let allocated = slot
            .bytes_allocated
            .fetch_add(bytes, Ordering::Relaxed)
            .wrapping_add(bytes);
        let live = allocated.wrapping_sub(slot.bytes_freed.load(Ordering::Relaxed)) as i64;
        slot.peak_live_bytes.fetch_max(live, Ordering::Relaxed);
    }
}

/// Bytes the whole process has allocated and not freed: the sum of every slot's live bytes,
/// registered or not, past or present owner. Exact when no thread allocates during the call;
/// otherwise each slot is read at a slightly different instant.
#[must_use]
pub fn process_live_bytes() -> i64 {
    used_slots()
        .iter()
        .fold(0i64, |sum, slot| sum.wrapping_add(slot.raw_live()))
}

/// The fuse: live process heap in bytes past which allocations fail (`u64::MAX`: none).
static FUSE_LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);

/// The most a slot allocates between two checks of the fuse.
pub(super) const FUSE_STEP: u64 = 1 << 20;

/// Sets the process-wide fuse: once the live process heap would pass `limit` bytes, an
/// allocation fails instead (and Rust aborts the process on a failed infallible allocation).
/// Refuses, returning the live heap, a limit below what is already allocated.
///
/// Every slot checks within its next 1 MiB of allocations; a slot that was checking at that very
/// moment may finish one more step under the old limit.
pub fn set_fuse(limit: u64) -> Result<(), u64> {
    let live = process_live_bytes().max(0) as u64;
    if limit < live {
        return Err(live);
    }
    FUSE_LIMIT.store(limit, Ordering::Relaxed);
    // Slots never claimed check at their first allocation already (their check is at 0).
    for slot in used_slots() {
        slot.fuse_check_at.store(0, Ordering::Relaxed);
    }
    Ok(())
}

/// The fuse in bytes (`u64::MAX`: none).
#[must_use]
pub fn fuse() -> u64 {
    FUSE_LIMIT.load(Ordering::Relaxed)
}

/// Whether the calling thread may allocate `bytes` more: a load and a compare, unless the slot
/// is due for a check of the whole process against the fuse.
#[inline]
pub(super) fn fuse_allows(owned: Option<&'static Slot>, bytes: u64) -> bool {
    let slot = owned.unwrap_or(&SLOTS[0]);
    slot.bytes_allocated
        .load(Ordering::Relaxed)
        .wrapping_add(bytes)
        < slot.fuse_check_at.load(Ordering::Relaxed)
        || fuse_check(slot, bytes)
}

/// Sums the process heap and compares it with the fuse; if `bytes` more fit, schedules the
/// slot's next check so that all slots together cannot allocate past the limit before one of
/// them checks again.
#[cold]
#[inline(never)]
fn fuse_check(slot: &Slot, bytes: u64) -> bool {
    let limit = FUSE_LIMIT.load(Ordering::Relaxed);
    let after = (process_live_bytes().max(0) as u64).saturating_add(bytes);
    if after > limit {
        return false;
    }
    let step = FUSE_STEP.min((limit - after) / MAX_SLOTS as u64);
    // The owner's own field, or the shared bucket's (where a racing store only moves the next
    // check by one step). While the slot captures sites, every allocation must come here.
    let after = slot
        .bytes_allocated
        .load(Ordering::Relaxed)
        .wrapping_add(bytes);
    let fuse_next = after.wrapping_add(step);
    let next = if !slot.capturing.load(Ordering::Relaxed) {
        // Live sampling: no further than the owner's next sample point, if this event does not
        // pass it (if it does, the sampler draws the next point and lowers this in turn).
        match slot.live_at.load(Ordering::Relaxed) {
            live_at if live_at > after => fuse_next.min(live_at),
            _ => fuse_next,
        }
    } else if slot.sample_every.load(Ordering::Relaxed) == 0 {
        0
    } else {
        fuse_next.min(slot.sample_at.load(Ordering::Relaxed))
    };
    slot.fuse_check_at.store(next, Ordering::Relaxed);
    true
}

/// A snapshot of one slot's counters.
///
/// For an owned slot the snapshot is consistent: all fields were read between two of the owner's
/// updates. For the shared "other" bucket each field is exact but fields may be a few events
/// apart, since several threads update it at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Calls to `alloc` and `alloc_zeroed` that succeeded.
    pub allocs: u64,
    /// Calls to `dealloc`.
    pub deallocs: u64,
    /// Calls to `realloc` that succeeded.
    pub reallocs: u64,
    /// Bytes handed out by `alloc`, `alloc_zeroed` and the growth of `realloc`.
    pub bytes_allocated: u64,
    /// Bytes returned by `dealloc` and the shrinking of `realloc`.
    pub bytes_freed: u64,
    /// The highest live byte count seen since the slot was registered or its peak was reset.
    pub peak_live_bytes: i64,
}

impl Counters {
    /// Bytes allocated and not yet freed (negative if this thread freed other threads' memory).
    #[must_use]
    pub fn live_bytes(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }

    /// The events between `earlier` and `self` (the peak is `self`'s).
    #[must_use]
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            allocs: self.allocs.wrapping_sub(earlier.allocs),
            deallocs: self.deallocs.wrapping_sub(earlier.deallocs),
            reallocs: self.reallocs.wrapping_sub(earlier.reallocs),
            bytes_allocated: self.bytes_allocated.wrapping_sub(earlier.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_sub(earlier.bytes_freed),
            peak_live_bytes: self.peak_live_bytes,
        }
    }
}

/// Reads a consistent snapshot of `slot` from any thread, with relaxed loads.
///
/// The slot has four sequence locks (the three call counters, each for its own events, and
/// `seq` for the rest); the snapshot is the one read while none of them was odd and none moved.
#[must_use]
pub fn snapshot(slot: SlotId) -> Counters {
    snapshot_with(slot, |_| ()).0
}

/// [`snapshot`], with `extra` read from the slot in the same consistent instant (who owns it).
pub(super) fn snapshot_with<T>(slot: SlotId, extra: impl Fn(&Slot) -> T) -> (Counters, T) {
    let slot = &SLOTS[slot.index()];
    let words = |order| {
        [
            slot.allocs.load(order),
            slot.deallocs.load(order),
            slot.reallocs.load(order),
            slot.seq.load(order),
        ]
    };
    let calls = |word: u64, base: &AtomicU64| word.wrapping_sub(base.load(Ordering::Relaxed)) / 2;
    let since = |raw: &AtomicU64, base: &AtomicU64| {
        raw.load(Ordering::Relaxed)
            .wrapping_sub(base.load(Ordering::Relaxed))
    };
    loop {
        let before = words(Ordering::Acquire);
        if before.iter().any(|word| word % 2 == 1) {
            std::hint::spin_loop();
            continue;
        }
        let counters = Counters {
            allocs: calls(before[0], &slot.base_allocs),
            deallocs: calls(before[1], &slot.base_deallocs),
            reallocs: calls(before[2], &slot.base_reallocs),
            bytes_allocated: since(&slot.bytes_allocated, &slot.base_bytes_allocated),
            bytes_freed: since(&slot.bytes_freed, &slot.base_bytes_freed),
            peak_live_bytes: slot
                .peak_live_bytes
                .load(Ordering::Relaxed)
                .wrapping_sub(slot.base_live()),
        };
        let extra = extra(slot);
        fence(Ordering::Acquire);
        if words(Ordering::Relaxed) == before {
            return (counters, extra);
        }
        std::hint::spin_loop();
    }
}
