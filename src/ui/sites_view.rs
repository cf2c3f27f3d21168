//! The allocation-sites view (`a`): the lines the running variant allocates on, measured by
//! the worker's capture windows ([`heaplab_experiments::sites`]), with the variant that ran
//! before it beside them as the ghost, so that switching from naive to optimized shows which
//! lines went to zero. ↑/↓ select a site, Enter shows its whole stack.
//!
//! The figures are the ones `heaplab bench --sites` prints: the same capture, the same
//! symbolization, the same per-operation division.

use std::fmt::Write as _;

use heaplab_experiments::sites::{Site, Sites};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap,
};

use super::app::App;
use super::source_view::per_op_text;
use super::theme::{ghost_color, variant_color};
use crate::units;

/// One line of the table: a site of the running variant, of the ghost, or of both.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow<'a> {
    /// The running variant's figures at this site (`None`: it never allocated here).
    pub now: Option<&'a Site>,
    /// The ghost's figures at this site.
    pub ghost: Option<&'a Site>,
}

impl SiteRow<'_> {
    fn site(&self) -> Option<&Site> {
        self.now.or(self.ghost)
    }
}

fn events(site: Option<&Site>) -> f64 {
    site.map_or(0.0, |s| s.allocs_per_op + s.reallocs_per_op)
}

/// The table's rows: every site of the running variant, then the ghost's sites it does not
/// share, each list by allocations and reallocations per operation.
#[must_use]
pub fn rows<'a>(now: Option<&'a Sites>, ghost: Option<&'a Sites>) -> Vec<SiteRow<'a>> {
    let same = |a: &Site, b: &Site| a.line == b.line && a.file == b.file;
    let mut rows: Vec<SiteRow> = now
        .map(|sites| {
            sites
                .sites
                .iter()
                .map(|site| SiteRow {
                    now: Some(site),
                    ghost: ghost.and_then(|g| g.sites.iter().find(|s| same(s, site))),
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(ghost) = ghost {
        for site in &ghost.sites {
            if !rows
                .iter()
                .any(|row| row.ghost.is_some_and(|g| same(g, site)))
            {
                rows.push(SiteRow {
                    now: None,
                    ghost: Some(site),
                });
            }
        }
    }
    rows.sort_by(|a, b| {
        events(b.now)
            .total_cmp(&events(a.now))
            .then(events(b.ghost).total_cmp(&events(a.ghost)))
    });
    rows
}

/// `1.00`, or `↻0.50` for a site that only reallocates, or `0` for none.
fn per_op(site: Option<&Site>) -> String {
    site.map_or_else(
        || "0".to_owned(),
        |s| per_op_text(s.allocs_per_op, s.reallocs_per_op),
    )
}

/// Draws the view for the running experiment (or says what to do to get one).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let [head, body, foot] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(2),
    ]));
    let Some(running) = app.running else {
        Line::from(" allocation sites · a or Esc closes".bold()).render(head, buf);
        Paragraph::new(
            "Nothing is running. Start an experiment (Enter on the dashboard): while this view \
             or the source view is open, its worker captures a window of whole operations \
             every second with every allocation's call stack, and the lines it allocates on \
             show here.",
        )
        .wrap(Wrap { trim: true })
        .render(body, buf);
        return;
    };
    let info = app.experiments[running.experiment].info();
    let now_sites = app.sites_of(info.id, running.variant);
    let ghost_variant = app.previous_variant.filter(|&v| v != running.variant);
    let ghost_sites = ghost_variant.and_then(|v| app.sites_of(info.id, v));
    let name = |v: usize| info.variants.get(v).map_or("?", |v| v.name);

    let mut title = vec![
        Span::raw(format!(" allocation sites · {} · ", info.id)).bold(),
        Span::raw(name(running.variant))
            .fg(variant_color(running.variant))
            .bold(),
    ];
    if let Some(g) = ghost_variant {
        title.push(Span::raw(" · ghost: "));
        title.push(Span::raw(name(g)).fg(ghost_color(g)));
    }
    title.push(Span::raw(" · ↑/↓ select · Enter stack · a or Esc closes"));
    Line::from(title).render(head, buf);

    let Some(now) = now_sites else {
        Paragraph::new(format!(
            "Capturing {}: its first window of sites comes within a second or two of it \
             running (setup and warm-up come first).",
            name(running.variant)
        ))
        .wrap(Wrap { trim: true })
        .render(body, buf);
        return;
    };
    let rows = rows(Some(now), ghost_sites);
    let selected = usize::from(app.workshop.scroll).min(rows.len().saturating_sub(1));
    let [table_area, stack_area] = body.layout(&Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(if app.workshop.stack_open && !rows.is_empty() {
            body.height / 2
        } else {
            0
        }),
    ]));
    render_table(
        app,
        &rows,
        (running.variant, ghost_variant),
        selected,
        table_area,
        buf,
    );
    if app.workshop.stack_open
        && let Some(site) = rows.get(selected).and_then(SiteRow::site)
    {
        let lines: Vec<Line> = site
            .stack
            .iter()
            .map(|frame| {
                if frame.starts_with('[') {
                    Line::from(frame.as_str().fg(Color::DarkGray))
                } else {
                    Line::from(frame.as_str())
                }
            })
            .collect();
        Paragraph::new(lines)
            .block(
                Block::bordered()
                    .border_type(BorderType::Rounded)
                    .title(format!(" stack of {} (innermost first) ", site.location())),
            )
            .render(stack_area, buf);
    }

    render_foot(now, foot, buf);
}

