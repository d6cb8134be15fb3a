//! The Polyaxon API check end to end: the real binary, the API server
//! simulator for the cluster, and a loopback Polyaxon API
//! (tests/support/polyaxon.rs) answering as Polyaxon does. The CLI's
//! configuration comes from a temporary POLYAXON_HOME and environment
//! variables; the token must never show in any output.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::apiserver::{ApiServer, Options};
use support::polyaxon::{Mode, PolyaxonApi};
use support::{assert_valid_report, repo, stderr, stdout, testdata};

const NOW: &str = "2026-11-28T10:42:30Z";
const TOKEN: &str = "pxtok-7f3a9c2e5b1d4e8f";

/// A CLI home with `.auth` and `.client` as the Polyaxon CLI writes them.
fn cli_home(host: &str, verify_ssl: Option<bool>) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let mut client = serde_json::json!({"POLYAXON_HOST": host});
    if let Some(verify) = verify_ssl {
        client["POLYAXON_VERIFY_SSL"] = verify.into();
    }
    std::fs::write(home.path().join(".client"), client.to_string()).unwrap();
    std::fs::write(
        home.path().join(".auth"),
        serde_json::json!({"POLYAXON_AUTH_TOKEN": TOKEN, "POLYAXON_AUTH_USERNAME": "ana"})
            .to_string(),
    )
    .unwrap();
    home
}

fn run(args: &[&str], kubeconfig: &Path, home: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pxdoctor"));
    command
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env("PXDOCTOR_NOW", NOW)
        .env("KUBECONFIG", kubeconfig)
        .env("POLYAXON_HOME", home)
        .env("HOME", home)
        .env_remove("POLYAXON_HOST")
        .env_remove("POLYAXON_AUTH_TOKEN")
        .env_remove("POLYAXON_VERIFY_SSL")
        .env_remove("POLYAXON_SSL_CA_CERT")
        .env_remove("KUBERNETES_SERVICE_HOST");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("pxdoctor runs")
}

fn cluster() -> (ApiServer, tempfile::TempDir, PathBuf) {
    let server = ApiServer::start(&testdata("healthy"), Options::default());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    (server, dir, kubeconfig)
}

/// `check -o json` against the cluster with the CLI home; the report, and
/// the proof that the token is nowhere in what pxdoctor printed.
fn check(kubeconfig: &Path, home: &Path, env: &[(&str, &str)], extra: &[&str]) -> Value {
    let mut args = vec!["check", "-o", "json", "--request-timeout", "2s"];
    args.extend_from_slice(extra);
    let output = run(&args, kubeconfig, home, env);
    assert_no_token(&output);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&output), stderr(&output)));
    assert_valid_report(&report);
    report
}

fn assert_no_token(output: &Output) {
    for text in [stdout(output), stderr(output)] {
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
        assert!(
            !text.contains("7f3a9c2e"),
            "part of the token leaked: {text}"
        );
    }
}

fn api_findings(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"]["kind"] == "PolyaxonAPI")
        .cloned()
        .collect()
}

fn only_api_finding(report: &Value) -> Value {
    let found = api_findings(report);
    assert_eq!(found.len(), 1, "{:#?}", report["findings"]);
    found[0].clone()
}

#[test]
fn a_dropped_authorization_header_is_said_to_be_stripped_on_the_way() {
    let (_cluster, _dir, kubeconfig) = cluster();
    let api = PolyaxonApi::start(Mode::StripsAuthorization, TOKEN, false);
    let home = cli_home(&api.url(), None);
    let report = check(&kubeconfig, home.path(), &[], &[]);
    let finding = only_api_finding(&report);
    assert_eq!(finding["rule"], "PXD-AUTH-020", "{finding:#}");
    assert_eq!(finding["category"], "auth");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["subject"]["name"], api.url());
    let explanation = finding["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("dropped or renamed the Authorization header"),
        "{explanation}"
    );
    assert!(
        explanation.contains("Authentication credentials were not provided."),
        "{explanation}"
    );
    assert!(explanation.contains("nginx"), "{explanation}");
    let remediation = finding["remediation"].as_str().unwrap();
    assert!(
        remediation.contains("kubectl get ingress") && remediation.contains("annotations"),
        "{remediation}"
    );
    assert!(
        remediation.contains("kubectl port-forward"),
        "{remediation}"
    );
    // The request really carried the token; the "ingress" dropped it.
    let seen = api.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/api/v1/users");
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Token {TOKEN}").as_str())
    );
    assert!(!report.to_string().contains(TOKEN));
}

