//! The dashboard's charts: a trace per variant run on one time axis, titles and legends that
//! fit their border whole. Drawn from [`App`]'s history, nothing computed here.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, BorderType, Chart, Dataset, GraphType, Widget};

use heaplab_experiments::WorkUnit;

use super::app::{App, Point};
use super::theme::{trace_style, variant_marker};
use crate::runner::Phase;
use crate::units;

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

pub(super) fn render_charts(app: &App, area: Rect, buf: &mut Buffer) {
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
    // The experiment's own unit of work, the same for every variant (records, lookups, bytes).
    let unit = app.shown_experiment().info().work_unit;
    per_variant_chart(
        app,
        throughput,
        buf,
        &format!("{} processed", unit.name()),
        &Metric {
            value: |p| p.work_per_sec,
            format: match unit {
                WorkUnit::Bytes => rate_bytes,
                WorkUnit::Items(_) => rate_count,
            },
        },
    );
}

/// A variant's run of points, drawn as one line.
type Segment = (usize, Vec<(f64, f64)>);

/// Runs of consecutive points from one epoch: each becomes one line, so a ghost and the live
/// trace never join across a switch. A chart `width` cells wide shows at most two points
/// across per cell (braille), so each run keeps, per half cell, its first, lowest, highest
/// and last point (M4 aggregation: the same pixels, from at most four points per column):
/// drawing costs what the chart's width holds, however many samples the window spans.
fn segments(app: &App, value: fn(&Point) -> f64, width: u16) -> Vec<Segment> {
    let (start, end) = app.chart_span();
    let column = (end - start) / (f64::from(width.max(1)) * 2.0);
    let mut out: Vec<Segment> = Vec::new();
    let mut last_epoch = None;
    let mut bucket = Bucket::default();
    for p in app.history_between(start, end) {
        let v = value(p);
        if !v.is_finite() {
            continue;
        }
        let index = ((p.t - start) / column) as i64;
        if last_epoch != Some(p.epoch) || bucket.index != index {
            if let Some((_, points)) = out.last_mut() {
                bucket.flush(points);
            }
            if last_epoch != Some(p.epoch) {
                out.push((p.variant, Vec::new()));
            }
            bucket = Bucket {
                index,
                ..Bucket::default()
            };
        }
        bucket.add((p.t, v));
        last_epoch = Some(p.epoch);
    }
    if let Some((_, points)) = out.last_mut() {
        bucket.flush(points);
    }
    out
}

/// The points of one run within one half cell: the first, lowest, highest and last.
#[derive(Default)]
struct Bucket {
    index: i64,
    first: Option<(f64, f64)>,
    low: Option<(f64, f64)>,
    high: Option<(f64, f64)>,
    last: Option<(f64, f64)>,
}

impl Bucket {
    fn add(&mut self, point: (f64, f64)) {
        self.first.get_or_insert(point);
        if self.low.is_none_or(|low| point.1 < low.1) {
            self.low = Some(point);
        }
        if self.high.is_none_or(|high| point.1 > high.1) {
            self.high = Some(point);
        }
        self.last = Some(point);
    }

    /// Appends the bucket's points in time order, each once (nothing allocated but the
    /// run's own vector).
    fn flush(&self, points: &mut Vec<(f64, f64)>) {
        let mut kept = [self.first, self.low, self.high, self.last];
        kept.sort_by(|a, b| match (a, b) {
            (Some(a), Some(b)) => a.0.total_cmp(&b.0),
            _ => b.is_none().cmp(&a.is_none()),
        });
        let mut previous: Option<f64> = None;
        for (t, v) in kept.into_iter().flatten() {
            if previous.is_none_or(|p| p.to_bits() != t.to_bits()) {
                points.push((t, v));
            }
            previous = Some(t);
        }
    }
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
    super::fit::longest_or_empty(usize::from(width.saturating_sub(2)), candidates)
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
    let series = segments(app, metric.value, area.width);
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
        Some(_) => app.run_state().to_owned(),
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
    let live = segments(app, |p| p.live_heap_bytes, area.width);
    let peak = segments(app, |p| p.peak_heap_bytes, area.width);
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
        segments(app, value, area.width)
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

#[cfg(test)]
mod tests {
    use super::*;

    // The values kept are the very ones drawn: exact equality.
    #[allow(clippy::float_cmp)]
    /// Ten minutes of history at 100 ms in a ten-minute window: a chart 40 cells wide draws
    /// at most four points per half cell of each run, and keeps every run's lowest, highest
    /// and last value (the pixels the full line would light).
    #[test]
    fn a_chart_draws_what_its_width_holds_not_what_the_window_holds() {
        let mut app = App::new(heaplab_experiments::catalog());
        app.window = super::super::app::WINDOWS_SECS.len() - 1;
        let value = |i: u32| f64::from((i * 7919) % 1000);
        for i in 0..6000u32 {
            let t = f64::from(i) / 10.0;
            app.history.push_back(Point {
                t,
                variant: (i / 50 % 2) as usize,
                epoch: u64::from(i / 50),
                allocs_per_sec: value(i),
                alloc_bytes_per_sec: 0.0,
                live_heap_bytes: 0.0,
                peak_heap_bytes: 0.0,
                process_heap_bytes: 0.0,
                process_rss_bytes: 0.0,
                ops_per_sec: 0.0,
                work_per_sec: 0.0,
            });
        }
        app.now = 599.9;
        let full = segments(&app, |p| p.allocs_per_sec, u16::MAX);
        let drawn = segments(&app, |p| p.allocs_per_sec, 40);
        let count = |s: &[Segment]| s.iter().map(|(_, p)| p.len()).sum::<usize>();
        assert_eq!(count(&full), 6000, "an unbounded width keeps every point");
        assert!(
            count(&drawn) <= 4 * 80 + 4 * drawn.len(),
            "{} points",
            count(&drawn)
        );
        assert_eq!(full.len(), drawn.len(), "runs are kept apart");
        for ((variant, all), (same, kept)) in full.iter().zip(&drawn) {
            assert_eq!(variant, same);
            let extreme = |p: &[(f64, f64)], f: fn(f64, f64) -> f64| {
                p.iter().map(|&(_, y)| y).reduce(f).expect("points")
            };
            assert_eq!(extreme(all, f64::min), extreme(kept, f64::min));
            assert_eq!(extreme(all, f64::max), extreme(kept, f64::max));
            assert_eq!(all.last(), kept.last());
            assert_eq!(all.first(), kept.first());
            assert!(kept.windows(2).all(|w| w[0].0 < w[1].0), "in time order");
        }
    }
}
