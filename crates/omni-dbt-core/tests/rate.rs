//! The per-key rate limiter through the client: one budget for every clone, and a 429 slows
//! every user of the key.

mod common;

use std::time::Duration;

use common::*;
use omni_dbt_core::{Client, KeyLimiter, RateLimit, RetryPolicy};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn one_per_minute() -> RateLimit {
    RateLimit::PerMinute(std::num::NonZeroU32::MIN)
}

#[tokio::test]
async fn clones_and_same_token_clients_share_one_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let client = builder(&server, "tok-shared-budget")
        .rate_limit(one_per_minute())
        .build()
        .unwrap();
    let clone = client.clone();
    let row = client.scoped();
    let twin = builder(&server, "tok-shared-budget")
        .rate_limit(one_per_minute())
        .build()
        .unwrap();
    let stranger = builder(&server, "tok-other-budget")
        .rate_limit(one_per_minute())
        .build()
        .unwrap();

    // One request takes the only slot of this minute...
    clone.list_environments(&connection()).await.unwrap();

    // ...so no clone, scope or same-token client may send now; another token may.
    assert!(KeyLimiter::ptr_eq(client.limiter(), row.limiter()));
    assert!(KeyLimiter::ptr_eq(client.limiter(), twin.limiter()));
    assert!(!twin.limiter().try_acquire());
    assert!(!row.limiter().try_acquire());
    assert!(stranger.limiter().try_acquire());
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn requests_through_clones_are_evenly_paced() {
    // No network here: the limiter alone, on tokio's paused clock (600/min = one per 100 ms).
    let client = Client::builder()
        .base_url("http://127.0.0.1:9")
        .token(SecretString::from("tok-paced"))
        .rate_limit("600/min".parse().unwrap())
        .build()
        .unwrap();
    let clones: Vec<Client> = (0..5).map(|_| client.scoped()).collect();
    let start = tokio::time::Instant::now();

    let mut millis = Vec::new();
    for clone in &clones {
        clone.limiter().acquire().await;
        millis.push(start.elapsed().as_millis());
    }

    // One slot per 100 ms / 0.98 (the pacing share: 102 ms), each allowed up to 5 ms early
    // (the limiter's timer slack).
    let interval = 100.0 / 0.98;
    let slack = 5.0;
    for pair in millis.windows(2) {
        let gap = (pair[1] - pair[0]) as f64;
        assert!(
            gap >= interval - slack - 1.0 && gap <= interval + 1.0,
            "{millis:?}"
        );
    }
    assert!(
        (millis[4] as f64 - (4.0 * interval - slack)).abs() <= 2.0,
        "{millis:?}"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_pauses_the_token_even_without_a_retry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .mount(&server)
        .await;
    let policy = RetryPolicy::none().with_max_retry_after(Duration::from_secs(30));
    let client = builder(&server, "tok-429-no-retry")
        .retry_policy(policy)
        .build()
        .unwrap();

    let result = client.list_environments(&connection()).await;

    assert_eq!(result.unwrap_err().status(), Some(429));
    assert!(!client.scoped().limiter().try_acquire());
}

#[tokio::test]
async fn a_429_pauses_the_token_for_every_clone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .mount(&server)
        .await;
    let policy = fast_policy(2)
        .with_max_retry_after(Duration::from_secs(30))
        .with_max_elapsed(None);
    let client = builder(&server, "tok-429-pause")
        .retry_policy(policy)
        .build()
        .unwrap();
    let other = client.scoped();
    assert!(
        other.limiter().try_acquire(),
        "unlimited and not paused yet"
    );

    let worker = {
        let client = client.clone();
        tokio::spawn(async move { client.list_environments(&connection()).await })
    };
    let mut paused = false;
    for _ in 0..500 {
        if client.tally().rate_limited == 1 && !other.limiter().try_acquire() {
            paused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.abort();

    assert!(
        paused,
        "a 429 with Retry-After must pause the token for other clones"
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_429_without_retry_after_slows_the_key_for_every_clone() {
    let server = MockServer::start().await;
    mount_then(
        &server,
        "GET",
        ResponseTemplate::new(429),
        1,
        ResponseTemplate::new(200).set_body_json(json!([])),
    )
    .await;
    let client = builder(&server, "tok-429-slows")
        .rate_limit("600/min".parse().unwrap())
        .build()
        .unwrap();
    let other = client.scoped();
    assert!(!other.limiter().status().slowed);

    client.list_environments(&connection()).await.unwrap();

    let status = other.limiter().status();
    assert!(status.slowed, "{status:?}");
    assert!(status.pace_per_minute.unwrap() < 600.0, "{status:?}");
    assert_eq!(status.rate_limited, 1);
    assert_eq!(status.paused_for, None, "no Retry-After, no pause");
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn clients_given_one_limiter_share_it_whatever_their_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let limiter = KeyLimiter::new(one_per_minute());
    let first = builder(&server, "tok-explicit-one")
        .limiter(limiter.clone())
        .build()
        .unwrap();
    let second = builder(&server, "tok-explicit-two")
        .limiter(limiter.clone())
        .build()
        .unwrap();

    first.list_environments(&connection()).await.unwrap();

    // The builder's own rate (unlimited in these tests) gives way to the limiter's ceiling.
    assert_eq!(second.limiter().ceiling(), one_per_minute());
    assert!(!second.limiter().try_acquire());
    assert!(KeyLimiter::ptr_eq(first.limiter(), &limiter));
}
