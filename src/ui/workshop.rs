//! State for the workshop features that sit beside the dashboard: the zero-allocation badge,
//! which view fills the screen (dashboard, source, layout inspector, sites) with each view's
//! own state, and the tour. Changed only through messages, like the rest of the dashboard's
//! state (`App`).

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use std::path::PathBuf;

use heaplab_experiments::Experiment;

use super::keys::Action;
use super::layout_view::LayoutView;
use super::sites_view::SitesView;
use super::source_view::SourceView;
use super::tour::{Request, Tour, TourMode};
use super::view::Outcome;
use crate::runner::{Phase, Sample};
use crate::units;

/// Operations a variant must run without a single allocation, after its warm-up, before the
/// badge shows: enough that "none" is a measurement, not a lucky first sample.
pub const ZERO_BADGE_MIN_OPS: u64 = 1000;

/// How long the running variant has gone without allocating, in operations, from samples:
/// Go's `testing.AllocsPerRun` as a live indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZeroStreak {
    epoch: u64,
    variant: usize,
    /// Per variant (the first eight): operations without an allocation in its earlier runs,
    /// so that a switch and back (compare mode) continues a streak instead of restarting it.
    carried: [u64; 8],
    allocs: u64,
    /// The operation count from which on no allocation was seen.
    since_ops: u64,
    ops: u64,
    running: bool,
}

impl ZeroStreak {
    /// Takes a sample of the running variant.
    pub fn on_sample(&mut self, sample: &Sample) {
        if sample.epoch != self.epoch {
            let mut carried = self.carried;
            if self.epoch != 0 {
                carried[self.variant.min(7)] = self.ops_without_alloc();
            }
            *self = Self {
                epoch: sample.epoch,
                variant: sample.variant_index,
                carried,
                ..Self::default()
            };
        }
        self.running = sample.phase == Phase::Running;
        if !self.running {
            return;
        }
        if sample.allocs != self.allocs {
            // The allocation happened somewhere before this sample's count: the streak can
            // only be claimed from here on.
            self.allocs = sample.allocs;
            self.since_ops = sample.ops;
            self.carried[self.variant.min(7)] = 0;
        }
        self.ops = sample.ops;
    }

    /// Measured operations since the last allocation (since the warm-up, if none).
    #[must_use]
    pub fn ops_without_alloc(&self) -> u64 {
        self.carried[self.variant.min(7)] + self.ops.saturating_sub(self.since_ops)
    }

    /// Whether the badge shows: running, and at least [`ZERO_BADGE_MIN_OPS`] operations
    /// without an allocation.
    #[must_use]
    pub fn earned(&self) -> bool {
        self.running && self.ops_without_alloc() >= ZERO_BADGE_MIN_OPS
    }

    /// The badge, if earned: `✔ 0 allocs/op for 12.3 M ops` (the operations since the last
    /// allocation, or since the warm-up).
    #[must_use]
    pub fn badge(&self) -> Option<Line<'static>> {
        self.earned().then(|| {
            Line::from(vec![
                Span::styled(
                    " ✔ 0 allocs/op ",
                    Style::new()
                        .fg(Color::Black)
                        .bg(Color::LightGreen)
                        .add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!("for {} ops ", units::count(self.ops_without_alloc() as f64)),
                    Style::new().fg(Color::LightGreen),
                ),
            ])
        })
    }
}

/// What fills the screen above the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Experiments, charts and numbers.
    #[default]
    Dashboard,
    /// The variants' source side by side (`s`).
    Source,
    /// The layout inspector (`l`).
    Layout,
    /// The running variant's allocation sites, the previous variant's beside them (`a`).
    Sites,
}

/// How the dashboard opens, as far as the workshop features go.
#[derive(Debug, Clone, Default)]
pub struct WorkshopOptions {
    /// `--record FILE`: every sample of the session, as CSV or JSON.
    pub record: Option<PathBuf>,
    /// `heaplab tour`: open with the guided tour running.
    pub tour: Option<TourMode>,
    /// `--presenter`: big figures, high contrast, fewer panels.
    pub presenter: bool,
    /// `NO_COLOR` is set: draw no colour at all.
    pub no_color: bool,
}

impl WorkshopOptions {
    /// The options the environment asks for: `NO_COLOR` (set and not empty, per no-color.org).
    #[must_use]
    pub fn from_env() -> Self {
        Self {
            no_color: crate::live::no_color(),
            ..Self::default()
        }
    }
}

/// What `heaplab screenshot --view` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ShotView {
    /// Naive, then the switch to optimized, on the charts.
    #[default]
    Dashboard,
    /// The source view, its gutters measured on both variants.
    Source,
    /// The allocation-sites view after the switch, the first variant as the ghost.
    Sites,
    /// The layout inspector.
    Layout,
    /// A tour step at its result.
    Tour,
    /// Presenter mode after the switch.
    Presenter,
}

