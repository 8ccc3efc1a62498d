//! The intent journal `<results>.journal`: one JSON line per create, update or delete, written
//! before the request is sent, so that a rerun knows which rows may have been applied without a
//! record.
//!
//! Each line is `{"row":N,"line":L,"connection_id":...,"name":...,"fingerprint":...,
//! "op":"create"|"update"|"delete","results_offset":B}` where `B` is the length of the results
//! file when the intent was written; a delete adds `"environment_id"`, and the delete of a pruned
//! environment (which no row names) has `null` row and line. A final record of the same
//! [`Slot`] at offset `B` or later settles the intent; an earlier one (from a previous attempt)
//! does not.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use omni_dbt_core::EnvironmentId;

use super::files::{remove_if_exists, AppendFile, Opening, Replacement};
use super::scan::RecordScanner;
use super::slot::Slot;
use super::{Format, ResultsError};

/// The path of the journal that goes with a results file: the results path plus `.journal`.
pub(crate) fn journal_path(results: &Path) -> PathBuf {
    let mut path = results.as_os_str().to_owned();
    path.push(".journal");
    PathBuf::from(path)
}

/// The request about to be sent for a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IntentOp {
    /// `POST` a new environment.
    Create,
    /// `PATCH` an existing environment.
    Update,
    /// `DELETE` an environment.
    Delete,
}

/// What a row is about to do to Omni: written to the journal before the request goes out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Intent {
    /// 1-based index of the data row in the input; 0 for a pruned environment.
    pub row: u64,
    /// Line of the input where the row starts; 0 for a pruned environment.
    pub line: u64,
    /// The row's connection, as in the results file.
    pub connection_id: String,
    /// The environment's name: what a rerun looks up to reconcile the row.
    pub name: String,
    /// The fingerprint of the request about to be sent.
    pub fingerprint: String,
    /// Create, update or delete.
    pub op: IntentOp,
    /// The environment a delete is about to remove.
    pub environment_id: Option<EnvironmentId>,
}

impl Intent {
    /// The results entry this intent is about; `None` for a row of 0 without an environment.
    pub(crate) fn slot(&self) -> Option<Slot> {
        Slot::of(self.row, self.environment_id)
    }
}

/// One line of the journal, as written.
#[derive(Serialize)]
struct WrittenEntry<'a> {
    row: Option<u64>,
    line: Option<u64>,
    connection_id: &'a str,
    name: &'a str,
    fingerprint: &'a str,
    op: IntentOp,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment_id: Option<EnvironmentId>,
    results_offset: u64,
}

/// One line of the journal, as read.
#[derive(Deserialize)]
struct ReadEntry {
    #[serde(default)]
    row: Option<u64>,
    #[serde(default)]
    line: Option<u64>,
    connection_id: String,
    name: String,
    fingerprint: String,
    op: IntentOp,
    #[serde(default)]
    environment_id: Option<EnvironmentId>,
    /// Absent in a hand-written journal: then any record of the row settles the intent.
    #[serde(default)]
    results_offset: u64,
}

/// An intent read back, with where the results file ended when it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JournalEntry {
    pub intent: Intent,
    pub results_offset: u64,
    /// The results entry the intent is about.
    pub slot: Slot,
}

impl ReadEntry {
    /// The entry, or why it names no results entry.
    fn into_entry(self) -> Result<JournalEntry, String> {
        let intent = Intent {
            row: self.row.unwrap_or(0),
            line: self.line.unwrap_or(0),
            connection_id: self.connection_id,
            name: self.name,
            fingerprint: self.fingerprint,
            op: self.op,
            environment_id: self.environment_id,
        };
        let slot = intent
            .slot()
            .ok_or("an intent without a row must name its environment_id")?;
        Ok(JournalEntry {
            intent,
            results_offset: self.results_offset,
            slot,
        })
    }
}

