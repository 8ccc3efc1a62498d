//! Property tests of the results file: any record written by `ResultsWriter` reads back as the
//! same record, through `ResultsReader` and `ResumeState`, in both formats, before and after
//! compaction.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Format, ResultsMode, ResultsReader, ResultsWriter, ResumeState};
use crate::record::{ErrorKind, RowRecord, Status};
use proptest::prelude::*;

const FORMATS: [(Format, &str); 2] = [(Format::Csv, "r.csv"), (Format::Jsonl, "r.jsonl")];

/// Text that stresses both formats: separators, quotes, line breaks, unicode, or anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z,;\"'\\\\\n\r\t é✓😀{}:\\[\\]]{0,16}", any::<String>(),]
}

fn row_record(rows: std::ops::RangeInclusive<u64>) -> impl Strategy<Value = RowRecord> {
    (
        (rows, any::<u64>(), text(), text()),
        prop::sample::select(Status::ALL.to_vec()),
        prop::option::of(any::<u128>()),
        (any::<u32>(), prop::option::of(any::<u16>())),
        prop::option::of(prop::sample::select(ErrorKind::ALL.to_vec())),
        prop::option::of(text()),
        prop_oneof!["[0-9a-f]{32}", text()],
    )
        .prop_map(
            |(
                (row, line, connection_id, name),
                status,
                environment_id,
                (attempts, http_status),
                error_kind,
                error,
                fingerprint,
            )| RowRecord {
                row,
                line,
                connection_id,
                name,
                status,
                environment_id: environment_id.map(|id| uuid::Uuid::from_u128(id).into()),
                attempts,
                http_status,
                error_kind,
                error,
                fingerprint,
            },
        )
}

/// The record as the results file holds it: an empty error message is no message.
fn as_recorded(mut record: RowRecord) -> RowRecord {
    if record.error.as_deref() == Some("") {
        record.error = None;
    }
    record
}

fn read_all(path: &Path, format: Format) -> Vec<RowRecord> {
    ResultsReader::open(path, format)
        .and_then(|reader| reader.collect())
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn assert_prior_matches(state: &ResumeState, record: &RowRecord) {
    let prior = state
        .get(record.row)
        .unwrap_or_else(|| panic!("no prior row {}", record.row));
    assert_eq!(prior.status, Some(record.status));
    assert_eq!(prior.environment_id, record.environment_id);
    assert_eq!(prior.attempts, record.attempts);
    assert!(prior.fingerprint.matches(&record.fingerprint));
    assert_eq!(prior.fingerprint.to_string(), record.fingerprint);
    assert!(!prior.in_flight);
}

proptest! {
    #[test]
    fn any_record_reads_back_unchanged_in_both_formats(records in prop::collection::vec(row_record(1..=1_000_000), 1..8)) {
        let dir = tempfile::tempdir().unwrap();
        for (format, name) in FORMATS {
            let path = dir.path().join(name);
            let mut writer = ResultsWriter::create(&path, format, ResultsMode::New).unwrap();
            for record in &records {
                writer.record(record).unwrap();
            }
            drop(writer);

            let expected: Vec<RowRecord> = records.iter().cloned().map(as_recorded).collect();
            prop_assert_eq!(read_all(&path, format), expected.clone());

            let state = ResumeState::load(&path, format).unwrap();
            let mut last = BTreeMap::new();
            for record in &expected {
                last.insert(record.row, record.clone());
            }
            prop_assert_eq!(state.len(), last.len());
            for record in last.values() {
                assert_prior_matches(&state, record);
            }
        }
    }

    #[test]
    fn finish_leaves_the_last_record_of_each_row_in_row_order(records in prop::collection::vec(row_record(1..=12), 0..30)) {
        let dir = tempfile::tempdir().unwrap();
        for (format, name) in FORMATS {
            let path = dir.path().join(name);
            let mut writer = ResultsWriter::create(&path, format, ResultsMode::New).unwrap();
            for record in &records {
                writer.record(record).unwrap();
            }
            let report = writer.finish().unwrap();

            let mut last = BTreeMap::new();
            for record in &records {
                last.insert(record.row, as_recorded(record.clone()));
            }
            let expected: Vec<RowRecord> = last.into_values().collect();
            prop_assert_eq!(report.rows, expected.len() as u64);
            prop_assert_eq!(read_all(&path, format), expected);
            prop_assert!(report.in_flight.is_empty());
        }
    }
}

#[test]
fn a_finished_csv_file_is_plain_csv_for_other_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap();
    for row in [2u64, 1] {
        writer
            .record(&RowRecord {
                row,
                line: row + 1,
                connection_id: "conn".to_owned(),
                name: format!("a, \"quoted\"\nname {row}"),
                status: Status::Failed,
                environment_id: None,
                attempts: 1,
                http_status: Some(500),
                error_kind: Some(ErrorKind::Server),
                error: Some("boom".to_owned()),
                fingerprint: "f".to_owned(),
            })
            .unwrap();
    }
    writer.finish().unwrap();

    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(headers, super::COLUMNS);
    let names: Vec<String> = reader
        .records()
        .map(|record| record.unwrap()[3].to_owned())
        .collect();
    assert_eq!(names, ["a, \"quoted\"\nname 1", "a, \"quoted\"\nname 2"]);
}
