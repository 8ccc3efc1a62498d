//! Compaction at the end of a run: the results file rewritten with one record per row (the last
//! written wins) in row order, then one per pruned environment (by connection, then name),
//! swapped in atomically, and the journal retired.
//!
//! Memory follows the number of rows, not the file size: the index keeps 24 bytes per record
//! (row, offset, length) and is de-duplicated as it grows, then records are copied in row order.
//! Pruned environments, few by nature (`--max-deletes`), are indexed with their names.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use std::collections::HashMap;

use omni_dbt_core::EnvironmentId;

use super::codec::CSV_HEADER;
use super::files::Replacement;
use super::journal::{self, JournalEntry, JournalReader};
use super::reader::ResultsReader;
use super::slot::Slot;
use super::{Format, ResultsError};

/// What [`ResultsWriter::finish`](super::ResultsWriter::finish) did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FinishReport {
    /// The results file.
    pub path: PathBuf,
    /// How many rows the file now holds (one record each).
    pub rows: u64,
    /// Whether the file had to be rewritten (it was out of row order or had repeats).
    pub rewritten: bool,
    /// Entries whose last intent has no final record after it, rows first: requests that may
    /// have been applied. Their intents stay in the journal for `--resume`; empty after a
    /// completed run.
    pub in_flight: Vec<Slot>,
}

/// Where the record of one row sits in the results file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IndexEntry {
    row: u64,
    offset: u64,
    len: u64,
}

/// Where the record of one pruned environment sits, with what orders it in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PrunedEntry {
    connection_id: String,
    name: String,
    id: EnvironmentId,
    offset: u64,
    len: u64,
}

impl PrunedEntry {
    fn order(&self) -> (&str, &str, EnvironmentId) {
        (&self.connection_id, &self.name, self.id)
    }
}

/// The records of a results file, by row, then by pruned environment.
#[derive(Debug)]
struct Index {
    /// After [`build_index`]: the last record of each row, sorted by row.
    entries: Vec<IndexEntry>,
    /// After [`build_index`]: the last record of each pruned environment, by connection and name.
    pruned: Vec<PrunedEntry>,
    /// Whether the file already held one record per entry, in order, and nothing else.
    in_order: bool,
}

impl Index {
    /// Where the last record of `slot` starts, if it has one.
    fn offset_of(&self, slot: Slot) -> Option<u64> {
        match slot {
            Slot::Row(row) => self
                .entries
                .binary_search_by_key(&row, |entry| entry.row)
                .ok()
                .and_then(|i| self.entries.get(i))
                .map(|entry| entry.offset),
            Slot::Pruned(id) => self
                .pruned
                .iter()
                .find(|entry| entry.id == id)
                .map(|entry| entry.offset),
        }
    }

    /// How many entries the file holds once compacted.
    fn len(&self) -> u64 {
        (self.entries.len() + self.pruned.len()) as u64
    }
}

/// Compacts the results file at `path` and retires the journal at `journal_path`.
///
/// The order of the steps keeps every crash point safe: the journal is rewritten (or removed)
/// before the new results file is renamed into place, and the intents it keeps are marked with
/// the larger of the old and new file lengths, so that no record of either file can settle them;
/// once the new file is in place, they are marked with its length, where the next run appends.
pub(crate) fn finish(
    path: &Path,
    format: Format,
    journal_path: &Path,
) -> Result<FinishReport, ResultsError> {
    let old_len = std::fs::metadata(path)
        .map_err(|e| ResultsError::io("read", path, e))?
        .len();
    let index = build_index(path, format)?;
    let unsettled = unsettled_intents(journal_path, &index)?;
    let (replacement, new_len) = if index.in_order {
        (None, old_len)
    } else {
        let (replacement, new_len) = write_in_row_order(path, format, &index)?;
        (Some(replacement), new_len)
    };
    journal::rewrite(
        journal_path,
        unsettled.values().map(|entry| &entry.intent),
        old_len.max(new_len),
    )?;
    if let Some(replacement) = replacement {
        replacement.commit()?;
        if new_len < old_len && !unsettled.is_empty() {
            // The shorter file is in place: the next run appends from `new_len`, and its records
            // must settle these intents. A crash before this leaves the larger mark, which only
            // keeps them in doubt longer (looked up again), never settled by mistake.
            journal::rewrite(
                journal_path,
                unsettled.values().map(|entry| &entry.intent),
                new_len,
            )?;
        }
    }
    let in_flight: Vec<Slot> = unsettled.into_keys().collect();
    if !in_flight.is_empty() {
        tracing::warn!(
            journal = %journal_path.display(),
            rows = ?in_flight,
            "rows were still in flight when the run ended; their intents stay in the journal \
             and --resume will check them against Omni",
        );
    }
    Ok(FinishReport {
        path: path.to_path_buf(),
        rows: index.len(),
        rewritten: !index.in_order,
        in_flight,
    })
}

