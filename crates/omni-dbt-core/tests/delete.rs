//! `ensure_deleted`: delete once, tell a delete from an environment already gone, and reconcile
//! a delete whose answer was lost by listing.

mod common;

use std::time::Duration;

use common::*;
use omni_dbt_core::{DeleteOutcome, Error};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_confirmed_delete_is_deleted_with_one_request() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"message": "ok", "success": true})),
        )
        .mount(&server)
        .await;

    let outcome = client(&server, "tok-del-ok")
        .ensure_deleted(&connection(), &env_id())
        .await
        .unwrap();

    assert_eq!(outcome, DeleteOutcome::Deleted);
    assert!(outcome.deleted_by_this_call());
    assert_eq!(methods(&server).await, ["DELETE"]);
    assert_eq!(requests(&server).await[0].url.path(), item_path());
}

#[tokio::test]
async fn a_success_with_an_empty_or_unreadable_body_is_deleted() {
    for body in ["", "<html>ok</html>"] {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;

        let outcome = client(&server, "tok-del-body")
            .ensure_deleted(&connection(), &env_id())
            .await
            .unwrap();

        assert_eq!(outcome, DeleteOutcome::Deleted, "{body:?}");
        assert_eq!(methods(&server).await, ["DELETE"], "{body:?}");
    }
}

#[tokio::test]
async fn a_first_404_confirmed_by_listing_is_already_absent() {
    let server = MockServer::start().await;
    mount_status(&server, "DELETE", 404, None).await;
    mount_list(&server, vec![environment_json(OTHER_ID, "someone_else")]).await;

    let outcome = client(&server, "tok-del-gone")
        .ensure_deleted(&connection(), &env_id())
        .await
        .unwrap();

    assert_eq!(outcome, DeleteOutcome::AlreadyAbsent);
    assert!(!outcome.deleted_by_this_call());
    assert_eq!(methods(&server).await, ["DELETE", "GET"]);
}

#[tokio::test]
async fn a_404_for_an_unknown_connection_is_an_error_not_absent() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "no connection"})))
        .mount(&server)
        .await;

    let result = client(&server, "tok-del-no-conn")
        .ensure_deleted(&connection(), &env_id())
        .await;

    assert!(
        matches!(result, Err(Error::Api { status: 404, ref message, .. }) if message == "no connection"),
        "{result:?}"
    );
    assert_eq!(methods(&server).await, ["DELETE", "GET"]);
}

#[tokio::test]
async fn a_404_for_an_environment_still_listed_is_returned() {
    let server = MockServer::start().await;
    mount_status(&server, "DELETE", 404, None).await;
    mount_list(&server, vec![environment_json(ENV_ID, "still_here")]).await;

    let result = client(&server, "tok-del-404-listed")
        .ensure_deleted(&connection(), &env_id())
        .await;

    assert_eq!(result.unwrap_err().status(), Some(404));
    assert_eq!(methods(&server).await, ["DELETE", "GET"]);
}

#[tokio::test]
async fn a_lost_answer_then_absent_from_the_listing_is_recovered_with_one_delete() {
    let server = MockServer::start().await;
    mount_status(&server, "DELETE", 502, None).await;
    mount_list(&server, vec![]).await;
    let client = client(&server, "tok-del-502");

    let outcome = client
        .ensure_deleted(&connection(), &env_id())
        .await
        .unwrap();

    assert_eq!(outcome, DeleteOutcome::Recovered);
    assert!(outcome.deleted_by_this_call());
    assert_eq!(methods(&server).await, ["DELETE", "GET"]);
    assert_eq!(client.tally().retries, 1);
}

#[tokio::test]
async fn a_timed_out_delete_still_listed_is_sent_again() {
    let server = MockServer::start().await;
    mount_then(
        &server,
        "DELETE",
        ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
        1,
        ResponseTemplate::new(200).set_body_json(json!({"success": true})),
    )
    .await;
    mount_list(&server, vec![environment_json(ENV_ID, "still_here")]).await;
    let client = builder(&server, "tok-del-timeout")
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();

    let outcome = client
        .ensure_deleted(&connection(), &env_id())
        .await
        .unwrap();

    assert_eq!(outcome, DeleteOutcome::Deleted);
    assert_eq!(methods(&server).await, ["DELETE", "GET", "DELETE"]);
}

#[tokio::test]
async fn a_404_after_a_lost_delete_is_recovered_without_another_listing() {
    let server = MockServer::start().await;
    mount_status(&server, "DELETE", 503, Some(1)).await;
    mount_status(&server, "DELETE", 404, None).await;
    mount_list(&server, vec![environment_json(ENV_ID, "listed_late")]).await;

    let outcome = client(&server, "tok-del-503-404")
        .ensure_deleted(&connection(), &env_id())
        .await
        .unwrap();

    assert_eq!(outcome, DeleteOutcome::Recovered);
    assert_eq!(methods(&server).await, ["DELETE", "GET", "DELETE"]);
}

#[tokio::test]
async fn a_429_is_sent_again_without_listing() {
    let server = MockServer::start().await;
    mount_status(&server, "DELETE", 429, Some(1)).await;
    mount_status(&server, "DELETE", 200, None).await;

    let outcome = client(&server, "tok-del-429")
        .ensure_deleted(&connection(), &env_id())
        .await
        .unwrap();

    assert_eq!(outcome, DeleteOutcome::Deleted);
    assert_eq!(methods(&server).await, ["DELETE", "DELETE"]);
}

#[tokio::test]
async fn a_404_after_a_429_is_still_already_absent() {
    let server = MockServer::start().await;
    mount_status(&server, "DELETE", 429, Some(1)).await;
    mount_status(&server, "DELETE", 404, None).await;
    mount_list(&server, vec![]).await;

    let outcome = client(&server, "tok-del-429-404")
        .ensure_deleted(&connection(), &env_id())
        .await
        .unwrap();

    assert_eq!(
        outcome,
        DeleteOutcome::AlreadyAbsent,
        "a 429 applied nothing"
    );
    assert_eq!(methods(&server).await, ["DELETE", "DELETE", "GET"]);
}

#[tokio::test]
async fn a_forbidden_delete_is_returned_after_one_request() {
    let server = MockServer::start().await;
    mount_status(&server, "DELETE", 403, None).await;

    let result = client(&server, "tok-del-403")
        .ensure_deleted(&connection(), &env_id())
        .await;

    assert_eq!(result.unwrap_err().status(), Some(403));
    assert_eq!(methods(&server).await, ["DELETE"]);
}

#[tokio::test]
async fn lost_answers_every_time_stop_at_max_attempts_with_a_listing_before_each_resend() {
    let server = MockServer::start().await;
    mount_status(&server, "DELETE", 500, None).await;
    mount_list(&server, vec![environment_json(ENV_ID, "stuck")]).await;

    let result = client(&server, "tok-del-500")
        .ensure_deleted(&connection(), &env_id())
        .await;

    assert_eq!(result.unwrap_err().status(), Some(500));
    assert_eq!(
        methods(&server).await,
        ["DELETE", "GET", "DELETE", "GET", "DELETE"]
    );
}

#[tokio::test]
async fn a_failing_listing_during_reconciliation_ends_the_call() {
    let server = MockServer::start().await;
    mount_status(&server, "DELETE", 504, None).await;
    mount_status(&server, "GET", 401, None).await;

    let result = client(&server, "tok-del-list-401")
        .ensure_deleted(&connection(), &env_id())
        .await;

    assert_eq!(result.unwrap_err().status(), Some(401));
    assert_eq!(methods(&server).await, ["DELETE", "GET"]);
}
