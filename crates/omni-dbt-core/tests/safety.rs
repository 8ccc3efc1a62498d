//! Safety properties: invalid input stays home, secrets never leak, plain HTTP is refused.

mod common;

use common::*;
use omni_dbt_core::{
    Client, EnvironmentUpdate, Error, ExistenceCheck, NewEnvironment, NewVariable, RetryPolicy,
    VariableUpdate, VariableValue,
};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "omni_live_SUPERSECRET_token";
const SECRET: &str = "hunter2-variable-value";

#[tokio::test]
async fn an_invalid_body_never_leaves_the_process() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(201).set_body_json(environment_json(ENV_ID, "x")))
        .mount(&server)
        .await;
    let client = client(&server, "tok-invalid");
    let invalid = NewEnvironment::new("  ", "")
        .with_owner_id("not-a-uuid")
        .with_variable(NewVariable::plain("A", "1"))
        .with_variable(NewVariable::plain("A", "2"));

    let created = client.create_environment(&connection(), &invalid).await;
    let ensured = client
        .ensure_environment(&connection(), &invalid, ExistenceCheck::LookFirst)
        .await;

    for result in [created.map(|_| ()), ensured.map(|_| ())] {
        match result {
            Err(Error::Invalid(errors)) => {
                let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
                assert!(
                    fields.contains(&"name") && fields.contains(&"targetSchema"),
                    "{fields:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(requests(&server).await.is_empty());
    assert_eq!(client.stats().requests, 0);
}

#[test]
fn debug_of_the_client_and_its_builder_hides_the_token() {
    let builder = Client::builder()
        .base_url("https://acme.omniapp.co")
        .token(SecretString::from(TOKEN));
    assert!(!format!("{builder:?}").contains(TOKEN));
    let client = builder.build().unwrap();
    let debug = format!("{client:?} {:?}", client.scoped());
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("acme.omniapp.co"));
}

#[test]
fn debug_of_request_bodies_hides_secret_values() {
    let create = NewEnvironment::new("a", "b").with_variable(NewVariable::secret("K", SECRET));
    let update = EnvironmentUpdate {
        name: "a".into(),
        target_schema: "b".into(),
        variables: Some(vec![
            VariableUpdate::Existing {
                id: "v1".into(),
                is_secret: true,
                value: Some(VariableValue::Secret(SecretString::from(SECRET))),
            },
            VariableUpdate::New(NewVariable::secret("L", SECRET)),
        ]),
        ..EnvironmentUpdate::default()
    };
    let debug = format!("{create:?} {update:?}");
    assert!(!debug.contains(SECRET), "{debug}");
}

#[tokio::test]
async fn errors_never_show_the_token_or_secret_values_even_when_the_server_echoes_them() {
    let server = MockServer::start().await;
    let echo = json!({
        "detail": format!("bad request from Bearer {TOKEN} with value {SECRET}"),
        "headers": {"authorization": format!("Bearer {TOKEN}")}
    });
    Mock::given(any())
        .respond_with(ResponseTemplate::new(400).set_body_json(echo))
        .mount(&server)
        .await;
    let client = builder(&server, TOKEN).build().unwrap();
    let env = NewEnvironment::new("a", "b").with_variable(NewVariable::secret("K", SECRET));
    let update = EnvironmentUpdate {
        name: "a".into(),
        target_schema: "b".into(),
        variables: Some(vec![VariableUpdate::New(NewVariable::secret("K", SECRET))]),
        ..EnvironmentUpdate::default()
    };

    let errors = [
        client
            .create_environment(&connection(), &env)
            .await
            .unwrap_err(),
        client
            .update_environment(&connection(), &env_id(), &update)
            .await
            .unwrap_err(),
    ];
    let listed = client.list_environments(&connection()).await.unwrap_err();

    for error in &errors {
        let text = format!("{error} {error:?}");
        assert!(!text.contains(TOKEN) && !text.contains(SECRET), "{text}");
        assert!(text.contains("[REDACTED]"), "{text}");
    }
    // A list carries no secret values, but the token is still hidden.
    let text = format!("{listed} {listed:?}");
    assert!(
        !text.contains(TOKEN) && text.contains("[REDACTED]"),
        "{text}"
    );
    // The request did carry them: redaction is about what comes back, not what is sent.
    let sent = requests(&server).await;
    assert_eq!(header(&sent[0], "authorization"), format!("Bearer {TOKEN}"));
}

#[tokio::test]
async fn transport_and_timeout_errors_do_not_show_the_token() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = builder(&server, TOKEN)
        .timeout(std::time::Duration::from_millis(50))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();

    let error = client.list_environments(&connection()).await.unwrap_err();

    assert!(matches!(error, Error::Timeout(_)));
    let text = format!("{error} {error:?}");
    assert!(!text.contains(TOKEN), "{text}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let result = Client::builder()
        .base_url("http://acme.example.com")
        .token(SecretString::from(TOKEN))
        .build();

    match result {
        Err(Error::Config(error)) => {
            let message = error.to_string();
            assert!(message.contains("https"), "{message}");
            assert!(message.contains("acme.example.com"), "{message}");
            assert!(!message.contains(TOKEN));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn loopback_hosts_may_use_plain_http() {
    for base in [
        "http://127.0.0.1:8080",
        "http://localhost:8080/api",
        "http://[::1]:8080",
    ] {
        let client = Client::builder()
            .base_url(base)
            .token(SecretString::from("t"))
            .build();
        assert!(client.is_ok(), "{base}: {client:?}");
    }
}

#[tokio::test]
async fn a_redirect_location_carrying_the_token_is_redacted() {
    let server = MockServer::start().await;
    let location = format!("https://evil.example.com/collect?t={TOKEN}");
    Mock::given(any())
        .respond_with(ResponseTemplate::new(302).insert_header("Location", location.as_str()))
        .mount(&server)
        .await;

    let error = builder(&server, TOKEN)
        .build()
        .unwrap()
        .list_environments(&connection())
        .await
        .unwrap_err();

    let text = format!("{error} {error:?}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(
        text.contains("https://evil.example.com/collect?t=[REDACTED]"),
        "{text}"
    );
}

#[tokio::test]
async fn no_cause_in_an_error_chain_shows_the_token() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::builder()
        .base_url(format!("http://{address}"))
        .token(SecretString::from(TOKEN))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();

    let error = client.list_environments(&connection()).await.unwrap_err();

    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    let mut levels = 0;
    while let Some(current) = cause {
        let text = format!("{current} {current:?}");
        assert!(!text.contains(TOKEN), "{text}");
        cause = current.source();
        levels += 1;
    }
    assert!(levels > 1, "the transport error keeps its cause");
}
