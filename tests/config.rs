//! `.pxdoctor.yaml` and the `pxdoctor.io/ignore` annotation, as a team
//! meets them: silenced findings are counted and can be listed, expired
//! ignores come back with a warning, and every mistake in the file is an
//! exit-2 error naming its line and column.

mod sarif;
mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{assert_valid_report, check_json, pxdoctor, repo, stderr, stdout, testdata};

const EXAMPLE: &str = "testdata/configs/gpu-shortage.pxdoctor.yaml";
const FINETUNE: &str = "2af43334aa172156f3b9a57fd315706b";

/// Runs pxdoctor in `dir`, where it looks for `.pxdoctor.yaml` itself.
fn pxdoctor_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pxdoctor"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("PXDOCTOR_NOW", "2026-03-01T12:00:00Z")
        .output()
        .expect("the built binary runs")
}

fn gpu_shortage() -> String {
    testdata("gpu-shortage").to_string_lossy().into_owned()
}

/// (rule, pod name) of every finding.
fn keys(findings: &serde_json::Value) -> Vec<(String, String)> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["subject"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The scenario's report without any configuration, to compare with.
fn baseline() -> serde_json::Value {
    check_json(&testdata("gpu-shortage"), &[]).0
}

/// The baseline's findings less PXD-PEND-003 on the fine-tune run.
fn baseline_without_finetune_003() -> Vec<(String, String)> {
    keys(&baseline()["findings"])
        .into_iter()
        .filter(|(rule, pod)| !(rule == "PXD-PEND-003" && pod.contains(FINETUNE)))
        .collect()
}

#[test]
fn an_ignore_with_a_reason_silences_one_finding_and_is_counted() {
    let before = baseline();
    let (report, code) = check_json(&testdata("gpu-shortage"), &["--config", EXAMPLE]);
    assert_eq!(keys(&report["findings"]), baseline_without_finetune_003());
    assert_eq!(
        report["summary"]["error"].as_u64().unwrap(),
        before["summary"]["error"].as_u64().unwrap() - 1
    );
    assert_eq!(report["summary"]["suppressed"], 1);
    assert!(report.get("suppressed").is_none(), "listed only when asked");
    assert_eq!(code, 1, "the other run still fails the gate");

    let (report, _) = check_json(
        &testdata("gpu-shortage"),
        &["--config", EXAMPLE, "--show-suppressed"],
    );
    let listed = report["suppressed"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["rule"], "PXD-PEND-003");
    assert_eq!(listed[0]["subject"]["run"]["uuid"], FINETUNE);
    assert_eq!(
        listed[0]["suppression"]["reason"],
        "waits for the 16-GPU pool ordered in INFRA-1234"
    );
    assert_eq!(listed[0]["suppression"]["by"], format!("{EXAMPLE}:5:5"));
    assert_eq!(listed[0]["suppression"]["expires"], "2099-12-31");

    // The table says so too, and lists it when asked.
    let output = pxdoctor(&["check", "--snapshot", &gpu_shortage(), "--config", EXAMPLE]);
    let text = stdout(&output);
    assert!(
        text.contains("1 finding(s) suppressed; --show-suppressed lists them."),
        "{text}"
    );
    assert!(!text.contains("PXD-PEND-003"));
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &gpu_shortage(),
        "--config",
        EXAMPLE,
        "--show-suppressed",
    ]);
    let text = stdout(&output);
    assert!(text.contains("suppressed (1)"), "{text}");
    assert!(text.contains("PXD-PEND-003"), "{text}");
    assert!(text.contains("Reason: waits for the 16-GPU pool"), "{text}");
    assert!(text.contains("INFRA-1234"), "{text}");
    // Long commands and URLs stand whole on numbered lines under a table.
    for line in text.lines().filter(|line| !line.starts_with("  [")) {
        assert!(line.chars().count() <= 100, "too wide: {line}");
    }
}

#[test]
fn suppressed_findings_appear_as_such_in_sarif_junit_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("r.sarif");
    let junit = dir.path().join("r.xml");
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &gpu_shortage(),
        "--config",
        EXAMPLE,
        "--show-suppressed",
        "-o",
        &format!("sarif={}", sarif.display()),
        "-o",
        &format!("junit={}", junit.display()),
        "-o",
        "markdown",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    sarif::assert_valid(&log, "suppressed results");
    let suppressed: Vec<&serde_json::Value> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "external");
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "waits for the 16-GPU pool ordered in INFRA-1234"
    );
    let errors = baseline()["summary"]["error"].as_u64().unwrap();
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(&format!("failures=\"{}\"", errors - 1)),
        "{xml}"
    );
    assert!(xml.contains("<skipped message=\"suppressed by"), "{xml}");
    let markdown = stdout(&output);
    assert!(markdown.contains("#### Suppressed (1)"), "{markdown}");
    assert!(markdown.contains("1 suppressed"), "{markdown}");
}

