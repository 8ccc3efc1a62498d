//! The run's results file as undo reads it: the environments it records as `created`, each
//! with the row that created it; anything that is not a finished run's results file refused.

use std::path::Path;

use omni_dbt_core::{ConnectionId, EnvironmentId};

use crate::error::RunError;
use crate::execute::job::RowKey;
use crate::plan::deletions::Deletion;
use crate::record::fingerprint::fingerprint_delete;
use crate::record::kind::RecordKind;
use crate::record::results::{format_of, journal_path, ResultsError, ResultsReader, ResumeState};
use crate::record::{RowRecord, Status};
use crate::undo::UndoRefused;

/// A record of `created`, with what deleting its environment takes.
#[derive(Clone, Debug)]
pub(crate) struct Created {
    /// The record, as the run wrote it.
    pub(crate) record: RowRecord,
    /// Deleting its environment.
    pub(crate) deletion: Deletion,
}

/// Reads the results file at `path`: the last record of each row, kept when it is `created`,
/// in row order. Refuses a missing file, a file that is not a run's results (naming the line),
/// an undo's results file, and a run that left requests in flight.
pub(crate) fn read_created(path: &Path) -> Result<Vec<Created>, RunError> {
    let not_results = |line, message: String| UndoRefused::NotResults {
        path: path.to_path_buf(),
        line,
        message,
    };
    if !path.is_file() {
        return Err(UndoRefused::Missing {
            path: path.to_path_buf(),
        }
        .into());
    }
    let format = format_of(path)?;
    let mut created = std::collections::BTreeMap::new();
    let mut reader = ResultsReader::open(path, format).map_err(|e| refusal(path, e))?;
    while let Some(located) = reader.next_located().map_err(|e| refusal(path, e))? {
        let record = located.record;
        match RecordKind::of(&record) {
            RecordKind::Undone => {
                return Err(UndoRefused::UndoFile {
                    path: path.to_path_buf(),
                    line: located.line,
                }
                .into())
            }
            RecordKind::Pruned => continue,
            RecordKind::InputRow => {}
        }
        if record.status != Status::Created {
            created.remove(&record.row);
            continue;
        }
        let deletion = deletion(&record).map_err(|message| not_results(located.line, message))?;
        created.insert(record.row, Created { record, deletion });
    }
    let state = ResumeState::load(path, format).map_err(|e| refusal(path, e))?;
    if state.has_in_flight() {
        return Err(UndoRefused::InFlight {
            path: path.to_path_buf(),
            journal: journal_path(path),
        }
        .into());
    }
    Ok(created.into_values().collect())
}

/// What deleting the environment of a `created` record takes.
fn deletion(record: &RowRecord) -> Result<Deletion, String> {
    let id: EnvironmentId = record
        .environment_id
        .ok_or("a created row without an environment_id")?;
    let connection: ConnectionId = record
        .connection_id
        .parse()
        .map_err(|_| format!("connection_id {:?} is not a UUID", record.connection_id))?;
    Ok(Deletion {
        key: RowKey {
            row: record.row,
            line: record.line,
            connection_id: record.connection_id.clone(),
            name: record.name.clone(),
            fingerprint: fingerprint_delete(&connection, &id),
        },
        connection,
        id,
    })
}

/// A results-file error: an unreadable record is a refusal to undo naming the file and line.
fn refusal(path: &Path, error: ResultsError) -> RunError {
    match error {
        ResultsError::Corrupt { line, message, .. } => UndoRefused::NotResults {
            path: path.to_path_buf(),
            line,
            message,
        }
        .into(),
        ResultsError::CorruptJournal { line, message, .. } => UndoRefused::NotResults {
            path: journal_path(path),
            line,
            message,
        }
        .into(),
        other => RunError::Results(other),
    }
}
