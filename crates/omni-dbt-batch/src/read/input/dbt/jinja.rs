//! Rendering the one kind of Jinja a profile may hold here: `{{ env_var('NAME') }}` and `{{ env_var('NAME', 'default') }}`.
//!
//! dbt renders every value of a profile with Jinja; omni-dbt-batch renders only `env_var`, the
//! call that ties a profile to the environment it runs in, and refuses anything else (`{% %}`
//! statements, `{# #}` comments, other expressions) rather than guess what dbt would make of it.
//! Names and defaults may be quoted with `'` or `"`; a default may also be a number. dbt's
//! type casts (`| as_number`, `| int`, ...) are accepted and leave the text as it is: they
//! change what dbt passes to its adapter, not the text Omni would hold. A default written
//! `${env:NAME}` is read from the environment, like a variable value in CSV or JSONL.
//!
//! Messages never quote a value or the text of a refused expression beyond its leading name:
//! values may be secrets.

use std::fmt;

use super::super::secret_ref::{resolve, EnvLookup, RefError};

/// dbt's type-cast filters, and Jinja's own: they do not change the text.
const CASTS: [&str; 7] = [
    "as_text",
    "as_number",
    "as_bool",
    "as_native",
    "int",
    "float",
    "string",
];

/// A value with its `env_var` calls replaced.
pub(super) struct Rendered {
    /// The text dbt would see.
    pub(super) text: String,
    /// Each `env_var` call, in order: the variable and the value it gave.
    pub(super) uses: Vec<EnvVarUse>,
}

/// One `env_var('NAME')` call and the value it gave.
pub(super) struct EnvVarUse {
    /// The environment variable.
    pub(super) name: String,
    /// Its value in the runner's environment, else the call's default.
    pub(super) value: String,
}

/// Why a value cannot be rendered. Messages name variables, never values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum JinjaError {
    /// Jinja other than `env_var`: a description such as `{% ... %}` or `{{ target ... }}`.
    Unsupported(String),
    /// An `env_var` call that is not `env_var('NAME')` or `env_var('NAME', 'default')`.
    BadCall(&'static str),
    /// `{{` without its `}}`.
    Unclosed,
    /// `env_var('NAME')` without a default, and `NAME` is not set.
    Unset(String),
    /// The default of `env_var('NAME', '${env:OTHER}')` cannot be resolved.
    Reference(String, RefError),
}

impl fmt::Display for JinjaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(what) => write!(
                f,
                "{what} is Jinja that omni-dbt-batch does not render: only \
                 {{{{ env_var('NAME') }}}} and {{{{ env_var('NAME', 'default') }}}} are; write \
                 the value itself, or read it from the environment with env_var"
            ),
            Self::BadCall(why) => write!(
                f,
                "env_var takes a quoted variable name and an optional default, as in \
                 env_var('NAME') or env_var('NAME', 'default'): {why}"
            ),
            Self::Unclosed => f.write_str("{{ without its closing }}"),
            Self::Unset(name) => {
                write!(
                    f,
                    "env_var('{name}') has no default and {name} is not set (or not UTF-8): \
                     export {name} before running"
                )?;
                if !super::is_secret(name) {
                    write!(f, ", or give a default: env_var('{name}', 'value')")?;
                }
                Ok(())
            }
            Self::Reference(name, error) => {
                write!(f, "the default of env_var('{name}') {error}")
            }
        }
    }
}

/// Renders `text`: each `{{ env_var(...) }}` is replaced by the variable's value in `env`, or
/// by its default.
pub(super) fn render(text: &str, env: &EnvLookup) -> Result<Rendered, JinjaError> {
    let mut rendered = Rendered {
        text: String::with_capacity(text.len()),
        uses: Vec::new(),
    };
    let mut rest = text;
    while let Some(at) = find_open(rest) {
        rendered.text.push_str(&rest[..at]);
        let opened = &rest[at..];
        if opened.starts_with("{%") {
            return Err(JinjaError::Unsupported("{% ... %}".into()));
        }
        if opened.starts_with("{#") {
            return Err(JinjaError::Unsupported("{# ... #}".into()));
        }
        let mut cursor = Cursor::new(&opened[2..]);
        let call = cursor.env_var_call()?;
        let value = match (env.get(&call.name), call.default) {
            (Some(value), _) => value,
            (None, Some(default)) => {
                resolve(default, env).map_err(|e| JinjaError::Reference(call.name.clone(), e))?
            }
            (None, None) => return Err(JinjaError::Unset(call.name)),
        };
        rendered.text.push_str(&value);
        rendered.uses.push(EnvVarUse {
            name: call.name,
            value,
        });
        rest = cursor.rest;
    }
    rendered.text.push_str(rest);
    Ok(rendered)
}

