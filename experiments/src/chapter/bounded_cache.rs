//! `bounded-cache` (04-04): an unbounded `HashMap` cache against an LRU bounded by a byte
//! budget, and `quick_cache` with the same budget as its weight capacity.

use std::collections::HashMap;

use quick_cache::Weighter;

use crate::engine::data::SplitMix64;
use crate::engine::experiment::{
    Checksum, Experiment, ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload,
};

/// The experiment.
#[derive(Debug)]
pub struct BoundedCache;

static INFO: ExperimentInfo = ExperimentInfo {
    id: "bounded-cache",
    section: Section::SystemDesign,
    title: "Bound the cache by bytes",
    why: "Each operation is one request for one of 1 000 000 rendered fragments (32 B to 1 KiB, \
500 B on average), chosen with Zipf-like popularity as real traffic is; a miss renders the \
fragment and caches it. The naive cache is a HashMap that never forgets: its hit rate creeps up as \
it fills, and so does its heap, towards the whole 600 MB key space, with no limit but the \
machine's (about 180 MB after one second of requests, and still growing: run it under a 64MiB \
budget to watch it hit the wall). The optimized cache is an LRU bounded by a byte budget (the \
workload size, 4 MiB by default): each entry is charged its bytes plus 64 for its bookkeeping, and \
the least recently used entries are evicted before an insert would exceed the budget, so the \
cache's accounted bytes never exceed it (the tests check after every request). A bounded cache \
re-renders what it evicted, so it misses on about half of the requests; the chapter's Reuse \
Everything says what to do with that: render the miss into the buffer of the entry evicted to \
make room for it. Ours keeps evicted buffers by capacity and takes one only if it fits the new \
value within an eighth (or 32 bytes), so that the heap stays near the bytes charged: 0.007 \
allocations per request in steady state (one miss in 65 finds no buffer that fits) against the \
unbounded map's 0.31 at bench's default run length, 98% fewer, with the same evictions, hit rate \
and checksum as rendering a new value per miss (a test holds the two to the same contents after \
every request). Its real heap, map, slab, spare buffers and their slack included, stays within a \
fifth above the budget (4.5 MiB after 0.2 s, 5.0 MiB after a second, against the map's 51 and 180 \
MiB). The crate variant is quick_cache's unsync Cache with the same budget as its weight capacity: \
it allocates on every miss (0.40 per request), because its insert takes a value already rendered \
and it hands evicted values back only after that insert (through its Lifecycle hook), so a render \
could at best reuse an earlier eviction's buffer; the crate row keeps its plain API. It evicts \
with a CLOCK-Pro-like policy that keeps popular entries better than LRU does, so it reaches a \
higher hit rate for the same bytes. Change the size to see hit rate against budget: with Zipf \
traffic most hits come from a small hot set, so 1, 4 and 16 MiB serve 42%, 54% and 65% of requests \
from our LRU, and 53%, 63% and 72% from quick_cache (measured with heaplab bench, one second \
each). Allocation is not the bottleneck here: rendering on a miss and hashing on every request \
are. Per request the bounded caches are faster than the map: ours 1.42 times (692 ns against \
967 ns, 10 runs of heaplab bench bounded-cache --runs 10 on 2026-12-07), quick_cache 594 ns. They \
re-render on about half of the requests but work in a few MiB that stay in the CPU cache, while \
the map's hits are spread over hundreds of MB. At 4 MiB quick_cache is faster than our LRU, \
because of its policy, not its machinery: our LRU served 53.4% of requests from the cache and \
quick_cache 59.6%, so ours rendered on 15% more requests, each a render and an eviction. At 64 \
MiB, where a 0.2 s run evicts nothing and so the policy plays no part, the two run at the same \
speed (740 and 738 ns per request over 8 runs, hit rates 68.9% and 68.8%): our hash map and slab \
cost what quick_cache's table costs. Both hash with SipHash (quick_cache's own faster hasher is a \
default feature we leave off, so the two compare like for like). To match quick_cache at 4 MiB, \
ours would need its policy: CLOCK-Pro keeps the hot set where LRU lets a burst of one-off keys \
flush it, and a hit there sets a reference bit where ours relinks a list.",
    variants: &[
        VariantInfo {
            name: "naive",
            summary: "HashMap<u64, Vec<u8>> that never evicts: grows with the keys seen",
        },
        VariantInfo {
            name: "optimized",
            summary: "an LRU charged bytes + 64 per entry; a miss renders into an evicted buffer",
        },
        VariantInfo {
            name: "crate",
            summary: "quick_cache::unsync::Cache weighted by the same bytes + 64",
        },
    ],
    size_unit: "cache budget in bytes (the naive cache ignores it)",
    work_unit: WorkUnit::Items("lookups"),
    default_size: 4 << 20,
    targets: Targets {
        zero_allocs: false,
        peak_heap: true,
        speedup: false,
    },
    source: include_str!("bounded_cache.rs"),
    source_file: file!(),
    size_range: (1, 1 << 40),
};