#[test]
fn each_polyaxon_answer_gets_its_own_explanation() {
    let (_cluster, _dir, kubeconfig) = cluster();
    for (mode, rule, words) in [
        (Mode::InvalidToken, "PXD-AUTH-021", "Invalid token."),
        (Mode::Expired, "PXD-AUTH-022", "Token expired"),
        (
            Mode::NoPermission,
            "PXD-AUTH-024",
            "You do not have permission to perform this action.",
        ),
    ] {
        let api = PolyaxonApi::start(mode, TOKEN, false);
        let home = cli_home(&api.url(), None);
        let report = check(&kubeconfig, home.path(), &[], &[]);
        let finding = only_api_finding(&report);
        assert_eq!(finding["rule"], rule, "{mode:?}: {finding:#}");
        assert!(
            finding["explanation"].as_str().unwrap().contains(words),
            "{mode:?}: {finding:#}"
        );
        assert!(api.seen().iter().all(|s| s.authorization.is_some()));
    }
}

#[test]
fn a_valid_token_gives_no_finding_and_a_valid_wrong_token_does() {
    let (_cluster, _dir, kubeconfig) = cluster();
    let api = PolyaxonApi::start(Mode::Fine, TOKEN, false);
    let home = cli_home(&api.url(), None);
    let report = check(&kubeconfig, home.path(), &[], &[]);
    assert!(
        api_findings(&report).is_empty(),
        "{:#?}",
        report["findings"]
    );
    assert_eq!(api.seen().len(), 1);

    // The environment wins over .auth (the CLI's order): a stale
    // POLYAXON_AUTH_TOKEN is what the API sees.
    let report = check(
        &kubeconfig,
        home.path(),
        &[("POLYAXON_AUTH_TOKEN", "stale-env-token-0000")],
        &[],
    );
    let finding = only_api_finding(&report);
    assert_eq!(finding["rule"], "PXD-AUTH-021");
    assert!(
        finding["explanation"]
            .as_str()
            .unwrap()
            .contains("POLYAXON_AUTH_TOKEN")
    );
    assert!(!report.to_string().contains("stale-env-token-0000"));
}

#[test]
fn the_clis_current_project_is_checked_too() {
    let (_cluster, _dir, kubeconfig) = cluster();
    let api = PolyaxonApi::start(Mode::ProjectForbidden, TOKEN, false);
    let home = cli_home(&api.url(), None);
    std::fs::write(
        home.path().join(".project"),
        r#"{"owner": "acme", "name": "mnist"}"#,
    )
    .unwrap();
    let report = check(&kubeconfig, home.path(), &[], &[]);
    let finding = only_api_finding(&report);
    assert_eq!(finding["rule"], "PXD-AUTH-025", "{finding:#}");
    assert!(finding["title"].as_str().unwrap().contains("acme/mnist"));
    let paths: Vec<String> = api.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, vec!["/api/v1/users", "/api/v1/acme/mnist"]);
}

#[test]
fn a_current_project_that_does_not_exist_is_said_so() {
    let (_cluster, _dir, kubeconfig) = cluster();
    let api = PolyaxonApi::start(Mode::ProjectMissing, TOKEN, false);
    let home = cli_home(&api.url(), None);
    std::fs::write(
        home.path().join(".project"),
        r#"{"owner": "acme", "name": "mnsit"}"#,
    )
    .unwrap();
    let report = check(&kubeconfig, home.path(), &[], &[]);
    let finding = only_api_finding(&report);
    assert_eq!(finding["rule"], "PXD-AUTH-030", "{finding:#}");
    let explanation = finding["explanation"].as_str().unwrap();
    assert!(explanation.contains("acme/mnsit"), "{explanation}");
    assert!(explanation.contains("No Project matches"), "{explanation}");
    assert!(
        finding["remediation"]
            .as_str()
            .unwrap()
            .contains("polyaxon init -p"),
        "{finding:#}"
    );
}

