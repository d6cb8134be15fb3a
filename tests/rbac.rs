//! Missing permissions of Polyaxon's service accounts, end to end from a
//! snapshot: the grant a finding proposes, applied the way kubectl would
//! apply it, makes the finding go away; partial grants shrink it to exactly
//! what is still missing; and without the RBAC objects, or outside the
//! namespaces asked about, nothing is claimed.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{check_json, testdata};

const SCENARIO: &str = "missing-rolebinding";
const AGENT: &str = "ml-team/system:serviceaccount:polyaxon:plx-polyaxon-agent-sa";
const RUNS: &str = "ml-team/system:serviceaccount:ml-team:plx-polyaxon-runs-sa";
/// Labelled `component: polyaxon-agent` as every chart labels it; told
/// apart by its service account.
const OPERATOR: &str = "ml-team/system:serviceaccount:polyaxon:plx-polyaxon-operator-sa";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "expected.yaml" {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn scenario_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&testdata(SCENARIO), dir.path());
    dir
}

/// The PXD-AUTH-004 findings, by subject.
fn permission_findings(snapshot: &Path, extra: &[&str]) -> Vec<(String, Value)> {
    let (report, _) = check_json(snapshot, extra);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "PXD-AUTH-004")
        .map(|f| (support::subject(f), f.clone()))
        .collect()
}

/// Every `kubectl create ...` command in a remediation, in order. They end
/// at the end of their line, or at a period or colon that ends a sentence.
fn kubectl_commands(remediation: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut rest = remediation;
    while let Some(at) = rest.find("kubectl create ") {
        let tail = &rest[at..];
        let end = [
            tail.find('\n'),
            tail.find(". "),
            tail.find("):"),
            Some(tail.len()),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap();
        commands.push(tail[..end].trim_end_matches('.').to_string());
        rest = &tail[end..];
    }
    commands
}

/// What `kubectl create role|rolebinding|serviceaccount` would create, as
/// kubectl writes objects: `--resource=jobs.batch/status` is resource
/// `jobs/status` of group `batch`, one rule per group.
fn kubectl_object(command: &str) -> Value {
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&words[..2], &["kubectl", "create"], "{command}");
    let (kind, name) = (words[2], words[3]);
    let mut namespace = None;
    let mut flags: Vec<(&str, &str)> = Vec::new();
    let mut i = 4;
    while i < words.len() {
        if words[i] == "-n" {
            namespace = Some(words[i + 1]);
            i += 2;
            continue;
        }
        let (flag, value) = words[i]
            .strip_prefix("--")
            .and_then(|f| f.split_once('='))
            .unwrap_or_else(|| panic!("unexpected word {:?} in {command}", words[i]));
        flags.push((flag, value));
        i += 1;
    }
    let namespace = namespace.unwrap_or_else(|| panic!("no -n in {command}"));
    let flag = |name: &str| {
        flags
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no --{name} in {command}"))
    };
    let metadata = json!({"name": name, "namespace": namespace});
    match kind {
        "serviceaccount" => {
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata})
        }
        "role" => {
            let verbs: Vec<&str> = flag("verb").split(',').collect();
            let mut groups: Vec<(String, Vec<String>)> = Vec::new();
            for resource in flag("resource").split(',') {
                let (head, sub) = match resource.split_once('/') {
                    Some((head, sub)) => (head, format!("/{sub}")),
                    None => (resource, String::new()),
                };
                let (plural, group) = head.split_once('.').unwrap_or((head, ""));
                let entry = match groups.iter_mut().find(|(g, _)| g == group) {
                    Some(entry) => entry,
                    None => {
                        groups.push((group.to_string(), Vec::new()));
                        groups.last_mut().unwrap()
                    }
                };
                entry.1.push(format!("{plural}{sub}"));
            }
            let rules: Vec<Value> = groups
                .into_iter()
                .map(|(group, resources)| {
                    json!({"apiGroups": [group], "resources": resources, "verbs": verbs})
                })
                .collect();
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata, "rules": rules})
        }
        "rolebinding" => {
            let (sa_namespace, sa_name) = flag("serviceaccount").split_once(':').unwrap();
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": metadata,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": flag("role")},
                "subjects": [{"kind": "ServiceAccount", "name": sa_name, "namespace": sa_namespace}],
            })
        }
        other => panic!("kubectl create {other} is not a grant: {command}"),
    }
}

fn write_objects(dir: &Path, file: &str, objects: Vec<Value>) {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    std::fs::write(dir.join(file), serde_json::to_string_pretty(&list).unwrap()).unwrap();
}

