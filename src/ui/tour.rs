//! The guided tour (`t`, `heaplab tour [--auto]`): the catalog in chapter order, one step per
//! experiment. Each step shows the "why", runs naive for a few seconds, switches to optimized
//! (naive stays on the charts as a ghost), then holds and shows the result against the
//! chapter's targets, judged by [`crate::scorecard::score`]. Manual mode waits at the result
//! for `n`; auto mode moves on after a pause and starts over after the last step, for a demo
//! loop at a booth.

use heaplab_experiments::Experiment;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget};

use super::fit;
use super::keys::Action;
use super::theme::variant_color;
use super::view::{self, Outcome};
use crate::results::VariantRow;
use crate::runner::Sample;
use crate::scorecard::{self, Score, Verdict};

/// Seconds naive runs before the switch.
pub const NAIVE_SECS: f64 = 6.0;
/// Seconds optimized runs before the result shows.
pub const OPTIMIZED_SECS: f64 = 6.0;
/// Seconds auto mode holds the result before the next step.
pub const AUTO_RESULT_SECS: f64 = 12.0;

/// Whether the tour waits for `n` at each result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TourMode {
    /// Wait at each result for `n`.
    Manual,
    /// Move on by itself, and start over after the last step.
    Auto,
}

/// Where a step is.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Naive is running.
    Naive,
    /// Optimized is running; naive is the ghost.
    Optimized,
    /// Holding: the result against the chapter's targets (`None`: a variant had no figures).
    Result(Option<Box<Score>>),
}

/// The tour's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Tour {
    /// Manual or auto.
    pub mode: TourMode,
    /// The step: an index into the catalog, which is in chapter order.
    pub step: usize,
    /// Where the step is.
    pub stage: Stage,
    /// When the stage began (seconds since the dashboard started).
    pub since: f64,
    /// Lines the why is scrolled down in manual mode (↑/↓); a new step starts at the top.
    pub scroll: u16,
}

/// What the tour asks of the dashboard: the tour keeps its own clock and stage, and the
/// dashboard does the running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Start this experiment (a catalog index) at its naive variant: a new step.
    Start(usize),
    /// Switch the running experiment to its next variant (naive to optimized).
    SwitchVariant,
}

/// What the tour sees of the dashboard when its clock advances.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// The catalog, in chapter order.
    pub experiments: &'a [&'static dyn Experiment],
    /// The experiment running now (a catalog index), if any.
    pub running: Option<usize>,
    /// Its variants' latest figures, by variant index.
    pub stats: &'a [Option<Sample>],
    /// Its variants' steady-state intervals (ns/op), by variant index: the speed is judged
    /// on these, as the dashboard's verdict line judges it, so the two agree.
    pub intervals: &'a [std::collections::VecDeque<f64>],
    /// Its workload size.
    pub size: usize,
}

impl Tour {
    /// A tour in `mode` at `step`, its naive stage beginning at `now`; the dashboard starts
    /// the step's experiment ([`Request::Start`]).
    #[must_use]
    pub fn new(mode: TourMode, step: usize, now: f64) -> Self {
        Tour {
            mode,
            step,
            stage: Stage::Naive,
            since: now,
            scroll: 0,
        }
    }

    /// The tour panel's keys: ↑/↓ scroll the why, `n`/`N` step forward or back among `count`
    /// experiments (asking the dashboard to start the step's experiment).
    pub fn key(&mut self, action: Action, count: usize, now: f64) -> Outcome<Request> {
        match action {
            Action::SelectPrevious | Action::SelectNext => {
                let down = action == Action::SelectNext;
                self.scroll = view::step(self.scroll, down, view::UNBOUNDED);
                Outcome::Consumed
            }
            Action::TourNext | Action::TourPrevious => {
                Outcome::Request(self.step(action == Action::TourNext, count, now))
            }
            _ => Outcome::Ignored,
        }
    }

    /// Moves one step forward (`n`) or back (`N`) among `count` experiments (after the last
    /// comes the first) and returns the experiment to start.
    pub fn step(&mut self, forward: bool, count: usize, now: f64) -> Request {
        let next = if forward {
            (self.step + 1) % count
        } else {
            (self.step + count - 1) % count
        };
        *self = Tour::new(self.mode, next, now);
        Request::Start(next)
    }

    /// Advances the tour's clock: switches to optimized, shows the result, and in auto mode
    /// moves on. Stages wait for figures: a variant whose setup is slow gets its full time
    /// measured.
    pub fn tick(&mut self, now: f64, seen: &Seen) -> Option<Request> {
        let elapsed = now - self.since;
        let has_figures = |variant: usize| {
            seen.running == Some(self.step) && seen.stats.get(variant).copied().flatten().is_some()
        };
        match self.stage {
            Stage::Naive if elapsed >= NAIVE_SECS && has_figures(0) => {
                self.enter(Stage::Optimized, now);
                Some(Request::SwitchVariant)
            }
            Stage::Optimized if elapsed >= OPTIMIZED_SECS && has_figures(1) => {
                let score = result(seen, self.step).map(Box::new);
                self.enter(Stage::Result(score), now);
                None
            }
            Stage::Result(_) if self.mode == TourMode::Auto && elapsed >= AUTO_RESULT_SECS => {
                Some(self.step(true, seen.experiments.len(), now))
            }
            _ => None,
        }
    }

