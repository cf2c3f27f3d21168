//! No module of `src/` imports a module that imports it back, directly or through others: read from the `crate::` and
//! `super::` paths in the source, so anyone can run it (`cargo test --test module_cycles`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Which module each file under `src/` is (`ui/app.rs` is `ui::app`, `ui/mod.rs` is `ui`).
fn module_of(path: &Path, src: &Path) -> String {
    let relative = path.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules `text` (of module `module`) refers to, among `known`.
fn imports(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let mut out = BTreeSet::new();
    // Paths like crate::a::b and super::b; `self::b` in a mod.rs.
    for (prefix, base) in [
        ("crate::", String::new()),
        ("super::", parent.to_owned()),
        ("self::", module.to_owned()),
    ] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let path: String = rest[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            rest = &rest[at + prefix.len()..];
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            // The longest known module the path starts with.
            for n in (1..=segments.len()).rev() {
                let mut name = base.clone();
                for s in &segments[..n] {
                    if !name.is_empty() {
                        name.push_str("::");
                    }
                    name.push_str(s);
                }
                if known.contains(&name) {
                    if name != module {
                        out.insert(name);
                    }
                    break;
                }
            }
        }
    }
    out
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    files(&src, &mut paths);
    let modules: BTreeMap<String, String> = paths
        .iter()
        .map(|p| {
            (
                module_of(p, &src),
                std::fs::read_to_string(p).expect("readable"),
            )
        })
        .filter(|(m, _)| m != "main" && m != "lib")
        .collect();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let graph: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .map(|(m, text)| (m.as_str(), imports(m, text, &known)))
        .collect();
    assert!(
        graph["ui::app"].contains("ui::workshop"),
        "the reader sees imports: {graph:?}"
    );
    // Every circle, of any length: a module reaching itself through its imports.
    let mut cycles = BTreeSet::new();
    for &start in graph.keys() {
        if let Some(path) = path_back(&graph, start) {
            cycles.insert(path.join(" -> "));
        }
    }
    assert!(
        cycles.is_empty(),
        "modules importing each other: {cycles:#?}"
    );
}

/// The shortest import path from `start` back to itself, if there is one (breadth first).
fn path_back(graph: &BTreeMap<&str, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.to_owned()]);
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
                return Some(path);
            }
            if next != start && !came_from.contains_key(next) {
                came_from.insert(next.clone(), module.clone());
                queue.push_back(next.clone());
            }
        }
    }
    None
}
