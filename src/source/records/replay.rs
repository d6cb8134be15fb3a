//! A run Kubernetes has forgotten, told again from Polyaxon's records: the
//! objects the cluster held while the run lived — its custom resource with
//! the operator's conditions, its pod in the state the operator copied, the
//! scheduler's verdict, the Job's failure — rebuilt from the status
//! conditions and the compiled spec, and decoded by the same code that
//! decodes a cluster's objects. So the rules that judge a live run judge
//! the remembered one, and give the same rule.
//!
//! Only what a condition states is rebuilt. The operator's wording
//! (polyaxon/mloperator `controllers/managers/pods.go`, `controllers/job.go`,
//! `api/v1/operation_types.go`): an unschedulable pod is a Warning
//! `ContainersNotReady` carrying the scheduler's message; an image pull is
//! `ImagePullBackOff` or `InitContainerImagePullBackOff` with the kubelet's
//! message; a failed container is `<Reason>ExitCode N` (`OOMKilledExitCode
//! 137`), also inside a Failed message as `(Pod: <reason: R, message M>)`;
//! a failed Job keeps the Job controller's reason (`BackoffLimitExceeded`,
//! `DeadlineExceeded`); creating the workload failed is
//! `OperatorCreate<Kind>` with the API server's error.

use std::sync::LazyLock;

use jiff::Timestamp;
use regex::Regex;
use serde_json::{Value as Json, json};

use crate::facts::LogTail;
use crate::facts::inventory::Inventory;
use crate::facts::records::record::{ArchivedLogs, DEFAULT_NAMESPACE, RunRecord, StatusCondition};
use crate::facts::scheduling::verdict;
use crate::facts::workloads::job::FAILURE_REASONS;
use crate::facts::workloads::run::{INSTANCE, MANAGED_BY};

/// `OOMKilledExitCode 137`, `ErrorExitCode 1`: the operator's container words.
static EXIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Z][A-Za-z]*)ExitCode (-?\d+)\b").expect("exit"));
/// The node of a scheduled pod whose records do not name it.
const UNKNOWN_NODE: &str = "(a node Polyaxon's records do not name)";

