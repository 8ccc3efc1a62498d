//! `CsvLine`: one CSV record as every CSV this tool writes holds it, each cell guarded.

use super::guard;

/// Encodes records one at a time into one reused buffer: RFC 4180 quoting, `,` separators, a
/// `\n` terminator, and every cell guarded against spreadsheet evaluation.
#[derive(Debug, Default)]
pub(crate) struct CsvLine {
    buf: Vec<u8>,
}

impl CsvLine {
    /// The bytes of one record of `cells`, `\n` included.
    pub(crate) fn encode<I, S>(&mut self, cells: I) -> Result<&[u8], csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.buf.clear();
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(1024)
            .from_writer(&mut self.buf);
        for cell in cells {
            writer.write_field(guard(cell.as_ref()).as_bytes())?;
        }
        writer.write_record(None::<&[u8]>)?;
        writer.flush()?;
        drop(writer);
        Ok(&self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_guarded() {
        let mut line = CsvLine::default();
        let bytes = line.encode(["a,b", "=1+1", "say \"hi\"", ""]).unwrap();
        assert_eq!(bytes, b"\"a,b\",'=1+1,\"say \"\"hi\"\"\",\n");
        assert_eq!(line.encode(["x"]).unwrap(), b"x\n", "the buffer is reused");
    }
}