/// Distinct keys requested.
pub const KEYS: u64 = 1_000_000;
/// Bytes charged per entry beyond its value: key, links, slab and map slots.
pub const ENTRY_OVERHEAD: usize = 64;
const WARMUP_REQUESTS: u64 = 20_000;

/// What a miss computes: the fragment of `key`, 32 to 1 024 bytes, the same every time.
#[must_use]
pub fn render(key: u64) -> Vec<u8> {
    let (len, rng) = fragment(key);
    let mut value = Vec::with_capacity(len);
    write_fragment(rng, len, &mut value);
    value
}

/// Renders the fragment of `key` into `value`, replacing what it held: no allocation when its
/// capacity is already enough.
pub fn render_into(key: u64, value: &mut Vec<u8>) {
    let (len, rng) = fragment(key);
    value.clear();
    value.reserve_exact(len);
    write_fragment(rng, len, value);
}

/// How long the fragment of `key` is, known before rendering it.
#[must_use]
pub fn rendered_len(key: u64) -> usize {
    fragment(key).0
}

/// The length of `key`'s fragment and the generator that draws its bytes.
fn fragment(key: u64) -> (usize, SplitMix64) {
    let mut rng = SplitMix64::new(key ^ 0x04_04_02);
    let len = 32 + rng.below(993) as usize;
    (len, rng)
}

fn write_fragment(mut rng: SplitMix64, len: usize, value: &mut Vec<u8>) {
    while value.len() < len {
        let word = rng.next_u64().to_le_bytes();
        value.extend_from_slice(&word[..8.min(len - value.len())]);
    }
}

/// What an entry is charged against the budget.
#[must_use]
pub fn weight(value: &[u8]) -> usize {
    value.len() + ENTRY_OVERHEAD
}

const NIL: usize = usize::MAX;

// region:optimized
/// A least-recently-used cache that holds at most `budget` bytes, counting each entry as
/// [`weight`] of its value.
#[derive(Debug)]
pub struct ByteLru {
    map: HashMap<u64, usize>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// Most recently used.
    head: usize,
    /// Least recently used: the next to go.
    tail: usize,
    bytes: usize,
    budget: usize,
    evictions: u64,
    /// Buffers of evicted entries, kept for the next misses to render into.
    spares: Spares,
    /// Misses that found no evicted buffer that fits and allocated one.
    fresh_buffers: u64,
}

/// Buffers of evicted entries, kept by capacity for the next misses to render into.
///
/// A miss takes a buffer at least as big as its value and at most an eighth bigger, so the
/// cache's real heap stays close to the bytes it is charged (a buffer much bigger than its value
/// would hold memory the budget does not see). Each capacity bin keeps a few buffers, and all
/// of them together at most a 32nd of the budget: spares are heap outside the budget.
#[derive(Debug)]
struct Spares {
    /// Bin `i` holds capacities from `i * BIN_WIDTH` up to the next bin's; the last, the rest.
    bins: Vec<Vec<Vec<u8>>>,
    bytes: usize,
    limit: usize,
}

