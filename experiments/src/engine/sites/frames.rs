//! One frame of a captured stack: resolved to function, file and line with the binary's line
//! tables (cached per address), and told apart by what it is. A frame is the experiment's own
//! code when its file is in the workspace the experiments' source files are in; everything
//! else folds, whatever its path looks like: the toolchain's sources (`/rustc/HASH/`), std's
//! vendored crates (`/rust/deps/`), the cargo registry and git checkouts, a path dependency
//! outside the workspace, heaplab's own engine and glue, and code the compiler made.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};

use super::capture::{OUTSIDE, anchor};

/// One resolved frame (of possibly several, when calls were inlined into one address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The function, demangled without its hash.
    pub function: String,
    /// `None`: the address has no line tables (only the symbol table names its function).
    pub file: Option<String>,
    /// The line (0: none, or code the compiler made).
    pub line: u32,
}

/// Turns a return address into its frames, innermost first (several where calls were inlined
/// into it; none where nothing is known of it). The engine's own is [`ThisProcess`]; the
/// viewer of an attached program reads that program's executable.
pub trait Resolve {
    /// The frames at `address`, as the implementation takes addresses.
    fn resolve(&mut self, address: u64) -> Vec<Symbol>;
}

/// This very process's executable, with its own line tables (`backtrace`), each address
/// resolved once for the process's life: addresses are offsets relative to it
/// ([`RawSites::relocate`](super::RawSites::relocate)), an `i64` as bits ([`OUTSIDE`]: none).
#[derive(Debug, Clone, Copy, Default)]
pub struct ThisProcess;

impl Resolve for ThisProcess {
    fn resolve(&mut self, address: u64) -> Vec<Symbol> {
        resolve(address as i64)
    }
}

/// What the symbolizer knows of the experiments it names sites for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// The experiments' own source files as rustc was given them (`file!()`,
    /// `Location::file()`): relative to the workspace's root for a crate of the workspace.
    /// The line tables give the same files as absolute paths, so a frame in one of them says
    /// where the workspace is, whatever folder the program runs from.
    pub own_files: &'a [&'a str],
    /// Further files of heaplab's whose frames fold like the engine's (a lab's glue); an
    /// entry ending in `/` is every file of that folder.
    pub also_folded: &'a [&'a str],
    /// Further crates of heaplab's, by name, whose frames fold where there are no line tables.
    pub also_folded_crates: &'a [&'a str],
}

/// What a frame is, for sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The experiment's own code: a site.
    Own,
    /// Not the experiment's: folded.
    Folded,
    /// No line tables here: only the function's name is known.
    Unlined,
}

/// Whether two spellings of a source path name the same file: one is the other's suffix at a
/// path boundary (`/work/x/src/a.rs` and `src/a.rs`).
#[must_use]
pub fn same_file(a: &str, b: &str) -> bool {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    !short.is_empty()
        && long.ends_with(short)
        && (long.len() == short.len() || long[..long.len() - short.len()].ends_with('/'))
}

/// The engine's own files and folders (ending in `/`: every file in it), whose frames fold
/// even in heaplab's own workspace: everything between an experiment's code and the capture
/// (the allocator, this recorder) and around it (the loop, the worker, setup).
const ENGINE_FILES: &[&str] = &[
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/sites/"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/counting/"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/measure/"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/worker.rs"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/experiment.rs"),
];

/// Whether `file` is one of [`ENGINE_FILES`], or in one of its folders.
fn engine_file(file: &str) -> bool {
    ENGINE_FILES.iter().any(|engine| file_or_in(file, engine))
}

/// Whether `file` is `entry`, or, for an entry ending in `/`, a file in that folder.
fn file_or_in(file: &str, entry: &str) -> bool {
    match entry.strip_suffix('/') {
        Some(folder) => file
            .rsplit_once('/')
            .is_some_and(|(dir, _)| same_file(dir, folder)),
        None => same_file(file, entry),
    }
}

/// The folders of the engine that run inside the global allocator: counting and capturing.
const ALLOCATOR_FOLDERS: &[&str] = &[
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/sites"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/counting"),
];

