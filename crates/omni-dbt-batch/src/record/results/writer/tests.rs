//! Tests of the results writer: exact output, opening modes, torn tails and compaction.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::record::results::slot::Slot;
use crate::record::results::{IntentOp, ResultsReader, ResumeState};
use crate::record::{ErrorKind, Status};

const HEADER: &str =
    "row,line,connection_id,name,status,environment_id,attempts,http_status,error_kind,error,fingerprint\n";
const ENV_ID: &str = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";

fn created(row: u64) -> RowRecord {
    RowRecord {
        row,
        line: row + 1,
        connection_id: "c0a8b0e4-1f2a-4b3c-9d4e-5f6a7b8c9d0e".to_owned(),
        name: format!("env-{row}"),
        status: Status::Created,
        environment_id: Some(ENV_ID.parse().unwrap()),
        attempts: 1,
        http_status: Some(200),
        error_kind: None,
        error: None,
        fingerprint: format!("{row:032x}"),
    }
}

fn failed(row: u64, message: &str) -> RowRecord {
    RowRecord {
        status: Status::Failed,
        environment_id: None,
        attempts: 6,
        http_status: Some(503),
        error_kind: Some(ErrorKind::Exhausted),
        error: Some(message.to_owned()),
        ..created(row)
    }
}

fn intent(row: u64) -> Intent {
    Intent {
        row,
        line: row + 1,
        connection_id: "c0a8b0e4-1f2a-4b3c-9d4e-5f6a7b8c9d0e".to_owned(),
        name: format!("env-{row}"),
        fingerprint: format!("{row:032x}"),
        op: IntentOp::Create,
        environment_id: None,
    }
}

fn temp_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

fn rows_in(path: &Path, format: Format) -> Vec<RowRecord> {
    ResultsReader::open(path, format)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn write_all(path: &Path, format: Format, mode: ResultsMode, records: &[RowRecord]) {
    let mut writer = ResultsWriter::create(path, format, mode).unwrap();
    for record in records {
        writer.record(record).unwrap();
    }
}

#[test]
fn csv_output_has_the_header_and_columns_in_order_with_empty_cells_for_absent_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    write_all(
        &path,
        Format::Csv,
        ResultsMode::New,
        &[
            created(1),
            failed(2, "Service \"Unavailable\", retry\nlater"),
        ],
    );
    let expected = format!(
        "{HEADER}\
         1,2,c0a8b0e4-1f2a-4b3c-9d4e-5f6a7b8c9d0e,env-1,created,{ENV_ID},1,200,,,00000000000000000000000000000001\n\
         2,3,c0a8b0e4-1f2a-4b3c-9d4e-5f6a7b8c9d0e,env-2,failed,,6,503,exhausted,\
         \"Service \"\"Unavailable\"\", retry\nlater\",00000000000000000000000000000002\n"
    );
    assert_eq!(read(&path), expected);
}

#[test]
fn jsonl_output_has_every_key_in_column_order_with_null_for_absent_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.jsonl");
    write_all(
        &path,
        Format::Jsonl,
        ResultsMode::New,
        &[created(1), failed(2, "bad\ngateway")],
    );
    let expected = format!(
        "{{\"row\":1,\"line\":2,\"connection_id\":\"c0a8b0e4-1f2a-4b3c-9d4e-5f6a7b8c9d0e\",\
         \"name\":\"env-1\",\"status\":\"created\",\"environment_id\":\"{ENV_ID}\",\"attempts\":1,\
         \"http_status\":200,\"error_kind\":null,\"error\":null,\
         \"fingerprint\":\"00000000000000000000000000000001\"}}\n\
         {{\"row\":2,\"line\":3,\"connection_id\":\"c0a8b0e4-1f2a-4b3c-9d4e-5f6a7b8c9d0e\",\
         \"name\":\"env-2\",\"status\":\"failed\",\"environment_id\":null,\"attempts\":6,\
         \"http_status\":503,\"error_kind\":\"exhausted\",\"error\":\"bad\\ngateway\",\
         \"fingerprint\":\"00000000000000000000000000000002\"}}\n"
    );
    assert_eq!(read(&path), expected);
}

