//! The live path against the API server simulator (tests/support/apiserver.rs):
//! the same findings as the snapshot, within kinds × pages requests, through
//! 429s, dropped connections and truncated bodies, partial access, a server
//! that never answers, rejected credentials, `collect` and the kubectl plugin.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::apiserver::{ApiServer, Faults, Forbidden, Options, Serving};
use support::{assert_valid_report, stderr, stdout, testdata};

/// Every scenario's events are at most this recent: one "now" for both paths.
const NOW: &str = "2026-11-28T10:42:30Z";

fn pxdoctor(args: &[&str], kubeconfig: Option<&Path>) -> Output {
    pxdoctor_with(args, kubeconfig, &[])
}

/// pxdoctor with these environment variables, and none of the machine's
/// proxy settings (kube honours HTTPS_PROXY and NO_PROXY, as kubectl does).
fn pxdoctor_with(args: &[&str], kubeconfig: Option<&Path>, env: &[(&str, &str)]) -> Output {
    let mut command = support::isolated_pxdoctor();
    command.envs(env.iter().copied());
    command.args(args).env("PXDOCTOR_NOW", NOW);
    match kubeconfig {
        Some(path) => command.env("KUBECONFIG", path),
        None => command.env("KUBECONFIG", "/nonexistent/kubeconfig"),
    };
    command.output().expect("pxdoctor runs")
}

fn json(output: &Output) -> serde_json::Value {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {} stderr {}", stdout(output), stderr(output)));
    assert_valid_report(&report);
    report
}

fn snapshot_findings(scenario: &str) -> serde_json::Value {
    let dir = testdata(scenario);
    let output = pxdoctor(
        &["check", "--snapshot", &dir.to_string_lossy(), "-o", "json"],
        None,
    );
    json(&output)["findings"].clone()
}

fn serve(scenario: &str, options: Options) -> (ApiServer, tempfile::TempDir, std::path::PathBuf) {
    let server = ApiServer::start(&testdata(scenario), options);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    (server, dir, kubeconfig)
}

fn serve_faulty(
    scenario: &str,
    faults: Faults,
) -> (ApiServer, tempfile::TempDir, std::path::PathBuf) {
    serve(
        scenario,
        Options {
            faults,
            ..Options::default()
        },
    )
}

fn lists(server: &ApiServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| {
            r.method == "GET"
                && r.query.contains("limit=")
                && !r.query.contains("labelSelector")
                && !r.path.ends_with("/configmaps")
        })
        .count()
}

#[test]
fn every_scenario_gives_the_same_findings_live_and_from_its_snapshot() {
    for scenario in [
        "gpu-shortage",
        "node-pressure",
        "cordoned-pool",
        "unbound-claim",
        "old-scheduler",
        "silent-scheduler",
        "healthy",
        "missing-rolebinding",
    ] {
        let (server, _dir, kubeconfig) = serve(scenario, Options::default());
        let output = pxdoctor(&["check", "-A", "-o", "json"], Some(&kubeconfig));
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{scenario}: {}",
            stderr(&output)
        );
        let live = json(&output);
        assert_eq!(live["source"]["kind"], "cluster");
        assert_eq!(live["findings"], snapshot_findings(scenario), "{scenario}");
        // One LIST per kind (pods, events, nodes and the Polyaxon resources
        // discovery shows), one page each at 500: never a request per object.
        let paths: std::collections::BTreeSet<String> = server
            .requests()
            .iter()
            .filter(|r| {
                r.method == "GET"
                    && r.query.contains("limit=500")
                    && !r.query.contains("labelSelector")
                    && !r.path.ends_with("/configmaps")
            })
            .map(|r| r.path.clone())
            .collect();
        assert!(paths.len() >= 4, "{scenario}: {paths:?}");
        assert_eq!(
            lists(&server),
            paths.len(),
            "{scenario}: {:#?}",
            server.requests()
        );
    }
}

#[test]
fn over_https_with_small_pages_the_requests_stay_within_kinds_times_pages() {
    let options = Options {
        tls: true,
        ..Options::default()
    };
    let (server, _dir, kubeconfig) = serve("gpu-shortage", options);
    let output = pxdoctor(
        &["check", "-A", "-o", "json", "--chunk-size", "2"],
        Some(&kubeconfig),
    );
    let live = json(&output);
    assert_eq!(live["findings"], snapshot_findings("gpu-shortage"));
    // 7 pods, 25 events, no jobs, no deployments, no claims, no storage
    // classes, no services, no ingresses, 4 nodes, 7 operations at 2 a
    // page: 4 + 13 + 1 + 1 + 1 + 1 + 1 + 1 + 2 + 4; and one empty page each
    // of roles, rolebindings, clusterroles, clusterrolebindings and
    // serviceaccounts.
    assert_eq!(lists(&server), 34, "{:#?}", server.requests());
}

