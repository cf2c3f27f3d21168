//! Files heaplab writes: whole or not at all.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr as _};

use crate::UsageError;

/// A file written all at once or not at all: a temporary file beside the target, renamed over
/// it on commit. Dropped uncommitted, the temporary file is removed.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    temp: tempfile::NamedTempFile,
}

impl AtomicFile {
    /// Creates the temporary file now, so that an unwritable destination is an error before
    /// any work starts.
    pub fn create(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return Err(UsageError(format!(
                "cannot write to `{}`: it is a directory; give a file name",
                path.display()
            ))
            .into());
        }
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".heaplab-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| {
                UsageError(format!(
                    "cannot write to `{}`: {e} (does the directory exist and is it writable?)",
                    path.display()
                ))
            })?;
        Ok(Self {
            path: path.to_owned(),
            temp,
        })
    }

    /// The temporary file, for writers that stream into it before [`AtomicFile::commit`].
    pub fn file_mut(&mut self) -> &mut std::fs::File {
        self.temp.as_file_mut()
    }

    /// Writes `bytes`, flushes them to disk and renames the file into place, readable by all
    /// like any file the user writes (the temporary file starts private).
    pub fn commit(mut self, bytes: &[u8]) -> Result<()> {
        let path = self.path;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).map_or(0o644, |m| m.permissions().mode());
            self.temp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .wrap_err_with(|| format!("could not set permissions on `{}`", path.display()))?;
        }
        self.temp
            .write_all(bytes)
            .and_then(|()| self.temp.as_file().sync_all())
            .wrap_err_with(|| format!("could not write `{}`", path.display()))?;
        self.temp
            .persist(&path)
            .wrap_err_with(|| format!("could not move the report into `{}`", path.display()))?;
        Ok(())
    }
}
