//! Allocation sites: which line of an experiment allocates, measured.
//!
//! A [`Capture`] window sends every allocation and reallocation the measuring thread makes
//! through [`record`], which walks the call stack with the system unwinder
//! (`backtrace::trace_unsynchronized`, libgcc's `_Unwind_Backtrace` on Linux: it reads the
//! binary's unwind tables and allocates nothing) and adds the raw return addresses to a fixed
//! table of distinct stacks. Nothing on that path allocates or locks:
//! - the table is a static array, written only by the one thread that holds the capture;
//! - while the unwinder runs, the thread is detached from its counter slot
//!   ([`crate::engine::counting`]), so should anything in it allocate, that allocation counts in the
//!   shared bucket, is never captured (no recursion) and never reaches the experiment's figures;
//! - the counting fast path is untouched: a capturing slot keeps its fuse check due, which
//!   sends each of its allocations down the out-of-line path, where the capture happens.
//!
//! Addresses leave the worker relative to the executable ([`RawSites::relocate`]) and are
//! turned into function, file and line by [`symbolize`], in the parent (the same executable),
//! with the binary's line tables (release builds keep `debug = "line-tables-only"`), cached per
//! address. Frames in the standard library, in dependencies and in heaplab's own engine are
//! folded: each site is the first frame in the experiment's code, and its stack is kept.
//!
//! A capture window is exhaustive: every allocation of a whole number of operations, so the
//! sites' allocations per operation add up to the window's exactly ([`RawSites::unrecorded`]
//! says how many found no room in the table, normally none). Unwinding costs microseconds per
//! allocation, so windows are short and their time is in no figure.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use serde::{Deserialize, Serialize};

use crate::engine::counting::{Counters, Kind, WorkerSlot};

/// The deepest stack kept, from the allocator outwards.
pub const MAX_FRAMES: usize = 48;
/// Distinct stacks one window can hold.
const TABLE_SIZE: usize = 2048;

/// One distinct stack in the table.
#[derive(Clone, Copy)]
struct Entry {
    /// 0: empty.
    hash: u64,
    depth: u8,
    frames: [usize; MAX_FRAMES],
    allocs: u64,
    reallocs: u64,
    bytes: u64,
    /// What the events stand for, each weighted (sampling; equal to the counts otherwise).
    weighted: [f64; 3],
}

const EMPTY: Entry = Entry {
    hash: 0,
    depth: 0,
    frames: [0; MAX_FRAMES],
    allocs: 0,
    reallocs: 0,
    bytes: 0,
    weighted: [0.0; 3],
};

struct Table {
    entries: UnsafeCell<[Entry; TABLE_SIZE]>,
    /// Events that found the table full.
    unrecorded: AtomicU64,
}

// SAFETY: `entries` is written only by `record`, which runs only on the thread holding
// `CAPTURING` (its slot's `capturing` flag is set only by that thread's `Capture`), and read
// only by that same thread once its own capturing has stopped (`Capture::end`).
unsafe impl Sync for Table {}

static TABLE: Table = Table {
    entries: UnsafeCell::new([EMPTY; TABLE_SIZE]),
    unrecorded: AtomicU64::new(0),
};

