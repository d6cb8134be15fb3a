//! `check --run` fetches only what the runs need (src/source/run_scope.rs)
//! and must say what the full check says about them: on every scenario the
//! API server simulator serves, each run checked alone (by the prefix a user
//! types) gives exactly the full check's findings about that run, and all
//! runs at once (one `in (…)` selector) give all of them. Neither lists
//! every pod nor every event.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::apiserver::{ApiServer, Options, Request};
use support::{assert_valid_report, repo, stderr, stdout, testdata};

/// Every scenario's events are at most this recent: one "now" for both.
const NOW: &str = "2026-11-28T10:42:30Z";

/// testdata folders that are not cluster snapshots.
const NOT_SNAPSHOTS: [&str; 4] = ["charts", "configs", "polyaxonfiles", "wording"];

fn pxdoctor(args: &[&str], kubeconfig: &Path) -> Output {
    support::isolated_pxdoctor()
        .args(args)
        .env("PXDOCTOR_NOW", NOW)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("pxdoctor runs")
}

fn report(output: &Output, what: &str) -> Value {
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{what}: exit {:?}\n{}",
        output.status.code(),
        stderr(output)
    );
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{what}: {e}: {}", stdout(output)));
    assert_valid_report(&report);
    report
}

fn scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("testdata"))
        .expect("testdata")
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !NOT_SNAPSHOTS.contains(&name.as_str()))
        .collect();
    names.sort();
    names
}

/// The run uuids a scenario's files name: in `plx-operation-<uuid>` names
/// and `app.kubernetes.io/instance` labels.
fn uuids_in(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for marker in ["plx-operation-", "app.kubernetes.io/instance\": \""] {
            for (at, _) in text.match_indices(marker) {
                let rest = &text[at + marker.len()..];
                let hex: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
                if hex.len() == 32 {
                    found.insert(hex);
                }
            }
        }
    }
    found
}

fn about(findings: &Value, uuids: &BTreeSet<String>) -> Vec<Value> {
    findings
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| {
            f["subject"]["run"]["uuid"]
                .as_str()
                .is_some_and(|uuid| uuids.contains(uuid))
        })
        .cloned()
        .collect()
}

/// No request read every pod or every event of a scope.
fn assert_selected(requests: &[Request], what: &str) {
    for request in requests.iter().filter(|r| r.method == "GET") {
        let whole = !request.query.contains("Selector=");
        let lists_pods_or_events =
            request.path.ends_with("/pods") || request.path.ends_with("/events");
        assert!(
            !(whole && lists_pods_or_events),
            "{what}: {} {}?{} lists every object",
            request.method,
            request.path,
            request.query
        );
    }
}

#[test]
fn each_run_alone_gets_the_full_checks_findings_about_it_on_every_scenario() {
    let mut compared_runs = 0;
    let mut runs_with_findings = 0;
    for scenario in scenarios() {
        let dir = testdata(&scenario);
        let server = ApiServer::start(&dir, Options::default());
        let home = tempfile::tempdir().unwrap();
        let kubeconfig = server.write_kubeconfig(home.path());
        // Each run alone where Polyaxon runs (the default scope); all runs
        // at once there and with -A.
        let mut known = BTreeSet::new();
        for scope in [&[][..], &["-A"][..]] {
            let mut args = vec!["check", "-o", "json", "--no-s3"];
            args.extend(scope);
            let full = report(&pxdoctor(&args, &kubeconfig), &format!("{scenario} full"));
            let mut runs = BTreeSet::new();
            for uuid in uuids_in(&dir).iter().filter(|_| scope.is_empty()) {
                let before = server.requests().len();
                let prefix = &uuid[..8];
                let mut one = args.clone();
                one.extend(["--run", prefix]);
                let output = pxdoctor(&one, &kubeconfig);
                let what = format!("{scenario} {scope:?} --run {prefix}");
                let expected = about(&full["findings"], &BTreeSet::from([uuid.clone()]));
                if output.status.code() == Some(2) {
                    // A uuid in a file is not always a run pxdoctor knows
                    // (a pod without Polyaxon's labels): then the full check
                    // says nothing about it either.
                    assert!(
                        stderr(&output).contains("--run"),
                        "{what}: {}",
                        stderr(&output)
                    );
                    assert_eq!(expected, Vec::<Value>::new(), "{what}");
                    continue;
                }
                let scoped = report(&output, &what);
                assert_eq!(
                    scoped["findings"].as_array().unwrap(),
                    &expected,
                    "{what}: the run alone and the full check disagree"
                );
                assert_selected(&server.requests()[before..], &what);
                runs.insert(uuid.clone());
                compared_runs += 1;
                runs_with_findings += usize::from(!expected.is_empty());
            }

            if scope.is_empty() {
                known = runs.clone();
            }
            let runs = &known;
            // Every run at once: one selector, the same findings.
            let mut all = args.clone();
            let uuid_args: Vec<String> = runs.iter().map(|u| format!("--run={u}")).collect();
            all.extend(uuid_args.iter().map(String::as_str));
            if runs.is_empty() {
                continue;
            }
            let before = server.requests().len();
            let output = pxdoctor(&all, &kubeconfig);
            let what = format!("{scenario} {scope:?} every --run");
            let scoped = report(&output, &what);
            assert_eq!(
                scoped["findings"].as_array().unwrap(),
                &about(&full["findings"], runs),
                "{what}"
            );
            let requests = &server.requests()[before..];
            assert_selected(requests, &what);
            let pod_lists = requests
                .iter()
                .filter(|r| r.path.ends_with("/pods") && r.query.contains("instance"))
                .count();
            let scopes = if scope.is_empty() {
                full["source"]["namespaces"].as_array().map_or(1, Vec::len)
            } else {
                1
            };
            assert_eq!(
                pod_lists, scopes,
                "{what}: one pod list per namespace, {requests:#?}"
            );
        }
    }
    // The comparison compared something: most scenarios' runs have findings.
    assert!(compared_runs >= 60, "only {compared_runs} runs compared");
    assert!(
        runs_with_findings >= 40,
        "only {runs_with_findings} runs with findings"
    );
}

