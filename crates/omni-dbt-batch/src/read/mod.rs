//! Reading and validating rows: the input formats, the checks every row passes before anything
//! is sent, duplicate detection, sharding, and the input as a file that can be read again.
//!
//! Nothing here talks to Omni. The same pass serves `validate` and the first phase of a run, so
//! both give the same verdicts.

pub(crate) mod checked;
pub(crate) mod duplicates;
pub(crate) mod id_file;
pub(crate) mod input;
pub(crate) mod map;
pub(crate) mod shard;
pub(crate) mod source;

#[cfg(test)]
mod tests;
