//! The source view's text for a lab's variants: each variant's call, read from the user's
//! file where it is at hand.

use std::fmt::Write as _;
use std::panic::Location;

/// The source view's text for the variants: each variant's call, read from its file where the
/// file is here, between the region markers the source view looks for.
pub(super) fn variants_source<'a>(
    variants: impl IntoIterator<Item = (&'a str, &'static Location<'static>)>,
) -> String {
    let mut out = String::new();
    for (name, location) in variants {
        let text = call_text(location).unwrap_or_else(|why| {
            format!(
                "// the code of `{}` is at {}:{}, which {why}",
                name,
                location.file(),
                location.line()
            )
        });
        let _ = write!(
            out,
            "// region:{name}\n// {}:{}\n{text}\n// endregion:{name}\n",
            location.file(),
            location.line(),
        );
    }
    out
}

/// The text of the call at `location` (`.variant("naive", |size| { ... })`), from its line to
/// the parenthesis that closes it, dedented.
fn call_text(location: &Location) -> Result<String, String> {
    let path = std::path::Path::new(location.file());
    let candidates = [
        Some(path.to_path_buf()),
        std::env::var_os("CARGO_MANIFEST_DIR").map(|dir| std::path::Path::new(&dir).join(path)),
    ];
    let text = candidates
        .iter()
        .flatten()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .ok_or("cannot be read from here (run from the crate's folder to see it)")?;
    let lines: Vec<&str> = text.lines().collect();
    let first = usize::try_from(location.line())
        .ok()
        .and_then(|l| l.checked_sub(1))
        .filter(|&l| l < lines.len())
        .ok_or("has fewer lines than the call's")?;
    let rest = lines[first..].join("\n");
    let column = usize::try_from(location.column())
        .unwrap_or(1)
        .saturating_sub(1);
    let open = rest
        .get(column..)
        .and_then(|after| after.find('('))
        .map(|at| column + at)
        .ok_or("does not hold the call any more")?;
    let close = matching_paren(&rest[open..]).ok_or("holds no end to the call")? + open;
    let end = rest[close..].find('\n').map_or(rest.len(), |at| close + at);
    let call: Vec<&str> = rest[..end].lines().collect();
    let indent = call
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    Ok(call
        .iter()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Where the parenthesis that `text` opens with closes, skipping strings, characters and
/// comments.
fn matching_paren(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            _ => {}
        }
        i += 1;
    }
    None
}
