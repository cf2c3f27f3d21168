//! The allocation-sites view (`a`): the lines the running variant allocates on, measured by
//! the worker's capture windows ([`heaplab_experiments::sites`]), with the variant that ran
//! before it beside them as the ghost, so that switching from naive to optimized shows which
//! lines went to zero. ↑/↓ select a site, Enter shows its whole stack, → unfolds the frames
//! folded in it (std, dependencies, heaplab: where derived code says which field allocates)
//! and ← folds them again. A ghost never captured shows `–` (not measured), one measured to
//! allocate nowhere on a line `0`.
//!
//! The figures are the ones `heaplab bench --sites` prints: the same capture, the same
//! symbolization, the same per-operation division.

use heaplab_experiments::ExperimentInfo;
use heaplab_experiments::sites::{SHARE_OF, Site, Sites};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize as _};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget,
};

mod rows;
pub(crate) mod stack;

use rows::{NOT_MEASURED, per_op, short_function, short_location};
pub use rows::{SiteRow, rows};
use stack::render_stack;

use super::fit;
use super::keys::Action;
use super::theme::{ghost_color, variant_color};
use super::view::{self, Outcome};
use crate::units;

/// The sites view's own state: the selected site and whether its stack is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SitesView {
    /// The selected row (drawing holds it to the last row).
    pub selected: u16,
    /// Whether the selected site's whole stack is shown.
    pub stack_open: bool,
    /// Whether the open stack shows its folded frames one by one.
    pub unfolded: bool,
}

impl SitesView {
    /// Opens on the first site, its stack closed.
    pub fn open(&mut self) {
        *self = Self::default();
    }

    /// ↑/↓ select a site, Enter shows or hides its stack, → unfolds an open stack's folded
    /// frames and ← folds them, Esc hides an open stack (with the stack closed, Esc is the
    /// dashboard's: it closes the view).
    pub fn key(&mut self, action: Action) -> Outcome {
        match action {
            Action::SelectPrevious | Action::SelectNext => {
                let down = action == Action::SelectNext;
                self.selected = view::step(self.selected, down, view::UNBOUNDED);
            }
            Action::StartStop => {
                self.stack_open = !self.stack_open;
                self.unfolded = false;
            }
            Action::ScrollRight | Action::ScrollLeft if self.stack_open => {
                self.unfolded = action == Action::ScrollRight;
            }
            Action::Back if self.stack_open => {
                self.stack_open = false;
                self.unfolded = false;
            }
            _ => return Outcome::Ignored,
        }
        Outcome::Consumed
    }
}

/// What the view shows of the running experiment: the dashboard's part of the picture.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    /// The running experiment.
    pub info: &'static ExperimentInfo,
    /// Its running variant.
    pub variant: usize,
    /// The variant that ran before it, if another.
    pub ghost_variant: Option<usize>,
    /// The running variant's latest window of sites, once captured.
    pub now: Option<&'a Sites>,
    /// The ghost's.
    pub ghost: Option<&'a Sites>,
}

/// Draws the view, in `state`, for what runs (`None`: nothing, and it says what to do).
pub fn render(shown: Option<Shown>, state: SitesView, area: Rect, buf: &mut Buffer) {
    let [head, body, foot] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(2),
    ]));
    let room = usize::from(area.width);
    let Some(shown) = shown else {
        Line::from(
            fit::longest_or_empty(
                room,
                &[" allocation sites · a or Esc closes", " allocation sites"],
            )
            .bold(),
        )
        .render(head, buf);
        Paragraph::new(
            fit::wrap(
                room.saturating_sub(1),
                "Nothing is running. Start an experiment (Enter on the dashboard): while this \
                 view or the source view is open, its worker captures a window of whole \
                 operations every second with every allocation's call stack, and the lines it \
                 allocates on show here.",
            )
            .into_iter()
            .map(Line::raw)
            .collect::<Vec<_>>(),
        )
        .render(body, buf);
        return;
    };
    let Shown {
        info,
        variant,
        ghost_variant,
        now: now_sites,
        ghost: ghost_sites,
    } = shown;
    let name = |v: usize| info.variants.get(v).map_or("?", |v| v.name);

    render_head(info, (variant, ghost_variant), head, buf);

    let Some(now) = now_sites else {
        Paragraph::new(
            fit::wrap(
                room.saturating_sub(1),
                &format!(
                    "Capturing {}: its first window of sites comes within a second or two of \
                     it running (setup and warm-up come first).",
                    name(variant)
                ),
            )
            .into_iter()
            .map(Line::raw)
            .collect::<Vec<_>>(),
        )
        .render(body, buf);
        return;
    };
    let rows = rows(Some(now), ghost_sites);
    let selected = usize::from(state.selected).min(rows.len().saturating_sub(1));
    let [table_area, stack_area] = body.layout(&Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(if state.stack_open && !rows.is_empty() {
            body.height / 2
        } else {
            0
        }),
    ]));
    render_table(
        info,
        &rows,
        (variant, ghost_variant),
        ghost_sites.is_some(),
        selected,
        table_area,
        buf,
    );
    if state.stack_open
        && let Some(site) = rows.get(selected).and_then(SiteRow::site)
    {
        render_stack(
            &site.location(),
            &site.stack,
            state.unfolded,
            stack_area,
            buf,
        );
    }

    render_foot(now, foot, buf);
}

