//! Every file heaplab writes goes through here (reports, `--plot`, `--record`, `e` exports,
//! screenshots, session files), and where the files it keeps for the user live.
//!
//! The rules of [`Output`], decided on what the path opens to (an `O_PATH` descriptor and its
//! `fstat`), never on a path checked and then renamed over: heaplab runs as root on shared
//! machines, where renaming over `/dev/null` breaks every other program.
//!
//! - `-`, or a path that opens to this process's own standard output (`/dev/stdout`,
//!   `/dev/fd/1`, or the very file that `> out.json` redirected it to): written to standard
//!   output, in place. Renaming over it would leave the shell's redirection writing nowhere.
//! - A new path or a regular file: written whole or not at all. A temporary file is created in
//!   the directory that will hold the file as soon as the output is claimed (so an unwritable
//!   destination fails before any work) and renamed into place when the file is complete. A
//!   symlink is followed to its final target, which is replaced in *its* directory; the link
//!   stays. The replaced file keeps its permissions (and owner, where heaplab may set it).
//!   The rename swaps the two names (`RENAME_EXCHANGE`) and checks that what it took out is a
//!   regular file, putting it back otherwise: a device that took the file's place meanwhile is
//!   never removed. (Where the file system cannot swap, the kind is checked just before a
//!   plain rename.)
//! - A device or a FIFO (`/dev/null`, a named pipe, `/dev/fd/63` from `>(...)`): written in
//!   place, opened only when the file is complete (a FIFO blocks until something reads it),
//!   and only if it is still the file that was claimed. Nothing is created, truncated or
//!   renamed.
//! - A directory, a socket or a dangling symlink: refused when claimed. (A regular file needs
//!   its directory writable, for the temporary file.)
//! - Every error names the user's path, never the temporary file's. A path refused when
//!   claimed is a [`UsageError`]; a write that fails later (`/dev/full`) is a [`WriteError`].
//!
//! Files heaplab keeps for the user (the dashboard's exports, session files) go to one
//! directory, [`data_dir`]: `--data-dir`, else `$HEAPLAB_DATA_DIR`, else
//! `$XDG_DATA_HOME/heaplab`, else `~/.local/share/heaplab`.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read as _, Seek as _, Write as _};
use std::os::fd::{AsFd as _, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{self as fsys, AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::UsageError;

/// The environment variable that names heaplab's data directory.
pub const DATA_DIR_ENV: &str = "HEAPLAB_DATA_DIR";

/// How a path is probed without side effects: `O_PATH` neither reads nor writes, so opening a
/// FIFO does not block and opening a device does nothing to it.
#[cfg(any(target_os = "linux", target_os = "android"))]
const PROBE: OFlags = OFlags::PATH;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const PROBE: OFlags = OFlags::RDONLY.union(OFlags::NONBLOCK).union(OFlags::NOCTTY);

/// A write that failed after the output was claimed (a full device, a full disk): one line
/// naming the user's path, exit status 1.
#[derive(Debug, thiserror::Error)]
#[error("could not write `{}`: {error}", .path.display())]
pub struct WriteError {
    /// The path the user gave.
    pub path: PathBuf,
    /// What failed.
    pub error: io::Error,
}

/// A file being written, claimed by [`Output::create`] and written by [`Output::commit`]
/// (after any bytes streamed into [`Output::stream`]). Dropped uncommitted, it leaves the
/// destination as it was.
#[derive(Debug)]
pub struct Output {
    /// The path as the user gave it: what every message names.
    path: PathBuf,
    target: Target,
    /// Bytes streamed before the commit, for a target written in place only at the end: an
    /// unnamed temporary file, so a long recording costs no memory.
    spool: Option<File>,
}

#[derive(Debug)]
enum Target {
    Stdout,
    /// A device, FIFO or socket, written in place if it is still this file.
    InPlace(FileId),
    Replace(Replace),
}

/// What identifies a file whatever its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    #[allow(clippy::useless_conversion)] // the fields' types differ between platforms
    fn of(stat: &fsys::Stat) -> Self {
        Self {
            dev: u64::from(stat.st_dev),
            ino: u64::from(stat.st_ino),
        }
    }
}

/// The permissions and owner a replaced file keeps.
#[derive(Debug, Clone, Copy)]
struct Keep {
    mode: u32,
    uid: u32,
    gid: u32,
}

/// A regular file replaced through a temporary file in its own directory.
#[derive(Debug)]
struct Replace {
    /// The directory, held open so that the rename happens where the file was found.
    dir: OwnedFd,
    /// The file's name in `dir`.
    name: OsString,
    /// The temporary file's name in `dir`, while it is ours to remove.
    temp: Option<OsString>,
    file: File,
    /// `None`: the file did not exist when claimed.
    keep: Option<Keep>,
}

impl Output {
    /// Claims `path`: decides how it will be written and, for a regular or new file, creates
    /// the temporary file now, so that an unwritable destination is refused before any work.
    pub fn create(path: &Path) -> Result<Self, UsageError> {
        let target = if path.as_os_str() == "-" {
            Target::Stdout
        } else {
            probe(path)?
        };
        Ok(Self {
            path: path.to_owned(),
            target,
            spool: None,
        })
    }

    /// The path as the user gave it.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where to stream bytes before [`Output::commit`]: the temporary file of a regular file,
    /// or a spool for one written in place (made on first use).
    pub fn stream(&mut self) -> io::Result<&mut File> {
        if let Target::Replace(replace) = &mut self.target {
            return Ok(&mut replace.file);
        }
        Ok(match &mut self.spool {
            Some(spool) => spool,
            slot @ None => slot.insert(tempfile::tempfile()?),
        })
    }

    /// Puts a file streamed into (with [`Output::stream`]) in place, unless streaming it failed
    /// with `failed`: then the destination is left as it was and the error names its path.
    pub fn commit_unless(self, failed: Option<io::Error>) -> Result<(), WriteError> {
        match failed {
            Some(error) => Err(WriteError {
                path: self.path().to_owned(),
                error,
            }),
            None => self.commit(&[]),
        }
    }

    /// Writes `bytes` after anything streamed, and puts the file in place: renamed over the
    /// target (regular files) or written into it (standard output, devices, FIFOs).
    pub fn commit(self, bytes: &[u8]) -> Result<(), WriteError> {
        let Self {
            path,
            target,
            spool,
        } = self;
        let failed = |error: io::Error| WriteError {
            path: path.clone(),
            error,
        };
        match target {
            Target::Stdout => {
                let mut out = io::stdout().lock();
                match write_in_place(&mut out, spool, bytes).and_then(|()| out.flush()) {
                    // `-o - | head`: what was read is all that was wanted.
                    Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(failed(e)),
                    _ => Ok(()),
                }
            }
            Target::InPlace(id) => {
                // No O_CREAT, no O_TRUNC: if the device went away, nothing is made in its
                // place; a FIFO blocks here until a reader opens it.
                let fd = fsys::openat(
                    CWD,
                    &path,
                    OFlags::WRONLY | OFlags::NOCTTY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| failed(e.into()))?;
                let now = fsys::fstat(&fd).map_err(|e| failed(e.into()))?;
                if FileId::of(&now) != id {
                    return Err(failed(io::Error::other(
                        "it was replaced by another file while heaplab ran; nothing was written",
                    )));
                }
                let mut file = File::from(fd);
                write_in_place(&mut file, spool, bytes).map_err(failed)
            }
            Target::Replace(mut replace) => replace.finish(bytes).map_err(failed),
        }
    }
}

/// Writes `bytes` to `path` by the rules of this module, whole or not at all.
pub fn write(path: &Path, bytes: &[u8]) -> color_eyre::Result<()> {
    Output::create(path)?.commit(bytes)?;
    Ok(())
}

/// Decides how `path` will be written, on what it opens to.
fn probe(path: &Path) -> Result<Target, UsageError> {
    let refuse = |why: &dyn std::fmt::Display| refused(path, why);
    // Before the probe opens anything: with standard output closed, the probe's descriptor
    // would be number 1.
    let stdout = stdout_id();
    match fsys::openat(CWD, path, PROBE | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => {
            let stat = fsys::fstat(&fd).map_err(|e| refuse(&io::Error::from(e)))?;
            let id = FileId::of(&stat);
            if stdout == Some(id) {
                return Ok(Target::Stdout);
            }
            match FileType::from_raw_mode(stat.st_mode) {
                FileType::Directory => Err(refuse(&"it is a directory; give a file name")),
                FileType::Socket => Err(refuse(&"it is a socket; give a file name")),
                FileType::RegularFile => Ok(Target::Replace(Replace::existing(path, &stat)?)),
                _ => {
                    // Only a check, to refuse early: the write itself opens it again.
                    fsys::accessat(CWD, path, fsys::Access::WRITE_OK, AtFlags::EACCESS)
                        .map_err(|e| refuse(&io::Error::from(e)))?;
                    Ok(Target::InPlace(id))
                }
            }
        }
        Err(Errno::NOENT) => {
            // Nothing at the end of the path: a new file, unless the path is a symlink to
            // nowhere (writing through it would create a file the user never named).
            if let Ok(link) = std::fs::read_link(path) {
                return Err(refuse(&format_args!(
                    "it is a symbolic link to `{}`, which does not exist; name the file itself",
                    link.display()
                )));
            }
            Ok(Target::Replace(Replace::new_file(path)?))
        }
        Err(e) => Err(refuse(&io::Error::from(e))),
    }
}

impl Replace {
    /// A file that does not exist yet, made in the directory `path` names.
    fn new_file(path: &Path) -> Result<Self, UsageError> {
        let Some(name) = path.file_name() else {
            return Err(refused(path, &"give a file name"));
        };
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let dir = open_dir(path, parent)?;
        Self::in_dir(path, dir, name, None)
    }

    /// A regular file (`stat` is what `path` opened to), replaced in its own directory: the
    /// final target of any symlinks on the way.
    fn existing(path: &Path, stat: &fsys::Stat) -> Result<Self, UsageError> {
        let real = std::fs::canonicalize(path).map_err(|e| refused(path, &e))?;
        let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
            return Err(refused(path, &"give a file name"));
        };
        let dir = open_dir(path, parent)?;
        // The name resolved must still be the file opened, or the rename would replace
        // something else.
        match fsys::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(now) if FileId::of(&now) == FileId::of(stat) => {}
            _ => {
                return Err(refused(
                    path,
                    &"it changed while heaplab opened it; try again",
                ));
            }
        }
        let keep = Keep {
            mode: stat.st_mode & 0o7777,
            uid: stat.st_uid,
            gid: stat.st_gid,
        };
        Self::in_dir(path, dir, name, Some(keep))
    }

    /// Creates the temporary file in `dir`, private until it is complete.
    fn in_dir(
        path: &Path,
        dir: OwnedFd,
        name: &OsStr,
        keep: Option<Keep>,
    ) -> Result<Self, UsageError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let temp = OsString::from(format!(".heaplab-{}-{nanos:x}-{n}.tmp", std::process::id()));
            match fsys::openat(
                &dir,
                &temp,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => {
                    return Ok(Self {
                        dir,
                        name: name.to_owned(),
                        temp: Some(temp),
                        file: File::from(fd),
                        keep,
                    });
                }
                Err(Errno::EXIST) if n < 1000 => {}
                Err(e) => {
                    return Err(refused(
                        path,
                        &format_args!("{} (is its directory writable?)", io::Error::from(e)),
                    ));
                }
            }
        }
    }

    /// Completes the temporary file and puts it in place.
    fn finish(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        // Readable like any file the user writes (the temporary file starts private); a
        // replaced file keeps its owner (where heaplab may set it: as root) and mode.
        let mode = match self.keep {
            Some(keep) => {
                let _ = fsys::fchown(
                    self.file.as_fd(),
                    Some(rustix::fs::Uid::from_raw(keep.uid)),
                    Some(rustix::fs::Gid::from_raw(keep.gid)),
                );
                keep.mode
            }
            None => 0o644,
        };
        fsys::fchmod(self.file.as_fd(), Mode::from_raw_mode(mode))?;
        self.file.sync_all()?;
        self.rename()
    }

    /// Renames the temporary file over the target, never removing anything but a regular
    /// file. Tries again if the target comes or goes meanwhile.
    fn rename(&mut self) -> io::Result<()> {
        let Some(temp) = self.temp.clone() else {
            return Err(io::Error::other("already written"));
        };
        for _ in 0..3 {
            if self.keep.is_none() {
                match rename_with(&self.dir, &temp, &self.name, Swap::NoReplace) {
                    Ok(()) => {
                        self.temp = None;
                        return Ok(());
                    }
                    // Made meanwhile: replaced like any other file.
                    Err(Errno::EXIST) => {}
                    Err(e) if unsupported(e) => return self.rename_plain(&temp),
                    Err(e) => return Err(e.into()),
                }
            }
            match rename_with(&self.dir, &temp, &self.name, Swap::Exchange) {
                Ok(()) => {
                    // `temp` now names what was the target: ours to remove only if it is a
                    // regular file.
                    self.temp = None;
                    let taken = fsys::statat(&self.dir, &temp, AtFlags::SYMLINK_NOFOLLOW)?;
                    if FileType::from_raw_mode(taken.st_mode) == FileType::RegularFile {
                        fsys::unlinkat(&self.dir, &temp, AtFlags::empty())?;
                        return Ok(());
                    }
                    rename_with(&self.dir, &temp, &self.name, Swap::Exchange)?;
                    self.temp = Some(temp);
                    return Err(became(taken.st_mode));
                }
                // Removed meanwhile: created instead.
                Err(Errno::NOENT) => self.keep = None,
                Err(e) if unsupported(e) => return self.rename_plain(&temp),
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::other(
            "it kept appearing and disappearing while heaplab wrote it",
        ))
    }

    /// For file systems that cannot swap two names: the kind checked just before the rename.
    fn rename_plain(&mut self, temp: &OsStr) -> io::Result<()> {
        match fsys::statat(&self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(now) if FileType::from_raw_mode(now.st_mode) != FileType::RegularFile => {
                return Err(became(now.st_mode));
            }
            _ => {}
        }
        fsys::renameat(&self.dir, temp, &self.dir, &self.name)?;
        self.temp = None;
        Ok(())
    }
}

