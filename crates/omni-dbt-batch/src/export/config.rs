//! `ExportConfig`: everything an export needs to know, as plain data: the library's counterpart
//! of `export`'s flags.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use omni_dbt_core::ConnectionId;

use crate::config::{ApiKey, ApiSettings};
use crate::stop::StopHandle;

/// The format of an export: one of the input formats `run` reads.
///
/// ```
/// use omni_dbt_batch::ExportFormat;
/// use std::path::Path;
/// assert_eq!(ExportFormat::from_path(Path::new("envs.NDJSON")), Some(ExportFormat::Jsonl));
/// assert_eq!(ExportFormat::from_path(Path::new("envs.yml")), None);
/// assert_eq!("csv".parse(), Ok(ExportFormat::Csv));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ExportFormat {
    /// CSV with a header: `connection_id`, `name`, the target fields, `owner_id`, then one
    /// `var:NAME` or `secret:NAME` column per variable (the default).
    #[default]
    Csv,
    /// One JSON object per line in the API's create shape plus `connectionId`.
    Jsonl,
}

impl ExportFormat {
    /// The format named by `path`'s extension (`.csv`, `.jsonl`, `.ndjson`, any case).
    pub fn from_path(path: &Path) -> Option<ExportFormat> {
        path.extension()?.to_str()?.parse().ok()
    }

    /// The lowercase name (`csv`, `jsonl`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" | "ndjson" => Ok(ExportFormat::Jsonl),
            other => Err(format!(
                "unknown export format {other:?}: expected csv or jsonl"
            )),
        }
    }
}

/// Where an export is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportOutput {
    /// A file, written beside its place and renamed into it once complete.
    File(PathBuf),
    /// Standard output, once every connection has been listed.
    Stdout,
}

impl ExportOutput {
    /// `-` means stdout; anything else is a path.
    ///
    /// ```
    /// use omni_dbt_batch::ExportOutput;
    /// assert_eq!(ExportOutput::from_arg("-"), ExportOutput::Stdout);
    /// ```
    pub fn from_arg(arg: &str) -> ExportOutput {
        match arg {
            "-" => ExportOutput::Stdout,
            path => ExportOutput::File(PathBuf::from(path)),
        }
    }
}

/// What to do when the output file exists already.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExistingOutput {
    /// Refuse, before any request (the default): an export never overwrites a file unasked.
    #[default]
    Refuse,
    /// Replace it, once the export is complete (`--force`).
    Replace,
}

/// Whether a connection's default environment is exported.
///
/// Omni's dbt integration creates the default (production) environment of a connection by
/// itself, so a connection that environments are moved to has its own already: exporting it
/// would make `run` create a second, non-default copy there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DefaultEnvironment {
    /// Leave it out, and count it (the default).
    #[default]
    Skip,
    /// Export it like any other (`--include-default`).
    Include,
}

/// An export's configuration. Build one with [`ExportConfig::new`] and adjust the public fields.
///
/// ```
/// use omni_dbt_batch::{ExportConfig, ExportFormat, ExportOutput};
/// let connection = "550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
/// let mut config = ExportConfig::new(vec![connection], "https://acme.omniapp.co", vec![]);
/// assert_eq!(config.output, ExportOutput::Stdout);
/// assert_eq!(config.resolved_format(), Some(ExportFormat::Csv), "CSV on stdout");
/// config.output = ExportOutput::File("envs.jsonl".into());
/// assert_eq!(config.resolved_format(), Some(ExportFormat::Jsonl), "from the extension");
/// config.output = ExportOutput::File("envs.txt".into());
/// assert_eq!(config.resolved_format(), None, "say which");
/// ```
#[derive(Clone, Debug)]
pub struct ExportConfig {
    /// The connections whose environments are exported (repeats are exported once).
    pub connections: Vec<ConnectionId>,
    /// Where the export goes.
    pub output: ExportOutput,
    /// The format; `None` = from the output's extension, CSV on stdout.
    pub format: Option<ExportFormat>,
    /// What to do when the output file exists.
    pub existing_output: ExistingOutput,
    /// Whether default environments are exported.
    pub default_environment: DefaultEnvironment,
    /// How the export reaches Omni: base URL, keys, concurrency, pace, retries, limits.
    pub api: ApiSettings,
    /// Stops the export when triggered (nothing is written then).
    pub stop: StopHandle,
}

impl ExportConfig {
    /// An export of `connections` from `base_url` with `keys`, to stdout, with every default.
    pub fn new(
        connections: Vec<ConnectionId>,
        base_url: impl Into<String>,
        keys: Vec<ApiKey>,
    ) -> Self {
        Self {
            connections,
            output: ExportOutput::Stdout,
            format: None,
            existing_output: ExistingOutput::default(),
            default_environment: DefaultEnvironment::default(),
            api: ApiSettings::new(base_url, keys),
            stop: StopHandle::new(),
        }
    }

    /// The format to write: `format`, else from the output file's extension, else CSV on
    /// stdout; `None` when a file's extension names no export format.
    pub fn resolved_format(&self) -> Option<ExportFormat> {
        match (&self.format, &self.output) {
            (Some(format), _) => Some(*format),
            (None, ExportOutput::Stdout) => Some(ExportFormat::Csv),
            (None, ExportOutput::File(path)) => ExportFormat::from_path(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_token() {
        let key = ApiKey {
            label: "OMNI_API_TOKEN".into(),
            token: "omni_s3cr3t_token".to_owned().into(),
        };
        let config = ExportConfig::new(Vec::new(), "https://acme.omniapp.co", vec![key]);
        let shown = format!("{config:?}");
        assert!(
            shown.contains("OMNI_API_TOKEN") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
