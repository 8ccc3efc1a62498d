//! The validation pass over input rows, shared by `validate` and the run so both give the same verdicts.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Arc;

use omni_dbt_core::{ConnectionId, FieldError};

use crate::read::duplicates::{Candidates, Duplicates, Key, KeyHashes};
use crate::read::input::field::{input_spelling, Field};
use crate::read::input::{Format, InputError, InputReader, InputRow, RowProblem};
use crate::read::shard::Shard;

/// The verdict on one row.
#[derive(Clone, Debug)]
pub(crate) enum Checked {
    /// The row can be sent.
    Valid(InputRow),
    /// The row cannot be sent; every problem found is listed.
    Invalid(RowProblem),
}

impl Checked {
    /// The row's 1-based index in the input.
    pub(crate) fn row(&self) -> u64 {
        match self {
            Checked::Valid(row) => row.row,
            Checked::Invalid(problem) => problem.row,
        }
    }

    /// The input line where the row starts.
    #[cfg(test)]
    pub(crate) fn line(&self) -> u64 {
        match self {
            Checked::Valid(row) => row.line,
            Checked::Invalid(problem) => problem.line,
        }
    }
}

/// Reads and checks rows: parse problems from the reader, Omni's rules
/// ([`omni_dbt_core::validate()`], with fields spelt as in the input), and duplicate
/// `(connection, name)` pairs as found beforehand by [`scan`]. With a shard, rows of other
/// shards are skipped entirely.
///
/// Duplicates: the first row of a pair is judged on its own; the second and later ones are
/// invalid ("duplicate of the row on line N"). Names are compared after trimming, case-sensitively.
/// Rows that are invalid for other reasons still claim their key. `CheckedRows` keeps no state
/// per row: it looks each row up in the [`Duplicates`] it is given (use
/// [`ScanReport::duplicates`] of the same input and shard).
///
/// An iterator of `Result<Checked, InputError>`; an error is fatal and ends it.
pub(crate) struct CheckedRows {
    reader: InputReader,
    judge: Judge,
    duplicates: Arc<Duplicates>,
}

impl std::fmt::Debug for CheckedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedRows")
            .field("reader", &self.reader)
            .field("shard", &self.judge.shard)
            .field("duplicates", &self.duplicates.len())
            .finish()
    }
}

impl CheckedRows {
    /// Checks the rows of `reader`, keeping only those of `shard` when given; the rows listed
    /// in `duplicates` are invalid.
    pub(crate) fn new(
        reader: InputReader,
        shard: Option<Shard>,
        duplicates: Arc<Duplicates>,
    ) -> Self {
        Self {
            judge: Judge {
                format: reader.format(),
                shard,
            },
            reader,
            duplicates,
        }
    }
}

impl Iterator for CheckedRows {
    type Item = Result<Checked, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let item = match self.reader.next()? {
                Err(error) => return Some(Err(error)),
                Ok(item) => item,
            };
            if !self.judge.in_shard(&item) {
                continue;
            }
            let checked = self.judge.verdict(item);
            return Some(Ok(match self.duplicates.first_line(checked.row()) {
                Some(first) => with_problem(checked, duplicate_problem(self.judge.format, first)),
                None => checked,
            }));
        }
    }
}

/// Judges one row on its own (everything but duplicates).
#[derive(Clone, Copy, Debug)]
struct Judge {
    format: Format,
    shard: Option<Shard>,
}

impl Judge {
    fn in_shard(&self, item: &Result<InputRow, RowProblem>) -> bool {
        match (self.shard, item) {
            (None, _) => true,
            (Some(shard), Ok(row)) => shard.contains(&row.connection),
            (Some(shard), Err(problem)) => shard.contains_raw(&problem.connection_id),
        }
    }

