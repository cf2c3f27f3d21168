//! The attach view's growing sites (`g`): the [`SiteBook`] the program's sites frames fold
//! into, the symbols that place their stacks (opened once, on the first frame; a failure is a
//! notice and stacks stay addresses), the ranking kept for drawing (made once per sites frame,
//! never per draw: the viewer's cost), and the pane's own state and keys (the selected line,
//! its stack open and unfolded, the sizes shown). Drawing is in `growing`.

use std::collections::HashMap;
use std::time::Duration;

use heaplab_experiments::sites::Frame;

use super::KeyOutcome;
use crate::attach::sites::{GrowingSite, PlaceStack, PlacedStack, SiteBook};
use crate::attach::symbols::{Symbols, SymbolsError};
use crate::monitor::protocol::SitesFrame;
use crate::ui::keys::Action;

/// Growth is judged over the last minute, as the live heap's growth alert.
pub const GROWTH_WINDOW: Duration = Duration::from_secs(60);

/// What places the program's stacks: its symbols, or, when they cannot be read, the raw
/// addresses (the ranking still works, by stack).
#[derive(Debug)]
enum Placer {
    Unopened,
    Symbols(Box<Symbols>),
    Addresses,
}

/// Names a stack by its addresses: what a stack is called when the program's executable
/// cannot be read.
struct Addresses;

impl PlaceStack for Addresses {
    fn place(&mut self, frames: &[u64]) -> PlacedStack {
        let names: Vec<String> = frames.iter().map(|a| format!("{a:#x}")).collect();
        PlacedStack {
            function: names.join(" "),
            file: String::new(),
            line: 0,
            stack: names
                .into_iter()
                .map(|function| Frame {
                    function,
                    file: String::new(),
                    line: 0,
                    folded: false,
                })
                .collect(),
        }
    }
}

/// The placer a [`Symbols::open`] gives, and the notice its failure leaves on screen.
fn placer(opened: Result<Symbols, SymbolsError>) -> (Placer, Option<String>) {
    match opened {
        Ok(symbols) => (Placer::Symbols(Box::new(symbols)), None),
        Err(e) => (
            Placer::Addresses,
            Some(format!(
                "stacks stay addresses: {e} (attach as the program's user, or as root)"
            )),
        ),
    }
}

/// The latest sites frame's sampling figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sampling {
    /// The mean gap in bytes between two sampled allocations of a thread (0: off).
    pub sample_every: u64,
    /// Sampled events so far.
    pub samples: u64,
    /// Sampled allocations whose free cannot be matched.
    pub untracked: u64,
    /// Sampled events whose stack found the table full.
    pub unrecorded: u64,
}

/// Which sizes the histogram shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SizesShown {
    /// None: the table and the stack have the room.
    #[default]
    Hidden,
    /// The process's and the selected line's, side by side.
    Shown,
}

/// How the selected line's stack shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StackShown {
    /// Not at all.
    #[default]
    Hidden,
    /// Its runs of std, dependency and heaplab frames one line each.
    Folded,
    /// Every frame.
    Unfolded,
}

/// The growing sites: the book, the ranking drawn, the pane's state.
#[derive(Debug)]
pub struct SitesPane {
    /// Whether the pane is shown (in place of the charts and the thread table).
    pub open: bool,
    book: SiteBook,
    placer: Placer,
    /// Why the program's symbols could not be read, if they could not.
    pub notice: Option<String>,
    /// Whether some of the program's own frames had no line tables.
    pub missing_line_tables: bool,
    ranked: Vec<GrowingSite>,
    sizes: Vec<f64>,
    /// The latest frame's sampling figures (zeros before the first).
    pub sampling: Sampling,
    /// Sites frames seen.
    pub frames: u64,
    /// When the frames within the window came, in ms on the program's clock.
    selected: usize,
    /// The selected line's location: the selection follows it when the ranking changes.
    selected_location: Option<String>,
    /// How the selected line's stack shows.
    pub stack: StackShown,
    /// Which sizes are shown.
    pub sizes_shown: SizesShown,
}

impl Default for SitesPane {
    fn default() -> Self {
        Self {
            open: false,
            book: SiteBook::new(GROWTH_WINDOW),
            placer: Placer::Unopened,
            notice: None,
            missing_line_tables: false,
            ranked: Vec::new(),
            sizes: Vec::new(),
            sampling: Sampling::default(),
            frames: 0,
            selected: 0,
            selected_location: None,
            stack: StackShown::Hidden,
            sizes_shown: SizesShown::Hidden,
        }
    }
}

