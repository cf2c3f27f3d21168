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
use super::fit;
use super::theme::variant_color;
use crate::runner::Sample;

/// The figure in big digits and the line that says what it is.
///
/// Not a figure but its words: the one comparison the presenter shows, written to fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFigure {
    /// Short, ASCII (the big font's glyphs): `0 allocs/op`, `2.83x faster`, `-33% heap`.
    pub big: String,
    /// What it compares, with both figures.
    pub caption: String,
    /// Shorter wordings of the caption, longest first, for a narrow screen.
    pub shorter: Vec<String>,
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
            shorter: vec!["Enter starts the experiment".to_owned()],
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
            shorter: vec![format!(
                "{name}: {:.2} allocs/op, {:.1} ns/op",
                current.allocs_per_op(),
                current.ns_per_op()
            )],
        },
        _ => KeyFigure {
            big: info.id.to_owned(),
            caption: format!("{name}: setting up and warming up"),
            shorter: vec![format!("{name}: setting up")],
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
        let shorter = vec![format!(
            "allocs/op: naive {:.2} → {name} {:.2}",
            naive.allocs_per_op(),
            other.allocs_per_op()
        )];
        return KeyFigure {
            big,
            caption,
            shorter,
        };
    }
    if targets.peak_heap && naive.peak_heap_bytes > 0 {
        let (before, after) = (naive.peak_heap_bytes, other.peak_heap_bytes);
        return KeyFigure {
            big: comparison.peak_text(),
            caption: format!(
                "peak heap: naive {} → {name} {}",
                crate::units::bytes(before),
                crate::units::bytes(after)
            ),
            shorter: vec![format!(
                "peak: {} → {}",
                crate::units::bytes(before),
                crate::units::bytes(after)
            )],
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
    let (before, after) = (naive.ns_per_op(), other.ns_per_op());
    KeyFigure {
        big,
        caption: format!(
            "time per operation: naive {before:.1} ns → {name} {after:.1} ns (neither allocates \
             per op)"
        ),
        shorter: vec![
            format!("time per operation: naive {before:.1} ns → {name} {after:.1} ns"),
            format!("ns/op: naive {before:.1} → {name} {after:.1}"),
        ],
    }
}

/// The big figure, then the same without its trailing words, as long as a number stays with
/// what it counts: `2.83x faster`, `2.83x`.
fn big_wordings(big: &str) -> Vec<String> {
    let words: Vec<&str> = big.split(' ').collect();
    let mut out = vec![big.to_owned()];
    for end in (1..words.len()).rev() {
        let last = words[end - 1];
        // `64 MiB` must not become `64`.
        let bare_number = last
            .trim_start_matches(['-', '+', '~'])
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.');
        if !bare_number {
            out.push(words[..end].join(" "));
        }
    }
    out
}

/// The head line: the experiment, its title, the running variant and the badge; the badge
/// goes first, then the title.
fn head_spans(app: &App, room: usize) -> Vec<Span<'static>> {
    let info = app.shown_experiment().info();
    let running = app
        .running
        .map(|r| (app.variant_name(r.variant), variant_color(r.variant)));
    let badge = app.workshop.streak.badge();
    let badge_text = badge.as_ref().map(ToString::to_string);
    let id = format!(" {} ", info.id);
    let title = format!("  {}", info.title);
    let run = running.map(|(name, _)| format!("   running: {name}"));
    let choices = [(true, true), (true, false), (false, false)];
    let wordings: Vec<String> = choices
        .iter()
        .map(|&(with_title, with_badge)| {
            let mut text = id.clone();
            if with_title {
                text.push_str(&title);
            }
            text.push_str(run.as_deref().unwrap_or_default());
            if with_badge && let Some(badge) = &badge_text {
                text.push_str("   ");
                text.push_str(badge);
            }
            text
        })
        .collect();
    let Some(chosen) = fit::longest_index(room, &wordings) else {
        return Vec::new();
    };
    let (with_title, with_badge) = choices[chosen];
    let mut spans = vec![Span::raw(id).add_modifier(Modifier::BOLD | Modifier::REVERSED)];
    if with_title {
        spans.push(Span::raw(title).bold());
    }
    if let Some((name, color)) = running {
        spans.push(Span::raw("   running: "));
        spans.push(Span::raw(name).fg(color).bold());
    }
    if with_badge && let Some(badge) = badge {
        spans.push(Span::raw("   "));
        spans.extend(badge.spans);
    }
    spans
}

/// The high-contrast base: white on black.
fn base() -> Style {
    Style::new().fg(Color::White).bg(Color::Black)
}

/// Draws presenter mode into `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    buf.set_style(area, base());
    let figure = key_figure(app);
    // Full-size glyphs are 8 cells square, quadrant glyphs 4: the largest that fits, and the
    // figure's trailing words go (never its number) when even the small glyphs do not.
    let big_wordings = big_wordings(&figure.big);
    let full = area.height >= 30 && fit::width(&figure.big) * 8 <= usize::from(area.width);
    let (pixel, height, glyph) = if full {
        (PixelSize::Full, 8, 8)
    } else {
        (PixelSize::Quadrant, 4, 4)
    };
    let big_text = fit::longest_or_empty(usize::from(area.width / glyph), &big_wordings);
    let [head, big, caption, _, charts] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(height),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ]));
    Line::from(head_spans(app, usize::from(area.width))).render(head, buf);
    let color = app
        .running
        .map_or(Color::White, |r| variant_color(r.variant));
    BigText::builder()
        .pixel_size(pixel)
        .style(Style::new().fg(color).bg(Color::Black))
        .lines(vec![big_text.into()])
        .centered()
        .build()
        .render(big, buf);
    let mut captions = vec![figure.caption];
    captions.extend(figure.shorter);
    Line::from(fit::longest_or_empty(usize::from(area.width), &captions))
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
