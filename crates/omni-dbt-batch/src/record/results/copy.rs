//! Copying records between results files: [`RecordSource`] reads a record back from where an
//! index found it, [`ResultsOutput`] writes a new results file and swaps it in atomically.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::codec::{decode, Encoder, CSV_HEADER};
use super::files::Replacement;
use super::{Format, ResultsError};
use crate::record::RowRecord;

/// Results files opened for reading records at known places.
#[derive(Debug)]
pub(crate) struct RecordSource {
    files: Vec<(PathBuf, Format, File)>,
}

impl RecordSource {
    /// Opens each of `paths`, holding records of the paired format.
    pub(crate) fn open(paths: &[(PathBuf, Format)]) -> Result<Self, ResultsError> {
        let files = paths
            .iter()
            .map(|(path, format)| {
                let file = File::open(path).map_err(|e| ResultsError::io("open", path, e))?;
                Ok((path.clone(), *format, file))
            })
            .collect::<Result<_, ResultsError>>()?;
        Ok(Self { files })
    }

    /// The record of file `file` (an index into the paths given) that starts at `offset` and
    /// is `len` bytes long, as a reader located it.
    pub(crate) fn read(
        &mut self,
        file: usize,
        offset: u64,
        len: u64,
    ) -> Result<RowRecord, ResultsError> {
        let Some((path, format, handle)) = self.files.get_mut(file) else {
            return Err(ResultsError::Encode {
                path: PathBuf::new(),
                message: format!("no results file number {file}"),
            });
        };
        let too_large = || ResultsError::Corrupt {
            path: path.clone(),
            line: 0,
            message: "a record too large for memory".to_owned(),
        };
        let mut bytes = vec![0; usize::try_from(len).map_err(|_| too_large())?];
        handle
            .seek(SeekFrom::Start(offset))
            .and_then(|_| handle.read_exact(&mut bytes))
            .map_err(|e| ResultsError::io("read", path.as_path(), e))?;
        decode(*format, &bytes).map_err(|message| ResultsError::Corrupt {
            path: path.clone(),
            line: 0,
            message,
        })
    }
}

/// A new results file being written beside its final place; [`Self::commit`] puts it there.
pub(crate) struct ResultsOutput {
    replacement: Replacement,
    out: BufWriter<File>,
    encoder: Encoder,
    path: PathBuf,
}

impl ResultsOutput {
    /// Starts a results file for `path` in `format` (the CSV header written at once).
    pub(crate) fn create(path: &Path, format: Format) -> Result<Self, ResultsError> {
        let mut replacement = Replacement::new(path)?;
        let file = replacement
            .file()
            .try_clone()
            .map_err(|e| ResultsError::io("write", path, e))?;
        let mut output = Self {
            replacement,
            out: BufWriter::new(file),
            encoder: Encoder::new(format),
            path: path.to_path_buf(),
        };
        if format == Format::Csv {
            output.write_bytes(CSV_HEADER.as_bytes())?;
        }
        Ok(output)
    }

    /// Appends `record`.
    pub(crate) fn write(&mut self, record: &RowRecord) -> Result<(), ResultsError> {
        let bytes = self
            .encoder
            .encode(record)
            .map_err(|message| ResultsError::Encode {
                path: self.path.clone(),
                message,
            })?
            .to_vec();
        self.write_bytes(&bytes)
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), ResultsError> {
        self.out
            .write_all(bytes)
            .map_err(|e| ResultsError::io("write", &self.path, e))
    }

    /// Makes the file durable and puts it in place in one rename.
    pub(crate) fn commit(mut self) -> Result<(), ResultsError> {
        self.out
            .flush()
            .map_err(|e| ResultsError::io("write", &self.path, e))?;
        drop(self.out);
        self.replacement.commit()
    }
}

impl std::fmt::Debug for ResultsOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultsOutput")
            .field("path", &self.path)
            .finish()
    }
}
