//! Row fingerprints: a stable hash of a row's request, so that `--resume` notices a changed input.

use omni_dbt_core::{ConnectionId, EnvironmentId, NewEnvironment};
use sha2::{Digest, Sha256};

use crate::read::input::RowProblem;

/// Version tag of the canonical encoding; part of every hash so a future change of the encoding
/// cannot collide with today's fingerprints.
const VALID_TAG: &[u8] = b"omni-dbt/row-fingerprint/v1\0";
const INVALID_TAG: &[u8] = b"omni-dbt/invalid-row-fingerprint/v1\0";
const DELETE_TAG: &[u8] = b"omni-dbt/delete-fingerprint/v1\0";

/// What every delete's fingerprint starts with, so that a record says it was a delete: an
/// undo's records carry a row, and only this tells them from a run's.
pub(crate) const DELETE_PREFIX: &str = "delete:";

/// The fingerprint of a create request: 32 lowercase hex characters (the first 16 bytes of a
/// SHA-256).
///
/// It covers the connection, every field (an absent field differs from an empty one), and each
/// variable's name, secrecy and plain value. Secret values are left out, so rotating a secret
/// does not mark the row as changed. Variables are taken in name order: Omni keys them by name,
/// so reordering `var:` columns does not change the request's meaning. The encoding is
/// length-prefixed and versioned, and never depends on the process (stable across runs).
pub(crate) fn fingerprint(connection: &ConnectionId, env: &NewEnvironment) -> String {
    let mut hash = Encoder::new(VALID_TAG);
    hash.bytes(connection.as_uuid().as_bytes());
    hash.text(&env.name);
    hash.text(&env.target_schema);
    for optional in [
        &env.owner_id,
        &env.target_database,
        &env.target_name,
        &env.target_role,
    ] {
        hash.optional(optional.as_deref());
    }
    match &env.variables {
        None => hash.tag(0),
        Some(variables) => {
            hash.tag(1);
            let mut sorted: Vec<_> = variables.iter().collect();
            sorted.sort_by(|a, b| {
                (&a.name, a.value.is_secret()).cmp(&(&b.name, b.value.is_secret()))
            });
            hash.length(sorted.len());
            for variable in sorted {
                hash.text(&variable.name);
                hash.tag(u8::from(variable.value.is_secret()));
                // A secret's value is deliberately not hashed.
                hash.optional(variable.value.plain());
            }
        }
    }
    hash.finish()
}

/// A fingerprint for a row that did not validate: the same 32-hex shape, computed from its
/// connection id and name as written and the fields that have problems (not the messages, whose
/// wording may change between versions; never values). Never equal to a valid row's fingerprint.
pub(crate) fn fingerprint_problem(problem: &RowProblem) -> String {
    let mut hash = Encoder::new(INVALID_TAG);
    hash.text(&problem.connection_id);
    hash.text(&problem.name);
    let mut fields: Vec<&str> = problem.problems.iter().map(|p| p.field.as_str()).collect();
    fields.sort_unstable();
    fields.dedup();
    hash.length(fields.len());
    for field in fields {
        hash.text(field);
    }
    hash.finish()
}

/// The fingerprint of a delete request: [`DELETE_PREFIX`], then 32 lowercase hex characters
/// of a hash of the connection and the environment id. Never equal to a create's fingerprint.
pub(crate) fn fingerprint_delete(connection: &ConnectionId, id: &EnvironmentId) -> String {
    let mut hash = Encoder::new(DELETE_TAG);
    hash.bytes(connection.as_uuid().as_bytes());
    hash.bytes(id.as_uuid().as_bytes());
    format!("{DELETE_PREFIX}{}", hash.finish())
}

/// A length-prefixed, unambiguous encoding fed straight into SHA-256.
struct Encoder(Sha256);

impl Encoder {
    fn new(tag: &[u8]) -> Self {
        let mut sha = Sha256::new();
        sha.update(tag);
        Self(sha)
    }

    fn tag(&mut self, tag: u8) {
        self.0.update([tag]);
    }

