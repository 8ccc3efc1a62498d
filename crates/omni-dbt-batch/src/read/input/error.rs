//! Fatal input errors: the input cannot be read at all, or its header makes every row meaningless.

use std::io;
use std::path::PathBuf;

/// A problem that stops reading the input. Row-level problems are [`super::RowProblem`]s instead.
///
/// Messages name the file (and line where known) and say what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The input file could not be opened.
    #[error(
        "cannot open input file {}: {source}; check the path and its permissions (use - to read stdin)",
        path.display()
    )]
    Open {
        /// The path as given.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },

    /// The format could not be told from the file's name.
    #[error(
        "cannot tell the format of {file}: name the file .csv, .jsonl, .ndjson or .yml, or pass --format csv|jsonl|dbt-profiles"
    )]
    UnknownFormat {
        /// The input's display name.
        file: String,
    },

    /// A CSV input without even a header row.
    #[error(
        "{file}: the input is empty; a CSV input starts with a header row such as \
         connection_id,name,target_schema"
    )]
    Empty {
        /// The input's display name.
        file: String,
    },

    /// A CSV header names a column that is not known.
    #[error(
        "{file}:{line}: unknown column {column:?} (column {position}){hint}",
        hint = unknown_column_hint(column, suggestion.as_deref())
    )]
    UnknownColumn {
        /// The input's display name.
        file: String,
        /// The header's line.
        line: u64,
        /// The column's header as written.
        column: String,
        /// Its 1-based position.
        position: usize,
        /// The closest known column, if one is close.
        suggestion: Option<String>,
    },

    /// Required columns are missing from a CSV header.
    #[error(
        "{file}:{line}: missing required column{} {}; the header must name connection_id, name and target_schema",
        if missing.len() == 1 { "" } else { "s" },
        missing.join(", ")
    )]
    MissingColumns {
        /// The input's display name.
        file: String,
        /// The header's line.
        line: u64,
        /// The missing columns, in their canonical spelling.
        missing: Vec<String>,
    },

    /// A CSV header names the same column twice.
    #[error(
        "{file}:{line}: column {column:?} appears twice (columns {first} and {second}); keep one of them"
    )]
    DuplicateColumn {
        /// The input's display name.
        file: String,
        /// The header's line.
        line: u64,
        /// The column, as written the second time.
        column: String,
        /// 1-based position of the first occurrence.
        first: usize,
        /// 1-based position of the second occurrence.
        second: usize,
    },

    /// A CSV header is unusable for another reason (not UTF-8, an empty column name, ...).
    #[error("{file}:{line}: bad header: {message}")]
    BadHeader {
        /// The input's display name.
        file: String,
        /// The header's line.
        line: u64,
        /// What is wrong and what to do.
        message: String,
    },

    /// A dbt profiles.yml that cannot be read, or lacks what the options ask for.
    #[error(transparent)]
    Dbt(#[from] super::dbt::DbtError),

    /// Reading failed part-way.
    #[error("{file}{}: read error: {source}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Read {
        /// The input's display name.
        file: String,
        /// The line being read, when known.
        line: Option<u64>,
        /// The I/O error.
        source: io::Error,
    },
}

impl InputError {
    /// The input line the error is about, when it has one: for a message format that places
    /// it (an annotation on that line of a pull request).
    ///
    /// ```
    /// use omni_dbt_batch::InputError;
    /// let error = InputError::Empty { file: "envs.csv".into() };
    /// assert_eq!(error.line(), None);
    /// ```
    pub fn line(&self) -> Option<u64> {
        match self {
            Self::UnknownColumn { line, .. }
            | Self::MissingColumns { line, .. }
            | Self::DuplicateColumn { line, .. }
            | Self::BadHeader { line, .. } => Some(*line),
            Self::Read { line, .. } => *line,
            Self::Dbt(error) => error.line(),
            // Open, UnknownFormat, Empty: the whole input; a kind added later names no line
            // until it says otherwise here.
            _ => None,
        }
    }
}

fn unknown_column_hint(column: &str, suggestion: Option<&str>) -> String {
    let variable =
        format!("for a variable, name the column var:{column} (plain) or secret:{column} (secret)");
    match suggestion {
        Some(known) => format!(": did you mean {known:?}? ({variable})"),
        None => format!(
            "; known columns are connection_id, name, target_schema, target_database, \
             target_name, target_role and owner_id; {variable}"
        ),
    }
}
