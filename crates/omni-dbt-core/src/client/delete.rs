//! `ensure_deleted`: delete an environment, and know whether this call deleted it even when the
//! answer is lost.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use reqwest::Method;

use super::{Client, ITEM_TEMPLATE};
use crate::error::{Error, Result};
use crate::model::{ConnectionId, EnvironmentId};
use crate::retry;

/// How [`Client::ensure_deleted`] found the environment gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteOutcome {
    /// This call deleted it: Omni answered the delete with success.
    Deleted,
    /// A delete whose answer was lost (timeout, broken connection, 5xx) had in fact been
    /// applied: a listing afterwards no longer showed the environment. Counted as deleted by
    /// this call.
    Recovered,
    /// It was gone before any delete of this call could have applied: the first delete was
    /// answered 404, and a listing of the connection confirmed the environment absent.
    AlreadyAbsent,
}

impl DeleteOutcome {
    /// Whether this call deleted it ([`Deleted`](Self::Deleted) or
    /// [`Recovered`](Self::Recovered)), as opposed to finding it already gone.
    pub fn deleted_by_this_call(self) -> bool {
        matches!(self, Self::Deleted | Self::Recovered)
    }
}

impl Client {
    /// Deletes the environment `id` of `connection`, and says whether this call deleted it.
    ///
    /// - A success answer is [`DeleteOutcome::Deleted`], whatever its body holds (the status
    ///   is what Omni's API promises; the body only confirms it).
    /// - A 404 before any delete of this call could have applied is confirmed by listing the
    ///   connection, because a 404 also answers an unknown connection or a wrong base URL:
    ///   absent from the listing is [`DeleteOutcome::AlreadyAbsent`]; a failing listing is
    ///   returned as the error (for example the connection's own 404).
    /// - An ambiguous error (timeout, broken connection, 5xx) is reconciled like an ambiguous
    ///   create: after the backoff delay the connection is listed; absent means the lost
    ///   delete was applied ([`DeleteOutcome::Recovered`]); present means the delete is sent
    ///   again, under the one retry policy. A 404 after such a lost delete is
    ///   [`DeleteOutcome::Recovered`] too.
    /// - 429s and refused connections are retried directly; other errors are returned.
    ///
    /// ```no_run
    /// # async fn demo(client: omni_dbt_core::Client, connection: omni_dbt_core::ConnectionId,
    /// #     id: omni_dbt_core::EnvironmentId) -> omni_dbt_core::Result<()> {
    /// let outcome = client.ensure_deleted(&connection, &id).await?;
    /// if outcome.deleted_by_this_call() {
    ///     println!("deleted {id}");
    /// } else {
    ///     println!("{id} was already gone");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ensure_deleted(
        &self,
        connection: &ConnectionId,
        id: &EnvironmentId,
    ) -> Result<DeleteOutcome> {
        let request = self.request(Method::DELETE, self.item_url(connection, id), ITEM_TEMPLATE);
        let maybe_applied = AtomicBool::new(false);
        let lookup_failed = AtomicBool::new(false);
        let attempt = AtomicU32::new(0);
        let listed = || async {
            let found = self.find_environment_by_id(connection, id).await;
            if found.is_err() {
                // The lookup had its own retries; do not multiply them.
                lookup_failed.store(true, Ordering::SeqCst);
            }
            found.map(|environment| environment.is_some())
        };
        let step = || async {
            if maybe_applied.load(Ordering::SeqCst) && !listed().await? {
                return Ok(DeleteOutcome::Recovered);
            }
            let number = attempt.fetch_add(1, Ordering::SeqCst) + 1;
            let error = match self.attempt(&request, number).await {
                Ok(_) | Err(Error::ResponseTooLarge { .. }) => return Ok(DeleteOutcome::Deleted),
                Err(error) => error,
            };
            if error.status() == Some(404) {
                if maybe_applied.load(Ordering::SeqCst) {
                    return Ok(DeleteOutcome::Recovered);
                }
                return match listed().await? {
                    false => Ok(DeleteOutcome::AlreadyAbsent),
                    true => Err(error),
                };
            }
            if error.is_ambiguous() {
                maybe_applied.store(true, Ordering::SeqCst);
            }
            Err(error)
        };
        retry::run(
            &self.shared.policy,
            &self.shared.budget,
            |e| e.is_retryable() && !lookup_failed.load(Ordering::SeqCst),
            |e, d| self.on_retry(e, d),
            step,
        )
        .await
    }
}
