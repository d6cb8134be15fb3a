//! The public wording corpus (testdata/wording/*.jsonl, each line a real
//! message with its source; docs/wording/corpus.md): every message is put
//! where a real snapshot has it — an event on a run's pod, claim or Job, a
//! line in a run's container log, a container's or pod's status, a
//! condition — and checked through `pxdoctor check` like any cluster. The
//! findings must show the expected cause, benign look-alikes must raise
//! nothing, and the per-family accuracy is printed.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};
use support::repo;

#[derive(Deserialize, Clone)]
struct Line {
    message: String,
    source: String,
    expect: String,
    #[serde(rename = "where")]
    place: String,
    #[serde(default)]
    reason: Option<String>,
}

/// Events Kubernetes writes as Normal.
const NORMAL: &[&str] = &[
    "Scheduled",
    "Pulled",
    "Pulling",
    "Created",
    "Started",
    "SuccessfulCreate",
    "SuccessfulDelete",
    "Provisioning",
    "ExternalProvisioning",
    "ProvisioningSucceeded",
    "SuccessfulAttachVolume",
    "SuccessfulMountVolume",
    "WaitForFirstConsumer",
    "WaitForPodScheduled",
    "Completed",
    "Killing",
    "TriggeredScaleUp",
    "NotTriggerScaleUp",
];

/// Which cause each rule shows. Rules whose cause is in their title (the
/// network and TLS ones) are read from it; fallbacks show none.
fn causes_of(rule: &str) -> &'static [&'static str] {
    match rule {
        "PXD-PEND-001" | "PXD-PEND-002" | "PXD-PEND-003" | "PXD-PEND-019" => {
            &["insufficient-resource"]
        }
        "PXD-PEND-004" => &["too-many-pods"],
        "PXD-PEND-005" => &["taint"],
        "PXD-PEND-006" => &["node-condition"],
        "PXD-PEND-007" => &["cordoned"],
        "PXD-PEND-008" => &["node-selector-affinity"],
        "PXD-PEND-009" => &["pod-affinity"],
        "PXD-PEND-010" => &["host-port"],
        "PXD-PEND-011" | "PXD-PEND-012" | "PXD-PEND-014" => &["unbound-claim"],
        "PXD-PEND-013" => &["volume-node-conflict"],
        "PXD-PEND-015" => &["max-volume-count"],
        "PXD-MOUNT-001" | "PXD-MOUNT-002" => &["class-missing"],
        "PXD-MOUNT-003" => &["provisioning-failed"],
        "PXD-MOUNT-004" => &["binding-failed"],
        "PXD-MOUNT-006" | "PXD-MOUNT-007" => &["multi-attach"],
        "PXD-MOUNT-008" | "PXD-MOUNT-013" => &["secret-missing", "configmap-missing"],
        "PXD-MOUNT-009" => &["csi-driver-missing"],
        "PXD-MOUNT-010" | "PXD-MOUNT-012" => &["nfs-failed"],
        "PXD-MOUNT-011" => &["mount-timeout"],
        "PXD-MOUNT-098" => &["provisioning-failed", "binding-failed"],
        "PXD-MOUNT-099" => &["attach-failed"],
        "PXD-RUN-001" | "PXD-RUN-002" => &["oom-killed"],
        "PXD-RUN-003" => &["killed"],
        "PXD-RUN-004" => &["crash-loop"],
        "PXD-RUN-005" => &["config-error"],
        "PXD-RUN-006" => &["evicted"],
        "PXD-RUN-007" => &["image-not-found"],
        "PXD-RUN-008" => &["image-auth"],
        "PXD-RUN-009" => &["image-unreachable"],
        "PXD-RUN-013" => &["image-rate-limit"],
        "PXD-RUN-014" => &["invalid-image-name"],
        "PXD-RUN-011" => &["job-backoff-limit"],
        "PXD-RUN-012" => &["job-deadline"],
        "PXD-QUOTA-001" | "PXD-QUOTA-006" => &["quota-exceeded"],
        "PXD-QUOTA-002" | "PXD-QUOTA-007" => &["quota-must-specify"],
        "PXD-QUOTA-003" | "PXD-QUOTA-008" => &["limit-range"],
        "PXD-QUOTA-004" => &["podsecurity-denied"],
        "PXD-QUOTA-005" => &["webhook-timeout"],
        "PXD-AUTH-002" | "PXD-AUTH-007" => &["webhook-denied"],
        "PXD-AUTH-001" | "PXD-AUTH-006" => &["kube-forbidden"],
        "PXD-AUTH-005" => &["kube-unauthorized"],
        "PXD-AUTH-032" => &["polyaxon-api-unauthorized"],
        "PXD-AUTH-033" => &["polyaxon-api-unreachable"],
        "PXD-ART-040" => &["store-credentials"],
        "PXD-ART-041" => &["store-permission"],
        "PXD-ART-042" => &["store-bucket"],
        "PXD-ART-045" => &["store-no-credentials"],
        "PXD-ART-046" => &["store-region"],
        "PXD-ART-047" => &["store-throttling"],
        "PXD-ART-048" => &["store-clock"],
        "PXD-ART-049" => &["store-token"],
        "PXD-ART-050" => &["store-server"],
        _ => &[],
    }
}

