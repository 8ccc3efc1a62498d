//! The answers that stand in for a request the sandbox does not handle: 5xx, 429, a dropped connection, a redirect, a huge or endless 502 page.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::faults::{ErrorStatus, Fault, RedirectStatus};
use crate::padding::{bad_gateway_page, Length};
use crate::problem::ApiError;
use crate::server::drop_response;

/// Where redirects point: a path of the sandbox that is not the API, so a client that follows
/// one gets a 404 rather than a silent success.
pub(crate) const MOVED_PREFIX: &str = "/moved";

/// The answer of a fault that does not let the request through (see [`Fault::commits`]).
/// `headers` and `uri` are the request's, for a redirect's `Location`.
pub(crate) fn answer_instead(fault: Fault, headers: &HeaderMap, uri: &Uri) -> Response {
    match fault {
        Fault::Status(status) => error_status(status),
        Fault::TooManyRequests => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests").into_response()
        }
        Fault::Redirect(status) => redirect(status, headers, uri),
        Fault::HugeErrorPage(size) => huge_bad_gateway(Length::Exactly(size)),
        Fault::EndlessErrorPage => huge_bad_gateway(Length::Endless),
        // `Drop`, and (never rolled here) the faults that let the request through.
        _ => drop_response(),
    }
}

/// One of the 5xx answers. The three bodies differ on purpose, as they do behind real
/// proxies: 500 is JSON `{detail, status}`, 502 an HTML page, 503 empty.
pub(crate) fn error_status(status: ErrorStatus) -> Response {
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

fn huge_bad_gateway(length: Length) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, "text/html")],
        bad_gateway_page(length),
    )
        .into_response()
}

/// A redirect to the same path under [`MOVED_PREFIX`], absolute when the request named its host.
fn redirect(status: RedirectStatus, headers: &HeaderMap, uri: &Uri) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let location = match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) => format!("http://{host}{MOVED_PREFIX}{path}"),
        None => format!("{MOVED_PREFIX}{path}"),
    };
    let status = StatusCode::from_u16(status.code()).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_points_under_moved_on_the_requested_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8787"));
        let uri: Uri = "/api/v1/connections/x/dbt/environments?pageSize=5"
            .parse()
            .unwrap();
        let response = redirect(RedirectStatus::PermanentRedirect, &headers, &uri);
        assert_eq!(response.status(), 308);
        assert_eq!(
            response.headers()[header::LOCATION],
            "http://127.0.0.1:8787/moved/api/v1/connections/x/dbt/environments?pageSize=5"
        );
        let relative = redirect(RedirectStatus::Found, &HeaderMap::new(), &uri);
        assert!(relative.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/moved/api/"));
    }
}