/// Where the next `{{`, `{%` or `{#` starts.
fn find_open(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i] == b'{' && matches!(bytes[i + 1], b'{' | b'%' | b'#'))
}

struct Call {
    name: String,
    default: Option<String>,
}

/// Reads one expression after its `{{`, up to and including `}}`.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn new(rest: &'a str) -> Self {
        Self { rest }
    }

    fn env_var_call(&mut self) -> Result<Call, JinjaError> {
        self.skip_space();
        let function = self.identifier();
        if function != "env_var" {
            return Err(JinjaError::Unsupported(describe(function)));
        }
        self.skip_space();
        if !self.eat('(') {
            return Err(JinjaError::BadCall("it is not called: add ('NAME')"));
        }
        self.skip_space();
        let name = self
            .string()?
            .ok_or(JinjaError::BadCall("the name must be quoted"))?;
        if name.is_empty() {
            return Err(JinjaError::BadCall("the name is empty"));
        }
        self.skip_space();
        let default = if self.eat(',') {
            self.skip_space();
            let default = match self.string()? {
                Some(text) => text,
                None => self.number().ok_or(JinjaError::BadCall(
                    "the default must be quoted (or a number)",
                ))?,
            };
            self.skip_space();
            Some(default)
        } else {
            None
        };
        if !self.eat(')') {
            return Err(JinjaError::BadCall("it takes at most two arguments"));
        }
        self.filters()?;
        self.skip_space();
        match self.rest.strip_prefix("}}") {
            Some(rest) => {
                self.rest = rest;
                Ok(Call { name, default })
            }
            None if self.rest.contains("}}") => Err(JinjaError::Unsupported(
                "{{ env_var(...) followed by more than a type cast }}".into(),
            )),
            None => Err(JinjaError::Unclosed),
        }
    }

    /// `| as_number` and the like: accepted, and they do not change the text.
    fn filters(&mut self) -> Result<(), JinjaError> {
        loop {
            self.skip_space();
            if !self.eat('|') {
                return Ok(());
            }
            self.skip_space();
            let filter = self.identifier();
            if !CASTS.contains(&filter) {
                return Err(JinjaError::Unsupported(format!(
                    "the filter | {}",
                    if filter.is_empty() { "..." } else { filter }
                )));
            }
        }
    }

    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// A Jinja name (`env_var`, `target.name`), possibly empty.
    fn identifier(&mut self) -> &'a str {
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(self.rest.len());
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        name
    }

    /// A quoted string with Python's common escapes; `None` if no quote starts here.
    fn string(&mut self) -> Result<Option<String>, JinjaError> {
        let Some(quote) = self.rest.chars().next().filter(|c| matches!(c, '\'' | '"')) else {
            return Ok(None);
        };
        let mut text = String::new();
        let mut chars = self.rest[1..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some(e @ ('\\' | '\'' | '"')) => text.push(e),
                    Some(e) => {
                        text.push('\\');
                        text.push(e);
                    }
                    None => break,
                },
                c if c == quote => {
                    self.rest = &self.rest[1 + i + c.len_utf8()..];
                    return Ok(Some(text));
                }
                c => text.push(c),
            }
        }
        Err(JinjaError::BadCall("a quoted string is not closed"))
    }

    /// An unquoted number (`4`, `-1`, `0.5`), as written.
    fn number(&mut self) -> Option<String> {
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.')))
            .unwrap_or(self.rest.len());
        let (number, rest) = self.rest.split_at(end);
        if number.is_empty() || !number.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        self.rest = rest;
        Some(number.to_owned())
    }
}

