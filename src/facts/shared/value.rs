//! The field values rules match on, and the catalogue of fields per fact kind.
//!
//! Rules name fields by string; the catalogue lets the engine reject a rule
//! that names a field its fact kind does not have, before anything runs.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// A field's value as a rule sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
}

impl Value<'_> {
    /// The text a template shows, and the text a regex runs on.
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            Value::Str(text) => Cow::Borrowed(text.as_ref()),
            Value::Num(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
                Cow::Owned(format!("{}", *number as i64))
            }
            Value::Num(number) => Cow::Owned(number.to_string()),
            Value::Bool(flag) => Cow::Owned(flag.to_string()),
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Num(number) => Some(*number),
            Value::Str(text) => text.trim().parse().ok(),
            Value::Bool(_) => None,
        }
    }

    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Str(text) => Value::Str(Cow::Owned(text.into_owned())),
            Value::Num(number) => Value::Num(number),
            Value::Bool(flag) => Value::Bool(flag),
        }
    }
}

pub fn text<'a>(value: impl Into<Cow<'a, str>>) -> Value<'a> {
    Value::Str(value.into())
}

pub fn num(value: impl Into<f64>) -> Value<'static> {
    Value::Num(value.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Number,
    Bool,
}

/// A field a fact kind offers to rules.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
    pub doc: &'static str,
}

pub const fn field(name: &'static str, ty: FieldType, doc: &'static str) -> FieldSpec {
    FieldSpec { name, ty, doc }
}

/// Anything a rule can be evaluated against: a real fact or a rule example.
pub trait FieldSource {
    fn field(&self, name: &str) -> Option<Value<'_>>;
}

/// A fact written out as a map, as rule examples give them.
impl FieldSource for BTreeMap<String, Value<'static>> {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        self.get(name).cloned()
    }
}
