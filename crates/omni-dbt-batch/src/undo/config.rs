//! `UndoConfig`: everything an undo needs to know, as plain data: the library's counterpart of
//! `undo`'s flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{ApiKey, ApiSettings, WriteMode, DEFAULT_GRACE};
use crate::record::results::ResultsMode;
use crate::stop::StopHandle;

/// An undo's configuration. Build one with [`UndoConfig::new`] and adjust the public fields.
///
/// ```
/// use omni_dbt_batch::UndoConfig;
/// let config = UndoConfig::new("out/envs.results.csv", "https://acme.omniapp.co", vec![]);
/// assert_eq!(config.results_path(), std::path::Path::new("out/envs.results.undo.csv"));
/// ```
#[derive(Clone, Debug)]
pub struct UndoConfig {
    /// The results file of the run to undo.
    pub source: PathBuf,
    /// The undo's own results file; `None` = `<source stem>.undo.csv` beside the source.
    pub results_path: Option<PathBuf>,
    /// What to do when the undo's results file exists: refuse (the default), `Resume` or `Force`.
    pub results_mode: ResultsMode,
    /// How the undo reaches Omni: base URL, keys, concurrency, pace, retries, limits.
    pub api: ApiSettings,
    /// Delete, or only list what would be deleted.
    pub write_mode: WriteMode,
    /// How long in-flight deletes may finish after an interrupt.
    pub grace: Duration,
    /// Stops the undo when triggered (the CLI wires SIGINT/SIGTERM to it).
    pub stop: StopHandle,
}

impl UndoConfig {
    /// An undo of the run whose results file is `source`, against `base_url` with `keys`, with
    /// every default.
    pub fn new(source: impl Into<PathBuf>, base_url: impl Into<String>, keys: Vec<ApiKey>) -> Self {
        Self {
            source: source.into(),
            results_path: None,
            results_mode: ResultsMode::default(),
            api: ApiSettings::new(base_url, keys),
            write_mode: WriteMode::default(),
            grace: DEFAULT_GRACE,
            stop: StopHandle::new(),
        }
    }

    /// The undo's results file: `results_path`, else `<source stem>.undo.csv` beside the source.
    pub fn results_path(&self) -> PathBuf {
        if let Some(path) = &self.results_path {
            return path.clone();
        }
        let stem = self
            .source
            .file_stem()
            .map_or_else(|| "results".into(), |s| s.to_string_lossy().into_owned());
        let dir = self
            .source
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        dir.join(format!("{stem}.undo.csv"))
    }
}
