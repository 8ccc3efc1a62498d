//! One benchmark figure ([`BenchRow`]) and the table that prints a set of them.

use serde::Serialize;

/// What a scenario achieved against what it could ideally achieve.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// Scenario name (`rate`, `memory/validate-1m`, ...).
    pub scenario: String,
    /// Input rows.
    pub rows: u64,
    /// Wall time of the runner process, spawn to exit, in seconds.
    pub wall_s: f64,
    /// Rows per second of wall time.
    pub rows_per_s: f64,
    /// HTTP requests the sandbox counted (0 when none was involved).
    pub requests: u64,
    /// Requests per second of wall time.
    pub requests_per_s: f64,
    /// The ideal figure the ratio is taken against, if the scenario has one.
    pub ideal: Option<f64>,
    /// The unit of `ideal` (`req/s`, `rows/s`).
    pub ideal_unit: &'static str,
    /// Achieved over ideal (in the ideal's unit).
    pub ratio: Option<f64>,
    /// 429s the sandbox's rate limiter sent (injected 429 faults not counted).
    pub rate_limited: u64,
    /// Peak RSS of the runner, in MiB.
    pub peak_rss_mib: f64,
    /// CPU seconds of the runner (user + system).
    pub runner_cpu_s: f64,
    /// CPU seconds of the bench process during the run: the in-process sandbox, mostly.
    pub sandbox_cpu_s: f64,
    /// The target, in words.
    pub target: String,
    /// Whether the target was met.
    pub met: bool,
    /// Scenario-specific figures (duplicates, requests per row, exit code, ...).
    pub notes: String,
}

impl BenchRow {
    /// A row for a scenario that produced no figures, with why.
    pub fn missed(scenario: &str, rows: u64, why: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            rows,
            wall_s: 0.0,
            rows_per_s: 0.0,
            requests: 0,
            requests_per_s: 0.0,
            ideal: None,
            ideal_unit: "",
            ratio: None,
            rate_limited: 0,
            peak_rss_mib: 0.0,
            runner_cpu_s: 0.0,
            sandbox_cpu_s: 0.0,
            target: String::new(),
            met: false,
            notes: why.to_owned(),
        }
    }

    /// Runner CPU milliseconds per 1,000 rows.
    pub fn runner_cpu_ms_per_1k(&self) -> f64 {
        per_thousand_ms(self.runner_cpu_s, self.rows)
    }

    /// Sandbox CPU milliseconds per 1,000 rows.
    pub fn sandbox_cpu_ms_per_1k(&self) -> f64 {
        per_thousand_ms(self.sandbox_cpu_s, self.rows)
    }
}

fn per_thousand_ms(seconds: f64, rows: u64) -> f64 {
    if rows == 0 {
        0.0
    } else {
        seconds * 1000.0 * 1000.0 / rows as f64
    }
}

const HEADERS: [&str; 14] = [
    "scenario",
    "rows",
    "wall s",
    "rows/s",
    "req/s",
    "ideal",
    "ratio",
    "429s",
    "peak RSS MiB",
    "runner CPU s",
    "sandbox CPU s",
    "CPU ms/1k rows (runner+sandbox)",
    "target",
    "met",
];

fn cells(row: &BenchRow) -> [String; 14] {
    [
        row.scenario.clone(),
        row.rows.to_string(),
        format!("{:.2}", row.wall_s),
        format!("{:.0}", row.rows_per_s),
        if row.requests == 0 {
            "-".into()
        } else {
            format!("{:.1}", row.requests_per_s)
        },
        row.ideal
            .map_or("-".into(), |i| format!("{i:.0} {}", row.ideal_unit)),
        row.ratio.map_or("-".into(), |r| format!("{r:.3}")),
        row.rate_limited.to_string(),
        format!("{:.1}", row.peak_rss_mib),
        format!("{:.2}", row.runner_cpu_s),
        format!("{:.2}", row.sandbox_cpu_s),
        format!(
            "{:.1}+{:.1}",
            row.runner_cpu_ms_per_1k(),
            row.sandbox_cpu_ms_per_1k()
        ),
        row.target.clone(),
        if row.met { "yes" } else { "NO" }.into(),
    ]
}

/// Renders the rows as a Markdown table, then one `notes` line per row that has notes.
pub fn render(rows: &[BenchRow]) -> String {
    let body: Vec<[String; 14]> = rows.iter().map(cells).collect();
    let mut widths = HEADERS.map(str::len);
    for line in &body {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let format_line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = format_line(&HEADERS.map(String::from));
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&format!("|-{}-|\n", rule.join("-|-")));
    for line in &body {
        out.push_str(&format_line(line));
    }
    let notes: Vec<String> = rows
        .iter()
        .filter(|r| !r.notes.is_empty())
        .map(|r| format!("- {}: {}\n", r.scenario, r.notes))
        .collect();
    if !notes.is_empty() {
        out.push('\n');
        out.extend(notes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(scenario: &str, met: bool) -> BenchRow {
        BenchRow {
            scenario: scenario.into(),
            rows: 2000,
            wall_s: 2.0,
            rows_per_s: 1000.0,
            requests: 2010,
            requests_per_s: 1005.0,
            ideal: Some(1000.0),
            ideal_unit: "req/s",
            ratio: Some(1.005),
            rate_limited: 0,
            peak_rss_mib: 12.5,
            runner_cpu_s: 0.5,
            sandbox_cpu_s: 0.25,
            target: ">= 0.97".into(),
            met,
            notes: String::new(),
        }
    }

    #[test]
    fn cpu_per_thousand_rows_is_in_milliseconds() {
        let r = row("rate", true);
        assert_eq!(r.runner_cpu_ms_per_1k(), 250.0);
        assert_eq!(r.sandbox_cpu_ms_per_1k(), 125.0);
        assert_eq!(per_thousand_ms(1.0, 0), 0.0);
    }

    #[test]
    fn the_table_has_one_line_per_row_and_flags_misses() {
        let mut missed = row("keys", false);
        missed.notes = "exit 1".into();
        let text = render(&[row("rate", true), missed]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("| scenario"));
        assert!(lines[2].contains("| rate ") && lines[2].contains("| yes"));
        assert!(lines[3].contains("| keys ") && lines[3].ends_with("| NO  |"));
        assert!(text.contains("- keys: exit 1"));
        let widths: Vec<usize> = lines[..4].iter().map(|l| l.len()).collect();
        assert!(
            widths.windows(2).all(|w| w[0] == w[1]),
            "aligned: {widths:?}"
        );
    }
}