#[test]
fn the_default_namespace_is_the_contexts_when_no_polyaxon_platform_is_found() {
    let (_server, _dir, kubeconfig) = serve("gpu-shortage", Options::default());
    let output = pxdoctor(&["check", "-o", "json"], Some(&kubeconfig));
    let live = json(&output);
    assert_eq!(
        live["source"]["namespaces"],
        serde_json::json!(["polyaxon"])
    );
    assert_eq!(live["source"]["context"], "sim");
    assert_eq!(live["findings"], snapshot_findings("gpu-shortage"));
}

#[test]
fn forbidden_nodes_still_explain_pending_runs_and_name_the_missing_permission() {
    let options = Options {
        forbidden: vec![Forbidden {
            verb: "list".into(),
            resource: "nodes".into(),
            group: "".into(),
            namespace: None,
        }],
        ..Options::default()
    };
    let (server, _dir, kubeconfig) = serve("gpu-shortage", options);
    let output = pxdoctor(&["check", "-o", "json"], Some(&kubeconfig));
    assert_eq!(
        output.status.code(),
        Some(1),
        "errors decide the exit code, not 3: {}",
        stderr(&output)
    );
    let report = json(&output);
    let findings = report["findings"].as_array().unwrap();
    let pending: Vec<_> = findings
        .iter()
        .filter(|f| f["category"] == "pending" && f["causes"].is_array())
        .collect();
    assert_eq!(
        pending.len(),
        2,
        "both Pending runs are still explained from events"
    );
    let access: Vec<_> = findings
        .iter()
        .filter(|f| f["rule"] == "PXD-COLL-001")
        .collect();
    assert_eq!(access.len(), 1);
    let text = access[0]["explanation"].as_str().unwrap();
    assert!(
        text.contains("may not list nodes at cluster scope"),
        "{text}"
    );
    assert!(
        access[0]["remediation"].as_str().unwrap().contains(
            "kubectl create clusterrole pxdoctor-list-nodes --verb=list --resource=nodes"
        )
    );
    assert_eq!(report["collection"]["skipped"][0]["resource"], "nodes");
    // Asked up front, so the forbidden LIST was never sent.
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.path == "/api/v1/nodes" && r.method == "GET")
    );
    let output = pxdoctor(
        &["check", "--fail-on", "never", "-o", "json"],
        Some(&kubeconfig),
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn throttling_dropped_connections_and_truncated_bodies_do_not_change_findings() {
    let faults = Faults {
        too_many_requests: 2,
        drop_connections: 2,
        truncate_bodies: 2,
        server_errors: 1,
        ..Faults::default()
    };
    let (server, _dir, kubeconfig) = serve_faulty("gpu-shortage", faults);
    let output = pxdoctor(
        &["check", "-A", "-o", "json", "--chunk-size", "3"],
        Some(&kubeconfig),
    );
    assert!(
        matches!(output.status.code(), Some(1)),
        "{}",
        stderr(&output)
    );
    assert_eq!(json(&output)["findings"], snapshot_findings("gpu-shortage"));
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&429) && statuses.contains(&500) && statuses.contains(&0),
        "{statuses:?}"
    );
}

#[test]
fn an_expired_continue_token_restarts_the_list() {
    let faults = Faults {
        expire_continue: 1,
        ..Faults::default()
    };
    let (server, _dir, kubeconfig) = serve_faulty("gpu-shortage", faults);
    let output = pxdoctor(
        &["check", "-A", "-o", "json", "--chunk-size", "2"],
        Some(&kubeconfig),
    );
    assert_eq!(json(&output)["findings"], snapshot_findings("gpu-shortage"));
    assert!(server.requests().iter().any(|r| r.status == 410));
}

