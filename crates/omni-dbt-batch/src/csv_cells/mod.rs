//! CSV cells as every CSV this tool writes or reads back holds them: results files, exports,
//! merged results, and the CSV inputs, connection maps and connection lists it reads.
//!
//! Written cells are guarded against spreadsheet evaluation ([`guard`]); cells read back are
//! unguarded by the same rule ([`unguard_owned`], [`unguard_bytes`]), so that every round trip
//! is exact.

mod formula;
mod line;
mod records;

pub(crate) use formula::{guard, unguard_bytes, unguard_owned};
pub(crate) use line::CsvLine;
pub(crate) use records::LineRecords;