const BIN_WIDTH: usize = 16;
const BINS: usize = 65;
const PER_BIN: usize = 16;

impl Spares {
    fn new(budget: usize) -> Self {
        Self {
            bins: (0..BINS).map(|_| Vec::with_capacity(PER_BIN)).collect(),
            bytes: 0,
            limit: budget / 16,
        }
    }

    fn bin(capacity: usize) -> usize {
        (capacity / BIN_WIDTH).min(BINS - 1)
    }

    /// Keeps `buffer` if its bin and the byte limit have room; frees it otherwise.
    fn keep(&mut self, buffer: Vec<u8>) {
        let capacity = buffer.capacity();
        let bin = &mut self.bins[Self::bin(capacity)];
        if capacity > 0 && bin.len() < PER_BIN && self.bytes + capacity <= self.limit {
            self.bytes += capacity;
            bin.push(buffer);
        }
    }

    /// A kept buffer that holds `len` bytes with at most an eighth (or 32 bytes) to spare.
    fn take(&mut self, len: usize) -> Option<Vec<u8>> {
        let fits = len..=len + (len / 8).max(2 * BIN_WIDTH);
        for bin in Self::bin(len)..=Self::bin(*fits.end()) {
            let found = self.bins[bin]
                .iter()
                .position(|b| fits.contains(&b.capacity()));
            if let Some(at) = found {
                let buffer = self.bins[bin].swap_remove(at);
                self.bytes -= buffer.capacity();
                return Some(buffer);
            }
        }
        None
    }
}

#[derive(Debug)]
struct Slot {
    key: u64,
    value: Vec<u8>,
    prev: usize,
    next: usize,
}

impl ByteLru {
    /// An empty cache that will hold at most `budget` bytes.
    #[must_use]
    pub fn new(budget: usize) -> Self {
        Self {
            map: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            bytes: 0,
            budget,
            evictions: 0,
            spares: Spares::new(budget),
            fresh_buffers: 0,
        }
    }

    /// The value of `key`, now the most recently used.
    pub fn get(&mut self, key: u64) -> Option<&[u8]> {
        let index = *self.map.get(&key)?;
        self.unlink(index);
        self.push_front(index);
        Some(&self.slots[index].value)
    }

    /// Caches `value` for `key` (not already cached), evicting the least recently used entries
    /// as needed. A value heavier than the whole budget is not cached. (What an LRU that
    /// allocates per miss does; the tests hold [`ByteLru::insert_with`] to the same evictions.)
    #[cfg_attr(not(test), expect(dead_code))]
    pub fn insert(&mut self, key: u64, value: Vec<u8>) {
        let charge = weight(&value);
        if charge > self.budget {
            return;
        }
        while self.bytes + charge > self.budget {
            self.evict();
        }
        self.place(key, value);
    }

    /// Puts `value` (its room already made) in a slot at the front of the list.
    fn place(&mut self, key: u64, value: Vec<u8>) {
        self.bytes += weight(&value);
        let slot = Slot {
            key,
            value,
            prev: NIL,
            next: NIL,
        };
        let index = if let Some(index) = self.free.pop() {
            self.slots[index] = slot;
            index
        } else {
            self.slots.push(slot);
            self.slots.len() - 1
        };
        self.map.insert(key, index);
        self.push_front(index);
    }

    fn evict(&mut self) {
        let index = self.tail;
        self.unlink(index);
        let slot = &mut self.slots[index];
        self.map.remove(&slot.key);
        self.bytes -= weight(&slot.value);
        // The slot is kept for the next insert, its buffer for the next miss to render into.
        let value = std::mem::take(&mut slot.value);
        self.free.push(index);
        self.evictions += 1;
        self.spares.keep(value);
    }

