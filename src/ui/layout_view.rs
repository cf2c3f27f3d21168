//! The layout inspector (`l`): each type an experiment compares, as a byte ruler (fields in
//! colour, padding shaded `░`), with its size, alignment, field offsets and what a million
//! values take. Every figure comes from [`Experiment::layouts`], which reads the compiler's
//! `size_of`, `align_of` and `offset_of!`; all rulers share one scale, so sizes compare by eye.

use heaplab_experiments::layout::TypeLayout;
use heaplab_experiments::{Experiment, ExperimentInfo};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget, Wrap};

use super::fit;
use super::keys::Action;
use super::theme::variant_color;
use super::view::{self, Outcome};
use crate::units;

/// The padding glyph: shaded, so it reads without colour too.
pub const PADDING: char = '░';

/// How many values the "a million of them" line counts.
pub const MILLION: u64 = 1_000_000;

/// Field colours, in order of offset: distinct from one another and from the padding.
const FIELD_COLORS: [Color; 6] = [
    Color::Indexed(24),
    Color::Indexed(28),
    Color::Indexed(94),
    Color::Indexed(54),
    Color::Indexed(30),
    Color::Indexed(88),
];

/// The lines of the inspector for `layouts`, `width` columns wide.
#[must_use]
pub fn lines(info: &ExperimentInfo, layouts: &[TypeLayout], width: u16) -> Vec<Line<'static>> {
    let largest = layouts.iter().map(|l| l.size).max().unwrap_or(1).max(1);
    // One scale for every ruler: as many columns per byte as the largest type allows.
    let cols_per_byte = (usize::from(width).saturating_sub(2) / largest).clamp(1, 6);
    let room = usize::from(width);
    let mut out = Vec::new();
    for layout in layouts {
        let variant = info.variant_index(layout.variant).unwrap_or(0);
        let head = format!(" {} {}", layout.variant, layout.name);
        let million = units::bytes(layout.bytes_for(MILLION));
        let (size, align, padding) = (layout.size, layout.align, layout.padding());
        let details = fit::longest_or_empty(
            room.saturating_sub(fit::width(&head)),
            &[
                format!("  {size} B, align {align}, {padding} B padding · a million: {million}"),
                format!("  {size} B, align {align}, {padding} B padding"),
                format!("  {size} B, align {align}"),
                format!("  {size} B"),
            ],
        );
        out.push(Line::from(vec![
            Span::raw(format!(" {} ", layout.variant))
                .fg(variant_color(variant))
                .bold(),
            Span::raw(layout.name).bold(),
            Span::raw(details),
        ]));
        out.push(ruler(layout, cols_per_byte));
        out.push(scale(layout, cols_per_byte));
        out.extend(legend(layout, room));
        if !layout.note.is_empty() {
            out.extend(
                fit::wrap(room.saturating_sub(3), layout.note)
                    .into_iter()
                    .map(|line| Line::from(format!("  {line}")).italic()),
            );
        }
        out.push(Line::raw(""));
    }
    if let [first, others @ ..] = layouts {
        let before = first.bytes_for(MILLION);
        for other in others {
            let after = other.bytes_for(MILLION);
            let change = (after as f64 / before as f64 - 1.0) * 100.0;
            let text = format!(
                "a million inline: {} {} → {} {}, {} ({change:+.0}%)",
                first.variant,
                units::bytes(before),
                other.variant,
                units::bytes(after),
                if after <= before {
                    format!("{} less", units::bytes(before - after))
                } else {
                    format!("{} more", units::bytes(after - before))
                }
            );
            out.extend(
                fit::wrap(room.saturating_sub(2), &text)
                    .into_iter()
                    .map(|line| Line::from(format!(" {line}")).bold()),
            );
        }
    }
    out
}

/// Each field's name in its colour with its type, offset and size, then the padding: as many
/// entries on a line as fit whole in `room`.
fn legend(layout: &TypeLayout, room: usize) -> Vec<Line<'static>> {
    let mut entries: Vec<Vec<Span<'static>>> = layout
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            vec![
                Span::styled(
                    format!(" {} ", field.name),
                    Style::new()
                        .bg(FIELD_COLORS[i % FIELD_COLORS.len()])
                        .fg(Color::White),
                ),
                Span::raw(format!(
                    " {} @{} ({} B)",
                    field.ty, field.offset, field.size
                )),
            ]
        })
        .collect();
    if layout.padding() > 0 {
        entries.push(vec![Span::raw(format!(
            "{PADDING} padding ({} B)",
            layout.padding()
        ))]);
    }
    let mut lines: Vec<Vec<Span<'static>>> = Vec::new();
    let mut used = 0;
    for entry in entries {
        let width: usize = entry.iter().map(Span::width).sum();
        // Two spaces apart, one space from the border.
        match lines.last_mut() {
            Some(line) if used + 2 + width <= room => {
                line.push(Span::raw("  "));
                line.extend(entry);
                used += 2 + width;
            }
            _ => {
                let mut line = vec![Span::raw(" ")];
                line.extend(entry);
                used = 1 + width;
                lines.push(line);
            }
        }
    }
    lines
        .into_iter()
        .map(|spans| {
            // Each packed line goes through the fitting, as every text does.
            let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
            match fit::longest(room, &[text.as_str()]) {
                Some(_) => Line::from(spans),
                None => Line::default(),
            }
        })
        .collect()
}