impl Drop for Replace {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fsys::unlinkat(&self.dir, &temp, AtFlags::empty());
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Swap {
    NoReplace,
    Exchange,
}

/// `renameat2` within `dir`, where the platform has it.
#[allow(clippy::needless_pass_by_value)]
fn rename_with(dir: &OwnedFd, from: &OsStr, to: &OsStr, swap: Swap) -> rustix::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let flags = match swap {
            Swap::NoReplace => fsys::RenameFlags::NOREPLACE,
            Swap::Exchange => fsys::RenameFlags::EXCHANGE,
        };
        fsys::renameat_with(dir, from, dir, to, flags)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (dir, from, to, swap);
        Err(Errno::NOSYS)
    }
}

/// The file system or kernel cannot rename with flags.
fn unsupported(e: Errno) -> bool {
    e == Errno::INVAL || e == Errno::NOSYS || e == Errno::OPNOTSUPP
}

fn became(mode: fsys::RawMode) -> io::Error {
    io::Error::other(format!(
        "it became {} while heaplab ran, and was left as it was",
        kind(FileType::from_raw_mode(mode))
    ))
}

fn kind(file_type: FileType) -> &'static str {
    match file_type {
        FileType::RegularFile => "a file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice | FileType::BlockDevice => "a device",
        FileType::Unknown => "something other than a file",
    }
}

