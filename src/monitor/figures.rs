//! A [`Frame`] from the engine's counters: the process's totals, every counted thread with its
//! name from `/proc/self/task/TID/comm` and its role, and the sampled peak of the live heap;
//! [`snapshot`], the same for the program itself.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;

use heaplab_experiments::counting::{SlotId, ThreadCounters, process_counters, threads};

use super::protocol::{Frame, ThreadFrame, ThreadRole, Totals};

/// A [`Totals`] from the engine's process or slot counters (two types with these fields).
macro_rules! totals {
    ($counters:expr) => {{
        let counters = $counters;
        Totals {
            allocs: counters.allocs,
            deallocs: counters.deallocs,
            reallocs: counters.reallocs,
            bytes_allocated: counters.bytes_allocated,
            bytes_freed: counters.bytes_freed,
        }
    }};
}

/// The name the shared bucket goes by (a kernel thread name has at most 15 bytes, so no
/// thread can be mistaken for it).
pub const SHARED_NAME: &str = "(other threads)";

/// The highest live heap seen by any sample (the monitor's, a viewer's or a snapshot's).
static PEAK_LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

/// The monitor's own threads, by kernel thread id: what watching costs is shown apart.
static MONITOR_TIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// When the figures' clock started: the first `start()` or `snapshot()` of the process.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Starts the figures' clock (`at_ms` counts from here).
pub(super) fn start_clock() {
    epoch();
}

/// Takes `live` into the sampled peak, and returns the peak.
pub(super) fn observe(live: i64) -> i64 {
    raise(&PEAK_LIVE_BYTES, live)
}

fn raise(peak: &AtomicI64, live: i64) -> i64 {
    peak.fetch_max(live, Ordering::Relaxed).max(live)
}

/// The calling thread's kernel id (from `/proc/thread-self`, which names `PID/task/TID`).
pub(super) fn own_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Marks the calling thread as one of the monitor's for as long as the guard lives.
pub(super) struct MonitorThread(Option<u32>);

impl MonitorThread {
    pub(super) fn enter() -> Self {
        let tid = own_tid();
        if let Some(tid) = tid {
            MONITOR_TIDS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(tid);
        }
        Self(tid)
    }
}

impl Drop for MonitorThread {
    fn drop(&mut self) {
        if let Some(tid) = self.0 {
            MONITOR_TIDS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|&t| t != tid);
        }
    }
}

/// Reads frames; keeps its buffer from one frame to the next, so that a viewer's thread
/// allocates little beyond the frame it sends.
#[derive(Debug, Default)]
pub(super) struct Reader {
    threads: Vec<ThreadCounters>,
    monitor_tids: Vec<u32>,
}

impl Reader {
    /// The program's figures now.
    pub(super) fn frame(&mut self) -> Frame {
        threads(&mut self.threads);
        let totals = totals!(process_counters());
        self.monitor_tids
            .clone_from(&MONITOR_TIDS.lock().unwrap_or_else(PoisonError::into_inner));
        let threads = self
            .threads
            .iter()
            .map(|thread| thread_frame(thread, &self.monitor_tids))
            .collect();
        Frame {
            at_ms: u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX),
            totals,
            peak_live_bytes: observe(totals.live_bytes()),
            threads,
        }
    }
}

/// The program's own figures now, as a viewer gets them: the process's totals since it
/// started, every counted thread's since it claimed its slot, and the highest live heap seen
/// by the monitor's samples (every interval, if `start()` ran) and by earlier calls. Without
/// `start()`, only the threads that registered as workers have slots of their own; the rest
/// count in the shared bucket. It allocates the frame it returns (counted in the caller's
/// thread).
#[must_use]
pub fn snapshot() -> Frame {
    Reader::default().frame()
}

fn thread_frame(thread: &ThreadCounters, monitor_tids: &[u32]) -> ThreadFrame {
    let slot = thread.slot.index() as u16;
    let role = if thread.slot == SlotId::OTHER {
        ThreadRole::Shared
    } else if thread.tid != 0 && monitor_tids.contains(&thread.tid) {
        ThreadRole::Monitor
    } else {
        ThreadRole::Program
    };
    ThreadFrame {
        tid: thread.tid,
        name: thread_name(thread.slot.index(), thread.tid),
        slot,
        generation: thread.generation,
        role,
        totals: totals!(&thread.counters),
    }
}

/// A thread's name as the kernel has it; its id if it has none (or has just ended), and its
/// slot if even the id is unknown.
fn thread_name(slot: usize, tid: u32) -> String {
    if slot == SlotId::OTHER.index() {
        return SHARED_NAME.to_owned();
    }
    if tid == 0 {
        return format!("slot {slot}");
    }
    match std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")) {
        Ok(name) if !name.trim_end().is_empty() => name.trim_end_matches('\n').to_owned(),
        _ => tid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_named_as_the_kernel_names_it() {
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("figures-test".into())
            .spawn(move || {
                tid_tx.send(own_tid().expect("a thread id")).expect("send");
                // Stay alive until the name was read.
                done_rx.recv().ok();
            })
            .expect("spawn");
        let tid = tid_rx.recv().expect("tid");
        assert_eq!(thread_name(1, tid), "figures-test");
        drop(done_tx);
        handle.join().expect("join");
        assert_eq!(thread_name(0, 0), SHARED_NAME);
        assert_eq!(thread_name(3, 0), "slot 3");
    }

    #[test]
    fn the_peak_keeps_the_highest_sample() {
        let peak = AtomicI64::new(0);
        assert_eq!(raise(&peak, 500), 500);
        assert_eq!(raise(&peak, 1), 500);
        assert_eq!(raise(&peak, -20), 500);
        assert_eq!(raise(&peak, 501), 501);
    }
}
