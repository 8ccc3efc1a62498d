//! `Listing`: one connection's environments as listed, found by name the way the run matches
//! names (trimmed, case-sensitive), with every environment kept for `--prune`.

use std::collections::HashMap;

use omni_dbt_core::{Environment, EnvironmentId};

/// The key a name is matched by: what rows and listed environments are compared on. Names are
/// sent as written and compared trimmed, in every phase alike.
pub(crate) fn name_key(name: &str) -> &str {
    name.trim()
}

/// A connection's environments: by name (the first listed of a name wins), and the later ones
/// of a repeated name, which a lookup by name never returns but a prune must still see.
#[derive(Clone, Debug, Default)]
pub(crate) struct Listing {
    by_name: HashMap<String, Environment>,
    shadowed: Vec<Environment>,
}

impl Listing {
    /// The environment named `name` (by [`name_key`]), the first listed if several are.
    pub(crate) fn get(&self, name: &str) -> Option<&Environment> {
        self.by_name.get(name_key(name))
    }

    /// Every environment listed, repeated names included, in no particular order.
    pub(crate) fn environments(&self) -> impl Iterator<Item = &Environment> {
        self.by_name.values().chain(&self.shadowed)
    }

    /// How many environments were listed.
    pub(crate) fn len(&self) -> usize {
        self.by_name.len() + self.shadowed.len()
    }

    /// Whether environment `id` was listed.
    pub(crate) fn contains(&self, id: &EnvironmentId) -> bool {
        self.environments().any(|environment| environment.id == *id)
    }
}

impl FromIterator<Environment> for Listing {
    fn from_iter<I: IntoIterator<Item = Environment>>(environments: I) -> Self {
        let mut listing = Listing::default();
        for environment in environments {
            let key = name_key(&environment.name);
            if listing.by_name.contains_key(key) {
                listing.shadowed.push(environment);
            } else {
                listing.by_name.insert(key.to_owned(), environment);
            }
        }
        listing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(id: u128, name: &str) -> Environment {
        Environment {
            id: EnvironmentId::new(uuid::Uuid::from_u128(id)),
            name: name.into(),
            is_default_environment: false,
            owner_id: None,
            target_database: None,
            target_name: None,
            target_role: None,
            target_schema: "s".into(),
            variables: Vec::new(),
        }
    }

    #[test]
    fn names_match_trimmed_and_the_first_of_a_repeated_name_wins_but_all_are_kept() {
        let listing: Listing = [
            environment(1, "dev"),
            environment(2, " dev "),
            environment(3, "prod"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            listing.get(" dev").map(|e| e.id),
            Some(environment(1, "").id)
        );
        assert_eq!(listing.len(), 3);
        assert!(listing.contains(&environment(2, "").id));
        assert_eq!(listing.environments().count(), 3);
        assert!(listing.get("Dev").is_none(), "case-sensitive");
    }
}
