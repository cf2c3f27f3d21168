//! Drawing the growing sites (`g`), purely from the pane's ranking ([`GrowingSite`]s and the
//! process's sizes): a head line saying what the figures are (sampled, so approximate), the
//! lines ranked by growth (leak suspects marked, the rest dimmed) with their live bytes, trend,
//! rate, temporary share, place, function and thread; the selected line's stack (the sites
//! view's, folded runs and all); and the sizes, process and line side by side. Also the states
//! before there is anything to rank: sampling off, no sites frame yet, nothing sampled yet.

use heaplab_experiments::sites::{SIZE_BUCKETS, bucket_bounds};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget,
};

use super::AttachView;
use super::sites::{Sampling, SitesPane, SizesShown, StackShown};
use crate::attach::sites::GrowingSite;
use crate::attach::symbols::NO_OWN_FRAME;
use crate::monitor::protocol::SITES_EVERY;
use crate::ui::fit;
use crate::ui::sites_view::stack::{render_stack, stack_height};
use crate::units;

/// From this many columns the table shows the growth's error, the function and the thread,
/// and the stack and the sizes sit side by side.
const WIDE: u16 = 110;

/// A sparkline's eight heights.
const TICKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The growing sites in `area`: the pane's state for the view's program.
pub(super) fn render_growing(view: &AttachView, area: Rect, buf: &mut Buffer) {
    let pane = view.sites();
    let room = usize::from(area.width);
    let sample_every = if pane.sampling.sample_every > 0 {
        pane.sampling.sample_every
    } else {
        view.hello.sample_every
    };
    let advice = advice(pane);
    let [head, advice_area, body] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(advice.len() as u16),
        Constraint::Fill(1),
    ]));
    head_line(pane, sample_every, room).render(head, buf);
    Paragraph::new(
        advice
            .iter()
            .map(|wordings| {
                Line::styled(
                    fit::longest_or_empty(room, wordings),
                    Style::new().fg(Color::Yellow),
                )
            })
            .collect::<Vec<_>>(),
    )
    .render(advice_area, buf);
    if let Some(words) = waiting(view, sample_every) {
        let lines: Vec<Line> = fit::wrap(room.saturating_sub(2), &words)
            .into_iter()
            .map(|l| Line::raw(format!(" {l}")))
            .collect();
        Paragraph::new(lines).render(body, buf);
        return;
    }
    let wide = area.width >= WIDE;
    let [table, stack, sizes] = body_areas(pane, wide, body);
    render_table(pane, wide, table, buf);
    if let Some(site) = pane.selected_site().filter(|_| !stack.is_empty()) {
        let unfolded = pane.stack == StackShown::Unfolded;
        render_stack(&site.location, &site.stack, unfolded, stack, buf);
    }
    if !sizes.is_empty() {
        render_sizes(pane, sample_every, sizes, buf);
    }
}

/// What the pane says instead of a ranking, when there is none to show.
fn waiting(view: &AttachView, sample_every: u64) -> Option<String> {
    let pane = view.sites();
    if sample_every == 0 {
        Some(
            "The program samples no sites: start its monitor with Options::sample_every \
             (or HEAPLAB_SAMPLE_EVERY=65536 in its environment) to see which lines hold \
             growing memory. g goes back to the charts."
                .to_owned(),
        )
    } else if pane.frames == 0 {
        Some(format!(
            "No sites yet: the program sends its sampled sites every {SITES_EVERY} frames \
             (every {:.0} s); the first ranking comes with them.",
            view.hello.interval_ms as f64 * SITES_EVERY as f64 / 1000.0
        ))
    } else if pane.ranked().is_empty() {
        Some(format!(
            "Nothing sampled on the program's lines yet ({} so far): a sample is taken about \
             once every {} a thread allocates.",
            units::counted(pane.sampling.samples, "sample"),
            units::bytes(sample_every)
        ))
    } else {
        None
    }
}