    fn verdict(&self, item: Result<InputRow, RowProblem>) -> Checked {
        let row = match item {
            Ok(row) => row,
            Err(problem) => return Checked::Invalid(problem),
        };
        match row.environment.validate() {
            Ok(()) => Checked::Valid(row),
            Err(errors) => {
                let problems = errors
                    .into_iter()
                    .map(|e| FieldError {
                        field: input_spelling(self.format, &row.environment, &e.field),
                        message: e.message,
                    })
                    .collect();
                Checked::Invalid(row_problem(row, problems))
            }
        }
    }
}

/// The problem of a row that repeats the key of the row on line `first`.
fn duplicate_problem(format: Format, first: u64) -> FieldError {
    // In a profiles.yml, names come from the name template: two profiles with the same
    // target in one connection collide until the template tells them apart.
    let advice = match format {
        Format::DbtProfiles => {
            "keep one of them, or name environments with --name-template \"{profile}_{target}\""
        }
        Format::Csv | Format::Jsonl => "keep one of them",
    };
    FieldError::new(
        Field::Name.spelling(format),
        format!(
            "duplicate of the row on line {first} (same {} and name); {advice}",
            Field::ConnectionId.spelling(format)
        ),
    )
}

/// A row that was read but cannot be sent.
fn row_problem(row: InputRow, problems: Vec<FieldError>) -> RowProblem {
    RowProblem {
        row: row.row,
        line: row.line,
        column: None,
        connection_id: row.connection.to_string(),
        name: row.environment.name,
        problems,
        problem_lines: Box::default(),
    }
}

/// `checked` with one more problem (a valid row becomes invalid).
fn with_problem(checked: Checked, problem: FieldError) -> Checked {
    match checked {
        Checked::Valid(row) => Checked::Invalid(row_problem(row, vec![problem])),
        Checked::Invalid(mut invalid) => {
            invalid.problems.push(problem);
            Checked::Invalid(invalid)
        }
    }
}

fn position(item: &Result<InputRow, RowProblem>) -> (u64, u64) {
    match item {
        Ok(row) => (row.row, row.line),
        Err(problem) => (problem.row, problem.line),
    }
}

/// The outcome of checking a whole input (the `validate` command and the run's first pass).
#[derive(Clone, Debug, Default)]
pub struct ScanReport {
    /// Rows checked (of the shard, when one is given).
    pub rows: u64,
    /// Rows of the whole input, every shard's.
    pub input_rows: u64,
    /// Rows that can be sent.
    pub valid: u64,
    /// Rows that cannot.
    pub invalid: u64,
    /// The first invalid rows, at most the `max_listed` given to the scan.
    pub problems: Vec<RowProblem>,
    /// The connections of the valid rows.
    pub connections: BTreeSet<ConnectionId>,
    /// The rows (of the shard) that repeat an earlier row's key; give them to
    /// [`CheckedRows::new`] for any later read of the same input.
    pub(crate) duplicates: Arc<Duplicates>,
}

/// A way to read the input from its start, as often as [`scan`] needs.
pub(crate) type Open<'a> = &'a dyn Fn() -> Result<InputReader, InputError>;

/// Checks every row and counts the verdicts, keeping the first `max_listed` problems, and finds
/// the duplicate rows. Stops at the first fatal [`InputError`].
///
/// Reads the input once, and a second time only when two rows' 32-bit key hashes are equal
/// (then only those rows' exact keys are kept): memory is about 4 bytes per row, never a
/// row's name, whatever the file's size.
pub(crate) fn scan(
    open: Open<'_>,
    shard: Option<Shard>,
    max_listed: usize,
) -> Result<ScanReport, InputError> {
    let reader = open()?;
    let judge = Judge {
        format: reader.format(),
        shard,
    };
    let mut report = ScanReport::default();
    let mut valid_rows: BTreeMap<ConnectionId, u64> = BTreeMap::new();
    let mut hashes = KeyHashes::new();
    for item in reader {
        let item = item?;
        report.input_rows += 1;
        if !judge.in_shard(&item) {
            continue;
        }
        if let Some(key) = Key::of_read(&item) {
            hashes.push(key.hash32());
        }
        report.rows += 1;
        match judge.verdict(item) {
            Checked::Valid(row) => {
                report.valid += 1;
                *valid_rows.entry(row.connection).or_default() += 1;
            }
            Checked::Invalid(problem) => {
                report.invalid += 1;
                if report.problems.len() < max_listed {
                    report.problems.push(problem);
                }
            }
        }
    }
    let candidates = hashes.candidates();
    if !candidates.is_empty() {
        find_duplicates(
            open,
            judge,
            candidates,
            max_listed,
            &mut report,
            &mut valid_rows,
        )?;
    }
    report.connections = valid_rows.into_keys().collect();
    Ok(report)
}

