//! The name this program goes by in its messages: `heaplab`, or a lab's own binary once its
//! command line named it (`cli::lab_command`). Kept apart from the command line so that the
//! dashboard, `run --trace` and the exports can say it without depending on `cli`.

use std::sync::OnceLock;

/// The name messages call this program by, once a lab named it.
static PROGRAM: OnceLock<&'static str> = OnceLock::new();

/// The name messages call this program by: `heaplab`, or a lab's own binary.
#[must_use]
pub fn name() -> &'static str {
    PROGRAM.get().copied().unwrap_or("heaplab")
}

/// Names the program `program` for every message from now on, unless it was named already;
/// returns the name in force.
pub(crate) fn set(program: &str) -> &'static str {
    PROGRAM.get_or_init(|| Box::leak(program.to_owned().into_boxed_str()))
}