/// One row: each byte `cols_per_byte` cells, a field's cells in its colour with its name at
/// the start, padding shaded.
fn ruler(layout: &TypeLayout, cols_per_byte: usize) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    let mut at = 0;
    while at < layout.size {
        if let Some(i) = layout.field_at(at) {
            let field = &layout.fields[i];
            let cells = field.size * cols_per_byte;
            // The name where it fits whole; the legend below names every field.
            let mut text = fit::longest_or_empty(cells, &[field.name, ""]);
            while text.chars().count() < cells {
                let byte_start = text.chars().count().is_multiple_of(cols_per_byte);
                text.push(if byte_start { '▏' } else { ' ' });
            }
            spans.push(Span::styled(
                text,
                Style::new()
                    .bg(FIELD_COLORS[i % FIELD_COLORS.len()])
                    .fg(Color::White)
                    .add_modifier(Modifier::BOLD),
            ));
            at = field.offset + field.size;
        } else {
            let end = layout
                .fields
                .iter()
                .map(|f| f.offset)
                .find(|&o| o > at)
                .unwrap_or(layout.size);
            spans.push(Span::styled(
                PADDING.to_string().repeat((end - at) * cols_per_byte),
                Style::new().fg(Color::DarkGray),
            ));
            at = end;
        }
    }
    Line::from(spans)
}

/// Byte offsets under the ruler, at every multiple of the alignment that has room.
fn scale(layout: &TypeLayout, cols_per_byte: usize) -> Line<'static> {
    let mut text = String::from(" ");
    let step = layout.align.max(1);
    let mut offset = 0;
    while offset <= layout.size {
        let column = 1 + offset * cols_per_byte;
        let label = offset.to_string();
        if text.chars().count() <= column {
            while text.chars().count() < column {
                text.push(' ');
            }
            text.push_str(&label);
        }
        offset += step;
    }
    Line::from(text).fg(Color::Gray)
}

/// The inspector's own state: the types it shows and where it is scrolled to.
#[derive(Debug, Default)]
pub struct LayoutView {
    /// The experiment's types, read when the inspector opens.
    pub layouts: Vec<TypeLayout>,
    /// Lines scrolled down (drawing stops at the last line).
    pub scroll: u16,
}

impl LayoutView {
    /// Opens at the top, for `experiment`.
    pub fn open(&mut self, experiment: &dyn Experiment) {
        self.scroll = 0;
        self.prepare(experiment);
    }

    /// Reads `experiment`'s types: the compiler's figures, never drawn from a guess.
    pub fn prepare(&mut self, experiment: &dyn Experiment) {
        self.layouts = experiment.layouts();
    }

    /// ↑/↓ scroll by a line; the lines wrap, so there is nothing to scroll sideways.
    pub fn key(&mut self, action: Action) -> Outcome {
        match action {
            Action::SelectPrevious | Action::SelectNext => {
                let down = action == Action::SelectNext;
                self.scroll = view::step(self.scroll, down, view::UNBOUNDED);
                Outcome::Consumed
            }
            _ => Outcome::Ignored,
        }
    }
}

/// Draws the inspector for `info` into `area`, scrolled by `scroll` lines.
pub fn render(
    info: &ExperimentInfo,
    layouts: &[TypeLayout],
    scroll: u16,
    area: Rect,
    buf: &mut Buffer,
) {
    let id = info.id;
    let room = usize::from(area.width.saturating_sub(2));
    let block = Block::bordered().border_type(BorderType::Rounded).title(
        Line::from(fit::longest_or_empty(
            room,
            &[
                format!(
                    " layout · {id} · ▏ a byte, {PADDING} padding · real size_of, align_of, \
                     offset_of! · l or Esc closes "
                ),
                format!(" layout · {id} · ▏ a byte, {PADDING} padding · l or Esc closes "),
                format!(" layout · {id} · l or Esc closes "),
                format!(" layout · {id} "),
            ],
        ))
        .bold(),
    );
    let inner = block.inner(area);
    if layouts.is_empty() {
        Paragraph::new(
            fit::wrap(
                usize::from(inner.width.saturating_sub(1)),
                &format!(
                    "{id} compares no struct layouts. The inspector covers struct-layout, \
                     bit-packing, compact-collections and inline-storage: Esc, select one, then l."
                ),
            )
            .into_iter()
            .map(Line::raw)
            .collect::<Vec<_>>(),
        )
        .block(block)
        .render(area, buf);
        return;
    }
    let lines = lines(info, layouts, inner.width);
    let scroll = scroll.min(u16::try_from(lines.len().saturating_sub(1)).unwrap_or(u16::MAX));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .block(block)
        .render(area, buf);
}
