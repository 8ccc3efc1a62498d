//! YAML text to a small tree in which every value and key knows its line.
//!
//! A profiles.yml needs little of YAML's type system: every setting this tool maps is text, so
//! scalars stay as written (`5432` is the text `5432`) and only the plain nulls (`~`, `null`,
//! an empty value) are told apart. What it does need is positions, so that every problem names
//! its line, and what dbt's own loader (PyYAML) accepts in real profiles: anchors and aliases
//! (bounded, so a few nested aliases cannot expand into millions of nodes) and merge keys
//! (`<<: *defaults`), where keys written in the mapping win over merged ones. A key written
//! twice in one mapping is an error, where PyYAML would silently keep the last.
//!
//! Scalar text is kept out of `Debug` output: values may be secrets written in the file.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

/// Values (aliases expanded) a file may hold before it is refused.
const NODE_BUDGET: usize = 100_000;
/// Collections nested deeper than this are refused: nothing in a profile is this deep, and a
/// bounded depth keeps every walk of the tree within the stack.
const MAX_DEPTH: usize = 64;

/// A value and the 1-based line where it starts.
#[derive(Clone)]
pub(super) struct Node {
    /// 1-based line of the value's first character.
    pub(super) line: u64,
    /// The value.
    pub(super) value: Value,
}

/// A YAML value, scalars kept as text.
#[derive(Clone)]
pub(super) enum Value {
    /// `~`, `null` or nothing at all.
    Null,
    /// Any other scalar, as written (quotes removed, escapes applied).
    Text(String),
    /// A mapping, in file order, merge keys applied.
    Mapping(Vec<Entry>),
    /// A sequence.
    Sequence(Vec<Node>),
}

/// One key of a mapping with its value.
#[derive(Clone)]
pub(super) struct Entry {
    /// The key's text.
    pub(super) key: String,
    /// 1-based line of the key.
    pub(super) line: u64,
    /// The value.
    pub(super) value: Node,
}

impl Node {
    /// The entries of a mapping; `None` for anything else.
    pub(super) fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub(super) fn get(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|entry| entry.key == key)
    }

    /// What kind of value this is, for messages ("a list", "text"...).
    pub(super) fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Text(_) => "text",
            Value::Mapping(_) => "a mapping",
            Value::Sequence(_) => "a list",
        }
    }

    fn size(&self) -> usize {
        1 + match &self.value {
            Value::Null | Value::Text(_) => 0,
            Value::Mapping(entries) => entries.iter().map(|e| e.value.size()).sum(),
            Value::Sequence(items) => items.iter().map(Node::size).sum(),
        }
    }
}

/// Why the text is not YAML this reader accepts, and the line where that shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct YamlError {
    /// 1-based line.
    pub(super) line: u64,
    /// What is wrong.
    pub(super) message: String,
}

impl YamlError {
    fn new(line: u64, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl From<ScanError> for YamlError {
    fn from(error: ScanError) -> Self {
        Self::new(error.marker().line() as u64, error.info())
    }
}

/// Parses one YAML document; `Ok(None)` when the text holds none (empty, or only comments).
pub(super) fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event?;
        if builder.on_event(event, span)? == Flow::Done {
            break;
        }
    }
    Ok(builder.root)
}

#[derive(PartialEq, Eq)]
enum Flow {
    More,
    Done,
}

/// Builds the tree from parser events with an explicit stack (no recursion on input depth).
#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
    documents: u32,
}

enum Frame {
    Sequence {
        anchor: usize,
        line: u64,
        items: Vec<Node>,
    },
    Mapping {
        anchor: usize,
        line: u64,
        items: Vec<Item>,
        key: Option<Key>,
    },
}

/// What a mapping holds before its merge keys are applied.
enum Item {
    Entry(Entry),
    /// The value of a `<<` key, with the line of that key.
    Merge(u64, Node),
}

enum Key {
    Text(String, u64),
    Merge(u64),
}