/// The causes a finding shows: its rule's and its folded causes'; the
/// network and TLS rules name theirs at the end of the title.
fn shown(finding: &Value) -> BTreeSet<String> {
    let mut rules = vec![finding["rule"].as_str().unwrap_or("").to_string()];
    for cause in finding["causes"].as_array().into_iter().flatten() {
        rules.extend(cause["rule"].as_str().map(str::to_string));
    }
    let mut out: BTreeSet<String> = rules
        .iter()
        .flat_map(|rule| causes_of(rule).iter().map(|c| c.to_string()))
        .collect();
    let named = [
        "PXD-ART-043",
        "PXD-ART-044",
        "PXD-MOUNT-014",
        "PXD-RUN-015",
        "PXD-RUN-016",
        "PXD-RUN-017",
    ];
    if named.contains(&finding["rule"].as_str().unwrap_or("")) {
        let title = finding["title"].as_str().unwrap_or("");
        if let Some(cause) = title.rsplit_once('(').map(|(_, c)| c.trim_end_matches(')')) {
            out.insert(cause.to_string());
        }
    }
    out
}

fn uuid(family: usize, i: usize) -> String {
    format!("{family:04x}{i:028x}")
}

fn pod_name(uuid: &str) -> String {
    format!("plx-operation-{uuid}-w0rd5")
}

fn now() -> &'static str {
    "2026-11-28T10:42:00Z"
}

/// Reasons the kubelet gives a container's state, which lead the messages
/// that quote them.
const CONTAINER_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "OOMKilled",
];

