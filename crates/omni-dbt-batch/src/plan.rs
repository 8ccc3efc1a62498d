//! The plan phase: what Omni already holds per connection, and what to do with each row given it.

use std::collections::{BTreeSet, HashMap};

use omni_dbt_core::{
    Client, ConnectionId, Environment, EnvironmentId, EnvironmentUpdate, NewEnvironment,
    NewVariable, VariableUpdate,
};

use crate::classify::{error_kind, error_message};
use crate::config::ExistingPolicy;
use crate::record::{ErrorKind, Status};

/// What Omni holds for one connection, as learnt by listing it once.
#[derive(Clone, Debug)]
pub enum ConnectionState {
    /// The connection was listed: its environments by name (first of a name wins).
    Listed(HashMap<String, Environment>),
    /// Listing failed in a way that dooms every row of the connection (403, 404, exhausted...).
    Unusable(Failure),
}

/// A failure recorded for a row without (further) requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The stable kind.
    pub kind: ErrorKind,
    /// The human message.
    pub message: String,
    /// The HTTP status behind it, if any.
    pub http_status: Option<u16>,
    /// Requests spent learning it.
    pub attempts: u32,
}

impl Failure {
    /// The failure for `error` after `attempts` requests.
    pub fn from_error(error: &omni_dbt_core::Error, attempts: u32) -> Self {
        Self {
            kind: error_kind(error, attempts),
            message: error_message(error, attempts),
            http_status: error.status(),
            attempts,
        }
    }
}

/// What Omni holds for every connection of the run.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    connections: HashMap<ConnectionId, ConnectionState>,
}

impl Inventory {
    /// The state of one connection, if it was listed.
    pub fn get(&self, connection: &ConnectionId) -> Option<&ConnectionState> {
        self.connections.get(connection)
    }

    /// Records what listing a connection found.
    pub fn insert(&mut self, connection: ConnectionId, state: ConnectionState) {
        self.connections.insert(connection, state);
    }

    /// The environment named `name` in `connection`, if the connection was listed and has it.
    pub fn find(&self, connection: &ConnectionId, name: &str) -> Option<&Environment> {
        match self.connections.get(connection)? {
            ConnectionState::Listed(by_name) => by_name.get(name.trim()),
            ConnectionState::Unusable(_) => None,
        }
    }
}

/// Lists one connection, turning a failure into a connection-wide verdict.
/// Returns the state and the requests it took; a 401 is returned as an error so the run aborts.
pub async fn list_connection(
    client: &Client,
    connection: &ConnectionId,
) -> Result<ConnectionState, Failure> {
    let scoped = client.scoped();
    let result = scoped.list_environments(connection).await;
    let attempts = u32::try_from(scoped.tally().requests).unwrap_or(u32::MAX);
    match result {
        Ok(environments) => {
            let mut by_name = HashMap::with_capacity(environments.len());
            for environment in environments {
                by_name
                    .entry(environment.name.trim().to_owned())
                    .or_insert(environment);
            }
            Ok(ConnectionState::Listed(by_name))
        }
        Err(error) => {
            let failure = Failure::from_error(&error, attempts);
            if failure.kind == ErrorKind::Auth {
                Err(failure)
            } else {
                Ok(ConnectionState::Unusable(failure))
            }
        }
    }
}

/// The connections the plan must list.
pub fn connections_to_list(
    policy: ExistingPolicy,
    all: &BTreeSet<ConnectionId>,
    with_lost_requests: &BTreeSet<ConnectionId>,
) -> Vec<ConnectionId> {
    match policy {
        ExistingPolicy::Ignore => with_lost_requests.iter().copied().collect(),
        _ => all.iter().copied().collect(),
    }
}

/// What to do with one valid row.
#[derive(Clone, Debug)]
pub enum Action {
    /// Create it.
    Create,
    /// Update the existing environment `id` with `update`.
    Update {
        /// The environment to update.
        id: EnvironmentId,
        /// The body to send.
        update: Box<EnvironmentUpdate>,
    },
    /// Record this outcome without sending anything.
    Settle {
        /// The row's status.
        status: Status,
        /// The environment, for success statuses.
        environment_id: Option<EnvironmentId>,
        /// Why, for failures.
        failure: Option<Failure>,
    },
}

/// Decides a valid row's action from what the connection holds.
///
/// `sent_before` is true when a previous run recorded an intent for this row: an environment of
/// that name is then the one that run created (its response was lost), so it counts as `created`.
pub fn decide(
    policy: ExistingPolicy,
    state: Option<&ConnectionState>,
    environment: &NewEnvironment,
    sent_before: bool,
) -> Action {
    let existing = match state {
        Some(ConnectionState::Unusable(failure)) => {
            return Action::Settle {
                status: Status::Failed,
                environment_id: None,
                failure: Some(failure.clone()),
            }
        }
        Some(ConnectionState::Listed(by_name)) => by_name.get(environment.name.trim()),
        None => None,
    };
    let Some(existing) = existing else {
        return Action::Create;
    };
    let settle = |status| Action::Settle {
        status,
        environment_id: Some(existing.id),
        failure: None,
    };
    if sent_before {
        return settle(Status::Created);
    }
    match policy {
        ExistingPolicy::Skip | ExistingPolicy::Ignore => settle(Status::Exists),
        ExistingPolicy::Fail => Action::Settle {
            status: Status::Failed,
            environment_id: Some(existing.id),
            failure: Some(Failure {
                kind: ErrorKind::Exists,
                message: format!(
                    "an environment named {:?} already exists ({}); --existing fail",
                    existing.name, existing.id
                ),
                http_status: None,
                attempts: 0,
            }),
        },
        ExistingPolicy::Update => match update_for(existing, environment) {
            Some(update) => Action::Update {
                id: existing.id,
                update: Box::new(update),
            },
            None => settle(Status::Unchanged),
        },
    }
}