impl Builder {
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<Flow, YamlError> {
        let line = span.start.line() as u64;
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(YamlError::new(
                        line,
                        "a second YAML document starts here: a profiles.yml holds one \
                         (remove the `---` line or split the file)",
                    ));
                }
            }
            Event::StreamEnd => return Ok(Flow::Done),
            Event::Scalar(text, style, anchor, _) => {
                let merge_key = style == ScalarStyle::Plain && text == "<<" && self.wants_key();
                let value = match (style, text.as_ref()) {
                    (ScalarStyle::Plain, "" | "~" | "null" | "Null" | "NULL") => Value::Null,
                    _ => Value::Text(text.into_owned()),
                };
                self.count(1, line)?;
                self.complete(Node { line, value }, anchor, merge_key)?;
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| {
                    YamlError::new(line, "this alias refers to a value that contains it")
                })?;
                self.count(node.size(), line)?;
                self.complete(node, 0, false)?;
            }
            Event::SequenceStart(anchor, _) => self.open(
                Frame::Sequence {
                    anchor,
                    line,
                    items: Vec::new(),
                },
                line,
            )?,
            Event::MappingStart(anchor, _) => self.open(
                Frame::Mapping {
                    anchor,
                    line,
                    items: Vec::new(),
                    key: None,
                },
                line,
            )?,
            Event::SequenceEnd | Event::MappingEnd => self.close()?,
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
        }
        Ok(Flow::More)
    }

    /// Whether the next value completes a mapping key.
    fn wants_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }))
    }

    fn count(&mut self, nodes: usize, line: u64) -> Result<(), YamlError> {
        self.nodes += nodes;
        if self.nodes > NODE_BUDGET {
            return Err(YamlError::new(
                line,
                format!(
                    "the file expands to more than {NODE_BUDGET} values (aliases included); \
                     a profiles.yml is far smaller"
                ),
            ));
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame, line: u64) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError::new(
                line,
                format!("values are nested more than {MAX_DEPTH} deep here"),
            ));
        }
        self.count(1, line)?;
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self) -> Result<(), YamlError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let (node, anchor) = match frame {
            Frame::Sequence {
                anchor,
                line,
                items,
            } => (
                Node {
                    line,
                    value: Value::Sequence(items),
                },
                anchor,
            ),
            Frame::Mapping {
                anchor,
                line,
                items,
                ..
            } => (
                Node {
                    line,
                    value: Value::Mapping(merge(items)?),
                },
                anchor,
            ),
        };
        self.complete(node, anchor, false)
    }

    /// Places a finished value: as a key, a mapping's value, a list item, or the document.
    fn complete(&mut self, node: Node, anchor: usize, merge_key: bool) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping { items, key, .. }) => match key.take() {
                None if merge_key => *key = Some(Key::Merge(node.line)),
                None => {
                    let (text, line) = key_text(node)?;
                    *key = Some(Key::Text(text, line));
                }
                Some(Key::Merge(line)) => items.push(Item::Merge(line, node)),
                Some(Key::Text(text, line)) => {
                    if let Some(first) = items.iter().find_map(|item| match item {
                        Item::Entry(entry) if entry.key == text => Some(entry.line),
                        _ => None,
                    }) {
                        return Err(YamlError::new(
                            line,
                            format!(
                                "key {text:?} appears twice in this mapping (first on line \
                                 {first}); keep one"
                            ),
                        ));
                    }
                    items.push(Item::Entry(Entry {
                        key: text,
                        line,
                        value: node,
                    }));
                }
            },
        }
        Ok(())
    }
}

/// The text of a key and its line; keys that are mappings or lists are refused.
fn key_text(node: Node) -> Result<(String, u64), YamlError> {
    match node.value {
        Value::Text(text) => Ok((text, node.line)),
        Value::Null => Ok((String::new(), node.line)),
        Value::Mapping(_) | Value::Sequence(_) => Err(YamlError::new(
            node.line,
            "a key here is a mapping or a list; keys are names. If this is Jinja, quote it: \
             schema: \"{{ env_var('DBT_SCHEMA') }}\"",
        )),
    }
}

/// A mapping's entries with its merge keys applied: keys written in the mapping win, then
/// earlier merges over later ones; merged keys take the place of their `<<`.
fn merge(items: Vec<Item>) -> Result<Vec<Entry>, YamlError> {
    if !items.iter().any(|item| matches!(item, Item::Merge(..))) {
        return Ok(items
            .into_iter()
            .filter_map(|item| match item {
                Item::Entry(entry) => Some(entry),
                Item::Merge(..) => None,
            })
            .collect());
    }
    let written: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            Item::Entry(entry) => Some(entry.key.clone()),
            Item::Merge(..) => None,
        })
        .collect();
    let mut entries: Vec<Entry> = Vec::new();
    for item in items {
        match item {
            Item::Entry(entry) => entries.push(entry),
            Item::Merge(line, node) => {
                for entry in merged_entries(line, node)? {
                    let taken = written.contains(&entry.key)
                        || entries.iter().any(|known| known.key == entry.key);
                    if !taken {
                        entries.push(entry);
                    }
                }
            }
        }
    }
    Ok(entries)
}

