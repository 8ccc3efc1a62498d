//! Where a text runs `omni-dbt-batch`: the rest of each line that has the command where a
//! shell starts a command, continuation lines (`\`) joined.

/// The command's name, as recipes invoke it.
pub(super) const COMMAND: &str = "omni-dbt-batch";

/// What may stand before the command for it to be run there, rather than named in prose:
/// a shell operator, a YAML list item or `run:` key, a prompt, a comment's `#`.
const OPENERS: &[&str] = &["&&", "||", "|", ";", "$(", "(", " -", "$", "#", "run:"];
/// Words after which the next word is a command.
const PREFIX_WORDS: &[&str] = &["exec", "then", "do", "else", "time"];

/// A command line found in a text: its line (1-based within the text) and what follows the
/// command's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Found {
    /// 1-based line where the command starts.
    pub line: usize,
    /// The arguments' text, continuation lines joined.
    pub arguments: String,
}

/// Every command line in `text`.
pub(super) fn command_lines(text: &str) -> Vec<Found> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(start) = command_start(line) else {
            continue;
        };
        let mut arguments = line[start..].to_owned();
        let mut next = index + 1;
        while let Some(joined) = arguments.trim_end().strip_suffix('\\') {
            arguments = format!("{joined} {}", lines.get(next).copied().unwrap_or_default());
            next += 1;
        }
        found.push(Found {
            line: index + 1,
            arguments,
        });
    }
    found
}

/// Where the arguments start, when `line` runs the command.
fn command_start(line: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(offset) = line[from..].find(COMMAND) {
        let at = from + offset;
        let end = at + COMMAND.len();
        let followed_by_space = line[end..].starts_with([' ', '\t']);
        if followed_by_space && at_command_position(&line[..at]) {
            return Some(end);
        }
        from = end;
    }
    None
}

fn at_command_position(before: &str) -> bool {
    let before = before.trim_end();
    if before.is_empty() {
        return true;
    }
    let padded = format!(" {before}");
    OPENERS.iter().any(|opener| padded.ends_with(opener))
        || before
            .split_whitespace()
            .last()
            .is_some_and(|word| PREFIX_WORDS.contains(&word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(text: &str) -> Vec<String> {
        command_lines(text)
            .into_iter()
            .map(|f| f.arguments)
            .collect()
    }

    #[test]
    fn commands_in_shell_yaml_and_comments() {
        let text = "\
omni-dbt-batch validate a.csv
  - run: omni-dbt-batch plan a.csv
exec omni-dbt-batch run a.csv \\
  --resume
x=$(omni-dbt-batch plan b.csv)
#   omni-dbt-batch merge r1 --out r
set -e && omni-dbt-batch undo r --yes
";
        assert_eq!(
            arguments(text),
            [
                " validate a.csv",
                " plan a.csv",
                " run a.csv    --resume",
                " plan b.csv)",
                " merge r1 --out r",
                " undo r --yes"
            ]
        );
        assert_eq!(command_lines(text)[2].line, 3);
    }

    #[test]
    fn names_in_prose_images_and_installs_are_not_commands() {
        let text = "\
# Runs omni-dbt-batch on a schedule.
image: registry.example.com/omni-dbt-batch:0.1.0
command: [\"omni-dbt-batch\"]
- name: omni-dbt-batch
run: command -v omni-dbt-batch || cargo install --locked omni-dbt-batch --version 0.1.0
";
        assert_eq!(arguments(text), Vec::<String>::new());
    }
}
