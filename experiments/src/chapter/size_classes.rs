//! `size-classes` (04-03): mixed-size requests served with no pool, with one pool per size
//! class (1, 4, 16 and 64 KiB), and with one pool of a single, largest size.

use std::collections::VecDeque;

use crate::engine::data::{self, SplitMix64};
use crate::engine::experiment::{
    Checksum, Experiment, ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload,
};

/// The experiment.
#[derive(Debug)]
pub struct SizeClasses;

static INFO: ExperimentInfo = ExperimentInfo {
    id: "size-classes",
    section: Section::BufferPooling,
    title: "Pool by size class",
    why: "Real responses are mostly small with a long tail: here 60% are under 1 KiB, 25% under \
4 KiB, 10% under 16 KiB and 5% up to 64 KiB, replayed from a trace of 10 000 requests, with 32 \
in flight at a time. Without a pool (naive) every request allocates exactly what it needs: 1 \
allocation per request, and the smallest possible footprint. One pool of 64 KiB buffers \
(one-size) stops the allocations, but every request now holds 64 KiB whatever it needs: about \
94% of the bytes handed out are wasted and the footprint is that of 32 largest requests. Size \
classes (optimized) keep one free list per class, 1, 4, 16 and 64 KiB, and serve each request from \
the smallest class that fits, the way jemalloc, tcmalloc and Go's own allocator do: the same zero \
allocations in steady state, a fraction of the waste (at most 4x what was asked, 1.6x on \
average, instead of up to 1000x) and a fraction of one-size's footprint. Watch hit_rate, \
waste_per_get and pooled_bytes. The warm-up replays the trace once, which is what it takes for \
every class to hold as many buffers as it will ever need at once; after it, hits are 100% and \
allocations 0. Allocation is a real but not dominant cost per request (most requests are small, \
and glibc recycles small blocks quickly): the pools are 2.0 to 2.3 times faster than naive \
across three scorecard runs (size classes 2.3 times, 95% interval 2.1 to 2.5 over 10 runs, in \
the middle one: 267 ns against 621 ns per request; one-size 2.3 times, 2.1 to 2.4). The \
lesson is the trade between allocations and memory held: naive holds the least, one-size five \
times more, size classes twice as much as naive with none of its allocations.",
    variants: &[
        VariantInfo {
            name: "naive",
            summary: "no pool: Vec::with_capacity(exact size) per request",
        },
        VariantInfo {
            name: "optimized",
            summary: "free lists for 1, 4, 16 and 64 KiB; the smallest class that fits",
        },
        VariantInfo {
            name: "one-size",
            summary: "one free list of 64 KiB buffers for every request",
        },
    ],
    size_unit: "requests in the replayed trace (one request per operation)",
    work_unit: WorkUnit::Bytes,
    default_size: 10_000,
    targets: Targets {
        zero_allocs: true,
        peak_heap: false,
        speedup: false,
    },
    source: include_str!("size_classes.rs"),
    source_file: file!(),
    size_range: (1, 10_000_000),
};

/// Requests in flight at once.
pub const IN_FLIGHT: usize = 32;
/// The size classes, in bytes.
pub const CLASSES: [usize; 4] = [1 << 10, 4 << 10, 16 << 10, 64 << 10];
// region:one-size
/// The one-size pool's only class: the largest, so that every request fits.
pub const ONE_SIZE: [usize; 1] = [64 << 10];
// endregion:one-size
/// Most idle buffers kept per class.
pub const MAX_IDLE_PER_CLASS: usize = 64;

/// A pool's counters, cumulative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassPoolStats {
    /// Buffers handed out.
    pub gets: u64,
    /// Gets served by an idle buffer.
    pub hits: u64,
    /// Gets that allocated (no idle buffer of the class, or larger than every class).
    pub misses: u64,
    /// Bytes handed out beyond what was asked: capacity minus request, summed over gets.
    pub wasted_bytes: u64,
    /// Buffers given back and freed (no class, or the class's free list full).
    pub dropped: u64,
}

// region:optimized
/// Free lists of byte buffers, one per size class. A request gets a buffer of the smallest
/// class that fits; a request larger than every class gets a buffer of its own size.
#[derive(Debug)]
pub struct ClassPool {
    classes: Vec<(usize, Vec<Vec<u8>>)>,
    stats: ClassPoolStats,
}

impl ClassPool {
    /// A pool with one free list per capacity in `classes` (ascending).
    #[must_use]
    pub fn new(classes: &[usize]) -> Self {
        Self {
            classes: classes
                .iter()
                .map(|&capacity| (capacity, Vec::with_capacity(MAX_IDLE_PER_CLASS)))
                .collect(),
            stats: ClassPoolStats::default(),
        }
    }

    /// An empty buffer with room for at least `len` bytes.
    pub fn get(&mut self, len: usize) -> Vec<u8> {
        self.stats.gets += 1;
        let (capacity, reused) = match self.classes.iter_mut().find(|(cap, _)| *cap >= len) {
            Some((capacity, idle)) => (*capacity, idle.pop()),
            None => (len, None),
        };
        let buf = if let Some(buf) = reused {
            self.stats.hits += 1;
            buf
        } else {
            self.stats.misses += 1;
            Vec::with_capacity(capacity)
        };
        self.stats.wasted_bytes += (buf.capacity() - len) as u64;
        buf
    }

    /// Gives `buf` back to its class's free list, emptied.
    pub fn put(&mut self, mut buf: Vec<u8>) {
        let class = self
            .classes
            .iter_mut()
            .find(|(capacity, _)| *capacity == buf.capacity());
        match class {
            Some((_, idle)) if idle.len() < MAX_IDLE_PER_CLASS => {
                buf.clear();
                idle.push(buf);
            }
            _ => self.stats.dropped += 1,
        }
    }

