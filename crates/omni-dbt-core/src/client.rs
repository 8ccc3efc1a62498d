//! The Omni dbt-environment client: its builder, its shared state, and one request's journey
//! (limiter, send, retry, decode).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;

use crate::base_url::BaseUrl;
use crate::budget::RetryBudget;
use crate::error::{Error, Result};
use crate::http::{ApiRequest, BodyCap, HttpSender, SenderConfig};
use crate::model::{
    ConnectionId, DeleteResponse, Environment, EnvironmentId, EnvironmentUpdate, NewEnvironment,
};
use crate::pacing::KeyLimiter;
use crate::rate::RateLimit;
use crate::response::Redactor;
use crate::retry::{self, RetryPolicy};
use crate::tally::{Counters, Tally};
use crate::validate::{FieldError, ValidationErrors};

mod delete;
mod ensure;
mod pages;

pub use self::delete::DeleteOutcome;
pub use self::ensure::{EnsureOutcome, Ensured, ExistenceCheck};
pub use self::pages::{ListOrder, Pages};

/// Path of the environment collection, as logged.
const COLLECTION_TEMPLATE: &str = "/api/v1/connections/{connectionId}/dbt/environments";
/// Path of one environment, as logged.
const ITEM_TEMPLATE: &str = "/api/v1/connections/{connectionId}/dbt/environments/{environmentId}";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_USER_AGENT: &str = concat!("omni-dbt/", env!("CARGO_PKG_VERSION"));
const DEFAULT_MAX_PAGE_BYTES: usize = 32 * 1024 * 1024;
const DEFAULT_MAX_ENVIRONMENT_BYTES: usize = 1024 * 1024;
const DEFAULT_MAX_PAGES: u32 = 10_000;

/// How much the client reads before it stops: bounds on what a misbehaving server or proxy
/// can make it hold or do.
#[derive(Clone, Copy, Debug)]
struct ReadLimits {
    /// The largest list page body.
    page_bytes: usize,
    /// The largest body of one environment (create, update, delete answers).
    environment_bytes: usize,
    /// The most pages one listing reads.
    pages: u32,
}

/// Configures a [`Client`]. Only the base URL and the token are required.
///
/// Defaults: timeout 30 s for the whole request, connect timeout 10 s, user agent
/// `omni-dbt/<version>`, [`RetryPolicy::default()`], [`RateLimit::default()`] (60/min); reads
/// capped at 32 MiB per list page, 1 MiB per single-environment answer, 64 KiB of an error
/// body, and 10,000 pages per listing. The caps do not add up over requests in flight: past
/// 256 KiB, success bodies are read one at a time in the process (the others wait their turn).
///
/// Names are sent and matched exactly as given: the client neither trims nor changes case, so
/// `" dev"` and `"dev"` are two names. A caller that trims does so before both.
#[derive(Clone, Debug, Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    token: Option<SecretString>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    user_agent: Option<String>,
    http_client: Option<SuppliedHttp>,
    max_page_bytes: Option<usize>,
    max_environment_bytes: Option<usize>,
    max_pages: Option<u32>,
    retry_policy: Option<RetryPolicy>,
    rate_limit: Option<RateLimit>,
    key_share: Option<f64>,
    limiter: Option<KeyLimiter>,
    retry_budget: Option<RetryBudget>,
}

