//! Per-key pacing: what every request of one API key waits for before it is sent.
//!
//! Three parts, each in its own file: the fixed ceiling (governor, `ceiling.rs`), the adaptive
//! pace under it that 429s lower and successes raise (`controller.rs`, spaced by `spacing.rs`),
//! and the handle tying them to the requests (`limiter.rs`).

mod admitted;
mod ceiling;
mod controller;
mod limiter;
#[cfg(test)]
mod sim;
mod spacing;
mod status;

pub use limiter::KeyLimiter;
pub use status::KeyStatus;
