//! The event sieve (events no loaded rule can match are not kept) must
//! change no finding: for every scenario, a sieved and a whole inventory
//! give the same findings, and a custom rule about an event no built-in
//! rule reads still sees it.

mod support;

use std::path::Path;

use pxdoctor::engine::{self, Engine};
use pxdoctor::facts::FactKind;
use pxdoctor::facts::inventory::sieve::{DECIDED_EVENT_FIELDS, Sieve};
use pxdoctor::source::snapshot;
use support::{check_json, testdata};

fn findings(engine: &Engine, snapshot: &Path, sieve: &Sieve) -> (serde_json::Value, usize) {
    let inventory = snapshot::load_sieved(snapshot, sieve).expect("the scenario loads");
    let kept = inventory.events.len();
    let now = inventory.newest.expect("the scenario has timestamps");
    let mut found = engine.evaluate(&inventory.correlate(now));
    found.sort_by(|a, b| (&a.rule, &a.subject).cmp(&(&b.rule, &b.subject)));
    (
        serde_json::to_value(&found).expect("findings serialise"),
        kept,
    )
}

#[test]
fn sieved_and_whole_inventories_give_the_same_findings() {
    let engine = Engine::new(engine::load_rules(&[], true).expect("built-in rules load"));
    let filter = engine.prefilter(FactKind::Event, DECIDED_EVENT_FIELDS);
    let sieve = Sieve::events(move |event| filter.may_match(event));
    let mut dropped = 0;
    let mut compared = 0;
    for entry in std::fs::read_dir(support::repo().join("testdata")).expect("testdata") {
        let path = entry.expect("an entry").path();
        if !path.join("expected.yaml").is_file() {
            continue;
        }
        let (whole, all_events) = findings(&engine, &path, &Sieve::default());
        let (sieved, kept_events) = findings(&engine, &path, &sieve);
        assert_eq!(
            whole,
            sieved,
            "{}: the sieve changed findings",
            path.display()
        );
        assert!(kept_events <= all_events);
        dropped += all_events - kept_events;
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} scenarios compared");
    // The scenarios hold "Pulled", "Created", "Started": the sieve must
    // actually let some go, or this test proves nothing.
    assert!(dropped > 20, "only {dropped} events were sieved out");
}

#[test]
fn a_custom_rule_about_a_chatty_event_still_sees_it() {
    let rules = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        rules.path().join("sidecar-cached.yaml"),
        r#"id: ACME-001
title: "Image {image} came from the node's cache"
category: runtime
severity: info
fact: event
match:
  reason: {equals: Pulled}
  message: 'Container image "(?P<image>[^"]+)" already present on machine'
explain: "{subject}: {image} was already on the node."
remediation: Nothing to do.
examples:
  - fact: {reason: Pulled, message: 'Container image "polyaxon/polyaxon-sidecar:2.4.0" already present on machine'}
  - fact: {reason: Pulled, message: 'Successfully pulled image "busybox" in 1.2s'}
    matches: false
"#,
    )
    .expect("the rule is written");
    let dir = rules.path().to_string_lossy().into_owned();
    let (report, _) = check_json(&testdata("healthy"), &["--rules", &dir]);
    let custom: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|finding| finding["rule"] == "ACME-001")
        .collect();
    assert!(!custom.is_empty(), "the custom rule saw no event: {report}");
    assert!(custom.iter().any(|finding| {
        finding["explanation"]
            .as_str()
            .is_some_and(|text| text.contains("polyaxon/polyaxon-sidecar:2.4.0"))
    }));
    // Without the custom rule, the same events are sieved out and nothing
    // is said of them.
    let (plain, _) = check_json(&testdata("healthy"), &[]);
    assert!(
        !plain["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|finding| finding["rule"] == "ACME-001")
    );
}
