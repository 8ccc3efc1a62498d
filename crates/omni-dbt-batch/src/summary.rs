//! What a finished run reports: counts per status, request totals, how it ended.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::plan::actions::ActionCounts;
use crate::record::Status;
use crate::stop::StopReason;

/// How a run ended; [`ExitStatus`](crate::ExitStatus) maps it to the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every row ended created, exists, updated or unchanged (exit 0).
    Succeeded,
    /// The run finished but some rows failed, were invalid or skipped (exit 1).
    SomeRowsFailed,
    /// The run stopped early: a 401, or `--max-failures` exceeded (exit 3).
    Aborted,
    /// SIGINT/SIGTERM (exit 130).
    Interrupted,
    /// A plan found rows to create, update or delete, and none that would fail (exit 4).
    ChangesPlanned,
}

/// The totals of a run, printed at the end and written by `--summary-json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// How the run ended.
    pub outcome: RunOutcome,
    /// Why it stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// Rows in this run (the shard's rows when sharding).
    pub rows: u64,
    /// Rows per final status (every status present, zero included).
    pub counts: BTreeMap<Status, u64>,
    /// Rows whose outcome was already in the results file (`--resume`) and were not touched.
    pub resumed: u64,
    /// Wall time of the run.
    #[serde(rename = "elapsed_seconds", serialize_with = "seconds")]
    pub elapsed: Duration,
    /// HTTP requests sent, list pages and retries included.
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// 429 responses seen.
    pub rate_limited: u64,
    /// The results file, unless this was a dry run.
    pub results_path: Option<PathBuf>,
    /// Whether nothing was written to Omni (`--dry-run`, `plan`).
    pub dry_run: bool,
    /// For a plan or dry run, how many entries have each action; `None` when rows were applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<ActionCounts>,
    /// What the run suspects went wrong beyond single rows (such as a wrong base URL).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What each API key did, in the order the keys were given.
    pub keys: Vec<KeySummary>,
}

/// What one API key did during a run, named by its label (the variable the token was read
/// from), never by the token. [`Summary::keys`] holds one per key; `--summary-json` writes them
/// as its `keys` array.
///
/// ```
/// let key = omni_dbt_batch::KeySummary {
///     label: "OMNI_KEY_2".into(),
///     requests: 310,
///     retries: 4,
///     rate_limited: 4,
///     ceiling: "600/min".into(),
///     pace_per_minute: Some(147.2),
///     slowed: true,
///     share: Some(0.25),
/// };
/// let json = serde_json::to_value(&key).unwrap();
/// assert_eq!(json["label"], "OMNI_KEY_2");
/// assert_eq!(json["pace_per_minute"], 147.2);
/// assert_eq!(json["share"], 0.25);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeySummary {
    /// The key's label (such as `OMNI_KEY_2`).
    pub label: String,
    /// HTTP requests sent with it, list pages and retries included.
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// 429 responses it met.
    pub rate_limited: u64,
    /// Its ceiling (`--rate`), such as `600/min` or `unlimited`.
    pub ceiling: String,
    /// The pace it ended at, in requests per minute; `None` for an unlimited key that never met
    /// a 429 (it was never paced).
    pub pace_per_minute: Option<f64>,
    /// Whether it was paced below its ceiling when the run ended: by 429s, or by its share.
    pub slowed: bool,
    /// This run's part of the key's ceiling when it shared the key with other shards (0.25: a
    /// quarter, its part of the input's rows); `None` when it took the key to be its own.
    pub share: Option<f64>,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

impl Summary {
    /// The count for one status.
    pub fn count(&self, status: Status) -> u64 {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    /// Rows that ended well (created, exists, updated, unchanged).
    pub fn succeeded(&self) -> u64 {
        Status::ALL
            .into_iter()
            .filter(|s| s.is_success())
            .map(|s| self.count(s))
            .sum()
    }

    /// Rows created per minute of wall time.
    pub fn rate_per_minute(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.count(Status::Created) as f64 * 60.0 / secs
        } else {
            0.0
        }
    }
}

/// Counts by status, in the fixed order of [`Status::ALL`], all present.
pub(crate) fn empty_counts() -> BTreeMap<Status, u64> {
    Status::ALL.into_iter().map(|s| (s, 0)).collect()
}

