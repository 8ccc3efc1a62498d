//! How each kind of failure is mapped to an `Error` and whether it is retried.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use omni_dbt_core::{Error, NewEnvironment, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server_answering(status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn client_errors_are_sent_once_and_carry_the_message() {
    for status in [400, 401, 403, 404, 409, 422] {
        let server = server_answering(status, r#"{"detail": "nope", "status": 0}"#).await;
        let client = client(&server, "tok-4xx");

        let result = client.list_environments(&connection()).await;

        match result {
            Err(Error::Api {
                status: got,
                message,
                body,
            }) => {
                assert_eq!(got, status);
                assert_eq!(message, "nope");
                assert!(body.contains("\"detail\""));
            }
            other => panic!("{status}: {other:?}"),
        }
        assert_eq!(
            requests(&server).await.len(),
            1,
            "{status} must not be retried"
        );
        assert_eq!(client.tally().retries, 0);
        assert_eq!(client.tally().last_status, Some(status));
    }
}

#[tokio::test]
async fn server_errors_on_a_get_are_retried_up_to_max_attempts() {
    for status in [500, 502, 503, 504] {
        let server = server_answering(status, "").await;
        let client = builder(&server, "tok-5xx")
            .retry_policy(fast_policy(4))
            .build()
            .unwrap();

        let result = client.list_environments(&connection()).await;

        assert_eq!(result.err().and_then(|e| e.status()), Some(status));
        assert_eq!(requests(&server).await.len(), 4, "{status}");
        let tally = client.tally();
        assert_eq!((tally.requests, tally.retries), (4, 3));
    }
}

