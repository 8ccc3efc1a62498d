//! Normalization of the Omni base URL the user gives into the origin the API paths hang from.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use crate::error::{ConfigError, Error, Result};

/// The origin (plus any path prefix) of an Omni instance, without `/api` or a trailing slash.
///
/// Accepted forms: `https://acme.omniapp.co`, `https://acme.omniapp.co/api` (Omni's docs),
/// `https://acme.omniapp.co/api/v1` (as copied from an endpoint's address), an instance name
/// such as `acme` (meaning `https://acme.omniapp.co`), a host without scheme
/// (`acme.omniapp.co`, taken as HTTPS), and `http://` only for loopback hosts (127.0.0.0/8, ::1,
/// localhost), where tests and the sandbox run.
///
/// ```
/// use omni_dbt_core::BaseUrl;
/// for form in ["https://acme.omniapp.co", "https://acme.omniapp.co/api/", "https://acme.omniapp.co/api/v1", "acme"] {
///     assert_eq!(BaseUrl::parse(form).unwrap().as_str(), "https://acme.omniapp.co");
/// }
/// assert!(BaseUrl::parse("http://acme.example.com").is_err());
/// assert_eq!(BaseUrl::parse("http://127.0.0.1:8080").unwrap().as_str(), "http://127.0.0.1:8080");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    origin: String,
    loopback: bool,
}

impl BaseUrl {
    /// Parses and normalizes a base URL; [`Error::Config`] says what is wrong with a bad one.
    pub fn parse(input: &str) -> Result<Self> {
        let text = input.trim();
        if text.is_empty() {
            return Err(config(
                "the Omni base URL is empty (set it to https://<instance>.omniapp.co)",
            ));
        }
        let url = Url::parse(&with_scheme(text)?).map_err(|e| {
            Error::Config(ConfigError::caused_by(
                format!("the Omni base URL {text:?} is not a URL: {e}"),
                e,
            ))
        })?;
        let loopback = is_loopback(&url);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(config(format!(
                "refusing plain HTTP to {}: the API token would travel unencrypted; use https:// \
                     (http:// is allowed only for loopback hosts such as 127.0.0.1)",
                url.host_str().unwrap_or_default()
            )))
            }
            other => {
                return Err(config(format!(
                    "the Omni base URL must use https://, not {other}://"
                )))
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(config(format!("the Omni base URL {text:?} has no host")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(config(
                "the Omni base URL must not contain credentials; pass the API token separately",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(config(format!(
                "the Omni base URL {text:?} must not have a query or fragment"
            )));
        }
        Ok(Self {
            origin: origin_without_api(&url),
            loopback,
        })
    }

    /// The normalized base, such as `https://acme.omniapp.co`.
    pub fn as_str(&self) -> &str {
        &self.origin
    }

    /// Whether the host is a loopback address (127.0.0.0/8, ::1, localhost).
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({:?})", self.origin)
    }
}

fn config(message: impl Into<String>) -> Error {
    Error::config(message)
}

/// Adds `https://` to a host, and expands a bare instance name to `<name>.omniapp.co`.
fn with_scheme(text: &str) -> Result<String> {
    if text.contains("://") {
        return Ok(text.to_owned());
    }
    let is_instance_name = text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if is_instance_name {
        return Ok(format!("https://{}.omniapp.co", text.to_ascii_lowercase()));
    }
    if text.contains(['.', ':']) {
        return Ok(format!("https://{text}"));
    }
    Err(config(format!(
        "the Omni base URL {text:?} is neither a URL (https://acme.omniapp.co) nor an instance name (acme)"
    )))
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            domain == "localhost" || domain.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// `scheme://host[:port][/prefix]` with a trailing `/api` or `/api/v1` and slashes removed:
/// the client adds `/api/v1/...` itself, so a base that already ends with it would double it.
fn origin_without_api(url: &Url) -> String {
    let mut path = url.path().trim_end_matches('/');
    for suffix in ["/api/v1", "/api"] {
        if let Some(prefix) = path.strip_suffix(suffix) {
            path = prefix.trim_end_matches('/');
            break;
        }
    }
    format!("{}{path}", url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str) -> String {
        BaseUrl::parse(input)
            .map(|b| b.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn accepts_the_three_documented_forms() {
        assert_eq!(parsed("https://acme.omniapp.co"), "https://acme.omniapp.co");
        assert_eq!(
            parsed("https://acme.omniapp.co/"),
            "https://acme.omniapp.co"
        );
        assert_eq!(
            parsed("https://acme.omniapp.co/api"),
            "https://acme.omniapp.co"
        );
        assert_eq!(
            parsed(" https://acme.omniapp.co/api/ "),
            "https://acme.omniapp.co"
        );
        assert_eq!(parsed("acme"), "https://acme.omniapp.co");
        assert_eq!(parsed("http://127.0.0.1:4000"), "http://127.0.0.1:4000");
    }

    #[test]
    fn accepts_the_api_v1_suffix_copied_from_omnis_docs() {
        for form in [
            "https://acme.omniapp.co/api/v1",
            "https://acme.omniapp.co/api/v1/",
            "acme.omniapp.co/api/v1",
        ] {
            assert_eq!(parsed(form), "https://acme.omniapp.co", "{form}");
        }
        assert_eq!(
            parsed("https://proxy.example.com/omni/api/v1"),
            "https://proxy.example.com/omni"
        );
        // Only a trailing suffix is taken off: a path that merely contains it is a prefix.
        assert_eq!(
            parsed("https://proxy.example.com/api/v1/omni"),
            "https://proxy.example.com/api/v1/omni"
        );
    }

    #[test]
    fn a_url_that_does_not_parse_keeps_the_parser_error_as_source() {
        use std::error::Error as _;
        let error = BaseUrl::parse("https://a b").unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        assert!(error.source().is_some_and(|s| s.is::<url::ParseError>()));
    }

    #[test]
    fn keeps_a_path_prefix_and_expands_bare_hosts() {
        assert_eq!(
            parsed("https://acme.playground.exploreomni.dev/api"),
            "https://acme.playground.exploreomni.dev"
        );
        assert_eq!(parsed("acme.omniapp.co"), "https://acme.omniapp.co");
        assert_eq!(
            parsed("https://proxy.example.com/omni/api"),
            "https://proxy.example.com/omni"
        );
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in ["http://localhost:1", "http://127.8.9.10", "http://[::1]:9"] {
            assert!(BaseUrl::parse(ok).is_ok_and(|b| b.is_loopback()), "{ok}");
        }
        for bad in [
            "http://acme.example.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
        ] {
            let err = BaseUrl::parse(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("refusing plain HTTP"), "{bad}: {err}");
        }
    }

    #[test]
    fn rejects_credentials_queries_and_other_schemes() {
        for bad in [
            "https://user:pw@acme.omniapp.co",
            "https://acme.omniapp.co/?x=1",
            "ftp://acme",
            "",
            "a b",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
        let err = BaseUrl::parse("https://user:pw@acme.omniapp.co")
            .err()
            .map(|e| e.to_string());
        assert!(!err.unwrap_or_default().contains("pw"));
    }
}
