//! One authenticated HTTP exchange with Omni: the reqwest client, the `Authorization` header,
//! and a single attempt from request to classified response.

use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{redirect, Method};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::response::{classify, transport_error, Redactor};

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
}

/// What came back from one attempt that reached the server.
pub(crate) struct Exchange {
    /// The response status.
    pub status: u16,
    /// The body on success, or the error the response means.
    pub outcome: Result<Vec<u8>>,
}

/// The configured reqwest client and the one copy of the `Authorization` header.
pub(crate) struct HttpSender {
    http: reqwest::Client,
    authorization: HeaderValue,
    timeout: Duration,
}

/// Settings the sender is built from.
pub(crate) struct SenderConfig<'a> {
    pub token: &'a SecretString,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub user_agent: &'a str,
    pub use_proxy: bool,
}

impl HttpSender {
    /// Builds the reqwest client: no redirects (they would carry the token elsewhere), the
    /// configured timeouts and user agent.
    pub(crate) fn new(config: &SenderConfig<'_>) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent);
        if !config.use_proxy {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| {
            Error::Config(format!("cannot build the HTTP client: {}", e.without_url()))
        })?;
        Ok(Self {
            http,
            authorization: authorization(config.token)?,
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
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json");
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| transport_error(e, self.timeout))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(e, self.timeout))?;
        Ok(Exchange {
            status,
            outcome: classify(status, retry_after.as_deref(), &body, &request.redactor),
        })
    }
}

/// `Bearer <token>`, marked sensitive so that no `Debug` of a request shows it. The only place
/// the token is exposed for the wire.
fn authorization(token: &SecretString) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret().trim()))
        .map_err(|_| {
            Error::Config(
                "the API token contains characters not allowed in an HTTP header".to_owned(),
            )
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
