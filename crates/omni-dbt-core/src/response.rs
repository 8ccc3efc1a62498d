//! Mapping what came back (a status and body, or a transport failure) to a result or an [`Error`].

use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{ConfigError, Error, MAX_ERROR_BODY};

/// Text that must never appear in an error: the API token and the request's secret values.
///
/// A server that echoes a request (a proxy, a debugging endpoint, a validation message quoting
/// a value) would otherwise put them into error messages and logs.
#[derive(Default)]
pub(crate) struct Redactor {
    secrets: Vec<SecretString>,
}

impl Redactor {
    /// Adds one value to hide; empty values are ignored.
    pub(crate) fn hide(&mut self, secret: &str) {
        if !secret.is_empty() {
            self.secrets.push(SecretString::from(secret));
        }
    }

    /// `text` with every hidden value replaced by `[REDACTED]`.
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            let secret = secret.expose_secret();
            if text.contains(secret) {
                text = text.replace(secret, "[REDACTED]");
            }
        }
        text
    }
}

/// What came back from one request, as far as it was read.
pub(crate) struct Answer<'a> {
    /// The response status.
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<&'a str>,
    /// The `Location` header, if any.
    pub location: Option<&'a str>,
    /// The body, or as much of it as the client reads for this status.
    pub body: &'a [u8],
}

/// The outcome of a response to a request sent to `url`: its body when the status is a
/// success, else the error it means.
pub(crate) fn classify(
    answer: &Answer<'_>,
    url: &str,
    redactor: &Redactor,
) -> Result<Vec<u8>, Error> {
    match answer.status {
        200..=299 => Ok(answer.body.to_vec()),
        300..=399 => Err(redirect_error(
            answer.status,
            answer.location,
            url,
            redactor,
            false,
        )),
        429 => Err(Error::RateLimited {
            retry_after: answer
                .retry_after
                .and_then(|value| parse_retry_after(value, SystemTime::now())),
        }),
        status => {
            let text = redactor.apply(&String::from_utf8_lossy(answer.body));
            let message = message_from_body(&text)
                .map(|m| truncate(&m, MAX_ERROR_BODY).to_owned())
                .unwrap_or_else(|| status_reason(status));
            Err(Error::Api {
                status,
                message,
                body: truncate(&text, MAX_ERROR_BODY).to_owned(),
            })
        }
    }
}

/// Longest `Location` kept in an error, in bytes.
const MAX_LOCATION: usize = 300;

/// The error for a redirect from `url` to `location` (relative or absolute), which the client
/// refused (`followed: false`) or which an HTTP client it was given followed.
pub(crate) fn redirect_error(
    status: u16,
    location: Option<&str>,
    url: &str,
    redactor: &Redactor,
    followed: bool,
) -> Error {
    let target = location.and_then(|l| Url::parse(url).ok()?.join(l.trim()).ok());
    let suggested_base_url = target
        .as_ref()
        .and_then(api_base_of)
        .map(|b| redactor.apply(&b));
    let location = target
        .map(String::from)
        .or_else(|| location.map(str::to_owned))
        .map(|l| truncate(&redactor.apply(&l), MAX_LOCATION).to_owned());
    Error::Redirect {
        status,
        location,
        suggested_base_url,
        followed,
    }
}

/// The base URL of an address that is one of the API's own (`<base>/api/v1/connections/...`).
fn api_base_of(url: &Url) -> Option<String> {
    let path = url.path();
    let prefix = &path[..path.find("/api/v1/connections/")?];
    Some(format!("{}{prefix}", url.origin().ascii_serialization()))
}

/// A `Retry-After` value as a delay from `now`: delta-seconds or an HTTP date (a past date is 0).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Omni's error message: the JSON body's `detail`, then `message`, then `error`.
fn message_from_body(text: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    ["detail", "message", "error"]
        .iter()
        .find_map(|key| match json.get(key)? {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            serde_json::Value::Null | serde_json::Value::String(_) => None,
            other => Some(other.to_string()),
        })
}

fn status_reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map_or_else(|| format!("HTTP status {status}"), str::to_owned)
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The [`Error`] a reqwest failure means. The URL is stripped; headers never appear in reqwest
/// errors, so the token cannot leak through here.
pub(crate) fn transport_error(error: reqwest::Error, timeout: Duration) -> Error {
    let error = error.without_url();
    // A failed connect never sent the request, even when it failed by timing out.
    if error.is_connect() {
        return Error::Transport {
            message: error_chain(&error),
            maybe_sent: false,
            source: Box::new(error),
        };
    }
    if error.is_timeout() {
        return Error::Timeout(timeout);
    }
    if error.is_builder() {
        return Error::Config(ConfigError::caused_by(error_chain(&error), error));
    }
    Error::Transport {
        message: error_chain(&error),
        maybe_sent: true,
        source: Box::new(error),
    }
}