impl ClientBuilder {
    /// The Omni instance: `https://acme.omniapp.co`, `https://acme.omniapp.co/api`,
    /// `.../api/v1`, an instance name (`acme`), or `http://127.0.0.1:PORT` for a local server.
    /// See [`BaseUrl`].
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base_url = Some(url.as_ref().to_owned());
        self
    }

    /// The API token (an Organization API key or a Personal Access Token).
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// Timeout of a whole request, from connecting to the end of the body (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Timeout of establishing a connection (default 10 s). Not applied to a client given to
    /// [`http_client`](Self::http_client), whose own connect timeout holds.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The `User-Agent` header (default `omni-dbt/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Sends through `http`, a reqwest client the caller built (proxies, TLS roots, ...),
    /// instead of one built here.
    ///
    /// What this client still enforces on every request: its [`timeout`](Self::timeout) (set
    /// per request, it overrides `http`'s own), the `Authorization`, `User-Agent` and `Accept`
    /// headers, HTTPS except for loopback, the caps on what is read, and the refusal of
    /// redirects *by status*: a 3xx that reaches it is an [`Error::Redirect`] and nothing is
    /// sent to where it points.
    ///
    /// What it cannot guarantee: reqwest follows redirects inside the client, so if `http`
    /// follows them (reqwest's default does, up to 10), the request has already gone to the new
    /// address before this client sees the answer. That is detected (the answer came from
    /// another URL) and refused as [`Error::Redirect`] with `followed: true`, which
    /// [`is ambiguous`](Error::is_ambiguous): a create may have been applied there. reqwest
    /// drops the `Authorization` header when a redirect leaves the host, but not within it.
    /// Build `http` with `redirect(reqwest::redirect::Policy::none())` to keep the guarantee.
    /// Also not applied to `http`: the [`connect_timeout`](Self::connect_timeout), and the
    /// bypass of proxies for loopback hosts.
    ///
    /// ```
    /// use secrecy::SecretString;
    /// use omni_dbt_core::Client;
    ///
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()?;
    /// let client = Client::builder()
    ///     .base_url("acme")
    ///     .token(SecretString::from("omni_live_xyz"))
    ///     .http_client(http)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http_client = Some(SuppliedHttp(http));
        self
    }

    /// The largest list page body read, in bytes (default 32 MiB, about 100 times what a page
    /// of 100 environments needs). A larger page fails the listing with
    /// [`Error::ResponseTooLarge`]; the body is read in chunks and never held beyond the cap.
    pub fn max_page_bytes(mut self, bytes: usize) -> Self {
        self.max_page_bytes = Some(bytes);
        self
    }

    /// The largest body read for one environment, the answer to a create, update or delete,
    /// in bytes (default 1 MiB). A larger one is [`Error::ResponseTooLarge`], which is
    /// [ambiguous](Error::is_ambiguous): the request was applied.
    pub fn max_environment_bytes(mut self, bytes: usize) -> Self {
        self.max_environment_bytes = Some(bytes);
        self
    }

    /// The most pages one listing reads (default 10,000: a million environments at 100 per
    /// page). A server still announcing pages after that fails the listing with
    /// [`Error::Pagination`]; 0 is taken as 1.
    pub fn max_pages(mut self, pages: u32) -> Self {
        self.max_pages = Some(pages);
        self
    }

    /// How failed requests are retried (default [`RetryPolicy::default()`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// The key's request ceiling (default 60/min). Clients with the same token and rate in one
    /// process share one limiter, unless one is given with [`limiter`](Self::limiter).
    pub fn rate_limit(mut self, rate: RateLimit) -> Self {
        self.rate_limit = Some(rate);
        self
    }

    /// This client's share (above 0, at most 1; default 1) of a key it shares with other runners
    /// that each have [`rate_limit`](Self::rate_limit) as their ceiling: shards of one input on
    /// one key, each given its part of the rows. It starts at that share of the ceiling rather
    /// than the whole and takes more only as the key shows room (see
    /// [`KeyLimiter::with_share`]), so that the runners neither meet a wall of 429s together at
    /// the start nor end up with unequal parts of the key. A share outside (0, 1] is the whole
    /// key. Ignored when a [`limiter`](Self::limiter) is given.
    ///
    /// ```
    /// use secrecy::SecretString;
    /// use omni_dbt_core::Client;
    ///
    /// let shard = Client::builder()
    ///     .base_url("acme")
    ///     .token(SecretString::from("omni_live_xyz"))
    ///     .rate_limit("60/min".parse().unwrap())
    ///     .key_share(0.25)
    ///     .build()?;
    /// assert_eq!(shard.limiter().status().pace_per_minute, Some(14.7), "a quarter, paced at 98%");
    /// # Ok::<(), omni_dbt_core::Error>(())
    /// ```
    pub fn key_share(mut self, share: f64) -> Self {
        self.key_share = Some(share);
        self
    }

    /// The key's limiter, shared explicitly: every client given a clone of one [`KeyLimiter`]
    /// paces against the same budget and learns from the same 429s. Its ceiling wins over
    /// [`rate_limit`](Self::rate_limit).
    ///
    /// ```
    /// use secrecy::SecretString;
    /// use omni_dbt_core::{Client, KeyLimiter};
    ///
    /// let limiter = KeyLimiter::new("500/min".parse().unwrap());
    /// let build = || {
    ///     Client::builder()
    ///         .base_url("acme")
    ///         .token(SecretString::from("omni_live_xyz"))
    ///         .limiter(limiter.clone())
    ///         .build()
    /// };
    /// let (a, b) = (build()?, build()?);
    /// assert!(KeyLimiter::ptr_eq(a.limiter(), b.limiter()));
    /// # Ok::<(), omni_dbt_core::Error>(())
    /// ```
    pub fn limiter(mut self, limiter: KeyLimiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The retry budget this client's retries spend from (default: one of its own, of
    /// [`RetryBudget::DEFAULT_CAPACITY`] tokens, shared by its clones). Give every client of a
    /// run a clone of one budget so that a failing server stops a whole run's retries.
    ///
    /// ```
    /// use secrecy::SecretString;
    /// use omni_dbt_core::{Client, RetryBudget};
    ///
    /// let budget = RetryBudget::new(200);
    /// let client = |token: &str| {
    ///     Client::builder()
    ///         .base_url("acme")
    ///         .token(SecretString::from(token.to_owned()))
    ///         .retry_budget(budget.clone())
    ///         .build()
    /// };
    /// let (first_key, second_key) = (client("key-one")?, client("key-two")?);
    /// assert_eq!(first_key.retry_budget().capacity(), 200);
    /// # let _ = second_key;
    /// # Ok::<(), omni_dbt_core::Error>(())
    /// ```
    pub fn retry_budget(mut self, budget: RetryBudget) -> Self {
        self.retry_budget = Some(budget);
        self
    }

    /// Builds the client; [`Error::Config`] if the base URL or token is missing or unusable.
    pub fn build(self) -> Result<Client> {
        let base = BaseUrl::parse(self.base_url.as_deref().ok_or_else(|| {
            Error::config("no Omni base URL given (for example https://acme.omniapp.co)")
        })?)?;
        let token = self
            .token
            .filter(|t| !t.expose_secret().trim().is_empty())
            .ok_or_else(|| Error::config("no API token given (set OMNI_API_TOKEN)"))?;
        let user_agent = self
            .user_agent
            .unwrap_or_else(|| DEFAULT_USER_AGENT.to_owned());
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let http = HttpSender::new(SenderConfig {
            token: &token,
            timeout,
            connect_timeout: self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            user_agent: &user_agent,
            use_proxy: !base.is_loopback(),
            supplied: self.http_client.map(|supplied| supplied.0),
        })?;
        let limits = ReadLimits {
            page_bytes: self.max_page_bytes.unwrap_or(DEFAULT_MAX_PAGE_BYTES),
            environment_bytes: self
                .max_environment_bytes
                .unwrap_or(DEFAULT_MAX_ENVIRONMENT_BYTES),
            pages: self.max_pages.unwrap_or(DEFAULT_MAX_PAGES).max(1),
        };
        let rate = self.rate_limit.unwrap_or_default();
        Ok(Client {
            shared: Arc::new(Shared {
                limiter: self.limiter.unwrap_or_else(|| {
                    KeyLimiter::shared(&token, rate, self.key_share.unwrap_or(1.0))
                }),
                http,
                base,
                policy: self.retry_policy.unwrap_or_default(),
                limits,
                budget: self.retry_budget.unwrap_or_default(),
                user_agent,
                token,
                totals: Counters::default(),
                said_retry_after_capped: AtomicBool::new(false),
            }),
            scope: Arc::new(Counters::default()),
        })
    }
}

