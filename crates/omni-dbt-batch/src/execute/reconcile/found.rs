//! One listing of a connection that answers its parked rows: which of the environments they
//! ask about it holds.

use std::collections::{HashMap, HashSet};

use omni_dbt_core::{Client, ConnectionId, EnvironmentId, Error};

use super::parked::{Doubt, Parked};

/// What one listing showed of the environments parked rows ask about.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Environments found by name (creates), with their ids.
    names: HashMap<String, EnvironmentId>,
    /// Environments found by id (deletes).
    ids: HashSet<EnvironmentId>,
}

impl Found {
    /// The id of the environment named exactly `name`, if the listing showed one.
    pub(crate) fn named(&self, name: &str) -> Option<EnvironmentId> {
        self.names.get(name).copied()
    }

    /// Whether the listing showed environment `id`.
    pub(crate) fn holds(&self, id: &EnvironmentId) -> bool {
        self.ids.contains(id)
    }
}

/// What parked rows ask a listing.
#[derive(Debug, Default)]
struct Wanted {
    names: HashSet<String>,
    ids: HashSet<EnvironmentId>,
}

impl Wanted {
    fn of(rows: &[Parked]) -> Self {
        let mut wanted = Self::default();
        for row in rows {
            match (row.doubt, &row.sending.job.work) {
                (Doubt::Delete { .. }, crate::execute::job::Work::Delete { id, .. }) => {
                    wanted.ids.insert(*id);
                }
                _ => {
                    wanted.names.insert(row.sending.job.key.name.clone());
                }
            }
        }
        wanted
    }

    fn is_empty(&self) -> bool {
        self.names.is_empty() && self.ids.is_empty()
    }
}

/// Lists `connection` page by page, beginning now, until every environment `rows` ask about
/// has been seen or the pages end (an environment is known absent only at the end); returns
/// what it found and how many pages it read.
pub(crate) async fn look_up(
    client: &Client,
    connection: &ConnectionId,
    rows: &[Parked],
) -> Result<(Found, usize), Error> {
    let mut wanted = Wanted::of(rows);
    let mut found = Found::default();
    let mut pages = client.pages(connection);
    while !wanted.is_empty() {
        let Some(page) = pages.next_page().await else {
            break;
        };
        for environment in page? {
            if wanted.names.remove(&environment.name) {
                found.names.insert(environment.name.clone(), environment.id);
            }
            if wanted.ids.remove(&environment.id) {
                found.ids.insert(environment.id);
            }
        }
    }
    Ok((
        found,
        usize::try_from(pages.pages_read()).unwrap_or(usize::MAX),
    ))
}
