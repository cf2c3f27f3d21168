//! Fitting text in the room it has: the longest of a text's wordings that fits whole (never a
//! cut), and wrapping that breaks only between words and keeps a number with its unit.
//!
//! Every text a view must fit goes through here, so that "nothing on screen is cut" can be
//! tested: [`observe`] records, for each fit made while drawing, the wordings offered, the
//! room and what was chosen. Recording is off unless a test asks for it; drawing then pays one
//! thread-local check per fit.

use std::cell::RefCell;

use heaplab_experiments::sites::{bare_closure, path_tails};
use ratatui::text::Span;

/// One fit made while drawing: what was offered, in what room, and what came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    /// The wordings offered, longest first.
    pub wordings: Vec<String>,
    /// The columns there were.
    pub room: usize,
    /// The wording chosen, whole; `None` when none fitted (the text is left out, not cut).
    pub chosen: Option<String>,
    /// Whether it is a line of a wrapped paragraph (which may be scrolled out of view).
    pub wrapped: bool,
}

thread_local! {
    static LOG: RefCell<Option<Vec<Fitted>>> = const { RefCell::new(None) };
}

/// Runs `draw`, recording every fit it makes on this thread, in order.
pub fn observe<R>(draw: impl FnOnce() -> R) -> (R, Vec<Fitted>) {
    let outer = LOG.with(|log| log.borrow_mut().replace(Vec::new()));
    let result = draw();
    let fitted = LOG.with(|log| std::mem::replace(&mut *log.borrow_mut(), outer));
    (result, fitted.unwrap_or_default())
}

/// An overlay is drawn next: what was fitted so far lies under it, and may show only in part.
/// The record keeps what is drawn from here on.
pub fn cover() {
    LOG.with(|log| {
        if let Some(log) = log.borrow_mut().as_mut() {
            log.clear();
        }
    });
}

fn record(wordings: &[&str], room: usize, chosen: Option<&str>, wrapped: bool) {
    LOG.with(|log| {
        if let Some(log) = log.borrow_mut().as_mut() {
            log.push(Fitted {
                wordings: wordings.iter().map(|w| (*w).to_owned()).collect(),
                room,
                chosen: chosen.map(str::to_owned),
                wrapped,
            });
        }
    });
}

/// The columns `text` takes on a terminal.
#[must_use]
pub fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// The longest of `wordings` (given longest first, each a whole way of saying the text) that
/// fits in `room` columns; `None` if none does. Nothing is ever cut.
pub fn longest<S: AsRef<str>>(room: usize, wordings: &[S]) -> Option<&str> {
    longest_index(room, wordings).map(|i| wordings[i].as_ref())
}

/// [`longest`], as its index in `wordings`: for a text drawn in pieces of different styles.
pub fn longest_index<S: AsRef<str>>(room: usize, wordings: &[S]) -> Option<usize> {
    let chosen = wordings.iter().position(|w| width(w.as_ref()) <= room);
    if LOG.with(|log| log.borrow().is_some()) {
        let offered: Vec<&str> = wordings.iter().map(AsRef::as_ref).collect();
        record(&offered, room, chosen.map(|i| offered[i]), false);
    }
    chosen
}

/// [`longest`], or nothing (an empty text) when no wording fits.
#[must_use]
pub fn longest_or_empty<S: AsRef<str>>(room: usize, wordings: &[S]) -> String {
    longest(room, wordings).unwrap_or_default().to_owned()
}

/// SI prefixes and units a number is never parted from when wrapping (`424 k`, `1.0 MiB`).
const UNITS: &[&str] = &[
    "k", "M", "G", "T", "B", "KiB", "MiB", "GiB", "TiB", "PiB", "s", "ms", "µs", "ns", "%",
];

/// Whether `word` is a unit (or a prefix, or a unit per something: `M/s`, `KiB/op`).
fn is_unit(word: &str) -> bool {
    let word = word.trim_end_matches([',', ';', ':', ')', '.']);
    let head = word.split('/').next().unwrap_or(word);
    UNITS.contains(&head)
}

fn ends_in_digit(word: &str) -> bool {
    word.trim_end_matches([',', ';', ':', ')', '%'])
        .ends_with(|c: char| c.is_ascii_digit())
}

