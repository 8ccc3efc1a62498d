//! Writing the spooled environments out in the export's format, connection by connection in
//! the order asked, each connection's environments by name.

use std::collections::BTreeSet;
use std::io::{self, Write};

use omni_dbt_core::ConnectionId;

use super::config::ExportFormat;
use super::csv_rows::CsvRows;
use super::jsonl_rows::JsonlRows;
use super::shape::{secret_variable, VariableColumn};
use super::spool::Spool;
use super::summary::UnwritableEnvironment;

/// What was written.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    /// Environments written.
    pub(crate) environments: u64,
    /// Environments the format could not hold, left out.
    pub(crate) unwritable: Vec<UnwritableEnvironment>,
    /// The environment variables the secret references written name.
    pub(crate) secret_variables: BTreeSet<String>,
}

/// Where rendering failed.
#[derive(Debug)]
pub(crate) enum RenderError {
    /// Reading the spool back.
    Spool(io::Error),
    /// Writing the output.
    Output(io::Error),
}

/// The rows of one format.
enum Rows {
    Csv(CsvRows),
    Jsonl(JsonlRows),
}

/// Writes the environments of `connections` (in that order) from `spool` to `out`.
pub(crate) fn render(
    spool: &Spool,
    connections: &[ConnectionId],
    format: ExportFormat,
    columns: BTreeSet<VariableColumn>,
    out: &mut dyn Write,
) -> Result<Rendered, RenderError> {
    let mut rows = match format {
        ExportFormat::Csv => {
            let mut rows = CsvRows::new(columns);
            out.write_all(rows.header().map_err(RenderError::Output)?)
                .map_err(RenderError::Output)?;
            Rows::Csv(rows)
        }
        ExportFormat::Jsonl => Rows::Jsonl(JsonlRows::default()),
    };
    let mut rendered = Rendered::default();
    for connection in connections {
        for environment in spool.environments(connection).map_err(RenderError::Spool)? {
            let environment = environment.map_err(RenderError::Spool)?;
            let line = match &mut rows {
                Rows::Jsonl(rows) => rows
                    .row(connection, &environment)
                    .map_err(|e| RenderError::Output(e.into()))?,
                Rows::Csv(rows) => match rows
                    .row(connection, &environment)
                    .map_err(RenderError::Output)?
                {
                    Ok(line) => line,
                    Err((variable, reason)) => {
                        rendered.unwritable.push(UnwritableEnvironment {
                            connection: *connection,
                            name: environment.name,
                            variable,
                            reason,
                        });
                        continue;
                    }
                },
            };
            out.write_all(line).map_err(RenderError::Output)?;
            rendered.environments += 1;
            rendered.secret_variables.extend(
                environment
                    .variables
                    .iter()
                    .filter(|variable| variable.is_secret)
                    .map(|variable| secret_variable(&variable.name)),
            );
        }
    }
    out.flush().map_err(RenderError::Output)?;
    Ok(rendered)
}
