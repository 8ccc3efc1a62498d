//! [`ParkingLot`]: the parked rows of each connection, and when a listing of a connection pays.
//!
//! A listing of a connection costs its pages whatever the number of rows it settles, so the
//! lot waits for as many rows as it can without holding them back for long: a connection is
//! listed when none of its rows is under way any more and none will come (the reader is done),
//! when it has as many rows parked as its listing has pages (each row pays for a page, as a
//! lookup of its own would; at most [`BATCH`]), or when its oldest has waited [`MAX_WAIT`]. So
//! a small connection's rows are settled at once, and sent again among the run's other rows
//! rather than all at its end (where their retries would come in one burst). A row is taken
//! for a listing only once its answer is [`settle`](ParkingLot::new) old: a server may still
//! be finishing a request whose answer was lost.

use std::collections::HashMap;
use std::time::Duration;

use omni_dbt_core::ConnectionId;
use tokio::time::Instant;

use super::parked::Parked;

/// Parked rows of one connection that make a listing worth it at once, however many pages it
/// has.
const BATCH: usize = 50;

/// Environments per page of a listing (what the client asks for).
const PER_PAGE: usize = 100;

/// The longest a row waits for its connection's other rows before it is looked up anyway.
const MAX_WAIT: Duration = Duration::from_secs(120);

/// Parked rows, by connection, in the order they were parked.
#[derive(Debug)]
pub(crate) struct ParkingLot {
    rows: HashMap<ConnectionId, Vec<Parked>>,
    settle: Duration,
    /// Pages a listing of each connection takes, as last seen.
    pages: HashMap<ConnectionId, usize>,
}

/// Whether a connection may still see more of its rows sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activity {
    /// Some of its rows are under way, or may still come from the reader.
    Busy,
    /// None is under way and none will come.
    Done,
}

impl ParkingLot {
    /// An empty lot whose rows may be looked up `settle` after their answer, knowing how many
    /// environments each connection held when the plan listed it (`sizes`).
    pub(crate) fn new(settle: Duration, sizes: &HashMap<ConnectionId, usize>) -> Self {
        let pages = sizes
            .iter()
            .map(|(connection, size)| (*connection, size.div_ceil(PER_PAGE).max(1)))
            .collect();
        Self {
            rows: HashMap::new(),
            settle,
            pages,
        }
    }

    /// A listing of `connection` read `pages` pages (at least).
    pub(crate) fn listed(&mut self, connection: ConnectionId, pages: usize) {
        let known = self.pages.entry(connection).or_insert(pages);
        *known = (*known).max(pages);
    }

    /// Parks `row` until a listing of its connection.
    pub(crate) fn park(&mut self, row: Parked) {
        self.rows.entry(row.connection()).or_default().push(row);
    }

