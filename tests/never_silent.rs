//! Never silent (product.md): invariants every scenario under testdata/ must
//! keep, whatever its wording and whether its events still exist.
//!
//! (a) every run pod that is neither Running-and-ready nor Succeeded has a
//!     finding about it or its run;
//! (b) with every Event removed (the API server drops them after an hour),
//!     every run that had a warning or error and still has objects keeps one;
//! (c) every Warning event about a run's object that is not healthy now is
//!     cited by some finding, as its evidence or in its words.
//!
//! The test reads the snapshots itself (not through pxdoctor's facts), so a
//! bug in the facts cannot hide a silent run.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{check_json, repo};

/// Every object in a scenario, by the file it came from (relative path).
fn objects(dir: &Path) -> Vec<(PathBuf, Vec<Value>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&current)
            .expect("scenario dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).expect("inside").to_path_buf();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "expected.yaml"
                || relative.starts_with("logs")
                || relative.starts_with("probes")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            let documents: Vec<Value> = if name.ends_with(".json") {
                vec![serde_json::from_str(&text).expect("scenario JSON parses")]
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                serde_saphyr::from_multiple(&text).expect("scenario YAML parses")
            } else {
                continue;
            };
            let mut items = Vec::new();
            for document in documents {
                // Typed lists (cluster-info dump) leave the kind to the list.
                let item_kind = kind(&document)
                    .strip_suffix("List")
                    .unwrap_or("")
                    .to_string();
                match document.get("items").and_then(Value::as_array) {
                    Some(list) => items.extend(list.iter().cloned().map(|mut item| {
                        if kind(&item).is_empty() && !item_kind.is_empty() {
                            item["kind"] = Value::from(item_kind.clone());
                        }
                        item
                    })),
                    None => items.push(document),
                }
            }
            out.push((relative, items));
        }
    }
    out
}

