//! `ResumeState`: what an earlier run recorded for each row, read back for `--resume`.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use omni_dbt_core::EnvironmentId;

use super::journal::{journal_path, Intent, JournalReader};
use super::reader::ResultsReader;
use super::slot::Slot;
use super::{Format, ResultsError};
use crate::record::{RowRecord, Status};

/// A request fingerprint as recorded, stored compactly: 16 bytes when it is 32 lowercase hex
/// digits (a 128-bit hash), the text itself otherwise.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Fingerprint {
    /// A 128-bit digest written as 32 lowercase hex digits.
    Digest([u8; 16]),
    /// Any other spelling, kept as written.
    Text(Box<str>),
}

impl Fingerprint {
    /// Stores `text` in its compact form.
    pub(crate) fn parse(text: &str) -> Self {
        Self::digest(text).map_or_else(|| Self::Text(text.into()), Self::Digest)
    }

    /// Whether `text` is this fingerprint.
    pub(crate) fn matches(&self, text: &str) -> bool {
        match self {
            Self::Digest(bytes) => Self::digest(text).as_ref() == Some(bytes),
            Self::Text(own) => **own == *text,
        }
    }

    fn digest(text: &str) -> Option<[u8; 16]> {
        let hex = text.as_bytes();
        if hex.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(bytes)
    }
}

/// The value of one lowercase hex digit.
fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Digest(bytes) => bytes.iter().try_for_each(|byte| write!(f, "{byte:02x}")),
            Self::Text(text) => f.write_str(text),
        }
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// What an earlier run knew about one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PriorRow {
    /// The status of the row's last final record; `None` if it has only an intent.
    pub status: Option<Status>,
    /// The environment id of the last final record.
    pub environment_id: Option<EnvironmentId>,
    /// Requests made for the row, per the last final record (0 without one).
    pub attempts: u32,
    /// The fingerprint of the latest request made or recorded for the row: the in-flight
    /// intent's when `in_flight`, the last final record's otherwise.
    pub fingerprint: Fingerprint,
    /// An intent was written for the row and no final record came after it: its request may or
    /// may not have been applied, so look the environment up before sending it again (see
    /// [`ResumeState::intent`]).
    pub in_flight: bool,
}

impl PriorPruned {
    fn from_record(record: RowRecord) -> Self {
        Self {
            connection_id: record.connection_id.clone(),
            name: record.name.clone(),
            prior: PriorRow::from_record(record),
        }
    }
}

/// Marks the pruned environment `id` in flight, keeping its last record if it has one.
fn mark_pruned_in_flight(
    pruned: &mut HashMap<EnvironmentId, PriorPruned>,
    id: EnvironmentId,
    intent: Intent,
) {
    let prior = PriorRow::in_flight(&intent);
    pruned
        .entry(id)
        .and_modify(|known| {
            known.prior.in_flight = true;
            known.prior.fingerprint = prior.fingerprint.clone();
        })
        .or_insert(PriorPruned {
            connection_id: intent.connection_id,
            name: intent.name,
            prior,
        });
}

impl PriorRow {
    /// A row known only by its intent: sent, or about to be, with no outcome recorded.
    fn in_flight(intent: &Intent) -> Self {
        Self {
            status: None,
            environment_id: intent.environment_id,
            attempts: 0,
            fingerprint: Fingerprint::parse(&intent.fingerprint),
            in_flight: true,
        }
    }

    fn from_record(record: RowRecord) -> Self {
        Self {
            status: Some(record.status),
            environment_id: record.environment_id,
            attempts: record.attempts,
            fingerprint: Fingerprint::parse(&record.fingerprint),
            in_flight: false,
        }
    }

    /// Whether the row is settled with an environment in place (created, exists, updated or
    /// unchanged) and nothing is in flight: `--resume` need not touch it.
    pub(crate) fn succeeded(&self) -> bool {
        !self.in_flight && self.status.is_some_and(Status::is_success)
    }
}

/// What an earlier run knew about an environment it pruned, or was pruning when it stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PriorPruned {
    /// The environment's connection, as recorded.
    pub connection_id: String,
    /// Its name, as recorded.
    pub name: String,
    /// Its last record, or its intent in flight.
    pub prior: PriorRow,
}

/// The rows of an earlier run, for `--resume`: the last final record of each row from the
/// results file, and the rows left in flight from its journal; likewise for the environments
/// it pruned, by id.
#[derive(Clone, Debug, Default)]
pub(crate) struct ResumeState {
    /// Sorted by row, one entry per row: 56 bytes a row, no hash table slack.
    rows: Vec<(u64, PriorRow)>,
    in_flight: HashMap<u64, Intent>,
    pruned: HashMap<EnvironmentId, PriorPruned>,
}