/// The update that makes `existing` match `wanted`, or `None` when it already does.
///
/// Fields the row leaves empty are left as they are. Secret values cannot be compared (Omni
/// never returns them), so a secret variable that exists by name counts as matching.
pub fn update_for(existing: &Environment, wanted: &NewEnvironment) -> Option<EnvironmentUpdate> {
    let differs = |want: &Option<String>, have: &Option<String>| {
        want.as_ref().is_some_and(|w| Some(w) != have.as_ref())
    };
    let mut changed = wanted.target_schema != existing.target_schema
        || differs(&wanted.owner_id, &existing.owner_id)
        || differs(&wanted.target_database, &existing.target_database)
        || differs(&wanted.target_name, &existing.target_name)
        || differs(&wanted.target_role, &existing.target_role);
    let variables = wanted.variables.as_ref().map(|variables| {
        variables
            .iter()
            .map(|variable| variable_update(existing, variable, &mut changed))
            .collect::<Vec<_>>()
    });
    changed.then(|| EnvironmentUpdate {
        name: existing.name.clone(),
        target_schema: wanted.target_schema.clone(),
        owner_id: wanted.owner_id.clone(),
        target_database: wanted.target_database.clone(),
        target_name: wanted.target_name.clone(),
        target_role: wanted.target_role.clone(),
        variables,
    })
}

fn variable_update(
    existing: &Environment,
    wanted: &NewVariable,
    changed: &mut bool,
) -> VariableUpdate {
    let current = existing
        .variables
        .iter()
        .find(|v| v.name == wanted.name && v.id.is_some());
    match current {
        Some(current) => {
            let same = current.is_secret == wanted.value.is_secret()
                && (wanted.value.is_secret() || current.value.as_deref() == wanted.value.plain());
            *changed |= !same;
            VariableUpdate::Existing {
                id: current.id.clone().unwrap_or_default(),
                is_secret: wanted.value.is_secret(),
                value: Some(wanted.value.clone()),
            }
        }
        None => {
            *changed = true;
            VariableUpdate::New(wanted.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omni_dbt_core::Variable;

    fn existing(name: &str) -> Environment {
        Environment {
            id: EnvironmentId::new(uuid::Uuid::from_u128(7)),
            name: name.into(),
            is_default_environment: false,
            owner_id: None,
            target_database: Some("db".into()),
            target_name: None,
            target_role: None,
            target_schema: "s".into(),
            variables: vec![Variable {
                id: Some("v1".into()),
                name: "A".into(),
                value: Some("1".into()),
                is_secret: false,
            }],
        }
    }

    fn listed(env: Environment) -> ConnectionState {
        ConnectionState::Listed([(env.name.clone(), env)].into_iter().collect())
    }

    #[test]
    fn absent_rows_are_created() {
        let state = listed(existing("other"));
        let action = decide(
            ExistingPolicy::Skip,
            Some(&state),
            &NewEnvironment::new("n", "s"),
            false,
        );
        assert!(matches!(action, Action::Create));
    }

    #[test]
    fn existing_rows_follow_the_policy() {
        let state = listed(existing("n"));
        let row = NewEnvironment::new("n", "s");
        let skip = decide(ExistingPolicy::Skip, Some(&state), &row, false);
        assert!(matches!(
            skip,
            Action::Settle {
                status: Status::Exists,
                environment_id: Some(_),
                ..
            }
        ));
        let fail = decide(ExistingPolicy::Fail, Some(&state), &row, false);
        assert!(matches!(
            fail,
            Action::Settle {
                status: Status::Failed,
                failure: Some(Failure {
                    kind: ErrorKind::Exists,
                    ..
                }),
                ..
            }
        ));
        let unchanged = decide(ExistingPolicy::Update, Some(&state), &row, false);
        assert!(matches!(
            unchanged,
            Action::Settle {
                status: Status::Unchanged,
                ..
            }
        ));
    }

    #[test]
    fn a_lost_create_found_on_resume_counts_as_created() {
        let state = listed(existing("n"));
        let action = decide(
            ExistingPolicy::Fail,
            Some(&state),
            &NewEnvironment::new("n", "s"),
            true,
        );
        assert!(matches!(
            action,
            Action::Settle {
                status: Status::Created,
                ..
            }
        ));
    }

    #[test]
    fn update_detects_changed_plain_values_and_new_variables() {
        let env = existing("n");
        assert!(update_for(
            &env,
            &NewEnvironment::new("n", "s").with_variable(NewVariable::plain("A", "1"))
        )
        .is_none());
        let changed = update_for(
            &env,
            &NewEnvironment::new("n", "s").with_variable(NewVariable::plain("A", "2")),
        );
        assert!(changed.is_some());
        let added = update_for(
            &env,
            &NewEnvironment::new("n", "s").with_variable(NewVariable::secret("B", "x")),
        );
        let added = added.unwrap();
        assert!(matches!(
            added.variables.as_deref(),
            Some([VariableUpdate::New(_)])
        ));
        assert!(update_for(&env, &NewEnvironment::new("n", "other")).is_some());
    }

    #[test]
    fn unusable_connections_fail_their_rows() {
        let state = ConnectionState::Unusable(Failure {
            kind: ErrorKind::Forbidden,
            message: "no dbt".into(),
            http_status: Some(403),
            attempts: 1,
        });
        let action = decide(
            ExistingPolicy::Skip,
            Some(&state),
            &NewEnvironment::new("n", "s"),
            false,
        );
        assert!(matches!(
            action,
            Action::Settle {
                status: Status::Failed,
                ..
            }
        ));
    }
}
