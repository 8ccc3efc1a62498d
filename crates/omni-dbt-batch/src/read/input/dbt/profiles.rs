//! Which outputs of a profiles.yml become rows: the selected profiles, their connections, the chosen targets, and each output's row number.
//!
//! Rows are numbered by the output's place among every output of the file, in file order,
//! whether or not its profile or target is selected: choosing other profiles or targets never
//! renumbers an output, so a results file stays valid for `--resume` (as with `--shard`, rows
//! that are not taken leave gaps).

use std::collections::HashMap;

use omni_dbt_core::ConnectionId;

use super::super::suggest::closest;
use super::error::DbtError;
use super::options::DbtOptions;
use super::yaml::{Entry, Node};

/// dbt's top-level settings block, which is not a profile.
const CONFIG_KEY: &str = "config";

/// An output to turn into a row.
pub(super) struct SelectedOutput<'a> {
    /// 1-based place among every output of the file.
    pub(super) row: u64,
    /// The profile's name.
    pub(super) profile: &'a str,
    /// The connection `--dbt-profile` gives the profile.
    pub(super) connection: ConnectionId,
    /// The output: its key is the target's name, its value the settings.
    pub(super) output: &'a Entry,
}

/// The outputs `options` select in `document`, in file order.
pub(super) fn select<'a>(
    document: Option<&'a Node>,
    options: &DbtOptions,
    file: &str,
) -> Result<Vec<SelectedOutput<'a>>, DbtError> {
    let profiles = profiles_of(document, file)?;
    let connections = connections(&profiles, options, file)?;
    let mut selected = Vec::new();
    let mut row = 0;
    for profile in &profiles {
        let connection = connections.get(profile.key.as_str()).copied();
        let outputs = match (outputs_of(profile), connection) {
            (Ok(outputs), _) => outputs,
            // An unselected profile's shape is not this run's business.
            (Err(_), None) => continue,
            (Err(line), Some(_)) => {
                return Err(DbtError::NoOutputs {
                    file: file.to_owned(),
                    line,
                    profile: profile.key.clone(),
                })
            }
        };
        for output in outputs {
            row += 1;
            let Some(connection) = connection else {
                continue;
            };
            let wanted = options.targets().is_empty() || options.targets().contains(&output.key);
            if wanted {
                selected.push(SelectedOutput {
                    row,
                    profile: &profile.key,
                    connection,
                    output,
                });
            }
        }
    }
    check_targets(&profiles, &connections, options, file)?;
    Ok(selected)
}

/// The profiles of the document (dbt's `config:` block left out).
fn profiles_of<'a>(document: Option<&'a Node>, file: &str) -> Result<Vec<&'a Entry>, DbtError> {
    let not_profiles = |line: u64, found: &str| DbtError::NotProfiles {
        file: file.to_owned(),
        line,
        found: found.to_owned(),
    };
    let document = document.ok_or_else(|| not_profiles(1, "an empty file"))?;
    let entries = document
        .entries()
        .ok_or_else(|| not_profiles(document.line, document.kind()))?;
    let profiles: Vec<&Entry> = entries.iter().filter(|e| e.key != CONFIG_KEY).collect();
    if profiles.is_empty() {
        return Err(not_profiles(document.line, "no profile"));
    }
    Ok(profiles)
}

/// A profile's outputs, or the line to name when it has none.
fn outputs_of(profile: &Entry) -> Result<&[Entry], u64> {
    let outputs = profile.value.get("outputs").ok_or(profile.line)?;
    outputs.value.entries().ok_or(outputs.line)
}

