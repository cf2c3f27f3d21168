//! Exports: the comparison as an SVG chart (`e` in the dashboard, `heaplab bench --plot`), drawn
//! with plotters' SVG backend, and a session's samples as CSV or JSON (`--record FILE`). Every
//! file is written through [`Output`], by the rules of [`crate::files`]: whole or not at all,
//! in place for a device or a FIFO, through a symlink to its target.

use std::io::Write as _;
use std::path::Path;

use color_eyre::eyre::{Result, eyre};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;

use crate::UsageError;
use crate::files::{Output, WriteError};
use crate::results::Row;
use crate::runner::{Phase, Sample};
use crate::ui::app::App;
use crate::units;

/// One variant's bar in each of the three panels.
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
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// The experiment's id and size.
    pub title: String,
    /// Its variants, naive first.
    pub bars: Vec<Bar>,
}

/// A run of one variant's points over time (seconds, value).
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

/// Bars from `heaplab bench` rows, one group per experiment in the order measured.
#[must_use]
pub fn from_rows(rows: &[Row]) -> ChartData {
    let mut groups: Vec<BarGroup> = Vec::new();
    for row in rows {
        let title = format!("{} (size {})", row.experiment, row.size);
        let index = crate::catalog::find(&row.experiment)
            .and_then(|e| e.info().variant_index(&row.variant))
            .unwrap_or(0);
        let bar = Bar {
            variant: row.variant.to_string(),
            index,
            allocs_per_op: row.allocs_per_op,
            peak_heap_bytes: row.peak_heap_bytes,
            ops_per_sec: row.ops_per_sec,
        };
        match groups.last_mut() {
            Some(group) if group.title == title => group.bars.push(bar),
            _ => groups.push(BarGroup {
                title,
                bars: vec![bar],
            }),
        }
    }
    ChartData {
        title: "heaplab bench: naive against optimized".to_owned(),
        groups,
        series: None,
    }
}

/// The dashboard's comparison: the latest figures of each variant that ran, and the whole
/// chart history.
#[must_use]
pub fn from_app(app: &App) -> ChartData {
    let info = app.shown_experiment().info();
    let size = app.running.map_or(info.default_size, |r| r.size);
    let bars = app
        .stats
        .iter()
        .enumerate()
        .filter_map(|(index, stats)| {
            stats.map(|s| Bar {
                variant: info.variants[index].name.to_owned(),
                index,
                allocs_per_op: s.allocs_per_op(),
                peak_heap_bytes: s.peak_heap_bytes,
                ops_per_sec: s.ops_per_sec(),
            })
        })
        .collect();
    let series = |value: fn(&crate::ui::app::Point) -> f64| {
        let mut out: Vec<Series> = Vec::new();
        let mut epoch = None;
        for p in &app.history {
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

/// `e` in the dashboard: writes the comparison to `heaplab-ID-UNIXTIME.svg` in heaplab's data
/// directory ([`crate::files::data_dir`], never the directory the user stands in) and returns
/// what to tell the user: the whole path written, or why not.
#[must_use]
pub fn export_dashboard(app: &App) -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = format!("heaplab-{}-{seconds}.svg", app.shown_experiment().info().id);
    let written = crate::files::data_dir()
        .map_err(color_eyre::Report::from)
        .map(|dir| dir.join(name))
        .and_then(|path| write_svg(&from_app(app), &path).map(|()| path));
    match written {
        Ok(path) => format!("wrote {}", path.display()),
        Err(e) => format!("could not export: {e:#}"),
    }
}

/// Writes `chart` to `path` by the rules of [`crate::files`].
pub fn write_svg(chart: &ChartData, path: &Path) -> Result<()> {
    crate::files::write(path, svg(chart)?.as_bytes())
}

/// One recorded sample: the runner's cumulative counters, exactly as sampled.
///
/// It is the file's flat row (seconds as numbers, the phase as a word: what a CSV column can
/// hold), written from [`Sample`], the one definition of a reading; a test checks that every
/// figure a worker sends has its column here.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedSample {
    /// Seconds since the run started.
    pub t: f64,
    /// The experiment's id.
    pub experiment: &'static str,
    /// The variant's name.
    pub variant: &'static str,
    /// The runner epoch (a new one per variant switch or resize).
    pub epoch: u64,
    /// The workload size.
    pub size: usize,
    /// `setting_up`, `warming_up`, `running`, `paused`, `exited` or `over_budget`.
    pub phase: &'static str,
    /// Seconds of measured operations in this epoch.
    pub measured_secs: f64,
    /// Measured operations in this epoch.
    pub ops: u64,
    /// Allocations during them.
    pub allocs: u64,
    /// Deallocations during them.
    pub deallocs: u64,
    /// Reallocations during them.
    pub reallocs: u64,
    /// Bytes allocated during them.
    pub bytes_allocated: u64,
    /// Work they did, in the experiment's unit (`bytes`, `records`, `lookups`...).
    pub work: u64,
    /// The worker's live heap, above its level before setup.
    pub live_heap_bytes: i64,
    /// The worker's peak heap in this epoch.
    pub peak_heap_bytes: u64,
    /// The whole process's live heap.
    pub process_heap_bytes: u64,
    /// The whole process's RSS.
    pub process_rss_bytes: u64,
}

impl From<&Sample> for RecordedSample {
    fn from(s: &Sample) -> Self {
        Self {
            t: s.elapsed.as_secs_f64(),
            experiment: s.experiment,
            variant: s.variant,
            epoch: s.epoch,
            size: s.size,
            phase: match s.phase {
                Phase::SettingUp => "setting_up",
                Phase::WarmingUp => "warming_up",
                Phase::Running => "running",
                Phase::Paused => "paused",
                Phase::Exited => "exited",
                Phase::OverBudget { .. } => "over_budget",
            },
            measured_secs: s.measured_for.as_secs_f64(),
            ops: s.ops,
            allocs: s.allocs,
            deallocs: s.deallocs,
            reallocs: s.reallocs,
            bytes_allocated: s.bytes_allocated,
            work: s.work,
            live_heap_bytes: s.live_heap_bytes,
            peak_heap_bytes: s.peak_heap_bytes,
            process_heap_bytes: s.process_heap_bytes,
            process_rss_bytes: s.process_rss_bytes,
        }
    }
}

/// Which format `--record` writes, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordFormat {
    Csv,
    Json,
}

