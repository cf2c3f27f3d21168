//! No module of either crate (`heaplab` in `src/`, `heaplab-experiments` in `experiments/src/`)
//! imports a module that imports it back, directly or through others (`cargo test --test
//! module_cycles`).
//!
//! The source is parsed (syn), not searched: every path is seen whether it is a `use` (grouped
//! and nested: `use super::{a, b::{c, d}}`), a path in code or a type (`crate::a::f()`), or in a
//! macro's tokens; doc comments and doc links are not code and do not count. What counts as an
//! import of module M: a path that resolves to M or to an item inside it (`crate::a::b::Item`
//! imports `a::b`; `crate::Item`, an item defined in the crate root, imports the root). What is
//! not: a `mod` declaration, and a crate root's `pub use` re-exports (the root lists and
//! re-exports its modules; that is its job, and it would otherwise make every module a circle).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The name the graph gives a crate root (`lib.rs` or `main.rs`).
const ROOT: &str = "crate";

/// One crate's modules: each module's path (`ui::app`; the root is [`ROOT`]) and its imports.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Which module a file is (`ui/app.rs` is `ui::app`, `ui/mod.rs` is `ui`, `lib.rs` the root).
fn module_of(path: &Path, src: &Path) -> String {
    let relative = path.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] || parts.is_empty() {
        return ROOT.to_owned();
    }
    parts.join("::")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Collects, for one file, the module paths its code refers to.
struct Reader<'a> {
    /// Every module of the crate (file modules and the inline modules found so far).
    known: &'a BTreeSet<String>,
    /// The module the reader stands in: the file's module, then any inline `mod x { .. }`.
    here: Vec<String>,
    /// Whether the file is the crate root (its `pub use` re-exports are not imports).
    root: bool,
    /// What `here` refers to, each as (module it is in, module it names).
    found: Vec<(String, String)>,
}

/// The segments of a module's path, the inverse of [`join`] (the root has none).
fn split(module: &str) -> Vec<String> {
    if module == ROOT {
        Vec::new()
    } else {
        module.split("::").map(str::to_owned).collect()
    }
}

fn join(segments: &[String]) -> String {
    if segments.is_empty() {
        ROOT.to_owned()
    } else {
        segments.join("::")
    }
}

impl Reader<'_> {
    /// Resolves a path written in module `here` (its segments as written) to the module it
    /// names or names an item in, if it is one of the crate's.
    fn resolve(&self, segments: &[String]) -> Option<String> {
        let (mut base, rest): (Vec<String>, &[String]) = match segments.first()?.as_str() {
            "crate" => (Vec::new(), &segments[1..]),
            "self" => (self.here.clone(), &segments[1..]),
            "super" => {
                let mut base = self.here.clone();
                let mut rest = segments;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                (base, rest)
            }
            // Unqualified: a child module of the one the reader stands in (`use sites::x`
            // in a root, `fault::Fault` in a function), else not the crate's.
            first => {
                let mut child = self.here.clone();
                child.push(first.to_owned());
                if !self.known.contains(&join(&child)) {
                    return None;
                }
                (self.here.clone(), segments)
            }
        };
        // The longest known module the path goes through; what follows is an item in it.
        for segment in rest {
            base.push(segment.clone());
            if !self.known.contains(&join(&base)) {
                base.pop();
                break;
            }
        }
        Some(join(&base))
    }

    fn note(&mut self, segments: &[String]) {
        if let Some(target) = self.resolve(segments) {
            self.found.push((join(&self.here), target));
        }
    }

    /// Every full path a `use` tree spells (`a::{b, c::{d}}` is `a::b` and `a::c::d`).
    fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                Self::use_paths(&p.tree, prefix, out);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix.clone();
                if n.ident != "self" {
                    path.push(n.ident.to_string());
                }
                out.push(path);
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                path.push(r.ident.to_string());
                out.push(path);
            }
            syn::UseTree::Glob(_) => out.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    Self::use_paths(item, prefix, out);
                }
            }
        }
    }

    /// Paths in a macro's tokens (`format!("{}", crate::x::y())`): `a :: b :: c` runs.
    fn token_paths(&mut self, tokens: proc_macro2::TokenStream) {
        let mut run: Vec<String> = Vec::new();
        let mut colons = 0;
        let flush = |run: &mut Vec<String>, reader: &mut Self| {
            if run.len() > 1 {
                reader.note(run);
            }
            run.clear();
        };
        for token in tokens {
            match token {
                proc_macro2::TokenTree::Ident(ident) => {
                    if colons != 2 {
                        flush(&mut run, self);
                    }
                    run.push(ident.to_string());
                    colons = 0;
                }
                proc_macro2::TokenTree::Punct(p) if p.as_char() == ':' => colons += 1,
                proc_macro2::TokenTree::Group(group) => {
                    flush(&mut run, self);
                    self.token_paths(group.stream());
                    colons = 0;
                }
                proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => {
                    flush(&mut run, self);
                    colons = 0;
                }
            }
        }
        flush(&mut run, self);
    }
}