/// The table's, the stack's and the sizes' areas (empty when not shown): the stack and the
/// sizes get what they need, up to a little over half; side by side from [`WIDE`] columns.
fn body_areas(pane: &SitesPane, wide: bool, body: Rect) -> [Rect; 3] {
    let stack_rows = pane
        .selected_site()
        .filter(|_| pane.stack != StackShown::Hidden)
        .map_or(0, |s| {
            stack_height(&s.stack, pane.stack == StackShown::Unfolded)
        });
    let sizes_rows = if pane.sizes_shown == SizesShown::Shown {
        size_buckets(pane).len() + 3
    } else {
        0
    };
    let needed = if wide {
        stack_rows.max(sizes_rows)
    } else {
        stack_rows + sizes_rows
    };
    let bottom_rows = (needed as u16).min(body.height.saturating_mul(11) / 20);
    let [table, bottom] = body.layout(&Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(bottom_rows),
    ]));
    let (stack, sizes) = match (stack_rows > 0, sizes_rows > 0) {
        (true, true) => {
            let parts = [
                Constraint::Fill(stack_rows as u16),
                Constraint::Fill(sizes_rows as u16),
            ];
            let [first, second] = if wide {
                bottom.layout(&Layout::horizontal([Constraint::Fill(1); 2]))
            } else {
                bottom.layout(&Layout::vertical(parts))
            };
            (first, second)
        }
        (true, false) => (bottom, Rect::default()),
        (false, true) => (Rect::default(), bottom),
        (false, false) => (Rect::default(), Rect::default()),
    };
    [table, stack, sizes]
}

/// The lines under the head, each in its wordings (longest first): what the viewer could not
/// do, what the sampler lost, and what the user can do about it.
fn advice(pane: &SitesPane) -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    if let Some(notice) = &pane.notice {
        lines.push(vec![
            format!(" {notice}"),
            " stacks stay addresses: the program's executable cannot be read".to_owned(),
            " stacks stay addresses".to_owned(),
        ]);
    }
    let Sampling {
        untracked,
        unrecorded,
        ..
    } = pane.sampling;
    if unrecorded > 0 {
        let events = units::counted(unrecorded, "sampled event");
        lines.push(vec![
            format!(
                " {events} found the program's stack table full: their lines are unknown, \
                 the figures here count without them"
            ),
            format!(" {events} found the stack table full: not counted here"),
            format!(" {events} not counted (table full)"),
        ]);
    }
    if untracked > 0 {
        let allocations = units::counted(untracked, "sampled allocation");
        lines.push(vec![
            format!(" {allocations}: their frees cannot be matched, so they are never in live"),
            format!(" {allocations} never in live (frees unmatched)"),
        ]);
    }
    if pane.missing_line_tables {
        lines.push(vec![
            " some of the program's frames have no line tables: their sites name functions; \
             add debug = \"line-tables-only\" to its [profile.release]"
                .to_owned(),
            " frames without line tables: add debug = \"line-tables-only\" to [profile.release]"
                .to_owned(),
            " frames without line tables: sites name functions".to_owned(),
        ]);
    }
    lines
}

/// `sampled, 1 in ~64 KiB`: how approximate every figure here is.
fn sampled(sample_every: u64) -> String {
    format!("sampled, 1 in ~{}", units::bytes_short(sample_every as f64))
}

fn head_line(pane: &SitesPane, sample_every: u64, room: usize) -> Line<'static> {
    let suspects = pane.ranked().iter().filter(|s| s.growing).count();
    let lines = units::counted(pane.ranked().len() as u64, "line");
    let window = pane.window().as_secs();
    let sampled = sampled(sample_every);
    let sample_count = units::counted(pane.sampling.samples, "sample");
    let wordings = [
        format!(
            " growing sites · {suspects} growing of {lines} · growth over {window} s · \
             {sampled}: approximate · {sample_count}"
        ),
        format!(
            " growing sites · {suspects} growing of {lines} · over {window} s · {sampled}: \
             approximate"
        ),
        format!(" growing sites · {suspects} of {lines} growing · {sampled}: approximate"),
        format!(" growing sites · {suspects} of {lines} growing · {sampled}"),
        format!(" growing sites · {sampled}"),
        " growing sites".to_owned(),
    ];
    Line::styled(
        fit::longest_or_empty(room, &wordings),
        Style::new().add_modifier(Modifier::BOLD),
    )
}

/// `+1.2 MiB` or `−300 KiB`.
fn signed_bytes(value: f64) -> String {
    let sign = if value < 0.0 { "−" } else { "+" };
    format!("{sign}{}", units::bytes_short(value.abs()))
}

/// A line's place, shorter and shorter: `src/ingest/parse.rs:42`, `ingest/parse.rs:42`,
/// `parse.rs:42` (a function, where there is no file: its path's tails).
fn location_wordings(location: &str) -> Vec<String> {
    if location == NO_OWN_FRAME {
        // The stacks with no frame of the program's (std's threads, heaplab's monitor): said
        // shorter rather than left blank where the whole words do not fit.
        return [NO_OWN_FRAME, "(not the program's code)", "(not its code)"]
            .map(str::to_owned)
            .to_vec();
    }
    if !location.contains('/') {
        return fit::path_wordings(location);
    }
    let mut out = vec![location.to_owned()];
    let mut rest = location;
    while let Some((_, tail)) = rest.split_once('/') {
        out.push(tail.to_owned());
        rest = tail;
    }
    out
}

