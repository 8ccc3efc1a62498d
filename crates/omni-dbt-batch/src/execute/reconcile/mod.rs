//! Reconciliation that shares listings: rows whose request may or may not have been applied
//! (a lost answer: timeout, broken connection, 5xx, commit-then-fail) are parked, and the rows
//! of one connection are answered together by one listing of it.
//!
//! Omni's list can only be sorted by name, so finding out whether one lost create went through
//! reads the connection's pages; in a connection of 2,000 environments that is 20 requests per
//! row. Parked, the rows of a connection wait (their intent stays in the journal) until a
//! listing pays: when the connection's other rows are done, when enough are parked, or when
//! the oldest has waited long enough ([`lot`]). Then one listing settles them all ([`found`],
//! [`verdict`]).
//!
//! Exactly once stays exactly once:
//!
//! - **A row is adopted only from a listing that began after its request was answered.** A row
//!   is taken out of the lot for a listing only once its request has come back (and a short
//!   settling delay has passed, for a server still finishing it); rows parked while a listing
//!   runs wait for the next one.
//! - **A row is sent again only when that listing lacks it**, with a fresh intent in the
//!   journal first, and only while its retries (the policy's attempts, the run's retry budget)
//!   allow; otherwise it is recorded `failed`, and a row whose create may still have been
//!   applied keeps its intent.
//! - **A parked row has an intent and no record**, so a run killed while rows are parked
//!   leaves them in flight: `--resume` lists their connections before sending anything and
//!   adopts what it finds. A run stopped while rows are parked records them `skipped` and keeps
//!   their intent, for the same reason.

pub(crate) mod found;
pub(crate) mod lot;
pub(crate) mod parked;
pub(crate) mod verdict;

#[cfg(test)]
#[cfg(feature = "cli")] // the sandbox comes with the command line
mod tests;
