//! The viewer's model of a watched program's sampled sites: each [`SitesFrame`] folded into
//! a [`SiteBook`] (stacks kept by id, placed once on a line of the program's own code, figures
//! summed per line, a bounded history of each line's live bytes), and ranked: the lines whose
//! live bytes grew over the window, leak suspects, apart from those that only churn
//! (temporaries), with the process's and each line's sizes.
//!
//! CONTRACT (issue 27): the types and signatures below are what the trace, the view and the
//! tests are built against; the bodies are this module's owner's to write.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use heaplab_experiments::sites::{Frame, SIZE_BUCKETS};

use crate::monitor::protocol::{SitesFrame, StackFrame};

/// Where one stack's allocations are charged: its first frame in the program's own code, and
/// the stack as people read it. Given by a [`PlaceStack`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlacedStack {
    /// The function of the site's frame (a closure named by its enclosing function).
    pub function: String,
    /// Its file, relative to the program's workspace (empty: no line tables, or no frame of
    /// the program's own).
    pub file: String,
    /// Its line (0: none).
    pub line: u32,
    /// The whole stack, outermost last, the allocator's own frames left out, frames that are
    /// not the program's own marked `folded`.
    pub stack: Vec<Frame>,
}

impl PlacedStack {
    /// `file:line`, or the function where there is no file: what a site is called on screen
    /// and what stacks are summed by.
    #[must_use]
    pub fn location(&self) -> String {
        if self.file.is_empty() {
            self.function.clone()
        } else {
            format!("{}:{}", self.file, self.line)
        }
    }
}

/// Turns a stack's raw addresses into a [`PlacedStack`]: the attached program's symbols
/// (`attach::symbols::Symbols`), or a fake in tests.
pub trait PlaceStack {
    /// Places one stack (absolute addresses in the program, innermost first).
    fn place(&mut self, frames: &[u64]) -> PlacedStack;

    /// One batch of stacks (a sites frame's) placed: the placer may let go of what it held
    /// for placing (the attached program's debug information, read again on demand).
    fn settle(&mut self) {}
}

/// The most points a line's history keeps, however fast sites frames come (a window of a
/// minute at the monitor's pace, a frame a second, needs 61): what bounds the book's memory
/// besides the program's own bounded table of stacks.
pub const MAX_POINTS: usize = 256;

/// What a stack is called when it could not be placed (no frames, or none resolved): by its
/// id, so that unplaced stacks stay apart rather than add up to one made-up line.
#[must_use]
pub fn unplaced(id: u32) -> String {
    format!("(unresolved stack {id})")
}

/// What the viewer knows of the program's sampled sites.
#[derive(Debug, Default)]
pub struct SiteBook {
    window: Duration,
    /// Every stack seen, by id.
    stacks: HashMap<u32, Stack>,
    /// Every line seen, in the order first seen.
    lines: Vec<Line>,
    /// Where each location is in `lines`.
    by_location: HashMap<String, usize>,
    /// The `at_ms` of the frames in the window, oldest first (every line's history has a
    /// point for each).
    times: VecDeque<u64>,
    /// The latest frame's process sizes.
    sizes: Vec<f64>,
    /// The latest frame's `(sample_every, samples, untracked, unrecorded)`.
    sampling: (u64, u64, u64, u64),
    /// Sites frames folded in so far.
    frames: u64,
}

/// One stack: where it was placed, and its latest figures.
#[derive(Debug)]
struct Stack {
    placed: PlacedStack,
    /// Its latest figures (its frames are not kept here: `placed` says what they are).
    figures: StackFrame,
    /// Its thread's name at its latest sample.
    thread: String,
    /// The book's frame count when its samples last rose (which stack of a line sampled last).
    changed: u64,
}

/// One line of the program's code: its stacks and the history of their sums.
#[derive(Debug)]
struct Line {
    location: String,
    /// The ids of its stacks.
    stacks: Vec<u32>,
    /// One point per frame in the window (as `SiteBook::times`).
    history: VecDeque<Point>,
}

/// A line's sums at one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Point {
    live_bytes: f64,
    live_variance: f64,
    allocs: f64,
}

