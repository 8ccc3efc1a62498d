//! Listing one connection for an export: every page, in name order, into a temporary file of
//! its own, so that memory holds one page however large the connection.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};

use omni_dbt_core::{ConnectionId, Environment, EnvironmentId, ListOrder};

use super::config::DefaultEnvironment;
use super::shape::VariableColumn;
use crate::execute::failure::Failure;
use crate::execute::workers::KeyClient;

/// One connection's environments on disk, one JSON object (Omni's own shape) a line.
#[derive(Debug)]
pub(crate) struct ConnectionFile {
    /// The file, written to its end.
    pub(crate) file: File,
    /// What it holds.
    pub(crate) facts: ListingFacts,
}

/// What the listing of one connection found.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListingFacts {
    /// Environments kept.
    pub(crate) environments: u64,
    /// Default environments listed and left out.
    pub(crate) defaults_left_out: u64,
    /// The variable columns the environments kept need.
    pub(crate) columns: BTreeSet<VariableColumn>,
    /// Whether the server gave them in (name, id) order, as asked.
    pub(crate) order: ListedOrder,
}

/// Whether a listing came in the order an export writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ListedOrder {
    /// By name, then id: as written.
    #[default]
    ByName,
    /// In another order (a server that sorts by another collation, or not at all): to sort.
    Other,
}

/// The key an export sorts a connection's environments by.
pub(crate) fn sort_key(environment: &Environment) -> (&str, EnvironmentId) {
    (&environment.name, environment.id)
}

/// Lists `connection` with `key` into a new temporary file: its environments, or the
/// [`Failure`] that ended the listing. An error of the file is returned as such.
pub(crate) async fn list_connection(
    key: &KeyClient,
    connection: ConnectionId,
    defaults: DefaultEnvironment,
) -> io::Result<Result<ConnectionFile, Failure>> {
    let scoped = key.client.scoped();
    let mut pages = scoped.pages(&connection).order(ListOrder::NameAscending);
    let mut writer = Writer::new()?;
    while let Some(page) = pages.next_page().await {
        match page {
            Ok(environments) => writer.add(environments, defaults)?,
            Err(error) => {
                let attempts = u32::try_from(scoped.tally().requests).unwrap_or(u32::MAX);
                return Ok(Err(Failure::from_error(&error, attempts)));
            }
        }
    }
    Ok(Ok(writer.finish()?))
}

/// Writes a connection's environments as they come, checking their order.
struct Writer {
    out: BufWriter<File>,
    last: Option<(String, EnvironmentId)>,
    facts: ListingFacts,
}

impl Writer {
    fn new() -> io::Result<Self> {
        Ok(Self {
            out: BufWriter::new(tempfile::tempfile()?),
            last: None,
            facts: ListingFacts::default(),
        })
    }

    fn add(&mut self, page: Vec<Environment>, defaults: DefaultEnvironment) -> io::Result<()> {
        for environment in page {
            if environment.is_default_environment && defaults == DefaultEnvironment::Skip {
                self.facts.defaults_left_out += 1;
                continue;
            }
            self.check_order(&environment);
            self.facts
                .columns
                .extend(environment.variables.iter().map(VariableColumn::of));
            serde_json::to_writer(&mut self.out, &environment)?;
            self.out.write_all(b"\n")?;
            self.facts.environments += 1;
        }
        Ok(())
    }

    fn check_order(&mut self, environment: &Environment) {
        let (name, id) = sort_key(environment);
        if let Some((last_name, last_id)) = &self.last {
            if (last_name.as_str(), *last_id) > (name, id) {
                self.facts.order = ListedOrder::Other;
            }
        }
        self.last = Some((name.to_owned(), id));
    }

    fn finish(self) -> io::Result<ConnectionFile> {
        let file = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        Ok(ConnectionFile {
            file,
            facts: self.facts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(id: u128, name: &str, default: bool) -> Environment {
        serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::from_u128(id), "name": name, "targetSchema": "s",
            "isDefaultEnvironment": default,
            "variables": [{"name": "K", "value": null, "isSecret": true}]
        }))
        .unwrap()
    }

    #[test]
    fn pages_in_name_order_stay_in_it_and_defaults_are_counted_out() {
        let mut writer = Writer::new().unwrap();
        let first = vec![
            environment(1, "Production", true),
            environment(2, "a", false),
        ];
        writer.add(first, DefaultEnvironment::Skip).unwrap();
        writer
            .add(vec![environment(3, "b", false)], DefaultEnvironment::Skip)
            .unwrap();
        let facts = writer.finish().unwrap().facts;
        assert_eq!((facts.environments, facts.defaults_left_out), (2, 1));
        assert_eq!(facts.order, ListedOrder::ByName);
        assert_eq!(facts.columns.len(), 1);
    }

    #[test]
    fn a_page_out_of_name_order_is_noticed() {
        let mut writer = Writer::new().unwrap();
        writer
            .add(
                vec![environment(1, "b", false)],
                DefaultEnvironment::Include,
            )
            .unwrap();
        writer
            .add(vec![environment(2, "a", true)], DefaultEnvironment::Include)
            .unwrap();
        let facts = writer.finish().unwrap().facts;
        assert_eq!((facts.environments, facts.order), (2, ListedOrder::Other));
    }
}
