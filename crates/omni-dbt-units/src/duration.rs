//! The duration grammar: [`parse_duration`], [`format_duration`] and [`DurationError`].
//!
//! The grammar is on [`parse_duration`].

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Fraction digits kept: beyond 20, a digit is worth less than a nanosecond of a week.
const MAX_FRACTION_DIGITS: usize = 20;

/// Why a duration could not be parsed: the text and the first thing wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {kind} (expected e.g. 30s, 250ms, 1.5s, 2m, 1h30m or a number of seconds)")]
pub struct DurationError {
    input: String,
    kind: DurationErrorKind,
}

impl DurationError {
    fn new(input: &str, kind: DurationErrorKind) -> Self {
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
    pub fn kind(&self) -> &DurationErrorKind {
        &self.kind
    }
}

/// What is wrong with a duration's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationErrorKind {
    /// Nothing but spaces.
    #[error("it is empty")]
    Empty,
    /// A sign: durations are never negative.
    #[error("a duration cannot be negative")]
    Negative,
    /// Something where a number should be.
    #[error("`{0}` is not a number")]
    InvalidNumber(String),
    /// A number followed by nothing, after other terms (`1m 30`).
    #[error("`{0}` has no unit (only a number alone means seconds)")]
    MissingUnit(String),
    /// A unit the grammar does not know.
    #[error("unknown unit `{0}` (use ns, us, ms, s, m, h, d or w)")]
    UnknownUnit(String),
    /// Longer than [`Duration::MAX`].
    #[error("it is too long")]
    TooLong,
}

/// Parses a duration: `250ms`, `1.5s`, `30s`, `2m`, `1h`, `1h 30m`, or a bare number of seconds
/// (`30`, `0.5`).
///
/// ```text
/// duration := number                  a bare number is seconds: `30`, `0.5`
///           | term (" "* term)*       `250ms`, `1.5s`, `2m`, `1h 30m`, `1h30m`
/// term     := number " "* unit
/// number   := digits ["." digits] | "." digits
/// unit     := ns | nsec | nanos                     (case-insensitive)
///           | us | µs | usec | micros
///           | ms | msec | millis
///           | s | sec | secs | second | seconds
///           | m | min | mins | minute | minutes
///           | h | hr | hrs | hour | hours
///           | d | day | days
///           | w | week | weeks
/// ```
///
/// Decimals are exact to the nanosecond (no floating point on the way). The units are
/// humantime's, less months and years, whose length is a convention rather than a fact (`M`,
/// humantime's month, is refused rather than read as a minute).
///
/// ```
/// use omni_dbt_units::parse_duration;
/// use std::time::Duration;
///
/// assert_eq!(parse_duration("250ms")?, Duration::from_millis(250));
/// assert_eq!(parse_duration("1.5s")?, Duration::from_millis(1500));
/// assert_eq!(parse_duration("2m")?, Duration::from_secs(120));
/// assert_eq!(parse_duration("1h 30m")?, Duration::from_secs(5400));
/// assert_eq!(parse_duration("30")?, Duration::from_secs(30), "a bare number is seconds");
/// assert!(parse_duration("-1s").is_err());
/// assert!(parse_duration("3 fortnights").is_err());
/// # Ok::<(), omni_dbt_units::DurationError>(())
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let fail = |kind| DurationError::new(text, kind);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(fail(DurationErrorKind::Empty));
    }
    if trimmed.starts_with('-') {
        return Err(fail(DurationErrorKind::Negative));
    }
    let mut rest = trimmed;
    let mut total: u128 = 0;
    let mut terms = 0;
    while !rest.is_empty() {
        let (number, after_number) = split_number(rest);
        if number.is_empty() {
            return Err(fail(DurationErrorKind::InvalidNumber(
                word(rest).to_owned(),
            )));
        }
        let after_number = after_number.trim_start();
        let (unit, after_unit) = split_unit(after_number);
        let unit_nanos = if unit.is_empty() {
            if terms > 0 || !after_number.is_empty() {
                let shown = if after_number.is_empty() {
                    number
                } else {
                    word(after_number)
                };
                let kind = if after_number.is_empty() {
                    DurationErrorKind::MissingUnit(shown.to_owned())
                } else {
                    DurationErrorKind::InvalidNumber(shown.to_owned())
                };
                return Err(fail(kind));
            }
            NANOS_PER_SEC
        } else {
            unit_nanos(unit).ok_or_else(|| fail(DurationErrorKind::UnknownUnit(unit.to_owned())))?
        };
        let nanos = scaled(number, unit_nanos).map_err(fail)?;
        total = total
            .checked_add(nanos)
            .ok_or_else(|| fail(DurationErrorKind::TooLong))?;
        terms += 1;
        rest = after_unit.trim_start();
    }
    let secs =
        u64::try_from(total / NANOS_PER_SEC).map_err(|_| fail(DurationErrorKind::TooLong))?;
    // The remainder is below one second, so it fits.
    let subsec = u32::try_from(total % NANOS_PER_SEC).unwrap_or(0);
    Ok(Duration::new(secs, subsec))
}