/// Opens `dir`, the directory `path` will be written in.
fn open_dir(path: &Path, dir: &Path) -> Result<OwnedFd, UsageError> {
    let flags = OFlags::DIRECTORY | OFlags::CLOEXEC;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = flags | OFlags::PATH;
    fsys::openat(CWD, dir, flags, Mode::empty()).map_err(|e| match e {
        Errno::NOENT => refused(
            path,
            &format_args!("the directory `{}` does not exist", dir.display()),
        ),
        e => refused(path, &format_args!("its directory: {}", io::Error::from(e))),
    })
}

fn refused(path: &Path, why: &dyn std::fmt::Display) -> UsageError {
    UsageError(format!("cannot write to `{}`: {why}", path.display()))
}

/// The file this process's standard output is, if it has one.
fn stdout_id() -> Option<FileId> {
    fsys::fstat(io::stdout().as_fd())
        .ok()
        .map(|stat| FileId::of(&stat))
}

fn write_in_place(out: &mut dyn io::Write, spool: Option<File>, bytes: &[u8]) -> io::Result<()> {
    if let Some(mut spool) = spool {
        spool.rewind()?;
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = spool.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            out.write_all(&buffer[..n])?;
        }
    }
    out.write_all(bytes)?;
    out.flush()
}

static DATA_DIR_OPTION: OnceLock<PathBuf> = OnceLock::new();

