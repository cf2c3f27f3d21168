//! `heaplab attach`'s view of a running program: its state ([`AttachView`]: what the frames
//! gave, frozen or not, the time window, the help overlay, the alerts crossed, the growing
//! sites), its keys (the dashboard's key table, those of its actions that apply here, and
//! attach's own) and the loop that owns the terminal ([`run`]). Drawing is in `draw` and
//! `growing`; the growing sites' state in `sites`.

mod draw;
mod event_loop;
mod growing;
mod sites;

pub use event_loop::{Ended, Options, run, screenshot};
pub use sites::{GROWTH_WINDOW, Sampling, SitesPane, SizesShown, StackShown};

use std::collections::HashMap;

use ratatui::crossterm::event::KeyEvent;

use super::app::WINDOWS_SECS;
use super::keys::{self, Action};
use crate::attach::alerts::Alert;
use crate::attach::figures::Watch;
use crate::attach::sites::PlaceStack;
use crate::monitor::protocol::{Frame, Hello, SitesFrame};

/// The window the view opens with: 60 s, as the dashboard's.
const DEFAULT_WINDOW: usize = 2;

/// The actions the attach view takes from the dashboard's key table, with its own words
/// for the help overlay.
pub const KEYS: [(Action, &str); 13] = [
    (
        Action::ToggleFreeze,
        "freeze the charts and table (the program runs on; again: live)",
    ),
    (
        Action::TogglePause,
        "the same as f: a watched program is never paused",
    ),
    (Action::WiderWindow, "widen the time window (up to 10 min)"),
    (
        Action::NarrowerWindow,
        "narrow the time window (down to 10 s)",
    ),
    (
        Action::ToggleGrowing,
        "growing sites: the lines whose live bytes grow (g again: the charts)",
    ),
    (
        Action::SelectPrevious,
        "growing sites: select the line above",
    ),
    (Action::SelectNext, "growing sites: select the line below"),
    (
        Action::StartStop,
        "growing sites: show or hide the selected line's stack",
    ),
    (
        Action::ScrollRight,
        "growing sites: show the stack, then unfold its std/dependency frames",
    ),
    (
        Action::ScrollLeft,
        "growing sites: fold the stack's frames again, then hide the stack",
    ),
    (
        Action::ToggleSizes,
        "growing sites: allocation sizes, the process's and the selected line's",
    ),
    (Action::ToggleHelp, "this help (Esc closes it)"),
    (
        Action::Quit,
        "detach and quit: the program runs on, unchanged",
    ),
];

/// One alert and what it has done so far.
#[derive(Debug, Clone)]
pub struct AlertState {
    /// The alert.
    pub alert: Alert,
    /// Its words while it is crossed.
    pub now: Option<String>,
    /// When it was first crossed, in seconds since attach.
    pub first_at: Option<f64>,
}

/// What a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Nothing this view knows.
    Ignored,
    /// The view changed: redraw.
    Changed,
    /// Detach.
    Quit,
}

/// Everything the attach view shows.
#[derive(Debug)]
pub struct AttachView {
    /// Who the program is.
    pub hello: Hello,
    watch: Watch,
    /// The figures as they were when `f` was pressed; frames still arrive into `watch`.
    frozen: Option<Watch>,
    window: usize,
    /// Whether the help overlay is open.
    pub help: bool,
    alerts: Vec<AlertState>,
    /// `NO_COLOR`: series told apart by marker too.
    pub no_color: bool,
    sites: SitesPane,
}