/// Held by the one thread capturing at a time.
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// The unwinder stops at the first frame whose stack pointer is above this: the frame of the
/// loop that runs the captured operations, and everything that called it, are the same for
/// every allocation (`usize::MAX`: no limit).
static STACK_TOP: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Adds the calling thread's current stack to the table, as one event of `kind` that
/// allocated `bytes`, standing for `weight` events (1 unless sampled): the recorder a
/// [`Capture`] hooks into the counting allocator, which calls it on the capturing thread only.
fn record(kind: Kind, bytes: u64, weight: f64) {
    let mut frames = [0usize; MAX_FRAMES];
    let mut depth = 0;
    let top = STACK_TOP.load(Ordering::Relaxed);
    // SAFETY: libgcc's unwinder is thread-safe; "unsynchronized" only skips backtrace's own
    // lock, which would allocate the first time. The callback neither allocates nor panics.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            if frame.sp() as usize > top {
                return false;
            }
            frames[depth] = frame.ip() as usize;
            depth += 1;
            depth < MAX_FRAMES
        });
    }
    let frames = &frames[..depth];
    let hash = frames
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &ip| {
            (h ^ ip as u64).wrapping_mul(0x0100_0000_01b3)
        })
        .max(1);
    // SAFETY: see `Table`'s `Sync`: we are the capturing thread.
    let entries = unsafe { &mut *TABLE.entries.get() };
    let mut at = hash as usize % TABLE_SIZE;
    for _ in 0..TABLE_SIZE {
        let entry = &mut entries[at];
        if entry.hash == 0 {
            entry.hash = hash;
            entry.depth = depth as u8;
            entry.frames[..depth].copy_from_slice(frames);
        }
        if entry.hash == hash && &entry.frames[..usize::from(entry.depth)] == frames {
            match kind {
                Kind::Alloc => {
                    entry.allocs += 1;
                    entry.weighted[0] += weight;
                }
                Kind::Realloc => {
                    entry.reallocs += 1;
                    entry.weighted[1] += weight;
                }
            }
            entry.bytes += bytes;
            entry.weighted[2] += bytes as f64 * weight;
            return;
        }
        at = (at + 1) % TABLE_SIZE;
    }
    TABLE.unrecorded.fetch_add(1, Ordering::Relaxed);
}

/// Why a capture could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("another thread of this process is capturing allocation sites")]
pub struct Busy;

/// A capture window on the calling thread: from [`Capture::begin`] to [`Capture::end`], every
/// allocation the thread makes is recorded with its stack. Dropping it without `end` discards
/// what it captured.
#[derive(Debug)]
pub struct Capture<'a> {
    slot: &'a WorkerSlot,
    before: Counters,
    started: std::time::Instant,
    sample_every: u64,
}

impl<'a> Capture<'a> {
    /// Starts capturing the allocations of `slot`'s thread (the caller), each stack from the
    /// allocator up to the caller's frame.
    pub fn begin(slot: &'a WorkerSlot) -> Result<Self, Busy> {
        Self::begin_below::<u8>(slot, None)
    }

    /// [`Capture::begin`], unwinding each stack no further than `marker`, a local variable of
    /// the function that runs the captured operations: its frame and its callers' are the same
    /// for every allocation, and unwinding them is most of the cost of a deep stack.
    pub fn begin_below<T>(slot: &'a WorkerSlot, marker: Option<&T>) -> Result<Self, Busy> {
        Self::begin_sampled(slot, marker, 0)
    }

    /// [`Capture::begin_below`], capturing one allocation per about `sample_every` bytes
    /// allocated (every one with 0): each sampled allocation stands for the allocations it was
    /// drawn among, so the sites' figures are estimates, and cheap enough to cover a long run.
    pub fn begin_sampled<T>(
        slot: &'a WorkerSlot,
        marker: Option<&T>,
        sample_every: u64,
    ) -> Result<Self, Busy> {
        CAPTURING
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map_err(|_| Busy)?;
        clear();
        STACK_TOP.store(
            marker.map_or(usize::MAX, |m| std::ptr::from_ref(m).addr()),
            Ordering::Relaxed,
        );
        let before = slot.counters();
        slot.set_capturing(Some(record), sample_every);
        Ok(Self {
            slot,
            before,
            started: std::time::Instant::now(),
            sample_every,
        })
    }