/// One run: its pod, and what the line needs around it.
fn place(family: &str, f: usize, i: usize, line: &Line, snapshot: &mut Snapshot) {
    let uuid = uuid(f, i);
    let name = pod_name(&uuid);
    let benign = line.expect == "benign";
    let labels = json!({
        "app.kubernetes.io/managed-by": "polyaxon",
        "app.kubernetes.io/instance": uuid,
    });
    let ready = |ready: bool| {
        json!([{"type": "PodScheduled", "status": "True"},
               {"type": "Ready", "status": if ready {"True"} else {"False"}}])
    };
    let running = json!([
        {"name": "polyaxon-main", "ready": true, "restartCount": 0, "image": "acme/trainer:1",
         "state": {"running": {"startedAt": "2026-11-28T10:00:00Z"}}},
        {"name": "polyaxon-sidecar", "ready": true, "restartCount": 0, "image": "polyaxon/polyaxon-sidecar:2.4.0",
         "state": {"running": {"startedAt": "2026-11-28T10:00:00Z"}}}
    ]);
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "polyaxon", "labels": labels,
                     "creationTimestamp": "2026-11-28T10:00:00Z"},
        "spec": {"containers": [{"name": "polyaxon-main", "image": "acme/trainer:1"},
                                {"name": "polyaxon-sidecar", "image": "polyaxon/polyaxon-sidecar:2.4.0"}],
                 "nodeName": "worker-1", "schedulerName": "default-scheduler"},
        "status": {"phase": "Running", "conditions": ready(true), "containerStatuses": running}
    });
    let reason = line.reason.clone();
    let event = |kind: &str, object: &str, reason: &str| {
        json!({"apiVersion": "v1", "kind": "Event",
               "metadata": {"name": format!("{object}.{i}"), "namespace": "polyaxon"},
               "involvedObject": {"kind": kind, "name": object, "namespace": "polyaxon"},
               "reason": reason, "message": line.message, "count": 3,
               "type": if NORMAL.contains(&reason) { "Normal" } else { "Warning" },
               "lastTimestamp": "2026-11-28T10:40:00Z", "source": {"component": "kubelet"}})
    };
    match (line.place.as_str(), family) {
        ("event" | "condition", "scheduler") => {
            pod["spec"].as_object_mut().unwrap().remove("nodeName");
            pod["status"] = json!({"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": if line.place == "condition" { line.message.as_str() } else { "" }}]});
            if benign {
                pod["status"] = json!({"phase": "Running", "conditions": ready(true), "containerStatuses": running});
            }
            if line.place == "event" {
                snapshot.events.push(event(
                    "Pod",
                    &name,
                    reason.as_deref().unwrap_or("FailedScheduling"),
                ));
            }
        }
        ("event", "mount") => {
            let reason = reason.as_deref().unwrap_or("FailedMount");
            if !benign {
                pod["status"] = json!({"phase": "Pending", "conditions": ready(false), "containerStatuses": [
                    {"name": "polyaxon-main", "ready": false, "restartCount": 0, "image": "acme/trainer:1",
                     "state": {"waiting": {"reason": "ContainerCreating"}}}]});
            }
            if matches!(
                reason,
                "ProvisioningFailed"
                    | "FailedBinding"
                    | "ProvisioningSucceeded"
                    | "ExternalProvisioning"
                    | "WaitForFirstConsumer"
                    | "Provisioning"
            ) {
                let claim = format!("data-{i}");
                pod["spec"]["volumes"] =
                    json!([{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]);
                // A provisioner that says a class is not found was asked
                // for it by the claim (or by the default-class admission
                // that filled it in): the claim names it.
                let class = line
                    .message
                    .split_once("storageclass.storage.k8s.io \"")
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(class, _)| class.to_string());
                snapshot.claims.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim, "namespace": "polyaxon"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                             "storageClassName": class},
                    "status": {"phase": if benign { "Bound" } else { "Pending" }}}));
                snapshot
                    .events
                    .push(event("PersistentVolumeClaim", &claim, reason));
            } else {
                snapshot.events.push(event("Pod", &name, reason));
            }
        }
        ("event", "image") => {
            let reason = reason.as_deref().unwrap_or("Failed");
            if !benign {
                pod["status"] = json!({"phase": "Pending", "conditions": ready(false), "containerStatuses": [
                    {"name": "polyaxon-main", "ready": false, "restartCount": 0, "image": "acme/trainer:1",
                     "state": {"waiting": {"reason": "ErrImagePull"}}}]});
            }
            snapshot.events.push(event("Pod", &name, reason));
        }
        // Benign admission words are warnings kubectl prints (a log line
        // below), not events.
        ("event" | "api" | "log", "quota") if !benign => {
            // The Job controller's FailedCreate, on the run's Job.
            let job = format!("plx-operation-{uuid}");
            snapshot.events.push(event(
                "Job",
                &job,
                reason.as_deref().unwrap_or("FailedCreate"),
            ));
            return;
        }
        ("status", "image") => {
            pod["status"] = json!({"phase": "Pending", "conditions": ready(false), "containerStatuses": [
                {"name": "polyaxon-main", "ready": false, "restartCount": 0, "image": "acme/trainer:1",
                 "state": {"waiting": {"reason": reason.as_deref().unwrap_or("ErrImagePull"), "message": line.message}}}]});
        }
        // A container's state, as the kubelet writes it: the reason that
        // leads the message (CrashLoopBackOff, CreateContainerConfigError,
        // OOMKilled) is the container's, not the pod's.
        ("status", "runtime")
            if CONTAINER_REASONS
                .iter()
                .any(|r| line.message.starts_with(r)) =>
        {
            let reason = CONTAINER_REASONS
                .iter()
                .find(|r| line.message.starts_with(*r))
                .copied()
                .unwrap_or_default();
            let message = line.message[reason.len()..].trim_start_matches([':', ' ']);
            let state = if reason == "OOMKilled" {
                json!({"terminated": {"reason": reason, "exitCode": 137, "message": message,
                                      "startedAt": "2026-11-28T10:00:00Z", "finishedAt": "2026-11-28T10:30:00Z"}})
            } else {
                json!({"waiting": {"reason": reason, "message": message}})
            };
            pod["status"] = json!({"phase": "Running", "conditions": ready(false), "containerStatuses": [
                {"name": "polyaxon-main", "ready": false, "restartCount": 5, "image": "acme/trainer:1",
                 "state": state,
                 "lastState": {"terminated": {"reason": "Error", "exitCode": 1,
                     "startedAt": "2026-11-28T10:00:00Z", "finishedAt": "2026-11-28T10:30:00Z"}}}]});
        }
        ("status", _) => {
            let reason = reason.as_deref().unwrap_or("Failed");
            pod["status"] = json!({"phase": if benign { "Running" } else { "Failed" }, "reason": reason,
                                   "message": line.message, "conditions": ready(benign)});
        }
        ("condition", _) => {
            let job = format!("plx-operation-{uuid}");
            snapshot.jobs.push(json!({"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": job, "namespace": "polyaxon", "labels": labels,
                             "creationTimestamp": "2026-11-28T09:00:00Z"},
                "status": {"conditions": [{"type": if benign { "Complete" } else { "Failed" }, "status": "True",
                    "reason": reason.as_deref().unwrap_or(""), "message": line.message}]}}));
            return;
        }
        ("event", _) => {
            if !benign {
                pod["status"]["conditions"] = ready(false);
            }
            snapshot
                .events
                .push(event("Pod", &name, reason.as_deref().unwrap_or("Failed")));
        }
        // log and api: a line of the run's sidecar.
        _ => {
            snapshot.logs.push((name.clone(), line.message.clone()));
        }
    }
    snapshot.pods.push(pod);
}

