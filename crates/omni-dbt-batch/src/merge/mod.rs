//! `merge RESULTS... --out PATH`: the results files of the shards of one input as one results
//! file in row order, refusing files that cannot be the shards of one input or that disagree.
//!
//! How files of different inputs are told apart, without the input: a row recorded by two files
//! must be the same row (input line, connection, name, fingerprint); input lines must rise with
//! row numbers across all files; and since `--shard` splits an input by connection, every row of
//! a connection must be recorded by the same files. With `--input`, each recorded row must also
//! have the input's line and name for its number. Any of these failing is exit 2, naming the two
//! records (`FILE:LINE`) and what differs; nothing is written.
//!
//! A row recorded by several files (overlapping shards, a rerun) must have the same outcome
//! (status, environment id, error kind) in each, else exit 2. Rows no file recorded (all rows of
//! the input with `--input`; without it, the holes below the last row recorded) are listed in
//! the report, whose exit status is then 1; the merged file is written all the same.

mod checks;
mod error;
mod gaps;
mod index;

use std::path::PathBuf;

pub use error::MergeError;

use crate::exit::ExitStatus;
use crate::paths::same_file;
use crate::read::input::{Format, InputSource};
use crate::record::results::{format_of, RecordSource, ResultsOutput};

/// What to merge, where to, and the input to check against.
///
/// ```
/// use omni_dbt_batch::{InputSource, MergeConfig};
/// let shards = (1..=4).map(|k| format!("envs.shard-{k}-of-4.results.csv").into()).collect();
/// let mut config = MergeConfig::new(shards, "envs.results.csv");
/// config.input = Some(InputSource::from_arg("envs.csv")); // to list rows no shard recorded
/// assert_eq!(config.results.len(), 4);
/// ```
#[derive(Clone, Debug)]
pub struct MergeConfig {
    /// The shards' results files.
    pub results: Vec<PathBuf>,
    /// The merged file; `.csv` or `.jsonl` says its format.
    pub out: PathBuf,
    /// The input the shards ran, to list rows no shard recorded.
    pub input: Option<InputSource>,
    /// The input's format; `None` = from its extension.
    pub input_format: Option<Format>,
}

impl MergeConfig {
    /// Merges `results` into `out`, without an input to check against.
    pub fn new(results: Vec<PathBuf>, out: impl Into<PathBuf>) -> Self {
        Self {
            results,
            out: out.into(),
            input: None,
            input_format: None,
        }
    }
}

/// A row no file recorded; its line and name are known when the input was given.
///
/// ```
/// use omni_dbt_batch::MissingRow;
/// let hole = MissingRow { row: 7, line: None, name: None };
/// assert_eq!(hole.row, 7);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingRow {
    /// Its number.
    pub row: u64,
    /// Its line in the input (known with `--input`).
    pub line: Option<u64>,
    /// Its name in the input (known with `--input`).
    pub name: Option<String>,
}

/// What `merge` wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeReport {
    /// The merged file.
    pub out: PathBuf,
    /// Row records written (one per row).
    pub rows: u64,
    /// Pruned-environment records written (one per environment).
    pub pruned: u64,
    /// Rows no file recorded, in row order.
    pub missing: Vec<MissingRow>,
}

impl MergeReport {
    /// 0 when every row is accounted for, 1 when some row is missing.
    ///
    /// ```
    /// use omni_dbt_batch::{ExitStatus, MergeReport, MissingRow};
    /// let mut report = MergeReport { out: "m.csv".into(), rows: 3, pruned: 0, missing: vec![] };
    /// assert_eq!(report.exit_status(), ExitStatus::Success);
    /// report.missing.push(MissingRow { row: 4, line: Some(5), name: Some("qa".into()) });
    /// assert_eq!(report.exit_status().code(), 1);
    /// ```
    pub fn exit_status(&self) -> ExitStatus {
        if self.missing.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::RowsFailed
        }
    }
}