    /// Stops capturing and returns what was captured, over `ops` operations. The table is
    /// copied out with the thread detached from its slot, so that nothing of it reaches the
    /// experiment's heap figures.
    #[must_use]
    pub fn end(self, ops: u64) -> RawSites {
        self.slot.set_capturing(None, 0);
        let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let during = self.slot.counters().since(&self.before);
        crate::engine::counting::unmeasured(|| {
            // SAFETY: capturing has stopped, and we hold `CAPTURING`.
            let entries = unsafe { &*TABLE.entries.get() };
            let stacks = entries
                .iter()
                .filter(|entry| entry.hash != 0)
                .map(|entry| RawStack {
                    frames: entry.frames[..usize::from(entry.depth)]
                        .iter()
                        .map(|&ip| ip as i64)
                        .collect(),
                    allocs: entry.allocs,
                    reallocs: entry.reallocs,
                    bytes: entry.bytes,
                    weighted: entry.weighted,
                })
                .collect();
            RawSites {
                ops,
                allocs: during.allocs,
                reallocs: during.reallocs,
                bytes: during.bytes_allocated,
                unrecorded: TABLE.unrecorded.load(Ordering::Relaxed),
                nanos,
                sample_every: self.sample_every,
                stacks,
                relative: false,
            }
        })
        // `self` drops here: the table is cleared for the next window by `begin`.
    }
}

impl Drop for Capture<'_> {
    fn drop(&mut self) {
        self.slot.set_capturing(None, 0);
        CAPTURING.store(false, Ordering::Release);
    }
}

fn clear() {
    // SAFETY: we hold `CAPTURING` and no slot is capturing yet.
    let entries = unsafe { &mut *TABLE.entries.get() };
    for entry in entries.iter_mut().filter(|entry| entry.hash != 0) {
        *entry = EMPTY;
    }
    TABLE.unrecorded.store(0, Ordering::Relaxed);
}

/// One captured window, as the worker sends it: raw stacks with their counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawSites {
    /// Operations the window spans.
    pub ops: u64,
    /// Allocations the window made, as the thread's counters saw them.
    pub allocs: u64,
    /// Reallocations the window made.
    pub reallocs: u64,
    /// Bytes the window allocated (reallocations' growth included).
    pub bytes: u64,
    /// Events that found the stack table full (their sites are unknown).
    pub unrecorded: u64,
    /// How long the window took, capturing: what capture costs, against the run's ns/op.
    #[serde(default)]
    pub nanos: u64,
    /// 0: every allocation was captured. Else one per about this many bytes was, and the
    /// stacks' `weighted` figures are estimates.
    #[serde(default)]
    pub sample_every: u64,
    /// The distinct stacks: return addresses, innermost (the allocator) first.
    pub stacks: Vec<RawStack>,
    /// Whether the addresses are relative to the executable ([`RawSites::relocate`]), or
    /// absolute in the capturing process.
    pub relative: bool,
}

/// One distinct stack of a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawStack {
    /// Return addresses, innermost first ([`OUTSIDE`]: in a shared library).
    pub frames: Vec<i64>,
    /// Allocations made from this stack.
    pub allocs: u64,
    /// Reallocations made from this stack.
    pub reallocs: u64,
    /// Bytes allocated from this stack.
    pub bytes: u64,
    /// Allocations, reallocations and bytes this stack's events stand for: the counts above
    /// when every event was captured, estimates when they were sampled.
    #[serde(default)]
    pub weighted: [f64; 3],
}

/// A frame outside the executable (the C library, the unwinder): never the experiment's code.
pub const OUTSIDE: i64 = i64::MIN;

/// The executable's addresses are given relative to this function's.
#[inline(never)]
fn anchor() -> usize {
    anchor as fn() -> usize as usize
}

/// The address range the executable is mapped at (Linux: from `/proc/self/maps`).
fn image() -> Option<(usize, usize)> {
    static IMAGE: OnceLock<Option<(usize, usize)>> = OnceLock::new();
    *IMAGE.get_or_init(|| {
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let at = anchor();
        let parse = |line: &str| {
            let mut fields = line.split_whitespace();
            let (start, end) = fields.next()?.split_once('-')?;
            let path = fields.nth(4).unwrap_or("");
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
                path.to_owned(),
            ))
        };
        let mappings: Vec<_> = maps.lines().filter_map(parse).collect();
        let (_, _, path) = mappings
            .iter()
            .find(|(start, end, _)| (*start..*end).contains(&at))?;
        let ours = mappings.iter().filter(|(_, _, p)| p == path);
        let start = ours.clone().map(|m| m.0).min()?;
        let end = ours.map(|m| m.1).max()?;
        Some((start, end))
    })
}