#[test]
fn applying_the_proposed_grants_makes_the_findings_go_away() {
    let dir = scenario_copy();
    let findings = permission_findings(dir.path(), &[]);
    let subjects: Vec<&str> = findings.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(subjects, vec![RUNS, AGENT, OPERATOR]);

    // The operator's grant first: its finding goes, and nothing of the
    // agent's needs came with it.
    let operator = &findings[2].1;
    let objects: Vec<Value> = kubectl_commands(operator["remediation"].as_str().unwrap())
        .iter()
        .map(|c| kubectl_object(c))
        .collect();
    write_objects(dir.path(), "operator-grant.json", objects);
    let findings = permission_findings(dir.path(), &[]);
    let subjects: Vec<&str> = findings.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(subjects, vec![RUNS, AGENT]);

    // The agent's grant alone: its finding goes, the runs' stays.
    let agent = &findings[1].1;
    let commands = kubectl_commands(agent["remediation"].as_str().unwrap());
    assert_eq!(
        commands.len(),
        10,
        "five Roles and their RoleBindings: {commands:#?}"
    );
    assert!(commands.iter().all(|c| c.contains(" -n ml-team ")));
    let objects: Vec<Value> = commands.iter().map(|c| kubectl_object(c)).collect();
    write_objects(dir.path(), "agent-grant.json", objects);
    let after = permission_findings(dir.path(), &[]);
    let subjects: Vec<&str> = after.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(subjects, vec![RUNS], "only the runs' finding is left");

    // The runs' grant, with the service account it says to create first.
    let runs = &after[0].1;
    let commands = kubectl_commands(runs["remediation"].as_str().unwrap());
    assert!(
        commands
            .iter()
            .any(|c| c == "kubectl create serviceaccount plx-polyaxon-runs-sa -n ml-team"),
        "{commands:#?}"
    );
    let objects: Vec<Value> = commands.iter().map(|c| kubectl_object(c)).collect();
    write_objects(dir.path(), "runs-grant.json", objects);
    let (report, code) = check_json(dir.path(), &[]);
    assert_eq!(report["findings"], json!([]), "{report:#}");
    assert_eq!(code, 0);
}

#[test]
fn rbac_does_not_care_whether_the_service_account_exists_yet() {
    let dir = scenario_copy();
    let findings = permission_findings(dir.path(), &[]);
    let runs = &findings[0].1;
    let grants: Vec<Value> = kubectl_commands(runs["remediation"].as_str().unwrap())
        .iter()
        .filter(|c| !c.starts_with("kubectl create serviceaccount"))
        .map(|c| kubectl_object(c))
        .collect();
    write_objects(dir.path(), "runs-grant.json", grants);
    // RBAC now allows everything the runs need, so no permission is
    // missing; only the account is, which PXD-AUTH-003 reports when a pod
    // is refused for it.
    let after = permission_findings(dir.path(), &[]);
    let subjects: Vec<&str> = after.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(subjects, vec![AGENT, OPERATOR], "{after:#?}");
}

#[test]
fn a_binding_to_the_aggregated_edit_role_leaves_only_what_edit_lacks() {
    let dir = scenario_copy();
    // `edit` aggregates system:aggregate-to-edit and `view` (itself
    // aggregated): everything the agent needs but Polyaxon's own resource.
    // Their stored rules are emptied, as before the aggregation controller
    // has run: the selected roles' rules must still count.
    let path = dir.path().join("cluster/clusterroles.json");
    let mut roles: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for role in roles["items"].as_array_mut().unwrap() {
        if role.get("aggregationRule").is_some() {
            role["rules"] = json!([]);
        }
    }
    std::fs::write(&path, roles.to_string()).unwrap();
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "polyaxon-agent-edit", "namespace": "ml-team"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "plx-polyaxon-agent-sa", "namespace": "polyaxon"}],
    });
    write_objects(dir.path(), "edit.json", vec![binding]);
    let findings = permission_findings(dir.path(), &[]);
    let (_, agent) = findings
        .iter()
        .find(|(s, _)| s == AGENT)
        .expect("agent finding");
    let explanation = agent["explanation"].as_str().unwrap();
    assert!(
        explanation.contains(
            "may not: create, delete, get, list, patch, watch on operations.core.polyaxon.com."
        ),
        "{explanation}"
    );
    assert!(
        explanation
            .contains("What RoleBinding ml-team/polyaxon-agent-edit grants it there falls short"),
        "{explanation}"
    );
    let remediation = agent["remediation"].as_str().unwrap();
    assert!(
        remediation.contains(
            "--verb=create,delete,get,list,patch,watch --resource=operations.core.polyaxon.com\n"
        ),
        "{remediation}"
    );
    assert!(!remediation.contains("--resource=pods"), "{remediation}");
}

