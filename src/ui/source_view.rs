//! The source view (`s`): every variant's marked source (`// region:VARIANT` blocks) side by
//! side, highlighted by syntect, with the lines the experiment marks as allocating flagged in
//! the gutter. Side by side when each variant gets at least [`MIN_PANE_WIDTH`] columns,
//! stacked otherwise (an 80-column terminal).
//!
//! The marker convention: a line of an experiment's source that allocates ends in `// alloc`;
//! rustfmt sometimes moves such a trailing comment onto a line of its own, so a line that is
//! nothing but `// alloc` marks the line before it. Markers are stripped from what is shown.
//!
//! Highlighting is done once per experiment, when the view opens for it ([`SourcePane::build`],
//! called by `Workshop::prepare`), and the highlighted lines are kept in the view's state
//! (`Workshop::source`) until the view opens for another experiment; every frame only borrows
//! them ([`render`] takes the pane by `&`, and a shown span's text is a slice of it).
//!
//! Why a cache in the view's state and not a `OnceLock<Mutex<..>>` keyed by experiment and
//! variant here: the state is filled where the experiment shown by the view changes (a key, a
//! tour step), outside drawing, so drawing stays a pure function of `&App` with no hidden
//! shared state, no lock per frame and no highlighted copy of every experiment ever opened.
//! What is left per frame is ratatui's own work: about 200 allocations for a 120x36 frame,
//! against some 22,000 to highlight string-processing (and, the first time in the process,
//! about 280,000 more to compile the Rust grammar: the one-second spike heaplab's own
//! allocation rate shows when the view first opens). `tests/source_view_cost.rs` measures both.

use std::sync::OnceLock;

use heaplab_experiments::ExperimentInfo;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget};
use syntect::easy::HighlightLines;
use syntect::highlighting::{Theme, ThemeSet};
use syntect::parsing::SyntaxSet;

use super::theme::variant_color;

/// What marks an allocating line in an experiment's source.
pub const ALLOC_MARKER: &str = "// alloc";
/// The narrowest a pane may be before the panes stack instead.
pub const MIN_PANE_WIDTH: u16 = 50;
/// The gutter symbol of an allocating line.
pub const ALLOC_GUTTER: &str = "●";
/// An allocating line's gutter: [`ALLOC_GUTTER`] and the space before the code.
const GUTTER_MARK: &str = "● ";

/// One shown line: highlighted pieces, and whether the experiment marks it as allocating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// Text pieces with their highlight colour.
    pub spans: Vec<(Color, String)>,
    /// Marked `// alloc`.
    pub allocates: bool,
}

impl SourceLine {
    /// Width in characters.
    #[must_use]
    pub fn width(&self) -> usize {
        self.spans
            .iter()
            .map(|(_, text)| text.chars().count())
            .sum()
    }

    /// The spans to show from column `from` on, in `width` columns; a line that goes on past
    /// them ends in [`MORE_RIGHT`] instead of its last visible character. The spans borrow
    /// their text from `self`: a frame copies no source text.
    fn visible(&self, from: usize, width: usize) -> Vec<Span<'_>> {
        let continues = self.width() > from + width;
        let room = if continues {
            width.saturating_sub(1)
        } else {
            width
        };
        let mut skip = from;
        let mut left = room;
        let mut spans = Vec::new();
        for (color, text) in &self.spans {
            let length = text.chars().count();
            if skip >= length {
                skip -= length;
                continue;
            }
            let shown = chars_from(text, skip, left);
            skip = 0;
            left -= shown.chars().count();
            spans.push(Span::styled(shown, Style::new().fg(*color)));
            if left == 0 {
                break;
            }
        }
        if continues && width > 0 {
            spans.push(Span::raw(MORE_RIGHT).fg(Color::DarkGray).bold());
        }
        spans
    }
}

/// The part of `text` from character `skip` on, at most `take` characters long.
fn chars_from(text: &str, skip: usize, take: usize) -> &str {
    let rest = &text[byte_offset(text, skip)..];
    &rest[..byte_offset(rest, take)]
}

/// Where character `chars` of `text` starts (its length if it has no more characters).
fn byte_offset(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

/// Ends a line that goes on past the pane's right edge (→ scrolls to it).
pub const MORE_RIGHT: &str = "›";

/// One variant's source, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantSource {
    /// The variant's index.
    pub variant: usize,
    /// Its lines.
    pub lines: Vec<SourceLine>,
}

/// The source view's content for one experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePane {
    /// The experiment's id.
    pub experiment: &'static str,
    /// Each variant that marks source, in the experiment's order.
    pub variants: Vec<VariantSource>,
}

