//! Executing the plan: the reader that hands out rows needing a request, the bounded workers
//! that send them, the dispatcher that hands them tasks, how a row's answer is read, how rows
//! in doubt are settled by shared listings, and how a failure is classified.

pub(crate) mod clients;
pub(crate) mod cutoff;
pub(crate) mod delete;
pub(crate) mod dispatch;
pub(crate) mod failure;
pub(crate) mod feed;
pub(crate) mod job;
pub(crate) mod reconcile;
pub(crate) mod send;
pub(crate) mod share;
pub(crate) mod workers;
