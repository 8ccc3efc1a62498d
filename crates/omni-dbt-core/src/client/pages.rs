//! Listing a connection's environments page by page, and the lookups built on it, bounded
//! against pagination that would never end.

use std::collections::HashSet;

use reqwest::Method;

use super::{Client, Resend, COLLECTION_TEMPLATE};
use crate::error::{Error, PaginationProblem, Result};
use crate::http::BodyCap;
use crate::model::{ConnectionId, Environment, EnvironmentId, EnvironmentPage};
use crate::response::truncate;

/// Records asked for per list page (the API's maximum).
const PAGE_SIZE: u64 = 100;
/// Longest cursor quoted in an error.
const MAX_QUOTED_CURSOR: usize = 100;

/// The order of a listing. Omni sorts only by name; without an order the server's default
/// applies (descending by name, per Omni's spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListOrder {
    /// By name, A to Z (`sortField=name&sortDirection=asc`).
    NameAscending,
    /// By name, Z to A (`sortField=name&sortDirection=desc`).
    NameDescending,
}

impl ListOrder {
    fn direction(self) -> &'static str {
        match self {
            Self::NameAscending => "asc",
            Self::NameDescending => "desc",
        }
    }
}

/// The environments of one connection, one page at a time: what
/// [`Client::pages`] returns. Memory holds one page, however large the connection.
///
/// Each page is one request with the client's retries. The listing stops with
/// [`Error::Pagination`] when the server repeats a cursor, announces a next page without a
/// cursor, sends more records than its `totalRecords` (plus one page of slack, since
/// environments may be created while the listing runs), or still announces pages after
/// [`ClientBuilder::max_pages`](crate::ClientBuilder::max_pages). After an error or the last
/// page, [`next_page`](Self::next_page) returns `None`.
///
/// ```no_run
/// # async fn demo(client: omni_dbt_core::Client, connection: omni_dbt_core::ConnectionId)
/// # -> omni_dbt_core::Result<()> {
/// use omni_dbt_core::ListOrder;
///
/// let mut pages = client.pages(&connection).order(ListOrder::NameAscending);
/// while let Some(page) = pages.next_page().await {
///     for environment in page? {
///         println!("{} {}", environment.id, environment.name);
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Pages {
    client: Client,
    connection: ConnectionId,
    order: Option<ListOrder>,
    state: State,
    seen_cursors: HashSet<String>,
    pages_read: u32,
    records_read: u64,
}

/// Where a listing stands.
#[derive(Debug)]
enum State {
    /// The first page is next.
    First,
    /// The page at this cursor is next.
    After(String),
    /// The last page was read, or an error ended the listing.
    Done,
}