/// The connection of each selected profile, as `--dbt-profile` gives them.
fn connections<'a>(
    profiles: &[&'a Entry],
    options: &DbtOptions,
    file: &str,
) -> Result<HashMap<&'a str, ConnectionId>, DbtError> {
    let listed = || -> Vec<(String, u64)> {
        profiles
            .iter()
            .map(|profile| (profile.key.clone(), profile.line))
            .collect()
    };
    let given = options.profiles();
    if given.is_empty() {
        return Err(DbtError::NoProfileSelected {
            file: file.to_owned(),
            profiles: listed(),
        });
    }
    let mut connections = HashMap::new();
    for choice in given {
        let Some(name) = choice.profile() else {
            return match (given.len(), profiles) {
                (1, [only]) => Ok(HashMap::from([(only.key.as_str(), choice.connection())])),
                _ => Err(DbtError::BareProfile {
                    file: file.to_owned(),
                    profiles: listed(),
                    given: given.len(),
                }),
            };
        };
        let Some(profile) = profiles.iter().find(|p| p.key == name) else {
            let suggestion = closest(name, profiles.iter().map(|p| p.key.as_str()));
            let line = profiles
                .iter()
                .find(|p| Some(p.key.as_str()) == suggestion)
                .unwrap_or(&profiles[0])
                .line;
            return Err(DbtError::UnknownProfile {
                file: file.to_owned(),
                line,
                name: name.to_owned(),
                suggestion: suggestion.map(str::to_owned),
                profiles: listed(),
            });
        };
        if connections
            .insert(profile.key.as_str(), choice.connection())
            .is_some()
        {
            return Err(DbtError::ProfileTwice {
                name: name.to_owned(),
            });
        }
    }
    Ok(connections)
}

