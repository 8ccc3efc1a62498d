//! The input generator: realistic environment rows as CSV, the same bytes for the same seed.

use std::io::{self, Write};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

/// The CSV header every generated file starts with.
pub const HEADER: &str = "connection_id,name,target_schema,target_database,target_role,owner_id,var:DBT_TARGET,var:DBT_THREADS,secret:DBT_API_KEY";

const PEOPLE: [&str; 16] = [
    "alice", "bob", "carol", "dan", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil",
];
const PURPOSES: [&str; 4] = ["dev", "ci", "staging", "sandbox"];
const DATABASES: [&str; 3] = ["", "analytics_dev", "analytics_ci"];
const ROLES: [&str; 3] = ["", "transformer_dev", "transformer_ci"];
const THREADS: [&str; 4] = ["4", "8", "16", ""];
/// Owners are drawn from a small pool, as in a real team.
const OWNERS: usize = 40;

/// What to generate: `rows` rows spread round-robin over `connections` connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenSpec {
    /// Data rows (the header excluded).
    pub rows: u64,
    /// Distinct connections (at least 1).
    pub connections: u64,
    /// Seed of every random choice, connection ids included.
    pub seed: u64,
}

impl GenSpec {
    /// The file name this spec is written to under the bench directory.
    pub fn file_name(&self) -> String {
        format!(
            "gen-{}rows-{}conns-seed{}.csv",
            self.rows, self.connections, self.seed
        )
    }
}

/// The connection ids of a seed: the first `count` are the same whatever `count` is.
pub fn connection_ids(seed: u64, count: u64) -> Vec<Uuid> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xC0DE_C0DE);
    (0..count).map(|_| random_uuid(&mut rng)).collect()
}

fn random_uuid(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// Writes the header and `spec.rows` rows. Row `i` goes to connection `i % connections` and is
/// named `<purpose>_<person>_<i / connections>`, so names are unique within each connection.
pub fn write_csv<W: Write>(spec: &GenSpec, out: W) -> io::Result<()> {
    let connections = connection_ids(spec.seed, spec.connections.max(1));
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let owners: Vec<Uuid> = (0..OWNERS).map(|_| random_uuid(&mut rng)).collect();
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    writeln!(out, "{HEADER}")?;
    let count = connections.len() as u64;
    for i in 0..spec.rows {
        let connection = connections[(i % count) as usize];
        let ordinal = i / count;
        let purpose = pick(&mut rng, &PURPOSES);
        let person = pick(&mut rng, &PEOPLE);
        let database = pick(&mut rng, &DATABASES);
        let role = pick(&mut rng, &ROLES);
        let owner = if rng.random_bool(0.8) {
            owners[rng.random_range(0..OWNERS)].to_string()
        } else {
            String::new()
        };
        let threads = pick(&mut rng, &THREADS);
        let secret: u128 = rng.random();
        writeln!(
            out,
            "{connection},{purpose}_{person}_{ordinal:06},dbt_{person}_{ordinal},{database},{role},{owner},{purpose},{threads},dbtu_{secret:032x}"
        )?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn generate(spec: GenSpec) -> String {
        let mut bytes = Vec::new();
        write_csv(&spec, &mut bytes).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    const SPEC: GenSpec = GenSpec {
        rows: 500,
        connections: 7,
        seed: 42,
    };

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        assert_eq!(generate(SPEC), generate(SPEC));
    }

    #[test]
    fn another_seed_gives_other_rows_and_connections() {
        let other = GenSpec { seed: 43, ..SPEC };
        assert_ne!(generate(SPEC), generate(other));
        assert_ne!(connection_ids(42, 3), connection_ids(43, 3));
    }

    #[test]
    fn rows_spread_over_exactly_the_requested_connections() {
        let text = generate(SPEC);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(HEADER));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len(), 500);
        assert!(rows.iter().all(|r| r.len() == 9), "nine cells per row");
        let conns: HashSet<&str> = rows.iter().map(|r| r[0]).collect();
        let expected: HashSet<String> = connection_ids(42, 7).iter().map(Uuid::to_string).collect();
        assert_eq!(conns.len(), 7);
        assert!(conns.iter().all(|c| expected.contains(*c)));
    }

    #[test]
    fn names_are_unique_within_each_connection() {
        let text = generate(SPEC);
        let keys: HashSet<(&str, &str)> = text
            .lines()
            .skip(1)
            .map(|l| {
                let mut cells = l.split(',');
                (cells.next().unwrap(), cells.next().unwrap())
            })
            .collect();
        assert_eq!(keys.len(), 500);
    }

    #[test]
    fn connection_ids_are_a_stable_prefix() {
        assert_eq!(connection_ids(9, 3)[..], connection_ids(9, 10)[..3]);
    }
}
