//! The outputs CI tools read (SARIF, JUnit, Markdown), several outputs in
//! one run, the gate (`--fail-on`), the checked-in schemas, completions and
//! the man page.

mod sarif;
mod support;

use std::collections::BTreeSet;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::Event;
use support::{check_json, pxdoctor, repo, stderr, stdout, testdata};

fn snapshot(name: &str) -> String {
    testdata(name).to_string_lossy().into_owned()
}

fn validator(schema_file: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schema").join(schema_file))
        .unwrap_or_else(|e| panic!("schema/{schema_file}: {e}"));
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, document: &serde_json::Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

fn scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("testdata"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("expected.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn sarif_of_every_scenario_validates_against_the_sarif_2_1_0_schema() {
    for name in scenarios() {
        let output = pxdoctor(&["check", "--snapshot", &snapshot(&name), "-o", "sarif"]);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{name}: {}",
            stderr(&output)
        );
        let log: serde_json::Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
        sarif::assert_valid(&log, &name);
        let (report, _) = check_json(&testdata(&name), &[]);
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(
            results.len(),
            report["findings"].as_array().unwrap().len(),
            "{name}: one result per finding"
        );
    }
}

#[test]
fn sarif_names_rules_with_help_and_cluster_objects_as_logical_locations() {
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot("gpu-shortage"),
        "-o",
        "sarif",
    ]);
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    // Every loaded rule is described, so a viewer can explain any result.
    let listed = pxdoctor(&["rules", "list"]);
    let ids = stdout(&listed)
        .lines()
        .filter(|l| l.trim_start().starts_with("PXD-"))
        .count();
    assert_eq!(rules.len(), ids);
    let result = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "PXD-PEND-002")
        .expect("the GPU shortage");
    assert_eq!(result["level"], "error");
    let rule = &rules[result["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "PXD-PEND-002");
    assert!(
        rule["help"]["text"]
            .as_str()
            .unwrap()
            .contains("Fix: Lower")
    );
    assert!(rule["helpUri"].as_str().unwrap().starts_with("https://"));
    let logical: Vec<(&str, &str)> = result["locations"][0]["logicalLocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap(),
                l["fullyQualifiedName"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        logical,
        vec![
            ("namespace", "polyaxon"),
            (
                "resource",
                "polyaxon/Pod/plx-operation-5200fc5c54e80b7c05f3c8f051545385-06724"
            ),
            ("object", "run/5200fc5c54e80b7c05f3c8f051545385"),
        ]
    );
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .contains("not enough free nvidia.com/gpu")
    );
    assert_eq!(
        result["partialFingerprints"]["pxdoctor/subject/v1"]
            .as_str()
            .unwrap()
            .len(),
        16
    );
    assert_eq!(run["invocations"][0]["exitCode"], 1);
}

/// Counts `<failure>` elements and reads the `failures` total of
/// `<testsuites>`, with a real XML parser.
fn junit_failures(xml: &str) -> (usize, usize, usize) {
    let mut reader = Reader::from_str(xml);
    let (mut failures, mut declared, mut cases) = (0, usize::MAX, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"failure" => failures += 1,
                b"testcase" => cases += 1,
                b"testsuites" => {
                    let attribute = e
                        .try_get_attribute("failures")
                        .unwrap()
                        .expect("testsuites has failures=");
                    declared = String::from_utf8_lossy(&attribute.value).parse().unwrap();
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    (failures, declared, cases)
}

#[test]
fn junit_parses_with_one_failure_per_finding_at_or_above_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    for (scenario, fail_on) in [
        ("gpu-shortage", "error"),
        ("gpu-shortage", "never"),
        ("node-pressure", "error"),
        ("node-pressure", "warning"),
        ("healthy", "info"),
    ] {
        let junit = dir.path().join(format!("{scenario}-{fail_on}.xml"));
        let target = format!("junit={}", junit.display());
        let (report, _) = check_json(&testdata(scenario), &["-o", &target, "--fail-on", fail_on]);
        let expected = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| match fail_on {
                "never" => false,
                "error" => f["severity"] == "error",
                "warning" => f["severity"] != "info",
                _ => true,
            })
            .count();
        let xml = std::fs::read_to_string(&junit).unwrap();
        let (failures, declared, cases) = junit_failures(&xml);
        assert_eq!(failures, expected, "{scenario} --fail-on {fail_on}");
        assert_eq!(declared, expected, "{scenario} --fail-on {fail_on}");
        assert!(cases >= report["findings"].as_array().unwrap().len());
    }
    // The two failing cases of the GPU shortage name rule and run.
    let xml = std::fs::read_to_string(dir.path().join("gpu-shortage-error.xml")).unwrap();
    assert!(xml.contains(r#"classname="PXD-PEND-002""#), "{xml}");
    assert!(xml.contains("run 5200fc5c… (acme/mnist, op train) · Pod polyaxon/"));
    assert!(xml.contains(r#"<failure message="Pending: not enough nvidia.com/gpu" type="error">"#));
}

#[test]
fn markdown_has_a_summary_line_a_table_and_details() {
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot("gpu-shortage"),
        "-o",
        "markdown",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.starts_with("### pxdoctor: 2 error(s), "), "{text}");
    assert!(text.contains("| Severity | Rule | Subject | Finding |"));
    assert!(text.contains("| error | `PXD-PEND-002` | run 5200fc5c… (acme/mnist, op train)"));
    let (report, _) = check_json(&testdata("gpu-shortage"), &[]);
    let findings = report["findings"].as_array().unwrap().len();
    assert_eq!(text.matches("<details>").count(), findings);
    assert_eq!(
        text.matches("\n| ").count(),
        findings + 1,
        "a row per finding"
    );
    assert!(text.contains("**Fix:** Lower container.resources.limits.nvidia.com/gpu"));
    // The rule's own Markdown survives; cluster text cannot open HTML.
    assert!(text.contains("`kubectl describe node"));
    assert!(!text.contains("<script"));
}

/// `-o short`: exactly one line per finding, each `SEVERITY RULE SUBJECT:
/// title`, on every scenario (findings and lines in the same order).
#[test]
fn short_prints_one_line_per_finding_on_every_scenario_and_for_lint() {
    let mut lines_seen = 0;
    for scenario in scenarios() {
        let (report, _) = check_json(&testdata(&scenario), &[]);
        let output = pxdoctor(&["check", "--snapshot", &snapshot(&scenario), "-o", "short"]);
        let text = stdout(&output);
        let findings = report["findings"].as_array().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), findings.len(), "{scenario}:\n{text}");
        for (line, finding) in lines.iter().zip(findings) {
            let head = format!(
                "{} {} ",
                finding["severity"].as_str().unwrap(),
                finding["rule"].as_str().unwrap()
            );
            assert!(line.starts_with(&head), "{scenario}: {line}");
            let title = finding["title"].as_str().unwrap();
            assert!(line.ends_with(&format!(": {title}")), "{scenario}: {line}");
            assert!(!line.contains('\u{1b}'), "no colour off a terminal: {line}");
            if let Some(uuid) = finding["subject"]["run"]["uuid"].as_str() {
                assert!(line.contains(&uuid[..8]), "{scenario}: {line}");
            }
        }
        lines_seen += lines.len();
    }
    assert!(lines_seen >= 50, "{lines_seen}");
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot("gpu-shortage"),
        "-o",
        "short",
    ]);
    assert!(
        stdout(&output).lines().any(|line| line
            == "error PXD-PEND-003 polyaxon/2af43334 (op finetune-70b): \
                Pending forever: nvidia.com/gpu request larger than any node"),
        "{}",
        stdout(&output)
    );

    // lint: a polyaxonfile's findings are at file:line:column.
    let broken = repo().join("testdata/polyaxonfiles/broken");
    let json = pxdoctor(&["lint", &broken.to_string_lossy(), "-o", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let short = pxdoctor(&["lint", &broken.to_string_lossy(), "-o", "short"]);
    let text = stdout(&short);
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert_eq!(text.lines().count(), findings.len(), "{text}");
    for (line, finding) in text.lines().zip(findings) {
        let at = &finding["location"];
        let place = format!(
            " {}:{}:{}: ",
            at["file"].as_str().unwrap(),
            at["line"],
            at["column"]
        );
        assert!(line.contains(&place), "{line} lacks{place}");
    }
    assert_eq!(short.status.code(), json.status.code());
}

#[test]
fn several_outputs_come_from_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let sarif = dir.path().join("report.sarif");
    let config = dir.path().join("config.yaml");
    // An expired ignore warns once per run: once here, for three outputs.
    std::fs::write(
        &config,
        "ignore:\n  - rule: PXD-PEND-003\n    reason: cluster upgrade\n    expires: 2020-01-01\n",
    )
    .unwrap();
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &snapshot("gpu-shortage"),
        "--config",
        &config.to_string_lossy(),
        "-o",
        &format!("json={}", json.display()),
        "-o",
        &format!("sarif={}", sarif.display()),
        "-o",
        "table",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stderr(&output).matches("this ignore expired").count(), 1);
    assert!(stdout(&output).contains("2 error(s), "));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    support::assert_valid_report(&report);
    assert_eq!(report["summary"]["error"], 2);
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(
        log["runs"][0]["results"].as_array().unwrap().len(),
        report["findings"].as_array().unwrap().len()
    );
}

