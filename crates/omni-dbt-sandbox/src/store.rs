//! The in-memory store: connections, their environments in name order, and the effects of each operation.
//!
//! Environments of a connection sit in a `BTreeMap` keyed by `(name, id)`, which gives the list
//! its order, keyset pagination, and an O(log n) answer to "does this name exist?" for duplicate
//! counting, with an id index beside it for update and delete.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Bound;

use uuid::Uuid;

use crate::body::{CreateRequest, NewVariable, UpdateRequest, VariableChange};
use crate::config::{
    ConnectionKind, ConnectionMode, DuplicateNames, SeedConnection, SeedEnvironment,
};
use crate::cursor;
use crate::model::{EnvironmentPage, EnvironmentView, PageInfo, VariableView};
use crate::problem::ApiError;

/// The order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortDirection {
    Ascending,
    Descending,
}

/// A validated list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub(crate) page_size: u32,
    pub(crate) direction: SortDirection,
    /// The position after which the page starts (decoded from the cursor).
    pub(crate) after: Option<(String, Uuid)>,
    /// The page starts past the last environment (a cursor of the endless-pages fault): it is
    /// empty and the last one.
    pub(crate) past_end: bool,
}

/// A connection and the environments a create made although the name existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DuplicateCreate {
    pub(crate) connection_id: Uuid,
    pub(crate) name: String,
}

/// An environment a delete removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppliedDelete {
    pub(crate) connection_id: Uuid,
    pub(crate) environment_id: Uuid,
    pub(crate) name: String,
}

/// Counts of applied changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AppliedCounts {
    pub(crate) creates: u64,
    pub(crate) updates: u64,
    pub(crate) deletes: u64,
    pub(crate) duplicates: Vec<DuplicateCreate>,
    /// Every applied delete, in order.
    pub(crate) deleted: Vec<AppliedDelete>,
}

/// Every connection the sandbox knows and its environments.
#[derive(Debug)]
pub(crate) struct Store {
    mode: ConnectionMode,
    duplicate_names: DuplicateNames,
    connections: HashMap<Uuid, ConnectionState>,
    applied: AppliedCounts,
}

#[derive(Debug)]
enum ConnectionState {
    Dbt(EnvironmentTable),
    WithoutDbt,
    Missing,
}

#[derive(Debug, Default)]
struct EnvironmentTable {
    by_key: BTreeMap<(String, Uuid), StoredEnvironment>,
    names: HashMap<Uuid, String>,
}

#[derive(Debug, Clone)]
struct StoredEnvironment {
    id: Uuid,
    name: String,
    is_default: bool,
    owner_id: Option<Uuid>,
    target_database: Option<String>,
    target_name: Option<String>,
    target_role: Option<String>,
    target_schema: String,
    variables: Vec<StoredVariable>,
}

#[derive(Clone)]
struct StoredVariable {
    id: Uuid,
    name: String,
    value: String,
    is_secret: bool,
}

impl fmt::Debug for StoredVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredVariable")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("is_secret", &self.is_secret)
            .finish_non_exhaustive()
    }
}

impl StoredVariable {
    fn new(variable: NewVariable) -> Self {
        Self {
            id: Uuid::new_v4(),
            name: variable.name,
            value: variable.value,
            is_secret: variable.is_secret,
        }
    }

    fn view(&self) -> VariableView {
        VariableView {
            id: self.id,
            name: self.name.clone(),
            value: (!self.is_secret).then(|| self.value.clone()),
            is_secret: self.is_secret,
        }
    }
}

impl StoredEnvironment {
    fn view(&self) -> EnvironmentView {
        EnvironmentView {
            id: self.id,
            name: self.name.clone(),
            is_default_environment: self.is_default,
            owner_id: self.owner_id.map(|id| id.hyphenated().to_string()),
            target_database: self.target_database.clone(),
            target_name: self.target_name.clone(),
            target_role: self.target_role.clone(),
            target_schema: self.target_schema.clone(),
            variables: self.variables.iter().map(StoredVariable::view).collect(),
        }
    }

    fn from_seed(seed: &SeedEnvironment) -> Self {
        Self {
            id: Uuid::new_v4(),
            name: seed.name.clone(),
            is_default: seed.is_default,
            owner_id: seed.owner_id,
            target_database: seed.target_database.clone(),
            target_name: seed.target_name.clone(),
            target_role: seed.target_role.clone(),
            target_schema: seed.target_schema.clone(),
            variables: seed
                .variables
                .iter()
                .map(|v| {
                    StoredVariable::new(NewVariable {
                        name: v.name.clone(),
                        value: v.value.clone(),
                        is_secret: v.is_secret,
                    })
                })
                .collect(),
        }
    }

