//! The state shared by every request: store, counters, tokens, rate limiter and fault injector.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::config::{RetryAfterHeader, SandboxConfig};
use crate::faults::FaultInjector;
use crate::limiter::RateLimiter;
use crate::stats::{Snapshot, Stats};
use crate::store::Store;

/// Everything a running sandbox holds.
#[derive(Debug)]
pub(crate) struct App {
    store: Mutex<Store>,
    pub(crate) stats: Stats,
    pub(crate) tokens: HashSet<String>,
    pub(crate) limiter: RateLimiter,
    pub(crate) retry_after: RetryAfterHeader,
    pub(crate) faults: FaultInjector,
    pub(crate) default_page_size: u32,
    endless_pages: AtomicU64,
}

impl App {
    /// The state for a (validated) configuration.
    pub(crate) fn new(config: &SandboxConfig) -> Self {
        Self {
            store: Mutex::new(Store::new(
                config.connection_mode,
                config.duplicate_names,
                &config.connections,
            )),
            stats: Stats::default(),
            tokens: config
                .tokens
                .iter()
                .map(|t| t.expose().to_owned())
                .collect(),
            limiter: RateLimiter::new(config.rate_limit, config.rate_window),
            retry_after: config.retry_after,
            faults: FaultInjector::new(&config.faults, config.seed),
            default_page_size: config.default_page_size,
            endless_pages: AtomicU64::new(0),
        }
    }

    /// The store, locked. Never held across an `.await`.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A number no other page of the endless-pages fault got.
    pub(crate) fn next_endless_page(&self) -> u64 {
        self.endless_pages.fetch_add(1, Ordering::Relaxed)
    }

    /// The current state.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let store = self.store();
        self.stats.snapshot(&store)
    }
}