impl RawSites {
    /// Makes the addresses relative to the executable, so that another process of the same
    /// executable can [`symbolize`] them; frames outside it become [`OUTSIDE`].
    pub fn relocate(&mut self) {
        if self.relative {
            return;
        }
        let at = anchor() as i64;
        let image = image();
        for stack in &mut self.stacks {
            for ip in &mut stack.frames {
                let inside =
                    image.is_none_or(|(start, end)| (start..end).contains(&(*ip as usize)));
                *ip = if inside { *ip - at } else { OUTSIDE };
            }
        }
        self.relative = true;
    }
}

/// One allocation site: the first frame of a stack in the experiment's own code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// The function (without its hash), e.g. `heaplab_experiments::string_processing::parse`.
    pub function: String,
    /// Its source file, as the line tables give it.
    pub file: String,
    /// The line.
    pub line: u32,
    /// Allocations per operation made here.
    pub allocs_per_op: f64,
    /// Reallocations per operation made here.
    pub reallocs_per_op: f64,
    /// Bytes per operation allocated here (reallocations' growth included).
    pub bytes_per_op: f64,
    /// This site's share of the window's allocations and reallocations, 0 to 1.
    pub share: f64,
    /// The stack that made most of them, innermost first, each frame `function (file:line)`;
    /// a run of folded frames (standard library, dependencies, heaplab) is one `[...]` entry.
    pub stack: Vec<String>,
}

impl Site {
    /// `file:line`, the file cut to its last two components (`chapter/string_processing.rs:42`).
    #[must_use]
    pub fn location(&self) -> String {
        let mut parts = self.file.rsplit('/');
        let name = parts.next().unwrap_or("?");
        match parts.next() {
            Some(dir) if !dir.is_empty() => format!("{dir}/{name}:{}", self.line),
            _ => format!("{name}:{}", self.line),
        }
    }
}

/// A symbolized window: the sites, most allocating first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sites {
    /// Operations the window spans.
    pub ops: u64,
    /// The window's allocations per operation (what the sites' `allocs_per_op` add up to).
    pub allocs_per_op: f64,
    /// The window's reallocations per operation.
    pub reallocs_per_op: f64,
    /// The window's bytes per operation.
    pub bytes_per_op: f64,
    /// Allocations and reallocations per operation whose stack found no room (normally 0).
    pub unrecorded_per_op: f64,
    /// Nanoseconds per operation in the window, every allocation captured (the run's own
    /// ns/op is measured without capture: the ratio is what capturing costs).
    #[serde(default)]
    pub ns_per_op: f64,
    /// 0: exhaustive, every allocation captured, the figures exact. Else sampled, one
    /// allocation per about this many bytes: the sites' figures are estimates.
    #[serde(default)]
    pub sample_every: u64,
    /// Every site, by allocations and reallocations per operation, highest first.
    pub sites: Vec<Site>,
}

impl Sites {
    /// The sites at `file` (matched by path suffix, as line tables and `file!()` spell paths
    /// differently), by line.
    pub fn in_file<'a>(&'a self, file: &'a str) -> impl Iterator<Item = &'a Site> + 'a {
        self.sites
            .iter()
            .filter(move |site| same_file(&site.file, file))
    }
}

/// Whether two spellings of a source path name the same file: one is the other's suffix at a
/// path boundary (`/work/x/src/a.rs` and `src/a.rs`).
#[must_use]
pub fn same_file(a: &str, b: &str) -> bool {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    !short.is_empty()
        && long.ends_with(short)
        && (long.len() == short.len() || long[..long.len() - short.len()].ends_with('/'))
}