/// The trend of `points` in `width` cells, its latest points, from their lowest to their
/// highest (a growth shows as a rise, however large what the line held before it); a trend
/// that moves by under 1% of its highest is flat.
fn sparkline(points: &[f64], width: usize) -> String {
    let shown = &points[points.len().saturating_sub(width)..];
    let top = shown.iter().copied().fold(f64::MIN, f64::max);
    let bottom = shown.iter().copied().fold(f64::MAX, f64::min);
    let range = top - bottom;
    shown
        .iter()
        .map(|&p| {
            if range <= top.abs() * 0.01 {
                TICKS[0]
            } else {
                let tick = ((p - bottom) / range * (TICKS.len() - 1) as f64).round();
                TICKS[(tick as usize).min(TICKS.len() - 1)]
            }
        })
        .collect()
}

/// What a table row needs besides its line: the window's span, the
/// table's width and each column's room.
struct Columns {
    wide: bool,
    span_secs: f64,
    trend_width: u16,
    rooms: Vec<usize>,
}

impl Columns {
    fn room(&self, column: usize) -> usize {
        self.rooms.get(column).copied().unwrap_or(0)
    }

    /// Growth over the window, per minute (`None` before there are two frames in it).
    fn per_min(&self, growth: f64) -> Option<f64> {
        (self.span_secs > 0.0).then(|| growth * 60.0 / self.span_secs)
    }
}

/// One line of the table: growing ones marked, the rest dimmed.
fn site_row(site: &GrowingSite, columns: &Columns) -> Row<'static> {
    let wide = columns.wide;
    let mut cells = vec![
        if site.growing {
            Cell::from(Span::styled(
                "▲",
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            ))
        } else {
            Cell::from("")
        },
        Cell::from(
            columns
                .per_min(site.growth)
                .map_or("–".to_owned(), signed_bytes),
        ),
    ];
    if wide {
        cells.push(Cell::from(
            columns
                .per_min(site.growth_error)
                .map_or("–".to_owned(), |e| format!("±{}", units::bytes_short(e))),
        ));
    }
    let temporary = if site.allocs > 0.0 {
        format!("{:.0}%", site.temporary / site.allocs * 100.0)
    } else {
        "–".to_owned()
    };
    let location = if wide { 7 } else { 6 };
    cells.extend([
        Cell::from(units::bytes_short(site.live_bytes)),
        Cell::from(sparkline(&site.trend, usize::from(columns.trend_width))),
        Cell::from(if columns.span_secs > 0.0 {
            units::count(site.allocs_per_sec)
        } else {
            "–".to_owned()
        }),
        Cell::from(temporary),
        Cell::from(fit::longest_or_empty(
            columns.room(location),
            &location_wordings(&site.location),
        )),
    ]);
    if wide {
        cells.push(Cell::from(fit::longest_or_empty(
            columns.room(8),
            &fit::path_wordings(&site.function),
        )));
        cells.push(Cell::from(fit::longest_or_empty(
            columns.room(9),
            std::slice::from_ref(&site.thread),
        )));
    }
    let style = if site.growing {
        Style::new()
    } else {
        Style::new().fg(Color::DarkGray)
    };
    Row::new(cells).style(style)
}

fn render_table(pane: &SitesPane, wide: bool, area: Rect, buf: &mut Buffer) {
    let trend_width = if wide { 12 } else { 8 };
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(trend_width),
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Fill(2),
    ];
    let mut header = vec![
        "",
        "growth/min",
        "live",
        "trend",
        "allocs/s",
        "temp",
        "line",
    ];
    if wide {
        widths.insert(2, Constraint::Length(9));
        header.insert(2, "± error");
        widths.extend([Constraint::Fill(2), Constraint::Length(14)]);
        header.extend(["function", "thread"]);
    }
    let columns = Columns {
        wide,
        span_secs: pane.span_secs(),
        trend_width,
        rooms: fit::table_columns(&widths, area.width.saturating_sub(2)),
    };
    // Only the rows in sight are made, scrolled as a table drawn afresh scrolls to its
    // selection: a program with thousands of lines costs a draw no more than one with a few.
    let in_sight = usize::from(area.height.saturating_sub(3)).max(1);
    let first = (pane.selected() + 1).saturating_sub(in_sight);
    let rows: Vec<Row> = pane
        .ranked()
        .iter()
        .skip(first)
        .take(in_sight)
        .map(|site| site_row(site, &columns))
        .collect();
    let title = [
        " lines by growth of their live bytes · ▲ growing beyond sampling noise: a leak suspect "
            .to_owned(),
        " by growth of live bytes · ▲ leak suspect ".to_owned(),
        " ▲ leak suspect ".to_owned(),
    ];
    let mut state = TableState::default().with_selected(Some(pane.selected() - first));
    let table =
        Table::new(rows, widths)
            .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .block(Block::bordered().border_type(BorderType::Rounded).title(
                fit::longest_or_empty(usize::from(area.width.saturating_sub(2)), &title),
            ));
    StatefulWidget::render(table, area, buf, &mut state);
}

