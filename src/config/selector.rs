//! Kubernetes label selectors (`team=ml,env!=prod,tier in (a,b),!canary`),
//! as `kubectl get -l` reads them, so an ignore entry selects pods the way
//! its author already selects them.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text)? {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!("label selector `{text}`: empty requirement"));
            }
            requirements
                .push(requirement(part).map_err(|e| format!("label selector `{text}`: {e}"))?);
        }
        if requirements.is_empty() {
            return Err("an empty label selector would select every pod".into());
        }
        Ok(Selector { requirements })
    }

    /// Label keys the selector reads: the only ones worth keeping on facts.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| match r {
            Requirement::Equals(key, _)
            | Requirement::NotEquals(key, _)
            | Requirement::In(key, _)
            | Requirement::NotIn(key, _)
            | Requirement::Exists(key)
            | Requirement::NotExists(key) => key.as_str(),
        })
    }

    /// Kubernetes semantics: `!=` and `notin` also hold without the label.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(key, value) => labels.get(key) == Some(value),
            Requirement::NotEquals(key, value) => labels.get(key) != Some(value),
            Requirement::In(key, values) => labels.get(key).is_some_and(|v| values.contains(v)),
            Requirement::NotIn(key, values) => !labels.get(key).is_some_and(|v| values.contains(v)),
            Requirement::Exists(key) => labels.contains_key(key),
            Requirement::NotExists(key) => !labels.contains_key(key),
        })
    }
}

/// Splits at commas outside parentheses.
fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("label selector `{text}`: `)` without `(`"))?;
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("label selector `{text}`: `(` without `)`"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn requirement(part: &str) -> Result<Requirement, String> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement::NotExists(key_of(key.trim())?));
    }
    if let Some((key, value)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(key_of(key)?, value_of(value)?));
    }
    if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Equals(key_of(key)?, value_of(value)?));
    }
    let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
    if let [key, rest] = words.as_slice() {
        let rest = rest.trim();
        let (negated, list) = if let Some(list) = rest.strip_prefix("notin") {
            (true, list)
        } else if let Some(list) = rest.strip_prefix("in") {
            (false, list)
        } else {
            return Err(format!(
                "`{part}`: expected `in (...)` or `notin (...)` after the key"
            ));
        };
        let list = list
            .trim()
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .ok_or_else(|| format!("`{part}`: the values go in parentheses"))?;
        let values = list
            .split(',')
            .map(value_of)
            .collect::<Result<BTreeSet<_>, _>>()?;
        let key = key_of(key)?;
        return Ok(if negated {
            Requirement::NotIn(key, values)
        } else {
            Requirement::In(key, values)
        });
    }
    Ok(Requirement::Exists(key_of(part)?))
}

/// A label key: an optional DNS prefix and `/`, then a name.
fn key_of(text: &str) -> Result<String, String> {
    let key = text.trim();
    let valid = !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && key.matches('/').count() <= 1
        && !key.ends_with('/');
    if valid {
        Ok(key.to_string())
    } else {
        Err(format!("`{key}` is not a label key"))
    }
}

fn value_of(text: &str) -> Result<String, String> {
    let value = text.trim();
    let valid = value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(value.to_string())
    } else {
        Err(format!("`{value}` is not a label value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_read_like_kubectl() {
        let pod = labels(&[("team", "ml"), ("env", "dev"), ("tier", "gpu")]);
        for (selector, expected) in [
            ("team=ml", true),
            ("team==ml,env!=prod", true),
            ("env in (dev, staging),tier", true),
            ("env notin (dev)", false),
            ("!canary", true),
            ("!team", false),
            ("missing!=x", true),
            ("missing in (x)", false),
        ] {
            let parsed = Selector::parse(selector).unwrap();
            assert_eq!(parsed.matches(&pod), expected, "{selector}");
        }
    }

    #[test]
    fn broken_selectors_say_what_is_wrong() {
        assert!(Selector::parse("").is_err());
        assert!(
            Selector::parse("env in (dev")
                .unwrap_err()
                .contains("without `)`")
        );
        assert!(
            Selector::parse("env maybe (dev)")
                .unwrap_err()
                .contains("in (...)")
        );
        assert!(Selector::parse("a b c=d").is_err());
        assert!(
            Selector::parse("team=m l")
                .unwrap_err()
                .contains("label value")
        );
    }
}
