//! Pod facts: phase, node, scheduling state, requests and the run it serves.
//!
//! Built straight from the Kubernetes object and kept small; the raw Pod is
//! dropped once this record exists.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod};

use super::run::run_of;
use crate::facts::Fact;
use crate::facts::Resources;
use crate::facts::shared::duration::human;
use crate::facts::shared::name::Interner;
use crate::facts::shared::quantity::parse_milli;
use crate::facts::shared::subject::{Evidence, RunRef, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

thread_local! {
    static REQUESTS: RefCell<Interner<Resources>> = RefCell::new(Interner::default());
}

#[derive(Debug, Clone)]
pub struct PodCondition {
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

impl PodCondition {
    fn of(conditions: &[k8s_openapi::api::core::v1::PodCondition], kind: &str) -> Option<Self> {
        conditions
            .iter()
            .find(|condition| condition.type_ == kind)
            .map(|condition| PodCondition {
                status: condition.status.clone(),
                reason: condition.reason.clone(),
                message: condition.message.clone(),
            })
    }
}

/// The waiting reasons of a scheduled pod whose containers are still being
/// set up (volumes, network, images): normal for a while, stuck past the
/// grace period.
pub const STARTING_REASONS: [&str; 2] = ["ContainerCreating", "PodInitializing"];

#[derive(Debug, Clone, Default)]
pub struct PodFact {
    pub namespace: String,
    pub name: String,
    pub phase: String,
    pub node_name: Option<String>,
    pub scheduler_name: String,
    pub created: Option<Timestamp>,
    /// Shared with the pod's events once facts are joined.
    pub run: Option<Arc<RunRef>>,
    /// What the scheduler reserves for the pod: max(sum of containers, any
    /// init container) plus overhead, as the scheduler computes it.
    /// Shared among pods that request the same.
    pub requests: Arc<Resources>,
    /// The PodScheduled condition, when the pod has one.
    pub scheduled: Option<PodCondition>,
    /// Whether the Ready condition is True, when the pod has one.
    pub ready: Option<bool>,
    /// The Ready condition when it is not True (boxed: rare, and memory at
    /// 100k pods matters).
    pub unready: Option<Box<PodCondition>>,
    /// DisruptionTarget=True: why the pod is being terminated (preemption,
    /// eviction by taint or by the API, garbage collection).
    pub disruption: Option<Box<PodCondition>>,
    /// A scheduled Pending pod's containers wait in ContainerCreating or
    /// PodInitializing (or report no state yet): which.
    pub starting: Option<&'static str>,
    /// Set when facts are correlated: seconds since creation.
    pub age_seconds: Option<i64>,
    /// Set when facts are correlated: older than the grace period.
    pub past_grace: bool,
    /// Set when facts are correlated: its node is not Ready (reason and
    /// message of the node's Ready condition).
    pub node_problem: Option<Box<str>>,
    pub scheduling_gates: Vec<String>,
    /// app.kubernetes.io/component: polyaxon-jobs, polyaxon-agent, ...
    pub component: Option<String>,
    /// Containers (init ones included) in the pod spec.
    pub containers: Vec<String>,
    /// Containers that failed, crash-loop or restarted: whose logs explain.
    pub failing_containers: Vec<String>,
    /// Tolerations, node selector and required node affinity.
    pub placement: Arc<super::placement::Placement>,
    /// PersistentVolumeClaims its volumes name.
    pub claims: Vec<String>,
    /// Secrets a run pod's containers and volumes refer to (runs only:
    /// whether the artifacts store's Secret reaches them).
    pub secret_refs: Vec<String>,
    /// Containers that are waiting, failed or restarted.
    pub unwell: Vec<super::container::ContainerFact>,
    /// status.reason and status.message: Evicted, and why.
    pub status_reason: Option<String>,
    pub status_message: Option<String>,
    /// Set when facts are correlated: a scheduler event names this pod.
    pub has_scheduling_event: bool,
    /// Set when facts are correlated: seconds since creation while Pending.
    pub pending_seconds: Option<i64>,
    /// Rule ids of the `pxdoctor.io/ignore` annotation: silenced on this pod.
    pub pxdoctor_ignore: Vec<String>,
    /// The labels `.pxdoctor.yaml` selectors read (see [`select_label_keys`]).
    pub selected_labels: BTreeMap<String, String>,
    /// A pod known only from Polyaxon's records: the moment the record
    /// describes. Its ages and waits run to this, not to now.
    pub as_of: Option<Timestamp>,
}

pub const FIELDS: &[FieldSpec] = &[
    field("namespace", Text, "the pod's namespace"),
    field("name", Text, "the pod's name"),
    field(
        "phase",
        Text,
        "Pending, Running, Succeeded, Failed or Unknown",
    ),
    field(
        "node",
        Text,
        "the node it is bound to; absent while unscheduled",
    ),
    field(
        "scheduler_name",
        Text,
        "spec.schedulerName (default-scheduler when unset)",
    ),
    field(
        "pending_seconds",
        Number,
        "seconds since creation, while Pending",
    ),
    field("pending_for", Text, "pending_seconds for people: 42m, 3h5m"),
    field(
        "scheduled_status",
        Text,
        "status of the PodScheduled condition",
    ),
    field(
        "scheduled_reason",
        Text,
        "reason of the PodScheduled condition",
    ),
    field(
        "scheduled_message",
        Text,
        "message of the PodScheduled condition",
    ),
    field(
        "scheduling_gates",
        Text,
        "spec.schedulingGates names, comma-separated",
    ),
    field(
        "has_scheduling_event",
        Bool,
        "a scheduler event or condition message explains it",
    ),
    field("is_run", Bool, "the pod belongs to a Polyaxon run"),
    field("run_kind", Text, "the run's kind: job, service, tfjob, ..."),
    field("subject", Text, "the run (or pod) as people name it"),
    field("status_reason", Text, "status.reason, e.g. Evicted"),
    field("status_message", Text, "status.message: why it was evicted"),
    field("ready", Bool, "the Ready condition is True"),
    field(
        "ready_message",
        Text,
        "the Ready condition's message: containers with unready status: [...]",
    ),
    field(
        "healthy",
        Bool,
        "Succeeded, or Running with every container ready",
    ),
    field(
        "disruption_reason",
        Text,
        "DisruptionTarget=True's reason: PreemptionByScheduler, DeletionByTaintManager, EvictionByEvictionAPI, ...",
    ),
    field("disruption_message", Text, "its message"),
    field(
        "starting_state",
        Text,
        "a scheduled Pending pod's containers wait in: ContainerCreating, PodInitializing, or no container started",
    ),
    field("age_seconds", Number, "seconds since creation"),
    field("age", Text, "the same for people: 12m"),
    field(
        "past_grace",
        Bool,
        "older than the grace period (5m, `grace` in .pxdoctor.yaml)",
    ),
    field(
        "node_problem",
        Text,
        "its node is not Ready: the node's reason and message",
    ),
];

impl PodFact {
    pub fn from_pod(pod: Pod) -> Option<PodFact> {
        let metadata = pod.metadata;
        let name = metadata.name?;
        let spec = pod.spec.unwrap_or_default();
        let status = pod.status.unwrap_or_default();
        let conditions = status.conditions.as_deref().unwrap_or_default();
        let scheduled = PodCondition::of(conditions, "PodScheduled");
        let ready_condition = PodCondition::of(conditions, "Ready");
        let ready = ready_condition.as_ref().map(|c| c.status == "True");
        let unready = ready_condition.filter(|c| c.status != "True").map(Box::new);
        let disruption = PodCondition::of(conditions, "DisruptionTarget")
            .filter(|c| c.status == "True")
            .map(Box::new);
        let statuses: Vec<_> = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten())
            .collect();
        let waiting_reason = |s: &&k8s_openapi::api::core::v1::ContainerStatus| {
            s.state
                .as_ref()
                .and_then(|state| state.waiting.as_ref())
                .and_then(|w| w.reason.clone())
        };
        let starting = (status.phase.as_deref() == Some("Pending")
            && spec.node_name.as_deref().is_some_and(|n| !n.is_empty()))
        .then(|| {
            if statuses.is_empty() {
                return Some("no container started");
            }
            // A running init container is progress, not a stuck pod.
            let running = statuses.iter().any(|s| {
                s.state
                    .as_ref()
                    .is_some_and(|state| state.running.is_some())
            });
            if running {
                return None;
            }
            statuses
                .iter()
                .filter_map(waiting_reason)
                .find_map(|reason| STARTING_REASONS.into_iter().find(|s| *s == reason))
        })
        .flatten();
        let mut requests = effective_requests(&spec.containers, spec.init_containers.as_deref());
        for (resource, quantity) in spec.overhead.clone().unwrap_or_default() {
            if let Some(milli) = parse_milli(&quantity.0) {
                *requests.entry(resource).or_default() += milli;
            }
        }
        let containers = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
            .map(|c| c.name.clone())
            .collect();
        let failing_containers = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten())
            .filter(|s| is_failing(s))
            .map(|s| s.name.clone())
            .collect();
        let placement = super::placement::Placement::shared(&spec);
        let requests = REQUESTS.with(|interner| interner.borrow_mut().share(requests));
        let namespace = metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let unwell = status
            .init_container_statuses
            .iter()
            .flatten()
            .map(|s| {
                (
                    true,
                    s,
                    spec.init_containers
                        .iter()
                        .flatten()
                        .find(|c| c.name == s.name),
                )
            })
            .chain(
                status
                    .container_statuses
                    .iter()
                    .flatten()
                    .map(|s| (false, s, spec.containers.iter().find(|c| c.name == s.name))),
            )
            .filter_map(|(init, s, c)| {
                super::container::ContainerFact::from_status(&namespace, &name, init, s, c)
            })
            .collect();
        let run = run_of(metadata.labels.as_ref(), metadata.annotations.as_ref());
        let claims = spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .map(|c| c.claim_name.clone())
            })
            .collect();
        let secret_refs = if run.is_some() {
            secret_refs(&spec)
        } else {
            Vec::new()
        };
        Some(PodFact {
            claims,
            secret_refs,
            pxdoctor_ignore: ignored_rules(metadata.annotations.as_ref()),
            selected_labels: selected_labels(metadata.labels.as_ref()),
            as_of: None,
            placement,
            unwell,
            ready,
            unready,
            disruption,
            starting,
            age_seconds: None,
            past_grace: false,
            node_problem: None,
            status_reason: status.reason.clone(),
            status_message: status.message.clone(),
            component: metadata
                .labels
                .as_ref()
                .and_then(|labels| labels.get("app.kubernetes.io/component").cloned()),
            containers,
            failing_containers,
            run: run.map(Arc::new),
            namespace: metadata.namespace.unwrap_or_else(|| "default".into()),
            name,
            phase: status.phase.unwrap_or_else(|| "Pending".into()),
            node_name: spec.node_name.filter(|node| !node.is_empty()),
            scheduler_name: spec
                .scheduler_name
                .unwrap_or_else(|| "default-scheduler".into()),
            created: metadata.creation_timestamp.map(|time| time.0),
            requests,
            scheduled,
            scheduling_gates: spec
                .scheduling_gates
                .unwrap_or_default()
                .into_iter()
                .map(|gate| gate.name)
                .collect(),
            has_scheduling_event: false,
            pending_seconds: None,
        })
    }

    /// Running with every container ready, or done without failure.
    pub fn is_healthy(&self) -> bool {
        self.phase == "Succeeded" || (self.phase == "Running" && self.ready != Some(false))
    }

    /// Pods that still hold their node's resources.
    pub fn is_active(&self) -> bool {
        self.phase != "Succeeded" && self.phase != "Failed"
    }

    pub fn is_unscheduled_pending(&self) -> bool {
        self.phase == "Pending" && self.node_name.is_none()
    }

    pub fn subject(&self) -> Subject {
        Subject {
            kind: "Pod".into(),
            namespace: Some(self.namespace.clone()),
            name: self.name.clone(),
            run: self.run.as_deref().cloned(),
        }
    }
}

