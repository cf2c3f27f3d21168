//! Drawing the dashboard: a pure function of [`App`]. No channel, no sysinfo, no rate maths:
//! everything shown was computed when the message arrived.

use heaplab_experiments::Section;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, BorderType, Cell, Chart, Dataset, GraphType, Paragraph, Row, Table, Widget, Wrap,
};

use super::app::{App, Point};
use super::keys::{BINDINGS, keys_label};
use super::workshop::View;
use super::{layout_view, source_view};
use crate::runner::Phase;
use crate::units;

/// The smallest terminal the full layout fits in.
pub const MIN_WIDTH: u16 = 80;
/// The smallest terminal the full layout fits in.
pub const MIN_HEIGHT: u16 = 24;

const LIST_WIDTH: u16 = 34;
/// The list's width on narrow screens: the longest id, indented, between borders.
const NARROW_LIST_WIDTH: u16 = 23;

/// The variants' trace colours: Okabe and Ito's palette, told apart with every common kind of
/// colour blindness; naive vermillion, optimized bluish green, then sky blue, yellow, reddish
/// purple, blue and orange (channel-pool has five variants).
const PALETTE: [(u8, u8, u8); 7] = [
    (213, 94, 0),
    (0, 158, 115),
    (86, 180, 233),
    (240, 228, 66),
    (204, 121, 167),
    (0, 114, 178),
    (230, 159, 0),
];

/// The colour of a variant's trace.
#[must_use]
pub fn variant_color(variant: usize) -> Color {
    let (r, g, b) = PALETTE[variant % PALETTE.len()];
    Color::Rgb(r, g, b)
}

/// The colour of a variant's ghost: the same hue, halfway to grey. (Chart cells carry a colour
/// only, so a `DIM` modifier would be lost; the ghost needs a colour of its own.)
#[must_use]
pub fn ghost_color(variant: usize) -> Color {
    let (r, g, b) = PALETTE[variant % PALETTE.len()];
    let mute = |c: u8| c.midpoint(96);
    Color::Rgb(mute(r), mute(g), mute(b))
}

/// The marker of a variant's trace, and its glyph in legends. With colour, every variant is
/// drawn in braille; without (`NO_COLOR`), each variant has a marker of its own so that traces
/// and legends still tell them apart.
#[must_use]
pub fn variant_marker(variant: usize, no_color: bool) -> (Marker, &'static str) {
    const MARKERS: [(Marker, &str); 4] = [
        (Marker::Braille, "⣿"),
        (Marker::Dot, "•"),
        (Marker::Block, "█"),
        (Marker::Bar, "▄"),
    ];
    if no_color {
        MARKERS[variant % MARKERS.len()]
    } else {
        (Marker::Braille, "━")
    }
}

