//! The four HTTP methods of the dbt-environment API, as a closed set for counting and fault scoping.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One of the four methods the sandbox serves under `/api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ApiMethod {
    /// `GET`: list environments.
    Get,
    /// `POST`: create an environment.
    Post,
    /// `PUT`: update an environment.
    Put,
    /// `DELETE`: delete an environment.
    Delete,
}

impl ApiMethod {
    /// Every method, in a fixed order: GET, POST, PUT, DELETE.
    pub const ALL: [ApiMethod; 4] = [
        ApiMethod::Get,
        ApiMethod::Post,
        ApiMethod::Put,
        ApiMethod::Delete,
    ];

    /// The method as written on the wire (`"GET"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ApiMethod::Get => "GET",
            ApiMethod::Post => "POST",
            ApiMethod::Put => "PUT",
            ApiMethod::Delete => "DELETE",
        }
    }

    /// The method's position in [`ApiMethod::ALL`], for per-method tables.
    pub(crate) fn index(self) -> usize {
        match self {
            ApiMethod::Get => 0,
            ApiMethod::Post => 1,
            ApiMethod::Put => 2,
            ApiMethod::Delete => 3,
        }
    }

    /// The API method for an HTTP method (`HEAD` counts as `GET`, which axum routes it to), or
    /// `None` for any other method.
    pub(crate) fn from_http(method: &axum::http::Method) -> Option<Self> {
        match *method {
            axum::http::Method::GET | axum::http::Method::HEAD => Some(ApiMethod::Get),
            axum::http::Method::POST => Some(ApiMethod::Post),
            axum::http::Method::PUT => Some(ApiMethod::Put),
            axum::http::Method::DELETE => Some(ApiMethod::Delete),
            _ => None,
        }
    }

    /// Parses a method name case-insensitively (`get`, `POST`, ...).
    pub(crate) fn parse(name: &str) -> Option<Self> {
        ApiMethod::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for ApiMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
