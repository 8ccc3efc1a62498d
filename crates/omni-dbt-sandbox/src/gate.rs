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
use crate::faults::{ErrorStatus, Fault};
use crate::limiter::Admission;
use crate::method::ApiMethod;
use crate::problem::ApiError;
use crate::server::{drop_response, DropConnection};
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
        return fault_response(fault);
    }
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    app.stats.record_fault(fault.kind());
    if let Fault::CommitThenSlow(delay) = fault {
        tokio::time::sleep(delay).await;
        return response;
    }
    fault_response(fault)
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

/// The response standing in for a handled request. The three 5xx bodies differ on purpose, as
/// they do behind real proxies: 500 is JSON `{detail, status}`, 502 an HTML page, 503 empty.
fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Status(status) | Fault::CommitThenStatus(status) => error_status_response(status),
        Fault::TooManyRequests => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests").into_response()
        }
        Fault::Drop | Fault::CommitThenDrop | Fault::CommitThenSlow(_) => drop_response(),
    }
}

fn error_status_response(status: ErrorStatus) -> Response {
    match status {
        ErrorStatus::InternalServerError => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
                .into_response()
        }
        ErrorStatus::BadGateway => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        ErrorStatus::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
