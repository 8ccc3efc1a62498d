//! The request-rate grammar: [`Rate`] (a [`Quota`] or unlimited) and [`RateError`].

//!
//! The grammar is on [`Rate`].

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use crate::duration::{format_duration, parse_duration, DurationErrorKind};

/// At most `count` requests in a window of `window` (both above zero).
///
/// ```
/// use omni_dbt_units::Quota;
/// use std::num::NonZeroU32;
/// use std::time::Duration;
///
/// let quota: Quota = "5/30s".parse()?;
/// assert_eq!(quota.count().get(), 5);
/// assert_eq!(quota.window(), Duration::from_secs(30));
/// assert_eq!(quota.per_minute(), 10.0);
/// assert_eq!(quota.interval(), Duration::from_secs(6));
/// assert_eq!(Quota::per_minute_of(NonZeroU32::MIN).to_string(), "1/min");
/// # Ok::<(), omni_dbt_units::RateError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    count: NonZeroU32,
    window: Duration,
}

impl Quota {
    /// `count` requests per `window`; `None` when the window is zero.
    pub fn new(count: NonZeroU32, window: Duration) -> Option<Quota> {
        (!window.is_zero()).then_some(Quota { count, window })
    }

    /// `count` requests per second.
    pub const fn per_second_of(count: NonZeroU32) -> Quota {
        Quota {
            count,
            window: Duration::from_secs(1),
        }
    }

    /// `count` requests per minute (Omni documents 60 per API key).
    pub const fn per_minute_of(count: NonZeroU32) -> Quota {
        Quota {
            count,
            window: Duration::from_secs(60),
        }
    }

    /// The number of requests admitted per window.
    pub fn count(&self) -> NonZeroU32 {
        self.count
    }

    /// The window's length.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The average rate, in requests per second.
    pub fn per_second(&self) -> f64 {
        f64::from(self.count.get()) / self.window.as_secs_f64()
    }

    /// The average rate, in requests per minute.
    pub fn per_minute(&self) -> f64 {
        f64::from(self.count.get()) * 60.0 / self.window.as_secs_f64()
    }

    /// The spacing of evenly paced requests: `window / count`.
    pub fn interval(&self) -> Duration {
        self.window / self.count.get()
    }
}

impl fmt::Display for Quota {
    /// `N/s`, `N/min` and `N/h` for those windows, else `N/<duration>` (`5/30s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.count;
        match self.window.as_nanos() {
            1_000_000_000 => write!(f, "{count}/s"),
            60_000_000_000 => write!(f, "{count}/min"),
            3_600_000_000_000 => write!(f, "{count}/h"),
            _ => write!(f, "{count}/{}", format_duration(self.window)),
        }
    }
}

impl FromStr for Quota {
    type Err = RateError;

    /// Parses `N/UNIT` or `N/DURATION`; `unlimited` is refused (see [`Rate`]).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.parse::<Rate>()? {
            Rate::Limited(quota) => Ok(quota),
            Rate::Unlimited => Err(RateError::new(text, RateErrorKind::UnlimitedNotAllowed)),
        }
    }
}

/// A request rate: a [`Quota`], or no limit at all.
///
/// ```text
/// rate   := count "/" window | "unlimited" | "none" | "off"     (case-insensitive)
/// count  := a whole number from 1 to 4294967295
/// window := unit                     one of it: s | sec | second, m | min | minute, h | hour
///                                    (any unit of the duration grammar: `ms`, `d`, ...)
///         | duration                 `30s`, `1.5s`, `250ms`, `1h30m`, `30` (seconds)
/// ```
///
/// ```
/// use omni_dbt_units::{Quota, Rate};
/// use std::num::NonZeroU32;
/// use std::time::Duration;
///
/// let sixty = NonZeroU32::new(60).unwrap();
/// assert_eq!("60/min".parse::<Rate>()?, Rate::Limited(Quota::per_minute_of(sixty)));
/// assert_eq!("10/s".parse::<Rate>()?.to_string(), "10/s");
/// assert_eq!("1000/hour".parse::<Rate>()?.to_string(), "1000/h");
/// assert_eq!("5/30s".parse::<Rate>()?.quota().map(|q| q.window()), Some(Duration::from_secs(30)));
/// assert_eq!("unlimited".parse::<Rate>()?, Rate::Unlimited);
/// assert_eq!("OFF".parse::<Rate>()?, Rate::Unlimited);
/// assert!("0/min".parse::<Rate>().is_err());
/// assert!("60".parse::<Rate>().is_err());
/// # Ok::<(), omni_dbt_units::RateError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rate {
    /// No limit.
    Unlimited,
    /// At most this many requests per window.
    Limited(Quota),
}

impl Rate {
    /// The quota, or `None` when unlimited.
    pub fn quota(&self) -> Option<Quota> {
        match self {
            Rate::Unlimited => None,
            Rate::Limited(quota) => Some(*quota),
        }
    }
}

impl fmt::Display for Rate {
    /// `unlimited`, or the quota as [`Quota`]'s `Display` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::Unlimited => f.write_str("unlimited"),
            Rate::Limited(quota) => quota.fmt(f),
        }
    }
}

impl FromStr for Rate {
    type Err = RateError;