impl Pages {
    /// Lists in `order` instead of the server's default. Set it before the first page.
    pub fn order(mut self, order: ListOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// The connection being listed.
    pub fn connection(&self) -> &ConnectionId {
        &self.connection
    }

    /// Pages read so far.
    pub fn pages_read(&self) -> u32 {
        self.pages_read
    }

    /// The next page's environments; `None` once the last page was returned or an error was.
    pub async fn next_page(&mut self) -> Option<Result<Vec<Environment>>> {
        let cursor = match std::mem::replace(&mut self.state, State::Done) {
            State::Done => return None,
            State::First => None,
            State::After(cursor) => Some(cursor),
        };
        Some(self.fetch(cursor).await)
    }

    /// Reads the page at `cursor` and decides what follows it; on an error the state stays
    /// [`State::Done`].
    async fn fetch(&mut self, cursor: Option<String>) -> Result<Vec<Environment>> {
        let client = &self.client;
        let mut request = client.request(
            Method::GET,
            client.collection_url(&self.connection),
            COLLECTION_TEMPLATE,
        );
        request.body_cap = BodyCap {
            what: "a list page",
            limit: client.limits().page_bytes,
        };
        request.query.push(("pageSize", PAGE_SIZE.to_string()));
        if let Some(order) = self.order {
            request.query.push(("sortField", "name".to_owned()));
            request
                .query
                .push(("sortDirection", order.direction().to_owned()));
        }
        if let Some(cursor) = cursor {
            request.query.push(("cursor", cursor));
        }
        let page: EnvironmentPage = client.execute(&request, Resend::Always).await?;
        self.pages_read = self.pages_read.saturating_add(1);
        self.records_read = self
            .records_read
            .saturating_add(u64::try_from(page.records.len()).unwrap_or(u64::MAX));
        if let Some(next) = self.next_cursor(&page)? {
            self.state = State::After(next);
        }
        Ok(page.records)
    }

    /// Fails when more records arrived than announced, beyond one page of slack. Checked only
    /// while more pages are announced: a listing that ended is not held to its count.
    fn check_total(&self, page: &EnvironmentPage) -> Result<()> {
        let Some(info) = &page.page_info else {
            return Ok(());
        };
        let Some(total) = info.total_records else {
            return Ok(());
        };
        // A page's worth, as asked or as sent; not the page size the server claims, which a
        // server that never ends could inflate at will.
        let on_page = u64::try_from(page.records.len()).unwrap_or(u64::MAX);
        let slack = on_page.max(PAGE_SIZE);
        if self.records_read > total.saturating_add(slack) {
            return Err(self.problem(PaginationProblem::BeyondTotal {
                received: self.records_read,
                total,
            }));
        }
        Ok(())
    }

    /// The cursor of the page after `page`, `None` after the last one; an error when the
    /// listing shows it would not end.
    fn next_cursor(&mut self, page: &EnvironmentPage) -> Result<Option<String>> {
        let announced = page.page_info.as_ref().is_some_and(|i| i.has_next_page);
        if !announced {
            return Ok(None);
        }
        self.check_total(page)?;
        let Some(next) = page.next_cursor() else {
            return Err(self.problem(PaginationProblem::MissingCursor));
        };
        if self.pages_read >= self.client.limits().pages {
            return Err(self.problem(PaginationProblem::TooManyPages {
                limit: self.client.limits().pages,
            }));
        }
        if !self.seen_cursors.insert(next.to_owned()) {
            return Err(self.problem(PaginationProblem::RepeatedCursor {
                cursor: truncate(next, MAX_QUOTED_CURSOR).to_owned(),
            }));
        }
        Ok(Some(next.to_owned()))
    }

    fn problem(&self, problem: PaginationProblem) -> Error {
        Error::Pagination {
            connection: self.connection,
            problem,
        }
    }

    /// The first environment, on any page, that `wanted` accepts; stops reading there.
    async fn find(mut self, wanted: impl Fn(&Environment) -> bool) -> Result<Option<Environment>> {
        while let Some(page) = self.next_page().await {
            if let Some(found) = page?.into_iter().find(|e| wanted(e)) {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

impl Client {
    /// The environments of `connection`, page by page (100 per request, `nextCursor` followed
    /// to the end). Accepts the spec's `{pageInfo, records}` pages and a bare array (the only
    /// page). Nothing is sent until the first [`Pages::next_page`].
    pub fn pages(&self, connection: &ConnectionId) -> Pages {
        Pages {
            client: self.clone(),
            connection: *connection,
            order: None,
            state: State::First,
            seen_cursors: HashSet::new(),
            pages_read: 0,
            records_read: 0,
        }
    }

    /// Every environment of a connection: [`pages`](Self::pages) collected.
    pub async fn list_environments(&self, connection: &ConnectionId) -> Result<Vec<Environment>> {
        let mut pages = self.pages(connection);
        let mut environments = Vec::new();
        while let Some(page) = pages.next_page().await {
            environments.extend(page?);
        }
        Ok(environments)
    }

    /// The environment of this connection whose name is exactly `name` (no trimming, case
    /// sensitive), if any. Reads pages until it is found.
    pub async fn find_environment(
        &self,
        connection: &ConnectionId,
        name: &str,
    ) -> Result<Option<Environment>> {
        self.pages(connection).find(|e| e.name == name).await
    }

    /// The environment of this connection with this id, if any. Omni has no endpoint to read
    /// one environment, so this reads pages until it is found.
    pub async fn find_environment_by_id(
        &self,
        connection: &ConnectionId,
        id: &EnvironmentId,
    ) -> Result<Option<Environment>> {
        self.pages(connection).find(|e| e.id == *id).await
    }
}
