//! Sharding (`--shard K/N`): which runner of N owns a connection, by a stable hash.

use std::fmt;
use std::str::FromStr;

use omni_dbt_core::ConnectionId;
use sha2::{Digest, Sha256};

/// One of `N` shards of an input, numbered `1..=N`.
///
/// A row belongs to the shard its connection hashes to (the first 8 bytes of the SHA-256 of the
/// UUID's 16 bytes, big-endian, modulo `N`), so every row of a connection lands in the same
/// shard, and the split is the same on every machine, run and version.
///
/// ```
/// use omni_dbt_batch::Shard;
/// use omni_dbt_core::ConnectionId;
/// let connection: ConnectionId = "550e8400-e29b-41d4-a716-446655440000".parse()?;
/// let shards: Vec<Shard> = (1..=3).map(|k| format!("{k}/3").parse()).collect::<Result<_, _>>()?;
/// assert_eq!(shards.iter().filter(|s| s.contains(&connection)).count(), 1);
/// assert_eq!(shards[1].to_string(), "2/3");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a shard specification was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard {spec:?}: {reason}")]
pub struct ShardError {
    spec: String,
    reason: &'static str,
}

impl Shard {
    /// Shard `index` of `count` (1-based: `1 <= index <= count`).
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        let spec = format!("{index}/{count}");
        let refuse = |reason| Err(ShardError { spec, reason });
        if count == 0 {
            return refuse("the shard count N must be at least 1");
        }
        if index == 0 {
            return refuse(
                "shards are numbered 1..=N; for a 0-based index such as Kubernetes' \
                 JOB_COMPLETION_INDEX, add 1",
            );
        }
        if index > count {
            return refuse("the shard number K must be at most N (shards are numbered 1..=N)");
        }
        Ok(Shard { index, count })
    }

    /// The 1-based shard number `K`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The number of shards `N`.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether rows of `connection` belong to this shard.
    pub fn contains(&self, connection: &ConnectionId) -> bool {
        self.owns(connection.as_uuid().as_bytes())
    }

    /// Whether a row whose connection id is written `raw` belongs to this shard: by its UUID
    /// when `raw` is one (as [`Shard::contains`]), else by the trimmed text, so that even a row
    /// with an invalid id is reported by exactly one shard.
    pub fn contains_raw(&self, raw: &str) -> bool {
        match raw.parse::<ConnectionId>() {
            Ok(connection) => self.contains(&connection),
            Err(_) => self.owns(raw.trim().as_bytes()),
        }
    }

    fn owns(&self, key: &[u8]) -> bool {
        let digest = Sha256::digest(key);
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    /// Parses `K/N`, such as `2/4`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || ShardError {
            spec: s.to_owned(),
            reason: "expected K/N with whole numbers 1 <= K <= N, such as 2/4",
        };
        let (k, n) = s.trim().split_once('/').ok_or_else(malformed)?;
        let k = k.trim().parse().map_err(|_| malformed())?;
        let n = n.trim().parse().map_err(|_| malformed())?;
        Shard::new(k, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn parses_and_displays_k_of_n() {
        let shard: Shard = " 2/5 ".parse().unwrap();
        assert_eq!((shard.index(), shard.count()), (2, 5));
        assert_eq!(shard.to_string(), "2/5");
    }

    #[test]
    fn zero_index_explains_one_based_numbering() {
        let err = "0/3".parse::<Shard>().unwrap_err().to_string();
        assert!(err.contains("1..=N") && err.contains("add 1"), "{err}");
    }

    #[test]
    fn malformed_and_out_of_range_specs_are_refused() {
        for spec in ["", "3", "a/b", "4/3", "1/0", "-1/2", "1/2/3"] {
            assert!(spec.parse::<Shard>().is_err(), "{spec}");
        }
    }

    #[test]
    fn hash_is_stable_across_versions() {
        // Pinned: changing the hash would move connections between shards of a running job.
        let id: ConnectionId = "550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
        let owners: Vec<u32> = (1..=7)
            .filter(|k| Shard::new(*k, 7).unwrap().contains(&id))
            .collect();
        let digest = Sha256::digest(id.as_uuid().as_bytes());
        let expected = u64::from_be_bytes(digest[..8].try_into().unwrap()) % 7 + 1;
        assert_eq!(owners, [expected as u32]);
    }

    #[test]
    fn every_connection_is_in_exactly_one_shard() {
        let connections: Vec<ConnectionId> = (0..1000)
            .map(|_| ConnectionId::new(Uuid::new_v4()))
            .collect();
        for n in 1..=5u32 {
            let shards: Vec<Shard> = (1..=n).map(|k| Shard::new(k, n).unwrap()).collect();
            let mut sizes = vec![0usize; n as usize];
            for id in &connections {
                let owners: Vec<usize> = (0..shards.len())
                    .filter(|i| shards[*i].contains(id))
                    .collect();
                assert_eq!(owners.len(), 1, "{id} in shards {owners:?} of {n}");
                sizes[owners[0]] += 1;
                assert!(shards[owners[0]].contains_raw(&id.to_string()));
            }
            // Expected 1000/n each; far below that would mean a broken hash.
            assert!(
                sizes.iter().all(|s| *s >= 1000 / n as usize / 2),
                "{sizes:?}"
            );
        }
    }

    #[test]
    fn invalid_ids_land_in_exactly_one_shard() {
        let shards: Vec<Shard> = (1..=4).map(|k| Shard::new(k, 4).unwrap()).collect();
        for raw in ["", "nope", "1234"] {
            assert_eq!(shards.iter().filter(|s| s.contains_raw(raw)).count(), 1);
        }
    }
}