/// `image "x"` in a kubelet message.
static IMAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"image "([^"]+)""#).expect("image"));

/// The objects rebuilt for one run, added to `into` (facts only: nothing
/// about which kinds or custom resources the cluster serves), judged at
/// the moment the record describes (`RunRecord::as_of`).
pub fn replay(record: &RunRecord, as_of: Timestamp, into: &mut Inventory) {
    let mut rebuilt = Inventory::default();
    let objects = objects(record);
    for (kind, api_version, object) in &objects {
        // Objects built here always decode; one that did not would only
        // lose its own facts.
        let _ = crate::source::objects::read_object(
            kind,
            api_version,
            &object.to_string(),
            &mut rebuilt,
        );
    }
    for pod in &mut rebuilt.pods {
        pod.as_of = Some(as_of);
    }
    for job in &mut rebuilt.jobs {
        job.as_of = Some(as_of);
    }
    into.pods.extend(rebuilt.pods);
    for event in rebuilt.events {
        into.add_event(event);
    }
    into.operations.extend(rebuilt.operations);
    into.jobs.extend(rebuilt.jobs);
    into.logs.extend(log_tails(record));
}

/// Whether the record says the run reached Kubernetes: the agent
/// scheduled it, or the operator reported on it.
pub fn reached_kubernetes(record: &RunRecord) -> bool {
    record.conditions.iter().any(|c| {
        c.status
            && matches!(
                c.type_.as_str(),
                "scheduled" | "starting" | "running" | "processing" | "warning" | "unschedulable"
            )
    }) || record.started_at.is_some()
}

/// Whether the record says the run's containers ran (a running
/// condition, or a start time): only then can it have logs.
pub fn ran(record: &RunRecord) -> bool {
    record.started_at.is_some()
        || record
            .conditions
            .iter()
            .any(|c| c.status && matches!(c.type_.as_str(), "running" | "processing"))
}

/// Whether rebuilding the run's pod uses its compiled spec: the scheduler's
/// verdict is weighed against today's nodes with its requests, a failed
/// container is told with its limits.
pub fn needs_spec(record: &RunRecord) -> bool {
    problems(record).any(|c| {
        verdict::is_node_verdict(&c.message)
            || EXIT.is_match(&format!("{} {}", c.reason, c.message))
    })
}

/// The Kubernetes objects (kind, apiVersion, object) the record speaks of.
fn objects(record: &RunRecord) -> Vec<(&'static str, &'static str, Json)> {
    if !reached_kubernetes(record) {
        return Vec::new();
    }
    let namespace = record.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
    let name = format!("plx-operation-{}", record.uuid);
    let metadata = |name: &str, created: Option<Timestamp>| {
        let mut annotations = serde_json::Map::new();
        for (key, value) in [
            ("owner", &record.owner),
            ("project", &record.project),
            ("name", &record.name),
            ("kind", &record.kind),
        ] {
            if let Some(value) = value {
                annotations.insert(format!("operation.polyaxon.com/{key}"), json!(value));
            }
        }
        json!({
            "name": name,
            "namespace": namespace,
            "creationTimestamp": created.map(|t| t.to_string()),
            "labels": {MANAGED_BY: "polyaxon", INSTANCE: record.uuid},
            "annotations": annotations,
        })
    };
    let created = record.scheduled_at();
    let mut out = Vec::new();
    // The custom resource, with the operator's conditions as it wrote them.
    let conditions: Vec<Json> = record
        .conditions
        .iter()
        .filter(|c| !POLYAXON_WRITERS.contains(&c.reason.as_str()))
        .filter_map(|c| {
            let kind = operator_type(&c.type_)?;
            Some(json!({
                "type": kind,
                "status": if c.status { "True" } else { "False" },
                "reason": c.reason,
                "message": c.message,
                "lastTransitionTime": c.time.map(|t| t.to_string()),
            }))
        })
        .collect();
    out.push((
        "Operation",
        "core.polyaxon.com/v1",
        json!({"metadata": metadata(&name, created), "status": {"conditions": conditions}}),
    ));
    let spec = Spec::of(record.content.as_ref());
    let pod_name = pod_name(record).unwrap_or_else(|| name.clone());
    if let Some((state, event)) = pod_state(record, &spec) {
        let mut pod = json!({
            "metadata": metadata(&pod_name, created),
            "spec": spec.pod_spec(),
            "status": state,
        });
        if pod["status"]["conditions"][0]["status"] == "True" {
            // Scheduled: its node, as the logs name it, else said unknown
            // (a pod without one would read as never scheduled).
            pod["spec"]["nodeName"] =
                json!(node_name(record).unwrap_or_else(|| UNKNOWN_NODE.to_string()));
        }
        out.push(("Pod", "v1", pod));
        if let Some((reason, message, time)) = event {
            out.push((
                "Event",
                "v1",
                json!({
                    "metadata": {"name": format!("{pod_name}.replayed"), "namespace": namespace},
                    "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": namespace},
                    "reason": reason,
                    "message": message,
                    "type": "Warning",
                    "count": 1,
                    "lastTimestamp": time.map(|t: Timestamp| t.to_string()),
                    "source": {"component": "default-scheduler"},
                }),
            ));
        }
    }
    // The operator could not create the workload: the API server's refusal,
    // as the Job controller reports its own (FailedCreate).
    if let Some(refused) = problems(record).find(|c| c.reason.starts_with("OperatorCreate")) {
        let kind = refused.reason.trim_start_matches("OperatorCreate");
        out.push((
            "Event",
            "v1",
            json!({
                "metadata": {"name": format!("{name}.replayed-create"), "namespace": namespace},
                "involvedObject": {"kind": if kind.is_empty() { "Job" } else { kind }, "name": name, "namespace": namespace},
                "reason": "FailedCreate",
                "message": refused.message,
                "type": "Warning",
                "count": 1,
                "lastTimestamp": refused.time.map(|t| t.to_string()),
                "source": {"component": "polyaxon-operator"},
            }),
        ));
    }
    if let Some(failed) = job_failure(record) {
        out.push((
            "Job",
            "batch/v1",
            json!({
                "metadata": metadata(&name, created),
                "spec": {"backoffLimit": spec.max_retries, "activeDeadlineSeconds": spec.timeout},
                "status": {
                    "failed": 1,
                    "conditions": [{
                        "type": "Failed", "status": "True",
                        "reason": failed.reason, "message": failed.message,
                        "lastTransitionTime": failed.time.map(|t| t.to_string()),
                    }],
                },
            }),
        ));
    }
    out
}

/// Reasons of the conditions Polyaxon's API, scheduler and agent write on
/// the run, never the operator on its resource (haupt and polyaxon 2.18:
/// the scheduler's, state manager's, heartbeat's and agent's writers).
const POLYAXON_WRITERS: &[&str] = &[
    "OperationServiceInit",
    "ModelManager",
    "PolyaxonRunCreated",
    "SchedulerPrepare",
    "SchedulerStart",
    "SchedulerNotifyDone",
    "SchedulerCheckPipeline",
    "AgentController",
    "AgentLogger",
    "StateManager",
    "EventHandler",
    "HeartbeatStopping",
    "HeartbeatWarningCleanup",
    "StaleUpload",
    "AuthContext",
    "GitInitializer",
    "ExitHandler",
];

/// Polyaxon's condition type as the operator writes it on its resource.
fn operator_type(type_: &str) -> Option<&'static str> {
    Some(match type_ {
        "scheduled" | "starting" => "Starting",
        "running" => "Running",
        "warning" | "unschedulable" => "Warning",
        "succeeded" => "Succeeded",
        "failed" => "Failed",
        "stopped" => "Stopped",
        _ => return None,
    })
}

