//! `pxdoctor lint` as a data scientist and CI meet it: valid polyaxonfiles
//! lint clean, each broken one is reported at its line with Polyaxon's own
//! semantics, cluster cross-checks use a snapshot, exit codes follow
//! `--fail-on`, and unreadable input is exit 2 with file:line:column.

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::{assert_valid_report, pxdoctor, repo, stderr, stdout};

fn polyaxonfile(name: &str) -> String {
    repo()
        .join("testdata/polyaxonfiles")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs `lint -o json` with `args`; the report (schema-checked) and exit code.
fn lint_json(args: &[&str]) -> (Value, i32) {
    let mut all = vec!["lint", "-o", "json"];
    all.extend_from_slice(args);
    let output = pxdoctor(&all);
    let code = output.status.code().expect("exited");
    assert!(
        code == 0 || code == 1,
        "lint failed with {code}: {}",
        stderr(&output)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_valid_report(&report);
    (report, code)
}

/// (rule, line) of every finding, sorted.
fn found(report: &Value) -> Vec<(String, u64)> {
    let mut all: Vec<(String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    all.sort();
    all
}

fn expect(file: &str, want: &[(&str, u64)]) {
    let (report, _) = lint_json(&[&polyaxonfile(file)]);
    let mut want: Vec<(String, u64)> = want.iter().map(|(r, l)| (r.to_string(), *l)).collect();
    want.sort();
    assert_eq!(found(&report), want, "{file}: {report:#}");
}

fn finding<'a>(report: &'a Value, rule: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {report:#}"))
}

#[test]
fn valid_polyaxonfiles_lint_clean() {
    let dir = repo().join("testdata/polyaxonfiles/valid");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in &files {
        let (report, code) = lint_json(&[file, "--fail-on", "info"]);
        assert_eq!(code, 0, "{file}: {report:#}");
        assert_eq!(report["findings"], serde_json::json!([]), "{file}");
        assert_eq!(report["source"]["kind"], "polyaxonfile");
    }
    // All at once, as a table: exit 0 and says so.
    let mut args = vec!["lint"];
    args.extend(files.iter().map(String::as_str));
    let output = pxdoctor(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains(&format!("No findings in {} polyaxonfile(s).", files.len())),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_ref_to_an_undeclared_output_is_an_error_at_the_param() {
    let file = polyaxonfile("broken/missing-output.yaml");
    let (report, code) = lint_json(&[&file]);
    assert_eq!(code, 1);
    assert_eq!(found(&report), vec![("PXD-DAG-007".to_string(), 20)]);
    let f = finding(&report, "PXD-DAG-007");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["category"], "dag");
    assert_eq!(f["location"]["file"], file.as_str());
    assert_eq!(f["location"]["column"], 9);
    let text = f["explanation"].as_str().unwrap();
    assert!(
        text.contains("takes `outputs.dataset` from preprocess"),
        "{text}"
    );
    assert!(text.contains("its outputs: data"), "{text}");
    assert!(
        text.contains("reference with name `ops.preprocess` has no such information"),
        "Polyaxon's own words: {text}"
    );
    assert_eq!(f["evidence"][0]["message"], "dataset:");
}

#[test]
fn the_same_ref_to_a_declared_output_without_dependencies_lints_clean() {
    let broken = std::fs::read_to_string(polyaxonfile("broken/missing-output.yaml")).unwrap();
    let fixed = broken.replace("- name: data\n", "- name: dataset\n");
    assert_ne!(broken, fixed);
    assert!(!fixed.contains("dependencies"), "the ref alone is the edge");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipeline.yaml");
    std::fs::write(&path, fixed).unwrap();
    let (report, code) = lint_json(&[path.to_str().unwrap(), "--fail-on", "info"]);
    assert_eq!(code, 0);
    assert_eq!(report["findings"], serde_json::json!([]));
}

#[test]
fn a_cycle_through_dependencies_and_refs_is_named_in_order() {
    let (report, code) = lint_json(&[&polyaxonfile("broken/cycle.yaml")]);
    assert_eq!(code, 1);
    assert_eq!(found(&report), vec![("PXD-DAG-001".to_string(), 11)]);
    let f = finding(&report, "PXD-DAG-001");
    assert_eq!(
        f["title"],
        "Cycle in the DAG: preprocess → train → evaluate → preprocess"
    );
    let text = f["explanation"].as_str().unwrap();
    assert!(
        text.contains("train waits for preprocess (param `upstream`"),
        "{text}"
    );
    assert!(
        text.contains("preprocess waits for evaluate (dependencies)"),
        "{text}"
    );
    assert!(text.contains("Pipeline's graph is not acyclic."), "{text}");
}

#[test]
fn dag_structure_mistakes() {
    expect(
        "broken/dag-structure.yaml",
        &[
            ("PXD-DAG-002", 14),
            ("PXD-DAG-002", 16),
            ("PXD-DAG-003", 17),
            ("PXD-DAG-003", 39),
            ("PXD-DAG-004", 21),
            ("PXD-DAG-005", 24),
            // ./export.yaml is not next to the file either.
            ("PXD-DAG-025", 26),
            ("PXD-DAG-006", 20),
        ],
    );
    let (report, _) = lint_json(&[&polyaxonfile("broken/dag-structure.yaml")]);
    let orphan = finding(&report, "PXD-DAG-002");
    assert!(
        orphan["explanation"]
            .as_str()
            .unwrap()
            .contains("did you mean `preprocess`?")
    );
}

#[test]
fn param_mistakes() {
    expect(
        "broken/params.yaml",
        &[
            ("PXD-DAG-007", 37),
            ("PXD-DAG-008", 20),
            ("PXD-DAG-009", 18),
            ("PXD-DAG-010", 36),
            ("PXD-DAG-011", 21),
            ("PXD-DAG-012", 22),
        ],
    );
    let (report, _) = lint_json(&[&polyaxonfile("broken/params.yaml")]);
    assert_eq!(finding(&report, "PXD-DAG-011")["severity"], "warning");
    assert_eq!(finding(&report, "PXD-DAG-012")["severity"], "info");
    assert!(
        finding(&report, "PXD-DAG-009")["explanation"]
            .as_str()
            .unwrap()
            .contains("Input learning_rate is required, no param was passed.")
    );
}

#[test]
fn flow_mistakes() {
    expect(
        "broken/flow.yaml",
        &[
            ("PXD-DAG-013", 19),
            ("PXD-DAG-014", 22),
            ("PXD-DAG-015", 13),
        ],
    );
}

#[test]
fn unknown_fields_come_with_a_suggestion() {
    expect(
        "broken/fields.yaml",
        &[
            ("PXD-DAG-016", 14),
            ("PXD-DAG-016", 17),
            ("PXD-DAG-016", 21),
            ("PXD-DAG-016", 25),
            ("PXD-DAG-017", 30),
        ],
    );
    let (report, _) = lint_json(&[&polyaxonfile("broken/fields.yaml")]);
    let titles: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["explanation"].as_str().unwrap())
        .collect();
    for hint in [
        "Did you mean `dependencies`?",
        "Did you mean `nodeSelector`?",
        "Did you mean `resources`?",
        "Did you mean `timeout`?",
        "did you mean `job`?",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(hint)),
            "{hint}: {titles:#?}"
        );
    }
    // A sentence between the field and what Polyaxon does with it.
    assert!(
        titles
            .iter()
            .any(|t| t.contains("is not a field of run.operations[1]. Polyaxon refuses")),
        "{titles:#?}"
    );
}

#[test]
fn resources_the_api_server_refuses() {
    expect(
        "broken/resources.yaml",
        &[
            ("PXD-DAG-018", 12),
            ("PXD-DAG-019", 21),
            ("PXD-DAG-020", 13),
        ],
    );
}

#[test]
fn a_dag_timeout_shorter_than_its_longest_path_is_a_warning() {
    let file = polyaxonfile("broken/timeout.yaml");
    let (report, code) = lint_json(&[&file]);
    assert_eq!(code, 0, "warnings pass the default gate");
    assert_eq!(found(&report), vec![("PXD-DAG-021".to_string(), 7)]);
    assert!(
        finding(&report, "PXD-DAG-021")["explanation"]
            .as_str()
            .unwrap()
            .contains("prepare (1800s) → train (3600s)")
    );
    assert_eq!(lint_json(&[&file, "--fail-on", "warning"]).1, 1);
    assert_eq!(
        lint_json(&[&polyaxonfile("broken/resources.yaml"), "--fail-on", "never"]).1,
        0
    );
}

#[test]
fn cluster_cross_checks_use_the_snapshot() {
    let file = polyaxonfile("cluster/needs-cluster.yaml");
    let snapshot = polyaxonfile("cluster/snapshot");
    let (report, code) = lint_json(&[&file, "--snapshot", &snapshot]);
    assert_eq!(code, 1);
    assert_eq!(
        found(&report),
        vec![
            ("PXD-AUTH-101".to_string(), 43),
            ("PXD-MOUNT-101".to_string(), 39),
            ("PXD-MOUNT-101".to_string(), 47),
            ("PXD-PEND-101".to_string(), 52),
            ("PXD-PEND-102".to_string(), 42),
        ]
    );
    let fit = finding(&report, "PXD-PEND-101");
    assert_eq!(fit["category"], "pending");
    assert!(
        fit["explanation"]
            .as_str()
            .unwrap()
            .contains("requests 8 nvidia.com/gpu for one pod, but the most any of the 3 node(s) can allocate is 4 (on gpu-1)")
    );
    assert!(
        finding(&report, "PXD-PEND-102")["explanation"]
            .as_str()
            .unwrap()
            .contains("nvidia.com/gpu.product=Tesla-T4 (2 nodes)")
    );
    // Without a snapshot the same file only has file-level findings.
    let (alone, code) = lint_json(&[&file]);
    assert_eq!((found(&alone), code), (vec![], 0));
    // In another namespace, claims and accounts that exist in `polyaxon`
    // are missing too.
    let (elsewhere, _) = lint_json(&[&file, "--snapshot", &snapshot, "-n", "ml"]);
    let missing = found(&elsewhere)
        .iter()
        .filter(|(rule, _)| rule == "PXD-MOUNT-101" || rule == "PXD-AUTH-101")
        .count();
    assert_eq!(missing, 5, "{elsewhere:#}");
}

#[test]
fn a_snapshot_without_claims_says_what_was_not_checked() {
    let (report, _) = lint_json(&[
        &polyaxonfile("valid/service.yaml"),
        "--snapshot",
        repo().join("testdata/gpu-shortage").to_str().unwrap(),
    ]);
    let skipped: Vec<&str> = report["collection"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["resource"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, vec!["persistentvolumeclaims", "serviceaccounts"]);
}

fn large_project(with_ignore: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("polyaxonfile.yaml");
    std::fs::copy(polyaxonfile("valid/service.yaml"), &file).unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    // Sparse: 60 MiB on paper, nothing on disk.
    std::fs::File::create(dir.path().join("data/train.tfrecord"))
        .unwrap()
        .set_len(60 << 20)
        .unwrap();
    if with_ignore {
        std::fs::write(dir.path().join(".polyaxonignore"), "data/\n").unwrap();
    }
    (dir, file)
}

#[test]
fn large_data_without_polyaxonignore_is_a_warning_with_the_patterns() {
    let (_dir, file) = large_project(false);
    let (report, code) = lint_json(&[file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(found(&report), vec![("PXD-DAG-022".to_string(), 1)]);
    let text = finding(&report, "PXD-DAG-022")["remediation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("e.g. data/"), "{text}");

    let (_dir, file) = large_project(true);
    let (report, _) = lint_json(&[file.to_str().unwrap()]);
    assert_eq!(found(&report), vec![]);
}

#[test]
fn broken_yaml_is_exit_2_with_file_line_and_column() {
    let file = polyaxonfile("broken/invalid-yaml.yaml");
    let output = pxdoctor(&["lint", &file]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("{file}:6:12: not valid YAML")),
        "{message}"
    );

    let missing = pxdoctor(&["lint", "testdata/polyaxonfiles/nope.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("testdata/polyaxonfiles/nope.yaml: cannot read"));

    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.yaml");
    std::fs::write(&list, "- a\n- b\n").unwrap();
    let output = pxdoctor(&["lint", list.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(":1:1: not a polyaxonfile"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn sarif_points_at_the_file_line_and_column() {
    let file = polyaxonfile("broken/cycle.yaml");
    let output = pxdoctor(&["lint", &file, "-o", "sarif"]);
    assert_eq!(output.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "PXD-DAG-001");
    let physical = &result["locations"][0]["physicalLocation"];
    assert!(
        physical["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("broken/cycle.yaml")
    );
    assert_eq!(physical["region"]["startLine"], 11);
}

#[test]
fn lint_reports_only_lint_findings_even_with_a_snapshot_full_of_problems() {
    // gpu-shortage has Pending runs; lint must not report them.
    let (report, _) = lint_json(&[
        &polyaxonfile("valid/dag.yaml"),
        "--snapshot",
        repo().join("testdata/gpu-shortage").to_str().unwrap(),
    ]);
    assert_eq!(found(&report), vec![]);
}

#[test]
fn every_file_is_reported_and_an_unreadable_one_is_a_finding_then_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = repo().join("testdata/polyaxonfiles/valid/job.yaml");
    std::fs::copy(&good, dir.path().join("a.yaml")).unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "version: 1.1\nkind: component\nrun: [unclosed\n",
    )
    .unwrap();
    std::fs::copy(
        repo().join("testdata/polyaxonfiles/valid/dag.yaml"),
        dir.path().join("c.yaml"),
    )
    .unwrap();
    let broken = dir
        .path()
        .join("broken.yaml")
        .to_string_lossy()
        .into_owned();
    let a = dir.path().join("a.yaml").to_string_lossy().into_owned();
    let c = dir.path().join("c.yaml").to_string_lossy().into_owned();
    let output = pxdoctor(&["lint", &a, &broken, &c, "-o", "json"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let report: Value =
        serde_json::from_slice(&output.stdout).expect("the report is still written");
    assert_valid_report(&report);
    assert_eq!(report["source"]["paths"], serde_json::json!([a, broken, c]));
    let unreadable: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "PXD-DAG-000")
        .collect();
    assert_eq!(unreadable.len(), 1, "{report}");
    assert_eq!(unreadable[0]["location"]["line"], 3);
    assert!(
        stderr(&output).contains("broken.yaml:3:"),
        "{}",
        stderr(&output)
    );
    // A directory lints the polyaxonfiles in it.
    let whole = pxdoctor(&["lint", &dir.path().to_string_lossy(), "-o", "json"]);
    let report: Value = serde_json::from_slice(&whole.stdout).unwrap();
    assert_eq!(report["source"]["paths"].as_array().unwrap().len(), 3);
}

#[test]
fn a_polyaxon_version_without_a_built_in_schema_is_refused_naming_the_flag() {
    let file = polyaxonfile("valid/job.yaml");
    let output = pxdoctor(&["lint", &file, "--polyaxon-version", "1.14"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--polyaxon-version 1.14") && stderr(&output).contains("2.18"),
        "{}",
        stderr(&output)
    );
    let (_, code) = lint_json(&[&file, "--polyaxon-version", "2.18.0"]);
    assert_eq!(code, 0);
}
