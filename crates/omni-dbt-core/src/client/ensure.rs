//! `ensure_environment`: create unless it exists, and never create twice after an ambiguous POST.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::{decode, Client};
use crate::error::{Error, Result};
use crate::model::{ConnectionId, Environment, NewEnvironment};
use crate::retry;

/// Whether [`Client::ensure_environment`] looks for an existing environment before creating.
///
/// Non-exhaustive: other ways of knowing (such as a listing shared by several calls) may come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExistenceCheck {
    /// List the connection first; an environment of the same name is adopted, not re-created.
    LookFirst,
    /// Create straight away: the caller already knows the name is free (it listed the connection).
    AssumeAbsent,
}

/// How [`Client::ensure_environment`] came by its environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnsureOutcome {
    /// This call created it.
    Created,
    /// It existed before the call (found by [`ExistenceCheck::LookFirst`]).
    Existed,
    /// A create whose outcome was ambiguous (timeout, broken connection, 5xx, a success whose
    /// body could not be read) had in fact been applied: the environment was found by name
    /// afterwards and adopted.
    Recovered,
}

/// The environment [`Client::ensure_environment`] ensured, and how.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Ensured {
    /// The environment as Omni returned it.
    pub environment: Environment,
    /// Whether it was created, found, or recovered after an ambiguous create.
    pub outcome: EnsureOutcome,
}

impl Ensured {
    fn new(environment: Environment, outcome: EnsureOutcome) -> Self {
        Self {
            environment,
            outcome,
        }
    }
}

impl Client {
    /// Creates the environment unless it exists, without ever creating it twice.
    ///
    /// With [`ExistenceCheck::LookFirst`] the connection is searched first and an environment
    /// whose name is exactly the same (no trimming, case sensitive) is returned as
    /// [`EnsureOutcome::Existed`]. The create is then sent; when its outcome is ambiguous
    /// (timeout, broken connection, 5xx) the client waits the backoff delay and searches by
    /// name: found means the create was applied ([`EnsureOutcome::Recovered`]); not found means
    /// it is sent again. Attempts count against the one retry policy.
    ///
    /// A success whose body cannot be read (not JSON, no `id`, over the size cap) means the
    /// create was applied: it is looked up at once, without waiting, and adopted as
    /// [`EnsureOutcome::Recovered`]; if the lookup does not find it, that error is returned
    /// (it is [ambiguous](Error::is_ambiguous)) and nothing is sent again.
    pub async fn ensure_environment(
        &self,
        connection: &ConnectionId,
        environment: &NewEnvironment,
        check: ExistenceCheck,
    ) -> Result<Ensured> {
        environment.validate().map_err(Error::Invalid)?;
        if check == ExistenceCheck::LookFirst {
            if let Some(found) = self.find_environment(connection, &environment.name).await? {
                return Ok(Ensured::new(found, EnsureOutcome::Existed));
            }
        }
        let request = self.create_request(connection, environment)?;
        let maybe_applied = AtomicBool::new(false);
        let lookup_failed = AtomicBool::new(false);
        let attempt = AtomicU32::new(0);
        let lookup = || async {
            let found = self.find_environment(connection, &environment.name).await;
            if found.is_err() {
                // The lookup had its own retries; do not multiply them.
                lookup_failed.store(true, Ordering::SeqCst);
            }
            found
        };
        let step = || async {
            if maybe_applied.load(Ordering::SeqCst) {
                if let Some(found) = lookup().await? {
                    return Ok(Ensured::new(found, EnsureOutcome::Recovered));
                }
            }
            let number = attempt.fetch_add(1, Ordering::SeqCst) + 1;
            let error = match self
                .attempt(&request, number)
                .await
                .and_then(|b| decode(&b))
            {
                Ok(created) => return Ok(Ensured::new(created, EnsureOutcome::Created)),
                Err(error) => error,
            };
            if error.is_unusable_answer() {
                return match lookup().await? {
                    Some(found) => Ok(Ensured::new(found, EnsureOutcome::Recovered)),
                    None => Err(error),
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
