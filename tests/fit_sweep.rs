//! Issue 22 item 5: at 80x24 and 140x45, every view and overlay of every experiment (all its
//! variants run) keeps its numbers and words whole.
//!
//! Two checks. The texts views fit go through `ui::fit`, which records what it was offered, in
//! what room and what it chose: each choice must fit its room and show whole on screen, never
//! a prefix of it running into a border, the edge or the next column. And the screen itself:
//! a word that runs into a right border or the edge must be a whole word heaplab draws, a
//! number must not end there (its unit would be gone), a unit must follow its number, and a
//! spread keeps its `%`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use heaplab::runner::{Phase, Sample};
use heaplab::ui::app::App;
use heaplab::ui::fit::{self, Fitted};
use heaplab::ui::keys::Action;
use heaplab::ui::tour::TourMode;
use heaplab_experiments::Experiment;
use heaplab_experiments::sites::{Frame, Site, Sites};

/// Counting as the heaplab binary counts: measurements in this process need it.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

mod common;
use common::render;

fn catalog() -> &'static [&'static dyn Experiment] {
    heaplab_experiments::catalog()
}

/// Figures per variant, from the widest the dashboard meets: 12.6 ms per op (streaming), 424 k
/// ops/s, thousands of allocations per op, a peak past a GiB.
const OPS_PER_SEC: [f64; 5] = [79.1, 424_000.0, 2_350_000.0, 31_700.0, 1_180.0];
const ALLOCS_PER_OP: [u64; 5] = [3, 0, 1, 1234, 0];
const PEAK: [u64; 5] = [1 << 20, 80 << 10, 3 << 29, 48 << 20, 7 << 10];

fn sample(info: &heaplab_experiments::ExperimentInfo, v: usize, epoch: u64, secs: f64) -> Sample {
    let rate = OPS_PER_SEC[v % 5];
    // Some jitter, so the speed has a spread to show.
    let wobble = 1.0 + 0.06 * ((secs * 7.0).sin());
    let ops = (secs * rate * wobble).max(1.0) as u64;
    let allocs = ops * ALLOCS_PER_OP[v % 5];
    Sample {
        elapsed: Duration::from_secs_f64(secs + epoch as f64 * 100.0),
        experiment: info.id,
        variant: info.variants[v].name,
        variant_index: v,
        epoch,
        size: info.default_size,
        phase: Phase::Running,
        measured_for: Duration::from_secs_f64(secs),
        ops,
        work: ops * 4096,
        allocs,
        deallocs: allocs,
        reallocs: ops / 3,
        bytes_allocated: allocs * 2048,
        live_heap_bytes: i64::try_from(PEAK[v % 5] / 2).expect("small"),
        peak_heap_bytes: PEAK[v % 5],
        process_heap_bytes: 3 << 29,
        process_rss_bytes: 7 << 29,
        ..Sample::default()
    }
}

