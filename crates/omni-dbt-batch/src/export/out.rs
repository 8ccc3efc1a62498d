//! Where an export goes: a file, checked before any request and put in place in one rename
//! once complete, or stdout.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::config::{ExistingOutput, ExportOutput};
use super::error::ExportError;
use crate::record::results::{Replacement, ResultsError};

/// Refuses, before any request, an output path that is a directory, that exists (unless
/// `existing` says to replace it), or whose directory does not exist.
pub(crate) fn check(output: &ExportOutput, existing: ExistingOutput) -> Result<(), ExportError> {
    let ExportOutput::File(path) = output else {
        return Ok(());
    };
    let refuse = |reason: String| {
        Err(ExportError::Output {
            path: path.clone(),
            reason,
        })
    };
    if path.is_dir() {
        return refuse(format!(
            "it is a directory: give the path of a file, such as {}",
            path.join("environments.csv").display()
        ));
    }
    if path.exists() && existing == ExistingOutput::Refuse {
        return refuse(
            "it exists: pass --force to replace it (it is replaced only once the export is \
             complete), or give another path"
                .to_owned(),
        );
    }
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !directory.is_dir() {
        return refuse(format!(
            "its directory {} does not exist",
            directory.display()
        ));
    }
    Ok(())
}

/// An export being written.
pub(crate) enum Destination {
    /// A new version of the file, beside it until [`Destination::commit`].
    File {
        /// The file's place.
        path: PathBuf,
        /// Its new contents.
        replacement: Replacement,
    },
    /// Standard output.
    Stdout,
}

impl Destination {
    /// Starts writing to `output`.
    pub(crate) fn open(output: &ExportOutput) -> Result<Self, ExportError> {
        Ok(match output {
            ExportOutput::Stdout => Destination::Stdout,
            ExportOutput::File(path) => Destination::File {
                path: path.clone(),
                replacement: Replacement::new(path)
                    .map_err(|source| ExportError::Write { source })?,
            },
        })
    }

    /// How errors name the destination.
    pub(crate) fn name(&self) -> PathBuf {
        match self {
            Destination::File { path, .. } => path.clone(),
            Destination::Stdout => PathBuf::from("<stdout>"),
        }
    }

    /// A buffered writer to the destination. On stdout, a reader that went away (`| head`)
    /// ends the output quietly, as a pipe's end should.
    pub(crate) fn writer(&mut self) -> Box<dyn Write + '_> {
        match self {
            Destination::File { replacement, .. } => {
                Box::new(BufWriter::new(FileRef(replacement.file())))
            }
            Destination::Stdout => Box::new(BufWriter::new(ClosedPipeIsTheEnd(io::stdout()))),
        }
    }

    /// Puts a file in place; returns its path (`None` for stdout).
    pub(crate) fn commit(self) -> Result<Option<PathBuf>, ExportError> {
        match self {
            Destination::Stdout => Ok(None),
            Destination::File { path, replacement } => {
                replacement
                    .commit()
                    .map_err(|source| ExportError::Write { source })?;
                Ok(Some(path))
            }
        }
    }

    /// The error of a failed write to this destination.
    pub(crate) fn write_error(&self, source: io::Error) -> ExportError {
        ExportError::Write {
            source: ResultsError::io("write", self.name(), source),
        }
    }
}

/// A borrowed file as a writer.
struct FileRef<'a>(&'a mut File);

impl Write for FileRef<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A writer whose broken pipe swallows what follows instead of failing.
struct ClosedPipeIsTheEnd<W: Write>(W);

impl<W: Write> Write for ClosedPipeIsTheEnd<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.write(buf) {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.0.flush() {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_an_existing_file_and_a_missing_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("envs.csv");
        std::fs::write(&existing, "x").unwrap();
        let cases = [
            (
                dir.path().to_path_buf(),
                ExistingOutput::Replace,
                "is a directory",
            ),
            (existing.clone(), ExistingOutput::Refuse, "pass --force"),
            (
                dir.path().join("no/such.csv"),
                ExistingOutput::Refuse,
                "does not exist",
            ),
        ];
        for (path, existing_output, needle) in cases {
            let error = check(&ExportOutput::File(path), existing_output).unwrap_err();
            let text = error.to_string();
            assert!(
                text.contains(needle) && text.ends_with("nothing was sent"),
                "{text}"
            );
        }
        assert!(check(&ExportOutput::File(existing), ExistingOutput::Replace).is_ok());
        assert!(check(&ExportOutput::Stdout, ExistingOutput::Refuse).is_ok());
    }
}
