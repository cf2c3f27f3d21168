//! An attached program's stacks resolved in the viewer, never in the program: its executable
//! read through `/proc/PID/exe` (the very file it runs, even if rebuilt since), its load
//! address from `/proc/PID/maps`, each address resolved once and cached, the cache and the
//! debug information's memory bounded; frames told apart as the engine's sites do (the
//! program's own code, from its workspace; std, dependencies and heaplab folded).
//!
//! CONTRACT (issue 27): `Symbols` and its `PlaceStack` implementation are what the viewer
//! uses; the bodies are this module's owner's to write.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use addr2line::Loader;
use heaplab_experiments::sites::{Classifier, NO_FRAME, Resolve, Scope, Symbol, place_stack};
use object::read::elf::{FileHeader, ProgramHeader};

use super::sites::{PlaceStack, PlacedStack};

/// A stack none of whose frames is the program's own code (std's, a dependency's, heaplab's
/// monitor): these are summed on one line of that name.
pub const NO_OWN_FRAME: &str = "(no frame in the program's code)";

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
    /// There is no such process (any more).
    #[error(
        "no process {pid} to read the symbols of: it has exited, or the id is wrong \
         (`heaplab ps` lists the programs you can attach to)"
    )]
    NoProcess {
        /// The process id asked for.
        pid: u32,
    },
    /// Its executable is not one whose symbols can be read (not ELF, or not mapped).
    #[error("cannot read the symbols of {path}: {reason}")]
    Executable {
        /// The executable, as `/proc/PID/exe` names it.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Addresses resolved and kept at most: past this the cache starts again (a long-running
/// program's stacks are placed once each by the viewer, so misses after a clear are few).
pub const MAX_CACHED_ADDRESSES: usize = 65_536;

/// The bytes of names and paths the cache keeps at most, past which it starts again too: an
/// address of optimized code is a chain of inlined frames with long generic names, some KB.
pub const MAX_CACHED_BYTES: usize = 4 << 20;

/// Batches of stacks ([`PlaceStack::settle`], one per sites frame) in a row that bring no new
/// address before the debug information is let go the first time: the resolver holds tens of
/// MB while open, and a program's stacks are almost all seen in its first frames.
pub const QUIET_BATCHES_BEFORE_RELEASE: u32 = 3;

/// The most quiet batches the debug information is kept for. Each time it must be read again
/// (a new address came after it was let go) it is kept twice as long the next time, up to this
/// (ten minutes of sites frames): reading it again is what costs the viewer (measured on the
/// demo: most of `attach --trace --sites`'s CPU went to parsing line programs again, a few
/// batches after each release), so a program that keeps bringing new stacks keeps it open, a
/// settled one lets it go.
pub const MAX_QUIET_BATCHES: u32 = 600;

/// What the viewer knows of heaplab's own crates, whose frames fold in any program: by crate
/// where functions have paths, and by file for the code heaplab runs inside a watched
/// program (its monitor, its allocator glue), whose functions in a build with line tables only
/// are bare names (`frame`): in heaplab's own workspace (its examples) they would be the
/// program's lines.
static SCOPE: Scope<'static> = Scope {
    own_files: &[],
    also_folded: &[
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/monitor/"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/lab/"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/alloc.rs"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/count.rs"),
    ],
    also_folded_crates: &["heaplab"],
};

/// One attached program's symbols.
#[derive(Debug)]
pub struct Symbols {
    pid: u32,
    executable: Executable,
    classifier: Classifier<'static>,
    missing_line_tables: bool,
}