/// A no-break space: lines break only at ASCII spaces (and [`BREAK`]).
const GLUE: char = '\u{a0}';

/// A place a word wider than its room may break without a space (never shown).
const BREAK: char = '\u{200b}';

/// Where a word too wide for its room may break: after punctuation that ends a piece of code
/// or data (`split().`, `usage_idle=`, `91.250,`), never inside a number.
fn break_points(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        out.push(c);
        let next = chars.get(i + 1).copied();
        let breaks = match c {
            ',' | ';' | '=' | '/' => true,
            '.' | ':' | '(' | ')' => next.is_some_and(|n| n.is_alphabetic() || n == '_'),
            _ => false,
        };
        if breaks && next.is_some() {
            out.push(BREAK);
        }
    }
    out
}

/// textwrap's words, split at spaces as its `AsciiSpace` does, and also at [`BREAK`], where
/// the pieces join with no space.
fn words(line: &str) -> Box<dyn Iterator<Item = textwrap::core::Word<'_>> + '_> {
    use textwrap::core::Word;
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in line.char_indices() {
        if c == BREAK {
            // The marker is the word's "whitespace": joined on a line the pieces keep it (it is
            // taken out afterwards), and textwrap counts its bytes as columns, so a line with
            // it is never judged narrower than it is.
            let end = i + c.len_utf8();
            if start < i {
                let mut word = Word::from(&line[start..i]);
                word.whitespace = &line[i..end];
                out.push(word);
            }
            start = end;
            in_space = false;
            continue;
        }
        if in_space && c != ' ' {
            out.push(Word::from(&line[start..i]));
            start = i;
        }
        in_space = c == ' ';
    }
    if start < line.len() {
        out.push(Word::from(&line[start..]));
    }
    Box::new(out.into_iter())
}

/// `text` in lines of at most `room` columns, broken only between words, a number kept on the
/// line of its unit. A word wider than the room breaks after its punctuation (code, data); one
/// that has none gets a line of its own, and the record shows it did not fit.
#[must_use]
pub fn wrap(room: usize, text: &str) -> Vec<String> {
    // Glue each unit to its number, so no line ends on `1.0` with `MiB` on the next.
    let mut glued = String::with_capacity(text.len());
    let mut previous: Option<&str> = None;
    for word in text.split(' ') {
        if let Some(prev) = previous {
            let after_number = ends_in_digit(prev) && is_unit(word);
            glued.push(if after_number { GLUE } else { ' ' });
        }
        if width(word) > room {
            glued.push_str(&break_points(word));
        } else {
            glued.push_str(word);
        }
        previous = Some(word);
    }
    let options = textwrap::Options::new(room.max(1))
        .break_words(false)
        .word_separator(textwrap::WordSeparator::Custom(words))
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let lines: Vec<String> = textwrap::wrap(&glued, options)
        .into_iter()
        .map(|line| line.replace(GLUE, " ").replace(BREAK, ""))
        .collect();
    for line in &lines {
        let fits = width(line) <= room;
        record(&[line.as_str()], room, fits.then_some(line.as_str()), true);
    }
    lines
}

/// Shorter wordings of a Rust path (`a::b::c::f`), longest first: the path without its
/// leading components (`b::c::f`, `c::f`, `f`), and without the closures it ends in
/// (`f::{{closure}}` is also `f`). Components inside `<...>` are not split, and no wording
/// starts at a closure: `{{closure}}` (or `{closure#0}`, as line tables name one) alone names
/// nothing.
#[must_use]
pub fn path_wordings(path: &str) -> Vec<String> {
    let mut named = path;
    while let Some((rest, last)) = named.rsplit_once("::")
        && bare_closure(last)
    {
        named = rest;
    }
    let mut out: Vec<String> = path_tails(path).into_iter().map(str::to_owned).collect();
    if named != path && !named.is_empty() {
        out.extend(path_tails(named).into_iter().map(str::to_owned));
    }
    out.retain(|w| !bare_closure(w));
    out.sort_by_key(|w| std::cmp::Reverse(width(w)));
    out.dedup();
    out
}

