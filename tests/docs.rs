//! The documentation as a newcomer meets it: a README that stays a front door (at most 300
//! lines, the two commands `.ci/run` relies on, a link to every page of `docs/`), and no
//! relative link in the README, `ARCHITECTURE.md` or `docs/` that leads nowhere: every file it
//! names exists, and every `#anchor` is a heading of the page it points to.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const README_MAX_LINES: usize = 300;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The README, `ARCHITECTURE.md` and every page of `docs/`.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("a docs/ folder")
        .map(|entry| entry.expect("a docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    assert!(!docs.is_empty(), "docs/ holds no page");
    pages.extend(docs);
    pages
}

/// The text outside fenced code blocks, line by line (a fence's lines become empty, so that
/// line numbers stay).
fn prose_lines(text: &str) -> Vec<&str> {
    let mut in_fence = false;
    text.lines()
        .map(|line| {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                ""
            } else if in_fence {
                ""
            } else {
                line
            }
        })
        .collect()
}

/// A heading's anchor as GitHub makes it: lower case, every character but letters, digits,
/// `-` and `_` dropped, spaces made `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor of a page's headings (a repeated heading gets `-1`, `-2`, as on GitHub).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    for line in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || hashes > 6 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(&line[hashes..]);
        let mut anchor = base.clone();
        let mut n = 0;
        while anchors.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        anchors.insert(anchor);
    }
    anchors
}

/// The targets of a page's Markdown links and images (`[text](target)`, `![alt](target)`),
/// code blocks and code spans left out.
fn link_targets(text: &str) -> Vec<String> {
    let prose = prose_lines(text).join("\n");
    // Code spans out: what is between backticks is code, even across a line break.
    let plain: String = prose.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    let mut targets = Vec::new();
    let mut rest = plain.as_str();
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let end = rest.find(')').unwrap_or(rest.len());
        targets.push(rest[..end].trim().to_owned());
        rest = &rest[end..];
    }
    targets
}

/// What is wrong with `target`, a link on `page`, or `None` if it leads somewhere.
fn broken(page: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None; // not a relative link
    }
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        page.to_path_buf()
    } else {
        page.parent().expect("a page's folder").join(path)
    };
    if !file.exists() {
        return Some(format!("{} does not exist", file.display()));
    }
    let anchor = anchor?;
    if file.extension().is_none_or(|ext| ext != "md") {
        return Some(format!("#{anchor} on {path}, which is not a Markdown page"));
    }
    let known = anchors(&read(&file));
    (!known.contains(anchor)).then(|| {
        format!(
            "{} has no heading #{anchor} (it has {})",
            file.display(),
            known.into_iter().collect::<Vec<_>>().join(", ")
        )
    })
}

#[test]
fn the_readme_is_a_front_door_of_at_most_300_lines() {
    let readme = read(&root().join("README.md"));
    let lines = readme.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, more than {README_MAX_LINES}: move reference to docs/"
    );
    // The two commands, verbatim: `.ci/run` runs exactly the README's test command.
    let commands = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .expect("the README shows its commands in a sh block");
    for command in ["cargo run --release", "cargo test --workspace"] {
        assert!(
            commands.lines().any(|line| line == command),
            "the README's commands leave out `{command}`: {commands}"
        );
    }
    let ci = read(&root().join(".ci/run"));
    assert!(
        ci.lines().any(|line| line == "cargo test --workspace"),
        ".ci/run no longer runs the README's test command"
    );
    // A front door leads to every room.
    let targets = link_targets(&readme);
    for page in pages().iter().skip(1) {
        let name = page
            .strip_prefix(root())
            .expect("a page of the repository")
            .to_string_lossy()
            .into_owned();
        assert!(
            targets
                .iter()
                .any(|t| t.split('#').next() == Some(name.as_str())),
            "the README does not link to {name}"
        );
    }
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading_that_exist() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for page in pages() {
        let text = read(&page);
        for target in link_targets(&text) {
            checked += 1;
            if let Some(why) = broken(&page, &target) {
                wrong.push(format!("{}: ({target}): {why}", page.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "broken links:\n{}", wrong.join("\n"));
    assert!(
        checked >= 20,
        "only {checked} links found: is the parser blind?"
    );
}

#[test]
fn anchors_and_links_are_read_as_github_reads_them() {
    let page = "# Commands\n\n## `heaplab run ID --trace`: no dashboard, a line per interval\n\
                ## A panicking experiment is that run's error\n## Notes\n## Notes\n\
                ```rust\n# not a heading\nlet a = b[..n](x);\n```\n\
                See [the trace](#heaplab-run-id---trace-no-dashboard-a-line-per-interval), \
                `[code](nowhere.md)` and ![a picture\nover two lines](../assets/x.svg).\n";
    let found = anchors(page);
    for anchor in [
        "commands",
        "heaplab-run-id---trace-no-dashboard-a-line-per-interval",
        "a-panicking-experiment-is-that-runs-error",
        "notes",
        "notes-1",
    ] {
        assert!(found.contains(anchor), "{anchor} not in {found:?}");
    }
    assert!(!found.contains("not-a-heading"), "{found:?}");
    assert_eq!(
        link_targets(page),
        [
            "#heaplab-run-id---trace-no-dashboard-a-line-per-interval",
            "../assets/x.svg"
        ]
    );
}
