//! The source view (`s`): every variant's marked source (`// region:VARIANT` blocks) side by
//! side, highlighted by syntect, each line's gutter showing the allocations per operation
//! measured on it (and bytes per operation on a wide pane), from the variant's latest capture
//! of allocation sites ([`heaplab_experiments::sites`]): the figures `a` and
//! `bench --sites` show. Nothing is declared by hand: a line that never allocated shows
//! nothing, and a variant not yet run this session says so. Side by side when each variant
//! gets at least [`MIN_PANE_WIDTH`] columns, stacked otherwise (an 80-column terminal).
//!
//! Highlighting is done once per experiment, when the view opens for it ([`SourcePane::build`],
//! called by [`SourceView::prepare`]), and the highlighted lines are kept in the view's state
//! ([`SourceView::pane`]) until the view opens for another experiment; every frame only borrows
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
use heaplab_experiments::sites::Sites;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget};
use syntect::easy::HighlightLines;
use syntect::highlighting::{Theme, ThemeSet};
use syntect::parsing::SyntaxSet;

use super::keys::Action;
use super::theme::variant_color;
use super::view::{self, Outcome};

mod gutter;

pub use gutter::per_op_text;
use gutter::{UNMEASURED_GUTTER, gutter, gutter_width, measured};

/// The narrowest a pane may be before the panes stack instead.
pub const MIN_PANE_WIDTH: u16 = 50;
/// A pane at least this wide shows bytes per operation in the gutter too.
pub const WIDE_PANE: u16 = 80;
/// One shown line: highlighted pieces, and where it is in its source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// Text pieces with their highlight colour.
    pub spans: Vec<(Color, String)>,
    /// The source file (empty for the blank line between two blocks).
    pub file: &'static str,
    /// Its line number there (0: none).
    pub line: u32,
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
                let source = info.variant_lines(v.name)?;
                let mut highlight = HighlightLines::new(syntax, theme);
                let lines = source
                    .into_iter()
                    .map(|region_line| {
                        let code = region_line.text.to_owned();
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
                        SourceLine {
                            spans,
                            file: region_line.file,
                            line: region_line.line,
                        }
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

/// Columns one press of ←/→ scrolls the source view.
pub const HSCROLL_STEP: u16 = 8;

/// The source view's own state: its highlighted pane and where it is scrolled to.
#[derive(Debug, Default)]
pub struct SourceView {
    /// The highlighted content, built when the view opens for an experiment.
    pub pane: Option<SourcePane>,
    /// Lines scrolled down.
    pub scroll: u16,
    /// Columns scrolled right.
    pub hscroll: u16,
}

impl SourceView {
    /// Opens at the top left, for `info`.
    pub fn open(&mut self, info: &ExperimentInfo) {
        self.scroll = 0;
        self.hscroll = 0;
        self.prepare(info);
    }

    /// Highlights `info`'s variants unless the pane already holds them: highlighting happens
    /// here, never while drawing. Another experiment's pane starts at the top left.
    pub fn prepare(&mut self, info: &ExperimentInfo) {
        if self.pane.as_ref().is_none_or(|p| p.experiment != info.id) {
            self.pane = Some(SourcePane::build(info));
            self.scroll = 0;
            self.hscroll = 0;
        }
    }

    /// ↑/↓ scroll by a line, no further than the longest variant; ←/→ by [`HSCROLL_STEP`]
    /// columns, no further than where the widest line's last character is at the left edge.
    pub fn key(&mut self, action: Action) -> Outcome {
        let pane = self.pane.as_ref();
        match action {
            Action::SelectPrevious | Action::SelectNext => {
                let longest = pane.map_or(usize::from(u16::MAX), SourcePane::longest);
                let last = u16::try_from(longest.saturating_sub(1)).unwrap_or(u16::MAX);
                self.scroll = view::step(self.scroll, action == Action::SelectNext, last);
            }
            Action::ScrollLeft | Action::ScrollRight => {
                if let Some(pane) = pane {
                    let limit = u16::try_from(pane.widest().saturating_sub(1)).unwrap_or(u16::MAX);
                    self.hscroll = if action == Action::ScrollRight {
                        self.hscroll.saturating_add(HSCROLL_STEP).min(limit)
                    } else {
                        self.hscroll.saturating_sub(HSCROLL_STEP)
                    };
                }
            }
            _ => return Outcome::Ignored,
        }
        Outcome::Consumed
    }
}

/// Draws `pane` (of `info`) scrolled down by `scroll` lines and right by `hscroll` columns into
/// `area`, each variant's gutters from `sites(variant)`, its latest capture if any.
pub fn render<'a>(
    pane: &SourcePane,
    info: &ExperimentInfo,
    (scroll, hscroll): (u16, u16),
    sites: &dyn Fn(usize) -> Option<&'a Sites>,
    area: Rect,
    buf: &mut Buffer,
) {
    let [head, body] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
    ]));
    let from = if hscroll > 0 {
        format!(" (from column {})", hscroll + 1)
    } else {
        String::new()
    };
    // What the view is, then where it is scrolled to, then its keys' words.
    let id = info.id;
    let wordings = [
        format!(
            " source · {id} · allocs/op measured per line · ↑/↓ ←/→ scroll{from} · s or Esc closes"
        ),
        format!(" source · {id} · allocs/op measured per line{from} · s or Esc closes"),
        format!(" source · {id} · allocs/op per line{from} · Esc closes"),
        format!(" source · {id} · allocs/op per line{from}"),
        format!(" source · {id}{from}"),
        format!(" source · {id}"),
    ];
    if let Some(chosen) = super::fit::longest(usize::from(area.width), &wordings) {
        // The measured figure's name in the gutter's colour.
        let spans: Vec<Span> = match chosen.split_once("allocs/op") {
            Some((before, after)) => vec![
                Span::raw(before.to_owned()).bold(),
                Span::raw("allocs/op").fg(Color::LightRed).bold(),
                Span::raw(after.to_owned()),
            ],
            None => vec![Span::raw(chosen.to_owned()).bold()],
        };
        Line::from(spans).render(head, buf);
    }
    if pane.variants.is_empty() {
        Paragraph::new(
            super::fit::wrap(
                usize::from(body.width.saturating_sub(1)),
                &format!(
                    "{} marks no source regions (// region:VARIANT .. // endregion:VARIANT).",
                    info.id
                ),
            )
            .into_iter()
            .map(Line::raw)
            .collect::<Vec<_>>(),
        )
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
        render_variant(
            source,
            info,
            (scroll, hscroll),
            sites(source.variant),
            pane_area,
            buf,
        );
    }
}

