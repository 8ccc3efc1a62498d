//! The plan: what to do with each valid row, given what its connection already holds.

use omni_dbt_core::{
    Environment, EnvironmentId, EnvironmentUpdate, ExistenceCheck, NewEnvironment, NewVariable,
    VariableUpdate,
};

use crate::config::ExistingPolicy;
use crate::execute::failure::Failure;
use crate::plan::inventory::ConnectionState;
use crate::record::{ErrorKind, Status};

/// What to do with one valid row.
#[derive(Clone, Debug)]
pub(crate) enum Action {
    /// Create it; `check` says whether to look for it first.
    Create {
        /// Whether the create looks the name up first.
        check: ExistenceCheck,
    },
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

/// Whether an earlier run may already have sent a row's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// No earlier run sent it.
    Never,
    /// An earlier run recorded an intent and no outcome: it may have been applied.
    MaybeBefore,
}

/// Decides a valid row's action from what the connection holds.
///
/// With [`Sent::MaybeBefore`], an environment of that name is the one the earlier run created
/// (its response was lost), so it counts as `created`; and when the connection was not listed,
/// the create looks the name up first.
pub(crate) fn decide(
    policy: ExistingPolicy,
    state: Option<&ConnectionState>,
    environment: &NewEnvironment,
    sent: Sent,
) -> Action {
    let existing = match state {
        Some(ConnectionState::Unusable(failure)) => {
            return Action::Settle {
                status: Status::Failed,
                environment_id: None,
                failure: Some(failure.clone()),
            }
        }
        Some(ConnectionState::Listed(listing)) => listing.get(&environment.name),
        None => None,
    };
    let Some(existing) = existing else {
        let check = match (sent, state) {
            (Sent::MaybeBefore, None) => ExistenceCheck::LookFirst,
            _ => ExistenceCheck::AssumeAbsent,
        };
        return Action::Create { check };
    };
    let settle = |status| Action::Settle {
        status,
        environment_id: Some(existing.id),
        failure: None,
    };
    if sent == Sent::MaybeBefore {
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
pub(crate) fn update_for(
    existing: &Environment,
    wanted: &NewEnvironment,
) -> Option<EnvironmentUpdate> {
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
        ConnectionState::Listed([env].into_iter().collect())
    }

    #[test]
    fn absent_rows_are_created() {
        let state = listed(existing("other"));
        let action = decide(
            ExistingPolicy::Skip,
            Some(&state),
            &NewEnvironment::new("n", "s"),
            Sent::Never,
        );
        assert!(matches!(action, Action::Create { .. }));
    }

    #[test]
    fn existing_rows_follow_the_policy() {
        let state = listed(existing("n"));
        let row = NewEnvironment::new("n", "s");
        let skip = decide(ExistingPolicy::Skip, Some(&state), &row, Sent::Never);
        assert!(matches!(
            skip,
            Action::Settle {
                status: Status::Exists,
                environment_id: Some(_),
                ..
            }
        ));
        let fail = decide(ExistingPolicy::Fail, Some(&state), &row, Sent::Never);
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
        let unchanged = decide(ExistingPolicy::Update, Some(&state), &row, Sent::Never);
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
            Sent::MaybeBefore,
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
            Sent::Never,
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