#[test]
fn without_every_rbac_kind_nothing_is_claimed() {
    for removed in [
        "cluster/clusterroles.json",
        "cluster/clusterrolebindings.json",
        "namespaces/polyaxon/roles.json",
    ] {
        let dir = scenario_copy();
        std::fs::remove_file(dir.path().join(removed)).unwrap();
        // Without Roles the chart's own grant in polyaxon is unknown too.
        let findings = permission_findings(dir.path(), &[]);
        assert!(findings.is_empty(), "without {removed}: {findings:#?}");
    }
    // Without RoleBindings anywhere the kind was never delivered either.
    let dir = scenario_copy();
    std::fs::remove_file(dir.path().join("namespaces/polyaxon/rolebindings.json")).unwrap();
    std::fs::remove_file(dir.path().join("namespaces/ml-team/rolebindings.json")).unwrap();
    assert!(permission_findings(dir.path(), &[]).is_empty());
}

#[test]
fn an_empty_role_binding_list_is_an_answer_not_a_gap() {
    // `kubectl get rolebindings -n ml-team -o json` with nothing in it: the
    // kind was delivered, so ml-team is judged.
    let dir = scenario_copy();
    std::fs::write(
        dir.path().join("namespaces/ml-team/rolebindings.json"),
        r#"{"apiVersion": "v1", "kind": "RoleBindingList", "metadata": {"resourceVersion": ""}, "items": []}"#,
    )
    .unwrap();
    assert_eq!(permission_findings(dir.path(), &[]).len(), 3);
}

#[test]
fn only_the_namespaces_asked_about_are_judged() {
    let dir = testdata(SCENARIO);
    assert!(permission_findings(&dir, &["-n", "polyaxon"]).is_empty());
    assert_eq!(permission_findings(&dir, &["-n", "ml-team"]).len(), 3);
}

#[test]
fn the_runs_in_polyaxon_are_fine_and_the_agent_there_too() {
    // The chart's Role covers everything in polyaxon: a finding there would
    // mean the table asks for more than the chart grants.
    let (report, _) = check_json(&testdata(SCENARIO), &[]);
    let findings = report["findings"].as_array().unwrap();
    // ml-team's findings are there: the loop below has something to judge.
    assert!(!findings.is_empty());
    for finding in findings {
        assert_eq!(finding["subject"]["namespace"], "ml-team", "{finding:#}");
    }
}

/// `pxdoctor access ARGS -o json`: the document and the exit code.
fn access(args: &[&str]) -> (Value, i32, String) {
    let mut all = vec!["access"];
    all.extend(args);
    all.extend(["-o", "json"]);
    let output = support::pxdoctor(&all);
    let document = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (
        document,
        output.status.code().unwrap_or(-1),
        support::stderr(&output),
    )
}

fn rows_in<'a>(document: &'a Value, namespace: &str) -> Vec<&'a Value> {
    document["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["namespace"] == namespace)
        .collect()
}

fn serve(
    dir: &Path,
    options: support::apiserver::Options,
) -> (support::apiserver::ApiServer, tempfile::TempDir, String) {
    let server = support::apiserver::ApiServer::start(dir, options);
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(home.path());
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    (server, home, kubeconfig)
}