#[test]
fn an_empty_error_message_is_written_as_absent() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.jsonl");
    write_all(&path, Format::Jsonl, ResultsMode::New, &[failed(1, "")]);
    assert!(read(&path).contains("\"error\":null"));
    assert_eq!(rows_in(&path, Format::Jsonl)[0].error, None);
}

#[test]
fn a_new_csv_file_gets_its_header_even_with_no_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    let report = ResultsWriter::create(&path, Format::Csv, ResultsMode::New)
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(read(&path), HEADER);
    assert_eq!(report.rows, 0);
    assert!(!report.rewritten);
}

#[test]
fn new_mode_refuses_an_existing_file_and_names_both_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    fs::write(&path, "keep me").unwrap();
    let err = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ResultsError::Exists { .. }), "{err:?}");
    assert!(message.contains("--resume"), "{message}");
    assert!(message.contains("--force"), "{message}");
    assert!(message.contains("r.csv"), "{message}");
    assert_eq!(read(&path), "keep me");
}

#[test]
fn new_mode_refuses_a_leftover_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    fs::write(journal_path(&path), "{}\n").unwrap();
    let err = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap_err();
    assert!(err.to_string().contains("r.csv.journal"), "{err}");
    assert!(!path.exists());
}

#[test]
fn force_truncates_the_file_and_removes_the_stale_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap();
    writer.record(&created(1)).unwrap();
    writer.intend(&intent(2)).unwrap();
    drop(writer);

    let writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::Force).unwrap();
    assert_eq!(read(&path), HEADER);
    assert_eq!(read(&journal_path(&path)), "");
    drop(writer);
    assert!(ResumeState::load(&path, Format::Csv).unwrap().is_empty());
}

#[test]
fn resume_appends_after_the_earlier_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    write_all(&path, Format::Csv, ResultsMode::New, &[created(2)]);
    write_all(&path, Format::Csv, ResultsMode::Resume, &[created(1)]);
    let rows: Vec<u64> = rows_in(&path, Format::Csv).iter().map(|r| r.row).collect();
    assert_eq!(rows, vec![2, 1]);
    assert_eq!(read(&path).matches("row,line").count(), 1);
}

#[test]
fn resume_of_a_missing_file_starts_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    write_all(&path, Format::Csv, ResultsMode::Resume, &[created(1)]);
    assert_eq!(rows_in(&path, Format::Csv), vec![created(1)]);
}

#[test]
fn resume_drops_a_torn_last_record_before_appending() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [("r.csv", Format::Csv), ("r.jsonl", Format::Jsonl)] {
        let path = temp_path(&dir, name);
        write_all(&path, format, ResultsMode::New, &[created(1), created(2)]);
        let whole = fs::read(&path).unwrap();
        // Kill -9 in the middle of writing row 2's record.
        fs::write(&path, &whole[..whole.len() - 20]).unwrap();

        write_all(&path, format, ResultsMode::Resume, &[created(3)]);
        assert_eq!(
            rows_in(&path, format),
            vec![created(1), created(3)],
            "{name}"
        );
    }
}

#[test]
fn resume_drops_a_csv_record_torn_right_after_a_quoted_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    write_all(
        &path,
        Format::Csv,
        ResultsMode::New,
        &[failed(1, "first\nsecond")],
    );
    let text = read(&path);
    let cut = text.find("first\n").unwrap() + "first\n".len();
    fs::write(&path, &text[..cut]).unwrap();

    write_all(&path, Format::Csv, ResultsMode::Resume, &[created(2)]);
    assert_eq!(rows_in(&path, Format::Csv), vec![created(2)]);
}

