//! `channel-pool` (04-03): the chapter's custom `BufferPool`, a bounded channel holding a fixed
//! number of buffers, sized right, too small (callers wait, or allocate) and too large.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::engine::data::{self, SplitMix64};
use crate::engine::experiment::{
    Checksum, Experiment, ExperimentInfo, Section, Targets, VariantInfo, WorkUnit, Workload,
};

/// The experiment.
#[derive(Debug)]
pub struct ChannelPoolExperiment;

static INFO: ExperimentInfo = ExperimentInfo {
    id: "channel-pool",
    section: Section::BufferPooling,
    title: "A fixed pool over a channel",
    why: "The chapter's BufferPool is a bounded channel filled with poolSize buffers at start: \
take one by receiving, give it back by sending. Here it is a crossbeam bounded channel (Go's \
channels are multi-consumer, std's mpsc is not). The workload is a server with bursts of \
concurrent requests: each operation one request arrives, gets a 64 KiB buffer, has its response \
rendered into it, and keeps the buffer while the response is in flight; between 1 and 16 \
responses are in flight at any moment. The naive server allocates a buffer per request (1 \
allocation per operation) and holds as much memory as is in flight. The optimized pool has 16 \
buffers, the most ever in flight: every get is a hit, no allocation, and its 1 MiB is the same \
footprint the naive server reaches at its peak. Then the sizing mistakes. too-small (4 buffers, \
blocking as the chapter's receive does) bounds memory to 256 KiB but makes requests wait: each \
wait counted here is a moment a real caller would block, which this single-threaded model resolves \
by finishing the oldest response early, so it costs no time here (no significant difference from \
the optimized pool: 0.99 times its throughput, 95% interval 0.93 to 1.05 over 10 runs) but would \
cost latency in a server. alloc-on-empty (4 buffers, Go's select-with-default: allocate when \
empty, free when the channel is full) never waits but quietly brings the allocations back: watch \
misses and dropped climb. too-large (256 buffers) never waits or allocates, and holds 16 MiB of \
which 15 are idle; it is also slower than the right size, 1.5 to 1.9 times slower across three \
scorecard runs (1.9 times, 95% interval 1.7 to 2.3 over 10 runs, in the middle one: 3.9 µs against \
2.0 µs per request), because a channel hands buffers out first in, first out, so 256 buffers take \
turns and none stays in the CPU cache. Allocation is the bottleneck of the \
naive server, more than the malloc call suggests: each 64 KiB block sits at the top of the heap, \
glibc returns the top of the heap to the kernel when it is freed (its trim threshold is 128 KiB), \
and the next request faults fresh zeroed pages back in. The pool keeps its pages, so the \
optimized server is 6.5 times faster (95% interval 6.0 to 7.3 over 10 runs: 12.9 µs against 2.0 µs \
per request). heaplab runs every variant in a fresh worker process, so the dashboard and bench see \
the same figure. A \
long-running program need not: any small block another thread keeps above these buffers at the \
top of the heap stops the trimming (when heaplab ran experiments inside the dashboard's process, \
its UI thread's allocations did exactly that), and glibc raises its trim threshold for good once a \
program frees a block it had mmapped. No crate variant: the pool is already a crate's channel \
(crossbeam-channel, as the chapter's is Go's), and no object-pool crate makes a get wait for a \
buffer to come back (lockfree-object-pool grows without bound; object-pool and opool allocate \
past their size, as alloc-on-empty does), so they cannot show the sizing this experiment is \
about. A pool that grows on demand is sync-pool's, where lockfree-object-pool is the crate \
variant.",
    variants: &[
        VariantInfo {
            name: "naive",
            summary: "a new 64 KiB buffer per request, freed when its response is sent",
        },
        VariantInfo {
            name: "optimized",
            summary: "a channel of 16 buffers, the peak in flight: every get a hit",
        },
        VariantInfo {
            name: "too-small",
            summary: "4 buffers, blocking get: memory bounded, requests wait",
        },
        VariantInfo {
            name: "alloc-on-empty",
            summary: "4 buffers, allocate when empty, free when full: allocations come back",
        },
        VariantInfo {
            name: "too-large",
            summary: "256 buffers: no waits, no allocations, 16 MiB mostly idle",
        },
    ],
    size_unit: "bytes per buffer (responses are 1/8 to all of it)",
    work_unit: WorkUnit::Bytes,
    default_size: 64 << 10,
    targets: Targets {
        zero_allocs: true,
        peak_heap: false,
        speedup: true,
    },
    source: include_str!("channel_pool.rs"),
    source_file: file!(),
    size_range: (1, 16 << 20),
};

/// The most responses in flight at once.
pub const MAX_IN_FLIGHT: usize = 16;

