//! When a row whose request is under way stops because the run is stopping, and what is recorded
//! for it: a row that has nothing on the wire stops at once; only a request on the wire gets
//! `--grace` after an interrupt.
//!
//! A row's request is under way from its intent until its outcome, but most of that time it may
//! be waiting: for its key's rate limiter, or in a backoff between attempts. Waiting rows stop the
//! moment the run stops (with `--concurrency 64` at 60/min the queue alone would outlast any
//! grace). Whether such a row keeps its intent in the journal depends on what its earlier attempts
//! said: only 429s mean that nothing was applied; anything else (a timeout, a 5xx, a lookup) may
//! hide an applied create, which `--resume` must look up before sending again.

use std::time::Duration;

use omni_dbt_core::{Client, ExistenceCheck, Tally};
use tokio::time::Instant;

use crate::execute::job::{RowKey, Work};
use crate::record::ledger::stopped_record;
use crate::record::{ErrorKind, RowRecord, Status};
use crate::stop::{StopHandle, StopReason};

/// How often a stopping row checks whether its request has left the wire.
const WIRE_POLL: Duration = Duration::from_millis(10);

/// Why a row's request was cut off before it finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cutoff {
    /// The run stopped while the row had nothing on the wire.
    Waiting(StopReason),
    /// The run was interrupted and the row's request was still on the wire after the grace.
    GraceExpired,
}

/// Whether a row that stopped may nonetheless have been applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Nothing it sent was applied: its intent is settled by its record.
    No,
    /// Something it sent may have been applied: its intent stays in the journal for `--resume`.
    Maybe,
}

/// Resolves when the row using `row_client` must stop: at once once the run stops if it has
/// nothing on the wire, else when its request leaves the wire, or (after an interrupt) when
/// `grace` has passed. Other stops let a request on the wire finish.
pub(crate) async fn cut_off(stop: &StopHandle, grace: Duration, row_client: &Client) -> Cutoff {
    let reason = stop.stopped().await;
    let deadline = Instant::now() + grace;
    loop {
        if row_client.tally().on_the_wire == 0 {
            return Cutoff::Waiting(reason);
        }
        if reason == StopReason::Interrupted && Instant::now() >= deadline {
            return Cutoff::GraceExpired;
        }
        tokio::time::sleep(WIRE_POLL).await;
    }
}

/// The record of a row cut off as `cutoff` says, after the requests `tally` counts; and whether
/// the row may have been applied (`previously` says whether an earlier run may have sent it).
pub(crate) fn cut_off_record(
    key: &RowKey,
    cutoff: Cutoff,
    tally: &Tally,
    previously: Applied,
) -> (RowRecord, Applied) {
    let attempts = u32::try_from(tally.requests).unwrap_or(u32::MAX);
    let only_429s = tally.requests == tally.rate_limited;
    match cutoff {
        Cutoff::Waiting(reason) if only_429s && previously == Applied::No => {
            let record = RowRecord {
                attempts,
                http_status: tally.last_status,
                ..stopped_record(key, reason)
            };
            (record, Applied::No)
        }
        Cutoff::Waiting(reason) => {
            let record = RowRecord {
                attempts,
                http_status: tally.last_status,
                error_kind: Some(stopped_kind(reason)),
                error: Some(
                    "stopped between attempts: an earlier attempt may have been applied; \
                     rerun with --resume, which looks it up before sending again"
                        .to_owned(),
                ),
                ..key.record(Status::Skipped)
            };
            (record, Applied::Maybe)
        }
        Cutoff::GraceExpired => {
            let record = RowRecord {
                attempts,
                http_status: tally.last_status,
                error_kind: Some(ErrorKind::Interrupted),
                error: Some(
                    "interrupted while in flight: the request may have been applied; \
                     rerun with --resume, which looks it up before sending again"
                        .to_owned(),
                ),
                ..key.record(Status::Skipped)
            };
            (record, Applied::Maybe)
        }
    }
}

/// Whether an earlier run may already have sent `work`: a create then looks its name up first.
pub(crate) fn sent_by_an_earlier_run(work: &Work) -> Applied {
    match work {
        Work::Create {
            check: ExistenceCheck::LookFirst,
            ..
        } => Applied::Maybe,
        _ => Applied::No,
    }
}

fn stopped_kind(reason: StopReason) -> ErrorKind {
    match reason {
        StopReason::Interrupted => ErrorKind::Interrupted,
        StopReason::AuthFailed | StopReason::TooManyFailures => ErrorKind::Aborted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RowKey {
        RowKey {
            row: 1,
            line: 2,
            connection_id: "c".into(),
            name: "n".into(),
            fingerprint: "f".into(),
        }
    }

    fn tally(requests: u64, rate_limited: u64) -> Tally {
        let mut tally = Tally::default();
        tally.requests = requests;
        tally.rate_limited = rate_limited;
        tally
    }

    #[test]
    fn a_row_that_waited_after_only_429s_settles_its_intent() {
        let waiting = Cutoff::Waiting(StopReason::Interrupted);
        for sent in [tally(0, 0), tally(3, 3)] {
            let (record, applied) = cut_off_record(&key(), waiting, &sent, Applied::No);
            assert_eq!(applied, Applied::No);
            assert_eq!(record.status, Status::Skipped);
            assert_eq!(record.error_kind, Some(ErrorKind::Interrupted));
            assert_eq!(u64::from(record.attempts), sent.requests);
        }
    }

    #[test]
    fn a_row_that_may_have_been_applied_keeps_its_intent() {
        let waiting = Cutoff::Waiting(StopReason::Interrupted);
        let after_5xx = cut_off_record(&key(), waiting, &tally(2, 1), Applied::No);
        assert_eq!(after_5xx.1, Applied::Maybe);
        let sent_before = cut_off_record(&key(), waiting, &tally(0, 0), Applied::Maybe);
        assert_eq!(sent_before.1, Applied::Maybe);
        let on_the_wire = cut_off_record(&key(), Cutoff::GraceExpired, &tally(1, 0), Applied::No);
        assert_eq!(on_the_wire.1, Applied::Maybe);
        assert_eq!(on_the_wire.0.status, Status::Skipped);
    }

    #[test]
    fn an_aborted_run_records_waiting_rows_as_aborted() {
        let waiting = Cutoff::Waiting(StopReason::AuthFailed);
        let (record, _) = cut_off_record(&key(), waiting, &tally(0, 0), Applied::No);
        assert_eq!(record.error_kind, Some(ErrorKind::Aborted));
    }
}
