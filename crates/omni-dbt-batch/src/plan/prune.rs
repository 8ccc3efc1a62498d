//! `--prune`, planned: the environments of the input's connections that no row names, what an
//! earlier run left of a prune, and the `--max-deletes` guard, all decided before any write.

use std::collections::{BTreeSet, HashMap};

use omni_dbt_core::{ConnectionId, Environment, EnvironmentId};

use crate::config::{ExistingPolicy, RunConfig};
use crate::error::RunError;
use crate::execute::job::RowKey;
use crate::plan::deletions::{decide_deletion, Deletion, DeletionPlan, Presence};
use crate::plan::inventory::{ConnectionState, Inventory};
use crate::plan::listing::{name_key, Listing};
use crate::plan::resume::{Prior, PrunedBefore, Resume};
use crate::prune::{MaxDeletes, PruneRefused};
use crate::read::checked::{Checked, ScanReport};
use crate::read::source::InputFile;
use crate::record::fingerprint::fingerprint_delete;
use crate::record::{ErrorKind, Status};

/// Refuses a prune that cannot be planned safely, before anything is listed: invalid rows
/// (skipped with `--skip-invalid`, their environments would look unnamed) or a run that does
/// not list connections (`--existing ignore`).
pub(crate) fn check_prunable(
    config: &RunConfig,
    file: &str,
    report: &ScanReport,
) -> Result<(), PruneRefused> {
    if config.prune.max_deletes().is_none() {
        return Ok(());
    }
    if report.invalid > 0 {
        return Err(PruneRefused::InvalidRows {
            file: file.to_owned(),
            invalid: report.invalid,
        });
    }
    if config.existing == ExistingPolicy::Ignore {
        return Err(PruneRefused::NeedsListing);
    }
    Ok(())
}

/// What a prune plan is drawn from.
pub(crate) struct PruneScope<'a> {
    /// The input, every row of it valid.
    pub(crate) input: &'a InputFile,
    /// The connections the input (or its shard) names.
    pub(crate) connections: &'a BTreeSet<ConnectionId>,
    /// What each of them holds.
    pub(crate) inventory: &'a Inventory,
    /// What an earlier run recorded (`--resume`).
    pub(crate) resume: Option<&'a Resume>,
}

/// Plans the prune: every environment of `scope.connections` whose name no row names, except
/// the default environment; refused when a connection was not listed or when the deletes to
/// send are more than `limit` allows of the environments listed.
///
/// Runs on a blocking thread: it reads the input once more. Memory follows what Omni holds in
/// those connections, not the input's size.
pub(crate) fn plan_prune(
    scope: &PruneScope<'_>,
    limit: MaxDeletes,
) -> Result<DeletionPlan, RunError> {
    let listings = listings(scope)?;
    let listed = listings.values().map(|listing| listing.len() as u64).sum();
    let extras = unnamed(scope, &listings)?;
    let mut before: HashMap<EnvironmentId, PrunedBefore> = scope
        .resume
        .map(Resume::pruned)
        .unwrap_or_default()
        .into_iter()
        .map(|pruned| (pruned.id, pruned))
        .collect();
    let mut plan = DeletionPlan::default();
    for (connection, environment) in extras {
        let prior = before
            .remove(&environment.id)
            .map_or(Prior::Fresh, |pruned| pruned.prior);
        let deletion = deletion(connection, environment);
        plan.add(deletion, decide_deletion(prior, Presence::Listed));
    }
    for pruned in before.into_values() {
        if let Some(listing) = listings.get(&pruned.connection) {
            revisit(&mut plan, pruned, listing);
        }
    }
    let planned = plan.jobs.len() as u64;
    if !limit.allows(planned, listed) {
        return Err(PruneRefused::TooManyDeletes {
            planned,
            listed,
            limit,
        }
        .into());
    }
    Ok(plan)
}

/// The listing of every connection of the scope; a connection that could not be listed
/// refuses the prune.
fn listings<'a>(
    scope: &PruneScope<'a>,
) -> Result<HashMap<ConnectionId, &'a Listing>, PruneRefused> {
    scope
        .connections
        .iter()
        .map(|connection| match scope.inventory.get(connection) {
            Some(ConnectionState::Listed(listing)) => Ok((*connection, listing)),
            Some(ConnectionState::Unusable(failure)) => Err(PruneRefused::ListingFailed {
                connection: *connection,
                message: failure.message.clone(),
            }),
            None => Err(PruneRefused::ListingFailed {
                connection: *connection,
                message: "it was not listed".to_owned(),
            }),
        })
        .collect()
}

