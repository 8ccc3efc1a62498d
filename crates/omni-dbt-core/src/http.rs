//! One authenticated HTTP exchange with Omni: the reqwest client, the `Authorization` header,
//! and a single attempt from request to classified response, its body read against a cap.

use std::time::Duration;

use reqwest::header::{
    HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER, USER_AGENT,
};
use reqwest::{redirect, Method, Response};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::error::{ConfigError, Error, Result};
use crate::response::{classify, redirect_error, transport_error, Answer, Redactor};

/// The most of an error body read: enough for any message, and an enormous error page (a proxy's
/// 2 GiB 502) still ends as its status.
const ERROR_BODY_CAP: usize = 64 * 1024;

/// How much of a success body any read may hold at once with others. Real answers stay below
/// it (a page of 100 environments is some tens of KiB), so they never wait for
/// [`LARGE_BODY_TURN`]; with 64 requests in flight the reads share at most 16 MiB.
const SHARED_BODY_BYTES: usize = 256 * 1024;

/// The turn to hold a success body past [`SHARED_BODY_BYTES`]: one read at a time in the whole
/// process. The caps bound each read, not their sum: with every request in flight answered by
/// an endless page, each would buffer up to its cap at once before failing (8 list pages of
/// 32 MiB at the default concurrency, 2 GiB at 64). A read never waits for anything else while
/// it holds the turn, and its own timeout ends it, so the others wait at most that long.
static LARGE_BODY_TURN: Semaphore = Semaphore::const_new(1);

/// A request ready to send (and re-send): everything but the credentials.
pub(crate) struct ApiRequest {
    /// The HTTP method.
    pub method: Method,
    /// The full URL, without query.
    pub url: String,
    /// The path with placeholders, for logs: `/api/v1/connections/{connectionId}/...`.
    pub template: &'static str,
    /// Query parameters.
    pub query: Vec<(&'static str, String)>,
    /// The JSON body, if any. It may hold secret values: never log it.
    pub body: Option<Vec<u8>>,
    /// Values to keep out of any error this request produces.
    pub redactor: Redactor,
    /// The largest success body accepted, and what it is, for the error that names it.
    pub body_cap: BodyCap,
}

/// The most a success body may hold, by what it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyCap {
    /// `"a list page"`, `"an environment"`.
    pub what: &'static str,
    /// The limit, in bytes.
    pub limit: usize,
}

/// What came back from one attempt that reached the server.
pub(crate) struct Exchange {
    /// The response status.
    pub status: u16,
    /// The body on success, or the error the response means.
    pub outcome: Result<Vec<u8>>,
}

/// The reqwest client (built here or supplied), and the one copy of the `Authorization` header.
pub(crate) struct HttpSender {
    http: reqwest::Client,
    authorization: HeaderValue,
    user_agent: HeaderValue,
    timeout: Duration,
}

/// Settings the sender is built from.
pub(crate) struct SenderConfig<'a> {
    pub token: &'a SecretString,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub user_agent: &'a str,
    pub use_proxy: bool,
    /// A client the caller built (proxies, TLS roots); `None` to build one here.
    pub supplied: Option<reqwest::Client>,
}

impl HttpSender {
    /// Builds the reqwest client, unless one was supplied: no redirects (they would carry the
    /// token elsewhere), the configured timeouts. The timeout and headers are set again on
    /// every request, so they hold for a supplied client too.
    pub(crate) fn new(config: SenderConfig<'_>) -> Result<Self> {
        let http = match config.supplied {
            Some(http) => http,
            None => {
                let mut builder = reqwest::Client::builder()
                    .redirect(redirect::Policy::none())
                    .timeout(config.timeout)
                    .connect_timeout(config.connect_timeout);
                if !config.use_proxy {
                    builder = builder.no_proxy();
                }
                builder.build().map_err(|e| {
                    let e = e.without_url();
                    ConfigError::caused_by(format!("cannot build the HTTP client: {e}"), e)
                })?
            }
        };
        let user_agent = HeaderValue::from_str(config.user_agent).map_err(|e| {
            ConfigError::caused_by(
                format!(
                    "the user agent {:?} is not a valid header value",
                    config.user_agent
                ),
                e,
            )
        })?;
        Ok(Self {
            http,
            authorization: authorization(config.token)?,
            user_agent,
            timeout: config.timeout,
        })
    }

