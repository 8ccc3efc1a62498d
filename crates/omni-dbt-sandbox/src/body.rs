//! Request bodies of create and update: content type, JSON parsing and field validation into typed requests.
//!
//! Validation follows Omni's spec (`DbtEnvironmentCreateBody`, `DbtEnvironmentUpdateBody`) and
//! docs: every problem is reported, each prefixed by its field path (`variables[2].isSecret`).
//! Messages never echo variable values.

use std::collections::HashSet;

use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::problem::ApiError;

/// A validated create body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CreateRequest {
    pub(crate) name: String,
    pub(crate) target_schema: String,
    pub(crate) owner_id: Option<Uuid>,
    pub(crate) target_database: Option<String>,
    pub(crate) target_name: Option<String>,
    pub(crate) target_role: Option<String>,
    pub(crate) variables: Vec<NewVariable>,
}

/// A new variable: name, value and whether it is secret.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct NewVariable {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) is_secret: bool,
}

impl std::fmt::Debug for NewVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewVariable")
            .field("name", &self.name)
            .field("is_secret", &self.is_secret)
            .finish_non_exhaustive()
    }
}

/// A validated update body. `None` means "not sent, keep the stored value".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpdateRequest {
    pub(crate) name: String,
    pub(crate) target_schema: String,
    pub(crate) owner_id: Option<Option<Uuid>>,
    pub(crate) target_database: Option<Option<String>>,
    pub(crate) target_name: Option<Option<String>>,
    pub(crate) target_role: Option<Option<String>>,
    pub(crate) variables: Option<Vec<VariableChange>>,
}

/// One entry of an update's `variables`: change an existing variable, or add one.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum VariableChange {
    /// An entry with `id`: change `isSecret`, and the value when one is given.
    Update {
        index: usize,
        id: Uuid,
        is_secret: bool,
        value: Option<String>,
    },
    /// An entry without `id`: a new variable.
    Add { index: usize, variable: NewVariable },
}

impl std::fmt::Debug for VariableChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VariableChange::Update {
                index,
                id,
                is_secret,
                value,
            } => f
                .debug_struct("Update")
                .field("index", index)
                .field("id", id)
                .field("is_secret", is_secret)
                .field("value_sent", &value.is_some())
                .finish(),
            VariableChange::Add { index, variable } => f
                .debug_struct("Add")
                .field("index", index)
                .field("variable", variable)
                .finish(),
        }
    }
}

/// Parses a path id: a UUID in its hyphenated form, else 400 naming the parameter.
pub(crate) fn parse_path_uuid(raw: &str, parameter: &str) -> Result<Uuid, ApiError> {
    parse_uuid(raw).ok_or_else(|| ApiError::field(parameter, "must be a UUID"))
}

/// Parses a UUID in its hyphenated 36-character form (the spec's `format: uuid`).
pub(crate) fn parse_uuid(raw: &str) -> Option<Uuid> {
    if raw.len() != 36 {
        return None;
    }
    Uuid::try_parse(raw).ok()
}

/// Parses and validates a create body.
pub(crate) fn parse_create(headers: &HeaderMap, body: &[u8]) -> Result<CreateRequest, ApiError> {
    let object = json_object(headers, body)?;
    let mut problems = Problems::default();
    let name = required_string(&object, "name", &mut problems);
    let target_schema = required_string(&object, "targetSchema", &mut problems);
    let owner_id = owner_id(&object, &mut problems).flatten();
    let target_database = nullable_string(&object, "targetDatabase", &mut problems).flatten();
    let target_name = nullable_string(&object, "targetName", &mut problems).flatten();
    let target_role = nullable_string(&object, "targetRole", &mut problems).flatten();
    let variables = match variables_array(&object, &mut problems) {
        Some(items) => new_variables(items, &mut problems),
        None => Vec::new(),
    };
    problems.finish()?;
    Ok(CreateRequest {
        name: name.unwrap_or_default(),
        target_schema: target_schema.unwrap_or_default(),
        owner_id,
        target_database,
        target_name,
        target_role,
        variables,
    })
}

/// Parses and validates an update body (the spec requires `name` and `targetSchema`).
pub(crate) fn parse_update(headers: &HeaderMap, body: &[u8]) -> Result<UpdateRequest, ApiError> {
    let object = json_object(headers, body)?;
    let mut problems = Problems::default();
    let name = required_string(&object, "name", &mut problems);
    let target_schema = required_string(&object, "targetSchema", &mut problems);
    let owner_id = owner_id(&object, &mut problems);
    let target_database = nullable_string(&object, "targetDatabase", &mut problems);
    let target_name = nullable_string(&object, "targetName", &mut problems);
    let target_role = nullable_string(&object, "targetRole", &mut problems);
    let variables =
        variables_array(&object, &mut problems).map(|items| variable_changes(items, &mut problems));
    problems.finish()?;
    Ok(UpdateRequest {
        name: name.unwrap_or_default(),
        target_schema: target_schema.unwrap_or_default(),
        owner_id,
        target_database,
        target_name,
        target_role,
        variables,
    })
}

