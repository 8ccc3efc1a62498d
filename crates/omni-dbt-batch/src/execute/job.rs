//! A row on its way to Omni: its identity in the results file and the request it needs.

use omni_dbt_core::{
    ConnectionId, EnvironmentId, EnvironmentUpdate, ExistenceCheck, NewEnvironment,
};

use crate::execute::failure::Failure;
use crate::plan::decide::Sent;
use crate::record::results::{Intent, IntentOp};
use crate::record::{RowRecord, Status};

/// A row (or a deletion) that needs a request.
#[derive(Debug)]
pub(crate) struct Job {
    /// The row's identity in the results file.
    pub key: RowKey,
    /// The row's connection.
    pub connection: ConnectionId,
    /// The request to make.
    pub work: Work,
}

impl Job {
    /// The journal entry written before this job's request is sent.
    pub(crate) fn intent(&self) -> Intent {
        let environment_id = match &self.work {
            Work::Delete { id, .. } => Some(*id),
            Work::Create { .. } | Work::Update { .. } => None,
        };
        self.key.intent(self.work.op(), environment_id)
    }
}

/// The results-file identity of a row, or of an environment a prune deletes (row and line 0).
#[derive(Clone, Debug)]
pub(crate) struct RowKey {
    /// 1-based data row; 0 for a pruned environment.
    pub row: u64,
    /// Line where it starts; 0 for a pruned environment.
    pub line: u64,
    /// Its connection as written.
    pub connection_id: String,
    /// Its environment name.
    pub name: String,
    /// Its fingerprint.
    pub fingerprint: String,
}

impl RowKey {
    /// A record for this row with `status` and nothing else filled in.
    pub(crate) fn record(&self, status: Status) -> RowRecord {
        RowRecord {
            row: self.row,
            line: self.line,
            connection_id: self.connection_id.clone(),
            name: self.name.clone(),
            status,
            environment_id: None,
            attempts: 0,
            http_status: None,
            error_kind: None,
            error: None,
            fingerprint: self.fingerprint.clone(),
        }
    }

    /// The journal entry written before a request of `op` is sent for this row.
    pub(crate) fn intent(&self, op: IntentOp, environment_id: Option<EnvironmentId>) -> Intent {
        Intent {
            row: self.row,
            line: self.line,
            connection_id: self.connection_id.clone(),
            name: self.name.clone(),
            fingerprint: self.fingerprint.clone(),
            op,
            environment_id,
        }
    }

    /// A record for a row that ends with `failure`.
    pub(crate) fn failed(&self, status: Status, failure: &Failure) -> RowRecord {
        RowRecord {
            attempts: failure.attempts,
            http_status: failure.http_status,
            error_kind: Some(failure.kind),
            error: Some(failure.message.clone()),
            ..self.record(status)
        }
    }
}

/// The request a job makes.
#[derive(Debug)]
pub(crate) enum Work {
    /// Create the environment; `check` says whether to look it up first (a previous run may
    /// have sent it already).
    Create {
        /// The body.
        environment: Box<NewEnvironment>,
        /// Whether to look before creating.
        check: ExistenceCheck,
    },
    /// Update an existing environment.
    Update {
        /// The environment.
        id: EnvironmentId,
        /// The body.
        update: Box<EnvironmentUpdate>,
    },
    /// Delete an environment (a prune, or an undo).
    Delete {
        /// The environment.
        id: EnvironmentId,
        /// Whether an earlier run may already have sent this delete.
        sent: Sent,
    },
}

impl Work {
    /// What a dry run records for this request: the status it would end with, and the
    /// environment it is about when that is known.
    pub(crate) fn planned(&self) -> (Status, Option<EnvironmentId>) {
        match self {
            Work::Create { .. } => (Status::Created, None),
            Work::Update { .. } => (Status::Updated, None),
            Work::Delete { id, .. } => (Status::Deleted, Some(*id)),
        }
    }

    /// What the journal calls this request.
    pub(crate) fn op(&self) -> IntentOp {
        match self {
            Work::Create { .. } => IntentOp::Create,
            Work::Update { .. } => IntentOp::Update,
            Work::Delete { .. } => IntentOp::Delete,
        }
    }
}
