//! Drawing the attach view, purely from [`AttachView`]: a title line, the allocation rate and
//! the memory chart (live heap, sampled peak, RSS) on one time axis, the per-thread table,
//! the alerts and the keys; the help overlay over it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, BorderType, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Widget,
};

use super::growing::render_growing;
use super::{AttachView, KEYS};
use crate::attach::figures::{Point, ThreadRow};
use crate::monitor::protocol::ThreadRole;
use crate::ui::charts::fit;
use crate::ui::keys::{ATTACH_BINDINGS, BINDINGS, keys_label};
use crate::ui::theme::{variant_color, variant_marker};
use crate::units;

/// The series' colours: the dashboard's palette, one index each.
const RATE: usize = 5;
const LIVE: usize = 1;
const PEAK: usize = 0;
const RSS: usize = 2;

/// A chart's line: its colour's index, its legend's name, its points.
type Series<'a> = (usize, &'a str, Vec<(f64, f64)>);

impl Widget for &AttachView {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let alert_rows = self.alerts().len().min(3) as u16;
        if self.sites().open {
            let [title, body, alerts, keys] = area.layout(&Layout::vertical([
                Constraint::Length(1),
                Constraint::Fill(1),
                Constraint::Length(alert_rows),
                Constraint::Length(1),
            ]));
            title_line(self).render(title, buf);
            render_growing(self, body, buf);
            render_alerts(self, alerts, buf);
            key_line(self, keys.width).render(keys, buf);
            if self.help {
                render_help(area, buf);
            }
            return;
        }
        let table_rows = if area.height >= 40 { 12 } else { 7 };
        let [title, charts, table, alerts, note, keys] = area.layout(&Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(6),
            Constraint::Length(table_rows),
            Constraint::Length(alert_rows),
            Constraint::Length(1),
            Constraint::Length(1),
        ]));
        title_line(self).render(title, buf);
        render_charts(self, charts, buf);
        render_threads(self, table, buf);
        render_alerts(self, alerts, buf);
        let notes = [
            " diff = allocated − freed since attach: a thread freeing what another allocated \
             goes negative; ended threads stay greyed (the latest 16)"
                .to_owned(),
            " diff = allocated − freed since attach (negative: it frees others' bytes)".to_owned(),
        ];
        Line::styled(
            fit(note.width.saturating_add(2), &notes),
            Style::new().fg(Color::Gray),
        )
        .render(note, buf);
        key_line(self, keys.width).render(keys, buf);
        if self.help {
            render_help(area, buf);
        }
    }
}

