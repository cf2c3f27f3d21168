//! What keys do to the dashboard: [`App::key`] hands each key to the view in front (the
//! budget prompt, the help overlay, the open view, the tour's panel), each with its own state
//! and keys, and does itself only what none of them took: run control, the selection, the
//! time window, opening and closing views.

use ratatui::crossterm::event::KeyEvent;

use super::app::{App, Effect, Running, WINDOWS_SECS};
use super::glossary::Help;
use super::keys::{self, Action};
use super::sites_view::SitesView;
use super::tour::{Request, Tour, TourMode};
use super::view::Outcome;
use super::workshop::View;
use crate::runner::{Command, Phase};
use crate::units::{self, parse_budget};

/// The part of [`App`] keys change, compared before and after a key: the shared state, and
/// each view's position.
#[derive(Debug, PartialEq)]
struct OnScreen {
    selected: usize,
    running: Option<Running>,
    history: usize,
    stats_for: Option<usize>,
    window: usize,
    frozen_at: Option<f64>,
    compare_since: Option<f64>,
    help: Help,
    notice: Option<String>,
    quit: bool,
    budget: Option<u64>,
    budget_prompt: Option<String>,
    view: View,
    view_experiment: Option<&'static str>,
    source: (u16, u16),
    layout: u16,
    sites: SitesView,
    tour: Option<Tour>,
}

impl App {
    /// Takes a key pressed at `now`: text while the budget prompt is open, else the action
    /// it is bound to. Returns what the loop must do, and whether anything on screen changed
    /// (an unbound key, or `k` on the first experiment, changes nothing: no frame is drawn).
    pub fn key(&mut self, key: &KeyEvent, now: f64) -> (Vec<Effect>, bool) {
        let before = self.on_screen();
        let effects = if self.budget_prompt.is_open() {
            self.budget_key(key)
        } else if let Some(action) = keys::action_for(key) {
            self.handle(action, now)
        } else {
            return (Vec::new(), false);
        };
        let changed = !effects.is_empty() || self.on_screen() != before;
        (effects, changed)
    }

    /// What a key can change on screen, to tell whether it did.
    fn on_screen(&self) -> OnScreen {
        let workshop = &self.workshop;
        OnScreen {
            selected: self.selected,
            running: self.running,
            history: self.history.len(),
            stats_for: self.stats_for,
            window: self.window,
            frozen_at: self.frozen_at,
            compare_since: self.compare_since,
            help: self.help,
            notice: self.notice.clone(),
            quit: self.quit,
            budget: self.budget,
            budget_prompt: self.budget_prompt.typed().map(str::to_owned),
            view: workshop.view,
            view_experiment: workshop.view_experiment.map(|e| e.info().id),
            source: (workshop.source.scroll, workshop.source.hscroll),
            layout: workshop.layout.scroll,
            sites: workshop.sites,
            tour: workshop.tour.clone(),
        }
    }

    /// Applies a user action at time `now` (seconds since start).
    pub fn handle(&mut self, action: Action, now: f64) -> Vec<Effect> {
        let wanted = self.wants_sites();
        let mut effects = self.act(action, now);
        if self.wants_sites() != wanted && self.running.is_some() {
            effects.push(Effect::Send(Command::Sites(self.wants_sites())));
        }
        effects
    }

    /// Hands `action` to the view in front, as gitui's components take events: the help
    /// overlay (over everything), then the open view, then the tour's panel; what none of
    /// them takes is the dashboard's.
    fn act(&mut self, action: Action, now: f64) -> Vec<Effect> {
        self.now = now;
        // A notice lasts until the next key; the action may set a new one.
        self.notice = None;
        if self.help.open {
            return match self.help.key(action) {
                Outcome::Ignored => self.dashboard_key(action, now),
                Outcome::Consumed => Vec::new(),
            };
        }
        match self.workshop.key(action, self.experiments.len(), now) {
            Outcome::Ignored => self.dashboard_key(action, now),
            Outcome::Consumed => Vec::new(),
            Outcome::Request(request) => self.on_tour_request(request, now),
        }
    }

