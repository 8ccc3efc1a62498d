//! [`Dispatcher`]: what the workers do next (a row from the reader, a row to send again, a
//! listing that settles parked rows) and when there is nothing left to do.
//!
//! The reader's rows come through a bounded channel, so reading never runs far ahead of
//! sending. A row in doubt is parked in the [`ParkingLot`] until a listing of its connection
//! pays; the listing is a task like a row's request, taken by a worker, so `--concurrency`
//! bounds it too. Workers wait on a [`Notify`] for anything that may give them work: a row
//! finished, parked or to be sent again, the reader done, a parked row old enough, the run
//! asked to stop.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use omni_dbt_core::ConnectionId;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use crate::execute::job::Job;
use crate::execute::reconcile::lot::{Activity, ParkingLot};
use crate::execute::reconcile::parked::{Parked, Sending};
use crate::stop::{StopHandle, StopReason};

/// A worker's next task.
#[derive(Debug)]
pub(crate) enum Task {
    /// Send a row's request (or record it stopped, when the run is stopping).
    Send(Sending),
    /// List `connection` once and settle `rows` with what it shows.
    Reconcile {
        /// The connection to list.
        connection: ConnectionId,
        /// Its parked rows whose answers came back before this listing begins.
        rows: Vec<Parked>,
    },
    /// The run is stopping: record parked rows as stopped, their intent kept.
    Abandon {
        /// Why the run stops.
        reason: StopReason,
        /// The rows.
        rows: Vec<Parked>,
    },
}

/// What a finished task leaves to the dispatcher.
#[derive(Debug, Default)]
pub(crate) struct Leftover {
    /// A row now in doubt.
    pub(crate) parked: Option<Parked>,
    /// Rows a listing showed were not applied, to send again.
    pub(crate) resend: Vec<Sending>,
    /// Pages the task's listing read, if it listed its connection.
    pub(crate) pages_read: Option<usize>,
}

/// Hands out tasks to the workers until every row is settled.
pub(crate) struct Dispatcher {
    feed: tokio::sync::Mutex<mpsc::Receiver<Job>>,
    board: Mutex<Board>,
    changed: Notify,
    stop: StopHandle,
}

/// What is waiting and what is under way.
struct Board {
    /// Whether the reader has handed out its last row.
    feed_done: bool,
    /// Whether a worker failed (a results-file error): nothing more is handed out.
    closed: bool,
    resend: VecDeque<Sending>,
    lot: ParkingLot,
    /// Tasks under way, per connection.
    active: HashMap<ConnectionId, usize>,
    /// Tasks under way in all.
    busy: usize,
}

/// What the board says a worker should do.
enum Move {
    Run(Task),
    /// Nothing is left and nothing is under way.
    Finish,
    /// Wait for a change, or until this instant (a parked row coming due).
    Wait(Option<Instant>),
    /// Take a row from the reader (or wait for a change).
    Read(Option<Instant>),
}

impl Dispatcher {
    /// A dispatcher of the reader's `feed`, whose parked rows may be looked up `settle` after
    /// their answer; `sizes` says how many environments each connection held when listed.
    pub(crate) fn new(
        feed: mpsc::Receiver<Job>,
        settle: Duration,
        sizes: &HashMap<ConnectionId, usize>,
        stop: StopHandle,
    ) -> Self {
        Self {
            feed: tokio::sync::Mutex::new(feed),
            board: Mutex::new(Board {
                feed_done: false,
                closed: false,
                resend: VecDeque::new(),
                lot: ParkingLot::new(settle, sizes),
                active: HashMap::new(),
                busy: 0,
            }),
            changed: Notify::new(),
            stop,
        }
    }

