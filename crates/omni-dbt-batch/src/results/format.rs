//! `ResultsFormat`: which of the two results formats (CSV or JSONL) a file uses.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::ResultsError;

/// The format of a results file.
///
/// ```
/// use omni_dbt_batch::results::ResultsFormat;
/// use std::path::Path;
///
/// assert_eq!(ResultsFormat::from_path(Path::new("envs.results.csv")).unwrap(), ResultsFormat::Csv);
/// assert_eq!(ResultsFormat::from_path(Path::new("out.NDJSON")).unwrap(), ResultsFormat::Jsonl);
/// assert!(ResultsFormat::from_path(Path::new("out.txt")).is_err());
/// assert_eq!("jsonl".parse::<ResultsFormat>().unwrap(), ResultsFormat::Jsonl);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResultsFormat {
    /// Comma-separated values with a header row; absent values are empty cells.
    Csv,
    /// One JSON object per line with every column as a key; absent values are `null`.
    Jsonl,
}

impl ResultsFormat {
    /// The format named by the path's extension: `.csv`, or `.jsonl` / `.ndjson` (any case).
    ///
    /// Any other extension is [`ResultsError::UnknownFormat`], which suggests `--format`.
    pub fn from_path(path: &Path) -> Result<Self, ResultsError> {
        let extension = path
            .extension()
            .and_then(|ext| ext.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("csv") => Ok(Self::Csv),
            Some("jsonl" | "ndjson") => Ok(Self::Jsonl),
            _ => Err(ResultsError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    /// The name used by `--format`: `csv` or `jsonl`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
        }
    }
}

impl fmt::Display for ResultsFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResultsFormat {
    type Err = ResultsError;

    /// Parses `csv`, `jsonl` or `ndjson` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "jsonl" | "ndjson" => Ok(Self::Jsonl),
            _ => Err(ResultsError::UnknownFormatName { name: s.to_owned() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_choose_the_format_case_insensitively() {
        let cases = [
            ("a.csv", ResultsFormat::Csv),
            ("a.CSV", ResultsFormat::Csv),
            ("dir.x/a.jsonl", ResultsFormat::Jsonl),
            ("a.ndjson", ResultsFormat::Jsonl),
        ];
        for (path, expected) in cases {
            assert_eq!(ResultsFormat::from_path(Path::new(path)).unwrap(), expected);
        }
    }

    #[test]
    fn unknown_extension_is_an_error_suggesting_format() {
        let err = ResultsFormat::from_path(Path::new("results.json")).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("results.json"), "{message}");
        assert!(message.contains("--format"), "{message}");
        assert!(ResultsFormat::from_path(Path::new("results")).is_err());
    }
}
