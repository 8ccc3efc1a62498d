//! End to end: a results path that would destroy the input, or is a directory, is refused with
//! exit 2 before anything is sent; a configuration error at start leaves no file behind.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use omni_dbt_e2e::*;

/// No results, journal or lock file exists at `results`.
fn assert_nothing_on_disk(results: &Path, out: &RunOutput) {
    for file in [results.to_path_buf(), journal_of(results), lock_of(results)] {
        assert!(
            !file.exists(),
            "{} was left behind\n{}",
            file.display(),
            out.all()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_results_path_that_is_the_input_is_refused_however_spelled_even_with_force() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(3, 1);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let original = std::fs::read(&input).unwrap();
    let symlink = dir.path().join("link.csv");
    let hard_link = dir.path().join("hard.csv");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&input, &symlink).unwrap();
    std::fs::hard_link(&input, &hard_link).unwrap();
    let mut spellings = vec![
        "envs.csv".to_owned(),
        "./envs.csv".to_owned(),
        input.display().to_string(),
        hard_link.display().to_string(),
    ];
    if cfg!(unix) {
        spellings.push("link.csv".to_owned());
    }

    for results in spellings {
        let out = cli()
            .run_against(&sandbox, "envs.csv")
            .current_dir(dir.path())
            .args(["--force", "--results", &results])
            .run()
            .await;
        out.assert_code(2);
        assert!(
            out.stderr.contains("is the input") && out.stderr.contains("destroy"),
            "--results {results}: {}",
            out.all()
        );
        assert_eq!(
            std::fs::read(&input).unwrap(),
            original,
            "--results {results}"
        );
    }
    assert_eq!(sandbox.snapshot().total_requests(), 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_results_path_that_is_a_directory_is_named_as_one_whatever_the_flags() {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "envs.csv", &spread_rows(3, 1));
    let results_dir = dir.path().join("out.csv");
    std::fs::create_dir(&results_dir).unwrap();

    for flags in [&[][..], &["--resume"], &["--force"]] {
        let out = cli()
            .run_against(&sandbox, &input)
            .arg("--results")
            .arg(&results_dir)
            .args(flags)
            .run()
            .await;
        out.assert_code(2);
        assert!(
            out.stderr.contains("is a directory") && !out.stderr.contains("already exists"),
            "{flags:?}: {}",
            out.all()
        );
    }
    assert_eq!(sandbox.snapshot().total_requests(), 0, "nothing was sent");
}

/// `run INPUT` against `base_url` with `token`, unpaced.
fn run_with(input: &Path, base_url: &str, token: &str) -> Cli {
    cli()
        .arg("run")
        .arg(input)
        .args(["--base-url", base_url, "--rate", "unlimited"])
        .env("OMNI_API_TOKEN", token)
}

/// Runs with a configuration mistake (`base_url` or `token` instead of the sandbox's, when
/// given), checks exit 2 naming `expected` and that nothing was left on disk, then runs the
/// corrected command (no --force) and checks that it goes through.
async fn mistake_then_corrected(base_url: Option<&str>, token: Option<&str>, expected: &str) {
    let sandbox = start_sandbox(fast_sandbox()).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = spread_rows(3, 1);
    let input = write_csv(dir.path(), "envs.csv", &rows);
    let results = default_results(&input);
    let sandbox_url = sandbox.base_url();

    let out = run_with(
        &input,
        base_url.unwrap_or(&sandbox_url),
        token.unwrap_or(sandbox.token()),
    )
    .run()
    .await;
    out.assert_code(2);
    assert!(out.stderr.contains(expected), "{}", out.all());
    assert_nothing_on_disk(&results, &out);
    assert_eq!(sandbox.snapshot().total_requests(), 0, "nothing was sent");

    run_with(&input, &sandbox_url, sandbox.token())
        .run()
        .await
        .assert_code(0);
    assert_all_created(&read_results(&results), &rows, &sandbox.snapshot());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_with_a_newline_inside_leaves_no_results_file_behind() {
    mistake_then_corrected(None, Some("abc\ndef"), "token").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_to_a_remote_host_leaves_no_results_file_behind() {
    mistake_then_corrected(Some("http://acme.example.com"), None, "plain HTTP").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_base_url_leaves_no_results_file_behind() {
    mistake_then_corrected(Some("https://"), None, "base URL").await;
}
