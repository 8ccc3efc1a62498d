//! Running a child process while sampling its peak RSS and CPU time from `/proc`.

use std::fs;
use std::io;
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use crate::procfs::{stat_sample, vm_hwm_kib};

/// How often the child is sampled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How often the child is sampled while it is young: its peak RSS is read only while it runs
/// (an exited child has none left to report), so a run of a few tens of milliseconds needs
/// denser samples to have its peak seen at all.
const EARLY_POLL_INTERVAL: Duration = Duration::from_millis(1);

/// How long the child counts as young.
const EARLY_POLL_FOR: Duration = Duration::from_millis(250);

fn poll_interval(elapsed: Duration) -> Duration {
    if elapsed < EARLY_POLL_FOR {
        EARLY_POLL_INTERVAL
    } else {
        POLL_INTERVAL
    }
}

/// What one measured child run cost.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// From spawn to exit.
    pub wall: Duration,
    /// How it exited.
    pub status: ExitStatus,
    /// The largest `VmHWM` seen, in KiB.
    pub peak_rss_kib: u64,
    /// User plus system CPU time at exit (read while the child is a zombie, so nothing is lost).
    pub cpu: Duration,
    /// Whether the child was still running at its deadline and was killed there.
    pub killed_at_deadline: bool,
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`, 100 when that fails).
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

/// CPU time of this process so far, from `/proc/self/stat`.
pub fn self_cpu(ticks_per_second: u64) -> Duration {
    fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|text| stat_sample(&text))
        .map(|s| ticks_to_duration(s.cpu_ticks, ticks_per_second))
        .unwrap_or_default()
}

fn ticks_to_duration(ticks: u64, per_second: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / per_second.max(1) as f64)
}

/// Spawns `command` and samples it until it exits, every [`POLL_INTERVAL`] (more often at first). The child is reaped
/// only after it shows up as a zombie, so its final CPU time is read exactly. A child still
/// running after `deadline` is killed (and measured up to then): a scenario that checks the
/// runner ends must not hang the bench when it does not.
pub fn run_measured(
    command: &mut Command,
    ticks_per_second: u64,
    deadline: Option<Duration>,
) -> io::Result<Measured> {
    let started = Instant::now();
    let mut killed_at_deadline = false;
    let mut child = command.spawn()?;
    let stat_path = format!("/proc/{}/stat", child.id());
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_rss_kib = 0;
    let mut cpu_ticks = 0;
    let status = loop {
        match fs::read_to_string(&stat_path)
            .ok()
            .and_then(|t| stat_sample(&t))
        {
            Some(sample) => {
                cpu_ticks = cpu_ticks.max(sample.cpu_ticks);
                if sample.state == 'Z' {
                    break child.wait()?;
                }
            }
            None => {
                if let Some(status) = child.try_wait()? {
                    break status;
                }
            }
        }
        if let Some(kib) = fs::read_to_string(&status_path)
            .ok()
            .and_then(|t| vm_hwm_kib(&t))
        {
            peak_rss_kib = peak_rss_kib.max(kib);
        }
        if !killed_at_deadline && deadline.is_some_and(|d| started.elapsed() >= d) {
            // Reaped by the loop once it shows up as a zombie, like a child that exited.
            child.kill()?;
            killed_at_deadline = true;
        }
        thread::sleep(poll_interval(started.elapsed()));
    };
    Ok(Measured {
        wall: started.elapsed(),
        status,
        peak_rss_kib,
        cpu: ticks_to_duration(cpu_ticks, ticks_per_second),
        killed_at_deadline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_convert_to_seconds() {
        assert_eq!(ticks_to_duration(250, 100), Duration::from_millis(2500));
        assert_eq!(ticks_to_duration(5, 0), Duration::from_secs(5));
    }

    #[test]
    fn a_short_child_is_measured_with_its_exit_status() {
        let measured = run_measured(
            // A busy loop long enough to be sampled while alive.
            Command::new("sh").args([
                "-c",
                "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; exit 3",
            ]),
            clock_ticks_per_second(),
            None,
        )
        .unwrap();
        assert_eq!(measured.status.code(), Some(3));
        assert!(measured.peak_rss_kib > 0, "sh has some resident memory");
        assert!(!measured.killed_at_deadline);
    }

    #[test]
    fn a_child_past_its_deadline_is_killed_and_says_so() {
        let measured = run_measured(
            Command::new("sleep").arg("30"),
            clock_ticks_per_second(),
            Some(Duration::from_millis(100)),
        )
        .unwrap();
        assert!(measured.killed_at_deadline);
        assert!(!measured.status.success());
        assert!(
            measured.wall < Duration::from_secs(10),
            "{:?}",
            measured.wall
        );
    }
}
