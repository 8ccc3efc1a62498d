//! Where Omni CLI keeps its config file, found the way Omni's own CLI finds it.

use std::ffi::OsString;
use std::path::PathBuf;

use super::VarLookup;

/// The file Omni CLI reads, and the variable that chose it (for messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::cli) struct ConfigLocation {
    /// The config file.
    pub path: PathBuf,
    /// How it was found: `OMNI_CONFIG_PATH`, `OMNI_CONFIG_DIR`, `XDG_CONFIG_HOME`, ...
    pub chosen_by: &'static str,
}

/// `OMNI_CONFIG_PATH`; else `OMNI_CONFIG_DIR/config.json`; else `omni-cli/config.json` under
/// `XDG_CONFIG_HOME`, Windows' `APPDATA`, or `~/.config`. An empty variable counts as unset, as
/// in Omni's CLI. `None` when not even a home directory is known.
pub(in crate::cli) fn locate(vars: VarLookup<'_>) -> Option<ConfigLocation> {
    let set = |name: &str| vars(name).filter(|value| !value.is_empty());
    if let Some(path) = set("OMNI_CONFIG_PATH") {
        return Some(at(PathBuf::from(path), "OMNI_CONFIG_PATH"));
    }
    if let Some(dir) = set("OMNI_CONFIG_DIR") {
        return Some(at(
            PathBuf::from(dir).join("config.json"),
            "OMNI_CONFIG_DIR",
        ));
    }
    let (base, chosen_by) = config_home(&set)?;
    Some(at(base.join("omni-cli").join("config.json"), chosen_by))
}

fn at(path: PathBuf, chosen_by: &'static str) -> ConfigLocation {
    ConfigLocation { path, chosen_by }
}

/// The user's configuration directory, as Omni's CLI picks it.
fn config_home(set: &dyn Fn(&str) -> Option<OsString>) -> Option<(PathBuf, &'static str)> {
    if let Some(dir) = set("XDG_CONFIG_HOME") {
        return Some((PathBuf::from(dir), "XDG_CONFIG_HOME"));
    }
    if cfg!(windows) {
        if let Some(dir) = set("APPDATA") {
            return Some((PathBuf::from(dir), "APPDATA"));
        }
    }
    let home = set("HOME").or_else(|| set("USERPROFILE"))?;
    Some((PathBuf::from(home).join(".config"), "HOME"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn located(vars: &[(&str, &str)]) -> Option<ConfigLocation> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        locate(&|name| vars.get(name).cloned())
    }

    #[test]
    fn omni_config_path_wins_over_every_directory() {
        let found = located(&[
            ("OMNI_CONFIG_PATH", "/etc/omni.json"),
            ("OMNI_CONFIG_DIR", "/d"),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/home/a"),
        ]);
        assert_eq!(found, Some(at("/etc/omni.json".into(), "OMNI_CONFIG_PATH")));
    }

    #[test]
    fn omni_config_dir_holds_config_json() {
        let found = located(&[("OMNI_CONFIG_DIR", "/d"), ("XDG_CONFIG_HOME", "/x")]);
        assert_eq!(found, Some(at("/d/config.json".into(), "OMNI_CONFIG_DIR")));
    }

    #[test]
    fn xdg_config_home_then_home_dot_config() {
        let xdg = located(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/home/a")]);
        assert_eq!(
            xdg,
            Some(at("/x/omni-cli/config.json".into(), "XDG_CONFIG_HOME"))
        );
        let home = located(&[("HOME", "/home/a")]);
        assert_eq!(
            home.map(|l| l.path),
            Some(PathBuf::from("/home/a/.config/omni-cli/config.json"))
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let found = located(&[
            ("OMNI_CONFIG_PATH", ""),
            ("OMNI_CONFIG_DIR", ""),
            ("XDG_CONFIG_HOME", ""),
            ("HOME", "/home/a"),
        ]);
        assert_eq!(found.map(|l| l.chosen_by), Some("HOME"));
    }

    #[test]
    fn nowhere_without_a_home() {
        assert_eq!(located(&[]), None);
    }
}
