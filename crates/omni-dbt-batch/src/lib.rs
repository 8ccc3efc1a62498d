//! Bulk creation of Omni dbt environments from CSV, JSONL or a dbt profiles.yml, exactly once, with a results file.
//!
//! [`run()`] is the whole job (the `omni-dbt-batch run` command is a thin layer over it);
//! [`plan()`] decides every row and writes nothing, reporting each row's [`PlanEntry`] with the
//! field-level [`Drift`] of an update (`omni-dbt-batch plan`);
//! [`validate_input()`] is the offline check; [`ResultsReader`] reads a results file back.
//! [`undo()`] deletes what a run created; [`merge()`] joins the results files of shards.
//! [`export()`] writes what Omni holds in the input format, and a [`ConnectionMap`] moves an
//! input's rows to other connections (`--map-connections`).
//! Data flows one way through the phases, each a folder of the source:
//!
//! | phase | folder | what it decides |
//! |---|---|---|
//! | read | `read/` | how rows are parsed and validated, duplicates, shards |
//! | plan | `plan/` | what Omni holds, what an earlier run left (`--resume`), what each row needs |
//! | execute | `execute/` | who sends what, with what concurrency, how a failure is classified |
//! | record | `record/` | the results file, its journal and lock, fingerprints |
//!
//! The entry points sit beside them: [`RunConfig`] (every setting), [`Reporter`] (progress),
//! [`Summary`] and [`ExitStatus`] (how a run ended, and the one mapping to exit codes).
//!
//! This crate's command-line interface is behind the `cli` feature, on by default for
//! `cargo install`. A program that embeds the library turns it off and compiles neither clap,
//! indicatif, tracing-subscriber nor the sandbox:
//!
//! ```toml
//! omni-dbt-batch = { version = "0.1", default-features = false }
//! ```
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("envs.csv");
//! use omni_dbt_batch::{DbtOptions, InputSource};
//! std::fs::write(&path, "connection_id,name,target_schema\n\
//!     550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_alice\n\
//!     550e8400-e29b-41d4-a716-446655440000,dev_alice,dbt_other\n").unwrap();
//! let report = omni_dbt_batch::validate_input(&InputSource::Path(path), None, &DbtOptions::default(), None, None, 10).unwrap();
//! assert_eq!((report.rows, report.invalid), (2, 1), "a repeated (connection, name) is invalid");
//! ```

#![warn(unreachable_pub)]

mod config;
mod csv_cells;
mod error;
mod execute;
mod exit;
mod export;
mod merge;
mod paths;
mod plan;
mod preview;
mod prune;
mod read;
mod record;
mod report;
mod run;
mod stop;
mod summary;
mod undo;

pub use config::{
    ApiKey, ApiSettings, ExistingPolicy, FailureThreshold, InvalidRows, KeySharing, RunConfig,
    WriteMode, DEFAULT_CONCURRENCY, DEFAULT_GRACE, DEFAULT_MAX_LISTED_PROBLEMS,
};
pub use error::{RunError, Sent};
pub use exit::ExitStatus;
pub use export::{
    connections_from, export, DefaultEnvironment, ExistingOutput, ExportConfig, ExportError,
    ExportFormat, ExportOutput, ExportSummary, FailedConnection, Unwritable, UnwritableEnvironment,
};
pub use merge::{merge, MergeConfig, MergeError, MergeReport, MissingRow};
pub use plan::actions::{ActionCounts, ActionKind};
pub use plan::diff::{Drift, Field, FieldChange, FieldValue, Note};
pub use plan::entry::{InputPosition, PlanEntry, PlannedAction};
pub use preview::plan;
pub use prune::{MaxDeletes, Prune, PruneRefused};
pub use read::checked::ScanReport;
pub use read::id_file::IdFileError;
pub use read::input::{
    DbtError, DbtOptions, Format, InputError, InputSource, NameTemplate, ProfileConnection,
    RowProblem,
};
pub use read::map::ConnectionMap;
pub use read::shard::{Shard, ShardError};
pub use record::results::{LockHolder, ResultsError, ResultsMode, ResultsReader, COLUMNS};
pub use record::{ErrorKind, RowRecord, Status};
pub use report::{KeyPacing, KeyWatch, Phase, Reporter, Silent};
pub use run::{run, validate_input};
pub use stop::{StopHandle, StopReason};
pub use summary::{KeySummary, RunOutcome, Summary};
pub use undo::{undo, undo_targets, UndoConfig, UndoRefused};
