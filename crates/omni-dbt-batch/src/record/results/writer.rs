//! `ResultsWriter`: appends each row's final record to the results file and each intent to its
//! journal, the moment they are known.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::claim::ResultsClaim;
use super::codec::{is_csv_header, missing_header_message, Encoder, CSV_HEADER};
use super::compact::{finish, FinishReport};
use super::files::{remove_if_exists, AppendFile, Opening};
use super::journal::{journal_path, Intent, JournalWriter};
use super::scan::RecordScanner;
use super::{Format, ResultsError};
use crate::record::RowRecord;

/// What to do with a results file left by an earlier run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ResultsMode {
    /// Start a new file; refuse if the file or its journal exists ([`ResultsError::Exists`]).
    #[default]
    New,
    /// Start over: empty the file and delete its journal (`--force`).
    Force,
    /// Continue an earlier run (`--resume`): keep its records and journal and append after them,
    /// dropping a last record cut short by a crash. A missing file is started anew.
    Resume,
}

/// Appends final records to a results file and intents to its journal (`<path>.journal`).
///
/// Every [`record`](Self::record) and [`intend`](Self::intend) is one `write` of whole lines
/// straight to the OS (no user-space buffer, no fsync), so a process killed at any instant loses
/// nothing it was told. Records may come in any row order and a row may be recorded more than
/// once: the last record of a row counts. [`finish`](Self::finish) then rewrites the file in row
/// order, one record per row, and deletes the journal.
///
/// The writer is `Send` and each call costs one small write (well beyond 10,000 records/s).
/// To share it between tasks, wrap it in a mutex: [`ResultsSink`](super::ResultsSink) does.
#[derive(Debug)]
pub(crate) struct ResultsWriter {
    claim: ResultsClaim,
    format: Format,
    results: AppendFile,
    journal: JournalWriter,
    journal_path: PathBuf,
    encoder: Encoder,
}

impl ResultsWriter {
    /// Checks, creating nothing, that a results file can be opened at `path` as `mode` says:
    /// it is not a directory, its extension names a format, and a new run finds neither the
    /// file nor its journal.
    /// Lets a run refuse early and still open the file only once its plan is known to be good.
    pub(crate) fn preflight(path: &Path, mode: ResultsMode) -> Result<Format, ResultsError> {
        // A directory "exists" too: say what it is before suggesting --resume or --force.
        if path.is_dir() {
            return Err(ResultsError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        let format = super::format_of(path)?;
        if mode == ResultsMode::New {
            for existing in [path.to_path_buf(), journal_path(path)] {
                if existing.exists() {
                    return Err(ResultsError::Exists { path: existing });
                }
            }
        }
        Ok(format)
    }

    /// Claims the results file at `path` ([`ResultsClaim::new`]: its lock, with no input to
    /// protect) and opens it as [`open`](Self::open) does.
    #[allow(
        dead_code,
        reason = "for commands whose results protect no input file; the run claims first"
    )]
    pub(crate) fn create(
        path: impl Into<PathBuf>,
        format: Format,
        mode: ResultsMode,
    ) -> Result<Self, ResultsError> {
        let path: PathBuf = path.into();
        Self::open(ResultsClaim::new(&path, &[])?, format, mode)
    }

    /// Opens the claimed results file (records in `format`) and its journal, as `mode` says;
    /// the writer keeps the claim, and with it the lock, until it is finished or dropped.
    ///
    /// A new or emptied CSV file gets its header at once. Resuming checks that an existing CSV
    /// file starts with the header ([`ResultsError::Corrupt`] otherwise).
    pub(crate) fn open(
        claim: ResultsClaim,
        format: Format,
        mode: ResultsMode,
    ) -> Result<Self, ResultsError> {
        let path = claim.path().to_path_buf();
        let journal_path = journal_path(&path);
        let (results, journal) = match mode {
            ResultsMode::New => {
                if journal_path.exists() {
                    return Err(ResultsError::Exists { path: journal_path });
                }
                (Opening::CreateNew, Opening::CreateNew)
            }
            ResultsMode::Force => {
                remove_if_exists(&journal_path)?;
                (Opening::Truncate, Opening::Truncate)
            }
            ResultsMode::Resume => (Opening::Continue, Opening::Continue),
        };
        let mut results = AppendFile::open(&path, format, results, "results file")?;
        if format == Format::Csv {
            if results.len() == 0 {
                results.append(CSV_HEADER.as_bytes())?;
            } else {
                check_csv_header(&path)?;
            }
        }
        let journal = JournalWriter::open(&journal_path, journal)?;
        Ok(Self {
            claim,
            format,
            results,
            journal,
            journal_path,
            encoder: Encoder::new(format),
        })
    }

    /// Appends the final record of a row. An empty `error` is written as absent.
    ///
    /// The caller is responsible for `error` holding no secret value.
    pub(crate) fn record(&mut self, record: &RowRecord) -> Result<(), ResultsError> {
        let bytes = self
            .encoder
            .encode(record)
            .map_err(|message| ResultsError::Encode {
                path: self.results.path().to_path_buf(),
                message,
            })?;
        self.results.append(bytes)
    }

    /// Appends an intent to the journal. Call it, and let it succeed, before sending the request.
    pub(crate) fn intend(&mut self, intent: &Intent) -> Result<(), ResultsError> {
        self.journal.append(intent, self.results.len())
    }

    /// Ends a completed run: compacts the file (one record per row, the last written wins,
    /// sorted by row; replaced atomically and fsynced, or left as is when already so) and
    /// deletes the journal.
    ///
    /// An intent with no record after it (a row still in flight) is kept in the journal for a
    /// later `--resume`, and reported in [`FinishReport::in_flight`].
    pub(crate) fn finish(self) -> Result<FinishReport, ResultsError> {
        let Self {
            claim,
            format,
            results,
            journal,
            journal_path,
            ..
        } = self;
        let path = results.path().to_path_buf();
        drop(results);
        drop(journal);
        let report = finish(&path, format, &journal_path);
        // The lock outlives compaction, whose renames replace the results file and journal.
        drop(claim);
        report
    }

    /// The results file's path.
    pub(crate) fn path(&self) -> &Path {
        self.results.path()
    }
}

/// Checks that an existing CSV results file starts with the header, so that appending to it
/// makes a readable file.
fn check_csv_header(path: &Path) -> Result<(), ResultsError> {
    let file = File::open(path).map_err(|e| ResultsError::io("open", path, e))?;
    let mut scanner = RecordScanner::new(BufReader::new(file), Format::Csv);
    let mut line = 1;
    while let Some(raw) = scanner
        .next_record()
        .map_err(|e| ResultsError::io("read", path, e))?
    {
        if raw.is_blank() {
            continue;
        }
        if is_csv_header(raw.bytes) {
            return Ok(());
        }
        line = raw.line;
        break;
    }
    Err(ResultsError::Corrupt {
        path: path.to_path_buf(),
        line,
        message: missing_header_message(),
    })
}

#[cfg(test)]
mod tests;