/// The newest time the pod's status records (a condition's transition, a
/// container's start or finish): with its events expired, a snapshot still
/// knows when it was taken.
pub fn newest_status_time(pod: &Pod) -> Option<Timestamp> {
    let status = pod.status.as_ref()?;
    let conditions = status
        .conditions
        .iter()
        .flatten()
        .filter_map(|c| c.last_transition_time.as_ref().map(|t| t.0));
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .flat_map(|s| [s.state.as_ref(), s.last_state.as_ref()])
        .flatten()
        .flat_map(|state| {
            let running = state.running.as_ref().and_then(|r| r.started_at.as_ref());
            let terminated = state.terminated.as_ref();
            [
                running,
                terminated.and_then(|t| t.started_at.as_ref()),
                terminated.and_then(|t| t.finished_at.as_ref()),
            ]
        })
        .flatten()
        .map(|t| t.0);
    conditions.chain(containers).max()
}

/// A container whose log is worth reading: it failed, is failing, or
/// restarted.
fn is_failing(status: &k8s_openapi::api::core::v1::ContainerStatus) -> bool {
    let state = status.state.as_ref();
    let waiting = state
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.as_deref())
        .is_some_and(|reason| !matches!(reason, "ContainerCreating" | "PodInitializing"));
    let failed = state
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code != 0);
    waiting || failed || status.restart_count > 0
}