#[test]
fn outputs_that_cannot_be_written_sensibly_are_usage_errors() {
    let healthy = snapshot("healthy");
    let output = pxdoctor(&["check", "--snapshot", &healthy, "-o", "json", "-o", "table"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("2 outputs would go to stdout (json, table)"),
        "{}",
        stderr(&output)
    );
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &healthy,
        "-o",
        "json=x.json",
        "-o",
        "sarif=x.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("x.json is given twice"));
    let output = pxdoctor(&["check", "--snapshot", &healthy, "-o", "yaml=out.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("invalid value 'yaml'"), "{message}");
    assert!(
        message.contains("table, json, sarif, junit, markdown"),
        "{message}"
    );
    let output = pxdoctor(&["check", "--snapshot", &healthy, "-o", "json="]);
    assert_eq!(output.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/report.json");
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        &healthy,
        "-o",
        &format!("json={}", missing.display()),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot write"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_gate_follows_fail_on_and_no_polyaxon_is_an_info_finding() {
    // A cluster with nodes and nothing of Polyaxon: the wrong context.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        testdata("gpu-shortage").join("nodes.json"),
        dir.path().join("nodes.json"),
    )
    .unwrap();
    let (report, code) = check_json(dir.path(), &[]);
    assert_eq!(code, 0, "an info finding passes the default gate");
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, vec!["PXD-PLAT-001"]);
    assert_eq!(report["findings"][0]["severity"], "info");
    assert_eq!(check_json(dir.path(), &["--fail-on", "warning"]).1, 0);
    assert_eq!(check_json(dir.path(), &["--fail-on", "info"]).1, 1);

    let gpu = testdata("gpu-shortage");
    assert_eq!(check_json(&gpu, &[]).1, 1, "errors fail the default gate");
    assert_eq!(check_json(&gpu, &["--fail-on", "never"]).1, 0);
    // `never` does not hide pxdoctor's own failures.
    let output = pxdoctor(&[
        "check",
        "--snapshot",
        "/nonexistent/snapshot",
        "--fail-on",
        "never",
    ]);
    assert_eq!(output.status.code(), Some(2));
}

/// Compares a checked-in schema with the generated one;
/// `UPDATE_SCHEMA=1 cargo test` rewrites it.
fn assert_checked_in(file: &str, generated: &str) {
    let path = repo().join("schema").join(file);
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schema/{file} is stale: run `UPDATE_SCHEMA=1 cargo test --test outputs`"
    );
}

#[test]
fn the_checked_in_rule_and_config_schemas_are_the_generated_ones() {
    assert_checked_in("rule.v1.json", &pxdoctor::report::schema::rule_schema());
    assert_checked_in("config.v1.json", &pxdoctor::report::schema::config_schema());
}

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn every_built_in_rule_file_validates_against_the_rule_schema() {
    let schema = validator("rule.v1.json");
    let mut files = Vec::new();
    yaml_files(&repo().join("rules"), &mut files);
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let document: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        // Vocabularies (rules/vocabularies/) are data the rules read, not rules.
        if document.get("vocabulary").is_some() {
            continue;
        }
        assert_valid(&schema, &document, &file.display().to_string());
    }
    // A typo the loader rejects, the schema rejects too.
    let typo = serde_json::json!({"id": "X", "title": "t", "category": "pending",
        "severity": "error", "fact": "pod", "explain": "e", "remedation": "r"});
    assert!(!schema.is_valid(&typo));
}

