//! Executing the plan: the reader that hands out rows needing a request, the bounded workers
//! that send them, how a delete's lost answer is reconciled, and how a failure is classified.

pub(crate) mod clients;
pub(crate) mod cutoff;
pub(crate) mod delete;
pub(crate) mod failure;
pub(crate) mod feed;
pub(crate) mod job;
pub(crate) mod workers;
