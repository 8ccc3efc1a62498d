//! End to end: environments that already exist (beyond the first list page) under each `--existing` policy.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omni_dbt_e2e::*;
use omni_dbt_sandbox::{ApiMethod, SeedConnection, SeedEnvironment, Snapshot};
use uuid::Uuid;

const SEEDED: usize = 150;
/// Seeded names the input repeats: one on the first list page, one in the middle, one on the last.
const REPEATED: [&str; 3] = ["seed_149", "seed_077", "seed_005"];
const NEW_ROWS: usize = 20;

fn seeded_connection(connection: Uuid) -> SeedConnection {
    (0..SEEDED).fold(SeedConnection::dbt(connection), |seed, i| {
        seed.with_environment(SeedEnvironment::new(
            format!("seed_{i:03}"),
            format!("schema_{i:03}"),
        ))
    })
}

/// Input: the repeated seeded names first (with `schema` deciding their target schema), then
/// `NEW_ROWS` new names, all in one connection, no variables.
fn input_rows(connection: Uuid, schema: impl Fn(&str) -> String) -> Vec<InputRow> {
    let repeated = REPEATED
        .iter()
        .map(|name| InputRow::new(connection, *name, schema(name)));
    let new = (1..=NEW_ROWS)
        .map(|i| InputRow::new(connection, format!("new_{i:02}"), format!("dbt_new_{i:02}")));
    repeated.chain(new).collect()
}

fn seeded_schema(name: &str) -> String {
    name.replace("seed_", "schema_")
}

fn seeded_id(snapshot: &Snapshot, connection: Uuid, name: &str) -> String {
    sandbox_id(snapshot, connection, name)
}

async fn setup() -> (omni_dbt_sandbox::Sandbox, Uuid, Snapshot, tempfile::TempDir) {
    let connection = Uuid::new_v4();
    let sandbox =
        start_sandbox(fast_sandbox().with_connection(seeded_connection(connection))).await;
    let before = sandbox.snapshot();
    assert_eq!(before.environments_in(connection).len(), SEEDED);
    (sandbox, connection, before, tempfile::tempdir().unwrap())
}

/// Checks the new rows (after the repeated ones) were created and mapped.
fn assert_new_rows_created(records: &[&ResultRecord], connection: Uuid, snapshot: &Snapshot) {
    for record in &records[REPEATED.len()..] {
        assert_eq!(record.status, "created", "{record:?}");
        assert_eq!(
            record.environment_id.as_deref(),
            Some(sandbox_id(snapshot, connection, &record.name).as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_names_beyond_the_first_page_are_recorded_exists_with_their_ids_and_not_duplicated(
) {
    let (sandbox, connection, before, dir) = setup().await;
    let rows = input_rows(connection, seeded_schema);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let out = cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .run()
        .await;
    out.assert_code(0);

    let after = sandbox.snapshot();
    let records = read_results(&default_results(&input));
    let records = records_by_row(&records, rows.len());
    for (record, name) in records.iter().zip(REPEATED) {
        assert_eq!(record.name, name);
        assert_eq!(record.status, "exists", "{record:?}");
        assert_eq!(
            record.environment_id,
            Some(seeded_id(&before, connection, name))
        );
    }
    assert_new_rows_created(&records, connection, &after);
    assert_eq!(after.duplicates_created, 0, "{:?}", after.duplicates);
    assert_eq!(
        posts(&after),
        NEW_ROWS as u64,
        "no POST for the existing names"
    );
    assert_eq!(after.environments_in(connection).len(), SEEDED + NEW_ROWS);
    assert!(
        requests_of(&after, ApiMethod::Get) >= 2,
        "150 environments cannot be listed in one page of at most 100"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_fail_records_existing_names_as_failed_exists_and_exits_1() {
    let (sandbox, connection, _before, dir) = setup().await;
    let rows = input_rows(connection, seeded_schema);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let out = cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .args(["--existing", "fail"])
        .run()
        .await;
    out.assert_code(1);

    let after = sandbox.snapshot();
    let records = read_results(&default_results(&input));
    let records = records_by_row(&records, rows.len());
    for (record, name) in records.iter().zip(REPEATED) {
        assert_eq!(record.name, name);
        assert_eq!(record.status, "failed", "{record:?}");
        assert_eq!(record.error_kind.as_deref(), Some("exists"), "{record:?}");
    }
    assert_new_rows_created(&records, connection, &after);
    assert_eq!(after.duplicates_created, 0);
    assert_eq!(posts(&after), NEW_ROWS as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_update_changes_differing_environments_in_place_and_leaves_matching_ones_unchanged(
) {
    let (sandbox, connection, before, dir) = setup().await;
    // The first two repeated names get a new schema; the third matches its seeded environment.
    let changed = &REPEATED[..2];
    let rows = input_rows(connection, |name| {
        if changed.contains(&name) {
            format!("changed_{name}")
        } else {
            seeded_schema(name)
        }
    });
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let out = cli()
        .run_against(&sandbox, &input)
        .unlimited_rate()
        .args(["--existing", "update"])
        .run()
        .await;
    out.assert_code(0);

    let after = sandbox.snapshot();
    let records = read_results(&default_results(&input));
    let records = records_by_row(&records, rows.len());
    for (record, name) in records.iter().zip(REPEATED) {
        let id = seeded_id(&before, connection, name);
        assert_eq!(
            record.environment_id.as_deref(),
            Some(id.as_str()),
            "{record:?}"
        );
        let stored = after
            .environments_in(connection)
            .iter()
            .find(|e| e.id.to_string() == id)
            .unwrap();
        if changed.contains(&name) {
            assert_eq!(record.status, "updated", "{record:?}");
            assert_eq!(stored.target_schema, format!("changed_{name}"));
        } else {
            assert_eq!(record.status, "unchanged", "{record:?}");
            assert_eq!(stored.target_schema, seeded_schema(name));
        }
    }
    assert_new_rows_created(&records, connection, &after);
    assert_eq!(
        after.updates_applied,
        changed.len() as u64,
        "only the differing ones are sent"
    );
    assert_eq!(after.duplicates_created, 0);
    assert_eq!(posts(&after), NEW_ROWS as u64);
}
