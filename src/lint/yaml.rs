//! YAML with a position on every key and value.
//!
//! Lint findings point at the line and column of the value that is wrong,
//! and a polyaxonfile's shape varies too much (short-form params, inline
//! components, any run kind) for typed structs; so the file is read once
//! into this small tree, and the checks walk it.

use std::fmt;
use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::engine::rule::error_message;
use crate::error::{Position, Problem};

/// 1-based line and column, as editors and SARIF count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Yaml,
    pub pos: Pos,
}

/// A mapping key, always as the text written (YAML 1.1 would read `on:` or
/// `y:` as booleans; a field name is what the author typed).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, node)| node)
    }

    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        self.entries()
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, v)| (k, v))
    }

    /// The entries of a mapping; none for anything else.
    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Yaml::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The items of a sequence; none for anything else.
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Yaml::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Yaml::Map(_))
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Yaml::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Yaml::Str(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Yaml::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        match &self.value {
            Yaml::Num(number) => Some(*number),
            Yaml::Str(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// A scalar as text (`2` → "2", `0.5` → "0.5"); None for collections.
    pub fn text(&self) -> Option<String> {
        match &self.value {
            Yaml::Str(text) => Some(text.clone()),
            Yaml::Num(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
                Some(format!("{}", *number as i64))
            }
            Yaml::Num(number) => Some(number.to_string()),
            Yaml::Bool(flag) => Some(flag.to_string()),
            Yaml::Null | Yaml::Seq(_) | Yaml::Map(_) => None,
        }
    }

    /// `get(key)` as text, for the many string fields of a polyaxonfile.
    pub fn str_at(&self, key: &str) -> Option<String> {
        self.get(key).and_then(Node::text)
    }
}

/// Parses every YAML document of a file; an unreadable one is a problem at
/// its line and column.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Node>, Problem> {
    let documents: Vec<Spanned<Raw>> = serde_saphyr::from_multiple(text).map_err(|error| {
        let position = match error.location() {
            Some(location) => Position::at(path, location.line(), location.column()),
            None => Position::file(path),
        };
        Problem {
            position,
            message: format!("not valid YAML: {}", error_message(&error.to_string())),
        }
    })?;
    Ok(documents
        .into_iter()
        .map(|document| convert(document, text))
        .filter(|node| !node.is_null())
        .collect())
}

fn pos(location: &serde_saphyr::Location) -> Pos {
    Pos {
        line: location.line(),
        column: location.column(),
    }
}

fn convert(raw: Spanned<Raw>, source: &str) -> Node {
    let at = pos(&raw.referenced);
    let value = match raw.value {
        Raw::Null => Yaml::Null,
        Raw::Bool(flag) => match written(source, &raw.referenced) {
            // Polyaxon reads YAML with PyYAML, whose booleans are only these
            // words: `y`, `n` and the like stay strings there.
            Some(text) if !is_pyyaml_bool(&text) => Yaml::Str(text),
            _ => Yaml::Bool(flag),
        },
        Raw::Num(number) => Yaml::Num(number),
        Raw::Str(text) => Yaml::Str(text),
        Raw::Seq(items) => Yaml::Seq(items.into_iter().map(|i| convert(i, source)).collect()),
        Raw::Map(entries) => Yaml::Map(
            entries
                .into_iter()
                .map(|(key, value)| {
                    let key_pos = pos(&key.referenced);
                    let name = match &key.value {
                        Raw::Str(text) => text.clone(),
                        _ => written(source, &key.referenced)
                            .unwrap_or_else(|| convert(key, source).text().unwrap_or_default()),
                    };
                    (Key { name, pos: key_pos }, convert(value, source))
                })
                .collect(),
        ),
    };
    Node { value, pos: at }
}

/// YAML 1.1's booleans as PyYAML resolves them.
fn is_pyyaml_bool(text: &str) -> bool {
    const WORDS: [&str; 6] = ["true", "false", "yes", "no", "on", "off"];
    WORDS.iter().any(|word| {
        let mut capitalized = word.to_string();
        capitalized[..1].make_ascii_uppercase();
        text == *word || text == capitalized || text == word.to_ascii_uppercase()
    })
}

/// The source text of a scalar, as typed.
fn written(source: &str, location: &serde_saphyr::Location) -> Option<String> {
    let span = location.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    source
        .get(start..start.checked_add(len)?)
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
}

/// What serde-saphyr hands over, before keys are turned into text.
enum Raw {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }

    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Raw, D::Error> {
        Raw::deserialize(deserializer)
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(flag))
    }

    fn visit_i64<E>(self, number: i64) -> Result<Raw, E> {
        Ok(Raw::Num(number as f64))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Raw, E> {
        Ok(Raw::Num(number as f64))
    }

    fn visit_i128<E>(self, number: i128) -> Result<Raw, E> {
        Ok(Raw::Num(number as f64))
    }

    fn visit_u128<E>(self, number: u128) -> Result<Raw, E> {
        Ok(Raw::Num(number as f64))
    }

    fn visit_f64<E>(self, number: f64) -> Result<Raw, E> {
        Ok(Raw::Num(number))
    }

    fn visit_str<E>(self, text: &str) -> Result<Raw, E> {
        Ok(Raw::Str(text.to_string()))
    }

    fn visit_string<E>(self, text: String) -> Result<Raw, E> {
        Ok(Raw::Str(text))
    }

    fn visit_bytes<E>(self, bytes: &[u8]) -> Result<Raw, E> {
        Ok(Raw::Str(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Raw>>()? {
            let value = map.next_value::<Spanned<Raw>>()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

/// Every unknown key of a file of pxdoctor's own (`.pxdoctor.yaml`, a rule
/// file): its top-level keys, and those of each item under `list`. A file
/// that is not YAML is left to serde, whose error says where.
pub fn unknown_keys_in_file(
    path: &Path,
    text: &str,
    known: &[&str],
    list: &str,
    item_known: &[&str],
    within_item: &str,
) -> Vec<Problem> {
    let Ok(documents) = parse(path, text) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for document in &documents {
        problems.extend(unknown_keys(path, document, known, ""));
        for item in document.get(list).map(|l| l.items()).unwrap_or_default() {
            problems.extend(unknown_keys(path, item, item_known, within_item));
        }
    }
    problems
}

/// Every key of `node` (a mapping) that is not one of `known`, each a
/// problem at its own position with a "did you mean": the files pxdoctor
/// reads itself (`.pxdoctor.yaml`, rule files) report all their unknown
/// keys at once, not the first that serde stops at.
pub fn unknown_keys(path: &Path, node: &Node, known: &[&str], within: &str) -> Vec<Problem> {
    node.entries()
        .iter()
        .filter(|(key, _)| !known.contains(&key.name.as_str()))
        .map(|(key, _)| Problem {
            position: Position::at(path, key.pos.line, key.pos.column),
            message: format!(
                "unknown field `{}`{within}{}; expected one of {}",
                key.name,
                match crate::lint::schema::suggest(&key.name, known) {
                    Some(meant) => format!(" (did you mean `{meant}`?)"),
                    None => String::new(),
                },
                known
                    .iter()
                    .map(|key| format!("`{key}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_value_has_its_position() {
        let text =
            "kind: component\nrun:\n  kind: job\n  on: yes\n  params:\n    lr: {value: 0.5}\n";
        let docs = parse(Path::new("f.yaml"), text).unwrap();
        let root = &docs[0];
        let run = root.get("run").unwrap();
        assert_eq!(run.get("kind").unwrap().pos, Pos { line: 3, column: 9 });
        // A YAML 1.1 boolean key stays the word that was written.
        let (key, value) = run.entry("on").unwrap();
        assert_eq!(key.pos, Pos { line: 4, column: 3 });
        assert_eq!(value.as_bool(), Some(true));
        let lr = run.get("params").unwrap().entry("lr").unwrap();
        assert_eq!(lr.0.pos.line, 6);
        assert_eq!(lr.1.str_at("value").as_deref(), Some("0.5"));
    }

    #[test]
    fn broken_yaml_names_line_and_column() {
        let problem = parse(Path::new("f.yaml"), "a: [1\nb: 2\n").unwrap_err();
        assert_eq!(problem.position.line, Some(2));
        assert!(
            problem.message.starts_with("not valid YAML"),
            "{}",
            problem.message
        );
    }
}
