//! The validation pass over input rows, shared by `validate` and the run so both give the same verdicts.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use omni_dbt_core::{ConnectionId, FieldError};
use sha2::{Digest, Sha256};

use crate::input::field::{input_spelling, Field};
use crate::input::{InputError, InputReader, InputRow, RowProblem};
use crate::shard::Shard;

/// The verdict on one row.
#[derive(Clone, Debug)]
pub enum Checked {
    /// The row can be sent.
    Valid(InputRow),
    /// The row cannot be sent; every problem found is listed.
    Invalid(RowProblem),
}

impl Checked {
    /// The row's 1-based index in the input.
    pub fn row(&self) -> u64 {
        match self {
            Checked::Valid(row) => row.row,
            Checked::Invalid(problem) => problem.row,
        }
    }

    /// The input line where the row starts.
    pub fn line(&self) -> u64 {
        match self {
            Checked::Valid(row) => row.line,
            Checked::Invalid(problem) => problem.line,
        }
    }
}

/// Reads and checks rows: parse problems from the reader, Omni's rules
/// ([`omni_dbt_core::validate()`], with fields spelt as in the input), and duplicate
/// `(connection, name)` pairs. With a shard, rows of other shards are skipped entirely.
///
/// Duplicates: the first row of a pair is judged on its own; the second and later ones are
/// invalid ("duplicate of the row on line N"). Names are compared after trimming, case-sensitively.
/// Rows that are invalid for other reasons still claim their key. Memory: 24 bytes per distinct
/// key (a 128-bit hash of connection and name, and the first line), never the name itself.
///
/// An iterator of `Result<Checked, InputError>`; an error is fatal and ends it.
///
/// ```
/// use omni_dbt_batch::checked::{scan, CheckedRows};
/// use omni_dbt_batch::input::{EnvLookup, Format, InputReader};
/// let csv = "connection_id,name,target_schema\n\
///            550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_alice\n\
///            550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_alice2\n\
///            550e8400-e29b-41d4-a716-446655440000,dev_bob,\n";
/// let reader = InputReader::from_reader(csv.as_bytes(), Format::Csv, "envs.csv", EnvLookup::empty())?;
/// let report = scan(CheckedRows::new(reader, None), 10)?;
/// assert_eq!((report.rows, report.valid, report.invalid), (3, 1, 2));
/// assert_eq!(
///     report.problems[0].display_with("envs.csv").to_string(),
///     "envs.csv:3: name: duplicate of the row on line 2 (same connection_id and name); keep one of them"
/// );
/// assert_eq!(
///     report.problems[1].display_with("envs.csv").to_string(),
///     "envs.csv:4: target_schema: must not be empty or blank"
/// );
/// # Ok::<(), omni_dbt_batch::input::InputError>(())
/// ```
pub struct CheckedRows {
    reader: InputReader,
    shard: Option<Shard>,
    first_line: HashMap<[u64; 2], u64>,
}

impl std::fmt::Debug for CheckedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedRows")
            .field("reader", &self.reader)
            .field("shard", &self.shard)
            .field("keys", &self.first_line.len())
            .finish()
    }
}

impl CheckedRows {
    /// Checks the rows of `reader`, keeping only those of `shard` when given.
    pub fn new(reader: InputReader, shard: Option<Shard>) -> Self {
        Self {
            reader,
            shard,
            first_line: HashMap::new(),
        }
    }

    /// How messages name the input.
    pub fn display_name(&self) -> &str {
        self.reader.display_name()
    }

    fn check_valid(&mut self, row: InputRow) -> Option<Checked> {
        if self.shard.is_some_and(|s| !s.contains(&row.connection)) {
            return None;
        }
        let format = self.reader.format();
        let mut problems: Vec<FieldError> = match row.environment.validate() {
            Ok(()) => Vec::new(),
            Err(errors) => errors
                .into_iter()
                .map(|e| FieldError {
                    field: input_spelling(format, &row.environment, &e.field),
                    message: e.message,
                })
                .collect(),
        };
        if let Some(duplicate) = self.claim(&row.connection, &row.environment.name, row.line) {
            problems.push(duplicate);
        }
        if problems.is_empty() {
            return Some(Checked::Valid(row));
        }
        Some(Checked::Invalid(RowProblem {
            row: row.row,
            line: row.line,
            column: None,
            connection_id: row.connection.to_string(),
            name: row.environment.name,
            problems,
        }))
    }