fn trace_style(variant: usize, live: bool) -> Style {
    Style::new().fg(if live {
        variant_color(variant)
    } else {
        ghost_color(variant)
    })
}

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
                    super::tour::render(self, tour, left, buf);
                    super::presenter::render(self, right, buf);
                }
                None => super::presenter::render(self, main, buf),
            },
            View::Dashboard => {
                match &self.workshop.tour {
                    Some(tour) => super::tour::render(self, tour, left, buf),
                    None => render_list(self, left, buf),
                }
                render_charts(self, charts, buf);
                render_numbers(self, numbers, buf);
            }
            View::Source => {
                if let Some(pane) = &self.workshop.source {
                    let info = self.view_experiment().info();
                    let scroll = (self.workshop.scroll, self.workshop.hscroll);
                    source_view::render(pane, info, scroll, main, buf);
                }
            }
            View::Layout => layout_view::render(
                self.view_experiment().info(),
                &self.workshop.layouts,
                self.workshop.scroll,
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
        if let Some(typed) = &self.budget_prompt {
            super::budget::render_prompt(typed, self.budget, area, buf);
        }
        if self.help {
            super::glossary::render_help(self.workshop.help_scroll, area, buf);
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
        lines.push(Line::from(format!("{} {}", section.code(), section.title())).bold());
        for (index, experiment) in members {
            let info = experiment.info();
            let marker = match app.running {
                Some(r) if r.experiment == index && r.paused => "‖ ",
                Some(r) if r.experiment == index => "▶ ",
                _ => "  ",
            };
            let mut spans = vec![Span::raw(marker), Span::raw(info.id)];
            let room = usize::from(area.width.saturating_sub(2));
            if let Some(r) = app.running.filter(|r| {
                r.experiment == index
                    && 3 + info.id.len() + app.variant_name(r.variant).len() <= room
            }) {
                spans.push(Span::raw(" "));
                spans.push(Span::raw(app.variant_name(r.variant)).fg(variant_color(r.variant)));
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

/// What one chart plots: how to read a point, and how to print its unit.
pub(super) struct Metric {
    value: fn(&Point) -> f64,
    format: fn(f64) -> String,
}

/// Allocations per second, as presenter mode charts it.
pub(super) const ALLOC_RATE: Metric = Metric {
    value: |p| p.allocs_per_sec,
    format: rate_count,
};

/// Operations per second, as presenter mode charts it.
pub(super) const OPS_RATE: Metric = Metric {
    value: |p| p.ops_per_sec,
    format: rate_count,
};

fn rate_count(v: f64) -> String {
    format!("{}/s", units::count(v))
}

fn rate_bytes(v: f64) -> String {
    format!("{}/s", units::bytes_short(v))
}

fn bytes(v: f64) -> String {
    units::bytes_short(v)
}

fn render_charts(app: &App, area: Rect, buf: &mut Buffer) {
    let [alloc_row, heap_row, throughput_row] = area.layout(&Layout::vertical([
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
    ]));
    if area.width < 60 {
        // Too narrow for two charts side by side: the three that matter, full width.
        per_variant_chart(app, alloc_row, buf, "allocation rate", &ALLOC_RATE);
        worker_heap_chart(app, heap_row, buf);
        per_variant_chart(app, throughput_row, buf, "throughput", &OPS_RATE);
        return;
    }
    let halves = Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]);
    let [allocs, alloc_bytes] = alloc_row.layout(&halves);
    let [ops, throughput] = throughput_row.layout(&halves);
    let [worker_heap, process_memory] = heap_row.layout(&halves);

    per_variant_chart(
        app,
        allocs,
        buf,
        "allocation rate",
        &Metric {
            value: |p| p.allocs_per_sec,
            format: rate_count,
        },
    );
    per_variant_chart(
        app,
        alloc_bytes,
        buf,
        "bytes allocated",
        &Metric {
            value: |p| p.alloc_bytes_per_sec,
            format: rate_bytes,
        },
    );
    worker_heap_chart(app, worker_heap, buf);
    process_memory_chart(app, process_memory, buf);
    per_variant_chart(
        app,
        ops,
        buf,
        "throughput",
        &Metric {
            value: |p| p.ops_per_sec,
            format: rate_count,
        },
    );
    per_variant_chart(
        app,
        throughput,
        buf,
        "bytes processed",
        &Metric {
            value: |p| p.bytes_per_sec,
            format: rate_bytes,
        },
    );
}

/// A variant's run of points, drawn as one line.
type Segment = (usize, Vec<(f64, f64)>);

/// Runs of consecutive points from one epoch: each becomes one line, so a ghost and the live
/// trace never join across a switch.
fn segments(app: &App, value: fn(&Point) -> f64) -> Vec<Segment> {
    let (start, end) = app.chart_span();
    let mut out: Vec<Segment> = Vec::new();
    let mut last_epoch = None;
    for p in app.history.iter().filter(|p| p.t >= start && p.t <= end) {
        let v = value(p);
        if !v.is_finite() {
            continue;
        }
        match out.last_mut() {
            Some((_, points)) if last_epoch == Some(p.epoch) => points.push((p.t, v)),
            _ => out.push((p.variant, vec![(p.t, v)])),
        }
        last_epoch = Some(p.epoch);
    }
    out
}

fn y_bounds(series: &[Segment]) -> f64 {
    let max = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|&(_, y)| y))
        .fold(0.0_f64, f64::max);
    if max > 0.0 { max * 1.15 } else { 1.0 }
}