fn serve(scenario: &str) -> (ApiServer, tempfile::TempDir, std::path::PathBuf) {
    let server = ApiServer::start(&testdata(scenario), Options::default());
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(home.path());
    (server, home, kubeconfig)
}

#[test]
fn verbose_shows_the_selectors_and_a_run_takes_a_handful_of_requests() {
    let (server, _home, kubeconfig) = serve("gpu-shortage");
    let uuid = "2af43334aa172156f3b9a57fd315706b";
    let output = pxdoctor(
        &["check", "-A", "--run", uuid, "-v", "-o", "json", "--no-s3"],
        &kubeconfig,
    );
    let scoped = report(&output, "gpu-shortage -v --run");
    assert_eq!(scoped["summary"]["runs"], 1, "only the run asked about");
    let said = stderr(&output);
    for line in [
        format!(
            "pods in all namespaces, labelled app.kubernetes.io/managed-by=polyaxon,\
             app.kubernetes.io/instance in ({uuid})"
        ),
        format!("events in polyaxon, where involvedObject.name=plx-operation-{uuid}-fe36d"),
        // The Job's and custom resource's events, where the run's objects are.
        format!("events in polyaxon, where involvedObject.name=plx-operation-{uuid}"),
        // Pending for the scheduler: free capacity needs the pods on nodes.
        "pods in all namespaces, where spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"
            .to_string(),
    ] {
        assert!(said.contains(&line), "-v does not say `{line}`:\n{said}");
    }
    // version, discovery (2), configmaps, operations, jobs, pods, two event
    // lists, nodes, pods on nodes, and the access reviews of the two whole
    // lists (configmaps, nodes).
    let requests = server.requests();
    assert!(requests.len() <= 14, "{requests:#?}");
    assert_selected(&requests, "gpu-shortage --run");
}

#[test]
fn a_running_run_reads_only_its_own_node() {
    let (server, _home, kubeconfig) = serve("runtime-failures");
    let full = report(
        &pxdoctor(&["check", "-A", "-o", "json", "--no-s3"], &kubeconfig),
        "runtime-failures full",
    );
    // A run whose pod is on a node and not Pending: the node by name.
    let finding = full["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "PXD-RUN-001")
        .expect("runtime-failures has a crash-looping run");
    let uuid = finding["subject"]["run"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let before = server.requests().len();
    let output = pxdoctor(
        &["check", "-A", "--run", &uuid, "-o", "json", "--no-s3"],
        &kubeconfig,
    );
    let scoped = report(&output, "runtime-failures --run");
    assert_eq!(scoped["findings"][0], *finding);
    let requests = &server.requests()[before..];
    let nodes: Vec<&Request> = requests
        .iter()
        .filter(|r| r.path.contains("/nodes"))
        .collect();
    assert!(
        nodes.iter().all(|r| r.path.starts_with("/api/v1/nodes/")),
        "nodes by name only: {nodes:#?}"
    );
    assert!(
        !requests.iter().any(|r| r.query.contains("spec.nodeName")),
        "no pods on nodes for a run that is not waiting: {requests:#?}"
    );
}

#[test]
fn a_run_that_is_not_there_is_exit_2_naming_the_flag_and_where_it_looked() {
    let (_server, _home, kubeconfig) = serve("gpu-shortage");
    let prefix = pxdoctor(&["check", "--run", "ffff", "--no-s3"], &kubeconfig);
    assert_eq!(prefix.status.code(), Some(2), "{}", stderr(&prefix));
    let said = stderr(&prefix);
    assert!(
        said.contains("--run ffff: nothing in polyaxon belongs to this run")
            && said.contains("(-A looks in every namespace)"),
        "{said}"
    );
    let full = "f".repeat(32);
    let output = pxdoctor(&["check", "-A", "--run", &full, "--no-s3"], &kubeconfig);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains(&format!(
            "--run {full}: nothing in any namespace belongs to this run"
        )),
        "{said}"
    );
    assert!(!said.contains("-A looks"), "{said}");
}

#[test]
fn a_run_whose_pods_may_not_be_read_says_so_instead_of_not_existing() {
    let options = Options {
        forbidden: vec![support::apiserver::Forbidden {
            verb: "list".into(),
            resource: "pods".into(),
            group: String::new(),
            namespace: None,
        }],
        ..Options::default()
    };
    let server = ApiServer::start(&testdata("runtime-failures"), options);
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(home.path());
    // Nothing found, and the pods could not be listed: the answer says
    // both, since the run may well have pods.
    let uuid = "0123456789abcdef0123456789abcdef";
    let output = pxdoctor(&["check", "-A", "--run", uuid, "--no-s3"], &kubeconfig);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("nothing in any namespace belongs to this run"),
        "{said}"
    );
    assert!(said.contains("not read: pods: 403 Forbidden"), "{said}");
}
