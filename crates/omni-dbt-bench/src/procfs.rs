//! Parsing the `/proc/<pid>/status` and `/proc/<pid>/stat` lines the bench samples.

/// The peak resident set size (`VmHWM`) in KiB from the text of `/proc/<pid>/status`, or
/// `None` when the line is absent (a zombie has no memory left to report).
pub fn vm_hwm_kib(status: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix("VmHWM:")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The fields of `/proc/<pid>/stat` the bench needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatSample {
    /// The process state letter (`R`, `S`, `Z` for a zombie, ...).
    pub state: char,
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) may hold spaces and parentheses, so
/// the fields are counted from the last `)`: state is field 3, utime 14, stime 15.
pub fn stat_sample(stat: &str) -> Option<StatSample> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(StatSample {
        state,
        cpu_ticks: utime + stime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_kib() {
        let status = "Name:\tomni-dbt-batch\nVmPeak:\t  123456 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(20480));
    }

    #[test]
    fn a_status_without_vm_hwm_gives_none() {
        assert_eq!(vm_hwm_kib("Name:\tzombie\nState:\tZ (zombie)\n"), None);
    }

    #[test]
    fn stat_times_are_summed_and_a_tricky_name_is_skipped() {
        let stat = "4242 (odd) name (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 25 0 0 20 0 3 0 100 1000 200";
        assert_eq!(
            stat_sample(stat),
            Some(StatSample {
                state: 'S',
                cpu_ticks: 175
            })
        );
    }

    #[test]
    fn a_zombie_state_is_reported() {
        let stat = "7 (omni-dbt-batch) Z 1 7 7 0 -1 4227084 0 0 0 0 311 42 0 0 20 0 1 0 5 0 0";
        assert_eq!(
            stat_sample(stat).map(|s| (s.state, s.cpu_ticks)),
            Some(('Z', 353))
        );
    }

    #[test]
    fn a_truncated_stat_gives_none() {
        assert_eq!(stat_sample("7 (x) S 1 2"), None);
        assert_eq!(stat_sample("garbage"), None);
    }
}