/// Writes a duration in the grammar [`parse_duration`] reads, exactly: in the largest of `h`,
/// `m`, `s`, `ms`, `us`, `ns` that holds it a whole number of times.
///
/// ```
/// use omni_dbt_units::{format_duration, parse_duration};
/// use std::time::Duration;
///
/// assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
/// assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
/// assert_eq!(format_duration(Duration::from_secs(90)), "90s");
/// assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
/// assert_eq!(format_duration(Duration::ZERO), "0s");
/// let odd = Duration::new(3, 7);
/// assert_eq!(parse_duration(&format_duration(odd))?, odd);
/// # Ok::<(), omni_dbt_units::DurationError>(())
/// ```
pub fn format_duration(duration: Duration) -> String {
    const UNITS: [(u128, &str); 6] = [
        (3_600 * NANOS_PER_SEC, "h"),
        (60 * NANOS_PER_SEC, "m"),
        (NANOS_PER_SEC, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    let (size, unit) = UNITS
        .into_iter()
        .find(|(size, _)| nanos % size == 0)
        .unwrap_or((1, "ns"));
    format!("{}{unit}", nanos / size)
}

/// Splits off a leading `digits[.digits]`, returning it and the rest.
fn split_number(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// Splits off a leading run of letters (with `µ`), returning it and the rest.
fn split_unit(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_alphabetic() || c == 'µ'))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// The first whitespace-separated word of `text`, for error messages.
fn word(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or(text)
}

fn unit_nanos(unit: &str) -> Option<u128> {
    // humantime reads `M` as a month: refuse it rather than read a minute.
    if unit == "M" {
        return None;
    }
    let unit = unit.to_lowercase();
    Some(match unit.as_str() {
        "ns" | "nsec" | "nanos" => 1,
        "us" | "µs" | "usec" | "micros" => 1_000,
        "ms" | "msec" | "millis" => 1_000_000,
        "s" | "sec" | "secs" | "second" | "seconds" => NANOS_PER_SEC,
        "m" | "min" | "mins" | "minute" | "minutes" => 60 * NANOS_PER_SEC,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600 * NANOS_PER_SEC,
        "d" | "day" | "days" => 86_400 * NANOS_PER_SEC,
        "w" | "week" | "weeks" => 604_800 * NANOS_PER_SEC,
        _ => return None,
    })
}

/// `number` (ASCII digits and points, from [`split_number`]) times `unit_nanos`, truncated to
/// whole nanoseconds.
fn scaled(number: &str, unit_nanos: u128) -> Result<u128, DurationErrorKind> {
    let invalid = || DurationErrorKind::InvalidNumber(number.to_owned());
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(invalid());
    }
    // Only digits are left, so a failed parse is an overflow.
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| DurationErrorKind::TooLong)?
    };
    let fraction = &fraction[..fraction.len().min(MAX_FRACTION_DIGITS)];
    let fraction_nanos = match u32::try_from(fraction.len()) {
        Ok(0) => 0,
        Ok(digits) => {
            fraction.parse::<u128>().map_err(|_| invalid())? * unit_nanos / 10u128.pow(digits)
        }
        Err(_) => return Err(invalid()),
    };
    whole
        .checked_mul(unit_nanos)
        .and_then(|nanos| nanos.checked_add(fraction_nanos))
        .ok_or(DurationErrorKind::TooLong)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(text: &str) -> DurationErrorKind {
        match parse_duration(text) {
            Err(error) => error.kind().clone(),
            Ok(d) => panic!("{text:?} parsed as {d:?}"),
        }
    }

    #[test]
    fn each_unit_and_its_aliases() {
        for (text, expected) in [
            ("7ns", Duration::from_nanos(7)),
            ("7us", Duration::from_micros(7)),
            ("7µs", Duration::from_micros(7)),
            ("50ms", Duration::from_millis(50)),
            ("50msec", Duration::from_millis(50)),
            ("35s", Duration::from_secs(35)),
            ("35 sec", Duration::from_secs(35)),
            ("35seconds", Duration::from_secs(35)),
            ("2m", Duration::from_secs(120)),
            ("2min", Duration::from_secs(120)),
            ("2 minutes", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1H", Duration::from_secs(3600)),
            ("1hour", Duration::from_secs(3600)),
            ("1d", Duration::from_secs(86_400)),
            ("1w", Duration::from_secs(604_800)),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(".25s"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0.1s"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2.s"), Ok(Duration::from_secs(2)));
        assert_eq!(
            parse_duration("0.0000000015s"),
            Ok(Duration::from_nanos(1)),
            "truncated to whole nanoseconds"
        );
    }

    #[test]
    fn a_bare_number_is_seconds() {
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration(" 30 "), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn compound_forms_add_up() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h 30m 15s"), Ok(Duration::from_secs(5415)));
        assert_eq!(
            parse_duration("1m 500ms"),
            Ok(Duration::from_millis(60_500))
        );
    }

    #[test]
    fn bad_text_says_what_is_wrong() {
        assert_eq!(kind(""), DurationErrorKind::Empty);
        assert_eq!(kind("  "), DurationErrorKind::Empty);
        assert_eq!(kind("-1s"), DurationErrorKind::Negative);
        assert_eq!(kind("xs"), DurationErrorKind::InvalidNumber("xs".into()));
        assert_eq!(
            kind("fast"),
            DurationErrorKind::InvalidNumber("fast".into())
        );
        assert_eq!(
            kind("1.2.3s"),
            DurationErrorKind::InvalidNumber("1.2.3".into())
        );
        assert_eq!(kind("."), DurationErrorKind::InvalidNumber(".".into()));
        assert_eq!(kind("1m 30"), DurationErrorKind::MissingUnit("30".into()));
        assert_eq!(
            kind("5 fortnights"),
            DurationErrorKind::UnknownUnit("fortnights".into())
        );
        assert_eq!(
            kind("1M"),
            DurationErrorKind::UnknownUnit("M".into()),
            "a month elsewhere"
        );
        assert_eq!(kind("30s!"), DurationErrorKind::InvalidNumber("!".into()));
        assert_eq!(kind("99999999999999999999999w"), DurationErrorKind::TooLong);
        assert_eq!(kind(&"9".repeat(50)), DurationErrorKind::TooLong);
        assert_eq!(kind("600000000000000000000s"), DurationErrorKind::TooLong);
    }

    #[test]
    fn the_message_names_the_text_and_the_grammar() {
        let message = parse_duration("soon").unwrap_err().to_string();
        assert!(message.contains("\"soon\""), "{message}");
        assert!(message.contains("30s"), "{message}");
    }

    #[test]
    fn formatting_round_trips_the_usual_values() {
        for text in [
            "50ms", "35s", "1500ms", "0s", "2m", "1h", "90s", "7ns", "3us",
        ] {
            let parsed = parse_duration(text).unwrap();
            assert_eq!(format_duration(parsed), text);
            assert_eq!(parse_duration(&format_duration(parsed)), Ok(parsed));
        }
    }

    proptest! {
        #[test]
        fn any_duration_round_trips(secs in 0u64..=u64::MAX / 4, nanos in 0u32..1_000_000_000) {
            let duration = Duration::new(secs, nanos);
            prop_assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }

        #[test]
        fn whole_milliseconds_parse_as_written(millis in 0u64..10_000_000) {
            prop_assert_eq!(parse_duration(&format!("{millis}ms")), Ok(Duration::from_millis(millis)));
        }
    }
}
