//! The plan as people and cron logs read it, on stdout: a line per row, indented lines for what
//! an update would change, then the totals.
//!
//! ```text
//! create     line 2      3f1b6a2e-8c4d-4e8a-9b1f-2d7c5e9a0b11 dev_alice
//! update     line 3      3f1b6a2e-8c4d-4e8a-9b1f-2d7c5e9a0b11 dev_bob (environment 0b6e...)
//!     ~ target_schema: "dbt_bob" -> "dbt_bob_v2"
//!     = secret values not compared (Omni never returns them), sent again by the update: secret:DBT_API_KEY
//! fail       line 4      9a9a3c1e-0d2b-4f7c-8e6a-5b4c3d2e1f00 dev_carol: not_found (HTTP 404): ...
//! plan: 3 rows: would create 1, would update 1, would fail 1; no write was sent
//! ```
//!
//! Every row line starts with its action, so `grep '^update'` finds them. Secret values are never
//! shown: a plan holds none.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{BufWriter, IsTerminal, Stdout, Write};
use std::sync::{Arc, Mutex, PoisonError};

use omni_dbt_batch::{
    ActionCounts, ActionKind, Drift, Note, Phase, PlanEntry, PlannedAction, Reporter, RowRecord,
    RunOutcome, Summary,
};

use super::progress::CliReporter;

/// Which command printed the plan: `plan` ends with its verdict, `run --dry-run` does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Say what the exit code means.
    Shown,
    /// Leave it out.
    Omitted,
}

/// Prints each entry of a plan on stdout as it is decided, and shows progress through
/// `progress`.
pub(super) struct PlanReport {
    progress: Arc<CliReporter>,
    out: Mutex<PlanOut>,
}

/// Stdout for the plan: flushed per entry when a person watches it, buffered for logs (a plan
/// of a million rows should not cost a million writes). A closed stdout (`plan | head`) ends
/// the printing quietly.
struct PlanOut {
    writer: BufWriter<Stdout>,
    watched: bool,
    closed: bool,
}

impl PlanReport {
    pub(super) fn new(progress: Arc<CliReporter>) -> Arc<Self> {
        let stdout = std::io::stdout();
        Arc::new(Self {
            progress,
            out: Mutex::new(PlanOut {
                watched: stdout.is_terminal(),
                writer: BufWriter::new(stdout),
                closed: false,
            }),
        })
    }

    fn print(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        if out.closed {
            return;
        }
        let written = if out.watched {
            let out = &mut *out;
            self.progress.suspend(|| {
                out.writer
                    .write_all(text.as_bytes())
                    .and_then(|()| out.writer.flush())
            })
        } else {
            out.writer.write_all(text.as_bytes())
        };
        out.closed = written.is_err();
    }

    fn flush(&self) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        if !out.closed {
            out.closed = out.writer.flush().is_err();
        }
    }
}

impl Reporter for PlanReport {
    fn keys(&self, keys: &omni_dbt_batch::KeyWatch) {
        self.progress.keys(keys);
    }

    fn phase(&self, phase: Phase) {
        self.progress.phase(phase);
    }

    fn connection_listed(&self) {
        self.progress.connection_listed();
    }

    fn row_planned(&self, entry: &PlanEntry) {
        self.print(&entry_text(entry));
    }

    fn row_finished(&self, record: &RowRecord) {
        self.progress.row_finished(record);
    }

    fn finished(&self, summary: &Summary) {
        self.flush();
        self.progress.finished(summary);
    }
}

/// One entry: its line, then one indented line per change and per kind of note.
pub(super) fn entry_text(entry: &PlanEntry) -> String {
    let mut text = headline(entry);
    match &entry.action {
        PlannedAction::Update(drift) => push_drift(&mut text, drift, SecretsSent::Again),
        PlannedAction::Unchanged(drift) => push_drift(&mut text, drift, SecretsSent::Not),
        _ => {}
    }
    text
}