/// Requests as the scheduler counts them: a container without requests but
/// with limits requests its limits (the API server defaults it that way).
fn effective_requests(containers: &[Container], init: Option<&[Container]>) -> Resources {
    let mut total = Resources::new();
    for container in containers {
        for (resource, milli) in container_requests(container) {
            *total.entry(resource).or_default() += milli;
        }
    }
    for container in init.unwrap_or_default() {
        for (resource, milli) in container_requests(container) {
            let entry = total.entry(resource).or_default();
            *entry = (*entry).max(milli);
        }
    }
    total
}

fn container_requests(container: &Container) -> Resources {
    let mut out = BTreeMap::new();
    let Some(resources) = &container.resources else {
        return out;
    };
    for source in [&resources.limits, &resources.requests]
        .into_iter()
        .flatten()
    {
        for (resource, quantity) in source {
            if let Some(milli) = parse_milli(&quantity.0) {
                out.insert(resource.clone(), milli);
            }
        }
    }
    out
}

impl FieldSource for PodFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        let condition = self.scheduled.as_ref();
        match name {
            "namespace" => Some(text(&self.namespace)),
            "name" => Some(text(&self.name)),
            "phase" => Some(text(&self.phase)),
            "node" => self.node_name.as_deref().map(text),
            "scheduler_name" => Some(text(&self.scheduler_name)),
            "pending_seconds" => self.pending_seconds.map(|s| num(s as f64)),
            "pending_for" => self.pending_seconds.map(|s| text(human(s))),
            "scheduled_status" => condition.map(|c| text(&c.status)),
            "scheduled_reason" => condition.and_then(|c| c.reason.as_deref()).map(text),
            "scheduled_message" => condition.and_then(|c| c.message.as_deref()).map(text),
            "scheduling_gates" => {
                (!self.scheduling_gates.is_empty()).then(|| text(self.scheduling_gates.join(", ")))
            }
            "has_scheduling_event" => Some(Value::Bool(self.has_scheduling_event)),
            "is_run" => Some(Value::Bool(self.run.is_some())),
            "run_kind" => self.run.as_ref().and_then(|r| r.kind.as_deref()).map(text),
            "subject" => Some(text(self.subject().label())),
            "status_reason" => self.status_reason.as_deref().map(text),
            "status_message" => self.status_message.as_deref().map(text),
            "ready" => self.ready.map(Value::Bool),
            "ready_message" => self
                .unready
                .as_ref()
                .and_then(|c| c.message.as_deref().or(c.reason.as_deref()))
                .map(text),
            "healthy" => Some(Value::Bool(self.is_healthy())),
            "disruption_reason" => self
                .disruption
                .as_ref()
                .and_then(|c| c.reason.as_deref())
                .map(text),
            "disruption_message" => self
                .disruption
                .as_ref()
                .and_then(|c| c.message.as_deref())
                .map(text),
            "starting_state" => self.starting.map(text),
            "age_seconds" => self.age_seconds.map(|s| num(s as f64)),
            "age" => self.age_seconds.map(|s| text(human(s))),
            "past_grace" => Some(Value::Bool(self.past_grace)),
            "node_problem" => self.node_problem.as_deref().map(text),
            _ => None,
        }
    }
}