impl Symbols {
    /// The symbols of process `pid`'s executable.
    pub fn open(pid: u32) -> Result<Self, SymbolsError> {
        let exe = format!("/proc/{pid}/exe");
        let file = File::open(&exe).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => SymbolsError::NoProcess { pid },
            _ => SymbolsError::Read {
                path: exe.clone(),
                source,
            },
        })?;
        // Where it was run from, for its workspace: the link names the file it runs, with
        // " (deleted)" when rebuilt or removed since.
        let path = std::fs::read_link(&exe).map_err(|source| SymbolsError::Read {
            path: exe.clone(),
            source,
        })?;
        let maps_path = format!("/proc/{pid}/maps");
        let maps = std::fs::read_to_string(&maps_path).map_err(|source| SymbolsError::Read {
            path: maps_path.clone(),
            source,
        })?;
        let executable = Executable::new(file, &path, &maps)?;
        let root = workspace_root(&path, std::env::current_dir().ok().as_deref());
        Ok(Self {
            pid,
            executable,
            classifier: Classifier::for_program(&SCOPE, root),
            missing_line_tables: false,
        })
    }

    /// Whether some of the program's own frames had no line tables (then sites name
    /// functions, and the viewer says what to add to `Cargo.toml`).
    #[must_use]
    pub fn missing_line_tables(&self) -> bool {
        self.missing_line_tables
    }

    /// The process whose symbols these are.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the executable's debug information is held now (it is let go after
    /// [`QUIET_BATCHES_BEFORE_RELEASE`] quiet batches, read again on demand).
    #[must_use]
    pub fn holds_debug_info(&self) -> bool {
        self.executable.loader.is_some()
    }

    /// How many addresses are cached (at most [`MAX_CACHED_ADDRESSES`]).
    #[must_use]
    pub fn cached_addresses(&self) -> usize {
        self.executable.cache.len()
    }

    /// The bytes the cached frames take, by their names' and paths' lengths (at most
    /// [`MAX_CACHED_BYTES`]).
    #[must_use]
    pub fn cached_bytes(&self) -> usize {
        self.executable.cached_bytes
    }
}

impl PlaceStack for Symbols {
    fn place(&mut self, frames: &[u64]) -> PlacedStack {
        let symbols: Vec<Symbol> = frames
            .iter()
            .flat_map(|&address| self.executable.resolve(address))
            .collect();
        if symbols.is_empty() {
            // Not one address in the executable (not the program's stack as it sent it): the
            // book keeps it apart, unplaced, rather than merged with stacks that did resolve.
            return PlacedStack::default();
        }
        let placed = place_stack(&symbols, &self.classifier);
        self.missing_line_tables |= placed.unlined;
        let function = if placed.function == NO_FRAME {
            NO_OWN_FRAME.to_owned()
        } else {
            placed.function
        };
        PlacedStack {
            function,
            file: placed.file,
            line: placed.line,
            stack: placed.stack,
        }
    }

    fn settle(&mut self) {
        self.executable.settle();
    }
}

/// The program's executable: the file it runs (kept open, so that it can be read again after
/// being rebuilt, removed, or the program exiting), where it is loaded, and what was resolved.
struct Executable {
    file: File,
    /// `/proc/PID/exe`'s target, for messages.
    path: String,
    /// What the addresses it runs at are, minus the ones its file gives (ASLR's shift).
    bias: u64,
    /// The address ranges it is mapped at: a frame elsewhere is a shared library's.
    ranges: Vec<(u64, u64)>,
    loader: Option<Loader>,
    cache: HashMap<u64, Vec<Symbol>>,
    /// What `cache` holds, by [`frames_bytes`].
    cached_bytes: usize,
    /// Addresses resolved since the last [`Executable::settle`].
    new_addresses: usize,
    /// Settles in a row without a new address.
    quiet_batches: u32,
    /// Quiet batches before the next release ([`QUIET_BATCHES_BEFORE_RELEASE`], doubled at
    /// each reading after a release, up to [`MAX_QUIET_BATCHES`]).
    release_after: u32,
    /// Whether the debug information was let go since last read.
    released: bool,
}

