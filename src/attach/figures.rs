//! What the viewer derives from a watched program's cumulative frames: rates over each
//! interval, the per-thread table (allocated, freed and their difference since attach), the
//! time series the charts and `--trace` read, and the growth alerts judge. The program sends
//! only counters; every figure here is the viewer's own work.

use std::collections::VecDeque;

use super::alerts::Reading;
use crate::monitor::protocol::{Frame, ThreadRole, Totals};

/// The most history kept: ten minutes, the widest time window (and a cap on points, so a
/// program that sends frames very often costs the viewer no more memory).
pub const HISTORY_SECS: f64 = 600.0;
const MAX_POINTS: usize = 8192;
/// Ended threads kept greyed in the table, the most recent ones; older ones go.
pub const MAX_ENDED: usize = 16;
/// Growth is judged over at most this many seconds (the last minute).
const GROWTH_SECS: f64 = 60.0;

/// The whole program at one frame, after the first.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Point {
    /// Seconds since attach (the first frame), on the program's clock.
    pub t_secs: f64,
    /// Allocations per second over the interval that ends here.
    pub allocs_per_sec: f64,
    /// Bytes allocated per second over the interval.
    pub alloc_bytes_per_sec: f64,
    /// Bytes allocated and not freed, process-wide.
    pub live_bytes: i64,
    /// The program's sampled peak of the live heap.
    pub peak_bytes: i64,
    /// The program's resident set, read by the viewer from `/proc/PID/statm` (0 if unknown).
    pub rss_bytes: u64,
}

/// One thread of the watched program, told apart by its slot and the slot's generation.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadRow {
    /// The kernel's thread id (0 for the shared bucket).
    pub tid: u32,
    /// Its name.
    pub name: String,
    /// Its counter slot.
    pub slot: u16,
    /// How many times the slot was claimed before this thread.
    pub generation: u64,
    /// The program's own, the monitor's, or the shared bucket.
    pub role: ThreadRole,
    /// Allocations per second over the last interval (0 once ended).
    pub allocs_per_sec: f64,
    /// Bytes allocated per second over the last interval.
    pub allocated_per_sec: f64,
    /// Bytes freed per second over the last interval.
    pub freed_per_sec: f64,
    /// Whether the thread is gone (its slot absent, or claimed by a new generation).
    pub ended: bool,
    /// Its counts when the viewer first saw it after attach (zero for one born since).
    baseline: Totals,
    /// Its counts at its latest frame.
    last: Totals,
    /// When it was last seen, in ms on the program's clock (orders the ended ones).
    seen_ms: u64,
}

impl ThreadRow {
    /// Bytes allocated since attach.
    #[must_use]
    pub fn allocated_since_attach(&self) -> u64 {
        self.last
            .bytes_allocated
            .saturating_sub(self.baseline.bytes_allocated)
    }

    /// Bytes freed since attach.
    #[must_use]
    pub fn freed_since_attach(&self) -> u64 {
        self.last
            .bytes_freed
            .saturating_sub(self.baseline.bytes_freed)
    }

    /// Allocated minus freed since attach: negative for a thread that frees what another
    /// allocated.
    #[must_use]
    pub fn diff_since_attach(&self) -> i64 {
        self.allocated_since_attach() as i64 - self.freed_since_attach() as i64
    }

    fn key(&self) -> (u16, u64) {
        (self.slot, self.generation)
    }
}

/// Everything derived since attach.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// The first frame's clock and live heap: where "since attach" and growth start.
    origin: Option<(u64, i64)>,
    /// The previous frame's clock and totals.
    previous: Option<(u64, Totals)>,
    /// Every thread seen, live ones and the latest [`MAX_ENDED`] ended ones.
    threads: Vec<ThreadRow>,
    /// Points, oldest first, at most [`HISTORY_SECS`] of them.
    history: VecDeque<Point>,
    frames: u64,
}

