//! Bulk creation of Omni dbt environments from CSV or JSONL.
