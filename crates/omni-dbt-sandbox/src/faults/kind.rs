//! What can go wrong on purpose: [`Fault`] (with its parameters) and [`FaultKind`] (its name and counter key).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::method::ApiMethod;

/// A 5xx status a fault can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorStatus {
    /// 500 Internal Server Error.
    InternalServerError,
    /// 502 Bad Gateway.
    BadGateway,
    /// 503 Service Unavailable.
    ServiceUnavailable,
}

impl ErrorStatus {
    /// The numeric status code.
    pub fn code(self) -> u16 {
        match self {
            ErrorStatus::InternalServerError => 500,
            ErrorStatus::BadGateway => 502,
            ErrorStatus::ServiceUnavailable => 503,
        }
    }
}

/// A redirect status a fault can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedirectStatus {
    /// 301 Moved Permanently.
    MovedPermanently,
    /// 302 Found.
    Found,
    /// 307 Temporary Redirect.
    TemporaryRedirect,
    /// 308 Permanent Redirect.
    PermanentRedirect,
}

impl RedirectStatus {
    /// The numeric status code.
    pub fn code(self) -> u16 {
        match self {
            RedirectStatus::MovedPermanently => 301,
            RedirectStatus::Found => 302,
            RedirectStatus::TemporaryRedirect => 307,
            RedirectStatus::PermanentRedirect => 308,
        }
    }
}

/// One way a request can go wrong on purpose.
///
/// Faults that [commit](Fault::commits) let the request be handled first and strike only a
/// successful (2xx) answer; the others answer in its place and nothing is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this 5xx without handling the request.
    Status(ErrorStatus),
    /// Answer 429 without `Retry-After`, without handling the request.
    TooManyRequests,
    /// Close the connection without a response, without handling the request.
    Drop,
    /// Answer with this redirect, `Location` pointing elsewhere (`/moved/...` on the sandbox),
    /// without handling the request: a proxy or a base URL that is not the API.
    Redirect(RedirectStatus),
    /// Answer 502 with an HTML page of this many bytes, streamed, without handling the request.
    HugeErrorPage(u64),
    /// Answer 502 with an HTML page that never ends, without handling the request.
    EndlessErrorPage,
    /// Handle the request (it takes effect), then answer with this 5xx.
    CommitThenStatus(ErrorStatus),
    /// Handle the request (it takes effect), then close the connection without a response.
    CommitThenDrop,
    /// Handle the request (it takes effect), then hold the response back for this long.
    CommitThenSlow(Duration),
    /// Handle the request (it takes effect), then answer its status with an HTML page instead
    /// of JSON.
    CommitThenHtml,
    /// Handle a create or update (it takes effect), then answer its status with the JSON
    /// environment less its `id`.
    CommitThenNoId,
    /// Handle the request (it takes effect) and send its JSON answer padded with whitespace to
    /// this many bytes (still valid JSON), streamed.
    HugeBody(u64),
    /// Handle the request (it takes effect) and send its JSON answer followed by whitespace that
    /// never ends.
    EndlessBody,
    /// On a list page: fill the page with made-up environments, say `hasNextPage: true` with a
    /// fresh cursor every time (the next page is served like this one), and keep `totalRecords`
    /// at the real, smaller count.
    EndlessPages,
    /// On a list page: write `pageSize` and `totalRecords` as floats (`20.0`).
    FloatPageInfo,
}

impl Fault {
    /// The fault's kind, the key it is counted under.
    pub fn kind(self) -> FaultKind {
        use ErrorStatus::*;
        use RedirectStatus::*;
        match self {
            Fault::Status(InternalServerError) => FaultKind::Status500,
            Fault::Status(BadGateway) => FaultKind::Status502,
            Fault::Status(ServiceUnavailable) => FaultKind::Status503,
            Fault::TooManyRequests => FaultKind::TooManyRequests,
            Fault::Drop => FaultKind::Drop,
            Fault::Redirect(MovedPermanently) => FaultKind::Redirect301,
            Fault::Redirect(Found) => FaultKind::Redirect302,
            Fault::Redirect(TemporaryRedirect) => FaultKind::Redirect307,
            Fault::Redirect(PermanentRedirect) => FaultKind::Redirect308,
            Fault::HugeErrorPage(_) => FaultKind::Huge502,
            Fault::EndlessErrorPage => FaultKind::Endless502,
            Fault::CommitThenStatus(InternalServerError) => FaultKind::Commit500,
            Fault::CommitThenStatus(BadGateway) => FaultKind::Commit502,
            Fault::CommitThenStatus(ServiceUnavailable) => FaultKind::Commit503,
            Fault::CommitThenDrop => FaultKind::CommitDrop,
            Fault::CommitThenSlow(_) => FaultKind::CommitSlow,
            Fault::CommitThenHtml => FaultKind::CommitHtml,
            Fault::CommitThenNoId => FaultKind::CommitNoId,
            Fault::HugeBody(_) => FaultKind::HugeBody,
            Fault::EndlessBody => FaultKind::EndlessBody,
            Fault::EndlessPages => FaultKind::EndlessPages,
            Fault::FloatPageInfo => FaultKind::FloatPageInfo,
        }
    }

    /// Whether the request is handled (and applied) before the fault strikes its successful
    /// answer.
    pub fn commits(self) -> bool {
        !matches!(
            self,
            Fault::Status(_)
                | Fault::TooManyRequests
                | Fault::Drop
                | Fault::Redirect(_)
                | Fault::HugeErrorPage(_)
                | Fault::EndlessErrorPage
        )
    }

