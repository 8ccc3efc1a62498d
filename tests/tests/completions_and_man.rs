//! End to end: `completions SHELL` and `man` print documents generated from the CLI's own
//! definition: the bash script is valid bash, the page renders with `man -l` (else groff or
//! mandoc, else its roff structure is checked), and both know every subcommand `--help` lists.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use omni_dbt_e2e::{cli, cli_binary, write_file};

/// The subcommands `omni-dbt-batch --help` lists (so that one added later is checked too).
async fn subcommands() -> Vec<String> {
    let help = cli().arg("--help").run().await;
    help.assert_code(0);
    let listed: Vec<String> = help
        .stdout
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        // A wrapped description continues deeper; only a command's own line starts at column 2.
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    assert!(listed.len() >= 8, "{listed:?}\n{}", help.all());
    listed
}

fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bash_script_is_valid_bash_and_completes_every_subcommand() {
    let out = cli().args(["completions", "bash"]).run().await;
    out.assert_code(0);
    let dir = tempfile::tempdir().unwrap();
    let script = write_file(dir.path(), "omni-dbt-batch.bash", &out.stdout);
    let checked = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    for subcommand in subcommands().await {
        assert!(
            out.stdout.contains(&subcommand),
            "{subcommand} is not completed"
        );
    }
    assert!(
        out.stdout.contains("--omni-profile"),
        "flags are completed too"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_other_shell_gets_a_script() {
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = cli().args(["completions", shell]).run().await;
        out.assert_code(0);
        assert!(
            out.stdout.contains("omni-dbt-batch"),
            "{shell}: {}",
            out.all()
        );
    }
    let unknown = cli().args(["completions", "tcsh"]).run().await;
    unknown.assert_code(2);
    assert!(
        unknown.stderr.contains("possible values"),
        "{}",
        unknown.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_man_page_renders_and_has_a_section_per_subcommand() {
    let out = cli().arg("man").run().await;
    out.assert_code(0);
    let dir = tempfile::tempdir().unwrap();
    let page = write_file(dir.path(), "omni-dbt-batch.1", &out.stdout);
    let text = rendered(&page).unwrap_or_else(|| roff_structure(&out.stdout));
    for subcommand in subcommands().await {
        let heading = format!("OMNI-DBT-BATCH {}", subcommand.to_uppercase());
        assert!(text.contains(&heading), "no section {heading}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_that_stops_early_is_not_an_error() {
    let status = Command::new("bash")
        .args(["-c", r#"set -o pipefail; "$0" man | head -c 1 >/dev/null"#])
        .arg(cli_binary())
        .env("OMNI_CONFIG_PATH", "/nonexistent")
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
}

/// The page as text, by the first renderer installed (`None` when there is none); each
/// renders without a warning.
fn rendered(page: &Path) -> Option<String> {
    let (program, args): (&str, Vec<&str>) = if on_path("man") {
        ("man", vec!["--warnings", "-l"])
    } else if on_path("groff") {
        ("groff", vec!["-man", "-Tutf8", "-ww"])
    } else if on_path("mandoc") {
        ("mandoc", vec!["-Tutf8", "-Wwarning"])
    } else {
        eprintln!("no man, groff or mandoc: checking the roff structure only");
        return None;
    };
    let out = Command::new(program)
        .args(&args)
        .arg(page)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "{program}: {stderr}"
    );
    eprintln!("rendered with {program}");
    // Renderers embolden with backspaces when not on a terminal; keep the letters.
    let text = String::from_utf8_lossy(&out.stdout).replace("\u{2010}", "-");
    Some(strip_overstrike(&text))
}

/// Without a renderer: the macros a man page needs, and the headings as plain text.
fn roff_structure(page: &str) -> String {
    for macro_line in [
        ".TH omni-dbt-batch 1",
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
    ] {
        assert!(page.contains(macro_line), "{macro_line} missing");
    }
    page.replace("\\-", "-")
}

/// `a\x08a` (bold) and `_\x08a` (underline) as `a`.
fn strip_overstrike(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out
}
