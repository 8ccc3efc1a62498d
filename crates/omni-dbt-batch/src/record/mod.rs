//! Recording outcomes: the vocabulary of a row's outcome, the results file and its intent
//! journal, row fingerprints, and the ledger every outcome passes through (with what the
//! outcomes say of the server's reach).

pub(crate) mod fingerprint;
pub(crate) mod kind;
pub(crate) mod ledger;
pub(crate) mod reach;
pub(crate) mod results;
mod row;

pub use row::{ErrorKind, RowRecord, Status};
