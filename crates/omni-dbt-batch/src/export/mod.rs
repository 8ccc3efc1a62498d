//! `export`: every environment of some connections, written in the input format `run` reads, so
//! that a run of the file recreates them elsewhere, or, on the same connections, changes nothing.
//!
//! Each connection is listed once, every page, in name order, into a temporary file; memory
//! holds a page at a time, however many environments there are. Once every connection is
//! listed, the output is written connection by connection (in connection-id order), each
//! connection's environments by name, then put in place in one rename. A connection that cannot
//! be listed (403, 404, retries exhausted) is left out and named; a 401 or an interrupt writes
//! nothing.
//!
//! What is written, and why it reads back to the same request:
//! - the target fields and `owner_id` as Omni returns them (Omni's `null` and an empty value
//!   alike are left empty, and an empty field leaves Omni's value as it is);
//! - a secret variable as `secret:NAME` = `${env:NAME}`: Omni never returns secret values, so
//!   the run reads each from the environment variable named (characters other than letters,
//!   digits and `_` become `_`);
//! - a plain value that `run` would read as a reference (`${env:X}`) with one more `$`
//!   (`$${env:X}`);
//! - in CSV, every cell guarded against spreadsheet evaluation, as in every CSV of this tool.
//!   An environment CSV cannot hold (a plain variable with an empty value, since an empty
//!   cell means "no such variable") is left out and named, and the export ends with exit 1:
//!   JSONL holds it.
//!
//! A connection's default environment is left out unless asked for
//! ([`DefaultEnvironment`](crate::DefaultEnvironment)): Omni's dbt integration creates one in
//! every connection itself.

mod config;
mod csv_rows;
mod error;
mod gather;
mod jsonl_rows;
mod listing;
mod out;
mod render;
mod shape;
mod spool;
mod summary;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use omni_dbt_core::ConnectionId;

pub use config::{DefaultEnvironment, ExistingOutput, ExportConfig, ExportFormat, ExportOutput};
pub use error::ExportError;
pub use summary::{ExportSummary, FailedConnection, Unwritable, UnwritableEnvironment};

use self::gather::{gather, Gathered, Listing};
use self::out::Destination;
use self::render::{render, RenderError, Rendered};
use crate::error::RunError;
use crate::execute::clients::{build_clients, total_stats};
use crate::read::id_file::{IdFile, IdFileError};
use crate::read::input::field::Field;
use crate::report::{Phase, Reporter};
use crate::run::stop_message;
use crate::stop::StopReason;
use crate::summary::RunOutcome;

/// Exports every environment of `config.connections` to `config.output`.
///
/// Returns the summary, whose [`outcome`](ExportSummary::outcome) says how the export ended
/// (see [`ExportSummary`] for the exit codes); an `Err` means it did not start (nothing was
/// sent) or could not write what it listed. Progress goes to `reporter`: a
/// [`Phase::Planning`] with the number of connections, then
/// [`connection_listed`](Reporter::connection_listed) for each.
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use omni_dbt_batch::{ApiKey, ExitStatus, ExportConfig, ExportOutput, Silent};
/// # use omni_dbt_sandbox::{RateLimit, Sandbox, SandboxConfig, SeedConnection, SeedEnvironment};
/// # let connection = uuid::Uuid::from_u128(7);
/// # let sandbox = Sandbox::start(SandboxConfig::default().with_rate_limit(RateLimit::Unlimited)
/// #     .with_connection(SeedConnection::dbt(connection)
/// #         .with_default_environment("Production", "analytics")
/// #         .with_environment(SeedEnvironment::new("dev_bob", "dbt_bob").with_secret_variable("DBT_API_KEY", "s3cr3t"))
/// #         .with_environment(SeedEnvironment::new("dev_alice", "dbt_alice").with_variable("DBT_TARGET", "dev")))).await?;
/// # let (base_url, token) = (sandbox.base_url(), sandbox.token().to_owned());
/// # let dir = tempfile::tempdir()?;
/// let key = ApiKey { label: "OMNI_API_TOKEN".into(), token: token.into() };
/// let mut config = ExportConfig::new(vec![connection.into()], base_url, vec![key]);
/// config.output = ExportOutput::File(dir.path().join("envs.csv"));
/// let summary = omni_dbt_batch::export(config, Arc::new(Silent)).await?;
///
/// assert_eq!(ExitStatus::from(summary.outcome), ExitStatus::Success);
/// assert_eq!((summary.environments, summary.defaults_left_out), (2, 1));
/// assert!(summary.secret_variables.contains("DBT_API_KEY"), "set it before running the file");
/// let written = std::fs::read_to_string(dir.path().join("envs.csv"))?;
/// assert_eq!(written, "connection_id,name,target_schema,target_database,target_name,target_role,owner_id,secret:DBT_API_KEY,var:DBT_TARGET\n\
///     00000000-0000-0000-0000-000000000007,dev_alice,dbt_alice,,,,,,dev\n\
///     00000000-0000-0000-0000-000000000007,dev_bob,dbt_bob,,,,,${env:DBT_API_KEY},\n");
/// # sandbox.shutdown().await;
/// # Ok(()) }
/// # tokio::runtime::Runtime::new()?.block_on(demo()).map_err(|e| e.to_string())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn export(
    config: ExportConfig,
    reporter: Arc<dyn Reporter>,
) -> Result<ExportSummary, ExportError> {
    let started = Instant::now();
    let (connections, format) = prepare(&config)?;
    let clients = build_clients(&config.api).map_err(|error| match error {
        RunError::Client { base_url, source } => ExportError::Client { base_url, source },
        other => ExportError::Output {
            path: config.api.base_url.clone().into(),
            reason: other.to_string(),
        },
    })?;

    reporter.phase(Phase::Planning {
        connections: connections.len() as u64,
    });
    let listing = Listing {
        clients: &clients,
        concurrency: config.api.concurrency,
        defaults: config.default_environment,
        stop: &config.stop,
        reporter: reporter.as_ref(),
    };
    let gathered = gather(&connections, listing).await?;
    let stop_reason = config.stop.reason();
    let rendered = match stop_reason {
        Some(_) => None,
        None => Some(write_out(&config, &connections, format, &gathered).await?),
    };
    let stats = total_stats(&clients);
    let (written, output, rendered) = match rendered {
        Some((output, rendered)) => (true, output, rendered),
        None => (false, None, Rendered::default()),
    };
    Ok(ExportSummary {
        outcome: outcome(stop_reason, &gathered, &rendered),
        stop_reason: stop_reason.map(|reason| stop_message(reason, None)),
        format,
        output,
        written,
        connections: connections.len() as u64,
        environments: rendered.environments,
        defaults_left_out: gathered.defaults_left_out,
        failed_connections: gathered.failed,
        unwritable: rendered.unwritable,
        secret_variables: rendered.secret_variables,
        sorted_locally: gathered.sorted_locally,
        elapsed: started.elapsed(),
        requests: stats.requests,
        retries: stats.retries,
        rate_limited: stats.rate_limited,
    })
}