fn x_axis(app: &App, short: bool) -> Axis<'static> {
    let (start, end) = app.chart_span();
    let window = app.window_secs();
    let axis = Axis::default().bounds([start, end]);
    if short {
        // The window is on the status line; the rows go to the data.
        return axis;
    }
    axis.labels([
        format!("-{window:.0}s"),
        format!("-{:.0}s", window / 2.0),
        if app.frozen_at.is_some() {
            "frozen".to_owned()
        } else {
            "now".to_owned()
        },
    ])
    .style(Style::new().fg(Color::Gray))
}

fn y_axis(max: f64, format: fn(f64) -> String) -> Axis<'static> {
    Axis::default()
        .bounds([0.0, max])
        .labels([format(0.0), format(max / 2.0), format(max)])
        .style(Style::new().fg(Color::Gray))
}

/// The first of `candidates` (longest first) that fits in a border of `width` columns whole:
/// text shortens by dropping words, never by cutting a number. Empty if none fits.
#[must_use]
pub fn fit(width: u16, candidates: &[String]) -> String {
    let room = usize::from(width.saturating_sub(2));
    candidates
        .iter()
        .find(|c| c.chars().count() <= room)
        .cloned()
        .unwrap_or_default()
}

/// A chart's frame: the first of its titles that fits on top, and its legend in the bottom
/// border (right-aligned, in variant order), never on the data; a legend too wide for the
/// border drops its ghosts, then goes.
fn chart_block(width: u16, titles: &[String], legend: &[(String, Style)]) -> Block<'static> {
    let room = usize::from(width.saturating_sub(2));
    let line = |entries: &[&(String, Style)]| {
        let mut spans = Vec::new();
        for (i, (name, style)) in entries.iter().enumerate() {
            spans.push(Span::raw(if i == 0 { " " } else { " · " }));
            spans.push(Span::styled(name.clone(), *style));
        }
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        Line::from(spans)
    };
    let all: Vec<&(String, Style)> = legend.iter().collect();
    let without_ghosts: Vec<&(String, Style)> = legend
        .iter()
        .filter(|(n, _)| !n.ends_with("(ghost)"))
        .collect();
    let legend = [line(&all), line(&without_ghosts)]
        .into_iter()
        .find(|l| l.width() <= room)
        .unwrap_or_default();
    Block::bordered()
        .border_type(BorderType::Rounded)
        .title(fit(width, titles))
        .title_bottom(legend.right_aligned())
}

/// Whether charts are short enough that their time axis must give its rows to the data.
fn short_charts(area: Rect) -> bool {
    area.height < 8
}

/// One legend entry per variant present in `series`, in variant order, each with its marker.
fn variant_legend(
    app: &App,
    series: &[Segment],
    name: impl Fn(&str, bool) -> String,
) -> Vec<(String, Style)> {
    let current = app.running.map(|r| r.variant);
    let mut variants: Vec<usize> = series.iter().map(|(v, _)| *v).collect();
    variants.sort_unstable();
    variants.dedup();
    variants
        .into_iter()
        .map(|v| {
            let live = Some(v) == current;
            let (_, glyph) = variant_marker(v, app.workshop.no_color);
            (
                format!("{glyph} {}", name(app.variant_name(v), live)),
                trace_style(v, live),
            )
        })
        .collect()
}

/// The current value of a series, for the title.
fn latest(series: &[Segment]) -> Option<f64> {
    series.last().and_then(|(_, p)| p.last()).map(|&(_, y)| y)
}

