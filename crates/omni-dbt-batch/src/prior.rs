//! What an earlier run left in the results file, for `--resume`: loaded, then checked against the input.

use std::collections::BTreeSet;
use std::path::Path;

use omni_dbt_core::ConnectionId;

use crate::checked::Checked;
use crate::fingerprint::fingerprint;
use crate::results::{format_of, ResultsError, ResumeState};
use crate::source::InputFile;

/// How many changed rows a refused resume names.
const CHANGED_LISTED: usize = 5;

/// Reads the results file at `path`, if there is one.
pub fn load(path: &Path) -> Result<Option<ResumeState>, ResultsError> {
    if path.exists() {
        ResumeState::load(path, format_of(path)?).map(Some)
    } else {
        Ok(None)
    }
}

/// Rows the results file vouches for (finished, or in flight) whose request changed in the input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangedRows {
    /// How many.
    pub count: u64,
    /// The first few, as `line N (name)`.
    pub first: Vec<String>,
}

/// What the input and an earlier run's results say together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResumeCheck {
    /// Rows that changed since they were recorded: a resume must refuse them.
    pub changed: ChangedRows,
    /// Connections with rows whose request the earlier run may have sent: they must be listed
    /// (looked up) before anything is sent again, whatever `--existing` says.
    pub in_flight: BTreeSet<ConnectionId>,
}

/// Compares every valid row of `input` with what `prior` recorded for it.
pub fn check(
    input: &InputFile,
    prior: &ResumeState,
) -> Result<ResumeCheck, crate::input::InputError> {
    let mut check = ResumeCheck::default();
    for checked in input.checked()? {
        let Checked::Valid(row) = checked? else {
            continue;
        };
        let Some(before) = prior.get(row.row) else {
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
