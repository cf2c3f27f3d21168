//! The dashboard's state: what is selected and running, the bounded chart history, the latest
//! figures per variant. It changes only through messages (samples, actions, ticks) and answers
//! with [`Effect`]s for the event loop to carry out, so it runs in tests with no terminal and
//! no threads. What keys do is apart, in `actions.rs`: each key goes to the view in front.

use std::collections::VecDeque;
use std::sync::Arc;

use heaplab_experiments::compare::Speed;
use heaplab_experiments::sites::Sites;
use heaplab_experiments::{Experiment, VariantInfo};

use super::budget::{Prompt, over_budget_notice};
use super::glossary::Help;
use super::tour::Seen;
use super::workshop::{View, Workshop};
use crate::results::Claims;
use crate::runner::{Command, Phase, Sample};
use crate::session::{MEASURED_INTERVALS, Measured};

/// The time windows `+`/`-` step through, in seconds.
pub const WINDOWS_SECS: [f64; 6] = [10.0, 30.0, 60.0, 120.0, 300.0, 600.0];
/// The window the dashboard opens with (60 s).
const DEFAULT_WINDOW: usize = 2;
/// Compare mode switches variant this often.
pub const COMPARE_EVERY_SECS: f64 = 5.0;
/// Chart history: ten minutes of samples at 100 ms, with room to spare. The oldest points go
/// first, so the dashboard's memory stays flat however long it runs.
pub const HISTORY_CAPACITY: usize = 8192;

/// One point of chart history. Rates are `NaN` where there is no rate to show (the first
/// sample of a variant, setup, warm-up): no point is better than a made-up zero.
///
/// Not a [`Sample`]: the rates between two samples, taken once as they arrive, not at each frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Seconds since the dashboard started.
    pub t: f64,
    /// The variant that produced it.
    pub variant: usize,
    /// The runner epoch (a new one per variant switch or resize).
    pub epoch: u64,
    /// Allocations per second on the worker.
    pub allocs_per_sec: f64,
    /// Bytes allocated per second on the worker.
    pub alloc_bytes_per_sec: f64,
    /// The worker's live heap.
    pub live_heap_bytes: f64,
    /// The worker's peak heap in this epoch.
    pub peak_heap_bytes: f64,
    /// The process's live heap (every thread's counters summed).
    pub process_heap_bytes: f64,
    /// The process's RSS.
    pub process_rss_bytes: f64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Work done per second, in the experiment's unit (records, lookups, bytes).
    pub work_per_sec: f64,
}

/// A variant's speed test against naive is redone at most this often: its inputs (a minute
/// of intervals a side) change by one interval per sample, and a verdict that moves ten times
/// a second cannot be read anyway. The allocation and heap figures follow every sample.
pub const SPEED_TEST_EVERY_SECS: f64 = 1.0;

/// Intervals of a run's first half second of measuring are left out of its speed: caches
/// and the heap are still settling after a (re)start.
pub const STEADY_AFTER_SECS: f64 = 0.5;

/// The steady-state intervals kept per variant for its speed: a minute at 100 ms samples.
pub const SPEED_INTERVALS: usize = 600;

/// A variant's time per operation over its recent steady-state intervals: the median, with the
/// 95% interval of the median when there are enough intervals.
///
/// Not a [`crate::results::VariantRow`]: only the speed, redone as each interval arrives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeedFigure {
    /// Median ns/op over the intervals.
    pub ns_per_op: f64,
    /// Its 95% interval.
    pub ci95: Option<[f64; 2]>,
}

/// The experiment the dashboard is running.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Running {
    /// Index into the catalog.
    pub experiment: usize,
    /// The variant asked for last.
    pub variant: usize,
    /// The workload size asked for last.
    pub size: usize,
    /// What the worker reported it is doing.
    pub phase: Phase,
    /// Whether the user paused it.
    pub paused: bool,
}

