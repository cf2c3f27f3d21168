//! An attached program's stacks resolved in the viewer, never in the program: its executable
//! read through `/proc/PID/exe` (the very file it runs, even if rebuilt since), its load
//! address from `/proc/PID/maps`, each address resolved once and cached, the cache and the
//! debug information's memory bounded; frames told apart as the engine's sites do (the
//! program's own code, from its workspace; std, dependencies and heaplab folded).
//!
//! CONTRACT (issue 27): `Symbols` and its `PlaceStack` implementation are what the viewer
//! uses; the bodies are this module's owner's to write.

use super::sites::{PlaceStack, PlacedStack};

/// Why a program's symbols cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SymbolsError {
    /// Its executable or its maps cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// What was read.
        path: String,
        /// Why not.
        source: std::io::Error,
    },
}

/// One attached program's symbols.
#[derive(Debug)]
pub struct Symbols {
    pid: u32,
}

impl Symbols {
    /// The symbols of process `pid`'s executable.
    pub fn open(pid: u32) -> Result<Self, SymbolsError> {
        Ok(Self { pid })
    }

    /// Whether some of the program's own frames had no line tables (then sites name
    /// functions, and the viewer says what to add to `Cargo.toml`).
    #[must_use]
    pub fn missing_line_tables(&self) -> bool {
        false
    }
}

impl PlaceStack for Symbols {
    fn place(&mut self, frames: &[u64]) -> PlacedStack {
        let _ = (self.pid, frames);
        PlacedStack::default()
    }
}
