//! Cells a spreadsheet would evaluate: the one rule that guards a cell when a CSV is written and
//! unguards it when the CSV is read back.
//!
//! A spreadsheet that opens a CSV evaluates a cell starting with `=`, `+`, `-` or `@` (and, in
//! some, a leading tab or carriage return) as a formula, so an environment named
//! `=HYPERLINK(...)` in a results file would run in the hands of whoever opens it. A written cell
//! that starts with one of those characters therefore gets one `'` in front, which spreadsheets
//! show as text. So that reading can undo it exactly, a cell that already starts with `'`
//! followed by one of those characters or by another `'` gets one `'` more; reading removes one
//! `'` from exactly such cells. Guarding is injective: every value reads back as it was
//! (`--resume`, `undo`, `merge` and export then run see the names Omni holds), and a hand-written
//! `'abc` is left alone both ways.

use std::borrow::Cow;

/// The first characters that make a spreadsheet evaluate a cell.
const EVALUATED: [u8; 6] = [b'=', b'+', b'-', b'@', b'\t', b'\r'];

/// The `'` a guarded cell starts with.
const QUOTE: u8 = b'\'';

/// Whether a cell starting with `'` then `second` is a guarded one (or would be mistaken for it).
fn follows_quote(second: u8) -> bool {
    second == QUOTE || EVALUATED.contains(&second)
}

/// Whether `value` is written with one more `'` in front.
fn needs_guard(value: &[u8]) -> bool {
    match value {
        [first, ..] if EVALUATED.contains(first) => true,
        [QUOTE, second, ..] => follows_quote(*second),
        _ => false,
    }
}

/// The cell to write for `value`: itself, or with one `'` in front when a spreadsheet would
/// evaluate it or when reading would take it for a guarded cell.
pub(crate) fn guard(value: &str) -> Cow<'_, str> {
    if needs_guard(value.as_bytes()) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// The value a cell read back stands for: the cell without its first `'` when that `'` is
/// followed by one of `= + - @`, a tab, a carriage return or another `'`; else the cell itself.
fn unguard(cell: &str) -> &str {
    match unguard_bytes(cell.as_bytes()).len() == cell.len() {
        true => cell,
        // The removed byte is an ASCII `'`, so the rest starts on a character boundary.
        false => &cell[1..],
    }
}

/// [`unguard`] on an owned cell.
pub(crate) fn unguard_owned(mut cell: String) -> String {
    if unguard(&cell).len() != cell.len() {
        cell.remove(0);
    }
    cell
}

/// [`unguard`] on the bytes of a cell not yet known to be UTF-8.
pub(crate) fn unguard_bytes(cell: &[u8]) -> &[u8] {
    match cell {
        [QUOTE, second, ..] if follows_quote(*second) => &cell[1..],
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cells_a_spreadsheet_would_evaluate_get_one_quote() {
        for (value, cell) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1", "'+1"),
            ("-x", "'-x"),
            ("@x", "'@x"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=x", "''=x"),
            ("''", "'''"),
            ("'", "'"),
            ("'abc", "'abc"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(guard(value), cell, "{value:?}");
            assert_eq!(unguard(cell), value, "{cell:?}");
            assert_eq!(unguard_owned(cell.to_owned()), value, "{cell:?}");
        }
    }

    #[test]
    fn a_hand_written_quote_is_left_alone() {
        assert_eq!(unguard("'abc"), "'abc");
        assert_eq!(unguard("'"), "'");
        assert_eq!(unguard_bytes(b"'\xFF"), b"'\xFF");
    }

    fn spreadsheet_text() -> impl Strategy<Value = String> {
        prop_oneof!["['=+@\t\r\n\"a ,-]{0,6}", any::<String>()]
    }

    proptest! {
        #[test]
        fn every_value_reads_back_as_written(value in spreadsheet_text()) {
            let cell = guard(&value);
            prop_assert_eq!(unguard(&cell), value.as_str());
            prop_assert_eq!(unguard_bytes(cell.as_bytes()), value.as_bytes());
        }

        #[test]
        fn no_written_cell_starts_a_formula(value in spreadsheet_text()) {
            let cell = guard(&value);
            prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{:?}", cell);
        }

        #[test]
        fn two_values_never_share_a_cell(a in spreadsheet_text(), b in spreadsheet_text()) {
            prop_assume!(a != b);
            prop_assert_ne!(guard(&a), guard(&b));
        }
    }
}
