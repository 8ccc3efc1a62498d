//! Claiming a results path before anything is written to it: it must not be a directory nor one
//! of the command's inputs, and this process must be its only writer (its lock).

use std::io;
use std::path::{Path, PathBuf};

use super::journal::journal_path;
use super::lock::{lock_path, ResultsLock};
use super::ResultsError;
use crate::paths::same_file;

/// A results path checked and locked for this process until dropped. Every
/// [`ResultsWriter`](super::ResultsWriter) holds one, so every command that writes a results
/// file is its only writer.
#[derive(Debug)]
pub(crate) struct ResultsClaim {
    path: PathBuf,
    _lock: ResultsLock,
}

impl ResultsClaim {
    /// Checks `path` ([`check_path`]) and locks it, or fails with [`ResultsError::Locked`] naming
    /// the process that holds it. Nothing but the lock file is created.
    pub(crate) fn new(path: &Path, inputs: &[&Path]) -> Result<Self, ResultsError> {
        check_path(path, inputs)?;
        Ok(Self {
            path: path.to_path_buf(),
            _lock: ResultsLock::acquire(path)?,
        })
    }

    /// The results path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Checks, without creating anything, that a results file can be written at `path`: it is not a
/// directory, its directory exists, and neither it nor its journal or lock file is one of
/// `inputs` (the same file however spelled: relative or absolute, through a symlink or a hard
/// link), since those files are written over.
pub(crate) fn check_path(path: &Path, inputs: &[&Path]) -> Result<(), ResultsError> {
    if path.is_dir() {
        return Err(ResultsError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    for own in [path.to_path_buf(), journal_path(path), lock_path(path)] {
        if let Some(input) = inputs.iter().find(|input| same_file(&own, input)) {
            return Err(ResultsError::IsInput {
                path: own,
                input: input.to_path_buf(),
            });
        }
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        let missing = io::Error::new(io::ErrorKind::NotFound, "its directory does not exist");
        return Err(ResultsError::io("create the results file", path, missing));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_is_refused_however_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("envs.csv");
        std::fs::write(&input, "connection_id,name,target_schema\n").unwrap();
        let dotted = dir.path().join(".").join("envs.csv");
        let mut spellings = vec![input.clone(), dotted];
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            let hard = dir.path().join("hard.csv");
            std::fs::hard_link(&input, &hard).unwrap();
            spellings.extend([link, hard]);
        }
        for results in spellings {
            let refused = check_path(&results, &[&input]).unwrap_err();
            assert!(
                matches!(&refused, ResultsError::IsInput { input: i, .. } if i == &input),
                "{results:?}: {refused:?}"
            );
        }
        assert!(check_path(&dir.path().join("other.csv"), &[&input]).is_ok());
    }

    #[test]
    fn a_directory_is_refused_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let refused = check_path(dir.path(), &[]).unwrap_err();
        assert!(
            matches!(refused, ResultsError::IsDirectory { .. }),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("is a directory"), "{refused}");
    }

    #[test]
    fn a_missing_directory_is_named_before_anything_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("nope").join("r.csv");
        let refused = ResultsClaim::new(&results, &[]).unwrap_err();
        assert!(
            refused.to_string().contains("directory does not exist"),
            "{refused}"
        );
    }
}
