//! The seeded [`FaultInjector`]: which fault, if any, and how much latency each request gets.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Fault, FaultConfig, Latency};
use crate::method::ApiMethod;

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
                .filter(|r| {
                    r.scope.covers(method) && r.fault.applies_to(method) && r.probability > 0.0
                })
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
    use crate::faults::FaultKind;
    use std::collections::HashMap;

    const EXAMPLE: &str = "500=0.1,502=0.05,503=0.05,429=0.05,drop=0.02,commit-500=0.03,commit-drop=0.02,commit-slow=0.01:35s,latency=50ms,latency=10ms..80ms";

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
    fn a_method_prefix_keeps_other_methods_clean() {
        let config: FaultConfig = "POST:503=0.5, delete:commit-drop=50%".parse().unwrap();
        let injector = FaultInjector::new(&config, 1);
        assert!((0..1000).all(|_| injector.roll(ApiMethod::Get).is_none()));
    }

    #[test]
    fn a_fault_that_cannot_strike_a_method_is_never_rolled_for_it() {
        let config: FaultConfig = "endless-pages=1,commit-no-id=1".parse().unwrap();
        let injector = FaultInjector::new(&config, 1);
        assert!((0..100).all(|_| injector.roll(ApiMethod::Get) == Some(Fault::EndlessPages)));
        assert!((0..100).all(|_| injector.roll(ApiMethod::Post) == Some(Fault::CommitThenNoId)));
        assert!((0..100).all(|_| injector.roll(ApiMethod::Delete).is_none()));
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
