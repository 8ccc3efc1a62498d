//! Duplicate `(connection, name)` detection in a few bytes per row: 32-bit key hashes first,
//! exact keys only for the rows whose hash is seen more than once.
//!
//! The check runs in two passes over the input (see [`crate::read::checked::scan`]):
//!
//! 1. every row of the shard that has a connection id and a name pushes the 32-bit
//!    [`Key::hash32`] of its key into [`KeyHashes`] (4 bytes per row, in 256 buckets so that
//!    growth reallocates one small vector at a time);
//! 2. [`KeyHashes::candidates`] keeps the hashes seen more than once: the real duplicates plus
//!    a few 32-bit collisions;
//! 3. only if there are candidates, a second read offers each row whose hash is a candidate to
//!    a [`Verifier`], which compares exact keys, so a collision never yields a verdict.
//!
//! The result, [`Duplicates`], holds 16 bytes per duplicate row and nothing for the others.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hasher};

use omni_dbt_core::ConnectionId;

use crate::read::input::{InputRow, RowProblem};

/// The rows that repeat an earlier row's `(connection, name)`, each with the line of the first
/// row that had it. Sorted by row; 16 bytes per duplicate row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Duplicates {
    /// `(row, first line)`, sorted by row.
    rows: Vec<(u64, u64)>,
}

impl Duplicates {
    /// The line of the first row with the same key, when `row` (a 1-based row index) is a
    /// duplicate.
    pub(crate) fn first_line(&self, row: u64) -> Option<u64> {
        self.rows
            .binary_search_by_key(&row, |&(r, _)| r)
            .ok()
            .and_then(|i| self.rows.get(i))
            .map(|&(_, first)| first)
    }

    /// How many rows are duplicates.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is a duplicate.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// `(row, first line)` for every duplicate row, in row order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.rows.iter().copied()
    }
}

/// A row's connection as duplicates are judged: the UUID when the text parses as one (so any
/// spelling of the same UUID matches), else the trimmed text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum KeyConnection<'a> {
    Id(ConnectionId),
    Raw(&'a str),
}

/// What makes two rows duplicates: the same connection and the same trimmed name
/// (case-sensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key<'a> {
    connection: KeyConnection<'a>,
    name: &'a str,
}

impl<'a> Key<'a> {
    /// The key of a row with a parsed connection; `None` when the name is blank.
    pub(crate) fn new(connection: &ConnectionId, name: &'a str) -> Option<Key<'a>> {
        let name = name.trim();
        (!name.is_empty()).then_some(Key {
            connection: KeyConnection::Id(*connection),
            name,
        })
    }

    /// The key of a row whose connection id is written `connection` (a UUID or not); `None`
    /// when the connection id or the name is blank.
    pub(crate) fn from_text(connection: &'a str, name: &'a str) -> Option<Key<'a>> {
        let connection = match connection.parse::<ConnectionId>() {
            Ok(id) => KeyConnection::Id(id),
            Err(_) => match connection.trim() {
                "" => return None,
                raw => KeyConnection::Raw(raw),
            },
        };
        let name = name.trim();
        (!name.is_empty()).then_some(Key { connection, name })
    }