/// `error: cause: cause...`, each level once.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://acme.omniapp.co/api/v1/connections/c/dbt/environments";

    fn answer(status: u16, body: &str) -> Answer<'_> {
        Answer {
            status,
            retry_after: None,
            location: None,
            body: body.as_bytes(),
        }
    }

    fn api_error(status: u16, body: &str) -> Error {
        match classify(&answer(status, body), URL, &Redactor::default()) {
            Err(error) => error,
            Ok(_) => panic!("{status} is not an error"),
        }
    }

    #[test]
    fn message_prefers_detail_then_message_then_error() {
        let cases = [
            (
                r#"{"detail":"bad name","message":"m","error":"e"}"#,
                "bad name",
            ),
            (r#"{"message":"m","error":"e"}"#, "m"),
            (r#"{"error":"e"}"#, "e"),
            (r#"{"detail":["x"]}"#, r#"["x"]"#),
            (r#"{"other":1}"#, "Bad Request"),
            ("<html>oops</html>", "Bad Request"),
            ("", "Bad Request"),
        ];
        for (body, expected) in cases {
            match api_error(400, body) {
                Error::Api {
                    message, status, ..
                } => {
                    assert_eq!((status, message.as_str()), (400, expected), "{body}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn body_is_truncated_on_a_char_boundary() {
        let body = "é".repeat(MAX_ERROR_BODY);
        match api_error(500, &body) {
            Error::Api { body, .. } => {
                assert!(body.len() <= MAX_ERROR_BODY && body.len() >= MAX_ERROR_BODY - 1);
                assert!(body.chars().all(|c| c == 'é'));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("aé", 2), "a");
    }

    #[test]
    fn unknown_status_gets_a_generic_reason() {
        assert!(
            matches!(api_error(599, ""), Error::Api { message, .. } if message.contains("599"))
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn status_429_is_rate_limited_with_its_delay() {
        let limited = Answer {
            retry_after: Some("3"),
            ..answer(429, "")
        };
        let result = classify(&limited, URL, &Redactor::default());
        assert!(matches!(
            result,
            Err(Error::RateLimited { retry_after: Some(d) }) if d == Duration::from_secs(3)
        ));
    }

    #[test]
    fn echoed_secrets_are_redacted() {
        let mut redactor = Redactor::default();
        redactor.hide("tok-123");
        redactor.hide("");
        let body = r#"{"detail":"bad header Bearer tok-123"}"#;
        match classify(&answer(401, body), URL, &redactor) {
            Err(Error::Api { message, body, .. }) => {
                assert_eq!(message, "bad header Bearer [REDACTED]");
                assert!(!body.contains("tok-123"));
            }
            other => panic!("{other:?}"),
        }
    }

    fn redirect(location: &str, redactor: &Redactor) -> Error {
        let answer = Answer {
            location: Some(location),
            ..answer(307, "<html>moved</html>")
        };
        classify(&answer, URL, redactor).unwrap_err()
    }

    #[test]
    fn a_redirect_within_the_api_suggests_the_base_it_points_at() {
        let error = redirect(
            "https://new.omniapp.co/api/v1/connections/c/dbt/environments?pageSize=100",
            &Redactor::default(),
        );
        match error {
            Error::Redirect {
                status: 307,
                location: Some(location),
                suggested_base_url: Some(base),
                followed: false,
            } => {
                assert!(
                    location.starts_with("https://new.omniapp.co/api/v1/"),
                    "{location}"
                );
                assert_eq!(base, "https://new.omniapp.co");
            }
            other => panic!("{other:?}"),
        }
        // A relative Location is resolved against the request's address.
        let relative = redirect(
            "/omni/api/v1/connections/c/dbt/environments",
            &Redactor::default(),
        );
        assert!(matches!(
            relative,
            Error::Redirect { suggested_base_url: Some(ref b), .. } if b == "https://acme.omniapp.co/omni"
        ));
    }

    #[test]
    fn a_redirect_elsewhere_suggests_no_base_and_hides_the_token() {
        let mut redactor = Redactor::default();
        redactor.hide("tok-in-location");
        let error = redirect(
            "https://sso.example.com/login?token=tok-in-location",
            &redactor,
        );
        match &error {
            Error::Redirect {
                location: Some(location),
                suggested_base_url: None,
                ..
            } => assert_eq!(location, "https://sso.example.com/login?token=[REDACTED]"),
            other => panic!("{other:?}"),
        }
        let text = format!("{error} {error:?}");
        assert!(
            !text.contains("tok-in-location") && text.contains("check the base URL"),
            "{text}"
        );
        let long = redirect(
            &format!("https://x.example.com/{}", "a".repeat(5000)),
            &redactor,
        );
        assert!(
            matches!(long, Error::Redirect { location: Some(l), .. } if l.len() <= MAX_LOCATION)
        );
    }
}