    fn check_invalid(&mut self, mut problem: RowProblem) -> Option<Checked> {
        if self
            .shard
            .is_some_and(|s| !s.contains_raw(&problem.connection_id))
        {
            return None;
        }
        if let Ok(connection) = problem.connection_id.parse::<ConnectionId>() {
            if let Some(duplicate) = self.claim(&connection, &problem.name, problem.line) {
                problem.problems.push(duplicate);
            }
        }
        Some(Checked::Invalid(problem))
    }

    /// Records the key of a row on `line`; the problem to report if an earlier row had it.
    fn claim(&mut self, connection: &ConnectionId, name: &str, line: u64) -> Option<FieldError> {
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        match self.first_line.entry(key_hash(connection, name)) {
            Entry::Vacant(entry) => {
                entry.insert(line);
                None
            }
            Entry::Occupied(entry) => {
                let format = self.reader.format();
                Some(FieldError::new(
                    Field::Name.spelling(format),
                    format!(
                        "duplicate of the row on line {} (same {} and name); keep one of them",
                        entry.get(),
                        Field::ConnectionId.spelling(format)
                    ),
                ))
            }
        }
    }
}

/// A 128-bit hash of `(connection, name)`: 16 bytes of SHA-256, so collisions are negligible
/// even for billions of rows.
fn key_hash(connection: &ConnectionId, name: &str) -> [u64; 2] {
    let mut sha = Sha256::new();
    sha.update(connection.as_uuid().as_bytes());
    sha.update(name.as_bytes());
    let digest = sha.finalize();
    let mut halves = [[0u8; 8]; 2];
    halves[0].copy_from_slice(&digest[..8]);
    halves[1].copy_from_slice(&digest[8..16]);
    [u64::from_le_bytes(halves[0]), u64::from_le_bytes(halves[1])]
}

impl Iterator for CheckedRows {
    type Item = Result<Checked, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let checked = match self.reader.next()? {
                Err(error) => return Some(Err(error)),
                Ok(Ok(row)) => self.check_valid(row),
                Ok(Err(problem)) => self.check_invalid(problem),
            };
            if let Some(checked) = checked {
                return Some(Ok(checked));
            }
        }
    }
}

/// The outcome of checking a whole input (the `validate` command and the run's first pass).
#[derive(Clone, Debug, Default)]
pub struct ScanReport {
    /// Rows checked (of the shard, when one is given).
    pub rows: u64,
    /// Rows that can be sent.
    pub valid: u64,
    /// Rows that cannot.
    pub invalid: u64,
    /// The first invalid rows, at most the `max_listed` given to [`scan`].
    pub problems: Vec<RowProblem>,
    /// The connections of the valid rows.
    pub connections: BTreeSet<ConnectionId>,
}

