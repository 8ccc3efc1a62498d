//! Fault injection: the [`FaultConfig`] (with its string grammar) and the seeded injector that rolls it.
//!
//! # Fault spec grammar
//!
//! A fault spec is a comma-separated list of entries (spaces around entries are ignored; an
//! empty spec or `none` means no faults):
//!
//! ```text
//! spec        := entry ("," entry)*
//! entry       := [method ":"] fault "=" probability [":" duration]
//!              | [method ":"] "latency=" duration [".." duration]
//! method      := get | post | put | delete | all          (case-insensitive; absent = all)
//! fault       := 500 | 502 | 503      an HTTP error instead of handling the request
//!              | 429                  429 Too Many Requests without Retry-After
//!              | drop                 the connection is closed before the request is applied
//!              | commit-500 | commit-502 | commit-503
//!                                     the request is applied, then the error is returned
//!              | commit-drop          the request is applied, then the connection is closed
//!              | commit-slow          the request is applied, then the response waits `duration`
//!                                     (required for commit-slow only; meant to exceed the
//!                                     client's timeout)
//! probability := a number in [0, 1] (0.05) or a percentage (5%)
//! duration    := 50ms | 1.5s | 2m | 1h30m | 30 (a bare number is seconds)
//! ```
//!
//! Example: `500=0.1,502=0.05,503=0.05,429=0.05,drop=0.02,commit-500=0.03,commit-drop=0.02,commit-slow=0.01:35s,latency=50ms,latency=10ms..80ms`,
//! or `post:500=0.1` for creates only.
//!
//! # Semantics
//!
//! - For each request, the probabilities of the entries that apply to its method (method-specific
//!   and `all`) are laid end to end and **one** uniform draw picks at most one fault, so the
//!   probabilities of one method must add up to at most 1. A fault is rolled only for requests
//!   that pass authentication and the rate limit.
//! - A `commit-*` fault only fires when the request succeeds (2xx); a request that fails on its
//!   own merits (400, 404, ...) gets its real answer and the fault is not counted.
//! - Latency entries all apply and add up: `latency=50ms,latency=10ms..80ms` waits 50 ms plus a
//!   uniform draw from 10-80 ms, before authentication.
//! - Reproducible: fault draws come from `StdRng::seed_from_u64(seed)` and latency draws from a
//!   second generator, so the same seed and the same sequence of requests give the same faults.

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use omni_dbt_units::{format_duration, parse_duration};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::method::ApiMethod;

/// Which requests an entry applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodScope {
    /// Every method.
    All,
    /// Only this method.
    Only(ApiMethod),
}

impl MethodScope {
    fn covers(self, method: ApiMethod) -> bool {
        match self {
            MethodScope::All => true,
            MethodScope::Only(m) => m == method,
        }
    }
}

/// A 5xx status a fault can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorStatus {
    /// 500 Internal Server Error.
    InternalServerError,
    /// 502 Bad Gateway.
    BadGateway,
    /// 503 Service Unavailable.
    ServiceUnavailable,
}

impl ErrorStatus {
    /// The numeric status code.
    pub fn code(self) -> u16 {
        match self {
            ErrorStatus::InternalServerError => 500,
            ErrorStatus::BadGateway => 502,
            ErrorStatus::ServiceUnavailable => 503,
        }
    }
}

/// One way a request can go wrong on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Answer with this 5xx without handling the request.
    Status(ErrorStatus),
    /// Answer 429 without `Retry-After`, without handling the request.
    TooManyRequests,
    /// Close the connection without a response, without handling the request.
    Drop,
    /// Handle the request (it takes effect), then answer with this 5xx.
    CommitThenStatus(ErrorStatus),
    /// Handle the request (it takes effect), then close the connection without a response.
    CommitThenDrop,
    /// Handle the request (it takes effect), then hold the response back for this long.
    CommitThenSlow(Duration),
}

impl Fault {
    /// The fault's kind, the key it is counted under.
    pub fn kind(self) -> FaultKind {
        use ErrorStatus::*;
        match self {
            Fault::Status(InternalServerError) => FaultKind::Status500,
            Fault::Status(BadGateway) => FaultKind::Status502,
            Fault::Status(ServiceUnavailable) => FaultKind::Status503,
            Fault::TooManyRequests => FaultKind::TooManyRequests,
            Fault::Drop => FaultKind::Drop,
            Fault::CommitThenStatus(InternalServerError) => FaultKind::Commit500,
            Fault::CommitThenStatus(BadGateway) => FaultKind::Commit502,
            Fault::CommitThenStatus(ServiceUnavailable) => FaultKind::Commit503,
            Fault::CommitThenDrop => FaultKind::CommitDrop,
            Fault::CommitThenSlow(_) => FaultKind::CommitSlow,
        }
    }

