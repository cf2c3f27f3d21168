//! The selected site's whole stack (Enter in the sites view, and in the attach view's growing
//! sites): its own frames, and the runs of frames folded in it (std, dependencies, heaplab),
//! unfolded with → and folded with ←.

use heaplab_experiments::sites::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Stylize as _};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Paragraph, Widget as _};

use crate::ui::fit;

/// A frame's wordings: `function (file:line)` with the function's path shortened from the
/// left, then the function alone, likewise; a folded run (`[...]`) is whole or absent.
fn frame_wordings(frame: &str) -> Vec<String> {
    let (function, location) = match frame.rsplit_once(" (") {
        Some((function, location)) if frame.ends_with(')') && !frame.starts_with('[') => {
            (function, Some(location))
        }
        _ => (frame, None),
    };
    let paths = if frame.starts_with('[') {
        vec![frame.to_owned()]
    } else {
        fit::path_wordings(function)
    };
    let mut wordings: Vec<String> = location
        .map(|l| paths.iter().map(|p| format!("{p} ({l}")).collect())
        .unwrap_or_default();
    wordings.extend(paths);
    wordings.push(String::new());
    wordings
}

/// A stack's lines, innermost frame first: each frame of the experiment's own code, and each
/// run of folded frames as one `[N frames in std, dependencies or heaplab]` line, or, unfolded,
/// every folded frame on its own line. Each line says whether it is folded.
fn stack_lines(stack: &[Frame], unfolded: bool) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut run = 0;
    let end_run = |out: &mut Vec<(String, bool)>, run: &mut usize| {
        if *run > 0 {
            let s = if *run == 1 { "" } else { "s" };
            out.push((
                format!("[{run} frame{s} in std, dependencies or heaplab]"),
                true,
            ));
            *run = 0;
        }
    };
    for frame in stack {
        if frame.folded && !unfolded {
            run += 1;
            continue;
        }
        end_run(&mut out, &mut run);
        out.push((frame.to_string(), frame.folded));
    }
    end_run(&mut out, &mut run);
    out
}

/// The rows [`render_stack`] needs for `stack`, its borders included.
pub(crate) fn stack_height(stack: &[Frame], unfolded: bool) -> usize {
    stack_lines(stack, unfolded).len() + 2
}

/// The whole stack of the site at `location`, innermost frame first, its folded frames
/// unfolded or not.
pub(crate) fn render_stack(
    location: &str,
    stack: &[Frame],
    unfolded: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    let room = usize::from(area.width.saturating_sub(2));
    let lines: Vec<Line> = stack_lines(stack, unfolded)
        .into_iter()
        .map(|(frame, folded)| {
            let text = fit::longest_or_empty(room, &frame_wordings(&frame));
            if folded {
                Line::from(text.fg(Color::DarkGray))
            } else {
                Line::from(text)
            }
        })
        .collect();
    let any_folded = stack.iter().any(|f| f.folded);
    let key = match (any_folded, unfolded) {
        (false, _) => "",
        (true, false) => " · → unfolds",
        (true, true) => " · ← folds",
    };
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .title(fit::longest_or_empty(
                    room,
                    &[
                        format!(" stack of {location} (innermost first){key} "),
                        format!(" stack of {location}{key} "),
                        format!(" stack of {location} "),
                        " stack ".to_owned(),
                    ],
                )),
        )
        .render(area, buf);
}
