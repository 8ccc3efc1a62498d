//! Cells a spreadsheet would evaluate, end to end: names starting with `=`, `+`, `-` or `@` are
//! written with a leading `'` in every CSV the CLI writes (results, undo results, exports), and
//! read back exactly: `--resume` sends nothing again, `undo` deletes them, and an export run
//! elsewhere recreates the names Omni holds, character for character.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use omni_dbt_e2e::{
    cli, fast_sandbox, posts, read_results, start_sandbox, write_file, InputRow, Scenario,
};
use omni_dbt_sandbox::{SeedConnection, SeedEnvironment};
use uuid::Uuid;

/// Names a spreadsheet would evaluate, one already guarded-looking, and a hand-written quote.
const NAMES: [&str; 6] = ["=cmd|' /C calc'!A0", "+1", "-x", "@x", "'=quoted", "'abc"];

/// Checks that no cell of the CSV file at `path` starts a formula.
fn assert_no_cell_starts_a_formula(path: &Path) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    for record in reader.records() {
        for cell in record.unwrap().iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{}: {cell:?}",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn such_names_are_guarded_on_disk_and_survive_resume_and_undo() {
    let connection = Uuid::new_v4();
    let rows: Vec<InputRow> = NAMES
        .iter()
        .map(|name| InputRow::new(connection, *name, "dbt_s"))
        .collect();
    let scenario = Scenario::jsonl(fast_sandbox(), &rows).await;
    scenario.run_unlimited(&[]).await.assert_code(0);

    let results = scenario.results();
    let text = std::fs::read_to_string(&results).unwrap();
    assert!(text.contains(",'=cmd|' /C calc'!A0,created,"), "{text}");
    assert!(
        text.contains(",''=quoted,created,") && text.contains(",'abc,created,"),
        "{text}"
    );
    assert_no_cell_starts_a_formula(&results);
    let names: Vec<String> = scenario
        .records_in_row_order(NAMES.len())
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, NAMES, "read back exactly");
    let snapshot = scenario.snapshot();
    for name in NAMES {
        assert_eq!(
            snapshot.environments_named(connection, name).count(),
            1,
            "{name:?} in Omni"
        );
    }

    let posts_before = posts(&scenario.snapshot());
    scenario.run_unlimited(&["--resume"]).await.assert_code(0);
    assert_eq!(
        posts(&scenario.snapshot()),
        posts_before,
        "--resume sends nothing again"
    );
    let resumed = scenario.records_in_row_order(NAMES.len());
    assert!(
        resumed
            .iter()
            .zip(NAMES)
            .all(|(r, name)| r.name == name && r.status == "created"),
        "{resumed:?}"
    );

    let output = cli()
        .undo_against(&scenario.sandbox, &results)
        .args(["--yes", "--rate", "unlimited"])
        .run()
        .await;
    output.assert_code(0);
    assert_eq!(
        scenario.snapshot().environments_in(connection).len(),
        0,
        "{}",
        output.all()
    );
    let undo = scenario.dir().join("envs.results.undo.csv");
    assert_no_cell_starts_a_formula(&undo);
    let undone: Vec<(String, String)> = read_results(&undo)
        .into_iter()
        .map(|r| (r.name, r.status))
        .collect();
    for name in NAMES {
        assert!(
            undone.contains(&(name.to_owned(), "deleted".to_owned())),
            "{name:?}: {undone:?}"
        );
    }
}

#[tokio::test]
async fn an_export_run_elsewhere_recreates_such_names_exactly() {
    let (source_connection, target_connection) = (Uuid::new_v4(), Uuid::new_v4());
    let seed = NAMES
        .iter()
        .fold(SeedConnection::dbt(source_connection), |seed, name| {
            seed.with_environment(
                SeedEnvironment::new(*name, "dbt_s").with_variable("NOTE", "=1+1"),
            )
        });
    let source = start_sandbox(fast_sandbox().with_connection(seed)).await;
    let target = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("export.csv");
    cli()
        .export_against(&source)
        .args(["--connection", &source_connection.to_string(), "--out"])
        .arg(&exported)
        .run()
        .await
        .assert_code(0);
    assert_no_cell_starts_a_formula(&exported);
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(
        text.contains(",''=quoted,") && text.contains(",'=1+1\n"),
        "{text}"
    );

    let map = write_file(
        dir.path(),
        "map.csv",
        &format!("from,to\n{source_connection},{target_connection}\n"),
    );
    cli()
        .run_against(&target, &exported)
        .arg("--map-connections")
        .arg(&map)
        .args(["--rate", "unlimited"])
        .run()
        .await
        .assert_code(0);
    let snapshot = target.snapshot();
    let mut created: Vec<&str> = snapshot
        .environments_in(target_connection)
        .iter()
        .map(|environment| environment.name.as_str())
        .collect();
    created.sort_unstable();
    let mut expected = NAMES.to_vec();
    expected.sort_unstable();
    assert_eq!(created, expected, "names exact in Omni");
    assert!(snapshot
        .environments_in(target_connection)
        .iter()
        .all(|environment| {
            environment
                .variables
                .iter()
                .any(|v| v.name == "NOTE" && v.value.as_deref() == Some("=1+1"))
        }));
    assert_no_cell_starts_a_formula(&dir.path().join("export.results.csv"));
}