/// The view's head line: what it shows, then (as they fit) the ghost and the keys.
fn render_head(
    info: &ExperimentInfo,
    (variant, ghost_variant): (usize, Option<usize>),
    area: Rect,
    buf: &mut Buffer,
) {
    let room = usize::from(area.width);
    let name = |v: usize| info.variants.get(v).map_or("?", |v| v.name);
    // The keys' words go first, then the ghost's name (its column's header has it too).
    let keys = [
        " · ↑/↓ select · Enter stack · a or Esc closes",
        " · Enter stack · a or Esc closes",
        " · a or Esc closes",
        "",
    ];
    let head_of = |ghost: Option<usize>, keys: &str| {
        let ghost = ghost
            .map(|g| format!(" · ghost: {}", name(g)))
            .unwrap_or_default();
        format!(
            " allocation sites · {} · {}{ghost}{keys}",
            info.id,
            name(variant)
        )
    };
    let choices: Vec<(Option<usize>, &str)> = keys
        .iter()
        .map(|k| (ghost_variant, *k))
        .chain(ghost_variant.map(|_| (None, "")))
        .collect();
    let wordings: Vec<String> = choices.iter().map(|(g, k)| head_of(*g, k)).collect();
    if let Some(chosen) = fit::longest_index(room, &wordings) {
        let (ghost, keys) = choices[chosen];
        let mut title = vec![
            Span::raw(format!(" allocation sites · {} · ", info.id)).bold(),
            Span::raw(name(variant)).fg(variant_color(variant)).bold(),
        ];
        if let Some(g) = ghost {
            title.push(Span::raw(" · ghost: "));
            title.push(Span::raw(name(g)).fg(ghost_color(g)));
        }
        title.push(Span::raw(keys));
        Line::from(title).render(area, buf);
    }
}

/// What the window was, and that its sites add up to it.
fn render_foot(now: &Sites, area: Rect, buf: &mut Buffer) {
    let sum = now.sites.iter().fold(0.0, |sum, s| sum + s.allocs_per_op);
    let bytes = units::bytes(now.bytes_per_op.round() as u64);
    let (ops, allocs, reallocs) = (now.ops, now.allocs_per_op, now.reallocs_per_op);
    let unrecorded = if now.unrecorded_per_op > 0.0 {
        format!(
            " ({:.2}/op found no room in the table)",
            now.unrecorded_per_op
        )
    } else {
        String::new()
    };
    let long = format!(
        " {ops} ops captured: {allocs:.2} allocs/op, {reallocs:.2} reallocs/op, {bytes}/op; \
         the sites add up to {sum:.2} allocs/op"
    );
    let short = format!(
        " {ops} ops: {allocs:.2} allocs/op, {reallocs:.2} reallocs/op, {bytes}/op; \
         sites sum to {sum:.2}"
    );
    // Words shorten before a figure goes; the figures of allocations go last.
    let figures = [
        format!("{long}{unrecorded}"),
        long,
        format!("{short}{unrecorded}"),
        short,
        format!(" {ops} ops: {allocs:.2} allocs/op, {bytes}/op; sites sum to {sum:.2}"),
        format!(" {allocs:.2} allocs/op; sites sum to {sum:.2}"),
    ];
    let room = usize::from(area.width);
    // Without line tables, what to add to Cargo.toml comes before anything else.
    let second = if now.missing_line_tables {
        let advice = crate::sites::line_tables_advice();
        Line::from(
            fit::longest_or_empty(
                room,
                &[
                    format!(" {advice}"),
                    " no line tables: add debug = \"line-tables-only\" to your cargo profile"
                        .to_owned(),
                    " no line tables in this build".to_owned(),
                    String::new(),
                ],
            )
            .fg(Color::Yellow),
        )
    } else {
        Line::from(
            fit::longest_or_empty(
                room,
                &[
                    format!(
                        " share: {SHARE_OF} · a window of whole operations every second, every \
                         allocation with its stack; its time is in no figure"
                    ),
                    format!(" share: {SHARE_OF} · captured every second; its time is in no figure"),
                    format!(" share: {SHARE_OF}"),
                    String::new(),
                ],
            )
            .fg(Color::DarkGray),
        )
    };
    Paragraph::new(vec![
        Line::from(fit::longest_or_empty(room, &figures)),
        second,
    ])
    .render(area, buf);
}

