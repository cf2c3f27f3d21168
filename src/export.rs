//! Charts: the comparison as an SVG chart (`e` in the dashboard, `heaplab bench --plot`), drawn
//! with plotters' SVG backend (the `dashboard` feature). A session's samples as CSV or JSON
//! (`--record FILE`) are [`crate::record`]'s. Every file is written by the rules of
//! [`crate::files`]: whole or not at all, in place for a device or a FIFO, through a symlink to
//! its target.

use std::path::Path;

use color_eyre::eyre::{Result, eyre};
use heaplab_experiments::ExperimentInfo;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::results::VariantRow;
use crate::runner::Sample;
use crate::ui::app::Point;
use crate::units;

/// One variant's bar in each of the three panels.
///
/// Not a [`VariantRow`]: the three figures a bar shows, and the index that picks its colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The variant's name.
    pub variant: String,
    /// Its index in the experiment (picks the colour).
    pub index: usize,
    /// Allocations per operation.
    pub allocs_per_op: f64,
    /// Peak heap in bytes.
    pub peak_heap_bytes: u64,
    /// Operations per second.
    pub ops_per_sec: f64,
}

/// One experiment's bars.
///
/// Not a figure: a chart's grouping of bars under a title.
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// The experiment's id and size.
    pub title: String,
    /// Its variants, naive first.
    pub bars: Vec<Bar>,
}

/// A run of one variant's points over time (seconds, value).
///
/// Not the dashboard's `Point`s: one figure of one epoch, as a line on a chart needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The variant's name.
    pub variant: String,
    /// Its index (picks the colour).
    pub index: usize,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// A session's time series, one panel each.
///
/// Not a figure: the panels an SVG draws the [`Series`] in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeSeries {
    /// Allocations per second.
    pub allocs_per_sec: Vec<Series>,
    /// The worker's live heap in bytes.
    pub live_heap_bytes: Vec<Series>,
    /// Operations per second.
    pub ops_per_sec: Vec<Series>,
}

/// Everything one SVG shows.
///
/// Not a figure: what a chart draws, built from rows or the dashboard's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    /// The chart's title.
    pub title: String,
    /// One row of bars per experiment.
    pub groups: Vec<BarGroup>,
    /// The session's time series (the dashboard's export only).
    pub series: Option<TimeSeries>,
}

/// The colour of variant `index`: the dashboard's hues, dark enough for a white page.
fn color(index: usize) -> RGBColor {
    match index {
        0 => RGBColor(0xd1, 0x49, 0x5b),
        1 => RGBColor(0x2e, 0x93, 0x3c),
        _ => RGBColor(0x1f, 0x7a, 0x9e),
    }
}

impl Bar {
    /// The bar of `row`, variant `index` of its experiment.
    fn of(row: &VariantRow, index: usize) -> Self {
        Bar {
            variant: row.variant.to_string(),
            index,
            allocs_per_op: row.allocs_per_op,
            peak_heap_bytes: row.peak_heap_bytes,
            ops_per_sec: row.ops_per_sec,
        }
    }
}

/// Bars from `heaplab bench` rows, one group per experiment in the order measured.
#[must_use]
pub fn from_rows(rows: &[VariantRow]) -> ChartData {
    let mut groups: Vec<BarGroup> = Vec::new();
    for row in rows {
        let title = format!("{} (size {})", row.experiment, row.size);
        let index = crate::catalog::find(&row.experiment)
            .and_then(|e| e.info().variant_index(&row.variant))
            .unwrap_or(0);
        let bar = Bar::of(row, index);
        match groups.last_mut() {
            Some(group) if group.title == title => group.bars.push(bar),
            _ => groups.push(BarGroup {
                title,
                bars: vec![bar],
            }),
        }
    }
    ChartData {
        title: format!(
            "{} bench: {}",
            crate::program::name(),
            against(rows.iter().map(|row| &*row.variant))
        ),
        groups,
        series: None,
    }
}

