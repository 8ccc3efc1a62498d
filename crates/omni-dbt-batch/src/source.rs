//! The input as a file that can be read more than once: stdin is spooled to a temporary file.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::checked::CheckedRows;
use crate::duplicates::Duplicates;
use crate::input::{sniff, EnvLookup, Format, InputError, InputReader, InputSource};
use crate::shard::Shard;

/// The input of a run or a validation. A run reads it up to three times (the scan, its
/// duplicate check, then the execute pass), so stdin is first copied to a temporary file that
/// lives as long as this value.
#[derive(Debug)]
pub struct InputFile {
    path: PathBuf,
    display: String,
    format: Option<Format>,
    shard: Option<Shard>,
    /// The scan's duplicate rows, which every later read judges by.
    duplicates: OnceLock<Arc<Duplicates>>,
    _spool: Option<tempfile::NamedTempFile>,
}

impl InputFile {
    /// Opens `input` (spooling stdin, whose format is sniffed unless given).
    pub fn open(
        input: &InputSource,
        format: Option<Format>,
        shard: Option<Shard>,
    ) -> Result<Self, InputError> {
        let display = input.display_name();
        let (path, format, spool) = match input {
            InputSource::Path(path) => (path.clone(), format, None),
            InputSource::Stdin => {
                let read_error = |source| InputError::Read {
                    file: display.clone(),
                    line: None,
                    source,
                };
                let mut spool = tempfile::NamedTempFile::new().map_err(read_error)?;
                std::io::copy(&mut std::io::stdin().lock(), spool.as_file_mut())
                    .map_err(read_error)?;
                let format = match format {
                    Some(format) => format,
                    None => {
                        sniff(Box::new(spool.reopen().map_err(read_error)?))
                            .map_err(read_error)?
                            .0
                    }
                };
                (spool.path().to_path_buf(), Some(format), Some(spool))
            }
        };
        Ok(Self {
            path,
            display,
            format,
            shard,
            duplicates: OnceLock::new(),
            _spool: spool,
        })
    }

    /// How messages name the input: the path as given, or `<stdin>`.
    pub fn display_name(&self) -> &str {
        &self.display
    }

    /// The shard the run is limited to.
    pub fn shard(&self) -> Option<Shard> {
        self.shard
    }

    /// Records the scan's duplicates; every later [`InputFile::checked`] judges by them.
    pub fn set_duplicates(&self, duplicates: Arc<Duplicates>) {
        // Set once, by the scan; a second scan of the same input would find the same rows.
        let _ = self.duplicates.set(duplicates);
    }

    /// Reads the rows and checks them, with the duplicates found by the scan (none before it).
    pub fn checked(&self) -> Result<CheckedRows, InputError> {
        let duplicates = self.duplicates.get().cloned().unwrap_or_default();
        Ok(CheckedRows::new(self.reader()?, self.shard, duplicates))
    }

    /// Reads the rows from the start, unchecked.
    pub fn reader(&self) -> Result<InputReader, InputError> {
        let format = self
            .format
            .or_else(|| Format::from_path(&self.path))
            .ok_or_else(|| InputError::UnknownFormat {
                file: self.display.clone(),
            })?;
        let file = std::fs::File::open(&self.path).map_err(|source| InputError::Open {
            path: self.path.clone(),
            source,
        })?;
        InputReader::from_reader(file, format, self.display.clone(), EnvLookup::process())
    }
}