    fn from_request(request: CreateRequest) -> Self {
        Self {
            id: Uuid::new_v4(),
            name: request.name,
            is_default: false,
            owner_id: request.owner_id,
            target_database: request.target_database,
            target_name: request.target_name,
            target_role: request.target_role,
            target_schema: request.target_schema,
            variables: request
                .variables
                .into_iter()
                .map(StoredVariable::new)
                .collect(),
        }
    }

    /// Applies an update to this (cloned) environment; nothing is kept if an error comes back.
    fn apply(&mut self, update: UpdateRequest) -> Result<(), ApiError> {
        self.name = update.name;
        self.target_schema = update.target_schema;
        if let Some(owner_id) = update.owner_id {
            self.owner_id = owner_id;
        }
        if let Some(value) = update.target_database {
            self.target_database = value;
        }
        if let Some(value) = update.target_name {
            self.target_name = value;
        }
        if let Some(value) = update.target_role {
            self.target_role = value;
        }
        for change in update.variables.unwrap_or_default() {
            self.apply_variable(change)?;
        }
        Ok(())
    }

    fn apply_variable(&mut self, change: VariableChange) -> Result<(), ApiError> {
        match change {
            VariableChange::Update {
                index,
                id,
                is_secret,
                value,
            } => {
                let variable = self
                    .variables
                    .iter_mut()
                    .find(|v| v.id == id)
                    .ok_or_else(|| {
                        ApiError::field(
                            &format!("variables[{index}].id"),
                            "no variable with this id in the environment",
                        )
                    })?;
                variable.is_secret = is_secret;
                if let Some(value) = value {
                    variable.value = value;
                }
            }
            VariableChange::Add { index, variable } => {
                if self.variables.iter().any(|v| v.name == variable.name) {
                    return Err(ApiError::field(
                        &format!("variables[{index}].name"),
                        "a variable with this name already exists; send its id to update it",
                    ));
                }
                self.variables.push(StoredVariable::new(variable));
            }
        }
        Ok(())
    }
}

impl EnvironmentTable {
    fn insert(&mut self, environment: StoredEnvironment) {
        self.names.insert(environment.id, environment.name.clone());
        self.by_key
            .insert((environment.name.clone(), environment.id), environment);
    }

    fn contains_name(&self, name: &str) -> bool {
        let start = (name.to_owned(), Uuid::nil());
        self.by_key
            .range(start..)
            .next()
            .is_some_and(|((found, _), _)| found == name)
    }

    fn key_of(&self, id: Uuid) -> Option<(String, Uuid)> {
        self.names.get(&id).map(|name| (name.clone(), id))
    }

    fn page(&self, query: &ListQuery) -> EnvironmentPage {
        if query.past_end {
            return EnvironmentPage {
                page_info: PageInfo {
                    has_next_page: false,
                    next_cursor: None,
                    page_size: query.page_size,
                    total_records: self.by_key.len() as u64,
                },
                records: Vec::new(),
            };
        }
        let wanted = query.page_size as usize;
        let lower = match &query.after {
            Some(key) if query.direction == SortDirection::Ascending => Bound::Excluded(key),
            _ => Bound::Unbounded,
        };
        let upper = match &query.after {
            Some(key) if query.direction == SortDirection::Descending => Bound::Excluded(key),
            _ => Bound::Unbounded,
        };
        let range = self.by_key.range::<(String, Uuid), _>((lower, upper));
        let mut records: Vec<&StoredEnvironment> = match query.direction {
            SortDirection::Ascending => range.map(|(_, e)| e).take(wanted + 1).collect(),
            SortDirection::Descending => range.rev().map(|(_, e)| e).take(wanted + 1).collect(),
        };
        let has_next_page = records.len() > wanted;
        records.truncate(wanted);
        let next_cursor = records
            .last()
            .filter(|_| has_next_page)
            .map(|e| cursor::encode(&e.name, e.id));
        EnvironmentPage {
            page_info: PageInfo {
                has_next_page,
                next_cursor,
                page_size: query.page_size,
                total_records: self.by_key.len() as u64,
            },
            records: records.into_iter().map(StoredEnvironment::view).collect(),
        }
    }
}

