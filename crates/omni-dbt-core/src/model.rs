//! The wire types of Omni's dbt-environment endpoints, mirroring Omni's OpenAPI spec.
//!
//! Requests serialize in camelCase with `None` fields omitted; responses ignore unknown fields.
//! Secret variable values are [`SecretString`]s: they are exposed only while a request body is
//! serialized, never through `Debug`.

use std::fmt;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

macro_rules! uuid_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn new(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

uuid_newtype!(
    /// The id of an Omni connection (a UUID).
    ///
    /// ```
    /// use omni_dbt_core::ConnectionId;
    /// let id: ConnectionId = "550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
    /// assert_eq!(id.to_string(), "550e8400-e29b-41d4-a716-446655440000");
    /// ```
    ConnectionId
);

uuid_newtype!(
    /// The id of a dbt environment (a UUID).
    EnvironmentId
);

/// The value of a variable in a request: plain text, or a secret that never shows in `Debug`.
#[derive(Clone)]
pub enum VariableValue {
    /// A value Omni returns as it was sent.
    Plain(String),
    /// A value Omni stores as secret and never returns (`isSecret: true`).
    Secret(SecretString),
}

impl VariableValue {
    /// Whether this value is sent with `isSecret: true`.
    pub fn is_secret(&self) -> bool {
        matches!(self, Self::Secret(_))
    }

    /// The plain value, or `None` for a secret.
    pub fn plain(&self) -> Option<&str> {
        match self {
            Self::Plain(value) => Some(value),
            Self::Secret(_) => None,
        }
    }

    /// The secret text, for the client to keep it out of error messages; `None` when plain.
    pub(crate) fn secret_text(&self) -> Option<&str> {
        match self {
            Self::Plain(_) => None,
            Self::Secret(secret) => Some(secret.expose_secret()),
        }
    }

    /// The text to put on the wire. Only request serialization should call this.
    fn wire(&self) -> &str {
        match self {
            Self::Plain(value) => value,
            Self::Secret(secret) => secret.expose_secret(),
        }
    }
}

impl fmt::Debug for VariableValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(value) => f.debug_tuple("Plain").field(value).finish(),
            Self::Secret(_) => f.write_str("Secret([REDACTED])"),
        }
    }
}

/// A variable in a create request: `{name, value, isSecret}`, all three always sent.
///
/// ```
/// use omni_dbt_core::NewVariable;
/// let var = NewVariable::secret("DBT_API_KEY", "hunter2");
/// assert!(!format!("{var:?}").contains("hunter2"));
/// let json = serde_json::to_value(&var).unwrap();
/// assert_eq!(json["isSecret"], true);
/// assert_eq!(json["value"], "hunter2");
/// ```
#[derive(Clone, Debug)]
pub struct NewVariable {
    /// The variable's name (non-empty, unique within the environment).
    pub name: String,
    /// Its value, plain or secret.
    pub value: VariableValue,
}

impl NewVariable {
    /// A plain variable.
    pub fn plain(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: VariableValue::Plain(value.into()),
        }
    }

    /// A secret variable.
    pub fn secret(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: VariableValue::Secret(SecretString::from(value.into())),
        }
    }
}

impl Serialize for NewVariable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("NewVariable", 3)?;
        s.serialize_field("name", &self.name)?;
        s.serialize_field("value", self.value.wire())?;
        s.serialize_field("isSecret", &self.value.is_secret())?;
        s.end()
    }
}

/// The body of a create request (`DbtEnvironmentCreateBody`).
///
/// ```
/// use omni_dbt_core::{NewEnvironment, NewVariable};
/// let env = NewEnvironment::new("dev_alice", "dbt_alice")
///     .with_target_database("analytics")
///     .with_variable(NewVariable::plain("DBT_TARGET", "dev"));
/// let json = serde_json::to_value(&env).unwrap();
/// assert_eq!(json["targetSchema"], "dbt_alice");
/// assert!(json.get("ownerId").is_none(), "None fields are omitted");
/// ```
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEnvironment {
    /// The environment's name (required, non-blank).
    pub name: String,
    /// The dbt target schema (required, non-blank).
    pub target_schema: String,
    /// The owner's user id, a UUID. Honoured only for Organization API keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// Target database override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_database: Option<String>,
    /// Target name override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// Target role override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_role: Option<String>,
    /// Variables; when present, at least one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<NewVariable>>,
}