/// How many of a stack's innermost frames are inside the global allocator (the unwinder, the
/// recorder, heaplab's counting), which no stack shown to people needs: up to the allocator
/// shim the compiler writes (`__rust_alloc`), or, where it was inlined, to the last frame of
/// the counting and capturing code.
pub(super) fn allocator_frames(symbols: &[Symbol]) -> usize {
    let shim = symbols.iter().position(|s| {
        s.function
            .rsplit("::")
            .next()
            .is_some_and(|name| name.starts_with("__rust_"))
    });
    let recorder = || {
        symbols.iter().rposition(|s| {
            s.file.as_deref().is_some_and(|file| {
                file.rsplit_once('/').is_some_and(|(dir, _)| {
                    ALLOCATOR_FOLDERS
                        .iter()
                        .any(|folder| same_file(dir, folder))
                })
            })
        })
    };
    shim.or_else(recorder).map_or(0, |at| at + 1)
}

/// The crates every Rust program links from the toolchain: where there are no line tables,
/// their frames are known by their functions' paths.
const TOOLCHAIN_CRATES: &[&str] = &["std", "core", "alloc"];

/// The crate a function's path starts with (`<lab::Row as core::fmt::Display>::fmt`: `lab`).
fn crate_of(function: &str) -> &str {
    let name = function.trim_start_matches(['<', '&', '*', ' ']);
    let name = name
        .strip_prefix("mut ")
        .or_else(|| name.strip_prefix("const "))
        .unwrap_or(name);
    let end = name
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    &name[..end]
}

/// The frames of one window, told apart: the workspace's root, found once per window.
#[derive(Debug)]
pub struct Classifier<'a> {
    scope: &'a Scope<'a>,
    /// The workspace's root as the line tables spell it, without a trailing `/`.
    root: Option<String>,
    /// Another program's frames: the functions of heaplab's crates fold wherever their files
    /// are (that program may be built in heaplab's own workspace, as the demo is).
    fold_foreign_functions: bool,
}