fn sites(info: &heaplab_experiments::ExperimentInfo, v: usize) -> Sites {
    let name = info.variants[v].name;
    let mut list: Vec<Site> = info
        .variant_lines(name)
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l.text.trim().len() > 10)
        .take(4)
        .enumerate()
        .map(|(i, l)| Site {
            function: format!(
                "heaplab_experiments::{}::{name}_worker_function_{i}",
                info.id.replace('-', "_")
            ),
            file: format!("/work/x/experiments/{}", l.file),
            line: l.line,
            allocs_per_op: 1.5 * (i + 1) as f64,
            reallocs_per_op: 0.25,
            bytes_per_op: 123_456.0,
            share: 0.2,
            absolute_file: format!("/work/x/experiments/{}", l.file),
            stack: vec![
                Frame {
                    function: format!("heaplab_experiments::{}::helper", info.id),
                    file: "src/x.rs".to_owned(),
                    line: l.line,
                    folded: false,
                },
                Frame {
                    function: "alloc::vec::Vec<T,A>::push".to_owned(),
                    file: "/rustc/abc/library/alloc/src/vec/mod.rs".to_owned(),
                    line: 2438,
                    folded: true,
                },
            ],
        })
        .collect();
    list.push(Site {
        function:
            "<alloc::vec::Vec<T> as alloc::vec::spec_from_iter::SpecFromIter<T,I>>::from_iter"
                .to_owned(),
        file: "/rustc/abc/library/alloc/src/vec/spec_from_iter.rs".to_owned(),
        line: 1234,
        allocs_per_op: 0.75,
        reallocs_per_op: 0.0,
        bytes_per_op: 96.0,
        share: 0.1,
        absolute_file: "/rustc/abc/library/alloc/src/vec/spec_from_iter.rs".to_owned(),
        stack: vec![Frame {
            function: "alloc::vec::from_iter".to_owned(),
            file: String::new(),
            line: 0,
            folded: true,
        }],
    });
    let allocs: f64 = list.iter().map(|s| s.allocs_per_op).sum();
    Sites {
        ops: 12_345,
        allocs_per_op: allocs,
        reallocs_per_op: 0.25,
        bytes_per_op: 123_456.0,
        unrecorded_per_op: 0.01,
        ns_per_op: 12_641_794.0,
        sample_every: 0,
        missing_line_tables: false,
        sites: list,
    }
}

/// `index` after every variant ran for 10 s, the last one running, with sites and counters.
fn all_variants(index: usize) -> App {
    let mut app = App::new(catalog());
    while app.selected < index {
        app.handle(Action::SelectNext, 0.0);
    }
    app.handle(Action::StartStop, 0.0);
    let info = catalog()[index].info();
    let mut now = 0.0;
    for v in 0..info.variants.len() {
        if v > 0 {
            app.handle(Action::SwitchVariant, now);
        }
        let epoch = v as u64 + 1;
        for i in 1..=20 {
            let secs = f64::from(i) * 0.5;
            app.on_sample(sample(info, v, epoch, secs), now + secs);
        }
        app.on_sites(v, Arc::new(sites(info, v)));
        now += 10.0;
    }
    app.on_counters(
        info.variants.len() as u64,
        vec![
            ("hits".to_owned(), 538_000.0),
            ("misses".to_owned(), 86_700.0),
            ("hit_rate_percent".to_owned(), 93.4),
            ("in_flight".to_owned(), 3.0),
        ],
    );
    app.budget = Some(64 << 20);
    app
}

/// Every view and overlay the sweep draws.
const VIEWS: &[&str] = &[
    "main",
    "compare",
    "a",
    "stack",
    "stack unfolded",
    "s",
    "l",
    "?",
    "? end",
    "b",
    "presenter",
    "tour start",
    "tour result",
];

/// The experiment at `index` in `view`.
fn scenario(index: usize, view: &str) -> App {
    if view.starts_with("tour") {
        let mut app = App::new(catalog());
        app.start_tour(TourMode::Manual, index, 0.0);
        let info = catalog()[index].info();
        app.on_sample(sample(info, 0, 1, 0.5), 0.5);
        if view == "tour start" {
            return app;
        }
        for (v, epoch, from) in [(0usize, 1u64, 0.0), (1, 2, 7.0)] {
            for i in 1..=14 {
                let secs = f64::from(i) * 0.5;
                app.on_sample(sample(info, v, epoch, secs), from + secs);
            }
            app.tick(from + 7.0);
        }
        app.tick(15.0);
        return app;
    }
    let mut app = all_variants(index);
    let now = app.now;
    let actions: &[Action] = match view {
        "compare" => &[Action::ToggleCompare],
        "a" => &[Action::ToggleSites],
        "stack" => &[Action::ToggleSites, Action::StartStop],
        "stack unfolded" => &[Action::ToggleSites, Action::StartStop, Action::ScrollRight],
        "s" => &[Action::ToggleSource],
        "l" => &[Action::ToggleLayout],
        "?" => &[Action::ToggleHelp],
        "b" => &[Action::SetBudget],
        _ => &[],
    };
    for action in actions {
        app.handle(*action, now);
    }
    match view {
        "? end" => {
            app.handle(Action::ToggleHelp, now);
            for _ in 0..400 {
                app.handle(Action::SelectNext, now);
            }
        }
        "b" => {
            for c in "1536MiB".chars() {
                app.budget_key(&ratatui::crossterm::event::KeyEvent::from(
                    ratatui::crossterm::event::KeyCode::Char(c),
                ));
            }
        }
        "presenter" => app.workshop.presenter = true,
        _ => {}
    }
    app
}

