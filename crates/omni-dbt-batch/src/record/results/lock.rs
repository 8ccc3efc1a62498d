//! The lock that makes one process the only writer of a results file: an advisory exclusive lock
//! on the sidecar `<results>.lock`, which names its holder for whoever is refused.
//!
//! Why a sidecar and not the results file itself: compaction replaces the results file (and the
//! journal) by renaming a new file over it, and a lock belongs to the file it was taken on, not to
//! the name. A lock on the results file would stay behind on the replaced file while a second
//! process opened and locked the new one. The sidecar is never renamed, so its lock holds from
//! the claim to the end of the run, compaction included.
//!
//! The OS releases the lock when the process ends, however it ends (`kill -9` included), so a
//! lock file left behind blocks nobody: its contents are read only when its lock is held. The
//! holder removes the file on release; on Unix a process that opened it just before then finds
//! its lock on a file no longer at that path, and starts over.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fs4::{FileExt, TryLockError};
use serde::{Deserialize, Serialize};

use super::ResultsError;

/// How often the lock is tried again when its file was removed between opening and locking.
const ATTEMPTS: usize = 8;
/// How often, and how far apart, a refused process reads who holds the lock.
const HOLDER_READS: usize = 10;
const HOLDER_READ_PAUSE: Duration = Duration::from_millis(20);

/// The lock file that goes with a results file: the results path plus `.lock`.
pub(crate) fn lock_path(results: &Path) -> PathBuf {
    let mut path = results.as_os_str().to_owned();
    path.push(".lock");
    PathBuf::from(path)
}

/// The process that holds a results file's lock, as it wrote itself into the lock file.
///
/// ```
/// use omni_dbt_batch::LockHolder;
/// let holder = LockHolder { pid: 4242, host: "build-7".into(), started: "2026-01-02T03:04:05Z".into() };
/// assert_eq!(holder.to_string(), "pid 4242 on host build-7, started 2026-01-02T03:04:05Z");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// Its process id.
    pub pid: u32,
    /// The host it runs on.
    pub host: String,
    /// When it took the lock, in RFC 3339 (UTC).
    pub started: String,
}

impl LockHolder {
    /// This process, now.
    fn this_process() -> Self {
        Self {
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            started: rfc3339_utc(SystemTime::now()),
        }
    }
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on host {}, started {}",
            self.pid, self.host, self.started
        )
    }
}

/// A held lock on a results file; released (and its file removed) when dropped.
#[derive(Debug)]
pub(crate) struct ResultsLock {
    path: PathBuf,
    file: File,
}

impl ResultsLock {
    /// Locks the results file at `results` for this process, or fails with
    /// [`ResultsError::Locked`] naming the process that holds it. Never waits.
    pub(crate) fn acquire(results: &Path) -> Result<Self, ResultsError> {
        let path = lock_path(results);
        for _ in 0..ATTEMPTS {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| ResultsError::io("open the lock file", &path, e))?;
            match FileExt::try_lock(&file) {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(ResultsError::Locked {
                        path: results.to_path_buf(),
                        holder: read_holder(&file),
                    })
                }
                Err(TryLockError::Error(e)) => return Err(ResultsError::io("lock", &path, e)),
            }
            if !still_at(&file, &path)? {
                continue; // its holder removed it as we opened it: lock the one at the path now
            }
            write_holder(&file, &LockHolder::this_process())
                .map_err(|e| ResultsError::io("write the lock file", &path, e))?;
            return Ok(Self { path, file });
        }
        Err(ResultsError::io(
            "lock",
            &path,
            io::Error::other("the lock file was replaced on every attempt"),
        ))
    }
}

impl Drop for ResultsLock {
    fn drop(&mut self) {
        // Removed while still locked, so that a process that opened it meanwhile finds its lock
        // on a file no longer at the path, and starts over. Elsewhere the file stays, unlocked.
        if cfg!(unix) && still_at(&self.file, &self.path).unwrap_or(false) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Who holds the lock, as the lock file says. A holder writes itself in right after locking,
/// so an empty file is read again a few times before giving up on naming it.
fn read_holder(file: &File) -> Option<LockHolder> {
    for _ in 0..HOLDER_READS {
        if let Some(holder) = read_holder_once(file) {
            return Some(holder);
        }
        std::thread::sleep(HOLDER_READ_PAUSE);
    }
    None
}

fn read_holder_once(mut file: &File) -> Option<LockHolder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn write_holder(mut file: &File, holder: &LockHolder) -> io::Result<()> {
    let mut line = serde_json::to_vec(holder).map_err(io::Error::other)?;
    line.push(b'\n');
    file.set_len(0)?;
    file.write_all(&line)?;
    file.flush()
}

/// Whether `path` still names the file `file` is open on (Unix: same device and inode).
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> Result<bool, ResultsError> {
    use std::os::unix::fs::MetadataExt;
    let held = file
        .metadata()
        .map_err(|e| ResultsError::io("read", path, e))?;
    match std::fs::metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ResultsError::io("read", path, e)),
    }
}

/// Elsewhere the lock file is never removed, so the path always names the file locked.
#[cfg(not(unix))]
fn still_at(_file: &File, _path: &Path) -> Result<bool, ResultsError> {
    Ok(true)
}

/// `time` as RFC 3339 in UTC, to the second (`2026-01-02T03:04:05Z`).
fn rfc3339_utc(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_results_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("r.csv");
        let held = ResultsLock::acquire(&results).unwrap();
        let refused = ResultsLock::acquire(&results).unwrap_err();
        let ResultsError::Locked { path, holder } = &refused else {
            panic!("{refused:?}");
        };
        assert_eq!(path, &results);
        assert_eq!(holder.as_ref().map(|h| h.pid), Some(std::process::id()));
        let message = refused.to_string();
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        drop(held);
        assert!(
            !lock_path(&results).exists(),
            "released locks leave no file"
        );
        drop(ResultsLock::acquire(&results).unwrap());
    }

    #[test]
    fn a_lock_file_left_unlocked_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("r.csv");
        std::fs::write(
            lock_path(&results),
            "{\"pid\":1,\"host\":\"gone\",\"started\":\"x\"}\n",
        )
        .unwrap();
        let lock = ResultsLock::acquire(&results).unwrap();
        let written = std::fs::read_to_string(lock_path(&results)).unwrap();
        assert!(
            written.contains(&format!("\"pid\":{}", std::process::id())),
            "{written}"
        );
        drop(lock);
    }

    #[test]
    fn times_are_written_in_rfc3339_utc() {
        let at = |secs| rfc3339_utc(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