impl Store {
    /// A store holding the configured connections and their seeded environments.
    pub(crate) fn new(
        mode: ConnectionMode,
        duplicate_names: DuplicateNames,
        seeds: &[SeedConnection],
    ) -> Self {
        let mut connections = HashMap::new();
        for seed in seeds {
            let state = connections
                .entry(seed.id)
                .or_insert_with(|| ConnectionState::Dbt(EnvironmentTable::default()));
            match seed.kind {
                ConnectionKind::Dbt => {
                    if !matches!(state, ConnectionState::Dbt(_)) {
                        *state = ConnectionState::Dbt(EnvironmentTable::default());
                    }
                    if let ConnectionState::Dbt(table) = state {
                        for environment in &seed.environments {
                            table.insert(StoredEnvironment::from_seed(environment));
                        }
                    }
                }
                ConnectionKind::WithoutDbt => *state = ConnectionState::WithoutDbt,
                ConnectionKind::Missing => *state = ConnectionState::Missing,
            }
        }
        Self {
            mode,
            duplicate_names,
            connections,
            applied: AppliedCounts::default(),
        }
    }

    fn table(&mut self, connection_id: Uuid) -> Result<&mut EnvironmentTable, ApiError> {
        let state = match self.connections.entry(connection_id) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => match self.mode {
                ConnectionMode::Open => {
                    entry.insert(ConnectionState::Dbt(EnvironmentTable::default()))
                }
                ConnectionMode::Listed => return Err(connection_not_found(connection_id)),
            },
        };
        match state {
            ConnectionState::Dbt(table) => Ok(table),
            ConnectionState::WithoutDbt => Err(ApiError::forbidden(format!(
                "connection {connection_id} does not support dbt"
            ))),
            ConnectionState::Missing => Err(connection_not_found(connection_id)),
        }
    }

    /// One page of a connection's environments.
    pub(crate) fn list(
        &mut self,
        connection_id: Uuid,
        query: &ListQuery,
    ) -> Result<EnvironmentPage, ApiError> {
        Ok(self.table(connection_id)?.page(query))
    }

    /// Creates an environment; counts a duplicate when the name already existed.
    pub(crate) fn create(
        &mut self,
        connection_id: Uuid,
        request: CreateRequest,
    ) -> Result<EnvironmentView, ApiError> {
        let policy = self.duplicate_names;
        let table = self.table(connection_id)?;
        let duplicate = table.contains_name(&request.name);
        if duplicate && policy == DuplicateNames::Reject {
            return Err(ApiError::field(
                "name",
                "an environment with this name already exists in this connection",
            ));
        }
        let environment = StoredEnvironment::from_request(request);
        let view = environment.view();
        table.insert(environment);
        self.applied.creates += 1;
        if duplicate {
            self.applied.duplicates.push(DuplicateCreate {
                connection_id,
                name: view.name.clone(),
            });
        }
        Ok(view)
    }

    /// Updates an environment in place (all or nothing).
    pub(crate) fn update(
        &mut self,
        connection_id: Uuid,
        environment_id: Uuid,
        request: UpdateRequest,
    ) -> Result<EnvironmentView, ApiError> {
        let policy = self.duplicate_names;
        let table = self.table(connection_id)?;
        let key = table
            .key_of(environment_id)
            .ok_or_else(|| environment_not_found(environment_id))?;
        let renamed = request.name != key.0;
        if renamed && policy == DuplicateNames::Reject && table.contains_name(&request.name) {
            return Err(ApiError::field(
                "name",
                "an environment with this name already exists in this connection",
            ));
        }
        let mut environment = table
            .by_key
            .get(&key)
            .cloned()
            .ok_or_else(|| environment_not_found(environment_id))?;
        environment.apply(request)?;
        let view = environment.view();
        table.by_key.remove(&key);
        table.insert(environment);
        self.applied.updates += 1;
        Ok(view)
    }

    /// Deletes an environment. The default environment cannot be deleted: 403, the spec's
    /// "permission denied", since the spec declares no 400 for a delete.
    pub(crate) fn delete(
        &mut self,
        connection_id: Uuid,
        environment_id: Uuid,
    ) -> Result<(), ApiError> {
        let table = self.table(connection_id)?;
        let key = table
            .key_of(environment_id)
            .ok_or_else(|| environment_not_found(environment_id))?;
        if table.by_key.get(&key).is_some_and(|e| e.is_default) {
            return Err(ApiError::forbidden(
                "the default environment cannot be deleted",
            ));
        }
        table.by_key.remove(&key);
        table.names.remove(&environment_id);
        self.applied.deletes += 1;
        self.applied.deleted.push(AppliedDelete {
            connection_id,
            environment_id,
            name: key.0,
        });
        Ok(())
    }

    /// Every dbt connection's environments, each sorted by name then id.
    pub(crate) fn environments(&self) -> BTreeMap<Uuid, Vec<EnvironmentView>> {
        self.connections
            .iter()
            .filter_map(|(id, state)| match state {
                ConnectionState::Dbt(table) => Some((
                    *id,
                    table.by_key.values().map(StoredEnvironment::view).collect(),
                )),
                _ => None,
            })
            .collect()
    }

    /// Counts of applied creates, updates, deletes and duplicate creates.
    pub(crate) fn applied(&self) -> &AppliedCounts {
        &self.applied
    }

    /// The stored value of a variable, secret or not (for tests; never served over HTTP).
    pub(crate) fn variable_value(
        &self,
        connection_id: Uuid,
        environment_id: Uuid,
        variable_name: &str,
    ) -> Option<String> {
        let ConnectionState::Dbt(table) = self.connections.get(&connection_id)? else {
            return None;
        };
        let key = table.key_of(environment_id)?;
        table
            .by_key
            .get(&key)?
            .variables
            .iter()
            .find(|v| v.name == variable_name)
            .map(|v| v.value.clone())
    }
}

