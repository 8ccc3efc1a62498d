//! Opaque list cursors: the sort key `(name, id)` of the last environment on a page, hex-encoded.
//!
//! A cursor names a position rather than an offset, so environments created or deleted between
//! two page requests never make a page skip or repeat another environment.
//!
//! The endless-pages fault hands out cursors of its own, each one new; they start with `zz`,
//! which no hex-encoded position does, and lead to the position past the last environment.

use std::fmt::Write;

use uuid::Uuid;

/// What starts every cursor of the endless-pages fault (not hex, so never a position).
const ENDLESS_PREFIX: &str = "zz";

/// A fresh cursor for the endless-pages fault, never handed out before.
pub(crate) fn encode_endless(sequence: u64) -> String {
    format!("{ENDLESS_PREFIX}{sequence:x}{}", Uuid::new_v4().simple())
}

/// Whether `cursor` came from [`encode_endless`].
pub(crate) fn is_endless(cursor: &str) -> bool {
    cursor.starts_with(ENDLESS_PREFIX)
}

/// Encodes the position after `(name, id)`.
pub(crate) fn encode(name: &str, id: Uuid) -> String {
    let mut out = String::with_capacity(2 * (16 + name.len()));
    for byte in id.as_bytes().iter().chain(name.as_bytes()) {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Decodes a cursor made by [`encode`]; `None` when it is not one.
pub(crate) fn decode(cursor: &str) -> Option<(String, Uuid)> {
    if cursor.len() % 2 != 0 || cursor.len() < 32 || !cursor.is_ascii() {
        return None;
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let (id, name) = bytes.split_at(16);
    let id = Uuid::from_slice(id).ok()?;
    let name = String::from_utf8(name.to_vec()).ok()?;
    Some((name, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_any_name() {
        let id = Uuid::new_v4();
        for name in ["", "dev", "PR_1111 Expose", "ünïcødé/,&="] {
            assert_eq!(decode(&encode(name, id)), Some((name.to_owned(), id)));
        }
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        for cursor in ["", "abc", "zz", "eyJpZCI6IjEyMzQ1In0", &"0".repeat(31)] {
            assert_eq!(decode(cursor), None, "{cursor}");
        }
        let invalid_utf8 = format!("{}ff", "00".repeat(16));
        assert_eq!(decode(&invalid_utf8), None);
    }

    #[test]
    fn endless_cursors_are_fresh_and_never_positions() {
        let (a, b) = (encode_endless(1), encode_endless(1));
        assert_ne!(a, b);
        assert!(is_endless(&a) && decode(&a).is_none());
        assert!(!is_endless(&encode("zz", Uuid::nil())));
    }
}
