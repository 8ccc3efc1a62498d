//! What a listing means for each parked row: settled (adopted, deleted, gone), sent again, or
//! failed; never sent again unless the listing lacks what it would make.

use omni_dbt_core::{Error, ExistenceCheck};

use super::found::Found;
use super::parked::{DeleteAnswer, Doubt, Ours, Parked, Sending};
use crate::execute::cutoff::Applied;
use crate::execute::failure::Failure;
use crate::execute::job::Work;
use crate::record::{RowRecord, Status};

/// How many times a delete is sent in all while listings find the environment still there:
/// each send already carries the client's own retries.
const MAX_DELETE_SENDS: u32 = 3;

/// What becomes of a parked row.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The listing settled it: its final record.
    Settled(RowRecord),
    /// Its request was not applied: send it again (with a fresh intent first).
    Resend(Sending),
    /// It is neither settled nor to be sent again: its record, and whether its request may
    /// still have been applied (its intent then stays in the journal for `--resume`).
    Failed(RowRecord, Applied),
}

/// How many times a row may be sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Retries {
    /// Sends in all a row may make (the retry policy's attempts).
    pub(crate) max_sends: u32,
}

/// The verdict on `row` from a listing that began after its request was answered.
pub(crate) fn settle(row: Parked, found: &Found, retries: Retries) -> Verdict {
    match row.doubt {
        Doubt::Delete { ours, answer } => settle_delete(row, found, retries, ours, answer),
        doubt => settle_create(row, found, retries, doubt),
    }
}

fn settle_create(row: Parked, found: &Found, retries: Retries, doubt: Doubt) -> Verdict {
    if let Some(id) = found.named(&row.sending.job.key.name) {
        let history = row.sending.history;
        return Verdict::Settled(RowRecord {
            environment_id: Some(id),
            attempts: history.requests,
            http_status: history.last_status,
            ..row.sending.job.key.record(Status::Created)
        });
    }
    match doubt {
        // Answered with success, so applied; yet the listing lacks it. Sending it again could
        // make a second one: leave it to a later --resume.
        Doubt::CreateUnread => failed(row, Applied::Maybe),
        Doubt::CreateSentBefore => {
            let mut sending = row.sending;
            if let Work::Create { check, .. } = &mut sending.job.work {
                *check = ExistenceCheck::AssumeAbsent;
            }
            Verdict::Resend(sending)
        }
        _ => send_again(row, retries.max_sends),
    }
}

fn settle_delete(
    row: Parked,
    found: &Found,
    retries: Retries,
    ours: Ours,
    answer: DeleteAnswer,
) -> Verdict {
    let Work::Delete { id, .. } = &row.sending.job.work else {
        return failed(row, Applied::Maybe);
    };
    let id = *id;
    if !found.holds(&id) {
        let status = match ours {
            Ours::Maybe => Status::Deleted,
            Ours::No => Status::Gone,
        };
        let history = row.sending.history;
        return Verdict::Settled(RowRecord {
            environment_id: Some(id),
            attempts: history.requests,
            http_status: history.last_status,
            ..row.sending.job.key.record(status)
        });
    }
    match answer {
        // Answered 404 and still listed: the address or the id is wrong, not the timing.
        DeleteAnswer::NotFound => failed(row, Applied::No),
        DeleteAnswer::Lost => send_again(row, retries.max_sends.clamp(1, MAX_DELETE_SENDS)),
    }
}

/// The row to send again, if its sends allow (the run's retry budget pays when it is sent);
/// its failure otherwise. Either way the listing showed its request was not applied.
fn send_again(row: Parked, max_sends: u32) -> Verdict {
    if row.sending.history.unknown >= max_sends {
        return failed(row, Applied::No);
    }
    let Parked {
        mut sending, error, ..
    } = row;
    sending.retrying = error;
    Verdict::Resend(sending)
}

/// The row recorded `failed` with the error that left it in doubt.
fn failed(row: Parked, applied: Applied) -> Verdict {
    Verdict::Failed(failure_record(&row.sending, row.error.as_ref()), applied)
}

/// The `failed` record of `sending`, with `error` (if any) as its cause.
pub(crate) fn failure_record(sending: &Sending, error: Option<&Error>) -> RowRecord {
    let history = sending.history;
    let key = &sending.job.key;
    match error {
        Some(error) => {
            let failure = Failure::from_error(error, history.requests);
            RowRecord {
                http_status: history.last_status.or(failure.http_status),
                ..key.failed(Status::Failed, &failure)
            }
        }
        None => RowRecord {
            attempts: history.requests,
            ..key.record(Status::Failed)
        },
    }
}
