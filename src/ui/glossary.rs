//! The help overlay (`?`): every key from the key table, then what every figure on screen
//! means, including why two memory figures that sound alike (live heap, RSS) differ. Scrolls
//! with ↑/↓ when the terminal is too short for all of it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

use super::fit;
use super::keys::{Action, BINDINGS, keys_label};
use super::view::{self, Outcome};

/// The column the keys and terms are right-aligned in.
const TERM_WIDTH: usize = 15;

/// Every figure heaplab shows, by the words it is shown with, and what it means.
pub const GLOSSARY: &[(&str, &str)] = &[
    (
        "allocs/op",
        "allocations (calls to alloc; reallocations are counted apart) per measured \
         operation, on the experiment's worker thread only; exact: 0.00 means none",
    ),
    (
        "bytes/op",
        "bytes the allocator handed out per operation, realloc growth included",
    ),
    (
        "ns/op",
        "wall time per measured operation: the median of the steady-state 100 ms intervals (a \
         run's first half second and pauses left out), ±: its 95% interval",
    ),
    (
        "counters",
        "the line under the table: the experiment's own counters for the running variant (pool \
         hits and misses, dropped buffers, cache hit rate), what its why tells you to watch",
    ),
    (
        "allocation rate",
        "allocations per second of the running variant (chart); the chart title is the latest",
    ),
    (
        "bytes allocated",
        "bytes allocated per second: how hard the allocator works, not how much is kept",
    ),
    (
        "live heap",
        "bytes the experiment's worker allocated and has not freed yet, above what it held \
         before setup: what the variant holds right now",
    ),
    (
        "worker heap",
        "chart of the worker's live heap per variant, with its peak dotted",
    ),
    (
        "peak heap",
        "the variant's highest live heap, setup included: its memory footprint",
    ),
    (
        "process heap",
        "live heap of the worker process the experiment runs in, summed from every thread's \
         counters (its sampler included; the dashboard is another process)",
    ),
    (
        "RSS",
        "resident set size: memory the OS maps for the process: heap, stacks, code, and pages \
         the allocator freed but kept. It moves in whole pages and seldom shrinks, so it runs \
         above the live heap and lags it: live heap is what the program holds, RSS what the \
         machine gives it",
    ),
    (
        "throughput",
        "operations per second of measured time (chart), and the experiment's work per second",
    ),
    (
        "processed",
        "the experiment's work per second in a unit that means the same work for every \
         variant: records, lookups, readings, or bytes every variant goes through alike",
    ),
    (
        "vs naive",
        "the panel's bottom line: allocations, speed (naive ns/op over this variant's) and the \
         change in peak heap, against the naive variant's latest figures",
    ),
    (
        "✔ 0 allocs/op",
        "the badge: the running variant has run at least 1000 operations after its warm-up \
         with no allocation at all; the count is how many so far",
    ),
    (
        "ghost",
        "a muted trace of a variant that ran before the current one, kept for comparison",
    ),
    (
        "heaplab: N",
        "the status line: what heaplab itself costs besides the experiment, allocations per \
         second and share of one core; none of it reaches the experiment's figures",
    ),
    (
        "window",
        "the time the charts span (+ and - change it); 'frozen' when f holds them",
    ),
    (
        "gutter",
        "source view: allocations per operation measured on the line (↻: reallocations only), \
         and bytes per operation on a wide pane; blank where nothing allocated. The same \
         capture as the a view and bench --sites",
    ),
    (
        "sites",
        "a view: each line the running variant allocates on, first frame in the experiment's \
         own code, from a window of whole operations captured every second with every \
         allocation's stack; allocs/op, bytes/op, share, and the variant before it as ghost",
    ),
    (
        "size, align",
        "layout inspector: size_of and align_of of the type; a field sits at an offset that is \
         a multiple of its own alignment, and the size is rounded up to the type's",
    ),
    (
        "░ padding",
        "layout inspector: bytes that belong to no field, left by alignment; 'a million' is \
         the inline size of a million values (heap blocks they own come on top)",
    ),
    (
        "met, NOT MET",
        "tour: the measured result against the chapter's target (heaplab scorecard's rules); \
         n/a where the experiment does not claim that target",
    ),
    (
        "big figure",
        "presenter mode: allocations against naive when naive allocates, else peak heap if \
         the experiment claims it, else speed",
    ),
];

/// An upper bound on the overlay's lines at any width, so that scrolling state stays near
/// what can be shown.
#[must_use]
pub fn max_lines() -> u16 {
    u16::try_from((BINDINGS.len() + GLOSSARY.len()) * 4 + 2).unwrap_or(u16::MAX)
}

/// The help overlay's own state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Help {
    /// Whether it is open (over whatever view is in front).
    pub open: bool,
    /// Lines scrolled down.
    pub scroll: u16,
}

impl Help {
    /// A key while the overlay is open: ↑/↓ scroll, `?` and Esc close it, and every other
    /// key but quit is kept from the views behind it, which the overlay hides.
    pub fn key(&mut self, action: Action) -> Outcome {
        match action {
            Action::SelectPrevious | Action::SelectNext => {
                let down = action == Action::SelectNext;
                self.scroll = view::step(self.scroll, down, max_lines());
            }
            Action::ToggleHelp | Action::Back => self.open = false,
            Action::Quit => return Outcome::Ignored,
            _ => {}
        }
        Outcome::Consumed
    }
}

/// Draws the help overlay over `area`, scrolled down by `scroll` lines.
pub fn render_help(scroll: u16, area: Rect, buf: &mut Buffer) {
    super::fit::cover();
    let width = 110.min(area.width.saturating_sub(2));
    let height = area.height.saturating_sub(2);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    Clear.render(popup, buf);
    // Each key's words and each meaning wrap under themselves, clear of the keys and terms,
    // and a column clear of the border.
    let room = usize::from(width.saturating_sub(2))
        .max(TERM_WIDTH + 12)
        .saturating_sub(TERM_WIDTH + 3);
    let indent = " ".repeat(TERM_WIDTH + 2);
    let mut lines: Vec<Line> = Vec::new();
    for b in BINDINGS {
        for (i, text) in fit::wrap(room, b.help).into_iter().enumerate() {
            lines.push(if i == 0 {
                Line::from(vec![
                    Span::raw(format!("{:>TERM_WIDTH$}  ", keys_label(b)))
                        .bold()
                        .fg(Color::LightYellow),
                    Span::raw(text),
                ])
            } else {
                Line::raw(format!("{indent}{text}"))
            });
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::from("what the figures mean").bold());
    for (term, meaning) in GLOSSARY {
        for (i, text) in fit::wrap(room, meaning).into_iter().enumerate() {
            lines.push(if i == 0 {
                Line::from(vec![
                    Span::raw(format!("{term:>TERM_WIDTH$}  ")).bold(),
                    Span::raw(text),
                ])
            } else {
                Line::raw(format!("{indent}{text}"))
            });
        }
    }
    // No further than the last line at the bottom.
    let last = lines
        .len()
        .saturating_sub(usize::from(height.saturating_sub(2)));
    let scroll = scroll.min(u16::try_from(last).unwrap_or(u16::MAX));
    Paragraph::new(lines)
        .scroll((scroll, 0))
        .block(
            Block::bordered()
                .border_type(BorderType::Double)
                .title(fit::longest_or_empty(
                    usize::from(width.saturating_sub(2)),
                    &[
                        " keys and figures · ↑/↓ scroll · Esc or ? closes ",
                        " keys and figures · Esc or ? closes ",
                        " keys and figures ",
                    ],
                )),
        )
        .render(popup, buf);
}