#[test]
fn an_untrusted_certificate_is_a_tls_finding_and_verify_ssl_false_or_the_ca_fixes_it() {
    let (_cluster, _dir, kubeconfig) = cluster();
    let api = PolyaxonApi::start(Mode::Fine, TOKEN, true);
    let home = cli_home(&api.url(), None);
    let report = check(&kubeconfig, home.path(), &[], &[]);
    let finding = only_api_finding(&report);
    assert_eq!(finding["rule"], "PXD-AUTH-026", "{finding:#}");
    assert!(
        finding["explanation"]
            .as_str()
            .unwrap()
            .contains("not trust"),
        "{finding:#}"
    );
    assert!(
        api.seen().is_empty(),
        "no request passes a failed handshake"
    );

    let report = check(
        &kubeconfig,
        home.path(),
        &[("POLYAXON_VERIFY_SSL", "false")],
        &[],
    );
    assert!(
        api_findings(&report).is_empty(),
        "{:#?}",
        report["findings"]
    );
    assert_eq!(api.seen().len(), 1);

    let ca = home.path().join("ca.pem");
    std::fs::write(&ca, api.ca_pem.as_deref().unwrap()).unwrap();
    let report = check(
        &kubeconfig,
        home.path(),
        &[("POLYAXON_SSL_CA_CERT", ca.to_str().unwrap())],
        &[],
    );
    assert!(
        api_findings(&report).is_empty(),
        "{:#?}",
        report["findings"]
    );

    // A CA file that is missing or holds no certificate is the user's
    // file, not the server: named as such, and nothing is asked.
    let asked = api.seen().len();
    let empty = home.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let missing = home.path().join("missing.pem");
    for (path, says) in [
        (&empty, "holds no certificate"),
        (&missing, "not a readable PEM file"),
    ] {
        let report = check(
            &kubeconfig,
            home.path(),
            &[("POLYAXON_SSL_CA_CERT", path.to_str().unwrap())],
            &[],
        );
        let finding = only_api_finding(&report);
        assert_eq!(finding["rule"], "PXD-AUTH-031", "{finding:#}");
        let explanation = finding["explanation"].as_str().unwrap();
        assert!(explanation.contains(says), "{explanation}");
        assert!(
            explanation.contains(path.to_str().unwrap()),
            "{explanation}"
        );
    }
    assert_eq!(api.seen().len(), asked, "the server was asked");
}

