//! What goes over the wire for each operation, and how responses are read.

mod common;

use common::*;
use omni_dbt_core::{
    EnvironmentUpdate, Error, ListOrder, NewEnvironment, NewVariable, PaginationProblem,
    VariableUpdate, VariableValue,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER_AGENT: &str = concat!("omni-dbt/", env!("CARGO_PKG_VERSION"));

#[tokio::test]
async fn create_sends_post_with_auth_json_and_user_agent_and_parses_201() {
    let server = MockServer::start().await;
    let created = json!({
        "id": ENV_ID, "name": "dev_alice", "isDefaultEnvironment": false,
        "ownerId": null, "targetDatabase": "analytics", "targetName": null, "targetRole": null,
        "targetSchema": "dbt_alice", "extraField": {"ignored": true},
        "variables": [
            {"id": "v1", "name": "DBT_TARGET", "value": "dev", "isSecret": false},
            {"id": "v2", "name": "DBT_API_KEY", "value": null, "isSecret": true}
        ]
    });
    Mock::given(method("POST"))
        .and(path(collection_path()))
        .respond_with(ResponseTemplate::new(201).set_body_json(&created))
        .mount(&server)
        .await;
    let env = NewEnvironment::new("dev_alice", "dbt_alice")
        .with_target_database("analytics")
        .with_variable(NewVariable::plain("DBT_TARGET", "dev"))
        .with_variable(NewVariable::secret("DBT_API_KEY", "hunter2"));

    let environment = client(&server, "tok-create")
        .create_environment(&connection(), &env)
        .await
        .unwrap();

    assert_eq!(environment.id, env_id());
    assert_eq!(environment.target_database.as_deref(), Some("analytics"));
    assert_eq!(environment.owner_id, None);
    assert_eq!(environment.variables[1].value, None);
    assert!(environment.variables[1].is_secret);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), collection_path());
    assert_eq!(request.url.query(), None);
    assert_eq!(header(request, "authorization"), "Bearer tok-create");
    assert_eq!(header(request, "content-type"), "application/json");
    assert_eq!(header(request, "user-agent"), USER_AGENT);
    assert_eq!(
        request.body_json::<Value>().unwrap(),
        json!({
            "name": "dev_alice", "targetSchema": "dbt_alice", "targetDatabase": "analytics",
            "variables": [
                {"name": "DBT_TARGET", "value": "dev", "isSecret": false},
                {"name": "DBT_API_KEY", "value": "hunter2", "isSecret": true}
            ]
        })
    );
}

#[tokio::test]
async fn list_follows_cursors_over_three_pages_with_page_size_100() {
    let server = MockServer::start().await;
    let page = |records: Vec<Value>, next: Option<&str>| {
        json!({"pageInfo": {"hasNextPage": next.is_some(), "nextCursor": next, "pageSize": 100,
                            "totalRecords": 5}, "records": records})
    };
    let id = |n: u8| format!("00000000-0000-0000-0000-00000000000{n}");
    Mock::given(method("GET"))
        .and(path(collection_path()))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![environment_json(&id(1), "a"), environment_json(&id(2), "b")],
            Some("c2"),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(collection_path()))
        .and(query_param("cursor", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![environment_json(&id(3), "c"), environment_json(&id(4), "d")],
            Some("c3"),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(collection_path()))
        .and(query_param("cursor", "c3"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page(vec![environment_json(&id(5), "e")], None)),
        )
        .mount(&server)
        .await;

    let all = client(&server, "tok-pages")
        .list_environments(&connection())
        .await
        .unwrap();

    let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    let sent = requests(&server).await;
    let cursors: Vec<Option<String>> = sent
        .iter()
        .map(|r| {
            let pairs: Vec<(String, String)> = r.url.query_pairs().into_owned().collect();
            assert!(
                pairs.contains(&("pageSize".into(), "100".into())),
                "{pairs:?}"
            );
            pairs
                .into_iter()
                .find(|(k, _)| k == "cursor")
                .map(|(_, v)| v)
        })
        .collect();
    assert_eq!(cursors, [None, Some("c2".into()), Some("c3".into())]);
    assert!(sent
        .iter()
        .all(|r| header(r, "authorization") == "Bearer tok-pages" && r.body.is_empty()));
}

