//! The memory budget in the dashboard: the `b` prompt that sets it, and the words for a run
//! stopped over it.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget as _};

use super::fit;
use super::view::Outcome;
use crate::runner::Sample;
use crate::units;

/// The longest budget text the prompt takes.
const MAX_PROMPT_LEN: usize = 24;

/// The `b` prompt's own state: the text typed, while it is open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prompt {
    typed: Option<String>,
}

impl Prompt {
    /// Opens the prompt, empty: the budget in force is shown beside it as a hint, not as
    /// text to edit (typing `1MiB` after a `64` would have set 641 MiB).
    pub fn open(&mut self) {
        self.typed = Some(String::new());
    }

    /// The text typed, while the prompt is open.
    #[must_use]
    pub fn typed(&self) -> Option<&str> {
        self.typed.as_deref()
    }

    /// Whether the prompt is open (it then takes every key).
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.typed.is_some()
    }

    /// A key while the prompt is open: characters edit, Esc (or Ctrl-C) cancels, Enter
    /// closes it and asks for the text typed to be applied.
    pub fn key(&mut self, key: &KeyEvent) -> Outcome<String> {
        if key.kind == KeyEventKind::Release {
            return Outcome::Consumed;
        }
        let Some(text) = self.typed.as_mut() else {
            return Outcome::Ignored;
        };
        match key.code {
            KeyCode::Esc => self.typed = None,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.typed = None;
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if text.len() < MAX_PROMPT_LEN && !c.is_control() => text.push(c),
            KeyCode::Enter => return Outcome::Request(self.typed.take().unwrap_or_default()),
            _ => {}
        }
        Outcome::Consumed
    }
}

/// `bounded-cache naive stopped: its heap passed the budget at 64.1 MiB (67214336 bytes) after
/// 2.3 s and reached a peak of 66.0 MiB before the check that stopped it; its memory was
/// returned`: the crossing and the peak both, so that the notice and the heap chart (which
/// shows the peak, and 0 live once the memory is returned) say the same thing.
#[must_use]
pub fn over_budget_notice(sample: &Sample, live_bytes: u64, after: std::time::Duration) -> String {
    let peak = if sample.peak_heap_bytes > live_bytes {
        format!(
            " and reached a peak of {} before the check that stopped it",
            crate::units::bytes(sample.peak_heap_bytes)
        )
    } else {
        String::new()
    };
    format!(
        "{} {} stopped: its heap passed the budget at {} ({live_bytes} bytes) after {:.1} s{peak}; \
         its memory was returned (Space, [ ] or b to go on)",
        sample.experiment,
        sample.variant,
        crate::units::bytes(live_bytes),
        after.as_secs_f64()
    )
}

/// Draws the open budget prompt: a box in the middle of `area` with what is typed, the
/// budget in force, what is accepted, and how to cancel.
pub fn render_prompt(typed: &str, current: Option<u64>, area: Rect, buf: &mut Buffer) {
    super::fit::cover();
    let now = current.map_or_else(|| "none".to_owned(), units::bytes);
    // Inside the double border, with a column to spare on the right.
    let room = usize::from(area.width.saturating_sub(3));
    let hint = fit::longest_or_empty(
        room,
        &[
            format!(" now {now}; a size like 64MiB or 1GiB, empty for none"),
            format!(" now {now}; e.g. 64MiB, empty for none"),
            format!(" now {now}"),
        ],
    );
    let keys = fit::longest_or_empty(room, &[" Enter sets it · Esc cancels", " Enter · Esc"]);
    let lines = vec![
        Line::from(vec![
            Span::raw(" budget: ").bold(),
            Span::raw(typed.to_owned()).fg(Color::LightYellow),
            Span::raw("▏").fg(Color::LightYellow),
        ]),
        Line::from(hint).fg(Color::Gray),
        Line::from(keys).fg(Color::Gray),
    ];
    let width = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .saturating_add(3)
        .min(usize::from(area.width)) as u16;
    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    Clear.render(popup, buf);
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .border_type(BorderType::Double)
                .title(" memory budget ")
                .title_style(Style::new().bold()),
        )
        .render(popup, buf);
}
