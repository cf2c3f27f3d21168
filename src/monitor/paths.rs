//! Where a watched program's monitor socket lives: `/tmp/heaplab-UID/PID.sock` (or
//! `$HEAPLAB_MONITOR_DIR/PID.sock`), in a directory that only its owner may enter. The program
//! creates the directory or checks the one it finds ([`private_dir`]); a viewer lists and finds
//! sockets there ([`sockets`], [`find`]).
//!
//! Why not `$XDG_RUNTIME_DIR`: a program started by a service manager and a viewer in a login
//! shell often disagree about it, and a viewer must find the program without being told. Why
//! a check and not trust: `/tmp` is shared, so another user could have made `heaplab-UID`
//! first; a directory that is a symlink, someone else's, or open to others is refused.

use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode};

/// Overrides the directory for both sides (tests, or a machine where `/tmp` is unsuitable).
pub const DIR_ENV: &str = "HEAPLAB_MONITOR_DIR";

/// Why a monitor directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// Creating or inspecting it failed.
    #[error("monitor directory {dir}: {source}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// It exists but is not a private directory of ours.
    #[error("monitor directory {dir} {problem}; remove it (or set {DIR_ENV}) and start again")]
    Unsafe {
        /// The directory.
        dir: PathBuf,
        /// What is wrong, as words that follow its path.
        problem: String,
    },
}

/// The directory of `uid`'s monitor sockets.
#[must_use]
pub fn dir_for(uid: u32) -> PathBuf {
    match std::env::var_os(DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(format!("/tmp/heaplab-{uid}")),
    }
}

/// The directory of the calling user's monitor sockets.
#[must_use]
pub fn own_dir() -> PathBuf {
    dir_for(rustix::process::geteuid().as_raw())
}

/// The socket of process `pid` in `dir`.
#[must_use]
pub fn socket_in(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("{pid}.sock"))
}

/// Creates `dir` (mode 0700) if it does not exist, and checks that it is a real directory
/// (not a symlink) owned by the calling user with no access for anyone else.
pub fn private_dir(dir: &Path) -> Result<(), DirError> {
    let io = |source| DirError::Io {
        dir: dir.to_owned(),
        source,
    };
    match rustix::fs::mkdir(dir, Mode::RWXU) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
        Err(errno) => return Err(io(errno.into())),
    }
    let stat = rustix::fs::lstat(dir).map_err(|errno| io(errno.into()))?;
    let unsafe_because = |problem: String| DirError::Unsafe {
        dir: dir.to_owned(),
        problem,
    };
    if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
        return Err(unsafe_because(
            "is not a directory (a symlink or a file)".into(),
        ));
    }
    let me = rustix::process::geteuid().as_raw();
    if stat.st_uid != me {
        return Err(unsafe_because(format!(
            "belongs to uid {}, not to uid {me}",
            stat.st_uid
        )));
    }
    if stat.st_mode & 0o077 != 0 {
        return Err(unsafe_because(format!(
            "is open to others (mode {:o}, needs 700)",
            stat.st_mode & 0o777
        )));
    }
    Ok(())
}

/// A socket found in a monitor directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The process id its name gives.
    pub pid: u32,
    /// Its path.
    pub socket: PathBuf,
    /// Whether a process with that id exists (if not, the program crashed or was killed and
    /// left its socket behind).
    pub alive: bool,
}

/// Every monitor socket the calling user may see, by process id: in `$HEAPLAB_MONITOR_DIR` if
/// set, else in the calling user's `/tmp/heaplab-UID` (and, for root, every user's).
#[must_use]
pub fn sockets() -> Vec<Found> {
    let dirs = if std::env::var_os(DIR_ENV).is_some_and(|dir| !dir.is_empty()) {
        vec![own_dir()]
    } else if rustix::process::geteuid().is_root() {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/tmp")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("heaplab-"))
            .map(|entry| entry.path())
            .collect();
        dirs.sort();
        dirs
    } else {
        vec![own_dir()]
    };
    let mut found: Vec<Found> = dirs.iter().flat_map(|dir| sockets_in(dir)).collect();
    found.sort_by_key(|found| found.pid);
    found
}

/// The monitor sockets in `dir` (named `PID.sock`), in no particular order.
#[must_use]
pub fn sockets_in(dir: &Path) -> Vec<Found> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let pid = name.to_str()?.strip_suffix(".sock")?.parse::<u32>().ok()?;
            Some(Found {
                pid,
                socket: entry.path(),
                alive: Path::new(&format!("/proc/{pid}")).exists(),
            })
        })
        .collect()
}

/// The socket of process `pid`, if [`sockets`] lists one.
#[must_use]
pub fn find(pid: u32) -> Option<Found> {
    sockets().into_iter().find(|found| found.pid == pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_directory_is_made_private_and_an_open_or_foreign_one_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("heaplab-test");
        private_dir(&dir).expect("created");
        let mode = std::fs::metadata(&dir).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        private_dir(&dir).expect("an existing private directory is fine");

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let err = private_dir(&dir).expect_err("open to others").to_string();
        assert!(err.contains("open to others (mode 755"), "{err}");

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).expect("symlink");
        let err = private_dir(&link).expect_err("a symlink").to_string();
        assert!(err.contains("is not a directory"), "{err}");
    }

    #[test]
    fn a_socket_is_named_by_its_process_id() {
        assert_eq!(
            socket_in(Path::new("/tmp/heaplab-0"), 42),
            Path::new("/tmp/heaplab-0/42.sock")
        );
    }
}
