//! The plan: what to do with each valid row, given what its connection already holds.

use omni_dbt_core::{
    Environment, EnvironmentId, EnvironmentUpdate, ExistenceCheck, NewEnvironment, NewVariable,
    VariableUpdate,
};

use crate::config::ExistingPolicy;
use crate::execute::failure::Failure;
use crate::plan::diff::{variable_named, Drift};
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
        /// What the update changes, for the log and the plan.
        drift: Box<Drift>,
    },
    /// The existing environment `id` already matches the row (`--existing update`).
    Unchanged {
        /// The environment.
        id: EnvironmentId,
        /// What was not compared or is not managed by the row (for the plan).
        drift: Box<Drift>,
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
        ExistingPolicy::Update => {
            let drift = Box::new(Drift::between(existing, environment));
            if drift.has_changes() {
                Action::Update {
                    id: existing.id,
                    update: Box::new(update_body(existing, environment)),
                    drift,
                }
            } else {
                Action::Unchanged {
                    id: existing.id,
                    drift,
                }
            }
        }
    }
}

/// The update that makes `existing` match `wanted` in every field the row sets: every variable
/// of the row is sent (secrets with the row's value, which cannot be compared). Fields the row
/// leaves empty are omitted, so Omni leaves them as they are.
pub(crate) fn update_body(existing: &Environment, wanted: &NewEnvironment) -> EnvironmentUpdate {
    let variables = wanted.variables.as_ref().map(|variables| {
        variables
            .iter()
            .map(|variable| variable_update(existing, variable))
            .collect::<Vec<_>>()
    });
    EnvironmentUpdate {
        name: existing.name.clone(),
        target_schema: wanted.target_schema.clone(),
        owner_id: wanted.owner_id.clone(),
        target_database: wanted.target_database.clone(),
        target_name: wanted.target_name.clone(),
        target_role: wanted.target_role.clone(),
        variables,
    }
}

fn variable_update(existing: &Environment, wanted: &NewVariable) -> VariableUpdate {
    match variable_named(existing, &wanted.name).and_then(|current| current.id.clone()) {
        Some(id) => VariableUpdate::Existing {
            id,
            is_secret: wanted.value.is_secret(),
            value: Some(wanted.value.clone()),
        },
        None => VariableUpdate::New(wanted.clone()),
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
        assert!(matches!(unchanged, Action::Unchanged { .. }));
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

    fn update_of(row: &NewEnvironment) -> Action {
        decide(
            ExistingPolicy::Update,
            Some(&listed(existing("n"))),
            row,
            Sent::Never,
        )
    }

    #[test]
    fn update_is_decided_by_the_drift_and_unchanged_keeps_its_notes() {
        let same = NewEnvironment::new("n", "s").with_variable(NewVariable::plain("A", "1"));
        let Action::Unchanged { drift, .. } = update_of(&same) else {
            panic!("expected unchanged");
        };
        assert_eq!(drift.notes.len(), 1, "target_database is left as it is");
        let changed = NewEnvironment::new("n", "s").with_variable(NewVariable::plain("A", "2"));
        let Action::Update { drift, update, .. } = update_of(&changed) else {
            panic!("expected an update");
        };
        assert_eq!(drift.changes.len(), 1);
        assert!(matches!(
            update.variables.as_deref(),
            Some([VariableUpdate::Existing { id, is_secret: false, value: Some(_) }]) if id == "v1"
        ));
        assert!(matches!(
            update_of(&NewEnvironment::new("n", "other")),
            Action::Update { .. }
        ));
    }

    #[test]
    fn the_update_body_sends_every_field_the_row_sets_and_omits_the_empty_ones() {
        let row = NewEnvironment::new("n", "s2")
            .with_target_role("ADMIN")
            .with_variable(NewVariable::secret("B", "x"));
        let Action::Update { update, .. } = update_of(&row) else {
            panic!("expected an update");
        };
        assert_eq!(update.name, "n");
        assert_eq!(update.target_schema, "s2");
        assert_eq!(update.target_role.as_deref(), Some("ADMIN"));
        assert_eq!(update.target_database, None, "left as it is in Omni");
        assert!(matches!(
            update.variables.as_deref(),
            Some([VariableUpdate::New(new)]) if new.name == "B" && new.value.is_secret()
        ));
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