/// The rule schema mirrors the loader's model: the keys the loader names
/// when it rejects an unknown one must be the schema's properties.
#[test]
fn the_rule_schema_has_exactly_the_keys_the_loader_accepts() {
    let schema: serde_json::Value =
        serde_json::from_str(&pxdoctor::report::schema::rule_schema()).unwrap();
    let keys = |value: &serde_json::Value| -> BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    };
    let accepted = |text: &str| -> BTreeSet<String> {
        let mut problems = Vec::new();
        pxdoctor::engine::rule::parse(Path::new("probe.yaml"), text, &mut problems);
        let message = problems
            .iter()
            .map(|p| p.message.clone())
            .find(|m| m.contains("unknown field"))
            .unwrap_or_else(|| panic!("the loader rejects an unknown key: {problems:?}"));
        let list = message
            .split_once("expected one of")
            .map_or("", |(_, list)| list);
        list.split(',')
            .map(|key| key.trim().trim_matches('`').to_string())
            .filter(|key| !key.is_empty())
            .collect()
    };
    assert_eq!(
        accepted("zzz_unknown: 1\n"),
        keys(&schema["properties"]),
        "rule keys"
    );
    let example_keys = accepted(
        "id: X\ntitle: t\ncategory: pending\nseverity: error\nfact: pod\nexplain: e\nremediation: r\nmatch: {phase: Pending}\nexamples:\n  - {fact: {phase: Pending}, zzz_unknown: 1}\n",
    );
    let example_schema = &schema["$defs"]["ExampleFile"]["properties"];
    assert_eq!(example_keys, keys(example_schema), "example keys");
}