/// Everything checked before any request: the connections (each once, in id order), the keys,
/// the output path and the format.
fn prepare(config: &ExportConfig) -> Result<(Vec<ConnectionId>, ExportFormat), ExportError> {
    let connections: BTreeSet<ConnectionId> = config.connections.iter().copied().collect();
    if connections.is_empty() {
        return Err(ExportError::NoConnections);
    }
    if config.api.keys.is_empty() {
        return Err(ExportError::NoKeys);
    }
    out::check(&config.output, config.existing_output)?;
    let format = config
        .resolved_format()
        .ok_or_else(|| ExportError::Output {
            path: match &config.output {
                ExportOutput::File(path) => path.clone(),
                ExportOutput::Stdout => "-".into(),
            },
            reason: "its extension names no export format: name it .csv, .jsonl or .ndjson, or \
                 pass --format csv|jsonl"
                .to_owned(),
        })?;
    Ok((connections.into_iter().collect(), format))
}

/// Writes the gathered environments to the configured output, on a blocking thread.
async fn write_out(
    config: &ExportConfig,
    connections: &[ConnectionId],
    format: ExportFormat,
    gathered: &Gathered,
) -> Result<(Option<std::path::PathBuf>, Rendered), ExportError> {
    let (output, connections) = (config.output.clone(), connections.to_vec());
    let (spool, columns) = (Arc::clone(&gathered.spool), gathered.columns.clone());
    tokio::task::spawn_blocking(move || {
        let spool = spool.lock().unwrap_or_else(PoisonError::into_inner);
        let mut destination = Destination::open(&output)?;
        let rendered = render(
            &spool,
            &connections,
            format,
            columns,
            &mut destination.writer(),
        );
        let rendered = match rendered {
            Ok(rendered) => rendered,
            Err(RenderError::Spool(source)) => return Err(ExportError::Spool { source }),
            Err(RenderError::Output(source)) => return Err(destination.write_error(source)),
        };
        Ok((destination.commit()?, rendered))
    })
    .await
    .map_err(|source| ExportError::Internal {
        task: "writing the export",
        source,
    })?
}

/// How an export ended: stopped, written without some environments, or written whole.
fn outcome(stop: Option<StopReason>, gathered: &Gathered, rendered: &Rendered) -> RunOutcome {
    match stop {
        Some(StopReason::Interrupted) => RunOutcome::Interrupted,
        Some(_) => RunOutcome::Aborted,
        None if !gathered.failed.is_empty() || !rendered.unwritable.is_empty() => {
            RunOutcome::SomeRowsFailed
        }
        None => RunOutcome::Succeeded,
    }
}

/// The connections listed in the `connection_id` column (or `connectionId`) of the CSV at
/// `path`, in file order; other columns are ignored, so an input or an export will do.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("connections.csv");
/// std::fs::write(&path, "name,connection_id\nwarehouse,550e8400-e29b-41d4-a716-446655440000\n").unwrap();
/// let connections = omni_dbt_batch::connections_from(&path).unwrap();
/// assert_eq!(connections[0].to_string(), "550e8400-e29b-41d4-a716-446655440000");
/// ```
pub fn connections_from(path: impl AsRef<Path>) -> Result<Vec<ConnectionId>, IdFileError> {
    let column = Field::ConnectionId.snake();
    let mut file = IdFile::open(path.as_ref(), &[column], "a list of connections")?;
    let mut connections = Vec::new();
    while let Some(record) = file.next_record()? {
        connections.push(file.connection(record.line, column, &record.cells[0])?);
    }
    Ok(connections)
}
