//! The deploy recipes of `examples/` checked against the real command line: every
//! `omni-dbt-batch ...` they run (shell lines, YAML `run:` blocks and scripts, comments,
//! container `command:`/`args:` arrays) must parse with the CLI's own clap definition, so that
//! a renamed or misspelled flag fails this test instead of a deployment.
//!
//! Expansions (`$VAR`, `${{ matrix.shard }}`, `$(JOB_NAME)`...) stand for `1`. A line counts as
//! running the command when the command starts it, or follows a shell operator, a YAML list
//! dash or `run:`, a prompt `$`, a comment's `#`, or `exec`: prose that names the command
//! mid-sentence, an image name or a `cargo install` line does not.

mod find;
mod words;
mod yaml;

use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::Parser;

use self::find::{command_lines, COMMAND};
use self::yaml::YamlCommand;
use super::args::Cli;

/// A command line of a recipe: where it is, and its words.
#[derive(Debug)]
struct Recipe {
    place: String,
    words: Result<Vec<String>, String>,
}

impl Recipe {
    /// Parses the words with the real definition; `--help` and `--version` parse too.
    fn check(&self) -> Result<(), String> {
        let words = self
            .words
            .as_ref()
            .map_err(|e| format!("{}: {e}", self.place))?;
        match Cli::try_parse_from(std::iter::once(COMMAND).chain(words.iter().map(String::as_str)))
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
                Ok(())
            }
            Err(e) => Err(format!(
                "{}: {COMMAND} {}\n{}",
                self.place,
                words.join(" "),
                e.render()
            )),
        }
    }
}

/// The command lines of one file's text.
fn recipes_in(name: &str, text: &str) -> Vec<Recipe> {
    let is_yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    if !is_yaml {
        return command_lines(text)
            .into_iter()
            .map(|found| Recipe {
                place: format!("{name}:{}", found.line),
                words: words::split(&found.arguments),
            })
            .collect();
    }
    match yaml::commands(text) {
        Ok(commands) => commands
            .into_iter()
            .map(|command| match command {
                YamlCommand::Shell(found) => Recipe {
                    place: format!("{name}:{}", found.line),
                    words: words::split(&found.arguments),
                },
                YamlCommand::Words { line, words } => Recipe {
                    place: format!("{name}:{line}"),
                    words: Ok(words),
                },
            })
            .collect(),
        Err(error) => vec![Recipe {
            place: name.to_owned(),
            words: Err(format!("not YAML: {error}")),
        }],
    }
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn every_command_line_in_examples_parses_with_the_real_cli() {
    let root = examples_dir();
    let mut recipes = Vec::new();
    for path in files_under(&root) {
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        recipes.extend(recipes_in(&name, &text));
    }
    let failures: Vec<String> = recipes.iter().filter_map(|r| r.check().err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Kubernetes (sharded run, merge, CronJob), GitHub Actions (validate, run, merge)...: a
    // reader that finds fewer has stopped seeing some of them.
    assert!(
        recipes.len() >= 8,
        "only {} command lines found: {recipes:#?}",
        recipes.len()
    );
}

#[test]
fn a_misspelled_flag_fails_the_check_wherever_it_is() {
    let shell = recipes_in(
        "job.sh",
        "exec omni-dbt-batch run in.csv --existin update\n",
    );
    let run_block = recipes_in(
        "ci.yml",
        "steps:\n  - run: |\n      omni-dbt-batch validate in.csv \\\n        --mesage-format github\n",
    );
    let array = recipes_in(
        "job.yaml",
        "containers:\n  - command: [omni-dbt-batch]\n    args: [plan, in.csv, --max-delete=5]\n",
    );
    let comment = recipes_in(
        "cron.yaml",
        "# omni-dbt-batch plan in.csv --prunee\nkind: CronJob\n",
    );
    for (recipes, flag, place) in [
        (shell, "--existin", "job.sh:1"),
        (run_block, "--mesage-format", "ci.yml:3"),
        (array, "--max-delete", "job.yaml:2"),
        (comment, "--prunee", "cron.yaml:1"),
    ] {
        assert_eq!(recipes.len(), 1, "{place}: {recipes:?}");
        let error = recipes[0].check().expect_err(flag);
        assert!(error.contains(flag) && error.starts_with(place), "{error}");
    }
}

#[test]
fn a_bad_value_and_an_unknown_subcommand_fail_too() {
    for line in [
        "omni-dbt-batch run in.csv --shard 5/4",
        "omni-dbt-batch exprot --out x",
    ] {
        let recipes = recipes_in("r.sh", line);
        assert!(recipes[0].check().is_err(), "{line}");
    }
    let fine = recipes_in(
        "r.sh",
        "omni-dbt-batch run in.csv --shard ${SHARD}/4 --token-env KEY_$SHARD",
    );
    assert_eq!(fine[0].check(), Ok(()));
}
