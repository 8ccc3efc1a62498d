//! File mechanics shared by the results file and its journal: append-only files that repair a torn
//! tail, and atomic replacement (temp file in the same directory, fsync, rename).

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::scan::RecordScanner;
use super::{Format, ResultsError};

/// An append-only file that knows its length and never leaves a partial record behind it
/// while the process lives.
#[derive(Debug)]
pub(crate) struct AppendFile {
    path: PathBuf,
    file: File,
    len: u64,
    broken: bool,
}

/// How to open an [`AppendFile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opening {
    /// Create the file; fail if it exists.
    CreateNew,
    /// Create the file or empty it.
    Truncate,
    /// Keep what is there (dropping a torn last record) or create it.
    Continue,
}

impl AppendFile {
    /// Opens `path` for appending. `what` names the file in warnings ("results file", ...).
    ///
    /// With [`Opening::Continue`], a last record cut short by a crash is truncated away (with a
    /// warning) so that the next append starts on a fresh line; `format` says how records end.
    pub(super) fn open(
        path: &Path,
        format: Format,
        opening: Opening,
        what: &'static str,
    ) -> Result<Self, ResultsError> {
        let mut options = OpenOptions::new();
        options.read(true).append(true);
        match opening {
            Opening::CreateNew => options.create_new(true),
            Opening::Truncate | Opening::Continue => options.create(true),
        };
        let file = options.open(path).map_err(|source| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                ResultsError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                ResultsError::io("open", path, source)
            }
        })?;
        let len = match opening {
            Opening::CreateNew => 0,
            Opening::Truncate => {
                file.set_len(0)
                    .map_err(|e| ResultsError::io("truncate", path, e))?;
                0
            }
            Opening::Continue => drop_torn_tail(path, &file, format, what)?,
        };
        Ok(Self {
            path: path.to_path_buf(),
            file,
            len,
            broken: false,
        })
    }

    /// The file's length: where the next record will start.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Appends `bytes` with one write and hands them to the OS (no fsync: a killed process
    /// loses nothing that reached the page cache).
    ///
    /// If the write fails part way, the file is cut back to its last whole record; if even that
    /// fails, every later append is refused with [`ResultsError::Broken`].
    pub(super) fn append(&mut self, bytes: &[u8]) -> Result<(), ResultsError> {
        if self.broken {
            return Err(ResultsError::Broken {
                path: self.path.clone(),
            });
        }
        if let Err(source) = self.file.write_all(bytes).and_then(|()| self.file.flush()) {
            if self.file.set_len(self.len).is_err() {
                self.broken = true;
            }
            return Err(ResultsError::io("append to", &self.path, source));
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// The file's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

/// Finds where the file's whole records end and truncates anything after that.
fn drop_torn_tail(
    path: &Path,
    file: &File,
    format: Format,
    what: &'static str,
) -> Result<u64, ResultsError> {
    let mut scanner = RecordScanner::new(BufReader::new(file), format);
    let mut end = 0;
    while let Some(record) = scanner
        .next_record()
        .map_err(|e| ResultsError::io("read", path, e))?
    {
        end = record.offset + record.bytes.len() as u64;
    }
    if let Some(torn) = scanner.torn() {
        tracing::warn!(
            path = %path.display(),
            line = torn.line,
            bytes = torn.len,
            "the {what} ends with a partial record (the previous run was killed mid-write); \
             dropping it before appending",
        );
        file.set_len(torn.offset)
            .map_err(|e| ResultsError::io("truncate", path, e))?;
        end = torn.offset;
    }
    Ok(end)
}

/// A new version of a file, written beside it and swapped in atomically by [`Self::commit`].
#[derive(Debug)]
pub(crate) struct Replacement {
    target: PathBuf,
    temp: NamedTempFile,
}

impl Replacement {
    /// Starts a replacement of `target` (a temp file in the same directory).
    pub(crate) fn new(target: &Path) -> Result<Self, ResultsError> {
        let temp = NamedTempFile::new_in(parent_dir(target))
            .map_err(|e| ResultsError::io("create a temporary file beside", target, e))?;
        Ok(Self {
            target: target.to_path_buf(),
            temp,
        })
    }

    /// The temp file, to write the new contents into.
    pub(crate) fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Makes the new contents durable and puts them in place of the target in one rename.
    pub(crate) fn commit(self) -> Result<(), ResultsError> {
        let target = self.target;
        self.temp
            .as_file()
            .sync_all()
            .map_err(|e| ResultsError::io("sync the rewrite of", &target, e))?;
        self.temp
            .persist(&target)
            .map_err(|e| ResultsError::io("replace", &target, e.error))?;
        sync_dir(parent_dir(&target));
        Ok(())
    }
}

/// Removes `path`; a file that is already gone is fine.
pub(crate) fn remove_if_exists(path: &Path) -> Result<(), ResultsError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ResultsError::io("remove", path, e)),
        _ => Ok(()),
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Makes a rename durable. Best effort: not every platform can open a directory.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}
