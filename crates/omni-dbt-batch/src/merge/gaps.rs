//! The rows no file recorded: against the input when it is given (`--input`, which must agree
//! with every record on each row's line and name), else the holes below the last row recorded.

use super::index::{name_hash, Entry, Index};
use super::{MergeError, MissingRow};
use crate::read::checked::Checked;
use crate::read::input::InputSource;
use crate::read::input::{DbtOptions, Format};
use crate::read::source::InputFile;

/// The rows of the input (`input`, else rows 1 to the last recorded) that `rows` (sorted, one
/// per row) does not hold. With an input, each recorded row must be the input's row of that
/// number: the same line and name.
pub(crate) fn missing_rows(
    index: &Index,
    rows: &[Entry],
    input: Option<(&InputSource, Option<Format>)>,
) -> Result<Vec<MissingRow>, MergeError> {
    match input {
        Some((source, format)) => against_input(index, rows, source, format),
        None => Ok(holes(rows)),
    }
}

fn holes(rows: &[Entry]) -> Vec<MissingRow> {
    let mut missing = Vec::new();
    let mut expected = 1;
    for entry in rows {
        missing.extend((expected..entry.row).map(|row| MissingRow {
            row,
            line: None,
            name: None,
        }));
        expected = entry.row + 1;
    }
    missing
}

fn against_input(
    index: &Index,
    rows: &[Entry],
    source: &InputSource,
    format: Option<Format>,
) -> Result<Vec<MissingRow>, MergeError> {
    let input = InputFile::open(source, format, &DbtOptions::default(), None)?;
    let mut recorded = rows.iter().peekable();
    let mut missing = Vec::new();
    let mut last_row = 0;
    for checked in input.checked()? {
        let checked = checked?;
        let (row, line) = (checked.row(), checked_line(&checked));
        let name = match &checked {
            Checked::Valid(valid) => valid.environment.name.clone(),
            Checked::Invalid(problem) => problem.name.clone(),
        };
        last_row = row;
        match recorded.next_if(|entry| entry.row == row) {
            None => missing.push(MissingRow {
                row,
                line: Some(line),
                name: Some(name),
            }),
            Some(entry) if entry.line != line || entry.name_hash != name_hash(&name) => {
                return Err(MergeError::DifferentInputs {
                    first: index.place(entry.file, entry.at),
                    second: format!("{}:{line}", input.display_name()),
                    reason: format!("row {row} of the input is line {line} ({name:?}), which the record does not match"),
                });
            }
            Some(_) => {}
        }
    }
    if let Some(entry) = recorded.next() {
        return Err(MergeError::DifferentInputs {
            first: index.place(entry.file, entry.at),
            second: input.display_name().to_owned(),
            reason: format!("row {} is beyond the input's {last_row} rows", entry.row),
        });
    }
    Ok(missing)
}

fn checked_line(checked: &Checked) -> u64 {
    match checked {
        Checked::Valid(row) => row.line,
        Checked::Invalid(problem) => problem.line,
    }
}
