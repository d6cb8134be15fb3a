//! The command line as users and CI meet it: exit codes, flags, the table,
//! and errors that name the file, line and column.

mod support;

use std::io::Write;
use std::path::Path;

use support::{check_json, kubectl_pxdoctor, pxdoctor, stderr, stdout, subject, testdata};

fn snapshot(name: &str) -> String {
    testdata(name).to_string_lossy().into_owned()
}

#[test]
fn gpu_shortage_table_names_the_run_the_cause_and_the_fix() {
    let output = pxdoctor(&["check", "--snapshot", &snapshot("gpu-shortage")]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("run 5200fc5c… (acme/mnist, op train)"),
        "{text}"
    );
    assert!(text.contains("not enough free nvidia.com/gpu"), "{text}");
    assert!(
        text.contains("Fix: Lower container.resources.limits.nvidia.com/gpu"),
        "{text}"
    );
    assert!(text.contains("2 error(s), 1 warning(s), 1 info"), "{text}");
    // Readable in 100 columns, without colour codes when not on a terminal;
    // long commands and URLs stand whole on numbered lines under a table,
    // never wrapped inside a word.
    for line in text.lines().filter(|line| !line.starts_with("  [")) {
        assert!(line.chars().count() <= 100, "too wide: {line}");
    }
    assert!(
        text.lines()
            .any(|line| line.starts_with("  [") && line.contains("https://")),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no escape codes off a terminal");
}

#[test]
fn healthy_cluster_exits_zero_and_says_so() {
    let output = pxdoctor(&["check", "--snapshot", &snapshot("healthy")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("No findings. 13 Polyaxon run(s) checked in 3 namespaces."));
    let (report, code) = check_json(&testdata("healthy"), &["--fail-on", "info"]);
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["runs"], 13);
    assert_eq!(report["schema"], "pxdoctor.report/v1");
}

#[test]
fn fail_on_sets_the_gate() {
    let gpu = testdata("gpu-shortage");
    assert_eq!(check_json(&gpu, &["--fail-on", "never"]).1, 0);
    assert_eq!(check_json(&gpu, &["--fail-on", "error"]).1, 1);
    let pressure = testdata("node-pressure");
    // Only warnings left once pending is filtered away.
    assert_eq!(check_json(&pressure, &["--only", "node"]).1, 0);
    assert_eq!(
        check_json(&pressure, &["--only", "node", "--fail-on", "warning"]).1,
        1
    );
}

#[test]
fn only_run_and_namespace_filter_findings() {
    let (report, _) = check_json(&testdata("node-pressure"), &["--only", "node"]);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, vec!["PXD-NODE-002", "PXD-NODE-002"]);

    let (report, _) = check_json(&testdata("gpu-shortage"), &["--run", "5200fc5c"]);
    let findings = report["findings"].as_array().unwrap();
    // Its Pending finding and cluster-autoscaler's note that a node is coming.
    assert_eq!(findings.len(), 2);
    assert!(
        findings
            .iter()
            .all(|f| f["subject"]["run"]["uuid"] == "5200fc5c54e80b7c05f3c8f051545385")
    );
    assert_eq!(findings[0]["subject"]["run"]["project"], "mnist");

    let (report, code) = check_json(
        &testdata("node-pressure"),
        &["-n", "elsewhere", "--only", "pending"],
    );
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    assert_eq!(
        report["source"]["namespaces"],
        serde_json::json!(["elsewhere"])
    );
    assert_eq!(code, 0);
}

#[test]
fn events_of_a_pod_that_was_scheduled_later_are_history() {
    let (report, _) = check_json(&testdata("gpu-shortage"), &[]);
    let running_with_old_event = "polyaxon/plx-operation-";
    let subjects: std::collections::BTreeSet<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(subject)
        .collect();
    assert_eq!(subjects.len(), 2, "the two Pending runs only");
    assert!(
        subjects
            .iter()
            .all(|s| s.starts_with(running_with_old_event))
    );
    assert!(
        !subjects.iter().any(|s| s.contains("2c73")),
        "gpu-r4 ran; its FailedScheduling is old"
    );
}