impl Fact for PodFact {
    fn subject(&self) -> Subject {
        PodFact::subject(self)
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut evidence = Evidence::new("Pod")
            .name(format!("{}/{}", self.namespace, self.name))
            .reason(self.phase.clone());
        let mut details = Vec::new();
        if self.scheduler_name != "default-scheduler" {
            details.push(format!("schedulerName: {}", self.scheduler_name));
        }
        if !self.scheduling_gates.is_empty() {
            details.push(format!(
                "schedulingGates: {}",
                self.scheduling_gates.join(", ")
            ));
        }
        if let Some(condition) = &self.scheduled {
            details.push(format!(
                "PodScheduled={} {}",
                condition.status,
                condition.reason.as_deref().unwrap_or("")
            ));
        }
        if let Some(reason) = &self.status_reason {
            details.push(format!(
                "status.reason {reason}: {}",
                self.status_message.as_deref().unwrap_or("")
            ));
        }
        if let Some(state) = &self.starting {
            details.push(format!("containers: {state}"));
        }
        if let Some(ready) = self.unready.as_ref()
            && self.phase == "Running"
        {
            details.push(format!(
                "Ready={} {}",
                ready.status,
                ready.message.as_deref().unwrap_or("")
            ));
        }
        if let Some(disruption) = &self.disruption {
            details.push(format!(
                "DisruptionTarget {}: {}",
                disruption.reason.as_deref().unwrap_or(""),
                disruption.message.as_deref().unwrap_or("")
            ));
        }
        if !details.is_empty() {
            let details: Vec<&str> = details.iter().map(|d| d.trim()).collect();
            evidence = evidence.message(details.join("; "));
        }
        vec![evidence]
    }
}

