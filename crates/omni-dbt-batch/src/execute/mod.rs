//! Executing the plan: the reader that hands out rows needing a request, the bounded workers
//! that send them, and how a failure is classified.

pub(crate) mod cutoff;
pub(crate) mod failure;
pub(crate) mod feed;
pub(crate) mod job;
pub(crate) mod workers;
