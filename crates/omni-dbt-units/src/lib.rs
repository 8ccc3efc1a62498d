//! The one parser of each unit grammar omni-dbt reads: durations, request rates and byte sizes.
//!
//! The command line, the client and the sandbox all read these from users (`--timeout 30s`,
//! `--rate 60/min`, a fault's `commit-slow=0.1:35s`); each grammar is parsed here and only here,
//! so that a form accepted in one place is accepted in every other, and written back
//! ([`format_duration`], `Display`) in a form the parser reads again.
//!
//! | grammar | parse | write | examples |
//! |---|---|---|---|
//! | duration | [`parse_duration`] | [`format_duration`] | `250ms`, `1.5s`, `2m`, `1h30m`, `30` (seconds) |
//! | rate | [`Rate`]`::from_str` | `Display` | `60/min`, `10/s`, `1000/h`, `5/30s`, `unlimited` |
//! | size | [`parse_size`] | [`format_size`] | `512KiB`, `2GiB`, `1.5MB`, `4096` (bytes) |
//!
//! Errors are typed ([`DurationError`], [`RateError`], [`SizeError`]): each keeps the text it
//! was given and a `kind` saying what is wrong, and its message names the expected forms.
//!
//! ```
//! use omni_dbt_units::{format_duration, parse_duration, parse_size, Rate};
//! use std::time::Duration;
//!
//! let timeout = parse_duration("30")?;
//! assert_eq!(timeout, Duration::from_secs(30));
//! assert_eq!(format_duration(timeout), "30s");
//!
//! let rate: Rate = "500/min".parse()?;
//! let quota = rate.quota().ok_or("limited")?;
//! assert_eq!(quota.per_second(), 500.0 / 60.0);
//! assert_eq!(rate.to_string(), "500/min");
//!
//! assert_eq!(parse_size("64MiB")?, 64 * 1024 * 1024);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod duration;
mod rate;
mod size;

pub use duration::{format_duration, parse_duration, DurationError, DurationErrorKind};
pub use rate::{Quota, Rate, RateError, RateErrorKind};
pub use size::{format_size, parse_size, SizeError, SizeErrorKind};