impl SitesPane {
    /// Folds in one sites frame of process `pid`, its stacks placed by the program's symbols
    /// (opened now if this is the first frame); re-ranks unless `frozen`.
    pub fn push(
        &mut self,
        frame: &SitesFrame,
        pid: u32,
        threads: &HashMap<u32, String>,
        frozen: bool,
    ) {
        if matches!(self.placer, Placer::Unopened) {
            let (placer, notice) = placer(Symbols::open(pid));
            self.placer = placer;
            self.notice = notice;
        }
        let mut placer = std::mem::replace(&mut self.placer, Placer::Addresses);
        match &mut placer {
            Placer::Symbols(symbols) => {
                self.push_placed(frame, symbols.as_mut(), threads, frozen);
                self.missing_line_tables = symbols.missing_line_tables();
            }
            Placer::Unopened | Placer::Addresses => {
                self.push_placed(frame, &mut Addresses, threads, frozen);
            }
        }
        self.placer = placer;
    }

    /// Folds in one sites frame, its stacks placed by `place`; re-ranks unless `frozen`.
    pub fn push_placed(
        &mut self,
        frame: &SitesFrame,
        place: &mut dyn PlaceStack,
        threads: &HashMap<u32, String>,
        frozen: bool,
    ) {
        let name = |tid: u32| {
            threads
                .get(&tid)
                .cloned()
                .unwrap_or_else(|| tid.to_string())
        };
        self.book.update(frame, place, &name);
        self.frames += 1;
        self.sampling = Sampling {
            sample_every: frame.sample_every,
            samples: frame.samples,
            untracked: frame.untracked,
            unrecorded: frame.unrecorded,
        };
        if !frozen {
            self.refresh();
        }
    }

    /// Ranks the book again (once per sites frame, and on unfreezing).
    pub fn refresh(&mut self) {
        let ranked = self.book.growing();
        let sizes = self.book.sizes().to_vec();
        self.show(ranked, sizes);
    }

    /// Shows `ranked` lines and the process's `sizes`: what each frame's ranking ends with.
    /// The selection follows its line.
    pub fn show(&mut self, ranked: Vec<GrowingSite>, sizes: Vec<f64>) {
        self.ranked = ranked;
        self.sizes = sizes;
        let found = self.selected_location.as_ref().and_then(|location| {
            self.ranked
                .iter()
                .position(|site| &site.location == location)
        });
        self.select(found.unwrap_or(self.selected));
    }

    fn select(&mut self, index: usize) {
        self.selected = index.min(self.ranked.len().saturating_sub(1));
        self.selected_location = self.ranked.get(self.selected).map(|s| s.location.clone());
    }

    /// The lines ranked, growing first.
    #[must_use]
    pub fn ranked(&self) -> &[GrowingSite] {
        &self.ranked
    }

    /// The process's estimated allocations per size bucket.
    #[must_use]
    pub fn sizes(&self) -> &[f64] {
        &self.sizes
    }

    /// The selected line's index in [`SitesPane::ranked`].
    #[must_use]
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The selected line.
    #[must_use]
    pub fn selected_site(&self) -> Option<&GrowingSite> {
        self.ranked.get(self.selected)
    }

    /// Seconds between the window's first and last sites frame: what growth is over.
    #[must_use]
    pub fn span_secs(&self) -> f64 {
        self.book.span().as_secs_f64()
    }