fn title_line(view: &AttachView) -> Line<'static> {
    let hello = &view.hello;
    let shown = view.shown();
    let mut spans = vec![Span::styled(
        format!(" {} ", hello.program),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    // First after the name: on a narrow terminal the title's tail is cut, never this.
    if view.frozen() {
        spans.push(Span::styled(
            "· FROZEN (f) ",
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    spans.push(Span::raw(format!(
        "· process {} · a frame every {:.1} s · window {:.0} s",
        hello.pid,
        hello.interval_ms as f64 / 1000.0,
        view.window_secs()
    )));
    if let Some(point) = shown.latest() {
        spans.push(Span::raw(format!(" · {:.0} s attached", point.t_secs)));
    }
    if !hello.counting {
        spans.push(Span::styled(
            " · its allocator is not heaplab's: figures stay 0",
            Style::new().fg(Color::Yellow),
        ));
    }
    Line::from(spans)
}

/// The points inside the window that ends at the latest one, and that window's bounds.
fn windowed(view: &AttachView) -> (Vec<Point>, [f64; 2]) {
    let history = view.shown().history();
    let end = history.back().map_or(0.0, |p| p.t_secs);
    let start = end - view.window_secs();
    let points = history
        .iter()
        .filter(|p| p.t_secs >= start)
        .copied()
        .collect();
    (points, [start.max(0.0), end.max(start.max(0.0) + 1.0)])
}

fn render_charts(view: &AttachView, area: Rect, buf: &mut Buffer) {
    let [rate, memory] = area.layout(&Layout::vertical([
        Constraint::Ratio(2, 5),
        Constraint::Ratio(3, 5),
    ]));
    let (points, bounds) = windowed(view);
    let series = |value: fn(&Point) -> f64| -> Vec<(f64, f64)> {
        points.iter().map(|p| (p.t_secs, value(p))).collect()
    };
    let rates = series(|p| p.allocs_per_sec);
    let latest = points.last();
    chart(
        view,
        rate,
        buf,
        &[
            format!(
                "allocation rate · {}",
                latest.map_or("-".into(), |p| format!(
                    "{}/s",
                    units::count(p.allocs_per_sec)
                ))
            ),
            "allocation rate".into(),
            "allocs".into(),
        ],
        &[(RATE, "allocs/s", rates)],
        bounds,
        |v| format!("{}/s", units::count(v)),
    );
    let (live, peak, rss) = (
        series(|p| p.live_bytes.max(0) as f64),
        series(|p| p.peak_bytes.max(0) as f64),
        series(|p| p.rss_bytes as f64),
    );
    let bytes = |v: i64| units::bytes(v.max(0) as u64);
    chart(
        view,
        memory,
        buf,
        &[
            latest.map_or_else(String::new, |p| {
                format!(
                    "memory · live heap {} · sampled peak {} · RSS {}",
                    bytes(p.live_bytes),
                    bytes(p.peak_bytes),
                    units::bytes(p.rss_bytes)
                )
            }),
            latest.map_or_else(String::new, |p| {
                format!(
                    "memory · live {} · RSS {}",
                    bytes(p.live_bytes),
                    units::bytes(p.rss_bytes)
                )
            }),
            "memory".into(),
        ],
        &[
            (LIVE, "live heap", live),
            (PEAK, "sampled peak", peak),
            (RSS, "RSS", rss),
        ],
        bounds,
        units::bytes_short,
    );
}

fn chart(
    view: &AttachView,
    area: Rect,
    buf: &mut Buffer,
    titles: &[String],
    series: &[Series],
    bounds: [f64; 2],
    format: fn(f64) -> String,
) {
    let max = series
        .iter()
        .flat_map(|(_, _, points)| points.iter().map(|&(_, y)| y))
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let datasets: Vec<Dataset> = series
        .iter()
        .map(|(color, _, points)| {
            Dataset::default()
                .marker(variant_marker(*color, view.no_color).0)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(variant_color(*color)))
                .data(points)
        })
        .collect();
    let mut legend = vec![Span::raw(" ")];
    for (i, (color, name, _)) in series.iter().enumerate() {
        if i > 0 {
            legend.push(Span::raw(" · "));
        }
        let (_, glyph) = variant_marker(*color, view.no_color);
        legend.push(Span::styled(
            format!("{glyph} {name}"),
            Style::new().fg(variant_color(*color)),
        ));
    }
    legend.push(Span::raw(" "));
    let legend = Line::from(legend);
    let legend = if legend.width() + 2 <= usize::from(area.width) {
        legend
    } else {
        Line::default()
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(fit(area.width, titles))
        .title_bottom(legend.right_aligned());
    let axis_style = Style::new().fg(Color::Gray);
    let x = Axis::default()
        .bounds(bounds)
        .style(axis_style)
        .labels([format!("{:.0} s", bounds[0]), format!("{:.0} s", bounds[1])]);
    let y = Axis::default()
        .bounds([0.0, max])
        .style(axis_style)
        .labels([format(0.0), format(max / 2.0), format(max)]);
    Chart::new(datasets)
        .block(block)
        .x_axis(x)
        .y_axis(y)
        .render(area, buf);
}

fn render_threads(view: &AttachView, area: Rect, buf: &mut Buffer) {
    let wide = area.width >= 110;
    let rows: Vec<Row> = view
        .shown()
        .threads()
        .into_iter()
        .map(|row| thread_row(row, wide))
        .collect();
    let count = rows.len();
    let header = Row::new(if wide {
        vec![
            "thread",
            "tid",
            "who",
            "allocs/s",
            "alloc/s",
            "freed/s",
            "allocated",
            "freed",
            "diff",
        ]
    } else {
        vec!["thread", "who", "allocs/s", "alloc/s", "freed/s", "diff"]
    })
    .style(Style::new().add_modifier(Modifier::BOLD));
    let widths: Vec<Constraint> = if wide {
        [16, 8, 8, 10, 11, 11, 11, 11, 12]
            .into_iter()
            .map(Constraint::Length)
            .collect()
    } else {
        [16, 8, 9, 11, 11, 12]
            .into_iter()
            .map(Constraint::Length)
            .collect()
    };
    Table::new(rows, widths)
        .header(header)
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .title(format!(" threads · {count} · since attach ")),
        )
        .render(area, buf);
}

fn thread_row(row: &ThreadRow, wide: bool) -> Row<'static> {
    let who = if row.ended {
        "ended"
    } else {
        match row.role {
            ThreadRole::Program => "",
            ThreadRole::Monitor => "monitor",
            ThreadRole::Shared => "shared",
        }
    };
    let rate = |v: f64| format!("{}/s", units::bytes_short(v));
    let diff = row.diff_since_attach();
    let diff = if diff < 0 {
        format!("−{}", units::bytes(diff.unsigned_abs()))
    } else {
        units::bytes(diff.unsigned_abs())
    };
    let mut cells: Vec<Cell> = vec![Cell::from(row.name.clone())];
    if wide {
        cells.push(Cell::from(row.tid.to_string()));
    }
    cells.extend([
        Cell::from(who),
        Cell::from(units::count(row.allocs_per_sec)),
        Cell::from(rate(row.allocated_per_sec)),
        Cell::from(rate(row.freed_per_sec)),
    ]);
    if wide {
        cells.push(Cell::from(units::bytes(row.allocated_since_attach())));
        cells.push(Cell::from(units::bytes(row.freed_since_attach())));
    }
    cells.push(Cell::from(diff));
    let style = if row.ended {
        Style::new().fg(Color::DarkGray)
    } else if row.role == ThreadRole::Program {
        Style::new()
    } else {
        Style::new().fg(Color::Gray)
    };
    Row::new(cells).style(style)
}

fn render_alerts(view: &AttachView, area: Rect, buf: &mut Buffer) {
    let lines: Vec<Line> = view
        .alerts()
        .iter()
        .take(usize::from(area.height))
        .map(|state| match (&state.now, state.first_at) {
            (Some(words), _) => Line::styled(
                format!(" ▲ ALERT {words}"),
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            ),
            (None, Some(at)) => Line::styled(
                format!(
                    " △ alert {} crossed at {at:.0} s, below it now",
                    state.alert
                ),
                Style::new().fg(Color::Yellow),
            ),
            (None, None) => Line::styled(
                format!(" · alert {} not crossed", state.alert),
                Style::new().fg(Color::Gray),
            ),
        })
        .collect();
    Paragraph::new(lines).render(area, buf);
}

/// The keys of `KEYS` as the dashboard's table names them.
fn key_labels() -> Vec<(String, &'static str)> {
    KEYS.iter()
        .filter_map(|(action, words)| {
            ATTACH_BINDINGS
                .iter()
                .chain(BINDINGS)
                .find(|binding| binding.action == *action)
                .map(|binding| (keys_label(binding), *words))
        })
        .collect()
}

fn key_line(view: &AttachView, width: u16) -> Line<'static> {
    let wordings = if view.sites().open {
        [
            " q detach · g charts · ↑/↓ line · Enter/→ stack · ← fold · h sizes · f freeze · ? help",
            " q detach · g charts · ↑/↓ line · Enter stack · h sizes · ? help",
            " q detach · g charts · ? help",
        ]
    } else {
        [
            " q detach · f freeze · +/- time window · g growing sites · ? help",
            " q detach · f freeze · g growing sites · ? help",
            " q detach · g growing · ? help",
        ]
    };
    Line::styled(
        fit(width.saturating_add(2), &wordings.map(str::to_owned)),
        Style::new().fg(Color::Gray),
    )
}

fn render_help(area: Rect, buf: &mut Buffer) {
    let labels = key_labels();
    let mut lines: Vec<Line> = labels
        .iter()
        .map(|(keys, words)| {
            Line::from(vec![
                Span::styled(
                    format!(" {keys:<8}"),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!(" {words}")),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        " live heap: allocated − freed, process-wide; sampled peak: the highest the program's",
    ));
    lines.push(Line::raw(
        " monitor saw at its frames; RSS: /proc/PID/statm, read by this viewer",
    ));
    let width = area.width.min(90);
    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    Clear.render(popup, buf);
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .title(" attach · keys and figures "),
        )
        .render(popup, buf);
}