impl<'ast> Visit<'ast> for Reader<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let reexport = !matches!(item.vis, syn::Visibility::Inherited);
        if self.root && self.here.is_empty() && reexport {
            return;
        }
        let mut paths = Vec::new();
        Self::use_paths(&item.tree, &mut Vec::new(), &mut paths);
        for path in paths {
            if !path.is_empty() {
                self.note(&path);
            }
        }
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        // A declaration (`mod x;`) is not an import; an inline module is a place to stand in.
        if item.content.is_some() {
            self.here.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.here.pop();
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.note(&segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.token_paths(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }

    // Doc comments (and the links in them) are attributes: not code.
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
}

/// Inline modules (`mod tests { .. }`), so that a path through one resolves.
fn inline_modules(items: &[syn::Item], here: &[String], out: &mut BTreeSet<String>) {
    for item in items {
        if let syn::Item::Mod(m) = item
            && let Some((_, content)) = &m.content
        {
            let mut inner = here.to_vec();
            inner.push(m.ident.to_string());
            out.insert(join(&inner));
            inline_modules(content, &inner, out);
        }
    }
}

/// The import graph of the crate whose root is `src/<root>` (all `.rs` files under `src/`,
/// except the other root when `src/` holds both `lib.rs` and `main.rs`).
fn graph(src: &Path, root: &str) -> Graph {
    let other = if root == "lib.rs" {
        "main.rs"
    } else {
        "lib.rs"
    };
    let mut paths = Vec::new();
    files(src, &mut paths);
    paths.retain(|p| p != &src.join(other) && !p.starts_with(src.join("bin")));
    if root == "main.rs" {
        // The binary crate is its root alone: its `heaplab::` paths are another crate's.
        paths.retain(|p| p == &src.join(root));
    }
    let parsed: Vec<(String, syn::File)> = paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("readable");
            let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (module_of(p, src), file)
        })
        .collect();
    let mut known: BTreeSet<String> = parsed.iter().map(|(m, _)| m.clone()).collect();
    for (module, file) in &parsed {
        inline_modules(&file.items, &split(module), &mut known);
    }
    let mut graph: Graph = known.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for (module, file) in &parsed {
        let mut reader = Reader {
            known: &known,
            here: split(module),
            root: module == ROOT,
            found: Vec::new(),
        };
        reader.visit_file(file);
        for (from, to) in reader.found {
            // A module's own items, and an inline module's parent (`use super::*` in
            // `mod tests`), are not another module's.
            if to != from && !from.starts_with(&format!("{to}::")) {
                graph.entry(from).or_default().insert(to);
            }
        }
    }
    // An inline module's imports are its file's: `mod tests` importing the root is the file's.
    let mut folded: Graph = BTreeMap::new();
    for (module, imports) in graph {
        let owner = owning_file(&module, &parsed);
        let entry = folded.entry(owner.clone()).or_default();
        entry.extend(imports.into_iter().filter(|to| *to != owner));
    }
    folded
}

/// The file module an (inline or file) module belongs to.
fn owning_file(module: &str, parsed: &[(String, syn::File)]) -> String {
    let mut segments = split(module);
    loop {
        let name = join(&segments);
        if parsed.iter().any(|(m, _)| *m == name) || segments.is_empty() {
            return name;
        }
        segments.pop();
    }
}

/// The shortest import path from `start` back to itself, if there is one (breadth first).
fn path_back(graph: &Graph, start: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = VecDeque::from([start.to_owned()]);
    while let Some(module) = queue.pop_front() {
        for next in graph.get(module.as_str()).into_iter().flatten() {
            if next == start {
                let mut path = vec![start.to_owned(), module.clone()];
                let mut at = module;
                while let Some(previous) = came_from.get(&at) {
                    path.push(previous.clone());
                    at = previous.clone();
                }
                path.reverse();
                path.dedup();
                return Some(path);
            }
            if !came_from.contains_key(next) {
                came_from.insert(next.clone(), module.clone());
                queue.push_back(next.clone());
            }
        }
    }
    None
}

