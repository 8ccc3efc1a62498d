//! The JSONL of an export: one object a line in the API's create shape plus `connectionId`,
//! which can hold every environment (an empty plain value included).

use std::borrow::Cow;

use omni_dbt_core::{ConnectionId, Environment};
use serde::Serialize;

use super::shape::{exported, optional};

/// One line of a JSONL export, keys in the order the input's columns are.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    connection_id: ConnectionId,
    name: &'a str,
    target_schema: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_database: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    variables: Vec<Variable<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Variable<'a> {
    name: &'a str,
    value: Cow<'a, str>,
    is_secret: bool,
}

/// Encodes the lines of a JSONL export into one reused buffer.
#[derive(Debug, Default)]
pub(crate) struct JsonlRows {
    buf: Vec<u8>,
}

impl JsonlRows {
    /// The line of `environment`, `\n` included.
    pub(crate) fn row(
        &mut self,
        connection: &ConnectionId,
        environment: &Environment,
    ) -> serde_json::Result<&[u8]> {
        let row = Row {
            connection_id: *connection,
            name: &environment.name,
            target_schema: &environment.target_schema,
            target_database: optional(&environment.target_database),
            target_name: optional(&environment.target_name),
            target_role: optional(&environment.target_role),
            owner_id: optional(&environment.owner_id),
            variables: environment
                .variables
                .iter()
                .map(|variable| {
                    let exported = exported(variable);
                    Variable {
                        name: exported.name,
                        value: exported.value,
                        is_secret: exported.secret,
                    }
                })
                .collect(),
        };
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &row)?;
        self.buf.push(b'\n');
        Ok(&self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_the_create_shape_with_empty_values_kept_and_secrets_referenced() {
        let env: Environment = serde_json::from_value(serde_json::json!({
            "id": "7d444840-9dc0-11d1-b245-5ffdce74fad2", "name": "=dev", "targetSchema": "s",
            "targetDatabase": "db", "targetRole": "", "ownerId": null, "isDefaultEnvironment": false,
            "variables": [
                {"id": "v1", "name": "EMPTY", "value": "", "isSecret": false},
                {"id": "v2", "name": "KEY", "value": null, "isSecret": true}
            ]
        }))
        .unwrap();
        let connection = "550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
        let line = JsonlRows::default()
            .row(&connection, &env)
            .unwrap()
            .to_vec();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "{\"connectionId\":\"550e8400-e29b-41d4-a716-446655440000\",\"name\":\"=dev\",\
             \"targetSchema\":\"s\",\"targetDatabase\":\"db\",\"variables\":[\
             {\"name\":\"EMPTY\",\"value\":\"\",\"isSecret\":false},\
             {\"name\":\"KEY\",\"value\":\"${env:KEY}\",\"isSecret\":true}]}\n"
        );
    }
}