impl AttachView {
    /// A view of the program that said `hello`, judging `alerts`.
    #[must_use]
    pub fn new(hello: Hello, alerts: &[Alert]) -> Self {
        Self {
            hello,
            watch: Watch::default(),
            frozen: None,
            window: DEFAULT_WINDOW,
            help: false,
            alerts: alerts
                .iter()
                .map(|&alert| AlertState {
                    alert,
                    now: None,
                    first_at: None,
                })
                .collect(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            sites: SitesPane::default(),
        }
    }

    /// Takes a sites frame: its stacks placed by the program's symbols (read from its
    /// executable on the first frame), its lines ranked once for the draws to come.
    pub fn push_sites(&mut self, frame: &SitesFrame) {
        let threads = self.thread_names();
        let frozen = self.frozen();
        self.sites.push(frame, self.hello.pid, &threads, frozen);
    }

    /// [`AttachView::push_sites`], its stacks placed by `place`.
    pub fn push_sites_placed(&mut self, frame: &SitesFrame, place: &mut dyn PlaceStack) {
        let threads = self.thread_names();
        let frozen = self.frozen();
        self.sites.push_placed(frame, place, &threads, frozen);
    }

    /// The program's threads by kernel id, as the latest frame named them.
    fn thread_names(&self) -> HashMap<u32, String> {
        self.watch
            .threads()
            .into_iter()
            .map(|row| (row.tid, row.name.clone()))
            .collect()
    }

    /// The growing sites.
    #[must_use]
    pub fn sites(&self) -> &SitesPane {
        &self.sites
    }

    /// The growing sites, to show a ranking in (see [`SitesPane::show`]).
    pub fn sites_mut(&mut self) -> &mut SitesPane {
        &mut self.sites
    }

    /// Takes a frame and the program's RSS read with it; judges the alerts.
    pub fn push(&mut self, frame: &Frame, rss_bytes: u64) {
        let Some(point) = self.watch.push(frame, rss_bytes) else {
            return;
        };
        let reading = self.watch.reading().unwrap_or_default();
        for state in &mut self.alerts {
            state.now = state.alert.crossed(&reading);
            if state.now.is_some() {
                state.first_at.get_or_insert(point.t_secs);
            }
        }
    }

    /// What a key press does.
    pub fn key(&mut self, event: &KeyEvent) -> KeyOutcome {
        let Some(action) = keys::attach_action_for(event) else {
            return KeyOutcome::Ignored;
        };
        match action {
            Action::Quit => return KeyOutcome::Quit,
            Action::Back if self.help => self.help = false,
            Action::ToggleHelp => self.help = !self.help,
            Action::ToggleFreeze | Action::TogglePause => {
                self.frozen = match self.frozen.take() {
                    Some(_) => {
                        // What came while frozen is ranked now.
                        self.sites.refresh();
                        None
                    }
                    None => Some(self.watch.clone()),
                };
            }
            Action::ToggleGrowing => self.sites.open = !self.sites.open,
            Action::ToggleSizes if !self.sites.open => {
                self.sites.open = true;
                self.sites.sizes_shown = SizesShown::Shown;
            }
            Action::WiderWindow => self.window = (self.window + 1).min(WINDOWS_SECS.len() - 1),
            Action::NarrowerWindow => self.window = self.window.saturating_sub(1),
            _ if self.sites.open && !self.help => return self.sites.key(action),
            _ => return KeyOutcome::Ignored,
        }
        KeyOutcome::Changed
    }

    /// The figures shown: frozen, or live.
    #[must_use]
    pub fn shown(&self) -> &Watch {
        self.frozen.as_ref().unwrap_or(&self.watch)
    }

    /// Whether the charts are frozen.
    #[must_use]
    pub fn frozen(&self) -> bool {
        self.frozen.is_some()
    }

    /// The time window in seconds.
    #[must_use]
    pub fn window_secs(&self) -> f64 {
        WINDOWS_SECS[self.window]
    }

    /// The alerts and what each has done.
    #[must_use]
    pub fn alerts(&self) -> &[AlertState] {
        &self.alerts
    }
}

#[cfg(test)]
// Exact figures are the point of these tests, floats included.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use crate::monitor::protocol::{PROTOCOL, Totals};
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    fn hello() -> Hello {
        Hello {
            protocol: PROTOCOL,
            heaplab: "0.1.0".into(),
            pid: 1,
            program: "demo".into(),
            interval_ms: 1000,
            counting: true,
            sample_every: 0,
        }
    }

