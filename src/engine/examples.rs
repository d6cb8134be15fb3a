//! Rule self-tests: every example a rule carries is run through the same
//! matching path as real facts, so a rule cannot drift from its examples.

use std::collections::BTreeMap;

use crate::error::{Position, Problem};

use super::Engine;

/// Runs the examples of the rules for which `selected` holds; returns one
/// problem per failed example, and how many examples ran.
pub fn run(engine: &Engine, selected: impl Fn(&super::Rule) -> bool) -> (usize, Vec<Problem>) {
    let mut ran = 0;
    let mut failures = Vec::new();
    for (index, rule) in engine.rules.iter().enumerate() {
        if !selected(rule) {
            continue;
        }
        for example in &rule.examples {
            ran += 1;
            let facts = rule.fact.example_facts(example.fact.clone());
            let found: Vec<BTreeMap<String, String>> = facts
                .iter()
                .flat_map(|fact| engine.matches_of(rule.fact, fact.as_ref()))
                .filter(|m| m.rule == index)
                .map(|m| m.captures)
                .collect();
            let fail = |message: String| Problem {
                position: Position::at(&rule.path, example.line, 1),
                message: format!("{}: {message}", rule.id),
            };
            if !example.matches {
                if !found.is_empty() {
                    failures.push(fail("this look-alike must not match, but it does".into()));
                }
                continue;
            }
            if found.is_empty() {
                failures.push(fail("this example must match, but it does not".into()));
                continue;
            }
            let agrees = |captures: &BTreeMap<String, String>| {
                example
                    .captures
                    .iter()
                    .all(|(name, want)| captures.get(name) == Some(want))
            };
            if !found.iter().any(agrees) {
                failures.push(fail(format!(
                    "captured {:?}, expected {:?}",
                    found[0], example.captures
                )));
            }
        }
    }
    (ran, failures)
}
