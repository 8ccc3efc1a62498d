//! Bulk creation of Omni dbt environments from CSV or JSONL, exactly once, with a results file.

pub mod checked;
pub mod fingerprint;
pub mod input;
pub mod record;
pub mod results;
pub mod shard;
