//! `RecordScanner`: splits a results file or journal into whole records (quote-aware for CSV) and
//! notices a torn last record left by a `kill -9` in the middle of a write.

use std::io::{self, BufRead};

use super::Format;

/// One whole record as it sits in the file, terminator included.
#[derive(Debug)]
pub(crate) struct RawRecord<'a> {
    /// Byte offset of the record's first byte.
    pub offset: u64,
    /// 1-based line of the file where the record starts.
    pub line: u64,
    /// The record's bytes, ending with `\n`.
    pub bytes: &'a [u8],
}

impl RawRecord<'_> {
    /// Whether the record is an empty line (skipped by readers).
    pub(super) fn is_blank(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }
}

/// The bytes after the last whole record: what a write interrupted by `kill -9` left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TornTail {
    /// Where the partial record starts (the length of the file's whole records).
    pub offset: u64,
    /// How many bytes it has.
    pub len: u64,
    /// The line where it starts.
    pub line: u64,
}

/// Splits a file into records.
///
/// A record ends at a `\n` outside double quotes (CSV) or at any `\n` (JSONL, where JSON escapes
/// newlines inside strings). Bytes at the end of the file that do not make a whole record are not
/// returned but reported by [`RecordScanner::torn`]: with append-only writes, they can only be a
/// record whose write was interrupted.
#[derive(Debug)]
pub(crate) struct RecordScanner<R> {
    input: R,
    quote_aware: bool,
    buf: Vec<u8>,
    offset: u64,
    line: u64,
    torn: Option<TornTail>,
}

impl<R: BufRead> RecordScanner<R> {
    /// A scanner over `input`, which holds records of `format`.
    pub(super) fn new(input: R, format: Format) -> Self {
        Self {
            input,
            quote_aware: format == Format::Csv,
            buf: Vec::with_capacity(256),
            offset: 0,
            line: 1,
            torn: None,
        }
    }

    /// The next whole record, or `None` at the end (after which [`Self::torn`] is known).
    pub(super) fn next_record(&mut self) -> io::Result<Option<RawRecord<'_>>> {
        self.buf.clear();
        let mut quotes = 0usize;
        loop {
            let before = self.buf.len();
            if self.input.read_until(b'\n', &mut self.buf)? == 0 {
                if !self.buf.is_empty() {
                    self.torn = Some(TornTail {
                        offset: self.offset,
                        len: self.buf.len() as u64,
                        line: self.line,
                    });
                }
                return Ok(None);
            }
            if self.quote_aware {
                quotes += self.buf[before..].iter().filter(|&&b| b == b'"').count();
            }
            if self.buf.ends_with(b"\n") && quotes % 2 == 0 {
                break;
            }
        }
        let record = RawRecord {
            offset: self.offset,
            line: self.line,
            bytes: &self.buf,
        };
        self.offset += self.buf.len() as u64;
        self.line += self.buf.iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(Some(record))
    }

    /// The partial record at the end of the file, once [`Self::next_record`] returned `None`.
    pub(super) fn torn(&self) -> Option<TornTail> {
        self.torn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(format: Format, text: &str) -> (Vec<(u64, u64, String)>, Option<TornTail>) {
        let mut scanner = RecordScanner::new(text.as_bytes(), format);
        let mut records = Vec::new();
        while let Some(record) = scanner.next_record().unwrap() {
            let text = String::from_utf8(record.bytes.to_vec()).unwrap();
            records.push((record.offset, record.line, text));
        }
        (records, scanner.torn())
    }

    #[test]
    fn csv_newlines_inside_quotes_do_not_end_a_record() {
        let (records, torn) = split(Format::Csv, "h\n1,\"a\nb\"\"\"\n2,c\n");
        assert_eq!(
            records,
            vec![
                (0, 1, "h\n".to_owned()),
                (2, 2, "1,\"a\nb\"\"\"\n".to_owned()),
                (12, 4, "2,c\n".to_owned()),
            ]
        );
        assert_eq!(torn, None);
    }

    #[test]
    fn a_record_without_its_newline_is_a_torn_tail() {
        let (records, torn) = split(Format::Jsonl, "{}\n{\"row\":");
        assert_eq!(records.len(), 1);
        assert_eq!(
            torn,
            Some(TornTail {
                offset: 3,
                len: 7,
                line: 2
            })
        );
    }

    #[test]
    fn csv_record_cut_after_a_quoted_newline_is_a_torn_tail() {
        let (records, torn) = split(Format::Csv, "h\n1,\"a\n");
        assert_eq!(records.len(), 1);
        assert_eq!(
            torn,
            Some(TornTail {
                offset: 2,
                len: 5,
                line: 2
            })
        );
    }

    #[test]
    fn jsonl_splits_on_every_newline() {
        let (records, torn) = split(Format::Jsonl, "{\"a\":\"\\\"\"}\n\n{}\n");
        assert_eq!(records.len(), 3);
        assert_eq!(records[2], (12, 3, "{}\n".to_owned()));
        assert_eq!(torn, None);
    }
}