/// Splits marked source into lines without markers, each with whether it allocates.
#[must_use]
pub fn strip_markers(source: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for line in source.lines() {
        if line.trim() == ALLOC_MARKER {
            if let Some(previous) = out.last_mut() {
                previous.1 = true;
            }
            continue;
        }
        match line.strip_suffix(ALLOC_MARKER) {
            Some(code) => out.push((code.trim_end().to_owned(), true)),
            None => out.push((line.to_owned(), false)),
        }
    }
    out
}

fn highlighter() -> &'static (SyntaxSet, Theme) {
    static HIGHLIGHTER: OnceLock<(SyntaxSet, Theme)> = OnceLock::new();
    HIGHLIGHTER.get_or_init(|| {
        let syntaxes = SyntaxSet::load_defaults_newlines();
        let mut themes = ThemeSet::load_defaults().themes;
        let theme = themes
            .remove("base16-ocean.dark")
            .or_else(|| themes.into_values().next())
            .unwrap_or_default();
        (syntaxes, theme)
    })
}

impl SourcePane {
    /// Highlights every variant's marked source of `info`.
    #[must_use]
    pub fn build(info: &ExperimentInfo) -> Self {
        let (syntaxes, theme) = highlighter();
        let syntax = syntaxes
            .find_syntax_by_extension("rs")
            .unwrap_or_else(|| syntaxes.find_syntax_plain_text());
        let variants = info
            .variants
            .iter()
            .enumerate()
            .filter_map(|(variant, v)| {
                let source = info.variant_source(v.name)?;
                let mut highlight = HighlightLines::new(syntax, theme);
                let lines = strip_markers(&source)
                    .into_iter()
                    .map(|(code, allocates)| {
                        let with_newline = format!("{code}\n");
                        let spans = match highlight.highlight_line(&with_newline, syntaxes) {
                            Ok(pieces) => pieces
                                .into_iter()
                                .map(|(style, text)| {
                                    let c = style.foreground;
                                    (
                                        Color::Rgb(c.r, c.g, c.b),
                                        text.trim_end_matches('\n').to_owned(),
                                    )
                                })
                                .filter(|(_, text)| !text.is_empty())
                                .collect(),
                            // A grammar error costs the colour of a line, never the line.
                            Err(_) => vec![(Color::Reset, code)],
                        };
                        SourceLine { spans, allocates }
                    })
                    .collect();
                Some(VariantSource { variant, lines })
            })
            .collect();
        Self {
            experiment: info.id,
            variants,
        }
    }

    /// The widest line's width in characters, over every variant.
    #[must_use]
    pub fn widest(&self) -> usize {
        self.variants
            .iter()
            .flat_map(|v| &v.lines)
            .map(SourceLine::width)
            .max()
            .unwrap_or(0)
    }

    /// The longest variant's line count.
    #[must_use]
    pub fn longest(&self) -> usize {
        self.variants
            .iter()
            .map(|v| v.lines.len())
            .max()
            .unwrap_or(0)
    }
}

/// Draws `pane` (of `info`) scrolled down by `scroll` lines and right by `hscroll` columns into
/// `area`.
pub fn render(
    pane: &SourcePane,
    info: &ExperimentInfo,
    (scroll, hscroll): (u16, u16),
    area: Rect,
    buf: &mut Buffer,
) {
    let [head, body] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
    ]));
    Line::from(vec![
        Span::raw(format!(" source · {} · ", info.id)).bold(),
        Span::raw(ALLOC_GUTTER).fg(Color::LightRed).bold(),
        Span::raw(" a line that allocates, as the experiment marks it · ↑/↓ ←/→ scroll"),
        Span::raw(if hscroll > 0 {
            format!(" (from column {})", hscroll + 1)
        } else {
            String::new()
        }),
        Span::raw(" · s or Esc closes"),
    ])
    .render(head, buf);
    if pane.variants.is_empty() {
        Paragraph::new(format!(
            "{} marks no source regions (// region:VARIANT .. // endregion:VARIANT).",
            info.id
        ))
        .render(body, buf);
        return;
    }
    let count = pane.variants.len() as u16;
    let side_by_side = body.width / count >= MIN_PANE_WIDTH;
    let constraints = vec![Constraint::Ratio(1, u32::from(count)); pane.variants.len()];
    let areas = if side_by_side {
        body.layout_vec(&Layout::horizontal(constraints))
    } else {
        body.layout_vec(&Layout::vertical(constraints))
    };
    for (source, pane_area) in pane.variants.iter().zip(areas) {
        render_variant(source, info, (scroll, hscroll), pane_area, buf);
    }
}

