//! Problems become messages placed on their own lines, whatever the format.

use omni_dbt_core::FieldError;

use super::*;

/// A dbt output starting on line 4 whose `password` (line 9) and `schema` (no line of its
/// own) are wrong.
fn dbt_problem() -> RowProblem {
    RowProblem {
        row: 2,
        line: 4,
        column: None,
        connection_id: String::new(),
        name: "dev".into(),
        problems: vec![
            FieldError::new("password", "env_var('DBT_PASSWORD') is not set"),
            FieldError::new("schema", "is required"),
        ],
        problem_lines: Box::new([9]),
    }
}

#[test]
fn each_problem_of_a_row_is_on_the_line_of_its_own_value() {
    let messages = Message::of_row(Some("profiles.yml"), &dbt_problem());
    let placed: Vec<_> = messages
        .iter()
        .map(|m| (m.line, m.row, m.field.as_deref()))
        .collect();
    assert_eq!(
        placed,
        [
            (Some(9), Some(2), Some("password")),
            (Some(4), Some(2), Some("schema"))
        ]
    );
    assert_eq!(
        messages[0].render(MessageFormat::Github).unwrap(),
        "::error file=profiles.yml,line=9,title=password (row 2)::env_var('DBT_PASSWORD') is not set"
    );
}

#[test]
fn the_column_belongs_to_the_first_problem_only() {
    let problem = RowProblem {
        column: Some(12),
        problem_lines: Box::default(),
        ..dbt_problem()
    };
    let columns: Vec<_> = Message::of_row(Some("e.jsonl"), &problem)
        .iter()
        .map(|m| m.column)
        .collect();
    assert_eq!(columns, [Some(12), None]);
}

#[test]
fn a_row_without_listed_problems_is_still_one_message() {
    let problem = RowProblem {
        problems: Vec::new(),
        ..dbt_problem()
    };
    let messages = Message::of_row(None, &problem);
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].render(MessageFormat::Json).unwrap(),
        r#"{"line":4,"row":2,"message":"invalid row"}"#
    );
}

#[test]
fn a_fatal_error_loses_the_place_its_text_starts_with() {
    let error = InputError::UnknownColumn {
        file: "envs.csv".into(),
        line: 1,
        column: "target_shema".into(),
        position: 3,
        suggestion: Some("target_schema".into()),
    };
    let text = error.to_string();
    let message = Message::of_input_error(Some("envs.csv"), "envs.csv", error.line(), &text);
    assert_eq!(message.line, Some(1));
    assert!(
        message.text.starts_with("unknown column \"target_shema\""),
        "{}",
        message.text
    );
    assert_eq!(message.render(MessageFormat::Human), None);
    let annotation = message.render(MessageFormat::Github).unwrap();
    assert!(
        annotation.starts_with("::error file=envs.csv,line=1,title=invalid input::unknown column"),
        "{annotation}"
    );
}
