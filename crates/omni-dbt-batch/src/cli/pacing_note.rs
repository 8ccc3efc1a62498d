//! The part of a progress line that says how the keys are paced: which key 429s slowed, and
//! what the run is waiting for (a `Retry-After`, a long backoff) until when.

use std::time::{SystemTime, UNIX_EPOCH};

use omni_dbt_batch::KeyPacing;

/// What to add to a progress line about `keys`, if anything is worth saying: `key OMNI_KEY_2
/// slowed to 41/min`, `waiting for Retry-After until 10:42:07 UTC`, `retrying after a backoff
/// until 10:42:07 UTC`, joined by ` · `.
pub(super) fn pacing_note(keys: &[KeyPacing]) -> Option<String> {
    let mut notes = Vec::new();
    let name = |key: &KeyPacing| {
        if keys.len() > 1 {
            format!(" on {}", key.label)
        } else {
            String::new()
        }
    };
    for key in keys {
        let status = &key.status;
        if let Some(until) = status.paused_until {
            notes.push(format!(
                "waiting for Retry-After{} until {}",
                name(key),
                clock(until)
            ));
        } else if let Some(until) = status.backoff_until {
            notes.push(format!(
                "retrying after a backoff{} until {}",
                name(key),
                clock(until)
            ));
        }
        if status.slowed {
            if let Some(pace) = status.pace_per_minute {
                notes.push(format!(
                    "key {} slowed to {}/min",
                    key.label,
                    per_minute(pace)
                ));
            }
        }
    }
    (!notes.is_empty()).then(|| notes.join(" · "))
}

/// A pace for people: whole requests per minute, or one decimal below 10.
fn per_minute(pace: f64) -> String {
    if pace < 10.0 {
        format!("{pace:.1}")
    } else {
        format!("{pace:.0}")
    }
}

/// `HH:MM:SS UTC` of `time` (UTC, so that runners in any time zone and their logs agree).
fn clock(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
        % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use omni_dbt_core::KeyLimiter;

    use super::*;

    /// A key's pacing as a fresh limiter reports it, with the fields a test sets.
    fn key(label: &str, edit: impl FnOnce(&mut omni_dbt_core::KeyStatus)) -> KeyPacing {
        let mut status = KeyLimiter::new("600/min".parse().unwrap()).status();
        edit(&mut status);
        KeyPacing {
            label: label.into(),
            status,
        }
    }

    fn at(hours: u64, minutes: u64, seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(19_000 * 86_400 + hours * 3600 + minutes * 60 + seconds)
    }

    #[test]
    fn nothing_is_said_of_keys_at_their_ceiling() {
        assert_eq!(pacing_note(&[key("OMNI_API_TOKEN", |_| {})]), None);
    }

    #[test]
    fn a_slowed_key_is_named_with_its_pace() {
        let keys = [
            key("OMNI_KEY_1", |_| {}),
            key("OMNI_KEY_2", |s| {
                s.slowed = true;
                s.pace_per_minute = Some(41.3);
            }),
        ];
        assert_eq!(
            pacing_note(&keys).as_deref(),
            Some("key OMNI_KEY_2 slowed to 41/min")
        );
    }

    #[test]
    fn a_pause_and_a_backoff_say_until_when() {
        let paused = key("OMNI_API_TOKEN", |s| {
            s.paused_for = Some(Duration::from_secs(30));
            s.paused_until = Some(at(10, 42, 7));
            s.slowed = true;
            s.pace_per_minute = Some(4.25);
        });
        assert_eq!(
            pacing_note(&[paused]).as_deref(),
            Some(
                "waiting for Retry-After until 10:42:07 UTC · key OMNI_API_TOKEN slowed to 4.2/min"
            )
        );
        let keys = [
            key("OMNI_KEY_1", |s| s.backoff_until = Some(at(9, 5, 0))),
            key("OMNI_KEY_2", |_| {}),
        ];
        assert_eq!(
            pacing_note(&keys).as_deref(),
            Some("retrying after a backoff on OMNI_KEY_1 until 09:05:00 UTC")
        );
    }
}