/// What the event loop must do for the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Start a runner (stopping any other first).
    Start {
        /// Index into the catalog.
        experiment: usize,
        /// Variant index.
        variant: usize,
        /// Workload size.
        size: usize,
        /// The memory budget to run under.
        budget: Option<u64>,
        /// The user's input file, for the experiments that take one.
        input: Option<&'static std::path::Path>,
    },
    /// Send a command to the running runner.
    Send(Command),
    /// Stop the runner.
    Stop,
    /// Write the comparison as an SVG chart.
    Export,
}

/// What heaplab itself costs while it runs: every thread but the experiment's worker.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SelfCost {
    /// Allocations per second outside the worker (UI, sampler, input).
    pub allocs_per_sec: f64,
    /// CPU share of one core outside the worker, in percent.
    pub cpu_percent: f64,
}

/// The dashboard's state.
#[derive(Debug)]
pub struct App {
    /// The catalog, in chapter order.
    pub experiments: &'static [&'static dyn Experiment],
    /// The highlighted experiment.
    pub selected: usize,
    /// The experiment running, if any.
    pub running: Option<Running>,
    /// Chart history, oldest first, at most [`HISTORY_CAPACITY`] points.
    pub history: VecDeque<Point>,
    /// Figures per variant of `stats_for`: every run of the variant at this size, added up
    /// (so compare mode's short runs build up one figure per variant, as bench would measure
    /// one longer run).
    pub stats: Vec<Option<Sample>>,
    /// Per variant: the epoch its latest figures came from, and its figures before that epoch.
    earlier: Vec<(u64, Sample)>,
    /// The running variant's own counters (pool hits and misses, cache hit rate...), latest.
    pub counters: Vec<(String, f64)>,
    /// Per variant: ns/op of each steady-state interval (between two samples of one run, past
    /// its first [`STEADY_AFTER_SECS`], never across a pause), the latest [`SPEED_INTERVALS`].
    pub speed_intervals: Vec<VecDeque<f64>>,
    /// Per variant: its speed over those intervals, worked out when an interval arrives (so
    /// drawing does no statistics).
    speeds: Vec<Option<SpeedFigure>>,
    /// The experiment `stats` belong to.
    pub stats_for: Option<usize>,
    /// Each non-naive variant against naive, when both have figures.
    pub comparisons: Vec<Claims>,
    /// Per variant: its last speed test against naive and when it was made (`None` before
    /// the first), redone only when its intervals or naive's have changed, at most every
    /// [`SPEED_TEST_EVERY_SECS`].
    speed_tests: Vec<Option<(f64, Option<Speed>)>>,
    /// How many speed tests were made since the dashboard started: what the comparison has
    /// cost, which must grow with time at most, not with time times the intervals kept.
    speed_tests_made: u64,
    /// Index into [`WINDOWS_SECS`].
    pub window: usize,
    /// When the charts were frozen (seconds since start).
    pub frozen_at: Option<f64>,
    /// The numbers table shows each variant's first operation, cold, instead of its steady
    /// state (`o`).
    pub first_op: bool,
    /// Compare mode: when the variant was last switched.
    pub compare_since: Option<f64>,
    /// The help overlay (`?`).
    pub help: Help,
    /// Seconds since the dashboard started, as of the last message.
    pub now: f64,
    /// What heaplab itself costs.
    pub self_cost: SelfCost,
    /// A message for the user (a worker's error, a refused request).
    pub notice: Option<String>,
    /// Whether the dashboard should close.
    pub quit: bool,
    /// The memory budget for runs (`b` sets it): a variant is stopped past it.
    pub budget: Option<u64>,
    /// The `b` prompt, and the budget typed in it while it is open.
    pub budget_prompt: Prompt,
    /// A user's file for the experiments that take one.
    pub input: Option<&'static std::path::Path>,
    /// The workshop features' state (badge, views).
    pub workshop: Workshop,
    /// Per variant of `stats_for`: its latest window of allocation sites (`a`, `s`).
    pub sites: Vec<Option<Arc<Sites>>>,
    /// The variant that ran before the running one: its sites are the ghost beside the
    /// running variant's in the `a` view.
    pub previous_variant: Option<usize>,
    /// The variant other than naive that had a sample last: the verdict's subject while
    /// naive runs.
    last_other_variant: Option<usize>,
    /// What was measured before the figures on screen were last cleared, one entry per
    /// experiment, variant and size (bounded by the catalog's variants and the sizes tried).
    measured: Vec<Measured>,
    last_sample: Option<Sample>,
}