/// `ACTION line N CONNECTION NAME`, then the environment, or why the row would fail.
fn headline(entry: &PlanEntry) -> String {
    let place = entry.input.map_or_else(
        || "not in input".to_owned(),
        |input| format!("line {}", input.line),
    );
    let mut text = format!(
        "{:<10} {place:<11} {} {}",
        entry.action.kind().as_str(),
        entry.connection_id,
        shown_name(&entry.name)
    );
    // Writing to a String cannot fail.
    let _ = match (&entry.action, entry.environment_id) {
        (
            PlannedAction::Fail {
                kind,
                http_status: Some(status),
                reason,
            },
            _,
        ) => write!(text, ": {kind} (HTTP {status}): {reason}"),
        (PlannedAction::Fail { kind, reason, .. }, _) => write!(text, ": {kind}: {reason}"),
        (_, Some(id)) => write!(text, " (environment {id})"),
        (_, None) => Ok(()),
    };
    text.push('\n');
    text
}

/// Whether the secrets a plan could not compare are sent again (an update sends every variable
/// of the row).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SecretsSent {
    Again,
    Not,
}

fn push_drift(text: &mut String, drift: &Drift, secrets: SecretsSent) {
    for change in &drift.changes {
        let _ = writeln!(text, "    ~ {change}");
    }
    let mut not_compared = Vec::new();
    let mut left = Vec::new();
    let mut kept = Vec::new();
    let mut other = Vec::new();
    for note in &drift.notes {
        match note {
            Note::SecretNotCompared { name } => not_compared.push(format!("secret:{name}")),
            Note::LeftAsIs { field, value } => left.push(format!("{field} {value:?}")),
            Note::NotInRow { field } => kept.push(field.to_string()),
            other_note => other.push(other_note.to_string()),
        }
    }
    let compared = match secrets {
        SecretsSent::Again => {
            "secret values not compared (Omni never returns them), sent again by the update"
        }
        SecretsSent::Not => "secret values not compared (Omni never returns them)",
    };
    let groups = [
        (compared, not_compared),
        ("left as they are in Omni (empty in the row)", left),
        (
            "kept, not in the row (Omni's update cannot delete variables)",
            kept,
        ),
    ];
    for (heading, items) in groups {
        if !items.is_empty() {
            let _ = writeln!(text, "    = {heading}: {}", items.join(", "));
        }
    }
    for note in other {
        let _ = writeln!(text, "    = {note}");
    }
}

/// A name as written, quoted when spaces, quotes or control characters would blur the line.
fn shown_name(name: &str) -> Cow<'_, str> {
    let plain = !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"');
    if plain {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(format!("{name:?}"))
    }
}