/// One line of the program's code, as the growing view shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrowingSite {
    /// `file:line` (or the function).
    pub location: String,
    /// The site's function.
    pub function: String,
    /// The stack of the site's heaviest stack (by live bytes).
    pub stack: Vec<Frame>,
    /// The thread name (or id) of its latest sample.
    pub thread: String,
    /// Estimated bytes it still holds.
    pub live_bytes: f64,
    /// How much `live_bytes` grew over the window (negative: shrank).
    pub growth: f64,
    /// The standard error of `growth` as an estimate (from the sampling variance at both ends).
    pub growth_error: f64,
    /// Whether the growth is beyond sampling noise (over twice its error): a leak suspect.
    pub growing: bool,
    /// Estimated allocations, all time since sampling started.
    pub allocs: f64,
    /// Estimated allocations per second over the window (0 before it spans any time).
    pub allocs_per_sec: f64,
    /// Estimated bytes allocated, all time.
    pub bytes: f64,
    /// Estimated allocations freed within `TEMPORARY_NS` of being made, all time.
    pub temporary: f64,
    /// Its live bytes over the window, oldest first, one point per sites frame.
    pub trend: Vec<f64>,
    /// Estimated allocations per size bucket (`SIZE_BUCKETS` long).
    pub sizes: Vec<f64>,
}