impl Watch {
    /// Takes the next frame, and the program's RSS read when it came; returns the point it
    /// makes (none for the first frame: a rate needs an interval).
    pub fn push(&mut self, frame: &Frame, rss_bytes: u64) -> Option<Point> {
        self.frames += 1;
        let first = self.origin.is_none();
        let (origin_ms, _) = *self
            .origin
            .get_or_insert((frame.at_ms, frame.totals.live_bytes()));
        let interval = self
            .previous
            .map(|(at, _)| frame.at_ms.saturating_sub(at) as f64 / 1000.0);
        self.update_threads(frame, first, interval);
        let previous = self.previous.replace((frame.at_ms, frame.totals));
        let (_, before) = previous?;
        let secs = interval.filter(|&secs| secs > 0.0)?;
        let point = Point {
            t_secs: frame.at_ms.saturating_sub(origin_ms) as f64 / 1000.0,
            allocs_per_sec: frame.totals.allocs.saturating_sub(before.allocs) as f64 / secs,
            alloc_bytes_per_sec: frame
                .totals
                .bytes_allocated
                .saturating_sub(before.bytes_allocated) as f64
                / secs,
            live_bytes: frame.totals.live_bytes(),
            peak_bytes: frame.peak_live_bytes,
            rss_bytes,
        };
        self.history.push_back(point);
        while self.history.len() > MAX_POINTS
            || self
                .history
                .front()
                .is_some_and(|p| point.t_secs - p.t_secs > HISTORY_SECS)
        {
            self.history.pop_front();
        }
        Some(point)
    }

    fn update_threads(&mut self, frame: &Frame, first: bool, interval: Option<f64>) {
        let per_sec = |delta: u64| {
            interval
                .filter(|&s| s > 0.0)
                .map_or(0.0, |s| delta as f64 / s)
        };
        for row in &mut self.threads {
            row.ended = row.ended
                || !frame
                    .threads
                    .iter()
                    .any(|t| (t.slot, t.generation) == row.key());
            if row.ended {
                row.allocs_per_sec = 0.0;
                row.allocated_per_sec = 0.0;
                row.freed_per_sec = 0.0;
            }
        }
        for thread in &frame.threads {
            let key = (thread.slot, thread.generation);
            let index = if let Some(index) = self.threads.iter().position(|row| row.key() == key) {
                index
            } else {
                // At attach, what a thread did before is not "since attach"; born since,
                // all of it is.
                let seen = if first {
                    thread.totals
                } else {
                    Totals::default()
                };
                self.threads.push(ThreadRow {
                    tid: thread.tid,
                    name: thread.name.clone(),
                    slot: thread.slot,
                    generation: thread.generation,
                    role: thread.role,
                    allocs_per_sec: 0.0,
                    allocated_per_sec: 0.0,
                    freed_per_sec: 0.0,
                    ended: false,
                    baseline: seen,
                    last: seen,
                    seen_ms: frame.at_ms,
                });
                self.threads.len() - 1
            };
            let row = &mut self.threads[index];
            let now = thread.totals;
            row.allocs_per_sec = per_sec(now.allocs.saturating_sub(row.last.allocs));
            row.allocated_per_sec =
                per_sec(now.bytes_allocated.saturating_sub(row.last.bytes_allocated));
            row.freed_per_sec = per_sec(now.bytes_freed.saturating_sub(row.last.bytes_freed));
            // A thread renames itself after it starts: the latest name is its name.
            row.name.clone_from(&thread.name);
            row.tid = thread.tid;
            row.last = now;
            row.seen_ms = frame.at_ms;
        }
        let mut ended: Vec<u64> = self
            .threads
            .iter()
            .filter(|row| row.ended)
            .map(|row| row.seen_ms)
            .collect();
        if ended.len() > MAX_ENDED {
            ended.sort_unstable();
            let cutoff = ended[ended.len() - MAX_ENDED];
            let mut extra = ended.iter().filter(|&&ms| ms < cutoff).count();
            self.threads.retain(|row| {
                let drop = row.ended && row.seen_ms < cutoff && extra > 0;
                extra -= usize::from(drop);
                !drop
            });
        }
    }

