//! Presenter mode (`--presenter`): for a projector at the back of a room. One figure in big
//! digits (the comparison that matters for the running experiment), a line saying what it is,
//! and only the allocation-rate and throughput charts, white on black.

use heaplab_experiments::Experiment;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use tui_big_text::{BigText, PixelSize};

use heaplab_experiments::compare::{Comparison, SpeedVerdict};

use super::app::App;
use super::theme::variant_color;
use crate::runner::Sample;

/// The figure in big digits and the line that says what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFigure {
    /// Short, ASCII (the big font's glyphs): `0 allocs/op`, `2.83x faster`, `-33% heap`.
    pub big: String,
    /// What it compares, with both figures.
    pub caption: String,
}

/// The comparison that matters for this experiment: allocations where naive allocates (the
/// chapter's first target), else peak heap where the experiment claims it, else speed.
#[must_use]
pub fn key_figure(app: &App) -> KeyFigure {
    let experiment: &dyn Experiment = app.shown_experiment();
    let info = experiment.info();
    let Some(running) = app.running else {
        return KeyFigure {
            big: info.id.to_owned(),
            caption: "Enter starts the experiment; Space switches variant".to_owned(),
        };
    };
    let current = app.stats.get(running.variant).copied().flatten();
    let naive = app.stats.first().copied().flatten();
    let name = app.variant_name(running.variant);
    match (naive, current) {
        (Some(naive), Some(other)) if running.variant != 0 => compare(app, &naive, &other, name),
        (_, Some(current)) => KeyFigure {
            big: format!("{:.2} allocs/op", current.allocs_per_op()),
            caption: format!(
                "{name}: {:.2} allocations per operation, {:.1} ns/op · Space switches variant",
                current.allocs_per_op(),
                current.ns_per_op()
            ),
        },
        _ => KeyFigure {
            big: info.id.to_owned(),
            caption: format!("{name}: setting up and warming up"),
        },
    }
}

fn compare(app: &App, naive: &Sample, other: &Sample, name: &str) -> KeyFigure {
    let targets = app.shown_experiment().info().targets;
    // The dashboard's own comparison, speed test included, made when the sample came.
    let comparison = app
        .comparisons
        .iter()
        .find(|c| c.variant == name)
        .map_or_else(
            || Comparison::between(naive.into(), other.into(), true),
            |c| c.figures,
        );
    if naive.allocs_per_op() > 0.0 {
        let caption = format!(
            "allocations per operation: naive {:.2} → {name} {:.2}",
            naive.allocs_per_op(),
            other.allocs_per_op()
        );
        let big = if other.allocs == 0 {
            "0 allocs/op".to_owned()
        } else {
            comparison.allocs_text()
        };
        return KeyFigure { big, caption };
    }
    if targets.peak_heap && naive.peak_heap_bytes > 0 {
        return KeyFigure {
            big: comparison.peak_text(),
            caption: format!(
                "peak heap: naive {} → {name} {}",
                crate::units::bytes(naive.peak_heap_bytes),
                crate::units::bytes(other.peak_heap_bytes)
            ),
        };
    }
    // Big digits say only what the intervals support.
    let big = match comparison.speed {
        Some(speed) if speed.verdict == SpeedVerdict::Same => "same speed".to_owned(),
        Some(speed) if speed.verdict == SpeedVerdict::Slower => {
            format!("{:.2}x slower", 1.0 / speed.speedup)
        }
        Some(speed) => format!("{:.2}x faster", speed.speedup),
        None => comparison.speed_text(),
    };
    KeyFigure {
        big,
        caption: format!(
            "time per operation: naive {:.1} ns → {name} {:.1} ns (neither allocates per op)",
            naive.ns_per_op(),
            other.ns_per_op()
        ),
    }
}

/// The high-contrast base: white on black.
fn base() -> Style {
    Style::new().fg(Color::White).bg(Color::Black)
}

/// Draws presenter mode into `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    buf.set_style(area, base());
    let figure = key_figure(app);
    // Full-size glyphs are 8 cells square; quadrant glyphs 4: the largest that fits.
    let glyphs = figure.big.chars().count() as u16;
    let (pixel, height) = if glyphs * 8 <= area.width && area.height >= 30 {
        (PixelSize::Full, 8)
    } else {
        (PixelSize::Quadrant, 4)
    };
    let [head, big, caption, _, charts] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(height),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ]));
    let info = app.shown_experiment().info();
    let mut spans = vec![
        Span::raw(format!(" {} ", info.id)).add_modifier(Modifier::BOLD | Modifier::REVERSED),
        Span::raw(format!("  {}", info.title)).bold(),
    ];
    if let Some(running) = app.running {
        spans.push(Span::raw("   running: "));
        spans.push(
            Span::raw(app.variant_name(running.variant))
                .fg(variant_color(running.variant))
                .bold(),
        );
    }
    if let Some(badge) = app.workshop.streak.badge() {
        spans.push(Span::raw("   "));
        spans.extend(badge.spans);
    }
    Line::from(spans).render(head, buf);
    let color = app
        .running
        .map_or(Color::White, |r| variant_color(r.variant));
    BigText::builder()
        .pixel_size(pixel)
        .style(Style::new().fg(color).bg(Color::Black))
        .lines(vec![figure.big.into()])
        .centered()
        .build()
        .render(big, buf);
    Line::from(figure.caption)
        .bold()
        .centered()
        .render(caption, buf);
    let [allocs, throughput] = charts.layout(&Layout::horizontal([
        Constraint::Ratio(1, 2),
        Constraint::Ratio(1, 2),
    ]));
    super::charts::per_variant_chart(
        app,
        allocs,
        buf,
        "allocations/s",
        &super::charts::ALLOC_RATE,
    );
    super::charts::per_variant_chart(
        app,
        throughput,
        buf,
        "operations/s",
        &super::charts::OPS_RATE,
    );
}