impl<'a> Classifier<'a> {
    /// Finds the workspace from the window's frames: a frame in one of the experiments' own
    /// files, given relative to the root, is that root joined with it. Failing that (the
    /// experiment's code is a function of another file, passed by name), the folder of
    /// `CARGO_MANIFEST_DIR` (set by `cargo run` and `cargo bench`) or of the current directory,
    /// or one above it, that holds an own file.
    pub fn new<'s>(scope: &'a Scope<'a>, symbols: impl Iterator<Item = &'s Symbol>) -> Self {
        let relative: Vec<&str> = scope
            .own_files
            .iter()
            .copied()
            .filter(|f| !f.is_empty() && Path::new(f).is_relative())
            .collect();
        let from_frames = symbols
            .filter_map(|s| s.file.as_deref())
            .filter(|file| Path::new(file).is_absolute())
            .find_map(|file| {
                relative.iter().find_map(|own| {
                    file.strip_suffix(own)
                        .and_then(|root| root.strip_suffix('/'))
                        .map(str::to_owned)
                })
            });
        let root = from_frames.or_else(|| {
            let bases = [
                std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from),
                std::env::current_dir().ok(),
            ];
            bases.into_iter().flatten().find_map(|base| {
                base.ancestors()
                    .find(|dir| relative.iter().any(|own| dir.join(own).is_file()))
                    .map(|dir| dir.display().to_string())
            })
        });
        Self {
            scope,
            root,
            fold_foreign_functions: false,
        }
    }

    /// For another program's frames (an attached program's, in the viewer), its workspace's
    /// `root` known beforehand (from its executable's path). Functions of the toolchain's
    /// crates, of heaplab's and of `scope.also_folded_crates` fold even where their files are
    /// in that workspace: it may be heaplab's own, the program one of its examples.
    #[must_use]
    pub fn for_program(scope: &'a Scope<'a>, root: Option<String>) -> Self {
        Self {
            scope,
            root: root.map(|root| root.trim_end_matches('/').to_owned()),
            fold_foreign_functions: true,
        }
    }

    /// What `symbol` is.
    pub(super) fn kind(&self, symbol: &Symbol) -> Kind {
        let Some(file) = symbol.file.as_deref() else {
            return Kind::Unlined;
        };
        // Line 0: code the compiler made without a line of its own; the caller's line names
        // it. `__` names: the compiler's and the runtime's shims (`__rust_alloc`, whose line
        // is the `#[global_allocator]` declaration's).
        let made = symbol.line == 0 || symbol.function.starts_with("__");
        let heaplab = engine_file(file)
            || self
                .scope
                .also_folded
                .iter()
                .any(|also| file_or_in(file, also));
        let foreign = self.fold_foreign_functions && self.foreign_crate(crate_of(&symbol.function));
        if made || heaplab || foreign || !self.in_workspace(file) {
            Kind::Folded
        } else {
            Kind::Own
        }
    }

    /// Whether `file` is in the experiments' workspace: under its root, or a relative path
    /// (relative to the folder rustc ran in, the workspace's). With no root found, only the
    /// own files themselves are. An own file given as an absolute path (a crate outside the
    /// workspace: the chapter's, when heaplab is a dependency) is its experiment's all the same.
    fn in_workspace(&self, file: &str) -> bool {
        if Path::new(file).is_relative() || self.scope.own_files.contains(&file) {
            return true;
        }
        match &self.root {
            Some(root) => file
                .strip_prefix(root.as_str())
                .is_some_and(|rest| rest.starts_with('/')),
            None => self.scope.own_files.iter().any(|own| same_file(file, own)),
        }
    }

    /// `file` relative to the workspace's root when it is under it (`src/bin/lab.rs`), else
    /// as the line tables give it.
    pub(super) fn relative(&self, file: &str) -> String {
        self.root
            .as_deref()
            .and_then(|root| file.strip_prefix(root))
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(file)
            .to_owned()
    }

    /// Whether functions of `krate` are the toolchain's or heaplab's, never the experiment's.
    pub(super) fn foreign_crate(&self, krate: &str) -> bool {
        TOOLCHAIN_CRATES.contains(&krate)
            || krate == env!("CARGO_CRATE_NAME")
            || self.scope.also_folded_crates.contains(&krate)
    }

    /// Where none of a stack's frames is the experiment's own and some have no line tables:
    /// the frame that best names the experiment's code by its function alone. Of the frames
    /// without lines, neither the toolchain's, nor heaplab's, nor the compiler's, the
    /// outermost is the one heaplab called (the variant's closure, when not inlined); the
    /// innermost frame of its crate is the nearest to the allocation.
    pub(super) fn unlined_site(&self, symbols: &[Symbol], kinds: &[Kind]) -> Option<usize> {
        let candidates: Vec<usize> = (0..symbols.len())
            .filter(|&i| kinds[i] == Kind::Unlined)
            .filter(|&i| {
                let function = symbols[i].function.as_str();
                let krate = crate_of(function);
                !krate.is_empty() && !function.starts_with("__") && !self.foreign_crate(krate)
            })
            .collect();
        let theirs = crate_of(&symbols[*candidates.last()?].function);
        candidates
            .into_iter()
            .find(|&i| crate_of(&symbols[i].function) == theirs)
    }
}

/// Whether `name` starts with a closure, without the function it is in (`{closure#0}`, how the
/// line tables name a closure that was inlined, or `{{closure}}`).
#[must_use]
pub fn bare_closure(name: &str) -> bool {
    name.starts_with("{closure") || name.starts_with("{{closure}}")
}

/// The paths of the functions whose closure `index` the generic arguments of `function`
/// name (`fold<.., lab::normalize_record::{closure_env#0}, ..>`: `lab::normalize_record`),
/// in order.
fn closure_owners(function: &str, index: &str) -> Vec<String> {
    let marker = format!("::{{closure_env#{index}}}");
    let path_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | ':' | '{' | '}' | '#');
    function
        .match_indices(&marker)
        .filter_map(|(at, _)| {
            let before = &function[..at];
            let start = before
                .char_indices()
                .rev()
                .find(|&(_, c)| !path_char(c))
                .map_or(0, |(i, c)| i + c.len_utf8());
            let path = &before[start..];
            (!path.is_empty()).then(|| path.to_owned())
        })
        .collect()
}

