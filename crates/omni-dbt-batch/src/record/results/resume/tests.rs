//! Tests of the resume state: finished rows, rows in flight, fingerprints, torn and bad files.

use std::fs;

use super::*;
use crate::record::results::{IntentOp, ResultsMode, ResultsSink, ResultsWriter};
use crate::record::ErrorKind;

fn record(row: u64, status: Status) -> RowRecord {
    RowRecord {
        row,
        line: row + 1,
        connection_id: "conn".to_owned(),
        name: format!("env-{row}"),
        status,
        environment_id: status
            .is_success()
            .then(|| uuid::Uuid::from_u128(row.into()).into()),
        attempts: 2,
        http_status: None,
        error_kind: (!status.is_success()).then_some(ErrorKind::Server),
        error: None,
        fingerprint: format!("{row:032x}"),
    }
}

fn intent(row: u64, fingerprint: &str) -> Intent {
    Intent {
        row,
        line: row + 1,
        connection_id: "conn".to_owned(),
        name: format!("env-{row}"),
        fingerprint: fingerprint.to_owned(),
        op: IntentOp::Create,
        environment_id: None,
    }
}

#[test]
fn finished_rows_report_their_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap();
    writer.record(&record(1, Status::Failed)).unwrap();
    writer.record(&record(2, Status::Exists)).unwrap();
    writer.record(&record(1, Status::Created)).unwrap();
    drop(writer);

    let state = ResumeState::load(&path, Format::Csv).unwrap();
    assert_eq!(state.len(), 2);
    let first = state.get(1).unwrap();
    assert_eq!(first.status, Some(Status::Created));
    assert_eq!(first.environment_id, Some(uuid::Uuid::from_u128(1).into()));
    assert_eq!(first.attempts, 2);
    assert!(first.succeeded());
    assert!(matches!(first.fingerprint, Fingerprint::Digest(_)));
    assert!(first.fingerprint.matches(&format!("{:032x}", 1)));
    assert!(!first.fingerprint.matches(&format!("{:032x}", 2)));
    assert_eq!(state.get(2).unwrap().status, Some(Status::Exists));
    assert_eq!(state.in_flight().count(), 0);
}

#[test]
fn an_intent_without_a_record_is_in_flight_with_its_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.jsonl");
    let mut writer = ResultsWriter::create(&path, Format::Jsonl, ResultsMode::New).unwrap();
    writer.intend(&intent(1, "v1:abc")).unwrap();
    writer.record(&record(1, Status::Created)).unwrap();
    writer.intend(&intent(2, "v1:def")).unwrap();
    drop(writer); // killed with row 2 in flight

    let state = ResumeState::load(&path, Format::Jsonl).unwrap();
    assert!(!state.get(1).unwrap().in_flight);
    let second = state.get(2).unwrap();
    assert!(second.in_flight);
    assert_eq!(second.status, None);
    assert_eq!(second.attempts, 0);
    assert!(!second.succeeded());
    assert_eq!(second.fingerprint, Fingerprint::Text("v1:def".into()));
    assert_eq!(state.intent(2), Some(&intent(2, "v1:def")));
    assert_eq!(state.intent(1), None);
    let in_flight: Vec<u64> = state.in_flight().map(|i| i.row).collect();
    assert_eq!(in_flight, vec![2]);
}

#[test]
fn a_retry_in_flight_after_an_earlier_record_is_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap();
    writer.intend(&intent(1, "old")).unwrap();
    writer.record(&record(1, Status::Failed)).unwrap();
    drop(writer);
    // The resumed run retries row 1 and is killed before its outcome is known.
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::Resume).unwrap();
    writer.intend(&intent(1, "new")).unwrap();
    drop(writer);

    let state = ResumeState::load(&path, Format::Csv).unwrap();
    let prior = state.get(1).unwrap();
    assert!(prior.in_flight);
    assert_eq!(prior.status, Some(Status::Failed));
    assert!(prior.fingerprint.matches("new"));
    assert_eq!(state.intent(1).unwrap().fingerprint, "new");
}

#[test]
fn intents_of_other_rows_do_not_settle_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.jsonl");
    let sink =
        ResultsSink::new(ResultsWriter::create(&path, Format::Jsonl, ResultsMode::New).unwrap());
    sink.intend(&intent(1, "a")).unwrap();
    sink.intend(&intent(2, "b")).unwrap();
    sink.record(&record(2, Status::Created)).unwrap();
    sink.intend(&intent(3, "c")).unwrap();
    sink.record(&record(3, Status::Created)).unwrap();
    drop(sink);

    let state = ResumeState::load(&path, Format::Jsonl).unwrap();
    let in_flight: Vec<u64> = state.in_flight().map(|i| i.row).collect();
    assert_eq!(in_flight, vec![1]);
    assert!(state.get(2).unwrap().succeeded());
    assert!(state.get(3).unwrap().succeeded());
}

