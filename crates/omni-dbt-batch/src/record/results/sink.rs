//! `ResultsSink`: a [`ResultsWriter`] shared by many tasks, behind one mutex.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{FinishReport, Intent, ResultsError, ResultsWriter};
use crate::record::RowRecord;

/// A cloneable handle on one [`ResultsWriter`], for concurrent workers (threads or async tasks).
///
/// Each call takes a mutex for the duration of one small `write` (microseconds), which is fine
/// from async code and keeps up with far more than 10,000 records/s; a mutex rather than a
/// channel to a writer task means that when `intend` returns, the intent is in the journal, so
/// the request may go out. After [`finish`](Self::finish), calls fail with
/// [`ResultsError::Finished`].
#[derive(Clone, Debug)]
pub(crate) struct ResultsSink {
    path: PathBuf,
    writer: Arc<Mutex<Option<ResultsWriter>>>,
}

impl ResultsSink {
    /// Shares `writer`.
    pub(crate) fn new(writer: ResultsWriter) -> Self {
        Self {
            path: writer.path().to_path_buf(),
            writer: Arc::new(Mutex::new(Some(writer))),
        }
    }

    /// [`ResultsWriter::record`] through the shared writer.
    pub(crate) fn record(&self, record: &RowRecord) -> Result<(), ResultsError> {
        self.with_writer(|writer| writer.record(record))
    }

    /// [`ResultsWriter::intend`] through the shared writer.
    pub(crate) fn intend(&self, intent: &Intent) -> Result<(), ResultsError> {
        self.with_writer(|writer| writer.intend(intent))
    }

    /// [`ResultsWriter::finish`]: takes the writer out (any clone may call it, once).
    pub(crate) fn finish(&self) -> Result<FinishReport, ResultsError> {
        let writer = self.lock().take().ok_or_else(|| self.finished())?;
        writer.finish()
    }

    fn with_writer<T>(
        &self,
        call: impl FnOnce(&mut ResultsWriter) -> Result<T, ResultsError>,
    ) -> Result<T, ResultsError> {
        let mut guard = self.lock();
        let writer = guard.as_mut().ok_or_else(|| self.finished())?;
        call(writer)
    }

    /// The writer; a panic elsewhere while holding the lock cannot leave a partial record
    /// (each append is whole or rolled back), so a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, Option<ResultsWriter>> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn finished(&self) -> ResultsError {
        ResultsError::Finished {
            path: self.path.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn concurrent_threads_record_through_one_sink() -> Result<(), Box<dyn std::error::Error>> {
        use crate::record::results::{Format, ResultsMode, ResultsSink, ResultsWriter};
        use crate::record::{RowRecord, Status};

        let dir = tempfile::tempdir()?;
        let path = dir.path().join("r.jsonl");
        let sink = ResultsSink::new(ResultsWriter::create(
            &path,
            Format::Jsonl,
            ResultsMode::New,
        )?);
        let workers: Vec<_> = (1..=4u64)
            .map(|row| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    sink.record(&RowRecord {
                        row,
                        line: row + 1,
                        connection_id: "conn".into(),
                        name: format!("env-{row}"),
                        status: Status::Exists,
                        environment_id: None,
                        attempts: 0,
                        http_status: None,
                        error_kind: None,
                        error: None,
                        fingerprint: String::new(),
                    })
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("worker")?;
        }
        assert_eq!(sink.finish()?.rows, 4);
        Ok(())
    }
}