/// What the window was, and that its sites add up to it.
fn render_foot(now: &Sites, area: Rect, buf: &mut Buffer) {
    let sum = now.sites.iter().fold(0.0, |sum, s| sum + s.allocs_per_op);
    let mut text = format!(
        " {} ops captured: {:.2} allocs/op, {:.2} reallocs/op, {}/op; the sites add up to {:.2} allocs/op",
        now.ops,
        now.allocs_per_op,
        now.reallocs_per_op,
        units::bytes(now.bytes_per_op.round() as u64),
        sum
    );
    if now.unrecorded_per_op > 0.0 {
        let _ = write!(
            text,
            " ({:.2}/op found no room in the table)",
            now.unrecorded_per_op
        );
    }
    Paragraph::new(vec![
        Line::from(text),
        Line::from(
            " a window of whole operations every second, every allocation with its stack; \
             its time is in no figure"
                .fg(Color::DarkGray),
        ),
    ])
    .render(area, buf);
}

fn render_table(
    app: &App,
    rows: &[SiteRow],
    (variant, ghost): (usize, Option<usize>),
    selected: usize,
    area: Rect,
    buf: &mut Buffer,
) {
    let info = app.experiments[app.running.map_or(0, |r| r.experiment)].info();
    let name = |v: usize| info.variants.get(v).map_or("?", |v| v.name);
    let wide = area.width >= 110;
    let mut header = vec![
        Cell::from("line"),
        Cell::from(format!("{} allocs/op", name(variant))).fg(variant_color(variant)),
        Cell::from("bytes/op"),
        Cell::from("share"),
    ];
    if let Some(g) = ghost {
        header.push(Cell::from(format!("{} allocs/op", name(g))).fg(ghost_color(g)));
    }
    header.push(Cell::from("function"));
    let mut widths = vec![
        Constraint::Length(if wide { 40 } else { 28 }),
        Constraint::Length(name(variant).len() as u16 + 10),
        Constraint::Length(9),
        Constraint::Length(5),
    ];
    if let Some(g) = ghost {
        widths.push(Constraint::Length(name(g).len() as u16 + 10));
    }
    widths.push(Constraint::Fill(1));
    let table_rows: Vec<Row> = rows
        .iter()
        .map(|row| {
            let site = row.site();
            let went_to_zero = row.now.is_none();
            let mut cells = vec![
                Cell::from(site.map(Site::location).unwrap_or_default()),
                Cell::from(per_op(row.now)).style(if went_to_zero {
                    Style::new()
                        .fg(Color::LightGreen)
                        .add_modifier(Modifier::BOLD)
                } else {
                    Style::new().fg(variant_color(variant))
                }),
                Cell::from(
                    row.now
                        .map(|s| units::bytes(s.bytes_per_op.round() as u64))
                        .unwrap_or_default(),
                ),
                Cell::from(
                    row.now
                        .map(|s| format!("{:.0}%", s.share * 100.0))
                        .unwrap_or_default(),
                ),
            ];
            if let Some(g) = ghost {
                cells.push(Cell::from(per_op(row.ghost)).fg(ghost_color(g)));
            }
            cells.push(Cell::from(
                site.map(|s| short_function(&s.function))
                    .unwrap_or_default(),
            ));
            Row::new(cells)
        })
        .collect();
    let empty = rows.is_empty();
    let table = Table::new(table_rows, widths)
        .header(Row::new(header).add_modifier(Modifier::BOLD))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .title_bottom(if empty {
                    " no allocation in the window: this variant allocates on no line ".to_owned()
                } else {
                    format!(" {} sites ", rows.len())
                }),
        );
    let mut state = TableState::default().with_selected((!empty).then_some(selected));
    StatefulWidget::render(table, area, buf, &mut state);
}

/// A function's name without its crate's path: `string_processing::parse_owned` for
/// `heaplab_experiments::string_processing::parse_owned`.
fn short_function(name: &str) -> String {
    name.strip_prefix("heaplab_experiments::")
        .unwrap_or(name)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(line: u32, allocs: f64) -> Site {
        Site {
            function: format!("f{line}"),
            file: "src/a.rs".into(),
            line,
            allocs_per_op: allocs,
            reallocs_per_op: 0.0,
            bytes_per_op: allocs * 8.0,
            share: 0.5,
            stack: Vec::new(),
        }
    }

    #[test]
    fn the_ghosts_sites_that_went_to_zero_stay_in_the_table() {
        let naive = Sites {
            ops: 10,
            allocs_per_op: 3.0,
            sites: vec![site(10, 2.0), site(20, 1.0)],
            ..Sites::default()
        };
        let optimized = Sites {
            ops: 10,
            allocs_per_op: 1.0,
            sites: vec![site(20, 1.0)],
            ..Sites::default()
        };
        let rows = rows(Some(&optimized), Some(&naive));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].now.map(|s| s.line), Some(20));
        assert_eq!(rows[0].ghost.map(|s| s.line), Some(20));
        assert_eq!(rows[1].now, None, "line 10 went to zero");
        assert_eq!(rows[1].ghost.map(|s| s.line), Some(10));
        assert_eq!(per_op(rows[1].now), "0");
        assert_eq!(per_op(rows[0].now), "1.00");
    }
}