/// Box-drawing characters: borders, axes and rules.
fn is_border(c: char) -> bool {
    ('\u{2500}'..='\u{257f}').contains(&c)
}

/// The screen as rows of cells (a wide character's second cell is empty).
fn cells(app: &App, width: u16, height: u16) -> (Vec<Vec<String>>, Vec<Fitted>) {
    let (terminal, fitted) = fit::observe(|| render(app, width, height));
    let buffer = terminal.backend().buffer();
    let rows = (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect()
        })
        .collect();
    (rows, fitted)
}

fn row_text(row: &[String]) -> String {
    row.concat()
}

/// The first char of a cell (space for an empty one).
fn char_at(row: &[String], x: usize) -> Option<char> {
    row.get(x).map(|c| c.chars().next().unwrap_or(' '))
}

/// Every fit chose a wording that fits its room, and what it chose shows whole: nowhere does
/// a prefix of it (its first word at least) stop at a border, the edge or a gap while the
/// wording goes on.
fn check_fitted(fitted: &[Fitted], rows: &[Vec<String>], problems: &mut Vec<String>) {
    // Cells, with a wide character's empty second cell left out.
    let screen: Vec<Vec<char>> = rows
        .iter()
        .map(|row| row.iter().filter_map(|c| c.chars().next()).collect())
        .collect();
    // Where each character starts a word on screen.
    let mut starts: std::collections::HashMap<char, Vec<(usize, usize)>> =
        std::collections::HashMap::new();
    for (y, chars) in screen.iter().enumerate() {
        for (x, &c) in chars.iter().enumerate() {
            if x == 0 || !chars[x - 1].is_alphanumeric() {
                starts.entry(c).or_default().push((y, x));
            }
        }
    }
    for f in fitted {
        let Some(chosen) = &f.chosen else {
            if f.wordings.len() == 1 && !f.wordings[0].trim().is_empty() {
                problems.push(format!(
                    "`{}` does not fit in {} columns and has no shorter wording",
                    f.wordings[0], f.room
                ));
            }
            continue;
        };
        if fit::width(chosen) > f.room || !f.wordings.contains(chosen) {
            problems.push(format!("`{chosen}` chosen for {} columns", f.room));
        }
        // A paragraph's lines fit their room by the record above; their words are common
        // enough to start other texts by chance, and they may be scrolled out of view.
        if f.wrapped {
            continue;
        }
        let text: Vec<char> = chosen.trim().chars().collect();
        let first = text.iter().take_while(|c| **c != ' ').count();
        if text.len() < 2 || first == 0 {
            continue;
        }
        let mut whole = false;
        let mut cuts = Vec::new();
        for &(y, start) in starts.get(&text[0]).into_iter().flatten() {
            let (row, chars) = (&rows[y], &screen[y]);
            {
                let matched = text
                    .iter()
                    .zip(&chars[start..])
                    .take_while(|(a, b)| a == b)
                    .count();
                whole |= matched == text.len();
                if matched == text.len() || matched < first {
                    continue;
                }
                // Cut: the text stops at a border or the edge (touching it, or after words of
                // it), or stops in the middle of a word where its column ends.
                let touching = text[matched - 1] != ' ';
                let words_in = text[..matched].iter().filter(|c| **c == ' ').count();
                let cut = match chars.get(start + matched) {
                    None => touching || words_in >= 2,
                    Some(&c) if is_border(c) => touching || words_in >= 2,
                    Some(' ') => touching && text[matched] != ' ',
                    Some(_) => false,
                };
                if cut {
                    cuts.push(format!(
                        "`{chosen}` shows cut as `{}`: {}",
                        text[..matched].iter().collect::<String>(),
                        row_text(row).trim_end()
                    ));
                }
            }
        }
        // The same text may show whole in one place and by chance start another: a cut counts
        // where the text shows nowhere whole.
        if !whole {
            problems.extend(cuts.into_iter().take(1));
        }
    }
}

