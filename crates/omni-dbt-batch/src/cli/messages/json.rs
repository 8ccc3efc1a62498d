//! A problem as one JSON object on one line: `file`, `line`, `column`, `row`, `field` when
//! known, and `message`.

use serde::Serialize;

use super::Message;

/// The object's fields, in the order they are written.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    message: &'a str,
}

/// The JSON line of `message` (without its newline).
pub(super) fn object(message: &Message) -> String {
    let problem = Problem {
        file: message.file.as_deref(),
        line: message.line,
        column: message.column,
        row: message.row,
        field: message.field.as_deref(),
        message: &message.text,
    };
    // Strings, numbers and options only: serializing cannot fail.
    serde_json::to_string(&problem).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn known_places_are_numbers_and_unknown_ones_are_left_out() {
        let message = Message {
            file: Some("envs.jsonl".into()),
            line: Some(3),
            column: Some(17),
            row: Some(2),
            field: Some("targetSchema".into()),
            text: "expected \"a string\"\nhere".into(),
        };
        assert_eq!(
            object(&message),
            r#"{"file":"envs.jsonl","line":3,"column":17,"row":2,"field":"targetSchema","message":"expected \"a string\"\nhere"}"#
        );
        let fatal = Message {
            column: None,
            row: None,
            field: None,
            ..message
        };
        let value: Value = serde_json::from_str(&object(&fatal)).unwrap();
        assert_eq!(value.get("column"), None);
        assert_eq!(value["line"], 3);
    }
}
