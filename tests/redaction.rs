//! Redaction a support engineer can trust: a corpus of planted secrets (one
//! per format, tests/support/secrets.rs) never leaves pxdoctor — not in any
//! output format of `check`, not in a bundle `collect` writes from a
//! cluster, not on stderr — while run uuids, digests and names of Secrets
//! stay readable. And no writer bypasses the redactor.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use support::apiserver::{ApiServer, Options};
use support::secrets::{PLANTED, PLANTED_MULTILINE, Plant, READABLE};
use support::{repo, stderr, stdout, testdata};

/// The pod of runtime-failures that waits on an image: unwell, so every
/// Warning event about it is cited by its finding.
const WAITING_POD: &str = "plx-operation-46bdf987369ade19c0847766ee316533-444b1";

fn all_plants() -> impl Iterator<Item = &'static Plant> {
    PLANTED.iter().chain(PLANTED_MULTILINE)
}

fn leaks(text: &str) -> Vec<String> {
    all_plants()
        .filter(|plant| text.contains(plant.secret))
        .map(|plant| format!("{} ({}): {}", plant.family, plant.source, plant.secret))
        .collect()
}

#[test]
fn the_corpus_covers_every_family_with_sixty_formats() {
    let mut per_family: BTreeMap<&str, usize> = BTreeMap::new();
    for plant in all_plants() {
        assert!(
            plant.text.contains(plant.secret),
            "{}: the text holds its secret",
            plant.source
        );
        *per_family.entry(plant.family).or_default() += 1;
    }
    eprintln!("planted formats per family: {per_family:?}");
    assert!(all_plants().count() >= 60, "{per_family:?}");
    for family in ["assignment", "url", "header", "provider", "pem"] {
        assert!(
            per_family.get(family).is_some_and(|n| *n >= 4),
            "{family}: {per_family:?}"
        );
    }
}

