//! Every built-in rule passes its own examples: facts it must match (with
//! the captures expected) and look-alikes it must not.

use pxdoctor::engine::{self, Engine, examples};

#[test]
fn built_in_rule_examples_pass() {
    let rules = engine::load_rules(&[], true).expect("built-in rules load");
    assert!(rules.len() >= 20, "{} rules", rules.len());
    for rule in &rules {
        assert!(
            rule.examples.iter().any(|e| e.matches),
            "{} has no matching example",
            rule.id
        );
        assert!(
            rule.examples.iter().any(|e| !e.matches),
            "{} has no look-alike",
            rule.id
        );
    }
    let engine = Engine::new(rules);
    let (ran, failures) = examples::run(&engine, |_| true);
    let failures: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(ran >= 90, "{ran} examples");
}

#[test]
fn every_pending_cause_of_one_message_is_explained_by_exactly_one_rule() {
    let engine = Engine::new(engine::load_rules(&[], true).unwrap());
    let message = "0/12 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 3 node(s) didn't match pod anti-affinity rules, 8 node(s) didn't match Pod's node affinity/selector. preemption: 0/12 nodes are available: 3 No preemption victims found for incoming pod, 9 Preemption is not helpful for scheduling.";
    let mut fact = std::collections::BTreeMap::new();
    fact.insert(
        "message".to_string(),
        pxdoctor::facts::Value::Str(message.to_string().into()),
    );
    let kind = pxdoctor::facts::FactKind::SchedulingReason;
    let per_segment: Vec<Vec<String>> = kind
        .example_facts(fact)
        .iter()
        .map(|f| {
            engine
                .matches_of(kind, f.as_ref())
                .into_iter()
                .map(|m| engine.rules[m.rule].id.clone())
                .collect()
        })
        .collect();
    assert_eq!(
        per_segment,
        vec![
            vec!["PXD-PEND-006".to_string()],
            vec!["PXD-PEND-009".to_string()],
            vec!["PXD-PEND-008".to_string()]
        ]
    );
}
