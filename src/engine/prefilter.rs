//! Which facts some loaded rule could still match, judged on the fields a
//! fact has as soon as it is decoded (before facts are joined).
//!
//! Half a million events are mostly "Pulled", "Created" and "Started",
//! which no rule explains; keeping them all until the rules ran was a third
//! of the memory at 100,000 pods. A source asks this filter instead, built
//! from the rules actually loaded (custom `--rules` included), so what it
//! drops no rule could have matched. A matcher on a field not yet known
//! (one the join fills in) counts as passing.

use regex::RegexSet;

use super::Engine;
use super::matcher::Matcher;
use crate::facts::{FactKind, FieldSource};

/// One matcher of a rule that can be judged early.
#[derive(Debug, Clone)]
enum Check {
    /// Its regex's place in a set.
    InSet { set: usize, pattern: usize },
    /// Any other matcher, tested alone on `fields[field]`.
    Alone { field: usize, matcher: Matcher },
}

#[derive(Debug, Clone, Default)]
pub struct Prefilter {
    /// The decided fields the rules read, fetched once per fact.
    fields: Vec<String>,
    /// One set per field with regexes: (index in `fields`, set).
    sets: Vec<(usize, RegexSet)>,
    /// Per rule of the kind, its early checks; a rule without any may
    /// match anything.
    rules: Vec<Vec<Check>>,
}

impl Engine {
    /// The early filter for `kind`, where `decided` names the fields a
    /// fact of that kind has before it is joined.
    pub fn prefilter(&self, kind: FactKind, decided: &[&str]) -> Prefilter {
        let Some(plan) = self.plans.iter().find(|plan| plan.kind == kind) else {
            return Prefilter::default();
        };
        let (fields, place) = kept(&plan.fields, |field| decided.contains(&field.as_str()));
        let (sets, set_of) = kept(&plan.sets, |(field, _)| place[*field].is_some());
        let sets = sets
            .into_iter()
            .map(|(field, set)| (place[field].expect("a decided field"), set))
            .collect();
        let rules = (0..plan.rules.len())
            .map(|i| {
                let rule = &self.rules[plan.rules[i]];
                rule.matchers
                    .iter()
                    .enumerate()
                    .filter_map(|(j, (_, matcher))| {
                        let field = place[plan.field_of[i][j]]?;
                        Some(match plan.slots[i][j] {
                            Some(slot) => Check::InSet {
                                set: set_of[slot.set].expect("a decided field's set"),
                                pattern: slot.pattern,
                            },
                            None => Check::Alone {
                                field,
                                matcher: matcher.clone(),
                            },
                        })
                    })
                    .collect()
            })
            .collect();
        Prefilter {
            fields,
            sets,
            rules,
        }
    }
}

/// The items `keep` admits, and where each item went (None: left out).
fn kept<T: Clone>(items: &[T], keep: impl Fn(&T) -> bool) -> (Vec<T>, Vec<Option<usize>>) {
    let mut out = Vec::new();
    let place = items
        .iter()
        .map(|item| {
            keep(item).then(|| {
                out.push(item.clone());
                out.len() - 1
            })
        })
        .collect();
    (out, place)
}

impl Prefilter {
    /// Whether some rule could match `source` once it is joined.
    pub fn may_match(&self, source: &dyn FieldSource) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let (values, hits) = super::read_fields(&self.fields, &self.sets, source);
        self.rules.iter().any(|checks| {
            checks.iter().all(|check| match check {
                Check::InSet { set, pattern } => {
                    hits[*set].as_ref().is_some_and(|h| h.matched(*pattern))
                }
                Check::Alone { field, matcher } => matcher.test(values[*field].as_ref()),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::engine::rule;
    use crate::facts::Value;

    fn engine(texts: &[&str]) -> Engine {
        let mut problems = Vec::new();
        let rules = texts
            .iter()
            .enumerate()
            .flat_map(|(i, text)| {
                rule::parse(Path::new(&format!("r{i}.yaml")), text, &mut problems)
            })
            .collect();
        assert!(problems.is_empty(), "{problems:?}");
        Engine::new(rules)
    }

    /// A rule with stand-in examples: these tests judge the filter, and
    /// the loader insists on examples of both kinds.
    fn rule(id: &str, matchers: &str) -> String {
        format!(
            "id: {id}\ntitle: t\ncategory: runtime\nseverity: error\nfact: event\nmatch:\n{matchers}\nexplain: e\nremediation: r\nexamples:\n  - fact: {{reason: a}}\n  - fact: {{reason: b}}\n    matches: false\n"
        )
    }

    fn event(fields: &[(&str, Value<'static>)]) -> BTreeMap<String, Value<'static>> {
        fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }

    const DECIDED: &[&str] = &["reason", "message", "type"];

    #[test]
    fn keeps_what_a_rule_may_match_and_drops_what_none_can() {
        let engine = engine(&[
            &rule(
                "X-001",
                "  reason: {equals: Failed}\n  message: 'Failed to pull image'",
            ),
            &rule(
                "X-002",
                "  pod_waiting: true\n  message: 'MountVolume\\.SetUp failed'",
            ),
        ]);
        let filter = engine.prefilter(FactKind::Event, DECIDED);
        let pull = event(&[
            ("reason", Value::Str("Failed".into())),
            (
                "message",
                Value::Str("Failed to pull image \"x\": not found".into()),
            ),
        ]);
        assert!(filter.may_match(&pull));
        // pod_waiting is only known after the join, so it does not rule
        // the event out.
        let mount = event(&[
            ("reason", Value::Str("FailedMount".into())),
            (
                "message",
                Value::Str("MountVolume.SetUp failed for volume \"d\"".into()),
            ),
        ]);
        assert!(filter.may_match(&mount));
        let started = event(&[
            ("reason", Value::Str("Started".into())),
            ("message", Value::Str("Started container main".into())),
        ]);
        assert!(!filter.may_match(&started));
        // The right message with the wrong reason: X-001 needs both.
        let wrong_reason = event(&[
            ("reason", Value::Str("Pulled".into())),
            ("message", Value::Str("Failed to pull image".into())),
        ]);
        assert!(!filter.may_match(&wrong_reason));
    }

    #[test]
    fn a_rule_on_joined_fields_only_keeps_everything() {
        let engine = engine(&[&rule("X-003", "  is_run: true")]);
        let filter = engine.prefilter(FactKind::Event, DECIDED);
        assert!(filter.may_match(&event(&[("reason", Value::Str("Started".into()))])));
    }

    #[test]
    fn negative_matchers_and_absent_fields_behave_as_in_evaluation() {
        let engine = engine(&[&rule("X-004", "  type: {not_one_of: [Normal]}")]);
        let filter = engine.prefilter(FactKind::Event, DECIDED);
        assert!(!filter.may_match(&event(&[("type", Value::Str("Normal".into()))])));
        assert!(filter.may_match(&event(&[("type", Value::Str("Warning".into()))])));
        // Absent: a negative matcher holds, as Matcher::test says.
        assert!(filter.may_match(&event(&[])));
    }

    #[test]
    fn no_rules_of_the_kind_match_nothing() {
        let engine = engine(&[]);
        let filter = engine.prefilter(FactKind::Event, DECIDED);
        assert!(!filter.may_match(&event(&[("reason", Value::Str("Failed".into()))])));
    }
}
