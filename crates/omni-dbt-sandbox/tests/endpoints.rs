//! The four endpoints over real HTTP: success shapes as the spec requires, every 4xx, pagination.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::{env_body, error_detail, json_of, start, unlimited, Api};
use omni_dbt_sandbox::{ConnectionMode, DuplicateNames, SeedConnection, SeedEnvironment};
use serde_json::{json, Value};
use uuid::Uuid;

/// `DbtEnvironmentItem.required` in Omni's spec, with whether each may be null.
const ENVIRONMENT_FIELDS: [(&str, bool); 9] = [
    ("id", false),
    ("isDefaultEnvironment", false),
    ("name", false),
    ("ownerId", true),
    ("targetDatabase", true),
    ("targetName", true),
    ("targetRole", true),
    ("targetSchema", false),
    ("variables", false),
];

fn assert_environment_shape(env: &Value) {
    for (field, nullable) in ENVIRONMENT_FIELDS {
        let value = env
            .get(field)
            .unwrap_or_else(|| panic!("{field} missing in {env}"));
        assert!(nullable || !value.is_null(), "{field} is null in {env}");
    }
    assert!(Uuid::parse_str(env["id"].as_str().unwrap()).is_ok());
    assert!(env["isDefaultEnvironment"].is_boolean());
    for variable in env["variables"].as_array().unwrap() {
        for field in ["id", "isSecret", "name", "value"] {
            assert!(
                variable.get(field).is_some(),
                "{field} missing in {variable}"
            );
        }
        assert!(Uuid::parse_str(variable["id"].as_str().unwrap()).is_ok());
        if variable["isSecret"] == json!(true) {
            assert!(
                variable["value"].is_null(),
                "secret value returned: {variable}"
            );
        }
    }
}

fn full_body() -> Value {
    json!({
        "name": "alice_dev",
        "targetSchema": "dbt_alice",
        "ownerId": "550e8400-e29b-41d4-a716-446655440000",
        "targetDatabase": "analytics_dev",
        "variables": [
            {"name": "DBT_TARGET", "value": "dev", "isSecret": false},
            {"name": "DBT_API_KEY", "value": "hunter2", "isSecret": true}
        ]
    })
}

#[tokio::test]
async fn create_returns_201_and_the_full_environment_with_secrets_hidden() {
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let response = api.create(connection, &full_body()).await.unwrap();
    let (status, env) = json_of(response).await;
    assert_eq!(status, 201);
    assert_environment_shape(&env);
    assert_eq!(env["name"], "alice_dev");
    assert_eq!(env["isDefaultEnvironment"], false);
    assert_eq!(env["ownerId"], "550e8400-e29b-41d4-a716-446655440000");
    assert_eq!(env["targetName"], Value::Null);
    assert_eq!(env["targetRole"], Value::Null);
    assert_eq!(env["variables"][0]["value"], "dev");
    assert_eq!(env["variables"][1]["value"], Value::Null);
    assert!(!env.to_string().contains("hunter2"));

    let id = Uuid::parse_str(env["id"].as_str().unwrap()).unwrap();
    assert_eq!(
        sandbox
            .variable_value(connection, id, "DBT_API_KEY")
            .as_deref(),
        Some("hunter2"),
        "the secret reached the store"
    );
    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.creates_applied, 1);
    assert_eq!(snapshot.environments_in(connection)[0].id, id);
}

#[tokio::test]
async fn list_returns_page_info_and_records_in_the_spec_shape() {
    let connection = Uuid::new_v4();
    let config = unlimited().with_connection(
        SeedConnection::dbt(connection)
            .with_default_environment("Production", "analytics")
            .with_environment(
                SeedEnvironment::new("dev", "dbt_dev").with_secret_variable("K", "s3cret"),
            ),
    );
    let sandbox = start(config).await;
    let api = Api::new(&sandbox);
    let (status, page) = json_of(api.list(connection, "").await).await;
    assert_eq!(status, 200);
    let info = &page["pageInfo"];
    assert_eq!(info["hasNextPage"], false);
    assert_eq!(info["nextCursor"], Value::Null);
    assert_eq!(info["pageSize"], 20, "the spec's default page size");
    assert_eq!(info["totalRecords"], 2);
    let records = page["records"].as_array().unwrap();
    records.iter().for_each(assert_environment_shape);
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["dev", "Production"],
        "desc by name by default (bytewise)"
    );
    assert_eq!(records[1]["isDefaultEnvironment"], true);
    assert!(!page.to_string().contains("s3cret"));
}

