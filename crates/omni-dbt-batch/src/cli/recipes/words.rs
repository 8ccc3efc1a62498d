//! A shell command line split into words as a POSIX shell would, with every expansion
//! (`$VAR`, `${VAR}`, `$(...)`, `$((...))`, GitHub's `${{ ... }}`, Kubernetes' `$(VAR)`)
//! replaced by a placeholder, up to the first operator that ends the command.

/// What an expansion stands for: `1` fits every place a recipe puts one (a shard number, a
/// key's suffix, a path component).
pub(super) const PLACEHOLDER: &str = "1";

/// The words of the command at the start of `line`, up to `;`, `&`, `|`, `>`, `<`, `)`, an
/// unquoted `#` starting a word, or the end. `Err` on an unterminated quote or expansion.
pub(super) fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => words.extend(word.take()),
            ';' | '&' | '|' | '>' | '<' | ')' => break,
            '#' if word.is_none() => break,
            '\'' => word
                .get_or_insert_with(String::new)
                .push_str(&single_quoted(&mut chars)?),
            '"' => word
                .get_or_insert_with(String::new)
                .push_str(&double_quoted(&mut chars)?),
            '\\' => {
                if let Some(escaped) = chars.next() {
                    word.get_or_insert_with(String::new).push(escaped);
                }
            }
            '$' => word
                .get_or_insert_with(String::new)
                .push_str(&expansion(&mut chars)?),
            other => word.get_or_insert_with(String::new).push(other),
        }
    }
    words.extend(word);
    Ok(words)
}

/// `item` with each expansion replaced by the placeholder: one word of an argument array,
/// which no shell splits (Kubernetes still expands `$(VAR)` in it).
pub(super) fn expand(item: &str) -> Result<String, String> {
    let mut text = String::new();
    let mut chars = item.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => text.push_str(&expansion(&mut chars)?),
            other => text.push(other),
        }
    }
    Ok(text)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn single_quoted(chars: &mut Chars<'_>) -> Result<String, String> {
    let mut text = String::new();
    for c in chars.by_ref() {
        if c == '\'' {
            return Ok(text);
        }
        text.push(c);
    }
    Err("unterminated '".into())
}

fn double_quoted(chars: &mut Chars<'_>) -> Result<String, String> {
    let mut text = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Ok(text),
            '\\' => match chars.next() {
                Some(escaped @ ('"' | '\\' | '$' | '`')) => text.push(escaped),
                Some(other) => {
                    text.push('\\');
                    text.push(other);
                }
                None => break,
            },
            '$' => text.push_str(&expansion(chars)?),
            other => text.push(other),
        }
    }
    Err("unterminated \"".into())
}

/// After a `$`: skips the expansion and returns the placeholder (a lone `$` stays `$`).
fn expansion(chars: &mut Chars<'_>) -> Result<String, String> {
    match chars.peek() {
        Some('{') | Some('(') => {
            skip_balanced(chars)?;
            Ok(PLACEHOLDER.to_owned())
        }
        Some(c) if c.is_ascii_alphanumeric() || *c == '_' => {
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                chars.next();
            }
            Ok(PLACEHOLDER.to_owned())
        }
        _ => Ok("$".to_owned()),
    }
}

/// Skips a bracketed span, nested brackets included: `{VAR}`, `(cmd)`, `((1 + 2))`, `{{ x }}`.
fn skip_balanced(chars: &mut Chars<'_>) -> Result<(), String> {
    let mut depth = 0usize;
    for c in chars.by_ref() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    Err("unterminated ${ or $(".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn quotes_escapes_and_expansions() {
        assert_eq!(
            words(r#"run "/in put.csv" --shard "${shard}/4" --token-env 'OMNI_KEY_$X' a\ b"#),
            [
                "run",
                "/in put.csv",
                "--shard",
                "1/4",
                "--token-env",
                "OMNI_KEY_$X",
                "a b"
            ]
        );
        assert_eq!(
            words("--shard $((JOB_COMPLETION_INDEX + 1))/4 --results /r/$(JOB_NAME).csv $HOME"),
            ["--shard", "1/4", "--results", "/r/1.csv", "1"]
        );
        assert_eq!(words("--shard ${{ matrix.shard }}/4"), ["--shard", "1/4"]);
    }

    #[test]
    fn the_command_ends_at_an_operator_or_a_comment() {
        assert_eq!(
            words("merge a b --out c | tee log"),
            ["merge", "a", "b", "--out", "c"]
        );
        assert_eq!(words("plan x; echo done"), ["plan", "x"]);
        assert_eq!(words("plan x # drift only"), ["plan", "x"]);
        assert_eq!(words("plan x#y"), ["plan", "x#y"]);
        assert_eq!(words("plan x)"), ["plan", "x"]);
    }

    #[test]
    fn an_array_item_is_one_word_with_its_expansions_replaced() {
        assert_eq!(
            expand("--results=/r/$(JOB_NAME) x.csv").unwrap(),
            "--results=/r/1 x.csv"
        );
    }

    #[test]
    fn an_unterminated_quote_is_an_error() {
        assert!(split("run \"x").is_err());
        assert!(split("run ${x").is_err());
    }
}
