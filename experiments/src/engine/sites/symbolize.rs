//! The parent's side of allocation sites: a captured window turned into [`Sites`], each the
//! first frame of a stack in the experiment's own code, with its counts per operation, its
//! file relative to the workspace, and its whole stack.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::capture::RawSites;
use super::frames::{
    Classifier, Kind, Resolve, Scope, Symbol, ThisProcess, allocator_frames, names, short_function,
};

/// What a site's `share` is a share of, in the words every view and the docs use (`share: of
/// allocations and reallocations together`): the events the sites are sorted by, as DHAT counts
/// a reallocation as a block.
pub const SHARE_OF: &str = "of allocations and reallocations together";

/// One allocation site: the first frame of a stack in the experiment's own code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// The function (without its hash), e.g. `heaplab_experiments::string_processing::parse`;
    /// a closure the line tables name alone is named by its enclosing function
    /// (`normalize_record::{closure#0}`).
    pub function: String,
    /// Its source file, relative to the workspace's root when it is in it
    /// (`src/bin/lab.rs`, as `file!()` spells it); empty where the code has no line tables.
    pub file: String,
    /// The same file as the line tables give it: an absolute path on the machine that built.
    #[serde(default)]
    pub absolute_file: String,
    /// The line (0: no line tables).
    pub line: u32,
    /// Allocations per operation made here.
    pub allocs_per_op: f64,
    /// Reallocations per operation made here.
    pub reallocs_per_op: f64,
    /// Bytes per operation allocated here (reallocations' growth included).
    pub bytes_per_op: f64,
    /// This site's share of the window's allocations and reallocations together, 0 to 1
    /// ([`SHARE_OF`]).
    pub share: f64,
    /// The stack that made most of them, innermost first from the allocator's caller: every
    /// frame, those that are not the experiment's own code (standard library, dependencies,
    /// heaplab, code the compiler made) marked folded.
    pub stack: Vec<Frame>,
}

impl Site {
    /// `file:line`, the file cut to its last two components (`chapter/string_processing.rs:42`);
    /// where there are no line tables, the function (`normalize_record::{{closure}}`).
    #[must_use]
    pub fn location(&self) -> String {
        if self.file.is_empty() {
            return short_function(&self.function).to_owned();
        }
        let mut parts = self.file.rsplit('/');
        let name = parts.next().unwrap_or("?");
        match parts.next() {
            Some(dir) if !dir.is_empty() => format!("{dir}/{name}:{}", self.line),
            _ => format!("{name}:{}", self.line),
        }
    }
}

/// One frame of a site's stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredFrame")]
pub struct Frame {
    /// The function, a closure named by its enclosing function.
    pub function: String,
    /// Its file, relative to the workspace's root when in it (empty: no line tables).
    pub file: String,
    /// Its line (0: none).
    pub line: u32,
    /// Not the experiment's own code: the views fold runs of these into one line.
    pub folded: bool,
}

impl std::fmt::Display for Frame {
    /// `function (file:line)`, or the function alone where there are no line tables.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.file.is_empty() {
            write!(f, "{}", self.function)
        } else {
            write!(f, "{} ({}:{})", self.function, self.file, self.line)
        }
    }
}

/// A frame as files hold it: an object, or a line of text in files written before frames
/// were (`function (file:line)`, or `[N frames in ...]` for a folded run).
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredFrame {
    Frame {
        function: String,
        #[serde(default)]
        file: String,
        #[serde(default)]
        line: u32,
        #[serde(default)]
        folded: bool,
    },
    Text(String),
}

impl From<StoredFrame> for Frame {
    fn from(stored: StoredFrame) -> Self {
        match stored {
            StoredFrame::Frame {
                function,
                file,
                line,
                folded,
            } => Self {
                function,
                file,
                line,
                folded,
            },
            StoredFrame::Text(text) => Self {
                folded: text.starts_with('['),
                function: text,
                file: String::new(),
                line: 0,
            },
        }
    }
}