/// The words heaplab draws: everything offered to `fit`, and the catalog's and help's texts.
fn vocabulary(fitted: &[Fitted]) -> HashSet<String> {
    fitted
        .iter()
        .flat_map(|f| &f.wordings)
        .flat_map(|t| t.split_whitespace().map(|w| trim_word(w).to_owned()))
        .collect()
}

/// The catalog's and help's words.
fn fixed_vocabulary() -> &'static HashSet<String> {
    static WORDS: std::sync::OnceLock<HashSet<String>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        let mut texts: Vec<String> = Vec::new();
        for e in catalog() {
            let info = e.info();
            texts.extend(
                [info.id, info.title, info.why, info.size_unit, info.source].map(str::to_owned),
            );
            texts.push(info.section.title().to_owned());
            texts.extend(
                info.variants
                    .iter()
                    .map(|v| format!("{} {}", v.name, v.summary)),
            );
        }
        for b in heaplab::ui::keys::BINDINGS {
            texts.push(b.help.to_owned());
            texts.extend(b.status.map(str::to_owned));
        }
        for (term, meaning) in heaplab::ui::glossary::GLOSSARY {
            texts.push(format!("{term} {meaning}"));
        }
        texts.push("now frozen experiments naive optimized crate ghost live peak".to_owned());
        texts
            .iter()
            .flat_map(|t| t.split_whitespace().map(|w| trim_word(w).to_owned()))
            .collect()
    })
}

fn trim_word(word: &str) -> &str {
    word.trim_end_matches(['.', ',', ';', ':', ')', '\'', '"'])
        .trim_start_matches(['(', '\'', '"'])
}

/// A unit, an SI prefix or a unit per something (`M/s`, `KiB/op`).
fn is_unit(word: &str) -> bool {
    const UNITS: &[&str] = &[
        "k", "M", "G", "T", "B", "KiB", "MiB", "GiB", "TiB", "s", "ms", "ns", "%", "x",
    ];
    UNITS.contains(&word.split('/').next().unwrap_or(word))
}

/// `60s`, `683/s`, `-60s`, `2.00x`, `12%`: a number with its unit in one word.
fn number_with_unit(word: &str) -> bool {
    let digits = word.trim_start_matches(['-', '+', '±', '~', '≥', '≤']);
    let unit = digits.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ',');
    let unit = unit.trim_start_matches('/');
    digits.starts_with(|c: char| c.is_ascii_digit()) && !unit.is_empty() && is_unit(unit)
}

fn ends_in_digit(word: &str) -> bool {
    word.ends_with(|c: char| c.is_ascii_digit())
}

/// The words of `row` in `[from, to)`: (first x, end x, text).
fn words(row: &[String], from: usize, to: usize) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for x in from..=to {
        let c = if x < to { char_at(row, x) } else { None };
        let separator = c.is_none_or(|c| c == ' ' || is_border(c));
        if separator {
            if let Some((start, text)) = current.take() {
                out.push((start, x, text));
            }
        } else if !row[x].is_empty() {
            // (A wide character's second cell is empty.)
            current
                .get_or_insert_with(|| (x, String::new()))
                .1
                .push_str(&row[x]);
        }
    }
    out
}