    /// The window growth is judged over.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.book.window()
    }

    /// What a key does while the pane is open: ↑/↓ select a line, Enter shows or hides its
    /// stack, → shows it and then unfolds its folded frames, ← folds them and then hides it,
    /// `h` shows or hides the sizes, Esc hides the stack and then the pane.
    pub fn key(&mut self, action: Action) -> KeyOutcome {
        match action {
            Action::SelectPrevious => self.select(self.selected.saturating_sub(1)),
            Action::SelectNext => self.select(self.selected + 1),
            Action::StartStop => {
                self.stack = match self.stack {
                    StackShown::Hidden => StackShown::Folded,
                    StackShown::Folded | StackShown::Unfolded => StackShown::Hidden,
                };
            }
            Action::ScrollRight => {
                self.stack = match self.stack {
                    StackShown::Hidden => StackShown::Folded,
                    StackShown::Folded | StackShown::Unfolded => StackShown::Unfolded,
                };
            }
            Action::ScrollLeft => {
                self.stack = match self.stack {
                    StackShown::Unfolded => StackShown::Folded,
                    StackShown::Folded | StackShown::Hidden => StackShown::Hidden,
                };
            }
            Action::ToggleSizes => {
                self.sizes_shown = match self.sizes_shown {
                    SizesShown::Hidden => SizesShown::Shown,
                    SizesShown::Shown => SizesShown::Hidden,
                };
            }
            Action::Back if self.stack != StackShown::Hidden => self.stack = StackShown::Hidden,
            Action::Back => self.open = false,
            _ => return KeyOutcome::Ignored,
        }
        KeyOutcome::Changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(location: &str, growth: f64) -> GrowingSite {
        GrowingSite {
            location: location.into(),
            growth,
            ..GrowingSite::default()
        }
    }

    #[test]
    fn the_selection_follows_its_line_when_the_ranking_changes() {
        let mut pane = SitesPane::default();
        pane.show(vec![site("a.rs:1", 3.0), site("b.rs:2", 2.0)], vec![]);
        assert_eq!(pane.key(Action::SelectNext), KeyOutcome::Changed);
        assert_eq!(
            pane.selected_site().map(|s| s.location.as_str()),
            Some("b.rs:2")
        );
        pane.show(
            vec![
                site("b.rs:2", 9.0),
                site("c.rs:3", 2.0),
                site("a.rs:1", 1.0),
            ],
            vec![],
        );
        assert_eq!(
            pane.selected(),
            0,
            "b.rs:2 moved to the top, and so did the selection"
        );
        pane.show(vec![site("c.rs:3", 1.0)], vec![]);
        assert_eq!(
            pane.selected(),
            0,
            "held to the last line when its own is gone"
        );
        pane.key(Action::SelectNext);
        assert_eq!(pane.selected(), 0);
    }

    #[test]
    fn right_opens_then_unfolds_left_folds_then_closes_and_esc_closes_the_pane_last() {
        let mut pane = SitesPane {
            open: true,
            ..SitesPane::default()
        };
        pane.key(Action::ScrollRight);
        assert_eq!(pane.stack, StackShown::Folded);
        pane.key(Action::ScrollRight);
        assert_eq!(pane.stack, StackShown::Unfolded);
        pane.key(Action::ScrollLeft);
        assert_eq!(pane.stack, StackShown::Folded);
        pane.key(Action::ScrollLeft);
        assert_eq!(pane.stack, StackShown::Hidden);
        pane.key(Action::StartStop);
        assert_eq!(pane.stack, StackShown::Folded);
        pane.key(Action::Back);
        assert!(pane.stack == StackShown::Hidden && pane.open);
        pane.key(Action::Back);
        assert!(!pane.open);
        assert_eq!(pane.key(Action::ToggleSizes), KeyOutcome::Changed);
        assert_eq!(pane.sizes_shown, SizesShown::Shown);
        assert_eq!(pane.key(Action::Export), KeyOutcome::Ignored);
    }

    #[test]
    fn unreadable_symbols_leave_a_notice_and_stacks_named_by_their_addresses() {
        let (placer, notice) = placer(Err(SymbolsError::Read {
            path: "/proc/1/exe".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        }));
        assert!(matches!(placer, Placer::Addresses));
        let notice = notice.expect("a notice");
        assert!(notice.contains("/proc/1/exe"), "{notice}");
        let named = Addresses.place(&[0x10, 0x2a]);
        assert_eq!(named.location(), "0x10 0x2a");
        assert_eq!(named.stack.len(), 2);
        assert_eq!(named.stack[1].function, "0x2a");
    }

    #[test]
    fn growth_is_over_the_frames_within_the_window() {
        let mut pane = SitesPane::default();
        let names = HashMap::new();
        for at_ms in [1_000, 31_000, 61_000, 71_000] {
            let frame = SitesFrame {
                at_ms,
                sample_every: 65_536,
                samples: at_ms / 100,
                ..SitesFrame::default()
            };
            pane.push_placed(&frame, &mut Addresses, &names, false);
        }
        assert_eq!(pane.frames, 4);
        assert_eq!(pane.sampling.samples, 710);
        assert!(
            (pane.span_secs() - 40.0).abs() < 1e-9,
            "{}",
            pane.span_secs()
        );
    }
}