/// The second read: settles the candidates exactly, then corrects the first pass's counts and
/// problems for the duplicate rows.
fn find_duplicates(
    open: Open<'_>,
    judge: Judge,
    candidates: Candidates,
    max_listed: usize,
    report: &mut ScanReport,
    valid_rows: &mut BTreeMap<ConnectionId, u64>,
) -> Result<(), InputError> {
    let mut verifier = candidates.verifier();
    // Duplicate rows that are otherwise valid: how many, and the first of them as problems.
    let mut turned = 0u64;
    let mut turned_listed = Vec::new();
    for item in open()? {
        let item = item?;
        if !judge.in_shard(&item) {
            continue;
        }
        let Some(key) = Key::of_read(&item) else {
            continue;
        };
        let (row, line) = position(&item);
        let Some(first) = verifier.offer(key.hash32(), &key, row, line) else {
            continue;
        };
        let Checked::Valid(valid) = judge.verdict(item) else {
            continue;
        };
        turned += 1;
        if let Some(count) = valid_rows.get_mut(&valid.connection) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                valid_rows.remove(&valid.connection);
            }
        }
        if turned_listed.len() < max_listed {
            turned_listed.push(row_problem(
                valid,
                vec![duplicate_problem(judge.format, first)],
            ));
        }
    }
    let duplicates = verifier.finish();
    for problem in &mut report.problems {
        if let Some(first) = duplicates.first_line(problem.row) {
            problem
                .problems
                .push(duplicate_problem(judge.format, first));
        }
    }
    report.valid = report.valid.saturating_sub(turned);
    report.invalid += turned;
    report.problems = merge_by_row(
        std::mem::take(&mut report.problems),
        turned_listed,
        max_listed,
    );
    report.duplicates = Arc::new(duplicates);
    Ok(())
}

