//! Where the checks put what they find: one [`LintFact`] per problem, with
//! the file, line and column, and the text of that line.

use std::borrow::Cow;

use crate::facts::Location;
use crate::facts::lint::LintFact;
use crate::facts::shared::value::Value;
use crate::report::Skipped;

use super::yaml::Pos;

pub struct Sink<'a> {
    pub file: String,
    lines: Vec<&'a str>,
    pub facts: Vec<LintFact>,
    /// What the file leaves to Polyaxon's API (a hubRef, a urlRef): said in
    /// the report's "not checked" list, not as findings.
    pub not_checked: Vec<Skipped>,
}

/// A detail of a finding, by field name.
pub type Detail = (&'static str, Value<'static>);

pub fn t(text: impl Into<String>) -> Value<'static> {
    Value::Str(Cow::Owned(text.into()))
}

pub fn n(number: impl Into<f64>) -> Value<'static> {
    Value::Num(number.into())
}

impl<'a> Sink<'a> {
    pub fn new(file: impl Into<String>, source: &'a str) -> Sink<'a> {
        Sink {
            file: file.into(),
            lines: source.lines().collect(),
            facts: Vec::new(),
            not_checked: Vec::new(),
        }
    }

    /// Records a problem found by `check` at `pos`. The same check at the
    /// same place is recorded once: a component shared by several
    /// operations is wrong once, where it is written.
    pub fn add(&mut self, check: &str, pos: Pos, details: Vec<Detail>) {
        let duplicate = self.facts.iter().any(|f| {
            f.check == check && f.location.line == pos.line && f.location.column == pos.column
        });
        if duplicate {
            return;
        }
        let snippet = pos
            .line
            .checked_sub(1)
            .and_then(|i| self.lines.get(i as usize))
            .map(|line| line.trim().to_string())
            .unwrap_or_default();
        self.facts.push(LintFact {
            check: check.to_string(),
            location: Location {
                file: self.file.clone(),
                line: pos.line,
                column: pos.column,
            },
            snippet,
            details: details.into_iter().collect(),
        });
    }
}
