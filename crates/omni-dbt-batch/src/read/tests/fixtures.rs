//! The sample fixtures validate cleanly and every file in `fixtures/bad/` fails naming its line.

use std::path::{Path, PathBuf};

use crate::read::checked::scan;
use crate::read::input::{DbtOptions, EnvLookup, InputSource};
use crate::read::source::InputFile;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Validates `path`: `Err(message)` for a fatal error, else every problem line.
fn validate(path: &Path, env: EnvLookup) -> Result<(u64, u64, Vec<String>), String> {
    let source = InputSource::Path(path.to_path_buf());
    let name = source.display_name();
    let input = InputFile::open(&source, None, &DbtOptions::default(), None)
        .map_err(|e| e.to_string())?
        .with_env(env);
    let report = scan(&|| input.reader(), None, usize::MAX).map_err(|e| e.to_string())?;
    let lines = report
        .problems
        .iter()
        .flat_map(|p| {
            p.display_with(&name)
                .to_string()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    Ok((report.valid, report.invalid, lines))
}

#[test]
fn sample_fixtures_are_valid_without_any_environment_variable() {
    for (file, rows) in [("environments.csv", 16), ("environments.jsonl", 12)] {
        let (valid, invalid, problems) = validate(&fixtures().join(file), EnvLookup::empty())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((valid, invalid), (rows, 0), "{file}: {problems:?}");
    }
}

#[test]
fn secret_reference_fixture_needs_its_variable() {
    let path = fixtures().join("with-secret-refs.csv");
    let (valid, invalid, problems) = validate(&path, EnvLookup::empty()).unwrap();
    assert_eq!((valid, invalid), (1, 2));
    assert!(problems[0].contains("secret:DBT_API_KEY"), "{problems:?}");
    assert!(problems[0].contains("OMNI_DBT_DEMO_SECRET"), "{problems:?}");
    let env = EnvLookup::from_pairs([("OMNI_DBT_DEMO_SECRET", "demo-value")]);
    let (valid, invalid, problems) = validate(&path, env).unwrap();
    assert_eq!((valid, invalid), (3, 0), "{problems:?}");
    assert!(!problems.iter().any(|p| p.contains("demo-value")));
}

/// Each bad fixture: the line its message must name and the field (or column) it must mention.
const BAD: &[(&str, u64, &str)] = &[
    ("bad-connection-id.csv", 3, "connection_id"),
    ("bad-owner-id.csv", 3, "owner_id"),
    ("blank-target-schema.csv", 3, "target_schema"),
    ("duplicate-row.csv", 4, "duplicate of the row on line 2"),
    ("duplicate-variable.jsonl", 2, "variables[1].name"),
    ("empty-name.csv", 3, "name"),
    ("empty-variables.jsonl", 2, "variables"),
    ("invalid-utf8.csv", 3, "UTF-8"),
    ("malformed.jsonl", 3, "invalid JSON"),
    ("missing-required-column.csv", 1, "target_schema"),
    (
        "missing-secret-ref.csv",
        3,
        "OMNI_DBT_FIXTURE_UNSET_VARIABLE",
    ),
    ("unknown-column.csv", 1, "target_schema"),
    ("unknown-field.jsonl", 2, "targetShema"),
    ("wrong-field-count.csv", 3, "fields"),
];

#[test]
fn every_bad_fixture_fails_naming_its_line() {
    let dir = fixtures().join("bad");
    // dbt profiles need their --dbt-profile options: the dbt reader's own tests cover them.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".yml"))
        .collect();
    files.sort();
    let listed: Vec<&str> = BAD.iter().map(|(file, _, _)| *file).collect();
    assert_eq!(files, listed, "every bad fixture has an expectation here");

    for (file, line, mention) in BAD {
        let path = dir.join(file);
        let location = format!("{}:{line}: ", path.display());
        let messages = match validate(&path, EnvLookup::empty()) {
            Err(fatal) => vec![fatal],
            Ok((_, invalid, problems)) => {
                assert!(invalid >= 1, "{file} validated");
                problems
            }
        };
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with(&location) && m.contains(mention)),
            "{file}: expected a message at {location} mentioning {mention:?}, got {messages:#?}"
        );
    }
}