pub(super) fn per_variant_chart(
    app: &App,
    area: Rect,
    buf: &mut Buffer,
    title: &str,
    metric: &Metric,
) {
    let series = segments(app, metric.value);
    let current = app.running.map(|r| r.variant);
    let datasets: Vec<Dataset> = series
        .iter()
        .map(|(variant, points)| {
            Dataset::default()
                .marker(variant_marker(*variant, app.workshop.no_color).0)
                .graph_type(GraphType::Line)
                .style(trace_style(*variant, Some(*variant) == current))
                .data(points)
        })
        .collect();
    // One legend entry per variant, however many segments compare mode made.
    let legend = variant_legend(app, &series, |name, live| {
        if live {
            name.to_owned()
        } else {
            format!("{name} (ghost)")
        }
    });
    // Stopped means stopped: no current rate in the title once nothing runs (or the run is
    // paused or stopped over budget); the traces stay as history.
    let measuring = app
        .running
        .is_some_and(|r| !r.paused && r.phase == Phase::Running);
    let now = match latest(&series) {
        Some(value) if measuring => (metric.format)(value),
        Some(_) => "stopped".to_owned(),
        None => "-".to_owned(),
    };
    let max = y_bounds(&series);
    let titles = [
        format!(" {title}: {now} "),
        format!(" {}: {now} ", title.split(' ').next().unwrap_or(title)),
        format!(" {now} "),
    ];
    Chart::new(datasets)
        .block(chart_block(area.width, &titles, &legend))
        .x_axis(x_axis(app, short_charts(area)))
        .y_axis(y_axis(max, metric.format))
        .legend_position(None)
        .render(area, buf);
}

/// The worker's own heap, live and peak, per variant: the experiment's footprint.
fn worker_heap_chart(app: &App, area: Rect, buf: &mut Buffer) {
    let live = segments(app, |p| p.live_heap_bytes);
    let peak = segments(app, |p| p.peak_heap_bytes);
    let current = app.running.map(|r| r.variant);
    let mut datasets = Vec::new();
    for (variant, points) in &live {
        datasets.push(
            Dataset::default()
                .marker(variant_marker(*variant, app.workshop.no_color).0)
                .graph_type(GraphType::Line)
                .style(trace_style(*variant, Some(*variant) == current))
                .data(points),
        );
    }
    let peak_style = Style::new().fg(Color::Yellow);
    for (_, points) in &peak {
        datasets.push(
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(peak_style)
                .data(points),
        );
    }
    let mut legend = variant_legend(app, &live, |name, live| {
        if live {
            format!("{name} live")
        } else {
            format!("{name} (ghost)")
        }
    });
    if !peak.is_empty() {
        legend.push(("• peak".to_owned(), peak_style));
    }
    let all: Vec<Segment> = live.iter().chain(&peak).cloned().collect();
    let titles = match (latest(&live), latest(&peak)) {
        (Some(live), Some(peak)) => {
            let (live, peak) = (units::bytes_short(live), units::bytes_short(peak));
            vec![
                format!(" worker heap: {live} live · {peak} peak "),
                format!(" worker heap: {live} · {peak} peak "),
                format!(" heap: {live} · peak {peak} "),
                format!(" {live} · {peak} "),
            ]
        }
        _ => vec![" worker heap ".to_owned()],
    };
    Chart::new(datasets)
        .block(chart_block(area.width, &titles, &legend))
        .x_axis(x_axis(app, short_charts(area)))
        .y_axis(y_axis(y_bounds(&all), bytes))
        .legend_position(None)
        .render(area, buf);
}

/// The whole process: the live heap (every thread, heaplab included) and the RSS.
fn process_memory_chart(app: &App, area: Rect, buf: &mut Buffer) {
    let flat = |value: fn(&Point) -> f64| -> Vec<(f64, f64)> {
        segments(app, value)
            .into_iter()
            .flat_map(|(_, points)| points)
            .collect()
    };
    let heap = flat(|p| p.process_heap_bytes);
    let rss = flat(|p| p.process_rss_bytes);
    let mut datasets = Vec::new();
    for (name, points, color) in [
        ("process heap", &heap, Color::LightBlue),
        ("RSS", &rss, Color::LightMagenta),
    ] {
        datasets.push(
            Dataset::default()
                .name(name)
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(color))
                .data(points),
        );
    }
    let titles = match (heap.last(), rss.last()) {
        (Some(&(_, heap)), Some(&(_, rss))) => {
            let (heap, rss) = (units::bytes_short(heap), units::bytes_short(rss));
            vec![
                format!(" process: {heap} heap · {rss} RSS "),
                format!(" {heap} heap · {rss} RSS "),
                format!(" RSS {rss} "),
            ]
        }
        _ => vec![" process memory ".to_owned()],
    };
    let max = y_bounds(&[(0, heap.clone()), (0, rss.clone())]);
    let legend = vec![
        (
            "━ process heap".to_owned(),
            Style::new().fg(Color::LightBlue),
        ),
        ("━ RSS".to_owned(), Style::new().fg(Color::LightMagenta)),
    ];
    Chart::new(datasets)
        .block(chart_block(area.width, &titles, &legend))
        .x_axis(x_axis(app, short_charts(area)))
        .y_axis(y_axis(max, bytes))
        .legend_position(None)
        .render(area, buf);
}

