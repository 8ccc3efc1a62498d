//! Reading the shards' results files into one index: where each row's last record sits, with
//! what the checks compare (its input line, connection, a hash of its name), in 56 bytes a row.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use omni_dbt_core::EnvironmentId;

use super::MergeError;
use crate::plan::listing::name_key;
use crate::record::kind::RecordKind;
use crate::record::results::{
    format_of, journal_path, Format, ResultsError, ResultsReader, ResumeState,
};
use crate::record::{RowRecord, Status};

/// Where one row's record sits in one of the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The row.
    pub(crate) row: u64,
    /// Its line in the input.
    pub(crate) line: u64,
    /// Which file (index into [`Index::paths`]).
    pub(crate) file: u32,
    /// Its connection (index into [`Index::connections`]).
    pub(crate) connection: u32,
    /// A hash of its trimmed name.
    pub(crate) name_hash: u64,
    /// Where the record starts in its file, and its length.
    pub(crate) offset: u64,
    /// The record's length in bytes.
    pub(crate) len: u64,
    /// The line of the results file where the record starts.
    pub(crate) at: u64,
}

/// Where one pruned environment's record sits.
#[derive(Clone, Debug)]
pub(crate) struct PrunedEntry {
    pub(crate) id: EnvironmentId,
    pub(crate) connection_id: String,
    pub(crate) name: String,
    pub(crate) status: Status,
    pub(crate) file: u32,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) at: u64,
}

/// Every file's records, the last of each row per file.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// The files, with their formats.
    pub(crate) paths: Vec<(PathBuf, Format)>,
    /// Each file's rows, sorted by row then file.
    pub(crate) entries: Vec<Entry>,
    /// Each file's pruned environments.
    pub(crate) pruned: Vec<PrunedEntry>,
    /// Connection ids as recorded, interned.
    pub(crate) connections: Vec<String>,
}

impl Index {
    /// `FILE:LINE` of a record of file `file`.
    pub(crate) fn place(&self, file: u32, at: u64) -> String {
        let path = self
            .paths
            .get(file as usize)
            .map_or_else(String::new, |(path, _)| path.display().to_string());
        format!("{path}:{at}")
    }
}

/// A hash of a name as rows are matched by it (trimmed), to compare names without keeping them.
pub(crate) fn name_hash(name: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    name_key(name).hash(&mut hasher);
    hasher.finish()
}

/// Reads every file of `paths` into an index.
pub(crate) fn build(paths: &[PathBuf]) -> Result<Index, MergeError> {
    let mut index = Index::default();
    let mut interned: HashMap<String, u32> = HashMap::new();
    for (number, path) in paths.iter().enumerate() {
        let file = u32::try_from(number).unwrap_or(u32::MAX);
        let format = read_file(path, file, &mut index, &mut interned)?;
        index.paths.push((path.clone(), format));
    }
    index.entries.sort_by_key(|entry| (entry.row, entry.file));
    Ok(index)
}

/// Adds the records of one file, the last of each row (and of each pruned environment).
fn read_file(
    path: &Path,
    file: u32,
    index: &mut Index,
    interned: &mut HashMap<String, u32>,
) -> Result<Format, MergeError> {
    if !path.is_file() {
        return Err(MergeError::Missing {
            path: path.to_path_buf(),
        });
    }
    let format = format_of(path)?;
    let mut reader = ResultsReader::open(path, format)?;
    let mut rows: Vec<Entry> = Vec::new();
    let mut pruned: HashMap<EnvironmentId, PrunedEntry> = HashMap::new();
    while let Some(located) = reader.next_located().map_err(|e| not_results(path, e))? {
        let record = located.record;
        match RecordKind::of(&record) {
            RecordKind::Undone => {
                return Err(MergeError::UndoFile {
                    path: path.to_path_buf(),
                    line: located.line,
                })
            }
            RecordKind::Pruned => {
                let entry = pruned_entry(record, file, located.offset, located.len, located.line);
                pruned.insert(entry.id, entry);
            }
            RecordKind::InputRow => rows.push(Entry {
                row: record.row,
                line: record.line,
                file,
                connection: intern(interned, &mut index.connections, record.connection_id),
                name_hash: name_hash(&record.name),
                offset: located.offset,
                len: located.len,
                at: located.line,
            }),
        }
    }
    if ResumeState::load(path, format)
        .map_err(|e| not_results(path, e))?
        .has_in_flight()
    {
        return Err(MergeError::InFlight {
            path: path.to_path_buf(),
            journal: journal_path(path),
        });
    }
    // The last record of a row wins, as in the run that wrote the file.
    rows.sort_by_key(|entry| (entry.row, std::cmp::Reverse(entry.offset)));
    rows.dedup_by_key(|entry| entry.row);
    index.entries.extend(rows);
    index.pruned.extend(pruned.into_values());
    Ok(format)
}

fn pruned_entry(record: RowRecord, file: u32, offset: u64, len: u64, at: u64) -> PrunedEntry {
    // The reader refuses a record with neither row nor environment id, so the id is there.
    PrunedEntry {
        id: record
            .environment_id
            .unwrap_or(EnvironmentId::new(uuid::Uuid::nil())),
        connection_id: record.connection_id,
        name: record.name,
        status: record.status,
        file,
        offset,
        len,
        at,
    }
}

fn intern(interned: &mut HashMap<String, u32>, all: &mut Vec<String>, connection: String) -> u32 {
    if let Some(&number) = interned.get(&connection) {
        return number;
    }
    let number = u32::try_from(all.len()).unwrap_or(u32::MAX);
    all.push(connection.clone());
    interned.insert(connection, number);
    number
}

/// An unreadable record: the file is not a run's results file.
fn not_results(path: &Path, error: ResultsError) -> MergeError {
    match error {
        ResultsError::Corrupt { line, message, .. } => MergeError::NotResults {
            path: path.to_path_buf(),
            line,
            message,
        },
        other => MergeError::Results(other),
    }
}
