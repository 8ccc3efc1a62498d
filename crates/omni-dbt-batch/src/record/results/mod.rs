//! The results file: one final record per input row, appended the moment it is known, with an
//! intent journal beside it, compacted at the end of a run and read back for `--resume`.
//!
//! # Exactly once
//! Before a create or update is sent, [`ResultsWriter::intend`] appends an [`Intent`] to the
//! journal `<results>.journal`; when the row's outcome is known, [`ResultsWriter::record`] appends
//! its [`RowRecord`](crate::record::RowRecord) to the results file. Both are one `write` each,
//! handed to the OS before the call returns, so `kill -9` at any instant loses nothing but a
//! partial last line, which readers ignore and [`ResultsMode::Resume`] truncates. On `--resume`,
//! [`ResumeState::load`] reports each row's last record and the rows whose intent has no record
//! after it ([`PriorRow::in_flight`]): those may have been applied, so the caller looks them up
//! before sending them again. [`ResultsWriter::finish`] leaves one record per row in row order
//! and deletes the journal.
//!
//! # One writer
//! A writer holds a [`ResultsClaim`]: the path was checked (not a directory, not an input) and
//! `<results>.lock` is locked for this process until the writer is finished or dropped, so a
//! second process refuses to start on the same file, whatever its flags.
//!
//! # Formats
//! The columns are [`COLUMNS`], in that order. CSV has a header row and leaves absent values
//! empty; JSONL has one object per line with every column as a key and absent values as `null`.

mod claim;
mod codec;
mod compact;
mod copy;
mod error;
mod files;
mod format;
mod journal;
mod lock;
mod reader;
mod resume;
mod scan;
mod sink;
mod slot;
mod writer;

#[cfg(test)]
mod props;

pub(crate) use claim::ResultsClaim;
pub use codec::COLUMNS;
pub(crate) use compact::FinishReport;
pub(crate) use copy::{RecordSource, ResultsOutput};
pub use error::ResultsError;
pub(crate) use files::Replacement;
pub(crate) use format::{format_of, Format};
pub(crate) use journal::{journal_path, Intent, IntentOp};
pub use lock::LockHolder;
pub(crate) use lock::ResultsLock;
pub use reader::ResultsReader;
pub(crate) use resume::{PriorRow, ResumeState};
pub(crate) use sink::ResultsSink;
pub use writer::ResultsMode;
pub(crate) use writer::ResultsWriter;

#[cfg(test)]
mod tests {
    #[test]
    fn a_stopped_run_resumes_and_compacts_in_row_order() -> Result<(), Box<dyn std::error::Error>> {
        use crate::record::results::{format_of, ResultsMode, ResultsWriter, ResumeState};
        use crate::record::{RowRecord, Status};

        let dir = tempfile::tempdir()?;
        let path = dir.path().join("envs.results.jsonl");
        let record = |row: u64, status| RowRecord {
            row,
            line: row + 1,
            connection_id: "conn".into(),
            name: format!("env-{row}"),
            status,
            environment_id: None,
            attempts: 1,
            http_status: None,
            error_kind: None,
            error: None,
            fingerprint: "f".into(),
        };

        let format = format_of(&path)?;
        let mut writer = ResultsWriter::create(&path, format, ResultsMode::New)?;
        writer.record(&record(2, Status::Skipped))?;
        writer.record(&record(1, Status::Exists))?;
        drop(writer); // the run stops early

        let state = ResumeState::load(&path, format)?;
        assert_eq!(
            state.get(2).and_then(|prior| prior.status),
            Some(Status::Skipped)
        );

        let mut writer = ResultsWriter::create(&path, format, ResultsMode::Resume)?;
        writer.record(&record(2, Status::Exists))?;
        let report = writer.finish()?;
        assert!(report.rewritten);
        let text = std::fs::read_to_string(&path)?;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(
            r#"{"row":1,"line":2,"connection_id":"conn","name":"env-1","status":"exists""#
        ));
        assert!(lines[1].contains(r#""status":"exists""#));
        Ok(())
    }
}
