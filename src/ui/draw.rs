//! Drawing the dashboard: a pure function of [`App`]. No channel, no sysinfo, no rate maths:
//! everything shown was computed when the message arrived.

use heaplab_experiments::{Section, WorkUnit};
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Paragraph, Row, Table, Widget, Wrap};

use super::app::App;
use super::charts::{fit, render_charts};
use super::keys::{BINDINGS, keys_label};
use super::theme::variant_color;
use super::workshop::View;
use super::{layout_view, sites_view, source_view};
use crate::runner::Phase;
use crate::units;

/// The smallest terminal the full layout fits in.
pub const MIN_WIDTH: u16 = 80;
/// The smallest terminal the full layout fits in.
pub const MIN_HEIGHT: u16 = 24;

const LIST_WIDTH: u16 = 34;
/// The list's width on narrow screens: the longest id, indented, between borders.
const NARROW_LIST_WIDTH: u16 = 23;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            render_too_small(area, buf);
            return;
        }
        // A notice gets lines of its own above the status line, wrapped, never cut.
        let notice_lines = self.notice.as_ref().map_or(0, |n| {
            textwrap::wrap(n, usize::from(area.width.max(1)))
                .len()
                .min(3) as u16
        });
        let [main, notice, status] = area.layout(&Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(notice_lines),
            Constraint::Length(1),
        ]));
        // Narrow screens: the list keeps the ids (23 columns), the table shows the variant.
        let list_width = if area.width < 100 {
            NARROW_LIST_WIDTH
        } else {
            LIST_WIDTH
        };
        let left_width = match self.workshop.tour {
            Some(_) => super::tour::panel_width(area.width, list_width),
            None => list_width,
        };
        let [left, right] = main.layout(&Layout::horizontal([
            Constraint::Length(left_width),
            Constraint::Fill(1),
        ]));
        // A row per variant (channel-pool has five) as far as the charts keep 9 rows.
        let variants = self.shown_experiment().info().variants.len() as u16;
        let counters = u16::from(!self.counters.is_empty());
        let numbers_height = (variants + 3 + counters)
            .min(right.height.saturating_sub(9))
            .max(5);
        let [charts, numbers] = right.layout(&Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(numbers_height),
        ]));
        match self.workshop.view {
            View::Dashboard if self.workshop.presenter => match &self.workshop.tour {
                Some(tour) => {
                    render_tour(self, tour, left, buf);
                    super::presenter::render(self, right, buf);
                }
                None => super::presenter::render(self, main, buf),
            },
            View::Dashboard => {
                match &self.workshop.tour {
                    Some(tour) => render_tour(self, tour, left, buf),
                    None => render_list(self, left, buf),
                }
                render_charts(self, charts, buf);
                render_numbers(self, numbers, buf);
            }
            View::Source => {
                let source = &self.workshop.source;
                if let Some(pane) = &source.pane {
                    let info = self.view_experiment().info();
                    let scroll = (source.scroll, source.hscroll);
                    let sites = |variant| self.sites_of(info.id, variant);
                    source_view::render(pane, info, scroll, &sites, main, buf);
                }
            }
            View::Sites => sites_view::render(sites_shown(self), self.workshop.sites, main, buf),
            View::Layout => layout_view::render(
                self.view_experiment().info(),
                &self.workshop.layout.layouts,
                self.workshop.layout.scroll,
                main,
                buf,
            ),
        }
        if let Some(text) = &self.notice {
            Paragraph::new(text.as_str())
                .wrap(Wrap { trim: true })
                .style(Style::new().fg(Color::LightYellow))
                .render(notice, buf);
        }
        render_status(self, status, buf);
        if let Some(typed) = self.budget_prompt.typed() {
            super::budget::render_prompt(typed, self.budget, area, buf);
        }
        if self.help.open {
            super::glossary::render_help(self.help.scroll, area, buf);
        }
        if self.workshop.no_color {
            strip_colors(area, buf);
        }
    }
}

/// `NO_COLOR`: every cell drawn without colour; bold, reversed and the glyphs still tell
/// things apart.
fn strip_colors(area: Rect, buf: &mut Buffer) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            if let Some(cell) = buf.cell_mut((x, y)) {
                cell.set_fg(Color::Reset).set_bg(Color::Reset);
            }
        }
    }
}

fn render_too_small(area: Rect, buf: &mut Buffer) {
    let text = format!(
        "heaplab needs {MIN_WIDTH}x{MIN_HEIGHT}; this terminal is {}x{}. Enlarge the window (q quits).",
        area.width, area.height
    );
    Paragraph::new(text)
        .wrap(Wrap { trim: true })
        .alignment(Alignment::Center)
        .render(area, buf);
}