/// A pool's counters, cumulative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelPoolStats {
    /// Gets served from the channel.
    pub hits: u64,
    /// Gets that found the channel empty and allocated a buffer instead.
    pub misses: u64,
    /// Gets that found the channel empty and waited for a buffer to come back.
    pub waits: u64,
    /// Buffers given back.
    pub puts: u64,
    /// Buffers given back to a full channel, and so freed.
    pub dropped: u64,
}

// region:optimized
/// The chapter's `BufferPool`: a bounded channel holding up to `buffers` buffers.
#[derive(Debug)]
pub struct ChannelPool {
    sender: Sender<Vec<u8>>,
    receiver: Receiver<Vec<u8>>,
    buffer_capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    waits: AtomicU64,
    puts: AtomicU64,
    dropped: AtomicU64,
}

impl ChannelPool {
    /// A pool filled with `buffers` empty buffers of `buffer_capacity` bytes (`buffers` > 0).
    #[must_use]
    pub fn new(buffers: usize, buffer_capacity: usize) -> Self {
        let (sender, receiver) = crossbeam_channel::bounded(buffers);
        for _ in 0..buffers {
            // Cannot fail: the channel has room for exactly this many.
            let _ = sender.try_send(Vec::with_capacity(buffer_capacity));
        }
        Self {
            sender,
            receiver,
            buffer_capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            puts: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// An idle buffer if there is one now (a hit), never waiting or allocating.
    pub fn try_get(&self) -> Option<Vec<u8>> {
        let buf = self.receiver.try_recv().ok()?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(buf)
    }

    /// An idle buffer, waiting up to `timeout` for one to come back (the chapter's blocking
    /// receive, with a deadline); `None` if none came back in time.
    #[cfg_attr(not(test), expect(dead_code, reason = "the chapter's API; its tests call it"))]
    pub fn get_timeout(&self, timeout: Duration) -> Option<Vec<u8>> {
        if let Some(buf) = self.try_get() {
            return Some(buf);
        }
        self.note_wait();
        match self.receiver.recv_timeout(timeout) {
            Ok(buf) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(buf)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Records that a caller found the pool empty and is waiting for a buffer to come back.
    pub fn note_wait(&self) {
        self.waits.fetch_add(1, Ordering::Relaxed);
    }

    /// Gives `buf` back, emptied; frees it instead if the channel is full.
    pub fn put(&self, mut buf: Vec<u8>) {
        self.puts.fetch_add(1, Ordering::Relaxed);
        buf.clear();
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.sender.try_send(buf)
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Buffers idle in the channel now.
    #[must_use]
    pub fn idle(&self) -> usize {
        self.receiver.len()
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> ChannelPoolStats {
        ChannelPoolStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            puts: self.puts.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// What the server does when the pool is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnEmpty {
    /// Wait for a buffer to come back: here, finish the oldest response now.
    Wait,
    /// Allocate a buffer the pool will not take back if it is full.
    Allocate,
}
// endregion:optimized

// region:alloc-on-empty
impl ChannelPool {
    /// An idle buffer, or a new one if there is none (Go's `select` with `default`); `put`
    /// frees it if the channel is full by then.
    pub fn get_or_allocate(&self) -> Vec<u8> {
        self.try_get().unwrap_or_else(|| {
            self.misses.fetch_add(1, Ordering::Relaxed);
            Vec::with_capacity(self.buffer_capacity)
        })
    }
}
// endregion:alloc-on-empty

/// Buffers in the too-small pools.
// region:too-small
pub const TOO_SMALL: usize = 4;
// endregion:too-small
/// Buffers in the too-large pool.
// region:too-large
/// 16 times the most ever in flight: nothing waits, and 15/16 of it stays idle.
pub const TOO_LARGE: usize = 256;
// endregion:too-large

/// Where a request's buffer comes from.
enum Buffers {
    // region:naive
    /// A new buffer per request, freed when its response has been sent.
    Fresh { capacity: usize },
    // endregion:naive
    Pooled {
        pool: ChannelPool,
        on_empty: OnEmpty,
    },
}

struct Server {
    buffers: Buffers,
    in_flight: VecDeque<Vec<u8>>,
    template: Vec<u8>,
    max_len: usize,
    rng: SplitMix64,
    next_id: u64,
}

impl Server {
    /// The oldest response has been sent: its buffer is free again.
    fn finish_oldest(&mut self) {
        if let Some(buf) = self.in_flight.pop_front() {
            match &self.buffers {
                Buffers::Fresh { .. } => drop(buf),
                Buffers::Pooled { pool, .. } => pool.put(buf),
            }
        }
    }

    fn buffer(&mut self) -> Vec<u8> {
        match &self.buffers {
            // region:naive
            Buffers::Fresh { capacity } => Vec::with_capacity(*capacity),
            // endregion:naive
            Buffers::Pooled {
                pool,
                on_empty: OnEmpty::Allocate,
            } => pool.get_or_allocate(),
            // region:too-small
            // With a pool that is too small, this is where requests wait.
            Buffers::Pooled {
                pool,
                on_empty: OnEmpty::Wait,
            } => {
                if let Some(buf) = pool.try_get() {
                    return buf;
                }
                pool.note_wait();
                loop {
                    self.finish_oldest();
                    if let Buffers::Pooled { pool, .. } = &self.buffers
                        && let Some(buf) = pool.try_get()
                    {
                        return buf;
                    }
                }
            } // endregion:too-small
        }
    }
}

impl Workload for Server {
    fn run_op(&mut self, checksum: &mut Checksum) -> u64 {
        // Bursts: the number of responses in flight wanders between 1 and 16.
        let depth = 1 + self.rng.below(MAX_IN_FLIGHT as u64) as usize;
        while self.in_flight.len() >= depth {
            self.finish_oldest();
        }
        let min = (self.max_len / 8).max(1);
        let len = min + self.rng.below((self.max_len - min + 1) as u64) as usize;
        let mut buf = self.buffer();
        data::render_response(&self.template, self.next_id, len, &mut buf);
        self.next_id += 1;
        checksum.fold_bytes(&buf);
        self.in_flight.push_back(buf);
        len as u64
    }

    fn extra_counters(&self, report: &mut dyn FnMut(&'static str, f64)) {
        if let Buffers::Pooled { pool, .. } = &self.buffers {
            let stats = pool.stats();
            report("hits", stats.hits as f64);
            report("misses", stats.misses as f64);
            report("waits", stats.waits as f64);
            report("dropped", stats.dropped as f64);
            report("idle", pool.idle() as f64);
            report("in_flight", self.in_flight.len() as f64);
        }
    }
}

impl Experiment for ChannelPoolExperiment {
    fn info(&self) -> &'static ExperimentInfo {
        &INFO
    }

    /// alloc-on-empty allocates only when its workers have not returned a buffer in time, which
    /// some runs of 30 operations never see; every other variant waits or never runs dry.
    fn depends_on_scheduling(&self, variant: usize) -> bool {
        INFO.variants
            .get(variant)
            .is_some_and(|v| v.name == "alloc-on-empty")
    }

    fn build(&self, variant: usize, size: usize) -> Box<dyn Workload> {
        let pooled = |buffers, on_empty| Buffers::Pooled {
            pool: ChannelPool::new(buffers, size),
            on_empty,
        };
        let buffers = match variant {
            0 => Buffers::Fresh { capacity: size },
            1 => pooled(MAX_IN_FLIGHT, OnEmpty::Wait),
            2 => pooled(TOO_SMALL, OnEmpty::Wait),
            3 => pooled(TOO_SMALL, OnEmpty::Allocate),
            // region:too-large
            _ => pooled(TOO_LARGE, OnEmpty::Wait),
            // endregion:too-large
        };
        Box::new(Server {
            buffers,
            in_flight: VecDeque::with_capacity(MAX_IN_FLIGHT),
            template: data::random_bytes(0x04_03_03, 4096),
            max_len: size,
            rng: SplitMix64::new(0x04_03_04),
            next_id: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_starts_full_and_takes_back_only_what_fits() {
        let pool = ChannelPool::new(2, 100);
        assert_eq!(pool.idle(), 2);
        let a = pool.get_or_allocate();
        let b = pool.get_or_allocate();
        let c = pool.get_or_allocate();
        assert_eq!(a.capacity(), 100);
        assert_eq!(pool.try_get(), None);
        for buf in [a, b, c] {
            pool.put(buf);
        }
        let stats = pool.stats();
        assert_eq!(
            (stats.hits, stats.misses, stats.puts, stats.dropped),
            (2, 1, 3, 1)
        );
        assert_eq!(pool.idle(), 2);
    }

    /// Only alloc-on-empty's allocations wait on the scheduler: the others wait for a buffer
    /// (or have enough), so their counts are the same in every run of the same operations.
    #[test]
    fn only_alloc_on_empty_depends_on_scheduling() {
        let dependent: Vec<&str> = (0..INFO.variants.len())
            .filter(|&v| ChannelPoolExperiment.depends_on_scheduling(v))
            .map(|v| INFO.variants[v].name)
            .collect();
        assert_eq!(dependent, ["alloc-on-empty"]);
        assert!(!ChannelPoolExperiment.depends_on_scheduling(INFO.variants.len()));
    }

    #[test]
    fn a_blocked_get_is_served_by_another_threads_put() {
        let pool = ChannelPool::new(1, 8);
        let held = pool.try_get().expect("one buffer");
        assert_eq!(pool.get_timeout(Duration::from_millis(1)), None);
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                pool.put(held);
            });
            let buf = pool.get_timeout(Duration::from_secs(10));
            assert!(buf.is_some(), "the put wakes the waiting get");
        });
        let stats = pool.stats();
        assert_eq!((stats.hits, stats.waits, stats.misses), (2, 2, 0));
    }
}