/// A caller's reqwest client, whose `Debug` is left out: it lists the client's default
/// headers, where a caller may keep credentials of its own (a proxy's, a gateway's).
#[derive(Clone)]
struct SuppliedHttp(reqwest::Client);

impl fmt::Debug for SuppliedHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reqwest::Client { .. }")
    }
}

/// What every clone and scope of a client shares.
struct Shared {
    http: HttpSender,
    base: BaseUrl,
    policy: RetryPolicy,
    limits: ReadLimits,
    budget: RetryBudget,
    limiter: KeyLimiter,
    user_agent: String,
    /// Kept only to redact it from error text.
    token: SecretString,
    totals: Counters,
    /// Whether a `Retry-After` longer than the policy allows was logged at warn already.
    said_retry_after_capped: AtomicBool,
}

/// A client of Omni's dbt-environment API: validated, rate-limited, retrying.
///
/// Cloning is cheap and clones share the connection pool, the token's rate limiter and the
/// run-wide [`stats`](Client::stats). `Debug` never shows the token.
///
/// ```
/// use secrecy::SecretString;
/// use omni_dbt_core::{Client, Error};
///
/// let client = Client::builder()
///     .base_url("acme")
///     .token(SecretString::from("omni_live_xyz"))
///     .build()?;
/// assert!(!format!("{client:?}").contains("omni_live_xyz"));
/// assert_eq!(client.base_url().as_str(), "https://acme.omniapp.co");
///
/// let refused = Client::builder()
///     .base_url("http://acme.example.com")
///     .token(SecretString::from("omni_live_xyz"))
///     .build();
/// assert!(matches!(refused, Err(Error::Config(_))));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    scope: Arc<Counters>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.shared;
        f.debug_struct("Client")
            .field("base_url", &shared.base)
            .field("token", &"[REDACTED]")
            .field("timeout", &shared.http.timeout())
            .field("user_agent", &shared.user_agent)
            .field("retry_policy", &shared.policy)
            .field("rate_limit", &shared.limiter.ceiling())
            .finish()
    }
}