    /// Frames taken so far.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The points, oldest first.
    #[must_use]
    pub fn history(&self) -> &VecDeque<Point> {
        &self.history
    }

    /// The latest point.
    #[must_use]
    pub fn latest(&self) -> Option<&Point> {
        self.history.back()
    }

    /// The threads as the table lists them: live ones, most allocations per second first
    /// (then by slot), then the ended ones, most recently seen first.
    #[must_use]
    pub fn threads(&self) -> Vec<&ThreadRow> {
        let mut rows: Vec<&ThreadRow> = self.threads.iter().collect();
        rows.sort_by(|a, b| {
            a.ended
                .cmp(&b.ended)
                .then(b.allocs_per_sec.total_cmp(&a.allocs_per_sec))
                .then(b.seen_ms.cmp(&a.seen_ms))
                .then(a.key().cmp(&b.key()))
        });
        rows
    }

    /// The live thread that allocates most per second, if any allocates.
    #[must_use]
    pub fn busiest(&self) -> Option<&ThreadRow> {
        self.threads()
            .into_iter()
            .find(|row| !row.ended && row.allocs_per_sec > 0.0)
    }

    /// Live heap growth in bytes per minute over the last minute, or since attach if that is
    /// shorter; `None` before the second frame.
    #[must_use]
    pub fn growth_per_min(&self) -> Option<f64> {
        let latest = self.latest()?;
        let (_, origin_live) = self.origin?;
        let since = latest.t_secs - GROWTH_SECS;
        let (t0, live0) = self
            .history
            .iter()
            .find(|p| p.t_secs >= since)
            .filter(|_| latest.t_secs >= GROWTH_SECS)
            .map_or((0.0, origin_live), |p| (p.t_secs, p.live_bytes));
        let secs = latest.t_secs - t0;
        (secs > 0.0).then(|| (latest.live_bytes - live0) as f64 * 60.0 / secs)
    }

    /// What alerts are judged against now.
    #[must_use]
    pub fn reading(&self) -> Option<Reading> {
        let latest = self.latest()?;
        Some(Reading {
            live_bytes: latest.live_bytes,
            allocs_per_sec: latest.allocs_per_sec,
            growth_per_min: self.growth_per_min(),
        })
    }
}