#[tokio::test]
async fn list_accepts_a_bare_array_as_the_only_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(collection_path()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([environment_json(ENV_ID, "solo")])),
        )
        .mount(&server)
        .await;

    let all = client(&server, "tok-bare")
        .list_environments(&connection())
        .await
        .unwrap();

    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "solo");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn list_stops_when_the_server_repeats_a_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"hasNextPage": true, "nextCursor": "same"}, "records": []
        })))
        .mount(&server)
        .await;

    let result = client(&server, "tok-loop")
        .list_environments(&connection())
        .await;

    match result {
        Err(error @ Error::Pagination { .. }) => {
            assert!(error.to_string().contains("same"), "{error}");
            assert!(matches!(
                error,
                Error::Pagination { problem: PaginationProblem::RepeatedCursor { ref cursor }, .. }
                    if cursor == "same"
            ));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn find_matches_the_exact_name_across_pages() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"hasNextPage": true, "nextCursor": "p2"},
            "records": [environment_json("00000000-0000-0000-0000-000000000001", "Dev_Alice")]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("cursor", "p2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(last_page(vec![environment_json(ENV_ID, "dev_alice")])),
        )
        .mount(&server)
        .await;
    let client = client(&server, "tok-find");

    let found = client
        .find_environment(&connection(), "dev_alice")
        .await
        .unwrap();
    let missing = client
        .find_environment(&connection(), "dev_bob")
        .await
        .unwrap();

    assert_eq!(found.map(|e| e.id), Some(env_id()));
    assert!(missing.is_none());
}

#[tokio::test]
async fn update_sends_put_to_the_item_with_its_body() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(item_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(environment_json(ENV_ID, "n")))
        .mount(&server)
        .await;
    let update = EnvironmentUpdate {
        name: "n".into(),
        target_schema: "dbt_n".into(),
        target_role: Some("analyst".into()),
        variables: Some(vec![
            VariableUpdate::Existing {
                id: "v1".into(),
                is_secret: true,
                value: None,
            },
            VariableUpdate::Existing {
                id: "v2".into(),
                is_secret: false,
                value: Some(VariableValue::Plain("x".into())),
            },
        ]),
        ..EnvironmentUpdate::default()
    };

    let updated = client(&server, "tok-put")
        .update_environment(&connection(), &env_id(), &update)
        .await
        .unwrap();

    assert_eq!(updated.id, env_id());
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method.as_str(), "PUT");
    assert_eq!(sent[0].url.path(), item_path());
    assert_eq!(header(&sent[0], "authorization"), "Bearer tok-put");
    assert_eq!(header(&sent[0], "content-type"), "application/json");
    assert_eq!(header(&sent[0], "user-agent"), USER_AGENT);
    assert_eq!(
        sent[0].body_json::<Value>().unwrap(),
        json!({"name": "n", "targetSchema": "dbt_n", "targetRole": "analyst", "variables": [
            {"id": "v1", "isSecret": true}, {"id": "v2", "isSecret": false, "value": "x"}]})
    );
}

#[tokio::test]
async fn delete_sends_delete_to_the_item_and_reads_both_body_shapes() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(item_path()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"message": "deleted", "success": true})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(item_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&server)
        .await;
    let client = client(&server, "tok-delete");

    let first = client
        .delete_environment(&connection(), &env_id())
        .await
        .unwrap();
    let second = client
        .delete_environment(&connection(), &env_id())
        .await
        .unwrap();

    assert!(first.success && second.success);
    assert_eq!(first.message.as_deref(), Some("deleted"));
    assert_eq!(second.message, None);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|r| r.method.as_str() == "DELETE"
        && r.url.path() == item_path()
        && header(r, "authorization") == "Bearer tok-delete"
        && r.body.is_empty()));
}

