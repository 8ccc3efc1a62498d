//! `ensure_environment`: create unless it exists, and never create twice after an ambiguous POST.

mod common;

use std::time::Duration;

use common::*;
use omni_dbt_core::{EnsureOutcome, Error, ExistenceCheck, NewEnvironment};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn dev_alice() -> NewEnvironment {
    NewEnvironment::new("dev_alice", "dbt_dev_alice")
}

#[tokio::test]
async fn look_first_adopts_an_existing_environment_without_posting() {
    let server = MockServer::start().await;
    mount_list(&server, vec![environment_json(ENV_ID, "dev_alice")]).await;
    let client = client(&server, "tok-existed");

    let ensured = client
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::LookFirst)
        .await
        .unwrap();

    assert_eq!(ensured.outcome, EnsureOutcome::Existed);
    assert_eq!(ensured.environment.id, env_id());
    assert_eq!(count(&server, "POST").await, 0);
    assert_eq!(client.tally().requests, 1);
}

#[tokio::test]
async fn look_first_creates_when_absent() {
    let server = MockServer::start().await;
    mount_list(&server, vec![]).await;
    mount_created(&server, "dev_alice").await;

    let ensured = client(&server, "tok-created")
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::LookFirst)
        .await
        .unwrap();

    assert_eq!(ensured.outcome, EnsureOutcome::Created);
    assert_eq!(
        (count(&server, "GET").await, count(&server, "POST").await),
        (1, 1)
    );
}

#[tokio::test]
async fn assume_absent_posts_without_listing() {
    let server = MockServer::start().await;
    mount_created(&server, "dev_alice").await;

    let ensured = client(&server, "tok-absent")
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::AssumeAbsent)
        .await
        .unwrap();

    assert_eq!(ensured.outcome, EnsureOutcome::Created);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_post_that_timed_out_after_creating_is_recovered_without_a_second_post() {
    let server = MockServer::start().await;
    // The server applies the create but answers too late: the client times out.
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(environment_json(ENV_ID, "dev_alice"))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    mount_list(&server, vec![environment_json(ENV_ID, "dev_alice")]).await;
    let client = builder(&server, "tok-recovered")
        .timeout(Duration::from_millis(150))
        .retry_policy(fast_policy(6))
        .build()
        .unwrap();

    let ensured = client
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::AssumeAbsent)
        .await
        .unwrap();

    assert_eq!(ensured.outcome, EnsureOutcome::Recovered);
    assert_eq!(ensured.environment.id, env_id());
    assert_eq!(count(&server, "POST").await, 1, "no blind re-send");
    assert_eq!(count(&server, "GET").await, 1);
    assert_eq!(methods(&server).await, ["POST", "GET"]);
}

#[tokio::test]
async fn an_ambiguous_502_with_nothing_listed_is_sent_exactly_once_more() {
    let server = MockServer::start().await;
    mount_status(&server, "POST", 502, Some(1)).await;
    mount_created(&server, "dev_alice").await;
    mount_list(&server, vec![]).await;
    let client = client(&server, "tok-502-once");

    let ensured = client
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::AssumeAbsent)
        .await
        .unwrap();

    assert_eq!(ensured.outcome, EnsureOutcome::Created);
    assert_eq!(methods(&server).await, ["POST", "GET", "POST"]);
    let tally = client.tally();
    assert_eq!((tally.requests, tally.retries), (3, 1));
    assert_eq!(tally.last_status, Some(201));
}

#[tokio::test]
async fn ambiguous_creates_stop_at_max_attempts_with_a_lookup_before_each_resend() {
    let server = MockServer::start().await;
    mount_status(&server, "POST", 503, None).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;

    let result = client(&server, "tok-503-exhausted")
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::AssumeAbsent)
        .await;

    assert_eq!(result.unwrap_err().status(), Some(503));
    assert_eq!(
        methods(&server).await,
        ["POST", "GET", "POST", "GET", "POST"]
    );
}

