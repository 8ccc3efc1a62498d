//! `validate`'s problems in the format asked for: `FILE:LINE: field: message` lines on stderr
//! (human), or on stdout one JSON object per problem (json) or one GitHub Actions annotation
//! per problem (github). Each problem is placed on its own line of the input.

mod github;
mod json;

use clap::ValueEnum;
use omni_dbt_batch::{ExitStatus, InputError, InputSource, RowProblem, RunError, ScanReport};

use super::{describe, refuse};

/// How `validate` prints problems.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(super) enum MessageFormat {
    /// `FILE:LINE: field: message` lines on stderr.
    #[default]
    Human,
    /// One JSON object per problem per line on stdout: file, line, column, row, field, message.
    Json,
    /// GitHub Actions workflow commands on stdout (`::error file=F,line=L,title=T::message`):
    /// annotations on the lines of a pull request.
    Github,
}

/// One problem, placed as precisely as it is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Message {
    /// The input as given (`None` for stdin, which no annotation can point at).
    pub file: Option<String>,
    /// 1-based line of the input.
    pub line: Option<u64>,
    /// 1-based column, when known (JSON syntax errors).
    pub column: Option<u64>,
    /// 1-based data row.
    pub row: Option<u64>,
    /// The field, spelt as in the input.
    pub field: Option<String>,
    /// What is wrong (never a variable's value).
    pub text: String,
}

impl Message {
    /// One message per problem of an invalid row, each on the line of its own value.
    fn of_row(file: Option<&str>, problem: &RowProblem) -> Vec<Self> {
        let whole_row = Self {
            file: file.map(str::to_owned),
            line: Some(problem.line),
            column: problem.column,
            row: Some(problem.row),
            field: None,
            text: "invalid row".to_owned(),
        };
        if problem.problems.is_empty() {
            return vec![whole_row];
        }
        problem
            .problems
            .iter()
            .enumerate()
            .map(|(i, error)| Self {
                line: Some(problem.line_of(i)),
                // The column is known for the first problem only.
                column: if i == 0 { problem.column } else { None },
                field: Some(error.field.clone()),
                text: error.message.clone(),
                ..whole_row.clone()
            })
            .collect()
    }

    /// The message of an input that cannot be read at all: `text` without the `NAME:LINE: `
    /// it starts with, since the properties say where.
    fn of_input_error(
        file: Option<&str>,
        display_name: &str,
        line: Option<u64>,
        text: &str,
    ) -> Self {
        let prefix = match line {
            Some(line) => format!("{display_name}:{line}: "),
            None => format!("{display_name}: "),
        };
        Self {
            file: file.map(str::to_owned),
            line,
            column: None,
            row: None,
            field: None,
            text: text.strip_prefix(&prefix).unwrap_or(text).to_owned(),
        }
    }

    /// A short heading: the field and its row, when known.
    fn title(&self) -> String {
        match (&self.field, self.row) {
            (Some(field), Some(row)) => format!("{field} (row {row})"),
            (Some(field), None) => field.clone(),
            (None, _) => "invalid input".to_owned(),
        }
    }

    /// The line printed for `format` (human messages are printed elsewhere).
    fn render(&self, format: MessageFormat) -> Option<String> {
        match format {
            MessageFormat::Human => None,
            MessageFormat::Json => Some(json::object(self)),
            MessageFormat::Github => Some(github::annotation(self)),
        }
    }
}

/// Prints the invalid rows in `format`, then why nothing was sent; returns the exit status.
pub(super) fn refuse_rows(
    format: MessageFormat,
    source: &InputSource,
    report: ScanReport,
) -> ExitStatus {
    if format != MessageFormat::Human {
        let file = annotated_file(source);
        for problem in &report.problems {
            print(format, &Message::of_row(file.as_deref(), problem));
        }
        let unlisted = report.invalid.saturating_sub(report.problems.len() as u64);
        if unlisted > 0 {
            eprintln!("... and {unlisted} more invalid rows (raise --max-problems to list them)");
        }
    }
    let error = RunError::InvalidRows {
        file: source.display_name(),
        report: Box::new(report),
    };
    match format {
        MessageFormat::Human => refuse(error),
        MessageFormat::Json | MessageFormat::Github => {
            let status = error.exit_status();
            eprintln!("error: {}", describe(&anyhow::Error::new(error)));
            status
        }
    }
}

/// Prints why the input cannot be read, in `format` (and in words on stderr); returns the
/// exit status.
pub(super) fn refuse_input(
    format: MessageFormat,
    source: &InputSource,
    error: InputError,
) -> ExitStatus {
    let line = error.line();
    let text = describe(&anyhow::Error::new(error));
    let file = annotated_file(source);
    let message = Message::of_input_error(file.as_deref(), &source.display_name(), line, &text);
    print(format, &[message]);
    eprintln!("error: {text}");
    ExitStatus::Usage
}

/// The file an annotation names: the path as given; none for stdin.
fn annotated_file(source: &InputSource) -> Option<String> {
    match source {
        InputSource::Path(_) => Some(source.display_name()),
        InputSource::Stdin => None,
    }
}

fn print(format: MessageFormat, messages: &[Message]) {
    for line in messages.iter().filter_map(|m| m.render(format)) {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests;
