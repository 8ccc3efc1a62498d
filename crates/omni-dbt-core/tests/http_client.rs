//! A reqwest client supplied by the caller: used as given, with the timeout, headers and the
//! refusal of redirects still enforced as far as they can be.

mod common;

use std::time::Duration;

use common::*;
use omni_dbt_core::{Client, ClientBuilder, Error, NewEnvironment, RateLimit, RetryPolicy};
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn supplied(server: &MockServer, token: &str, http: reqwest::Client) -> ClientBuilder {
    Client::builder()
        .base_url(server.uri())
        .token(SecretString::from(token.to_owned()))
        .rate_limit(RateLimit::Unlimited)
        .retry_policy(RetryPolicy::none())
        .http_client(http)
}

#[tokio::test]
async fn a_supplied_client_is_used_with_this_clients_headers() {
    let server = MockServer::start().await;
    mount_list(&server, vec![]).await;
    let mut defaults = HeaderMap::new();
    defaults.insert("x-corporate-proxy", HeaderValue::from_static("yes"));
    let http = reqwest::Client::builder()
        .no_proxy()
        .default_headers(defaults)
        .user_agent("theirs/1.0")
        .build()
        .unwrap();

    supplied(&server, "tok-supplied", http)
        .build()
        .unwrap()
        .list_environments(&connection())
        .await
        .unwrap();

    let sent = requests(&server).await;
    assert_eq!(
        header(&sent[0], "x-corporate-proxy"),
        "yes",
        "the caller's client was used"
    );
    assert_eq!(header(&sent[0], "authorization"), "Bearer tok-supplied");
    assert_eq!(
        header(&sent[0], "user-agent"),
        concat!("omni-dbt/", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn the_timeout_holds_for_a_supplied_client_without_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(server.uri())
        .token(SecretString::from("tok-supplied-timeout"))
        .rate_limit(RateLimit::Unlimited)
        .retry_policy(RetryPolicy::none())
        .timeout(Duration::from_millis(100))
        .http_client(reqwest::Client::builder().no_proxy().build().unwrap())
        .build()
        .unwrap();

    let error = client.list_environments(&connection()).await.unwrap_err();

    assert!(
        matches!(error, Error::Timeout(d) if d == Duration::from_millis(100)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_redirect_a_supplied_client_followed_is_refused_as_ambiguous() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let moved = format!("{}{}", elsewhere.uri(), collection_path());
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", moved.as_str()))
        .mount(&server)
        .await;
    Mock::given(path(collection_path()))
        .respond_with(ResponseTemplate::new(201).set_body_json(environment_json(ENV_ID, "a")))
        .mount(&elsewhere)
        .await;
    // reqwest's default policy follows redirects.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let client = supplied(&server, "tok-followed", http).build().unwrap();

    let error = client
        .create_environment(&connection(), &NewEnvironment::new("a", "b"))
        .await
        .unwrap_err();

    match &error {
        Error::Redirect {
            status: 201,
            location: Some(location),
            suggested_base_url: Some(base),
            followed: true,
        } => {
            assert_eq!(location, &moved);
            assert_eq!(base, &elsewhere.uri());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error.is_ambiguous(),
        "the create may have been applied there"
    );
    assert!(error.to_string().contains("without redirects"), "{error}");
    let followed = requests(&elsewhere).await;
    assert_eq!(followed.len(), 1, "too late to refuse: it was sent");
    assert_eq!(
        header(&followed[0], "authorization"),
        "",
        "reqwest drops the token when a redirect leaves the host"
    );
}

#[tokio::test]
async fn a_supplied_client_without_redirects_keeps_the_guarantee() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let moved = format!("{}{}", elsewhere.uri(), collection_path());
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", moved.as_str()))
        .mount(&server)
        .await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let error = supplied(&server, "tok-no-follow", http)
        .build()
        .unwrap()
        .list_environments(&connection())
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            Error::Redirect {
                status: 301,
                followed: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(requests(&elsewhere).await.is_empty());
}

#[test]
fn debug_of_a_builder_does_not_show_the_supplied_clients_headers() {
    let mut defaults = HeaderMap::new();
    defaults.insert("x-gateway-key", HeaderValue::from_static("gateway-secret"));
    let http = reqwest::Client::builder()
        .default_headers(defaults)
        .build()
        .unwrap();
    assert!(
        format!("{http:?}").contains("gateway-secret"),
        "reqwest's own Debug shows it"
    );

    let builder = Client::builder().base_url("acme").http_client(http);

    let debug = format!("{builder:?}");
    assert!(!debug.contains("gateway-secret"), "{debug}");
}