#[test]
fn load_ignores_a_torn_last_record_and_a_torn_journal_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [("r.csv", Format::Csv), ("r.jsonl", Format::Jsonl)] {
        let path = dir.path().join(name);
        let mut writer = ResultsWriter::create(&path, format, ResultsMode::New).unwrap();
        writer.record(&record(1, Status::Created)).unwrap();
        writer.record(&record(2, Status::Created)).unwrap();
        drop(writer);
        let whole = fs::read(&path).unwrap();
        fs::write(&path, &whole[..whole.len() - 5]).unwrap();
        fs::write(journal_path(&path), "{\"row\":2,\"line\":3,\"conn").unwrap();

        let state = ResumeState::load(&path, format).unwrap();
        assert_eq!(state.len(), 1, "{name}");
        assert!(state.get(1).unwrap().succeeded());
        assert!(state.get(2).is_none());
    }
}

#[test]
fn load_of_a_missing_file_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let state = ResumeState::load(dir.path().join("r.csv"), Format::Csv).unwrap();
    assert!(state.is_empty());
}

#[test]
fn an_unreadable_record_names_file_and_line_and_suggests_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap();
    writer.record(&record(1, Status::Created)).unwrap();
    drop(writer);
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str("2,3,conn,env-2,done,,1,,,,f\n");
    fs::write(&path, text).unwrap();

    let err = ResumeState::load(&path, Format::Csv).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, ResultsError::Corrupt { line: 3, .. }),
        "{err:?}"
    );
    assert!(message.contains("r.csv:3:"), "{message}");
    assert!(message.contains("column status"), "{message}");
    assert!(message.contains("--force"), "{message}");
}

#[test]
fn fingerprints_that_are_not_lowercase_hex_digests_are_kept_as_text() {
    for text in [
        "",
        "ABCDEF0123456789ABCDEF0123456789",
        "0123",
        "g0000000000000000000000000000000",
    ] {
        let fingerprint = Fingerprint::parse(text);
        assert_eq!(fingerprint, Fingerprint::Text(text.into()));
        assert!(fingerprint.matches(text));
        assert_eq!(fingerprint.to_string(), text);
    }
}

#[test]
fn sink_refuses_records_after_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    let sink =
        ResultsSink::new(ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap());
    let other = sink.clone();
    sink.record(&record(1, Status::Created)).unwrap();
    assert_eq!(other.finish().unwrap().rows, 1);
    let err = sink.record(&record(2, Status::Created)).unwrap_err();
    assert!(matches!(err, ResultsError::Finished { .. }), "{err:?}");
    assert!(matches!(sink.finish(), Err(ResultsError::Finished { .. })));
}

#[test]
fn hex_fingerprints_are_stored_as_digests_and_compared_by_text() {
    use crate::record::results::resume::Fingerprint;

    let hex = "00112233445566778899aabbccddeeff";
    let fingerprint = Fingerprint::parse(hex);
    assert!(matches!(fingerprint, Fingerprint::Digest(_)));
    assert!(fingerprint.matches(hex));
    assert_eq!(fingerprint.to_string(), hex);
    assert!(!Fingerprint::parse("v2:abc").matches("v2:abd"));
}

#[test]
fn a_row_killed_in_flight_is_reported_with_its_intent() -> Result<(), Box<dyn std::error::Error>> {
    use crate::record::results::{
        Format, Intent, IntentOp, ResultsMode, ResultsWriter, ResumeState,
    };
    use crate::record::{RowRecord, Status};

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.jsonl");
    let mut writer = ResultsWriter::create(&path, Format::Jsonl, ResultsMode::New)?;
    let intent = |row: u64| Intent {
        row,
        line: row + 1,
        connection_id: "conn".into(),
        name: format!("env-{row}"),
        fingerprint: "00112233445566778899aabbccddeeff".into(),
        op: IntentOp::Create,
        environment_id: None,
    };
    writer.intend(&intent(1))?;
    writer.record(&RowRecord {
        row: 1,
        line: 2,
        connection_id: "conn".into(),
        name: "env-1".into(),
        status: Status::Created,
        environment_id: Some(uuid::Uuid::nil().into()),
        attempts: 1,
        http_status: Some(200),
        error_kind: None,
        error: None,
        fingerprint: "00112233445566778899aabbccddeeff".into(),
    })?;
    writer.intend(&intent(2))?;
    drop(writer); // as if killed while row 2's request was in flight

    let state = ResumeState::load(&path, Format::Jsonl)?;
    assert!(state.get(1).unwrap().succeeded());
    assert!(state.get(2).unwrap().in_flight);
    assert_eq!(state.intent(2).unwrap().name, "env-2");
    assert!(state.get(3).is_none());
    Ok(())
}
