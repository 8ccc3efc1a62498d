//! Request counters and the [`Snapshot`] of a sandbox's state handed to tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::faults::FaultKind;
use crate::method::ApiMethod;
use crate::model::EnvironmentView;
use crate::store::Store;

/// How a request ended: an HTTP status, or a connection closed without a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Outcome {
    Status(u16),
    Dropped,
}

/// Counters updated by every request.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    inner: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    requests: HashMap<(ApiMethod, Outcome), u64>,
    rate_limited: u64,
    faults: BTreeMap<FaultKind, u64>,
}

impl Stats {
    fn counters(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a finished request.
    pub(crate) fn record_request(&self, method: ApiMethod, outcome: Outcome) {
        *self
            .counters()
            .requests
            .entry((method, outcome))
            .or_insert(0) += 1;
    }

    /// Counts a request refused by the rate limiter.
    pub(crate) fn record_rate_limited(&self) {
        self.counters().rate_limited += 1;
    }

    /// Counts an injected fault.
    pub(crate) fn record_fault(&self, kind: FaultKind) {
        *self.counters().faults.entry(kind).or_insert(0) += 1;
    }

    /// Everything counted so far, with the store's state.
    pub(crate) fn snapshot(&self, store: &Store) -> Snapshot {
        let counters = self.counters();
        let mut requests: Vec<RequestCount> = counters
            .requests
            .iter()
            .map(|(&(method, outcome), &count)| RequestCount {
                method,
                status: match outcome {
                    Outcome::Status(status) => Some(status),
                    Outcome::Dropped => None,
                },
                count,
            })
            .collect();
        requests.sort_by_key(|r| (r.method, r.status));
        let applied = store.applied();
        let mut deletes_by_connection = BTreeMap::new();
        for delete in &applied.deleted {
            *deletes_by_connection
                .entry(delete.connection_id)
                .or_insert(0) += 1;
        }
        Snapshot {
            environments: store.environments(),
            requests,
            creates_applied: applied.creates,
            updates_applied: applied.updates,
            deletes_applied: applied.deletes,
            deletes_by_connection,
            deleted: applied
                .deleted
                .iter()
                .map(|d| DeletedEnvironment {
                    connection_id: d.connection_id,
                    environment_id: d.environment_id,
                    name: d.name.clone(),
                })
                .collect(),
            duplicates_created: applied.duplicates.len() as u64,
            duplicates: applied
                .duplicates
                .iter()
                .map(|d| DuplicateName {
                    connection_id: d.connection_id,
                    name: d.name.clone(),
                })
                .collect(),
            rate_limited: counters.rate_limited,
            faults: counters.faults.clone(),
        }
    }
}

/// The number of requests of one method that ended one way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCount {
    /// The method.
    pub method: ApiMethod,
    /// The status sent, or `None` when the connection was closed without a response.
    pub status: Option<u16>,
    /// How many.
    pub count: u64,
}

/// A create that made a second environment with a name that already existed in its connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateName {
    /// The connection.
    pub connection_id: Uuid,
    /// The repeated name.
    pub name: String,
}

/// An environment removed by an applied delete (including one whose answer was then faulted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedEnvironment {
    /// The connection it was in.
    pub connection_id: Uuid,
    /// Its id.
    pub environment_id: Uuid,
    /// Its name when it was deleted.
    pub name: String,
}

/// The sandbox's state at one instant: its store and its counters. Also served as JSON by
/// `GET /_sandbox/state` (camelCase keys; secret values are `null` as in the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Each dbt connection's environments, sorted by name then id.
    pub environments: BTreeMap<Uuid, Vec<EnvironmentView>>,
    /// Requests under `/api` by method and outcome (only routes of the API; 401s included).
    pub requests: Vec<RequestCount>,
    /// Creates that took effect (including those whose response was then faulted).
    pub creates_applied: u64,
    /// Updates that took effect.
    pub updates_applied: u64,
    /// Deletes that took effect (including those whose response was then faulted).
    pub deletes_applied: u64,
    /// Deletes that took effect, by connection (connections with none are absent).
    pub deletes_by_connection: BTreeMap<Uuid, u64>,
    /// Every environment deleted, in the order the deletes took effect.
    pub deleted: Vec<DeletedEnvironment>,
    /// Creates of a name that already existed in the connection.
    pub duplicates_created: u64,
    /// Which names those were, in the order they happened.
    pub duplicates: Vec<DuplicateName>,
    /// Requests refused by the rate limiter (not counting injected `429` faults).
    pub rate_limited: u64,
    /// Injected faults by kind.
    pub faults: BTreeMap<FaultKind, u64>,
}

impl Snapshot {
    /// Requests of `method` answered with `status`.
    pub fn requests_with(&self, method: ApiMethod, status: u16) -> u64 {
        self.count_where(|r| r.method == method && r.status == Some(status))
    }

    /// Requests of `method` whose connection was closed without a response.
    pub fn dropped(&self, method: ApiMethod) -> u64 {
        self.count_where(|r| r.method == method && r.status.is_none())
    }

    /// Every request counted.
    pub fn total_requests(&self) -> u64 {
        self.count_where(|_| true)
    }

    /// Injected faults of one kind.
    pub fn faults_of(&self, kind: FaultKind) -> u64 {
        self.faults.get(&kind).copied().unwrap_or(0)
    }

    /// A connection's environments (empty when it has none or is unknown).
    pub fn environments_in(&self, connection_id: Uuid) -> &[EnvironmentView] {
        self.environments
            .get(&connection_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The environments named `name` in a connection (more than one means duplicates).
    pub fn environments_named<'a>(
        &'a self,
        connection_id: Uuid,
        name: &'a str,
    ) -> impl Iterator<Item = &'a EnvironmentView> + 'a {
        self.environments_in(connection_id)
            .iter()
            .filter(move |e| e.name == name)
    }

    /// Deletes that took effect in a connection.
    pub fn deletes_in(&self, connection_id: Uuid) -> u64 {
        self.deletes_by_connection
            .get(&connection_id)
            .copied()
            .unwrap_or(0)
    }

    /// How many environments named `name` were deleted from a connection: 1 for each extra
    /// removed exactly once; more means a name was created and deleted again.
    pub fn deletes_of(&self, connection_id: Uuid, name: &str) -> u64 {
        self.deleted
            .iter()
            .filter(|d| d.connection_id == connection_id && d.name == name)
            .count() as u64
    }

    /// The number of environments across all connections.
    pub fn environment_count(&self) -> usize {
        self.environments.values().map(Vec::len).sum()
    }

    fn count_where(&self, keep: impl Fn(&RequestCount) -> bool) -> u64 {
        self.requests
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.count)
            .sum()
    }
}