    /// Whether the fault can strike a request of `method`: list-page faults only lists, a
    /// missing `id` only creates and updates, every other fault any method.
    pub fn applies_to(self, method: ApiMethod) -> bool {
        match self {
            Fault::EndlessPages | Fault::FloatPageInfo => method == ApiMethod::Get,
            Fault::CommitThenNoId => matches!(method, ApiMethod::Post | ApiMethod::Put),
            _ => true,
        }
    }
}

/// The kind of a fault, named as in the fault spec grammar (`"500"`, `"commit-drop"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FaultKind {
    /// `500`
    #[serde(rename = "500")]
    Status500,
    /// `502`
    #[serde(rename = "502")]
    Status502,
    /// `503`
    #[serde(rename = "503")]
    Status503,
    /// `429`
    #[serde(rename = "429")]
    TooManyRequests,
    /// `drop`
    #[serde(rename = "drop")]
    Drop,
    /// `commit-500`
    #[serde(rename = "commit-500")]
    Commit500,
    /// `commit-502`
    #[serde(rename = "commit-502")]
    Commit502,
    /// `commit-503`
    #[serde(rename = "commit-503")]
    Commit503,
    /// `commit-drop`
    #[serde(rename = "commit-drop")]
    CommitDrop,
    /// `commit-slow`
    #[serde(rename = "commit-slow")]
    CommitSlow,
    /// `redirect-301`
    #[serde(rename = "redirect-301")]
    Redirect301,
    /// `redirect-302`
    #[serde(rename = "redirect-302")]
    Redirect302,
    /// `redirect-307`
    #[serde(rename = "redirect-307")]
    Redirect307,
    /// `redirect-308`
    #[serde(rename = "redirect-308")]
    Redirect308,
    /// `huge-502`
    #[serde(rename = "huge-502")]
    Huge502,
    /// `endless-502`
    #[serde(rename = "endless-502")]
    Endless502,
    /// `commit-html`
    #[serde(rename = "commit-html")]
    CommitHtml,
    /// `commit-no-id`
    #[serde(rename = "commit-no-id")]
    CommitNoId,
    /// `huge-body`
    #[serde(rename = "huge-body")]
    HugeBody,
    /// `endless-body`
    #[serde(rename = "endless-body")]
    EndlessBody,
    /// `endless-pages`
    #[serde(rename = "endless-pages")]
    EndlessPages,
    /// `float-page-info`
    #[serde(rename = "float-page-info")]
    FloatPageInfo,
}

impl FaultKind {
    /// Every kind, in the order of the grammar's documentation.
    pub const ALL: [FaultKind; 22] = [
        FaultKind::Status500,
        FaultKind::Status502,
        FaultKind::Status503,
        FaultKind::TooManyRequests,
        FaultKind::Drop,
        FaultKind::Redirect301,
        FaultKind::Redirect302,
        FaultKind::Redirect307,
        FaultKind::Redirect308,
        FaultKind::Huge502,
        FaultKind::Endless502,
        FaultKind::Commit500,
        FaultKind::Commit502,
        FaultKind::Commit503,
        FaultKind::CommitDrop,
        FaultKind::CommitSlow,
        FaultKind::CommitHtml,
        FaultKind::CommitNoId,
        FaultKind::HugeBody,
        FaultKind::EndlessBody,
        FaultKind::EndlessPages,
        FaultKind::FloatPageInfo,
    ];

    /// The kind's name in the fault spec grammar.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Status500 => "500",
            FaultKind::Status502 => "502",
            FaultKind::Status503 => "503",
            FaultKind::TooManyRequests => "429",
            FaultKind::Drop => "drop",
            FaultKind::Commit500 => "commit-500",
            FaultKind::Commit502 => "commit-502",
            FaultKind::Commit503 => "commit-503",
            FaultKind::CommitDrop => "commit-drop",
            FaultKind::CommitSlow => "commit-slow",
            FaultKind::Redirect301 => "redirect-301",
            FaultKind::Redirect302 => "redirect-302",
            FaultKind::Redirect307 => "redirect-307",
            FaultKind::Redirect308 => "redirect-308",
            FaultKind::Huge502 => "huge-502",
            FaultKind::Endless502 => "endless-502",
            FaultKind::CommitHtml => "commit-html",
            FaultKind::CommitNoId => "commit-no-id",
            FaultKind::HugeBody => "huge-body",
            FaultKind::EndlessBody => "endless-body",
            FaultKind::EndlessPages => "endless-pages",
            FaultKind::FloatPageInfo => "float-page-info",
        }
    }

    /// The kind named `name` in the grammar (exact, lower case).
    pub(crate) fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_name_that_reads_back() {
        for kind in FaultKind::ALL {
            assert_eq!(FaultKind::from_name(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""), "serde uses the grammar's name");
        }
        let mut names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FaultKind::ALL.len());
    }

    #[test]
    fn only_some_faults_let_the_request_through_first() {
        assert!(!Fault::Drop.commits());
        assert!(!Fault::Redirect(RedirectStatus::TemporaryRedirect).commits());
        assert!(!Fault::EndlessErrorPage.commits());
        assert!(Fault::CommitThenNoId.commits());
        assert!(Fault::HugeBody(10).commits());
        assert!(Fault::EndlessPages.commits());
    }

    #[test]
    fn list_faults_apply_to_lists_and_no_id_to_writes_of_an_environment() {
        assert!(Fault::EndlessPages.applies_to(ApiMethod::Get));
        assert!(!Fault::EndlessPages.applies_to(ApiMethod::Post));
        assert!(!Fault::FloatPageInfo.applies_to(ApiMethod::Delete));
        assert!(Fault::CommitThenNoId.applies_to(ApiMethod::Put));
        assert!(!Fault::CommitThenNoId.applies_to(ApiMethod::Delete));
        assert!(ApiMethod::ALL
            .iter()
            .all(|&m| Fault::EndlessBody.applies_to(m)));
    }
}
