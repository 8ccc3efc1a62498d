//! A row whose request may or may not have been applied, parked until a listing of its
//! connection says which, and what its earlier sends cost.

use omni_dbt_core::{ConnectionId, Error};
use tokio::time::Instant;

use crate::execute::job::Job;

/// What a job's earlier sends cost, carried across parking and sending again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct History {
    /// Requests sent for the job so far: its record's `attempts`.
    pub(crate) requests: u32,
    /// Its sends whose outcome a listing had to settle.
    pub(crate) unknown: u32,
    /// The last HTTP status an answer carried.
    pub(crate) last_status: Option<u16>,
}

/// A job on its way to Omni, with what its earlier sends cost.
#[derive(Debug)]
pub(crate) struct Sending {
    /// The job.
    pub(crate) job: Job,
    /// Its earlier sends, in this run.
    pub(crate) history: History,
    /// The error of the send this one retries (a listing showed it was not applied): the retry
    /// is paid for from the run's retry budget when it is sent, and repaid if it succeeds.
    pub(crate) retrying: Option<Error>,
}

impl Sending {
    /// A job sent for the first time in this run.
    pub(crate) fn first(job: Job) -> Self {
        Self {
            job,
            history: History::default(),
            retrying: None,
        }
    }
}

/// What a parked row does not know about its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Doubt {
    /// A create whose answer was lost: applied or not.
    CreateLost,
    /// A create that was answered with success but whose answer could not be read: applied,
    /// with an id only a listing can tell.
    CreateUnread,
    /// A create an earlier run may have sent: it is looked up before anything is sent.
    CreateSentBefore,
    /// A delete whose answer was lost, or that was answered 404.
    Delete {
        /// Whether a delete of ours may have been applied (an earlier run's, a lost copy, a
        /// retried copy): absent then means deleted, not already gone.
        ours: Ours,
        /// Whether the last answer was 404 (a present environment then is a failure, not a
        /// reason to send again).
        answer: DeleteAnswer,
    },
}

/// Whether a delete of ours may have removed the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ours {
    /// None of ours can have been applied.
    No,
    /// One may have been.
    Maybe,
}

/// How a parked delete was last answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeleteAnswer {
    /// The answer was lost (timeout, broken connection, 5xx).
    Lost,
    /// 404: no such environment (or connection, or API at that address).
    NotFound,
}

/// A row waiting for a listing of its connection.
#[derive(Debug)]
pub(crate) struct Parked {
    /// The job and what its sends cost so far.
    pub(crate) sending: Sending,
    /// What it does not know.
    pub(crate) doubt: Doubt,
    /// When its request came back (or, for a create sent before this run, when it was
    /// parked): a listing that begins later shows whether it was applied.
    pub(crate) since: Instant,
    /// The error that left it in doubt (none for a create sent before this run).
    pub(crate) error: Option<Error>,
}

impl Parked {
    /// The row's connection.
    pub(crate) fn connection(&self) -> ConnectionId {
        self.sending.job.connection
    }
}

/// What a failed create leaves in doubt, if anything: `None` when it was surely not applied.
pub(crate) fn create_doubt(error: &Error) -> Option<Doubt> {
    match error {
        // A success came back: applied, whatever could not be read of it.
        Error::Decode { .. } | Error::ResponseTooLarge { .. } => Some(Doubt::CreateUnread),
        _ if error.is_ambiguous() => Some(Doubt::CreateLost),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn only_answers_that_may_hide_a_create_leave_it_in_doubt() {
        let status = |status| Error::Api {
            status,
            message: "m".into(),
            body: String::new(),
        };
        assert_eq!(create_doubt(&status(500)), Some(Doubt::CreateLost));
        assert_eq!(
            create_doubt(&Error::Timeout(Duration::from_secs(1))),
            Some(Doubt::CreateLost)
        );
        let unread = serde_json::from_str::<u8>("x").unwrap_err();
        assert_eq!(
            create_doubt(&Error::Decode { source: unread }),
            Some(Doubt::CreateUnread)
        );
        assert_eq!(create_doubt(&status(422)), None);
        assert_eq!(
            create_doubt(&Error::RateLimited { retry_after: None }),
            None
        );
        let refused = Error::RetryBudgetExhausted {
            source: Box::new(Error::RateLimited { retry_after: None }),
        };
        assert_eq!(create_doubt(&refused), None);
    }
}
