//! PLACEHOLDER: the HTTP client. Signatures fixed here; bodies are being written (issue 2).
#![allow(missing_docs, clippy::unused_async)]

use std::time::Duration;

use secrecy::SecretString;

use crate::error::Result;
use crate::model::*;

#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub last_status: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExistenceCheck {
    LookFirst,
    AssumeAbsent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnsureOutcome {
    Created,
    Existed,
    Recovered,
}

#[derive(Clone, Debug)]
pub struct Ensured {
    pub environment: Environment,
    pub outcome: EnsureOutcome,
}

#[derive(Default)]
pub struct ClientBuilder;

impl ClientBuilder {
    pub fn base_url(self, _url: impl AsRef<str>) -> Self {
        self
    }
    pub fn token(self, _token: SecretString) -> Self {
        self
    }
    pub fn timeout(self, _t: Duration) -> Self {
        self
    }
    pub fn connect_timeout(self, _t: Duration) -> Self {
        self
    }
    pub fn build(self) -> Result<Client> {
        todo!()
    }
}

#[derive(Clone, Debug)]
pub struct Client;

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder
    }
    pub async fn create_environment(
        &self,
        _c: &ConnectionId,
        _e: &NewEnvironment,
    ) -> Result<Environment> {
        todo!()
    }
    pub async fn list_environments(&self, _c: &ConnectionId) -> Result<Vec<Environment>> {
        todo!()
    }
    pub async fn find_environment(
        &self,
        _c: &ConnectionId,
        _name: &str,
    ) -> Result<Option<Environment>> {
        todo!()
    }
    pub async fn update_environment(
        &self,
        _c: &ConnectionId,
        _id: &EnvironmentId,
        _u: &EnvironmentUpdate,
    ) -> Result<Environment> {
        todo!()
    }
    pub async fn delete_environment(
        &self,
        _c: &ConnectionId,
        _id: &EnvironmentId,
    ) -> Result<DeleteResponse> {
        todo!()
    }
    pub async fn ensure_environment(
        &self,
        _c: &ConnectionId,
        _e: &NewEnvironment,
        _check: ExistenceCheck,
    ) -> Result<Ensured> {
        todo!()
    }
    pub fn scoped(&self) -> Client {
        self.clone()
    }
    pub fn tally(&self) -> Tally {
        Tally::default()
    }
    pub fn stats(&self) -> Tally {
        Tally::default()
    }
}
