//! Cooperative stopping of a run: why it stops (interrupt, auth failure, failure threshold) and who waits.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Why a run stopped starting new rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// SIGINT/SIGTERM or the embedding program asked to stop.
    Interrupted,
    /// Omni answered 401: the token is wrong or revoked, so every further request would fail too.
    AuthFailed,
    /// `--max-failures` was exceeded.
    TooManyFailures,
}

impl StopReason {
    fn code(self) -> u8 {
        match self {
            StopReason::Interrupted => 1,
            StopReason::AuthFailed => 2,
            StopReason::TooManyFailures => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(StopReason::Interrupted),
            2 => Some(StopReason::AuthFailed),
            3 => Some(StopReason::TooManyFailures),
            _ => None,
        }
    }
}

/// A shared flag that tells every worker to stop starting rows. Cheap to clone; the first
/// reason given wins.
///
/// ```
/// use omni_dbt_batch::{StopHandle, StopReason};
/// let stop = StopHandle::new();
/// assert_eq!(stop.reason(), None);
/// stop.stop(StopReason::AuthFailed);
/// stop.stop(StopReason::Interrupted);
/// assert_eq!(stop.reason(), Some(StopReason::AuthFailed));
/// ```
#[derive(Clone, Debug, Default)]
pub struct StopHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    reason: AtomicU8,
    notify: Notify,
}

impl StopHandle {
    /// A handle that has not stopped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop for `reason`; later reasons are ignored.
    pub fn stop(&self, reason: StopReason) {
        let first = self
            .inner
            .reason
            .compare_exchange(0, reason.code(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if first {
            self.inner.notify.notify_waiters();
        }
    }

    /// Why the run is stopping, if it is.
    pub fn reason(&self) -> Option<StopReason> {
        StopReason::from_code(self.inner.reason.load(Ordering::SeqCst))
    }

    /// Waits until the run is asked to stop.
    pub async fn stopped(&self) -> StopReason {
        loop {
            let notified = self.inner.notify.notified();
            if let Some(reason) = self.reason() {
                return reason;
            }
            notified.await;
        }
    }
}