/// What the sites view shows of the running experiment: its variant's sites, and the
/// ghost's (the variant that ran before it).
fn sites_shown(app: &App) -> Option<sites_view::Shown<'_>> {
    let running = app.running?;
    let info = app.experiments[running.experiment].info();
    let ghost_variant = app.previous_variant.filter(|&v| v != running.variant);
    Some(sites_view::Shown {
        info,
        variant: running.variant,
        ghost_variant,
        now: app.sites_of(info.id, running.variant),
        ghost: ghost_variant.and_then(|v| app.sites_of(info.id, v)),
    })
}

fn render_tour(app: &App, tour: &super::tour::Tour, area: Rect, buf: &mut Buffer) {
    super::tour::render(tour, app.experiments, app.now, area, buf);
}

fn render_list(app: &App, area: Rect, buf: &mut Buffer) {
    let mut lines = Vec::new();
    for section in Section::ALL {
        let members: Vec<(usize, _)> = app
            .experiments
            .iter()
            .enumerate()
            .filter(|(_, e)| e.info().section == section)
            .collect();
        if members.is_empty() {
            continue;
        }
        let room = usize::from(area.width.saturating_sub(2));
        lines.push(
            Line::from(super::fit::longest_or_empty(
                room,
                &[
                    format!("{} {}", section.code(), section.title()),
                    section.code().to_owned(),
                ],
            ))
            .bold(),
        );
        for (index, experiment) in members {
            let info = experiment.info();
            let marker = match app.running {
                Some(r) if r.experiment == index && r.paused => "‖ ",
                Some(r) if r.experiment == index => "▶ ",
                _ => "  ",
            };
            let room = usize::from(area.width.saturating_sub(2));
            let id = super::fit::longest_or_empty(room.saturating_sub(2), &[info.id]);
            let mut spans = vec![Span::raw(marker), Span::raw(id)];
            // The running variant beside its experiment, when it fits whole.
            if let Some(r) = app.running.filter(|r| r.experiment == index) {
                let name = app.variant_name(r.variant);
                let beside = room.saturating_sub(3 + info.id.len());
                if !super::fit::longest_or_empty(beside, &[name, ""]).is_empty() {
                    spans.push(Span::raw(" "));
                    spans.push(Span::raw(name).fg(variant_color(r.variant)));
                }
            }
            let mut line = Line::from(spans);
            if index == app.selected {
                line = line.add_modifier(Modifier::REVERSED);
            }
            lines.push(line);
        }
    }
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(" experiments ");
    Paragraph::new(lines).block(block).render(area, buf);
}

/// How much the numbers table shows: every level keeps each figure whole, and the first level
/// whose columns hold every header and cell (in one of its wordings) is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Density {
    /// Every column, long headers, throughput with the experiment's unit of work.
    Full,
    /// Short headers, ops/s alone.
    Compact,
    /// No bytes/op (the bytes chart and bench have it).
    Narrow,
    /// No ops/s either: it is ns/op the other way round.
    Tiny,
}

impl Density {
    const ALL: [Density; 4] = [
        Density::Full,
        Density::Compact,
        Density::Narrow,
        Density::Tiny,
    ];

    fn bytes_per_op(self) -> bool {
        matches!(self, Density::Full | Density::Compact)
    }
}

/// A variant's cells in the numbers panel, each as its wordings, longest first. Speed is over
/// the steady-state intervals, with its spread once there are enough of them; until there are
/// any, the run's figure so far.
fn variant_cells(
    app: &App,
    variant: usize,
    s: &crate::runner::Sample,
    work: WorkUnit,
    density: Density,
) -> Vec<Vec<String>> {
    if app.first_op {
        return first_op_cells(s, density);
    }
    let (ns, spread) = match app.speed(variant) {
        Some(speed) if speed.ci95.is_some() => (
            speed.ns_per_op,
            crate::report::spread_text(speed.ns_per_op, speed.ci95),
        ),
        Some(speed) => (speed.ns_per_op, String::new()),
        None => (s.ns_per_op(), String::new()),
    };
    let ops_per_sec = if ns > 0.0 { 1e9 / ns } else { 0.0 };
    let work_per_op = s.work as f64 / s.ops.max(1) as f64;
    // Whole digits past a microsecond: the decimal says nothing there, and the column is narrow.
    let ns = if ns >= 1000.0 {
        format!("{ns:.0}")
    } else {
        format!("{ns:.1}")
    };
    let mut cells = vec![vec![format!("{:.2}", s.allocs_per_op())]];
    if density.bytes_per_op() {
        let bytes = s.bytes_per_op();
        let short = units::bytes_short(bytes);
        cells.push(if bytes < 1e6 {
            vec![format!("{bytes:.0}"), short]
        } else {
            vec![short]
        });
    }
    // The spread goes before the figure does.
    cells.push(vec![format!("{ns} {spread}").trim_end().to_owned(), ns]);
    cells.push(vec![
        units::bytes(s.peak_heap_bytes),
        units::bytes_short(s.peak_heap_bytes as f64),
    ]);
    let ops = units::count(ops_per_sec);
    match density {
        // The work rate in the experiment's unit when the column has room for it whole.
        Density::Full => cells.push(vec![
            format!(
                "{ops} op/s · {}",
                units::work_rate(work.name(), ops_per_sec * work_per_op)
            ),
            format!("{ops} op/s"),
        ]),
        Density::Compact | Density::Narrow => cells.push(vec![ops]),
        Density::Tiny => {}
    }
    cells
}