/// A symbolized window: the sites, most allocating first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sites {
    /// Operations the window spans.
    pub ops: u64,
    /// The window's allocations per operation (what the sites' `allocs_per_op` add up to).
    pub allocs_per_op: f64,
    /// The window's reallocations per operation.
    pub reallocs_per_op: f64,
    /// The window's bytes per operation.
    pub bytes_per_op: f64,
    /// Allocations and reallocations per operation whose stack found no room (normally 0).
    pub unrecorded_per_op: f64,
    /// Nanoseconds per operation in the window, every allocation captured (the run's own
    /// ns/op is measured without capture: the ratio is what capturing costs).
    #[serde(default)]
    pub ns_per_op: f64,
    /// 0: exhaustive, every allocation captured, the figures exact. Else sampled, one
    /// allocation per about this many bytes: the sites' figures are estimates.
    #[serde(default)]
    pub sample_every: u64,
    /// Some stack found no line in the experiment's code because the code was built without
    /// line tables (a release profile without `debug = "line-tables-only"`): its site is
    /// named by its function, with no file and line 0.
    #[serde(default)]
    pub missing_line_tables: bool,
    /// Every site, by allocations and reallocations per operation, highest first.
    pub sites: Vec<Site>,
}

impl Sites {
    /// The sites at `file` (matched by path suffix, as line tables and `file!()` spell paths
    /// differently), by line.
    pub fn in_file<'a>(&'a self, file: &'a str) -> impl Iterator<Item = &'a Site> + 'a {
        self.sites
            .iter()
            .filter(move |site| super::frames::same_file(&site.file, file))
    }
}

/// The site's name when no frame of a stack is the experiment's.
pub const NO_FRAME: &str = "(no frame in the experiment's code)";

/// Turns a window into sites, with this process's copy of the executable's line tables (so
/// the window must come from a process of the same executable, [`RawSites::relocate`]d, or
/// from this very process). `scope` says which files are the experiments' own (and so where
/// their workspace is) and which of heaplab's fold like the engine's.
#[must_use]
pub fn symbolize(raw: &RawSites, scope: &Scope) -> Sites {
    // A worker's window comes relocated; one captured in this process is copied to relocate.
    let raw = if raw.relative {
        std::borrow::Cow::Borrowed(raw)
    } else {
        let mut copy = raw.clone();
        copy.relocate();
        std::borrow::Cow::Owned(copy)
    };
    let ops = raw.ops.max(1) as f64;
    let events = (raw.allocs + raw.reallocs).max(1) as f64;
    let stacks: Vec<Vec<Symbol>> = raw
        .stacks
        .iter()
        .map(|stack| {
            stack
                .frames
                .iter()
                .flat_map(|&ip| ThisProcess.resolve(ip as u64))
                .collect()
        })
        .collect();
    let classifier = Classifier::new(scope, stacks.iter().flatten());
    let mut missing_line_tables = false;
    // A site is a line (or, without line tables, a function): its counts, and the function
    // and stack of the stack that made most of them.
    let mut by_site: HashMap<(String, u32, String), Tally> = HashMap::new();
    for (stack, symbols) in raw.stacks.iter().zip(&stacks) {
        let placed = place_stack(symbols, &classifier);
        missing_line_tables |= placed.unlined;
        let weight = stack.allocs + stack.reallocs;
        let by_function = if placed.file.is_empty() {
            placed.function.clone()
        } else {
            String::new()
        };
        let tally = by_site
            .entry((placed.file, placed.line, by_function))
            .or_default();
        // Exhaustive: the counts themselves, so that the figures are exact ratios of integers.
        let [allocs, reallocs, bytes] = if raw.sample_every == 0 {
            [
                stack.allocs as f64,
                stack.reallocs as f64,
                stack.bytes as f64,
            ]
        } else {
            stack.weighted
        };
        tally.allocs += allocs;
        tally.reallocs += reallocs;
        tally.bytes += bytes;
        if weight > tally.heaviest || tally.stack.is_empty() {
            tally.function = placed.function;
            tally.absolute_file = placed.absolute_file;
            tally.stack = placed.stack;
            tally.heaviest = weight;
        }
    }
    let mut sites: Vec<Site> = by_site
        .into_iter()
        .map(|((file, line, _), tally)| Site {
            function: tally.function,
            file,
            absolute_file: tally.absolute_file,
            line,
            allocs_per_op: tally.allocs / ops,
            reallocs_per_op: tally.reallocs / ops,
            bytes_per_op: tally.bytes / ops,
            share: (tally.allocs + tally.reallocs) / events,
            stack: tally.stack,
        })
        .collect();
    sites.sort_by(|a, b| {
        (b.allocs_per_op + b.reallocs_per_op)
            .total_cmp(&(a.allocs_per_op + a.reallocs_per_op))
            .then(b.bytes_per_op.total_cmp(&a.bytes_per_op))
            .then_with(|| (&a.file, a.line, &a.function).cmp(&(&b.file, b.line, &b.function)))
    });
    Sites {
        ops: raw.ops,
        allocs_per_op: raw.allocs as f64 / ops,
        reallocs_per_op: raw.reallocs as f64 / ops,
        bytes_per_op: raw.bytes as f64 / ops,
        unrecorded_per_op: raw.unrecorded as f64 / ops,
        ns_per_op: raw.nanos as f64 / ops,
        sample_every: raw.sample_every,
        missing_line_tables,
        sites,
    }
}

