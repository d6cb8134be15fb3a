//! Field matchers: what a rule's `match:` entries mean.
//!
//! A plain string is a regex (named groups become captures), a number or
//! true/false is equality, a list is one-of, and a map spells the operator:
//! `equals`, `regex`, `not_regex`, `one_of`, `not_one_of`, `gt`, `gte`,
//! `lt`, `lte`, `present`. Negative matchers hold when the field is absent.

use regex::Regex;

use crate::facts::shared::value::{FieldType, Value};

use super::rule::compile_regex;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compare {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone)]
pub enum Matcher {
    Regex(Regex),
    NotRegex(Regex),
    Equals(Value<'static>),
    OneOf(Vec<String>),
    NotOneOf(Vec<String>),
    Compare(Compare, f64),
    Present(bool),
}

impl Matcher {
    /// Reads a `match:` entry; one entry may hold several operators.
    pub fn parse_all(value: &serde_json::Value, ty: FieldType) -> Result<Vec<Matcher>, String> {
        use serde_json::Value as J;
        match value {
            J::String(pattern) => Ok(vec![Matcher::Regex(compile_regex(pattern)?)]),
            J::Number(number) => Ok(vec![Matcher::Equals(Value::Num(
                number.as_f64().unwrap_or(f64::NAN),
            ))]),
            J::Bool(flag) => Ok(vec![Matcher::Equals(Value::Bool(*flag))]),
            J::Array(items) => Ok(vec![Matcher::OneOf(strings(items)?)]),
            J::Object(operators) => {
                if operators.is_empty() {
                    return Err("an empty map matches nothing; name an operator".into());
                }
                operators
                    .iter()
                    .map(|(operator, argument)| parse_operator(operator, argument, ty))
                    .collect()
            }
            J::Null => Err("a matcher needs a value".into()),
        }
    }

    pub fn capture_names(&self) -> Vec<String> {
        match self {
            Matcher::Regex(regex) => regex
                .capture_names()
                .flatten()
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether `value` (None when the fact lacks the field) passes.
    pub fn test(&self, value: Option<&Value<'_>>) -> bool {
        let Some(value) = value else {
            return matches!(
                self,
                Matcher::NotRegex(_) | Matcher::NotOneOf(_) | Matcher::Present(false)
            );
        };
        match self {
            Matcher::Regex(regex) => regex.is_match(&value.as_text()),
            Matcher::NotRegex(regex) => !regex.is_match(&value.as_text()),
            Matcher::Equals(expected) => match (expected, value) {
                (Value::Num(a), other) => other.as_number() == Some(*a),
                (expected, other) => expected.as_text() == other.as_text(),
            },
            Matcher::OneOf(options) => options.iter().any(|o| *o == value.as_text()),
            Matcher::NotOneOf(options) => !options.iter().any(|o| *o == value.as_text()),
            Matcher::Compare(op, limit) => value.as_number().is_some_and(|n| match op {
                Compare::Gt => n > *limit,
                Compare::Gte => n >= *limit,
                Compare::Lt => n < *limit,
                Compare::Lte => n <= *limit,
            }),
            Matcher::Present(expected) => *expected,
        }
    }
}

fn parse_operator(
    operator: &str,
    argument: &serde_json::Value,
    ty: FieldType,
) -> Result<Matcher, String> {
    use serde_json::Value as J;
    let text = |what: &str| match argument {
        J::String(text) => Ok(text.clone()),
        _ => Err(format!("`{what}` takes a string")),
    };
    let number = |what: &str| {
        if ty != FieldType::Number {
            return Err(format!(
                "`{what}` compares numbers, and this field is not a number"
            ));
        }
        argument
            .as_f64()
            .ok_or_else(|| format!("`{what}` takes a number"))
    };
    Ok(match operator {
        "regex" => Matcher::Regex(compile_regex(&text("regex")?)?),
        "not_regex" => Matcher::NotRegex(compile_regex(&text("not_regex")?)?),
        "equals" => match argument {
            J::String(t) => Matcher::Equals(Value::Str(t.clone().into())),
            J::Number(n) => Matcher::Equals(Value::Num(n.as_f64().unwrap_or(f64::NAN))),
            J::Bool(b) => Matcher::Equals(Value::Bool(*b)),
            _ => return Err("`equals` takes text, a number or true/false".into()),
        },
        "one_of" | "not_one_of" => {
            let J::Array(items) = argument else {
                return Err(format!("`{operator}` takes a list"));
            };
            let items = strings(items)?;
            if operator == "one_of" {
                Matcher::OneOf(items)
            } else {
                Matcher::NotOneOf(items)
            }
        }
        "gt" => Matcher::Compare(Compare::Gt, number("gt")?),
        "gte" => Matcher::Compare(Compare::Gte, number("gte")?),
        "lt" => Matcher::Compare(Compare::Lt, number("lt")?),
        "lte" => Matcher::Compare(Compare::Lte, number("lte")?),
        "present" => match argument {
            J::Bool(b) => Matcher::Present(*b),
            _ => return Err("`present` takes true or false".into()),
        },
        other => {
            return Err(format!(
                "unknown operator `{other}`; expected equals, regex, not_regex, one_of, not_one_of, gt, gte, lt, lte or present"
            ));
        }
    })
}

fn strings(items: &[serde_json::Value]) -> Result<Vec<String>, String> {
    items
        .iter()
        .map(|item| match item {
            serde_json::Value::String(s) => Ok(s.clone()),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            serde_json::Value::Bool(b) => Ok(b.to_string()),
            _ => Err("a list of options holds text, numbers or true/false".to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(value: serde_json::Value, ty: FieldType) -> Matcher {
        Matcher::parse_all(&value, ty).unwrap().remove(0)
    }

    #[test]
    fn string_is_a_regex_and_negatives_hold_when_absent() {
        let regex = one(json!("^Insufficient (?P<resource>\\S+)$"), FieldType::Text);
        assert!(regex.test(Some(&Value::Str("Insufficient cpu".into()))));
        assert!(!regex.test(Some(&Value::Str("Too many pods".into()))));
        assert!(!regex.test(None));
        assert_eq!(regex.capture_names(), vec!["resource"]);
        let not = one(json!({"not_one_of": ["a"]}), FieldType::Text);
        assert!(not.test(None));
        assert!(!not.test(Some(&Value::Str("a".into()))));
    }

    #[test]
    fn numbers_compare_and_presence_checks() {
        let gte = one(json!({"gte": 300}), FieldType::Number);
        assert!(gte.test(Some(&Value::Num(300.0))));
        assert!(!gte.test(Some(&Value::Num(12.0))));
        assert!(one(json!({"present": false}), FieldType::Text).test(None));
        assert!(!one(json!({"present": true}), FieldType::Text).test(None));
        assert!(one(json!(true), FieldType::Bool).test(Some(&Value::Bool(true))));
    }

    #[test]
    fn wrong_operators_are_explained() {
        assert!(
            Matcher::parse_all(&json!({"gte": 1}), FieldType::Text)
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            Matcher::parse_all(&json!({"like": "x"}), FieldType::Text)
                .unwrap_err()
                .contains("unknown operator `like`")
        );
        assert!(
            Matcher::parse_all(&json!("(unclosed"), FieldType::Text)
                .unwrap_err()
                .contains("invalid regex")
        );
    }
}