/// Whether a request may be sent again after an error that leaves its outcome unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resend {
    /// Sending it twice does no harm (GET, PUT, DELETE).
    Always,
    /// A second copy could create a duplicate (POST): re-send only when the first surely failed.
    OnlyIfNotApplied,
}

impl Client {
    /// A builder; see [`ClientBuilder`] for the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The normalized base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.shared.base
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.shared.policy
    }

    /// The retry budget this client's retries spend from.
    pub fn retry_budget(&self) -> &RetryBudget {
        &self.shared.budget
    }

    /// The limiter of this client's key: the one given to
    /// [`ClientBuilder::limiter`], else the one shared by every client in this process using the
    /// same token and rate. Its [`status`](KeyLimiter::status) shows the pace and any pause.
    pub fn limiter(&self) -> &KeyLimiter {
        &self.shared.limiter
    }

    /// A clone sharing everything but with its own fresh [`Tally`] (for example one per row).
    pub fn scoped(&self) -> Client {
        Client {
            shared: Arc::clone(&self.shared),
            scope: Arc::new(Counters::default()),
        }
    }

    /// Counts for this scope: requests sent, retries, 429s, last HTTP status seen.
    pub fn tally(&self) -> Tally {
        self.scope.snapshot()
    }

    /// Counts across every clone and scope of this client.
    pub fn stats(&self) -> Tally {
        self.shared.totals.snapshot()
    }

    /// Creates an environment (`POST`; Omni answers 201, any 2xx is accepted). The body is
    /// validated first: an invalid one returns
    /// [`Error::Invalid`] and nothing is sent.
    ///
    /// Retries only errors where the request surely was not applied (429, connection refused).
    /// An ambiguous error (timeout, broken connection, 5xx) is returned after one send, never
    /// re-sent blindly: use [`ensure_environment`](Self::ensure_environment) to reconcile it.
    pub async fn create_environment(
        &self,
        connection: &ConnectionId,
        environment: &NewEnvironment,
    ) -> Result<Environment> {
        environment.validate().map_err(Error::Invalid)?;
        let request = self.create_request(connection, environment)?;
        self.execute(&request, Resend::OnlyIfNotApplied).await
    }

    /// Updates an environment (`PUT`). Safe to retry, so every retryable error is retried.
    pub async fn update_environment(
        &self,
        connection: &ConnectionId,
        id: &EnvironmentId,
        update: &EnvironmentUpdate,
    ) -> Result<Environment> {
        let mut request = self.request(Method::PUT, self.item_url(connection, id), ITEM_TEMPLATE);
        request.body = Some(encode(update)?);
        update.secret_texts().for_each(|s| request.redactor.hide(s));
        self.execute(&request, Resend::Always).await
    }

    /// Deletes an environment (`DELETE`), retrying every retryable error. Omni answers 200
    /// with `{message, success}` (its docs show `{success}`); an empty body is read as success.
    /// To tell a delete from an environment that was already gone, and to survive a lost
    /// answer, use [`ensure_deleted`](Self::ensure_deleted).
    pub async fn delete_environment(
        &self,
        connection: &ConnectionId,
        id: &EnvironmentId,
    ) -> Result<DeleteResponse> {
        let request = self.request(Method::DELETE, self.item_url(connection, id), ITEM_TEMPLATE);
        self.execute(&request, Resend::Always).await
    }

    /// The limits on what this client reads.
    fn limits(&self) -> ReadLimits {
        self.shared.limits
    }

    fn collection_url(&self, connection: &ConnectionId) -> String {
        format!(
            "{}/api/v1/connections/{connection}/dbt/environments",
            self.shared.base
        )
    }

    fn item_url(&self, connection: &ConnectionId, id: &EnvironmentId) -> String {
        format!("{}/{id}", self.collection_url(connection))
    }

    /// A request with no query or body, whose errors hide the token, and whose success body
    /// holds at most one environment.
    fn request(&self, method: Method, url: String, template: &'static str) -> ApiRequest {
        let mut redactor = Redactor::default();
        redactor.hide(self.shared.token.expose_secret());
        redactor.hide(self.shared.token.expose_secret().trim());
        ApiRequest {
            method,
            url,
            template,
            query: Vec::new(),
            body: None,
            redactor,
            body_cap: BodyCap {
                what: "an environment",
                limit: self.shared.limits.environment_bytes,
            },
        }
    }

    fn create_request(
        &self,
        connection: &ConnectionId,
        environment: &NewEnvironment,
    ) -> Result<ApiRequest> {
        let mut request = self.request(
            Method::POST,
            self.collection_url(connection),
            COLLECTION_TEMPLATE,
        );
        request.body = Some(encode(environment)?);
        environment
            .secret_texts()
            .for_each(|s| request.redactor.hide(s));
        Ok(request)
    }

    /// Sends `request` under the retry policy and decodes the success body.
    async fn execute<T: DeserializeOwned>(
        &self,
        request: &ApiRequest,
        resend: Resend,
    ) -> Result<T> {
        let attempt = AtomicU32::new(0);
        let body = retry::run(
            &self.shared.policy,
            &self.shared.budget,
            |e| e.is_retryable() && (resend == Resend::Always || !e.is_ambiguous()),
            |e, d| self.on_retry(e, d),
            || self.attempt(request, attempt.fetch_add(1, Ordering::SeqCst) + 1),
        )
        .await?;
        decode(&body)
    }

    /// One attempt: wait for the key's limiter, send, count, log, tell the limiter how it went.
    async fn attempt(&self, request: &ApiRequest, number: u32) -> Result<Vec<u8>> {
        let limiter = &self.shared.limiter;
        limiter.acquire().await;
        let sent_at = tokio::time::Instant::now();
        let span = tracing::debug_span!(
            "omni_request",
            method = %request.method,
            path = request.template,
            attempt = number,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        async {
            self.scope.request();
            self.shared.totals.request();
            let result = {
                let _on_the_wire = (self.scope.on_the_wire(), self.shared.totals.on_the_wire());
                self.shared.http.send(request).await
            };
            let span = tracing::Span::current();
            span.record("latency_ms", sent_at.elapsed().as_millis());
            match result {
                Ok(exchange) => {
                    span.record("status", exchange.status);
                    self.scope.response(exchange.status);
                    self.shared.totals.response(exchange.status);
                    tracing::debug!(status = exchange.status, "response received");
                    match &exchange.outcome {
                        // Told to slow down: every user of the key slows down (and holds back
                        // until a Retry-After, capped by the policy), whether or not this
                        // request is retried.
                        Err(Error::RateLimited { retry_after }) => {
                            let pause = retry_after.map(|asked| self.retry_after_pause(asked));
                            limiter.on_throttled(sent_at, pause);
                        }
                        _ => limiter.on_response(sent_at),
                    }
                    exchange.outcome
                }
                Err(error) => {
                    tracing::debug!(%error, "request failed without a response");
                    Err(error)
                }
            }
        }
        .instrument(span)
        .await
    }

    /// How long a server's `Retry-After` of `asked` holds the key back: the policy's
    /// `max_retry_after` at most. A longer one is said at warn the first time, then at debug.
    fn retry_after_pause(&self, asked: Duration) -> Duration {
        let pause = self.shared.policy.delay(0, Some(asked), 0.0);
        if pause < asked {
            let first = !self
                .shared
                .said_retry_after_capped
                .swap(true, Ordering::SeqCst);
            let message = format!(
                "Omni's Retry-After asks to wait {} s; waiting {} s instead, the retry policy's \
                 max_retry_after, then trying again",
                asked.as_secs(),
                pause.as_secs_f64()
            );
            if first {
                tracing::warn!(retry_after_s = asked.as_secs(), "{message}");
            } else {
                tracing::debug!(retry_after_s = asked.as_secs(), "{message}");
            }
        }
        pause
    }

    /// Bookkeeping before a retry: count it, and say so when the wait is long. The key's pace
    /// after a 429 is the limiter's business (see [`attempt`](Self::attempt)), not this wait's.
    fn on_retry(&self, error: &Error, delay: Duration) {
        self.scope.retry();
        self.shared.totals.retry();
        if !matches!(
            error,
            Error::RateLimited {
                retry_after: Some(_)
            }
        ) {
            // A Retry-After already shows as the key's pause.
            self.shared.limiter.on_backoff(delay);
        }
        if delay >= LONG_RETRY_WAIT {
            let until = std::time::SystemTime::now()
                .checked_add(delay)
                .map(httpdate::fmt_http_date)
                .unwrap_or_default();
            tracing::info!(%error, wait_s = delay.as_secs(), until = %until, "retrying in {} s", delay.as_secs());
        } else {
            tracing::debug!(%error, delay_ms = delay.as_millis(), "retrying");
        }
    }
}