#[test]
fn every_planted_format_is_masked_and_its_words_kept() {
    let mut failures = Vec::new();
    for plant in all_plants() {
        let redacted = pxdoctor::redact::redact_lines(plant.text.lines()).join("\n");
        let marker = &plant.text[..3];
        if redacted.contains(plant.secret) || !redacted.contains(marker) {
            failures.push(format!("{} ({}): {redacted}", plant.family, plant.source));
        }
    }
    for text in READABLE {
        let redacted = pxdoctor::redact::redact_line(text);
        if redacted != *text {
            failures.push(format!(
                "masked what must stay readable: {text} -> {redacted}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// runtime-failures with the corpus planted: as Warning events on a waiting
/// run's pod (each cited by its finding), in that pod's log, in a run's
/// environment and in an annotation.
fn planted_scenario() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = testdata("runtime-failures");
    for file in ["nodes.json", "operations.json"] {
        std::fs::copy(source.join(file), dir.path().join(file)).unwrap();
    }
    let mut events: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(source.join("events.json")).unwrap())
            .unwrap();
    let items = events["items"].as_array_mut().unwrap();
    for (i, plant) in PLANTED.iter().enumerate() {
        items.push(serde_json::json!({
            "apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "Planted",
            "count": 1, "lastTimestamp": "2026-11-28T10:41:00Z",
            "metadata": {"name": format!("planted.{i}"), "namespace": "polyaxon"},
            "involvedObject": {"kind": "Pod", "name": WAITING_POD, "namespace": "polyaxon"},
            "source": {"component": "kubelet"},
            "message": plant.text,
        }));
    }
    std::fs::write(dir.path().join("events.json"), events.to_string()).unwrap();
    let mut pods: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(source.join("pods.json")).unwrap()).unwrap();
    for pod in pods["items"].as_array_mut().unwrap() {
        if pod["metadata"]["name"] == WAITING_POD {
            pod["spec"]["containers"][0]["env"] = serde_json::json!([
                {"name": "AWS_SECRET_ACCESS_KEY", "value": PLANTED[0].secret},
                {"name": "POLYAXON_AUTH_TOKEN", "value": PLANTED[25].secret},
                {"name": "STORE_URL", "value": PLANTED[33].text},
            ]);
            pod["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
                serde_json::Value::from(
                    serde_json::json!({"env": [{"name": "HF_TOKEN", "value": PLANTED[57].secret}]})
                        .to_string(),
                );
        }
    }
    std::fs::write(dir.path().join("pods.json"), pods.to_string()).unwrap();
    // Logs as the cluster has them; the simulator serves them, and a
    // snapshot reads them.
    copy_dir(&source.join("logs"), &dir.path().join("logs"));
    let log = dir.path().join("logs/polyaxon").join(WAITING_POD);
    std::fs::create_dir_all(&log).unwrap();
    let mut text = String::new();
    for plant in all_plants() {
        text.push_str(plant.text);
        text.push('\n');
    }
    text.push_str("ERROR image pull failed\n");
    std::fs::write(log.join("polyaxon-main.log"), text).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn pxdoctor(args: &[&str], kubeconfig: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pxdoctor"));
    command
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env("POLYAXON_HOME", "/nonexistent/polyaxon-home")
        .env_remove("POLYAXON_HOST")
        .env_remove("POLYAXON_AUTH_TOKEN")
        .env_remove("KUBERNETES_SERVICE_HOST");
    if let Some(kubeconfig) = kubeconfig {
        command.env("KUBECONFIG", kubeconfig);
    }
    command.output().expect("runs")
}

#[test]
fn check_prints_no_planted_secret_in_any_format() {
    let scenario = planted_scenario();
    let snapshot = scenario.path().to_string_lossy().into_owned();
    let json = pxdoctor(&["check", "--snapshot", &snapshot, "-o", "json"], None);
    let shown = stdout(&json);
    // Every planted event is in the report, so the test proves something.
    for plant in PLANTED {
        assert!(
            shown.contains(&plant.text[..3]),
            "{} was not shown at all",
            &plant.text[..3]
        );
    }
    for format in ["table", "json", "markdown", "sarif", "junit"] {
        let output = pxdoctor(
            &["check", "--snapshot", &snapshot, "-o", format, "-v"],
            None,
        );
        let text = format!("{}\n{}", stdout(&output), stderr(&output));
        let found = leaks(&text);
        assert!(found.is_empty(), "-o {format} shows: {found:#?}");
    }
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
fn a_bundle_collected_from_a_cluster_holds_no_planted_secret() {
    let scenario = planted_scenario();
    let server = ApiServer::start(scenario.path(), Options::default());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    let bundle = dir.path().join("bundle.tar.gz");
    let collected = pxdoctor(
        &["collect", "-v", "-A", "-o", &bundle.to_string_lossy()],
        Some(&kubeconfig),
    );
    assert_eq!(collected.status.code(), Some(0), "{}", stderr(&collected));
    let text = bundle_text(&bundle);
    assert!(
        text.contains(&format!(
            "=== logs/polyaxon/{WAITING_POD}/polyaxon-main.log"
        )),
        "the planted log is in the bundle"
    );
    for plant in all_plants() {
        assert!(
            text.contains(&plant.text[..3]),
            "{} is in the bundle's log",
            &plant.text[..3]
        );
    }
    assert!(
        text.contains("AWS_SECRET_ACCESS_KEY") && text.contains("STORE_URL"),
        "names stay"
    );
    let found = leaks(&format!(
        "{text}\n{}\n{}",
        stdout(&collected),
        stderr(&collected)
    ));
    assert!(found.is_empty(), "the bundle holds: {found:#?}");
    // And what the bundle then says.
    let checked = pxdoctor(
        &[
            "check",
            "--snapshot",
            &bundle.to_string_lossy(),
            "-o",
            "json",
        ],
        None,
    );
    let found = leaks(&stdout(&checked));
    assert!(found.is_empty(), "check on the bundle shows: {found:#?}");
}

#[test]
fn a_teams_own_pattern_from_pxdoctor_yaml_is_masked_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".pxdoctor.yaml"),
        "redact: ['acme-key-(?P<secret>[0-9a-f]{12})']\n",
    )
    .unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    copy_dir(&testdata("runtime-failures"), snapshot.path());
    let log = snapshot.path().join("logs/polyaxon").join(WAITING_POD);
    std::fs::create_dir_all(&log).unwrap();
    std::fs::write(
        log.join("polyaxon-main.log"),
        "pulling with acme-key-0a1b2c3d4e5f\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pxdoctor"))
        .args([
            "check",
            "--snapshot",
            &snapshot.path().to_string_lossy(),
            "-o",
            "json",
        ])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(text.contains("acme-key-****"), "{text}");
    assert!(!text.contains("0a1b2c3d4e5f"));
}

/// Writers of stdout, stderr and files, outside the sinks that redact.
const WRITERS: &[&str] = &[
    "println!",
    "eprintln!",
    "print!(",
    "eprint!(",
    "io::stdout()",
    "io::stderr()",
    "File::create",
    "fs::write",
    "append_data",
    ".println(",
    "progress.set_message(",
    "generate_to(",
];

#[test]
fn no_writer_bypasses_the_redactor() {
    let mut bypasses = Vec::new();
    let mut stack = vec![repo().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests write their own fixtures.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let lines: Vec<&str> = code.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let writes = WRITERS.iter().any(|w| line.contains(w))
                    && !line.contains("is_terminal")
                    && !line.trim_start().starts_with("//");
                let vouched = lines[i.saturating_sub(2)..=i]
                    .iter()
                    .any(|l| l.contains("sink:"));
                if writes && !vouched {
                    bypasses.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bypasses.is_empty(),
        "write through crate::sink (or say `// sink:` why this one is redacted): {bypasses:#?}"
    );
}