    /// The next task, waiting for one if need be; `None` once every row is settled (or the
    /// dispatcher was closed).
    pub(crate) async fn next(&self) -> Option<Task> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the board is read, so no change between the two is missed.
            changed.as_mut().enable();
            let stop = self.stop.reason();
            let (wake, read) = match self.board().plan(Instant::now(), stop) {
                Move::Run(task) => return Some(task),
                Move::Finish => return None,
                Move::Wait(wake) => (wake, false),
                Move::Read(wake) => (wake, true),
            };
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let read = async {
                if read {
                    self.feed.lock().await.recv().await
                } else {
                    std::future::pending().await
                }
            };
            // A stop abandons the parked rows at once, however long they have left to wait.
            let stopping = async {
                if stop.is_none() {
                    self.stop.stopped().await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                biased;
                () = &mut changed => {}
                () = stopping => {}
                () = sleep => {}
                received = read => match received {
                    Some(job) => {
                        let sending = Sending::first(job);
                        self.board().start(sending.job.connection);
                        return Some(Task::Send(sending));
                    }
                    None => {
                        self.board().feed_done = true;
                        self.changed.notify_waiters();
                    }
                },
            }
        }
    }

    /// A task on `connection` (none for an abandonment) is over, leaving `leftover`.
    pub(crate) fn done(&self, connection: Option<ConnectionId>, leftover: Leftover) {
        {
            let mut board = self.board();
            board.busy = board.busy.saturating_sub(1);
            if let Some(connection) = connection {
                if let Some(active) = board.active.get_mut(&connection) {
                    *active = active.saturating_sub(1);
                }
            }
            if let Some(parked) = leftover.parked {
                board.lot.park(parked);
            }
            if let (Some(connection), Some(pages)) = (connection, leftover.pages_read) {
                board.lot.listed(connection, pages);
            }
            board.resend.extend(leftover.resend);
        }
        self.changed.notify_waiters();
    }

    /// A worker failed: hand out nothing more, so that every worker ends.
    pub(crate) fn close(&self) {
        self.board().closed = true;
        self.changed.notify_waiters();
    }

    fn board(&self) -> MutexGuard<'_, Board> {
        // The board is consistent between statements: a panic elsewhere cannot tear it.
        self.board.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Board {
    /// What a worker should do at `now`.
    fn plan(&mut self, now: Instant, stop: Option<StopReason>) -> Move {
        if self.closed {
            return Move::Finish;
        }
        if let Some(sending) = self.resend.pop_front() {
            self.start(sending.job.connection);
            return Move::Run(Task::Send(sending));
        }
        if let Some(reason) = stop {
            if !self.lot.is_empty() {
                self.busy += 1;
                let rows = self.lot.take_all();
                return Move::Run(Task::Abandon { reason, rows });
            }
        } else if let Some((connection, rows)) = self.ready(now) {
            self.start(connection);
            return Move::Run(Task::Reconcile { connection, rows });
        }
        let wake = self.lot.next_due(now);
        match (self.feed_done, self.busy == 0 && self.lot.is_empty()) {
            (true, true) => Move::Finish,
            (true, false) => Move::Wait(wake),
            (false, _) => Move::Read(wake),
        }
    }

    /// A connection whose listing pays now, and the rows it settles.
    fn ready(&mut self, now: Instant) -> Option<(ConnectionId, Vec<Parked>)> {
        let (feed_done, active, resend) = (self.feed_done, &self.active, &self.resend);
        self.lot.take_ready(now, |connection| {
            let quiet = active.get(connection).is_none_or(|n| *n == 0)
                && resend.iter().all(|s| s.job.connection != *connection);
            if feed_done && quiet {
                Activity::Done
            } else {
                Activity::Busy
            }
        })
    }

    fn start(&mut self, connection: ConnectionId) {
        self.busy += 1;
        *self.active.entry(connection).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use omni_dbt_core::{ExistenceCheck, NewEnvironment};

    use super::*;
    use crate::execute::job::{RowKey, Work};
    use crate::execute::reconcile::parked::Doubt;

    fn job(connection: ConnectionId, row: u64) -> Job {
        Job {
            key: RowKey {
                row,
                line: row + 1,
                connection_id: connection.to_string(),
                name: format!("env_{row}"),
                fingerprint: "f".into(),
            },
            connection,
            work: Work::Create {
                environment: Box::new(NewEnvironment::new(format!("env_{row}"), "s")),
                check: ExistenceCheck::AssumeAbsent,
            },
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_abandons_parked_rows_at_once_however_long_they_have_left_to_wait() {
        let connection = ConnectionId::new(uuid::Uuid::from_u128(1));
        let (feed, jobs) = mpsc::channel(4);
        let stop = StopHandle::new();
        let settle = Duration::from_secs(600);
        let dispatcher = Arc::new(Dispatcher::new(jobs, settle, &HashMap::new(), stop.clone()));
        feed.send(job(connection, 1)).await.unwrap();
        let Some(Task::Send(sending)) = dispatcher.next().await else {
            panic!("the reader's row is sent first");
        };
        let parked = Parked {
            sending,
            doubt: Doubt::CreateLost,
            since: Instant::now(),
            error: None,
        };
        dispatcher.done(
            Some(connection),
            Leftover {
                parked: Some(parked),
                ..Leftover::default()
            },
        );

        // The reader is still open and the row must settle for 10 minutes: a worker waits.
        let start = Instant::now();
        let waiting = tokio::spawn({
            let dispatcher = Arc::clone(&dispatcher);
            async move { dispatcher.next().await }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished(), "nothing is due yet");
        stop.stop(StopReason::Interrupted);

        let task = waiting.await.unwrap();
        let Some(Task::Abandon { reason, rows }) = task else {
            panic!("a stopping run abandons its parked rows, got {task:?}");
        };
        assert_eq!(reason, StopReason::Interrupted);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the worker woke on the stop, not when the row came due"
        );
        drop(feed);
    }
}
