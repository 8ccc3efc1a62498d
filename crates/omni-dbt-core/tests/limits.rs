//! Bounds on what a misbehaving server can make the client read: body caps and listings that
//! would never end.

mod common;

use std::time::Duration;

use common::*;
use omni_dbt_core::{Error, NewEnvironment, PaginationProblem, RetryPolicy};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The client's limit for a list page in these tests.
const PAGE_CAP: usize = 256 * 1024;

/// Waits (at most 10 s, a safety net rather than a timing assertion) for the raw server to
/// report how much of its endless body it wrote before the client hung up.
async fn bytes_written(written: &mut BodyBytesWritten) -> u64 {
    tokio::time::timeout(Duration::from_secs(10), written.recv())
        .await
        .ok()
        .flatten()
        .unwrap_or(u64::MAX)
}

#[tokio::test]
async fn an_endless_list_page_stops_at_the_cap_without_being_buffered() {
    let (uri, mut written) = endless_body_server(200).await;
    let client = omni_dbt_core::Client::builder()
        .base_url(&uri)
        .token(secrecy::SecretString::from("tok-endless-200"))
        .rate_limit(omni_dbt_core::RateLimit::Unlimited)
        .retry_policy(fast_policy(3))
        .max_page_bytes(PAGE_CAP)
        .build()
        .unwrap();

    let result = client.list_environments(&connection()).await;

    match result {
        Err(ref error @ Error::ResponseTooLarge { what, limit }) => {
            assert_eq!((what, limit), ("a list page", PAGE_CAP as u64));
            assert!(error.to_string().contains("256 KiB"), "{error}");
            assert!(
                !error.is_retryable(),
                "the same page would be as large again"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client.tally().requests, 1);
    // The client hung up soon after the cap: what the server wrote beyond it sat in socket
    // buffers, not in the client's memory.
    let sent = bytes_written(&mut written).await;
    assert!(sent < PAGE_CAP as u64 + (32 << 20), "{sent} bytes written");
}

#[tokio::test]
async fn an_endless_502_page_is_still_a_retryable_502() {
    let (uri, mut written) = endless_body_server(502).await;
    let client = omni_dbt_core::Client::builder()
        .base_url(&uri)
        .token(secrecy::SecretString::from("tok-endless-502"))
        .rate_limit(omni_dbt_core::RateLimit::Unlimited)
        .retry_policy(fast_policy(2))
        .build()
        .unwrap();

    let result = client.list_environments(&connection()).await;

    let error = result.unwrap_err();
    assert!(
        matches!(error, Error::Api { status: 502, ref message, ref body }
            if message == "Bad Gateway" && body.len() <= 1024 && body.starts_with("xxx")),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(client.tally().requests, 2, "retried as any 502");
    for _ in 0..2 {
        let sent = bytes_written(&mut written).await;
        assert!(sent < 32 << 20, "{sent} bytes written");
    }
}

#[tokio::test]
async fn a_page_announced_larger_than_the_cap_fails_at_once() {
    let server = MockServer::start().await;
    let big: Vec<_> = (0..2000)
        .map(|i| environment_json(ENV_ID, &format!("env-{i}")))
        .collect();
    mount_list(&server, big).await;
    let client = builder(&server, "tok-big-page")
        .max_page_bytes(PAGE_CAP)
        .build()
        .unwrap();

    let result = client.list_environments(&connection()).await;

    assert!(
        matches!(
            result,
            Err(Error::ResponseTooLarge {
                what: "a list page",
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);
    // The default cap (32 MiB) reads the same page.
    let all = client_default_caps(&server)
        .list_environments(&connection())
        .await;
    assert_eq!(all.unwrap().len(), 2000);
}

fn client_default_caps(server: &MockServer) -> omni_dbt_core::Client {
    client(server, "tok-default-caps")
}

#[tokio::test]
async fn an_environment_answer_over_its_cap_is_an_ambiguous_error_after_one_post() {
    let server = MockServer::start().await;
    let mut huge = environment_json(ENV_ID, "a");
    huge["targetSchema"] = json!("s".repeat(4096));
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(huge))
        .mount(&server)
        .await;
    let client = builder(&server, "tok-huge-201")
        .max_environment_bytes(1024)
        .build()
        .unwrap();

    let result = client
        .create_environment(&connection(), &NewEnvironment::new("a", "b"))
        .await;

    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            Error::ResponseTooLarge {
                what: "an environment",
                limit: 1024
            }
        ),
        "{error:?}"
    );
    assert!(error.is_ambiguous(), "the create was applied");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn fresh_cursors_forever_stop_when_records_outrun_the_total() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(EndlessPages::new(40, Some(10)))
        .mount(&server)
        .await;

    let result = client(&server, "tok-beyond-total")
        .list_environments(&connection())
        .await;

    // 10 announced plus a page (100) of slack: the third page of 40 goes beyond.
    match result {
        Err(
            ref error @ Error::Pagination {
                connection: c,
                ref problem,
            },
        ) => {
            assert_eq!(c, connection());
            assert_eq!(
                *problem,
                PaginationProblem::BeyondTotal {
                    received: 120,
                    total: 10
                }
            );
            assert!(error.to_string().contains(CONNECTION), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn fresh_cursors_forever_without_a_total_stop_at_the_page_limit() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(EndlessPages::new(0, None))
        .mount(&server)
        .await;
    let client = builder(&server, "tok-max-pages")
        .max_pages(5)
        .build()
        .unwrap();

    let result = client.list_environments(&connection()).await;

    match result {
        Err(ref error @ Error::Pagination { ref problem, .. }) => {
            assert_eq!(*problem, PaginationProblem::TooManyPages { limit: 5 });
            assert!(error.to_string().contains(CONNECTION), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&server).await.len(), 5);
}

#[tokio::test]
async fn a_next_page_without_a_cursor_is_an_error_not_a_short_listing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"hasNextPage": true, "nextCursor": null},
            "records": [environment_json(ENV_ID, "a")]
        })))
        .mount(&server)
        .await;

    let result = client(&server, "tok-no-cursor")
        .list_environments(&connection())
        .await;

    assert!(
        matches!(
            result,
            Err(Error::Pagination {
                problem: PaginationProblem::MissingCursor,
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_stream_ends_after_its_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(EndlessPages::new(1, None))
        .mount(&server)
        .await;
    let client = builder(&server, "tok-stream-error")
        .max_pages(2)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut pages = client.pages(&connection());

    assert!(pages.next_page().await.is_some_and(|p| p.is_ok()));
    assert!(pages.next_page().await.is_some_and(|p| p.is_err()));
    assert!(pages.next_page().await.is_none());
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_listing_that_ends_is_not_held_to_its_total() {
    let server = MockServer::start().await;
    let page = |n: usize| -> Vec<serde_json::Value> {
        (0..60)
            .map(|i| environment_json(ENV_ID, &format!("p{n}-{i}")))
            .collect()
    };
    Mock::given(method("GET"))
        .and(wiremock::matchers::query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"hasNextPage": true, "nextCursor": "p2", "totalRecords": 5},
            "records": page(1)
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::query_param("cursor", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"hasNextPage": false, "nextCursor": null, "totalRecords": 5},
            "records": page(2)
        })))
        .mount(&server)
        .await;

    let all = client(&server, "tok-ended")
        .list_environments(&connection())
        .await
        .unwrap();

    assert_eq!(
        all.len(),
        120,
        "a stale total does not fail a listing that ended"
    );
}

#[tokio::test]
async fn large_pages_read_at_once_take_turns_and_all_end() {
    // Past 256 KiB a body waits for its turn to be held: the endless pages must still end at
    // their cap, one after another, and a real page that large still be read whole.
    const LARGE_PAGE_CAP: usize = 4 << 20;
    let (endless_uri, _written) = endless_body_server(200).await;
    let endless = omni_dbt_core::Client::builder()
        .base_url(&endless_uri)
        .token(secrecy::SecretString::from("tok-endless-turns"))
        .rate_limit(omni_dbt_core::RateLimit::Unlimited)
        .retry_policy(RetryPolicy::none())
        .max_page_bytes(LARGE_PAGE_CAP)
        .build()
        .unwrap();
    let server = MockServer::start().await;
    let many: Vec<_> = (0..6000)
        .map(|i| environment_json(ENV_ID, &format!("env-{i}")))
        .collect();
    assert!(serde_json::to_vec(&many).unwrap().len() > 1 << 20);
    mount_list(&server, many).await;
    let real = builder(&server, "tok-real-turns")
        .max_page_bytes(LARGE_PAGE_CAP)
        .build()
        .unwrap();

    let mut listings = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let endless = endless.clone();
        listings.spawn(async move { endless.list_environments(&connection()).await });
    }
    let real_result = real.list_environments(&connection()).await;

    assert_eq!(real_result.unwrap().len(), 6000);
    let endless_results = listings.join_all().await;
    assert_eq!(endless_results.len(), 4);
    for result in endless_results {
        assert!(
            matches!(
                result,
                Err(Error::ResponseTooLarge { what: "a list page", limit })
                    if limit == LARGE_PAGE_CAP as u64
            ),
            "{result:?}"
        );
    }
}
