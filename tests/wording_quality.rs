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
        Regex::new(r"[^.]\.\.(?:[^.]|$)|\?\.|,,|;;|\.,|\(\s*\)|: \.|\s[,.;](?:\s|$)").unwrap();
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