#[test]
fn a_server_that_never_answers_ends_within_the_timeout_with_exit_3() {
    let faults = Faults {
        silent: true,
        ..Faults::default()
    };
    let (server, _dir, kubeconfig) = serve_faulty("gpu-shortage", faults);
    let started = Instant::now();
    let output = pxdoctor(
        &["check", "--timeout", "3s", "--request-timeout", "1s"],
        Some(&kubeconfig),
    );
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(took < Duration::from_secs(8), "took {took:?}");
    // The message names the server it could not reach.
    let url = server.url();
    assert!(
        stderr(&output).contains(url.trim_end_matches('/')),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("nothing could be collected"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rejected_credentials_exit_3_and_say_what_to_do() {
    let (server, dir, kubeconfig) = serve("gpu-shortage", Options::default());
    let text = std::fs::read_to_string(&kubeconfig)
        .unwrap()
        .replace("pxdoctor-test-token", "expired-token");
    let wrong = dir.path().join("wrong-token.yaml");
    std::fs::write(&wrong, text).unwrap();
    let output = pxdoctor(&["check"], Some(&wrong));
    assert_eq!(output.status.code(), Some(3));
    // A 401 is an answer: the first contact, nothing after it.
    assert_eq!(
        server
            .requests()
            .iter()
            .map(|r| (r.path.as_str(), r.status))
            .collect::<Vec<_>>(),
        [("/version", 401)]
    );
    let message = stderr(&output);
    assert!(
        message.contains("401") && message.contains("refresh them"),
        "{message}"
    );
    assert!(message.contains("an expired token"), "{message}");
    assert!(
        !message.contains("expired-token"),
        "the token is never printed"
    );
}

#[test]
fn a_failing_exec_credential_plugin_exits_3_and_names_the_plugin() {
    let (server, dir, _) = serve("gpu-shortage", Options::default());
    // The kubeconfig's user runs a credential plugin that fails, as
    // `aws eks get-token` does with expired SSO credentials.
    let kubeconfig = dir.path().join("exec-kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {}\nusers:\n- name: exec-user\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/false\n      interactiveMode: Never\ncontexts:\n- name: sim\n  context:\n    cluster: sim\n    user: exec-user\ncurrent-context: sim\n",
            server.url()
        ),
    )
    .unwrap();
    let output = pxdoctor(&["check"], Some(&kubeconfig));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("exec credential plugin failed"),
        "{message}"
    );
}

#[test]
fn no_kubeconfig_and_no_cluster_is_exit_3_with_the_way_out() {
    let output = pxdoctor(&["check"], None);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("--snapshot"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn verbose_logs_requests_on_stderr_and_keeps_stdout_json() {
    let (_server, _dir, kubeconfig) = serve("gpu-shortage", Options::default());
    let output = pxdoctor(&["check", "-v", "-o", "json"], Some(&kubeconfig));
    let log = stderr(&output);
    assert!(log.contains("GET /api/v1/nodes?limit=500 200 "), "{log}");
    assert!(log.contains("  4 items"), "the page of 4 nodes: {log}");
    assert!(
        log.contains("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews 201"),
        "{log}"
    );
    json(&output);
}

const PLANTED_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const PLANTED_TOKEN: &str = "plx-token-5f4dcc3b5aa765d61d8327deb882cf99";

/// gpu-shortage with credentials where real clusters leak them: a run's
/// environment, and a failing sidecar's log.
fn scenario_with_secrets() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["nodes.json", "events.json"] {
        std::fs::copy(testdata("gpu-shortage").join(file), dir.path().join(file)).unwrap();
    }
    let mut pods: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(testdata("gpu-shortage").join("pods.json")).unwrap(),
    )
    .unwrap();
    let pod = &mut pods["items"][0];
    pod["spec"]["containers"][1]["env"] = serde_json::json!([
        {"name": "AWS_SECRET_ACCESS_KEY", "value": PLANTED_SECRET},
        {"name": "POLYAXON_AUTH_TOKEN", "value": PLANTED_TOKEN}
    ]);
    pod["status"]["containerStatuses"][1]["restartCount"] = serde_json::json!(3);
    let (namespace, name) = (
        pod["metadata"]["namespace"].as_str().unwrap().to_string(),
        pod["metadata"]["name"].as_str().unwrap().to_string(),
    );
    std::fs::write(dir.path().join("pods.json"), pods.to_string()).unwrap();
    let logs = dir.path().join("logs").join(namespace).join(name);
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("polyaxon-sidecar.log"),
        format!("INFO uploading\nDEBUG aws_secret_access_key={PLANTED_SECRET}\nDEBUG Authorization: Token {PLANTED_TOKEN}\nERROR upload failed\n"),
    )
    .unwrap();
    dir
}

fn bundle_text(bundle: &Path) -> String {
    let file = std::fs::File::open(bundle).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut text = String::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        text.push_str(&format!("=== {}\n", entry.path().unwrap().display()));
        std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
    }
    text
}