impl SiteBook {
    /// An empty book judging growth over `window`.
    #[must_use]
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            ..Self::default()
        }
    }

    /// The window growth is judged over.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The time between the first and the last frame of the window that growth is judged
    /// over now (shorter than [`SiteBook::window`] until the viewer has watched that long).
    #[must_use]
    pub fn span(&self) -> Duration {
        match (self.times.front(), self.times.back()) {
            (Some(first), Some(last)) => Duration::from_millis(last.saturating_sub(*first)),
            _ => Duration::ZERO,
        }
    }

    /// Folds in one sites frame: new stacks placed with `place` (once each), every line's
    /// figures and history updated. `threads` names thread ids (from the latest [`Frame`]).
    ///
    /// [`Frame`]: crate::monitor::protocol::Frame
    pub fn update(
        &mut self,
        frame: &SitesFrame,
        place: &mut dyn PlaceStack,
        threads: &dyn Fn(u32) -> String,
    ) {
        self.frames += 1;
        self.sampling = (
            frame.sample_every,
            frame.samples,
            frame.untracked,
            frame.unrecorded,
        );
        self.sizes.clone_from(&frame.sizes);
        for sent in &frame.stacks {
            self.take_stack(sent, place, threads);
        }
        // Once a frame: a placer may let go of what it read to place stacks meanwhile.
        place.settle();
        self.times.push_back(frame.at_ms);
        for index in 0..self.lines.len() {
            let point = self.sum(index);
            self.lines[index].history.push_back(point);
        }
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        while let (Some(&first), Some(&last)) = (self.times.front(), self.times.back()) {
            if self.times.len() <= MAX_POINTS && first.saturating_add(window_ms) >= last {
                break;
            }
            self.times.pop_front();
            for line in &mut self.lines {
                line.history.pop_front();
            }
        }
    }

    /// One stack of a frame: its figures kept; placed, and its line found or begun, the first
    /// time it is seen.
    fn take_stack(
        &mut self,
        sent: &StackFrame,
        place: &mut dyn PlaceStack,
        threads: &dyn Fn(u32) -> String,
    ) {
        let frames = self.frames;
        if let Some(stack) = self.stacks.get_mut(&sent.id) {
            if sent.samples != stack.figures.samples || sent.tid != stack.figures.tid {
                stack.thread = threads(sent.tid);
                stack.changed = frames;
            }
            stack.figures = figures_of(sent);
            return;
        }
        // A stack's frames come the first time this viewer sees it; one that comes without
        // (never here, as the program sends them) is kept, unplaced, rather than lost.
        let placed = if sent.frames.is_empty() {
            PlacedStack::default()
        } else {
            place.place(&sent.frames)
        };
        let location = match placed.location() {
            location if location.is_empty() => unplaced(sent.id),
            location => location,
        };
        let line = if let Some(&line) = self.by_location.get(&location) {
            line
        } else {
            // A line first seen now held nothing sampled at the window's earlier frames.
            self.lines.push(Line {
                location: location.clone(),
                stacks: Vec::new(),
                history: self.times.iter().map(|_| Point::default()).collect(),
            });
            self.by_location.insert(location, self.lines.len() - 1);
            self.lines.len() - 1
        };
        self.lines[line].stacks.push(sent.id);
        self.stacks.insert(
            sent.id,
            Stack {
                placed,
                figures: figures_of(sent),
                thread: threads(sent.tid),
                changed: frames,
            },
        );
    }

    /// Line `index`'s sums now.
    fn sum(&self, index: usize) -> Point {
        self.stacks_of(index)
            .fold(Point::default(), |sum, stack| Point {
                live_bytes: sum.live_bytes + stack.figures.live_bytes,
                live_variance: sum.live_variance + stack.figures.live_variance,
                allocs: sum.allocs + stack.figures.allocs,
            })
    }

    fn stacks_of(&self, index: usize) -> impl Iterator<Item = &Stack> {
        self.lines[index]
            .stacks
            .iter()
            .filter_map(|id| self.stacks.get(id))
    }

    /// Every line, ranked: growing first by growth, then the rest by growth.
    #[must_use]
    pub fn growing(&self) -> Vec<GrowingSite> {
        let span_secs = self.span().as_secs_f64();
        let mut sites: Vec<GrowingSite> = (0..self.lines.len())
            .map(|index| self.site(index, span_secs))
            .collect();
        sites.sort_by(|a, b| {
            b.growing
                .cmp(&a.growing)
                .then(b.growth.total_cmp(&a.growth))
        });
        sites
    }

    /// Line `index` as the growing view shows it.
    fn site(&self, index: usize, span_secs: f64) -> GrowingSite {
        let line = &self.lines[index];
        let first = line.history.front().copied().unwrap_or_default();
        let last = line.history.back().copied().unwrap_or_default();
        let growth = last.live_bytes - first.live_bytes;
        let growth_error = (first.live_variance + last.live_variance).sqrt();
        let heaviest = self
            .stacks_of(index)
            .fold(None::<&Stack>, |best, stack| match best {
                Some(best) if best.figures.live_bytes >= stack.figures.live_bytes => Some(best),
                _ => Some(stack),
            });
        let latest = self
            .stacks_of(index)
            .fold(None::<&Stack>, |best, stack| match best {
                Some(best) if best.changed >= stack.changed => Some(best),
                _ => Some(stack),
            });
        let mut site = GrowingSite {
            location: line.location.clone(),
            function: heaviest
                .map(|s| s.placed.function.clone())
                .unwrap_or_default(),
            stack: heaviest.map(|s| s.placed.stack.clone()).unwrap_or_default(),
            thread: latest.map(|s| s.thread.clone()).unwrap_or_default(),
            live_bytes: last.live_bytes,
            growth,
            growth_error,
            growing: growth > 2.0 * growth_error,
            allocs_per_sec: if span_secs > 0.0 {
                (last.allocs - first.allocs) / span_secs
            } else {
                0.0
            },
            trend: line.history.iter().map(|point| point.live_bytes).collect(),
            sizes: vec![0.0; SIZE_BUCKETS],
            ..GrowingSite::default()
        };
        for stack in self.stacks_of(index) {
            site.allocs += stack.figures.allocs;
            site.bytes += stack.figures.bytes;
            site.temporary += stack.figures.temporary;
            for &(bucket, allocs) in &stack.figures.sizes {
                if let Some(sum) = site.sizes.get_mut(usize::from(bucket)) {
                    *sum += allocs;
                }
            }
        }
        site
    }

    /// The process's estimated allocations per size bucket (`SIZE_BUCKETS` long; empty
    /// before the first sites frame).
    #[must_use]
    pub fn sizes(&self) -> &[f64] {
        &self.sizes
    }

    /// The latest frame's sampling figures: `(sample_every, samples, untracked, unrecorded)`.
    #[must_use]
    pub fn sampling(&self) -> (u64, u64, u64, u64) {
        self.sampling
    }

    /// How many points of history the book holds, all lines together: what a long run must
    /// not grow (at most [`MAX_POINTS`] a line, and lines are the program's bounded stacks').
    #[must_use]
    pub fn history_points(&self) -> usize {
        self.lines.iter().map(|line| line.history.len()).sum()
    }
}

/// A stack's figures without its frames (they are placed once, and sent only the first time).
fn figures_of(sent: &StackFrame) -> StackFrame {
    StackFrame {
        frames: Vec::new(),
        ..sent.clone()
    }
}