    /// The whole-request timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` once. `Err` is a failure with no response (timeout, network); an
    /// [`Exchange`] carries the status and what it means.
    pub(crate) async fn send(&self, request: &ApiRequest) -> Result<Exchange> {
        let mut builder = self
            .http
            .request(request.method.clone(), &request.url)
            .timeout(self.timeout)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(USER_AGENT, self.user_agent.clone())
            .header(ACCEPT, "application/json");
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let built = builder
            .build()
            .map_err(|e| transport_error(e, self.timeout))?;
        let sent_to = built.url().clone();
        let mut response = self
            .http
            .execute(built)
            .await
            .map_err(|e| transport_error(e, self.timeout))?;
        let status = response.status().as_u16();
        if response.url() != &sent_to {
            // A supplied client followed a redirect: too late to refuse it, but its answer is
            // not the API's.
            let error = redirect_error(
                status,
                Some(response.url().as_str()),
                sent_to.as_str(),
                &request.redactor,
                true,
            );
            return Ok(Exchange {
                status,
                outcome: Err(error),
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let (retry_after, location) = (header(RETRY_AFTER), header(LOCATION));
        let body = match status {
            200..=299 => match self.read_success(&mut response, request.body_cap).await? {
                Ok(body) => body,
                Err(too_large) => {
                    return Ok(Exchange {
                        status,
                        outcome: Err(too_large),
                    })
                }
            },
            // A redirect's body is never needed.
            300..=399 => Vec::new(),
            _ => read_prefix(&mut response, ERROR_BODY_CAP).await,
        };
        let answer = Answer {
            status,
            retry_after: retry_after.as_deref(),
            location: location.as_deref(),
            body: &body,
        };
        Ok(Exchange {
            status,
            outcome: classify(&answer, request.url.as_str(), &request.redactor),
        })
    }

    /// The whole body of a success, or [`Error::ResponseTooLarge`] as soon as it is known to be
    /// over `cap` (from `Content-Length`, or once that much has arrived): an endless body is
    /// never buffered. A broken stream is a transport error, as a lost response is.
    async fn read_success(&self, response: &mut Response, cap: BodyCap) -> Result<Result<Vec<u8>>> {
        let too_large = || Error::ResponseTooLarge {
            what: cap.what,
            limit: u64::try_from(cap.limit).unwrap_or(u64::MAX),
        };
        let announced = response.content_length().unwrap_or(0);
        if usize::try_from(announced).map_or(true, |n| n > cap.limit) {
            return Ok(Err(too_large()));
        }
        let reserved = usize::try_from(announced).map_or(0, |n| n.min(SHARED_BODY_BYTES));
        let mut body = Vec::with_capacity(reserved);
        let mut large_body_turn = None;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(e, self.timeout))?
        {
            if chunk.len() > cap.limit - body.len() {
                return Ok(Err(too_large()));
            }
            if large_body_turn.is_none() && body.len() + chunk.len() > SHARED_BODY_BYTES {
                // The semaphore is a static never closed, so acquiring cannot fail.
                large_body_turn = Some(LARGE_BODY_TURN.acquire().await);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Ok(body))
    }
}

/// At most `cap` bytes of the body; whatever arrived if the stream breaks, since the status
/// already says what happened.
async fn read_prefix(response: &mut Response, cap: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = cap - body.len();
        if chunk.len() >= room {
            body.extend_from_slice(&chunk[..room]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    body
}

/// `Bearer <token>`, marked sensitive so that no `Debug` of a request shows it. The only place
/// the token is exposed for the wire.
fn authorization(token: &SecretString) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret().trim()))
        // The header error's text is generic, but it is left out: it is about the token.
        .map_err(|_| {
            Error::config("the API token contains characters not allowed in an HTTP header")
        })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_is_sensitive_and_bearer() {
        let value = authorization(&SecretString::from("abc123")).unwrap();
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().unwrap(), "Bearer abc123");
        assert!(!format!("{value:?}").contains("abc123"));
    }

    #[test]
    fn a_token_with_a_newline_is_a_config_error_without_the_token() {
        let err = authorization(&SecretString::from("abc\n123")).unwrap_err();
        assert!(matches!(err, Error::Config(_)));
        assert!(!err.to_string().contains("abc"));
    }
}