/// A copy of the scenario without Event objects, as after `--event-ttl`.
fn without_events(name: &str) -> tempfile::TempDir {
    let source = repo().join("testdata").join(name);
    let copy = tempfile::tempdir().expect("temp dir");
    for (relative, items) in objects(&source) {
        let kept: Vec<Value> = items.into_iter().filter(|o| kind(o) != "Event").collect();
        let target = copy.path().join(relative).with_extension("json");
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": kept});
        std::fs::write(&target, serde_json::to_string_pretty(&list).expect("json")).expect("write");
    }
    for extra in ["logs", "probes"] {
        let from = source.join(extra);
        if from.is_dir() {
            copy_dir(&from, &copy.path().join(extra));
        }
    }
    copy
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn kind(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or("")
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The run a pod belongs to (Polyaxon's labels), if any.
fn pod_run(pod: &Value) -> Option<String> {
    let labels = &pod["metadata"]["labels"];
    (labels["app.kubernetes.io/managed-by"] == "polyaxon")
        .then(|| {
            labels["app.kubernetes.io/instance"]
                .as_str()
                .map(str::to_string)
        })
        .flatten()
}

/// The run uuid in a name like plx-operation-<uuid>[-suffix].
fn uuid_in_name(name: &str) -> Option<String> {
    let rest = name.strip_prefix("plx-operation-")?;
    let uuid: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (uuid.len() == 32).then_some(uuid)
}

fn healthy(pod: &Value) -> bool {
    let phase = text(pod, "/status/phase");
    let ready = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
    phase == "Succeeded" || (phase == "Running" && ready)
}

/// The scenario's "now" as pxdoctor takes it from a snapshot: its newest
/// event or pod creation.
fn now(objects: &[Value]) -> Option<jiff::Timestamp> {
    let times = objects.iter().flat_map(|o| match kind(o) {
        "Event" => vec![
            text(o, "/lastTimestamp"),
            text(o, "/eventTime"),
            text(o, "/firstTimestamp"),
            text(o, "/series/lastObservedTime"),
        ],
        "Pod" => vec![text(o, "/metadata/creationTimestamp")],
        _ => Vec::new(),
    });
    times
        .filter_map(|t| t.parse::<jiff::Timestamp>().ok())
        .max()
}

/// Younger than the grace period (5 minutes): not yet a problem.
fn young(pod: &Value, now: Option<jiff::Timestamp>) -> bool {
    let created = text(pod, "/metadata/creationTimestamp").parse::<jiff::Timestamp>();
    match (now, created) {
        (Some(now), Ok(created)) => (now - created).get_seconds() < 300,
        _ => false,
    }
}

fn scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("testdata"))
        .expect("testdata")
        .flatten()
        .filter(|entry| entry.path().join("expected.yaml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn all(name: &str) -> Vec<Value> {
    objects(&repo().join("testdata").join(name))
        .into_iter()
        .flat_map(|(_, items)| items)
        .collect()
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("findings")
}

fn about_run(finding: &Value, uuid: &str) -> bool {
    finding["subject"]["run"]["uuid"] == uuid
}

fn serious(finding: &Value) -> bool {
    finding["severity"] == "error" || finding["severity"] == "warning"
}

#[test]
fn every_unwell_run_pod_has_a_finding() {
    let mut silent = Vec::new();
    let mut judged = 0;
    for name in scenarios() {
        let (report, _) = check_json(&repo().join("testdata").join(&name), &[]);
        let objects = all(&name);
        let now = now(&objects);
        for pod in objects.iter().filter(|o| kind(o) == "Pod") {
            let (Some(uuid), false) = (pod_run(pod), healthy(pod) || young(pod, now)) else {
                continue;
            };
            judged += 1;
            let pod_name = text(pod, "/metadata/name");
            let found = findings(&report)
                .iter()
                .any(|f| about_run(f, &uuid) || f["subject"]["name"] == pod_name);
            if !found {
                silent.push(format!(
                    "{name}: {pod_name} ({})",
                    text(pod, "/status/phase")
                ));
            }
        }
    }
    assert!(
        judged > 20,
        "the scenarios have unwell run pods to judge ({judged})"
    );
    assert!(
        silent.is_empty(),
        "run pods without any finding: {silent:#?}"
    );
}

#[test]
fn runs_keep_a_finding_when_their_events_are_gone() {
    let mut lost = Vec::new();
    let mut judged = 0;
    for name in scenarios() {
        // No PXDOCTOR_NOW: without events, the snapshot's own status
        // times must still tell how long a run has waited.
        let (with, _) = check_json(&repo().join("testdata").join(&name), &[]);
        let stripped = without_events(&name);
        let (without, _) = check_json(stripped.path(), &[]);
        // Runs that still have an object once events are gone.
        let mut remaining: BTreeSet<String> = BTreeSet::new();
        for object in all(&name).iter().filter(|o| kind(o) != "Event") {
            let by_name = uuid_in_name(text(object, "/metadata/name"));
            remaining.extend(pod_run(object).or(by_name));
        }
        let had: BTreeSet<String> = findings(&with)
            .iter()
            .filter(|f| serious(f))
            .filter_map(|f| f["subject"]["run"]["uuid"].as_str().map(str::to_string))
            .filter(|uuid| remaining.contains(uuid))
            .collect();
        for uuid in had {
            judged += 1;
            let kept: Vec<&Value> = findings(&without)
                .iter()
                .filter(|f| serious(f) && about_run(f, &uuid))
                .collect();
            if kept.is_empty() {
                let before: BTreeMap<&str, &str> = findings(&with)
                    .iter()
                    .filter(|f| about_run(f, &uuid))
                    .map(|f| {
                        (
                            f["rule"].as_str().unwrap_or(""),
                            f["title"].as_str().unwrap_or(""),
                        )
                    })
                    .collect();
                lost.push(format!("{name}: run {uuid} had {before:?}"));
            }
        }
    }
    assert!(
        judged > 20,
        "the scenarios have broken runs to judge ({judged})"
    );
    assert!(
        lost.is_empty(),
        "runs that fell silent without events: {lost:#?}"
    );
}

#[test]
fn every_warning_event_about_an_unwell_run_is_cited() {
    let mut uncited = Vec::new();
    let mut judged = 0;
    for name in scenarios() {
        let objects = all(&name);
        let (report, _) = check_json(&repo().join("testdata").join(&name), &[]);
        let pods: BTreeMap<(&str, &str), &Value> = objects
            .iter()
            .filter(|o| kind(o) == "Pod")
            .map(|p| {
                (
                    (text(p, "/metadata/namespace"), text(p, "/metadata/name")),
                    p,
                )
            })
            .collect();
        let cited = |reason: &str, message: &str| {
            findings(&report).iter().any(|f| {
                let in_evidence = f["evidence"].as_array().is_some_and(|list| {
                    list.iter().any(|e| {
                        e["kind"] == "Event" && e["reason"] == reason && e["message"] == message
                    })
                });
                in_evidence || f["explanation"].as_str().unwrap_or("").contains(message)
            })
        };
        for event in objects.iter().filter(|o| kind(o) == "Event") {
            if text(event, "/type") != "Warning" {
                continue;
            }
            let namespace = text(event, "/metadata/namespace");
            let (involved_kind, involved) = (
                text(event, "/involvedObject/kind"),
                text(event, "/involvedObject/name"),
            );
            let of_run = match involved_kind {
                "Pod" => pods
                    .get(&(namespace, involved))
                    .is_some_and(|pod| pod_run(pod).is_some() && !healthy(pod)),
                _ => uuid_in_name(involved).is_some_and(|uuid| {
                    // A run whose pods are all healthy now is history.
                    !pods
                        .values()
                        .any(|p| pod_run(p).as_deref() == Some(&uuid) && healthy(p))
                }),
            };
            if !of_run {
                continue;
            }
            judged += 1;
            let (reason, message) = (text(event, "/reason"), text(event, "/message"));
            if !cited(reason, message) {
                uncited.push(format!(
                    "{name}: {involved_kind} {involved}: {reason}: {message}"
                ));
            }
        }
    }
    assert!(
        judged > 20,
        "the scenarios have warning events to judge ({judged})"
    );
    assert!(
        uncited.is_empty(),
        "warning events no finding cites: {uncited:#?}"
    );
}
