//! `--max-deletes N|P%`: how many deletions one prune may plan, as a count or a share of the
//! environments listed, compared in whole numbers so that no rounding lets one more through.

use std::fmt;
use std::str::FromStr;

/// Hundredths of a percent in 100%.
const WHOLE: u64 = 10_000;

/// The most deletions a prune may plan (`--max-deletes`); default 10% of the environments
/// listed in the input's connections.
///
/// ```
/// use omni_dbt_batch::MaxDeletes;
/// let ten_percent = MaxDeletes::default();
/// assert!(ten_percent.allows(2, 20), "2 x 100 > 10 x 20 is false");
/// assert!(!ten_percent.allows(3, 20));
/// let share: MaxDeletes = "12.5%".parse().unwrap();
/// assert!(share.allows(1, 8) && !share.allows(2, 8));
/// assert!("3".parse::<MaxDeletes>().unwrap().allows(3, 3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MaxDeletes {
    /// At most this many deletions.
    Count(u64),
    /// At most this share of the environments listed, in hundredths of a percent (10% = 1000).
    PercentHundredths(u32),
}

impl Default for MaxDeletes {
    fn default() -> Self {
        MaxDeletes::PercentHundredths(1_000)
    }
}

impl MaxDeletes {
    /// Whether a plan of `deletions` out of `listed` environments is within the limit: for a
    /// percentage P, refused exactly when `deletions x 100 > P x listed`.
    pub fn allows(self, deletions: u64, listed: u64) -> bool {
        match self {
            MaxDeletes::Count(n) => deletions <= n,
            MaxDeletes::PercentHundredths(hundredths) => {
                u128::from(deletions) * u128::from(WHOLE)
                    <= u128::from(hundredths) * u128::from(listed)
            }
        }
    }
}

impl fmt::Display for MaxDeletes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MaxDeletes::Count(n) => write!(f, "{n}"),
            MaxDeletes::PercentHundredths(h) if h % 100 == 0 => write!(f, "{}%", h / 100),
            MaxDeletes::PercentHundredths(h) => {
                let decimals = format!("{:02}", h % 100);
                write!(f, "{}.{}%", h / 100, decimals.trim_end_matches('0'))
            }
        }
    }
}

impl FromStr for MaxDeletes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let invalid = || {
            format!(
                "invalid --max-deletes {s:?}: expected a count (25) or a percentage (10%, 2.5%)"
            )
        };
        let Some(percent) = s.strip_suffix('%') else {
            return s.parse().map(MaxDeletes::Count).map_err(|_| invalid());
        };
        let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let (whole, fraction) = match percent.trim().split_once('.') {
            Some((whole, fraction)) if digits(fraction) && fraction.len() <= 2 => (whole, fraction),
            Some(_) => return Err(invalid()),
            None => (percent.trim(), ""),
        };
        if !digits(whole) {
            return Err(invalid());
        }
        let whole: u64 = whole.parse().map_err(|_| invalid())?;
        let fraction: u64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
        let hundredths = whole.saturating_mul(100).saturating_add(fraction);
        if hundredths > WHOLE {
            return Err(format!("--max-deletes {s:?} is more than 100%"));
        }
        u32::try_from(hundredths)
            .map(MaxDeletes::PercentHundredths)
            .map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_compare_exactly_at_the_boundary() {
        let ten: MaxDeletes = "10%".parse().unwrap();
        assert!(ten.allows(1, 10), "1 x 100 = 10 x 10 is not more");
        assert!(!ten.allows(2, 19), "2 x 100 > 10 x 19");
        assert!(ten.allows(2, 20));
        assert!(ten.allows(0, 0));
        assert!(!ten.allows(1, 0), "nothing listed, nothing to delete");
        let all: MaxDeletes = "100%".parse().unwrap();
        assert!(all.allows(7, 7) && !all.allows(8, 7));
    }

    #[test]
    fn spellings_round_trip_and_bad_ones_are_refused() {
        for text in ["10%", "2.5%", "0.01%", "100%", "0", "25"] {
            assert_eq!(text.parse::<MaxDeletes>().unwrap().to_string(), text);
        }
        assert_eq!("7.50%".parse::<MaxDeletes>().unwrap().to_string(), "7.5%");
        for bad in [
            "", "%", "ten", "-1", "101%", "1.234%", "1e2%", "5.%", "abc%",
        ] {
            assert!(bad.parse::<MaxDeletes>().is_err(), "{bad}");
        }
    }
}