/// The sites table's headers, columns and each column's room, for a table `width` wide: the
/// fullest that keeps every header whole and the function column readable (long headers,
/// then each variant's name alone, then no function column).
fn table_layout(
    info: &ExperimentInfo,
    rows: &[SiteRow],
    functions: &[Vec<String>],
    (variant, ghost): (usize, Option<usize>),
    width: u16,
) -> (Vec<String>, Vec<Constraint>, Vec<usize>) {
    let name = |v: usize| info.variants.get(v).map_or("?", |v| v.name);
    let wide = width >= 110;
    let levels = [(true, true), (false, true), (false, false)];
    // The line column as wide as its longest location, up to 40 (28 on a narrow screen); when
    // one does not fit, every row shows its file name alone, so the column is as wide as the
    // longest of those (and the function column gets the rest).
    let cap = if wide { 40 } else { 28 };
    let longest = |location: &dyn Fn(&Site) -> String| {
        rows.iter()
            .filter_map(|row| row.site().map(|s| fit::width(&location(s))))
            .max()
            .unwrap_or(4)
    };
    let full = longest(&Site::location);
    let location_width = if full <= cap {
        full
    } else {
        longest(&short_location)
    }
    .clamp(4, cap) as u16;
    // A function column is worth its place when some function's name fits in it.
    let names_fit = |room: usize| {
        functions.is_empty()
            || functions
                .iter()
                .any(|w| w.iter().any(|w| !w.is_empty() && fit::width(w) < room))
    };
    let layout = |long: bool, function: bool| {
        let header = |v: usize| {
            if long {
                format!("{} allocs/op", name(v))
            } else {
                name(v).to_owned()
            }
        };
        let mut headers = vec![
            "line".to_owned(),
            header(variant),
            "bytes/op".to_owned(),
            "share".to_owned(),
        ];
        let mut widths = vec![
            Constraint::Length(location_width),
            Constraint::Length(fit::width(&headers[1]).max(6) as u16),
            Constraint::Length(9),
            Constraint::Length(5),
        ];
        if let Some(g) = ghost {
            headers.push(header(g));
            widths.push(Constraint::Length(fit::width(&header(g)).max(6) as u16));
        }
        if function {
            headers.push("function".to_owned());
            widths.push(Constraint::Fill(1));
        }
        let rooms = fit::table_columns(&widths, width.saturating_sub(2));
        (headers, widths, rooms)
    };
    levels
        .iter()
        .map(|&(long, function)| (function, layout(long, function)))
        .find(|(function, (headers, _, rooms))| {
            headers
                .iter()
                .zip(rooms)
                .all(|(h, room)| fit::width(h) <= *room)
                && (!function || rooms.last().is_some_and(|r| *r >= 12 && names_fit(*r)))
        })
        .map_or_else(|| layout(false, false), |(_, l)| l)
}

/// Each row's function in its wordings, longest first, down to none.
fn function_wordings(rows: &[SiteRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| {
            let mut wordings = row
                .site()
                .map(|s| fit::path_wordings(&short_function(&s.function)))
                .unwrap_or_default();
            wordings.push(String::new());
            wordings
        })
        .collect()
}