/// The screen: a word that runs into a right border or the edge is whole, no number ends
/// there, units follow their numbers (also across a wrapped line), spreads keep their `%`.
fn check_screen(
    rows: &[Vec<String>],
    region: (usize, usize, usize, usize),
    vocabulary: &HashSet<String>,
    problems: &mut Vec<String>,
) {
    let (left, top, right, bottom) = region;
    for y in top..bottom {
        let row = &rows[y];
        let list = words(row, left, right);
        for (i, (_, end, word)) in list.iter().enumerate() {
            let at_edge = *end == right || char_at(row, *end).is_some_and(is_border);
            let bare = trim_word(word);
            let before = i.checked_sub(1).map(|j| &list[j]);
            let glued_to_previous = before.is_some_and(|(_, e, _)| *e + 1 == list[i].0);
            let mut fault = None;
            let spread = bare.strip_prefix('±');
            if spread
                .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()) && !n.ends_with('%'))
            {
                fault = Some("a spread without its %");
            } else if bare.ends_with('/')
                && bare.trim_end_matches('/').ends_with(char::is_alphabetic)
            {
                fault = Some("a unit cut after its /");
            } else if is_unit(bare) && !number_with_unit(bare) {
                let after_number = glued_to_previous
                    && before.is_some_and(|(_, _, w)| ends_in_digit(trim_word(w)));
                // At the start of a line, its number may end the line above.
                let x = list[i].0;
                let segment_start = (left..x)
                    .rev()
                    .find(|&b| char_at(row, b).is_some_and(is_border))
                    .map_or(left, |b| b + 1);
                let segment_end = (x..right)
                    .find(|&b| char_at(row, b).is_some_and(is_border))
                    .unwrap_or(right);
                let first_on_line = (segment_start..x).all(|b| char_at(row, b) == Some(' '));
                let above = (y > top && first_on_line)
                    .then(|| words(&rows[y - 1], segment_start, segment_end))
                    .and_then(|w| w.last().cloned());
                if above.is_some_and(|(_, _, w)| ends_in_digit(trim_word(&w))) {
                    fault = Some("a unit parted from its number by a line break");
                } else if at_edge && !after_number && bare.len() <= 1 {
                    fault = Some("a letter cut from its word");
                }
            } else if at_edge && ends_in_digit(bare) {
                fault = Some("a number runs into the border (its unit cut?)");
            } else if at_edge
                && !bare.ends_with('›')
                && !number_with_unit(bare)
                && !vocabulary.contains(bare)
                && !fixed_vocabulary().contains(bare)
                && bare.chars().any(char::is_alphabetic)
            {
                fault = Some("a word cut at the border");
            }
            if let Some(fault) = fault {
                problems.push(format!(
                    "{fault}: `{word}` in {}",
                    row_text(&row[left..right]).trim_end()
                ));
            }
        }
    }
}

/// An overlay's box (double lines): what lies under it is covered, not cut.
fn overlay_region(rows: &[Vec<String>]) -> Option<(usize, usize, usize, usize)> {
    let find = |corner: &str| {
        rows.iter()
            .enumerate()
            .find_map(|(y, row)| row.iter().position(|c| c == corner).map(|x| (x, y)))
    };
    let (left, top) = find("╔")?;
    let (right, bottom) = find("╝")?;
    Some((left, top, right + 1, bottom + 1))
}

/// What the sweep finds that is not this item's to fix: the verdict line's wording is issue 22
/// item 6 (the lead's). Each entry: (view, size, a fragment of the problem). Empty: none.
const KNOWN: &[(&str, &str, &str)] = &[];

