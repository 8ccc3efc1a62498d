//! The response shapes the sandbox sends, field for field as Omni's spec declares them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A dbt environment as the API returns it (the spec's `DbtEnvironmentItem`).
///
/// Every field the spec marks required is always serialized; absent optional values are `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentView {
    /// Unique environment identifier.
    pub id: Uuid,
    /// Environment name.
    pub name: String,
    /// Whether this is the connection's default (production) environment.
    pub is_default_environment: bool,
    /// Owner's user id, or `null`.
    pub owner_id: Option<String>,
    /// Target database override, or `null`.
    pub target_database: Option<String>,
    /// Target name override, or `null`.
    pub target_name: Option<String>,
    /// Target role override, or `null`.
    pub target_role: Option<String>,
    /// Target schema.
    pub target_schema: String,
    /// Environment variables; secret values are `null`.
    pub variables: Vec<VariableView>,
}

/// A variable as the API returns it (the spec's `DbtEnvironmentResponseVariable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableView {
    /// Variable id.
    pub id: Uuid,
    /// Variable name.
    pub name: String,
    /// The value, or `null` for a secret variable.
    pub value: Option<String>,
    /// Whether the value is secret.
    pub is_secret: bool,
}

/// One page of environments (the spec's `DbtEnvironmentListResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentPage {
    /// Where this page sits in the whole list.
    pub page_info: PageInfo,
    /// The environments on this page.
    pub records: Vec<EnvironmentView>,
}

/// Pagination facts of one page (the spec's `PageInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// Whether another page follows.
    pub has_next_page: bool,
    /// The opaque cursor of the next page, or `null` on the last page.
    pub next_cursor: Option<String>,
    /// The page size used for this page.
    pub page_size: u32,
    /// The number of environments in the connection.
    pub total_records: u64,
}

/// The body of a successful delete (the spec's `DbtEnvironmentDeleteResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteResponse {
    /// Confirmation message.
    pub message: String,
    /// Always `true`.
    pub success: bool,
}
