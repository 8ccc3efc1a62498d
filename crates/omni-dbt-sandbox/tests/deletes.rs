//! Deletes over real HTTP: commit-then-fail faults, the default environment, unknown ids, and the delete counts of the snapshot and the state endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{env_body, error_detail, json_of, start, unlimited, Api};
use omni_dbt_sandbox::{
    ApiMethod, ConnectionMode, FaultKind, SandboxConfig, SeedConnection, Snapshot,
};
use uuid::Uuid;

/// What the client saw of a delete.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Status(u16),
    Transport,
}

async fn delete(api: &Api, connection: Uuid, environment: impl std::fmt::Display) -> Seen {
    match api
        .client
        .delete(api.environment_url(connection, environment))
        .bearer_auth(&api.token)
        .send()
        .await
    {
        Ok(response) => Seen::Status(response.status().as_u16()),
        Err(error) => {
            assert!(error.status().is_none() && !error.is_timeout(), "{error}");
            Seen::Transport
        }
    }
}

async fn created_id(api: &Api, connection: Uuid, name: &str) -> String {
    let (status, body) = json_of(api.create(connection, &env_body(name)).await.unwrap()).await;
    assert_eq!(status, 201);
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn commit_then_fail_deletes_are_applied_once_and_counted() {
    for (spec, kind, seen) in [
        (
            "delete:commit-500=1",
            FaultKind::Commit500,
            Seen::Status(500),
        ),
        (
            "delete:commit-502=1",
            FaultKind::Commit502,
            Seen::Status(502),
        ),
        (
            "delete:commit-503=1",
            FaultKind::Commit503,
            Seen::Status(503),
        ),
        (
            "delete:commit-drop=1",
            FaultKind::CommitDrop,
            Seen::Transport,
        ),
    ] {
        let sandbox = start(unlimited().with_faults(spec.parse().unwrap())).await;
        let api = Api::new(&sandbox);
        let connection = Uuid::new_v4();
        let id = created_id(&api, connection, "extra").await;
        created_id(&api, connection, "kept").await;

        assert_eq!(delete(&api, connection, &id).await, seen, "{spec}");
        let snapshot = sandbox.snapshot();
        assert_eq!(snapshot.deletes_applied, 1, "{spec}");
        assert_eq!(snapshot.deletes_in(connection), 1);
        assert_eq!(snapshot.deletes_of(connection, "extra"), 1);
        assert_eq!(snapshot.deleted[0].environment_id.to_string(), id);
        assert_eq!(snapshot.environments_in(connection).len(), 1);
        assert_eq!(snapshot.faults_of(kind), 1);

        // The retry a client would send finds it gone: a real 404, not struck by the fault.
        assert_eq!(delete(&api, connection, &id).await, Seen::Status(404));
        let snapshot = sandbox.snapshot();
        assert_eq!(snapshot.deletes_applied, 1, "deleted exactly once");
        assert_eq!(snapshot.faults_of(kind), 1);
        assert_eq!(snapshot.requests_with(ApiMethod::Delete, 404), 1);
    }
}

#[tokio::test]
async fn the_default_environment_is_refused_with_403_and_unknown_ids_get_404() {
    let connection = Uuid::new_v4();
    let config = SandboxConfig::default()
        .with_rate_limit(omni_dbt_sandbox::RateLimit::Unlimited)
        .with_connection_mode(ConnectionMode::Listed)
        .with_connection(
            SeedConnection::dbt(connection).with_default_environment("Production", "analytics"),
        );
    let sandbox = start(config).await;
    let api = Api::new(&sandbox);
    let default_id = sandbox.snapshot().environments_in(connection)[0].id;

    let response = api
        .client
        .delete(api.environment_url(connection, default_id))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, 403, "the spec declares no 400 for a delete");
    assert!(error_detail(403, &body).contains("default environment"));

    assert_eq!(
        delete(&api, connection, Uuid::new_v4()).await,
        Seen::Status(404),
        "no such environment"
    );
    assert_eq!(
        delete(&api, Uuid::new_v4(), Uuid::new_v4()).await,
        Seen::Status(404),
        "no such connection"
    );
    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.deletes_applied, 0);
    assert_eq!(snapshot.environments_in(connection).len(), 1);
}

#[tokio::test]
async fn the_state_endpoint_reports_deletes_by_connection_and_new_fault_kinds() {
    let sandbox = start(unlimited().with_faults("post:commit-no-id=0.5".parse().unwrap())).await;
    let api = Api::new(&sandbox);
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    for (connection, name) in [(a, "x"), (a, "y"), (b, "z")] {
        api.create(connection, &env_body(name)).await.unwrap();
    }
    for connection in [a, b] {
        for environment in sandbox.snapshot().environments_in(connection) {
            assert_eq!(
                delete(&api, connection, environment.id).await,
                Seen::Status(200)
            );
        }
    }
    let state: serde_json::Value = api
        .client
        .get(format!("{}/_sandbox/state", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["deletesApplied"], 3);
    assert_eq!(state["deletesByConnection"][a.to_string()], 2);
    assert_eq!(state["deletesByConnection"][b.to_string()], 1);
    assert_eq!(state["deleted"].as_array().unwrap().len(), 3);
    assert_eq!(state["deleted"][2]["name"], "z");
    assert_eq!(state["deleted"][2]["connectionId"], b.to_string());
    let snapshot = sandbox.snapshot();
    assert_eq!(
        state["faults"]["commit-no-id"],
        snapshot.faults_of(FaultKind::CommitNoId)
    );
    let typed: Snapshot = serde_json::from_value(state).unwrap();
    assert_eq!(typed, snapshot);
}
