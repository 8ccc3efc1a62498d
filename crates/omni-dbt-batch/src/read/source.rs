//! The input as a file that can be read more than once: stdin is spooled to a temporary file.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::read::checked::CheckedRows;
use crate::read::duplicates::Duplicates;
use crate::read::input::{
    sniff, DbtOptions, EnvLookup, Format, InputError, InputReader, InputSource,
};
use crate::read::map::ConnectionMap;
use crate::read::shard::Shard;

/// The input of a run or a validation. A run reads it up to three times (the scan, its
/// duplicate check, then the execute pass), so stdin is first copied to a temporary file that
/// lives as long as this value.
#[derive(Debug)]
pub(crate) struct InputFile {
    path: PathBuf,
    display: String,
    format: Option<Format>,
    /// How a dbt profiles.yml becomes rows.
    dbt: DbtOptions,
    shard: Option<Shard>,
    /// Where `${env:NAME}` references are looked up.
    env: EnvLookup,
    /// Where each row's connection goes (`--map-connections`).
    map: Option<ConnectionMap>,
    /// The scan's duplicate rows, which every later read judges by.
    duplicates: OnceLock<Arc<Duplicates>>,
    _spool: Option<tempfile::NamedTempFile>,
}

impl InputFile {
    /// Opens `input` (spooling stdin, whose format is sniffed unless given); a dbt profiles.yml
    /// is read as `dbt` says.
    pub(crate) fn open(
        input: &InputSource,
        format: Option<Format>,
        dbt: &DbtOptions,
        shard: Option<Shard>,
    ) -> Result<Self, InputError> {
        let display = input.display_name();
        let (path, format, spool) = match input {
            InputSource::Path(path) => (path.clone(), format, None),
            InputSource::Stdin => {
                let read_error = |source| InputError::Read {
                    file: display.clone(),
                    line: None,
                    source,
                };
                let mut spool = tempfile::NamedTempFile::new().map_err(read_error)?;
                std::io::copy(&mut std::io::stdin().lock(), spool.as_file_mut())
                    .map_err(read_error)?;
                let format = match format {
                    Some(format) => format,
                    None => {
                        sniff(Box::new(spool.reopen().map_err(read_error)?))
                            .map_err(read_error)?
                            .0
                    }
                };
                (spool.path().to_path_buf(), Some(format), Some(spool))
            }
        };
        Ok(Self {
            path,
            display,
            format,
            dbt: dbt.clone(),
            shard,
            env: EnvLookup::process(),
            map: None,
            duplicates: OnceLock::new(),
            _spool: spool,
        })
    }

    /// The same input, each row's connection rewritten through `map` when given.
    pub(crate) fn with_map(mut self, map: Option<ConnectionMap>) -> Self {
        self.map = map;
        self
    }

    /// The same input with `${env:NAME}` references looked up in `env` instead of the
    /// process environment.
    #[cfg(test)]
    pub(crate) fn with_env(mut self, env: EnvLookup) -> Self {
        self.env = env;
        self
    }

    /// How messages name the input: the path as given, or `<stdin>`.
    pub(crate) fn display_name(&self) -> &str {
        &self.display
    }

    /// The shard the run is limited to.
    pub(crate) fn shard(&self) -> Option<Shard> {
        self.shard
    }

    /// Records the scan's duplicates; every later [`InputFile::checked`] judges by them.
    pub(crate) fn set_duplicates(&self, duplicates: Arc<Duplicates>) {
        // Set once, by the scan; a second scan of the same input would find the same rows.
        let _ = self.duplicates.set(duplicates);
    }

    /// Reads the rows and checks them, with the duplicates found by the scan (none before it).
    pub(crate) fn checked(&self) -> Result<CheckedRows, InputError> {
        let duplicates = self.duplicates.get().cloned().unwrap_or_default();
        Ok(CheckedRows::new(self.reader()?, self.shard, duplicates))
    }

    /// Reads the rows from the start, unchecked.
    pub(crate) fn reader(&self) -> Result<InputReader, InputError> {
        let format = self
            .format
            .or_else(|| Format::from_path(&self.path))
            .ok_or_else(|| InputError::UnknownFormat {
                file: self.display.clone(),
            })?;
        let file = std::fs::File::open(&self.path).map_err(|source| InputError::Open {
            path: self.path.clone(),
            source,
        })?;
        Ok(InputReader::new(
            file,
            format,
            self.display.clone(),
            self.env.clone(),
            &self.dbt,
        )?
        .with_map(self.map.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(arg: &str) -> Result<InputReader, InputError> {
        InputFile::open(
            &InputSource::from_arg(arg),
            None,
            &DbtOptions::default(),
            None,
        )?
        .reader()
    }

    #[test]
    fn open_reports_a_missing_file_with_its_path() {
        let err = open("does/not/exist.csv").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, InputError::Open { .. }), "{text}");
        assert!(text.contains("does/not/exist.csv"), "{text}");
    }

    #[test]
    fn open_refuses_an_unknown_extension() {
        let err = open("envs.txt").unwrap_err();
        assert!(matches!(err, InputError::UnknownFormat { .. }));
        assert!(err.to_string().contains("--format"));
    }
}
