//! The bytes of one results record in each format: the column list, encoding and decoding.

use std::fmt;
use std::str::FromStr;

use omni_dbt_core::EnvironmentId;
use serde::Serialize;

use super::Format;
use crate::csv_cells::{unguard_owned, CsvLine};
use crate::record::{ErrorKind, RowRecord, Status};

/// The columns of the results file, in order (the CSV header and the JSONL keys).
pub const COLUMNS: [&str; 11] = [
    "row",
    "line",
    "connection_id",
    "name",
    "status",
    "environment_id",
    "attempts",
    "http_status",
    "error_kind",
    "error",
    "fingerprint",
];

/// The CSV header line, terminator included.
pub(crate) const CSV_HEADER: &str =
    "row,line,connection_id,name,status,environment_id,attempts,http_status,error_kind,error,fingerprint\n";

/// A record as written: the fields of [`RowRecord`] in column order, borrowed, with an empty
/// error message written as absent (CSV cannot tell an empty cell from a missing one, so both
/// formats agree on that), and so are the row and line of a pruned environment.
#[derive(Serialize)]
struct WrittenRecord<'a> {
    row: Option<u64>,
    line: Option<u64>,
    connection_id: &'a str,
    name: &'a str,
    status: Status,
    environment_id: Option<EnvironmentId>,
    attempts: u32,
    http_status: Option<u16>,
    error_kind: Option<ErrorKind>,
    error: Option<&'a str>,
    fingerprint: &'a str,
}

impl<'a> From<&'a RowRecord> for WrittenRecord<'a> {
    fn from(record: &'a RowRecord) -> Self {
        Self {
            row: Some(record.row).filter(|_| record.is_input_row()),
            line: Some(record.line).filter(|_| record.is_input_row()),
            connection_id: &record.connection_id,
            name: &record.name,
            status: record.status,
            environment_id: record.environment_id,
            attempts: record.attempts,
            http_status: record.http_status,
            error_kind: record.error_kind,
            error: record.error.as_deref().filter(|error| !error.is_empty()),
            fingerprint: &record.fingerprint,
        }
    }
}

/// Why a results file cannot be YAML: it is appended to record by record.
const NOT_A_RESULTS_FORMAT: &str = "results files are CSV or JSONL, not dbt profiles";

impl WrittenRecord<'_> {
    /// The CSV cells, in column order; an absent value is an empty cell.
    fn cells(&self) -> [String; COLUMNS.len()] {
        fn text<T: ToString>(value: Option<T>) -> String {
            value.map_or_else(String::new, |value| value.to_string())
        }
        [
            text(self.row),
            text(self.line),
            self.connection_id.to_owned(),
            self.name.to_owned(),
            self.status.to_string(),
            text(self.environment_id),
            self.attempts.to_string(),
            text(self.http_status),
            text(self.error_kind),
            text(self.error),
            self.fingerprint.to_owned(),
        ]
    }
}

/// Turns records into lines of one format, reusing one buffer.
#[derive(Debug)]
pub(crate) struct Encoder {
    format: Format,
    buf: Vec<u8>,
    line: CsvLine,
}

impl Encoder {
    /// An encoder for `format`.
    pub(super) fn new(format: Format) -> Self {
        Self {
            format,
            buf: Vec::with_capacity(512),
            line: CsvLine::default(),
        }
    }

    /// The bytes of `record` as one line (one CSV record), ending with `\n`.
    pub(super) fn encode(&mut self, record: &RowRecord) -> Result<&[u8], String> {
        self.buf.clear();
        let written = WrittenRecord::from(record);
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.buf, &written).map_err(|e| e.to_string())?;
                self.buf.push(b'\n');
            }
            Format::Csv => {
                return self.line.encode(written.cells()).map_err(|e| e.to_string());
            }
            Format::DbtProfiles => return Err(NOT_A_RESULTS_FORMAT.to_owned()),
        }
        Ok(&self.buf)
    }
}