/// What the caller of a run asked for, which decides whether changes found are an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// `run` (`--dry-run` included): ends as its rows did.
    Run,
    /// `plan`: a plan that would change something ends [`RunOutcome::ChangesPlanned`].
    Plan,
}

/// The outcome of a run from its counts and stop reason (and for a plan, its actions). Rows that
/// would fail outrank changes: the run the plan stands for would end with failed rows.
pub(crate) fn outcome(
    counts: &BTreeMap<Status, u64>,
    stop: Option<StopReason>,
    purpose: Purpose,
    actions: Option<&ActionCounts>,
) -> RunOutcome {
    let changes = actions.map_or(0, |actions| actions.changes());
    match stop {
        Some(StopReason::Interrupted) => RunOutcome::Interrupted,
        Some(StopReason::AuthFailed | StopReason::TooManyFailures) => RunOutcome::Aborted,
        None if counts.iter().any(|(s, n)| !s.is_success() && *n > 0) => RunOutcome::SomeRowsFailed,
        None if purpose == Purpose::Plan && changes > 0 => RunOutcome::ChangesPlanned,
        None => RunOutcome::Succeeded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::actions::ActionKind;
    use crate::ExitStatus;

    fn counts(pairs: &[(Status, u64)]) -> BTreeMap<Status, u64> {
        let mut counts = empty_counts();
        counts.extend(pairs.iter().copied());
        counts
    }

    #[test]
    fn all_successes_succeed_and_any_failure_is_exit_one() {
        let ok = counts(&[(Status::Created, 3), (Status::Exists, 1)]);
        assert_eq!(
            outcome(&ok, None, Purpose::Run, None),
            RunOutcome::Succeeded
        );
        let failed = counts(&[(Status::Created, 3), (Status::Invalid, 1)]);
        assert_eq!(
            ExitStatus::from(outcome(&failed, None, Purpose::Run, None)).code(),
            1
        );
    }

    #[test]
    fn stops_decide_the_outcome_whatever_the_counts() {
        let ok = counts(&[(Status::Created, 3)]);
        assert_eq!(
            ExitStatus::from(outcome(
                &ok,
                Some(StopReason::AuthFailed),
                Purpose::Run,
                None
            ))
            .code(),
            3
        );
        assert_eq!(
            ExitStatus::from(outcome(
                &ok,
                Some(StopReason::TooManyFailures),
                Purpose::Run,
                None
            ))
            .code(),
            3
        );
        assert_eq!(
            ExitStatus::from(outcome(
                &ok,
                Some(StopReason::Interrupted),
                Purpose::Run,
                None
            ))
            .code(),
            130
        );
    }

    fn planned(kinds: &[ActionKind]) -> ActionCounts {
        let mut actions = ActionCounts::default();
        for kind in kinds {
            actions.add(*kind);
        }
        actions
    }

    #[test]
    fn a_plan_with_changes_exits_4_and_a_dry_run_with_the_same_exits_0() {
        let ok = counts(&[(Status::Created, 1), (Status::Unchanged, 1)]);
        let actions = planned(&[ActionKind::Create, ActionKind::Unchanged]);
        let plan = outcome(&ok, None, Purpose::Plan, Some(&actions));
        assert_eq!(ExitStatus::from(plan), ExitStatus::Changes);
        let dry_run = outcome(&ok, None, Purpose::Run, Some(&actions));
        assert_eq!(ExitStatus::from(dry_run), ExitStatus::Success);
    }

    #[test]
    fn a_plan_without_changes_exits_0_and_one_with_failures_exits_1() {
        let same = counts(&[(Status::Exists, 1), (Status::Unchanged, 1)]);
        let actions = planned(&[ActionKind::Exists, ActionKind::Unchanged]);
        let plan = outcome(&same, None, Purpose::Plan, Some(&actions));
        assert_eq!(ExitStatus::from(plan), ExitStatus::Success);
        let failing = counts(&[(Status::Created, 1), (Status::Failed, 1)]);
        let actions = planned(&[ActionKind::Create, ActionKind::Fail]);
        let plan = outcome(&failing, None, Purpose::Plan, Some(&actions));
        assert_eq!(ExitStatus::from(plan), ExitStatus::RowsFailed);
        let stopped = outcome(
            &failing,
            Some(StopReason::AuthFailed),
            Purpose::Plan,
            Some(&actions),
        );
        assert_eq!(ExitStatus::from(stopped), ExitStatus::Aborted);
    }
}