fn render_variant(
    source: &VariantSource,
    info: &ExperimentInfo,
    (scroll, hscroll): (u16, u16),
    area: Rect,
    buf: &mut Buffer,
) {
    let variant = &info.variants[source.variant];
    let marked = source.lines.iter().filter(|l| l.allocates).count();
    let color = variant_color(source.variant);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(color))
        .title(Line::from(vec![
            Span::raw(format!(" {} ", variant.name)).fg(color).bold(),
            Span::raw(format!("{} ", variant.summary)),
        ]))
        .title_bottom(Line::from(match marked {
            0 => " no line marked as allocating ".to_owned(),
            1 => " 1 line marked as allocating ".to_owned(),
            n => format!(" {n} lines marked as allocating "),
        }));
    let inner = block.inner(area);
    let visible = usize::from(inner.height);
    // What is left of the pane's width after the gutter.
    let code_width = usize::from(inner.width).saturating_sub(2);
    // Stop scrolling once the longest pane's end is in view.
    let scroll = usize::from(scroll).min(source.lines.len().saturating_sub(visible));
    let lines: Vec<Line> = source
        .lines
        .iter()
        .skip(scroll)
        .take(visible)
        .map(|line| {
            let gutter = if line.allocates {
                Span::styled(
                    GUTTER_MARK,
                    Style::new()
                        .fg(Color::LightRed)
                        .add_modifier(Modifier::BOLD),
                )
            } else {
                Span::raw("  ")
            };
            let mut spans = vec![gutter];
            spans.extend(line.visible(usize::from(hscroll), code_width));
            Line::from(spans)
        })
        .collect();
    Paragraph::new(lines).block(block).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_shown_from_a_column_and_marked_where_it_goes_on() {
        let line = SourceLine {
            spans: vec![
                (Color::Red, "let ".into()),
                (Color::Blue, "value = 1;".into()),
            ],
            allocates: false,
        };
        let text = |spans: Vec<Span>| {
            spans
                .iter()
                .map(|s| s.content.to_string())
                .collect::<String>()
        };
        assert_eq!(line.width(), 14);
        assert_eq!(text(line.visible(0, 14)), "let value = 1;");
        assert_eq!(text(line.visible(0, 8)), "let val›");
        assert_eq!(text(line.visible(4, 10)), "value = 1;");
        assert_eq!(text(line.visible(2, 5)), "t va›");
        assert_eq!(text(line.visible(14, 5)), "");
        // Colours follow the text they belong to.
        let spans = line.visible(2, 20);
        assert_eq!(spans[0].style.fg, Some(Color::Red));
        assert_eq!(spans[1].style.fg, Some(Color::Blue));
    }

    #[test]
    fn a_shown_line_borrows_its_text_and_cuts_at_characters() {
        let line = SourceLine {
            spans: vec![
                (Color::Red, "let é = ".into()),
                (Color::Blue, "\"→x\";".into()),
            ],
            allocates: true,
        };
        let spans = line.visible(2, 8);
        let text: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, ["t é = ", "\"", MORE_RIGHT]);
        // A frame copies no source text: every span is a slice of the highlighted line.
        assert!(
            spans
                .iter()
                .all(|s| matches!(s.content, std::borrow::Cow::Borrowed(_)))
        );
        assert_eq!(chars_from("a→é", 1, 1), "→");
        assert_eq!(chars_from("a→é", 1, 9), "→é");
        assert_eq!(chars_from("a→é", 3, 2), "");
        assert!(GUTTER_MARK.starts_with(ALLOC_GUTTER));
    }

    #[test]
    fn markers_are_stripped_and_mark_their_line() {
        let source =
            "let a = 1;\nlet v = vec![0; 8]; // alloc\nformat!(\n    // alloc\n    \"x\",\n)";
        let lines = strip_markers(source);
        assert_eq!(
            lines,
            vec![
                ("let a = 1;".to_owned(), false),
                ("let v = vec![0; 8];".to_owned(), true),
                ("format!(".to_owned(), true),
                ("    \"x\",".to_owned(), false),
                (")".to_owned(), false),
            ]
        );
    }

    #[test]
    fn every_experiment_highlights_without_losing_a_character() {
        for experiment in crate::catalog::catalog() {
            let info = experiment.info();
            let pane = SourcePane::build(info);
            assert!(!pane.variants.is_empty(), "{} shows no source", info.id);
            for shown in &pane.variants {
                let source = info
                    .variant_source(info.variants[shown.variant].name)
                    .expect("marked source");
                let expected: Vec<String> =
                    strip_markers(&source).into_iter().map(|(l, _)| l).collect();
                let got: Vec<String> = shown
                    .lines
                    .iter()
                    .map(|l| l.spans.iter().map(|(_, t)| t.as_str()).collect())
                    .collect();
                assert_eq!(got, expected, "{}", info.id);
                assert!(
                    got.iter().all(|l| !l.trim_end().ends_with(ALLOC_MARKER)),
                    "{}: a marker is shown",
                    info.id
                );
            }
        }
    }
}
