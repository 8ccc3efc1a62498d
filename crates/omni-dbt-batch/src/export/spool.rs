//! The listed environments of every connection in one temporary file, read back connection by
//! connection in name order: memory holds a line at a time, however many there are.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};

use omni_dbt_core::{ConnectionId, Environment};

use super::listing::{sort_key, ConnectionFile, ListedOrder};

/// Every connection's environments, each connection's lines together and in order.
#[derive(Debug)]
pub(crate) struct Spool {
    file: File,
    len: u64,
    segments: HashMap<ConnectionId, Segment>,
}

/// Where one connection's lines are.
#[derive(Clone, Copy, Debug)]
struct Segment {
    offset: u64,
    len: u64,
}

impl Spool {
    /// An empty spool in a new temporary file.
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Self {
            file: tempfile::tempfile()?,
            len: 0,
            segments: HashMap::new(),
        })
    }

    /// Adds the environments of `connection`, sorting them first when the server did not.
    /// Sorting holds that one connection in memory: the price of a server that ignores the
    /// order asked for.
    pub(crate) fn add(
        &mut self,
        connection: ConnectionId,
        listed: ConnectionFile,
    ) -> io::Result<()> {
        let mut source = listed.file;
        source.seek(SeekFrom::Start(0))?;
        self.file.seek(SeekFrom::End(0))?;
        let len = match listed.facts.order {
            ListedOrder::ByName => io::copy(&mut source, &mut self.file)?,
            ListedOrder::Other => self.add_sorted(source)?,
        };
        self.segments.insert(
            connection,
            Segment {
                offset: self.len,
                len,
            },
        );
        self.len += len;
        Ok(())
    }

    fn add_sorted(&mut self, source: File) -> io::Result<u64> {
        let mut environments = BufReader::new(source)
            .lines()
            .map(|line| Ok(serde_json::from_str::<Environment>(&line?)?))
            .collect::<io::Result<Vec<_>>>()?;
        environments.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        let mut out = CountingWriter {
            inner: io::BufWriter::new(&mut self.file),
            written: 0,
        };
        for environment in &environments {
            serde_json::to_writer(&mut out, environment)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        Ok(out.written)
    }

    /// The environments of `connection` in name order; none when it was not added. Read one
    /// connection at a time: every reader shares the file's position.
    pub(crate) fn environments(
        &self,
        connection: &ConnectionId,
    ) -> io::Result<impl Iterator<Item = io::Result<Environment>>> {
        let segment = self
            .segments
            .get(connection)
            .copied()
            .unwrap_or(Segment { offset: 0, len: 0 });
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(segment.offset))?;
        let lines = BufReader::new(file.take(segment.len)).lines();
        Ok(lines.map(|line| Ok(serde_json::from_str::<Environment>(&line?)?)))
    }
}

/// Counts the bytes that go through it.
struct CountingWriter<W: Write> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::listing::ListingFacts;

    fn environment(id: u128, name: &str) -> Environment {
        serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::from_u128(id), "name": name, "targetSchema": "s"
        }))
        .unwrap()
    }

    fn listed(environments: &[Environment], order: ListedOrder) -> ConnectionFile {
        let mut file = tempfile::tempfile().unwrap();
        for environment in environments {
            serde_json::to_writer(&mut file, environment).unwrap();
            file.write_all(b"\n").unwrap();
        }
        ConnectionFile {
            file,
            facts: ListingFacts {
                environments: environments.len() as u64,
                order,
                ..ListingFacts::default()
            },
        }
    }

    fn names(spool: &Spool, connection: &ConnectionId) -> Vec<String> {
        spool
            .environments(connection)
            .unwrap()
            .map(|e| e.unwrap().name)
            .collect()
    }

    #[test]
    fn connections_read_back_apart_and_an_unordered_one_sorted() {
        let (a, b) = (
            ConnectionId::new(uuid::Uuid::from_u128(1)),
            ConnectionId::new(uuid::Uuid::from_u128(2)),
        );
        let mut spool = Spool::new().unwrap();
        let ordered = [environment(1, "alpha"), environment(2, "beta")];
        spool.add(b, listed(&ordered, ListedOrder::ByName)).unwrap();
        let unordered = [
            environment(5, "b"),
            environment(4, "a"),
            environment(3, "B"),
            environment(2, "a"),
        ];
        spool
            .add(a, listed(&unordered, ListedOrder::Other))
            .unwrap();
        assert_eq!(names(&spool, &a), ["B", "a", "a", "b"]);
        let ids: Vec<u128> = spool
            .environments(&a)
            .unwrap()
            .map(|e| e.unwrap().id.as_uuid().as_u128())
            .collect();
        assert_eq!(ids, [3, 2, 4, 5], "a repeated name by id");
        assert_eq!(names(&spool, &b), ["alpha", "beta"]);
        let missing = ConnectionId::new(uuid::Uuid::from_u128(9));
        assert!(names(&spool, &missing).is_empty());
    }
}
