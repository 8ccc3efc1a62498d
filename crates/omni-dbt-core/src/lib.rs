//! Typed, validated, retrying client for Omni's dbt-environment API.
//!
//! (Crate-level example: see the README; the client section lands with the client.)
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod error;
pub mod model;
pub mod validate;

pub use client::{Client, ClientBuilder, EnsureOutcome, Ensured, ExistenceCheck, Tally};
pub use error::{Error, Result};
pub use model::{
    ConnectionId, DeleteResponse, Environment, EnvironmentId, EnvironmentPage, EnvironmentUpdate,
    NewEnvironment, NewVariable, PageInfo, Variable, VariableUpdate, VariableValue,
};
pub use validate::{validate, FieldError, ValidationErrors};
