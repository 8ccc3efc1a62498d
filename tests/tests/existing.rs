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

/// A sandbox whose `connection` holds the seeded environments, and `rows` written as input;
/// also returns the snapshot taken before any run.
async fn seeded_scenario(connection: Uuid, rows: &[InputRow]) -> (Scenario, Snapshot) {
    let config = fast_sandbox().with_connection(seeded_connection(connection));
    let scenario = Scenario::csv(config, rows).await;
    let before = scenario.snapshot();
    assert_eq!(before.environments_in(connection).len(), SEEDED);
    (scenario, before)
}

/// Checks the new rows (after the repeated ones) were created and mapped.
fn assert_new_rows_created(records: &[ResultRecord], connection: Uuid, snapshot: &Snapshot) {
    for record in &records[REPEATED.len()..] {
        assert_created_as(record, snapshot, connection, &record.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_names_beyond_the_first_page_are_recorded_exists_with_their_ids_and_not_duplicated(
) {
    let connection = Uuid::new_v4();
    let rows = input_rows(connection, seeded_schema);
    let (scenario, before) = seeded_scenario(connection, &rows).await;
    let out = scenario.run_unlimited(&[]).await;
    out.assert_code(0);

    let after = scenario.snapshot();
    let records = scenario.records_in_row_order(rows.len());
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
    let connection = Uuid::new_v4();
    let rows = input_rows(connection, seeded_schema);
    let (scenario, _before) = seeded_scenario(connection, &rows).await;
    let out = scenario.run_unlimited(&["--existing", "fail"]).await;
    out.assert_code(1);

    let after = scenario.snapshot();
    let records = scenario.records_in_row_order(rows.len());
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
    let connection = Uuid::new_v4();
    // The first two repeated names get a new schema; the third matches its seeded environment.
    let changed = &REPEATED[..2];
    let rows = input_rows(connection, |name| {
        if changed.contains(&name) {
            format!("changed_{name}")
        } else {
            seeded_schema(name)
        }
    });
    let (scenario, before) = seeded_scenario(connection, &rows).await;
    let out = scenario.run_unlimited(&["--existing", "update"]).await;
    out.assert_code(0);

    let after = scenario.snapshot();
    let records = scenario.records_in_row_order(rows.len());
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