/// One resolved frame (of possibly several, when calls were inlined into one address).
#[derive(Debug, Clone)]
struct Symbol {
    function: String,
    file: Option<String>,
    line: u32,
}

/// The engine's own files and folders (ending in `/`: every file in it), whose frames are
/// folded like the standard library's: everything between an experiment's code and the
/// capture (the allocator, this recorder) and around it (the loop, the worker, setup).
const ENGINE_FILES: &[&str] = &[
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/sites.rs"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/counting/"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/measure/"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/worker.rs"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/experiment.rs"),
];

/// Whether `file` is one of [`ENGINE_FILES`], or in one of its folders.
fn engine_file(file: &str) -> bool {
    ENGINE_FILES
        .iter()
        .any(|engine| match engine.strip_suffix('/') {
            Some(folder) => file
                .rsplit_once('/')
                .is_some_and(|(dir, _)| same_file(dir, folder)),
            None => same_file(file, engine),
        })
}

fn folded(symbol: &Symbol, also_folded: &[&str]) -> bool {
    let Some(file) = symbol.file.as_deref() else {
        return true;
    };
    // Line 0: code the compiler made without a line of its own; the caller's line names it.
    if symbol.line == 0 {
        return true;
    }
    // The shims the compiler writes for `#[global_allocator]` (`__rust_alloc`...), whose line
    // is the declaration's.
    symbol.function.starts_with("__rust")
        || file.starts_with("/rustc/")
        || file.contains("/lib/rustlib/")
        || file.contains("/.cargo/registry/")
        || file.contains("/cargo/registry/")
        || file.contains("/.cargo/git/")
        || engine_file(file)
        || also_folded.iter().any(|also| same_file(file, also))
}

fn resolve(offset: i64) -> Vec<Symbol> {
    static CACHE: OnceLock<Mutex<HashMap<i64, Vec<Symbol>>>> = OnceLock::new();
    if offset == OUTSIDE {
        return Vec::new();
    }
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(found) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&offset)
    {
        return found.clone();
    }
    let mut symbols = Vec::new();
    let address = (anchor() as i64).wrapping_add(offset) as usize;
    backtrace::resolve(address as *mut std::ffi::c_void, |symbol| {
        symbols.push(Symbol {
            function: symbol
                .name()
                .map_or_else(|| "?".to_owned(), |name| format!("{name:#}")),
            file: symbol.filename().map(|f| f.display().to_string()),
            line: symbol.lineno().unwrap_or(0),
        });
    });
    cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(offset, symbols.clone());
    symbols
}