impl ResumeState {
    /// Reads the results file at `path` (in `format`) and its journal. A missing file or
    /// journal reads as empty; a torn last record or journal line is ignored.
    ///
    /// An unreadable record is [`ResultsError::Corrupt`], naming the file and line.
    pub(crate) fn load(path: impl AsRef<Path>, format: Format) -> Result<Self, ResultsError> {
        let path = path.as_ref();
        let journal_path = journal_path(path);
        // Pass 1: the offset of each entry's last intent (about 40 bytes per journaled entry).
        let mut pending = last_intent_offsets(&journal_path)?;
        // Pass 2: the results; a record at or after its entry's last intent settles it.
        let mut rows = Vec::new();
        let mut pruned = HashMap::new();
        if path.exists() {
            let mut reader = ResultsReader::open(path, format)?;
            let mut next_dedup = 1 << 16;
            while let Some(located) = reader.next_located()? {
                let slot = Slot::of_record(&located.record);
                if pending.get(&slot).is_some_and(|&at| located.offset >= at) {
                    pending.remove(&slot);
                }
                match slot {
                    Slot::Row(row) => rows.push((row, PriorRow::from_record(located.record))),
                    Slot::Pruned(id) => {
                        pruned.insert(id, PriorPruned::from_record(located.record));
                    }
                }
                if rows.len() >= next_dedup {
                    keep_last_per_row(&mut rows);
                    next_dedup = (rows.len() * 2).max(1 << 16);
                }
            }
        }
        // Pass 3: the intents still pending are the entries in flight.
        let mut in_flight = HashMap::new();
        for (slot, intent) in pending_intents(&journal_path, &pending)? {
            match slot {
                Slot::Row(row) => {
                    in_flight.insert(row, intent);
                }
                Slot::Pruned(id) => mark_pruned_in_flight(&mut pruned, id, intent),
            }
        }
        keep_last_per_row(&mut rows);
        let recorded = rows.len();
        for intent in in_flight.values() {
            if rows[..recorded]
                .binary_search_by_key(&intent.row, |(row, _)| *row)
                .is_ok()
            {
                continue; // marked below, keeping its record
            }
            rows.push((intent.row, PriorRow::in_flight(intent)));
        }
        rows.sort_by_key(|(row, _)| *row);
        rows.shrink_to_fit();
        let mut state = Self {
            rows,
            in_flight,
            pruned,
        };
        state.mark_in_flight();
        Ok(state)
    }

    /// Marks the rows of `self.in_flight` and gives them the fingerprint of their intent.
    fn mark_in_flight(&mut self) {
        for (row, prior) in &mut self.rows {
            if let Some(intent) = self.in_flight.get(row) {
                prior.in_flight = true;
                prior.fingerprint = Fingerprint::parse(&intent.fingerprint);
            }
        }
    }

    /// What the earlier run knew about `row`, if anything.
    pub(crate) fn get(&self, row: u64) -> Option<&PriorRow> {
        let i = self.rows.binary_search_by_key(&row, |(row, _)| *row).ok()?;
        self.rows.get(i).map(|(_, prior)| prior)
    }

    /// The environments an earlier run pruned or was pruning, by id, in no particular order.
    pub(crate) fn pruned(&self) -> impl Iterator<Item = (&EnvironmentId, &PriorPruned)> {
        self.pruned.iter()
    }

    /// Whether some row or pruned environment was left in flight: its request may have been
    /// applied without a record.
    pub(crate) fn has_in_flight(&self) -> bool {
        !self.in_flight.is_empty() || self.pruned.values().any(|known| known.prior.in_flight)
    }

    /// The intent of `row` if the row is in flight: the connection and name to look up.
    pub(crate) fn intent(&self, row: u64) -> Option<&Intent> {
        self.in_flight.get(&row)
    }

    /// Every intent in flight, in no particular order.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> impl Iterator<Item = &Intent> {
        self.in_flight.values()
    }

    /// How many rows the earlier run knew about.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the earlier run left nothing (no file, or an empty one).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Sorts by row and keeps, of the entries of one row, the one pushed last (stable sort, then
/// each duplicate hands its value to the entry kept before dropping out).
fn keep_last_per_row(rows: &mut Vec<(u64, PriorRow)>) {
    rows.sort_by_key(|(row, _)| *row);
    rows.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            std::mem::swap(later, kept);
        }
        same
    });
}

/// The results-file offset of each entry's last intent.
fn last_intent_offsets(journal_path: &Path) -> Result<HashMap<Slot, u64>, ResultsError> {
    let mut offsets = HashMap::new();
    if let Some(mut journal) = JournalReader::open(journal_path)? {
        while let Some(entry) = journal.next_entry()? {
            let offset = offsets.entry(entry.slot).or_insert(0);
            *offset = entry.results_offset.max(*offset);
        }
    }
    Ok(offsets)
}

/// The last intent of each entry in `pending` (those no record settled).
fn pending_intents(
    journal_path: &Path,
    pending: &HashMap<Slot, u64>,
) -> Result<HashMap<Slot, Intent>, ResultsError> {
    let mut intents = HashMap::new();
    if pending.is_empty() {
        return Ok(intents);
    }
    if let Some(mut journal) = JournalReader::open(journal_path)? {
        while let Some(entry) = journal.next_entry()? {
            if pending.get(&entry.slot) == Some(&entry.results_offset) {
                intents.insert(entry.slot, entry.intent);
            }
        }
    }
    Ok(intents)
}

#[cfg(test)]
mod tests;
