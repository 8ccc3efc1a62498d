//! Fault injection: the [`FaultConfig`], its string grammar, and what each fault does.
//!
//! # Fault spec grammar
//!
//! ```text
#![doc = include_str!("grammar.txt")]
//! ```
//!
//! # Semantics
//!
//! - For each request, the probabilities of the entries that apply to its method (method-specific
//!   and `all`, less the faults that cannot strike that method) are laid end to end and **one**
//!   uniform draw picks at most one fault. A fault is rolled only for requests that pass
//!   authentication and the rate limit.
//! - A fault that [commits](Fault::commits) only fires when the request succeeds (2xx); a
//!   request that fails on its own merits (400, 404, ...) gets its real answer and the fault is
//!   not counted.
//! - Huge and endless bodies are generated as they are sent, a chunk at a time, so the sandbox's
//!   memory stays flat however large the body; a client that stops reading stops the stream.
//!   Huge bodies are sent chunked (no `Content-Length`), so a client learns their size only by
//!   reading.
//! - Latency entries all apply and add up: `latency=50ms,latency=10ms..80ms` waits 50 ms plus a
//!   uniform draw from 10-80 ms, before authentication.
//! - Reproducible: fault draws come from `StdRng::seed_from_u64(seed)` and latency draws from a
//!   second generator, so the same seed and the same sequence of requests give the same faults.

mod injector;
mod kind;
mod spec;

use std::time::Duration;

use crate::method::ApiMethod;

pub(crate) use injector::FaultInjector;
pub use kind::{ErrorStatus, Fault, FaultKind, RedirectStatus};
use spec::{entry_text, latency_text};

/// The fault spec grammar and what each fault does, as `omni-dbt-batch sandbox --help` shows it.
pub const SPEC_HELP: &str = include_str!("grammar.txt");

/// Which requests an entry applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodScope {
    /// Every method.
    All,
    /// Only this method.
    Only(ApiMethod),
}

impl MethodScope {
    pub(crate) fn covers(self, method: ApiMethod) -> bool {
        match self {
            MethodScope::All => true,
            MethodScope::Only(m) => m == method,
        }
    }
}

/// Extra time before a request is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Latency {
    /// Always this long.
    Fixed(Duration),
    /// A uniform draw between `min` and `max` inclusive.
    Uniform {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
}

/// A fault and the probability that a request in its scope gets it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRule {
    /// Which methods it applies to.
    pub scope: MethodScope,
    /// What goes wrong.
    pub fault: Fault,
    /// Probability in `[0, 1]`.
    pub probability: f64,
}

/// A latency and the methods it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyRule {
    /// Which methods it applies to.
    pub scope: MethodScope,
    /// How long.
    pub latency: Latency,
}

/// Every fault and latency the sandbox injects. Default: none.
///
/// Build it with [`FaultConfig::with_fault`] and [`FaultConfig::with_latency`], or parse it from
/// the grammar in the [module documentation](crate::faults):
///
/// ```
/// use omni_dbt_sandbox::{ApiMethod, ErrorStatus, Fault, FaultConfig, MethodScope};
///
/// let parsed: FaultConfig = "post:500=0.1, drop=2%, latency=5ms..10ms".parse().unwrap();
/// assert_eq!(parsed.rules().len(), 2);
/// assert_eq!(parsed.rules()[0].scope, MethodScope::Only(ApiMethod::Post));
/// assert_eq!(parsed.rules()[0].fault, Fault::Status(ErrorStatus::InternalServerError));
/// assert_eq!(parsed.to_string(), "post:500=0.1,drop=0.02,latency=5ms..10ms");
///
/// assert!("500=0.7,503=0.5".parse::<FaultConfig>().is_err(), "probabilities add up past 1");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    rules: Vec<FaultRule>,
    latencies: Vec<LatencyRule>,
}

impl FaultConfig {
    /// No faults and no latency.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds a fault with a probability (checked by [`FaultConfig::validate`] and at start).
    pub fn with_fault(mut self, scope: MethodScope, fault: Fault, probability: f64) -> Self {
        self.rules.push(FaultRule {
            scope,
            fault,
            probability,
        });
        self
    }

    /// Adds a latency; latencies that apply to a request add up.
    pub fn with_latency(mut self, scope: MethodScope, latency: Latency) -> Self {
        self.latencies.push(LatencyRule { scope, latency });
        self
    }

    /// The fault entries, in order.
    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    /// The latency entries, in order.
    pub fn latencies(&self) -> &[LatencyRule] {
        &self.latencies
    }

    /// Whether nothing is injected.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.latencies.is_empty()
    }

    /// Checks every probability is in `[0, 1]`, that each method's add up to at most 1, that
    /// no entry names a method its fault cannot strike, and that uniform latencies have
    /// `min <= max`.
    pub fn validate(&self) -> Result<(), FaultSpecError> {
        for rule in &self.rules {
            if !(0.0..=1.0).contains(&rule.probability) {
                return Err(FaultSpecError::new(
                    &entry_text(rule),
                    "the probability must be between 0 and 1",
                ));
            }
            if let MethodScope::Only(method) = rule.scope {
                if !rule.fault.applies_to(method) {
                    return Err(FaultSpecError::new(
                        &entry_text(rule),
                        &format!("{} cannot strike {method} requests", rule.fault.kind()),
                    ));
                }
            }
        }
        for method in ApiMethod::ALL {
            let total: f64 = self
                .rules
                .iter()
                .filter(|r| r.scope.covers(method) && r.fault.applies_to(method))
                .map(|r| r.probability)
                .sum();
            if total > 1.0 + 1e-9 {
                return Err(FaultSpecError::new(
                    &self.to_string(),
                    &format!("the probabilities for {method} add up to {total}, more than 1"),
                ));
            }
        }
        for rule in &self.latencies {
            if let Latency::Uniform { min, max } = rule.latency {
                if min > max {
                    return Err(FaultSpecError::new(
                        &latency_text(rule),
                        "the range's lower bound is above its upper bound",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A fault spec that could not be parsed or does not make sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault spec entry `{entry}`: {reason}")]
pub struct FaultSpecError {
    entry: String,
    reason: String,
}

impl FaultSpecError {
    pub(crate) fn new(entry: &str, reason: &str) -> Self {
        Self {
            entry: entry.to_owned(),
            reason: reason.to_owned(),
        }
    }
}