/// A retry wait at least this long is logged at info, with when it ends.
const LONG_RETRY_WAIT: Duration = Duration::from_secs(5);

/// The JSON of a request body. The model's bodies always encode; were one not to, it is
/// refused as invalid, never sent.
fn encode(body: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| {
        let problem = FieldError::new("body", format!("cannot be encoded as JSON: {e}"));
        ValidationErrors::from_vec(vec![problem])
            .map_or_else(|| Error::config("encoding"), Error::Invalid)
    })
}

/// A success body as `T`. An empty body reads as `null`, so that types which allow it (a
/// delete's answer) accept one; for the others it stays the error it was.
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).or_else(|source| {
        let blank = body.iter().all(u8::is_ascii_whitespace);
        blank
            .then(|| serde_json::from_slice(b"null").ok())
            .flatten()
            .ok_or(Error::Decode { source })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn operation_futures_are_send() {
        let client = Client::builder()
            .base_url("http://127.0.0.1:9")
            .token(SecretString::from("t"))
            .build()
            .unwrap();
        let connection = ConnectionId::new(uuid::Uuid::nil());
        let env = NewEnvironment::new("a", "b");
        assert_send(&client.ensure_environment(&connection, &env, ExistenceCheck::LookFirst));
        assert_send(&client.list_environments(&connection));
        assert_send(&client.create_environment(&connection, &env));
        let id = EnvironmentId::new(uuid::Uuid::nil());
        assert_send(&client.ensure_deleted(&connection, &id));
        let mut pages = client.pages(&connection);
        assert_send(&pages.next_page());
    }

    #[test]
    fn missing_base_url_or_token_is_a_config_error() {
        let no_url = Client::builder().token(SecretString::from("t")).build();
        assert!(matches!(no_url, Err(Error::Config(m)) if m.message().contains("base URL")));
        let no_token = Client::builder().base_url("acme").build();
        assert!(matches!(no_token, Err(Error::Config(m)) if m.message().contains("token")));
        let blank = Client::builder()
            .base_url("acme")
            .token(SecretString::from("  "))
            .build();
        assert!(matches!(blank, Err(Error::Config(_))));
    }

    #[test]
    fn scoped_clients_count_apart_but_share_stats() {
        let client = Client::builder()
            .base_url("acme")
            .token(SecretString::from("t-scope"))
            .build()
            .unwrap();
        let row = client.scoped();
        row.scope.request();
        row.shared.totals.request();
        assert_eq!(row.tally().requests, 1);
        assert_eq!(client.tally().requests, 0);
        assert_eq!(client.stats().requests, 1);
    }
}