    /// Bytes held in idle buffers.
    #[must_use]
    pub fn idle_bytes(&self) -> u64 {
        self.classes
            .iter()
            .map(|(capacity, idle)| (capacity * idle.len()) as u64)
            .sum()
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> ClassPoolStats {
        self.stats
    }
}
// endregion:optimized

/// Where request buffers come from.
enum Source {
    // region:naive
    /// Exactly the requested size, allocated per request and freed after.
    Exact,
    // endregion:naive
    Pool(ClassPool),
}

impl Source {
    fn get(&mut self, len: usize) -> Vec<u8> {
        match self {
            // region:naive
            Source::Exact => Vec::with_capacity(len),
            // endregion:naive
            Source::Pool(pool) => pool.get(len),
        }
    }

    fn put(&mut self, buf: Vec<u8>) {
        if let Source::Pool(pool) = self {
            pool.put(buf);
        }
    }
}

/// Request sizes of a trace of `count` requests: mostly small, with a long tail.
#[must_use]
pub fn request_sizes(seed: u64, count: usize) -> Vec<u32> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|_| {
            let (low, high) = match rng.below(100) {
                0..60 => (64, 1 << 10),
                60..85 => ((1 << 10) + 1, 4 << 10),
                85..95 => ((4 << 10) + 1, 16 << 10),
                _ => ((16 << 10) + 1, 64 << 10),
            };
            (low + rng.below(high - low + 1)) as u32
        })
        .collect()
}

struct Server {
    source: Source,
    trace: Vec<u32>,
    in_flight: VecDeque<Vec<u8>>,
    template: Vec<u8>,
    next: u64,
    in_flight_bytes: u64,
}

impl Workload for Server {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        if self.in_flight.len() == IN_FLIGHT
            && let Some(done) = self.in_flight.pop_front()
        {
            self.in_flight_bytes -= done.capacity() as u64;
            self.source.put(done);
        }
        let len = self.trace[(self.next % self.trace.len() as u64) as usize] as usize;
        let mut buf = self.source.get(len);
        data::render_response(&self.template, self.next, len, &mut buf);
        self.next += 1;
        checksum.fold_bytes(&buf);
        self.in_flight_bytes += buf.capacity() as u64;
        self.in_flight.push_back(buf);
        len as u64
    }

    fn extra_counters(&self, report: &mut dyn FnMut(&'static str, f64)) {
        if let Source::Pool(pool) = &self.source {
            let stats = pool.stats();
            let gets = stats.gets.max(1) as f64;
            report("gets", stats.gets as f64);
            report("misses", stats.misses as f64);
            report("hit_rate", stats.hits as f64 / gets);
            report("waste_per_get", stats.wasted_bytes as f64 / gets);
            report(
                "pooled_bytes",
                (pool.idle_bytes() + self.in_flight_bytes) as f64,
            );
        }
    }
}

impl Experiment for SizeClasses {
    fn info(&self) -> &'static ExperimentInfo {
        &INFO
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        let source = match variant {
            0 => Source::Exact,
            1 => Source::Pool(ClassPool::new(&CLASSES)),
            // region:one-size
            _ => Source::Pool(ClassPool::new(&ONE_SIZE)),
            // endregion:one-size
        };
        Box::new(Server {
            source,
            trace: request_sizes(0x04_03_05, size),
            in_flight: VecDeque::with_capacity(IN_FLIGHT),
            template: data::random_bytes(0x04_03_06, 4096),
            next: 0,
            in_flight_bytes: 0,
        })
    }

    fn warmup_ops(&self, size: usize) -> u64 {
        // One pass over the trace after the window has filled: every window of 32 requests the
        // trace holds has then been in flight once, so each class has grown to the most buffers
        // it will ever need at once.
        (size + IN_FLIGHT) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_to_the_smallest_class_that_fits() {
        let mut pool = ClassPool::new(&CLASSES);
        assert_eq!(pool.get(1).capacity(), 1024);
        assert_eq!(pool.get(1024).capacity(), 1024);
        assert_eq!(pool.get(1025).capacity(), 4096);
        assert_eq!(pool.get(65_536).capacity(), 65_536);
        assert_eq!(pool.get(70_000).capacity(), 70_000);
        let stats = pool.stats();
        assert_eq!((stats.gets, stats.misses, stats.hits), (5, 5, 0));
        assert_eq!(stats.wasted_bytes, 1023 + 4096 - 1025);
    }

    #[test]
    fn returned_buffers_are_reused_by_their_class_only() {
        let mut pool = ClassPool::new(&CLASSES);
        let small = pool.get(100);
        let ptr = small.as_ptr();
        pool.put(small);
        pool.put(Vec::with_capacity(70_000)); // no class: freed
        assert_eq!(pool.idle_bytes(), 1024);
        let big = pool.get(2000);
        assert_eq!(big.capacity(), 4096);
        let again = pool.get(10);
        assert_eq!(again.as_ptr(), ptr);
        assert!(again.is_empty());
        let stats = pool.stats();
        assert_eq!((stats.hits, stats.misses, stats.dropped), (1, 2, 1));
    }

    #[test]
    fn the_trace_has_the_stated_mix() {
        let sizes = request_sizes(0x04_03_05, 10_000);
        let under = |limit: u32| sizes.iter().filter(|&&s| s <= limit).count();
        assert!((5_700..6_300).contains(&under(1 << 10)));
        assert!((8_200..8_800).contains(&under(4 << 10)));
        assert!(sizes.iter().all(|&s| (64..=64 << 10).contains(&s)));
    }
}