#[test]
fn resume_refuses_a_csv_file_without_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    fs::write(&path, "name,status\nx,created\n").unwrap();
    let err = ResultsWriter::create(&path, Format::Csv, ResultsMode::Resume).unwrap_err();
    assert!(
        matches!(err, ResultsError::Corrupt { line: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("--force"), "{err}");
}

#[test]
fn finish_keeps_the_last_record_per_row_sorted_and_removes_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [("r.csv", Format::Csv), ("r.jsonl", Format::Jsonl)] {
        let path = temp_path(&dir, name);
        let mut writer = ResultsWriter::create(&path, format, ResultsMode::New).unwrap();
        for row in [3, 1, 2] {
            writer.intend(&intent(row)).unwrap();
            writer.record(&failed(row, "try again")).unwrap();
        }
        writer.intend(&intent(3)).unwrap();
        writer.record(&created(3)).unwrap();
        writer.intend(&intent(1)).unwrap();
        writer.record(&created(1)).unwrap();
        let report = writer.finish().unwrap();

        assert_eq!(
            rows_in(&path, format),
            vec![created(1), failed(2, "try again"), created(3)],
            "{name}"
        );
        assert!(report.rewritten);
        assert_eq!(report.rows, 3);
        assert!(report.in_flight.is_empty());
        assert!(!journal_path(&path).exists());
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp files left beside {name}");
        fs::remove_file(&path).unwrap();
    }
}

#[test]
fn finish_leaves_a_file_already_in_row_order_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap();
    for row in 1..=3 {
        writer.intend(&intent(row)).unwrap();
        writer.record(&created(row)).unwrap();
    }
    let before = fs::read(&path).unwrap();
    let report = writer.finish().unwrap();
    assert!(!report.rewritten);
    assert_eq!(report.rows, 3);
    assert_eq!(fs::read(&path).unwrap(), before);
    assert!(!journal_path(&path).exists());
}

#[test]
fn finish_keeps_the_intents_of_rows_still_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.jsonl");
    let mut writer = ResultsWriter::create(&path, Format::Jsonl, ResultsMode::New).unwrap();
    writer.record(&failed(2, "timeout")).unwrap();
    writer.intend(&intent(2)).unwrap(); // retried, outcome never known
    writer.intend(&intent(1)).unwrap();
    writer.record(&created(1)).unwrap();
    let report = writer.finish().unwrap();

    assert_eq!(report.in_flight, vec![Slot::Row(2)]);
    let state = ResumeState::load(&path, Format::Jsonl).unwrap();
    assert!(state.get(2).unwrap().in_flight);
    assert_eq!(state.intent(2).unwrap(), &intent(2));
    assert!(!state.get(1).unwrap().in_flight);
}

#[test]
fn intents_kept_by_finish_are_settled_by_a_later_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap();
    writer.record(&created(5)).unwrap();
    writer.intend(&intent(1)).unwrap();
    writer.record(&created(3)).unwrap();
    assert_eq!(writer.finish().unwrap().in_flight, vec![Slot::Row(1)]);

    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::Resume).unwrap();
    writer.record(&created(1)).unwrap();
    let report = writer.finish().unwrap();
    assert!(report.in_flight.is_empty());
    assert!(!journal_path(&path).exists());
    let rows: Vec<u64> = rows_in(&path, Format::Csv).iter().map(|r| r.row).collect();
    assert_eq!(rows, vec![1, 3, 5]);
}

#[test]
fn intents_kept_by_a_finish_that_shortened_the_file_are_settled_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "r.csv");
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap();
    for _ in 0..3 {
        writer.record(&created(2)).unwrap(); // repeats: compaction shortens the file
    }
    writer.intend(&intent(1)).unwrap();
    assert_eq!(writer.finish().unwrap().in_flight, vec![Slot::Row(1)]);

    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::Resume).unwrap();
    writer.record(&created(1)).unwrap();
    assert!(writer.finish().unwrap().in_flight.is_empty());
    assert!(!journal_path(&path).exists());
}

#[test]
fn writer_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<ResultsWriter>();
    assert_send::<crate::record::results::ResultsSink>();
}

