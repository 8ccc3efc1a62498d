//! Whether Omni was reached at all: when every connection of a run answers 404 and nothing else
//! answered, the base URL is more likely wrong than every connection id.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::record::{ErrorKind, RowRecord};

/// What the rows of a run learnt about the server, from their records.
#[derive(Debug, Default)]
pub(crate) struct Reach {
    not_found: AtomicBool,
    answered: AtomicBool,
}

impl Reach {
    /// Takes in one row's record: a 404 (`not_found`), or a sign that the server knows the API
    /// (a success, or any other HTTP status).
    pub(crate) fn observe(&self, record: &RowRecord) {
        if record.error_kind == Some(ErrorKind::NotFound) {
            self.not_found.store(true, Ordering::Relaxed);
        } else if record.status.is_success() || record.http_status.is_some_and(|s| s != 404) {
            self.answered.store(true, Ordering::Relaxed);
        }
    }

    /// The warning for a run in which every connection answered 404 and nothing else answered,
    /// naming the base URL the requests went to.
    pub(crate) fn warning(&self, base_url: &str) -> Option<String> {
        let all_not_found =
            self.not_found.load(Ordering::Relaxed) && !self.answered.load(Ordering::Relaxed);
        all_not_found.then(|| {
            format!(
                "every connection answered 404 Not Found: the base URL may be wrong (requests \
                 went to {base_url}/api/v1/connections/...). Give --base-url your Omni \
                 instance's address, such as https://acme.omniapp.co, or check the connection ids"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;

    fn record(status: Status, kind: Option<ErrorKind>, http_status: Option<u16>) -> RowRecord {
        RowRecord {
            row: 1,
            line: 2,
            connection_id: "c".into(),
            name: "n".into(),
            status,
            environment_id: None,
            attempts: 1,
            http_status,
            error_kind: kind,
            error: None,
            fingerprint: "f".into(),
        }
    }

    #[test]
    fn only_404s_suggest_a_wrong_base_url() {
        let reach = Reach::default();
        assert_eq!(reach.warning("https://x"), None, "nothing learnt");
        reach.observe(&record(
            Status::Failed,
            Some(ErrorKind::NotFound),
            Some(404),
        ));
        reach.observe(&record(Status::Skipped, Some(ErrorKind::Interrupted), None));
        let warning = reach.warning("https://x/omni").unwrap();
        assert!(warning.contains("https://x/omni/api/v1"), "{warning}");
    }

    #[test]
    fn any_other_answer_shows_the_base_url_is_right() {
        for other in [
            record(Status::Created, None, Some(201)),
            record(Status::Exists, None, None),
            record(Status::Failed, Some(ErrorKind::Server), Some(503)),
        ] {
            let reach = Reach::default();
            reach.observe(&record(
                Status::Failed,
                Some(ErrorKind::NotFound),
                Some(404),
            ));
            reach.observe(&other);
            assert_eq!(reach.warning("https://x"), None, "{other:?}");
        }
    }
}