    fn press(view: &mut AttachView, c: char) -> KeyOutcome {
        view.key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn frame(at_ms: u64, live: u64) -> Frame {
        Frame {
            at_ms,
            totals: Totals {
                allocs: at_ms,
                bytes_allocated: live,
                ..Totals::default()
            },
            peak_live_bytes: live as i64,
            threads: vec![],
        }
    }

    #[test]
    fn freeze_keeps_the_figures_while_frames_arrive_and_keys_follow_the_dashboards_table() {
        let mut view = AttachView::new(hello(), &[]);
        view.push(&frame(0, 0), 0);
        view.push(&frame(1000, 100), 0);
        assert_eq!(press(&mut view, 'f'), KeyOutcome::Changed);
        view.push(&frame(2000, 200), 0);
        assert_eq!(view.shown().latest().expect("a point").live_bytes, 100);
        press(&mut view, 'f');
        assert_eq!(view.shown().latest().expect("a point").live_bytes, 200);
        assert_eq!(view.window_secs(), 60.0);
        press(&mut view, '+');
        assert_eq!(view.window_secs(), 120.0);
        press(&mut view, '-');
        press(&mut view, '-');
        assert_eq!(view.window_secs(), 30.0);
        press(&mut view, '?');
        assert!(view.help);
        assert_eq!(
            view.key(&KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
            KeyOutcome::Changed
        );
        assert!(!view.help);
        assert_eq!(press(&mut view, 'x'), KeyOutcome::Ignored);
        assert_eq!(press(&mut view, 'q'), KeyOutcome::Quit);
    }

    /// Places nothing: the book's own ranking of a frame without stacks is empty.
    struct Nowhere;

    impl PlaceStack for Nowhere {
        fn place(&mut self, _frames: &[u64]) -> crate::attach::sites::PlacedStack {
            crate::attach::sites::PlacedStack::default()
        }
    }

    #[test]
    fn g_opens_the_growing_sites_which_take_the_arrows_and_leave_the_window_keys() {
        let mut view = AttachView::new(hello(), &[]);
        let arrow = |view: &mut AttachView, code: KeyCode| {
            view.key(&KeyEvent::new(code, KeyModifiers::NONE))
        };
        assert_eq!(arrow(&mut view, KeyCode::Right), KeyOutcome::Ignored);
        press(&mut view, 'g');
        assert!(view.sites().open);
        assert_eq!(arrow(&mut view, KeyCode::Right), KeyOutcome::Changed);
        assert_eq!(view.sites().stack, StackShown::Folded);
        press(&mut view, '+');
        assert_eq!(view.window_secs(), 120.0, "+ still widens the window");
        press(&mut view, '?');
        arrow(&mut view, KeyCode::Esc);
        assert!(
            !view.help && view.sites().stack == StackShown::Folded,
            "Esc closed the help first"
        );
        arrow(&mut view, KeyCode::Esc);
        arrow(&mut view, KeyCode::Esc);
        assert!(!view.sites().open);
        press(&mut view, 'h');
        assert!(view.sites().open && view.sites().sizes_shown == SizesShown::Shown);
    }

    #[test]
    fn a_freeze_holds_the_ranking_until_it_ends() {
        let mut view = AttachView::new(hello(), &[]);
        let line = crate::attach::sites::GrowingSite {
            location: "src/main.rs:3".into(),
            ..Default::default()
        };
        view.sites_mut().show(vec![line], vec![]);
        press(&mut view, 'f');
        view.push_sites_placed(&SitesFrame::default(), &mut Nowhere);
        assert_eq!(
            view.sites().ranked().len(),
            1,
            "frozen: the ranking shown stays"
        );
        assert_eq!(view.sites().frames, 1, "the frame still went into the book");
        press(&mut view, 'f');
        assert!(view.sites().ranked().is_empty(), "live: the book's ranking");
    }

    #[test]
    fn an_alert_remembers_when_it_was_first_crossed() {
        let alert: Alert = "heap>150B".parse().expect("alert");
        let mut view = AttachView::new(hello(), &[alert]);
        view.push(&frame(0, 0), 0);
        view.push(&frame(1000, 100), 0);
        assert!(view.alerts()[0].now.is_none());
        view.push(&frame(2000, 200), 0);
        assert!(view.alerts()[0].now.is_some());
        assert_eq!(view.alerts()[0].first_at, Some(2.0));
    }
}