/// A power of two in binary units, exactly: `64 B`, `1 KiB`, `512 MiB`.
fn power_of_two(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let exponent = n.max(1).ilog2() as usize;
    format!("{} {}", 1u64 << (exponent % 10), UNITS[exponent / 10])
}

/// A bucket's sizes: `64 B–128 B` (the upper bound left out), `≥ 2 GiB` for the last.
fn bucket_label(index: usize) -> String {
    match bucket_bounds(index) {
        (0 | 1, Some(_)) => "0 B–2 B".to_owned(),
        (low, Some(high)) => format!("{}–{}", power_of_two(low), power_of_two(high + 1)),
        (low, None) => format!("≥ {}", power_of_two(low)),
    }
}

/// A bar of `share` of the widest (`top`) in `width` cells, eighths included.
fn bar(share: f64, top: f64, width: usize) -> String {
    const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    if top <= 0.0 || width == 0 {
        return String::new();
    }
    let eighths = (share / top * (width * 8) as f64).round() as usize;
    let eighths = eighths.min(width * 8);
    let mut out = "█".repeat(eighths / 8);
    out.push_str(EIGHTHS[eighths % 8]);
    out
}

/// Each bucket's share of `sizes`' allocations (all zeros for none).
fn shares(sizes: &[f64]) -> Vec<f64> {
    let total: f64 = sizes.iter().sum();
    (0..SIZE_BUCKETS)
        .map(|i| {
            let n = sizes.get(i).copied().unwrap_or(0.0);
            if total > 0.0 { n / total } else { 0.0 }
        })
        .collect()
}

/// The shares of the process's and the selected line's allocations in each bucket.
fn size_shares(pane: &SitesPane) -> (Vec<f64>, Vec<f64>) {
    let line = pane.selected_site().map_or(&[][..], |s| s.sizes.as_slice());
    (shares(pane.sizes()), shares(line))
}

/// The buckets either the process or the selected line allocates in.
fn size_buckets(pane: &SitesPane) -> Vec<usize> {
    let (process, line) = size_shares(pane);
    (0..SIZE_BUCKETS)
        .filter(|&i| process[i] > 0.0 || line[i] > 0.0)
        .collect()
}