/// Checks every row and counts the verdicts, keeping the first `max_listed` problems.
/// Stops at the first fatal [`InputError`].
pub fn scan(rows: CheckedRows, max_listed: usize) -> Result<ScanReport, InputError> {
    let mut report = ScanReport::default();
    for checked in rows {
        report.rows += 1;
        match checked? {
            Checked::Valid(row) => {
                report.valid += 1;
                report.connections.insert(row.connection);
            }
            Checked::Invalid(problem) => {
                report.invalid += 1;
                if report.problems.len() < max_listed {
                    report.problems.push(problem);
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{EnvLookup, Format};

    const A: &str = "550e8400-e29b-41d4-a716-446655440000";
    const B: &str = "650e8400-e29b-41d4-a716-446655440000";

    fn checked(format: Format, data: &str, shard: Option<Shard>) -> Vec<Checked> {
        let cursor = std::io::Cursor::new(data.as_bytes().to_vec());
        let reader = InputReader::from_reader(cursor, format, "t", EnvLookup::empty()).unwrap();
        CheckedRows::new(reader, shard)
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn csv(rows: &[&str]) -> String {
        let mut data = "connection_id,name,target_schema,owner_id,var:A,secret:A\n".to_owned();
        for row in rows {
            data.push_str(row);
            data.push('\n');
        }
        data
    }

    fn invalid(checked: &Checked) -> &RowProblem {
        match checked {
            Checked::Invalid(problem) => problem,
            Checked::Valid(row) => panic!("row {} is valid", row.row),
        }
    }

    #[test]
    fn readers_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<InputReader>();
        assert_send::<CheckedRows>();
        assert_send::<Checked>();
    }

    #[test]
    fn second_and_later_duplicates_are_invalid() {
        let rows = checked(
            Format::Csv,
            &csv(&[
                &format!("{A},dev,s,,,"),
                &format!("{B},dev,s,,,"),
                &format!("{A}, dev ,s2,,,"),
                &format!("{A},Dev,s,,,"),
                &format!("{A},dev,s3,,,"),
            ]),
            None,
        );
        assert!(matches!(rows[0], Checked::Valid(_)));
        assert!(matches!(rows[1], Checked::Valid(_)), "other connection");
        let third = invalid(&rows[2]);
        assert_eq!(third.problems[0].field, "name");
        assert!(third.problems[0].message.contains("line 2"), "{third:?}");
        assert!(matches!(rows[3], Checked::Valid(_)), "case-sensitive");
        assert!(invalid(&rows[4]).problems[0].message.contains("line 2"));
    }

    #[test]
    fn core_problems_use_csv_column_names() {
        let rows = checked(
            Format::Csv,
            &csv(&[&format!("{A},dev,,not-a-uuid,x,y")]),
            None,
        );
        let fields: Vec<_> = invalid(&rows[0])
            .problems
            .iter()
            .map(|p| p.field.as_str())
            .collect();
        assert_eq!(fields, ["target_schema", "owner_id", "secret:A"]);
    }

    #[test]
    fn jsonl_problems_keep_api_paths() {
        let line =
            format!(r#"{{"connectionId":"{A}","name":"dev","targetSchema":"s","variables":[]}}"#);
        let rows = checked(Format::Jsonl, &line, None);
        assert_eq!(invalid(&rows[0]).problems[0].field, "variables");
    }

    #[test]
    fn shard_filter_drops_other_shards_rows_without_counting_them() {
        let data = csv(&[
            &format!("{A},a,s,,,"),
            &format!("{B},b,s,,,"),
            &format!("{A},c,,,,"),
            "bad-id,d,s,,,",
        ]);
        let mut seen = Vec::new();
        for k in 1..=2 {
            let shard = Shard::new(k, 2).unwrap();
            let rows = checked(Format::Csv, &data, Some(shard));
            for row in &rows {
                let conn = match row {
                    Checked::Valid(r) => r.connection.to_string(),
                    Checked::Invalid(p) => p.connection_id.clone(),
                };
                assert!(shard.contains_raw(&conn));
            }
            seen.extend(rows.iter().map(Checked::row));
        }
        seen.sort_unstable();
        assert_eq!(seen, [1, 2, 3, 4], "each row in exactly one shard");
    }

    #[test]
    fn scan_counts_and_keeps_the_first_problems() {
        let data = csv(&[
            &format!("{A},a,s,,,"),
            &format!("{A},b,,,,"),
            &format!("{B},c,,,,"),
            &format!("{B},d,s,,,"),
        ]);
        let cursor = std::io::Cursor::new(data.into_bytes());
        let reader =
            InputReader::from_reader(cursor, Format::Csv, "t", EnvLookup::empty()).unwrap();
        let report = scan(CheckedRows::new(reader, None), 1).unwrap();
        assert_eq!((report.rows, report.valid, report.invalid), (4, 2, 2));
        assert_eq!(report.problems.len(), 1);
        assert_eq!(report.problems[0].line, 3);
        assert_eq!(report.connections.len(), 2);
    }
}