    /// Parses the grammar shown on [`Rate`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |kind| RateError::new(text, kind);
        let trimmed = text.trim();
        if ["unlimited", "none", "off"]
            .iter()
            .any(|word| trimmed.eq_ignore_ascii_case(word))
        {
            return Ok(Rate::Unlimited);
        }
        let (count, window) = trimmed
            .split_once('/')
            .ok_or_else(|| fail(RateErrorKind::MissingSlash))?;
        let count = count.trim();
        let count: u32 = count
            .parse()
            .map_err(|_| fail(RateErrorKind::InvalidCount(count.to_owned())))?;
        let count = NonZeroU32::new(count).ok_or_else(|| fail(RateErrorKind::ZeroCount))?;
        let window = window.trim();
        // A unit alone is one of it: `min` is `1min`.
        let as_duration = if window.starts_with(|c: char| c.is_alphabetic()) {
            format!("1{window}")
        } else {
            window.to_owned()
        };
        let window = parse_duration(&as_duration)
            .map_err(|error| fail(RateErrorKind::InvalidWindow(error.kind().clone())))?;
        Quota::new(count, window)
            .map(Rate::Limited)
            .ok_or_else(|| fail(RateErrorKind::ZeroWindow))
    }
}

/// Why a rate could not be parsed: the text and the first thing wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate {input:?}: {kind} (expected e.g. 60/min, 10/s, 1000/h, 5/30s or unlimited)")]
pub struct RateError {
    input: String,
    kind: RateErrorKind,
}

impl RateError {
    fn new(input: &str, kind: RateErrorKind) -> Self {
        Self {
            input: input.to_owned(),
            kind,
        }
    }

    /// The text that was given.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What is wrong with it.
    pub fn kind(&self) -> &RateErrorKind {
        &self.kind
    }
}

/// What is wrong with a rate's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateErrorKind {
    /// No `/` between the count and the window.
    #[error("missing `/` between the count and the window")]
    MissingSlash,
    /// The count is not a whole number that fits in 32 bits.
    #[error("the count `{0}` is not a whole number")]
    InvalidCount(String),
    /// The count is zero: use `unlimited` or a positive count.
    #[error("the count must be at least 1")]
    ZeroCount,
    /// The window is neither a unit nor a duration.
    #[error("the window is not a unit (s, min, h) or a duration: {0}")]
    InvalidWindow(DurationErrorKind),
    /// The window is zero long.
    #[error("the window must be longer than zero")]
    ZeroWindow,
    /// `unlimited` where a quota is required.
    #[error("a limit is required here")]
    UnlimitedNotAllowed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn quota(count: u32, window: Duration) -> Rate {
        Rate::Limited(Quota::new(NonZeroU32::new(count).unwrap(), window).unwrap())
    }

    fn kind(text: &str) -> RateErrorKind {
        match text.parse::<Rate>() {
            Err(error) => error.kind().clone(),
            Ok(rate) => panic!("{text:?} parsed as {rate:?}"),
        }
    }

    #[test]
    fn each_unit_and_duration_window() {
        let second = Duration::from_secs(1);
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        for (text, expected) in [
            ("10/s", quota(10, second)),
            ("10/sec", quota(10, second)),
            ("10/second", quota(10, second)),
            ("60/m", quota(60, minute)),
            ("60/min", quota(60, minute)),
            ("60/minute", quota(60, minute)),
            ("60 / MIN", quota(60, minute)),
            ("500/h", quota(500, hour)),
            ("500/hour", quota(500, hour)),
            ("5/30s", quota(5, Duration::from_secs(30))),
            ("20/2s", quota(20, Duration::from_secs(2))),
            ("7/250ms", quota(7, Duration::from_millis(250))),
            ("3/1.5s", quota(3, Duration::from_millis(1500))),
            ("60/60", quota(60, minute)),
            ("unlimited", Rate::Unlimited),
            ("None", Rate::Unlimited),
            ("off", Rate::Unlimited),
        ] {
            assert_eq!(text.parse::<Rate>(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_text_says_what_is_wrong() {
        assert_eq!(kind("60"), RateErrorKind::MissingSlash);
        assert_eq!(kind("x/min"), RateErrorKind::InvalidCount("x".into()));
        assert_eq!(kind("-1/min"), RateErrorKind::InvalidCount("-1".into()));
        assert_eq!(kind("0/min"), RateErrorKind::ZeroCount);
        assert_eq!(
            kind("6/fortnight"),
            RateErrorKind::InvalidWindow(DurationErrorKind::UnknownUnit("fortnight".into()))
        );
        assert_eq!(kind("6/0s"), RateErrorKind::ZeroWindow);
        let message = "6/0s".parse::<Rate>().unwrap_err().to_string();
        assert!(
            message.contains("\"6/0s\"") && message.contains("60/min"),
            "{message}"
        );
        assert_eq!(
            "unlimited".parse::<Quota>().unwrap_err().kind(),
            &RateErrorKind::UnlimitedNotAllowed
        );
    }

    #[test]
    fn display_uses_the_short_units_and_round_trips() {
        for text in [
            "60/min",
            "10/s",
            "1000/h",
            "5/30s",
            "7/250ms",
            "unlimited",
            "1/2m",
        ] {
            let rate: Rate = text.parse().unwrap();
            assert_eq!(rate.to_string(), text);
        }
    }

    proptest! {
        #[test]
        fn any_quota_round_trips(count in 1u32.., millis in 1u64..10_000_000_000) {
            let rate = quota(count, Duration::from_millis(millis));
            prop_assert_eq!(rate.to_string().parse::<Rate>(), Ok(rate));
        }
    }
}
