//! Polyaxon's chart as the oracle (testdata/charts/, rendered from
//! polyaxon/charts by tests/support/render_chart.py; each SOURCE.md says
//! the tag and values): a correct install gets no permission finding, and
//! removing any one rule of any Role or ClusterRole the chart creates is
//! reported for exactly the accounts bound to it and exactly the resources
//! of that rule — or, where pxdoctor stays silent, the rule is one that
//! src/facts/access/needs.rs and docs/wording/polyaxon-rbac.md say runs do
//! not need.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pxdoctor::engine::Engine;
use pxdoctor::report::finding::Finding;
use serde_json::Value;
use support::repo;

fn charts() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("testdata/charts"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("SOURCE.md").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn engine() -> Engine {
    Engine::new(pxdoctor::engine::load_rules(&[], true).expect("built-in rules"))
}

/// The findings pxdoctor gives for a snapshot directory.
fn findings(engine: &Engine, dir: &Path) -> Vec<Finding> {
    let inventory = pxdoctor::source::snapshot::load(dir).expect("the snapshot loads");
    let now = jiff::Timestamp::UNIX_EPOCH;
    engine.evaluate(&inventory.correlate(now))
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_correct_install_of_every_chart_generation_gets_no_permission_finding() {
    let engine = engine();
    let dirs = charts();
    assert!(dirs.len() >= 10, "{dirs:?}");
    for dir in dirs {
        let auth: Vec<String> = findings(&engine, &dir)
            .iter()
            .filter(|f| f.rule.starts_with("PXD-AUTH"))
            .map(|f| format!("{} {} {}", f.rule, f.subject.name, f.explanation))
            .collect();
        assert!(auth.is_empty(), "{}: {auth:#?}", dir.display());
    }
}

/// Rules the chart grants that pxdoctor does not require, each with why
/// (the same reasons as needs.rs and docs/wording/polyaxon-rbac.md).
fn not_required(rule: &Value) -> Option<&'static str> {
    let groups: Vec<&str> = rule["apiGroups"]
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let verbs: Vec<&str> = rule["verbs"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if groups == ["metrics.k8s.io"] {
        return Some("metrics.k8s.io is an aggregated API that exists only with metrics-server");
    }
    if verbs == ["deletecollection"] {
        return Some("only 2.12+'s single-namespace Role grants deletecollection on pods");
    }
    None
}

/// (group, resource, verb) triples a rule grants.
fn grants(rule: &Value) -> BTreeSet<(String, String, String)> {
    let strings = |key: &str| -> Vec<String> {
        rule[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = BTreeSet::new();
    for group in strings("apiGroups") {
        for resource in strings("resources") {
            for verb in strings("verbs") {
                out.insert((group.clone(), resource.clone(), verb));
            }
        }
    }
    out
}

/// Whether the role's other rules grant all the removed one does (the
/// chart repeats operations/finalizers' update from 2.0).
fn redundant(rules: &[Value], removed: usize) -> bool {
    let rest: BTreeSet<_> = rules
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != removed)
        .flat_map(|(_, rule)| grants(rule))
        .collect();
    grants(&rules[removed]).is_subset(&rest)
}

/// The qualified names (kubectl's `pods/log`, `jobs.batch`) a rule covers.
fn qualified(rule: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for group in rule["apiGroups"].as_array().into_iter().flatten() {
        for resource in rule["resources"].as_array().into_iter().flatten() {
            let (group, resource) = (group.as_str().unwrap(), resource.as_str().unwrap());
            let (base, sub) = match resource.split_once('/') {
                Some((base, sub)) => (base, format!("/{sub}")),
                None => (resource, String::new()),
            };
            names.insert(if group.is_empty() {
                format!("{base}{sub}")
            } else {
                format!("{base}.{group}{sub}")
            });
        }
    }
    names
}

/// The accounts (`system:serviceaccount:NS:NAME`) bound to a role.
fn bound(dir: &Path, kind: &str, role: &str, namespace: Option<&str>) -> BTreeSet<String> {
    let files = if kind == "Role" {
        ["rolebindings.json"].as_slice()
    } else {
        ["rolebindings.json", "clusterrolebindings.json"].as_slice()
    };
    let mut accounts = BTreeSet::new();
    for file in files {
        for binding in read(&dir.join(file))["items"].as_array().unwrap() {
            let same_namespace =
                kind != "Role" || binding["metadata"]["namespace"].as_str() == namespace;
            if binding["roleRef"]["kind"] == kind
                && binding["roleRef"]["name"] == role
                && same_namespace
            {
                for subject in binding["subjects"].as_array().into_iter().flatten() {
                    accounts.insert(format!(
                        "system:serviceaccount:{}:{}",
                        subject["namespace"].as_str().unwrap_or(""),
                        subject["name"].as_str().unwrap_or("")
                    ));
                }
            }
        }
    }
    accounts
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn removing_any_rule_the_chart_grants_is_reported_for_exactly_its_accounts_and_resources() {
    let engine = engine();
    let mut table = vec!["| chart | role | removed rule | pxdoctor said |".to_string()];
    table.push("|---|---|---|---|".into());
    let mut wrong = Vec::new();
    let mut mutations = 0;
    for dir in charts() {
        let chart = dir.file_name().unwrap().to_string_lossy().into_owned();
        for (file, kind) in [("roles.json", "Role"), ("clusterroles.json", "ClusterRole")] {
            let list = read(&dir.join(file));
            for (r, role) in list["items"].as_array().unwrap().iter().enumerate() {
                let name = role["metadata"]["name"].as_str().unwrap();
                let namespace = role["metadata"]["namespace"].as_str();
                let accounts = bound(&dir, kind, name, namespace);
                let rules = role["rules"].as_array().cloned().unwrap_or_default();
                for (i, rule) in rules.iter().enumerate() {
                    mutations += 1;
                    let work = tempfile::tempdir().unwrap();
                    copy_dir(&dir, work.path());
                    let mut mutated = list.clone();
                    mutated["items"][r]["rules"]
                        .as_array_mut()
                        .unwrap()
                        .remove(i);
                    std::fs::write(work.path().join(file), mutated.to_string()).unwrap();
                    let removed = qualified(rule);
                    let found: Vec<Finding> = findings(&engine, work.path())
                        .into_iter()
                        .filter(|f| f.rule == "PXD-AUTH-004")
                        .collect();
                    let said = if found.is_empty() {
                        let why = not_required(rule).or_else(|| {
                            redundant(&rules, i)
                                .then_some("another rule of the role grants the same")
                        });
                        match why {
                            Some(why) => format!("nothing: {why}"),
                            None => {
                                wrong.push(format!(
                                    "{chart} {kind} {name} rule {i} {rule}: not reported"
                                ));
                                "NOTHING (wrong)".into()
                            }
                        }
                    } else {
                        let mut said = Vec::new();
                        for finding in &found {
                            let missing: BTreeSet<String> = finding
                                .evidence
                                .iter()
                                .filter(|e| e.kind == "RBAC")
                                .filter_map(|e| e.name.clone())
                                .collect();
                            let account = &finding.subject.name;
                            if !accounts.contains(account)
                                || missing.is_empty()
                                || !missing.is_subset(&removed)
                            {
                                wrong.push(format!(
                                    "{chart} {kind} {name} rule {i}: reported {account} missing {missing:?}; bound {accounts:?}, removed {removed:?}"
                                ));
                            }
                            said.push(format!(
                                "{} lacks {} in {}",
                                account.rsplit(':').next().unwrap_or(account),
                                missing.into_iter().collect::<Vec<_>>().join(", "),
                                finding.subject.namespace.as_deref().unwrap_or("")
                            ));
                        }
                        said.sort();
                        said.dedup();
                        said.join("; ")
                    };
                    table.push(format!(
                        "| {chart} | {name} | {} {} | {said} |",
                        rule["resources"], rule["verbs"]
                    ));
                }
            }
        }
    }
    eprintln!("{}", table.join("\n"));
    assert!(
        mutations > 150,
        "the charts' roles have rules to remove ({mutations})"
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}
