//! The checks that the files are the shards of one input, and that no row has two outcomes:
//! the row each file records must mean the same row, and the same outcome, wherever it repeats.

use std::collections::HashMap;

use super::index::{Entry, Index, PrunedEntry};
use super::MergeError;
use crate::record::results::RecordSource;
use crate::record::RowRecord;

/// The rows to write, one entry each, in row order; the pruned environments, one each, by
/// connection then name.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    pub(crate) rows: Vec<Entry>,
    pub(crate) pruned: Vec<PrunedEntry>,
}

/// Checks the index and keeps one record per row and per pruned environment.
///
/// - A row recorded by several files must be the same row (same input line, connection, name
///   and fingerprint) with the same outcome (status, environment id, error kind).
/// - Rows in order must have their input lines in order: one input's rows never go back.
/// - Every row of a connection must be recorded by the same files: shards split an input by
///   connection, so two files sharing a connection hold the same rows of it, or are not shards
///   of one input.
pub(crate) fn check(index: &Index, source: &mut RecordSource) -> Result<Merged, MergeError> {
    let mut merged = Merged::default();
    let mut files_of_connection: HashMap<u32, (Vec<u32>, Entry)> = HashMap::new();
    let mut i = 0;
    while let Some(first) = index.entries.get(i).copied() {
        let group: Vec<Entry> = index.entries[i..]
            .iter()
            .take_while(|entry| entry.row == first.row)
            .copied()
            .collect();
        i += group.len();
        for other in &group[1..] {
            same_row(index, source, &first, other)?;
        }
        if let Some(previous) = merged.rows.last() {
            if first.line <= previous.line {
                return Err(MergeError::DifferentInputs {
                    first: index.place(previous.file, previous.at),
                    second: index.place(first.file, first.at),
                    reason: format!(
                        "row {} starts on input line {} but the later row {} on line {}",
                        previous.row, previous.line, first.row, first.line
                    ),
                });
            }
        }
        let files: Vec<u32> = group.iter().map(|entry| entry.file).collect();
        match files_of_connection.get(&first.connection) {
            Some((expected, seen)) if *expected != files => {
                return Err(MergeError::DifferentInputs {
                    first: index.place(seen.file, seen.at),
                    second: index.place(first.file, first.at),
                    reason: format!(
                        "connection {} has rows in files that do not record the same rows of it \
                         (shards of one input never split a connection)",
                        index.connections[first.connection as usize]
                    ),
                });
            }
            Some(_) => {}
            None => {
                files_of_connection.insert(first.connection, (files, first));
            }
        }
        merged.rows.push(first);
    }
    merged.pruned = one_per_environment(index)?;
    Ok(merged)
}

/// Checks that `other` records the same row as `first`, with the same outcome.
fn same_row(
    index: &Index,
    source: &mut RecordSource,
    first: &Entry,
    other: &Entry,
) -> Result<(), MergeError> {
    let a = source.read(first.file as usize, first.offset, first.len)?;
    let b = source.read(other.file as usize, other.offset, other.len)?;
    let (first_place, second_place) = (
        index.place(first.file, first.at),
        index.place(other.file, other.at),
    );
    let identity = |r: &RowRecord| {
        (
            r.line,
            r.connection_id.clone(),
            r.name.clone(),
            r.fingerprint.clone(),
        )
    };
    if identity(&a) != identity(&b) {
        return Err(MergeError::DifferentInputs {
            first: first_place,
            second: second_place,
            reason: format!(
                "row {} is line {} ({:?} in {}) in one and line {} ({:?} in {}) in the other, \
                 or its request differs",
                a.row, a.line, a.name, a.connection_id, b.line, b.name, b.connection_id
            ),
        });
    }
    if outcome(&a) != outcome(&b) {
        return Err(MergeError::Conflict {
            row: a.row,
            first: first_place,
            second: second_place,
            first_outcome: outcome(&a),
            second_outcome: outcome(&b),
        });
    }
    Ok(())
}

/// A record's outcome, as compared between files and shown in a conflict.
fn outcome(record: &RowRecord) -> String {
    let id = record
        .environment_id
        .map_or_else(String::new, |id| format!(" {id}"));
    let kind = record
        .error_kind
        .map_or_else(String::new, |kind| format!(" ({kind})"));
    format!("{}{id}{kind}", record.status)
}

/// One record per pruned environment: the same one in several files must agree.
fn one_per_environment(index: &Index) -> Result<Vec<PrunedEntry>, MergeError> {
    let mut by_id: HashMap<_, PrunedEntry> = HashMap::new();
    for entry in &index.pruned {
        match by_id.get(&entry.id) {
            Some(kept) if kept.status != entry.status => {
                return Err(MergeError::Conflict {
                    row: 0,
                    first: index.place(kept.file, kept.at),
                    second: index.place(entry.file, entry.at),
                    first_outcome: format!("{} {}", kept.status, kept.id),
                    second_outcome: format!("{} {}", entry.status, entry.id),
                });
            }
            Some(_) => {}
            None => {
                by_id.insert(entry.id, entry.clone());
            }
        }
    }
    let mut pruned: Vec<PrunedEntry> = by_id.into_values().collect();
    pruned
        .sort_by(|a, b| (&a.connection_id, &a.name, a.id).cmp(&(&b.connection_id, &b.name, b.id)));
    Ok(pruned)
}
