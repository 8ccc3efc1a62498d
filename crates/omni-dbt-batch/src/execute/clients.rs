//! One client per API key, built from a command's settings, and their request totals.

use std::time::Duration;

use omni_dbt_core::{Client, RateLimit, RetryPolicy, Tally};

use crate::config::ApiKey;
use crate::error::RunError;
use crate::execute::workers::KeyClient;

/// How a command reaches Omni: where, with which keys, how fast, how patiently.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientSettings<'a> {
    /// Omni's base URL.
    pub(crate) base_url: &'a str,
    /// The keys; one client (and one rate limiter) each.
    pub(crate) keys: &'a [ApiKey],
    /// Timeout of one request.
    pub(crate) timeout: Duration,
    /// Retry policy of every request.
    pub(crate) retry: RetryPolicy,
    /// Requests per key.
    pub(crate) rate: RateLimit,
}

/// A client for each key; a base URL or key the client refuses is [`RunError::Client`].
pub(crate) fn build_clients(settings: &ClientSettings<'_>) -> Result<Vec<KeyClient>, RunError> {
    settings
        .keys
        .iter()
        .map(|key| {
            let client = Client::builder()
                .base_url(settings.base_url)
                .token(key.token.clone())
                .timeout(settings.timeout)
                .retry_policy(settings.retry)
                .rate_limit(settings.rate)
                .build()
                .map_err(|source| RunError::Client {
                    base_url: settings.base_url.to_owned(),
                    source,
                })?;
            Ok(KeyClient {
                label: key.label.clone(),
                client,
            })
        })
        .collect()
}

/// Requests, retries and 429s across every key's client.
pub(crate) fn total_stats(clients: &[KeyClient]) -> Tally {
    clients.iter().fold(Tally::default(), |mut sum, key| {
        let stats = key.client.stats();
        sum.requests += stats.requests;
        sum.retries += stats.retries;
        sum.rate_limited += stats.rate_limited;
        sum
    })
}