/// Indexes the last record of each row and of each pruned environment.
fn build_index(path: &Path, format: Format) -> Result<Index, ResultsError> {
    let mut reader = ResultsReader::open(path, format)?;
    let mut entries = Vec::new();
    let mut pruned: HashMap<EnvironmentId, PrunedEntry> = HashMap::new();
    let mut in_order = true;
    let mut last_pruned: Option<PrunedEntry> = None;
    let mut next_dedup = 1 << 16;
    while let Some(located) = reader.next_located()? {
        match Slot::of_record(&located.record) {
            Slot::Row(row) => {
                in_order &= pruned.is_empty()
                    && entries
                        .last()
                        .is_none_or(|last: &IndexEntry| last.row < row);
                entries.push(IndexEntry {
                    row,
                    offset: located.offset,
                    len: located.len,
                });
            }
            Slot::Pruned(id) => {
                let entry = PrunedEntry {
                    connection_id: located.record.connection_id,
                    name: located.record.name,
                    id,
                    offset: located.offset,
                    len: located.len,
                };
                in_order &= last_pruned
                    .as_ref()
                    .is_none_or(|last| last.order() < entry.order());
                last_pruned = Some(entry.clone());
                pruned.insert(id, entry);
            }
        }
        if entries.len() >= next_dedup {
            keep_last_per_row(&mut entries);
            next_dedup = (entries.len() * 2).max(1 << 16);
        }
    }
    in_order &= !reader.ended_torn();
    if !in_order {
        keep_last_per_row(&mut entries);
    }
    let mut pruned: Vec<PrunedEntry> = pruned.into_values().collect();
    pruned.sort_by(|a, b| a.order().cmp(&b.order()));
    Ok(Index {
        entries,
        pruned,
        in_order,
    })
}

/// Sorts by row and keeps, for each row, the record written last (the largest offset).
fn keep_last_per_row(entries: &mut Vec<IndexEntry>) {
    entries.sort_unstable_by_key(|entry| (entry.row, Reverse(entry.offset)));
    entries.dedup_by_key(|entry| entry.row);
}

/// The last intent of each entry that no later record settles, by slot.
fn unsettled_intents(
    journal_path: &Path,
    index: &Index,
) -> Result<BTreeMap<Slot, JournalEntry>, ResultsError> {
    let mut unsettled = BTreeMap::new();
    let Some(mut journal) = JournalReader::open(journal_path)? else {
        return Ok(unsettled);
    };
    while let Some(entry) = journal.next_entry()? {
        let settled = index
            .offset_of(entry.slot)
            .is_some_and(|offset| offset >= entry.results_offset);
        if settled {
            unsettled.remove(&entry.slot);
        } else {
            unsettled.insert(entry.slot, entry);
        }
    }
    Ok(unsettled)
}

/// Writes the indexed records in row order into a replacement of `path`; returns it (not yet
/// committed) and its length.
fn write_in_row_order(
    path: &Path,
    format: Format,
    index: &Index,
) -> Result<(Replacement, u64), ResultsError> {
    let rewrite_error = |e: std::io::Error| ResultsError::io("rewrite", path, e);
    let mut source = File::open(path).map_err(|e| ResultsError::io("open", path, e))?;
    let mut replacement = Replacement::new(path)?;
    let mut out = BufWriter::new(replacement.file());
    let mut written = 0u64;
    if format == Format::Csv {
        out.write_all(CSV_HEADER.as_bytes())
            .map_err(rewrite_error)?;
        written += CSV_HEADER.len() as u64;
    }
    let mut position = 0u64;
    let mut buf = Vec::new();
    let places = index
        .entries
        .iter()
        .map(|entry| (entry.offset, entry.len))
        .chain(index.pruned.iter().map(|entry| (entry.offset, entry.len)));
    for (offset, len) in places {
        if position != offset {
            source
                .seek(SeekFrom::Start(offset))
                .map_err(|e| ResultsError::io("read", path, e))?;
        }
        let len_in_memory = usize::try_from(len).map_err(|_| ResultsError::Corrupt {
            path: path.to_path_buf(),
            line: 0,
            message: "a record too large for memory".to_owned(),
        })?;
        buf.resize(len_in_memory, 0);
        source
            .read_exact(&mut buf)
            .map_err(|e| ResultsError::io("read", path, e))?;
        out.write_all(&buf).map_err(rewrite_error)?;
        position = offset + len;
        written += len;
    }
    out.flush().map_err(rewrite_error)?;
    drop(out);
    Ok((replacement, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_last_per_row_keeps_the_largest_offset_and_sorts() {
        let entry = |row, offset| IndexEntry {
            row,
            offset,
            len: 1,
        };
        let mut entries = vec![
            entry(3, 0),
            entry(1, 10),
            entry(3, 20),
            entry(2, 30),
            entry(1, 40),
        ];
        keep_last_per_row(&mut entries);
        assert_eq!(entries, vec![entry(1, 40), entry(2, 30), entry(3, 20)]);
    }
}