/// Turns a window into sites, with this process's copy of the executable's line tables (so
/// the window must come from a process of the same executable, [`RawSites::relocate`]d, or
/// from this very process). Frames in `also_folded` files are folded like the engine's.
#[must_use]
pub fn symbolize(raw: &RawSites, also_folded: &[&str]) -> Sites {
    // A worker's window comes relocated; one captured in this process is copied to relocate.
    let raw = if raw.relative {
        std::borrow::Cow::Borrowed(raw)
    } else {
        let mut copy = raw.clone();
        copy.relocate();
        std::borrow::Cow::Owned(copy)
    };
    let ops = raw.ops.max(1) as f64;
    let events = (raw.allocs + raw.reallocs).max(1) as f64;
    // A site is a line: (file, line) -> its counts, and the function and stack of the stack
    // that made most of them.
    let mut by_site: HashMap<(String, u32), Tally> = HashMap::new();
    for stack in &raw.stacks {
        let symbols: Vec<Symbol> = stack.frames.iter().flat_map(|&ip| resolve(ip)).collect();
        let (function, key) = match symbols.iter().find(|s| !folded(s, also_folded)) {
            Some(s) => (
                s.function.clone(),
                (s.file.clone().unwrap_or_default(), s.line),
            ),
            None => (
                "(no frame in the experiment's code)".to_owned(),
                (String::new(), 0),
            ),
        };
        let weight = stack.allocs + stack.reallocs;
        let tally = by_site.entry(key).or_default();
        // Exhaustive: the counts themselves, so that the figures are exact ratios of integers.
        let [allocs, reallocs, bytes] = if raw.sample_every == 0 {
            [
                stack.allocs as f64,
                stack.reallocs as f64,
                stack.bytes as f64,
            ]
        } else {
            stack.weighted
        };
        tally.allocs += allocs;
        tally.reallocs += reallocs;
        tally.bytes += bytes;
        if weight > tally.heaviest || tally.stack.is_empty() {
            tally.function = function;
            tally.stack = describe(&symbols, also_folded);
            tally.heaviest = weight;
        }
    }
    let mut sites: Vec<Site> = by_site
        .into_iter()
        .map(|((file, line), tally)| Site {
            function: tally.function,
            file,
            line,
            allocs_per_op: tally.allocs / ops,
            reallocs_per_op: tally.reallocs / ops,
            bytes_per_op: tally.bytes / ops,
            share: (tally.allocs + tally.reallocs) / events,
            stack: tally.stack,
        })
        .collect();
    sites.sort_by(|a, b| {
        (b.allocs_per_op + b.reallocs_per_op)
            .total_cmp(&(a.allocs_per_op + a.reallocs_per_op))
            .then(b.bytes_per_op.total_cmp(&a.bytes_per_op))
            .then_with(|| (&a.file, a.line).cmp(&(&b.file, b.line)))
    });
    Sites {
        ops: raw.ops,
        allocs_per_op: raw.allocs as f64 / ops,
        reallocs_per_op: raw.reallocs as f64 / ops,
        bytes_per_op: raw.bytes as f64 / ops,
        unrecorded_per_op: raw.unrecorded as f64 / ops,
        ns_per_op: raw.nanos as f64 / ops,
        sample_every: raw.sample_every,
        sites,
    }
}

/// What one line's stacks add up to.
#[derive(Default)]
struct Tally {
    allocs: f64,
    reallocs: f64,
    bytes: f64,
    function: String,
    stack: Vec<String>,
    heaviest: u64,
}

/// A stack for people: each frame `function (file:line)`, runs of folded frames as one entry.
fn describe(symbols: &[Symbol], also_folded: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = 0;
    for symbol in symbols {
        if folded(symbol, also_folded) {
            run += 1;
            continue;
        }
        if run > 0 {
            out.push(format!("[{run} frames in std, dependencies or heaplab]"));
            run = 0;
        }
        out.push(format!(
            "{} ({}:{})",
            symbol.function,
            symbol.file.as_deref().unwrap_or("?"),
            symbol.line
        ));
    }
    if run > 0 {
        out.push(format!("[{run} frames in std, dependencies or heaplab]"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine's frames fold wherever its files are in a folder (the counting allocator,
    /// the loop), as the line tables spell them, and the chapter's never do.
    #[test]
    fn engine_files_fold_and_chapter_files_do_not() {
        for file in [
            "experiments/src/engine/counting/alloc.rs",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/engine/counting/capture.rs"
            ),
            "experiments/src/engine/measure/mod.rs",
            "experiments/src/engine/sites.rs",
            "experiments/src/engine/experiment.rs",
        ] {
            assert!(engine_file(file), "{file}");
        }
        for file in [
            "experiments/src/chapter/in_place.rs",
            "experiments/src/engine/data.rs",
            "experiments/src/engine/counting.rs",
            "src/lab.rs",
        ] {
            assert!(!engine_file(file), "{file}");
        }
    }

    #[test]
    fn paths_match_by_suffix_at_a_boundary() {
        assert!(same_file(
            "/work/main/experiments/src/a.rs",
            "experiments/src/a.rs"
        ));
        assert!(same_file("src/a.rs", "/x/src/a.rs"));
        assert!(same_file("src/a.rs", "src/a.rs"));
        assert!(!same_file("/x/src/ba.rs", "a.rs"));
        assert!(!same_file("", "a.rs"));
    }
}
