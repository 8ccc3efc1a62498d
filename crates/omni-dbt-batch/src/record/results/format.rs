//! Which format a results file uses, by its extension: CSV or JSONL, the same [`Format`] as inputs.

use std::path::Path;

pub(crate) use crate::read::input::Format;

use super::ResultsError;

/// The format named by a results path's extension: `.csv`, or `.jsonl` / `.ndjson` (any case).
///
/// Any other extension (a profiles.yml's included: results are never YAML) is
/// [`ResultsError::UnknownFormat`], which says what to name the file.
pub(crate) fn format_of(path: &Path) -> Result<Format, ResultsError> {
    match Format::from_path(path) {
        Some(format @ (Format::Csv | Format::Jsonl)) => Ok(format),
        Some(Format::DbtProfiles) | None => Err(ResultsError::UnknownFormat {
            path: path.to_path_buf(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_choose_the_format_case_insensitively() {
        let cases = [
            ("a.csv", Format::Csv),
            ("a.CSV", Format::Csv),
            ("dir.x/a.jsonl", Format::Jsonl),
            ("a.ndjson", Format::Jsonl),
        ];
        for (path, expected) in cases {
            assert_eq!(format_of(Path::new(path)).unwrap(), expected);
        }
    }

    #[test]
    fn unknown_extension_is_an_error_naming_the_file() {
        let err = format_of(Path::new("results.json")).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("results.json"), "{message}");
        assert!(format_of(Path::new("results")).is_err());
        assert!(format_of(Path::new("results.yml")).is_err());
    }

    #[test]
    fn the_results_format_comes_from_the_extension() {
        use crate::record::results::{format_of, Format};
        use std::path::Path;

        assert_eq!(
            format_of(Path::new("envs.results.csv")).unwrap(),
            Format::Csv
        );
        assert_eq!(format_of(Path::new("out.NDJSON")).unwrap(), Format::Jsonl);
        assert!(format_of(Path::new("out.txt")).is_err());
    }
}
