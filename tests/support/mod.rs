//! Shared test helpers: run the real binary, read its JSON, and validate
//! every report against the checked-in JSON Schema.
#![allow(dead_code)]

pub mod apiserver;
pub mod haupt;
pub mod polyaxon;
pub mod secrets;
pub mod served;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata(scenario: &str) -> PathBuf {
    repo().join("testdata").join(scenario)
}

/// Runs `pxdoctor` with `args`, colours off, from the repository root.
pub fn pxdoctor(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_pxdoctor"), args)
}

/// `pxdoctor` kept from this machine's settings that would change what it
/// reaches: no proxy (kube honours HTTPS_PROXY and NO_PROXY, as kubectl
/// does), no in-cluster service account, no Polyaxon CLI configuration (the
/// API probe has its own tests); colours off, from the repository root.
pub fn isolated_pxdoctor() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pxdoctor"));
    without_proxies(&mut command);
    for name in [
        "KUBERNETES_SERVICE_HOST",
        "POLYAXON_HOST",
        "POLYAXON_AUTH_TOKEN",
    ] {
        command.env_remove(name);
    }
    command
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env("POLYAXON_HOME", "/nonexistent/polyaxon-home");
    command
}

/// Loopback only: no proxy of the machine's in the way (kube honours
/// HTTPS_PROXY and NO_PROXY, as kubectl does).
fn without_proxies(command: &mut Command) {
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(name);
    }
}

pub fn kubectl_pxdoctor(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_kubectl-pxdoctor"), args)
}

fn run(binary: &str, args: &[&str]) -> Output {
    run_with(binary, args, &[])
}

fn run_with(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary);
    without_proxies(&mut command);
    command
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("the built binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `check -o json` on `snapshot` with extra args; returns the report
/// (validated against schema/report.v1.json) and the exit code.
pub fn check_json(snapshot: &Path, extra: &[&str]) -> (serde_json::Value, i32) {
    check_json_with(snapshot, extra, &[])
}

/// [`check_json`] with extra environment variables (e.g. PXDOCTOR_NOW).
pub fn check_json_with(
    snapshot: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (serde_json::Value, i32) {
    let snapshot = snapshot.to_string_lossy().into_owned();
    let mut args = vec!["check", "--snapshot", snapshot.as_str(), "-o", "json"];
    args.extend_from_slice(extra);
    let output = run_with(env!("CARGO_BIN_EXE_pxdoctor"), &args, env);
    let code = output.status.code().expect("exited");
    assert!(
        code == 0 || code == 1,
        "check failed with {code}: {}",
        stderr(&output)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_valid_report(&report);
    (report, code)
}

pub fn assert_valid_report(report: &serde_json::Value) {
    let schema_text =
        std::fs::read_to_string(repo().join("schema/report.v1.json")).expect("schema file");
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match schema/report.v1.json: {errors:#?}"
    );
}

/// `namespace/name` (or `name` for cluster-scoped subjects) of a finding.
pub fn subject(finding: &serde_json::Value) -> String {
    let subject = &finding["subject"];
    match subject["namespace"].as_str() {
        Some(namespace) => format!("{namespace}/{}", subject["name"].as_str().unwrap_or("")),
        None => subject["name"].as_str().unwrap_or("").to_string(),
    }
}
