//! Where a YAML recipe runs the command: in any string value (a `run:` block, a `sh -c`
//! script, folded or literal), in a comment, or as a container's `command:` and `args:` arrays.

use saphyr_parser::{Event, Parser};

use super::find::{command_lines, Found, COMMAND};
use super::words;

/// A command line of a YAML file, before it is parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum YamlCommand {
    /// Shell text that a shell will split.
    Shell(Found),
    /// `command: [omni-dbt-batch, ...]` with `args: [...]`: words no shell splits.
    Words {
        /// The line of the mapping that holds them.
        line: usize,
        /// The arguments, expansions replaced.
        words: Vec<String>,
    },
}

/// Every command line of a YAML text, or why it is not YAML.
pub(super) fn commands(text: &str) -> Result<Vec<YamlCommand>, String> {
    let mut walk = Walk::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| e.to_string())?;
        walk.on(event, span.start.line())?;
    }
    let comments = text
        .lines()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with('#'))
        .flat_map(|(index, line)| {
            command_lines(line.trim_start())
                .into_iter()
                .map(move |found| Found {
                    line: index + 1,
                    ..found
                })
        });
    walk.found.extend(comments.map(YamlCommand::Shell));
    Ok(walk.found)
}

/// The collections being read, innermost last.
#[derive(Default)]
struct Walk {
    open: Vec<Collection>,
    found: Vec<YamlCommand>,
}

enum Collection {
    Mapping {
        line: usize,
        next_is_key: bool,
        key: Option<String>,
        command: Option<Vec<String>>,
        args: Option<Vec<String>>,
    },
    Sequence {
        items: Vec<String>,
    },
}

impl Walk {
    fn on(&mut self, event: Event<'_>, line: usize) -> Result<(), String> {
        match event {
            Event::Scalar(text, ..) => self.scalar(&text, line),
            Event::MappingStart(..) => {
                self.value_opened();
                self.open.push(Collection::Mapping {
                    line,
                    next_is_key: true,
                    key: None,
                    command: None,
                    args: None,
                });
            }
            Event::SequenceStart(..) => {
                self.value_opened();
                self.open.push(Collection::Sequence { items: Vec::new() });
            }
            Event::SequenceEnd => {
                if let Some(Collection::Sequence { items }) = self.open.pop() {
                    self.sequence_closed(items);
                }
            }
            Event::MappingEnd => {
                if let Some(Collection::Mapping {
                    line,
                    command: Some(command),
                    args,
                    ..
                }) = self.open.pop()
                {
                    self.container(line, command, args.unwrap_or_default())?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn scalar(&mut self, text: &str, line: usize) {
        match self.open.last_mut() {
            Some(Collection::Mapping {
                next_is_key: next_is_key @ true,
                key,
                ..
            }) => {
                *key = Some(text.to_owned());
                *next_is_key = false;
                return;
            }
            Some(Collection::Mapping { next_is_key, .. }) => *next_is_key = true,
            Some(Collection::Sequence { items }) => items.push(text.to_owned()),
            None => {}
        }
        self.found
            .extend(command_lines(text).into_iter().map(|found| {
                YamlCommand::Shell(Found {
                    line: line + found.line - 1,
                    ..found
                })
            }));
    }

    /// A mapping or sequence opened as a mapping's value: the next scalar is a key again.
    fn value_opened(&mut self) {
        if let Some(Collection::Mapping { next_is_key, .. }) = self.open.last_mut() {
            *next_is_key = true;
        }
    }

    /// A sequence closed: kept when it is the `command` or `args` of a mapping.
    fn sequence_closed(&mut self, items: Vec<String>) {
        if let Some(Collection::Mapping {
            key, command, args, ..
        }) = self.open.last_mut()
        {
            match key.as_deref() {
                Some("command") => *command = Some(items),
                Some("args") => *args = Some(items),
                _ => {}
            }
        }
    }

    /// A container whose `command` is the tool itself (by any path) runs it with `args`.
    fn container(
        &mut self,
        line: usize,
        command: Vec<String>,
        args: Vec<String>,
    ) -> Result<(), String> {
        let Some((program, extra)) = command.split_first() else {
            return Ok(());
        };
        if program.rsplit('/').next() != Some(COMMAND) {
            return Ok(());
        }
        let words = extra
            .iter()
            .chain(&args)
            .map(|item| words::expand(item))
            .collect::<Result<_, _>>()?;
        self.found.push(YamlCommand::Words { line, words });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_blocks_scripts_comments_and_argument_arrays() {
        let text = r#"
# omni-dbt-batch plan in.csv
steps:
  - run: |
      echo start
      omni-dbt-batch validate in.csv \
        --message-format github
  - run: >-
      omni-dbt-batch run in.csv
      --resume
containers:
  - name: a
    command: ["/usr/local/bin/omni-dbt-batch"]
    args: [run, /in.csv, "--results=/r/$(JOB_NAME).csv"]
  - name: b
    command: ["/bin/sh", "-c"]
    args:
      - exec omni-dbt-batch merge r1 --out r
"#;
        let found = commands(text).unwrap();
        let shell: Vec<(usize, &str)> = found
            .iter()
            .filter_map(|c| match c {
                YamlCommand::Shell(f) => Some((f.line, f.arguments.trim())),
                YamlCommand::Words { .. } => None,
            })
            .collect();
        assert_eq!(
            shell,
            [
                (6, "validate in.csv    --message-format github"),
                (9, "run in.csv --resume"),
                (18, "merge r1 --out r"),
                (2, "plan in.csv"),
            ]
        );
        let arrays: Vec<&Vec<String>> = found
            .iter()
            .filter_map(|c| match c {
                YamlCommand::Words { words, .. } => Some(words),
                YamlCommand::Shell(_) => None,
            })
            .collect();
        assert_eq!(
            arrays,
            [&vec![
                "run".to_owned(),
                "/in.csv".into(),
                "--results=/r/1.csv".into()
            ]]
        );
    }
}
