//! What every API request passes through before and after its handler: latency, auth, rate limit, faults, counting and logging.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::auth::authenticate;
use crate::config::RetryAfterHeader;
use crate::limiter::Admission;
use crate::method::ApiMethod;
use crate::problem::ApiError;
use crate::server::DropConnection;
use crate::spoil::spoil;
use crate::standin::answer_instead;
use crate::stats::Outcome;

/// The middleware around every API route (see the crate docs for the order of the steps).
pub(crate) async fn gate(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let Some(method) = ApiMethod::from_http(request.method()) else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let path = request.uri().path().to_owned();
    let response = admit_and_handle(&app, method, request, next).await;
    let outcome = if response.extensions().get::<DropConnection>().is_some() {
        Outcome::Dropped
    } else {
        Outcome::Status(response.status().as_u16())
    };
    app.stats.record_request(method, outcome);
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Outcome::Status(status) => {
            tracing::info!(
                method = method.as_str(),
                path,
                status,
                latency_ms,
                "api request"
            );
        }
        Outcome::Dropped => {
            tracing::info!(
                method = method.as_str(),
                path,
                status = "dropped",
                latency_ms,
                "api request"
            );
        }
    }
    response
}

async fn admit_and_handle(app: &App, method: ApiMethod, request: Request, next: Next) -> Response {
    let latency = app.faults.latency(method);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let token = match authenticate(request.headers(), &app.tokens) {
        Ok(token) => token,
        Err(error) => return error.into_response(),
    };
    if let Admission::Limited { retry_after } = app.limiter.check(token) {
        app.stats.record_rate_limited();
        return rate_limited(retry_after, app.retry_after);
    }
    let Some(fault) = app.faults.roll(method) else {
        return next.run(request).await;
    };
    if !fault.commits() {
        app.stats.record_fault(fault.kind());
        return answer_instead(fault, request.headers(), request.uri());
    }
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    app.stats.record_fault(fault.kind());
    spoil(fault, response, app).await
}

/// 429 from the rate limiter, with `Retry-After` when configured.
fn rate_limited(retry_after: Duration, header_policy: RetryAfterHeader) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests: rate limit exceeded",
    )
    .into_response();
    if header_policy == RetryAfterHeader::Sent {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}
