//! A problem as a GitHub Actions workflow command (`::error file=F,line=L,title=T::message`),
//! which GitHub shows as an annotation on that line of a pull request.

use super::Message;

/// The `::error` command of `message`.
pub(super) fn annotation(message: &Message) -> String {
    let mut properties = Vec::new();
    if let Some(file) = &message.file {
        properties.push(format!("file={}", escape_property(file)));
    }
    if let Some(line) = message.line {
        properties.push(format!("line={line}"));
    }
    if let Some(column) = message.column {
        properties.push(format!("col={column}"));
    }
    properties.push(format!("title={}", escape_property(&message.title())));
    format!(
        "::error {}::{}",
        properties.join(","),
        escape_data(&message.text)
    )
}

/// A command's message: `%`, CR and LF would end or corrupt the command, so GitHub reads
/// them percent-encoded.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as a message, and `:` and `,` too, which separate properties.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            file: Some("envs/prod.csv".into()),
            line: Some(7),
            column: None,
            row: Some(6),
            field: Some("target_schema".into()),
            text: "must not be empty or blank".into(),
        }
    }

    #[test]
    fn a_row_problem_is_an_error_on_its_file_and_line() {
        assert_eq!(
            annotation(&message()),
            "::error file=envs/prod.csv,line=7,title=target_schema (row 6)::must not be empty or blank"
        );
    }

    #[test]
    fn percent_newlines_colons_and_commas_are_escaped_where_github_needs_it() {
        let tricky = Message {
            file: Some("a,b:c%.csv".into()),
            column: Some(3),
            field: Some("var:X,Y".into()),
            text: "50% bad\r\nsee: a, b".into(),
            ..message()
        };
        assert_eq!(
            annotation(&tricky),
            "::error file=a%2Cb%3Ac%25.csv,line=7,col=3,title=var%3AX%2CY (row 6)::50%25 bad%0D%0Asee: a, b"
        );
    }

    #[test]
    fn stdin_has_no_file_property() {
        let from_stdin = Message {
            file: None,
            row: None,
            field: None,
            line: None,
            ..message()
        };
        assert_eq!(
            annotation(&from_stdin),
            "::error title=invalid input::must not be empty or blank"
        );
    }
}