#[test]
fn access_shows_every_grant_and_its_kubectl_lines_make_it_whole_live() {
    let dir = scenario_copy();
    let snapshot = dir.path().to_string_lossy().into_owned();
    let (offline, code, said) = access(&["--snapshot", &snapshot]);
    assert_eq!(code, 1, "{said}");
    let ml_team = rows_in(&offline, "ml-team");
    let polyaxon = rows_in(&offline, "polyaxon");
    assert!(ml_team.len() > 50 && polyaxon.len() == ml_team.len());
    assert!(
        ml_team
            .iter()
            .all(|r| r["granted"] == false && r["via"].is_null())
    );
    assert!(polyaxon.iter().all(|r| r["granted"] == true));
    let agent_pods = polyaxon
        .iter()
        .find(|r| r["component"] == "agent" && r["resource"] == "pods" && r["verb"] == "create")
        .expect("the agent creates pods");
    assert_eq!(
        agent_pods["via"],
        json!({
            "binding": "RoleBinding polyaxon/plx-polyaxon-agent-role-binding",
            "role": "Role polyaxon/plx-polyaxon-agent-role",
            "aggregated_from": null,
        })
    );
    assert!(
        ml_team
            .iter()
            .any(|r| r["subject"] == "system:serviceaccount:ml-team:plx-polyaxon-runs-sa"),
        "the runs' account is the one in the run namespace"
    );

    // The same from the cluster.
    let (server, _home, kubeconfig) = serve(dir.path(), Default::default());
    let (live, code, said) = access(&["--kubeconfig", &kubeconfig]);
    assert_eq!(code, 1, "{said}");
    assert_eq!(live["rows"], offline["rows"]);
    drop(server);

    // The printed lines, applied as kubectl would: everything is granted.
    let commands: Vec<String> = live["grants"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["commands"].as_array().unwrap().clone())
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(commands.len(), 10 + 6 + 2, "{commands:#?}");
    assert!(commands.iter().all(|c| c.contains(" -n ml-team ")));
    write_objects(
        dir.path(),
        "access-grants.json",
        commands.iter().map(|c| kubectl_object(c)).collect(),
    );
    let (_server, _home, kubeconfig) = serve(dir.path(), Default::default());
    let (after, code, said) = access(&["--kubeconfig", &kubeconfig]);
    assert_eq!(code, 0, "{said}");
    assert!(
        after["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["granted"] == true)
    );
    assert_eq!(after["grants"], json!([]));

    // The table: a matrix per account, the bindings, the lines.
    let table = support::pxdoctor(&[
        "access",
        "--snapshot",
        &testdata(SCENARIO).to_string_lossy(),
    ]);
    let text = support::stdout(&table);
    assert!(text.contains(
        "✓ via RoleBinding polyaxon/plx-polyaxon-agent-role-binding → Role polyaxon/plx-polyaxon-agent-role"
    ));
    assert!(text.contains("agent system:serviceaccount:polyaxon:plx-polyaxon-agent-sa in ml-team"));
    assert!(text.contains(
        "kubectl create rolebinding pxdoctor-plx-polyaxon-runs-sa-get-list-watch -n ml-team"
    ));
    assert!(
        text.contains("115 missing, 115 granted, 0 unknown"),
        "{text}"
    );
    let markdown = support::pxdoctor(&[
        "access",
        "--snapshot",
        &testdata(SCENARIO).to_string_lossy(),
        "-o",
        "markdown",
    ]);
    assert!(support::stdout(&markdown).contains("| `pods/log` | ✗ | ✗ | ✗ |"));
}

#[test]
fn access_checks_other_accounts_and_never_turns_unread_rbac_into_missing() {
    let snapshot = testdata(SCENARIO).to_string_lossy().into_owned();
    let other = "system:serviceaccount:ml-team:reader";
    let (document, code, said) = access(&["--snapshot", &snapshot, "--subject", other]);
    assert_eq!(code, 1, "{said}");
    let rows: Vec<&Value> = document["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["subject"] == other)
        .collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["component"].is_null() && r["granted"] == false)
    );
    let namespaces: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(namespaces, ["ml-team", "polyaxon"].into());

    let (_, code, said) = access(&["--snapshot", &snapshot, "--subject", "reader"]);
    assert_eq!(code, 2, "{said}");
    assert!(
        said.contains("--subject") && said.contains("system:serviceaccount:NAMESPACE:NAME"),
        "{said}"
    );

    // Roles in ml-team unreadable: its cells are unknown, not missing.
    let forbid = |resource: &str, namespace: Option<&str>| support::apiserver::Forbidden {
        verb: "*".into(),
        resource: resource.into(),
        group: "rbac.authorization.k8s.io".into(),
        namespace: namespace.map(str::to_string),
    };
    let options = support::apiserver::Options {
        forbidden: vec![forbid("roles", Some("ml-team"))],
        ..Default::default()
    };
    let (_server, _home, kubeconfig) = serve(&testdata(SCENARIO), options);
    let (document, code, said) = access(&["--kubeconfig", &kubeconfig]);
    let ml_team = rows_in(&document, "ml-team");
    assert!(!ml_team.is_empty(), "{said}");
    assert!(ml_team.iter().all(|r| r["granted"].is_null()), "{said}");
    assert_eq!(code, 0, "nothing known to be missing: {said}");

    // No ClusterRoles at all: nothing can be said; exit 3 naming the grant.
    let options = support::apiserver::Options {
        forbidden: vec![forbid("clusterroles", None)],
        ..Default::default()
    };
    let (_server, _home, kubeconfig) = serve(&testdata(SCENARIO), options);
    let (_, code, said) = access(&["--kubeconfig", &kubeconfig]);
    assert_eq!(code, 3, "{said}");
    assert!(
        said.contains("list clusterroles at the cluster scope"),
        "{said}"
    );
    assert!(
        said.contains("kubectl create clusterrole pxdoctor-rbac-reader"),
        "{said}"
    );
}