/// A variant's cells when the table shows first operations (`o`): the counts, bytes and time
/// of its latest setup's first operation, cold, in the columns of the steady state's per-op
/// figures (`11 +2r` for 11 allocations and 2 reallocations); the peak and throughput stay the
/// run's. `–` before the first operation has run.
fn first_op_cells(s: &crate::runner::Sample, density: Density) -> Vec<Vec<String>> {
    let dash = || vec!["–".to_owned()];
    let first = s.first_op;
    let mut cells = vec![first.map_or_else(dash, |f| {
        if f.reallocs > 0 {
            vec![
                format!("{} +{}r", f.allocs, f.reallocs),
                f.allocs.to_string(),
            ]
        } else {
            vec![f.allocs.to_string()]
        }
    })];
    if density.bytes_per_op() {
        cells.push(first.map_or_else(dash, |f| {
            let bytes = f.bytes_allocated as f64;
            vec![format!("{bytes:.0}"), units::bytes_short(bytes)]
        }));
    }
    cells.push(first.map_or_else(dash, |f| vec![f.ns.to_string()]));
    cells.push(vec![
        units::bytes(s.peak_heap_bytes),
        units::bytes_short(s.peak_heap_bytes as f64),
    ]);
    if density != Density::Tiny {
        cells.push(vec![units::count(s.ops_per_sec())]);
    }
    cells
}

/// The numbers table's headers at `density`.
fn table_headers(density: Density) -> &'static [&'static str] {
    match density {
        Density::Full => &[
            "variant",
            "allocs/op",
            "bytes/op",
            "ns/op",
            "peak heap",
            "throughput",
        ],
        Density::Compact => &["variant", "allocs/op", "bytes/op", "ns/op", "peak", "ops/s"],
        Density::Narrow => &["variant", "allocs/op", "ns/op", "peak", "ops/s"],
        Density::Tiny => &["variant", "allocs/op", "ns/op", "peak"],
    }
}

/// The numbers table's columns at `density`; the last one takes what is left.
fn table_widths(name_width: u16, density: Density) -> Vec<Constraint> {
    match density {
        Density::Full => vec![
            Constraint::Length(name_width + 1),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(14),
            Constraint::Length(11),
            Constraint::Fill(1),
        ],
        Density::Compact => vec![
            Constraint::Length(name_width),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(11),
            Constraint::Length(9),
            Constraint::Fill(1),
        ],
        Density::Narrow => vec![
            Constraint::Length(name_width),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(9),
            Constraint::Fill(1),
        ],
        Density::Tiny => vec![
            Constraint::Length(name_width),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Fill(1),
        ],
    }
}

/// Each column's room for text: the last one keeps a space before the border.
fn cell_rooms(widths: &[Constraint], table_width: u16) -> Vec<usize> {
    let mut rooms = super::fit::table_columns(widths, table_width.saturating_sub(2));
    if let Some(last) = rooms.last_mut() {
        *last = last.saturating_sub(1);
    }
    rooms
}

