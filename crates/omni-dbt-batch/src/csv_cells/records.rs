//! `LineRecords`: the records of a CSV file with the line each starts on, blank lines skipped,
//! as every CSV this tool reads (inputs, connection maps, connection lists) is read.

use std::io::Read;

use csv::{ByteRecord, ReaderBuilder, Terminator};

use super::unguard_bytes;

/// Reads records into one reused buffer and says on which line each starts.
pub(crate) struct LineRecords<R: Read> {
    reader: csv::Reader<R>,
    record: ByteRecord,
}

impl<R: Read> LineRecords<R> {
    /// Reads CSV from `source`; the header is a record like any other.
    pub(crate) fn new(source: R) -> Self {
        // Only `\n` ends a record; a `\r` before it is stripped from the last field. With csv's
        // default (either byte ends a record) a CRLF file reports every row one line early.
        let reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .terminator(Terminator::Any(b'\n'))
            .from_reader(source);
        Self {
            reader,
            record: ByteRecord::new(),
        }
    }

    /// Reads the next non-blank record; returns the line it starts on, `None` at the end.
    pub(crate) fn next_record(&mut self) -> Result<Option<u64>, csv::Error> {
        loop {
            let before = self.reader.position().line();
            if !self.reader.read_byte_record(&mut self.record)? {
                return Ok(None);
            }
            if self.record.len() == 1 && matches!(self.record.get(0), Some(b"" | b"\r")) {
                continue; // a blank CRLF line
            }
            // csv positions a record before the blank lines it skipped; count back from its end
            // instead: the end line, less the newlines inside quoted fields, less the terminator.
            // (Only a last row without a final newline after blank lines is reported early.)
            let after = self.reader.position().line();
            let inner = self
                .record
                .as_slice()
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            return Ok(Some(after.saturating_sub(inner + 1).max(before)));
        }
    }

    /// How many cells the last record read has.
    pub(crate) fn len(&self) -> usize {
        self.record.len()
    }

    /// The cells of the last record read, unguarded, the `\r` of a CRLF line ending removed
    /// from the last one.
    pub(crate) fn cells(&self) -> impl Iterator<Item = &[u8]> {
        let last = self.record.len().saturating_sub(1);
        self.record.iter().enumerate().map(move |(i, bytes)| {
            let bytes = match bytes.strip_suffix(b"\r") {
                Some(stripped) if i == last => stripped,
                _ => bytes,
            };
            unguard_bytes(bytes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut records = LineRecords::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(line) = records.next_record().unwrap() {
            let cells = records
                .cells()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            out.push((line, cells));
        }
        out
    }

    #[test]
    fn records_carry_their_lines_and_unguarded_cells() {
        let read = all("a,b\r\n\r\n'=x,\"two\nlines\"\r\n\n'abc,''\r\n");
        assert_eq!(
            read,
            [
                (1, vec!["a".to_owned(), "b".to_owned()]),
                (3, vec!["=x".to_owned(), "two\nlines".to_owned()]),
                (6, vec!["'abc".to_owned(), "'".to_owned()]),
            ]
        );
    }
}