/// Every problem found in one body; turned into one 400 naming them all.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, field: &str, message: &str) {
        self.0.push(format!("{field}: {message}"));
    }

    fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::bad_request(self.0.join("; ")))
        }
    }
}

fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    check_json_content_type(headers)?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::field("body", &format!("malformed JSON ({e})")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(ApiError::field("body", "must be a JSON object")),
    }
}

/// 400 unless the `Content-Type` is `application/json` (parameters such as charset allowed).
fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else if content_type.is_empty() {
        Err(ApiError::field(
            "Content-Type",
            "missing; expected application/json",
        ))
    } else {
        Err(ApiError::field("Content-Type", "expected application/json"))
    }
}

fn required_string(
    object: &Map<String, Value>,
    key: &str,
    problems: &mut Problems,
) -> Option<String> {
    match object.get(key) {
        None | Some(Value::Null) => {
            problems.add(key, "is required");
            None
        }
        Some(Value::String(s)) if s.is_empty() => {
            problems.add(key, "must not be empty");
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.add(key, "must be a string");
            None
        }
    }
}

/// `None`: absent. `Some(None)`: explicit null. `Some(Some(s))`: a string.
fn nullable_string(
    object: &Map<String, Value>,
    key: &str,
    problems: &mut Problems,
) -> Option<Option<String>> {
    match object.get(key)? {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        _ => {
            problems.add(key, "must be a string or null");
            None
        }
    }
}

fn owner_id(object: &Map<String, Value>, problems: &mut Problems) -> Option<Option<Uuid>> {
    match nullable_string(object, "ownerId", problems)? {
        None => Some(None),
        Some(raw) => match parse_uuid(&raw) {
            Some(id) => Some(Some(id)),
            None => {
                problems.add("ownerId", "must be a UUID or null");
                None
            }
        },
    }
}

/// The `variables` array when sent; a sent array must hold at least one entry (Omni's docs).
fn variables_array<'a>(
    object: &'a Map<String, Value>,
    problems: &mut Problems,
) -> Option<&'a [Value]> {
    match object.get("variables")? {
        Value::Array(items) if items.is_empty() => {
            problems.add(
                "variables",
                "must hold at least one variable when present (omit it for none)",
            );
            None
        }
        Value::Array(items) => Some(items),
        _ => {
            problems.add("variables", "must be an array");
            None
        }
    }
}

fn new_variables(items: &[Value], problems: &mut Problems) -> Vec<NewVariable> {
    let mut names = HashSet::new();
    let mut variables = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = format!("variables[{index}]");
        let Some(entry) = item.as_object() else {
            problems.add(&path, "must be an object");
            continue;
        };
        if let Some(variable) = new_variable(entry, &path, problems) {
            if !names.insert(variable.name.clone()) {
                problems.add(&format!("{path}.name"), "duplicate variable name");
            }
            variables.push(variable);
        }
    }
    variables
}

fn new_variable(
    entry: &Map<String, Value>,
    path: &str,
    problems: &mut Problems,
) -> Option<NewVariable> {
    let name = match entry.get("name") {
        None | Some(Value::Null) => field_problem(problems, path, "name", "is required"),
        Some(Value::String(s)) if s.is_empty() => {
            field_problem(problems, path, "name", "must not be empty")
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => field_problem(problems, path, "name", "must be a string"),
    };
    let value = match entry.get("value") {
        None | Some(Value::Null) => field_problem(problems, path, "value", "is required"),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => field_problem(problems, path, "value", "must be a string"),
    };
    let is_secret = required_bool(entry, path, problems);
    Some(NewVariable {
        name: name?,
        value: value?,
        is_secret: is_secret?,
    })
}

fn required_bool(entry: &Map<String, Value>, path: &str, problems: &mut Problems) -> Option<bool> {
    match entry.get("isSecret") {
        None | Some(Value::Null) => field_problem(problems, path, "isSecret", "is required"),
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => field_problem(problems, path, "isSecret", "must be a boolean"),
    }
}

fn field_problem<T>(problems: &mut Problems, path: &str, key: &str, message: &str) -> Option<T> {
    problems.add(&format!("{path}.{key}"), message);
    None
}

fn variable_changes(items: &[Value], problems: &mut Problems) -> Vec<VariableChange> {
    let mut changes = Vec::with_capacity(items.len());
    let mut new_names = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("variables[{index}]");
        let Some(entry) = item.as_object() else {
            problems.add(&path, "must be an object");
            continue;
        };
        let change = if entry.contains_key("id") {
            variable_update(entry, index, &path, problems)
        } else {
            let added = new_variable(entry, &path, problems);
            if let Some(variable) = &added {
                if !new_names.insert(variable.name.clone()) {
                    problems.add(&format!("{path}.name"), "duplicate variable name");
                }
            }
            added.map(|variable| VariableChange::Add { index, variable })
        };
        changes.extend(change);
    }
    changes
}