/// Whether `bytes` is the CSV header line (either line ending).
pub(crate) fn is_csv_header(bytes: &[u8]) -> bool {
    let header = CSV_HEADER.trim_end().as_bytes();
    bytes.strip_suffix(b"\n").map(trim_cr) == Some(header)
}

/// What to say when a CSV results file does not start with its header.
pub(crate) fn missing_header_message() -> String {
    format!(
        "a CSV results file starts with the header `{}`",
        CSV_HEADER.trim_end()
    )
}

fn trim_cr(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// Parses one record (the bytes of one line, one CSV record) of `format`.
pub(crate) fn decode(format: Format, bytes: &[u8]) -> Result<RowRecord, String> {
    let record = match format {
        Format::Jsonl => serde_json::from_slice(bytes).map_err(|e| e.to_string())?,
        Format::Csv => decode_csv(bytes)?,
        Format::DbtProfiles => return Err(NOT_A_RESULTS_FORMAT.to_owned()),
    };
    if !record.is_input_row() && record.environment_id.is_none() {
        // Without a row, the environment id is what identifies the record.
        return Err(
            "a record without a row (a pruned environment) must have an environment_id".to_owned(),
        );
    }
    Ok(record)
}

fn decode_csv(bytes: &[u8]) -> Result<RowRecord, String> {
    let fields = split_csv(bytes)?;
    if fields.len() != COLUMNS.len() {
        return Err(format!(
            "expected {} columns ({}), found {}",
            COLUMNS.len(),
            COLUMNS.join(","),
            fields.len()
        ));
    }
    let mut fields = fields.into_iter();
    let mut next = || unguard_owned(fields.next().unwrap_or_default());
    Ok(RowRecord {
        row: parse_optional(0, next())?.unwrap_or(0),
        line: parse_optional(1, next())?.unwrap_or(0),
        connection_id: next(),
        name: next(),
        status: parse(4, next())?,
        environment_id: parse_optional(5, next())?,
        attempts: parse(6, next())?,
        http_status: parse_optional(7, next())?,
        error_kind: parse_optional(8, next())?,
        error: Some(next()).filter(|error| !error.is_empty()),
        fingerprint: next(),
    })
}

/// Splits one CSV record into its fields: RFC 4180, as the `csv` crate writes it (`,`
/// separators, `"` quotes with `""` inside, a `\n` or `\r\n` terminator).
///
/// The `csv` crate's reader would do, but building one per record costs more than the parse.
fn split_csv(bytes: &[u8]) -> Result<Vec<String>, String> {
    let line = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let line = trim_cr(line);
    let text = std::str::from_utf8(line).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut fields = Vec::with_capacity(COLUMNS.len());
    let mut rest = text;
    loop {
        let (field, after) = match rest.strip_prefix('"') {
            Some(quoted) => split_quoted(quoted)?,
            None => match rest.split_once(',') {
                Some((field, after)) => (field.to_owned(), Some(after)),
                None => (rest.to_owned(), None),
            },
        };
        fields.push(field);
        match after {
            Some(after) => rest = after,
            None => return Ok(fields),
        }
    }
}

/// Reads a quoted field (its opening quote already taken): the field and what follows its
/// separator, `None` at the end of the record.
fn split_quoted(mut rest: &str) -> Result<(String, Option<&str>), String> {
    let mut field = String::new();
    loop {
        let Some((chunk, after)) = rest.split_once('"') else {
            return Err("a quoted field has no closing quote".to_owned());
        };
        field.push_str(chunk);
        if let Some(after) = after.strip_prefix('"') {
            field.push('"');
            rest = after;
            continue;
        }
        return match after.strip_prefix(',') {
            Some(after) => Ok((field, Some(after))),
            None if after.is_empty() => Ok((field, None)),
            None => Err("text after the closing quote of a field".to_owned()),
        };
    }
}

/// Parses `cell`, the value of column `i`.
fn parse<T>(i: usize, cell: String) -> Result<T, String>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    cell.parse().map_err(|e| {
        let column = COLUMNS.get(i).copied().unwrap_or("?");
        format!("column {column}: cannot read {cell:?}: {e}")
    })
}