/// The environments no row names, by connection then name, the default environment left out.
fn unnamed<'a>(
    scope: &PruneScope<'_>,
    listings: &HashMap<ConnectionId, &'a Listing>,
) -> Result<Vec<(ConnectionId, &'a Environment)>, RunError> {
    let mut candidates: HashMap<ConnectionId, HashMap<&'a str, Vec<&'a Environment>>> =
        HashMap::new();
    for (connection, listing) in listings {
        let by_name = candidates.entry(*connection).or_default();
        for environment in listing.environments() {
            if !environment.is_default_environment {
                let key = name_key(&environment.name);
                by_name.entry(key).or_default().push(environment);
            }
        }
    }
    for checked in scope.input.checked()? {
        if let Checked::Valid(row) = checked? {
            if let Some(by_name) = candidates.get_mut(&row.connection) {
                by_name.remove(name_key(&row.environment.name));
            }
        }
    }
    let mut extras: Vec<(ConnectionId, &'a Environment)> = candidates
        .into_iter()
        .flat_map(|(connection, by_name)| {
            by_name
                .into_values()
                .flatten()
                .map(move |environment| (connection, environment))
        })
        .collect();
    extras.sort_by(|(a, x), (b, y)| (a, &x.name, x.id).cmp(&(b, &y.name, y.id)));
    Ok(extras)
}

fn deletion(connection: ConnectionId, environment: &Environment) -> Deletion {
    Deletion {
        key: RowKey {
            row: 0,
            line: 0,
            connection_id: connection.to_string(),
            name: environment.name.clone(),
            fingerprint: fingerprint_delete(&connection, &environment.id),
        },
        connection,
        id: environment.id,
    }
}

/// An environment an earlier run pruned (or was pruning) that is not to be pruned now: gone
/// (deleted or not), or still there because the input names it now, or it became the default.
fn revisit(plan: &mut DeletionPlan, pruned: PrunedBefore, listing: &Listing) {
    let deletion = Deletion {
        key: pruned.key,
        connection: pruned.connection,
        id: pruned.id,
    };
    if !listing.contains(&pruned.id) {
        plan.add(deletion, decide_deletion(pruned.prior, Presence::Absent));
        return;
    }
    match pruned.prior {
        Prior::Settled(record) => plan.done.push(record),
        Prior::Fresh | Prior::MaybeApplied(_) => plan.settled.push(kept(&deletion)),
    }
}

/// The record that settles an earlier run's unfinished delete of an environment now kept.
fn kept(deletion: &Deletion) -> crate::record::RowRecord {
    crate::record::RowRecord {
        error_kind: Some(ErrorKind::Aborted),
        error: Some(
            "not deleted: an earlier run began deleting it, but the input names it now \
             (or it is the default environment), so it was left in place"
                .to_owned(),
        ),
        ..deletion.record(Status::Skipped)
    }
}

#[cfg(test)]
mod tests {
    use omni_dbt_core::Environment;

    use super::*;
    use crate::execute::failure::Failure;
    use crate::execute::job::Work;
    use crate::plan::decide::Sent;
    use crate::read::input::{DbtOptions, InputSource};
    use crate::record::results::{Format, Intent, IntentOp, ResultsMode, ResultsWriter};
    use crate::record::RowRecord;

    const CONNECTION: &str = "550e8400-e29b-41d4-a716-446655440000";

    fn connection() -> ConnectionId {
        CONNECTION.parse().unwrap()
    }

    fn environment(id: u128, name: &str) -> Environment {
        Environment {
            id: EnvironmentId::new(uuid::Uuid::from_u128(id)),
            name: name.into(),
            is_default_environment: name == "production",
            owner_id: None,
            target_database: None,
            target_name: None,
            target_role: None,
            target_schema: "s".into(),
            variables: Vec::new(),
        }
    }

    fn id(n: u128) -> EnvironmentId {
        EnvironmentId::new(uuid::Uuid::from_u128(n))
    }

    /// An input naming `names` in the connection.
    fn input(dir: &std::path::Path, names: &[&str]) -> InputFile {
        let path = dir.join("envs.csv");
        let rows: String = names
            .iter()
            .map(|name| format!("{CONNECTION},{name},s\n"))
            .collect();
        std::fs::write(&path, format!("connection_id,name,target_schema\n{rows}")).unwrap();
        InputFile::open(&InputSource::Path(path), None, &DbtOptions::default(), None).unwrap()
    }

    fn listed(environments: Vec<Environment>) -> Inventory {
        Inventory::of([(
            connection(),
            ConnectionState::Listed(environments.into_iter().collect()),
        )])
    }

    fn plan(
        input: &InputFile,
        inventory: &Inventory,
        resume: Option<&Resume>,
        limit: &str,
    ) -> Result<DeletionPlan, RunError> {
        let connections = [connection()].into_iter().collect();
        let scope = PruneScope {
            input,
            connections: &connections,
            inventory,
            resume,
        };
        plan_prune(&scope, limit.parse().unwrap())
    }

    fn sent(plan: &DeletionPlan) -> Vec<(String, Sent)> {
        plan.jobs
            .iter()
            .map(|job| match job.work {
                Work::Delete { sent, .. } => (job.key.name.clone(), sent),
                _ => panic!("not a delete: {job:?}"),
            })
            .collect()
    }

    #[test]
    fn every_unnamed_environment_but_the_default_is_deleted_by_name_repeats_included() {
        let dir = tempfile::tempdir().unwrap();
        let inventory = listed(vec![
            environment(1, "production"),
            environment(2, "keep"),
            environment(3, " kept "),
            environment(5, "x"),
            environment(4, "x"),
            environment(6, "a"),
        ]);
        let plan = plan(
            &input(dir.path(), &["keep", "kept"]),
            &inventory,
            None,
            "100%",
        )
        .unwrap();
        let names = sent(&plan);
        assert_eq!(
            names,
            [
                ("a".into(), Sent::Never),
                ("x".into(), Sent::Never),
                ("x".into(), Sent::Never)
            ]
        );
        let ids: Vec<EnvironmentId> = plan
            .jobs
            .iter()
            .map(|j| j.intent().environment_id.unwrap())
            .collect();
        assert_eq!(ids, [id(6), id(4), id(5)], "by connection, name, then id");
        assert!(plan
            .jobs
            .iter()
            .all(|j| j.key.row == 0 && j.key.fingerprint.starts_with("delete:")));
    }

    #[test]
    fn the_guard_weighs_the_deletes_to_send_against_everything_listed() {
        let dir = tempfile::tempdir().unwrap();
        let inventory = listed(vec![
            environment(1, "production"),
            environment(2, "a"),
            environment(3, "b"),
            environment(4, "extra"),
        ]);
        let input = input(dir.path(), &["a", "b"]);
        assert!(
            plan(&input, &inventory, None, "25%").is_ok(),
            "1 x 100 = 25 x 4"
        );
        let refused = plan(&input, &inventory, None, "24.99%").unwrap_err();
        assert!(
            matches!(
                refused,
                RunError::Prune(PruneRefused::TooManyDeletes {
                    planned: 1,
                    listed: 4,
                    ..
                })
            ),
            "{refused}"
        );
        assert!(plan(&input, &inventory, None, "0").is_err());
    }

    #[test]
    fn a_connection_that_could_not_be_listed_refuses_the_prune() {
        let dir = tempfile::tempdir().unwrap();
        let unusable = Inventory::of([(
            connection(),
            ConnectionState::Unusable(Failure {
                kind: ErrorKind::Forbidden,
                message: "HTTP 403".into(),
                http_status: Some(403),
                attempts: 1,
            }),
        )]);
        let input = input(dir.path(), &["a"]);
        for inventory in [unusable, Inventory::default()] {
            let refused = plan(&input, &inventory, None, "100%").unwrap_err();
            assert!(
                matches!(refused, RunError::Prune(PruneRefused::ListingFailed { .. })),
                "{refused}"
            );
        }
    }

    fn pruned_record(n: u128, name: &str, status: Status) -> RowRecord {
        RowRecord {
            row: 0,
            line: 0,
            connection_id: CONNECTION.into(),
            name: name.into(),
            status,
            environment_id: Some(id(n)),
            attempts: 1,
            http_status: None,
            error_kind: None,
            error: None,
            fingerprint: fingerprint_delete(&connection(), &id(n)),
        }
    }

    fn pruned_intent(n: u128, name: &str) -> Intent {
        Intent {
            row: 0,
            line: 0,
            connection_id: CONNECTION.into(),
            name: name.into(),
            fingerprint: fingerprint_delete(&connection(), &id(n)),
            op: IntentOp::Delete,
            environment_id: Some(id(n)),
        }
    }

    #[test]
    fn an_earlier_runs_deletions_are_counted_adopted_sent_again_or_left_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("envs.results.csv");
        let mut writer = ResultsWriter::create(&results, Format::Csv, ResultsMode::New).unwrap();
        writer
            .record(&pruned_record(1, "done", Status::Deleted))
            .unwrap();
        writer
            .record(&pruned_record(2, "refused", Status::Failed))
            .unwrap();
        for (n, name) in [(3, "applied"), (4, "named_now"), (5, "unanswered")] {
            writer.intend(&pruned_intent(n, name)).unwrap();
        }
        drop(writer);
        let resume = Resume::load(&results).unwrap();
        let inventory = listed(vec![
            environment(4, "named_now"),
            environment(5, "unanswered"),
        ]);

        let plan = plan(
            &input(dir.path(), &["named_now"]),
            &inventory,
            Some(&resume),
            "100%",
        )
        .unwrap();
        assert_eq!(sent(&plan), [("unanswered".into(), Sent::MaybeBefore)]);
        let done: Vec<(&str, Status)> = plan
            .done
            .iter()
            .map(|r| (r.name.as_str(), r.status))
            .collect();
        assert_eq!(done, [("done", Status::Deleted)]);
        let mut settled: Vec<(&str, Status)> = plan
            .settled
            .iter()
            .map(|r| (r.name.as_str(), r.status))
            .collect();
        settled.sort();
        assert_eq!(
            settled,
            [
                ("applied", Status::Deleted),
                ("named_now", Status::Skipped),
                ("refused", Status::Gone)
            ]
        );
    }
}