/// `DbtEnvironmentVariableUpdate`: `id` and `isSecret` required, `value` optional, nothing else.
fn variable_update(
    entry: &Map<String, Value>,
    index: usize,
    path: &str,
    problems: &mut Problems,
) -> Option<VariableChange> {
    for key in entry.keys() {
        if !matches!(key.as_str(), "id" | "isSecret" | "value") {
            let message = if key == "name" {
                "variable names cannot be changed; omit name when id is given"
            } else {
                "unknown field in a variable update (allowed: id, isSecret, value)"
            };
            problems.add(&format!("{path}.{key}"), message);
        }
    }
    let id = match entry.get("id") {
        Some(Value::String(raw)) => parse_uuid(raw),
        _ => None,
    };
    let id = match id {
        Some(id) => Some(id),
        None => field_problem(problems, path, "id", "must be a UUID"),
    };
    let is_secret = required_bool(entry, path, problems);
    let value = match entry.get("value") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => field_problem(problems, path, "value", "must be a string or null"),
    };
    Some(VariableChange::Update {
        index,
        id: id?,
        is_secret: is_secret?,
        value: value?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn json_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers
    }

    fn create_error(body: &str) -> String {
        match parse_create(&json_headers(), body.as_bytes()) {
            Ok(request) => panic!("expected an error, got {request:?}"),
            Err(e) => e.detail().to_owned(),
        }
    }

    #[test]
    fn create_accepts_the_minimal_body_with_nulls_as_absent() {
        let request = parse_create(
            &json_headers(),
            br#"{"name":"dev","targetSchema":"s","targetRole":null}"#,
        )
        .unwrap();
        assert_eq!(request.name, "dev");
        assert_eq!(request.target_role, None);
        assert!(request.variables.is_empty());
    }

    #[test]
    fn create_names_every_missing_field_at_once() {
        let detail = create_error(r#"{"variables":[{"name":"A"}]}"#);
        assert_eq!(
            detail,
            "name: is required; targetSchema: is required; variables[0].value: is required; \
             variables[0].isSecret: is required"
        );
    }

    #[test]
    fn create_rejects_a_non_uuid_owner_and_an_empty_variables_array() {
        let detail =
            create_error(r#"{"name":"a","targetSchema":"s","ownerId":"bob","variables":[]}"#);
        assert!(detail.contains("ownerId: must be a UUID"), "{detail}");
        assert!(
            detail.contains("variables: must hold at least one"),
            "{detail}"
        );
    }

    #[test]
    fn create_error_never_echoes_a_variable_value() {
        let detail = create_error(
            r#"{"name":"a","targetSchema":"s","variables":[{"name":"K","value":"hunter2","isSecret":"yes"}]}"#,
        );
        assert_eq!(detail, "variables[0].isSecret: must be a boolean");
        assert!(!detail.contains("hunter2"));
    }

    #[test]
    fn wrong_content_type_is_rejected_before_parsing() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let err = parse_create(&headers, b"{}").unwrap_err();
        assert_eq!(err.detail(), "Content-Type: expected application/json");
    }

    #[test]
    fn update_with_id_rejects_a_name_and_accepts_a_missing_value() {
        let err = parse_update(
            &json_headers(),
            br#"{"name":"a","targetSchema":"s","variables":[{"id":"247dc6dc-2a58-4688-9521-c5ed3e99c1e8","isSecret":true,"name":"X"}]}"#,
        )
        .unwrap_err();
        assert!(err
            .detail()
            .starts_with("variables[0].name: variable names cannot be changed"));

        let ok = parse_update(
            &json_headers(),
            br#"{"name":"a","targetSchema":"s","variables":[{"id":"247dc6dc-2a58-4688-9521-c5ed3e99c1e8","isSecret":true}]}"#,
        )
        .unwrap();
        assert!(matches!(
            ok.variables.as_deref(),
            Some([VariableChange::Update {
                value: None,
                is_secret: true,
                ..
            }])
        ));
        assert_eq!(ok.owner_id, None, "absent ownerId means keep");
    }

    #[test]
    fn path_ids_must_be_hyphenated_uuids() {
        assert!(parse_path_uuid("247dc6dc-2a58-4688-9521-c5ed3e99c1e8", "connectionId").is_ok());
        let simple = parse_path_uuid("247dc6dc2a5846889521c5ed3e99c1e8", "connectionId");
        assert_eq!(simple.unwrap_err().detail(), "connectionId: must be a UUID");
    }

    #[test]
    fn debug_of_a_new_variable_hides_its_value() {
        let variable = NewVariable {
            name: "K".into(),
            value: "hunter2".into(),
            is_secret: true,
        };
        assert!(!format!("{variable:?}").contains("hunter2"));
        let change = VariableChange::Update {
            index: 0,
            id: Uuid::nil(),
            is_secret: true,
            value: Some("hunter2".into()),
        };
        assert!(!format!("{change:?}").contains("hunter2"));
    }
}
