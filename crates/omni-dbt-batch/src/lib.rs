//! Bulk creation of Omni dbt environments from CSV or JSONL, exactly once, with a results file.
//!
//! [`run()`] is the whole job (the `omni-dbt-batch run` command is a thin layer over it);
//! [`validate_input`] is the offline check. Data flows one way through the modules:
//!
//! | phase | modules |
//! |---|---|
//! | read and validate | [`input`], [`checked`], [`duplicates`], [`source`] |
//! | resume | [`prior`], [`results`] |
//! | plan | [`inventory`], [`plan`] |
//! | execute | [`feed`], [`execute`], [`job`], [`classify`] |
//! | record | [`ledger`], [`results`], [`record`], [`summary`], [`progress`] |
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("envs.csv");
//! use omni_dbt_batch::input::InputSource;
//! std::fs::write(&path, "connection_id,name,target_schema\n\
//!     550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_alice\n\
//!     550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_other\n").unwrap();
//! let report = omni_dbt_batch::validate_input(&InputSource::Path(path), None, None, 10).unwrap();
//! assert_eq!((report.rows, report.invalid), (2, 1), "a repeated (connection, name) is invalid");
//! ```

pub mod checked;
pub mod classify;
pub mod config;
pub mod duplicates;
pub mod execute;
pub mod feed;
pub mod fingerprint;
pub mod input;
pub mod inventory;
pub mod job;
pub mod ledger;
pub mod plan;
pub mod prior;
pub mod progress;
pub mod record;
pub mod results;
pub mod run;
pub mod shard;
pub mod source;
pub mod stop;
pub mod summary;

pub use run::{run, validate_input, RunError};