    fn length(&mut self, len: usize) {
        self.0.update((len as u64).to_le_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.length(bytes.len());
        self.0.update(bytes);
    }

    fn text(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    fn optional(&mut self, text: Option<&str>) {
        match text {
            None => self.tag(0),
            Some(text) => {
                self.tag(1);
                self.text(text);
            }
        }
    }

    fn finish(self) -> String {
        hex(&self.0.finalize()[..16])
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use omni_dbt_core::NewVariable;

    fn connection() -> ConnectionId {
        "550e8400-e29b-41d4-a716-446655440000".parse().unwrap()
    }

    fn base() -> NewEnvironment {
        NewEnvironment::new("dev_alice", "dbt_alice")
            .with_target_role("analyst")
            .with_variable(NewVariable::plain("DBT_TARGET", "dev"))
            .with_variable(NewVariable::secret("DBT_API_KEY", "k1"))
    }

    #[test]
    fn fingerprint_is_pinned_across_versions() {
        // If this changes, every results file written before becomes "changed" on --resume.
        assert_eq!(
            fingerprint(&connection(), &NewEnvironment::new("a", "b")),
            "2dfc8b082eceee34f4c25e2bd225f148"
        );
        assert_eq!(
            fingerprint(&connection(), &base()),
            "1335bf5419b90732ce4e11ca4e2aba6d"
        );
    }

    #[test]
    fn every_request_field_changes_the_fingerprint() {
        let reference = fingerprint(&connection(), &base());
        let other_conn: ConnectionId = "650e8400-e29b-41d4-a716-446655440000".parse().unwrap();
        let variants = [
            fingerprint(&other_conn, &base()),
            fingerprint(
                &connection(),
                &NewEnvironment {
                    name: "x".into(),
                    ..base()
                },
            ),
            fingerprint(&connection(), &base().with_target_database("db")),
            fingerprint(&connection(), &base().with_target_name("t")),
            fingerprint(&connection(), &base().with_owner_id("o")),
            fingerprint(
                &connection(),
                &NewEnvironment {
                    target_role: None,
                    ..base()
                },
            ),
            fingerprint(
                &connection(),
                &base().with_variable(NewVariable::plain("NEW", "")),
            ),
            fingerprint(
                &connection(),
                &NewEnvironment::new("dev_alice", "dbt_alice")
                    .with_target_role("analyst")
                    .with_variable(NewVariable::plain("DBT_TARGET", "prod"))
                    .with_variable(NewVariable::secret("DBT_API_KEY", "k1")),
            ),
        ];
        for (i, variant) in variants.iter().enumerate() {
            assert_ne!(variant, &reference, "variant {i}");
        }
    }

    #[test]
    fn secret_values_and_variable_order_do_not_matter() {
        let rotated = NewEnvironment::new("dev_alice", "dbt_alice")
            .with_target_role("analyst")
            .with_variable(NewVariable::secret("DBT_API_KEY", "k2-rotated"))
            .with_variable(NewVariable::plain("DBT_TARGET", "dev"));
        assert_eq!(
            fingerprint(&connection(), &base()),
            fingerprint(&connection(), &rotated)
        );
    }

    #[test]
    fn secrecy_of_a_variable_matters() {
        let plain = NewEnvironment::new("n", "s").with_variable(NewVariable::plain("K", ""));
        let secret = NewEnvironment::new("n", "s").with_variable(NewVariable::secret("K", ""));
        assert_ne!(
            fingerprint(&connection(), &plain),
            fingerprint(&connection(), &secret)
        );
    }

    #[test]
    fn empty_and_absent_fields_differ() {
        let absent = NewEnvironment::new("n", "s");
        let empty = NewEnvironment::new("n", "s").with_target_role("");
        assert_ne!(
            fingerprint(&connection(), &absent),
            fingerprint(&connection(), &empty)
        );
    }

    #[test]
    fn secret_values_do_not_change_the_fingerprint_but_fields_do() {
        use crate::record::fingerprint::fingerprint;
        use omni_dbt_core::{ConnectionId, NewEnvironment, NewVariable};
        let connection: ConnectionId = "550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
        let with_secret = |s: &str| {
            NewEnvironment::new("dev", "dbt_dev").with_variable(NewVariable::secret("KEY", s))
        };
        let a = fingerprint(&connection, &with_secret("old"));
        assert_eq!(a.len(), 32);
        assert_eq!(a, fingerprint(&connection, &with_secret("rotated")));
        assert_ne!(
            a,
            fingerprint(&connection, &NewEnvironment::new("dev", "dbt_other"))
        );
    }

    #[test]
    fn an_invalid_rows_fingerprint_ignores_its_position() {
        use crate::read::input::RowProblem;
        use crate::record::fingerprint::fingerprint_problem;
        use omni_dbt_core::FieldError;
        let problem = RowProblem {
            row: 3,
            line: 4,
            column: None,
            connection_id: "x".into(),
            name: "dev".into(),
            problems: vec![FieldError::new("connection_id", "must be a connection id")],
            problem_lines: Box::default(),
        };
        let moved = RowProblem {
            row: 9,
            line: 12,
            ..problem.clone()
        };
        assert_eq!(fingerprint_problem(&problem), fingerprint_problem(&moved));
    }
}
