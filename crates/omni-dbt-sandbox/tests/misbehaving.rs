//! The misbehaving-server faults over real HTTP: huge and endless bodies, endless pages, redirects, HTML or id-less answers, float page numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::{env_body, json_of, start, unlimited, Api};
use omni_dbt_sandbox::{ApiMethod, FaultKind, Sandbox, SandboxConfig};
use serde_json::Value;
use uuid::Uuid;

const MIB: usize = 1024 * 1024;

async fn with_faults(spec: &str) -> Sandbox {
    start(unlimited().with_faults(spec.parse().unwrap())).await
}

/// Reads at most `limit` bytes of a body, then drops the response (and its connection).
async fn read_prefix(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut read = Vec::new();
    while read.len() < limit {
        match response.chunk().await.unwrap() {
            Some(chunk) => read.extend_from_slice(&chunk),
            None => break,
        }
    }
    read
}

fn no_content_length(response: &reqwest::Response) -> bool {
    response.headers().get("content-length").is_none()
}

#[tokio::test]
async fn a_huge_list_page_is_streamed_whole_valid_json_of_the_asked_size() {
    let sandbox = with_faults("get:huge-body=1:3MiB").await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    api.create(connection, &env_body("dev")).await.unwrap();
    let response = api.list(connection, "").await;
    assert_eq!(response.status(), 200);
    assert!(
        no_content_length(&response),
        "its size shows only by reading"
    );
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), 3 * MIB);
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["records"][0]["name"], "dev");
    assert_eq!(sandbox.snapshot().faults_of(FaultKind::HugeBody), 1);
}

#[tokio::test]
async fn a_two_gib_page_costs_the_reader_only_what_it_reads() {
    let sandbox = with_faults("get:huge-body=1:2GiB").await;
    let api = Api::new(&sandbox);
    let response = api.list(Uuid::new_v4(), "").await;
    assert_eq!(response.status(), 200);
    let prefix = read_prefix(response, MIB).await;
    assert!(prefix.starts_with(b"{\"pageInfo\""));
    // The sandbox answers the next request at once: nothing was built up front.
    assert_eq!(api.list(Uuid::new_v4(), "").await.status(), 200);
}

#[tokio::test]
async fn an_endless_create_answer_comes_after_the_environment_is_created() {
    let sandbox = with_faults("post:endless-body=1").await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let response = api.create(connection, &env_body("ghost")).await.unwrap();
    assert_eq!(response.status(), 201);
    assert!(no_content_length(&response));
    let prefix = read_prefix(response, 4 * MIB).await;
    assert!(prefix.len() >= 4 * MIB);
    let text = String::from_utf8_lossy(&prefix[..200]).into_owned();
    assert!(
        text.starts_with('{') && text.contains("\"ghost\""),
        "{text}"
    );
    assert!(prefix[prefix.len() - 100..].iter().all(|&b| b == b' '));

    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.creates_applied, 1);
    assert_eq!(snapshot.environments_in(connection)[0].name, "ghost");
    assert_eq!(snapshot.faults_of(FaultKind::EndlessBody), 1);
    assert_eq!(api.list(connection, "").await.status(), 200);
}

#[tokio::test]
async fn huge_and_endless_502_pages_are_html_and_apply_nothing() {
    let sandbox = with_faults("post:huge-502=1:3MiB,get:endless-502=1").await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();

    let huge = api.create(connection, &env_body("never")).await.unwrap();
    assert_eq!(huge.status(), 502);
    assert_eq!(huge.headers()["content-type"], "text/html");
    let body = huge.bytes().await.unwrap();
    assert_eq!(body.len(), 3 * MIB);
    assert!(body.starts_with(b"<html>") && body.ends_with(b"</html>"));

    let endless = api.list(connection, "").await;
    assert_eq!(endless.status(), 502);
    let prefix = read_prefix(endless, 4 * MIB).await;
    assert!(prefix.len() >= 4 * MIB && prefix.starts_with(b"<html>"));

    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.creates_applied, 0);
    assert_eq!(snapshot.faults_of(FaultKind::Huge502), 1);
    assert_eq!(snapshot.faults_of(FaultKind::Endless502), 1);
    assert_eq!(snapshot.requests_with(ApiMethod::Post, 502), 1);
}

#[tokio::test]
async fn endless_pages_always_say_more_with_a_fresh_cursor_and_outrun_total_records() {
    let sandbox = with_faults("get:endless-pages=1").await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    for name in ["a", "b", "c"] {
        api.create(connection, &env_body(name)).await.unwrap();
    }
    let mut cursors = HashSet::new();
    let mut ids = HashSet::new();
    let mut names = Vec::new();
    let mut query = "?pageSize=5".to_owned();
    for page_number in 0..10 {
        let (status, page) = json_of(api.list(connection, &query).await).await;
        assert_eq!(status, 200, "page {page_number}");
        let info = &page["pageInfo"];
        assert_eq!(info["hasNextPage"], true);
        assert_eq!(info["totalRecords"], 3, "the real count");
        assert_eq!(info["pageSize"], 5);
        let records = page["records"].as_array().unwrap();
        assert_eq!(records.len(), 5, "every page is full");
        for record in records {
            assert!(ids.insert(record["id"].as_str().unwrap().to_owned()));
            names.push(record["name"].as_str().unwrap().to_owned());
        }
        let cursor = info["nextCursor"].as_str().unwrap().to_owned();
        assert!(cursors.insert(cursor.clone()), "a fresh cursor every time");
        query = format!("?pageSize=5&cursor={cursor}");
    }
    assert_eq!(ids.len(), 50, "50 served against totalRecords 3");
    assert_eq!(&names[..3], ["c", "b", "a"], "the real ones first");
    assert_eq!(sandbox.snapshot().faults_of(FaultKind::EndlessPages), 10);
    assert_eq!(sandbox.snapshot().environment_count(), 3);
}