impl App {
    /// A dashboard over `experiments` with nothing running.
    #[must_use]
    pub fn new(experiments: &'static [&'static dyn Experiment]) -> Self {
        Self {
            experiments,
            selected: 0,
            running: None,
            history: VecDeque::with_capacity(HISTORY_CAPACITY),
            stats: Vec::new(),
            earlier: Vec::new(),
            speed_intervals: Vec::new(),
            speeds: Vec::new(),
            counters: Vec::new(),
            stats_for: None,
            comparisons: Vec::new(),
            speed_tests: Vec::new(),
            speed_tests_made: 0,
            window: DEFAULT_WINDOW,
            frozen_at: None,
            first_op: false,
            compare_since: None,
            help: Help::default(),
            now: 0.0,
            self_cost: SelfCost::default(),
            notice: None,
            quit: false,
            budget: None,
            budget_prompt: Prompt::default(),
            input: None,
            workshop: Workshop::default(),
            sites: Vec::new(),
            previous_variant: None,
            last_other_variant: None,
            measured: Vec::new(),
            last_sample: None,
        }
    }

    /// Whether the open view shows allocation sites (`a`, and the source view's gutters):
    /// the runner captures them only then.
    #[must_use]
    pub fn wants_sites(&self) -> bool {
        matches!(self.workshop.view, View::Sites | View::Source)
    }

    /// The latest sites of `variant` of the experiment whose figures are shown, if captured.
    #[must_use]
    pub fn sites_of(&self, experiment: &'static str, variant: usize) -> Option<&Sites> {
        let shown = self.stats_for.map(|e| self.experiments[e].info().id);
        if shown != Some(experiment) {
            return None;
        }
        self.sites.get(variant)?.as_deref()
    }

    /// Takes a window of sites the runner captured on `variant` of the running experiment.
    pub fn on_sites(&mut self, variant: usize, sites: Arc<Sites>) {
        if self.sites.len() <= variant {
            self.sites.resize(variant + 1, None);
        }
        self.sites[variant] = Some(sites);
    }

    /// The time window in seconds.
    #[must_use]
    pub fn window_secs(&self) -> f64 {
        WINDOWS_SECS[self.window]
    }

    /// The time span the charts show: `[end - window, end]`.
    #[must_use]
    pub fn chart_span(&self) -> (f64, f64) {
        // The newest sample is at "now", always: a new run grows leftwards from the right edge.
        let end = self.frozen_at.unwrap_or(self.now);
        (end - self.window_secs(), end)
    }

    /// The chart history between `start` and `end` (seconds since start), oldest first. The
    /// history is in time order, so the window is found by bisection: drawing costs what the
    /// window holds, not what ten minutes of history hold.
    pub fn history_between(&self, start: f64, end: f64) -> impl Iterator<Item = &Point> {
        let first = self.history.partition_point(|p| p.t < start);
        let last = self.history.partition_point(|p| p.t <= end);
        self.history.range(first..last.max(first))
    }

    /// The experiment the source or layout view shows: the one selected when it was opened.
    #[must_use]
    pub fn view_experiment(&self) -> &'static dyn Experiment {
        self.workshop
            .view_experiment
            .unwrap_or_else(|| self.experiments[self.selected])
    }

    /// The experiment whose figures are shown: the running one, else the selected one.
    #[must_use]
    pub fn shown_experiment(&self) -> &'static dyn Experiment {
        let index = self.running.map_or(self.selected, |r| r.experiment);
        self.experiments[index]
    }

    /// Starts `experiment` at `variant` with its default size (stopping any other).
    pub fn start(&mut self, experiment: usize, variant: usize, now: f64) -> Vec<Effect> {
        let size = self.experiments[experiment].info().default_size;
        self.start_sized(experiment, variant, size, now)
    }

    /// Starts `experiment` at `variant` and `size` (stopping any other): `heaplab run ID
    /// --size N`.
    pub fn start_sized(
        &mut self,
        experiment: usize,
        variant: usize,
        size: usize,
        now: f64,
    ) -> Vec<Effect> {
        self.now = now;
        self.selected = experiment;
        self.running = Some(Running {
            experiment,
            variant,
            size,
            phase: Phase::SettingUp,
            paused: false,
        });
        self.clear_figures();
        self.stats_for = Some(experiment);
        self.notice = None;
        vec![Effect::Start {
            experiment,
            variant,
            size,
            budget: self.budget,
            input: self.input,
        }]
    }

    /// Keeps what the figures on screen measured, before they are cleared.
    fn keep_measured(&mut self) {
        let measured = std::mem::take(&mut self.measured);
        self.measured = self.with_shown(measured);
    }

    /// Everything this session measured, whatever was cleared from the screen since: what
    /// quitting writes to the session file.
    #[must_use]
    pub fn session(&self) -> Vec<Measured> {
        self.with_shown(self.measured.clone())
    }

    /// `measured` with the figures on screen added: per experiment, variant and size, the
    /// samples added up and the intervals appended (the latest [`MEASURED_INTERVALS`] kept).
    fn with_shown(&self, mut measured: Vec<Measured>) -> Vec<Measured> {
        let Some(experiment) = self.stats_for else {
            return measured;
        };
        for (variant, sample) in self.stats.iter().enumerate() {
            let Some(sample) = *sample else { continue };
            let mut intervals = self.intervals(variant);
            match measured.iter_mut().find(|m| {
                m.experiment == experiment && m.variant == variant && m.sample.size == sample.size
            }) {
                Some(kept) => {
                    kept.sample = sample.after(&kept.sample);
                    kept.intervals.append(&mut intervals);
                    let over = kept.intervals.len().saturating_sub(MEASURED_INTERVALS);
                    kept.intervals.drain(..over);
                }
                None => measured.push(Measured {
                    experiment,
                    variant,
                    sample,
                    intervals,
                }),
            }
        }
        measured
    }

    /// Clears the per-operation figures when the workload size changes: figures of another
    /// size are not comparable (what they measured is kept first). The charts go on.
    pub(super) fn clear_per_op_figures(&mut self) {
        self.keep_measured();
        self.stats.clear();
        self.earlier.clear();
        self.speed_intervals.clear();
        self.speeds.clear();
        self.comparisons.clear();
        self.speed_tests.clear();
        self.workshop.streak = super::workshop::ZeroStreak::default();
    }

    fn clear_figures(&mut self) {
        self.keep_measured();
        self.history.clear();
        self.stats.clear();
        self.earlier.clear();
        self.speed_intervals.clear();
        self.speeds.clear();
        self.counters.clear();
        self.comparisons.clear();
        self.speed_tests.clear();
        self.last_sample = None;
        self.sites.clear();
        self.previous_variant = None;
        self.last_other_variant = None;
        self.workshop.streak = super::workshop::ZeroStreak::default();
    }

    /// Advances the clock: compare mode switches variants here.
    pub fn tick(&mut self, now: f64) -> Vec<Effect> {
        self.now = now;
        let request = self.workshop.tour.as_mut().and_then(|tour| {
            tour.tick(
                now,
                &Seen {
                    experiments: self.experiments,
                    running: self.running.map(|r| r.experiment),
                    stats: &self.stats,
                    intervals: &self.speed_intervals,
                    size: self.running.map_or(0, |r| r.size),
                },
            )
        });
        let mut effects = match request {
            Some(request) => self.on_tour_request(request, now),
            None => Vec::new(),
        };
        effects.extend(match self.compare_since {
            Some(since) if self.running.is_some() && now - since >= COMPARE_EVERY_SECS => {
                self.switch_variant(now)
            }
            _ => Vec::new(),
        });
        effects
    }

    /// Takes a sample from the runner, received at `now`.
    pub fn on_sample(&mut self, sample: Sample, now: f64) {
        self.now = now;
        let Some(running) = self.running.as_mut() else {
            return;
        };
        if self.experiments[running.experiment].info().id != sample.experiment {
            return; // a late sample from a runner already stopped
        }
        let was = running.phase;
        running.phase = sample.phase;
        if let Phase::OverBudget { live_bytes, after } = sample.phase
            && !matches!(was, Phase::OverBudget { .. })
        {
            self.notice = Some(over_budget_notice(&sample, live_bytes, after));
        }
        self.workshop.streak.on_sample(&sample);
        // Rates over the worker's measured time, as trace and bench compute them.
        let rates = self.last_sample.and_then(|p| sample.rates_since(&p));
        let steady = self
            .last_sample
            .is_some_and(|p| p.measured_for.as_secs_f64() >= STEADY_AFTER_SECS);
        if let Some(r) = rates.filter(|r| steady && r.ops_per_sec > 0.0) {
            let v = sample.variant_index;
            if self.speed_intervals.len() <= v {
                self.speed_intervals.resize_with(v + 1, VecDeque::new);
            }
            let intervals = &mut self.speed_intervals[v];
            if intervals.len() == SPEED_INTERVALS {
                intervals.pop_front();
            }
            intervals.push_back(1e9 / r.ops_per_sec);
            let intervals: Vec<f64> = intervals.iter().copied().collect();
            self.speeds.resize(self.speed_intervals.len(), None);
            self.speeds[v] = Some(SpeedFigure {
                ns_per_op: heaplab_experiments::stats::median(&intervals),
                ci95: heaplab_experiments::stats::median_ci(&intervals).map(|(l, h)| [l, h]),
            });
        }
        let rate = |pick: fn(&heaplab_experiments::measure::Rates) -> f64| {
            rates.as_ref().map_or(f64::NAN, pick)
        };
        if self.history.len() == HISTORY_CAPACITY {
            self.history.pop_front();
        }
        self.history.push_back(Point {
            t: now,
            variant: sample.variant_index,
            epoch: sample.epoch,
            allocs_per_sec: rate(|r| r.allocs_per_sec),
            alloc_bytes_per_sec: rate(|r| r.alloc_bytes_per_sec),
            live_heap_bytes: sample.live_heap_bytes.max(0) as f64,
            peak_heap_bytes: sample.peak_heap_bytes as f64,
            process_heap_bytes: sample.process_heap_bytes as f64,
            process_rss_bytes: sample.process_rss_bytes as f64,
            ops_per_sec: rate(|r| r.ops_per_sec),
            work_per_sec: rate(|r| r.work_per_sec),
        });
        if self.last_sample.is_some_and(|p| p.epoch != sample.epoch) {
            self.counters.clear(); // another run's counters
        }
        self.last_sample = Some(sample);

        // A stop over budget carries the run's last figures, its peak above all: the table,
        // the chart and the header then say the same peak.
        let over_budget = matches!(sample.phase, Phase::OverBudget { .. });
        if (sample.phase == Phase::Running || over_budget) && sample.ops > 0 {
            let variants = self.experiments[running.experiment].info().variants;
            let v = sample.variant_index;
            self.stats.resize(variants.len(), None);
            self.earlier.resize(variants.len(), (0, Sample::default()));
            if self.earlier[v].0 != sample.epoch {
                // A new run of this variant: what it measured so far is the base of the next.
                self.earlier[v] = (sample.epoch, self.stats[v].unwrap_or_default());
            }
            self.stats[v] = Some(sample.after(&self.earlier[v].1));
            if v != 0 {
                self.last_other_variant = Some(v);
            }
            self.compare_with_naive(v, variants, now);
        }
    }

    /// Brings each variant's comparison with naive up to date after a sample of `changed`.
    /// Only the pairs whose intervals changed are tested again, each at most every
    /// [`SPEED_TEST_EVERY_SECS`]: the cost per sample stays flat however long the run.
    fn compare_with_naive(&mut self, changed: usize, variants: &[VariantInfo], now: f64) {
        let Some(naive) = self.stats.first().copied().flatten() else {
            self.comparisons.clear();
            return;
        };
        self.speed_tests.resize(variants.len(), None);
        let mut naive_intervals = None;
        self.comparisons = (1..variants.len())
            .filter_map(|i| {
                let other = self.stats[i]?;
                let stale = match self.speed_tests[i] {
                    None => true,
                    Some((at, _)) => {
                        (changed == 0 || changed == i) && now - at >= SPEED_TEST_EVERY_SECS
                    }
                };
                if stale {
                    let naive_intervals = naive_intervals.get_or_insert_with(|| self.intervals(0));
                    let speed = Speed::between(naive_intervals, &self.intervals(i));
                    self.speed_tests[i] = Some((now, speed));
                    self.speed_tests_made += 1;
                }
                let speed = self.speed_tests[i].and_then(|(_, speed)| speed);
                Some(Claims::new(variants[i].name, &naive, &other, speed))
            })
            .collect();
    }

    /// Takes the experiment's own counters for `epoch` (ignored if another run replaced it).
    pub fn on_counters(&mut self, epoch: u64, counters: Vec<(String, f64)>) {
        if self.last_sample.is_some_and(|s| s.epoch == epoch) {
            self.counters = counters;
        }
    }

    /// Takes the worker's end.
    pub fn on_worker_exited(&mut self, experiment: &str, error: Option<String>) {
        // A worker that ends without an error was stopped on our request (Enter, quit, or a
        // restart of the same experiment, as the tour does): that echo must not stop the run
        // that replaced it.
        let Some(error) = error else {
            return;
        };
        let Some(running) = self.running else {
            return;
        };
        if self.experiments[running.experiment].info().id != experiment {
            return;
        }
        self.running = None;
        self.compare_since = None;
        self.notice = Some(format!("{experiment} stopped: {error}"));
    }

    /// Takes a new measurement of heaplab's own cost.
    pub fn on_self_cost(&mut self, cost: SelfCost) {
        self.self_cost = cost;
    }

    /// What the verdict line says: the running variant against naive (or, once stopped, the
    /// variant that ran last); with naive running, the variant that ran last before it, and
    /// `true` to say so. `None` until that variant has figures.
    #[must_use]
    pub fn verdict(&self) -> Option<(&Claims, bool)> {
        let current = match self.running {
            Some(running) => running.variant,
            None => self.last_sample?.variant_index,
        };
        let (variant, baseline_running) = if current == 0 {
            (self.last_other_variant?, self.running.is_some())
        } else {
            (current, false)
        };
        let name = self.variant_name(variant);
        let comparison = self.comparisons.iter().find(|c| c.variant == name)?;
        Some((comparison, baseline_running))
    }

    /// One word for what the run is doing, the same in every place that says it (the table's
    /// title, a chart's title when it shows no current rate): `paused`, `setting up`,
    /// `warming up`, `over budget`, `measuring`, or `stopped` when nothing runs.
    #[must_use]
    pub fn run_state(&self) -> &'static str {
        match self.running {
            None => "stopped",
            Some(r) if r.paused => "paused",
            Some(r) => match r.phase {
                Phase::SettingUp => "setting up",
                Phase::WarmingUp => "warming up",
                Phase::OverBudget { .. } => "over budget",
                Phase::Paused => "paused",
                Phase::Exited => "stopped",
                Phase::Running => "measuring",
            },
        }
    }

    /// How many speed tests (a variant's intervals against naive's) were made so far.
    #[must_use]
    pub fn speed_tests_made(&self) -> u64 {
        self.speed_tests_made
    }

    /// A variant's speed over its steady-state intervals (`None` before the first).
    #[must_use]
    pub fn speed(&self, variant: usize) -> Option<SpeedFigure> {
        self.speeds.get(variant).copied().flatten()
    }

    /// A variant's steady-state interval times (ns/op), oldest first (empty if none).
    #[must_use]
    pub fn intervals(&self, variant: usize) -> Vec<f64> {
        self.speed_intervals
            .get(variant)
            .map(|d| d.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The experiment's variant names.
    #[must_use]
    pub fn variant_name(&self, variant: usize) -> &'static str {
        self.shown_experiment()
            .info()
            .variants
            .get(variant)
            .map_or("?", |v| v.name)
    }
}