    /// A buffer for a value of `len` bytes: an evicted entry's that fits, or a new one.
    fn buffer_for(&mut self, len: usize) -> Vec<u8> {
        self.spares.take(len).unwrap_or_else(|| {
            self.fresh_buffers += 1;
            Vec::with_capacity(len)
        })
    }

    /// Caches the value of `key` (not already cached), `len` bytes long, rendered by `fill`
    /// into the buffer of an entry evicted to make room for it: once the cache is full, a miss
    /// seldom allocates. `fill` runs even for a value heavier than the whole budget, which is
    /// then not cached.
    pub fn insert_with(&mut self, key: u64, len: usize, fill: impl FnOnce(&mut Vec<u8>)) {
        let charge = len + ENTRY_OVERHEAD;
        if charge <= self.budget {
            while self.bytes + charge > self.budget {
                self.evict();
            }
        }
        let mut value = self.buffer_for(len);
        fill(&mut value);
        debug_assert_eq!(value.len(), len, "fill wrote the length it was given");
        if charge > self.budget {
            self.spares.keep(value);
        } else {
            self.place(key, value);
        }
    }

    fn unlink(&mut self, index: usize) {
        let (prev, next) = (self.slots[index].prev, self.slots[index].next);
        match prev {
            NIL => self.head = next,
            prev => self.slots[prev].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.slots[next].prev = prev,
        }
    }

    fn push_front(&mut self, index: usize) {
        let old_head = self.head;
        self.slots[index].prev = NIL;
        self.slots[index].next = old_head;
        if old_head == NIL {
            self.tail = index;
        } else {
            self.slots[old_head].prev = index;
        }
        self.head = index;
    }

    /// Bytes charged for the entries held now: never more than the budget.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Entries held now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache is empty.
    #[must_use]
    #[cfg_attr(not(test), expect(dead_code, reason = "`len`'s companion; its tests call it"))]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Entries evicted so far.
    #[must_use]
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Misses so far that found no evicted buffer big enough and allocated one.
    #[must_use]
    pub fn fresh_buffers(&self) -> u64 {
        self.fresh_buffers
    }
}
// endregion:optimized

// region:crate
/// Charges `quick_cache` entries what [`ByteLru`] charges.
#[derive(Debug, Clone, Copy)]
struct ByteWeighter;

impl Weighter<u64, Vec<u8>> for ByteWeighter {
    fn weight(&self, _key: &u64, value: &Vec<u8>) -> u64 {
        weight(value) as u64
    }
}

type QuickCache = quick_cache::unsync::Cache<u64, Vec<u8>, ByteWeighter>;

fn quick_cache(budget: usize) -> QuickCache {
    // The item estimate only sizes the initial table: the budget over an average entry.
    let estimated_items = budget / (512 + ENTRY_OVERHEAD) + 1;
    QuickCache::with_weighter(estimated_items, budget as u64, ByteWeighter)
}
// endregion:crate

enum Store {
    // region:naive
    Unbounded(HashMap<u64, Vec<u8>>),
    // endregion:naive
    Lru(ByteLru),
    Quick(QuickCache),
}

impl Store {
    /// Folds the value of `key` into `checksum`, from the cache if it is there; true on a hit.
    fn serve(&mut self, key: u64, checksum: &mut Checksum) -> bool {
        match self {
            // region:naive
            Store::Unbounded(map) => {
                if let Some(value) = map.get(&key) {
                    checksum.fold_bytes(value);
                    return true;
                }
                let value = render(key);
                checksum.fold_bytes(&value);
                map.insert(key, value);
            }
            // endregion:naive
            // region:optimized
            Store::Lru(lru) => {
                if let Some(value) = lru.get(key) {
                    checksum.fold_bytes(value);
                    return true;
                }
                lru.insert_with(key, rendered_len(key), |buffer| {
                    render_into(key, buffer);
                    checksum.fold_bytes(buffer);
                });
            }
            // endregion:optimized
            // region:crate
            Store::Quick(cache) => {
                if let Some(value) = cache.get(&key) {
                    checksum.fold_bytes(value);
                    return true;
                }
                let value = render(key);
                checksum.fold_bytes(&value);
                cache.insert(key, value);
            } // endregion:crate
        }
        false
    }