    /// The key of a row that was read.
    pub(crate) fn of_row(row: &'a InputRow) -> Option<Key<'a>> {
        Key::new(&row.connection, &row.environment.name)
    }

    /// The key of a row that could not be read or is invalid.
    pub(crate) fn of_problem(problem: &'a RowProblem) -> Option<Key<'a>> {
        Key::from_text(&problem.connection_id, &problem.name)
    }

    /// The key of what the reader yielded for one row.
    pub(crate) fn of_read(item: &'a Result<InputRow, RowProblem>) -> Option<Key<'a>> {
        match item {
            Ok(row) => Key::of_row(row),
            Err(problem) => Key::of_problem(problem),
        }
    }

    /// A 32-bit hash of the key, the same for equal keys within one process.
    pub(crate) fn hash32(&self) -> u32 {
        let mut hasher = DefaultHasher::new();
        match self.connection {
            KeyConnection::Id(id) => {
                hasher.write_u8(0);
                hasher.write(id.as_uuid().as_bytes());
            }
            KeyConnection::Raw(raw) => {
                hasher.write_u8(1);
                hasher.write(raw.as_bytes());
            }
        }
        // 0xff never occurs in UTF-8, so the connection and the name cannot run together.
        hasher.write_u8(0xff);
        hasher.write(self.name.as_bytes());
        let hash = hasher.finish();
        // Truncation intended: the high and low halves folded into 32 bits.
        ((hash >> 32) ^ hash) as u32
    }

    fn to_owned_key(self) -> OwnedKey {
        OwnedKey {
            connection: match self.connection {
                KeyConnection::Id(id) => OwnedConnection::Id(id),
                KeyConnection::Raw(raw) => OwnedConnection::Raw(raw.into()),
            },
            name: self.name.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum OwnedConnection {
    Id(ConnectionId),
    Raw(Box<str>),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct OwnedKey {
    connection: OwnedConnection,
    name: Box<str>,
}

impl OwnedKey {
    fn matches(&self, key: &Key<'_>) -> bool {
        let connection = match (&self.connection, key.connection) {
            (OwnedConnection::Id(a), KeyConnection::Id(b)) => *a == b,
            (OwnedConnection::Raw(a), KeyConnection::Raw(b)) => &**a == b,
            _ => false,
        };
        connection && &*self.name == key.name
    }
}

/// Number of buckets of [`KeyHashes`]: one per value of the hash's top byte.
const BUCKETS: usize = 256;

/// The first pass's store: the 32-bit hash of every key, 4 bytes per row, spread over 256
/// buckets by the hash's top byte so that no single large vector doubles at once.
#[derive(Clone, Debug)]
pub(crate) struct KeyHashes {
    buckets: Vec<Vec<u32>>,
}

impl Default for KeyHashes {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyHashes {
    /// An empty store.
    pub(crate) fn new() -> Self {
        Self {
            buckets: vec![Vec::new(); BUCKETS],
        }
    }

    /// Records one row's key hash.
    pub(crate) fn push(&mut self, hash: u32) {
        let bucket = (hash >> 24) as usize;
        if let Some(bucket) = self.buckets.get_mut(bucket) {
            bucket.push(hash);
        }
    }

    /// How many hashes were pushed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    /// The hashes pushed more than once. Each bucket is sorted in place and freed in turn.
    pub(crate) fn candidates(self) -> Candidates {
        let mut hashes = HashSet::new();
        for mut bucket in self.buckets {
            bucket.sort_unstable();
            for pair in bucket.windows(2) {
                if let [a, b] = pair {
                    if a == b {
                        hashes.insert(*a);
                    }
                }
            }
        }
        Candidates { hashes }
    }
}

/// Hashes seen more than once in the first pass: real duplicates and 32-bit collisions.
#[derive(Clone, Debug, Default)]
pub(crate) struct Candidates {
    hashes: HashSet<u32>,
}

impl Candidates {
    /// Whether no hash repeats, so no row can be a duplicate and no second pass is needed.
    pub(crate) fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// How many distinct hashes repeat.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether rows with this hash must be compared exactly.
    pub(crate) fn contains(&self, hash: u32) -> bool {
        self.hashes.contains(&hash)
    }

    /// The second pass's judge for these candidates.
    pub(crate) fn verifier(self) -> Verifier {
        Verifier {
            candidates: self,
            first_line: HashMap::new(),
            found: Vec::new(),
        }
    }
}

/// The second pass: compares the exact keys of candidate rows, offered in row order.
#[derive(Debug)]
pub(crate) struct Verifier {
    candidates: Candidates,
    /// Exact keys of candidate rows by hash, each with its first line.
    first_line: HashMap<u32, Vec<(OwnedKey, u64)>>,
    found: Vec<(u64, u64)>,
}

impl Verifier {
    /// Offers the row at `row`/`line` with `key`, whose hash is `hash` (normally
    /// [`Key::hash32`]; any function works as long as both passes use the same). Rows must be
    /// offered in row order. Returns the first row's line when an earlier row had the same key.
    pub(crate) fn offer(&mut self, hash: u32, key: &Key<'_>, row: u64, line: u64) -> Option<u64> {
        if !self.candidates.contains(hash) {
            return None;
        }
        let seen = self.first_line.entry(hash).or_default();
        match seen.iter().find(|(known, _)| known.matches(key)) {
            Some(&(_, first)) => {
                self.found.push((row, first));
                Some(first)
            }
            None => {
                seen.push((key.to_owned_key(), line));
                None
            }
        }
    }

    /// The duplicates found.
    pub(crate) fn finish(mut self) -> Duplicates {
        // Offered in row order already; sorting keeps lookups right if a caller did not.
        self.found.sort_unstable_by_key(|&(row, _)| row);
        Duplicates { rows: self.found }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "550e8400-e29b-41d4-a716-446655440000";
    const B: &str = "650e8400-e29b-41d4-a716-446655440000";

    fn real(key: &Key<'_>) -> u32 {
        key.hash32()
    }

    /// Runs both passes over `(connection, name)` rows (row i+1 on line i+2) with `hash`.
    fn find(rows: &[(&str, &str)], hash: impl Fn(&Key<'_>) -> u32) -> Duplicates {
        let keys: Vec<_> = rows.iter().map(|(c, n)| Key::from_text(c, n)).collect();
        let mut hashes = KeyHashes::new();
        for key in keys.iter().flatten() {
            hashes.push(hash(key));
        }
        let candidates = hashes.candidates();
        let mut verifier = candidates.verifier();
        for (i, key) in keys.iter().enumerate() {
            if let Some(key) = key {
                let row = i as u64 + 1;
                verifier.offer(hash(key), key, row, row + 1);
            }
        }
        verifier.finish()
    }

    #[test]
    fn later_rows_with_the_same_key_name_the_first_rows_line() {
        let dups = find(
            &[(A, "dev"), (B, "dev"), (A, " dev "), (A, "Dev"), (A, "dev")],
            real,
        );
        assert_eq!(dups.iter().collect::<Vec<_>>(), [(3, 2), (5, 2)]);
        assert_eq!(dups.first_line(5), Some(2));
        assert_eq!(dups.first_line(4), None, "names are case-sensitive");
        assert_eq!(dups.first_line(2), None, "other connection");
    }

    #[test]
    fn a_forced_hash_collision_is_not_a_duplicate() {
        // Every key hashes to 7: all rows are candidates, only exact keys are duplicates.
        let dups = find(&[(A, "x"), (A, "y"), (B, "x"), (A, "y")], |_| 7);
        assert_eq!(dups.iter().collect::<Vec<_>>(), [(4, 3)]);
    }

    #[test]
    fn colliding_hashes_are_candidates_but_the_verifier_keeps_them_apart() {
        let mut hashes = KeyHashes::new();
        hashes.push(0xdead_beef);
        hashes.push(0xdead_beef);
        hashes.push(0x0000_0001);
        let candidates = hashes.candidates();
        assert_eq!(candidates.len(), 1);
        assert!(candidates.contains(0xdead_beef) && !candidates.contains(1));
        let mut verifier = candidates.verifier();
        let x = Key::from_text(A, "x").unwrap();
        let y = Key::from_text(A, "y").unwrap();
        assert_eq!(verifier.offer(0xdead_beef, &x, 1, 2), None);
        assert_eq!(verifier.offer(0xdead_beef, &y, 2, 3), None);
        assert_eq!(verifier.offer(1, &x, 3, 4), None, "not a candidate hash");
        assert_eq!(verifier.offer(0xdead_beef, &x, 4, 5), Some(2));
        assert_eq!(verifier.finish().iter().collect::<Vec<_>>(), [(4, 2)]);
    }

    #[test]
    fn any_spelling_of_the_same_uuid_is_the_same_connection() {
        let upper = A.to_uppercase();
        let simple = A.replace('-', "");
        let dups = find(&[(A, "n"), (&upper, "n"), (&simple, "n")], real);
        assert_eq!(dups.iter().collect::<Vec<_>>(), [(2, 2), (3, 2)]);
    }

    #[test]
    fn raw_connection_text_counts_when_it_is_not_a_uuid() {
        let dups = find(&[("bad-id", "n"), (" bad-id ", "n"), ("BAD-ID", "n")], real);
        assert_eq!(dups.iter().collect::<Vec<_>>(), [(2, 2)]);
    }

    #[test]
    fn blank_names_or_connections_claim_nothing() {
        assert_eq!(Key::from_text(A, "  "), None);
        assert_eq!(Key::from_text(" ", "n"), None);
        let dups = find(&[(A, ""), (A, " "), ("", "n"), ("", "n")], real);
        assert!(dups.is_empty());
    }

    #[test]
    fn no_repeated_hash_means_no_candidates() {
        let mut hashes = KeyHashes::new();
        for name in ["a", "b", "c"] {
            hashes.push(Key::from_text(A, name).unwrap().hash32());
        }
        assert_eq!(hashes.len(), 3);
        assert!(hashes.candidates().is_empty());
    }

    #[test]
    fn hash_separates_connection_from_name() {
        let a = Key::from_text("ab", "c").unwrap();
        let b = Key::from_text("a", "bc").unwrap();
        assert_ne!(a, b);
        assert_ne!(a.hash32(), b.hash32());
    }

    #[test]
    fn repeated_keys_are_found_by_hash_then_compared_exactly() {
        use crate::read::duplicates::{Key, KeyHashes};
        use omni_dbt_core::ConnectionId;
        let a: ConnectionId = "550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
        let rows = [
            (1, 2, "dev_alice"),
            (2, 3, "dev_bob"),
            (3, 4, " dev_alice "),
        ];
        let mut hashes = KeyHashes::new();
        for (_, _, name) in rows {
            hashes.push(Key::new(&a, name).unwrap().hash32());
        }
        let mut verifier = hashes.candidates().verifier();
        for (row, line, name) in rows {
            let key = Key::new(&a, name).unwrap();
            verifier.offer(key.hash32(), &key, row, line);
        }
        let duplicates = verifier.finish();
        assert_eq!(duplicates.first_line(3), Some(2));
        assert_eq!(duplicates.first_line(1), None);
    }
}
