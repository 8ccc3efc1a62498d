//! The `omni-dbt-batch` command: parse arguments, dispatch, map the outcome to an exit code.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
