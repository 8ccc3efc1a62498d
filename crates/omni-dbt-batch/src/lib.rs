//! Bulk creation of Omni dbt environments from CSV or JSONL, exactly once, with a results file.

pub mod record;