/// `--record FILE`: every sample of the session, streamed into a temporary file (so the
/// session's length costs no memory) and put in place by [`Recorder::finish`].
#[derive(Debug)]
pub struct Recorder {
    file: Output,
    format: RecordFormat,
    rows: u64,
    error: Option<std::io::Error>,
}

impl Recorder {
    /// Claims `path` now, so a bad path or extension fails before anything runs.
    pub fn create(path: &Path) -> Result<Self, UsageError> {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => RecordFormat::Csv,
            Some(e) if e.eq_ignore_ascii_case("json") => RecordFormat::Json,
            _ => {
                return Err(UsageError(format!(
                    "--record `{}`: name a .csv or a .json file (the extension picks the format)",
                    path.display()
                )));
            }
        };
        let mut recorder = Self {
            file: Output::create(path)?,
            format,
            rows: 0,
            error: None,
        };
        if format == RecordFormat::Json {
            recorder.write(b"[");
        }
        Ok(recorder)
    }

    /// Appends one sample. A write error is kept and reported by [`Recorder::finish`], so the
    /// session it records is not interrupted.
    pub fn record(&mut self, sample: &Sample) {
        let row = RecordedSample::from(sample);
        let text = match self.format {
            // The first row brings the header line with it.
            RecordFormat::Csv => csv_line(&row, self.rows == 0),
            RecordFormat::Json => serde_json::to_string(&row)
                .map(|json| format!("{}\n  {json}", if self.rows == 0 { "" } else { "," }))
                .map_err(color_eyre::Report::from),
        };
        match text {
            Ok(text) => self.write(text.as_bytes()),
            Err(e) => self.error = Some(std::io::Error::other(e.to_string())),
        }
        self.rows += 1;
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.file.stream().and_then(|file| file.write_all(bytes))
        {
            self.error = Some(e);
        }
    }

    /// Ends the file and puts it in place; returns how many samples it holds.
    pub fn finish(mut self) -> Result<u64> {
        if self.format == RecordFormat::Json {
            self.write(b"\n]\n");
        }
        if let Some(error) = self.error {
            return Err(WriteError {
                path: self.file.path().to_owned(),
                error,
            }
            .into());
        }
        self.file.commit(&[])?;
        Ok(self.rows)
    }
}

fn csv_line(row: &RecordedSample, header: bool) -> Result<String> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(header)
        .from_writer(Vec::new());
    writer.serialize(row)?;
    let bytes = writer.into_inner().map_err(|e| eyre!("{e}"))?;
    Ok(String::from_utf8(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every figure of a [`Sample`] (as the worker sends it) has its column in a recorded
    /// row, so a field added to the sample cannot be left out of `--record` unnoticed.
    #[test]
    fn a_recorded_row_holds_every_figure_of_a_sample() {
        let keys = |value: serde_json::Value| -> Vec<String> {
            value
                .as_object()
                .expect("an object")
                .keys()
                .cloned()
                .collect()
        };
        let sample = Sample::default();
        let sent = keys(serde_json::to_value(sample).expect("serializes"));
        let recorded = keys(serde_json::to_value(RecordedSample::from(&sample)).expect("row"));
        for field in sent {
            let column = match field.as_str() {
                "measured_for" => "measured_secs",
                other => other,
            };
            assert!(
                recorded.iter().any(|c| c == column),
                "`{field}` is not recorded: {recorded:?}"
            );
        }
    }
}