/// The table of sites; `ghost_measured`: whether the ghost's sites were ever captured (its
/// column shows `–` where they were not, `0` where they were and the line allocated nothing).
fn render_table(
    info: &ExperimentInfo,
    rows: &[SiteRow],
    (variant, ghost): (usize, Option<usize>),
    ghost_measured: bool,
    selected: usize,
    area: Rect,
    buf: &mut Buffer,
) {
    let functions = function_wordings(rows);
    let (headers, widths, rooms) =
        table_layout(info, rows, &functions, (variant, ghost), area.width);
    let colors: Vec<Option<Color>> = std::iter::once(None)
        .chain([Some(variant_color(variant)), None, None])
        .chain(ghost.map(|g| Some(ghost_color(g))))
        .chain(std::iter::once(None))
        .collect();
    let header: Vec<Cell> = headers
        .iter()
        .zip(&rooms)
        .zip(&colors)
        .map(|((h, room), color)| {
            let cell = Cell::from(fit::longest_or_empty(*room, &[h.as_str()]));
            match color {
                Some(c) => cell.fg(*c),
                None => cell,
            }
        })
        .collect();
    let function_room = (headers.len() > 4 + usize::from(ghost.is_some()))
        .then(|| rooms.last().copied().unwrap_or(0).saturating_sub(1));
    let location_room = rooms.first().copied().unwrap_or(0);
    let table_rows: Vec<Row> = rows
        .iter()
        .zip(&functions)
        .map(|(row, function)| {
            let site = row.site();
            let went_to_zero = row.now.is_none();
            let location = site
                .map(|s| fit::longest_or_empty(location_room, &[s.location(), short_location(s)]));
            let mut cells = vec![
                Cell::from(location.unwrap_or_default()),
                Cell::from(per_op(row.now)).style(if went_to_zero {
                    Style::new()
                        .fg(Color::LightGreen)
                        .add_modifier(Modifier::BOLD)
                } else {
                    Style::new().fg(variant_color(variant))
                }),
                Cell::from(
                    row.now
                        .map(|s| {
                            let bytes = s.bytes_per_op.round();
                            fit::longest_or_empty(
                                rooms[2],
                                &[units::bytes(bytes as u64), units::bytes_short(bytes)],
                            )
                        })
                        .unwrap_or_default(),
                ),
                Cell::from(
                    row.now
                        .map(|s| format!("{:.0}%", s.share * 100.0))
                        .unwrap_or_default(),
                ),
            ];
            if let Some(g) = ghost {
                let text = if ghost_measured {
                    per_op(row.ghost)
                } else {
                    NOT_MEASURED.to_owned()
                };
                cells.push(Cell::from(text).fg(ghost_color(g)));
            }
            if let Some(room) = function_room {
                cells.push(Cell::from(fit::longest_or_empty(room, function)));
            }
            Row::new(cells)
        })
        .collect();
    let empty = rows.is_empty();
    let table = Table::new(table_rows, widths)
        .header(Row::new(header).add_modifier(Modifier::BOLD))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .title_bottom(if empty {
                    fit::longest_or_empty(
                        usize::from(area.width.saturating_sub(2)),
                        &[
                            " no allocation in the window: this variant allocates on no line ",
                            " no allocation in the window ",
                            " none ",
                        ],
                    )
                } else {
                    format!(" {} ", crate::units::counted(rows.len() as u64, "site"))
                }),
        );
    let mut state = TableState::default().with_selected((!empty).then_some(selected));
    StatefulWidget::render(table, area, buf, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;
    use heaplab_experiments::sites::Frame;

    fn site(line: u32, allocs: f64) -> Site {
        Site {
            function: format!("f{line}"),
            file: "src/a.rs".into(),
            line,
            allocs_per_op: allocs,
            reallocs_per_op: 0.0,
            bytes_per_op: allocs * 8.0,
            share: 0.5,
            stack: Vec::new(),
            absolute_file: String::new(),
        }
    }

    #[test]
    fn the_ghosts_sites_that_went_to_zero_stay_in_the_table() {
        let naive = Sites {
            ops: 10,
            allocs_per_op: 3.0,
            sites: vec![site(10, 2.0), site(20, 1.0)],
            ..Sites::default()
        };
        let optimized = Sites {
            ops: 10,
            allocs_per_op: 1.0,
            sites: vec![site(20, 1.0)],
            ..Sites::default()
        };
        let rows = rows(Some(&optimized), Some(&naive));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].now.map(|s| s.line), Some(20));
        assert_eq!(rows[0].ghost.map(|s| s.line), Some(20));
        assert_eq!(rows[1].now, None, "line 10 went to zero");
        assert_eq!(rows[1].ghost.map(|s| s.line), Some(10));
        assert_eq!(per_op(rows[1].now), "0");
        assert_eq!(per_op(rows[0].now), "1.00");
    }

    /// The buffer's lines as text.
    fn screen(shown: Shown, state: SitesView) -> Vec<String> {
        let area = Rect::new(0, 0, 120, 30);
        let mut buf = Buffer::empty(area);
        render(Some(shown), state, area, &mut buf);
        (0..area.height)
            .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    fn in_place() -> &'static ExperimentInfo {
        crate::catalog::find("in-place").expect("in-place").info()
    }

    /// A window whose sites all allocate once per operation.
    fn window(sites: Vec<Site>) -> Sites {
        Sites {
            ops: 10,
            allocs_per_op: sites.len() as f64,
            sites,
            ..Sites::default()
        }
    }

    /// In-place's naive variant running alone, with `now` captured.
    fn alone(now: &Sites) -> Shown<'_> {
        Shown {
            info: in_place(),
            variant: 0,
            ghost_variant: None,
            now: Some(now),
            ghost: None,
        }
    }

    #[test]
    fn a_ghost_never_captured_is_not_measured_and_a_measured_zero_is_0() {
        let now = Sites {
            ops: 10,
            allocs_per_op: 2.0,
            sites: vec![site(10, 2.0)],
            ..Sites::default()
        };
        let ghost_ran = Sites {
            ops: 10,
            ..Sites::default()
        };
        let row_of = |ghost: Option<&Sites>| {
            let shown = Shown {
                info: in_place(),
                variant: 1,
                ghost_variant: Some(0),
                now: Some(&now),
                ghost,
            };
            screen(shown, SitesView::default())
                .into_iter()
                .find(|l| l.contains("src/a.rs:10"))
                .expect("the site's row")
        };
        // Columns: line, the running variant's allocs/op, bytes/op, share, then the ghost's.
        let ghost_cell = |row: &str| {
            row.split_whitespace()
                .nth(5)
                .map(str::to_owned)
                .expect("a ghost cell")
        };
        assert_eq!(ghost_cell(&row_of(None)), NOT_MEASURED);
        assert_eq!(ghost_cell(&row_of(Some(&ghost_ran))), "0");
    }

    #[test]
    fn the_stack_unfolds_the_frames_folded_in_it() {
        let frame = |function: &str, file: &str, line, folded| Frame {
            function: function.to_owned(),
            file: file.to_owned(),
            line,
            folded,
        };
        let mut derived = site(3, 1.0);
        // Derived code: the line is the derive's; which field allocates is in a folded frame.
        derived.stack = vec![
            frame(
                "alloc::raw_vec::finish_grow",
                "/rustc/x/alloc/raw_vec.rs",
                9,
                true,
            ),
            frame(
                "<String as serde::Deserialize>::deserialize",
                "/home/u/.cargo/registry/src/serde-1/src/de/impls.rs",
                80,
                true,
            ),
            frame("<Row as Deserialize>::visit_map", "src/a.rs", 3, false),
        ];
        let now = window(vec![derived]);
        let shown = alone(&now);
        let mut state = SitesView::default();
        assert_eq!(state.key(Action::StartStop), Outcome::Consumed);
        let folded = screen(shown, state).join("\n");
        assert!(
            folded.contains("[2 frames in std, dependencies or heaplab]"),
            "{folded}"
        );
        assert!(folded.contains("→ unfolds"), "{folded}");
        assert!(!folded.contains("String as serde::Deserialize"), "{folded}");

        assert_eq!(state.key(Action::ScrollRight), Outcome::Consumed);
        let unfolded = screen(shown, state).join("\n");
        assert!(
            unfolded.contains("<String as serde::Deserialize>::deserialize (/home/u/.cargo/"),
            "{unfolded}"
        );
        assert!(
            unfolded.contains("alloc::raw_vec::finish_grow"),
            "{unfolded}"
        );
        assert!(!unfolded.contains("frames in std"), "{unfolded}");

        assert_eq!(state.key(Action::ScrollLeft), Outcome::Consumed);
        assert!(!screen(shown, state).join("\n").contains("String as serde"));
    }

    /// `share` is said one way: on screen, in the docs, and in the JSON's documentation.
    #[test]
    fn share_is_defined_once_the_same_on_screen_and_in_the_docs() {
        let now = window(vec![site(3, 1.0)]);
        let text = screen(alone(&now), SitesView::default()).join("\n");
        assert!(text.contains(&format!("share: {SHARE_OF}")), "{text}");
        for (name, doc) in [
            (
                "docs/workshop.md",
                include_str!("../../../docs/workshop.md"),
            ),
            (
                "docs/commands.md",
                include_str!("../../../docs/commands.md"),
            ),
        ] {
            let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(doc.contains(&format!("share {SHARE_OF}")), "{name}");
        }
    }
}
