//! No module of `src/` imports a module that imports it back: read from the `crate::` and
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
    let mut cycles = Vec::new();
    for (a, deps) in &graph {
        for b in deps {
            if graph.get(b.as_str()).is_some_and(|back| back.contains(*a)) && *a < b.as_str() {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    // The tour still steps the dashboard's state itself (`tour::step(&mut App)`, called from
    // `App::handle`): untying it means the tour returning what it wants done. Every other
    // circle is gone; this list may only shrink.
    let known_left = ["ui::app <-> ui::tour"];
    let unexpected: Vec<&String> = cycles
        .iter()
        .filter(|c| !known_left.contains(&c.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "modules importing each other: {unexpected:?}"
    );
}