/// A variant's row of the numbers panel. Speed is over the steady-state intervals, with its
/// spread once there are enough of them; until there are any, the run's figure so far.
fn variant_row<'a>(
    app: &App,
    variant: usize,
    name: Cell<'a>,
    s: &crate::runner::Sample,
    compact: bool,
    narrow: bool,
) -> Row<'a> {
    let (ns, spread) = match app.speed(variant) {
        Some(speed) if speed.ci95.is_some() => (
            speed.ns_per_op,
            crate::bench::spread_text(speed.ns_per_op, speed.ci95),
        ),
        Some(speed) => (speed.ns_per_op, String::new()),
        None => (s.ns_per_op(), String::new()),
    };
    let ops_per_sec = if ns > 0.0 { 1e9 / ns } else { 0.0 };
    let bytes_per_op = s.bytes_processed as f64 / s.ops.max(1) as f64;
    // Whole digits past a microsecond: the decimal says nothing there, and the column is narrow.
    let ns = if ns >= 1000.0 {
        format!("{ns:.0}")
    } else {
        format!("{ns:.1}")
    };
    let mut cells = vec![name, Cell::from(format!("{:.2}", s.allocs_per_op()))];
    if !narrow {
        cells.push(Cell::from(if s.bytes_per_op() < 1e6 {
            format!("{:.0}", s.bytes_per_op())
        } else {
            units::bytes_short(s.bytes_per_op())
        }));
    }
    cells.push(Cell::from(format!("{ns} {spread}").trim_end().to_owned()));
    cells.push(Cell::from(if compact {
        units::bytes_short(s.peak_heap_bytes as f64)
    } else {
        units::bytes(s.peak_heap_bytes)
    }));
    cells.push(Cell::from(if compact {
        units::count(ops_per_sec)
    } else {
        format!(
            "{} op/s · {}/s",
            units::count(ops_per_sec),
            units::bytes_short(ops_per_sec * bytes_per_op)
        )
    }));
    Row::new(cells)
}

