//! A shard's part of the keys it shares with the other shards: how much, and when the others
//! were planned to end.

use std::time::Duration;

use omni_dbt_core::KeyLimiter;
use tokio::task::JoinSet;

use crate::config::{KeySharing, RunConfig};
use crate::execute::workers::KeyClient;
use crate::read::checked::ScanReport;

/// This shard's part of its keys when it takes them to be shared with the other shards: its
/// part of the input's rows. `None` without a shard, with keys of its own, with no rate to take
/// a part of, or when the shard has every row or none.
pub(crate) fn key_share(config: &RunConfig, report: &ScanReport) -> Option<f64> {
    if config.shard.is_none()
        || config.key_sharing != KeySharing::BetweenShards
        || config.api.rate.per_minute().is_none()
        || report.input_rows == 0
    {
        return None;
    }
    let share = report.rows as f64 / report.input_rows as f64;
    (share > 0.0 && share < 1.0).then_some(share)
}

/// How long after they start sending rows the shards sharing their keys were planned to end,
/// together: each key's part of the input's rows at the paced `--rate`, since every shard's
/// part of a key is its part of the rows. `None` when the shard takes its keys to be its own.
pub(crate) fn planned_end(
    config: &RunConfig,
    report: &ScanReport,
    clients: &[KeyClient],
) -> Option<Duration> {
    key_share(config, report)?;
    let per_key = report.input_rows.div_ceil(clients.len().max(1) as u64);
    clients.first()?.client.limiter().time_for(per_key)
}

/// Once the shards sharing these keys were `planned` to end, and every fortieth of that again
/// while the run goes on, tells each key's limiter that the others have probably finished
/// ([`KeyLimiter::release_share`]): a shard that fell behind takes the room they left, and one
/// released too early (the others are still there) costs a 429 and tries again later. The task
/// stops when the returned set is dropped.
pub(crate) fn release_shares(clients: &[KeyClient], planned: Duration) -> JoinSet<()> {
    let limiters: Vec<KeyLimiter> = clients
        .iter()
        .map(|key| key.client.limiter().clone())
        .collect();
    let mut task = JoinSet::new();
    task.spawn(async move {
        tokio::time::sleep(planned).await;
        let again = (planned / 40).max(Duration::from_secs(1));
        loop {
            tracing::debug!("the shards were planned to end: taking any room the others left");
            limiters.iter().for_each(KeyLimiter::release_share);
            tokio::time::sleep(again).await;
        }
    });
    task
}

#[cfg(test)]
mod tests {
    use omni_dbt_core::RateLimit;

    use super::*;
    use crate::config::ApiKey;
    use crate::execute::clients::build_clients;
    use crate::read::input::InputSource;

    /// Shard 2 of 4 at 600/min, with `keys` keys.
    fn config(keys: usize) -> RunConfig {
        let keys = (1..=keys)
            .map(|k| ApiKey::fake(&format!("OMNI_KEY_{k}")))
            .collect();
        let mut config = RunConfig::new(InputSource::Stdin, "http://127.0.0.1:9", keys);
        config.shard = Some("2/4".parse().unwrap());
        config.api.rate = "600/min".parse().unwrap();
        config
    }

    /// 300 rows of this shard in an input of 1,200.
    fn report() -> ScanReport {
        ScanReport {
            rows: 300,
            input_rows: 1200,
            ..ScanReport::default()
        }
    }

    #[test]
    fn a_shard_sharing_its_key_takes_its_part_of_the_rows() {
        let config = config(1);
        assert_eq!(key_share(&config, &report()), Some(0.25));

        let own = RunConfig {
            key_sharing: KeySharing::Own,
            ..config.clone()
        };
        let no_shard = RunConfig {
            shard: None,
            ..config.clone()
        };
        let mut unlimited = config.clone();
        unlimited.api.rate = RateLimit::Unlimited;
        for (what, config) in [
            ("own key", own),
            ("no shard", no_shard),
            ("unlimited", unlimited),
        ] {
            assert_eq!(key_share(&config, &report()), None, "{what}");
        }
        let every_row = ScanReport {
            rows: 1200,
            ..report()
        };
        assert_eq!(key_share(&config, &every_row), None);
        assert_eq!(key_share(&config, &ScanReport::default()), None);
    }

    #[tokio::test]
    async fn the_shards_were_planned_to_end_when_each_keys_part_of_the_rows_would() {
        let config = config(1);
        let clients = build_clients(&config.api).unwrap();
        // 1,200 rows at 600/min paced at 98%.
        let planned = planned_end(&config, &report(), &clients).unwrap();
        assert_eq!(planned.as_millis(), 122_448);
        // Two keys each take half of them.
        let config = self::config(2);
        let clients = build_clients(&config.api).unwrap();
        let planned = planned_end(&config, &report(), &clients).unwrap();
        assert_eq!(planned.as_millis(), 61_224);
        // A shard with a key of its own plans nothing.
        let own = RunConfig {
            key_sharing: KeySharing::Own,
            ..config
        };
        assert_eq!(planned_end(&own, &report(), &clients), None);
    }
}