    /// Bytes charged for what is held, as each store counts them.
    fn bytes(&self) -> usize {
        match self {
            Store::Unbounded(map) => map.values().map(|v| weight(v)).sum(),
            Store::Lru(lru) => lru.bytes(),
            Store::Quick(cache) => usize::try_from(cache.weight()).unwrap_or(usize::MAX),
        }
    }

    fn len(&self) -> usize {
        match self {
            Store::Unbounded(map) => map.len(),
            Store::Lru(lru) => lru.len(),
            Store::Quick(cache) => cache.len(),
        }
    }
}

struct Requests {
    store: Store,
    budget: usize,
    rng: SplitMix64,
    hits: u64,
    misses: u64,
}

impl Requests {
    fn next_key(&mut self) -> u64 {
        // Popularity follows the rank; the rank is scrambled into a key so that popular keys
        // are not neighbours.
        let rank = self.rng.zipf_like(KEYS);
        rank.wrapping_mul(0x9e37_79b9_7f4a_7c15) % (KEYS * 1_000)
    }
}

impl Workload for Requests {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        let key = self.next_key();
        if self.store.serve(key, checksum) {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        1
    }

    fn extra_counters(&self, report: &mut dyn FnMut(&'static str, f64)) {
        let requests = (self.hits + self.misses).max(1) as f64;
        report("hit_rate", self.hits as f64 / requests);
        report("misses", self.misses as f64);
        report("entries", self.store.len() as f64);
        report("cached_bytes", self.store.bytes() as f64);
        report("budget_bytes", self.budget as f64);
        if let Store::Lru(lru) = &self.store {
            report("evictions", lru.evictions() as f64);
            report("fresh_buffers", lru.fresh_buffers() as f64);
        }
    }
}

impl Experiment for BoundedCache {
    fn info(&self) -> &'static ExperimentInfo {
        &INFO
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        let store = match variant {
            0 => Store::Unbounded(HashMap::new()),
            1 => Store::Lru(ByteLru::new(size)),
            _ => Store::Quick(quick_cache(size)),
        };
        Box::new(Requests {
            store,
            budget: size,
            rng: SplitMix64::new(0x04_04_03),
            hits: 0,
            misses: 0,
        })
    }