#[test]
fn a_second_run_without_resume_or_force_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    use crate::record::results::{Format, Intent, IntentOp, ResultsMode, ResultsWriter};
    use crate::record::{RowRecord, Status};

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("envs.results.csv");
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::New)?;
    writer.intend(&Intent {
        row: 1,
        line: 2,
        connection_id: "conn".into(),
        name: "dev".into(),
        fingerprint: "f1".into(),
        op: IntentOp::Create,
        environment_id: None,
    })?;
    writer.record(&RowRecord {
        row: 1,
        line: 2,
        connection_id: "conn".into(),
        name: "dev".into(),
        status: Status::Failed,
        environment_id: None,
        attempts: 6,
        http_status: Some(503),
        error_kind: None,
        error: Some("Service Unavailable".into()),
        fingerprint: "f1".into(),
    })?;
    let report = writer.finish()?;
    assert_eq!(report.rows, 1);
    assert_eq!(
        std::fs::read_to_string(&path)?,
        "row,line,connection_id,name,status,environment_id,attempts,http_status,error_kind,error,fingerprint\n\
         1,2,conn,dev,failed,,6,503,,Service Unavailable,f1\n"
    );
    // A second run without --resume or --force is refused.
    assert!(ResultsWriter::create(&path, Format::Csv, ResultsMode::New).is_err());
    Ok(())
}

fn pruned(connection: &str, name: &str, id: u128, status: Status) -> RowRecord {
    RowRecord {
        row: 0,
        line: 0,
        connection_id: connection.to_owned(),
        name: name.to_owned(),
        status,
        environment_id: Some(uuid::Uuid::from_u128(id).into()),
        attempts: 1,
        http_status: Some(200),
        error_kind: None,
        error: None,
        fingerprint: format!("delete:{id:032x}"),
    }
}

#[test]
fn pruned_environments_follow_the_rows_by_connection_then_name_one_record_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("envs.results.csv");
    let mut writer = ResultsWriter::create(&path, Format::Csv, ResultsMode::New).unwrap();
    writer.record(&pruned("b", "z", 7, Status::Failed)).unwrap();
    writer.record(&created(2)).unwrap();
    writer
        .record(&pruned("a", "y", 8, Status::Deleted))
        .unwrap();
    writer.record(&failed(1, "down")).unwrap();
    writer
        .record(&pruned("b", "z", 7, Status::Deleted))
        .unwrap();
    let in_flight_id = uuid::Uuid::from_u128(9).into();
    writer
        .intend(&Intent {
            row: 0,
            line: 0,
            op: IntentOp::Delete,
            environment_id: Some(in_flight_id),
            ..intent(0)
        })
        .unwrap();
    let report = writer.finish().unwrap();
    assert_eq!(report.rows, 4);
    assert_eq!(report.in_flight, vec![Slot::Pruned(in_flight_id)]);

    let records: Vec<RowRecord> = ResultsReader::open(&path, Format::Csv)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let order: Vec<(u64, &str, Status)> = records
        .iter()
        .map(|r| (r.row, r.name.as_str(), r.status))
        .collect();
    assert_eq!(
        order,
        [
            (1, "env-1", Status::Failed),
            (2, "env-2", Status::Created),
            (0, "y", Status::Deleted),
            (0, "z", Status::Deleted),
        ]
    );
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.lines().nth(3).unwrap().starts_with(",,a,y,deleted,"),
        "{text}"
    );

    let state = ResumeState::load(&path, Format::Csv).unwrap();
    let mut pruned: Vec<_> = state
        .pruned()
        .map(|(id, known)| {
            (
                *id,
                known.name.clone(),
                known.prior.status,
                known.prior.in_flight,
            )
        })
        .collect();
    pruned.sort_by_key(|(_, name, ..)| name.clone());
    assert_eq!(pruned.len(), 3, "{pruned:?}");
    assert_eq!(
        pruned[0].1, "env-0",
        "the intent in flight, known by its name"
    );
    assert_eq!((pruned[0].2, pruned[0].3), (None, true));
    assert_eq!((pruned[1].2, pruned[1].3), (Some(Status::Deleted), false));
}