#[test]
fn collect_writes_a_redacted_bundle_that_checks_like_the_cluster() {
    let planted = scenario_with_secrets();
    let server = ApiServer::start(planted.path(), Options::default());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    let bundle = dir.path().join("bundle.tar.gz");
    let collected = pxdoctor(
        &["collect", "-v", "-o", &bundle.to_string_lossy()],
        Some(&kubeconfig),
    );
    assert_eq!(collected.status.code(), Some(0), "{}", stderr(&collected));
    let text = bundle_text(&bundle);
    assert!(text.contains("=== manifest.json"), "{text}");
    assert!(text.contains("=== cluster/nodes.json"));
    assert!(
        text.contains("=== logs/polyaxon/"),
        "the failing sidecar's log tail is in the bundle"
    );
    assert!(text.contains("ERROR upload failed"));
    assert!(text.contains("AWS_SECRET_ACCESS_KEY"), "names stay");
    let live = pxdoctor(&["check", "-v", "-o", "json"], Some(&kubeconfig));
    let offline = pxdoctor(
        &[
            "check",
            "--snapshot",
            &bundle.to_string_lossy(),
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(json(&live)["findings"], json(&offline)["findings"]);
    let table = pxdoctor(&["check", "--snapshot", &bundle.to_string_lossy()], None);
    for secret in [PLANTED_SECRET, PLANTED_TOKEN] {
        assert!(!text.contains(secret), "bundle leaks {secret}");
        for output in [&collected, &live, &offline, &table] {
            assert!(
                !stdout(output).contains(secret) && !stderr(output).contains(secret),
                "output leaks {secret}"
            );
        }
    }
}

#[test]
fn kubectl_runs_pxdoctor_as_a_plugin() {
    if !Path::new("/usr/bin/kubectl").exists()
        && Command::new("kubectl")
            .arg("version")
            .arg("--client")
            .output()
            .is_err()
    {
        eprintln!("skipped: kubectl is not installed");
        return;
    }
    let (_server, dir, kubeconfig) = serve("gpu-shortage", Options::default());
    let bin = Path::new(env!("CARGO_BIN_EXE_kubectl-pxdoctor"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let kubectl = |args: &[&str]| {
        Command::new("kubectl")
            .args(args)
            .env("PATH", &path)
            .env("HOME", dir.path())
            .env("KUBECONFIG", &kubeconfig)
            .env("NO_COLOR", "1")
            .env("PXDOCTOR_NOW", NOW)
            .output()
            .expect("kubectl runs")
    };
    let version = kubectl(&["pxdoctor", "version"]);
    assert_eq!(
        stdout(&version).trim(),
        format!("pxdoctor {}", env!("CARGO_PKG_VERSION")),
        "{}",
        stderr(&version)
    );
    let help = kubectl(&["pxdoctor", "check", "--help"]);
    assert!(stdout(&help).contains("Usage: kubectl pxdoctor check"));
    let check = kubectl(&["pxdoctor", "check", "-n", "polyaxon", "-o", "json"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert_eq!(json(&check)["findings"], snapshot_findings("gpu-shortage"));
}

#[test]
fn runs_without_polyaxon_custom_resources_are_an_error_live_and_in_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["nodes.json", "pods.json", "events.json"] {
        std::fs::copy(testdata("gpu-shortage").join(file), dir.path().join(file)).unwrap();
    }
    let server = ApiServer::start(dir.path(), Options::default());
    let config_dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(config_dir.path());
    let live = json(&pxdoctor(&["check", "-o", "json"], Some(&kubeconfig)));
    let platform: Vec<_> = live["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == "platform")
        .collect();
    assert_eq!(platform.len(), 1);
    assert_eq!(platform[0]["rule"], "PXD-PLAT-002");
    // A plain snapshot cannot tell whether the CRDs exist: no claim either way.
    let offline = json(&pxdoctor(
        &[
            "check",
            "--snapshot",
            &dir.path().to_string_lossy(),
            "-o",
            "json",
        ],
        None,
    ));
    assert!(
        !offline["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["category"] == "platform")
    );
    // A bundle remembers what discovery showed.
    let bundle = config_dir.path().join("b.tar.gz");
    let collected = pxdoctor(
        &["collect", "-o", &bundle.to_string_lossy()],
        Some(&kubeconfig),
    );
    assert_eq!(collected.status.code(), Some(0), "{}", stderr(&collected));
    let from_bundle = json(&pxdoctor(
        &[
            "check",
            "--snapshot",
            &bundle.to_string_lossy(),
            "-o",
            "json",
        ],
        None,
    ));
    assert_eq!(from_bundle["findings"], live["findings"]);
}

#[test]
fn a_kubeconfig_problem_names_the_file_and_the_flag() {
    let (_server, _dir, kubeconfig) = serve("gpu-shortage", Options::default());
    let path = kubeconfig.to_string_lossy().into_owned();
    let output = pxdoctor(&["check", "--kubeconfig", &path, "--context", "prod"], None);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("--kubeconfig {path} --context prod: ")),
        "{message}"
    );
}

#[test]
fn run_namespaces_come_from_the_agents_config_map_and_their_rbac_is_read() {
    let (server, _dir, kubeconfig) = serve("missing-rolebinding", Options::default());
    // No -n, no -A: Polyaxon's namespace from its pods, ml-team from the
    // agent's POLYAXON_ADDITIONAL_NAMESPACES.
    let live = json(&pxdoctor(&["check", "-o", "json"], Some(&kubeconfig)));
    assert_eq!(
        live["source"]["namespaces"],
        serde_json::json!(["ml-team", "polyaxon"])
    );
    assert_eq!(live["findings"], snapshot_findings("missing-rolebinding"));
    for path in [
        "/apis/rbac.authorization.k8s.io/v1/namespaces/ml-team/rolebindings",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/polyaxon/roles",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        "/api/v1/namespaces/ml-team/serviceaccounts",
    ] {
        assert!(
            server
                .requests()
                .iter()
                .any(|r| r.method == "GET" && r.path == path && r.status == 200),
            "{path}: {:#?}",
            server.requests()
        );
    }
    // The ConfigMaps that name ml-team are the ones the check reads: one
    // LIST per namespace, not one for discovery and another for the check.
    for namespace in ["polyaxon", "ml-team"] {
        let path = format!("/api/v1/namespaces/{namespace}/configmaps");
        let lists = server
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .count();
        assert_eq!(lists, 1, "{path}: {:#?}", server.requests());
    }
    // Asked about polyaxon only, ml-team was not read: nothing is said of it.
    let only = json(&pxdoctor(
        &["check", "-n", "polyaxon", "-o", "json"],
        Some(&kubeconfig),
    ));
    assert!(
        !only["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "PXD-AUTH-004"),
        "{only:#}"
    );
}

#[test]
fn a_forbidden_list_of_role_bindings_is_a_gap_not_a_missing_permission() {
    let options = Options {
        forbidden: vec![Forbidden {
            verb: "list".into(),
            resource: "rolebindings".into(),
            group: "rbac.authorization.k8s.io".into(),
            namespace: Some("ml-team".into()),
        }],
        ..Options::default()
    };
    let (server, _dir, kubeconfig) = serve("missing-rolebinding", options);
    let report = json(&pxdoctor(&["check", "-o", "json"], Some(&kubeconfig)));
    let findings = report["findings"].as_array().unwrap();
    assert!(
        !findings.iter().any(|f| f["rule"] == "PXD-AUTH-004"),
        "no verdict on ml-team without its RoleBindings: {report:#}"
    );
    let gap = findings
        .iter()
        .find(|f| f["rule"] == "PXD-COLL-001")
        .expect("the gap is reported");
    assert!(
        gap["explanation"]
            .as_str()
            .unwrap()
            .contains("may not list rolebindings in namespace ml-team"),
        "{gap:#}"
    );
    // Asked up front, so the forbidden LIST was never sent.
    assert!(!server.requests().iter().any(|r| {
        r.method == "GET"
            && r.path == "/apis/rbac.authorization.k8s.io/v1/namespaces/ml-team/rolebindings"
    }));
}

#[test]
fn a_bundle_judges_rbac_like_the_cluster_and_keeps_only_the_agents_keys() {
    let (_server, dir, kubeconfig) = serve("missing-rolebinding", Options::default());
    let bundle = dir.path().join("rbac.tar.gz");
    let collected = pxdoctor(
        &["collect", "-o", &bundle.to_string_lossy()],
        Some(&kubeconfig),
    );
    assert_eq!(collected.status.code(), Some(0), "{}", stderr(&collected));
    let text = bundle_text(&bundle);
    assert!(
        text.contains("=== namespaces/ml-team/rolebindings.rbac.authorization.k8s.io.json"),
        "{text}"
    );
    assert!(text.contains("=== cluster/clusterroles.rbac.authorization.k8s.io.json"));
    assert!(text.contains("POLYAXON_ADDITIONAL_NAMESPACES"));
    // The connections catalog stays: its claims are judged before a run
    // mounts them, offline as live.
    assert!(text.contains("POLYAXON_AGENT_CONNECTIONS"));
    // Other ConfigMaps, and the agent's other keys, stay out.
    for absent in ["kube-root-ca.crt", "POLYAXON_LOG_LEVEL"] {
        assert!(!text.contains(absent), "bundle holds {absent}");
    }
    let live = json(&pxdoctor(&["check", "-o", "json"], Some(&kubeconfig)));
    let offline = json(&pxdoctor(
        &[
            "check",
            "--snapshot",
            &bundle.to_string_lossy(),
            "-o",
            "json",
        ],
        None,
    ));
    assert_eq!(offline["findings"], live["findings"]);
    assert_eq!(
        live["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "PXD-AUTH-004")
            .count(),
        3,
        "the agent, the runs' account and the operator lack permissions in ml-team"
    );
}

/// Requests pxdoctor says it sent (`-v` logs each with its outcome) that
/// got no answer or timed out.
fn unanswered(output: &Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|line| {
            line.ends_with("ms") && (line.contains(" no answer ") || line.contains(" timeout "))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn a_refused_connection_is_an_answer_one_request_then_exit_3() {
    // A closed loopback port: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: down\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: u\n  user: {{}}\ncontexts:\n- name: down\n  context:\n    cluster: down\n    user: u\ncurrent-context: down\n"
        ),
    )
    .unwrap();
    let output = pxdoctor(&["check", "-v"], Some(&kubeconfig));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("was refused - did you specify the right host or port?")
            && message.contains(&format!("127.0.0.1:{port}")),
        "{message}"
    );
    // No retry: refused is refused on every try.
    assert_eq!(unanswered(&output).len(), 1, "{message}");
}

#[test]
fn a_silent_server_gets_three_request_timeouts_then_exit_3_naming_the_flag() {
    let faults = Faults {
        silent: true,
        ..Faults::default()
    };
    let (server, _dir, kubeconfig) = serve_faulty("gpu-shortage", faults);
    // --timeout stays at its 2 minutes: the request timeout decides.
    let output = pxdoctor(
        &["check", "-v", "--request-timeout", "1s"],
        Some(&kubeconfig),
    );
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("did not answer within --request-timeout 1s"),
        "{message}"
    );
    let tries = unanswered(&output);
    assert_eq!(tries.len(), 3, "{tries:?}\n{message}");
    assert!(
        tries.iter().all(|t| t.contains("GET /version timeout")),
        "{tries:?}"
    );
    assert!(
        server.requests().iter().all(|r| r.path == "/version"),
        "nothing but the first contact was asked"
    );
}

#[test]
fn an_untrusted_server_certificate_is_an_answer_one_request_then_exit_3() {
    let (_server, dir, kubeconfig) = serve(
        "gpu-shortage",
        Options {
            tls: true,
            ..Options::default()
        },
    );
    // Another CA than the one that signed the server's certificate.
    let other = rcgen::generate_simple_self_signed(vec!["other-ca".to_string()]).unwrap();
    std::fs::write(dir.path().join("sim-ca.pem"), other.cert.pem()).unwrap();
    let output = pxdoctor(&["check", "-v"], Some(&kubeconfig));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("TLS certificate was not accepted")
            && message.contains("certificate-authority-data"),
        "{message}"
    );
    assert_eq!(unanswered(&output).len(), 1, "{message}");
    assert!(!message.contains("pxdoctor-test-token"), "{message}");
}

fn serve_tls(serving: Serving) -> (ApiServer, tempfile::TempDir, std::path::PathBuf) {
    serve(
        "gpu-shortage",
        Options {
            tls: true,
            serving,
            ..Options::default()
        },
    )
}

#[test]
fn a_self_signed_serving_certificate_and_a_pinned_leaf_are_trusted_as_kubectl_trusts_them() {
    // What `openssl req -x509` makes (CA:TRUE, the kubeconfig's CA is the
    // serving certificate itself), and a kubeconfig that pins the leaf a CA
    // signed: kubectl accepts both; webpki alone refuses them
    // (CaUsedAsEndEntity, UnknownIssuer).
    for serving in [Serving::SelfSignedCa, Serving::PinnedLeaf] {
        let (_server, _dir, kubeconfig) = serve_tls(serving);
        let output = pxdoctor(&["check", "-o", "json"], Some(&kubeconfig));
        assert_eq!(
            output.status.code(),
            Some(1),
            "{serving:?}: {}",
            stderr(&output)
        );
        assert_eq!(
            json(&output)["findings"],
            snapshot_findings("gpu-shortage"),
            "{serving:?}"
        );
    }
}

#[test]
fn a_certificate_for_another_host_or_out_of_date_is_refused_saying_which() {
    for (serving, says) in [
        (Serving::OtherHost, "not valid for name"),
        // Pinned, but the name must still match, as kubectl checks it.
        (Serving::SelfSignedOtherHost, "NotValidForName"),
        (Serving::Expired, "certificate expired"),
    ] {
        let (_server, _dir, kubeconfig) = serve_tls(serving);
        let output = pxdoctor(&["check"], Some(&kubeconfig));
        assert_eq!(
            output.status.code(),
            Some(3),
            "{serving:?}: {}",
            stderr(&output)
        );
        let message = stderr(&output);
        assert!(
            message.contains(says) && message.contains("TLS certificate was not accepted"),
            "{serving:?}: {message}"
        );
    }
}

/// The simulator's kubeconfig with its `cluster:` and `user:` entries
/// rewritten by `edit`.
fn kubeconfig_edited(
    path: &Path,
    name: &str,
    edit: impl Fn(String) -> String,
) -> std::path::PathBuf {
    let original = std::fs::read_to_string(path).unwrap();
    let text = edit(original.clone());
    assert_ne!(text, original, "{name}: the edit applies");
    let edited = path.with_file_name(name);
    std::fs::write(&edited, text).unwrap();
    edited
}

#[test]
fn kubeconfig_features_kubectl_users_rely_on_work_or_say_why_not() {
    let expected = snapshot_findings("gpu-shortage");
    let works = |kubeconfig: &Path, what: &str| {
        let output = pxdoctor(&["check", "-o", "json"], Some(kubeconfig));
        assert_eq!(output.status.code(), Some(1), "{what}: {}", stderr(&output));
        assert_eq!(json(&output)["findings"], expected, "{what}");
    };

    // insecure-skip-tls-verify: any certificate, as kubectl.
    let (_a, _dir_a, kubeconfig) = serve_tls(Serving::OtherHost);
    let skip = kubeconfig_edited(&kubeconfig, "skip", |text| {
        let ca = text
            .lines()
            .find(|l| l.contains("certificate-authority:"))
            .unwrap()
            .to_string();
        text.replace(&ca, "    insecure-skip-tls-verify: true")
    });
    works(&skip, "insecure-skip-tls-verify");

    // tls-server-name: the name the certificate holds, not the address.
    let named = kubeconfig_edited(&kubeconfig, "named", |text| {
        text.replace(
            "    certificate-authority:",
            "    tls-server-name: other.example\n    certificate-authority:",
        )
    });
    works(&named, "tls-server-name");

    // tokenFile: the token read from a file.
    let (_b, dir_b, kubeconfig) = serve_tls(Serving::SignedByCa);
    let token = dir_b.path().join("token");
    std::fs::write(&token, "pxdoctor-test-token\n").unwrap();
    let from_file = kubeconfig_edited(&kubeconfig, "token-file", |text| {
        text.replace(
            "    token: \"pxdoctor-test-token\"",
            &format!("    tokenFile: {}", token.display()),
        )
    });
    works(&from_file, "tokenFile");

    // An exec plugin that is not installed: exit 3 naming it.
    let missing = kubeconfig_edited(&kubeconfig, "exec-missing", |text| {
        text.replace(
            "    token: \"pxdoctor-test-token\"",
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: pxdoctor-no-such-auth-plugin\n      interactiveMode: Never",
        )
    });
    let output = pxdoctor(&["check"], Some(&missing));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("`pxdoctor-no-such-auth-plugin`") && message.contains("not installed"),
        "{message}"
    );

    // The old auth-provider entries: a clear message.
    let provider = kubeconfig_edited(&kubeconfig, "auth-provider", |text| {
        text.replace(
            "    token: \"pxdoctor-test-token\"",
            "    auth-provider:\n      name: gcp\n      config:\n        access-token: ya29.secret-looking-token",
        )
    });
    let output = pxdoctor(&["check"], Some(&provider));
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{message}");
    assert!(
        message.contains("auth-provider") && !message.contains("ya29.secret-looking-token"),
        "{message}"
    );
}

#[test]
fn a_server_that_refuses_version_but_answers_lists_is_checked() {
    // Hardened clusters may drop system:public-info-viewer: /version is 403
    // while the caller may still list what pxdoctor reads.
    let faults = Faults {
        version_forbidden: true,
        ..Faults::default()
    };
    let (server, _dir, kubeconfig) = serve_faulty("gpu-shortage", faults);
    let output = pxdoctor(&["check", "-o", "json"], Some(&kubeconfig));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(json(&output)["findings"], snapshot_findings("gpu-shortage"));
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "/version" && r.status == 403)
    );
}

#[test]
fn client_certificates_and_a_working_exec_plugin_authenticate_as_kubectl_s_do() {
    let expected = snapshot_findings("gpu-shortage");
    // kubeadm's kubeconfig: the CA, and the user's certificate and key.
    let (_server, dir, kubeconfig) = serve(
        "gpu-shortage",
        Options {
            tls: true,
            client_certs: true,
            token: String::new(),
            ..Options::default()
        },
    );
    let output = pxdoctor(&["check", "-o", "json", "-v"], Some(&kubeconfig));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(json(&output)["findings"], expected);
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    let key_data = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("client-key-data: "))
        .expect("the kubeconfig carries a client key")
        .to_string();
    use base64::Engine;
    let key_pem = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&key_data)
            .unwrap(),
    )
    .unwrap();
    let key_line = key_pem.lines().nth(1).unwrap();
    for shown in [stdout(&output), stderr(&output)] {
        assert!(
            !shown.contains(&key_data) && !shown.contains(key_line),
            "the client key leaked"
        );
    }
    // Without the certificate the server ends the handshake: exit 3, and
    // the message says the server wants a client certificate.
    let anonymous = kubeconfig_edited(&kubeconfig, "no-client-cert", |text| {
        text.lines()
            .filter(|l| !l.contains("client-certificate-data") && !l.contains("client-key-data"))
            .map(|l| if l == "  user:" { "  user: {}" } else { l })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let output = pxdoctor(&["check"], Some(&anonymous));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("CertificateRequired") && message.contains("client-certificate-data"),
        "{message}"
    );
    drop(dir);

    // An exec plugin that prints an ExecCredential, as `aws eks get-token`
    // and `gke-gcloud-auth-plugin` do.
    let (_server, dir, kubeconfig) = serve_tls(Serving::SignedByCa);
    let plugin = dir.path().join("sim-auth-plugin");
    std::fs::write(
        &plugin,
        "#!/bin/sh\nprintf '%s' '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"pxdoctor-test-token\"}}'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exec = kubeconfig_edited(&kubeconfig, "exec-works", |text| {
        text.replace(
            "    token: \"pxdoctor-test-token\"",
            &format!(
                "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {}\n      interactiveMode: Never",
                plugin.display()
            ),
        )
    });
    let output = pxdoctor(&["check", "-o", "json", "-v"], Some(&exec));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(json(&output)["findings"], expected);
    assert!(!stderr(&output).contains("pxdoctor-test-token"));
}