impl std::fmt::Debug for Executable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executable")
            .field("path", &self.path)
            .field("bias", &format_args!("{:#x}", self.bias))
            .field("ranges", &self.ranges.len())
            .field("open", &self.loader.is_some())
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl Executable {
    /// Reads where `file` (the executable at `path`) is mapped in `maps` (`/proc/PID/maps`)
    /// and its program headers, and opens its debug information.
    fn new(mut file: File, path: &Path, maps: &str) -> Result<Self, SymbolsError> {
        let path = path.display().to_string();
        let fail = |reason: String| SymbolsError::Executable {
            path: path.clone(),
            reason,
        };
        let inode = file
            .metadata()
            .map_err(|source| SymbolsError::Read {
                path: path.clone(),
                source,
            })?
            .ino();
        let mappings = mappings_of(maps, inode);
        let loaded_at = mappings
            .iter()
            .find(|m| m.offset == 0)
            .map(|m| m.start)
            .ok_or_else(|| fail("it is not mapped from its start in the process's maps".into()))?;
        // The program headers are near the file's start; a few pages hold them.
        let mut head = Vec::new();
        (&mut file)
            .take(64 * 1024)
            .read_to_end(&mut head)
            .map_err(|source| SymbolsError::Read {
                path: path.clone(),
                source,
            })?;
        let first_load = first_load_address(&head).map_err(fail)?;
        let mut executable = Self {
            file,
            bias: loaded_at.wrapping_sub(first_load),
            ranges: mappings.iter().map(|m| (m.start, m.end)).collect(),
            path: path.clone(),
            loader: None,
            cache: HashMap::new(),
            cached_bytes: 0,
            new_addresses: 0,
            quiet_batches: 0,
            release_after: QUIET_BATCHES_BEFORE_RELEASE,
            released: false,
        };
        executable
            .open_loader()
            .map_err(|e| fail(format!("its debug information does not read: {e}")))?;
        Ok(executable)
    }

    /// The debug information, opened from the kept file (`/proc/self/fd/N` opens the very
    /// inode, whatever became of its path).
    fn open_loader(&mut self) -> Result<&Loader, String> {
        use std::os::fd::AsRawFd as _;
        let loader = if let Some(loader) = self.loader.take() {
            loader
        } else {
            let path = PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()));
            let loader = Loader::new(path).map_err(|e| e.to_string())?;
            if std::mem::take(&mut self.released) {
                self.release_after = (self.release_after * 2).min(MAX_QUIET_BATCHES);
            }
            loader
        };
        Ok(self.loader.insert(loader))
    }

    /// One batch of stacks placed: lets the debug information go when batches stop bringing
    /// new addresses.
    fn settle(&mut self) {
        if self.new_addresses == 0 {
            self.quiet_batches = self.quiet_batches.saturating_add(1);
        } else {
            self.quiet_batches = 0;
        }
        self.new_addresses = 0;
        if self.quiet_batches >= self.release_after && self.loader.take().is_some() {
            self.released = true;
            // Its memory was tens of MB of small blocks: without this the C heap keeps them.
            heaplab_experiments::counting::give_back_free_c_heap();
        }
    }

    /// The frames at `address`, read from the debug information.
    fn lookup(&mut self, address: u64) -> Vec<Symbol> {
        // A return address: the call is the instruction before it (as `backtrace` resolves).
        let probe = address.wrapping_sub(self.bias).saturating_sub(1);
        let Ok(loader) = self.open_loader() else {
            return Vec::new();
        };
        let mut symbols = Vec::new();
        if let Ok(mut frames) = loader.find_frames(probe) {
            while let Ok(Some(frame)) = frames.next() {
                let function = frame
                    .function
                    .as_ref()
                    .and_then(|name| name.demangle().ok())
                    .map(std::borrow::Cow::into_owned);
                let location = frame.location.as_ref();
                symbols.push(Symbol {
                    function: function.unwrap_or_default(),
                    file: location.and_then(|l| l.file).map(str::to_owned),
                    line: location.and_then(|l| l.line).unwrap_or(0),
                });
            }
        }
        // Without debug information, or a frame without its function's name: the symbol
        // table names the function.
        if symbols.is_empty() || symbols.iter().any(|s| s.function.is_empty()) {
            let named = loader.find_symbol(probe).map(|name| {
                addr2line::demangle_auto(std::borrow::Cow::Borrowed(name), None).into_owned()
            });
            if symbols.is_empty() {
                symbols.extend(named.map(|function| Symbol {
                    function,
                    file: None,
                    line: 0,
                }));
            } else {
                for symbol in symbols.iter_mut().filter(|s| s.function.is_empty()) {
                    symbol
                        .function
                        .clone_from(named.as_ref().unwrap_or(&"?".to_owned()));
                }
            }
        }
        symbols
    }
}