    /// Whether the request is applied before the fault strikes.
    pub fn commits(self) -> bool {
        matches!(
            self,
            Fault::CommitThenStatus(_) | Fault::CommitThenDrop | Fault::CommitThenSlow(_)
        )
    }
}

/// The kind of a fault, named as in the fault spec grammar (`"500"`, `"commit-drop"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultKind {
    /// `500`
    #[serde(rename = "500")]
    Status500,
    /// `502`
    #[serde(rename = "502")]
    Status502,
    /// `503`
    #[serde(rename = "503")]
    Status503,
    /// `429`
    #[serde(rename = "429")]
    TooManyRequests,
    /// `drop`
    #[serde(rename = "drop")]
    Drop,
    /// `commit-500`
    #[serde(rename = "commit-500")]
    Commit500,
    /// `commit-502`
    #[serde(rename = "commit-502")]
    Commit502,
    /// `commit-503`
    #[serde(rename = "commit-503")]
    Commit503,
    /// `commit-drop`
    #[serde(rename = "commit-drop")]
    CommitDrop,
    /// `commit-slow`
    #[serde(rename = "commit-slow")]
    CommitSlow,
}

impl FaultKind {
    /// The kind's name in the fault spec grammar.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Status500 => "500",
            FaultKind::Status502 => "502",
            FaultKind::Status503 => "503",
            FaultKind::TooManyRequests => "429",
            FaultKind::Drop => "drop",
            FaultKind::Commit500 => "commit-500",
            FaultKind::Commit502 => "commit-502",
            FaultKind::Commit503 => "commit-503",
            FaultKind::CommitDrop => "commit-drop",
            FaultKind::CommitSlow => "commit-slow",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