fn connection_not_found(connection_id: Uuid) -> ApiError {
    ApiError::not_found(format!("connection {connection_id} not found"))
}

fn environment_not_found(environment_id: Uuid) -> ApiError {
    ApiError::not_found(format!("dbt environment {environment_id} not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> CreateRequest {
        CreateRequest {
            name: name.to_owned(),
            target_schema: "s".to_owned(),
            owner_id: None,
            target_database: None,
            target_name: None,
            target_role: None,
            variables: vec![NewVariable {
                name: "KEY".into(),
                value: "hunter2".into(),
                is_secret: true,
            }],
        }
    }

    fn query(page_size: u32, direction: SortDirection, after: Option<(String, Uuid)>) -> ListQuery {
        ListQuery {
            page_size,
            direction,
            after,
            past_end: false,
        }
    }

    #[test]
    fn a_created_environment_hides_its_secret_but_keeps_it() {
        let mut store = Store::new(ConnectionMode::Open, DuplicateNames::Accept, &[]);
        let connection = Uuid::new_v4();
        let view = store.create(connection, request("dev")).unwrap();
        assert_eq!(view.variables[0].value, None);
        assert_eq!(
            store.variable_value(connection, view.id, "KEY").as_deref(),
            Some("hunter2")
        );
        assert!(!format!("{store:?}").contains("hunter2"));
    }

    #[test]
    fn a_second_create_of_a_name_counts_a_duplicate_or_is_refused() {
        let connection = Uuid::new_v4();
        let mut store = Store::new(ConnectionMode::Open, DuplicateNames::Accept, &[]);
        store.create(connection, request("dev")).unwrap();
        store.create(connection, request("dev2")).unwrap();
        store.create(connection, request("dev")).unwrap();
        assert_eq!(store.applied().creates, 3);
        assert_eq!(
            store.applied().duplicates,
            vec![DuplicateCreate {
                connection_id: connection,
                name: "dev".into()
            }]
        );

        let mut strict = Store::new(ConnectionMode::Open, DuplicateNames::Reject, &[]);
        strict.create(connection, request("dev")).unwrap();
        let err = strict.create(connection, request("dev")).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST);
        assert!(err.detail().starts_with("name: "));
    }

    #[test]
    fn keyset_pages_cover_everything_once_in_both_directions() {
        let connection = Uuid::new_v4();
        let mut store = Store::new(ConnectionMode::Open, DuplicateNames::Accept, &[]);
        for i in 0..23 {
            store
                .create(connection, request(&format!("env{:02}", i % 20)))
                .unwrap();
        }
        for direction in [SortDirection::Ascending, SortDirection::Descending] {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page = store.list(connection, &query(5, direction, after)).unwrap();
                seen.extend(page.records.iter().map(|e| (e.name.clone(), e.id)));
                match page.page_info.next_cursor {
                    Some(c) => after = cursor::decode(&c),
                    None => break,
                }
            }
            let mut expected = seen.clone();
            expected.sort();
            if direction == SortDirection::Descending {
                expected.reverse();
            }
            assert_eq!(seen.len(), 23);
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn listed_mode_and_configured_connections_answer_404_and_403() {
        let (known, no_dbt, missing) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let seeds = [
            SeedConnection::dbt(known).with_default_environment("Production", "analytics"),
            SeedConnection::without_dbt(no_dbt),
            SeedConnection::missing(missing),
        ];
        let mut store = Store::new(ConnectionMode::Listed, DuplicateNames::Accept, &seeds);
        let q = query(20, SortDirection::Descending, None);
        let page = store.list(known, &q).unwrap();
        assert!(page.records[0].is_default_environment);
        assert_eq!(store.list(no_dbt, &q).unwrap_err().status().as_u16(), 403);
        assert_eq!(store.list(missing, &q).unwrap_err().status().as_u16(), 404);
        assert_eq!(
            store
                .list(Uuid::new_v4(), &q)
                .unwrap_err()
                .status()
                .as_u16(),
            404
        );

        let mut open = Store::new(ConnectionMode::Open, DuplicateNames::Accept, &seeds);
        assert_eq!(open.list(missing, &q).unwrap_err().status().as_u16(), 404);
        assert!(open.list(Uuid::new_v4(), &q).unwrap().records.is_empty());
    }

    #[test]
    fn an_update_that_fails_changes_nothing() {
        let connection = Uuid::new_v4();
        let mut store = Store::new(ConnectionMode::Open, DuplicateNames::Accept, &[]);
        let created = store.create(connection, request("dev")).unwrap();
        let update = UpdateRequest {
            name: "renamed".into(),
            target_schema: "s2".into(),
            owner_id: None,
            target_database: Some(Some("db".into())),
            target_name: None,
            target_role: None,
            variables: Some(vec![VariableChange::Update {
                index: 0,
                id: Uuid::new_v4(),
                is_secret: false,
                value: None,
            }]),
        };
        let err = store.update(connection, created.id, update).unwrap_err();
        assert_eq!(
            err.detail(),
            "variables[0].id: no variable with this id in the environment"
        );
        let envs = store.environments();
        assert_eq!(envs[&connection], vec![created]);
    }

    #[test]
    fn the_default_environment_cannot_be_deleted() {
        let connection = Uuid::new_v4();
        let seeds = [SeedConnection::dbt(connection).with_default_environment("Production", "a")];
        let mut store = Store::new(ConnectionMode::Open, DuplicateNames::Accept, &seeds);
        let id = store.environments()[&connection][0].id;
        let refused = store.delete(connection, id).unwrap_err();
        assert_eq!(
            refused.status().as_u16(),
            403,
            "the spec declares 401, 403 and 404 for a delete, and no 400"
        );
        assert!(refused.detail().contains("default environment"));
        assert_eq!(store.environments()[&connection].len(), 1);
        assert_eq!(store.applied().deletes, 0);
    }

    #[test]
    fn each_applied_delete_is_logged_with_its_connection_and_name() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut store = Store::new(ConnectionMode::Open, DuplicateNames::Accept, &[]);
        let dev = store.create(a, request("dev")).unwrap();
        let ci = store.create(b, request("ci")).unwrap();
        store.delete(a, dev.id).unwrap();
        assert_eq!(store.delete(a, dev.id).unwrap_err().status().as_u16(), 404);
        assert_eq!(store.delete(a, ci.id).unwrap_err().status().as_u16(), 404);
        store.delete(b, ci.id).unwrap();
        let names: Vec<(Uuid, &str)> = store
            .applied()
            .deleted
            .iter()
            .map(|d| (d.connection_id, d.name.as_str()))
            .collect();
        assert_eq!(names, [(a, "dev"), (b, "ci")]);
        assert_eq!(store.applied().deleted[0].environment_id, dev.id);
        assert_eq!(store.applied().deletes, 2);
    }

    #[test]
    fn a_page_past_the_end_is_empty_and_the_last() {
        let connection = Uuid::new_v4();
        let mut store = Store::new(ConnectionMode::Open, DuplicateNames::Accept, &[]);
        store.create(connection, request("dev")).unwrap();
        let past_end = ListQuery {
            past_end: true,
            ..query(20, SortDirection::Descending, None)
        };
        let page = store.list(connection, &past_end).unwrap();
        assert!(page.records.is_empty());
        assert!(!page.page_info.has_next_page);
        assert_eq!(page.page_info.total_records, 1);
    }
}