/// The newest condition that says something went wrong.
fn problems(record: &RunRecord) -> impl Iterator<Item = &StatusCondition> {
    record
        .conditions
        .iter()
        .rev()
        .filter(|c| c.status && matches!(c.type_.as_str(), "warning" | "unschedulable" | "failed"))
}

/// The pod's status (and the event that said it) from the newest
/// condition that describes a pod.
type Said = (&'static str, String, Option<Timestamp>);
fn pod_state(record: &RunRecord, spec: &Spec) -> Option<(Json, Option<Said>)> {
    for condition in problems(record) {
        let words = format!("{} {}", condition.reason, condition.message);
        if verdict::is_node_verdict(&condition.message) {
            let state = json!({
                "phase": "Pending",
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": condition.message,
                    "lastTransitionTime": condition.time.map(|t| t.to_string()),
                }],
            });
            let said = (
                "FailedScheduling",
                condition.message.clone(),
                condition.time,
            );
            return Some((state, Some(said)));
        }
        if let Some(init) = match condition.reason.as_str() {
            "ImagePullBackOff" => Some(false),
            "InitContainerImagePullBackOff" => Some(true),
            _ => None,
        } {
            let image = IMAGE
                .captures(&condition.message)
                .map(|c| c[1].to_string())
                .or_else(|| spec.image.clone())
                .unwrap_or_default();
            let status = json!({
                "name": if init { "polyaxon-init" } else { "polyaxon-main" },
                "image": image,
                "ready": false,
                "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": condition.message}},
            });
            let key = if init {
                "initContainerStatuses"
            } else {
                "containerStatuses"
            };
            let mut state = json!({
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "True"}],
            });
            state[key] = json!([status]);
            return Some((state, None));
        }
        if let Some(exit) = EXIT.captures(&words) {
            let reason = exit[1].to_string();
            let code: i32 = exit[2].parse().unwrap_or(1);
            let message = pod_message(&condition.message).unwrap_or_default();
            let state = json!({
                "phase": "Failed",
                "conditions": [{"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [{
                    "name": "polyaxon-main",
                    "image": spec.image.clone().unwrap_or_default(),
                    "ready": false,
                    "restartCount": 0,
                    "state": {"terminated": {
                        "reason": reason, "exitCode": code, "message": message,
                        "finishedAt": condition.time.map(|t| t.to_string()),
                    }},
                }],
            });
            return Some((state, None));
        }
    }
    None
}