impl NewEnvironment {
    /// A create body with the two required fields.
    pub fn new(name: impl Into<String>, target_schema: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            target_schema: target_schema.into(),
            ..Self::default()
        }
    }

    /// Sets the owner's user id.
    pub fn with_owner_id(mut self, owner_id: impl Into<String>) -> Self {
        self.owner_id = Some(owner_id.into());
        self
    }

    /// Sets the target database override.
    pub fn with_target_database(mut self, database: impl Into<String>) -> Self {
        self.target_database = Some(database.into());
        self
    }

    /// Sets the target name override.
    pub fn with_target_name(mut self, target_name: impl Into<String>) -> Self {
        self.target_name = Some(target_name.into());
        self
    }

    /// Sets the target role override.
    pub fn with_target_role(mut self, role: impl Into<String>) -> Self {
        self.target_role = Some(role.into());
        self
    }

    /// Adds a variable.
    pub fn with_variable(mut self, variable: NewVariable) -> Self {
        self.variables.get_or_insert_with(Vec::new).push(variable);
        self
    }

    /// The secret variable values of this body (for redaction only).
    pub(crate) fn secret_texts(&self) -> impl Iterator<Item = &str> {
        self.variables
            .iter()
            .flatten()
            .filter_map(|variable| variable.value.secret_text())
    }

    /// Checks the body against Omni's rules; see [`crate::validate()`].
    pub fn validate(&self) -> Result<(), crate::ValidationErrors> {
        crate::validate::validate(self)
    }
}

/// A variable as Omni returns it: secret values come back as `null`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    /// The variable's id.
    #[serde(default)]
    pub id: Option<String>,
    /// Its name.
    pub name: String,
    /// Its value; `None` for secrets.
    #[serde(default)]
    pub value: Option<String>,
    /// Whether it is secret.
    #[serde(default)]
    pub is_secret: bool,
}

/// A dbt environment as Omni returns it (`DbtEnvironmentItem`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    /// Its id.
    pub id: EnvironmentId,
    /// Its name.
    pub name: String,
    /// Whether this is the connection's default (production) environment.
    #[serde(default)]
    pub is_default_environment: bool,
    /// The owner's user id, if it is a personal environment.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Target database override.
    #[serde(default)]
    pub target_database: Option<String>,
    /// Target name override.
    #[serde(default)]
    pub target_name: Option<String>,
    /// Target role override.
    #[serde(default)]
    pub target_role: Option<String>,
    /// Target schema.
    #[serde(default)]
    pub target_schema: String,
    /// Variables; secret values are `None`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub variables: Vec<Variable>,
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A variable in an update request: an existing one by id, or a new one.
#[derive(Clone, Debug)]
pub enum VariableUpdate {
    /// Changes an existing variable (names cannot change). `value: None` keeps a secret's value.
    Existing {
        /// The variable's id, from [`Variable::id`].
        id: String,
        /// Whether it is secret.
        is_secret: bool,
        /// The new value, or `None` to keep the current one.
        value: Option<VariableValue>,
    },
    /// Adds a variable.
    New(NewVariable),
}

impl Serialize for VariableUpdate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::New(variable) => variable.serialize(serializer),
            Self::Existing {
                id,
                is_secret,
                value,
            } => {
                let mut s = serializer.serialize_struct("VariableUpdate", 3)?;
                s.serialize_field("id", id)?;
                s.serialize_field("isSecret", is_secret)?;
                if let Some(value) = value {
                    s.serialize_field("value", value.wire())?;
                }
                s.end()
            }
        }
    }
}

/// The body of an update request (`DbtEnvironmentUpdateBody`). Omni's spec requires `name` and
/// `targetSchema`, so they are always sent; `None` fields are omitted and left unchanged.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentUpdate {
    /// The environment's name.
    pub name: String,
    /// The dbt target schema.
    pub target_schema: String,
    /// The owner's user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// Target database override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_database: Option<String>,
    /// Target name override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// Target role override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_role: Option<String>,
    /// Variables to change or add.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<VariableUpdate>>,
}