/// Each frame's function as people read it. A closure the line tables name alone
/// (`{closure#0}`) is named by the function it is in: the path the generic arguments of an
/// outer frame give its type (the adapter it was handed to: `Map<I, F>`'s `fold` names
/// `lab::normalize_record::{closure_env#0}`), or else the nearest outer frame in the same
/// file (the function that calls it directly). Outermost first, so that nested closures nest.
pub(super) fn names(symbols: &[Symbol], foreign: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut names: Vec<String> = symbols.iter().map(|s| s.function.clone()).collect();
    for at in (0..symbols.len()).rev() {
        let Some(file) = symbols[at].file.as_deref() else {
            continue;
        };
        if !bare_closure(&names[at]) {
            continue;
        }
        let caller = (at + 1..symbols.len()).find(|&o| symbols[o].file.as_deref() == Some(file));
        let index = names[at]
            .trim_start_matches('{')
            .strip_prefix("closure#")
            .and_then(|rest| rest.split('}').next())
            .unwrap_or("0")
            .to_owned();
        let by_type = (at + 1..caller.map_or(symbols.len(), |c| c + 1)).find_map(|o| {
            closure_owners(&symbols[o].function, &index)
                .into_iter()
                .find(|owner| !foreign(crate_of(owner)))
        });
        if let Some(owner) = by_type.or_else(|| caller.map(|c| names[c].clone())) {
            names[at] = format!("{owner}::{}", names[at]);
        }
    }
    names
}

/// `path` and each tail of it after a top-level `::` (`a::b::f`, `b::f`, `f`), longest first:
/// components inside `<...>` are not split.
#[must_use]
pub fn path_tails(path: &str) -> Vec<&str> {
    let mut out = vec![path];
    let mut depth = 0usize;
    let bytes = path.as_bytes();
    for (i, c) in path.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            ':' if depth == 0 && bytes.get(i + 1) == Some(&b':') && i + 2 < path.len() => {
                out.push(&path[i + 2..]);
            }
            _ => {}
        }
    }
    out
}

/// A function's name without its path, but with the function a closure is in:
/// `lab::normalize_record::{{closure}}` is `normalize_record::{{closure}}`. Components inside
/// `<...>` are not split.
#[must_use]
pub fn short_function(name: &str) -> &str {
    let tails = path_tails(name);
    let mut at = tails.len() - 1;
    while at > 0 && bare_closure(tails[at]) {
        at -= 1;
    }
    tails[at]
}