/// The first `max` problems of two lists sorted by row.
fn merge_by_row(a: Vec<RowProblem>, b: Vec<RowProblem>, max: usize) -> Vec<RowProblem> {
    let mut merged = Vec::with_capacity(max.min(a.len() + b.len()));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while merged.len() < max {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if y.row < x.row => b.next(),
            (Some(_), _) => a.next(),
            (None, _) => b.next(),
        };
        match next {
            Some(problem) => merged.push(problem),
            None => break,
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::input::{EnvLookup, Format};

    const A: &str = "550e8400-e29b-41d4-a716-446655440000";
    const B: &str = "650e8400-e29b-41d4-a716-446655440000";

    fn reader(format: Format, data: &str) -> Result<InputReader, InputError> {
        let cursor = std::io::Cursor::new(data.as_bytes().to_vec());
        InputReader::from_reader(cursor, format, "t", EnvLookup::empty())
    }

    fn scanned(data: &str, shard: Option<Shard>, max: usize) -> ScanReport {
        scan(&|| reader(Format::Csv, data), shard, max).unwrap()
    }

    /// The verdicts of the execute pass, with the duplicates of a scan of the same input.
    fn checked(format: Format, data: &str, shard: Option<Shard>) -> Vec<Checked> {
        let report = scan(&|| reader(format, data), shard, usize::MAX).unwrap();
        CheckedRows::new(reader(format, data).unwrap(), shard, report.duplicates)
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn lines(report: &ScanReport) -> Vec<u64> {
        report.problems.iter().map(|p| p.line).collect()
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
        let report = scanned(&data, None, 1);
        assert_eq!((report.rows, report.valid, report.invalid), (4, 2, 2));
        assert_eq!(report.problems.len(), 1);
        assert_eq!(report.problems[0].line, 3);
        assert_eq!(report.connections.len(), 2);
    }

    #[test]
    fn rows_invalid_for_other_reasons_still_claim_their_key() {
        let data = csv(&[
            &format!("{A},dev,,,,"),
            &format!("{A},dev,s,,,"),
            "bad-id,x,s,,,",
            "bad-id,x,s,,,",
        ]);
        let report = scanned(&data, None, 10);
        assert_eq!((report.rows, report.valid, report.invalid), (4, 0, 4));
        assert_eq!(lines(&report), [2, 3, 4, 5]);
        let dup = &report.problems[1].problems;
        assert_eq!(dup.len(), 1);
        assert!(dup[0].message.contains("line 2"), "{dup:?}");
        let both: Vec<_> = report.problems[3]
            .problems
            .iter()
            .map(|p| &p.field)
            .collect();
        assert_eq!(
            both,
            ["connection_id", "name"],
            "own problem, then the duplicate"
        );
        assert!(report.connections.is_empty(), "A has no valid row left");
        assert_eq!(
            report.duplicates.iter().collect::<Vec<_>>(),
            [(2, 2), (4, 4)]
        );
    }

    #[test]
    fn duplicate_problems_merge_into_the_listed_ones_in_row_order_and_cap() {
        let data = csv(&[
            &format!("{A},a,s,,,"),
            &format!("{A},b,,,,"),
            &format!("{A},a,s,,,"),
            &format!("{B},c,,,,"),
            &format!("{A},a,s,,,"),
        ]);
        let all = scanned(&data, None, 10);
        assert_eq!((all.rows, all.valid, all.invalid), (5, 1, 4));
        assert_eq!(lines(&all), [3, 4, 5, 6]);
        assert_eq!(
            all.problems[1].display_with("t").to_string(),
            "t:4: name: duplicate of the row on line 2 (same connection_id and name); keep one of them"
        );
        let connections: Vec<_> = all.connections.iter().map(ToString::to_string).collect();
        assert_eq!(connections, [A], "B's only row is invalid");
        let capped = scanned(&data, None, 2);
        assert_eq!((capped.valid, capped.invalid), (1, 4));
        assert_eq!(lines(&capped), [3, 4]);
    }

    #[test]
    fn execute_pass_gives_the_scans_verdicts() {
        let data = csv(&[
            &format!("{A},a,s,,,"),
            &format!("{A},a,,,,"),
            &format!("{A},a,s,,,"),
            &format!("{B},a,s,,,"),
        ]);
        let report = scanned(&data, None, 10);
        let rows = checked(Format::Csv, &data, None);
        let invalid: Vec<_> = rows
            .iter()
            .filter_map(|c| match c {
                Checked::Invalid(p) => Some(p.clone()),
                Checked::Valid(_) => None,
            })
            .collect();
        assert_eq!(invalid, report.problems);
        assert_eq!(invalid.len() as u64, report.invalid);
    }

    #[test]
    fn without_the_scans_duplicates_no_row_is_a_duplicate() {
        let data = csv(&[&format!("{A},a,s,,,"), &format!("{A},a,s,,,")]);
        let rows = CheckedRows::new(reader(Format::Csv, &data).unwrap(), None, Arc::default());
        assert!(rows
            .map(Result::unwrap)
            .all(|c| matches!(c, Checked::Valid(_))));
    }

    #[test]
    fn rows_outside_the_shard_neither_claim_nor_repeat_keys() {
        let data = csv(&[
            &format!("{A},a,s,,,"),
            &format!("{B},a,s,,,"),
            &format!("{A},a,s,,,"),
            &format!("{B},a,s,,,"),
        ]);
        let (mut found, mut rows) = (Vec::new(), 0);
        for k in 1..=2 {
            let shard = Shard::new(k, 2).unwrap();
            let report = scanned(&data, Some(shard), 10);
            rows += report.rows;
            let connections = report.connections.len() as u64;
            assert_eq!(
                report.valid, connections,
                "shard {k}: one row per connection survives"
            );
            found.extend(report.duplicates.iter());
        }
        found.sort_unstable();
        assert_eq!(rows, 4);
        assert_eq!(
            found,
            [(3, 2), (4, 3)],
            "each duplicate names its own connection's first row"
        );
    }

    #[test]
    fn a_fatal_error_on_the_second_read_is_returned() {
        let data = csv(&[&format!("{A},a,s,,,"), &format!("{A},a,s,,,")]);
        let reads = std::cell::Cell::new(0);
        let open = || {
            reads.set(reads.get() + 1);
            if reads.get() == 1 {
                reader(Format::Csv, &data)
            } else {
                reader(Format::Csv, "")
            }
        };
        assert!(scan(&open, None, 10).is_err());
        assert_eq!(reads.get(), 2);
    }

    #[test]
    fn no_second_read_without_a_repeated_hash() {
        let data = csv(&[&format!("{A},a,s,,,"), &format!("{A},b,s,,,")]);
        let reads = std::cell::Cell::new(0);
        let open = || {
            reads.set(reads.get() + 1);
            reader(Format::Csv, &data)
        };
        let report = scan(&open, None, 10).unwrap();
        assert_eq!((reads.get(), report.valid), (1, 2));
        assert!(report.duplicates.is_empty());
    }

    #[test]
    fn the_second_of_two_rows_with_one_key_is_invalid() -> Result<(), crate::read::input::InputError>
    {
        use crate::read::checked::{scan, Checked, CheckedRows};
        use crate::read::input::{EnvLookup, Format, InputReader};
        use std::sync::Arc;
        let csv = "connection_id,name,target_schema\n\
                   550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_alice\n\
                   550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_alice2\n";
        let open = || {
            InputReader::from_reader(csv.as_bytes(), Format::Csv, "envs.csv", EnvLookup::empty())
        };
        let report = scan(&open, None, 10)?;
        let rows = CheckedRows::new(open()?, None, Arc::clone(&report.duplicates));
        let verdicts: Vec<Checked> = rows.collect::<Result<_, _>>()?;
        assert!(matches!(verdicts[0], Checked::Valid(_)));
        assert!(matches!(verdicts[1], Checked::Invalid(_)));
        Ok(())
    }

    #[test]
    fn scan_counts_and_lists_problems() -> Result<(), crate::read::input::InputError> {
        use crate::read::checked::scan;
        use crate::read::input::{EnvLookup, Format, InputReader};
        let csv = "connection_id,name,target_schema\n\
                   550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_alice\n\
                   550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_alice2\n\
                   550e8400-e29b-41d4-a716-446655440000,dev_bob,\n";
        let open = || {
            InputReader::from_reader(csv.as_bytes(), Format::Csv, "envs.csv", EnvLookup::empty())
        };
        let report = scan(&open, None, 10)?;
        assert_eq!((report.rows, report.valid, report.invalid), (3, 1, 2));
        assert_eq!(
            report.problems[0].display_with("envs.csv").to_string(),
            "envs.csv:3: name: duplicate of the row on line 2 (same connection_id and name); keep one of them"
        );
        assert_eq!(
            report.problems[1].display_with("envs.csv").to_string(),
            "envs.csv:4: target_schema: must not be empty or blank"
        );
        assert_eq!(report.duplicates.first_line(2), Some(2));
        Ok(())
    }
}