#[tokio::test]
async fn a_success_body_that_is_not_json_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_string("<html>ok</html>"))
        .mount(&server)
        .await;

    let result = client(&server, "tok-decode")
        .create_environment(&connection(), &NewEnvironment::new("a", "b"))
        .await;

    assert!(matches!(result, Err(Error::Decode { .. })), "{result:?}");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn the_base_url_forms_all_reach_the_api_paths() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(collection_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(last_page(vec![])))
        .mount(&server)
        .await;
    let uri = server.uri();
    for base in [
        uri.clone(),
        format!("{uri}/"),
        format!("{uri}/api"),
        format!("{uri}/api/"),
        format!("{uri}/api/v1"),
        format!("{uri}/api/v1/"),
    ] {
        let client = builder(&server, "tok-forms")
            .base_url(&base)
            .build()
            .unwrap();
        client.list_environments(&connection()).await.unwrap();
        assert_eq!(client.base_url().as_str(), uri, "{base}");
    }
    assert_eq!(requests(&server).await.len(), 6);
    let named = builder(&server, "tok-forms")
        .base_url("acme")
        .build()
        .unwrap();
    assert_eq!(named.base_url().as_str(), "https://acme.omniapp.co");
    let api = builder(&server, "tok-forms")
        .base_url("https://acme.omniapp.co/api")
        .build()
        .unwrap();
    assert_eq!(api.base_url().as_str(), "https://acme.omniapp.co");
}

#[tokio::test]
async fn delete_reads_an_empty_body_as_success() {
    let server = MockServer::start().await;
    mount_status(&server, "DELETE", 200, None).await;

    let response = client(&server, "tok-delete-empty")
        .delete_environment(&connection(), &env_id())
        .await
        .unwrap();

    assert!(response.success && response.message.is_none());
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn page_counts_sent_as_whole_floats_are_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"hasNextPage": false, "nextCursor": null, "pageSize": 100.0,
                         "totalRecords": 1.0},
            "records": [environment_json(ENV_ID, "a")]
        })))
        .mount(&server)
        .await;

    let all = client(&server, "tok-floats")
        .list_environments(&connection())
        .await
        .unwrap();

    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn pages_come_one_at_a_time_in_the_order_asked_and_end_with_none() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"hasNextPage": true, "nextCursor": "p2", "pageSize": 100,
                         "totalRecords": 2},
            "records": [environment_json("00000000-0000-0000-0000-000000000001", "a")]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("cursor", "p2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(last_page(vec![environment_json(ENV_ID, "b")])),
        )
        .mount(&server)
        .await;
    let client = client(&server, "tok-stream");

    let mut pages = client.pages(&connection()).order(ListOrder::NameAscending);
    assert!(
        requests(&server).await.is_empty(),
        "nothing sent before the first page"
    );
    let first = pages.next_page().await.unwrap().unwrap();
    assert_eq!(
        (first[0].name.as_str(), requests(&server).await.len()),
        ("a", 1)
    );
    let second = pages.next_page().await.unwrap().unwrap();
    assert_eq!(second[0].name, "b");
    assert!(pages.next_page().await.is_none());
    assert!(pages.next_page().await.is_none());
    assert_eq!(pages.pages_read(), 2);

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_eq!(query(request, "sortField").as_deref(), Some("name"));
        assert_eq!(query(request, "sortDirection").as_deref(), Some("asc"));
    }
    // Without an order, the server's default applies: nothing is sent for it.
    client.list_environments(&connection()).await.unwrap();
    let unordered = &requests(&server).await[2];
    assert_eq!(query(unordered, "sortField"), None);
    assert_eq!(query(unordered, "sortDirection"), None);
}

#[tokio::test]
async fn descending_order_is_sent_as_desc() {
    let server = MockServer::start().await;
    mount_list(&server, vec![]).await;

    let mut pages = client(&server, "tok-desc")
        .pages(&connection())
        .order(ListOrder::NameDescending);
    pages.next_page().await.unwrap().unwrap();

    let sent = requests(&server).await;
    assert_eq!(query(&sent[0], "sortDirection").as_deref(), Some("desc"));
}

#[tokio::test]
async fn find_by_id_stops_reading_at_the_page_that_holds_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"hasNextPage": true, "nextCursor": "p2"},
            "records": [environment_json(ENV_ID, "target")]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("cursor", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(last_page(vec![])))
        .mount(&server)
        .await;
    let client = client(&server, "tok-by-id");

    let found = client
        .find_environment_by_id(&connection(), &env_id())
        .await
        .unwrap();
    assert_eq!(found.map(|e| e.name), Some("target".to_owned()));
    assert_eq!(
        requests(&server).await.len(),
        1,
        "the second page is never read"
    );

    let other = "00000000-0000-0000-0000-0000000000ff".parse().unwrap();
    let missing = client
        .find_environment_by_id(&connection(), &other)
        .await
        .unwrap();
    assert!(missing.is_none());
    assert_eq!(
        requests(&server).await.len(),
        3,
        "absent: every page is read"
    );
}
