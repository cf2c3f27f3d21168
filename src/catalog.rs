//! The experiments this process runs: the chapter's catalog, unless a [`crate::Lab`]
//! registered others before anything ran. Every command, and the worker processes they start
//! (the same binary, so the same lab), find experiments here.

use std::sync::OnceLock;

use heaplab_experiments::Experiment;

/// The experiments this process runs: the chapter's catalog unless a [`crate::Lab`] registered
/// others. Every command, and the worker processes they start (the same binary), reads it.
static CATALOG: OnceLock<&'static [&'static dyn Experiment]> = OnceLock::new();

/// The experiments of this process, in the order they are listed.
#[must_use]
pub fn catalog() -> &'static [&'static dyn Experiment] {
    CATALOG
        .get()
        .copied()
        .unwrap_or_else(heaplab_experiments::catalog)
}

/// The experiment called `id` in [`catalog`].
#[must_use]
pub fn find(id: &str) -> Option<&'static dyn Experiment> {
    heaplab_experiments::find_in(catalog(), id)
}

/// Every experiment id of [`catalog`], joined with `, `, for error messages.
#[must_use]
pub fn ids() -> String {
    heaplab_experiments::ids_of(catalog())
}

/// Makes `experiments` this process's catalog; fails if one was registered already.
pub(crate) fn register(
    experiments: &'static [&'static dyn Experiment],
) -> Result<(), &'static [&'static dyn Experiment]> {
    CATALOG.set(experiments)
}

/// Every variant name of [`catalog`], each once, in the order first met, joined with `, `:
/// `naive, optimized, crate` for the chapter, a lab's own names in a lab.
#[must_use]
pub fn variant_names() -> String {
    let mut names: Vec<&str> = Vec::new();
    for experiment in catalog() {
        for variant in experiment.info().variants {
            if !names.contains(&variant.name) {
                names.push(variant.name);
            }
        }
    }
    names.join(", ")
}
