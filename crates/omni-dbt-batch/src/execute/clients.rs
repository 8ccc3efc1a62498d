//! One client per API key, built from a command's settings, and their request totals.

use omni_dbt_core::{Client, RetryBudget, Tally};

use crate::config::ApiSettings;
use crate::error::RunError;
use crate::execute::workers::KeyClient;
use crate::report::KeyWatch;
use crate::summary::KeySummary;

/// A client for each key, all spending from one retry budget: a failing server stops the
/// retries of the whole run, whichever key they use. A base URL or key the client refuses is
/// [`RunError::Client`].
pub(crate) fn build_clients(settings: &ApiSettings) -> Result<Vec<KeyClient>, RunError> {
    let budget = RetryBudget::new(settings.retry_budget);
    settings
        .keys
        .iter()
        .map(|key| {
            let mut builder = Client::builder()
                .base_url(&settings.base_url)
                .token(key.token.clone())
                .timeout(settings.timeout)
                .retry_policy(settings.retry)
                .retry_budget(budget.clone())
                .rate_limit(settings.rate)
                .key_share(settings.key_share);
            if let Some(bytes) = settings.max_page_bytes {
                builder = builder.max_page_bytes(bytes);
            }
            if let Some(pages) = settings.max_pages {
                builder = builder.max_pages(pages);
            }
            let client = builder.build().map_err(|source| RunError::Client {
                base_url: settings.base_url.clone(),
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

/// Each key's label and limiter, for a reporter to watch.
pub(crate) fn key_watch(clients: &[KeyClient]) -> KeyWatch {
    KeyWatch::new(
        clients
            .iter()
            .map(|key| (key.label.clone(), key.client.limiter().clone()))
            .collect(),
    )
}

/// What each key did, for the summary.
pub(crate) fn key_summaries(clients: &[KeyClient]) -> Vec<KeySummary> {
    clients
        .iter()
        .map(|key| {
            let stats = key.client.stats();
            let status = key.client.limiter().status();
            KeySummary {
                label: key.label.clone(),
                requests: stats.requests,
                retries: stats.retries,
                rate_limited: stats.rate_limited,
                ceiling: status.ceiling.to_string(),
                pace_per_minute: status.pace_per_minute,
                slowed: status.slowed,
                share: status.share,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use omni_dbt_core::RateLimit;

    use super::*;
    use crate::config::ApiKey;

    #[test]
    fn every_key_spends_from_one_budget_of_the_configured_size() {
        let mut api = ApiSettings::new(
            "http://127.0.0.1:9",
            vec![ApiKey::fake("OMNI_KEY_1"), ApiKey::fake("OMNI_KEY_2")],
        );
        api.timeout = Duration::from_secs(1);
        api.retry_budget = 40;
        api.rate = RateLimit::Unlimited;
        let clients = build_clients(&api).unwrap();
        let [first, second] = &clients[..] else {
            panic!("two clients")
        };
        assert_eq!(first.client.retry_budget().capacity(), 40);
        assert!(RetryBudget::ptr_eq(
            first.client.retry_budget(),
            second.client.retry_budget()
        ));
    }
}