/// The pod's own message inside an operator Failed message:
/// `... (Pod: <reason: R, message M>)`.
fn pod_message(message: &str) -> Option<String> {
    let start = message.find(", message ")? + ", message ".len();
    let rest = &message[start..];
    Some(rest.trim_end_matches([')', '>']).trim().to_string()).filter(|m| !m.is_empty())
}

/// A Job controller failure the operator copied.
fn job_failure(record: &RunRecord) -> Option<&StatusCondition> {
    problems(record).find(|c| c.type_ == "failed" && FAILURE_REASONS.contains(&c.reason.as_str()))
}

/// The run's main pod, as its archived logs name it.
fn pod_name(record: &RunRecord) -> Option<String> {
    let ArchivedLogs::Lines(lines) = &record.logs else {
        return None;
    };
    lines
        .iter()
        .find(|l| l.container == "polyaxon-main")
        .or(lines.first())
        .map(|l| l.pod.clone())
        .filter(|p| !p.is_empty())
}

fn node_name(record: &RunRecord) -> Option<String> {
    let ArchivedLogs::Lines(lines) = &record.logs else {
        return None;
    };
    lines.iter().map(|l| l.node.clone()).find(|n| !n.is_empty())
}

/// The archived logs, as the tails a live check reads from each container.
fn log_tails(record: &RunRecord) -> Vec<LogTail> {
    let ArchivedLogs::Lines(lines) = &record.logs else {
        return Vec::new();
    };
    let namespace = record.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
    let mut by_container: Vec<((&str, &str), String)> = Vec::new();
    for line in lines {
        let key = (line.pod.as_str(), line.container.as_str());
        let text = match by_container.iter_mut().find(|(k, _)| *k == key) {
            Some((_, text)) => text,
            None => {
                by_container.push((key, String::new()));
                &mut by_container.last_mut().expect("just pushed").1
            }
        };
        text.push_str(&line.value);
        text.push('\n');
    }
    by_container
        .into_iter()
        .map(|((pod, container), text)| {
            let mut tail = LogTail::from_text(namespace, pod, container, &text);
            tail.run = Some(record.run_ref());
            tail
        })
        .collect()
}

/// What the compiled polyaxonfile says of the main container and where it
/// may run: enough for the fit check against today's nodes.
#[derive(Default)]
struct Spec {
    image: Option<String>,
    resources: Json,
    environment: Json,
    max_retries: Option<i64>,
    timeout: Option<i64>,
}

impl Spec {
    fn of(content: Option<&Json>) -> Spec {
        let Some(content) = content else {
            return Spec::default();
        };
        let container = content.pointer("/run/container");
        Spec {
            image: container
                .and_then(|c| c.get("image"))
                .and_then(Json::as_str)
                .map(str::to_string),
            resources: container
                .and_then(|c| c.get("resources"))
                .filter(|r| r.is_object())
                .cloned()
                .unwrap_or(Json::Null),
            environment: content
                .pointer("/run/environment")
                .filter(|e| e.is_object())
                .cloned()
                .unwrap_or(Json::Null),
            max_retries: content
                .pointer("/termination/maxRetries")
                .and_then(Json::as_i64),
            timeout: content
                .pointer("/termination/timeout")
                .and_then(Json::as_i64),
        }
    }