/// The entries a `<<` value brings: a mapping's, or those of a list of mappings, in order.
fn merged_entries(line: u64, node: Node) -> Result<Vec<Entry>, YamlError> {
    let refuse = || {
        YamlError::new(
            line,
            "<< merges a mapping or a list of mappings (such as <<: *defaults)",
        )
    };
    match node.value {
        Value::Mapping(entries) => Ok(entries),
        Value::Sequence(items) => {
            let mut entries = Vec::new();
            for item in items {
                match item.value {
                    Value::Mapping(more) => entries.extend(more),
                    _ => return Err(refuse()),
                }
            }
            Ok(entries)
        }
        Value::Null | Value::Text(_) => Err(refuse()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        parse(text).unwrap().unwrap()
    }

    fn text(node: &Node) -> &str {
        match &node.value {
            Value::Text(text) => text,
            _ => panic!("not text: {}", node.kind()),
        }
    }

    fn at<'a>(node: &'a Node, path: &[&str]) -> &'a Entry {
        let (first, rest) = path.split_first().unwrap();
        let entry = node.get(first).unwrap_or_else(|| panic!("no key {first}"));
        if rest.is_empty() {
            entry
        } else {
            at(&entry.value, rest)
        }
    }

    #[test]
    fn keys_and_values_know_their_lines() {
        let node = doc("# comment\njaffle:\n  outputs:\n    dev:\n      schema: dbt_alice\n\n      port: 5432\n");
        let schema = at(&node, &["jaffle", "outputs", "dev", "schema"]);
        assert_eq!((schema.line, schema.value.line), (5, 5));
        assert_eq!(text(&schema.value), "dbt_alice");
        let port = at(&node, &["jaffle", "outputs", "dev", "port"]);
        assert_eq!((port.line, text(&port.value)), (7, "5432"));
        assert_eq!(at(&node, &["jaffle", "outputs", "dev"]).line, 4);
    }

    #[test]
    fn a_value_on_the_next_line_keeps_its_own_line() {
        let node = doc("dev:\n  schema:\n    \"dbt_alice\"\n");
        let schema = at(&node, &["dev", "schema"]);
        assert_eq!((schema.line, schema.value.line), (2, 3));
    }

    #[test]
    fn plain_nulls_are_null_and_quoted_ones_are_text() {
        let node = doc("a:\nb: ~\nc: null\nd: ''\ne: \"null\"\n");
        for key in ["a", "b", "c"] {
            assert!(
                matches!(at(&node, &[key]).value.value, Value::Null),
                "{key}"
            );
        }
        assert_eq!(text(&at(&node, &["d"]).value), "");
        assert_eq!(text(&at(&node, &["e"]).value), "null");
    }

    #[test]
    fn quoting_styles_give_the_text() {
        let node = doc("a: 'it''s'\nb: \"tab\\there\"\nc: |\n  line\n");
        assert_eq!(text(&at(&node, &["a"]).value), "it's");
        assert_eq!(text(&at(&node, &["b"]).value), "tab\there");
        assert_eq!(text(&at(&node, &["c"]).value), "line\n");
    }

    #[test]
    fn merge_keys_bring_entries_that_the_mapping_does_not_write() {
        let node = doc(
            "base: &base\n  type: postgres\n  schema: base\n  port: 5432\n\
             dev:\n  <<: *base\n  schema: dev\n",
        );
        let dev = &at(&node, &["dev"]).value;
        let keys: Vec<&str> = dev
            .entries()
            .unwrap()
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(keys, ["type", "port", "schema"]);
        let schema = at(&node, &["dev", "schema"]);
        assert_eq!((text(&schema.value), schema.line), ("dev", 7));
        let port = at(&node, &["dev", "port"]);
        assert_eq!(
            port.line, 4,
            "a merged value keeps the line it is written on"
        );
    }

    #[test]
    fn a_list_of_merges_prefers_the_earlier() {
        let node = doc("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n");
        assert_eq!(text(&at(&node, &["c", "x"]).value), "1");
        assert_eq!(text(&at(&node, &["c", "y"]).value), "2");
    }

    #[test]
    fn merging_text_is_refused() {
        let err = parse("a:\n  <<: oops\n").err().unwrap();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("<<"), "{err:?}");
    }

    #[test]
    fn a_repeated_key_is_an_error_naming_both_lines() {
        let err = parse("dev:\n  schema: a\n  schema: b\n").err().unwrap();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("first on line 2"), "{err:?}");
    }

    #[test]
    fn syntax_errors_carry_their_line() {
        let err = parse("dev:\n  schema: a\n   bad: [\n").err().unwrap();
        assert!(err.line >= 3, "{err:?}");
        let err = parse("dev:\n  schema: \"unclosed\n").err().unwrap();
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn an_empty_text_has_no_document() {
        assert!(parse("").unwrap().is_none());
        assert!(parse("# only a comment\n").unwrap().is_none());
    }

    #[test]
    fn a_second_document_is_refused() {
        let err = parse("a: 1\n---\nb: 2\n").err().unwrap();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, \
                 *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse(&text).err().unwrap();
        assert!(err.message.contains("more than"), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(&text).err().unwrap();
        // The parser has a limit of its own, which may be met first.
        assert!(
            err.message.contains("nested") || err.message.contains("recursion"),
            "{err:?}"
        );
    }

    #[test]
    fn collection_keys_are_refused_with_a_hint_about_quoting_jinja() {
        let err = parse("dev:\n  schema: {{ env_var('X') }}\n").err().unwrap();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("quote it"), "{err:?}");
    }
}
