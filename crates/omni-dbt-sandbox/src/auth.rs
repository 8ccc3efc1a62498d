//! Bearer authentication: which configured token, if any, a request carries.

use std::collections::HashSet;

use axum::http::{header, HeaderMap};

use crate::problem::ApiError;

/// The configured token the request's `Authorization: Bearer <token>` header names, or 401.
///
/// Messages say what is wrong with the header and never repeat its value.
pub(crate) fn authenticate<'a>(
    headers: &HeaderMap,
    tokens: &'a HashSet<String>,
) -> Result<&'a str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized("Authentication required: missing Authorization header")
        })?
        .to_str()
        .map_err(|_| {
            ApiError::unauthorized("Authentication required: unreadable Authorization header")
        })?;
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized(
            "Authentication required: use `Authorization: Bearer <token>`",
        ));
    }
    tokens
        .get(credentials.trim())
        .map(String::as_str)
        .ok_or_else(|| ApiError::unauthorized("Invalid API token"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn only_a_configured_bearer_token_is_accepted() {
        let tokens: HashSet<String> = ["sbx_a".to_owned()].into();
        assert_eq!(
            authenticate(&headers("Bearer sbx_a"), &tokens).unwrap(),
            "sbx_a"
        );
        assert_eq!(
            authenticate(&headers("bearer sbx_a"), &tokens).unwrap(),
            "sbx_a"
        );
        for bad in ["Bearer sbx_b", "Basic sbx_a", "sbx_a", "Bearer "] {
            let err = authenticate(&headers(bad), &tokens).unwrap_err();
            assert_eq!(err.status().as_u16(), 401, "{bad}");
            assert!(
                !err.detail().contains("sbx_"),
                "{bad}: the token is not echoed"
            );
        }
        assert_eq!(
            authenticate(&HeaderMap::new(), &tokens)
                .unwrap_err()
                .status()
                .as_u16(),
            401
        );
    }
}