fn rule_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

const GOOD_RULE: &str = r#"id: TEAM-001
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
"#;

#[test]
fn a_broken_regex_is_an_input_error_with_file_line_and_column() {
    let broken = GOOD_RULE.replace(
        r"(?P<resource>nvidia\.com/gpu)",
        r"(?P<resource>nvidia\.com/gpu",
    );
    let dir = rule_dir(&[("starved.yaml", &broken)]);
    let rules = dir.path().to_string_lossy().into_owned();
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot("healthy"),
        "--rules",
        &rules,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    let expected = format!(
        "{}:7:11: `reason`: invalid regex",
        dir.path().join("starved.yaml").display()
    );
    assert!(message.contains(&expected), "{message}");
    assert!(message.contains("unclosed group"), "{message}");
}

#[test]
fn every_problem_of_a_rule_file_is_reported_at_once() {
    let broken = GOOD_RULE
        .replace("category: pending", "category: pendng")
        .replace("reason: '^", "reasn: '^")
        .replace("{node_count}: no {resource}", "{nodecount}: no {resource}");
    let dir = rule_dir(&[("starved.yaml", &broken)]);
    let rules = dir.path().to_string_lossy().into_owned();
    let output = pxdoctor(&["rules", "list", "--rules", &rules]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("starved.yaml:3:11: unknown category `pendng`"),
        "{message}"
    );
    assert!(
        message.contains("starved.yaml:7:10: fact kind `scheduling_reason` has no field `reasn`"),
        "{message}"
    );
    assert!(message.contains("placeholder `{nodecount}`"), "{message}");
}

#[test]
fn unknown_keys_and_duplicate_ids_are_rejected() {
    // Every unknown key at once, each with its position and a suggestion.
    let typo = GOOD_RULE
        .replace("remediation:", "remedation:")
        .replace("title:", "titel:")
        .replacen("matches: false", "matchez: false", 1);
    let dir = rule_dir(&[("typo.yaml", &typo)]);
    let output = pxdoctor(&["rules", "list", "--rules", &dir.path().to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    for expected in [
        "typo.yaml:2:1: unknown field `titel` (did you mean `title`?)",
        "typo.yaml:9:1: unknown field `remedation` (did you mean `remediation`?)",
        "unknown field `matchez` in an example (did you mean `matches`?)",
    ] {
        assert!(
            stderr(&output).contains(expected),
            "{expected}\n{}",
            stderr(&output)
        );
    }

    let dir = rule_dir(&[("a.yaml", GOOD_RULE), ("b.yaml", GOOD_RULE)]);
    let output = pxdoctor(&["rules", "list", "--rules", &dir.path().to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("duplicate rule id `TEAM-001`: already defined by"),
        "{}",
        stderr(&output)
    );

    let builtin_clash = GOOD_RULE.replace("TEAM-001", "PXD-PEND-001");
    let dir = rule_dir(&[("clash.yaml", &builtin_clash)]);
    let output = pxdoctor(&["rules", "list", "--rules", &dir.path().to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "clash.yaml:1:5: duplicate rule id `PXD-PEND-001`: already defined by a built-in rule (rules/pending/insufficient-cpu-memory.yaml, compiled into pxdoctor)"
        ),
        "the user's file is at fault, the built-in is named as such: {}",
        stderr(&output)
    );
}

#[test]
fn a_user_rule_whose_examples_fail_is_refused_at_the_examples_line() {
    // Its look-alike is one it does match.
    let wrong = GOOD_RULE.replace(
        "  - fact: {message: \"0/3 nodes are available: 3 Insufficient cpu.\"}",
        "  - fact: {message: \"0/2 nodes are available: 2 Insufficient nvidia.com/gpu.\"}",
    );
    assert_ne!(wrong, GOOD_RULE);
    let dir = rule_dir(&[("starved.yaml", &wrong)]);
    let rules = dir.path().to_string_lossy().into_owned();
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot("healthy"),
        "--rules",
        &rules,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!(
            "{}:13:1: TEAM-001: this look-alike must not match, but it does",
            dir.path().join("starved.yaml").display()
        )),
        "{}",
        stderr(&output)
    );
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot("healthy"),
        "--rules",
        &rule_dir(&[("starved.yaml", GOOD_RULE)])
            .path()
            .to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn rules_test_counts_the_same_however_the_directory_is_spelled() {
    let counts: Vec<String> = [
        vec!["rules", "test"],
        vec!["rules", "test", "rules"],
        vec!["rules", "test", "./rules"],
        vec![
            "rules",
            "test",
            support::repo().join("rules").to_str().unwrap(),
        ],
    ]
    .iter()
    .map(|args| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pxdoctor"))
            .args(args)
            .current_dir(support::repo())
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        stdout(&output)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    })
    .collect();
    assert!(counts[0].ends_with("passed, 0 failed"), "{counts:?}");
    assert!(counts.iter().all(|c| *c == counts[0]), "{counts:?}");
}

#[test]
fn rules_list_shows_titles_and_the_configs_rule_directories_and_severities() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("team")).unwrap();
    std::fs::write(dir.path().join("team/starved.yaml"), GOOD_RULE).unwrap();
    std::fs::write(
        dir.path().join(".pxdoctor.yaml"),
        "rules: [team]\nseverity:\n  PXD-PEND-007: info\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pxdoctor"))
        .args(["rules", "list"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.lines().next().unwrap_or_default().contains("TITLE"),
        "{text}"
    );
    let line = |id: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(id))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("TEAM-001").contains("GPU starved"), "{text}");
    assert!(line("PXD-PEND-007").contains(" info "), "{text}");
    assert!(
        line("PXD-PEND-002").contains("{resource}"),
        "titles keep their placeholders: {text}"
    );
}