/// How a refused expression is named: by its leading name only, never its arguments.
fn describe(function: &str) -> String {
    let name: String = function.chars().take(40).collect();
    if name.is_empty() {
        "{{ ... }}".to_owned()
    } else {
        format!("{{{{ {name} ... }}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> EnvLookup {
        EnvLookup::from_pairs([("DBT_USER", "alice"), ("DBT_ENV_SECRET_PW", "s3cr3t")])
    }

    fn ok(text: &str) -> Rendered {
        render(text, &env()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> JinjaError {
        render(text, &env()).err().unwrap()
    }

    #[test]
    fn text_without_jinja_is_unchanged() {
        let rendered = ok("dbt_{alice}_x}");
        assert_eq!(rendered.text, "dbt_{alice}_x}");
        assert!(rendered.uses.is_empty());
    }

    #[test]
    fn env_var_reads_the_environment_in_either_quote_style() {
        for text in [
            "{{ env_var('DBT_USER') }}",
            "{{env_var(\"DBT_USER\")}}",
            "{{  env_var ( 'DBT_USER' , 'bob' )  }}",
        ] {
            let rendered = ok(text);
            assert_eq!(rendered.text, "alice", "{text}");
            assert_eq!(rendered.uses[0].name, "DBT_USER");
        }
    }

    #[test]
    fn env_var_is_replaced_inside_surrounding_text() {
        let rendered = ok("dbt_{{ env_var('DBT_USER') }}_{{ env_var('DBT_ENV_SECRET_PW') }}");
        assert_eq!(rendered.text, "dbt_alice_s3cr3t");
        let names: Vec<&str> = rendered.uses.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["DBT_USER", "DBT_ENV_SECRET_PW"]);
    }

    #[test]
    fn an_unset_variable_takes_its_default_in_either_quote_style() {
        assert_eq!(ok("{{ env_var('NOPE', 'dev') }}").text, "dev");
        assert_eq!(ok("{{ env_var(\"NOPE\", \"it's\") }}").text, "it's");
        assert_eq!(ok("{{ env_var('NOPE', 'say \\'hi\\'') }}").text, "say 'hi'");
        assert_eq!(ok("{{ env_var('NOPE', '') }}").text, "");
        assert_eq!(ok("{{ env_var('NOPE', 4) | int }}").text, "4");
        assert_eq!(ok("{{ env_var('NOPE', '}}') }}").text, "}}");
        let rendered = ok("{{ env_var('NOPE', 'dev') }}");
        assert_eq!(
            (
                rendered.uses[0].name.as_str(),
                rendered.uses[0].value.as_str()
            ),
            ("NOPE", "dev")
        );
    }

    #[test]
    fn a_default_may_be_an_environment_reference() {
        assert_eq!(ok("{{ env_var('NOPE', '${env:DBT_USER}') }}").text, "alice");
        assert_eq!(
            ok("{{ env_var('NOPE', '$${env:DBT_USER}') }}").text,
            "${env:DBT_USER}"
        );
        let error = err("{{ env_var('NOPE', '${env:ALSO_UNSET}') }}");
        assert!(matches!(error, JinjaError::Reference(ref name, _) if name == "NOPE"));
        assert!(error.to_string().contains("ALSO_UNSET"), "{error}");
    }

    #[test]
    fn an_unset_variable_without_default_is_named() {
        let error = err("{{ env_var('MISSING_X') }}");
        assert_eq!(error, JinjaError::Unset("MISSING_X".into()));
        let message = error.to_string();
        assert!(message.contains("export MISSING_X"), "{message}");
        assert!(message.contains("give a default"), "{message}");
        let secret = err("{{ env_var('DBT_ENV_SECRET_MISSING') }}").to_string();
        assert!(
            !secret.contains("give a default"),
            "no default for secrets: {secret}"
        );
    }

    #[test]
    fn type_casts_are_accepted_and_other_filters_refused() {
        assert_eq!(ok("{{ env_var('NOPE', '5432') | as_number }}").text, "5432");
        assert_eq!(
            ok("{{ env_var('DBT_USER') | string | as_text }}").text,
            "alice"
        );
        let error = err("{{ env_var('DBT_USER') | upper }}");
        assert_eq!(error, JinjaError::Unsupported("the filter | upper".into()));
    }

    #[test]
    fn other_jinja_is_refused_naming_only_its_leading_name() {
        assert_eq!(
            err("{{ target.name }}"),
            JinjaError::Unsupported("{{ target.name ... }}".into())
        );
        assert_eq!(
            err("x {% if true %}y{% endif %}"),
            JinjaError::Unsupported("{% ... %}".into())
        );
        assert_eq!(
            err("{# note #}"),
            JinjaError::Unsupported("{# ... #}".into())
        );
        let literal = err("{{ 'hunter2' }}");
        assert_eq!(literal, JinjaError::Unsupported("{{ ... }}".into()));
        assert!(!literal.to_string().contains("hunter2"));
        assert!(matches!(
            err("{{ env_var('DBT_USER') ~ 'x' }}"),
            JinjaError::Unsupported(_)
        ));
    }

    #[test]
    fn malformed_env_var_calls_say_how_to_write_them() {
        for text in [
            "{{ env_var }}",
            "{{ env_var(DBT_USER) }}",
            "{{ env_var('') }}",
            "{{ env_var('A', 'b', 'c') }}",
            "{{ env_var('A', b) }}",
            "{{ env_var('A) }}",
        ] {
            let error = err(text);
            assert!(matches!(error, JinjaError::BadCall(_)), "{text}: {error:?}");
            assert!(error.to_string().contains("env_var('NAME')"), "{text}");
        }
        assert_eq!(err("{{ env_var('DBT_USER')"), JinjaError::Unclosed);
    }
}