#[test]
fn a_typo_in_pxdoctor_yaml_is_exit_2_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".pxdoctor.yaml"),
        "ignore:\n  - rule: PXD-PEND-003\n    reasn: waits for the new pool\n",
    )
    .unwrap();
    // Found in the working directory without --config.
    let output = pxdoctor_in(dir.path(), &["check", "--snapshot", &gpu_shortage()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains(".pxdoctor.yaml:3:5: unknown field `reasn`"),
        "{message}"
    );
    // --fail-on never does not hide it: pxdoctor itself failed.
    let output = pxdoctor_in(
        dir.path(),
        &["check", "--snapshot", &gpu_shortage(), "--fail-on", "never"],
    );
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn every_problem_of_a_config_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team.yaml");
    std::fs::write(
        &path,
        "severity:\n  PXD-PEND-02: info\ncategories:\n  pendng: false\nignore:\n  - rule: PXD-PEND-003\n  - namespace: polyaxon\n    reason: ''\n  - reason: no condition\n  - rule: PXD-PEND-002\n    message: '(unclosed'\n    reason: regex\nrulez: [x]\nsevrity:\n  PXD-PEND-002: info\n",
    )
    .unwrap();
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &gpu_shortage(),
        "--config",
        &path.to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    let file = path.display().to_string();
    for expected in [
        format!("{file}:2:3: unknown rule `PXD-PEND-02` (did you mean PXD-PEND-002?)"),
        format!("{file}:4:3: categories: unknown category `pendng`"),
        format!("{file}:6:5: ignore: an entry needs a `reason`"),
        format!("{file}:8:13: ignore: the reason is empty"),
        format!("{file}:9:5: ignore: an entry needs at least one of rule"),
        format!("{file}:11:14: ignore: message: invalid regex `(unclosed`"),
        // Unknown keys, all of them, beside the other problems.
        format!("{file}:13:1: unknown field `rulez` (did you mean `rules`?)"),
        format!("{file}:14:1: unknown field `sevrity` (did you mean `severity`?)"),
    ] {
        assert!(message.contains(&expected), "{expected}\n{message}");
    }
}

#[test]
fn an_expired_ignore_warns_and_its_finding_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".pxdoctor.yaml"),
        "ignore:\n  - rule: PXD-PEND-003\n    reason: until the pool arrives\n    expires: 2026-02-28\n",
    )
    .unwrap();
    let output = pxdoctor_in(
        dir.path(),
        &["check", "--snapshot", &gpu_shortage(), "-o", "json"],
    );
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(".pxdoctor.yaml:2:5: this ignore expired on 2026-02-28"),
        "{message}"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_valid_report(&report);
    assert_eq!(report["summary"]["suppressed"], 0);
    assert_eq!(keys(&report["findings"]), keys(&baseline()["findings"]));
    // The last day still holds.
    let output = Command::new(env!("CARGO_BIN_EXE_pxdoctor"))
        .args(["check", "--snapshot", &gpu_shortage(), "-o", "json"])
        .current_dir(dir.path())
        .env("PXDOCTOR_NOW", "2026-02-28T23:59:00Z")
        .output()
        .unwrap();
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["summary"]["suppressed"], 1);
}

#[test]
fn severity_overrides_and_categories_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(&path, "severity:\n  PXD-PEND-002: warning\n").unwrap();
    let config = path.to_string_lossy().into_owned();
    let before = baseline();
    let count =
        |report: &serde_json::Value, level: &str| report["summary"][level].as_u64().unwrap();
    let (report, code) = check_json(&testdata("gpu-shortage"), &["--config", &config]);
    assert_eq!(count(&report, "error"), count(&before, "error") - 1);
    assert_eq!(count(&report, "warning"), count(&before, "warning") + 1);
    assert_eq!(code, 1);
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &gpu_shortage(),
        "--config",
        &config,
        "-o",
        "sarif",
    ]);
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rule = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "PXD-PEND-002")
        .unwrap()
        .clone();
    assert_eq!(rule["defaultConfiguration"]["level"], "warning");

    std::fs::write(&path, "categories:\n  pending: false\n").unwrap();
    let (report, _) = check_json(&testdata("gpu-shortage"), &["--config", &config]);
    let pending = before["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == "pending")
        .count();
    assert!(pending > 0);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["category"] != "pending")
    );
    assert_eq!(
        report["summary"]["suppressed"], pending,
        "counted, not dropped"
    );
    // --only narrows the count like the findings.
    let (report, _) = check_json(
        &testdata("gpu-shortage"),
        &["--config", &config, "--only", "node", "--show-suppressed"],
    );
    assert_eq!(report["summary"]["suppressed"], 0);
    assert_eq!(report["suppressed"], serde_json::json!([]));
}