    fn pod_spec(&self) -> Json {
        let mut container = json!({"name": "polyaxon-main", "image": self.image});
        if let Some(resources) = self.resources.as_object() {
            let quantities = |key: &str| -> Json {
                resources
                    .get(key)
                    .and_then(Json::as_object)
                    .map(|map| {
                        map.iter()
                            .map(|(k, v)| {
                                let text = match v {
                                    Json::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                                (k.clone(), Json::String(text))
                            })
                            .collect::<serde_json::Map<_, _>>()
                            .into()
                    })
                    .unwrap_or(Json::Null)
            };
            container["resources"] =
                json!({"requests": quantities("requests"), "limits": quantities("limits")});
        }
        let mut spec = json!({"containers": [container], "schedulerName": "default-scheduler"});
        for key in ["nodeSelector", "tolerations", "affinity"] {
            if let Some(value) = self.environment.get(key).filter(|v| !v.is_null()) {
                spec[key] = value.clone();
            }
        }
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::records::record::RunRecord;

    fn record(conditions: serde_json::Value, content: serde_json::Value) -> RunRecord {
        let mut run = RunRecord::from_api(&json!({
            "uuid": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "name": "train", "kind": "job",
            "status": "failed", "owner": "acme", "project": "mnist",
            "created_at": "2026-12-07T10:00:00Z", "finished_at": "2026-12-07T11:00:00Z",
            "settings": {"namespace": "ml"}, "content": content.to_string(),
        }))
        .unwrap();
        run.set_conditions(&json!({ "status_conditions": conditions }));
        run
    }

    #[test]
    fn an_unschedulable_warning_becomes_a_pending_pod_with_the_schedulers_verdict() {
        let run = record(
            json!([
                {"type": "scheduled", "status": "True", "reason": "AgentController", "last_transition_time": "2026-12-07T10:01:00Z"},
                {"type": "warning", "status": "True", "reason": "ContainersNotReady",
                 "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
                 "last_transition_time": "2026-12-07T10:02:00Z"},
                {"type": "stopped", "status": "True", "reason": "EventHandler", "last_transition_time": "2026-12-07T11:00:00Z"}
            ]),
            json!({"run": {"kind": "job", "container": {"image": "train:1", "resources": {"limits": {"nvidia.com/gpu": 4}}}}}),
        );
        let mut inventory = Inventory::default();
        replay(&run, run.as_of(Timestamp::now()), &mut inventory);
        let pod = &inventory.pods[0];
        assert_eq!(
            (pod.namespace.as_str(), pod.phase.as_str()),
            ("ml", "Pending")
        );
        assert_eq!(pod.node_name, None);
        assert_eq!(pod.requests.get("nvidia.com/gpu"), Some(&4000));
        assert_eq!(pod.run.as_ref().unwrap().project.as_deref(), Some("mnist"));
        assert_eq!(pod.as_of.unwrap().to_string(), "2026-12-07T11:00:00Z");
        assert_eq!(&*inventory.events[0].reason, "FailedScheduling");
        assert_eq!(inventory.operations.len(), 1);
        assert!(inventory.jobs.is_empty());
    }

    #[test]
    fn the_operators_exit_words_become_a_terminated_container() {
        let run = record(
            json!([
                {"type": "running", "status": "True", "last_transition_time": "2026-12-07T10:05:00Z"},
                {"type": "failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit (Pod: <reason: OOMKilledExitCode 137, message >)",
                 "last_transition_time": "2026-12-07T10:30:00Z"}
            ]),
            json!({"run": {"kind": "job", "container": {"image": "train:1", "resources": {"limits": {"memory": "2Gi"}}}}}),
        );
        let mut inventory = Inventory::default();
        replay(&run, run.as_of(Timestamp::now()), &mut inventory);
        let pod = &inventory.pods[0];
        assert_eq!(pod.phase, "Failed");
        assert_eq!(pod.unwell[0].reason, "OOMKilled");
        assert_eq!(pod.unwell[0].exit_code, Some(137));
        assert_eq!(
            inventory.jobs[0].reason.as_deref(),
            Some("BackoffLimitExceeded")
        );
    }

    #[test]
    fn a_run_that_never_reached_kubernetes_rebuilds_nothing() {
        let mut run = record(
            json!([{"type": "queued", "status": "True", "reason": "SchedulerStart", "message": "Run is queued"}]),
            json!({}),
        );
        run.started_at = None;
        let mut inventory = Inventory::default();
        replay(&run, run.as_of(Timestamp::now()), &mut inventory);
        assert!(inventory.pods.is_empty() && inventory.operations.is_empty());
    }
}