    fn warmup_ops(&self, _size: usize) -> u64 {
        // Enough requests to fill the default budget several times over, so the bounded caches
        // measure in their steady state (evicting) rather than while they fill.
        WARMUP_REQUESTS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_are_deterministic_and_sized() {
        for key in [0, 1, 99, 123_456] {
            let value = render(key);
            assert!((32..=1024).contains(&value.len()));
            assert_eq!(value, render(key));
        }
    }

    #[test]
    fn lru_evicts_the_least_recently_used_and_stays_in_budget() {
        let entry = weight(&[0; 100]);
        let mut lru = ByteLru::new(3 * entry);
        for key in 1..=3 {
            lru.insert(key, vec![0; 100]);
        }
        assert_eq!(lru.bytes(), 3 * entry);
        assert!(lru.get(1).is_some()); // 2 is now the least recently used
        lru.insert(4, vec![0; 100]);
        assert!(lru.get(2).is_none());
        assert!([1, 3, 4].into_iter().all(|key| lru.get(key).is_some()));
        assert_eq!((lru.bytes(), lru.len(), lru.evictions()), (3 * entry, 3, 1));
    }

    #[test]
    fn lru_bookkeeping_matches_its_contents_under_churn() {
        let budget = 20_000;
        let mut lru = ByteLru::new(budget);
        let mut rng = SplitMix64::new(5);
        for _ in 0..20_000 {
            let key = rng.zipf_like(500);
            if lru.get(key).is_none() {
                lru.insert(key, render(key));
            }
            assert!(lru.bytes() <= budget);
        }
        let charged: usize = lru
            .map
            .values()
            .map(|&index| weight(&lru.slots[index].value))
            .sum();
        assert_eq!(charged, lru.bytes());
        assert_eq!(lru.len() + lru.free.len(), lru.slots.len());
        // Walking the list from the head visits every entry once.
        let mut seen = 0;
        let mut at = lru.head;
        while at != NIL {
            seen += 1;
            at = lru.slots[at].next;
        }
        assert_eq!(seen, lru.len());
    }

    #[test]
    fn rendering_into_evicted_buffers_changes_no_eviction_and_no_value() {
        // The same requests through an LRU that renders a new value per miss and one that
        // renders into evicted buffers: the same hits, the same entries, the same bytes.
        let budget = 1 << 20;
        let (mut plain, mut reusing) = (ByteLru::new(budget), ByteLru::new(budget));
        let mut rng = SplitMix64::new(9);
        for _ in 0..50_000 {
            let key = rng.zipf_like(20_000);
            let hit = plain.get(key).map(<[u8]>::to_vec);
            let reused_hit = reusing.get(key).map(<[u8]>::to_vec);
            assert_eq!(hit, reused_hit);
            if hit.is_none() {
                plain.insert(key, render(key));
                let mut rendered = Vec::new();
                reusing.insert_with(key, rendered_len(key), |buffer| {
                    render_into(key, buffer);
                    rendered.clone_from(buffer);
                });
                assert_eq!(rendered, render(key));
            }
            assert_eq!(
                (plain.bytes(), plain.len()),
                (reusing.bytes(), reusing.len())
            );
        }
        assert!(
            plain.evictions() > 10_000,
            "{} evictions",
            plain.evictions()
        );
        // Nearly every miss after the first fill found an evicted buffer that fits.
        assert!(
            reusing.fresh_buffers() < plain.len() as u64 + plain.evictions() / 20,
            "{} fresh buffers, {} entries, {} evictions",
            reusing.fresh_buffers(),
            plain.len(),
            plain.evictions()
        );
    }

    #[test]
    fn an_evicted_buffer_is_reused_only_when_it_fits_closely() {
        // Room for 16 values of 500 bytes, so that spares may hold one (a 16th of the budget).
        let mut lru = ByteLru::new(16 * weight(&[0; 500]));
        for key in 0..16 {
            lru.insert_with(key, 500, |b| b.resize(500, 1));
        }
        assert_eq!(lru.fresh_buffers(), 16);
        // 480 bytes fit in an evicted 500-byte buffer (20 to spare): no new buffer.
        lru.insert_with(16, 480, |b| b.resize(480, 2));
        assert_eq!((lru.fresh_buffers(), lru.evictions()), (16, 1));
        // 200 bytes would leave 300 unused in one: a new buffer, and the evicted one kept.
        lru.insert_with(17, 200, |b| b.resize(200, 3));
        assert_eq!((lru.fresh_buffers(), lru.evictions()), (17, 2));
        assert_eq!(lru.spares.bytes, 500);
        assert_eq!(lru.get(17), Some(&[3; 200][..]));
        // Spares are heap beside the budget: at most a 16th of it.
        let mut spares = Spares::new(16_000);
        for _ in 0..10 {
            spares.keep(Vec::with_capacity(400));
        }
        assert_eq!(spares.bytes, 800);
    }

    #[test]
    fn a_value_heavier_than_the_budget_is_not_cached() {
        let mut lru = ByteLru::new(10);
        lru.insert(1, render(1));
        assert!(lru.is_empty());
        assert_eq!(lru.bytes(), 0);
    }
}
