//! The fault spec grammar: [`FaultConfig`] from and to its text form.

use std::fmt;
use std::str::FromStr;

use omni_dbt_units::{format_duration, format_size, parse_duration, parse_size};

use super::kind::{ErrorStatus, Fault, FaultKind, RedirectStatus};
use super::{FaultConfig, FaultRule, FaultSpecError, Latency, LatencyRule, MethodScope};
use crate::method::ApiMethod;

impl FromStr for FaultConfig {
    type Err = FaultSpecError;

    /// Parses the grammar of the [module documentation](crate::faults).
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
    let (probability, argument) = match right.split_once(':') {
        Some((p, a)) => (p.trim(), Some(a.trim())),
        None => (right.trim(), None),
    };
    let probability = parse_probability(probability)
        .ok_or_else(|| fail("expected a probability like `0.05` or `5%`"))?;
    let kind = FaultKind::from_name(&name).ok_or_else(|| {
        let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
        fail(&format!(
            "unknown fault (expected {} or latency)",
            names.join(", ")
        ))
    })?;
    let fault = match kind {
        FaultKind::CommitSlow => {
            let text = argument
                .ok_or_else(|| fail(&format!("{kind} needs a duration: `{kind}=0.01:35s`")))?;
            Fault::CommitThenSlow(
                parse_duration(text).map_err(|e| fail(&format!("after `:`, {e}")))?,
            )
        }
        FaultKind::HugeBody | FaultKind::Huge502 => {
            let text =
                argument.ok_or_else(|| fail(&format!("{kind} needs a size: `{kind}=1:2GiB`")))?;
            let size = parse_size(text).map_err(|e| fail(&format!("after `:`, {e}")))?;
            if kind == FaultKind::Huge502 {
                Fault::HugeErrorPage(size)
            } else {
                Fault::HugeBody(size)
            }
        }
        _ if argument.is_some() => {
            return Err(fail(&format!(
                "{kind} takes nothing after its probability (only commit-slow, huge-body and huge-502 take an argument)"
            )));
        }
        _ => simple_fault(kind).ok_or_else(|| fail(&format!("{kind} needs an argument")))?,
    };
    Ok(config.with_fault(scope, fault, probability))
}

/// The fault of a kind that takes no argument (`None` for those that take one).
fn simple_fault(kind: FaultKind) -> Option<Fault> {
    use ErrorStatus::*;
    use RedirectStatus::*;
    Some(match kind {
        FaultKind::Status500 => Fault::Status(InternalServerError),
        FaultKind::Status502 => Fault::Status(BadGateway),
        FaultKind::Status503 => Fault::Status(ServiceUnavailable),
        FaultKind::TooManyRequests => Fault::TooManyRequests,
        FaultKind::Drop => Fault::Drop,
        FaultKind::Redirect301 => Fault::Redirect(MovedPermanently),
        FaultKind::Redirect302 => Fault::Redirect(Found),
        FaultKind::Redirect307 => Fault::Redirect(TemporaryRedirect),
        FaultKind::Redirect308 => Fault::Redirect(PermanentRedirect),
        FaultKind::Endless502 => Fault::EndlessErrorPage,
        FaultKind::Commit500 => Fault::CommitThenStatus(InternalServerError),
        FaultKind::Commit502 => Fault::CommitThenStatus(BadGateway),
        FaultKind::Commit503 => Fault::CommitThenStatus(ServiceUnavailable),
        FaultKind::CommitDrop => Fault::CommitThenDrop,
        FaultKind::CommitHtml => Fault::CommitThenHtml,
        FaultKind::CommitNoId => Fault::CommitThenNoId,
        FaultKind::EndlessBody => Fault::EndlessBody,
        FaultKind::EndlessPages => Fault::EndlessPages,
        FaultKind::FloatPageInfo => Fault::FloatPageInfo,
        FaultKind::CommitSlow | FaultKind::HugeBody | FaultKind::Huge502 => return None,
    })
}

fn parse_scope(method: &str) -> Option<MethodScope> {
    if method.eq_ignore_ascii_case("all") {
        Some(MethodScope::All)
    } else {
        ApiMethod::parse(method).map(MethodScope::Only)
    }
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

/// One fault entry in the grammar.
pub(super) fn entry_text(rule: &FaultRule) -> String {
    let prefix = scope_prefix(rule.scope);
    let kind = rule.fault.kind();
    let argument = match rule.fault {
        Fault::CommitThenSlow(d) => format!(":{}", format_duration(d)),
        Fault::HugeBody(size) | Fault::HugeErrorPage(size) => format!(":{}", format_size(size)),
        _ => String::new(),
    };
    format!("{prefix}{kind}={}{argument}", rule.probability)
}

/// One latency entry in the grammar.
pub(super) fn latency_text(rule: &LatencyRule) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    pub(crate) const EXAMPLE: &str = "500=0.1,502=0.05,503=0.05,429=0.05,drop=0.02,commit-500=0.03,commit-drop=0.02,commit-slow=0.01:35s,latency=50ms,latency=10ms..80ms";

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
    fn the_help_example_parses() {
        let example = super::super::SPEC_HELP
            .lines()
            .find_map(|line| line.strip_prefix("Example: "))
            .unwrap();
        assert!(example.parse::<FaultConfig>().is_ok(), "{example}");
    }

    #[test]
    fn every_new_fault_parses_and_round_trips() {
        let spec = "redirect-301=0.01,redirect-302=0.01,redirect-307=0.01,redirect-308=0.01,huge-502=0.01:2GiB,endless-502=0.01,commit-html=0.01,post:commit-no-id=0.01,huge-body=0.01:64MiB,endless-body=0.01,get:endless-pages=0.01,float-page-info=0.01";
        let config: FaultConfig = spec.parse().unwrap();
        assert_eq!(config.to_string(), spec);
        let faults: Vec<Fault> = config.rules().iter().map(|r| r.fault).collect();
        assert!(faults.contains(&Fault::HugeErrorPage(2 << 30)));
        assert!(faults.contains(&Fault::HugeBody(64 << 20)));
        assert!(faults.contains(&Fault::Redirect(RedirectStatus::TemporaryRedirect)));
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
            ("huge-body=1", "needs a size"),
            ("huge-502=1:lots", "invalid size"),
            ("commit-slow=1:soon", "invalid duration"),
            ("post:endless-pages=1", "cannot strike POST"),
            ("delete:commit-no-id=1", "cannot strike DELETE"),
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

    #[test]
    fn faults_that_cannot_strike_a_method_do_not_count_towards_its_total() {
        // Lists get 0.6 + 0.6 here, but only 0.6 applies to creates: valid for neither.
        assert!("endless-pages=0.6,500=0.6".parse::<FaultConfig>().is_err());
        // 0.9 for lists, 0.5 for creates.
        assert!("get:endless-pages=0.4,500=0.5"
            .parse::<FaultConfig>()
            .is_ok());
        assert!("commit-no-id=0.6,get:500=0.6"
            .parse::<FaultConfig>()
            .is_ok());
    }
}