/// Encodes one journal line, terminator included.
fn encode(buf: &mut Vec<u8>, intent: &Intent, results_offset: u64) -> serde_json::Result<()> {
    let input_row = intent.row != 0;
    let entry = WrittenEntry {
        row: Some(intent.row).filter(|_| input_row),
        line: Some(intent.line).filter(|_| input_row),
        connection_id: &intent.connection_id,
        name: &intent.name,
        fingerprint: &intent.fingerprint,
        op: intent.op,
        environment_id: intent.environment_id,
        results_offset,
    };
    serde_json::to_writer(&mut *buf, &entry)?;
    buf.push(b'\n');
    Ok(())
}

/// Appends intents to the journal.
#[derive(Debug)]
pub(crate) struct JournalWriter {
    file: AppendFile,
    buf: Vec<u8>,
}

impl JournalWriter {
    /// Opens the journal at `path`: a fresh one (`Truncate`, `CreateNew`) or the earlier run's,
    /// kept for its unsettled intents (`Continue`).
    pub(super) fn open(path: &Path, opening: Opening) -> Result<Self, ResultsError> {
        Ok(Self {
            file: AppendFile::open(path, Format::Jsonl, opening, "intent journal")?,
            buf: Vec::with_capacity(256),
        })
    }

    /// Appends `intent`, noting that the results file is `results_offset` bytes long.
    pub(super) fn append(
        &mut self,
        intent: &Intent,
        results_offset: u64,
    ) -> Result<(), ResultsError> {
        self.buf.clear();
        encode(&mut self.buf, intent, results_offset).map_err(|e| ResultsError::Encode {
            path: self.file.path().to_path_buf(),
            message: e.to_string(),
        })?;
        self.file.append(&self.buf)
    }
}

/// Reads the journal's entries in order, skipping blank lines and a torn last line (an intent
/// whose write was interrupted was never acted upon: the request goes out only after it).
#[derive(Debug)]
pub(crate) struct JournalReader {
    path: PathBuf,
    scanner: RecordScanner<BufReader<File>>,
}