#[test]
fn the_pod_annotation_silences_its_rules_on_that_pod() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["nodes.json", "events.json", "operations.json"] {
        std::fs::copy(testdata("gpu-shortage").join(file), dir.path().join(file)).unwrap();
    }
    let text = std::fs::read_to_string(testdata("gpu-shortage").join("pods.json")).unwrap();
    let mut pods: serde_json::Value = serde_json::from_str(&text).unwrap();
    for pod in pods["items"].as_array_mut().unwrap() {
        if pod["metadata"]["name"].as_str().unwrap().contains(FINETUNE) {
            pod["metadata"]["annotations"]["pxdoctor.io/ignore"] =
                serde_json::json!("PXD-PEND-003, PXD-NODE-001");
        }
    }
    std::fs::write(dir.path().join("pods.json"), pods.to_string()).unwrap();
    let (report, code) = check_json(dir.path(), &["--show-suppressed"]);
    assert_eq!(keys(&report["findings"]), baseline_without_finetune_003());
    assert_eq!(report["summary"]["suppressed"], 1);
    let by = report["suppressed"][0]["suppression"]["by"]
        .as_str()
        .unwrap();
    assert_eq!(
        by,
        format!("Pod polyaxon/plx-operation-{FINETUNE}-fe36d annotation pxdoctor.io/ignore")
    );
    assert_eq!(code, 1);
}

#[test]
fn label_selectors_read_the_pods_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    let config = path.to_string_lossy().into_owned();
    let on = |pod: &str| {
        keys(&baseline()["findings"])
            .iter()
            .filter(|(_, name)| name.contains(pod))
            .count()
    };
    let (finetune, train) = (on(FINETUNE), on("5200fc5c"));
    assert!(finetune > 0 && train > 0);
    for (selector, silenced) in [
        ("app.kubernetes.io/name=finetune-70b", finetune),
        (
            "app.kubernetes.io/name in (train, finetune-70b)",
            finetune + train,
        ),
        (
            "app.kubernetes.io/name!=train,app.kubernetes.io/part-of",
            finetune,
        ),
        ("team=nobody", 0),
    ] {
        std::fs::write(
            &path,
            format!("ignore:\n  - labels: '{selector}'\n    reason: test\n"),
        )
        .unwrap();
        let (report, _) = check_json(&testdata("gpu-shortage"), &["--config", &config]);
        assert_eq!(report["summary"]["suppressed"], silenced, "{selector}");
    }
}

#[test]
fn rule_directories_of_the_config_are_loaded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("team-rules")).unwrap();
    std::fs::write(
        dir.path().join("team-rules/starved.yaml"),
        r#"id: TEAM-001
title: "GPU starved"
category: pending
severity: warning
fact: scheduling_reason
match:
  reason: '^Insufficient (?P<resource>nvidia\.com/gpu)$'
explain: "{node_count}: no {resource}"
remediation: "Ask the platform team."
examples:
  - fact: {message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}
    captures: {resource: nvidia.com/gpu}
  - fact: {message: "0/3 nodes are available: 3 Insufficient cpu."}
    matches: false
"#,
    )
    .unwrap();
    // Relative to the config file, and its ids may be ignored.
    std::fs::write(
        dir.path().join(".pxdoctor.yaml"),
        "rules: [team-rules]\nignore:\n  - rule: TEAM-001\n    run: 5200fc5c\n    reason: known\n",
    )
    .unwrap();
    let output = pxdoctor_in(
        dir.path(),
        &["check", "--snapshot", &gpu_shortage(), "-o", "json"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let team: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "TEAM-001")
        .collect();
    assert_eq!(team.len(), 1, "one of two silenced by run");
    assert_eq!(report["summary"]["suppressed"], 1);

    std::fs::write(dir.path().join(".pxdoctor.yaml"), "rules: [nowhere]\n").unwrap();
    let output = pxdoctor_in(dir.path(), &["check", "--snapshot", &gpu_shortage()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(".pxdoctor.yaml:1:9: rules: `nowhere` is not a directory"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_missing_config_file_given_by_flag_is_a_usage_error() {
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &gpu_shortage(),
        "--config",
        "/nonexistent/.pxdoctor.yaml",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--config /nonexistent/.pxdoctor.yaml: cannot read"));
}

#[test]
fn the_example_config_validates_against_the_config_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schema/config.v1.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let example: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(repo().join(EXAMPLE)).unwrap()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&example)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let typo = serde_json::json!({"ignore": [{"rule": "PXD-PEND-003", "reasn": "x"}]});
    assert!(!validator.is_valid(&typo));
}

#[test]
fn grace_decides_when_a_starting_run_is_stuck() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = testdata("never-silent").to_string_lossy().into_owned();
    // run 3c38594e has waited 41m in ContainerCreating with no event.
    let stuck = "3c38594e1fb1349b40a585033a1c9fbc";
    let findings = |grace: &str| {
        std::fs::write(
            dir.path().join(".pxdoctor.yaml"),
            format!("grace: {grace}\n"),
        )
        .unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_pxdoctor"))
            .args(["check", "--snapshot", &snapshot, "-o", "json"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("runs");
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        keys(&report["findings"])
    };
    let about_stuck = |found: &[(String, String)]| {
        found
            .iter()
            .any(|(rule, pod)| rule == "PXD-RUN-096" && pod.contains(stuck))
    };
    assert!(about_stuck(&findings("30m")));
    assert!(!about_stuck(&findings("1h")));

    std::fs::write(dir.path().join(".pxdoctor.yaml"), "grace: soon\n").unwrap();
    let output = pxdoctor_in(dir.path(), &["check", "--snapshot", &snapshot]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(".pxdoctor.yaml:1:8: grace: `soon` is not a duration"),
        "{}",
        stderr(&output)
    );
}