/// Label keys the ignore entries of `.pxdoctor.yaml` select on. Only these
/// labels are kept on pod facts, since memory at 100k pods matters; set
/// once by the app, before a source is read.
static SELECTED_LABEL_KEYS: std::sync::OnceLock<std::collections::BTreeSet<String>> =
    std::sync::OnceLock::new();

pub fn select_label_keys(keys: std::collections::BTreeSet<String>) {
    let _ = SELECTED_LABEL_KEYS.set(keys);
}

fn selected_labels(labels: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
    match (SELECTED_LABEL_KEYS.get(), labels) {
        (Some(keys), Some(labels)) if !keys.is_empty() => labels
            .iter()
            .filter(|(key, _)| keys.contains(*key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// `pxdoctor.io/ignore: "PXD-PEND-002, PXD-NODE-001"` → the rule ids.
fn ignored_rules(annotations: Option<&BTreeMap<String, String>>) -> Vec<String> {
    annotations
        .and_then(|all| all.get("pxdoctor.io/ignore"))
        .map(|ids| {
            ids.split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The Secrets a pod's containers (env, envFrom) and volumes name.
fn secret_refs(spec: &k8s_openapi::api::core::v1::PodSpec) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for container in spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
    {
        for from in container.env_from.iter().flatten() {
            names.extend(from.secret_ref.as_ref().map(|s| s.name.clone()));
        }
        for env in container.env.iter().flatten() {
            names.extend(
                env.value_from
                    .as_ref()
                    .and_then(|v| v.secret_key_ref.as_ref())
                    .map(|s| s.name.clone()),
            );
        }
    }
    for volume in spec.volumes.iter().flatten() {
        names.extend(volume.secret.as_ref().and_then(|s| s.secret_name.clone()));
    }
    names.into_iter().collect()
}