impl Resolve for Executable {
    /// Absolute addresses in the program; outside its executable (a shared library's): none,
    /// as the engine folds them.
    fn resolve(&mut self, address: u64) -> Vec<Symbol> {
        if !self
            .ranges
            .iter()
            .any(|&(start, end)| (start..end).contains(&address))
        {
            return Vec::new();
        }
        if let Some(found) = self.cache.get(&address) {
            return found.clone();
        }
        let symbols = self.lookup(address);
        self.new_addresses += 1;
        let bytes = frames_bytes(&symbols);
        if self.cache.len() >= MAX_CACHED_ADDRESSES || self.cached_bytes + bytes > MAX_CACHED_BYTES
        {
            self.cache.clear();
            self.cached_bytes = 0;
        }
        self.cached_bytes += bytes;
        self.cache.insert(address, symbols.clone());
        symbols
    }
}

/// What one address's frames take in the cache: their names and paths, and the frames.
fn frames_bytes(symbols: &[Symbol]) -> usize {
    symbols
        .iter()
        .map(|s| {
            std::mem::size_of::<Symbol>()
                + s.function.len()
                + s.file.as_ref().map_or(0, String::len)
        })
        .sum::<usize>()
        + std::mem::size_of::<(u64, Vec<Symbol>)>()
}

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mapping {
    start: u64,
    end: u64,
    offset: u64,
}

/// The mappings of the file with `inode` (the executable's, whatever its path became).
fn mappings_of(maps: &str, inode: u64) -> Vec<Mapping> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (start, end) = fields.next()?.split_once('-')?;
            let offset = fields.nth(1)?;
            let ino: u64 = fields.nth(1)?.parse().ok()?;
            (ino == inode).then_some(())?;
            Some(Mapping {
                start: u64::from_str_radix(start, 16).ok()?,
                end: u64::from_str_radix(end, 16).ok()?,
                offset: u64::from_str_radix(offset, 16).ok()?,
            })
        })
        .collect()
}

/// The address the file's start is meant to load at: its first `PT_LOAD` segment's, less its
/// offset in the file (0 for a position-independent executable).
fn first_load_address(head: &[u8]) -> Result<u64, String> {
    use object::elf::{FileHeader32, FileHeader64, PT_LOAD};
    use object::{Endianness, FileKind};
    fn first<H: FileHeader<Endian = Endianness>>(head: &[u8]) -> Result<u64, String> {
        let header = H::parse(head).map_err(|e| e.to_string())?;
        let endian = header.endian().map_err(|e| e.to_string())?;
        let headers = header
            .program_headers(endian, head)
            .map_err(|e| e.to_string())?;
        headers
            .iter()
            .find(|ph| ph.p_type(endian) == PT_LOAD)
            .map(|ph| ph.p_vaddr(endian).into() - ph.p_offset(endian).into())
            .ok_or_else(|| "it has no loadable segment".to_owned())
    }
    match FileKind::parse(head) {
        Ok(FileKind::Elf64) => first::<FileHeader64<Endianness>>(head),
        Ok(FileKind::Elf32) => first::<FileHeader32<Endianness>>(head),
        _ => Err("it is not an ELF executable".to_owned()),
    }
}

