//! `ResultsReader`: the records of a results file, in file order, tolerating a torn last record.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::codec::{decode, is_csv_header, missing_header_message};
use super::scan::RecordScanner;
use super::{Format, ResultsError};
use crate::record::RowRecord;

/// A record with where it sits in the results file.
#[derive(Debug)]
pub(crate) struct Located {
    /// Byte offset of the record.
    pub offset: u64,
    /// Its length in bytes, terminator included.
    pub len: u64,
    /// The line of the file where it starts (1-based).
    pub line: u64,
    /// The record.
    pub record: RowRecord,
}

/// Reads a results file record by record, in file order (which is not row order before the
/// file is finished, and may hold several records of one row: the last one counts).
///
/// A CSV file must start with the header. A last record cut short by a crash is skipped with a
/// warning; any other unreadable record is [`ResultsError::Corrupt`], naming the line.
///
/// ```
/// use omni_dbt_batch::{Format, ResultsReader};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("r.csv");
/// std::fs::write(
///     &path,
///     "row,line,connection_id,name,status,environment_id,attempts,http_status,error_kind,error,fingerprint\n\
///      1,2,conn,dev,failed,,3,503,server,\"Service Unavailable, try later\",abc\n\
///      2,3,conn,stag",
/// )?;
/// let records = ResultsReader::open(&path, Format::Csv)?.collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(records.len(), 1); // the torn second record is dropped
/// assert_eq!(records[0].error.as_deref(), Some("Service Unavailable, try later"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ResultsReader {
    path: PathBuf,
    format: Format,
    scanner: RecordScanner<BufReader<File>>,
    header_seen: bool,
    done: bool,
}

impl ResultsReader {
    /// Opens the results file at `path`, holding records of `format`.
    pub fn open(path: impl AsRef<Path>, format: Format) -> Result<Self, ResultsError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| ResultsError::io("open", &path, e))?;
        Ok(Self {
            scanner: RecordScanner::new(BufReader::new(file), format),
            path,
            format,
            header_seen: false,
            done: false,
        })
    }

    /// The path being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next record with its place in the file, or `None` at the end.
    pub(crate) fn next_located(&mut self) -> Result<Option<Located>, ResultsError> {
        loop {
            let Some(raw) = self
                .scanner
                .next_record()
                .map_err(|e| ResultsError::io("read", &self.path, e))?
            else {
                self.warn_if_torn();
                return Ok(None);
            };
            if raw.is_blank() {
                continue;
            }
            if self.format == Format::Csv && !self.header_seen {
                if !is_csv_header(raw.bytes) {
                    return Err(ResultsError::Corrupt {
                        path: self.path.clone(),
                        line: raw.line,
                        message: missing_header_message(),
                    });
                }
                self.header_seen = true;
                continue;
            }
            let record =
                decode(self.format, raw.bytes).map_err(|message| ResultsError::Corrupt {
                    path: self.path.clone(),
                    line: raw.line,
                    message,
                })?;
            return Ok(Some(Located {
                offset: raw.offset,
                len: raw.bytes.len() as u64,
                line: raw.line,
                record,
            }));
        }
    }

    /// Whether the file ended with a partial record (known once the end is reached).
    pub(crate) fn ended_torn(&self) -> bool {
        self.scanner.torn().is_some()
    }

    fn warn_if_torn(&self) {
        if let Some(torn) = self.scanner.torn() {
            tracing::warn!(
                path = %self.path.display(),
                line = torn.line,
                bytes = torn.len,
                "the results file ends with a partial record (a run was killed mid-write); \
                 ignoring it",
            );
        }
    }
}

impl Iterator for ResultsReader {
    type Item = Result<RowRecord, ResultsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_located() {
            Ok(Some(located)) => Some(Ok(located.record)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_without_header_is_corrupt_at_line_one_and_suggests_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "1,2,c,n,created,,1,,,,f\n").unwrap();
        let mut reader = ResultsReader::open(&path, Format::Csv).unwrap();
        let message = reader.next().unwrap().unwrap_err().to_string();
        assert!(message.contains("r.csv:1:"), "{message}");
        assert!(message.contains("--force"), "{message}");
        assert!(reader.next().is_none());
    }

    #[test]
    fn unreadable_record_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, "\n{\"row\":1}\n").unwrap();
        let err = ResultsReader::open(&path, Format::Jsonl)
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(err, ResultsError::Corrupt { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = ResultsReader::open(dir.path().join("gone.csv"), Format::Csv).unwrap_err();
        assert!(err.to_string().contains("gone.csv"), "{err}");
    }
}