/// A forward proxy on loopback that tunnels CONNECT requests, as squid or a
/// corporate proxy does; it counts the tunnels it opened.
fn connect_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tunnels = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&tunnels);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let counted = std::sync::Arc::clone(&counted);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap_or_default();
                let target = match request.split_whitespace().collect::<Vec<_>>()[..] {
                    ["CONNECT", target, _] => target.to_string(),
                    _ => return,
                };
                // The headers, up to the blank line.
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    line.clear();
                }
                let Ok(upstream) = std::net::TcpStream::connect(&target) else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let mut client = client;
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
                let mut client_write = client.try_clone().unwrap();
                std::thread::spawn(move || std::io::copy(&mut reader, &mut up_write));
                let _ = std::io::copy(&mut up_read, &mut client_write);
            });
        }
    });
    (url, tunnels)
}

#[test]
fn proxy_url_and_https_proxy_are_honoured_and_no_proxy_bypasses_them() {
    use std::sync::atomic::Ordering;
    let expected = snapshot_findings("gpu-shortage");
    let (_server, _dir, kubeconfig) = serve_tls(Serving::SignedByCa);
    let (proxy, tunnels) = connect_proxy();

    let via_kubeconfig = kubeconfig_edited(&kubeconfig, "proxied", |text| {
        text.replace(
            "    certificate-authority:",
            &format!("    proxy-url: {proxy}\n    certificate-authority:"),
        )
    });
    let output = pxdoctor(&["check", "-o", "json"], Some(&via_kubeconfig));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(json(&output)["findings"], expected);
    let used = tunnels.load(Ordering::SeqCst);
    assert!(used >= 1, "proxy-url: every request goes through the proxy");

    let env = [("HTTPS_PROXY", proxy.as_str())];
    let output = pxdoctor_with(&["check", "-o", "json"], Some(&kubeconfig), &env);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(json(&output)["findings"], expected);
    let after_env = tunnels.load(Ordering::SeqCst);
    assert!(after_env > used, "HTTPS_PROXY is used as kubectl uses it");

    let env = [("HTTPS_PROXY", proxy.as_str()), ("NO_PROXY", "127.0.0.1")];
    let output = pxdoctor_with(&["check", "-o", "json"], Some(&kubeconfig), &env);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        tunnels.load(Ordering::SeqCst),
        after_env,
        "NO_PROXY bypasses it"
    );
}

#[test]
fn pods_that_may_not_be_listed_are_not_runs_without_pods() {
    let options = Options {
        forbidden: vec![Forbidden {
            verb: "list".into(),
            resource: "pods".into(),
            group: String::new(),
            namespace: None,
        }],
        ..Options::default()
    };
    let (_server, _dir, kubeconfig) = serve("runtime-failures", options);
    let output = pxdoctor(&["check", "-A", "--no-s3", "-o", "json"], Some(&kubeconfig));
    let report = json(&output);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    // Its eight Operations have pods; a forbidden list says nothing of them.
    assert!(!rules.contains(&"PXD-PLAT-006"), "{rules:?}");
    assert!(
        rules.contains(&"PXD-COLL-001"),
        "the gap is said: {rules:?}"
    );
    // Readable, the same operations are judged as before.
    let (_server, _dir, kubeconfig) = serve("runtime-failures", Options::default());
    let output = pxdoctor(&["check", "-A", "--no-s3", "-o", "json"], Some(&kubeconfig));
    let report = json(&output);
    assert!(
        !report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "PXD-PLAT-006"),
        "runtime-failures' operations all have pods"
    );
}