/// The columns a ratatui `Table` with these `constraints` (one column apart, no selection
/// symbol) gives each column within `width`: the room each cell's text has.
#[must_use]
pub fn table_columns(constraints: &[ratatui::layout::Constraint], width: u16) -> Vec<usize> {
    use ratatui::layout::{Flex, Layout, Rect};
    Layout::horizontal(constraints.iter().copied())
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, width, 1))
        .iter()
        .map(|r| usize::from(r.width))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_wording_that_fits_is_chosen_whole() {
        let wordings = ["424 k op/s · 1.2 M records/s", "424 k op/s", "424 k"];
        assert_eq!(longest(40, &wordings), Some("424 k op/s · 1.2 M records/s"));
        assert_eq!(longest(12, &wordings), Some("424 k op/s"));
        assert_eq!(longest(5, &wordings), Some("424 k"));
        assert_eq!(longest(4, &wordings), None, "never `424` for `424 k`");
        assert_eq!(longest_or_empty(4, &wordings), "");
        // Width is columns on screen, not bytes: `→` and `±` take one column each.
        assert_eq!(longest(11, &["3.00 → 0.00", "x"]), Some("3.00 → 0.00"));
    }

    #[test]
    fn fits_are_recorded_only_while_observed() {
        let (chosen, log) = observe(|| longest(6, &["a longer one", "short"]).map(str::to_owned));
        assert_eq!(chosen.as_deref(), Some("short"));
        assert_eq!(
            log,
            vec![Fitted {
                wordings: vec!["a longer one".into(), "short".into()],
                room: 6,
                chosen: Some("short".into()),
                wrapped: false,
            }]
        );
        let ((), log) = observe(|| {
            let _ = longest(1, &["under"]);
            cover();
            let _ = longest(9, &["over"]);
        });
        assert_eq!(log.len(), 1, "what an overlay covers is not in the record");
        assert_eq!(log[0].chosen.as_deref(), Some("over"));
        // Not observed: nothing is kept.
        let _ = longest(3, &["abc"]);
        let ((), log) = observe(|| {});
        assert!(log.is_empty());
    }

    #[test]
    fn wrapping_breaks_between_words_and_keeps_units_with_their_numbers() {
        let text = "peak heap 1.0 MiB → 80.0 KiB (92.2% lower), 424 k op/s";
        for room in 8..40 {
            let lines = wrap(room, text);
            assert_eq!(lines.join(" "), text, "nothing lost at {room}");
            for line in &lines {
                assert!(width(line) <= room, "{line:?} in {room}");
                for unit in ["MiB", "KiB", "k"] {
                    assert!(
                        !line.starts_with(unit),
                        "{unit} parted at {room}: {lines:?}"
                    );
                }
            }
        }
        // A word wider than the room is not split: its line is recorded as not fitting.
        let (lines, log) = observe(|| wrap(5, "a string-processing b"));
        assert_eq!(lines, ["a", "string-processing", "b"]);
        assert_eq!(log[1].chosen, None);
        // Code and data break after their punctuation, numbers whole, nothing added or lost.
        assert_eq!(
            wrap(
                12,
                "like split().map(to_string).collect() or usage_idle=91.250,x=6.125"
            ),
            [
                "like",
                "split().",
                "map(",
                "to_string).",
                "collect() or",
                "usage_idle=",
                "91.250,x=",
                "6.125",
            ]
        );
    }

    #[test]
    fn a_path_shortens_by_its_leading_components() {
        assert_eq!(
            path_wordings("heaplab_experiments::streaming::read"),
            [
                "heaplab_experiments::streaming::read",
                "streaming::read",
                "read"
            ]
        );
        assert_eq!(
            path_wordings("<alloc::vec::Vec<T> as core::Clone>::clone"),
            ["<alloc::vec::Vec<T> as core::Clone>::clone", "clone"]
        );
        assert_eq!(path_wordings("main"), ["main"]);
        assert_eq!(
            path_wordings("sp::normalize::{{closure}}"),
            [
                "sp::normalize::{{closure}}",
                "normalize::{{closure}}",
                "sp::normalize",
                "normalize"
            ]
        );
        // As line tables name an inlined closure, by the function it is in.
        assert_eq!(
            path_wordings("normalize_record::{closure#0}"),
            ["normalize_record::{closure#0}", "normalize_record"]
        );
    }
}