/// The frames at `offset` (relative to the executable; [`OUTSIDE`]: none), innermost first.
pub(super) fn resolve(offset: i64) -> Vec<Symbol> {
    static CACHE: OnceLock<Mutex<HashMap<i64, Vec<Symbol>>>> = OnceLock::new();
    if offset == OUTSIDE {
        return Vec::new();
    }
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(found) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&offset)
    {
        return found.clone();
    }
    let mut symbols = Vec::new();
    let address = (anchor() as i64).wrapping_add(offset) as usize;
    backtrace::resolve(address as *mut std::ffi::c_void, |symbol| {
        symbols.push(Symbol {
            function: symbol
                .name()
                .map_or_else(|| "?".to_owned(), |name| format!("{name:#}")),
            file: symbol.filename().map(|f| f.display().to_string()),
            line: symbol.lineno().unwrap_or(0),
        });
    });
    cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(offset, symbols.clone());
    symbols
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbol(function: &str, file: Option<&str>, line: u32) -> Symbol {
        Symbol {
            function: function.to_owned(),
            file: file.map(str::to_owned),
            line,
        }
    }

    /// The engine's frames fold wherever its files are in a folder (the counting allocator,
    /// the loop), as the line tables spell them, and the chapter's never do.
    #[test]
    fn engine_files_fold_and_chapter_files_do_not() {
        for file in [
            "experiments/src/engine/counting/alloc.rs",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/engine/counting/capture.rs"
            ),
            "experiments/src/engine/measure/mod.rs",
            "experiments/src/engine/sites/capture.rs",
            "experiments/src/engine/experiment.rs",
        ] {
            assert!(engine_file(file), "{file}");
        }
        for file in [
            "experiments/src/chapter/in_place.rs",
            "experiments/src/engine/data.rs",
            "experiments/src/engine/counting.rs",
            "src/lab.rs",
        ] {
            assert!(!engine_file(file), "{file}");
        }
    }

    #[test]
    fn paths_match_by_suffix_at_a_boundary() {
        assert!(same_file(
            "/work/main/experiments/src/a.rs",
            "experiments/src/a.rs"
        ));
        assert!(same_file("src/a.rs", "/x/src/a.rs"));
        assert!(same_file("src/a.rs", "src/a.rs"));
        assert!(!same_file("/x/src/ba.rs", "a.rs"));
        assert!(!same_file("", "a.rs"));
    }

    /// The workspace is where the own file's frame says it is; everything outside it folds
    /// by what it is, whatever its path looks like: std's vendored crates under `/rust/deps`,
    /// a registry in an unusual place, a path dependency beside the workspace.
    #[test]
    fn frames_outside_the_workspace_fold_whatever_their_path() {
        let scope = Scope {
            own_files: &["src/bin/lab.rs"],
            ..Scope::default()
        };
        let frames = [
            symbol(
                "do_alloc<alloc::alloc::Global>",
                Some("/rust/deps/hashbrown-0.16.1/src/raw/alloc.rs"),
                19,
            ),
            symbol("parse", Some("/opt/crates/csv-1.3.1/src/lib.rs"), 7),
            symbol("helper", Some("/home/u/lab-helpers/src/lib.rs"), 3),
            symbol("normalize", Some("/home/u/lab/src/util.rs"), 12),
            symbol("{closure#0}", Some("/home/u/lab/src/bin/lab.rs"), 20),
        ];
        let classifier = Classifier::new(&scope, frames.iter());
        let kinds: Vec<Kind> = frames.iter().map(|s| classifier.kind(s)).collect();
        assert_eq!(
            kinds,
            [
                Kind::Folded,
                Kind::Folded,
                Kind::Folded,
                Kind::Own,
                Kind::Own
            ]
        );
        assert_eq!(
            classifier.relative("/home/u/lab/src/util.rs"),
            "src/util.rs"
        );
        assert_eq!(
            classifier.relative("/rust/deps/hashbrown-0.16.1/src/raw/alloc.rs"),
            "/rust/deps/hashbrown-0.16.1/src/raw/alloc.rs"
        );
        // The workspace's root is a folder: a sibling whose name starts alike is outside it.
        assert_eq!(
            classifier.kind(&symbol("f", Some("/home/u/lab2/src/a.rs"), 1)),
            Kind::Folded
        );
    }

    #[test]
    fn a_closure_is_named_by_its_enclosing_function() {
        let frames = [
            symbol("format", Some("/rustc/x/library/alloc/src/fmt.rs"), 3),
            symbol("{closure#0}", Some("/w/src/bin/lab.rs"), 5),
            symbol("fold", Some("/rustc/x/library/core/src/iter.rs"), 9),
            symbol("normalize_record", Some("/w/src/bin/lab.rs"), 5),
            symbol("{closure#0}", Some("/w/src/bin/lab.rs"), 17),
            symbol("main", Some("/w/src/bin/lab.rs"), 14),
        ];
        let names = names(&frames, &|krate| krate == "core");
        assert_eq!(names[1], "normalize_record::{closure#0}");
        assert_eq!(names[4], "main::{closure#0}");
        assert_eq!(names[3], "normalize_record");
        // Where the enclosing function's frame is gone (a tail call), the adapter the closure
        // was handed to names its type, whose path is the enclosing function.
        let frames = [
            symbol("{closure#1}", Some("/w/src/bin/lab.rs"), 10),
            symbol(
                "fold<u8, core::iter::for_each::call::{closure_env#1}<u8>, \
                 lab::normalize_record::{closure_env#1}>",
                Some("/rustc/x/library/core/src/iter.rs"),
                9,
            ),
            symbol("{closure#0}", Some("/w/src/bin/lab.rs"), 19),
            symbol(
                "run_op<lab::main::{closure#0}::{closure_env#0}, usize>",
                Some("/h/src/lab/closure.rs"),
                56,
            ),
        ];
        let names = super::names(&frames, &|krate| krate == "core");
        assert_eq!(names[0], "lab::normalize_record::{closure#1}");
        assert_eq!(names[2], "lab::main::{closure#0}::{closure#0}");
        assert_eq!(
            short_function("lab::normalize_record::{{closure}}"),
            "normalize_record::{{closure}}"
        );
        assert_eq!(
            short_function("lab::a::{closure#0}::{closure#1}"),
            "a::{closure#0}::{closure#1}"
        );
        assert_eq!(short_function("<lab::A as core::fmt::Display>::fmt"), "fmt");
        assert_eq!(short_function("f"), "f");
    }

    /// Another program's frames: its workspace given, heaplab's functions fold even where
    /// that workspace is heaplab's (the demo, an example of it), and its own lines do not.
    #[test]
    fn another_programs_heaplab_frames_fold_in_heaplabs_own_workspace() {
        let scope = Scope {
            also_folded_crates: &["heaplab"],
            ..Scope::default()
        };
        let classifier = Classifier::for_program(&scope, Some("/ws/heaplab/".to_owned()));
        let own = symbol(
            "monitor_demo::leak",
            Some("/ws/heaplab/examples/monitor_demo.rs"),
            9,
        );
        let monitor = symbol(
            "heaplab::monitor::start",
            Some("/ws/heaplab/src/monitor/mod.rs"),
            4,
        );
        let engine = symbol(
            "heaplab_experiments::engine::sites::live::record",
            Some("/ws/heaplab/experiments/src/engine/sites/live.rs"),
            7,
        );
        let std = symbol(
            "alloc::vec::Vec<T>::push",
            Some("/rustc/abc/library/alloc/src/vec/mod.rs"),
            2,
        );
        assert_eq!(classifier.kind(&own), Kind::Own);
        assert_eq!(
            classifier.relative("/ws/heaplab/examples/monitor_demo.rs"),
            "examples/monitor_demo.rs"
        );
        for folded in [monitor, engine, std] {
            assert_eq!(classifier.kind(&folded), Kind::Folded, "{folded:?}");
        }
        // The engine's own classifier keeps a chapter experiment's heaplab_experiments frames.
        let chapter = Classifier::new(&scope, std::iter::empty());
        let experiment = symbol(
            "heaplab_experiments::chapter::a::run",
            Some("experiments/src/chapter/a.rs"),
            3,
        );
        assert_eq!(chapter.kind(&experiment), Kind::Own);
    }

    /// Without line tables, the site is the innermost frame of the crate heaplab called,
    /// named by its function: not the toolchain's, nor heaplab's, nor std's vendored crates'.
    #[test]
    fn without_line_tables_the_users_function_names_the_site() {
        let scope = Scope::default();
        let frames = [
            symbol("__rust_alloc", None, 0),
            symbol("alloc::raw_vec::RawVec<T>::grow_one", None, 0),
            symbol("hashbrown::raw::alloc::inner::do_alloc", None, 0),
            symbol("lab::normalize_record::{{closure}}", None, 0),
            symbol("core::iter::traits::iterator::Iterator::fold", None, 0),
            symbol("lab::main::{{closure}}::{{closure}}", None, 0),
            symbol("heaplab_experiments::engine::measure::run", None, 0),
        ];
        let classifier = Classifier::new(&scope, frames.iter());
        let kinds: Vec<Kind> = frames.iter().map(|s| classifier.kind(s)).collect();
        assert!(kinds.iter().all(|k| *k == Kind::Unlined));
        assert_eq!(classifier.unlined_site(&frames, &kinds), Some(3));
        assert_eq!(crate_of("<&lab::Row as core::fmt::Debug>::fmt"), "lab");
    }
}
