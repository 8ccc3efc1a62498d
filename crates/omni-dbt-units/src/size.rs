//! The byte-size grammar: [`parse_size`], [`format_size`] and [`SizeError`].

//!
//! The grammar is on [`parse_size`].

const UNITS: [(&str, u64); 13] = [
    ("b", 1),
    ("k", 1 << 10),
    ("kib", 1 << 10),
    ("m", 1 << 20),
    ("mib", 1 << 20),
    ("g", 1 << 30),
    ("gib", 1 << 30),
    ("t", 1 << 40),
    ("tib", 1 << 40),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
];

/// Why a size could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size {input:?}: {kind} (expected e.g. 512KiB, 64MiB, 2GiB or a number of bytes)")]
pub struct SizeError {
    input: String,
    kind: SizeErrorKind,
}

impl SizeError {
    /// The text that was given.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What is wrong with it.
    pub fn kind(&self) -> &SizeErrorKind {
        &self.kind
    }
}

/// What is wrong with a size's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SizeErrorKind {
    /// No number where one should be.
    #[error("`{0}` is not a number")]
    InvalidNumber(String),
    /// A unit the grammar does not know.
    #[error("unknown unit `{0}` (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)")]
    UnknownUnit(String),
    /// More than `u64::MAX` bytes.
    #[error("it is too large")]
    TooLarge,
}

/// Parses a byte size: `512KiB`, `64MiB`, `2GiB`, `1.5GB`, `4096` (bytes). Fractions of a byte
/// are dropped.
///
/// ```text
/// size := number [" "*] [unit]      a bare number is bytes
/// unit := B                                       (case-insensitive)
///       | KiB | MiB | GiB | TiB    powers of 1024 (also K, M, G, T)
///       | KB  | MB  | GB  | TB     powers of 1000
/// ```
///
/// ```
/// use omni_dbt_units::parse_size;
///
/// assert_eq!(parse_size("2GiB")?, 2 << 30);
/// assert_eq!(parse_size("64 MiB")?, 64 << 20);
/// assert_eq!(parse_size("1.5KB")?, 1500);
/// assert_eq!(parse_size("4096")?, 4096);
/// assert!(parse_size("lots").is_err());
/// # Ok::<(), omni_dbt_units::SizeError>(())
/// ```
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let fail = |kind| SizeError {
        input: text.to_owned(),
        kind,
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(fail(SizeErrorKind::InvalidNumber(trimmed.to_owned())));
    }
    let unit = unit.trim();
    let multiplier = if unit.is_empty() {
        1
    } else {
        let lower = unit.to_ascii_lowercase();
        UNITS
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|(_, size)| *size)
            .ok_or_else(|| fail(SizeErrorKind::UnknownUnit(unit.to_owned())))?
    };
    let invalid = || fail(SizeErrorKind::InvalidNumber(number.to_owned()));
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(invalid());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| fail(SizeErrorKind::TooLarge))?
    };
    // Digits past 19 are worth less than a byte of a TiB.
    let fraction = &fraction[..fraction.len().min(19)];
    let fraction_bytes = match u32::try_from(fraction.len()) {
        Ok(0) => 0,
        Ok(digits) => {
            fraction.parse::<u128>().map_err(|_| invalid())? * u128::from(multiplier)
                / 10u128.pow(digits)
        }
        Err(_) => return Err(invalid()),
    };
    whole
        .checked_mul(u128::from(multiplier))
        .and_then(|bytes| bytes.checked_add(fraction_bytes))
        .and_then(|bytes| u64::try_from(bytes).ok())
        .ok_or_else(|| fail(SizeErrorKind::TooLarge))
}

/// Writes a size in the grammar [`parse_size`] reads, exactly: in the largest of `TiB`, `GiB`,
/// `MiB`, `KiB` that holds it a whole number of times, else in bytes (`B`).
///
/// ```
/// use omni_dbt_units::format_size;
///
/// assert_eq!(format_size(2 << 30), "2GiB");
/// assert_eq!(format_size(1536), "1536B");
/// assert_eq!(format_size(0), "0B");
/// ```
pub fn format_size(bytes: u64) -> String {
    const BINARY: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    BINARY
        .into_iter()
        .find(|(size, _)| bytes != 0 && bytes % size == 0)
        .map(|(size, unit)| format!("{}{unit}", bytes / size))
        .unwrap_or_else(|| format!("{bytes}B"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units_binary_and_decimal() {
        for (text, expected) in [
            ("0", 0),
            ("17B", 17),
            ("1k", 1024),
            ("1KiB", 1024),
            ("1KB", 1000),
            ("3MiB", 3 << 20),
            ("3mb", 3_000_000),
            ("2GiB", 2 << 30),
            ("2G", 2 << 30),
            ("1TiB", 1 << 40),
            ("0.5KiB", 512),
            ("1.5 MiB", 3 << 19),
        ] {
            assert_eq!(parse_size(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_text_says_what_is_wrong() {
        let kind = |text: &str| parse_size(text).unwrap_err().kind().clone();
        assert_eq!(kind("lots"), SizeErrorKind::InvalidNumber("lots".into()));
        assert_eq!(
            kind("1.2.3MiB"),
            SizeErrorKind::InvalidNumber("1.2.3".into())
        );
        assert_eq!(
            kind("3 parsecs"),
            SizeErrorKind::UnknownUnit("parsecs".into())
        );
        assert_eq!(kind("20000000TiB"), SizeErrorKind::TooLarge);
        assert!(parse_size("x").unwrap_err().to_string().contains("2GiB"));
    }

    proptest! {
        #[test]
        fn any_size_round_trips(bytes in any::<u64>()) {
            prop_assert_eq!(parse_size(&format_size(bytes)), Ok(bytes));
        }
    }
}
