//! Property tests of the input readers: no input makes them panic, and valid rows round-trip.

use std::io::Cursor;

use crate::csv_cells::CsvLine;
use crate::read::checked::{Checked, CheckedRows};
use crate::read::input::{EnvLookup, Format, InputError, InputReader};
use omni_dbt_core::{ConnectionId, NewEnvironment, NewVariable};
use proptest::prelude::*;
use uuid::Uuid;

const HEADER: &str = "connection_id,name,target_schema,owner_id,var:A,secret:B\n";

/// Bytes that look enough like CSV or JSONL to reach deep into the readers.
fn csvish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b",".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"550e8400-e29b-41d4-a716-446655440000".to_vec()),
        Just(b"${env:X}".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"{\"connectionId\":".to_vec()),
        Just(b"\"variables\":[{\"name\":\"A\",\"value\":".to_vec()),
        Just(b"}".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn line_count(data: &[u8]) -> u64 {
    data.iter().filter(|b| **b == b'\n').count() as u64 + 1
}

/// Reads `data` through the checked pipeline and asserts every item carries a sane line.
fn assert_every_item_has_a_line(data: Vec<u8>, format: Format) -> Result<(), TestCaseError> {
    let lines = line_count(&data);
    let reader = match InputReader::from_reader(Cursor::new(data), format, "p", EnvLookup::empty())
    {
        Ok(reader) => reader,
        Err(InputError::Empty { .. }) => return Ok(()),
        Err(
            InputError::UnknownColumn { line, .. }
            | InputError::MissingColumns { line, .. }
            | InputError::DuplicateColumn { line, .. }
            | InputError::BadHeader { line, .. },
        ) => {
            prop_assert!((1..=lines).contains(&line));
            return Ok(());
        }
        Err(other) => return Err(TestCaseError::fail(format!("unexpected {other}"))),
    };
    let mut last_row = 0;
    for item in CheckedRows::new(reader, None, Default::default()) {
        let checked = item.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(
            (1..=lines).contains(&checked.line()),
            "line {}",
            checked.line()
        );
        prop_assert_eq!(checked.row(), last_row + 1);
        last_row = checked.row();
        if let Checked::Invalid(problem) = &checked {
            prop_assert!(!problem.problems.is_empty());
            let text = problem.display_with("p").to_string();
            prop_assert!(
                text.starts_with(&format!("p:{}: ", problem.line)),
                "{}",
                text
            );
        }
    }
    Ok(())
}

/// A text cell: printable, with commas, quotes, newlines, non-ASCII and what a spreadsheet
/// would evaluate; never blank, never `$`.
fn cell() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_ ,\"\n'é日.=+@-]{0,12}[a-zA-Z0-9é]"
}

/// A name as the readers keep it: a cell without leading whitespace (names are trimmed).
fn name() -> impl Strategy<Value = String> {
    cell().prop_map(|cell| cell.trim().to_owned())
}

fn environment() -> impl Strategy<Value = (ConnectionId, NewEnvironment)> {
    (
        any::<u128>(),
        name(),
        cell(),
        prop::option::of(any::<u128>()),
        prop::option::of(cell()),
        prop::option::of(cell()),
    )
        .prop_map(|(conn, name, schema, owner, plain, secret)| {
            let mut env = NewEnvironment::new(name, schema);
            env.owner_id = owner.map(|o| Uuid::from_u128(o).to_string());
            if let Some(value) = plain {
                env = env.with_variable(NewVariable::plain("A", value));
            }
            if let Some(value) = secret {
                env = env.with_variable(NewVariable::secret("B", value));
            }
            (ConnectionId::new(Uuid::from_u128(conn)), env)
        })
}

fn write_csv(rows: &[(ConnectionId, NewEnvironment)]) -> (Vec<u8>, Vec<u64>) {
    let mut data = HEADER.as_bytes().to_vec();
    let mut starts = Vec::new();
    for (conn, env) in rows {
        starts.push(line_count(&data));
        let value = |secret: bool| {
            env.variables
                .iter()
                .flatten()
                .find(|v| v.value.is_secret() == secret)
                .map(|v| {
                    serde_json::to_value(v).unwrap()["value"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .unwrap_or_default()
        };
        let cells = [
            conn.to_string(),
            env.name.clone(),
            env.target_schema.clone(),
            env.owner_id.clone().unwrap_or_default(),
            value(false),
            value(true),
        ];
        data.extend(CsvLine::default().encode(cells).unwrap());
    }
    (data, starts)
}

proptest! {
    #[test]
    fn arbitrary_csv_never_panics_and_every_item_has_a_line(body in csvish_bytes(), with_header in any::<bool>()) {
        let mut data = if with_header { HEADER.as_bytes().to_vec() } else { Vec::new() };
        data.extend(body);
        assert_every_item_has_a_line(data, Format::Csv)?;
    }

    #[test]
    fn arbitrary_jsonl_never_panics_and_every_item_has_a_line(data in csvish_bytes()) {
        assert_every_item_has_a_line(data, Format::Jsonl)?;
    }

    #[test]
    fn arbitrary_raw_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        assert_every_item_has_a_line(data.clone(), Format::Csv)?;
        assert_every_item_has_a_line(data, Format::Jsonl)?;
    }

    #[test]
    fn valid_rows_round_trip_through_csv(rows in prop::collection::vec(environment(), 0..12)) {
        let (data, starts) = write_csv(&rows);
        let reader = InputReader::from_reader(Cursor::new(data), Format::Csv, "rt.csv", EnvLookup::empty()).unwrap();
        let read: Vec<_> = reader.map(|item| item.unwrap()).collect();
        prop_assert_eq!(read.len(), rows.len());
        for (i, (item, (conn, env))) in read.iter().zip(&rows).enumerate() {
            let row = item.as_ref().map_err(|p| TestCaseError::fail(format!("{p:?}")))?;
            prop_assert_eq!(row.row, i as u64 + 1);
            prop_assert_eq!(row.line, starts[i]);
            prop_assert_eq!(&row.connection, conn);
            prop_assert_eq!(
                serde_json::to_value(&row.environment).unwrap(),
                serde_json::to_value(env).unwrap()
            );
        }
    }

    #[test]
    fn valid_rows_round_trip_through_jsonl(rows in prop::collection::vec(environment(), 0..12)) {
        let mut data = Vec::new();
        for (conn, env) in &rows {
            let mut object = serde_json::to_value(env).unwrap();
            object["connectionId"] = serde_json::Value::String(conn.to_string());
            data.extend(serde_json::to_vec(&object).unwrap());
            data.push(b'\n');
        }
        let reader = InputReader::from_reader(Cursor::new(data), Format::Jsonl, "rt.jsonl", EnvLookup::empty()).unwrap();
        let read: Vec<_> = reader.map(|item| item.unwrap()).collect();
        prop_assert_eq!(read.len(), rows.len());
        for (i, (item, (conn, env))) in read.iter().zip(&rows).enumerate() {
            let row = item.as_ref().map_err(|p| TestCaseError::fail(format!("{p:?}")))?;
            prop_assert_eq!(row.line, i as u64 + 1);
            prop_assert_eq!(&row.connection, conn);
            prop_assert_eq!(
                serde_json::to_value(&row.environment).unwrap(),
                serde_json::to_value(env).unwrap()
            );
        }
    }
}
