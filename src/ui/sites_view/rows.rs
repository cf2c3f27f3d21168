//! The sites table's rows: each site of the running variant beside the ghost's at the same
//! line, then the ghost's others, most allocating first; and how a row's figure reads.

use heaplab_experiments::sites::{Site, Sites};

use crate::ui::source_view::per_op_text;

/// One line of the table: a site of the running variant, of the ghost, or of both.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow<'a> {
    /// The running variant's figures at this site (`None`: it never allocated here).
    pub now: Option<&'a Site>,
    /// The ghost's figures at this site.
    pub ghost: Option<&'a Site>,
}

impl SiteRow<'_> {
    pub(super) fn site(&self) -> Option<&Site> {
        self.now.or(self.ghost)
    }
}

fn events(site: Option<&Site>) -> f64 {
    site.map_or(0.0, |s| s.allocs_per_op + s.reallocs_per_op)
}

/// The table's rows: every site of the running variant, then the ghost's sites it does not
/// share, each list by allocations and reallocations per operation.
#[must_use]
pub fn rows<'a>(now: Option<&'a Sites>, ghost: Option<&'a Sites>) -> Vec<SiteRow<'a>> {
    let same = |a: &Site, b: &Site| a.line == b.line && a.file == b.file;
    let mut rows: Vec<SiteRow> = now
        .map(|sites| {
            sites
                .sites
                .iter()
                .map(|site| SiteRow {
                    now: Some(site),
                    ghost: ghost.and_then(|g| g.sites.iter().find(|s| same(s, site))),
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(ghost) = ghost {
        for site in &ghost.sites {
            if !rows
                .iter()
                .any(|row| row.ghost.is_some_and(|g| same(g, site)))
            {
                rows.push(SiteRow {
                    now: None,
                    ghost: Some(site),
                });
            }
        }
    }
    rows.sort_by(|a, b| {
        events(b.now)
            .total_cmp(&events(a.now))
            .then(events(b.ghost).total_cmp(&events(a.ghost)))
    });
    rows
}

/// `1.00`, or `↻0.50` for a site that only reallocates, or `0` for none.
pub(super) fn per_op(site: Option<&Site>) -> String {
    site.map_or_else(
        || "0".to_owned(),
        |s| per_op_text(s.allocs_per_op, s.reallocs_per_op),
    )
}

/// What a variant's column shows where its sites were never captured: not measured, which is
/// not the same as measured to be zero.
pub(super) const NOT_MEASURED: &str = "–";

/// A site's file name and line, without its folder: `string_processing.rs:59`.
pub(super) fn short_location(site: &Site) -> String {
    let file = site.file.rsplit('/').next().unwrap_or("?");
    format!("{file}:{}", site.line)
}

/// A function's name without its crate's path: `string_processing::parse_owned` for
/// `heaplab_experiments::string_processing::parse_owned`.
pub(super) fn short_function(name: &str) -> String {
    name.strip_prefix("heaplab_experiments::")
        .unwrap_or(name)
        .to_owned()
}
