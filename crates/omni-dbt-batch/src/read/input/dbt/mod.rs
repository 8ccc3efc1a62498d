//! dbt `profiles.yml` as input: each output (target) of each selected profile is one row.
//!
//! ```yaml
//! jaffle_shop:                 # a profile, created in the connection --dbt-profile gives it
//!   target: dev
//!   outputs:
//!     dev:                     # one environment: targetName dev, named by --name-template
//!       type: snowflake
//!       database: analytics    # targetDatabase
//!       schema: dbt_alice      # targetSchema
//!       role: transformer      # targetRole
//!       password: "{{ env_var('DBT_ENV_SECRET_PASSWORD') }}"   # a secret variable
//! ```
//!
//! - **Selection**: only the profiles given a connection (`--dbt-profile NAME=CONNECTION_ID`,
//!   or a bare `CONNECTION_ID` when the file has one profile) are read; `--dbt-target` keeps
//!   only the outputs of those names. dbt's top-level `config:` block is not a profile.
//! - **Mapping**: see [`output`] (`schema`/`dataset` → target schema; `database`, `dbname`,
//!   `project`, `catalog` → target database; `role` → target role; the output's key → target
//!   name).
//! - **Variables**: every `{{ env_var('X') }}` in an output becomes variable `X`, valued from
//!   the runner's environment or the call's default, and secret when `X` starts with
//!   `DBT_ENV_SECRET_`. Other Jinja is refused (see [`jinja`]).
//! - **Rows**: an output's row is its place among every output of the file, its line the line
//!   of its key (see [`profiles`]). Problems of one output make that row invalid, each problem
//!   naming the line of the offending value; problems of the file (YAML, selection) are fatal
//!   [`DbtError`]s.
//!
//! The whole file is read and parsed when the reader opens: profiles are small, and their
//! problems are best known before anything else happens.

mod error;
mod jinja;
mod options;
mod output;
mod profiles;
mod yaml;

use std::io::Read;

pub use error::DbtError;
pub use options::{DbtOptions, NameTemplate, ProfileConnection};

use super::field::Field;
use super::secret_ref::EnvLookup;
use super::{InputError, InputRow, ReadItem, RowProblem, Source};

/// dbt's prefix for environment variables that hold secrets.
const SECRET_PREFIX: &str = "DBT_ENV_SECRET_";

/// Whether dbt treats the environment variable `name` as a secret.
fn is_secret(name: &str) -> bool {
    name.starts_with(SECRET_PREFIX)
}

/// How a field of Omni's create body is named in messages about a profile: by the dbt setting
/// it comes from.
pub(crate) fn spelling(field: Field) -> &'static str {
    match field {
        Field::ConnectionId => "connection",
        Field::Name => "name",
        Field::TargetSchema => "schema",
        Field::TargetDatabase => "database",
        Field::TargetName => "target",
        Field::TargetRole => "role",
        Field::OwnerId => "owner",
    }
}

/// The rows of one profiles.yml, read and checked when it is opened.
pub(crate) struct DbtRows {
    rows: std::vec::IntoIter<Result<InputRow, RowProblem>>,
}

impl DbtRows {
    /// Reads the whole of `source` and turns the outputs `options` select into rows.
    pub(crate) fn new(
        mut source: Source,
        file: String,
        env: EnvLookup,
        options: &DbtOptions,
    ) -> Result<Self, InputError> {
        let mut bytes = Vec::new();
        source
            .read_to_end(&mut bytes)
            .map_err(|source| InputError::Read {
                file: file.clone(),
                line: None,
                source,
            })?;
        let text = decode(&bytes, &file)?;
        let document = yaml::parse(text).map_err(|error| DbtError::Yaml {
            file: file.clone(),
            line: error.line,
            message: error.message,
        })?;
        let rows: Vec<_> = profiles::select(document.as_ref(), options, &file)?
            .iter()
            .map(|selected| output::to_row(selected, options.name_template(), &env))
            .collect();
        Ok(Self {
            rows: rows.into_iter(),
        })
    }

    /// The next row, or `None` at the end.
    pub(crate) fn next_row(&mut self) -> Option<ReadItem> {
        self.rows.next().map(Ok)
    }
}

/// The file as UTF-8 text without its byte-order mark.
fn decode<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, DbtError> {
    let text = std::str::from_utf8(bytes).map_err(|error| DbtError::NotUtf8 {
        file: file.to_owned(),
        line: 1 + bytes[..error.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64,
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

#[cfg(test)]
mod tests;