/// Sets the data directory from the command line (`--data-dir`), over the environment. Once
/// per process; a second call is ignored.
pub fn set_data_dir(dir: PathBuf) {
    let _ = DATA_DIR_OPTION.set(dir);
}

/// The one directory for the files heaplab keeps for the user (the dashboard's exports,
/// session files), made if needed (private, as XDG asks) and returned as a whole path:
/// `--data-dir`, else `$HEAPLAB_DATA_DIR`, else `$XDG_DATA_HOME/heaplab`, else
/// `~/.local/share/heaplab`.
pub fn data_dir() -> Result<PathBuf, UsageError> {
    let env = |key: &str| {
        std::env::var_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let chosen = DATA_DIR_OPTION
        .get()
        .cloned()
        .or_else(|| env(DATA_DIR_ENV))
        // XDG: a relative XDG_DATA_HOME is invalid and ignored.
        .or_else(|| {
            env("XDG_DATA_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("heaplab"))
        })
        .or_else(|| env("HOME").map(|home| home.join(".local/share/heaplab")))
        .ok_or_else(|| {
            UsageError(format!(
                "no directory for heaplab's files: set {DATA_DIR_ENV} (or HOME)"
            ))
        })?;
    let cannot = |e: io::Error| {
        UsageError(format!(
            "cannot make heaplab's directory `{}`: {e} (name another with --data-dir or {DATA_DIR_ENV})",
            chosen.display()
        ))
    };
    let dir = std::path::absolute(&chosen).map_err(cannot)?;
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(&dir)
        .map_err(cannot)?;
    Ok(dir)
}