impl JournalReader {
    /// Opens the journal at `path`, or `None` if there is none.
    pub(super) fn open(path: &Path) -> Result<Option<Self>, ResultsError> {
        match File::open(path) {
            Ok(file) => Ok(Some(Self {
                path: path.to_path_buf(),
                scanner: RecordScanner::new(BufReader::new(file), Format::Jsonl),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ResultsError::io("open", path, e)),
        }
    }

    /// The next entry, or `None` at the end.
    pub(super) fn next_entry(&mut self) -> Result<Option<JournalEntry>, ResultsError> {
        loop {
            let Some(raw) = self
                .scanner
                .next_record()
                .map_err(|e| ResultsError::io("read", &self.path, e))?
            else {
                return Ok(None);
            };
            if raw.is_blank() {
                continue;
            }
            let corrupt = |message: String| ResultsError::CorruptJournal {
                path: self.path.clone(),
                line: raw.line,
                message,
            };
            let entry: ReadEntry =
                serde_json::from_slice(raw.bytes).map_err(|e| corrupt(e.to_string()))?;
            return entry.into_entry().map(Some).map_err(corrupt);
        }
    }
}

/// Replaces the journal at `path` with `intents` (or removes it when there are none), each
/// marked as written when the results file was `results_offset` bytes long.
pub(crate) fn rewrite<'a>(
    path: &Path,
    intents: impl IntoIterator<Item = &'a Intent>,
    results_offset: u64,
) -> Result<(), ResultsError> {
    let mut intents = intents.into_iter().peekable();
    if intents.peek().is_none() {
        return remove_if_exists(path);
    }
    let mut replacement = Replacement::new(path)?;
    let mut out = BufWriter::new(replacement.file());
    let mut buf = Vec::with_capacity(256);
    for intent in intents {
        buf.clear();
        encode(&mut buf, intent, results_offset).map_err(|e| ResultsError::Encode {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        out.write_all(&buf)
            .map_err(|e| ResultsError::io("rewrite", path, e))?;
    }
    out.flush()
        .map_err(|e| ResultsError::io("rewrite", path, e))?;
    drop(out);
    replacement.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(row: u64, op: IntentOp) -> Intent {
        Intent {
            row,
            line: row + 1,
            connection_id: "c".to_owned(),
            name: format!("env \"{row}\"\n"),
            fingerprint: "f".to_owned(),
            op,
            environment_id: None,
        }
    }

    #[test]
    fn a_pruned_delete_is_journaled_by_environment_without_row() {
        let id = EnvironmentId::new(uuid::Uuid::from_u128(5));
        let pruned = Intent {
            row: 0,
            line: 0,
            environment_id: Some(id),
            ..intent(0, IntentOp::Delete)
        };
        let mut buf = Vec::new();
        encode(&mut buf, &pruned, 7).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.starts_with(r#"{"row":null,"line":null,"#), "{text}");
        assert!(
            text.contains(r#""op":"delete","environment_id":"#),
            "{text}"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv.journal");
        std::fs::write(&path, &text).unwrap();
        let entry = JournalReader::open(&path)
            .unwrap()
            .unwrap()
            .next_entry()
            .unwrap()
            .unwrap();
        assert_eq!(entry.intent, pruned);
        assert_eq!(entry.slot, Slot::Pruned(id));
    }

    #[test]
    fn an_intent_without_row_or_environment_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv.journal");
        std::fs::write(
            &path,
            "{\"connection_id\":\"c\",\"name\":\"n\",\"fingerprint\":\"f\",\"op\":\"delete\"}\n",
        )
        .unwrap();
        let err = JournalReader::open(&path)
            .unwrap()
            .unwrap()
            .next_entry()
            .unwrap_err();
        assert!(err.to_string().contains("environment_id"), "{err}");
    }

    #[test]
    fn journal_lines_have_the_documented_keys_in_order() {
        let mut buf = Vec::new();
        encode(&mut buf, &intent(3, IntentOp::Create), 42).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"row\":3,\"line\":4,\"connection_id\":\"c\",\"name\":\"env \\\"3\\\"\\n\",\
             \"fingerprint\":\"f\",\"op\":\"create\",\"results_offset\":42}\n"
        );
    }

    #[test]
    fn written_intents_read_back_and_a_torn_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv.journal");
        let mut writer = JournalWriter::open(&path, Opening::CreateNew).unwrap();
        writer.append(&intent(1, IntentOp::Create), 10).unwrap();
        writer.append(&intent(2, IntentOp::Update), 20).unwrap();
        drop(writer);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"{\"row\":3,\"li");
        std::fs::write(&path, bytes).unwrap();

        let mut reader = JournalReader::open(&path).unwrap().unwrap();
        let first = reader.next_entry().unwrap().unwrap();
        let second = reader.next_entry().unwrap().unwrap();
        assert_eq!(reader.next_entry().unwrap(), None);
        assert_eq!(first.intent, intent(1, IntentOp::Create));
        assert_eq!(first.results_offset, 10);
        assert_eq!(second.intent, intent(2, IntentOp::Update));
        assert_eq!(second.results_offset, 20);
    }

    #[test]
    fn a_corrupt_journal_line_is_an_error_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv.journal");
        std::fs::write(&path, "\nnot json\n").unwrap();
        let err = JournalReader::open(&path)
            .unwrap()
            .unwrap()
            .next_entry()
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("r.csv.journal:2:"), "{message}");
    }

    #[test]
    fn missing_journal_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(JournalReader::open(&dir.path().join("nope"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn rewrite_with_no_intents_removes_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        std::fs::write(&path, "x\n").unwrap();
        rewrite(&path, [], 0).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn the_journal_sits_beside_the_results_file() {
        use crate::record::results::journal::journal_path;
        use std::path::Path;

        assert_eq!(
            journal_path(Path::new("out/envs.results.csv")),
            Path::new("out/envs.results.csv.journal")
        );
    }
}