impl EnvironmentUpdate {
    /// The secret variable values of this body (for redaction only).
    pub(crate) fn secret_texts(&self) -> impl Iterator<Item = &str> {
        self.variables
            .iter()
            .flatten()
            .filter_map(|variable| match variable {
                VariableUpdate::Existing { value, .. } => value.as_ref()?.secret_text(),
                VariableUpdate::New(new) => new.value.secret_text(),
            })
    }
}

/// Pagination facts of a list page (`PageInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// Whether another page follows.
    #[serde(default)]
    pub has_next_page: bool,
    /// The cursor of the next page.
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// Records per page.
    #[serde(default, deserialize_with = "whole_number")]
    pub page_size: Option<u64>,
    /// Records in all pages.
    #[serde(default, deserialize_with = "whole_number")]
    pub total_records: Option<u64>,
}

/// A count that the spec types as `number`: `100` and `100.0` are accepted, `100.5` and `-1` are
/// not (a count that is not a whole number means the page cannot be trusted).
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Whole(u64),
        Float(f64),
    }

    // 2^64 as f64; every whole f64 below it converts exactly.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    match Option::<Number>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Number::Whole(n)) => Ok(Some(n)),
        Some(Number::Float(x)) if x.fract() == 0.0 && (0.0..LIMIT).contains(&x) => {
            // Whole and in range: the conversion is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(Some(x as u64))
        }
        Some(Number::Float(x)) => Err(serde::de::Error::custom(format_args!(
            "expected a whole, non-negative number, got {x}"
        ))),
    }
}

/// One page of a list response. Accepts the spec's `{pageInfo, records}` and a bare array (as
/// Omni's docs page shows), which is taken as the only page.
///
/// ```
/// use omni_dbt_core::EnvironmentPage;
/// let page: EnvironmentPage = serde_json::from_str("[]").unwrap();
/// assert!(page.records.is_empty() && page.next_cursor().is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentPage {
    /// The environments on this page.
    pub records: Vec<Environment>,
    /// Pagination facts; `None` for a bare array.
    pub page_info: Option<PageInfo>,
}

impl EnvironmentPage {
    /// The cursor to fetch the next page with, if there is one.
    pub fn next_cursor(&self) -> Option<&str> {
        let info = self.page_info.as_ref()?;
        let cursor = info.next_cursor.as_deref().filter(|c| !c.is_empty())?;
        info.has_next_page.then_some(cursor)
    }
}

impl<'de> Deserialize<'de> for EnvironmentPage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Paged {
            #[serde(default)]
            page_info: Option<PageInfo>,
            #[serde(default, deserialize_with = "null_as_empty")]
            records: Vec<Environment>,
        }

        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            Bare(Vec<Environment>),
            Paged(Paged),
        }

        Ok(match Shape::deserialize(deserializer)? {
            Shape::Bare(records) => Self {
                records,
                page_info: None,
            },
            Shape::Paged(paged) => Self {
                records: paged.records,
                page_info: paged.page_info,
            },
        })
    }
}

/// The body of a delete response: `{message, success}` (Omni's docs show `{success}` only).
///
/// The status is what says the delete succeeded; the body only confirms it. So an empty body
/// or `null` reads as success with no message, and so does an object without `success`.
///
/// ```
/// use omni_dbt_core::DeleteResponse;
/// let full: DeleteResponse = serde_json::from_str(r#"{"message": "deleted", "success": true}"#).unwrap();
/// assert_eq!(full.message.as_deref(), Some("deleted"));
/// let bare: DeleteResponse = serde_json::from_str("null").unwrap();
/// assert!(bare.success && bare.message.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeleteResponse {
    /// A confirmation message.
    pub message: Option<String>,
    /// Whether the deletion succeeded (`true` unless the body says otherwise).
    pub success: bool,
}

impl Default for DeleteResponse {
    fn default() -> Self {
        Self {
            message: None,
            success: true,
        }
    }
}

