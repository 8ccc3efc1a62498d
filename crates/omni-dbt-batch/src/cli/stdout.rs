//! Writing a generated document to stdout, where a reader that stops early (`| head`) is a
//! normal end, not an error.

use std::io::{ErrorKind, Write};

use anyhow::{Context, Result};

/// Writes `bytes` to stdout; a closed pipe ends quietly.
pub(super) fn write_all_or_pipe_closed(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(error) if error.kind() != ErrorKind::BrokenPipe => {
            Err(error).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}
