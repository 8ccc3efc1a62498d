//! What Omni already holds: each connection listed once (every page), before any write.

use std::collections::HashMap;
use std::sync::Arc;

use omni_dbt_core::ConnectionId;
use tokio::sync::Semaphore;
use tokio::task::{JoinError, JoinSet};

use crate::error::{RunError, Sent};
use crate::execute::failure::Failure;
use crate::execute::workers::KeyClient;
use crate::plan::listing::Listing;
use crate::record::ErrorKind;
use crate::report::Reporter;
use crate::stop::{StopHandle, StopReason};

/// What Omni holds for one connection, as learnt by listing it once.
#[derive(Clone, Debug)]
pub(crate) enum ConnectionState {
    /// The connection was listed: its environments, found by exact name (rows' names are
    /// trimmed when read, then matched exactly).
    Listed(Listing),
    /// Listing failed in a way that dooms every row of the connection (403, 404, exhausted...).
    Unusable(Failure),
}

/// What Omni holds for every connection of the run that was listed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Inventory {
    connections: HashMap<ConnectionId, ConnectionState>,
}

impl Inventory {
    /// How many environments each listed connection held.
    pub(crate) fn sizes(&self) -> std::collections::HashMap<ConnectionId, usize> {
        self.connections
            .iter()
            .filter_map(|(connection, state)| match state {
                ConnectionState::Listed(listing) => Some((*connection, listing.len())),
                ConnectionState::Unusable(_) => None,
            })
            .collect()
    }

    /// Lists `connections`, at most `concurrency` at a time, spread round-robin over the keys.
    /// A 401 stops the run (`stop`). Once the run stops, for whatever reason, no further
    /// connection is listed and lists under way are abandoned at once: they only read, and every
    /// row is then recorded as not started. A listing task that fails (a bug) is an internal
    /// error.
    pub(crate) async fn gather(
        connections: Vec<ConnectionId>,
        clients: &[KeyClient],
        concurrency: usize,
        stop: &StopHandle,
        reporter: &dyn Reporter,
    ) -> Result<Self, RunError> {
        let mut inventory = Self::default();
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut lists = JoinSet::new();
        for (i, connection) in connections.into_iter().enumerate() {
            let permit = tokio::select! {
                permit = Arc::clone(&permits).acquire_owned() => permit,
                _ = stop.stopped() => break,
            };
            let Ok(permit) = permit else {
                break;
            };
            let key = clients[i % clients.len()].clone();
            let stop = stop.clone();
            lists.spawn(async move {
                let _permit = permit;
                let state = list(&key, &connection).await;
                if let ConnectionState::Unusable(Failure {
                    kind: ErrorKind::Auth,
                    ..
                }) = state
                {
                    tracing::error!(key = %key.label, "Omni answered 401 to the key in {}: aborting", key.label);
                    stop.stop(StopReason::AuthFailed);
                }
                (connection, state)
            });
            while let Some(joined) = lists.try_join_next() {
                inventory.add(joined, reporter)?;
            }
        }
        loop {
            let joined = tokio::select! {
                joined = lists.join_next() => joined,
                _ = stop.stopped() => break, // dropping `lists` cancels them
            };
            let Some(joined) = joined else { break };
            inventory.add(joined, reporter)?;
        }
        Ok(inventory)
    }

    /// Adds what one listing task learnt.
    fn add(
        &mut self,
        joined: Result<(ConnectionId, ConnectionState), JoinError>,
        reporter: &dyn Reporter,
    ) -> Result<(), RunError> {
        let (connection, state) = joined.map_err(|source| RunError::Internal {
            task: "listing connections",
            sent: Sent::Nothing,
            source,
        })?;
        self.connections.insert(connection, state);
        reporter.connection_listed();
        Ok(())
    }

    /// An inventory of these states, as if listed.
    #[cfg(test)]
    pub(crate) fn of(states: impl IntoIterator<Item = (ConnectionId, ConnectionState)>) -> Self {
        Self {
            connections: states.into_iter().collect(),
        }
    }

    /// The state of one connection, if it was listed.
    pub(crate) fn get(&self, connection: &ConnectionId) -> Option<&ConnectionState> {
        self.connections.get(connection)
    }
}

/// Lists one connection (every page), turning a failure into a connection-wide verdict.
async fn list(key: &KeyClient, connection: &ConnectionId) -> ConnectionState {
    let scoped = key.client.scoped();
    let result = scoped.list_environments(connection).await;
    let attempts = u32::try_from(scoped.tally().requests).unwrap_or(u32::MAX);
    match result {
        Ok(environments) => ConnectionState::Listed(environments.into_iter().collect()),
        Err(error) => ConnectionState::Unusable(Failure::from_error(&error, attempts)),
    }
}