    fn enter(&mut self, stage: Stage, now: f64) {
        self.stage = stage;
        self.since = now;
    }
}

/// The step's figures as bench rows, scored by the scorecard's own rules: ns/op from the
/// steady-state intervals, as the dashboard's table and verdict line take it.
fn result(seen: &Seen, step: usize) -> Option<Score> {
    let info = seen.experiments[step].info();
    let rows: Vec<VariantRow> = seen
        .stats
        .iter()
        .enumerate()
        .filter_map(|(i, stats)| {
            let sample = stats.as_ref()?;
            let intervals: Vec<f64> = seen
                .intervals
                .get(i)
                .map(|d| d.iter().copied().collect())
                .unwrap_or_default();
            let mut sample = *sample;
            sample.size = seen.size;
            Some(VariantRow::from_intervals(info, i, &sample, &intervals))
        })
        .collect();
    scorecard::score(&rows, info.targets)
}

/// The width the tour panel takes: two fifths of the screen, at least the list's width.
#[must_use]
pub fn panel_width(screen: u16, list_width: u16) -> u16 {
    (screen * 2 / 5).max(list_width)
}

fn verdict_span(verdict: Verdict) -> Span<'static> {
    match verdict {
        Verdict::Met => Span::raw(" met ")
            .fg(Color::Black)
            .bg(Color::LightGreen)
            .bold(),
        Verdict::NotMet => Span::raw(" NOT MET ")
            .fg(Color::Black)
            .bg(Color::LightRed)
            .bold(),
        Verdict::Inconclusive => Span::raw(" inconclusive ")
            .fg(Color::Black)
            .bg(Color::Yellow)
            .bold(),
        Verdict::NotApplicable => Span::raw(" n/a ").fg(Color::Gray),
    }
}

