//! `omni-dbt-batch completions SHELL`: a completion script generated from the command's own
//! definition, so it knows every subcommand and flag there is.

use anyhow::Result;
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use omni_dbt_batch::ExitStatus;

use super::args::Cli;
use super::stdout::write_all_or_pipe_closed;

/// `completions SHELL`.
#[derive(Debug, Args)]
pub(super) struct CompletionsArgs {
    /// The shell to complete for: bash, zsh, fish, powershell or elvish.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Prints the completion script of `shell` on stdout.
pub(super) fn print(args: &CompletionsArgs) -> Result<ExitStatus> {
    write_all_or_pipe_closed(&script(args.shell))?;
    Ok(ExitStatus::Success)
}

/// The completion script of `shell`.
pub(super) fn script(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_every_subcommand() {
        let subcommands: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .collect();
        assert!(subcommands.len() >= 8, "{subcommands:?}");
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let script = String::from_utf8(script(shell)).unwrap();
            for subcommand in &subcommands {
                assert!(
                    script.contains(subcommand.as_str()),
                    "{shell}: {subcommand}"
                );
            }
            assert!(script.contains("omni-profile"), "{shell}");
        }
    }
}