/// The variants the rows compare, in the order they first appear: `naive against optimized`,
/// `naive, optimized and crate`, or a lab's own (`value against reuse`).
fn against<'a>(variants: impl IntoIterator<Item = &'a str>) -> String {
    let mut names: Vec<&str> = Vec::new();
    for variant in variants {
        if !names.contains(&variant) {
            names.push(variant);
        }
    }
    match names.as_slice() {
        [] => "no variant".to_owned(),
        [one] => (*one).to_owned(),
        [first, second] => format!("{first} against {second}"),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The dashboard's comparison: experiment `info` at `size`, the `latest` figures of each
/// variant that ran (by variant index) as rows, and the whole chart `history`.
#[must_use]
pub fn from_dashboard<'a>(
    info: &'static ExperimentInfo,
    size: usize,
    latest: &[Option<Sample>],
    history: impl IntoIterator<Item = &'a Point> + Copy,
) -> ChartData {
    let bars = latest
        .iter()
        .enumerate()
        .filter_map(|(index, sample)| {
            let row =
                VariantRow::from_sample(info, info.variants[index].name, size, sample.as_ref()?);
            Some(Bar::of(&row, index))
        })
        .collect();
    let series = |value: fn(&Point) -> f64| {
        let mut out: Vec<Series> = Vec::new();
        let mut epoch = None;
        for p in history {
            let v = value(p);
            if !v.is_finite() {
                continue;
            }
            match out.last_mut() {
                Some(s) if epoch == Some(p.epoch) => s.points.push((p.t, v)),
                _ => out.push(Series {
                    variant: info
                        .variants
                        .get(p.variant)
                        .map_or("?", |v| v.name)
                        .to_owned(),
                    index: p.variant,
                    points: vec![(p.t, v)],
                }),
            }
            epoch = Some(p.epoch);
        }
        out
    };
    ChartData {
        title: format!("heaplab: {} — {}", info.id, info.title),
        groups: vec![BarGroup {
            title: format!("{} (size {size} {})", info.id, info.size_unit),
            bars,
        }],
        series: Some(TimeSeries {
            allocs_per_sec: series(|p| p.allocs_per_sec),
            live_heap_bytes: series(|p| p.live_heap_bytes),
            ops_per_sec: series(|p| p.ops_per_sec),
        }),
    }
}

const WIDTH: u32 = 1200;
const BAR_ROW: u32 = 240;
const SERIES_ROW: u32 = 260;
const TITLE: u32 = 50;

/// Draws `chart` as an SVG document.
pub fn svg(chart: &ChartData) -> Result<String> {
    let rows = chart.groups.len().max(1) as u32;
    let series_rows = chart.series.as_ref().map_or(0, |_| 3);
    let height = TITLE + rows * BAR_ROW + series_rows * SERIES_ROW;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let root = root
            .titled(&chart.title, ("sans-serif", 24))
            .map_err(plot_error)?;
        let (bars, below) = root.split_vertically(rows * BAR_ROW);
        for (group, area) in chart
            .groups
            .iter()
            .zip(bars.split_evenly((rows as usize, 1)))
        {
            draw_group(group, &area)?;
        }
        if let Some(series) = &chart.series {
            let panels = below.split_evenly((3, 1));
            draw_series(
                "allocation rate (allocations/s)",
                &series.allocs_per_sec,
                &panels[0],
                |v| format!("{}/s", units::count(v)),
            )?;
            draw_series(
                "worker live heap",
                &series.live_heap_bytes,
                &panels[1],
                units::bytes_short,
            )?;
            draw_series(
                "throughput (operations/s)",
                &series.ops_per_sec,
                &panels[2],
                |v| format!("{}/s", units::count(v)),
            )?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(text)
}

fn plot_error(e: impl std::fmt::Display) -> color_eyre::Report {
    eyre!("could not draw the chart: {e}")
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A bar panel: its title, the value it shows, how to print the value.
type Metric = (&'static str, fn(&Bar) -> f64, fn(f64) -> String);

/// One experiment: allocs/op, peak heap and throughput, a bar per variant, each panel on its
/// own scale with the value written above each bar.
fn draw_group(group: &BarGroup, area: &Area) -> Result<()> {
    let area = area
        .titled(&group.title, ("sans-serif", 18))
        .map_err(plot_error)?;
    let panels = area.split_evenly((1, 3));
    let metrics: [Metric; 3] = [
        ("allocs/op", |b| b.allocs_per_op, |v| format!("{v:.2}")),
        (
            "peak heap",
            |b| b.peak_heap_bytes as f64,
            |v| units::bytes(v as u64),
        ),
        (
            "throughput (ops/s)",
            |b| b.ops_per_sec,
            |v| format!("{}/s", units::count(v)),
        ),
    ];
    for (panel, (name, value, label)) in panels.iter().zip(metrics) {
        let max = group.bars.iter().map(value).fold(0.0_f64, f64::max);
        let top = if max > 0.0 { max * 1.25 } else { 1.0 };
        let count = group.bars.len().max(1);
        let mut chart = ChartBuilder::on(panel)
            .caption(name, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(24)
            .y_label_area_size(70)
            // `0..n` segmented has n + 1 slots, the last bar's index is n - 1; one bar still
            // needs a range that is not empty.
            .build_cartesian_2d((0..(count - 1).max(1)).into_segmented(), 0.0..top)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(count)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => group
                    .bars
                    .get(*i)
                    .map_or_else(String::new, |b| b.variant.clone()),
                SegmentValue::Last => String::new(),
            })
            .y_label_formatter(&|v| label(*v))
            .draw()
            .map_err(plot_error)?;
        chart
            .draw_series(group.bars.iter().enumerate().map(|(i, bar)| {
                let mut rect = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), value(bar)),
                    ],
                    color(bar.index).filled(),
                );
                rect.set_margin(0, 0, 12, 12);
                rect
            }))
            .map_err(plot_error)?;
        chart
            .draw_series(group.bars.iter().enumerate().map(|(i, bar)| {
                Text::new(
                    label(value(bar)),
                    (SegmentValue::CenterOf(i), value(bar) + top * 0.02),
                    TextStyle::from(("sans-serif", 13).into_font())
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            }))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// One time-series panel: a line per variant run, a legend entry per variant.
fn draw_series(name: &str, series: &[Series], area: &Area, label: fn(f64) -> String) -> Result<()> {
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut start, mut end, mut max) = (f64::INFINITY, f64::NEG_INFINITY, 0.0_f64);
    for &(t, v) in points {
        start = start.min(t);
        end = end.max(t);
        max = max.max(v);
    }
    if !start.is_finite() {
        (start, end) = (0.0, 1.0);
    }
    let end = if end > start { end } else { start + 1.0 };
    let top = if max > 0.0 { max * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(name, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .build_cartesian_2d(start..end, 0.0..top)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the session started")
        .y_label_formatter(&|v| label(*v))
        .draw()
        .map_err(plot_error)?;
    let mut named = [false; 8];
    for run in series {
        let style = color(run.index).stroke_width(2);
        let drawn = chart
            .draw_series(LineSeries::new(run.points.iter().copied(), style))
            .map_err(plot_error)?;
        // One legend entry per variant, however many runs compare mode made.
        if let Some(seen) = named.get_mut(run.index).filter(|seen| !**seen) {
            *seen = true;
            let legend = color(run.index);
            drawn
                .label(run.variant.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], legend));
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    Ok(())
}

/// `e` in the dashboard: writes `chart`, experiment `id`'s comparison, to
/// `heaplab-ID-UNIXTIME.svg` in heaplab's data directory ([`crate::files::data_dir`], never the
/// directory the user stands in) and returns what to tell the user: the whole path written, or
/// why not.
#[must_use]
pub fn export_dashboard(chart: &ChartData, id: &str) -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = format!("heaplab-{id}-{seconds}.svg");
    let written = crate::files::data_dir()
        .map_err(color_eyre::Report::from)
        .map(|dir| dir.join(name))
        .and_then(|path| write_svg(chart, &path).map(|()| path));
    match written {
        Ok(path) => format!("wrote {}", path.display()),
        Err(e) => format!("could not export: {e:#}"),
    }
}

/// Writes `chart` to `path` by the rules of [`crate::files`].
pub fn write_svg(chart: &ChartData, path: &Path) -> Result<()> {
    crate::files::write(path, svg(chart)?.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_charts_title_names_the_variants_it_compares() {
        assert_eq!(against(["naive", "optimized"]), "naive against optimized");
        assert_eq!(
            against(["naive", "optimized", "crate", "naive"]),
            "naive, optimized and crate"
        );
        assert_eq!(against(["value", "reuse"]), "value against reuse");
    }

    use super::*;

    fn buffer_reuse() -> &'static ExperimentInfo {
        heaplab_experiments::find("buffer-reuse")
            .expect("buffer-reuse")
            .info()
    }

    /// The dashboard's export draws what it is handed (no `App` read back): a bar per
    /// variant with figures, as that variant's row says them, and a line per run of the
    /// history, split where the epoch changes.
    #[test]
    fn the_dashboards_chart_is_drawn_from_its_figures() {
        let info = buffer_reuse();
        let naive = Sample {
            ops: 1000,
            allocs: 3000,
            peak_heap_bytes: 8192,
            measured_for: std::time::Duration::from_millis(2),
            ..Sample::default()
        };
        let point = |t: f64, variant: usize, epoch: u64| Point {
            t,
            variant,
            epoch,
            allocs_per_sec: t * 10.0,
            alloc_bytes_per_sec: 0.0,
            live_heap_bytes: 1.0,
            peak_heap_bytes: 1.0,
            process_heap_bytes: 1.0,
            process_rss_bytes: 1.0,
            ops_per_sec: f64::NAN,
            work_per_sec: 0.0,
        };
        let history = [point(0.1, 0, 1), point(0.2, 0, 1), point(0.3, 1, 2)];
        let chart = from_dashboard(info, 4096, &[Some(naive), None], &history);
        let [group] = chart.groups.as_slice() else {
            panic!("one group: {:?}", chart.groups)
        };
        assert_eq!(
            group.title,
            format!("buffer-reuse (size 4096 {})", info.size_unit)
        );
        let row = VariantRow::from_sample(info, "naive", 4096, &naive);
        assert_eq!(group.bars, [Bar::of(&row, 0)]);
        assert!((group.bars[0].allocs_per_op - 3.0).abs() < 1e-12);
        assert!((group.bars[0].ops_per_sec - 500_000.0).abs() < 1e-6);
        let series = chart.series.expect("the dashboard's chart has its history");
        let runs: Vec<(usize, usize)> = series
            .allocs_per_sec
            .iter()
            .map(|s| (s.index, s.points.len()))
            .collect();
        assert_eq!(runs, [(0, 2), (1, 1)]);
        assert!(series.ops_per_sec.is_empty(), "no point for a NaN rate");
    }
}
