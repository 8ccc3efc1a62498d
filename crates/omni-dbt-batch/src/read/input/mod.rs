//! Reading input rows from CSV, JSONL or dbt profiles.yml files (or stdin) as a stream of rows or row problems.
//!
//! # Formats
//!
//! **CSV** (`.csv`): a header row, then one environment per row. Columns: `connection_id`, `name`,
//! `target_schema` (required), `target_database`, `target_name`, `target_role`, `owner_id`
//! (optional; camelCase spellings such as `connectionId` are accepted too); `var:NAME` columns
//! for plain variables and `secret:NAME` columns for secret ones. An empty (or blank) cell means "absent":
//! no such field, or no such variable for that row (a row with no variable sends none). UTF-8
//! with or without BOM, LF or CRLF, quoted fields (which may hold commas and newlines).
//!
//! **JSONL** (`.jsonl`, `.ndjson`): one JSON object per line in the API's create-body shape plus
//! `connectionId`; snake_case keys are accepted as aliases; blank lines are skipped; unknown keys
//! are an error.
//!
//! ```text
//! {"connectionId": "5a0e7e53-3b8c-4c1e-9d60-0f3a4c1b2d01", "name": "dev_alice", "targetSchema": "dbt_alice",
//!  "variables": [{"name": "DBT_API_KEY", "value": "${env:ALICE_KEY}", "isSecret": true}]}
//! ```
//!
//! In both formats an empty (or blank) optional field means absent, and variable values may be
//! references to the environment (`${env:NAME}`, see [`secret_ref`]).
//!
//! **dbt profiles.yml** (`.yml`, `.yaml`): each output (target) of each profile selected by
//! [`DbtOptions`] is one environment; see [`dbt`].
//!
//! The format comes from the extension or is given explicitly. On stdin (`-`) without an explicit
//! format, the first byte that is not whitespace (after a BOM) decides: `{` means JSONL,
//! anything else CSV (a profiles.yml on stdin needs `--format dbt-profiles`).
//!
//! Reading CSV and JSONL streams: one record buffer is reused, so memory does not grow with the
//! file. A profiles.yml is read whole: it is small, and YAML cannot be read line by line.

mod csv;
pub(crate) mod dbt;
mod error;
pub(crate) mod field;
mod jsonl;
mod row;
pub(crate) mod secret_ref;
mod suggest;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use omni_dbt_core::{ConnectionId, FieldError, NewEnvironment};

pub use dbt::{DbtError, DbtOptions, NameTemplate, ProfileConnection};
pub use error::InputError;
pub(crate) use secret_ref::EnvLookup;

use crate::read::map::ConnectionMap;

/// An input file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line (JSON Lines / NDJSON).
    Jsonl,
    /// A dbt `profiles.yml`: each output of each selected profile is one environment.
    DbtProfiles,
}

impl Format {
    /// The format named by `path`'s extension (`.csv`, `.jsonl`, `.ndjson`, `.yml`, `.yaml`,
    /// any case).
    ///
    /// ```
    /// use omni_dbt_batch::Format;
    /// use std::path::Path;
    /// assert_eq!(Format::from_path(Path::new("envs.NDJSON")), Some(Format::Jsonl));
    /// assert_eq!(Format::from_path(Path::new("profiles.yml")), Some(Format::DbtProfiles));
    /// assert_eq!(Format::from_path(Path::new("envs.txt")), None);
    /// ```
    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()?.to_str()?.parse().ok()
    }

    /// The lowercase name (`csv`, `jsonl`, `dbt-profiles`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::DbtProfiles => "dbt-profiles",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    /// Parses `csv`, `jsonl` or `ndjson`, `dbt-profiles` (or the extensions `yml`, `yaml`), any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            "dbt-profiles" | "yml" | "yaml" => Ok(Format::DbtProfiles),
            other => Err(format!(
                "unknown input format {other:?}: expected csv, jsonl (or ndjson) or dbt-profiles"
            )),
        }
    }
}

/// Where the input comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSource {
    /// A file.
    Path(PathBuf),
    /// Standard input.
    Stdin,
}

impl InputSource {
    /// `-` means stdin; anything else is a path.
    ///
    /// ```
    /// use omni_dbt_batch::InputSource;
    /// assert_eq!(InputSource::from_arg("-"), InputSource::Stdin);
    /// assert!(matches!(InputSource::from_arg("x.csv"), InputSource::Path(_)));
    /// ```
    pub fn from_arg(arg: &str) -> InputSource {
        if arg == "-" {
            InputSource::Stdin
        } else {
            InputSource::Path(PathBuf::from(arg))
        }
    }

    /// How messages name this source: the path as given, or `<stdin>`.
    pub fn display_name(&self) -> String {
        match self {
            InputSource::Path(path) => path.display().to_string(),
            InputSource::Stdin => "<stdin>".to_owned(),
        }
    }
}