/// The totals of a plan (or dry run), after its entries. A closed stdout is not an error.
pub(super) fn print_summary(summary: &Summary, actions: &ActionCounts, verdict: Verdict) {
    let text = summary_text(summary, actions, verdict);
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn summary_text(summary: &Summary, actions: &ActionCounts, verdict: Verdict) -> String {
    let mut text = format!(
        "plan: {} rows: {}; no write was sent\n  {:.1}s, {} requests, {} retries, {} rate-limited (429)\n",
        summary.rows,
        action_counts(actions),
        summary.elapsed.as_secs_f64(),
        summary.requests,
        summary.retries,
        summary.rate_limited
    );
    let reason = summary.stop_reason.as_deref();
    let last = match (summary.outcome, verdict) {
        (RunOutcome::Aborted, _) => Some(format!("aborted: {}", reason.unwrap_or(""))),
        (RunOutcome::Interrupted, _) => Some(reason.unwrap_or("interrupted").to_owned()),
        (outcome, Verdict::Shown) => Some(verdict_line(outcome, actions)),
        (_, Verdict::Omitted) => None,
    };
    if let Some(last) = last {
        let _ = writeln!(text, "  {last}");
    }
    text
}

fn action_counts(actions: &ActionCounts) -> String {
    let counts: Vec<String> = ActionKind::ALL
        .into_iter()
        .filter(|kind| actions.get(*kind) > 0)
        .map(|kind| {
            let label = if kind.is_change() || kind == ActionKind::Fail {
                format!("would {kind}")
            } else {
                kind.to_string()
            };
            format!("{label} {}", actions.get(kind))
        })
        .collect();
    if counts.is_empty() {
        "nothing to do".to_owned()
    } else {
        counts.join(", ")
    }
}

fn verdict_line(outcome: RunOutcome, actions: &ActionCounts) -> String {
    match outcome {
        RunOutcome::ChangesPlanned => format!(
            "exit 4: {} changes to make; `run` with the same options makes them",
            actions.changes()
        ),
        RunOutcome::SomeRowsFailed => format!("exit 1: {} rows would fail", actions.fail),
        _ => "exit 0: nothing to change".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omni_dbt_batch::{ErrorKind, Field, FieldChange, FieldValue, InputPosition};

    const CONNECTION: &str = "3f1b6a2e-8c4d-4e8a-9b1f-2d7c5e9a0b11";
    const ENVIRONMENT: &str = "0b6e1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b";

    fn entry(name: &str, action: PlannedAction) -> PlanEntry {
        PlanEntry {
            input: Some(InputPosition { row: 2, line: 3 }),
            connection_id: CONNECTION.into(),
            name: name.into(),
            environment_id: match action {
                PlannedAction::Create => None,
                _ => Some(ENVIRONMENT.parse().unwrap()),
            },
            action,
        }
    }

    fn lines(entry: &PlanEntry) -> Vec<String> {
        entry_text(entry).lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_create_is_one_line_starting_with_its_action() {
        assert_eq!(
            lines(&entry("dev_alice", PlannedAction::Create)),
            [format!("create     line 3      {CONNECTION} dev_alice")]
        );
    }

    #[test]
    fn an_update_lists_each_change_then_what_it_leaves_as_it_is() {
        let drift = Drift {
            changes: vec![FieldChange {
                field: Field::TargetSchema,
                old: FieldValue::Plain("dbt_bob".into()),
                new: FieldValue::Plain("dbt_bob_v2".into()),
            }],
            notes: vec![
                Note::SecretNotCompared {
                    name: "DBT_API_KEY".into(),
                },
                Note::LeftAsIs {
                    field: Field::TargetRole,
                    value: "ANALYST".into(),
                },
                Note::NotInRow {
                    field: Field::Variable {
                        name: "LEGACY".into(),
                        secret: false,
                    },
                },
            ],
        };
        assert_eq!(
            lines(&entry("dev_bob", PlannedAction::Update(drift))),
            [
                format!("update     line 3      {CONNECTION} dev_bob (environment {ENVIRONMENT})"),
                r#"    ~ target_schema: "dbt_bob" -> "dbt_bob_v2""#.to_owned(),
                "    = secret values not compared (Omni never returns them), sent again by the update: secret:DBT_API_KEY".to_owned(),
                r#"    = left as they are in Omni (empty in the row): target_role "ANALYST""#.to_owned(),
                "    = kept, not in the row (Omni's update cannot delete variables): var:LEGACY".to_owned(),
            ]
        );
    }

    #[test]
    fn an_unchanged_row_says_which_secrets_were_not_compared() {
        let drift = Drift {
            changes: Vec::new(),
            notes: vec![Note::SecretNotCompared { name: "K".into() }],
        };
        let shown = lines(&entry("dev", PlannedAction::Unchanged(drift)));
        assert_eq!(
            shown[1],
            "    = secret values not compared (Omni never returns them): secret:K"
        );
    }

    #[test]
    fn a_failure_says_why_on_its_line() {
        let fail = PlannedAction::Fail {
            kind: ErrorKind::NotFound,
            http_status: Some(404),
            reason: "no such connection".into(),
        };
        let mut failed = entry("dev", fail);
        failed.environment_id = None;
        assert_eq!(
            lines(&failed),
            [format!(
                "fail       line 3      {CONNECTION} dev: not_found (HTTP 404): no such connection"
            )]
        );
    }

    #[test]
    fn names_are_quoted_only_when_they_would_blur_the_line() {
        assert_eq!(shown_name("dev_alice"), "dev_alice");
        assert_eq!(shown_name("dev alice"), "\"dev alice\"");
        assert_eq!(shown_name("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn totals_name_each_action_present() {
        let mut actions = ActionCounts::default();
        for kind in [
            ActionKind::Create,
            ActionKind::Create,
            ActionKind::Unchanged,
        ] {
            actions.add(kind);
        }
        assert_eq!(action_counts(&actions), "would create 2, unchanged 1");
        assert_eq!(action_counts(&ActionCounts::default()), "nothing to do");
        assert_eq!(
            verdict_line(RunOutcome::ChangesPlanned, &actions),
            "exit 4: 2 changes to make; `run` with the same options makes them"
        );
    }
}
