//! The `omni-dbt-bench` command: generate inputs, run the scenarios, print and save the table.
//!
//! `cargo run --release -p omni-dbt-bench --locked -- all` builds the release runner, runs every
//! scenario against an in-process sandbox, prints one table and writes it to
//! `target/bench/results.json`.

mod gen;
mod harness;
mod hostile;
mod measure;
mod procfs;
mod reconcile;
mod scenarios;
mod shared_key;
mod table;

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

use crate::gen::{write_csv, GenSpec};
use crate::harness::{bench_dir, locate_runner, Context};
use crate::table::BenchRow;

/// Benchmarks of omni-dbt-batch against the in-process sandbox.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every scenario.
    All(RunOptions),
    /// Run the named scenarios only (see `list`).
    Run {
        /// Scenario names.
        #[arg(required = true)]
        names: Vec<String>,
        #[command(flatten)]
        options: RunOptions,
    },
    /// List the scenarios.
    List,
    /// Write a generated input CSV.
    Gen {
        /// Data rows.
        #[arg(long)]
        rows: u64,
        /// Distinct connections.
        #[arg(long, default_value_t = 10)]
        connections: u64,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file [default: target/bench/gen-ROWSrows-CONNSconns-seedSEED.csv].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunOptions {
    /// Do not build the release runner first (use the one beside this binary).
    #[arg(long)]
    no_build: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    match dispatch(Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("omni-dbt-bench: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::All(options) => {
            let names: Vec<String> = scenarios::SCENARIOS
                .iter()
                .map(|(n, _)| (*n).to_owned())
                .collect();
            bench(&names, &options).await
        }
        Command::Run { names, options } => bench(&names, &options).await,
        Command::List => {
            for (name, about) in scenarios::SCENARIOS {
                println!("{name:<16} {about}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Gen {
            rows,
            connections,
            seed,
            out,
        } => {
            let spec = GenSpec {
                rows,
                connections: connections.max(1),
                seed,
            };
            let path = match out {
                Some(path) => path,
                None => bench_dir()?.join(spec.file_name()),
            };
            let file =
                File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            write_csv(&spec, file)?;
            println!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs the scenarios in order, printing each row as it lands, then the table; exit 1 when a
/// target is missed.
async fn bench(names: &[String], options: &RunOptions) -> Result<ExitCode> {
    let ctx = Context {
        runner: locate_runner(!options.no_build)?,
        dir: bench_dir()?,
        ticks: measure::clock_ticks_per_second(),
    };
    let mut rows: Vec<BenchRow> = Vec::new();
    for name in names {
        eprintln!("== {name}");
        for row in scenarios::run(name, &ctx).await? {
            eprintln!(
                "   {}: {:.2} s, {:.0} rows/s, met: {}",
                row.scenario, row.wall_s, row.rows_per_s, row.met
            );
            rows.push(row);
        }
    }
    print!("{}", table::render(&rows));
    let json_path = ctx.dir.join("results.json");
    let json = serde_json::json!({ "runner": ctx.runner, "scenarios": rows });
    std::fs::write(&json_path, serde_json::to_string_pretty(&json)?)?;
    println!("\n(written to {})", json_path.display());
    Ok(if rows.iter().all(|r| r.met) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