/// The numbers table's columns: full, compact (short headers, ops/s alone) or narrow (no
/// bytes/op).
fn table_widths(name_width: u16, compact: bool, narrow: bool) -> Vec<Constraint> {
    if narrow {
        vec![
            Constraint::Length(name_width),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(9),
            Constraint::Fill(1),
        ]
    } else if compact {
        vec![
            Constraint::Length(name_width),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(11),
            Constraint::Length(9),
            Constraint::Fill(1),
        ]
    } else {
        vec![
            Constraint::Length(name_width + 1),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(14),
            Constraint::Length(11),
            Constraint::Fill(1),
        ]
    }
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

fn render_numbers(app: &App, area: Rect, buf: &mut Buffer) {
    let experiment = app.shown_experiment();
    let info = experiment.info();
    let size = app.running.map_or(info.default_size, |r| r.size);
    // Narrow: short headers and ops/s alone, so every column keeps its numbers whole.
    let compact = area.width < 80;
    // Very narrow (80 columns): bytes/op goes (the bytes chart and bench have it).
    let narrow = area.width < 64;
    let headers: &[&str] = if narrow {
        &["variant", "allocs/op", "ns/op", "peak", "ops/s"]
    } else if compact {
        &["variant", "allocs/op", "bytes/op", "ns/op", "peak", "ops/s"]
    } else {
        &[
            "variant",
            "allocs/op",
            "bytes/op",
            "ns/op",
            "peak heap",
            "throughput",
        ]
    };
    let header = Row::new(headers.iter().map(|h| Cell::from(*h).bold()));
    let name_width = info
        .variants
        .iter()
        .map(|v| v.name.len())
        .max()
        .unwrap_or(7)
        .max(7) as u16;
    // Rows that fit (the last line is the experiment's own counters, when it reports any);
    // the running variant's row is always among them.
    let counter_line = !app.counters.is_empty() && area.height >= 6;
    let fits = usize::from(area.height.saturating_sub(3 + u16::from(counter_line))).max(1);
    let running = app.running.map_or(0, |r| r.variant);
    let first = running
        .saturating_sub(fits - 1)
        .min(info.variants.len().saturating_sub(fits));
    let rows: Vec<Row> = info
        .variants
        .iter()
        .enumerate()
        .skip(first)
        .take(fits)
        .map(|(i, v)| {
            let name = Cell::from(v.name).fg(variant_color(i));
            match app.stats.get(i).copied().flatten() {
                Some(s) => variant_row(app, i, name, &s, compact, narrow),
                None => Row::new([name, Cell::from("–")]),
            }
        })
        .collect();
    let (phase, phase_short) = phase_words(app);
    let titles = [
        format!(" {} · size {size} {}{phase} ", info.id, info.size_unit),
        format!(" {} · size {size}{phase} ", info.id),
        format!(" {} · size {size}{phase_short} ", info.id),
        format!(" {}{phase_short} ", info.id),
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
    if let Some(c) = app.comparisons.last() {
        let verdicts = [
            format!(
                " {} vs naive: {} · {} · {} ",
                c.variant, c.allocs, c.speed, c.peak
            ),
            format!(" {} vs naive: {} · {} ", c.variant, c.allocs, c.speed),
            format!(" {}: {} ", c.variant, c.speed),
        ];
        block = block.title_bottom(Line::from(fit(area.width, &verdicts)).bold());
    }
    if let Some(badge) = badge {
        block = block.title_top(badge.right_aligned());
    }
    let widths = table_widths(name_width, compact, narrow);
    Table::new(rows, widths)
        .header(header)
        .block(block)
        .render(area, buf);
    if counter_line {
        // What the why tells you to watch: pool hits and misses, cache hit rate, waste.
        let line = Rect {
            x: area.x + 1,
            y: area.y + area.height - 2,
            width: area.width.saturating_sub(2),
            height: 1,
        };
        let name = app.variant_name(app.running.map_or(0, |r| r.variant));
        // As many counters as fit whole, in the order the experiment reports them.
        let mut text = format!("{name}:");
        for (counter, value) in &app.counters {
            let entry = format!(" {} {}", counter.replace('_', " "), units::count(*value));
            if text.chars().count() + entry.chars().count() > usize::from(line.width) {
                break;
            }
            text.push_str(&entry);
        }
        Paragraph::new(text).render(line, buf);
    }
}

/// Left, the latest notice (until the next key) and the main keys; right, always whole,
/// heaplab's own cost and the chart state: the keys are what a narrow terminal cuts.
fn render_status(app: &App, area: Rect, buf: &mut Buffer) {
    let mut state = format!(
        " │ heaplab: {} allocs/s, {:.1}% CPU │ {:.0}s",
        units::count(app.self_cost.allocs_per_sec),
        app.self_cost.cpu_percent,
        app.window_secs()
    );
    if let Some(budget) = app.budget {
        state.push_str(" · budget ");
        state.push_str(&units::bytes_short(budget as f64));
    }
    if app.frozen_at.is_some() {
        state.push_str(" · frozen");
    }
    if app.compare_since.is_some() {
        state.push_str(" · compare");
    }
    let state_width = u16::try_from(state.chars().count()).unwrap_or(u16::MAX);
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
