//! The run-wide retry budget over real HTTP: a failing server stops being retried once it is spent.

mod common;

use common::*;
use omni_dbt_core::{Error, RetryBudget};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_server_failing_forever_stops_being_retried_once_the_budget_is_spent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    // 50 tokens pay for ten retries after a 503; the policy would allow 5 per request.
    let budget = RetryBudget::new(50);
    let first_key = builder(&server, "tok-budget-one")
        .retry_policy(fast_policy(6))
        .retry_budget(budget.clone())
        .build()
        .unwrap();
    let second_key = builder(&server, "tok-budget-two")
        .retry_policy(fast_policy(6))
        .retry_budget(budget.clone())
        .build()
        .unwrap();

    let mut errors = Vec::new();
    for i in 0..20 {
        let client = if i % 2 == 0 { &first_key } else { &second_key };
        errors.push(client.list_environments(&connection()).await.unwrap_err());
    }

    // Two requests retried 5 times each spend the budget; the other 18 are sent once.
    assert_eq!(requests(&server).await.len(), 2 * 6 + 18);
    assert_eq!(budget.available(), 0);
    let exhausted = errors
        .iter()
        .filter(
            |e| matches!(e, Error::RetryBudgetExhausted { source } if source.status() == Some(503)),
        )
        .count();
    assert_eq!(exhausted, 18);
    assert!(errors[..2].iter().all(|e| e.status() == Some(503)));
}

#[tokio::test]
async fn a_recovered_server_earns_the_budget_back() {
    let server = MockServer::start().await;
    mount_then(
        &server,
        "GET",
        ResponseTemplate::new(503),
        2,
        ResponseTemplate::new(200).set_body_json(last_page(vec![])),
    )
    .await;
    let budget = RetryBudget::new(10);
    let client = builder(&server, "tok-budget-recovers")
        .retry_policy(fast_policy(6))
        .retry_budget(budget.clone())
        .build()
        .unwrap();

    // Two retries spend all 10 tokens, the success gives the last one's 5 back, and each
    // first-try success after that earns one.
    client.list_environments(&connection()).await.unwrap();
    assert_eq!(budget.available(), 5);
    for _ in 0..3 {
        client.list_environments(&connection()).await.unwrap();
    }
    assert_eq!(budget.available(), 8);
    assert_eq!(requests(&server).await.len(), 3 + 3);
}