#[test]
fn completions_and_man_pages_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let output = pxdoctor(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        assert!(script.contains("pxdoctor"), "{shell}");
        assert!(
            script.contains("show-suppressed"),
            "{shell}: flags of check"
        );
        assert!(script.contains("markdown"), "{shell}: -o formats");
        assert!(script.contains("short"), "{shell}: -o short");
        assert!(script.contains("access"), "{shell}: the access command");
        assert!(script.contains("subject"), "{shell}: access --subject");
        assert!(script.contains("probe-interval"), "{shell}: serve's flags");
    }
    let output = pxdoctor(&["completions", "tcsh"]);
    assert_eq!(output.status.code(), Some(2));

    let output = pxdoctor(&["man"]);
    assert_eq!(output.status.code(), Some(0));
    let page = stdout(&output);
    assert!(page.contains(".TH pxdoctor 1"), "{page}");
    assert!(page.contains("completions"));
    let dir = tempfile::tempdir().unwrap();
    let output = pxdoctor(&["man", "--dir", &dir.path().to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let check = std::fs::read_to_string(dir.path().join("pxdoctor-check.1")).unwrap();
    assert!(check.contains("show\\-suppressed"), "{check}");
    let access = std::fs::read_to_string(dir.path().join("pxdoctor-access.1")).unwrap();
    assert!(access.contains("\\-\\-subject"), "{access}");
    let serve = std::fs::read_to_string(dir.path().join("pxdoctor-serve.1")).unwrap();
    assert!(serve.contains("0.0.0.0:9090"), "{serve}");
    assert!(serve.contains("\\-\\-probe\\-interval"), "{serve}");
}

#[test]
fn sarif_of_lint_points_at_files_and_validates() {
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    yaml_files(&repo().join("testdata/polyaxonfiles/broken"), &mut files);
    files.sort();
    let mut results = 0;
    for file in files {
        let output = pxdoctor(&["lint", &file.to_string_lossy(), "-o", "sarif"]);
        // Files that are not YAML at all are input errors, not findings.
        if output.status.code() == Some(2) {
            continue;
        }
        let log: serde_json::Value = serde_json::from_slice(&output.stdout).expect("SARIF");
        sarif::assert_valid(&log, &file.display().to_string());
        for result in log["runs"][0]["results"].as_array().unwrap() {
            let physical = &result["locations"][0]["physicalLocation"];
            assert!(
                physical["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .ends_with(".yaml")
            );
            assert!(physical["region"]["startLine"].as_u64().unwrap() >= 1);
            results += 1;
        }
    }
    assert!(results > 0, "the broken polyaxonfiles have findings");
}
