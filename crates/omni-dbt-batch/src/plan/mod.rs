//! Planning against Omni: what each connection holds (listed once), what an earlier run left
//! (`--resume`), and from both, what each valid row needs and which environments to delete
//! (`--prune` in [`prune`], each deletion decided in [`deletions`]).
//!
//! Resume is decided in [`resume`]: which rows an earlier run settled, which may have been
//! applied without a record, which connections must be looked up before anything is sent again.
//! What an update would change, field by field, is decided in [`diff`]; a dry run reports each
//! row's decision as a [`entry::PlanEntry`].

pub(crate) mod actions;
pub(crate) mod decide;
pub(crate) mod deletions;
pub(crate) mod diff;
pub(crate) mod entry;
pub(crate) mod inventory;
pub(crate) mod listing;
pub(crate) mod prune;
pub(crate) mod resume;
pub(crate) mod undo;