#[test]
fn a_snapshot_value_of_the_wrong_type_names_the_files_line_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let pod = |name: &str| {
        format!(
            "  - apiVersion: v1\n    kind: Pod\n    metadata:\n      name: {name}\n      namespace: polyaxon\n    spec:\n      containers:\n        - name: main\n          image: acme/trainer:1\n          ports:\n            - containerPort: high\n"
        )
    };
    std::fs::write(
        dir.path().join("pods.yaml"),
        format!("apiVersion: v1\nkind: List\nitems:\n{}", pod("a")),
    )
    .unwrap();
    let output = pxdoctor(&["check", "--snapshot", &dir.path().to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("pods.yaml:14:30: document 1, item 1: Pod spec.containers[0].ports[0].containerPort: invalid type"),
        "the file's own line and the field's path: {message}"
    );

    let json = serde_json::json!({"apiVersion": "v1", "kind": "PodList", "items": [
        {"metadata": {"name": "a", "namespace": "polyaxon"},
         "spec": {"containers": [{"name": 42, "image": "x"}]}}]});
    std::fs::remove_file(dir.path().join("pods.yaml")).unwrap();
    std::fs::write(
        dir.path().join("pods.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    let output = pxdoctor(&["check", "--snapshot", &dir.path().to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    let written = std::fs::read_to_string(dir.path().join("pods.json")).unwrap();
    let line = 1 + written
        .lines()
        .position(|l| l.contains("\"name\": 42"))
        .unwrap();
    assert!(
        message.contains(&format!(
            "pods.json:{line}:22: Pod spec.containers[0].name: invalid type: integer `42`"
        )),
        "{message}"
    );
}

#[test]
fn the_man_page_says_the_exit_status_and_the_files() {
    let output = pxdoctor(&["man"]);
    assert_eq!(output.status.code(), Some(0));
    let page = stdout(&output);
    for section in [
        ".SH \"EXIT STATUS\"",
        ".SH FILES",
        "nothing could be collected",
    ] {
        assert!(
            page.to_lowercase().contains(&section.to_lowercase()),
            "{section}\n{page}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man/man1");
    let output = pxdoctor(&["man", "--dir", &pages.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let check = std::fs::read_to_string(pages.join("pxdoctor-check.1")).unwrap();
    assert!(check.contains(".SH \"EXIT STATUS\"") && check.contains(".SH FILES"));
}

#[test]
fn a_user_rule_joins_the_built_in_ones() {
    let dir = rule_dir(&[("starved.yaml", GOOD_RULE)]);
    let rules = dir.path().to_string_lossy().into_owned();
    let (report, _) = check_json(&testdata("gpu-shortage"), &["--rules", &rules]);
    let causes: Vec<&str> = report["findings"][1]["causes"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["rule"].as_str()).collect())
        .unwrap_or_default();
    // Not in the scheduling fold: a finding of its own on the same run.
    assert!(causes.iter().all(|c| *c != "TEAM-001"));
    let own: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "TEAM-001")
        .collect();
    // Both Pending runs are refused for GPUs; the team's rule sees both.
    assert_eq!(own.len(), 2);
    assert!(own.iter().all(
        |f| f["explanation"] == "3 of 4 nodes: no nvidia.com/gpu" && f["severity"] == "warning"
    ));
    let output = pxdoctor(&["rules", "test", &rules]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).contains("2 passed, 0 failed"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_rule_whose_example_fails_fails_rules_test() {
    let wrong = GOOD_RULE.replace(
        "captures: {resource: nvidia.com/gpu}",
        "captures: {resource: amd.com/gpu}",
    );
    let dir = rule_dir(&[("starved.yaml", &wrong)]);
    let output = pxdoctor(&["rules", "test", &dir.path().to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("1 passed, 1 failed"),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains("starved.yaml:11:"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn built_in_rules_pass_their_examples_and_explain_themselves() {
    let output = pxdoctor(&["rules", "test"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains(" 0 failed"));
    let output = pxdoctor(&["rules", "explain", "PXD-NODE-002"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.starts_with("# rules/node/pressure.yaml"));
    assert!(
        text.contains("NodeHasNoDiskPressure"),
        "the look-alike is part of the rule's text"
    );
    let output = pxdoctor(&["rules", "explain", "PXD-PEND-1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no rule `PXD-PEND-1`"));
}

#[test]
fn a_snapshot_file_that_does_not_parse_names_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let pods = std::fs::read_to_string(testdata("gpu-shortage").join("pods.json")).unwrap();
    // Drop a comma: serde_json notices on the next line.
    std::fs::copy(
        testdata("gpu-shortage").join("nodes.json"),
        dir.path().join("nodes.json"),
    )
    .unwrap();
    let broken = pods.replacen(
        "\"restartPolicy\": \"Never\",",
        "\"restartPolicy\": \"Never\"",
        3,
    );
    let line = broken
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim() == "\"restartPolicy\": \"Never\"")
        .map(|(i, _)| i + 2)
        .unwrap();
    std::fs::write(dir.path().join("pods.json"), broken).unwrap();
    let output = pxdoctor(&["check", "--snapshot", &dir.path().to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("pods.json:{line}:")),
        "line {line}: {message}"
    );
    assert!(message.contains("expected `,` or `}`"), "{message}");

    // Valid JSON of the wrong shape: the position of the object in the file.
    let dir = tempfile::tempdir().unwrap();
    let mut file = std::fs::File::create(dir.path().join("pod.json")).unwrap();
    writeln!(file, "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n  {{\"kind\": \"Pod\", \"metadata\": {{\"name\": \"p\"}},\n   \"spec\": {{\"containers\": \"oops\"}}}}]}}").unwrap();
    let output = pxdoctor(&["check", "--snapshot", &dir.path().to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("pod.json:3:"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("invalid type"),
        "{}",
        stderr(&output)
    );

    // YAML syntax errors carry their line too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pods.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n",
    )
    .unwrap();
    let output = pxdoctor(&["check", "--snapshot", &dir.path().to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("pods.yaml:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn usage_errors_exit_two() {
    let output = pxdoctor(&["check", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--kubeconfig /nonexistent/kubeconfig"),
        "{}",
        stderr(&output)
    );
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot("healthy"),
        "--timeout",
        "soon",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`soon` is not a duration"),
        "{}",
        stderr(&output)
    );
    let output = pxdoctor(&["check", "--snapshot", "/nonexistent/snapshot"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("/nonexistent/snapshot"),
        "{}",
        stderr(&output)
    );
    let output = pxdoctor(&["check", "--snapshot", &snapshot("healthy"), "-o", "yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid value 'yaml'"),
        "{}",
        stderr(&output)
    );
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot("healthy"),
        "--rules",
        "/nonexistent/rules",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--rules /nonexistent/rules"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_kubectl_plugin_speaks_as_kubectl_pxdoctor() {
    let output = kubectl_pxdoctor(&["check", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).contains("Usage: kubectl pxdoctor check"),
        "{}",
        stdout(&output)
    );
    let output = kubectl_pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot("gpu-shortage"),
        "-n",
        "polyaxon",
        "-o",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let output = pxdoctor(&["version"]);
    assert_eq!(
        stdout(&output).trim(),
        format!("pxdoctor {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn rules_over_log_lines_read_both_log_layouts() {
    let rule = r#"id: TEAM-LOG-001
title: "sidecar synced"
category: artifacts
severity: info
fact: log_line
match:
  container: {equals: polyaxon-sidecar}
  line: 'to (?P<bucket>s3://[^/\s]+)'
explain: "{subject}: {container} wrote to {bucket}"
remediation: "none needed"
examples:
  - fact: {container: polyaxon-sidecar, line: "INFO Synced 14 artifacts to s3://acme-artifacts/churn"}
    captures: {bucket: "s3://acme-artifacts"}
  - fact: {container: polyaxon-main, line: "INFO Synced 14 artifacts to s3://acme-artifacts/churn"}
    matches: false
"#;
    let dir = rule_dir(&[("log.yaml", rule)]);
    let rules = dir.path().to_string_lossy().into_owned();
    // logs/<ns>/<pod>/<container>.log
    let (report, _) = check_json(
        &testdata("healthy"),
        &["--rules", &rules, "--only", "artifacts"],
    );
    let found = report["findings"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert!(
        found[0]["explanation"]
            .as_str()
            .unwrap()
            .ends_with("polyaxon-sidecar wrote to s3://acme-artifacts")
    );
    assert_eq!(found[0]["subject"]["run"]["project"], "churn");
    // cluster-info dump: <ns>/<pod>/logs.txt with per-container markers
    let (report, _) = check_json(
        &testdata("cordoned-pool"),
        &["--rules", &rules, "--only", "artifacts"],
    );
    let found = report["findings"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0]["evidence"][0]["message"],
        "INFO syncing artifacts to s3://acme-artifacts/nlp"
    );
}

#[test]
fn the_checked_in_schema_is_the_generated_one() {
    let path = support::repo().join("schema/report.v1.json");
    let generated = pxdoctor::report::schema::report_schema();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schema/report.v1.json is stale: run `UPDATE_SCHEMA=1 cargo test --test cli`"
    );
}

#[test]
fn credentials_in_a_log_tail_never_reach_the_report() {
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let dir = tempfile::tempdir().unwrap();
    let copy = std::process::Command::new("cp")
        .arg("-r")
        .arg(testdata("runtime-failures"))
        .arg(dir.path().join("s"))
        .status()
        .unwrap();
    assert!(copy.success());
    // The crash-looping run's log tail is quoted in its finding: plant a key.
    let logs = dir.path().join("s/logs/polyaxon");
    let crash = std::fs::read_dir(&logs)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("polyaxon-main.log"))
        .find(|p| p.exists())
        .unwrap();
    let mut text = std::fs::read_to_string(&crash).unwrap();
    text.push_str(&format!(
        "DEBUG boto3 config aws_secret_access_key={SECRET}\n"
    ));
    std::fs::write(&crash, text).unwrap();
    let snapshot = dir.path().join("s").to_string_lossy().into_owned();
    for format in ["table", "json", "sarif", "markdown"] {
        let output = pxdoctor(&["check", "--snapshot", &snapshot, "-o", format]);
        assert_eq!(output.status.code(), Some(1));
        let all = format!("{}{}", stdout(&output), stderr(&output));
        assert!(
            all.contains("aws_secret_access_key=****"),
            "{format}: the line is quoted, masked"
        );
        assert!(!all.contains(SECRET), "{format} leaks the secret");
    }
}

#[test]
fn a_namespace_filter_keeps_other_namespaces_runs_out_of_the_report() {
    // Operations in other namespaces used to read as "no pod of the run
    // exists" once their pods were filtered out (PXD-PLAT-006).
    for namespace in ["ml-team-a", "doesnotexist"] {
        let (report, code) = check_json(&testdata("healthy"), &["-n", namespace]);
        assert_eq!(code, 0, "-n {namespace}: {report}");
        assert_eq!(report["summary"]["error"], 0, "-n {namespace}: {report}");
    }
    let (report, _) = check_json(&testdata("gpu-shortage"), &["-n", "default"]);
    assert_eq!(report["findings"], serde_json::json!([]));
}

#[test]
fn a_run_that_matches_nothing_is_a_usage_error_and_any_spelling_of_a_uuid_matches() {
    let gpu = testdata("gpu-shortage").to_string_lossy().into_owned();
    let output = pxdoctor(&["check", "--snapshot", &gpu, "--run", "deadbeef"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--run deadbeef: no run matches"),
        "{}",
        stderr(&output)
    );
    // Polyaxon prints uuids with dashes; users paste them in any case.
    for spelling in [
        "5200FC5C",
        "5200fc5c-54e8-0b7c",
        "5200fc5c54e80b7c05f3c8f051545385",
    ] {
        let (report, _) = check_json(&testdata("gpu-shortage"), &["--run", spelling]);
        let runs: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["subject"]["run"]["uuid"].as_str())
            .collect();
        assert!(!runs.is_empty(), "--run {spelling} finds the run");
        assert!(
            runs.iter().all(|uuid| uuid.starts_with("5200fc5c")),
            "{runs:?}"
        );
    }
    let output = pxdoctor(&["check", "--snapshot", &gpu, "--run", "xyz"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not a run uuid"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_filter_says_how_many_findings_it_hid() {
    let (report, code) = check_json(&testdata("runtime-failures"), &["--only", "mount"]);
    assert_eq!(code, 0);
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["summary"]["filtered"], 14);
    let table = pxdoctor(&[
        "check",
        "--snapshot",
        &testdata("runtime-failures").to_string_lossy(),
        "--only",
        "mount",
    ]);
    assert!(
        stdout(&table).contains("14 finding(s) not shown: --only or --run left them out."),
        "{}",
        stdout(&table)
    );
    // kubectl-style comma lists.
    let (report, _) = check_json(&testdata("runtime-failures"), &["--only", "quota,runtime"]);
    let categories: std::collections::BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["category"].as_str())
        .collect();
    assert_eq!(categories, ["quota", "runtime"].into_iter().collect());
}

#[test]
fn a_snapshot_nothing_can_be_read_from_is_exit_3_naming_what_was_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let empty = pxdoctor(&["check", "--snapshot", &path]);
    assert_eq!(empty.status.code(), Some(3), "{}", stderr(&empty));
    assert!(stderr(&empty).contains("nothing could be read"));
    std::fs::write(dir.path().join("cluster-info.dump"), "not objects\n").unwrap();
    let junk = pxdoctor(&["check", "--snapshot", &path]);
    assert_eq!(junk.status.code(), Some(3));
    assert!(
        stderr(&junk).contains("cluster-info.dump: neither JSON nor YAML"),
        "{}",
        stderr(&junk)
    );
    // JSON or YAML that is not a Kubernetes object is named too.
    std::fs::write(dir.path().join("settings.json"), "{\"x\": 1}\n").unwrap();
    std::fs::write(dir.path().join("values.yaml"), "replicas: 2\n").unwrap();
    let plain = pxdoctor(&["check", "--snapshot", &path]);
    assert_eq!(plain.status.code(), Some(3));
    for skipped in [
        "settings.json: JSON without a Kubernetes `kind`",
        "values.yaml: document 1 has no Kubernetes `kind`",
    ] {
        assert!(
            stderr(&plain).contains(skipped),
            "{skipped}\n{}",
            stderr(&plain)
        );
    }
    std::fs::remove_file(dir.path().join("settings.json")).unwrap();
    std::fs::remove_file(dir.path().join("values.yaml")).unwrap();
    // Any file name: what a file holds decides.
    std::fs::copy(
        testdata("gpu-shortage").join("pods.json"),
        dir.path().join("pods.txt"),
    )
    .unwrap();
    std::fs::copy(
        testdata("gpu-shortage").join("events.json"),
        dir.path().join("events.out"),
    )
    .unwrap();
    let (report, code) = check_json(dir.path(), &[]);
    assert_eq!(code, 1, "the runs in pods.txt are checked");
    assert_eq!(report["summary"]["runs"], 7);
    let verbose = pxdoctor(&["check", "--snapshot", &path, "-v"]);
    assert!(stderr(&verbose).contains("skipped"), "{}", stderr(&verbose));
}

#[test]
fn the_table_takes_its_width_from_columns_and_keeps_commands_whole() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pxdoctor"))
        .args([
            "check",
            "--snapshot",
            &testdata("missing-rolebinding").to_string_lossy(),
        ])
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let text = stdout(&output);
    let table_lines = text
        .lines()
        .filter(|line| line.starts_with(['│', '┌', '└', '╞']));
    for line in table_lines {
        assert!(
            line.chars().count() <= 80,
            "too wide for COLUMNS=80: {line}"
        );
    }
    // Each grant command is one whole line a user can copy.
    let commands: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split_once("] kubectl create ").map(|(_, rest)| rest))
        .collect();
    assert!(commands.len() >= 4, "{text}");
    assert!(
        commands
            .iter()
            .all(|c| c.contains(" -n ") && !c.contains("&&")),
        "{commands:?}"
    );
}

#[test]
fn small_contract_fixes_rules_explain_man_dir_and_collect_help() {
    // Rule ids in any case, and the fact's fields listed as the README says.
    let explained = pxdoctor(&["rules", "explain", "pxd-pend-002"]);
    assert_eq!(explained.status.code(), Some(0), "{}", stderr(&explained));
    let text = stdout(&explained);
    assert!(text.contains("id: PXD-PEND-002"), "{text}");
    assert!(
        text.contains("# Fields of fact `scheduling_reason`"),
        "{text}"
    );
    assert!(text.contains("#   nodes "), "{text}");
    // man --dir makes the directory it is given.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("share/man/man1");
    let man = pxdoctor(&["man", "--dir", &target.to_string_lossy()]);
    assert_eq!(man.status.code(), Some(0), "{}", stderr(&man));
    assert!(target.join("pxdoctor-check.1").is_file());
    // collect has no --snapshot flag, so its help does not offer one.
    let help = stdout(&pxdoctor(&["collect", "--help"]));
    assert!(!help.contains("--snapshot"), "{help}");
}

/// A copy of runtime-failures whose crash-looping run's log ends with
/// `lines`.
fn runtime_failures_with_log(lines: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let copy = std::process::Command::new("cp")
        .arg("-r")
        .arg(testdata("runtime-failures"))
        .arg(dir.path().join("s"))
        .status()
        .unwrap();
    assert!(copy.success());
    let crash = std::fs::read_dir(dir.path().join("s/logs/polyaxon"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("polyaxon-main.log"))
        .find(|p| p.exists())
        .unwrap();
    let mut text = std::fs::read_to_string(&crash).unwrap();
    text.push_str(lines);
    std::fs::write(&crash, text).unwrap();
    let snapshot = dir.path().join("s").to_string_lossy().into_owned();
    (dir, snapshot)
}

fn rules_of(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_teams_vocabulary_classifies_its_clients_words_and_a_broken_pattern_is_named() {
    let (_dir, snapshot) = runtime_failures_with_log(
        "2026-11-28 10:31:02 ERROR acme-store: upload refused, tenant quota 42 exhausted\n",
    );
    let (report, _) = check_json(Path::new(&snapshot), &[]);
    assert!(
        !rules_of(&report).contains(&"PXD-ART-047".to_string()),
        "no built-in word says throttling here: {report}"
    );
    let vocabulary = "vocabulary: acme-store\n\
        source: https://wiki.acme/store-errors\n\
        kind: pattern\n\
        entries:\n  \
        - {term: 'tenant quota \\d+ exhausted', cause: store-throttling}\n";
    let rules = rule_dir(&[("acme.yaml", vocabulary)]);
    let rules_path = rules.path().to_string_lossy().into_owned();
    let (report, _) = check_json(Path::new(&snapshot), &["--rules", &rules_path]);
    let throttled: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "PXD-ART-047")
        .collect();
    assert_eq!(throttled.len(), 1, "{report}");
    assert!(
        throttled[0]["title"]
            .as_str()
            .unwrap()
            .contains("(tenant quota 42 exhausted)"),
        "the term as the log wrote it: {}",
        throttled[0]["title"]
    );

    // An example that does not hold is refused at its line.
    let wrong_example = rule_dir(&[(
        "acme.yaml",
        &format!(
            "{vocabulary}examples:\n  - {{text: 'tenant quota 7 exhausted', cause: store-permission}}\n"
        ),
    )]);
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot,
        "--rules",
        &wrong_example.path().to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("acme.yaml:7:") && err.contains("should show store-permission"),
        "{err}"
    );

    let broken = rule_dir(&[(
        "acme.yaml",
        &vocabulary.replace("'tenant quota", "'tenant (quota"),
    )]);
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot,
        "--rules",
        &broken.path().to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("acme.yaml:5:") && err.contains("is not a regular expression"),
        "{err}"
    );
}

#[test]
fn errors_a_client_retried_and_recovered_from_are_history() {
    // rclone's own words (rclone/rclone#8576): two failed attempts, then
    // "Attempt 3/3 succeeded" printed at ERROR level.
    let attempts = "2025/05/29 19:12:26 ERROR : model.pt: Post request put error: An error occurred (SlowDown) when calling the UploadPart operation: Please reduce your request rate.\n\
        2025/05/29 19:12:26 ERROR : Attempt 1/3 failed with 1 errors and: SlowDown: Please reduce your request rate.\n";
    let (_dir, failing) = runtime_failures_with_log(attempts);
    let (report, _) = check_json(Path::new(&failing), &[]);
    assert!(
        rules_of(&report).contains(&"PXD-ART-047".to_string()),
        "attempts that did not succeed are a finding: {report}"
    );
    let (_dir, recovered) = runtime_failures_with_log(&format!(
        "{attempts}2025/05/29 19:56:29 ERROR : Attempt 2/3 succeeded\n"
    ));
    let (report, _) = check_json(Path::new(&recovered), &[]);
    let rules = rules_of(&report);
    assert!(
        !rules.iter().any(|r| r.starts_with("PXD-ART")),
        "a retry that succeeded leaves no store finding: {rules:?}"
    );
    // An error after the recovery is news again.
    let (_dir, again) = runtime_failures_with_log(&format!(
        "{attempts}2025/05/29 19:56:29 ERROR : Attempt 2/3 succeeded\n\
         2025/05/29 20:01:00 ERROR : model2.pt: An error occurred (AccessDenied) when calling the PutObject operation: Access Denied\n"
    ));
    let (report, _) = check_json(Path::new(&again), &[]);
    assert!(
        rules_of(&report).contains(&"PXD-ART-041".to_string()),
        "{report}"
    );
}