/// Every circle in `graph`, each as the shortest path from a module back to itself.
fn circles(graph: &Graph) -> BTreeSet<String> {
    graph
        .keys()
        .filter_map(|start| path_back(graph, start))
        .map(|path| path.join(" -> "))
        .collect()
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_app_crate_has_no_import_circle() {
    let graph = graph(&manifest().join("src"), "lib.rs");
    // The reader sees what it must: a grouped `super::{..}` import and a path in code.
    assert!(
        graph["ui"].contains("ui::app"),
        "the reader sees imports: {graph:#?}"
    );
    let circles = circles(&graph);
    assert!(
        circles.is_empty(),
        "modules importing each other: {circles:#?}"
    );
}

#[test]
fn the_binary_imports_only_the_library() {
    let graph = graph(&manifest().join("src"), "main.rs");
    assert_eq!(
        graph.len(),
        1,
        "main.rs declares no modules of its own: {graph:#?}"
    );
}

#[test]
fn the_engine_crate_has_no_import_circle() {
    let graph = graph(&manifest().join("experiments/src"), "lib.rs");
    assert!(
        graph.len() > 10,
        "the engine's modules are read: {graph:#?}"
    );
    let circles = circles(&graph);
    assert!(
        circles.is_empty(),
        "modules importing each other: {circles:#?}"
    );
}

/// The reader itself, on small crates written here: what counts as an import and what not.
mod reader {
    use super::*;

    fn crate_of(files: &[(&str, &str)]) -> Graph {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
        }
        graph(dir.path(), "lib.rs")
    }

    #[test]
    fn grouped_and_nested_imports_are_read() {
        let graph = crate_of(&[
            ("lib.rs", "mod a; mod b; mod c;"),
            ("a.rs", "use crate::{b::{self, Thing}, c};"),
            ("b.rs", ""),
            ("c.rs", ""),
        ]);
        assert_eq!(graph["a"], BTreeSet::from(["b".into(), "c".into()]));
    }

    #[test]
    fn a_circle_through_a_grouped_super_import_is_found() {
        let graph = crate_of(&[
            ("lib.rs", "mod ui;"),
            ("ui/mod.rs", "mod app; mod view; fn f() { let _ = app::X; }"),
            ("ui/app.rs", "pub struct X; use super::{view::V};"),
            (
                "ui/view.rs",
                "pub struct V; fn g() -> super::app::X { super::app::X }",
            ),
        ]);
        let found = circles(&graph);
        assert!(
            found.iter().any(|c| c == "ui::app -> ui::view -> ui::app"),
            "{found:#?}"
        );
    }

    #[test]
    fn a_root_item_used_by_a_module_the_root_uses_is_a_circle() {
        // As `lib.rs` <-> `lab.rs`: the root's code uses `lab`, `lab` uses an item of the root.
        let graph = crate_of(&[
            (
                "lib.rs",
                "mod lab; pub struct Error; pub fn run() { lab::go() }",
            ),
            ("lab.rs", "pub fn go() { let _ = crate::Error; }"),
        ]);
        assert_eq!(circles(&graph).len(), 2, "{graph:#?}");
    }

    #[test]
    fn re_exports_declarations_doc_links_and_tests_are_not_imports() {
        let graph = crate_of(&[
            (
                "lib.rs",
                "mod a; mod b; pub use a::A; pub use b::{B};\n/// See [`a::A`] and [`crate::b::B`].\npub struct Root;",
            ),
            (
                "a.rs",
                "//! Unlike [`crate::b`].\npub struct A; fn f() -> crate::Root { crate::Root }\n#[cfg(test)] mod tests { use super::*; }",
            ),
            ("b.rs", "pub struct B; fn g() { let _ = crate::a::A; }"),
        ]);
        assert_eq!(graph["crate"], BTreeSet::new(), "{graph:#?}");
        assert_eq!(graph["a"], BTreeSet::from(["crate".into()]));
        assert_eq!(graph["b"], BTreeSet::from(["a".into()]));
        assert!(circles(&graph).is_empty());
    }

    #[test]
    fn paths_in_macros_count() {
        let graph = crate_of(&[
            ("lib.rs", "mod a; mod b;"),
            ("a.rs", "fn f() { println!(\"{}\", crate::b::NAME); }"),
            (
                "b.rs",
                "pub const NAME: &str = \"b\"; fn g() { let _ = super::a::f; }",
            ),
        ]);
        assert_eq!(circles(&graph).len(), 2, "{graph:#?}");
    }
}