/// What the run is doing, for the table's title: in full and short.
fn phase_words(app: &App) -> (String, String) {
    match app.running {
        Some(r) if r.paused => (" · paused".to_owned(), " · paused".to_owned()),
        Some(r) => match r.phase {
            Phase::SettingUp => (" · setting up".to_owned(), " · setting up".to_owned()),
            Phase::WarmingUp => (" · warming up".to_owned(), " · warming up".to_owned()),
            Phase::OverBudget { live_bytes, after } => (
                format!(
                    " · OVER BUDGET at {} after {:.1} s, memory returned",
                    units::bytes(live_bytes),
                    after.as_secs_f64()
                ),
                format!(" · OVER BUDGET at {}", units::bytes(live_bytes)),
            ),
            Phase::Running | Phase::Paused | Phase::Exited => (String::new(), String::new()),
        },
        None => (
            " · stopped (Enter starts)".to_owned(),
            " · stopped".to_owned(),
        ),
    }
}

/// The numbers table's header, rows and columns for the variants `shown`, in a table
/// `width` wide: the fullest table whose every header and cell fits its column whole.
fn numbers_body(
    app: &App,
    shown: std::ops::Range<usize>,
    width: u16,
) -> (Row<'static>, Vec<Row<'static>>, Vec<Constraint>) {
    let info = app.shown_experiment().info();
    let name_width = info
        .variants
        .iter()
        .map(|v| v.name.len())
        .max()
        .unwrap_or(7)
        .max(7) as u16;
    let cells_at = |density: Density| -> Vec<Vec<Vec<String>>> {
        shown
            .clone()
            .map(|i| {
                let mut cells = vec![vec![info.variants[i].name.to_owned()]];
                match app.stats.get(i).copied().flatten() {
                    Some(s) => cells.extend(variant_cells(app, i, &s, info.work_unit, density)),
                    None => cells.push(vec!["–".to_owned()]),
                }
                cells
            })
            .collect()
    };
    // The fullest table whose every header and cell fits its column whole.
    let fits_whole = |rooms: &[usize], texts: &[Vec<String>]| {
        texts
            .iter()
            .zip(rooms)
            .all(|(wordings, room)| wordings.iter().any(|w| super::fit::width(w) <= *room))
    };
    let (density, rows) = Density::ALL
        .into_iter()
        .map(|density| (density, cells_at(density)))
        .find(|(density, rows)| {
            let rooms = cell_rooms(&table_widths(name_width, *density), width);
            let headers: Vec<Vec<String>> = table_headers(*density)
                .iter()
                .map(|h| vec![(*h).to_owned()])
                .collect();
            fits_whole(&rooms, &headers) && rows.iter().all(|row| fits_whole(&rooms, row))
        })
        .unwrap_or_else(|| (Density::Tiny, cells_at(Density::Tiny)));
    let widths = table_widths(name_width, density);
    let rooms = cell_rooms(&widths, width);
    let header = Row::new(
        table_headers(density)
            .iter()
            .zip(&rooms)
            .map(|(h, room)| Cell::from(super::fit::longest_or_empty(*room, &[*h])).bold()),
    );
    let rows: Vec<Row> = rows
        .iter()
        .zip(shown.clone())
        .map(|(cells, i)| {
            Row::new(
                cells
                    .iter()
                    .zip(&rooms)
                    .enumerate()
                    .map(|(column, (wordings, room))| {
                        let cell = Cell::from(super::fit::longest_or_empty(*room, wordings));
                        if column == 0 {
                            cell.fg(variant_color(i))
                        } else {
                            cell
                        }
                    }),
            )
        })
        .collect();
    (header, rows, widths)
}

fn render_numbers(app: &App, area: Rect, buf: &mut Buffer) {
    let experiment = app.shown_experiment();
    let info = experiment.info();
    let size = app.running.map_or(info.default_size, |r| r.size);
    // Rows that fit (the last line is the experiment's own counters, when it reports any);
    // the running variant's row is always among them.
    let counter_line = !app.counters.is_empty() && area.height >= 6;
    let fits = usize::from(area.height.saturating_sub(3 + u16::from(counter_line))).max(1);
    let running = app.running.map_or(0, |r| r.variant);
    let first = running
        .saturating_sub(fits - 1)
        .min(info.variants.len().saturating_sub(fits));
    let shown = first..(first + fits).min(info.variants.len());
    let (header, rows, widths) = numbers_body(app, shown, area.width);
    let (phase, phase_short) = phase_words(app);
    // What the per-op columns hold, when it is not the steady state.
    let (cold, cold_short) = if app.first_op {
        (" · first op, cold (o: steady)", " · first op")
    } else {
        ("", "")
    };
    let titles = [
        format!(
            " {} · size {size} {}{phase}{cold} ",
            info.id, info.size_unit
        ),
        format!(" {} · size {size}{phase}{cold} ", info.id),
        format!(" {} · size {size}{phase_short}{cold_short} ", info.id),
        format!(" {}{phase_short}{cold_short} ", info.id),
    ];
    let badge = app
        .workshop
        .streak
        .badge()
        .filter(|_| app.running.is_some_and(|r| !r.paused));
    // The badge shares the top border: the title fits beside it, whole.
    let badge_width = badge.as_ref().map_or(0, |b| b.width() as u16 + 1);
    let mut block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(fit(area.width.saturating_sub(badge_width), &titles));
    if let Some((c, baseline_running)) = app.verdict() {
        let verdicts: Vec<String> = c
            .figures
            .verdict_wordings(c.variant, info.baseline(), baseline_running)
            .into_iter()
            .map(|w| format!(" {w} "))
            .collect();
        block = block.title_bottom(Line::from(fit(area.width, &verdicts)).bold());
    }
    if let Some(badge) = badge {
        block = block.title_top(badge.right_aligned());
    }
    Table::new(rows, widths)
        .header(header)
        .block(block)
        .render(area, buf);
    if counter_line {
        render_counters(app, area, buf);
    }
}