/// Parses `cell`, the value of column `i`, an empty cell being `None`.
fn parse_optional<T>(i: usize, cell: String) -> Result<Option<T>, String>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    if cell.is_empty() {
        Ok(None)
    } else {
        parse(i, cell).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_header_lists_the_columns_in_order() {
        assert_eq!(CSV_HEADER.trim_end(), COLUMNS.join(","));
        assert!(is_csv_header(CSV_HEADER.as_bytes()));
        assert!(is_csv_header(CSV_HEADER.replace('\n', "\r\n").as_bytes()));
        assert!(!is_csv_header(b"row,line\n"));
    }

    #[test]
    fn csv_decode_names_the_bad_column() {
        let message = decode(Format::Csv, b"1,2,c,n,made_up,,1,,,,f\n").unwrap_err();
        assert!(message.starts_with("column status:"), "{message}");
    }

    #[test]
    fn csv_split_reads_quoted_fields_and_either_line_ending() {
        let fields = split_csv(b"a,\"b,\"\"c\"\"\nd\",,\"\"\r\n").unwrap();
        assert_eq!(fields, ["a", "b,\"c\"\nd", "", ""]);
        assert_eq!(split_csv(b"x,\n").unwrap(), ["x", ""]);
    }

    #[test]
    fn csv_split_rejects_broken_quoting() {
        assert!(split_csv(b"a,\"b\n").is_err());
        assert!(split_csv(b"a,\"b\"c,d\n").is_err());
    }

    #[test]
    fn a_pruned_environment_is_written_without_row_and_line_and_read_back() {
        let record = RowRecord {
            row: 0,
            line: 0,
            connection_id: "c".into(),
            name: "stale".into(),
            status: Status::Deleted,
            environment_id: Some(uuid::Uuid::from_u128(9).into()),
            attempts: 1,
            http_status: Some(200),
            error_kind: None,
            error: None,
            fingerprint: "f".into(),
        };
        for format in [Format::Csv, Format::Jsonl] {
            let mut encoder = Encoder::new(format);
            let bytes = encoder.encode(&record).unwrap().to_vec();
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert!(
                text.starts_with(",,c,") || text.starts_with(r#"{"row":null,"line":null,"#),
                "{text}"
            );
            assert_eq!(decode(format, &bytes).unwrap(), record);
        }
    }

    #[test]
    fn a_record_without_row_or_environment_is_refused() {
        let message = decode(Format::Csv, b",,c,n,deleted,,1,,,,f\n").unwrap_err();
        assert!(message.contains("environment_id"), "{message}");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_evaluate_are_guarded_and_read_back() {
        let record = RowRecord {
            row: 1,
            line: 2,
            connection_id: "c".into(),
            name: "=cmd|' /C calc'!A0".into(),
            status: Status::Failed,
            environment_id: None,
            attempts: 1,
            http_status: Some(400),
            error_kind: Some(ErrorKind::Validation),
            error: Some("-x".into()),
            fingerprint: "f".into(),
        };
        let bytes = Encoder::new(Format::Csv).encode(&record).unwrap().to_vec();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "1,2,c,'=cmd|' /C calc'!A0,failed,,1,400,validation,'-x,f\n"
        );
        assert_eq!(decode(Format::Csv, &bytes).unwrap(), record);
        let json = Encoder::new(Format::Jsonl)
            .encode(&record)
            .unwrap()
            .to_vec();
        assert!(String::from_utf8(json).unwrap().contains(r#""name":"=cmd"#));
    }

    #[test]
    fn csv_decode_rejects_a_wrong_number_of_columns() {
        let message = decode(Format::Csv, b"1,2,c\n").unwrap_err();
        assert!(message.contains("expected 11 columns"), "{message}");
    }
}