impl<'de> Deserialize<'de> for DeleteResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            success: Option<bool>,
        }

        Ok(
            Option::<Body>::deserialize(deserializer)?.map_or_else(Self::default, |body| Self {
                message: body.message,
                success: body.success.unwrap_or(true),
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_is_camel_case_and_omits_none() {
        let env = NewEnvironment::new("n", "s")
            .with_owner_id("550e8400-e29b-41d4-a716-446655440000")
            .with_variable(NewVariable::plain("A", "1"))
            .with_variable(NewVariable::secret("B", "topsecret"));
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "n",
                "targetSchema": "s",
                "ownerId": "550e8400-e29b-41d4-a716-446655440000",
                "variables": [
                    {"name": "A", "value": "1", "isSecret": false},
                    {"name": "B", "value": "topsecret", "isSecret": true}
                ]
            })
        );
        assert!(!format!("{env:?}").contains("topsecret"));
    }

    #[test]
    fn environment_parses_nulls_secrets_and_unknown_fields() {
        let json = r#"{
            "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890", "name": "Production dbt",
            "isDefaultEnvironment": false, "ownerId": null, "targetDatabase": "analytics_db",
            "targetName": null, "targetRole": null, "targetSchema": "analytics",
            "somethingNew": 42,
            "variables": [{"id": "c3d4e5f6-a7b8-9012-cdef-123456789012", "name": "K",
                           "value": null, "isSecret": true}]
        }"#;
        let env: Environment = serde_json::from_str(json).unwrap();
        assert_eq!(env.target_database.as_deref(), Some("analytics_db"));
        assert_eq!(env.owner_id, None);
        assert_eq!(env.variables[0].value, None);
        assert!(env.variables[0].is_secret);
    }

    #[test]
    fn page_accepts_both_shapes() {
        let paged: EnvironmentPage = serde_json::from_str(
            r#"{"pageInfo": {"hasNextPage": true, "nextCursor": "abc", "pageSize": 1,
                "totalRecords": 2}, "records": []}"#,
        )
        .unwrap();
        assert_eq!(paged.next_cursor(), Some("abc"));
        let last: EnvironmentPage = serde_json::from_str(
            r#"{"pageInfo": {"hasNextPage": false, "nextCursor": "abc"}, "records": []}"#,
        )
        .unwrap();
        assert_eq!(last.next_cursor(), None);
    }

    #[test]
    fn page_counts_may_be_whole_floats_but_not_fractions_or_negatives() {
        let info: PageInfo = serde_json::from_str(
            r#"{"hasNextPage": false, "nextCursor": null, "pageSize": 100.0, "totalRecords": 2.0}"#,
        )
        .unwrap();
        assert_eq!((info.page_size, info.total_records), (Some(100), Some(2)));
        let info: PageInfo =
            serde_json::from_str(r#"{"pageSize": 20, "totalRecords": null}"#).unwrap();
        assert_eq!((info.page_size, info.total_records), (Some(20), None));
        for bad in [
            r#"{"pageSize": 100.5}"#,
            r#"{"totalRecords": -1}"#,
            r#"{"pageSize": 1e30}"#,
        ] {
            let error = serde_json::from_str::<PageInfo>(bad).unwrap_err();
            assert!(error.to_string().contains("whole"), "{bad}: {error}");
        }
    }

    #[test]
    fn delete_response_reads_every_documented_shape_and_none() {
        let read = |body: &str| serde_json::from_str::<DeleteResponse>(body).unwrap();
        assert_eq!(
            read(r#"{"message": "gone", "success": true}"#)
                .message
                .as_deref(),
            Some("gone")
        );
        assert!(read(r#"{"success": true}"#).success);
        assert!(read("{}").success);
        assert!(read("null").success);
        assert!(!read(r#"{"success": false}"#).success);
    }

    #[test]
    fn update_keeps_secret_when_value_is_none() {
        let update = EnvironmentUpdate {
            name: "n".into(),
            target_schema: "s".into(),
            variables: Some(vec![VariableUpdate::Existing {
                id: "v1".into(),
                is_secret: true,
                value: None,
            }]),
            ..EnvironmentUpdate::default()
        };
        let json = serde_json::to_value(&update).unwrap();
        assert_eq!(
            json["variables"][0],
            serde_json::json!({"id": "v1", "isSecret": true})
        );
    }
}