/// A row that was read successfully: its position and the request it describes.
///
/// It has not been validated yet beyond parsing; [`crate::read::checked::CheckedRows`] does that.
#[derive(Clone, Debug)]
pub(crate) struct InputRow {
    /// 1-based index of the data row (header and blank lines not counted).
    pub row: u64,
    /// 1-based line of the input where the row starts.
    pub line: u64,
    /// The connection to create the environment in.
    pub connection: ConnectionId,
    /// The create body.
    pub environment: NewEnvironment,
}

/// A row that cannot be sent, with every problem found in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowProblem {
    /// 1-based index of the data row.
    pub row: u64,
    /// 1-based line of the input where the row starts.
    pub line: u64,
    /// 1-based column of the first problem, when known (JSON syntax errors).
    pub column: Option<u64>,
    /// The row's connection id as written (possibly empty or not a UUID).
    pub connection_id: String,
    /// The row's name as written (possibly empty).
    pub name: String,
    /// The problems; fields are spelt as in the input (CSV: `target_schema`, `var:NAME`;
    /// JSONL: `targetSchema`, `variables[0].name`; dbt: the setting, `schema`, `password`).
    /// Messages never contain variable values.
    pub problems: Vec<FieldError>,
    /// Where the first problems are, when not on `line`: `problem_lines[i]` is the line of
    /// `problems[i]`, and problems past its end are on `line`. A dbt output spans many lines,
    /// and each problem names the line of its own value.
    pub problem_lines: Box<[u64]>,
}

impl RowProblem {
    /// Renders one line per problem as `FILE:LINE: field: message`.
    ///
    /// ```
    /// use omni_dbt_batch::RowProblem;
    /// use omni_dbt_core::FieldError;
    /// let problem = RowProblem {
    ///     row: 1, line: 2, column: None, connection_id: String::new(), name: "dev".into(),
    ///     problems: vec![FieldError::new("target_schema", "must not be empty or blank")],
    ///     problem_lines: Box::default(),
    /// };
    /// assert_eq!(
    ///     problem.display_with("envs.csv").to_string(),
    ///     "envs.csv:2: target_schema: must not be empty or blank"
    /// );
    /// ```
    pub fn display_with<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        ProblemLines {
            problem: self,
            file,
        }
    }

    /// The line of `problems[index]`.
    ///
    /// ```
    /// use omni_dbt_batch::RowProblem;
    /// use omni_dbt_core::FieldError;
    /// let problem = RowProblem {
    ///     row: 1, line: 4, column: None, connection_id: String::new(), name: "dev".into(),
    ///     problems: vec![FieldError::new("password", "not set"), FieldError::new("name", "taken")],
    ///     problem_lines: Box::new([9]),
    /// };
    /// assert_eq!((problem.line_of(0), problem.line_of(1)), (9, 4));
    /// ```
    pub fn line_of(&self, index: usize) -> u64 {
        self.problem_lines.get(index).copied().unwrap_or(self.line)
    }
}

struct ProblemLines<'a> {
    problem: &'a RowProblem,
    file: &'a str,
}

impl fmt::Display for ProblemLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file;
        if self.problem.problems.is_empty() {
            return write!(f, "{file}:{}: row: invalid", self.problem.line);
        }
        for (i, problem) in self.problem.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            let line = self.problem.line_of(i);
            write!(f, "{file}:{line}: {}: {}", problem.field, problem.message)?;
        }
        Ok(())
    }
}

/// What [`InputReader`] yields: a fatal error, or a row that was read or could not be.
pub(crate) type ReadItem = Result<Result<InputRow, RowProblem>, InputError>;

pub(crate) type Source = Box<dyn Read + Send>;

enum Rows {
    Csv(csv::CsvRows),
    Jsonl(jsonl::JsonlRows),
    Dbt(dbt::DbtRows),
}

/// A streaming reader of input rows: an iterator of `Result<Result<InputRow, RowProblem>, InputError>`.
///
/// A row problem lets reading go on; an [`InputError`] is fatal and ends the iteration.
pub(crate) struct InputReader {
    name: String,
    format: Format,
    rows: Rows,
    finished: bool,
    /// Where each row's connection goes (`--map-connections`).
    map: Option<ConnectionMap>,
}

