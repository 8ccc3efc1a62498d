//! Bulk creation of Omni dbt environments from CSV or JSONL, exactly once, with a results file.

pub mod checked;
pub mod classify;
pub mod config;
pub mod duplicates;
pub mod execute;
pub mod fingerprint;
pub mod input;
pub mod plan;
pub mod progress;
pub mod record;
pub mod results;
pub mod run;
pub mod shard;
pub mod stop;
pub mod summary;

pub use run::{run, validate_input, RunError};
