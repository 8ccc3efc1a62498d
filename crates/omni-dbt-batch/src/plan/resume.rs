//! Resume, decided in one place: what an earlier run left in the results file, whether the input
//! still matches it, which connections must be looked up first, and what each row needs now.
//!
//! A row an earlier run settled (created, exists, updated, unchanged) is not touched again. A
//! row whose intent has no record after it may have been applied without anyone knowing: its
//! connection is listed whatever `--existing` says, and an environment of that name found there
//! is that run's own, adopted as `created`. Every other row is planned afresh.

use std::collections::BTreeSet;
use std::path::Path;

use omni_dbt_core::{ConnectionId, EnvironmentId};

use crate::config::ExistingPolicy;
use crate::execute::job::RowKey;
use crate::read::checked::Checked;
use crate::read::input::InputError;
use crate::read::source::InputFile;
use crate::record::fingerprint::{fingerprint, fingerprint_delete};
use crate::record::results::{format_of, IntentOp, PriorRow, ResultsError, ResumeState};
use crate::record::RowRecord;

/// How many changed rows a refused resume names.
const CHANGED_LISTED: usize = 5;

/// What an earlier run recorded, for `--resume`.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    state: ResumeState,
}

/// What an earlier run means for one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Prior {
    /// Nothing useful was recorded (no record, or one that failed or was skipped): plan it afresh.
    Fresh,
    /// The earlier run settled it; this is the record to count, and nothing is sent.
    Settled(RowRecord),
    /// Its request (`op`) may have been applied without a record: look it up before sending
    /// again, and keep its intent if it is not sent this time either.
    MaybeApplied(IntentOp),
}

/// An environment an earlier run pruned, or was pruning when it stopped.
#[derive(Clone, Debug)]
pub(crate) struct PrunedBefore {
    /// Its connection.
    pub(crate) connection: ConnectionId,
    /// The environment.
    pub(crate) id: EnvironmentId,
    /// Its identity in the results file.
    pub(crate) key: RowKey,
    /// What the earlier run means for it.
    pub(crate) prior: Prior,
}

/// Rows the results file vouches for (finished, or in flight) whose request changed in the input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChangedRows {
    /// How many.
    pub(crate) count: u64,
    /// The first few, as `line N (name)`.
    pub(crate) first: Vec<String>,
}

/// What the input and an earlier run's results say together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ResumeCheck {
    /// Rows that changed since they were recorded: a resume must refuse them.
    pub(crate) changed: ChangedRows,
    /// Connections with rows whose request the earlier run may have sent.
    pub(crate) in_flight: BTreeSet<ConnectionId>,
}

impl Resume {
    /// Reads the results file at `path` and its journal; a missing file is an empty resume.
    pub(crate) fn load(path: &Path) -> Result<Self, ResultsError> {
        let state = if path.exists() {
            ResumeState::load(path, format_of(path)?)?
        } else {
            ResumeState::default()
        };
        Ok(Self { state })
    }

    /// Compares every valid row of `input` with what was recorded for it.
    pub(crate) fn check(&self, input: &InputFile) -> Result<ResumeCheck, InputError> {
        let mut check = ResumeCheck::default();
        for checked in input.checked()? {
            let Checked::Valid(row) = checked? else {
                continue;
            };
            let Some(before) = self.state.get(row.row) else {
                continue;
            };
            let vouched = before.succeeded() || before.in_flight;
            let now = fingerprint(&row.connection, &row.environment);
            if vouched && !before.fingerprint.matches(&now) {
                check.changed.count += 1;
                if check.changed.first.len() < CHANGED_LISTED {
                    check
                        .changed
                        .first
                        .push(format!("line {} ({})", row.line, row.environment.name));
                }
            }
            if before.in_flight {
                check.in_flight.insert(row.connection);
            }
        }
        Ok(check)
    }

    /// The environments the earlier run pruned or was pruning, by id; those recorded with a
    /// connection that is not a UUID (never written so) are left out.
    pub(crate) fn pruned(&self) -> Vec<PrunedBefore> {
        self.state
            .pruned()
            .filter_map(|(id, known)| {
                let connection: ConnectionId = known.connection_id.parse().ok()?;
                let key = RowKey {
                    row: 0,
                    line: 0,
                    connection_id: known.connection_id.clone(),
                    name: known.name.clone(),
                    fingerprint: fingerprint_delete(&connection, id),
                };
                let prior = if known.prior.in_flight {
                    Prior::MaybeApplied(IntentOp::Delete)
                } else {
                    settled(&key, &known.prior).map_or(Prior::Fresh, Prior::Settled)
                };
                Some(PrunedBefore {
                    connection,
                    id: *id,
                    key,
                    prior,
                })
            })
            .collect()
    }

    /// The rows of `keys` (an undo's deletions) the earlier run vouches for, finished or in
    /// flight, whose request is not the one recorded: the run they undo changed since.
    pub(crate) fn changed<'a>(&self, keys: impl IntoIterator<Item = &'a RowKey>) -> ChangedRows {
        let mut changed = ChangedRows::default();
        for key in keys {
            let Some(before) = self.state.get(key.row) else {
                continue;
            };
            let vouched = before.succeeded() || before.in_flight;
            if vouched && !before.fingerprint.matches(&key.fingerprint) {
                changed.count += 1;
                if changed.first.len() < CHANGED_LISTED {
                    changed
                        .first
                        .push(format!("line {} ({})", key.line, key.name));
                }
            }
        }
        changed
    }

    /// What the earlier run means for the row `key` names.
    pub(crate) fn prior(&self, key: &RowKey) -> Prior {
        match self.state.get(key.row) {
            None => Prior::Fresh,
            Some(before) if before.in_flight => Prior::MaybeApplied(
                self.state
                    .intent(key.row)
                    .map_or(IntentOp::Create, |intent| intent.op),
            ),
            Some(before) => settled(key, before).map_or(Prior::Fresh, Prior::Settled),
        }
    }
}

impl ResumeCheck {
    /// The connections the plan must list: all of them, except with `--existing ignore`, where
    /// only those with rows an earlier run may have sent are looked up.
    pub(crate) fn connections_to_list(
        &self,
        policy: ExistingPolicy,
        all: &BTreeSet<ConnectionId>,
    ) -> Vec<ConnectionId> {
        match policy {
            ExistingPolicy::Ignore => self.in_flight.iter().copied().collect(),
            _ => all.iter().copied().collect(),
        }
    }
}

/// The record of a row an earlier run finished, if it did (and nothing of it is in flight).
fn settled(key: &RowKey, before: &PriorRow) -> Option<RowRecord> {
    let status = before.status.filter(|_| before.succeeded())?;
    Some(RowRecord {
        environment_id: before.environment_id,
        attempts: before.attempts,
        ..key.record(status)
    })
}