/// The sizes the process and the selected line allocate, side by side: each bucket's share of
/// its allocations, as a bar and a percentage, and the process's estimated allocations.
fn render_sizes(pane: &SitesPane, sample_every: u64, area: Rect, buf: &mut Buffer) {
    let (process, line) = size_shares(pane);
    let site = pane.selected_site();
    let rows_room = usize::from(area.height.saturating_sub(3));
    let mut buckets = size_buckets(pane);
    if buckets.len() > rows_room {
        // The buckets that weigh most in either, kept in size order.
        buckets.sort_by(|&a, &b| process[b].max(line[b]).total_cmp(&process[a].max(line[a])));
        buckets.truncate(rows_room);
        buckets.sort_unstable();
    }
    let widths = [
        Constraint::Length(15),
        Constraint::Length(8),
        Constraint::Fill(1),
        Constraint::Fill(1),
    ];
    let columns = fit::table_columns(&widths, area.width.saturating_sub(2));
    let bar_room = columns.get(2).copied().unwrap_or(0).saturating_sub(5);
    let top = buckets
        .iter()
        .map(|&i| process[i].max(line[i]))
        .fold(0.0_f64, f64::max);
    let share = |s: f64, color: Color| {
        Line::from(vec![
            Span::raw(format!("{:>3.0}% ", s * 100.0)),
            Span::styled(bar(s, top, bar_room), Style::new().fg(color)),
        ])
    };
    let rows: Vec<Row> = buckets
        .iter()
        .map(|&i| {
            Row::new(vec![
                Cell::from(bucket_label(i)),
                Cell::from(units::count(pane.sizes().get(i).copied().unwrap_or(0.0))),
                Cell::from(share(process[i], Color::Cyan)),
                Cell::from(if site.is_some() {
                    share(line[i], Color::Magenta)
                } else {
                    Line::default()
                }),
            ])
        })
        .collect();
    let line_header = site.map_or_else(
        || "no line selected".to_owned(),
        |s| {
            let mut wordings = vec![format!("{} · share", s.location)];
            wordings.extend(location_wordings(&s.location));
            fit::longest_or_empty(columns.get(3).copied().unwrap_or(0), &wordings)
        },
    );
    let header = Row::new(vec![
        Cell::from("size"),
        Cell::from("allocs"),
        Cell::from("process · share"),
        Cell::from(line_header),
    ])
    .style(Style::new().add_modifier(Modifier::BOLD));
    let sampled = sampled(sample_every);
    let title = [
        format!(" sizes (power-of-two buckets) · {sampled}: approximate · h hides "),
        format!(" sizes · {sampled}: approximate "),
        format!(" sizes · {sampled} "),
        " sizes ".to_owned(),
    ];
    let table = Table::new(rows, widths).header(header).block(
        Block::bordered()
            .border_type(BorderType::Rounded)
            .title(fit::longest_or_empty(
                usize::from(area.width.saturating_sub(2)),
                &title,
            )),
    );
    Widget::render(table, area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_rises_from_zero_to_its_highest_point() {
        assert_eq!(sparkline(&[0.0, 50.0, 100.0], 8), "▁▅█");
        assert_eq!(
            sparkline(&[9.0, 0.0, 0.0, 7.0], 2),
            "▁█",
            "the latest points"
        );
        assert_eq!(
            sparkline(&[100.0, 101.0, 102.0], 8),
            "▁▅█",
            "a rise on a large base"
        );
        assert_eq!(
            sparkline(&[1000.0, 1001.0, 1000.0], 8),
            "▁▁▁",
            "flat within 1%"
        );
        assert_eq!(sparkline(&[0.0, 0.0], 4), "▁▁");
    }

    #[test]
    fn what_the_sampler_lost_is_said_under_the_head() {
        let mut pane = SitesPane::default();
        assert!(advice(&pane).is_empty());
        pane.sampling = Sampling {
            sample_every: 65_536,
            samples: 100,
            untracked: 1,
            unrecorded: 7,
        };
        pane.missing_line_tables = true;
        let lines = advice(&pane);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0][0].starts_with(" 7 sampled events found"),
            "{lines:?}"
        );
        assert!(
            lines[1][0].starts_with(" 1 sampled allocation:"),
            "{lines:?}"
        );
        assert!(lines[2][0].contains("line-tables-only"), "{lines:?}");
        for wordings in &lines {
            assert!(
                wordings.iter().any(|w| fit::width(w) <= 60),
                "each says something at 60 columns: {wordings:?}"
            );
        }
    }

    #[test]
    fn a_location_sheds_its_folders_first() {
        assert_eq!(
            location_wordings("src/ingest/parse.rs:42"),
            [
                "src/ingest/parse.rs:42",
                "ingest/parse.rs:42",
                "parse.rs:42"
            ]
        );
        assert_eq!(location_wordings("a::b"), ["a::b", "b"]);
        // The stacks that are none of the program's: never a blank cell.
        let none = location_wordings(NO_OWN_FRAME);
        assert_eq!(none.last().map(String::as_str), Some("(not its code)"));
        assert!(fit::longest(14, &none).is_some());
    }

    #[test]
    fn buckets_are_named_by_their_powers_of_two() {
        assert_eq!(bucket_label(0), "0 B–2 B");
        assert_eq!(bucket_label(6), "64 B–128 B");
        assert_eq!(bucket_label(9), "512 B–1 KiB");
        assert_eq!(bucket_label(20), "1 MiB–2 MiB");
        assert_eq!(bucket_label(SIZE_BUCKETS - 1), "≥ 2 GiB");
    }

    #[test]
    fn a_bar_is_its_share_of_the_widest_in_eighths() {
        assert_eq!(bar(0.5, 0.5, 4), "████");
        assert_eq!(bar(0.25, 0.5, 4), "██");
        assert_eq!(bar(0.0625, 1.0, 2), "▏");
        assert_eq!(bar(0.3, 0.0, 4), "");
    }
}
