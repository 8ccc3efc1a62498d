//! The known input fields and how a field is spelt in each input format.

use omni_dbt_core::NewEnvironment;

use super::Format;

/// A fixed (non-variable) field of an input row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    /// `connection_id` / `connectionId` (required).
    ConnectionId,
    /// `name` (required).
    Name,
    /// `target_schema` / `targetSchema` (required).
    TargetSchema,
    /// `target_database` / `targetDatabase`.
    TargetDatabase,
    /// `target_name` / `targetName`.
    TargetName,
    /// `target_role` / `targetRole`.
    TargetRole,
    /// `owner_id` / `ownerId`.
    OwnerId,
}

impl Field {
    /// Every fixed field, in the canonical column order.
    pub(crate) const ALL: [Field; 7] = [
        Field::ConnectionId,
        Field::Name,
        Field::TargetSchema,
        Field::TargetDatabase,
        Field::TargetName,
        Field::TargetRole,
        Field::OwnerId,
    ];

    /// The fields every input row must have.
    pub(crate) const REQUIRED: [Field; 3] = [Field::ConnectionId, Field::Name, Field::TargetSchema];

    /// The position of this field in [`Field::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The snake_case spelling (CSV's canonical column name).
    pub(crate) fn snake(self) -> &'static str {
        match self {
            Field::ConnectionId => "connection_id",
            Field::Name => "name",
            Field::TargetSchema => "target_schema",
            Field::TargetDatabase => "target_database",
            Field::TargetName => "target_name",
            Field::TargetRole => "target_role",
            Field::OwnerId => "owner_id",
        }
    }

    /// The camelCase spelling (the API's and JSONL's canonical key).
    pub(crate) fn camel(self) -> &'static str {
        match self {
            Field::ConnectionId => "connectionId",
            Field::Name => "name",
            Field::TargetSchema => "targetSchema",
            Field::TargetDatabase => "targetDatabase",
            Field::TargetName => "targetName",
            Field::TargetRole => "targetRole",
            Field::OwnerId => "ownerId",
        }
    }

    /// The canonical spelling in `format`.
    pub(crate) fn spelling(self, format: Format) -> &'static str {
        match format {
            Format::Csv => self.snake(),
            Format::Jsonl => self.camel(),
            Format::DbtProfiles => super::dbt::spelling(self),
        }
    }

    /// The field spelt exactly `text` in snake_case or camelCase.
    pub(crate) fn from_exact(text: &str) -> Option<Field> {
        Field::ALL
            .into_iter()
            .find(|f| f.snake() == text || f.camel() == text)
    }

    /// The field whose name matches `text` ignoring case and `_` (so `connection_id`,
    /// `connectionId` and `ConnectionID` all match `connection_id`).
    pub(crate) fn from_loose(text: &str) -> Option<Field> {
        let folded: String = text
            .chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Field::ALL
            .into_iter()
            .find(|f| f.camel().eq_ignore_ascii_case(&folded))
    }
}

/// The CSV column of a variable: `var:NAME` for plain ones, `secret:NAME` for secret ones.
pub(crate) fn variable_column(name: &str, secret: bool) -> String {
    if secret {
        format!("secret:{name}")
    } else {
        format!("var:{name}")
    }
}

/// Translates a field path of [`omni_dbt_core::validate()`] (camelCase, `variables[2].name`)
/// into the spelling of `format`: JSONL keeps the path; CSV names the column (`target_schema`,
/// `var:NAME` / `secret:NAME` for a variable of `env`); a dbt profile names the setting
/// (`schema`, `env_var('NAME')`).
pub(crate) fn input_spelling(format: Format, env: &NewEnvironment, core_field: &str) -> String {
    if format == Format::Jsonl {
        return core_field.to_owned();
    }
    if let Some(field) = Field::from_exact(core_field) {
        return field.spelling(format).to_owned();
    }
    variable_index(core_field)
        .and_then(|i| env.variables.as_ref()?.get(i))
        .map_or_else(
            || core_field.to_owned(),
            |v| match format {
                Format::DbtProfiles => format!("env_var('{}')", v.name),
                Format::Csv | Format::Jsonl => variable_column(&v.name, v.value.is_secret()),
            },
        )
}

/// `3` from `variables[3]...`.
fn variable_index(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("variables[")?;
    let end = rest.find(']')?;
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use omni_dbt_core::NewVariable;

    #[test]
    fn loose_matching_accepts_both_spellings() {
        for field in Field::ALL {
            assert_eq!(Field::from_loose(field.snake()), Some(field));
            assert_eq!(Field::from_loose(field.camel()), Some(field));
        }
        assert_eq!(Field::from_loose("ConnectionID"), Some(Field::ConnectionId));
        assert_eq!(Field::from_loose("schema"), None);
    }

    #[test]
    fn core_paths_become_csv_columns() {
        let env = NewEnvironment::new("n", "s")
            .with_variable(NewVariable::plain("A", "1"))
            .with_variable(NewVariable::secret("B", "2"));
        assert_eq!(
            input_spelling(Format::Csv, &env, "targetSchema"),
            "target_schema"
        );
        assert_eq!(
            input_spelling(Format::Csv, &env, "variables[1].name"),
            "secret:B"
        );
        assert_eq!(
            input_spelling(Format::Jsonl, &env, "variables[1].name"),
            "variables[1].name"
        );
    }
}