impl fmt::Debug for InputReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputReader")
            .field("name", &self.name)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl InputReader {
    /// Reads rows of `format` from any reader; `display_name` is how messages name it. A dbt
    /// profiles.yml read this way selects no profile: see [`InputReader::new`].
    #[cfg(test)]
    pub(crate) fn from_reader(
        reader: impl Read + Send + 'static,
        format: Format,
        display_name: impl Into<String>,
        env: EnvLookup,
    ) -> Result<Self, InputError> {
        Self::new(reader, format, display_name, env, &DbtOptions::default())
    }

    /// Reads rows of `format` from any reader, a dbt profiles.yml as `dbt` says;
    /// `display_name` is how messages name it.
    pub(crate) fn new(
        reader: impl Read + Send + 'static,
        format: Format,
        display_name: impl Into<String>,
        env: EnvLookup,
        dbt: &DbtOptions,
    ) -> Result<Self, InputError> {
        let name = display_name.into();
        let source: Source = Box::new(reader);
        let rows = match format {
            Format::Csv => Rows::Csv(csv::CsvRows::new(source, name.clone(), env)?),
            Format::Jsonl => Rows::Jsonl(jsonl::JsonlRows::new(source, name.clone(), env)),
            Format::DbtProfiles => Rows::Dbt(dbt::DbtRows::new(source, name.clone(), env, dbt)?),
        };
        Ok(Self {
            name,
            format,
            rows,
            finished: false,
            map: None,
        })
    }

    /// The same reader, each row's connection rewritten through `map` when given.
    pub(crate) fn with_map(mut self, map: Option<ConnectionMap>) -> Self {
        self.map = map;
        self
    }

    /// The format being read.
    pub(crate) fn format(&self) -> Format {
        self.format
    }
}

impl Iterator for InputReader {
    type Item = ReadItem;

    fn next(&mut self) -> Option<ReadItem> {
        if self.finished {
            return None;
        }
        let item = match &mut self.rows {
            Rows::Csv(rows) => rows.next_row(),
            Rows::Jsonl(rows) => rows.next_row(),
            Rows::Dbt(rows) => rows.next_row(),
        };
        if matches!(item, None | Some(Err(_))) {
            self.finished = true;
        }
        match (&self.map, item) {
            (Some(map), Some(Ok(row))) => Some(Ok(map.rewrite(row, self.format))),
            (_, item) => item,
        }
    }
}

/// Decides the format of an unnamed stream from its first non-blank byte (`{` = JSONL), without
/// losing what was read.
pub(crate) fn sniff(mut source: Source) -> io::Result<(Format, Source)> {
    let mut prefix = Vec::new();
    let mut chunk = [0u8; 512];
    let format = loop {
        let n = match source.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break Format::Csv;
        }
        prefix.extend_from_slice(&chunk[..n]);
        let body = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&prefix);
        if body.len() < 3 && b"\xEF\xBB\xBF".starts_with(body) && !body.is_empty() {
            continue; // a BOM may be split across reads
        }
        if let Some(first) = body.iter().find(|b| !b.is_ascii_whitespace()) {
            break if *first == b'{' {
                Format::Jsonl
            } else {
                Format::Csv
            };
        }
    };
    Ok((format, Box::new(io::Cursor::new(prefix).chain(source))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_parses_names_and_extensions() {
        assert_eq!("CSV".parse(), Ok(Format::Csv));
        assert_eq!("ndjson".parse(), Ok(Format::Jsonl));
        assert!("xlsx".parse::<Format>().is_err());
        assert_eq!(
            Format::from_path(Path::new("a/b.jsonl")),
            Some(Format::Jsonl)
        );
        assert_eq!(Format::from_path(Path::new("noext")), None);
        for name in ["dbt-profiles", "YAML", "yml"] {
            assert_eq!(name.parse(), Ok(Format::DbtProfiles), "{name}");
        }
        assert_eq!(Format::DbtProfiles.to_string(), "dbt-profiles");
    }

    #[test]
    fn sniffing_sees_json_after_blank_lines_and_bom() {
        let data: &'static [u8] = b"\xEF\xBB\xBF\n  \n{\"a\":1}\n";
        let (format, mut rest) = sniff(Box::new(data)).unwrap();
        assert_eq!(format, Format::Jsonl);
        let mut all = Vec::new();
        rest.read_to_end(&mut all).unwrap();
        assert_eq!(all, data, "nothing is lost");
        let (format, _) = sniff(Box::new(&b"connection_id,name\n"[..])).unwrap();
        assert_eq!(format, Format::Csv);
    }

    #[test]
    fn a_csv_row_reads_with_its_row_and_line() -> Result<(), crate::read::input::InputError> {
        use crate::read::input::{EnvLookup, Format, InputReader};
        let csv = "connection_id,name,target_schema,var:DBT_TARGET\n\
                   550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_alice,dev\n";
        let reader = InputReader::from_reader(
            csv.as_bytes(),
            Format::Csv,
            "inline.csv",
            EnvLookup::empty(),
        )?;
        let rows: Vec<_> = reader.collect::<Result<Vec<_>, _>>()?;
        let row = rows[0].as_ref().unwrap();
        assert_eq!((row.row, row.line), (1, 2));
        assert_eq!(row.environment.target_schema, "dbt_alice");
        Ok(())
    }
}