#[tokio::test]
async fn update_changes_sent_fields_updates_variables_by_id_and_adds_new_ones() {
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let (_, created) = json_of(api.create(connection, &full_body()).await.unwrap()).await;
    let env_id = created["id"].as_str().unwrap();
    let target_var = created["variables"][0]["id"].clone();
    let secret_var = created["variables"][1]["id"].clone();
    let body = json!({
        "name": "alice_dev2",
        "targetSchema": "dbt_alice2",
        "targetRole": "transformer",
        "variables": [
            {"id": target_var, "isSecret": false, "value": "ci"},
            {"id": secret_var, "isSecret": true},
            {"name": "NEW", "value": "x", "isSecret": false}
        ]
    });
    let response = api
        .client
        .put(api.environment_url(connection, env_id))
        .bearer_auth(&api.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, env) = json_of(response).await;
    assert_eq!(status, 200, "{env}");
    assert_environment_shape(&env);
    assert_eq!(env["id"], created["id"]);
    assert_eq!(env["name"], "alice_dev2");
    assert_eq!(env["targetRole"], "transformer");
    assert_eq!(env["targetDatabase"], "analytics_dev", "not sent: kept");
    assert_eq!(env["variables"][0]["value"], "ci");
    assert_eq!(env["variables"].as_array().unwrap().len(), 3);
    let id = Uuid::parse_str(env_id).unwrap();
    assert_eq!(
        sandbox
            .variable_value(connection, id, "DBT_API_KEY")
            .as_deref(),
        Some("hunter2"),
        "a secret without value is kept"
    );
    assert_eq!(sandbox.snapshot().updates_applied, 1);
}

