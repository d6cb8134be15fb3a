//! Snapshot goldens: every `testdata/<scenario>/` must yield exactly the
//! findings its `expected.yaml` lists (no more, no fewer), with the causes in
//! order and the explanation saying what the file says it says.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use support::{check_json, subject, testdata};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    exit_code: i32,
    findings: Vec<ExpectedFinding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFinding {
    rule: String,
    subject: String,
    #[serde(default)]
    causes: Option<Vec<String>>,
    #[serde(default)]
    says: Vec<String>,
    #[serde(default)]
    never_says: Vec<String>,
    #[serde(default)]
    evidence_says: Vec<String>,
}

fn scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(support::repo().join("testdata"))
        .expect("testdata")
        .flatten()
        .filter(|entry| entry.path().join("expected.yaml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn verify(name: &str, snapshot: &Path) {
    let text =
        std::fs::read_to_string(testdata(name).join("expected.yaml")).expect("expected.yaml");
    let expected: Expected = serde_saphyr::from_str(&text).expect("expected.yaml parses");
    let (report, code) = check_json(snapshot, &[]);
    assert_eq!(code, expected.exit_code, "{name}: exit code");
    let findings = report["findings"].as_array().expect("findings");
    let got: BTreeSet<(String, String)> = findings
        .iter()
        .map(|f| (f["rule"].as_str().unwrap_or("").to_string(), subject(f)))
        .collect();
    let want: BTreeSet<(String, String)> = expected
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.subject.clone()))
        .collect();
    assert_eq!(got, want, "{name}: findings (rule, subject)");
    for want in &expected.findings {
        let finding = findings
            .iter()
            .find(|f| f["rule"] == want.rule.as_str() && subject(f) == want.subject)
            .expect("found above");
        if let Some(causes) = &want.causes {
            let got: Vec<&str> = finding["causes"]
                .as_array()
                .map(|c| c.iter().filter_map(|c| c["rule"].as_str()).collect())
                .unwrap_or_default();
            assert_eq!(
                &got, causes,
                "{name}: causes of {} on {}",
                want.rule, want.subject
            );
        }
        let text = format!(
            "{}\n{}",
            finding["explanation"].as_str().unwrap_or(""),
            finding["remediation"].as_str().unwrap_or("")
        );
        let evidence = finding["evidence"].to_string();
        for phrase in &want.evidence_says {
            assert!(
                evidence.contains(phrase.as_str()),
                "{name}: evidence of {} should say {phrase:?}: {evidence}",
                want.rule
            );
        }
        for phrase in &want.never_says {
            assert!(
                !text.contains(phrase.as_str()),
                "{name}: {} on {} must not say {phrase:?}:\n{text}",
                want.rule,
                want.subject
            );
        }
        for phrase in &want.says {
            assert!(
                text.contains(phrase.as_str()),
                "{name}: {} on {} should say {phrase:?}; it says:\n{text}",
                want.rule,
                want.subject
            );
        }
        assert!(
            !finding["evidence"].as_array().is_none_or(|e| e.is_empty()),
            "{name}: evidence"
        );
    }
    let errors = findings.iter().filter(|f| f["severity"] == "error").count() as u64;
    assert_eq!(
        report["summary"]["error"], errors,
        "{name}: summary counts errors"
    );
}

#[test]
fn every_scenario_yields_its_expected_findings() {
    let names = scenarios();
    assert!(names.len() >= 11, "scenarios: {names:?}");
    for name in names {
        verify(&name, &testdata(&name));
    }
}

#[test]
fn a_tar_gz_bundle_gives_the_same_findings_as_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["gpu-shortage", "cordoned-pool"] {
        let bundle = dir.path().join(format!("{name}.tar.gz"));
        // A real tar, as a support engineer would pack a snapshot folder.
        let status = std::process::Command::new("tar")
            .arg("czf")
            .arg(&bundle)
            .arg("-C")
            .arg(support::repo().join("testdata"))
            .arg(name)
            .status()
            .expect("tar runs");
        assert!(status.success());
        let (from_dir, _) = check_json(&testdata(name), &[]);
        let (from_bundle, _) = check_json(&bundle, &[]);
        assert_eq!(from_dir["findings"], from_bundle["findings"], "{name}");
        verify(name, &bundle);
    }
}

#[test]
fn a_gpu_shortage_leads_a_cpu_shortage_of_the_same_node_count() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["nodes.json", "pods.json", "events.json"] {
        let text = std::fs::read_to_string(testdata("gpu-shortage").join(file)).unwrap();
        // The scheduler sorts segments as strings: cpu comes first.
        let text = text.replace(
            "1 node(s) had untolerated taint {dedicated: infer}, 3 Insufficient nvidia.com/gpu.",
            "1 node(s) had untolerated taint {dedicated: infer}, 3 Insufficient cpu, 3 Insufficient nvidia.com/gpu.",
        );
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let (report, _) = check_json(dir.path(), &["--run", "5200fc5c"]);
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "PXD-PEND-002");
    assert_eq!(finding["title"], "Pending: not enough nvidia.com/gpu");
    let causes: Vec<&str> = finding["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["rule"].as_str())
        .collect();
    assert_eq!(
        causes,
        vec![
            "PXD-PEND-002",
            "PXD-PEND-001",
            "PXD-PEND-005",
            "PXD-PEND-020"
        ]
    );
}

#[test]
fn a_snapshot_with_crds_but_none_of_polyaxons_reports_them_missing() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["nodes.json", "pods.json", "events.json"] {
        std::fs::copy(testdata("gpu-shortage").join(file), dir.path().join(file)).unwrap();
    }
    let crds = r#"{"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": "certificates.cert-manager.io"},
         "spec": {"group": "cert-manager.io", "names": {"plural": "certificates", "kind": "Certificate"}, "scope": "Namespaced"}}]}"#;
    std::fs::write(dir.path().join("crds.json"), crds).unwrap();
    let (report, _) = check_json(dir.path(), &["--only", "platform"]);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, vec!["PXD-PLAT-002"]);
    // With Polyaxon's CRD among them, nothing to say.
    let with_polyaxon = crds
        .replace(
            "certificates.cert-manager.io",
            "operations.core.polyaxon.com",
        )
        .replace("cert-manager.io", "core.polyaxon.com")
        .replace("certificates", "operations");
    std::fs::write(dir.path().join("crds.json"), with_polyaxon).unwrap();
    let (report, _) = check_json(dir.path(), &["--only", "platform"]);
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
}

/// Since 1.35 (and in 1.34 patches) the scheduler writes "had untolerated
/// taint(s)" without the taint (kubernetes pkg/scheduler/framework/plugins/
/// tainttoleration, as the real v1.37.2 scheduler wrote it in the control
/// plane tier): the finding names the taint and its node from the nodes, as
/// it does from the 1.29 wording.
#[test]
fn the_taint_the_newer_wording_leaves_out_is_named_from_the_nodes() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(testdata("gpu-shortage")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "had untolerated taint {dedicated: infer}",
            "had untolerated taint(s)",
        );
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    let (report, _) = check_json(dir.path(), &[]);
    let four = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "PXD-PEND-002" && subject(f).contains("plx-operation-5200fc5c"))
        .expect("the 4-GPU run's finding");
    let said = four["explanation"].as_str().unwrap();
    assert!(
        said.contains(
            "1 of 4 nodes: taint dedicated=infer:NoSchedule that the run does not tolerate (on infer-1)"
        ),
        "{said}"
    );
}