/// Draws the tour panel for `tour` into `area`: the step's experiment out of `experiments`,
/// its stage timed at `now`, the why scrolled by the tour's own scroll in manual mode.
pub fn render(
    tour: &Tour,
    experiments: &[&'static dyn Experiment],
    now: f64,
    area: Rect,
    buf: &mut Buffer,
) {
    let experiment: &dyn Experiment = experiments[tour.step];
    let info = experiment.info();
    let mode = match tour.mode {
        TourMode::Manual => "manual",
        TourMode::Auto => "auto",
    };
    let room = usize::from(area.width.saturating_sub(2));
    let (step, steps) = (tour.step + 1, experiments.len());
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(Style::new().fg(Color::LightYellow))
        .title(fit::longest_or_empty(
            room,
            &[
                format!(" tour · step {step}/{steps} · {mode} "),
                format!(" tour · {step}/{steps} · {mode} "),
                format!(" tour {step}/{steps} "),
            ],
        ))
        .title_bottom(fit::longest_or_empty(
            room,
            &[
                " n next · N back · ↑/↓ scroll · t ends ",
                " n next · N back · t ends ",
                " n/N step · t ends ",
                " t ends ",
            ],
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    let width = usize::from(inner.width.max(1));
    // Sentences keep a column clear of the border: a word there is never one cut by it.
    let paragraph = width.saturating_sub(1);

    let mut lines = vec![
        Line::from(fit::longest_or_empty(
            width,
            &[
                format!(
                    "{} {} · {}",
                    info.section.code(),
                    info.section.title(),
                    info.id
                ),
                format!("{} · {}", info.section.code(), info.id),
                info.id.to_owned(),
            ],
        ))
        .bold(),
    ];
    lines.extend(
        fit::wrap(paragraph, info.title)
            .into_iter()
            .map(|line| Line::from(line).fg(Color::LightYellow).bold()),
    );
    lines.push(Line::raw(""));
    let elapsed = now - tour.since;
    lines.extend(stage_lines(tour, elapsed, width));
    lines.push(Line::raw(""));
    if let Stage::Result(score) = &tour.stage {
        lines.extend(result_lines(score.as_deref(), paragraph));
        lines.push(Line::raw(""));
    }
    // The why quotes figures measured once, in release builds on some machine: say so, or a
    // quoted "265 ns" reads as a contradiction of the live table beside it.
    let provenance = fit::longest_or_empty(
        paragraph,
        &[
            "why (figures in it: earlier bench runs, not this one)",
            "why (its figures: earlier bench runs)",
            "why (figures: earlier runs)",
            "why",
        ],
    );
    lines.push(Line::from(vec![
        Span::raw("why").bold(),
        Span::raw(provenance.trim_start_matches("why").to_owned()).fg(Color::Gray),
    ]));
    let why = fit::wrap(paragraph, info.why);
    let room = usize::from(inner.height).saturating_sub(lines.len());
    let overflow = why.len().saturating_sub(room);
    // Auto mode scrolls the why through the whole step, so a booth visitor can read it all;
    // in manual mode ↑/↓ scroll it.
    let scroll = match tour.mode {
        TourMode::Auto => {
            let step_secs = NAIVE_SECS + OPTIMIZED_SECS + AUTO_RESULT_SECS;
            let done = match tour.stage {
                Stage::Naive => elapsed,
                Stage::Optimized => NAIVE_SECS + elapsed,
                Stage::Result(_) => NAIVE_SECS + OPTIMIZED_SECS + elapsed,
            };
            ((done / step_secs).clamp(0.0, 1.0) * overflow as f64) as usize
        }
        TourMode::Manual => usize::from(tour.scroll).min(overflow),
    };
    lines.extend(why.into_iter().skip(scroll).map(Line::raw));
    Paragraph::new(lines).render(inner, buf);
}

/// The three stages, the current one marked with the seconds it has left, each in the
/// longest of its wordings that fits `width`.
fn stage_lines(tour: &Tour, elapsed: f64, width: usize) -> Vec<Line<'static>> {
    let left = |secs: f64| format!(" ({:.0} s)", (secs - elapsed).max(0.0).ceil());
    let stage_index = match tour.stage {
        Stage::Naive => 0,
        Stage::Optimized => 1,
        Stage::Result(_) => 2,
    };
    let stages = [
        (
            vec![
                format!("1 naive runs {NAIVE_SECS:.0} s"),
                "1 naive".to_owned(),
            ],
            left(NAIVE_SECS),
            Some(0),
        ),
        (
            vec![
                format!("2 optimized runs {OPTIMIZED_SECS:.0} s, naive as ghost"),
                format!("2 optimized runs {OPTIMIZED_SECS:.0} s"),
                "2 optimized".to_owned(),
            ],
            left(OPTIMIZED_SECS),
            Some(1),
        ),
        (
            vec![
                "3 result vs the chapter's targets".to_owned(),
                "3 result vs targets".to_owned(),
                "3 result".to_owned(),
            ],
            match tour.mode {
                TourMode::Manual => " (n next)".to_owned(),
                TourMode::Auto => left(AUTO_RESULT_SECS),
            },
            None,
        ),
    ];
    let mut lines = Vec::new();
    for (i, (texts, remaining, variant)) in stages.into_iter().enumerate() {
        let (marker, style) = match i.cmp(&stage_index) {
            std::cmp::Ordering::Less => ("✔ ", Style::new().fg(Color::Gray)),
            std::cmp::Ordering::Equal => ("▶ ", Style::new().bold()),
            std::cmp::Ordering::Greater => ("· ", Style::new().fg(Color::Gray)),
        };
        // The current stage's time left goes after its words have shortened, before the stage
        // is left with none.
        let mut wordings: Vec<String> = Vec::new();
        if i == stage_index {
            wordings.extend(texts.iter().map(|t| format!("{t}{remaining}")));
        }
        wordings.extend(texts.iter().cloned());
        let room = width.saturating_sub(2);
        let Some(chosen) = fit::longest_index(room, &wordings) else {
            lines.push(Line::raw(""));
            continue;
        };
        let with_time = i == stage_index && chosen < texts.len();
        let text = texts[chosen % texts.len()].clone();
        let mut spans = vec![Span::styled(marker, style)];
        spans.push(match variant {
            Some(v) if i == stage_index => Span::styled(text, style.fg(variant_color(v))),
            _ => Span::styled(text, style),
        });
        if with_time {
            spans.push(Span::raw(remaining));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// Each target's verdict and figures, or why there are none.
fn result_lines(score: Option<&Score>, width: usize) -> Vec<Line<'static>> {
    let Some(score) = score else {
        return fit::wrap(width, "no figures for both variants: nothing to judge")
            .into_iter()
            .map(Line::raw)
            .collect();
    };
    let mut lines = Vec::new();
    for (name, check) in [
        ("allocations", &score.allocations),
        ("peak heap", &score.peak_heap),
        ("throughput", &score.throughput),
    ] {
        lines.push(Line::from(vec![
            Span::raw(format!("{name}: ")).bold(),
            verdict_span(check.verdict),
        ]));
        for text in fit::wrap(
            width.saturating_sub(2),
            &format!("{} (target: {})", check.measured, check.target),
        ) {
            lines.push(Line::raw(format!("  {text}")));
        }
    }
    lines
}