/// Where one stack's allocations are charged, and the stack as people read it: what
/// [`place_stack`] gives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    /// The site's function (a closure named by its enclosing function); words saying so
    /// when no frame is the program's own.
    pub function: String,
    /// The site's file relative to the workspace (empty: no line tables, or no own frame).
    pub file: String,
    /// The site's line (0: none).
    pub line: u32,
    /// The site's file as the line tables give it.
    pub absolute_file: String,
    /// Every frame from the allocator's caller, innermost first, those not the program's own
    /// marked folded.
    pub stack: Vec<Frame>,
    /// No frame was the program's own, and some had no line tables.
    pub unlined: bool,
}

/// Places one resolved stack (innermost first): at its first frame in the program's own code,
/// or, where none is and the code has no line tables, at the function that best names it.
#[must_use]
pub fn place_stack(symbols: &[Symbol], classifier: &Classifier) -> Placement {
    let kinds: Vec<Kind> = symbols.iter().map(|s| classifier.kind(s)).collect();
    let names = names(symbols, &|krate| classifier.foreign_crate(krate));
    let own = kinds.iter().position(|k| *k == Kind::Own);
    let unlined = own.is_none() && kinds.contains(&Kind::Unlined);
    let at = own.or_else(|| {
        unlined
            .then(|| classifier.unlined_site(symbols, &kinds))
            .flatten()
    });
    let (function, file, line, absolute_file) = match at {
        Some(at) => {
            let absolute = symbols[at].file.clone().unwrap_or_default();
            (
                names[at].clone(),
                classifier.relative(&absolute),
                symbols[at].line,
                absolute,
            )
        }
        None => (NO_FRAME.to_owned(), String::new(), 0, String::new()),
    };
    let stack = symbols
        .iter()
        .zip(&kinds)
        .zip(names)
        .enumerate()
        .skip(allocator_frames(symbols))
        .map(|(i, ((symbol, kind), function))| Frame {
            function,
            file: symbol
                .file
                .as_deref()
                .map(|f| classifier.relative(f))
                .unwrap_or_default(),
            line: symbol.line,
            folded: *kind != Kind::Own && Some(i) != at,
        })
        .collect();
    Placement {
        function,
        file,
        line,
        absolute_file,
        stack,
        unlined,
    }
}

/// What one line's stacks add up to.
#[derive(Default)]
struct Tally {
    allocs: f64,
    reallocs: f64,
    bytes: f64,
    function: String,
    absolute_file: String,
    stack: Vec<Frame>,
    heaviest: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files written before frames were objects still read: a frame was a line of text.
    #[test]
    fn a_stack_of_text_lines_still_reads() {
        let frames: Vec<Frame> = serde_json::from_str(
            r#"["[3 frames in std, dependencies or heaplab]", "f (src/a.rs:3)",
                {"function": "g", "file": "src/a.rs", "line": 4, "folded": false}]"#,
        )
        .expect("frames");
        assert!(frames[0].folded);
        assert_eq!(frames[1].to_string(), "f (src/a.rs:3)");
        assert_eq!(frames[2].to_string(), "g (src/a.rs:4)");
        assert!(!frames[2].folded);
    }
}