/// Every `--dbt-target` must name an output of a selected profile: a misspelt target would
/// otherwise select nothing, silently.
fn check_targets(
    profiles: &[&Entry],
    connections: &HashMap<&str, ConnectionId>,
    options: &DbtOptions,
    file: &str,
) -> Result<(), DbtError> {
    let outputs: Vec<&Entry> = profiles
        .iter()
        .filter(|profile| connections.contains_key(profile.key.as_str()))
        .filter_map(|profile| outputs_of(profile).ok())
        .flatten()
        .collect();
    for target in options.targets() {
        if outputs.iter().any(|output| &output.key == target) {
            continue;
        }
        let suggestion = closest(target, outputs.iter().map(|o| o.key.as_str()));
        return Err(DbtError::UnknownTarget {
            file: file.to_owned(),
            target: target.clone(),
            suggestion: suggestion.map(str::to_owned),
            outputs: outputs.iter().map(|o| (o.key.clone(), o.line)).collect(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::options::ProfileConnection;
    use super::super::yaml::parse;
    use super::*;

    const A: &str = "550e8400-e29b-41d4-a716-446655440000";
    const B: &str = "650e8400-e29b-41d4-a716-446655440000";

    const TWO_PROFILES: &str = "\
config:
  send_anonymous_usage_stats: false
finance:
  target: dev
  outputs:
    dev: {type: redshift, schema: f_dev}
    prod: {type: redshift, schema: f_prod}
product:
  outputs:
    dev: {type: redshift, schema: p_dev}
";

    fn id(text: &str) -> ConnectionId {
        text.parse().unwrap()
    }

    /// (row, profile, target, connection) of each selected output.
    fn chosen(
        text: &str,
        options: &DbtOptions,
    ) -> Result<Vec<(u64, String, String, String)>, DbtError> {
        let document = parse(text).unwrap();
        Ok(select(document.as_ref(), options, "p.yml")?
            .into_iter()
            .map(|s| {
                (
                    s.row,
                    s.profile.to_owned(),
                    s.output.key.clone(),
                    s.connection.to_string(),
                )
            })
            .collect())
    }

    fn named(profile: &str, connection: &str) -> ProfileConnection {
        ProfileConnection::named(profile, id(connection))
    }

    #[test]
    fn each_output_of_each_selected_profile_is_a_row_numbered_in_file_order() {
        let options = DbtOptions::default()
            .with_profile(named("product", B))
            .with_profile(named("finance", A));
        let rows = chosen(TWO_PROFILES, &options).unwrap();
        let expected = [
            (1, "finance", "dev", A),
            (2, "finance", "prod", A),
            (3, "product", "dev", B),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(r, p, t, c)| (*r, (*p).to_owned(), (*t).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(rows, expected);
    }

    #[test]
    fn unselected_profiles_and_targets_keep_their_row_numbers() {
        let options = DbtOptions::default()
            .with_profile(named("product", B))
            .with_target("dev");
        let rows = chosen(TWO_PROFILES, &options).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 3, "product.dev is the file's third output");
        let options = DbtOptions::default()
            .with_profile(named("finance", A))
            .with_target("prod");
        assert_eq!(chosen(TWO_PROFILES, &options).unwrap()[0].0, 2);
    }

    #[test]
    fn a_bare_connection_stands_for_the_only_profile() {
        let text = "config: {}\njaffle_shop:\n  outputs:\n    dev: {schema: s}\n";
        let options = DbtOptions::default().with_profile(ProfileConnection::only(id(A)));
        let rows = chosen(text, &options).unwrap();
        assert_eq!(rows[0].1, "jaffle_shop");
        let err = chosen(TWO_PROFILES, &options).err().unwrap();
        assert!(
            matches!(err, DbtError::BareProfile { given: 1, .. }),
            "{err}"
        );
        let mixed = options.with_profile(named("finance", B));
        let err = chosen(text, &mixed).err().unwrap();
        assert!(
            matches!(err, DbtError::BareProfile { given: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn no_selection_is_an_error_listing_the_profiles_but_not_config() {
        let err = chosen(TWO_PROFILES, &DbtOptions::default()).err().unwrap();
        assert_eq!(
            err,
            DbtError::NoProfileSelected {
                file: "p.yml".into(),
                profiles: vec![("finance".into(), 3), ("product".into(), 8)],
            }
        );
    }

    #[test]
    fn an_unknown_profile_points_at_the_closest_one() {
        let options = DbtOptions::default().with_profile(named("prodcut", A));
        let err = chosen(TWO_PROFILES, &options).err().unwrap();
        match err {
            DbtError::UnknownProfile {
                line, suggestion, ..
            } => assert_eq!((line, suggestion.as_deref()), (8, Some("product"))),
            other => panic!("{other}"),
        }
        let options = DbtOptions::default().with_profile(named("marketing", A));
        let err = chosen(TWO_PROFILES, &options).err().unwrap();
        assert!(err.to_string().starts_with("p.yml:3: "), "{err}");
    }

    #[test]
    fn a_profile_given_twice_is_refused() {
        let options = DbtOptions::default()
            .with_profile(named("finance", A))
            .with_profile(named("finance", B));
        let err = chosen(TWO_PROFILES, &options).err().unwrap();
        assert!(matches!(err, DbtError::ProfileTwice { .. }), "{err}");
    }

    #[test]
    fn a_target_that_matches_nothing_is_refused_with_a_suggestion() {
        let options = DbtOptions::default()
            .with_profile(named("finance", A))
            .with_target("porduction");
        assert!(chosen(TWO_PROFILES, &options).is_err());
        let options = DbtOptions::default()
            .with_profile(named("finance", A))
            .with_target("prd");
        match chosen(TWO_PROFILES, &options).err().unwrap() {
            DbtError::UnknownTarget {
                suggestion,
                outputs,
                ..
            } => {
                assert_eq!(suggestion.as_deref(), Some("prod"));
                assert_eq!(outputs, [("dev".to_owned(), 6), ("prod".to_owned(), 7)]);
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_selected_profile_without_outputs_is_refused_but_an_unselected_one_is_not() {
        let text = "broken: 42\nfine:\n  outputs:\n    dev: {schema: s}\n";
        let rows = chosen(text, &DbtOptions::default().with_profile(named("fine", A))).unwrap();
        assert_eq!(rows.len(), 1);
        let err = chosen(
            text,
            &DbtOptions::default().with_profile(named("broken", A)),
        )
        .err()
        .unwrap();
        assert!(
            err.to_string()
                .starts_with("p.yml:1: profile \"broken\" has no outputs"),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_is_not_a_mapping_of_profiles_is_refused() {
        let options = DbtOptions::default().with_profile(ProfileConnection::only(id(A)));
        for text in ["", "- a\n- b\n", "config: {}\n"] {
            let err = chosen(text, &options).err().unwrap();
            assert!(
                matches!(err, DbtError::NotProfiles { .. }),
                "{text:?}: {err}"
            );
        }
    }
}