#[derive(Default)]
struct Snapshot {
    pods: Vec<Value>,
    events: Vec<Value>,
    claims: Vec<Value>,
    jobs: Vec<Value>,
    logs: Vec<(String, String)>,
}

impl Snapshot {
    fn write(&self, dir: &Path) {
        std::fs::copy(
            repo().join("testdata/mount-failures/nodes.json"),
            dir.join("nodes.json"),
        )
        .unwrap();
        for (file, items) in [
            ("pods.json", &self.pods),
            ("events.json", &self.events),
            ("claims.json", &self.claims),
            ("jobs.json", &self.jobs),
        ] {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            std::fs::write(dir.join(file), list.to_string()).unwrap();
        }
        for (pod, text) in &self.logs {
            let logs = dir.join("logs/polyaxon").join(pod);
            std::fs::create_dir_all(&logs).unwrap();
            std::fs::write(logs.join("polyaxon-sidecar.log"), format!("{text}\n")).unwrap();
        }
    }
}

/// (family, lines) of every corpus file.
fn corpus() -> Vec<(String, Vec<Line>)> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("testdata/wording"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let family = path.file_stem().unwrap().to_string_lossy().into_owned();
            let lines = std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    serde_json::from_str::<Line>(l).unwrap_or_else(|e| panic!("{family}: {e}: {l}"))
                })
                .collect();
            (family, lines)
        })
        .collect()
}

struct Score {
    right: usize,
    total: usize,
    benign_alarms: Vec<String>,
    misses: Vec<String>,
}

#[test]
fn every_message_of_the_public_corpus_gets_its_cause() {
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    for (f, (family, lines)) in corpus().into_iter().enumerate() {
        let mut snapshot = Snapshot::default();
        for (i, line) in lines.iter().enumerate() {
            assert!(
                line.source.starts_with("https://"),
                "{family} {i}: a source"
            );
            place(&family, f, i, line, &mut snapshot);
        }
        let dir = tempfile::tempdir().unwrap();
        snapshot.write(dir.path());
        let (report, _) = support::check_json_with(dir.path(), &[], &[("PXDOCTOR_NOW", now())]);
        let findings = report["findings"].as_array().unwrap();
        let mut score = Score {
            right: 0,
            total: lines.len(),
            benign_alarms: Vec::new(),
            misses: Vec::new(),
        };
        for (i, line) in lines.iter().enumerate() {
            let uuid = uuid(f, i);
            let about: Vec<&Value> = findings
                .iter()
                .filter(|finding| finding["subject"]["run"]["uuid"] == uuid.as_str())
                .filter(|finding| finding["severity"] != "info")
                .collect();
            let shown: BTreeSet<String> = about.iter().flat_map(|f| shown(f)).collect();
            let right = if line.expect == "benign" {
                about.is_empty()
            } else {
                shown.contains(&line.expect)
            };
            if right {
                score.right += 1;
            } else if line.expect == "benign" {
                let rules: Vec<&str> = about.iter().filter_map(|f| f["rule"].as_str()).collect();
                score
                    .benign_alarms
                    .push(format!("{rules:?} on {}", line.message));
            } else {
                let rules: Vec<&str> = about.iter().filter_map(|f| f["rule"].as_str()).collect();
                score.misses.push(format!(
                    "want {} got {shown:?} {rules:?}: {}",
                    line.expect, line.message
                ));
            }
        }
        scores.insert(family, score);
    }
    let mut table = String::from(
        "| family | right | total | accuracy | benign alarms |\n|---|---:|---:|---:|---:|\n",
    );
    for (family, score) in &scores {
        table.push_str(&format!(
            "| {family} | {} | {} | {:.1}% | {} |\n",
            score.right,
            score.total,
            100.0 * score.right as f64 / score.total.max(1) as f64,
            score.benign_alarms.len()
        ));
    }
    eprintln!("{table}");
    for (family, score) in &scores {
        for miss in score.misses.iter().chain(&score.benign_alarms) {
            eprintln!("{family}: {miss}");
        }
    }
    assert!(scores.len() >= 10, "at least ten families");
    let total: usize = scores.values().map(|s| s.total).sum();
    assert!(total >= 400, "at least 400 messages ({total})");
    // Every family is held, a new one too.
    for (family, score) in &scores {
        assert!(
            score.right * 100 >= score.total * 95 && score.benign_alarms.is_empty(),
            "{family}: {}/{} right, benign alarms {:#?}, misses {:#?}",
            score.right,
            score.total,
            score.benign_alarms,
            score.misses
        );
    }
}
