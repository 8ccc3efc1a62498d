//! How a row failed: the core client's errors mapped onto the results file's stable `error_kind` vocabulary.

use omni_dbt_core::Error;

use crate::record::ErrorKind;

/// A failure recorded for a row, whether it cost requests or was known without any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The stable kind.
    pub kind: ErrorKind,
    /// The human message.
    pub message: String,
    /// The HTTP status behind it, if any.
    pub http_status: Option<u16>,
    /// Requests spent learning it.
    pub attempts: u32,
}

impl Failure {
    /// The failure for `error` after `attempts` requests.
    pub(crate) fn from_error(error: &Error, attempts: u32) -> Self {
        Self {
            kind: error_kind(error, attempts),
            message: error_message(error, attempts),
            http_status: error.status(),
            attempts,
        }
    }
}

/// The kind recorded for a row that ended with `error` after `attempts` requests.
///
/// A retryable error that survived more than one attempt means the retry policy gave up:
/// that is `exhausted` (worth a later `--resume`). Otherwise the kind names the error's class.
pub(crate) fn error_kind(error: &Error, attempts: u32) -> ErrorKind {
    if error.is_retryable() && attempts > 1 {
        return ErrorKind::Exhausted;
    }
    match error {
        Error::RetryBudgetExhausted { .. } => ErrorKind::Exhausted,
        // The address is not Omni's API (a wrong base URL, a proxy's login page): nothing
        // reached Omni, as when the connection fails.
        Error::Redirect { .. } => ErrorKind::Network,
        Error::Invalid(_) | Error::Config(_) => ErrorKind::Validation,
        Error::RateLimited { .. } => ErrorKind::RateLimited,
        Error::Timeout(_) => ErrorKind::Timeout,
        Error::Transport { .. } => ErrorKind::Network,
        Error::Api { status, .. } => status_kind(*status),
        _ => ErrorKind::Server,
    }
}

/// The kind for an HTTP error status.
pub(crate) fn status_kind(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimited,
        400 | 409 | 422 => ErrorKind::Validation,
        _ => ErrorKind::Server,
    }
}

/// The human message recorded for a row that ended with `error`: the error itself, prefixed by
/// the attempt count when retries gave up. Core errors never carry tokens or secret values.
pub(crate) fn error_message(error: &Error, attempts: u32) -> String {
    match error_kind(error, attempts) {
        ErrorKind::Exhausted if matches!(error, Error::RetryBudgetExhausted { .. }) => format!(
            "{error} (after {attempts} attempts; raise --retry-budget, or rerun with --resume \
             once Omni recovers)"
        ),
        ErrorKind::Exhausted => format!("gave up after {attempts} attempts: {error}"),
        ErrorKind::Auth => format!("{error} (check the API token; the run was aborted)"),
        ErrorKind::Forbidden => {
            format!("{error} (the key needs Connection Admin, and the connection must have dbt)")
        }
        ErrorKind::NotFound => format!("{error} (no such connection; check connection_id)"),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::Api {
            status,
            message: "m".into(),
            body: String::new(),
        }
    }

    #[test]
    fn permanent_statuses_keep_their_class_whatever_the_attempts() {
        assert_eq!(error_kind(&api(401), 1), ErrorKind::Auth);
        assert_eq!(error_kind(&api(403), 3), ErrorKind::Forbidden);
        assert_eq!(error_kind(&api(404), 1), ErrorKind::NotFound);
        assert_eq!(error_kind(&api(422), 1), ErrorKind::Validation);
    }

    #[test]
    fn retryable_errors_after_retries_are_exhausted() {
        let limited = Error::RateLimited { retry_after: None };
        assert_eq!(error_kind(&limited, 1), ErrorKind::RateLimited);
        assert_eq!(error_kind(&limited, 4), ErrorKind::Exhausted);
        assert!(error_message(&limited, 4).starts_with("gave up after 4 attempts"));
    }

    #[test]
    fn a_spent_retry_budget_is_exhausted_even_after_one_attempt() {
        let spent = Error::RetryBudgetExhausted {
            source: Box::new(api(503)),
        };
        assert_eq!(error_kind(&spent, 1), ErrorKind::Exhausted);
        assert_eq!(error_kind(&spent, 3), ErrorKind::Exhausted);
        let message = error_message(&spent, 1);
        assert!(message.contains("--retry-budget"), "{message}");
        assert!(message.contains("HTTP 503"), "{message}");
    }

    #[test]
    fn a_refused_redirect_is_a_network_failure_with_its_advice() {
        let redirect = Error::Redirect {
            status: 301,
            location: Some("https://login.example.com/".into()),
            suggested_base_url: None,
            followed: false,
        };
        assert_eq!(error_kind(&redirect, 1), ErrorKind::Network);
        assert!(error_message(&redirect, 1).contains("check the base URL"));
    }

    #[test]
    fn retryable_errors_become_exhausted_after_retries() {
        use crate::execute::failure::error_kind;
        use crate::record::ErrorKind;
        use omni_dbt_core::Error;
        let unavailable = Error::Api {
            status: 503,
            message: "down".into(),
            body: String::new(),
        };
        assert_eq!(error_kind(&unavailable, 1), ErrorKind::Server);
        assert_eq!(error_kind(&unavailable, 6), ErrorKind::Exhausted);
    }
}