#[cfg(test)]
// The figures compared are sums of small, exactly representable numbers: equal, not close.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    /// Places address `0x1000 * line + n` on `src/ingest.rs:line` in `ingest::line_LINE`,
    /// and counts its calls.
    #[derive(Default)]
    struct FakePlace {
        calls: usize,
    }

    impl PlaceStack for FakePlace {
        fn place(&mut self, frames: &[u64]) -> PlacedStack {
            self.calls += 1;
            let line = u32::try_from(frames[0] / 0x1000).expect("a small line");
            PlacedStack {
                function: format!("ingest::line_{line}"),
                file: "src/ingest.rs".into(),
                line,
                stack: vec![Frame {
                    function: format!("ingest::line_{line}"),
                    file: "src/ingest.rs".into(),
                    line,
                    folded: false,
                }],
            }
        }
    }

    fn name(tid: u32) -> String {
        format!("worker-{tid}")
    }

    fn stack(id: u32, address: u64, live_bytes: f64, live_variance: f64) -> StackFrame {
        StackFrame {
            id,
            frames: vec![address, 0x99_0000],
            tid: 7,
            samples: 1,
            allocs: 10.0,
            bytes: 1000.0,
            live_bytes,
            live_blocks: 1.0,
            live_variance,
            temporary: 2.0,
            sizes: vec![(6, 10.0)],
        }
    }

    fn frame(at_ms: u64, stacks: Vec<StackFrame>) -> SitesFrame {
        SitesFrame {
            at_ms,
            sample_every: 65_536,
            samples: 5,
            untracked: 0,
            unrecorded: 1,
            sizes: vec![2.0; SIZE_BUCKETS],
            stacks,
        }
    }

    /// A frame `s` seconds in, as the program sends it: frames only the first time.
    fn frame_at(s: u64, mut stacks: Vec<StackFrame>) -> SitesFrame {
        if s > 0 {
            for stack in &mut stacks {
                stack.frames.clear();
            }
        }
        frame(s * 1000, stacks)
    }

    #[test]
    fn a_line_growing_steadily_ranks_first_and_one_churning_within_noise_does_not_grow() {
        let mut book = SiteBook::new(Duration::from_secs(60));
        let mut place = FakePlace::default();
        for s in 0..30u64 {
            let t = s as f64;
            // Line 10 leaks 10 kB a second, known to about 1 kB.
            let leak = stack(1, 0x1000 * 10, 10_000.0 * t, 1e6);
            // Line 20, a cache: 500 kB, up and down by 10 kB, known to about 10 kB.
            let wobble = if s % 2 == 0 { 10_000.0 } else { -10_000.0 };
            let cache = stack(2, 0x1000 * 20, 500_000.0 + wobble, 1e8);
            // Line 30 shrinks.
            let shrink = stack(3, 0x1000 * 30, 300_000.0 - 1000.0 * t, 1e4);
            book.update(&frame_at(s, vec![cache, leak, shrink]), &mut place, &name);
        }
        let sites = book.growing();
        let locations: Vec<&str> = sites.iter().map(|s| s.location.as_str()).collect();
        assert_eq!(
            locations,
            ["src/ingest.rs:10", "src/ingest.rs:20", "src/ingest.rs:30"]
        );
        let leak = &sites[0];
        assert!(leak.growing, "{leak:?}");
        assert_eq!(leak.growth, 290_000.0);
        assert_eq!(leak.growth_error, 2e6_f64.sqrt());
        assert_eq!(leak.function, "ingest::line_10");
        assert_eq!(leak.trend.len(), 30);
        assert_eq!(leak.trend[1], 10_000.0);
        let cache = &sites[1];
        assert!(!cache.growing, "{cache:?}");
        assert!(cache.growth.abs() <= 20_000.0);
        assert!(!sites[2].growing && sites[2].growth < 0.0);
        assert_eq!(place.calls, 3, "each stack placed once");
        assert_eq!(book.span(), Duration::from_secs(29));
    }

    #[test]
    fn growth_is_judged_over_the_window_only() {
        let mut book = SiteBook::new(Duration::from_secs(10));
        let mut place = FakePlace::default();
        for s in 0..40u64 {
            // Grew for 20 s, then held still for 20 s: more than the window.
            let live = 1000.0 * s.min(20) as f64;
            book.update(
                &frame_at(s, vec![stack(1, 0x1000 * 5, live, 0.0)]),
                &mut place,
                &name,
            );
        }
        let site = &book.growing()[0];
        assert_eq!(site.growth, 0.0);
        assert!(!site.growing);
        assert_eq!(
            site.trend.len(),
            11,
            "the window's frames: 10 s a frame a second"
        );
        assert_eq!(book.span(), Duration::from_secs(10));
    }

    #[test]
    fn two_stacks_on_one_line_sum_and_the_heaviest_gives_the_stack() {
        let mut book = SiteBook::new(Duration::from_secs(60));
        let mut place = FakePlace::default();
        let mut heavy = stack(2, 0x1000 * 12 + 8, 300.0, 9.0);
        heavy.tid = 8;
        heavy.sizes = vec![(6, 1.0), (20, 4.0)];
        book.update(
            &frame_at(0, vec![stack(1, 0x1000 * 12, 100.0, 16.0), heavy]),
            &mut place,
            &name,
        );
        let sites = book.growing();
        assert_eq!(sites.len(), 1, "one line: {sites:?}");
        let site = &sites[0];
        assert_eq!(site.location, "src/ingest.rs:12");
        assert_eq!(site.live_bytes, 400.0);
        assert_eq!(
            (site.allocs, site.bytes, site.temporary),
            (20.0, 2000.0, 4.0)
        );
        assert_eq!(site.sizes.len(), SIZE_BUCKETS);
        assert_eq!((site.sizes[6], site.sizes[20]), (11.0, 4.0));
        assert_eq!(site.stack[0].line, 12);
        assert_eq!(book.sizes(), &[2.0; SIZE_BUCKETS][..]);
        assert_eq!(book.sampling(), (65_536, 5, 0, 1));
    }

    #[test]
    fn a_stack_sent_once_with_frames_and_later_without_still_counts() {
        let mut book = SiteBook::new(Duration::from_secs(60));
        let mut place = FakePlace::default();
        book.update(
            &frame_at(0, vec![stack(4, 0x1000 * 40, 100.0, 0.0)]),
            &mut place,
            &name,
        );
        let mut later = stack(4, 0x1000 * 40, 5000.0, 0.0);
        later.samples = 9;
        later.tid = 21;
        book.update(&frame_at(1, vec![later]), &mut place, &name);
        assert_eq!(place.calls, 1);
        let site = &book.growing()[0];
        assert_eq!(site.location, "src/ingest.rs:40");
        assert_eq!(site.live_bytes, 5000.0);
        assert_eq!(site.growth, 4900.0);
        assert!(site.growing, "no sampling error: any growth is growth");
        assert_eq!(site.thread, "worker-21", "the thread of its latest sample");
        assert_eq!(site.allocs_per_sec, 0.0, "the same estimated allocations");
    }

    #[test]
    fn a_line_first_seen_mid_window_grew_from_nothing() {
        let mut book = SiteBook::new(Duration::from_secs(60));
        let mut place = FakePlace::default();
        book.update(
            &frame_at(0, vec![stack(1, 0x1000, 10.0, 0.0)]),
            &mut place,
            &name,
        );
        let mut stacks = vec![stack(1, 0x1000, 10.0, 0.0), stack(2, 0x2000, 800.0, 0.0)];
        stacks[0].frames.clear();
        book.update(&frame(2000, stacks), &mut place, &name);
        let sites = book.growing();
        assert_eq!(sites[0].location, "src/ingest.rs:2");
        assert_eq!(sites[0].trend, [0.0, 800.0]);
        assert_eq!(sites[0].growth, 800.0);
        assert_eq!(sites[0].allocs_per_sec, 5.0, "10 allocations over 2 s");
    }

    #[test]
    fn a_stack_without_frames_is_kept_unplaced() {
        let mut book = SiteBook::new(Duration::from_secs(60));
        let mut place = FakePlace::default();
        let mut bare = stack(3, 0, 64.0, 0.0);
        bare.frames.clear();
        book.update(&frame(0, vec![bare]), &mut place, &name);
        assert_eq!(place.calls, 0);
        assert_eq!(book.growing()[0].location, "(unresolved stack 3)");
    }

    #[test]
    fn ten_thousand_frames_keep_the_book_bounded() {
        let mut place = FakePlace::default();
        // A frame a second for a window of a minute, and frames far faster than the window.
        for (step_ms, bound) in [(1000, 61), (1, MAX_POINTS)] {
            let mut book = SiteBook::new(Duration::from_secs(60));
            for s in 0..10_000u64 {
                let stacks = (0..4u32)
                    .map(|id| {
                        let mut one = stack(id, 0x1000 * u64::from(id + 1), s as f64, 1.0);
                        if s > 0 {
                            one.frames.clear();
                        }
                        one
                    })
                    .collect();
                book.update(&frame(s * step_ms, stacks), &mut place, &name);
            }
            assert_eq!(book.history_points(), 4 * bound, "step {step_ms} ms");
            let site = &book.growing()[0];
            assert_eq!(site.trend.len(), bound);
            assert_eq!(site.live_bytes, 9999.0);
        }
    }
}