    /// The dashboard's own keys: what no view in front took.
    fn dashboard_key(&mut self, action: Action, now: f64) -> Vec<Effect> {
        match action {
            Action::ToggleSource | Action::ToggleLayout | Action::ToggleSites => {
                self.toggle_view(action);
            }
            Action::Export if self.stats.iter().all(Option::is_none) => {
                // An SVG of empty charts is no export.
                self.notice = Some(
                    "nothing to export yet: start an experiment (Enter) and let it run first"
                        .into(),
                );
            }
            Action::Export => return vec![Effect::Export],
            Action::ToggleTour => return self.toggle_tour(now),
            // A running tour takes these: here, none runs.
            Action::TourNext | Action::TourPrevious => {
                self.notice =
                    Some("no tour running: t starts one at the selected experiment".into());
            }
            Action::SelectPrevious => self.selected = self.selected.saturating_sub(1),
            Action::SelectNext => {
                self.selected = (self.selected + 1).min(self.experiments.len() - 1);
            }
            Action::StartStop => {
                return match self.running {
                    Some(r) if r.experiment == self.selected => {
                        self.running = None;
                        self.compare_since = None;
                        vec![Effect::Stop]
                    }
                    _ => self.start(self.selected, 0, now),
                };
            }
            Action::SwitchVariant => return self.switch_variant(now),
            Action::ToggleCompare => self.toggle_compare(now),
            Action::TogglePause => return self.toggle_pause(),
            Action::ToggleFreeze => {
                self.frozen_at = match self.frozen_at {
                    Some(_) => None,
                    None => Some(now),
                };
            }
            Action::ToggleFirstOp => self.first_op = !self.first_op,
            Action::WiderWindow => self.window = (self.window + 1).min(WINDOWS_SECS.len() - 1),
            Action::NarrowerWindow => self.window = self.window.saturating_sub(1),
            Action::SmallerWorkload => return self.resize(|size| size / 2),
            Action::LargerWorkload => return self.resize(|size| size.saturating_mul(2)),
            Action::ResetCharts => self.history.clear(),
            // The help overlay takes this key while it is open: here it opens.
            Action::ToggleHelp => self.help.open = true,
            Action::Back => self.back(),
            Action::SetBudget => self.budget_prompt.open(),
            // Only the source view scrolls sideways; elsewhere the arrows do nothing. The
            // dashboard's table never gives `heaplab attach`'s own keys.
            Action::ScrollLeft
            | Action::ScrollRight
            | Action::ToggleGrowing
            | Action::ToggleSizes => {}
            Action::Quit => {
                self.quit = true;
                if self.running.take().is_some() {
                    return vec![Effect::Stop];
                }
            }
        }
        Vec::new()
    }

    /// Esc, once the help overlay and the open view have closed what they hold (the sites
    /// view's stack): closes the view, and never quits: pressed once too often it must not
    /// end a session (q does, at once).
    fn back(&mut self) {
        if self.workshop.view == View::Dashboard {
            self.notice = Some("nothing to close: Esc closes views and overlays; q quits".into());
        } else {
            self.workshop.view = View::Dashboard;
        }
    }

    /// Opens or closes the view a key names: the source and layout views for the selected
    /// experiment, the sites view for the running one.
    fn toggle_view(&mut self, action: Action) {
        let (view, experiment) = match action {
            Action::ToggleSource => (View::Source, self.selected),
            Action::ToggleLayout => (View::Layout, self.selected),
            _ => (
                View::Sites,
                self.running.map_or(self.selected, |r| r.experiment),
            ),
        };
        self.workshop.toggle(view, self.experiments[experiment]);
    }

    fn toggle_compare(&mut self, now: f64) {
        self.compare_since = match self.compare_since {
            Some(_) => None,
            None if self.running.is_some() => Some(now),
            None => {
                self.notice = Some("start an experiment (Enter) to compare".into());
                None
            }
        };
    }