/// Merges the shards' results files of `config` into one results file, in row order (pruned
/// environments after the rows), written atomically. See the module documentation for when it
/// refuses; nothing is written then.
///
/// ```
/// use omni_dbt_batch::{merge, MergeConfig};
/// # let dir = tempfile::tempdir().unwrap();
/// let header = "row,line,connection_id,name,status,environment_id,attempts,http_status,error_kind,error,fingerprint\n";
/// let shard = |name: &str, body: &str| {
///     let path = dir.path().join(name);
///     std::fs::write(&path, format!("{header}{body}")).unwrap();
///     path
/// };
/// let one = shard("envs.shard-1-of-2.results.csv", "2,3,c1,qa,exists,,0,,,,f2\n");
/// let two = shard("envs.shard-2-of-2.results.csv", "1,2,c2,dev,failed,,6,503,exhausted,down,f1\n3,4,c2,ops,failed,,1,403,forbidden,no,f3\n");
/// let out = dir.path().join("envs.results.jsonl");
/// let report = merge(&MergeConfig::new(vec![one, two], &out)).unwrap();
/// assert_eq!((report.rows, report.missing.len()), (3, 0));
/// let merged = std::fs::read_to_string(&out).unwrap();
/// assert!(merged.lines().next().unwrap().starts_with(r#"{"row":1,"#));
/// ```
pub fn merge(config: &MergeConfig) -> Result<MergeReport, MergeError> {
    check_out(config)?;
    let out_format = format_of(&config.out)?;
    let index = index::build(&config.results)?;
    let mut source = RecordSource::open(&index.paths)?;
    let merged = checks::check(&index, &mut source)?;
    let input = config
        .input
        .as_ref()
        .map(|input| (input, config.input_format));
    let missing = gaps::missing_rows(&index, &merged.rows, input)?;

    let mut output = ResultsOutput::create(&config.out, out_format)?;
    for entry in &merged.rows {
        output.write(&source.read(entry.file as usize, entry.offset, entry.len)?)?;
    }
    for entry in &merged.pruned {
        output.write(&source.read(entry.file as usize, entry.offset, entry.len)?)?;
    }
    output.commit()?;
    Ok(MergeReport {
        out: config.out.clone(),
        rows: merged.rows.len() as u64,
        pruned: merged.pruned.len() as u64,
        missing,
    })
}

/// Refuses an `--out` that is a directory or one of the files to merge.
fn check_out(config: &MergeConfig) -> Result<(), MergeError> {
    if config.out.is_dir() {
        return Err(MergeError::OutIsDirectory {
            path: config.out.clone(),
        });
    }
    let input = match &config.input {
        Some(InputSource::Path(path)) => Some(path),
        _ => None,
    };
    if config
        .results
        .iter()
        .chain(input)
        .any(|read| same_file(read, &config.out))
    {
        return Err(MergeError::OutIsInput {
            path: config.out.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "row,line,connection_id,name,status,environment_id,attempts,http_status,error_kind,error,fingerprint\n";
    const GONE_ID: &str = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";

    fn file(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("{HEADER}{body}")).unwrap();
        path
    }

    #[test]
    fn pruned_records_follow_the_rows_once_each_and_holes_are_missing_rows() {
        let dir = tempfile::tempdir().unwrap();
        let pruned = format!(",,c1,stale,deleted,{GONE_ID},1,200,,,delete:ab\n");
        let one = file(
            dir.path(),
            "a.csv",
            &format!("1,2,c1,dev,created,,1,201,,,f1\n{pruned}"),
        );
        let two = file(
            dir.path(),
            "b.csv",
            &format!("4,5,c2,qa,exists,,0,,,,f4\n{pruned}"),
        );
        let out = dir.path().join("m.csv");
        let report = merge(&MergeConfig::new(vec![one, two], &out)).unwrap();
        assert_eq!((report.rows, report.pruned), (2, 1));
        let missing: Vec<u64> = report.missing.iter().map(|m| m.row).collect();
        assert_eq!(missing, [2, 3]);
        assert_eq!(report.exit_status(), ExitStatus::RowsFailed);
        let text = std::fs::read_to_string(&out).unwrap();
        let rows: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(rows, ["1", "4", ""]);
    }

    #[test]
    fn a_pruned_environment_with_two_outcomes_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let one = file(
            dir.path(),
            "a.csv",
            &format!(",,c1,stale,deleted,{GONE_ID},1,200,,,delete:ab\n"),
        );
        let two = file(
            dir.path(),
            "b.csv",
            &format!(",,c1,stale,failed,{GONE_ID},1,403,forbidden,no,delete:ab\n"),
        );
        let error = merge(&MergeConfig::new(vec![one, two], dir.path().join("m.csv"))).unwrap_err();
        assert!(
            matches!(error, MergeError::Conflict { row: 0, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("a.csv:2"), "{error}");
    }
}