impl ShotView {
    /// The name, as on the command line and in `assets/NAME.svg`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ShotView::Dashboard => "dashboard",
            ShotView::Source => "source",
            ShotView::Sites => "sites",
            ShotView::Layout => "layout",
            ShotView::Tour => "tour",
            ShotView::Presenter => "presenter",
        }
    }

    /// The keys the screenshot presses, each after a pause in seconds; `seconds` is how long
    /// each variant runs on the dashboard.
    #[must_use]
    pub fn script(self, seconds: f64) -> Vec<(f64, char)> {
        match self {
            // A 30 s window, so both variants' traces fill the chart.
            ShotView::Dashboard | ShotView::Presenter => {
                vec![(0.0, '-'), (seconds, ' '), (seconds, 'q')]
            }
            // Open at once, so the worker captures sites from its first second; switch once
            // the first variant's window is in, and wait for the second's.
            ShotView::Source => vec![(0.5, 's'), (2.5, ' '), (3.0, 'q')],
            ShotView::Sites => vec![(0.5, 'a'), (2.5, ' '), (3.0, 'q')],
            ShotView::Layout => vec![(1.0, 'l'), (0.5, 'q')],
            // The tour restarts the experiment: naive, optimized, then the result shows.
            ShotView::Tour => vec![
                (0.5, 't'),
                (
                    super::tour::NAIVE_SECS + super::tour::OPTIMIZED_SECS + 2.0,
                    'q',
                ),
            ],
        }
    }

    /// How the dashboard opens for it.
    #[must_use]
    pub fn options(self) -> WorkshopOptions {
        WorkshopOptions {
            presenter: self == ShotView::Presenter,
            ..WorkshopOptions::default()
        }
    }
}

/// The workshop's part of the dashboard state: which view is in front, and each view's own
/// state (its scroll, its content), so that no two views share a position.
#[derive(Debug, Default)]
pub struct Workshop {
    /// The running variant's allocation-free streak.
    pub streak: ZeroStreak,
    /// The view on screen.
    pub view: View,
    /// The experiment the source or layout view was opened for (the one selected then, which
    /// need not be the one running).
    pub view_experiment: Option<&'static dyn Experiment>,
    /// The source view (`s`).
    pub source: SourceView,
    /// The layout inspector (`l`).
    pub layout: LayoutView,
    /// The allocation-sites view (`a`).
    pub sites: SitesView,
    /// The guided tour, while it runs.
    pub tour: Option<Tour>,
    /// Presenter mode.
    pub presenter: bool,
    /// No colour at all (`NO_COLOR`).
    pub no_color: bool,
}

impl Workshop {
    /// Opens `view` for `experiment` (or closes it if it is already open).
    pub fn toggle(&mut self, view: View, experiment: &'static dyn Experiment) {
        if self.view == view {
            self.view = View::Dashboard;
            return;
        }
        self.view = view;
        self.view_experiment = Some(experiment);
        match view {
            View::Source => self.source.open(experiment.info()),
            View::Layout => self.layout.open(experiment),
            View::Sites => self.sites.open(),
            View::Dashboard => {}
        }
    }

    /// Prepares the open view's content for `experiment` (a tour step's): highlighting and
    /// reading layouts happen here, never while drawing. The view starts at its top, as a
    /// new step's why does.
    pub fn prepare(&mut self, experiment: &'static dyn Experiment) {
        self.view_experiment = Some(experiment);
        self.source.scroll = 0;
        self.layout.scroll = 0;
        self.sites.selected = 0;
        match self.view {
            View::Source => self.source.prepare(experiment.info()),
            View::Layout => self.layout.prepare(experiment),
            View::Sites | View::Dashboard => {}
        }
    }

    /// Hands a key to the open view, then to the tour's panel (which `count` experiments it
    /// steps among, at `now`); what neither takes is [`Outcome::Ignored`].
    pub fn key(&mut self, action: Action, count: usize, now: f64) -> Outcome<Request> {
        let outcome = match self.view {
            View::Source => self.source.key(action),
            View::Layout => self.layout.key(action),
            View::Sites => self.sites.key(action),
            View::Dashboard => Outcome::Ignored,
        };
        match (outcome, self.tour.as_mut()) {
            (Outcome::Ignored, Some(tour)) => tour.key(action, count, now),
            (Outcome::Ignored, None) => Outcome::Ignored,
            (Outcome::Consumed | Outcome::Request(_), _) => Outcome::Consumed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(epoch: u64, ops: u64, allocs: u64) -> Sample {
        Sample {
            variant: "optimized",
            variant_index: 1,
            epoch,
            phase: Phase::Running,
            ops,
            allocs,
            ..Sample::default()
        }
    }

    #[test]
    fn the_badge_needs_enough_operations_without_an_allocation() {
        let mut streak = ZeroStreak::default();
        streak.on_sample(&sample(1, 999, 0));
        assert!(!streak.earned(), "999 ops are not enough");
        streak.on_sample(&sample(1, 1000, 0));
        assert!(streak.earned());
        assert_eq!(streak.ops_without_alloc(), 1000);
        // One allocation: the streak restarts from that sample's count.
        streak.on_sample(&sample(1, 5000, 1));
        assert!(!streak.earned());
        streak.on_sample(&sample(1, 5999, 1));
        assert!(!streak.earned());
        streak.on_sample(&sample(1, 6000, 1));
        assert!(streak.earned());
        // Another variant starts from nothing, and setup or warm-up hides the badge.
        let mut warming = sample(2, 0, 0);
        warming.phase = Phase::WarmingUp;
        warming.variant_index = 0;
        streak.on_sample(&warming);
        assert!(!streak.earned());
        assert_eq!(streak.ops_without_alloc(), 0);
        // Back to the first variant (compare mode's switches): its streak goes on from 1000.
        let mut back = sample(3, 0, 0);
        back.phase = Phase::WarmingUp;
        streak.on_sample(&back);
        assert!(!streak.earned(), "warming up hides it");
        back.phase = Phase::Running;
        back.ops = 10;
        streak.on_sample(&back);
        assert!(streak.earned());
        assert_eq!(streak.ops_without_alloc(), 1010);
        // An allocation in the new run ends it.
        streak.on_sample(&sample(3, 20, 1));
        assert_eq!(streak.ops_without_alloc(), 0);
    }

    #[test]
    fn an_allocating_variant_never_earns_it() {
        let mut streak = ZeroStreak::default();
        for i in 1..100 {
            streak.on_sample(&sample(1, i * 1000, i));
            assert!(!streak.earned());
        }
    }
}