    /// Checks every probability is in `[0, 1]`, that each method's add up to at most 1, and that
    /// uniform latencies have `min <= max`.
    pub fn validate(&self) -> Result<(), FaultSpecError> {
        for rule in &self.rules {
            if !(0.0..=1.0).contains(&rule.probability) {
                return Err(FaultSpecError::new(
                    &entry_text(rule),
                    "the probability must be between 0 and 1",
                ));
            }
        }
        for method in ApiMethod::ALL {
            let total: f64 = self
                .rules
                .iter()
                .filter(|r| r.scope.covers(method))
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
    fn new(entry: &str, reason: &str) -> Self {
        Self {
            entry: entry.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

impl FromStr for FaultConfig {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut config = FaultConfig::none();
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("none") {
            return Ok(config);
        }
        for entry in spec.split(',').map(str::trim) {
            config = parse_entry(config, entry)?;
        }
        config.validate()?;
        Ok(config)
    }
}

fn parse_entry(config: FaultConfig, entry: &str) -> Result<FaultConfig, FaultSpecError> {
    let fail = |reason: &str| FaultSpecError::new(entry, reason);
    let (left, right) = entry
        .split_once('=')
        .ok_or_else(|| fail("expected `name=value`"))?;
    let (scope, name) = match left.split_once(':') {
        Some((method, name)) => (
            parse_scope(method.trim())
                .ok_or_else(|| fail("unknown method (expected get, post, put, delete or all)"))?,
            name.trim(),
        ),
        None => (MethodScope::All, left.trim()),
    };
    let name = name.to_ascii_lowercase();
    if name == "latency" {
        let latency = parse_latency(right.trim())
            .ok_or_else(|| fail("expected a duration like `50ms` or a range like `10ms..80ms`"))?;
        return Ok(config.with_latency(scope, latency));
    }
    let (probability, duration) = match right.split_once(':') {
        Some((p, d)) => (p.trim(), Some(d.trim())),
        None => (right.trim(), None),
    };
    let probability = parse_probability(probability)
        .ok_or_else(|| fail("expected a probability like `0.05` or `5%`"))?;
    let fault = match (name.as_str(), duration) {
        ("commit-slow", Some(d)) => Fault::CommitThenSlow(
            parse_duration(d).map_err(|_| fail("expected a duration like `35s` after `:`"))?,
        ),
        ("commit-slow", None) => return Err(fail("commit-slow needs a duration: `commit-slow=0.01:35s`")),
        (_, Some(_)) => return Err(fail("only commit-slow takes a duration")),
        (other, None) => parse_fault_name(other).ok_or_else(|| {
            fail("unknown fault (expected 500, 502, 503, 429, drop, commit-500, commit-502, commit-503, commit-drop, commit-slow or latency)")
        })?,
    };
    Ok(config.with_fault(scope, fault, probability))
}

fn parse_scope(method: &str) -> Option<MethodScope> {
    if method.eq_ignore_ascii_case("all") {
        Some(MethodScope::All)
    } else {
        ApiMethod::parse(method).map(MethodScope::Only)
    }
}

fn parse_fault_name(name: &str) -> Option<Fault> {
    use ErrorStatus::*;
    Some(match name {
        "500" => Fault::Status(InternalServerError),
        "502" => Fault::Status(BadGateway),
        "503" => Fault::Status(ServiceUnavailable),
        "429" => Fault::TooManyRequests,
        "drop" => Fault::Drop,
        "commit-500" => Fault::CommitThenStatus(InternalServerError),
        "commit-502" => Fault::CommitThenStatus(BadGateway),
        "commit-503" => Fault::CommitThenStatus(ServiceUnavailable),
        "commit-drop" => Fault::CommitThenDrop,
        _ => return None,
    })
}

fn parse_probability(text: &str) -> Option<f64> {
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().ok()? / 100.0,
        None => text.parse::<f64>().ok()?,
    };
    (value.is_finite() && (0.0..=1.0).contains(&value)).then_some(value)
}

fn parse_latency(text: &str) -> Option<Latency> {
    match text.split_once("..") {
        Some((min, max)) => Some(Latency::Uniform {
            min: parse_duration(min).ok()?,
            max: parse_duration(max).ok()?,
        }),
        None => parse_duration(text).ok().map(Latency::Fixed),
    }
}

fn scope_prefix(scope: MethodScope) -> String {
    match scope {
        MethodScope::All => String::new(),
        MethodScope::Only(method) => format!("{}:", method.as_str().to_ascii_lowercase()),
    }
}

fn entry_text(rule: &FaultRule) -> String {
    let prefix = scope_prefix(rule.scope);
    let kind = rule.fault.kind();
    match rule.fault {
        Fault::CommitThenSlow(d) => {
            format!("{prefix}{kind}={}:{}", rule.probability, format_duration(d))
        }
        _ => format!("{prefix}{kind}={}", rule.probability),
    }
}

fn latency_text(rule: &LatencyRule) -> String {
    let prefix = scope_prefix(rule.scope);
    match rule.latency {
        Latency::Fixed(d) => format!("{prefix}latency={}", format_duration(d)),
        Latency::Uniform { min, max } => format!(
            "{prefix}latency={}..{}",
            format_duration(min),
            format_duration(max)
        ),
    }
}

impl fmt::Display for FaultConfig {
    /// Writes the spec back in the grammar [`FaultConfig::from_str`] reads (`none` when empty).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let entries: Vec<String> = self
            .rules
            .iter()
            .map(entry_text)
            .chain(self.latencies.iter().map(latency_text))
            .collect();
        f.write_str(&entries.join(","))
    }
}

/// Rolls faults and latencies for requests, reproducibly from a seed.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    /// Per method (indexed by [`ApiMethod::index`]): cumulative probability bounds and faults.
    faults: [Vec<(f64, Fault)>; 4],
    /// Per method: the latencies that apply.
    latencies: [Vec<Latency>; 4],
    fault_rng: Mutex<StdRng>,
    latency_rng: Mutex<StdRng>,
}

impl FaultInjector {
    pub(crate) fn new(config: &FaultConfig, seed: u64) -> Self {
        let faults = ApiMethod::ALL.map(|method| {
            let mut bound = 0.0;
            config
                .rules
                .iter()
                .filter(|r| r.scope.covers(method) && r.probability > 0.0)
                .map(|r| {
                    bound += r.probability;
                    (bound, r.fault)
                })
                .collect()
        });
        let latencies = ApiMethod::ALL.map(|method| {
            config
                .latencies
                .iter()
                .filter(|r| r.scope.covers(method))
                .map(|r| r.latency)
                .collect()
        });
        Self {
            faults,
            latencies,
            fault_rng: Mutex::new(StdRng::seed_from_u64(seed)),
            latency_rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15)),
        }
    }

    /// Picks at most one fault for a request (one draw per request when any fault applies).
    pub(crate) fn roll(&self, method: ApiMethod) -> Option<Fault> {
        let table = &self.faults[method.index()];
        if table.is_empty() {
            return None;
        }
        let draw: f64 = self
            .fault_rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .random();
        table
            .iter()
            .find(|(bound, _)| draw < *bound)
            .map(|(_, fault)| *fault)
    }

    /// The total extra delay for a request (zero when no latency applies).
    pub(crate) fn latency(&self, method: ApiMethod) -> Duration {
        let rules = &self.latencies[method.index()];
        if rules.is_empty() {
            return Duration::ZERO;
        }
        let mut rng = self
            .latency_rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        rules
            .iter()
            .map(|latency| match *latency {
                Latency::Fixed(d) => d,
                Latency::Uniform { min, max } => rng.random_range(min..=max),
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const EXAMPLE: &str = "500=0.1,502=0.05,503=0.05,429=0.05,drop=0.02,commit-500=0.03,commit-drop=0.02,commit-slow=0.01:35s,latency=50ms,latency=10ms..80ms";

    #[test]
    fn the_documented_example_parses_and_round_trips() {
        let config: FaultConfig = EXAMPLE.parse().unwrap();
        assert_eq!(config.rules().len(), 8);
        assert_eq!(config.latencies().len(), 2);
        assert_eq!(
            config.rules()[7].fault,
            Fault::CommitThenSlow(Duration::from_secs(35))
        );
        assert_eq!(config.to_string(), EXAMPLE);
        assert_eq!(config.to_string().parse::<FaultConfig>().unwrap(), config);
    }

    #[test]
    fn a_method_prefix_scopes_an_entry() {
        let config: FaultConfig = "POST:503=0.5, delete:commit-drop=50%".parse().unwrap();
        assert_eq!(config.rules()[0].scope, MethodScope::Only(ApiMethod::Post));
        assert_eq!(
            config.rules()[1].scope,
            MethodScope::Only(ApiMethod::Delete)
        );
        assert_eq!(config.rules()[1].probability, 0.5);
        let injector = FaultInjector::new(&config, 1);
        assert!((0..1000).all(|_| injector.roll(ApiMethod::Get).is_none()));
    }

    #[test]
    fn bad_entries_are_rejected_with_the_entry_named() {
        for (spec, needle) in [
            ("500", "expected `name=value`"),
            ("504=0.1", "unknown fault"),
            ("500=1.5", "probability"),
            ("patch:500=0.1", "unknown method"),
            ("commit-slow=0.1", "needs a duration"),
            ("500=0.1:3s", "only commit-slow"),
            ("latency=fast", "duration"),
            ("latency=80ms..10ms", "lower bound"),
            ("post:500=0.6,all:503=0.6", "POST add up"),
        ] {
            let err = spec.parse::<FaultConfig>().unwrap_err().to_string();
            assert!(err.contains(needle), "{spec}: {err}");
        }
        assert_eq!("none".parse::<FaultConfig>().unwrap(), FaultConfig::none());
        assert_eq!("".parse::<FaultConfig>().unwrap(), FaultConfig::none());
    }

    fn tally(injector: &FaultInjector, draws: usize) -> HashMap<Option<FaultKind>, usize> {
        let mut counts = HashMap::new();
        for _ in 0..draws {
            *counts
                .entry(injector.roll(ApiMethod::Post).map(Fault::kind))
                .or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn each_fault_occurs_at_its_rate() {
        let config: FaultConfig = EXAMPLE.parse().unwrap();
        let draws = 100_000;
        let counts = tally(&FaultInjector::new(&config, 7), draws);
        for rule in config.rules() {
            let expected = rule.probability * draws as f64;
            let got = counts.get(&Some(rule.fault.kind())).copied().unwrap_or(0) as f64;
            let sigma = (draws as f64 * rule.probability * (1.0 - rule.probability)).sqrt();
            assert!(
                (got - expected).abs() < 5.0 * sigma,
                "{}: {got} vs {expected}",
                rule.fault.kind()
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_faults_and_latencies() {
        let config: FaultConfig = EXAMPLE.parse().unwrap();
        let a = FaultInjector::new(&config, 42);
        let b = FaultInjector::new(&config, 42);
        let c = FaultInjector::new(&config, 43);
        let run = |i: &FaultInjector| {
            (0..500)
                .map(|_| (i.roll(ApiMethod::Put), i.latency(ApiMethod::Put)))
                .collect::<Vec<_>>()
        };
        let (ra, rb, rc) = (run(&a), run(&b), run(&c));
        assert_eq!(ra, rb);
        assert_ne!(ra, rc);
    }

    #[test]
    fn latencies_add_up_within_their_ranges() {
        let config: FaultConfig = "latency=50ms,latency=10ms..80ms".parse().unwrap();
        let injector = FaultInjector::new(&config, 0);
        for _ in 0..1000 {
            let d = injector.latency(ApiMethod::Get);
            assert!(
                d >= Duration::from_millis(60) && d <= Duration::from_millis(130),
                "{d:?}"
            );
        }
    }
}