    pub(super) fn switch_variant(&mut self, now: f64) -> Vec<Effect> {
        let Some(running) = self.running.as_mut() else {
            self.notice =
                Some("nothing is running: press Enter to start the selected experiment".into());
            return Vec::new();
        };
        let count = self.experiments[running.experiment].info().variants.len();
        self.previous_variant = Some(running.variant);
        running.variant = (running.variant + 1) % count;
        running.phase = Phase::SettingUp;
        if self.compare_since.is_some() {
            self.compare_since = Some(now);
        }
        vec![Effect::Send(Command::SwitchVariant(running.variant))]
    }

    fn toggle_pause(&mut self) -> Vec<Effect> {
        let Some(running) = self.running.as_mut() else {
            self.notice =
                Some("nothing is running to pause: Enter starts the selected experiment".into());
            return Vec::new();
        };
        running.paused = !running.paused;
        vec![Effect::Send(if running.paused {
            Command::Pause
        } else {
            Command::Resume
        })]
    }

    fn resize(&mut self, change: impl Fn(usize) -> usize) -> Vec<Effect> {
        let Some(running) = self.running.as_mut() else {
            self.notice = Some(
                "nothing is running to resize: Enter starts the selected experiment, then [ and ] \
                 halve or double its workload"
                    .into(),
            );
            return Vec::new();
        };
        let info = self.experiments[running.experiment].info();
        let (min, max) = info.size_range;
        let size = change(running.size).clamp(min, max);
        if size == running.size {
            self.notice = Some(format!(
                "workload size stays {size}: {} accepts {min}..={max} ({})",
                info.id, info.size_unit
            ));
            return Vec::new();
        }
        // Said until the next key: at 80x24 the table's title has no room for the size.
        self.notice = Some(format!(
            "{}: size {} -> {size} {} (figures start again at this size)",
            info.id,
            running.size,
            info.size_unit.split(" (").next().unwrap_or(info.size_unit)
        ));
        running.size = size;
        running.phase = Phase::SettingUp;
        self.clear_per_op_figures();
        vec![Effect::Send(Command::SetSize(size))]
    }

    /// Starts a tour in `mode` at `step` (a catalog index): `t`, or `heaplab tour`.
    pub fn start_tour(&mut self, mode: TourMode, step: usize, now: f64) -> Vec<Effect> {
        self.workshop.tour = Some(Tour::new(mode, step, now));
        self.on_tour_request(Request::Start(step), now)
    }

    /// `t`: starts a tour at the selected experiment, or ends the one running.
    fn toggle_tour(&mut self, now: f64) -> Vec<Effect> {
        if self.workshop.tour.take().is_some() {
            Vec::new()
        } else {
            self.start_tour(TourMode::Manual, self.selected, now)
        }
    }

    /// Does what the tour asked.
    pub(super) fn on_tour_request(&mut self, request: Request, now: f64) -> Vec<Effect> {
        match request {
            Request::Start(step) => {
                let effects = self.start(step, 0, now);
                self.workshop.prepare(self.experiments[step]);
                effects
            }
            Request::SwitchVariant => self.handle(Action::SwitchVariant, now),
        }
    }

    /// A key while the budget prompt is open, handed to it; the text it closes with is
    /// applied.
    pub fn budget_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        match self.budget_prompt.key(key) {
            Outcome::Request(text) => self.apply_budget_text(&text),
            Outcome::Ignored | Outcome::Consumed => Vec::new(),
        }
    }

    /// Applies a typed budget: empty or `none` removes it; anything else must be a size.
    fn apply_budget_text(&mut self, text: &str) -> Vec<Effect> {
        let budget = match parse_budget(text) {
            Ok(budget) => budget,
            Err(message) => {
                self.notice = Some(message);
                return Vec::new();
            }
        };
        self.budget = budget;
        self.notice = Some(match budget {
            Some(bytes) => format!("memory budget {}", units::bytes(bytes)),
            None => "no memory budget".to_owned(),
        });
        if self.running.is_some() {
            vec![Effect::Send(Command::SetBudget(budget))]
        } else {
            Vec::new()
        }
    }
}