#[tokio::test]
async fn redirects_point_elsewhere_and_apply_nothing() {
    let no_follow = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (kind, status) in [
        (FaultKind::Redirect301, 301),
        (FaultKind::Redirect302, 302),
        (FaultKind::Redirect307, 307),
        (FaultKind::Redirect308, 308),
    ] {
        let sandbox = with_faults(&format!("{kind}=1")).await;
        let api = Api::new(&sandbox);
        let connection = Uuid::new_v4();
        let url = api.environments_url(connection);
        let response = no_follow
            .post(&url)
            .bearer_auth(&api.token)
            .json(&env_body("never"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
        let location = response.headers()["location"].to_str().unwrap();
        assert_eq!(
            location,
            format!(
                "{}/moved/api/v1/connections/{connection}/dbt/environments",
                api.base
            )
        );
        // A client that follows it lands on a path that is not the API.
        let followed = api.list(connection, "").await;
        assert_eq!(followed.status(), 404, "{kind}");
        let snapshot = sandbox.snapshot();
        assert_eq!(snapshot.creates_applied, 0);
        assert_eq!(snapshot.faults_of(kind), 2);
    }
}

#[tokio::test]
async fn an_html_201_comes_after_the_environment_is_created() {
    let sandbox = with_faults("post:commit-html=1").await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let response = api.create(connection, &env_body("ghost")).await.unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let body = response.text().await.unwrap();
    assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
    assert!(serde_json::from_str::<Value>(&body).is_err());
    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.environments_in(connection)[0].name, "ghost");
    assert_eq!(snapshot.faults_of(FaultKind::CommitHtml), 1);
}

#[tokio::test]
async fn a_201_or_200_without_id_comes_after_the_change_is_applied() {
    let sandbox = with_faults("commit-no-id=1").await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    let (status, created) =
        json_of(api.create(connection, &env_body("ghost")).await.unwrap()).await;
    assert_eq!(status, 201);
    assert!(created.get("id").is_none(), "{created}");
    assert_eq!(created["name"], "ghost");
    assert_eq!(created["targetSchema"], "dbt_ghost");

    let id = sandbox.snapshot().environments_in(connection)[0].id;
    let updated = api
        .client
        .put(api.environment_url(connection, id))
        .bearer_auth(&api.token)
        .json(&env_body("renamed"))
        .send()
        .await
        .unwrap();
    let (status, updated) = json_of(updated).await;
    assert_eq!(status, 200);
    assert!(updated.get("id").is_none() && updated["name"] == "renamed");

    // Lists and deletes are not struck: the fault is only rolled for creates and updates.
    assert_eq!(api.list(connection, "").await.status(), 200);
    let snapshot = sandbox.snapshot();
    assert_eq!(snapshot.environments_in(connection)[0].name, "renamed");
    assert_eq!(snapshot.faults_of(FaultKind::CommitNoId), 2);
}

#[tokio::test]
async fn page_numbers_can_come_as_floats() {
    let sandbox = with_faults("float-page-info=1").await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    api.create(connection, &env_body("dev")).await.unwrap();
    let text = api.list(connection, "").await.text().await.unwrap();
    assert!(text.contains("\"pageSize\":20.0"), "{text}");
    assert!(text.contains("\"totalRecords\":1.0"), "{text}");
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(page["records"][0]["name"], "dev");
}

#[tokio::test]
async fn a_request_that_fails_on_its_own_is_not_spoiled() {
    let sandbox = with_faults("huge-body=0.5:1MiB,endless-body=0.5").await;
    let api = Api::new(&sandbox);
    let response = api
        .create(Uuid::new_v4(), &serde_json::json!({"name": "no schema"}))
        .await
        .unwrap();
    let (status, _) = json_of(response).await;
    assert_eq!(status, 400);
    let snapshot = sandbox.snapshot();
    assert_eq!(
        snapshot.faults_of(FaultKind::HugeBody) + snapshot.faults_of(FaultKind::EndlessBody),
        0
    );
}

#[tokio::test]
async fn the_fault_config_round_trips_through_the_sandbox_config() {
    let spec = "get:endless-pages=0.5,post:commit-no-id=0.1,huge-502=0.01:2GiB";
    let config = SandboxConfig::default().with_faults(spec.parse().unwrap());
    assert_eq!(config.faults().to_string(), spec);
}

#[tokio::test]
async fn a_page_the_endless_fault_spares_ends_the_list() {
    let config = unlimited()
        .with_faults("get:endless-pages=0.9".parse().unwrap())
        .with_seed(3);
    let sandbox = start(config).await;
    let api = Api::new(&sandbox);
    let connection = Uuid::new_v4();
    api.create(connection, &env_body("only")).await.unwrap();
    let mut query = String::new();
    let mut pages = 0;
    let last = loop {
        pages += 1;
        assert!(pages < 1000, "the list never ended");
        let (status, page) = json_of(api.list(connection, &query).await).await;
        assert_eq!(status, 200);
        match page["pageInfo"]["nextCursor"].as_str() {
            Some(cursor) => query = format!("?cursor={cursor}"),
            None => break page,
        }
    };
    assert_eq!(last["pageInfo"]["hasNextPage"], false);
    let faulted = sandbox.snapshot().faults_of(FaultKind::EndlessPages);
    assert_eq!(
        faulted,
        pages - 1,
        "every page but the last was the fault's"
    );
    if pages > 1 {
        assert_eq!(
            last["records"],
            serde_json::json!([]),
            "past the end: empty"
        );
    }
}
