//! SIGINT/SIGTERM: the first asks the run to stop starting rows; the second exits at once.

use std::sync::Arc;
use std::time::Duration;

use omni_dbt_batch::{StopHandle, StopReason};

use super::progress::CliReporter;
use omni_dbt_batch::ExitStatus;

/// Watches for signals in the background for the rest of the process.
pub(super) fn watch(stop: StopHandle, reporter: Arc<CliReporter>, grace: Duration) {
    tokio::spawn(async move {
        if next_signal().await.is_err() {
            return;
        }
        stop.stop(StopReason::Interrupted);
        reporter.println(&format!(
            "interrupted: no new request is sent; requests on the wire get up to {} to finish. Press Ctrl-C again to exit at once.",
            omni_dbt_units::format_duration(grace)
        ));
        if next_signal().await.is_ok() {
            // Every record already written is flushed; a torn last line is repaired by --resume.
            eprintln!("interrupted again: exiting now; rerun with --resume");
            std::process::exit(ExitStatus::Interrupted as i32);
        }
    });
}

#[cfg(unix)]
async fn next_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn next_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