#[tokio::test]
async fn an_error_without_a_json_body_uses_the_status_reason() {
    let server = server_answering(503, "<html>down</html>").await;
    let client = builder(&server, "tok-reason")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();

    let result = client.list_environments(&connection()).await;

    match result {
        Err(Error::Api { message, body, .. }) => {
            assert_eq!(message, "Service Unavailable");
            assert_eq!(body, "<html>down</html>");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_server_error_is_retried_until_it_succeeds() {
    let server = MockServer::start().await;
    mount_then(
        &server,
        "GET",
        ResponseTemplate::new(503),
        2,
        ResponseTemplate::new(200).set_body_json(last_page(vec![])),
    )
    .await;
    let client = builder(&server, "tok-recover")
        .retry_policy(fast_policy(6))
        .build()
        .unwrap();

    let environments = client.list_environments(&connection()).await.unwrap();

    assert!(environments.is_empty());
    let tally = client.tally();
    assert_eq!((tally.requests, tally.retries), (3, 2));
    assert_eq!(tally.last_status, Some(200));
}

#[tokio::test]
async fn a_5xx_on_create_is_returned_after_one_post() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let client = builder(&server, "tok-post-502")
        .retry_policy(fast_policy(6))
        .build()
        .unwrap();

    let result = client
        .create_environment(&connection(), &NewEnvironment::new("a", "b"))
        .await;

    let error = result.unwrap_err();
    assert!(error.is_ambiguous());
    assert_eq!(error.status(), Some(502));
    assert_eq!(count(&server, "POST").await, 1);
}

#[tokio::test]
async fn a_429_on_create_is_retried_because_nothing_was_applied() {
    let server = MockServer::start().await;
    mount_then(
        &server,
        "POST",
        ResponseTemplate::new(429),
        1,
        ResponseTemplate::new(201).set_body_json(environment_json(ENV_ID, "a")),
    )
    .await;
    let client = client(&server, "tok-post-429");

    let environment = client
        .create_environment(&connection(), &NewEnvironment::new("a", "b"))
        .await
        .unwrap();

    assert_eq!(environment.id, env_id());
    assert_eq!(count(&server, "POST").await, 2);
    let tally = client.tally();
    assert_eq!(
        (tally.requests, tally.retries, tally.rate_limited),
        (2, 1, 1)
    );
    assert_eq!(client.stats().rate_limited, 1);
}

#[tokio::test]
async fn retry_after_is_read_in_seconds_and_as_an_http_date() {
    let in_an_hour = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    for (value, low, high) in [("7", 7, 7), (in_an_hour.as_str(), 3590, 3600)] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", value))
            .mount(&server)
            .await;
        let client = builder(&server, "tok-retry-after")
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();

        let result = client.list_environments(&connection()).await;

        match result {
            Err(Error::RateLimited {
                retry_after: Some(delay),
            }) => assert!(
                (low..=high).contains(&delay.as_secs()),
                "{value}: {delay:?}"
            ),
            other => panic!("{value}: {other:?}"),
        }
        // The policy turns it into the wait, capped.
        let policy = RetryPolicy::default();
        let chosen = policy.delay(0, Some(Duration::from_secs(low)), 0.0);
        assert_eq!(chosen, Duration::from_secs(low).min(policy.max_retry_after));
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_and_counted() {
    let server = MockServer::start().await;
    mount_then(
        &server,
        "GET",
        ResponseTemplate::new(429).insert_header("Retry-After", "0"),
        2,
        ResponseTemplate::new(200).set_body_json(json!([])),
    )
    .await;
    let client = builder(&server, "tok-429-ok")
        .retry_policy(fast_policy(3))
        .build()
        .unwrap();

    client.list_environments(&connection()).await.unwrap();

    let tally = client.tally();
    assert_eq!(
        (tally.requests, tally.retries, tally.rate_limited),
        (3, 2, 2)
    );
}

#[tokio::test]
async fn a_slow_response_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let client = builder(&server, "tok-slow")
        .timeout(Duration::from_millis(100))
        .retry_policy(fast_policy(2))
        .build()
        .unwrap();

    let result = client.list_environments(&connection()).await;

    let error = result.unwrap_err();
    assert!(matches!(error, Error::Timeout(d) if d == Duration::from_millis(100)));
    assert!(error.is_retryable() && error.is_ambiguous());
    assert_eq!(requests(&server).await.len(), 2, "a GET timeout is retried");
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error_not_sent_and_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = omni_dbt_core::Client::builder()
        .base_url(format!("http://{address}"))
        .token(secrecy::SecretString::from("tok-refused"))
        .rate_limit(omni_dbt_core::RateLimit::Unlimited)
        .retry_policy(fast_policy(3))
        .build()
        .unwrap();

    let result = client
        .create_environment(&connection(), &NewEnvironment::new("a", "b"))
        .await;

    match result {
        Err(Error::Transport {
            maybe_sent,
            message,
            ..
        }) => {
            assert!(!maybe_sent);
            assert!(message.to_lowercase().contains("connect"), "{message}");
            assert!(!message.contains("tok-refused"));
            assert!(
                !message.contains(&address.port().to_string()),
                "URL stripped: {message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let tally = client.tally();
    assert_eq!(
        (tally.requests, tally.retries),
        (3, 2),
        "a POST never sent may be re-sent"
    );
    assert_eq!(tally.last_status, None);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/stolen", elsewhere.uri()).as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(path("/stolen"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&elsewhere)
        .await;

    let result = client(&server, "tok-redirect")
        .list_environments(&connection())
        .await;

    assert!(
        matches!(result, Err(Error::Redirect { status: 302, .. })),
        "{result:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);
    assert!(
        requests(&elsewhere).await.is_empty(),
        "the token must not travel"
    );
}

#[tokio::test]
async fn a_redirect_says_it_is_refused_where_it_pointed_and_the_base_url_to_use() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let moved = format!("{}{}?pageSize=100", elsewhere.uri(), collection_path());
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", moved.as_str()))
        .mount(&server)
        .await;

    let error = client(&server, "tok-redirect-advice")
        .list_environments(&connection())
        .await
        .unwrap_err();

    match &error {
        Error::Redirect {
            status: 307,
            location: Some(location),
            suggested_base_url: Some(base),
            followed: false,
        } => {
            assert_eq!(location, &moved);
            assert_eq!(base, &elsewhere.uri());
        }
        other => panic!("{other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains("redirects are refused"), "{text}");
    assert!(
        text.contains(&format!("use the base URL {} instead", elsewhere.uri())),
        "{text}"
    );
    assert!(!error.is_retryable() && !error.is_ambiguous());
    assert!(requests(&elsewhere).await.is_empty());
}

#[tokio::test]
async fn a_redirected_create_is_refused_after_one_post_and_is_not_ambiguous() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(308).insert_header("Location", "https://sso.example.com/login"),
        )
        .mount(&server)
        .await;
    let client = client(&server, "tok-redirect-post");

    let error = client
        .create_environment(&connection(), &NewEnvironment::new("a", "b"))
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            Error::Redirect {
                status: 308,
                suggested_base_url: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("check the base URL"), "{error}");
    assert!(
        !error.is_ambiguous(),
        "nothing was applied where it was sent"
    );
    assert_eq!(count(&server, "POST").await, 1);
    assert_eq!(client.tally().retries, 0);
}