/// The pane's bottom title, what was measured on its lines, in its wordings longest first:
/// words shorten, then the pointer to the `a` view goes, then all but the figure.
fn measured_title(source: &VariantSource, sites: Option<&Sites>) -> Vec<String> {
    let Some(sites) = sites else {
        return vec![
            " not measured yet: run this variant with the view open ".to_owned(),
            " not measured yet ".to_owned(),
        ];
    };
    // Without line tables no line can show a figure: say why, and what to add.
    if sites.missing_line_tables {
        return vec![
            format!(" {} ", crate::sites::line_tables_advice()),
            " no line tables: add debug = \"line-tables-only\" to your cargo profile ".to_owned(),
            " no line tables in this build ".to_owned(),
        ];
    }
    if sites.allocs_per_op == 0.0 && sites.reallocs_per_op == 0.0 {
        return vec![
            format!(" measured: 0 allocs/op over {} ops ", sites.ops),
            " measured: 0 allocs/op ".to_owned(),
            " 0 allocs/op ".to_owned(),
        ];
    }
    let (lines, here) = source
        .lines
        .iter()
        .filter_map(|line| measured(sites, line))
        .fold((0, 0.0), |(lines, here), (allocs, _, _)| {
            (lines + 1, here + allocs)
        });
    // Allocations in code outside the variant's marked blocks (a helper the variants share)
    // are measured all the same: the `a` view lists their lines.
    let elsewhere = sites.allocs_per_op - here > 0.005;
    let rest = if elsewhere { "; a lists the rest" } else { "" };
    let total = sites.allocs_per_op;
    let s = if lines == 1 { "" } else { "s" };
    vec![
        format!(
            " measured: {total:.2} allocs/op, {here:.2} of them on {lines} line{s} shown here{rest} "
        ),
        format!(" measured: {total:.2} allocs/op, {here:.2} on {lines} line{s} here{rest} "),
        format!(" {total:.2} allocs/op, {here:.2} on {lines} line{s} here{rest} "),
        format!(" {total:.2} allocs/op, {here:.2} on {lines} line{s} here "),
        format!(" {total:.2} allocs/op "),
    ]
}