#[cfg(test)]
// Exact figures are the point of these tests, floats included.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use crate::monitor::protocol::ThreadFrame;

    fn totals(allocs: u64, allocated: u64, freed: u64) -> Totals {
        Totals {
            allocs,
            deallocs: 0,
            reallocs: 0,
            bytes_allocated: allocated,
            bytes_freed: freed,
        }
    }

    fn thread(slot: u16, generation: u64, name: &str, t: Totals) -> ThreadFrame {
        ThreadFrame {
            tid: 100 + u32::from(slot),
            name: name.into(),
            slot,
            generation,
            role: ThreadRole::Program,
            totals: t,
        }
    }

    fn frame(at_ms: u64, total: Totals, threads: Vec<ThreadFrame>) -> Frame {
        Frame {
            at_ms,
            totals: total,
            peak_live_bytes: total.live_bytes(),
            threads,
        }
    }

    #[test]
    fn rates_are_over_each_interval_and_live_heap_is_allocated_minus_freed() {
        let mut watch = Watch::default();
        assert_eq!(
            watch.push(&frame(1000, totals(100, 1000, 0), vec![]), 7),
            None
        );
        let point = watch
            .push(&frame(1500, totals(600, 6000, 2000), vec![]), 8)
            .expect("a point");
        assert_eq!(point.t_secs, 0.5);
        assert_eq!(point.allocs_per_sec, 1000.0);
        assert_eq!(point.alloc_bytes_per_sec, 10_000.0);
        assert_eq!(point.live_bytes, 4000);
        assert_eq!(point.rss_bytes, 8);
    }

    #[test]
    fn since_attach_starts_at_the_first_frame_and_a_thread_freeing_others_bytes_goes_negative() {
        let mut watch = Watch::default();
        watch.push(
            &frame(
                0,
                totals(10, 500, 0),
                vec![
                    thread(1, 0, "parser", totals(10, 500, 0)),
                    thread(2, 0, "dropper", totals(0, 0, 0)),
                ],
            ),
            0,
        );
        watch.push(
            &frame(
                1000,
                totals(30, 900, 300),
                vec![
                    thread(1, 0, "parser", totals(30, 900, 0)),
                    thread(2, 0, "dropper", totals(0, 0, 300)),
                ],
            ),
            0,
        );
        let rows = watch.threads();
        assert_eq!(rows[0].name, "parser");
        assert_eq!(rows[0].allocs_per_sec, 20.0);
        assert_eq!(rows[0].allocated_per_sec, 400.0);
        assert_eq!(
            rows[0].diff_since_attach(),
            400,
            "500 bytes from before attach left out"
        );
        assert_eq!(rows[1].name, "dropper");
        assert_eq!(rows[1].freed_per_sec, 300.0);
        assert_eq!(rows[1].diff_since_attach(), -300);
    }

    #[test]
    fn a_thread_that_ends_stays_greyed_and_a_reused_slot_is_a_new_thread() {
        let mut watch = Watch::default();
        watch.push(
            &frame(
                0,
                Totals::default(),
                vec![thread(3, 1, "worker-a", totals(5, 50, 0))],
            ),
            0,
        );
        // worker-a ends and worker-b claims slot 3 (generation 2) within the interval.
        watch.push(
            &frame(
                1000,
                Totals::default(),
                vec![thread(3, 2, "worker-b", totals(8, 80, 0))],
            ),
            0,
        );
        let rows = watch.threads();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].name.as_str(), rows[0].ended), ("worker-b", false));
        assert_eq!(
            rows[0].allocs_per_sec, 8.0,
            "born since the last frame: all its counts"
        );
        assert_eq!(
            rows[0].diff_since_attach(),
            80,
            "born since attach: all of it"
        );
        assert_eq!((rows[1].name.as_str(), rows[1].ended), ("worker-a", true));
        assert_eq!(rows[1].allocs_per_sec, 0.0);
        assert_eq!(rows[1].diff_since_attach(), 0);
    }

    #[test]
    fn only_the_latest_ended_threads_are_kept() {
        let mut watch = Watch::default();
        for i in 0..40u16 {
            watch.push(
                &frame(
                    u64::from(i) * 100,
                    Totals::default(),
                    vec![thread(i + 1, 0, &format!("t{i}"), Totals::default())],
                ),
                0,
            );
        }
        let rows = watch.threads();
        assert_eq!(rows.iter().filter(|r| r.ended).count(), MAX_ENDED);
        assert_eq!(rows[0].name, "t39");
        assert_eq!(rows[1].name, "t38", "the most recently ended first");
    }

    #[test]
    fn growth_is_over_the_last_minute_or_since_attach() {
        let mut watch = Watch::default();
        // 1 KiB more live heap every second.
        for s in 0..=120u64 {
            watch.push(&frame(s * 1000, totals(s, s * 1024, 0), vec![]), 0);
            if s == 30 {
                assert_eq!(watch.growth_per_min(), Some(60.0 * 1024.0));
            }
        }
        assert_eq!(watch.growth_per_min(), Some(60.0 * 1024.0));
        let reading = watch.reading().expect("a reading");
        assert_eq!(reading.live_bytes, 120 * 1024);
        assert_eq!(reading.allocs_per_sec, 1.0);
    }

    #[test]
    fn history_is_bounded_to_ten_minutes() {
        let mut watch = Watch::default();
        for s in 0..=700u64 {
            watch.push(&frame(s * 1000, Totals::default(), vec![]), 0);
        }
        let first = watch.history().front().expect("points").t_secs;
        assert!(first >= 100.0, "{first}");
    }
}