#[tokio::test]
async fn delete_returns_message_and_success_then_the_environment_is_gone() {
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let (_, created) = json_of(api.create(connection, &env_body("tmp")).await.unwrap()).await;
    let url = api.environment_url(connection, created["id"].as_str().unwrap());
    let delete = || api.client.delete(&url).bearer_auth(&api.token).send();
    let (status, body) = json_of(delete().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert!(body["message"].is_string());
    let (status, body) = json_of(delete().await.unwrap()).await;
    assert_eq!(status, 404);
    error_detail(404, &body);
    assert!(sandbox.snapshot().environments_in(connection).is_empty());
}

#[tokio::test]
async fn missing_or_wrong_tokens_get_401_with_detail_and_status() {
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    let url = api.environments_url(Uuid::new_v4());
    for request in [
        api.client.get(&url),
        api.client.head(&url),
        api.client.get(&url).bearer_auth("sbx_wrong"),
        api.client
            .get(&url)
            .basic_auth("user", Some(sandbox.token())),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        if response.content_length() == Some(0) {
            continue; // HEAD: no body
        }
        let (_, body) = json_of(response).await;
        let detail = error_detail(401, &body);
        assert!(!detail.contains(sandbox.token()));
    }
    assert_eq!(
        sandbox
            .snapshot()
            .requests_with(omni_dbt_sandbox::ApiMethod::Get, 401),
        4
    );
}

/// Sends a create with a raw body and content type; returns the status and the detail.
async fn raw_create(api: &Api, connection: &str, content_type: &str, body: &str) -> (u16, String) {
    let response = api
        .client
        .post(api.environments_url(connection))
        .bearer_auth(&api.token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    (status, error_detail(status, &body))
}

#[tokio::test]
async fn invalid_create_bodies_get_400_naming_the_field() {
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4().to_string();
    let cases = [
        (r#"{"targetSchema":"s"}"#, "name: is required"),
        (
            r#"{"name":"","targetSchema":"s"}"#,
            "name: must not be empty",
        ),
        (r#"{"name":"a"}"#, "targetSchema: is required"),
        (
            r#"{"name":"a","targetSchema":""}"#,
            "targetSchema: must not be empty",
        ),
        (
            r#"{"name":"a","targetSchema":"s","ownerId":"bob"}"#,
            "ownerId: must be a UUID",
        ),
        (
            r#"{"name":"a","targetSchema":"s","variables":[]}"#,
            "variables: must hold at least one",
        ),
        (
            r#"{"name":"a","targetSchema":"s","variables":[{"value":"v","isSecret":false}]}"#,
            "variables[0].name: is required",
        ),
        (
            r#"{"name":"a","targetSchema":"s","variables":[{"name":"N","isSecret":false}]}"#,
            "variables[0].value: is required",
        ),
        (
            r#"{"name":"a","targetSchema":"s","variables":[{"name":"N","value":"v"}]}"#,
            "variables[0].isSecret: is required",
        ),
        (r#"{"name":"a","targetSchema":"s""#, "body: malformed JSON"),
        (r#"["name"]"#, "body: must be a JSON object"),
    ];
    for (body, expected) in cases {
        let (status, detail) = raw_create(&api, &connection, "application/json", body).await;
        assert_eq!(status, 400, "{body}");
        assert!(detail.starts_with(expected), "{body}: {detail}");
    }
    let (status, detail) = raw_create(
        &api,
        &connection,
        "text/plain",
        r#"{"name":"a","targetSchema":"s"}"#,
    )
    .await;
    assert_eq!(
        (status, detail.as_str()),
        (400, "Content-Type: expected application/json")
    );
    let (status, detail) = raw_create(
        &api,
        "not-a-uuid",
        "application/json",
        r#"{"name":"a","targetSchema":"s"}"#,
    )
    .await;
    assert_eq!(
        (status, detail.as_str()),
        (400, "connectionId: must be a UUID")
    );
    assert_eq!(sandbox.snapshot().creates_applied, 0);
}

#[tokio::test]
async fn non_uuid_environment_ids_get_400_and_unknown_ones_404() {
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let put = api
        .client
        .put(api.environment_url(connection, "42"))
        .bearer_auth(&api.token)
        .json(&env_body("a"))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(put).await;
    assert_eq!(error_detail(status, &body), "environmentId: must be a UUID");
    let delete = api
        .client
        .delete(api.environment_url(connection, "42"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(delete).await;
    assert_eq!(
        (status, error_detail(status, &body).as_str()),
        (400, "environmentId: must be a UUID")
    );
    let put = api
        .client
        .put(api.environment_url(connection, Uuid::new_v4()))
        .bearer_auth(&api.token)
        .json(&env_body("a"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 404);
}

#[tokio::test]
async fn update_requires_name_and_target_schema_as_the_spec_says() {
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let (_, created) = json_of(api.create(connection, &env_body("a")).await.unwrap()).await;
    let response = api
        .client
        .put(api.environment_url(connection, created["id"].as_str().unwrap()))
        .bearer_auth(&api.token)
        .json(&json!({"targetRole": "r"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(
        error_detail(status, &body),
        "name: is required; targetSchema: is required"
    );
}

#[tokio::test]
async fn connections_answer_404_or_403_as_configured_in_each_mode() {
    let (known, no_dbt, missing) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for mode in [ConnectionMode::Open, ConnectionMode::Listed] {
        let config = unlimited()
            .with_connection_mode(mode)
            .with_connection(SeedConnection::dbt(known))
            .with_connection(SeedConnection::without_dbt(no_dbt))
            .with_connection(SeedConnection::missing(missing));
        let sandbox = start(config).await;
        let api = Api::new(&sandbox);
        let status_of = |connection| {
            let api = &api;
            async move {
                api.create(connection, &env_body("x"))
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(status_of(known).await, 201, "{mode:?}");
        assert_eq!(status_of(no_dbt).await, 403, "{mode:?}");
        assert_eq!(status_of(missing).await, 404, "{mode:?}");
        let unknown = status_of(Uuid::new_v4()).await;
        let expected = if mode == ConnectionMode::Open {
            201
        } else {
            404
        };
        assert_eq!(unknown, expected, "{mode:?}");
        let (status, body) = json_of(api.list(no_dbt, "").await).await;
        assert!(error_detail(status, &body).contains("does not support dbt"));
    }
}

#[tokio::test]
async fn duplicate_names_are_counted_by_default_and_refused_on_request() {
    let connection = Uuid::new_v4();
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    for _ in 0..3 {
        assert_eq!(
            api.create(connection, &env_body("dup"))
                .await
                .unwrap()
                .status(),
            201
        );
    }
    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.duplicates_created, 2);
    assert_eq!(snapshot.environments_named(connection, "dup").count(), 3);

    let strict = start(unlimited().with_duplicate_names(DuplicateNames::Reject)).await;
    let api = Api::new(&strict);
    assert_eq!(
        api.create(connection, &env_body("dup"))
            .await
            .unwrap()
            .status(),
        201
    );
    let (status, body) = json_of(api.create(connection, &env_body("dup")).await.unwrap()).await;
    assert!(error_detail(status, &body).starts_with("name: "));
    assert_eq!(strict.snapshot().duplicates_created, 0);
}

#[tokio::test]
async fn invalid_list_parameters_get_400() {
    let sandbox = start(unlimited()).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    for (query, field) in [
        ("?pageSize=0", "pageSize"),
        ("?pageSize=101", "pageSize"),
        ("?sortDirection=sideways", "sortDirection"),
        ("?sortField=id", "sortField"),
        ("?cursor=bogus", "cursor"),
    ] {
        let (status, body) = json_of(api.list(connection, query).await).await;
        assert!(error_detail(status, &body).starts_with(field), "{query}");
        assert_eq!(status, 400);
    }
}

/// Follows every cursor; returns the ids in order and the page sizes.
async fn all_pages(
    api: &Api,
    connection: Uuid,
    query: &str,
) -> (Vec<(String, String)>, Vec<usize>) {
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_query = match &cursor {
            Some(c) => format!("{query}&cursor={c}"),
            None => query.to_owned(),
        };
        let (status, page) = json_of(api.list(connection, &page_query).await).await;
        assert_eq!(status, 200, "{page}");
        let records = page["records"].as_array().unwrap();
        sizes.push(records.len());
        seen.extend(records.iter().map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["id"].as_str().unwrap().to_owned(),
            )
        }));
        assert_eq!(page["pageInfo"]["totalRecords"], 60);
        match page["pageInfo"]["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(page["pageInfo"]["hasNextPage"], true);
                cursor = Some(next.to_owned());
            }
            None => {
                assert_eq!(page["pageInfo"]["hasNextPage"], false);
                break;
            }
        }
    }
    (seen, sizes)
}

#[tokio::test]
async fn sixty_environments_in_pages_of_25_come_in_three_pages_without_gap_or_overlap() {
    let connection = Uuid::new_v4();
    // Names with repeats so that ties are broken by id.
    let seeded = (0..60).fold(SeedConnection::dbt(connection), |seed, i| {
        seed.with_environment(SeedEnvironment::new(format!("env_{:02}", i % 45), "s"))
    });
    let sandbox = start(unlimited().with_connection(seeded)).await;
    let api = Api::new(&sandbox);

    let (desc, sizes) = all_pages(&api, connection, "?pageSize=25").await;
    assert_eq!(sizes, [25, 25, 10]);
    let distinct: HashSet<_> = desc.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(distinct.len(), 60, "no overlap");
    let mut sorted = desc.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(desc, sorted, "desc by name, ties by id");

    let (asc, sizes) = all_pages(&api, connection, "?pageSize=25&sortDirection=asc").await;
    assert_eq!(sizes, [25, 25, 10]);
    sorted.reverse();
    assert_eq!(asc, sorted);

    let (again, _) = all_pages(&api, connection, "?pageSize=25").await;
    assert_eq!(again, desc, "the order is stable");
}