    /// Whether no row is parked.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.values().all(Vec::is_empty)
    }

    /// A connection worth listing now (`activity` says whether it may see more rows), with
    /// the rows such a listing would settle.
    pub(crate) fn take_ready(
        &mut self,
        now: Instant,
        activity: impl Fn(&ConnectionId) -> Activity,
    ) -> Option<(ConnectionId, Vec<Parked>)> {
        let connection = self
            .rows
            .iter()
            .find(|(connection, rows)| self.pays(connection, rows, now, activity(connection)))
            .map(|(connection, _)| *connection)?;
        let rows = self.rows.remove(&connection).unwrap_or_default();
        let (ready, waiting): (Vec<Parked>, Vec<Parked>) =
            rows.into_iter().partition(|row| self.settled(row, now));
        if !waiting.is_empty() {
            self.rows.insert(connection, waiting);
        }
        Some((connection, ready))
    }

    /// Every parked row, for a run that is stopping.
    pub(crate) fn take_all(&mut self) -> Vec<Parked> {
        self.rows.drain().flat_map(|(_, rows)| rows).collect()
    }

    /// The next instant after `now` at which time alone may make a listing pay, if any.
    pub(crate) fn next_due(&self, now: Instant) -> Option<Instant> {
        self.rows
            .values()
            .flatten()
            .flat_map(|row| [row.since + self.settle, row.since + MAX_WAIT])
            .filter(|due| *due > now)
            .min()
    }

    fn settled(&self, row: &Parked, now: Instant) -> bool {
        row.since + self.settle <= now
    }

    /// Whether listing `connection`, whose parked rows are `rows`, pays at `now`: once it is
    /// done, when all of them can be settled at once; while it is busy, when they pay for its
    /// pages, or one is old.
    fn pays(
        &self,
        connection: &ConnectionId,
        rows: &[Parked],
        now: Instant,
        activity: Activity,
    ) -> bool {
        let settled: Vec<&Parked> = rows.iter().filter(|r| self.settled(r, now)).collect();
        let Some(oldest) = settled.iter().map(|r| r.since).min() else {
            return false;
        };
        match activity {
            Activity::Done => settled.len() == rows.len(),
            Activity::Busy => {
                let pays_pages = self
                    .pages
                    .get(connection)
                    .map_or(BATCH, |pages| (*pages).clamp(1, BATCH));
                settled.len() >= pays_pages || now.saturating_duration_since(oldest) >= MAX_WAIT
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use omni_dbt_core::{ExistenceCheck, NewEnvironment};

    use super::*;
    use crate::execute::job::{Job, RowKey, Work};
    use crate::execute::reconcile::parked::{Doubt, Sending};

    const SETTLE: Duration = Duration::from_secs(1);

    fn parked(connection: ConnectionId, row: u64, since: Instant) -> Parked {
        let key = RowKey {
            row,
            line: row + 1,
            connection_id: connection.to_string(),
            name: format!("env_{row}"),
            fingerprint: "f".into(),
        };
        let job = Job {
            key,
            connection,
            work: Work::Create {
                environment: Box::new(NewEnvironment::new(format!("env_{row}"), "s")),
                check: ExistenceCheck::AssumeAbsent,
            },
        };
        Parked {
            sending: Sending::first(job),
            doubt: Doubt::CreateLost,
            since,
            error: None,
        }
    }

    fn connection(n: u128) -> ConnectionId {
        ConnectionId::new(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn a_connection_is_listed_once_its_rows_are_done_and_its_answers_settled() {
        let start = Instant::now();
        let mut lot = ParkingLot::new(SETTLE, &HashMap::new());
        lot.park(parked(connection(1), 1, start));
        lot.park(parked(connection(1), 2, start));
        let later = start + SETTLE;
        assert!(
            lot.take_ready(later, |_| Activity::Busy).is_none(),
            "rows still under way"
        );
        assert!(
            lot.take_ready(start, |_| Activity::Done).is_none(),
            "answers too fresh"
        );
        let (listed, rows) = lot.take_ready(later, |_| Activity::Done).unwrap();
        assert_eq!(listed, connection(1));
        assert_eq!(rows.len(), 2, "one listing for both");
        assert!(lot.is_empty());
    }

    #[test]
    fn a_done_connection_waits_until_all_its_rows_can_be_settled_by_one_listing() {
        let start = Instant::now();
        let mut lot = ParkingLot::new(SETTLE, &HashMap::new());
        lot.park(parked(connection(1), 1, start));
        lot.park(parked(connection(1), 2, start + SETTLE));
        assert!(lot.take_ready(start + SETTLE, |_| Activity::Done).is_none());
        assert_eq!(lot.next_due(start + SETTLE), Some(start + SETTLE * 2));
        let (_, rows) = lot
            .take_ready(start + SETTLE * 2, |_| Activity::Done)
            .unwrap();
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn a_row_parked_after_a_listing_began_waits_for_the_next() {
        let start = Instant::now();
        let mut lot = ParkingLot::new(SETTLE, &HashMap::new());
        for row in 0..BATCH as u64 {
            lot.park(parked(connection(1), row, start));
        }
        lot.park(parked(connection(1), 99, start + SETTLE));
        let (_, rows) = lot.take_ready(start + SETTLE, |_| Activity::Busy).unwrap();
        assert_eq!(rows.len(), BATCH);
        assert!(!lot.is_empty(), "row 99 answered too recently");
        assert_eq!(lot.next_due(start + SETTLE), Some(start + SETTLE * 2));
    }

    #[test]
    fn a_busy_connection_is_listed_once_its_parked_rows_pay_for_its_pages() {
        let start = Instant::now();
        let sizes = HashMap::from([(connection(1), 250), (connection(2), 40)]);
        let mut lot = ParkingLot::new(SETTLE, &sizes);
        let now = start + SETTLE;
        lot.park(parked(connection(2), 1, start));
        assert_eq!(
            lot.take_ready(now, |_| Activity::Busy).unwrap().1.len(),
            1,
            "one page"
        );
        lot.park(parked(connection(1), 1, start));
        lot.park(parked(connection(1), 2, start));
        assert!(
            lot.take_ready(now, |_| Activity::Busy).is_none(),
            "two rows, three pages"
        );
        lot.park(parked(connection(1), 3, start));
        assert_eq!(lot.take_ready(now, |_| Activity::Busy).unwrap().1.len(), 3);
        lot.listed(connection(1), 5);
        for row in 0..4 {
            lot.park(parked(connection(1), row, start));
        }
        assert!(
            lot.take_ready(now, |_| Activity::Busy).is_none(),
            "it grew to five pages"
        );
    }

    #[test]
    fn a_busy_connection_is_listed_for_a_full_batch_or_an_old_row() {
        let start = Instant::now();
        let mut lot = ParkingLot::new(SETTLE, &HashMap::new());
        for row in 0..BATCH as u64 - 1 {
            lot.park(parked(connection(1), row, start));
        }
        let now = start + SETTLE;
        assert!(lot.take_ready(now, |_| Activity::Busy).is_none());
        lot.park(parked(connection(1), 99, start));
        assert_eq!(
            lot.take_ready(now, |_| Activity::Busy).unwrap().1.len(),
            BATCH
        );

        lot.park(parked(connection(2), 1, start));
        assert!(lot.take_ready(now, |_| Activity::Busy).is_none());
        assert_eq!(lot.next_due(now), Some(start + MAX_WAIT));
        let (listed, _) = lot
            .take_ready(start + MAX_WAIT, |_| Activity::Busy)
            .unwrap();
        assert_eq!(listed, connection(2));
    }
}