#[test]
fn a_closed_port_and_a_silent_listener_are_unreachable_within_the_timeout() {
    let (_cluster, _dir, kubeconfig) = cluster();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let home = cli_home(&format!("http://127.0.0.1:{closed}"), None);
    let report = check(&kubeconfig, home.path(), &[], &[]);
    let finding = only_api_finding(&report);
    assert_eq!(finding["rule"], "PXD-AUTH-027");
    assert!(finding["title"].as_str().unwrap().contains("refused"));

    let api = PolyaxonApi::start(Mode::Silent, TOKEN, false);
    let home = cli_home(&api.url(), None);
    let started = Instant::now();
    let report = check(&kubeconfig, home.path(), &[], &[]);
    let took = started.elapsed();
    let finding = only_api_finding(&report);
    assert_eq!(finding["rule"], "PXD-AUTH-027");
    assert!(
        finding["title"].as_str().unwrap().contains("timeout"),
        "{finding:#}"
    );
    assert!(
        finding["explanation"]
            .as_str()
            .unwrap()
            .contains("did not answer within 2s"),
        "{finding:#}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");

    // --timeout bounds the whole command, this probe included: a 10s step
    // is cut to what is left of 4s.
    let started = Instant::now();
    let output = run(
        &[
            "check",
            "-o",
            "json",
            "--request-timeout",
            "10s",
            "--timeout",
            "4s",
        ],
        &kubeconfig,
        home.path(),
        &[],
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let finding = only_api_finding(&report);
    assert_eq!(finding["rule"], "PXD-AUTH-027", "{finding:#}");
}

#[test]
fn no_api_and_no_cli_configuration_leave_the_api_alone() {
    let (_cluster, _dir, kubeconfig) = cluster();
    let api = PolyaxonApi::start(Mode::InvalidToken, TOKEN, false);
    let home = cli_home(&api.url(), None);
    let report = check(&kubeconfig, home.path(), &[], &["--no-api"]);
    assert!(api_findings(&report).is_empty());
    assert!(api.seen().is_empty());

    let empty = tempfile::tempdir().unwrap();
    let report = check(&kubeconfig, empty.path(), &[], &[]);
    assert!(api_findings(&report).is_empty());

    // POLYAXON_HOST alone is a configuration: the CLI would call it.
    let report = check(
        &kubeconfig,
        empty.path(),
        &[("POLYAXON_HOST", &api.url())],
        &[],
    );
    let finding = only_api_finding(&report);
    assert_eq!(finding["rule"], "PXD-AUTH-023", "{finding:#}");
}

#[test]
fn collect_records_the_probe_and_a_snapshot_replays_it_without_calling_the_api() {
    let (_cluster, dir, kubeconfig) = cluster();
    let api = PolyaxonApi::start(Mode::StripsAuthorization, TOKEN, false);
    let home = cli_home(&api.url(), None);
    let bundle = dir.path().join("bundle.tar.gz");
    let output = run(
        &["collect", "-o", bundle.to_str().unwrap()],
        &kubeconfig,
        home.path(),
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_no_token(&output);
    assert!(
        stderr(&output).contains("header_stripped"),
        "{}",
        stderr(&output)
    );
    assert_eq!(api.seen().len(), 1);
    let bytes = {
        use std::io::Read;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&bundle).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    };
    let unpacked = String::from_utf8_lossy(&bytes);
    assert!(unpacked.contains("probes/polyaxon-api.json"));
    assert!(!unpacked.contains(TOKEN), "the token is in the bundle");

    let output = run(
        &[
            "check",
            "--snapshot",
            bundle.to_str().unwrap(),
            "-o",
            "json",
        ],
        &kubeconfig,
        home.path(),
        &[],
    );
    assert_no_token(&output);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(only_api_finding(&report)["rule"], "PXD-AUTH-020");
    assert_eq!(api.seen().len(), 1, "--snapshot never calls the API");
}

#[test]
fn a_cli_pointing_at_another_polyaxon_is_a_stale_session() {
    let snapshot = tempfile::tempdir().unwrap();
    std::fs::write(
        snapshot.path().join("ingress.yaml"),
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: polyaxon-polyaxon-ingress\n  namespace: polyaxon\n  labels:\n    app.kubernetes.io/part-of: polyaxon-core\nspec:\n  rules:\n  - host: polyaxon.acme.io\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: polyaxon-polyaxon-gateway\n            port:\n              number: 80\n",
    )
    .unwrap();
    std::fs::create_dir(snapshot.path().join("probes")).unwrap();
    let probe = |host: &str| {
        serde_json::json!({
            "host": host, "host_source": "/home/ana/.polyaxon/.client",
            "token_sent": true, "token_source": "/home/ana/.polyaxon/.auth",
            "verify_ssl": true, "endpoint": "/api/v1/users", "outcome": "ok", "status": 200
        })
        .to_string()
    };
    let file = snapshot.path().join("probes/polyaxon-api.json");
    std::fs::write(&file, probe("https://polyaxon.old-cluster.acme.io")).unwrap();
    let (report, _) = support::check_json(snapshot.path(), &[]);
    let finding = only_api_finding(&report);
    assert_eq!(finding["rule"], "PXD-AUTH-028", "{finding:#}");
    assert!(
        finding["explanation"]
            .as_str()
            .unwrap()
            .contains("polyaxon.acme.io")
    );
    assert!(
        finding["remediation"]
            .as_str()
            .unwrap()
            .contains("polyaxon config purge")
    );

    std::fs::write(&file, probe("https://polyaxon.acme.io")).unwrap();
    let (report, _) = support::check_json(snapshot.path(), &[]);
    assert!(
        api_findings(&report).is_empty(),
        "{:#?}",
        report["findings"]
    );
    // A port-forward cannot be compared with anything.
    std::fs::write(&file, probe("http://localhost:8000")).unwrap();
    let (report, _) = support::check_json(snapshot.path(), &[]);
    assert!(
        api_findings(&report).is_empty(),
        "{:#?}",
        report["findings"]
    );

    std::fs::write(&file, "{\"host\": 3}").unwrap();
    let output = support::pxdoctor(&["check", "--snapshot", snapshot.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("polyaxon-api.json"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn credentials_in_the_cli_host_are_masked_in_the_report() {
    let (_cluster, _dir, kubeconfig) = cluster();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = cli_home(&format!("http://ana:hunter2pw@127.0.0.1:{port}"), None);
    let output = run(
        &["check", "-o", "json", "--request-timeout", "2s"],
        &kubeconfig,
        home.path(),
        &[],
    );
    let shown = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        !shown.contains("hunter2pw"),
        "the host's password leaked: {shown}"
    );
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let finding = only_api_finding(&report);
    assert!(
        finding.to_string().contains("ana:****@127.0.0.1"),
        "{finding:#}"
    );
}
