//! The duration syntax shared by the fault spec and the rate limit: `250ms`, `1.5s`, `2m`.

use std::time::Duration;

/// Parses `<number><unit>` with unit `ms`, `s` or `m` (a decimal number is allowed).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit_secs) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    let value: f64 = number.trim().parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(value * unit_secs).ok()
}

/// Writes a duration in the syntax [`parse_duration`] reads back.
pub(crate) fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if duration.subsec_nanos() % 1_000_000 == 0 {
        if millis % 1000 == 0 {
            format!("{}s", millis / 1000)
        } else {
            format!("{millis}ms")
        }
    } else {
        format!("{}ms", duration.as_secs_f64() * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit_and_decimals() {
        assert_eq!(parse_duration("50ms"), Some(Duration::from_millis(50)));
        assert_eq!(parse_duration("35s"), Some(Duration::from_secs(35)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("xs"), None);
    }

    #[test]
    fn formatting_round_trips() {
        for text in ["50ms", "35s", "1500ms", "0s"] {
            let parsed = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(parsed)), Some(parsed));
        }
    }
}