/// What the why tells you to watch (pool hits and misses, cache hit rate, waste) on the
/// numbers panel's last line inside its border.
fn render_counters(app: &App, area: Rect, buf: &mut Buffer) {
    let line = Rect {
        x: area.x + 1,
        y: area.y + area.height - 2,
        width: area.width.saturating_sub(2),
        height: 1,
    };
    let name = app.variant_name(app.running.map_or(0, |r| r.variant));
    // As many counters as fit whole, in the order the experiment reports them.
    let mut wordings = vec![format!("{name}:")];
    for (counter, value) in &app.counters {
        let entry = format!(" {} {}", counter.replace('_', " "), units::count(*value));
        let longer = format!("{}{entry}", wordings[0]);
        wordings.insert(0, longer);
    }
    let text = super::fit::longest_or_empty(usize::from(line.width), &wordings);
    Paragraph::new(text).render(line, buf);
}

/// Left, the latest notice (until the next key) and the main keys; right, always whole,
/// heaplab's own cost and the chart state: the keys are what a narrow terminal cuts.
fn render_status(app: &App, area: Rect, buf: &mut Buffer) {
    let cost = format!(
        "{} allocs/s, {:.1}% CPU",
        units::count(app.self_cost.allocs_per_sec),
        app.self_cost.cpu_percent,
    );
    let mut chart_state = format!("{:.0}s", app.window_secs());
    if let Some(budget) = app.budget {
        chart_state.push_str(" · budget ");
        chart_state.push_str(&units::bytes_short(budget as f64));
    }
    if app.frozen_at.is_some() {
        chart_state.push_str(" · frozen");
    }
    if app.compare_since.is_some() {
        chart_state.push_str(" · compare");
    }
    // heaplab's own cost gives up its label, then its place, before the chart state does.
    let state = super::fit::longest_or_empty(
        usize::from(area.width),
        &[
            format!(" │ heaplab: {cost} │ {chart_state}"),
            format!(" │ {cost} │ {chart_state}"),
            format!(" │ {chart_state}"),
        ],
    );
    let state_width = u16::try_from(super::fit::width(&state)).unwrap_or(u16::MAX);
    let [left, right] = area.layout(&Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(state_width),
    ]));
    Paragraph::new(Line::from(key_hints(usize::from(left.width)))).render(left, buf);
    Paragraph::new(state).render(right, buf);
}

/// The status line's key hints that fit in `width` whole: quit and help first, then the rest
/// in the key table's order, each shown entirely or not at all (never `b b`).
fn key_hints(width: usize) -> Vec<Span<'static>> {
    let hints: Vec<(String, &str)> = BINDINGS
        .iter()
        .filter_map(|b| b.status.map(|word| (keys_label(b), word)))
        .collect();
    let cost = |(keys, word): &(String, &str)| keys.chars().count() + word.chars().count() + 3;
    // The last two in the table are help and quit: a newcomer needs those most.
    let mut order: Vec<usize> = (0..hints.len()).rev().take(2).collect();
    order.extend(0..hints.len().saturating_sub(2));
    let mut shown = vec![false; hints.len()];
    let mut used = 0;
    for i in order {
        if used + cost(&hints[i]) <= width {
            used += cost(&hints[i]);
            shown[i] = true;
        }
    }
    let mut spans = Vec::new();
    for (hint, _) in hints.iter().zip(&shown).filter(|(_, shown)| **shown) {
        spans.push(Span::raw(hint.0.clone()).bold().fg(Color::LightYellow));
        spans.push(Span::raw(format!(" {}  ", hint.1)));
    }
    spans
}