/// The program's workspace, the root its own files are under: the folder holding the
/// `target` folder it was built in (`.../target/{debug,release}[/examples|/deps]/NAME`), else
/// the workspace around `cwd` (the nearest folder up holding a `Cargo.lock`), else `cwd`.
fn workspace_root(exe: &Path, cwd: Option<&Path>) -> Option<String> {
    let built = exe
        .ancestors()
        .skip(1)
        .find(|dir| dir.file_name().is_some_and(|name| name == "target"))
        .and_then(Path::parent);
    let around = || {
        let cwd = cwd?;
        Some(
            cwd.ancestors()
                .find(|dir| dir.join("Cargo.lock").is_file())
                .unwrap_or(cwd),
        )
    };
    built.or_else(around).map(|root| root.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_holds_the_target_folder_else_the_current_one() {
        assert_eq!(
            workspace_root(
                Path::new("/home/u/ws/target/release/examples/demo"),
                Some(Path::new("/elsewhere"))
            )
            .as_deref(),
            Some("/home/u/ws")
        );
        assert_eq!(
            workspace_root(
                Path::new("/home/u/ws/target/x86_64-unknown-linux-gnu/debug/demo (deleted)"),
                None
            )
            .as_deref(),
            Some("/home/u/ws")
        );
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(
            workspace_root(Path::new("/opt/bin/demo"), Some(&here.join("src/attach"))).as_deref(),
            Some(here.to_str().expect("utf-8"))
        );
        assert_eq!(workspace_root(Path::new("/opt/bin/demo"), None), None);
    }

    #[test]
    fn mappings_are_found_by_inode_whatever_the_path() {
        let maps = "\
5581a000-5581b000 r--p 00000000 fd:00 4242 /work/t/demo (deleted)
5581b000-5581f000 r-xp 00001000 fd:00 4242 /work/t/demo (deleted)
7f00a000-7f00b000 r-xp 00000000 fd:00 77 /usr/lib/libc.so.6
7ffd0000-7ffd1000 rw-p 00000000 00:00 0 [stack]
";
        assert_eq!(
            mappings_of(maps, 4242),
            [
                Mapping {
                    start: 0x5581_a000,
                    end: 0x5581_b000,
                    offset: 0
                },
                Mapping {
                    start: 0x5581_b000,
                    end: 0x5581_f000,
                    offset: 0x1000
                },
            ]
        );
    }

    /// In heaplab's own workspace (its examples), the monitor's frames are under the root too:
    /// with line tables only their functions are bare names, and they fold by their files.
    #[test]
    fn heaplab_s_monitor_folds_in_heaplab_s_own_workspace() {
        let root = env!("CARGO_MANIFEST_DIR");
        let classifier = Classifier::for_program(&SCOPE, Some(root.to_owned()));
        let frame = |function: &str, file: &str, line| Symbol {
            function: function.to_owned(),
            file: Some(format!("{root}/{file}")),
            line,
        };
        let placed = place_stack(
            &[
                frame("frame", "src/monitor/sites.rs", 25),
                frame("serve", "src/monitor/server.rs", 150),
                frame("add", "examples/monitor_demo.rs", 190),
            ],
            &classifier,
        );
        assert_eq!(placed.file, "examples/monitor_demo.rs", "{placed:#?}");
        assert_eq!(placed.line, 190);
        let monitor_only = place_stack(&[frame("frame", "src/monitor/sites.rs", 25)], &classifier);
        assert_eq!(monitor_only.function, NO_FRAME, "{monitor_only:#?}");
    }

    #[test]
    fn not_an_elf_file_is_said_so() {
        assert_eq!(
            first_load_address(b"#!/bin/sh\n"),
            Err("it is not an ELF executable".to_owned())
        );
    }
}
