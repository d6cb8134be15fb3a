//! The findings read well on every scenario: no placeholder a finding
//! needs is left without a value (it would print "?"), and no sentence
//! ends up with doubled punctuation ("status..", "?.", ",,") or an empty
//! "()" once its values are filled in.

mod support;

use std::collections::BTreeMap;

use pxdoctor::engine::Engine;
use pxdoctor::facts::FactKind;
use regex::Regex;
use support::repo;

fn scenarios() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(repo().join("testdata"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("expected.yaml").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_matched_rule_fills_its_placeholders_and_punctuates_once() {
    let engine = Engine::new(pxdoctor::engine::load_rules(&[], true).expect("built-in rules"));
    let doubled =
        Regex::new(r"[^.]\.\.(?:[^.]|$)|\?\.|,,|;;|\.,|\(\s*\)|: \.|\s[,.;](?:\s|$)|\)\s+\(")
            .unwrap();
    let mut problems = Vec::new();
    let mut rendered = 0;
    for dir in scenarios() {
        let inventory = pxdoctor::source::snapshot::load(&dir).expect("scenario loads");
        let now = inventory.newest.unwrap_or_else(jiff::Timestamp::now);
        let facts = inventory.correlate(now);
        for kind in FactKind::ALL {
            facts.for_each(kind, |fact| {
                for found in engine.matches_of(kind, fact) {
                    let rule = &engine.rules[found.rule];
                    let lookup = |name: &str| {
                        found
                            .captures
                            .get(name)
                            .cloned()
                            .or_else(|| fact.field(name).map(|v| v.as_text().into_owned()))
                    };
                    for (part, template) in [
                        ("title", &rule.title),
                        ("explain", &rule.explain),
                        ("remediation", &rule.remediation),
                    ] {
                        rendered += 1;
                        let missing = template.missing(&lookup);
                        if !missing.is_empty() {
                            problems.push(format!(
                                "{} {}: {part} has no value for {missing:?} in {}",
                                rule.id,
                                fact.subject().label(),
                                dir.display()
                            ));
                        }
                        let text = template.render(&lookup);
                        if let Some(bad) = doubled.find(&text) {
                            problems.push(format!(
                                "{} {}: {part} has `{}`: {text}",
                                rule.id,
                                fact.subject().label(),
                                bad.as_str()
                            ));
                        }
                    }
                }
            });
        }
    }
    assert!(
        rendered > 300,
        "the scenarios exercise the rules ({rendered} texts)"
    );
    let unique: BTreeMap<String, ()> = problems.into_iter().map(|p| (p, ())).collect();
    assert!(
        unique.is_empty(),
        "{:#?}",
        unique.keys().collect::<Vec<_>>()
    );
}

/// Every rule's own examples, rendered through its templates: the values
/// an example gives must not leave doubled punctuation or an empty "()"
/// (placeholders an example leaves out are the loader's business: it
/// refuses a template that names a field no fact has).
#[test]
fn every_rule_example_renders_without_doubled_punctuation() {
    let engine = Engine::new(pxdoctor::engine::load_rules(&[], true).expect("built-in rules"));
    let doubled =
        Regex::new(r"[^.]\.\.(?:[^.]|$)|\?\.|,,|;;|\.,|\(\s*\)|: \.|\s[,.;](?:\s|$)|\)\s+\(")
            .unwrap();
    let mut problems = Vec::new();
    let mut rendered = 0;
    for (index, rule) in engine.rules.iter().enumerate() {
        for example in rule.examples.iter().filter(|e| e.matches) {
            for fact in rule.fact.example_facts(example.fact.clone()) {
                let fact = fact.as_ref();
                for found in engine
                    .matches_of(rule.fact, fact)
                    .into_iter()
                    .filter(|m| m.rule == index)
                {
                    let lookup = |name: &str| {
                        found
                            .captures
                            .get(name)
                            .cloned()
                            .or_else(|| fact.field(name).map(|v| v.as_text().into_owned()))
                    };
                    for (part, template) in [
                        ("title", &rule.title),
                        ("explain", &rule.explain),
                        ("remediation", &rule.remediation),
                    ] {
                        rendered += 1;
                        let text = template.render(&lookup);
                        if let Some(bad) = doubled.find(&text) {
                            problems.push(format!(
                                "{} example at line {}: {part} has `{}`: {text}",
                                rule.id,
                                example.line,
                                bad.as_str()
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        rendered > 700,
        "every rule's examples render ({rendered} texts)"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}