fn render_variant(
    source: &VariantSource,
    info: &ExperimentInfo,
    (scroll, hscroll): (u16, u16),
    sites: Option<&Sites>,
    area: Rect,
    buf: &mut Buffer,
) {
    let variant = &info.variants[source.variant];
    let color = variant_color(source.variant);
    let room = usize::from(area.width.saturating_sub(2));
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(color))
        .title(
            match super::fit::longest_index(
                room,
                &[
                    format!(" {} {} ", variant.name, variant.summary),
                    format!(" {} ", variant.name),
                ],
            ) {
                Some(0) => Line::from(vec![
                    Span::raw(format!(" {} ", variant.name)).fg(color).bold(),
                    Span::raw(format!("{} ", variant.summary)),
                ]),
                Some(_) => Line::from(format!(" {} ", variant.name).fg(color).bold()),
                None => Line::default(),
            },
        )
        .title_bottom(Line::from(super::fit::longest_or_empty(
            room,
            &measured_title(source, sites),
        )));
    let inner = block.inner(area);
    let visible = usize::from(inner.height);
    let wide = inner.width >= WIDE_PANE;
    // What is left of the pane's width after the gutter.
    let code_width =
        usize::from(inner.width).saturating_sub(gutter_width(sites.is_some(), inner.width));
    // Stop scrolling once the longest pane's end is in view.
    let scroll = usize::from(scroll).min(source.lines.len().saturating_sub(visible));
    let lines: Vec<Line> = source
        .lines
        .iter()
        .skip(scroll)
        .take(visible)
        .map(|line| {
            let gutter = match sites {
                Some(sites) => Span::styled(
                    gutter(measured(sites, line), wide),
                    Style::new()
                        .fg(Color::LightRed)
                        .add_modifier(Modifier::BOLD),
                ),
                None => Span::raw(" ".repeat(UNMEASURED_GUTTER)),
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
    use super::gutter::WIDE_GUTTER;
    use super::*;
    use heaplab_experiments::sites::{Site, same_file};

    #[test]
    fn a_line_is_shown_from_a_column_and_marked_where_it_goes_on() {
        let line = SourceLine {
            spans: vec![
                (Color::Red, "let ".into()),
                (Color::Blue, "value = 1;".into()),
            ],
            file: "",
            line: 0,
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
            file: "",
            line: 0,
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
    }

    #[test]
    fn a_gutter_shows_what_was_measured_on_its_line_and_nothing_elsewhere() {
        let site = |line, allocs_per_op, reallocs_per_op| Site {
            function: "f".into(),
            file: "/work/x/experiments/src/a.rs".into(),
            line,
            allocs_per_op,
            reallocs_per_op,
            bytes_per_op: 48.0,
            share: 0.5,
            stack: Vec::new(),
            absolute_file: String::new(),
        };
        let sites = Sites {
            ops: 4,
            allocs_per_op: 1.0,
            reallocs_per_op: 0.5,
            sites: vec![site(12, 1.0, 0.0), site(13, 0.0, 0.5)],
            ..Sites::default()
        };
        let line = |line| SourceLine {
            spans: Vec::new(),
            file: "experiments/src/a.rs",
            line,
        };
        assert_eq!(gutter(measured(&sites, &line(12)), false), "  1.00 ");
        assert_eq!(gutter(measured(&sites, &line(13)), false), " ↻0.50 ");
        assert_eq!(gutter(measured(&sites, &line(14)), false), "       ");
        assert_eq!(
            gutter(measured(&sites, &line(12)), true),
            "  1.00      48 B "
        );
        assert_eq!(gutter(None, true).chars().count(), WIDE_GUTTER);
    }

    #[test]
    fn a_panes_title_says_how_much_it_shows_of_what_was_measured() {
        let site = |line, allocs_per_op| Site {
            function: "f".into(),
            file: "src/a.rs".into(),
            line,
            allocs_per_op,
            reallocs_per_op: 0.0,
            bytes_per_op: 8.0,
            share: 0.5,
            stack: Vec::new(),
            absolute_file: String::new(),
        };
        let source = VariantSource {
            variant: 0,
            lines: vec![SourceLine {
                spans: Vec::new(),
                file: "src/a.rs",
                line: 3,
            }],
        };
        let sites = |sites: Vec<Site>| Sites {
            ops: 10,
            allocs_per_op: sites.iter().map(|s| s.allocs_per_op).sum(),
            sites,
            ..Sites::default()
        };
        assert_eq!(
            measured_title(&source, None)[0],
            " not measured yet: run this variant with the view open "
        );
        assert_eq!(
            measured_title(&source, Some(&sites(vec![site(3, 2.0)])))[0],
            " measured: 2.00 allocs/op, 2.00 of them on 1 line shown here "
        );
        // A helper outside the variant's blocks allocates too: the title says where to look.
        assert_eq!(
            measured_title(&source, Some(&sites(vec![site(3, 2.0), site(40, 1.0)])))[0],
            " measured: 3.00 allocs/op, 2.00 of them on 1 line shown here; a lists the rest "
        );
        assert_eq!(
            measured_title(&source, Some(&sites(Vec::new())))[0],
            " measured: 0 allocs/op over 10 ops "
        );
        // Built without line tables, no line can show a figure: the title says what to add,
        // not "0.00 of them on 0 lines".
        let unlined = Sites {
            missing_line_tables: true,
            ..sites(vec![site(0, 2.0)])
        };
        let title = &measured_title(&source, Some(&unlined))[0];
        assert!(
            title.contains("debug = \"line-tables-only\"") && title.contains("Cargo.toml"),
            "{title}"
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
                let expected: Vec<String> = source.lines().map(str::to_owned).collect();
                let got: Vec<String> = shown
                    .lines
                    .iter()
                    .map(|l| l.spans.iter().map(|(_, t)| t.as_str()).collect())
                    .collect();
                assert_eq!(got, expected, "{}", info.id);
                // Every line says where it is, and it is there.
                for line in &shown.lines {
                    if line.line == 0 {
                        continue;
                    }
                    let text: String = line.spans.iter().map(|(_, t)| t.as_str()).collect();
                    // (A block may end on a line that goes on with its end marker.)
                    let at = info.source.lines().nth(line.line as usize - 1);
                    assert!(
                        at.is_some_and(|at| at.starts_with(text.trim_end())),
                        "{}: {at:?} is not {text:?}",
                        info.id
                    );
                    assert!(same_file(line.file, info.source_file), "{}", info.id);
                }
            }
        }
    }
}
