//! Listing every connection of an export, a few at a time over the keys, into one spool; a
//! connection that cannot be listed is noted and the others go on.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use omni_dbt_core::ConnectionId;
use tokio::sync::Semaphore;
use tokio::task::{JoinError, JoinSet};

use super::config::DefaultEnvironment;
use super::error::ExportError;
use super::listing::{list_connection, ListedOrder, ListingFacts};
use super::shape::VariableColumn;
use super::spool::Spool;
use super::summary::FailedConnection;
use crate::execute::failure::Failure;
use crate::execute::workers::KeyClient;
use crate::record::ErrorKind;
use crate::report::Reporter;
use crate::stop::{StopHandle, StopReason};

/// How to list: with which keys, how many at once, what to keep, when to stop.
#[derive(Clone, Copy)]
pub(crate) struct Listing<'a> {
    /// One client per key; connections go round-robin over them.
    pub(crate) clients: &'a [KeyClient],
    /// Connections listed at once.
    pub(crate) concurrency: usize,
    /// Whether default environments are kept.
    pub(crate) defaults: DefaultEnvironment,
    /// Stops the listing (a 401 triggers it too).
    pub(crate) stop: &'a StopHandle,
    /// Told of each connection listed.
    pub(crate) reporter: &'a dyn Reporter,
}

/// What listing every connection gave.
#[derive(Debug)]
pub(crate) struct Gathered {
    /// The environments of every connection listed. Shared: a listing abandoned when the
    /// export stopped may still hold it for a moment.
    pub(crate) spool: Arc<Mutex<Spool>>,
    /// The variable columns they need.
    pub(crate) columns: BTreeSet<VariableColumn>,
    /// Connections that could not be listed, in connection order.
    pub(crate) failed: Vec<FailedConnection>,
    /// Default environments left out.
    pub(crate) defaults_left_out: u64,
    /// Connections that came in another order and were sorted here.
    pub(crate) sorted_locally: u64,
}

/// What one listing task hands back once its environments are in the spool.
type Settled = (ConnectionId, Result<ListingFacts, Failure>);

/// Lists `connections` into a new spool. Once the export stops, no further connection is
/// listed and listings under way are abandoned: they only read.
pub(crate) async fn gather(
    connections: &[ConnectionId],
    listing: Listing<'_>,
) -> Result<Gathered, ExportError> {
    let spool = Arc::new(Mutex::new(
        Spool::new().map_err(|source| ExportError::Spool { source })?,
    ));
    let mut facts = Facts::default();
    let permits = Arc::new(Semaphore::new(listing.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (i, connection) in connections.iter().copied().enumerate() {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit,
            _ = listing.stop.stopped() => break,
        };
        let Ok(permit) = permit else { break };
        let key = listing.clients[i % listing.clients.len()].clone();
        let (spool, defaults, stop) = (Arc::clone(&spool), listing.defaults, listing.stop.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let settled = list_into(&key, connection, defaults, spool).await;
            if let Ok((_, Err(Failure { kind: ErrorKind::Auth, .. }))) = &settled {
                tracing::error!(key = %key.label, "Omni answered 401 to the key in {}: aborting", key.label);
                stop.stop(StopReason::AuthFailed);
            }
            settled
        });
        while let Some(joined) = tasks.try_join_next() {
            facts.add(joined, listing.reporter)?;
        }
    }
    loop {
        let joined = tokio::select! {
            joined = tasks.join_next() => joined,
            _ = listing.stop.stopped() => break, // dropping `tasks` cancels them
        };
        let Some(joined) = joined else { break };
        facts.add(joined, listing.reporter)?;
    }
    facts.failed.sort_by_key(|failed| failed.connection);
    Ok(Gathered {
        spool,
        columns: facts.columns,
        failed: facts.failed,
        defaults_left_out: facts.defaults_left_out,
        sorted_locally: facts.sorted_locally,
    })
}

/// Lists one connection and moves its environments into the spool.
async fn list_into(
    key: &KeyClient,
    connection: ConnectionId,
    defaults: DefaultEnvironment,
    spool: Arc<Mutex<Spool>>,
) -> std::io::Result<Settled> {
    let file = match list_connection(key, connection, defaults).await? {
        Ok(file) => file,
        Err(failure) => return Ok((connection, Err(failure))),
    };
    let facts = file.facts.clone();
    tokio::task::spawn_blocking(move || {
        spool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(connection, file)
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok((connection, Ok(facts)))
}

/// What the settled listings found so far.
#[derive(Debug, Default)]
struct Facts {
    columns: BTreeSet<VariableColumn>,
    failed: Vec<FailedConnection>,
    defaults_left_out: u64,
    sorted_locally: u64,
}

impl Facts {
    fn add(
        &mut self,
        joined: Result<std::io::Result<Settled>, JoinError>,
        reporter: &dyn Reporter,
    ) -> Result<(), ExportError> {
        let settled = joined.map_err(|source| ExportError::Internal {
            task: "listing connections",
            source,
        })?;
        let (connection, outcome) = settled.map_err(|source| ExportError::Spool { source })?;
        match outcome {
            Ok(listed) => {
                if listed.order == ListedOrder::Other {
                    tracing::warn!(%connection, "Omni did not list connection {connection} in name order; sorted here");
                    self.sorted_locally += 1;
                }
                self.defaults_left_out += listed.defaults_left_out;
                self.columns.extend(listed.columns);
            }
            Err(failure) => {
                tracing::error!(%connection, "cannot export connection {connection}: {}", failure.message);
                self.failed.push(FailedConnection {
                    connection,
                    kind: failure.kind,
                    http_status: failure.http_status,
                    message: failure.message,
                });
            }
        }
        reporter.connection_listed();
        Ok(())
    }
}