#[tokio::test]
async fn a_failing_lookup_during_reconciliation_ends_the_call() {
    let server = MockServer::start().await;
    mount_status(&server, "POST", 500, None).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"detail": "no dbt"})))
        .mount(&server)
        .await;

    let result = client(&server, "tok-lookup-403")
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::AssumeAbsent)
        .await;

    assert!(
        matches!(result, Err(Error::Api { status: 403, .. })),
        "{result:?}"
    );
    assert_eq!(
        (count(&server, "POST").await, count(&server, "GET").await),
        (1, 1)
    );
}

#[tokio::test]
async fn a_rejected_create_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"detail": "bad schema"})))
        .mount(&server)
        .await;

    let result = client(&server, "tok-400")
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::AssumeAbsent)
        .await;

    assert!(
        matches!(result, Err(Error::Api { status: 400, ref message, .. }) if message == "bad schema")
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_201_whose_body_is_not_json_is_adopted_by_lookup_with_one_post() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_string("<html>"))
        .mount(&server)
        .await;
    mount_list(&server, vec![environment_json(ENV_ID, "dev_alice")]).await;
    let client = client(&server, "tok-201-html");

    let ensured = client
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::AssumeAbsent)
        .await
        .unwrap();

    assert_eq!(ensured.outcome, EnsureOutcome::Recovered);
    assert_eq!(ensured.environment.id, env_id());
    assert_eq!(methods(&server).await, ["POST", "GET"]);
    assert_eq!(
        client.tally().retries,
        0,
        "looked up at once, not after a backoff"
    );
}

#[tokio::test]
async fn a_201_without_an_id_is_adopted_by_lookup_with_one_post() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"name": "dev_alice"})))
        .mount(&server)
        .await;
    mount_list(&server, vec![environment_json(ENV_ID, "dev_alice")]).await;

    let ensured = client(&server, "tok-201-no-id")
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::AssumeAbsent)
        .await
        .unwrap();

    assert_eq!(ensured.outcome, EnsureOutcome::Recovered);
    assert_eq!(methods(&server).await, ["POST", "GET"]);
}

#[tokio::test]
async fn an_unreadable_201_not_found_by_lookup_is_an_ambiguous_error_never_resent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_string("<html>"))
        .mount(&server)
        .await;
    mount_list(&server, vec![]).await;

    let result = client(&server, "tok-201-lost")
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::AssumeAbsent)
        .await;

    let error = result.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert!(error.is_ambiguous() && !error.is_retryable());
    assert_eq!(methods(&server).await, ["POST", "GET"]);
}

#[tokio::test]
async fn a_201_larger_than_the_cap_is_adopted_by_lookup_with_one_post() {
    let server = MockServer::start().await;
    let mut huge = environment_json(ENV_ID, "dev_alice");
    huge["targetSchema"] = json!("s".repeat(4096));
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(huge))
        .mount(&server)
        .await;
    mount_list(&server, vec![environment_json(ENV_ID, "dev_alice")]).await;
    let client = builder(&server, "tok-201-huge")
        .max_environment_bytes(1024)
        .build()
        .unwrap();

    let ensured = client
        .ensure_environment(&connection(), &dev_alice(), ExistenceCheck::AssumeAbsent)
        .await
        .unwrap();

    assert_eq!(ensured.outcome, EnsureOutcome::Recovered);
    assert_eq!(ensured.environment.target_schema, "dbt_dev_alice");
    assert_eq!(methods(&server).await, ["POST", "GET"]);
}

#[tokio::test]
async fn names_are_sent_and_matched_exactly_as_given() {
    let server = MockServer::start().await;
    mount_list(&server, vec![environment_json(ENV_ID, "dev_alice")]).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(environment_json(OTHER_ID, " dev_alice ")),
        )
        .mount(&server)
        .await;
    let spaced = NewEnvironment::new(" dev_alice ", "dbt_dev_alice");

    let ensured = client(&server, "tok-exact")
        .ensure_environment(&connection(), &spaced, ExistenceCheck::LookFirst)
        .await
        .unwrap();

    assert_eq!(
        ensured.outcome,
        EnsureOutcome::Created,
        "\"dev_alice\" is another name"
    );
    let sent = requests(&server).await;
    let post = sent.iter().find(|r| r.method.as_str() == "POST").unwrap();
    assert_eq!(
        post.body_json::<serde_json::Value>().unwrap()["name"],
        " dev_alice "
    );
}