#[test]
fn every_view_of_every_experiment_keeps_its_numbers_and_words_whole() {
    let mut problems = Vec::new();
    for (index, experiment) in catalog().iter().enumerate() {
        let id = experiment.info().id;
        for view in VIEWS {
            let app = scenario(index, view);
            for (width, height) in [(80u16, 24u16), (140, 45)] {
                let (rows, fitted) = cells(&app, width, height);
                let mut found = Vec::new();
                check_fitted(&fitted, &rows, &mut found);
                let region = if matches!(*view, "?" | "? end" | "b") {
                    overlay_region(&rows).expect("the overlay's box")
                } else {
                    (0, 0, usize::from(width), usize::from(height))
                };
                check_screen(&rows, region, &vocabulary(&fitted), &mut found);
                let size = format!("{width}x{height}");
                found.retain(|p| {
                    !KNOWN
                        .iter()
                        .any(|(v, s, what)| v == view && *s == size && p.contains(what))
                });
                if !found.is_empty() {
                    let screen: Vec<String> = rows.iter().map(|r| row_text(r)).collect();
                    problems.push(format!(
                        "{id} · {view} · {size}:\n  {}\n{}",
                        found.join("\n  "),
                        screen.join("\n")
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} screens cut something:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Cells of a screen written as text, one per character.
fn screen_of(lines: &[&str]) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|l| l.chars().map(String::from).collect())
        .collect()
}

/// The checks themselves catch each cut issue 22 listed, and pass what is whole.
#[test]
fn the_checks_catch_each_cut_the_issue_listed() {
    let cut = [
        ("│optimized 0.00      12641794 ±6 80 KiB │", "spread"),
        ("│variant   allocs/op ns/op peak     ops/│", "after its /"),
        (
            "│naive     3.00      1.0 MiB        424│",
            "number runs into",
        ),
        ("║Borrow slices, reuse the outpu║", "word cut"),
        (
            "║   Space/v  switch variant; the old trace s║",
            "letter cut",
        ),
        (
            " source · streaming · allocs/op measured per line · s or Esc cl",
            "word cut",
        ),
    ];
    for (line, fault) in cut {
        let rows = screen_of(&[line]);
        let mut problems = Vec::new();
        let width = rows[0].len();
        check_screen(&rows, (0, 0, width, 1), &HashSet::new(), &mut problems);
        assert!(
            problems.iter().any(|p| p.contains(fault)),
            "`{line}` not caught as {fault}: {problems:?}"
        );
    }
    // A unit on the line after its number.
    let rows = screen_of(&["║  1.0 MiB → 80.0      ║", "║  KiB (92.2% lower)   ║"]);
    let mut problems = Vec::new();
    check_screen(&rows, (0, 0, 23, 2), &HashSet::new(), &mut problems);
    assert!(
        problems.iter().any(|p| p.contains("line break")),
        "{problems:?}"
    );

    // What was fitted shows cut: at a border, at the edge, where its column ends.
    let fitted = |chosen: &str| Fitted {
        wordings: vec![chosen.to_owned()],
        room: 80,
        chosen: Some(chosen.to_owned()),
        wrapped: false,
    };
    for (chosen, line) in [
        ("424 k", "│naive  3.00  424│"),
        (
            " 12 ops captured: 15.75 allocs/op; the sites add up to 15.75 allocs/op",
            " 12 ops captured: 15.75 allocs/op; the sites add up",
        ),
        ("12641794 ±6.1%", "│optimized 12641794 ±6 80 KiB│"),
    ] {
        let mut problems = Vec::new();
        check_fitted(&[fitted(chosen)], &screen_of(&[line]), &mut problems);
        assert!(
            !problems.is_empty(),
            "`{chosen}` cut in `{line}` not caught"
        );
    }

    // Whole texts pass.
    let rows = screen_of(&[
        "│naive     3.00      1.0 MiB    424 k │",
        "│1.1 MiB│ ⣿ 683/s│  -60s  now│",
    ]);
    let mut problems = Vec::new();
    check_screen(&rows, (0, 0, 38, 2), &HashSet::new(), &mut problems);
    check_fitted(&[fitted("424 k"), fitted("3.00")], &rows, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
}
