//! The scheduler's verdict on a Pending pod, parsed into one fact per cause.
//!
//! A FailedScheduling message such as "0/4 nodes are available: 1 node(s) had
//! untolerated taint {dedicated: infer}, 3 Insufficient nvidia.com/gpu.
//! preemption: ..." holds several causes. They are split here, once, for every
//! wording generation (see docs/wording/scheduler.md), and enriched with what
//! the cluster says about each (the pod's request, the freest node, the nodes
//! that carry a taint), so that each rule explains one kind of cause.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use crate::facts::Fact;
use crate::facts::NodeFact;
use crate::facts::PodFact;
use crate::facts::shared::quantity::format_milli;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

/// One cause as the scheduler worded it, with the number of nodes it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub nodes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub total_nodes: Option<u64>,
    pub segments: Vec<Segment>,
}

static MODERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)^0/(\d+) nodes are available:?(.*)$").unwrap());
static PREDICATES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)(?:No nodes are available that match all of the (?:following )?predicates::?|fit failure summary on nodes\s*:)(.*)$").unwrap()
});
static COUNT_PREFIX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\d+) (.+)$").unwrap());
static COUNT_SUFFIX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(.+?) \((\d+)\)$").unwrap());
static TAINT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{([^:{}]+):\s*([^{}]*)\}").unwrap());
static INSUFFICIENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Insufficient (\S+)$").unwrap());

/// Whether a message is the scheduler's verdict on the nodes, in any
/// generation's wording (not just any text: [`parse`] takes any message as
/// one cause).
pub fn is_node_verdict(message: &str) -> bool {
    let message = message.trim();
    MODERN.is_match(message)
        || PREDICATES.is_match(message)
        || message.contains("nodes are available")
        || message.contains("unbound immediate PersistentVolumeClaims")
}

/// Splits a scheduler message into causes, whatever its generation.
pub fn parse(message: &str) -> Parsed {
    let message = message.trim();
    // The causes end at the first ". "; what follows is the preemption
    // tail (1.24+) or other post-filter text, which repeats the nodes from
    // another view.
    let causes = |body: &str| -> String {
        match body.find(". ") {
            Some(at) => body[..at].to_string(),
            None => body.to_string(),
        }
    };
    if let Some(captures) = MODERN.captures(message) {
        return Parsed {
            total_nodes: captures[1].parse().ok(),
            segments: split_segments(&causes(&captures[2]), false),
        };
    }
    if let Some(captures) = PREDICATES.captures(message) {
        return Parsed {
            total_nodes: None,
            segments: split_segments(&causes(&captures[1]), true),
        };
    }
    let head = match message.find(" preemption:") {
        Some(at) => &message[..at],
        None => message,
    };
    Parsed {
        total_nodes: None,
        segments: vec![Segment {
            text: head.trim().trim_end_matches('.').to_string(),
            nodes: None,
        }],
    }
}

fn split_segments(body: &str, counts_in_parentheses: bool) -> Vec<Segment> {
    let body = body.trim().trim_end_matches('.').trim();
    let mut pieces: Vec<String> = Vec::new();
    for piece in body.split(", ") {
        let piece = piece.trim();
        // "had taint {k: v}, that the pod didn't tolerate" has a comma of its own.
        match pieces.last_mut() {
            Some(previous) if piece.starts_with("that ") => {
                previous.push_str(", ");
                previous.push_str(piece);
            }
            _ if piece.is_empty() => {}
            _ => pieces.push(piece.to_string()),
        }
    }
    pieces
        .into_iter()
        .map(|piece| {
            let counted = if counts_in_parentheses {
                COUNT_SUFFIX
                    .captures(&piece)
                    .map(|c| (c[1].to_string(), c[2].parse().ok()))
            } else {
                COUNT_PREFIX
                    .captures(&piece)
                    .map(|c| (c[2].to_string(), c[1].parse().ok()))
            };
            match counted {
                Some((text, nodes)) => Segment { text, nodes },
                None => Segment {
                    text: piece,
                    nodes: None,
                },
            }
        })
        .collect()
}

/// Which node condition a taint or an old predicate message stands for.
fn condition_behind(segment: &str, taint_key: Option<&str>) -> Option<&'static str> {
    let by_taint = taint_key.and_then(|key| match key {
        "node.kubernetes.io/disk-pressure" => Some("DiskPressure"),
        "node.kubernetes.io/memory-pressure" => Some("MemoryPressure"),
        "node.kubernetes.io/pid-pressure" => Some("PIDPressure"),
        "node.kubernetes.io/not-ready" | "node.kubernetes.io/unreachable" => Some("NotReady"),
        "node.kubernetes.io/network-unavailable" => Some("NetworkUnavailable"),
        "node.kubernetes.io/out-of-disk" => Some("OutOfDisk"),
        _ => None,
    });
    by_taint.or_else(|| {
        let lower = segment.to_ascii_lowercase();
        [
            ("disk pressure", "DiskPressure"),
            ("nodeunderdiskpressure", "DiskPressure"),
            ("memory pressure", "MemoryPressure"),
            ("nodeundermemorypressure", "MemoryPressure"),
            ("pid pressure", "PIDPressure"),
            ("nodeunderpidpressure", "PIDPressure"),
            ("were not ready", "NotReady"),
            ("nodenotready", "NotReady"),
            ("unavailable network", "NetworkUnavailable"),
            ("nodenetworkunavailable", "NetworkUnavailable"),
            ("out of disk", "OutOfDisk"),
            ("nodeoutofdisk", "OutOfDisk"),
        ]
        .into_iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, condition)| condition)
    })
}

/// Where the scheduler's verdict was read.
#[derive(Debug, Clone)]
pub enum Verdict {
    Event(Evidence),
    Condition(Evidence),
    /// pxdoctor's own fit check, when the scheduler said nothing.
    Fit(Evidence),
}

/// One cause of one Pending pod.
#[derive(Debug, Clone)]
pub struct SchedulingFact {
    pub subject: Subject,
    pub pending_seconds: Option<i64>,
    /// The scheduler's whole message, shared by the pod's causes (at 5,000
    /// nodes it is long, and a Pending pod has half a dozen causes).
    pub message: Arc<str>,
    pub total_nodes: Option<u64>,
    pub segment: Segment,
    /// Shared by the pod's causes, as the message.
    pub verdict: Arc<Verdict>,
    pub resource: Option<String>,
    pub requested: Option<String>,
    pub max_free: Option<String>,
    pub max_free_node: Option<String>,
    pub max_allocatable: Option<String>,
    pub never_fits: bool,
    pub taint_key: Option<String>,
    pub taint: Option<String>,
    pub condition: Option<&'static str>,
    /// GPU-looking nodes that offer none of the requested GPU resource.
    pub plugin_missing_nodes: NodeNames,
    /// Nodes named in evidence: tainted, cordoned, or the freest.
    pub node_evidence: Vec<Evidence>,
    pub affected_nodes: NodeNames,
}

/// How many nodes, and the first few names: all a message shows of them
/// (see [`NodeNames::name_some`]). One fact per cause of every Pending pod would
/// otherwise hold thousands of node names each at 5,000 nodes.
#[derive(Debug, Clone, Default)]
pub struct NodeNames {
    shown: Vec<String>,
    count: usize,
}

impl NodeNames {
    pub fn push(&mut self, name: &str) {
        if self.shown.len() <= NAMES_SHOWN {
            self.shown.push(name.to_string());
        }
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// "a, b, c and 11 more": enough names to act on, short enough to
    /// read; every name when there are few.
    pub fn name_some(&self) -> String {
        if self.count <= NAMES_SHOWN + 1 {
            return self.shown.join(", ");
        }
        format!(
            "{} and {} more",
            self.shown[..NAMES_SHOWN].join(", "),
            self.count - NAMES_SHOWN
        )
    }
}

/// Names a message lists before "and N more".
const NAMES_SHOWN: usize = 3;
/// Nodes named in a fact's evidence; long lists help no one, the count is
/// in the explanation.
const EVIDENCE_NODES: usize = 5;

pub const FIELDS: &[FieldSpec] = &[
    field("subject", Text, "the run (or pod) as people name it"),
    field("namespace", Text, "the pod's namespace"),
    field("pod", Text, "the pod's name"),
    field(
        "pending_seconds",
        Number,
        "seconds since the pod was created",
    ),
    field("pending_for", Text, "pending_seconds for people: 42m, 3h5m"),
    field("message", Text, "the scheduler's whole message"),
    field("reason", Text, "one cause, without its node count"),
    field("nodes", Number, "how many nodes this cause rules out"),
    field("total_nodes", Number, "N of \"0/N nodes are available\""),
    field(
        "node_count",
        Text,
        "\"3 of 4 nodes\", \"1 node\", or \"some nodes\"",
    ),
    field("resource", Text, "for Insufficient X: the resource X"),
    field("requested", Text, "the pod's request of that resource"),
    field(
        "max_free",
        Text,
        "the most of that resource free on any node",
    ),
    field("max_free_node", Text, "the node with the most free"),
    field(
        "max_allocatable",
        Text,
        "the most of that resource any node offers",
    ),
    field(
        "never_fits",
        Bool,
        "the request exceeds every node's allocatable",
    ),
    field("taint_key", Text, "the key of the taint the cause names"),
    field(
        "taint",
        Text,
        "the taint as key=value:Effect, when a node carries it",
    ),
    field(
        "condition",
        Text,
        "the node condition behind a taint or predicate",
    ),
    field(
        "affected_nodes",
        Text,
        "nodes that carry the taint, or are cordoned",
    ),
    field(
        "source",
        Text,
        "event or condition: where the verdict was read",
    ),
    field(
        "gpu_nodes_without_plugin",
        Number,
        "GPU-labelled nodes that offer none of the GPU resource",
    ),
    field(
        "plugin_missing_nodes",
        Text,
        "those nodes: a, b, c and 4 more",
    ),
];

/// The nodes, with what the causes of every Pending pod ask of them per
/// resource (the freest node, the largest allocatable, GPU nodes without
/// the device plugin) worked out once per resource instead of once per
/// pod: the same scan of 5,000 nodes, repeated for 3,000 pods, was a
/// fifth of the time at large.
pub struct Nodes<'a> {
    pub nodes: &'a [NodeFact],
    by_resource: RefCell<HashMap<String, Rc<ResourceSummary>>>,
}

struct ResourceSummary {
    /// The most free node that is not cordoned; among equals the first
    /// by name.
    freest: Option<usize>,
    max_allocatable: Option<i64>,
    /// GPU-looking nodes with none of it (GPU resources only).
    plugin_missing: Vec<usize>,
}

impl<'a> Nodes<'a> {
    pub fn new(nodes: &'a [NodeFact]) -> Self {
        Nodes {
            nodes,
            by_resource: RefCell::new(HashMap::new()),
        }
    }

    fn summary(&self, resource: &str) -> Rc<ResourceSummary> {
        if let Some(summary) = self.by_resource.borrow().get(resource) {
            return summary.clone();
        }
        let nodes = self.nodes;
        let freest = nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| !node.unschedulable)
            .map(|(n, node)| (node.free(resource), n))
            .max_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| nodes[b.1].name.cmp(&nodes[a.1].name))
            })
            .map(|(_, n)| n);
        let allocatable = |node: &NodeFact| node.allocatable.get(resource).copied().unwrap_or(0);
        let plugin_missing = if is_gpu_resource(resource) {
            (0..nodes.len())
                .filter(|&n| looks_like_gpu_node(&nodes[n]) && allocatable(&nodes[n]) == 0)
                .collect()
        } else {
            Vec::new()
        };
        let summary = Rc::new(ResourceSummary {
            freest,
            max_allocatable: nodes.iter().map(allocatable).max(),
            plugin_missing,
        });
        self.by_resource
            .borrow_mut()
            .insert(resource.to_string(), summary.clone());
        summary
    }
}

impl SchedulingFact {
    /// One fact per cause of `message`, enriched from the pod and the nodes.
    pub fn from_verdict(
        pod: &PodFact,
        nodes: &Nodes,
        message: &str,
        verdict: Verdict,
    ) -> Vec<SchedulingFact> {
        let parsed = parse(message);
        let (message, verdict): (Arc<str>, _) = (Arc::from(message), Arc::new(verdict));
        parsed
            .segments
            .into_iter()
            .map(|segment| {
                let mut fact = SchedulingFact::bare(
                    pod.subject(),
                    message.clone(),
                    &parsed.total_nodes,
                    segment,
                    verdict.clone(),
                );
                fact.pending_seconds = pod.pending_seconds;
                fact.enrich(pod, nodes);
                fact
            })
            .collect()
    }

    fn bare(
        subject: Subject,
        message: Arc<str>,
        total_nodes: &Option<u64>,
        segment: Segment,
        verdict: Arc<Verdict>,
    ) -> SchedulingFact {
        let taint_key = TAINT
            .captures(&segment.text)
            .map(|c| c[1].trim().to_string());
        let resource = INSUFFICIENT
            .captures(&segment.text)
            .map(|c| c[1].to_string());
        SchedulingFact {
            subject,
            pending_seconds: None,
            message,
            total_nodes: *total_nodes,
            condition: condition_behind(&segment.text, taint_key.as_deref()),
            taint: TAINT.captures(&segment.text).map(|c| {
                let value = c[2].trim();
                if value.is_empty() {
                    c[1].trim().to_string()
                } else {
                    format!("{}={value}", c[1].trim())
                }
            }),
            segment,
            verdict,
            resource,
            requested: None,
            max_free: None,
            max_free_node: None,
            max_allocatable: None,
            never_fits: false,
            taint_key,
            plugin_missing_nodes: NodeNames::default(),
            node_evidence: Vec::new(),
            affected_nodes: NodeNames::default(),
        }
    }

    /// Facts for rule examples: only the message, as the scheduler wrote it.
    pub fn from_message(message: &str) -> Vec<SchedulingFact> {
        let subject = Subject {
            kind: "Pod".into(),
            namespace: Some("polyaxon".into()),
            name: "example".into(),
            run: None,
        };
        let parsed = parse(message);
        let verdict = Arc::new(Verdict::Event(Evidence::new("Event").message(message)));
        let message: Arc<str> = Arc::from(message);
        parsed
            .segments
            .into_iter()
            .map(|segment| {
                SchedulingFact::bare(
                    subject.clone(),
                    message.clone(),
                    &parsed.total_nodes,
                    segment,
                    verdict.clone(),
                )
            })
            .collect()
    }

    fn enrich(&mut self, pod: &PodFact, index: &Nodes) {
        let nodes = index.nodes;
        if let Some(resource) = self.resource.clone() {
            self.enrich_resource(pod, index, &resource);
        }
        // Since 1.35 the scheduler says "had untolerated taint(s)" without
        // the taint: the nodes name it, as the pod's tolerations judge them.
        if self.taint_key.is_none() && self.segment.text.contains("untolerated taint") {
            self.taint_key = nodes.iter().find_map(|node| {
                node.taints
                    .iter()
                    .find(|taint| {
                        matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
                            && !pod
                                .placement
                                .tolerates(&taint.key, &taint.value, &taint.effect)
                    })
                    .map(|taint| taint.key.clone())
            });
        }
        // Evidence beyond EVIDENCE_NODES is never built: this runs for
        // every cause of every Pending pod, over every node.
        if let Some(key) = self.taint_key.clone() {
            let carries = |node: &NodeFact| node.taints.iter().any(|taint| taint.key == key);
            if let Some(taint) = nodes
                .iter()
                .find_map(|node| node.taints.iter().find(|taint| taint.key == key))
            {
                self.taint = Some(taint.display());
            }
            for node in nodes.iter().filter(|node| carries(node)) {
                self.affected_nodes.push(&node.name);
                if self.node_evidence.len() >= EVIDENCE_NODES {
                    continue;
                }
                let mut evidence = Evidence::new("Node").name(node.name.clone());
                evidence = match self.condition.and_then(|c| node_condition(node, c)) {
                    Some(condition) => evidence
                        .reason(format!("{}={}", condition.type_, condition.status))
                        .message(condition.message.clone()),
                    None => evidence.message(format!(
                        "taint {}",
                        self.taint.clone().unwrap_or_else(|| key.clone())
                    )),
                };
                self.node_evidence.push(evidence);
            }
        } else if let Some(condition) = self.condition {
            for node in nodes {
                if let Some(c) = node_condition(node, condition).filter(|c| condition_is_bad(c)) {
                    self.affected_nodes.push(&node.name);
                    if self.node_evidence.len() < EVIDENCE_NODES {
                        self.node_evidence.push(
                            Evidence::new("Node")
                                .name(node.name.clone())
                                .reason(format!("{}={}", c.type_, c.status))
                                .message(c.message.clone()),
                        );
                    }
                }
            }
        }
        if self.segment.text.contains("unschedulable") || self.segment.text == "NodeUnschedulable" {
            // Nodes the loops above already counted: the taint's carriers,
            // or the nodes in the bad condition.
            let counted = |node: &NodeFact| match (&self.taint_key, self.condition) {
                (Some(key), _) => node.taints.iter().any(|taint| &taint.key == key),
                (None, Some(condition)) => {
                    node_condition(node, condition).is_some_and(condition_is_bad)
                }
                (None, None) => false,
            };
            let cordoned: Vec<&NodeFact> = nodes
                .iter()
                .filter(|node| node.unschedulable && !counted(node))
                .collect();
            for node in cordoned {
                self.affected_nodes.push(&node.name);
                if self.node_evidence.len() < EVIDENCE_NODES {
                    self.node_evidence.push(
                        Evidence::new("Node")
                            .name(node.name.clone())
                            .message("cordoned (spec.unschedulable: true)"),
                    );
                }
            }
        }
        self.node_evidence.truncate(EVIDENCE_NODES);
    }

    fn enrich_resource(&mut self, pod: &PodFact, index: &Nodes, resource: &str) {
        let nodes = index.nodes;
        let summary = index.summary(resource);
        let requested = pod.requests.get(resource).copied();
        self.requested = requested.map(|milli| format_milli(resource, milli));
        // When the freest node now has room, the scheduler's verdict is older
        // than the capacity it saw; naming that node would contradict it.
        let contradicts = |node: &NodeFact| requested.is_some_and(|r| node.free(resource) >= r);
        let freest = summary.freest.map(|n| &nodes[n]);
        if let Some(node) = freest.filter(|node| !contradicts(node)) {
            self.max_free = Some(format_milli(resource, node.free(resource).max(0)));
            self.max_free_node = Some(node.name.clone());
            self.node_evidence.push(
                Evidence::new("Node")
                    .name(node.name.clone())
                    .message(format!("most free: {}", node.describe_capacity(resource))),
            );
        }
        if let Some(max) = summary.max_allocatable {
            self.max_allocatable = Some(format_milli(resource, max));
            self.never_fits = requested.is_some_and(|request| request > max);
        }
        for &n in &summary.plugin_missing {
            let node = &nodes[n];
            self.plugin_missing_nodes.push(&node.name);
            if self.node_evidence.len() < EVIDENCE_NODES {
                self.node_evidence
                    .push(
                        Evidence::new("Node")
                            .name(node.name.clone())
                            .message(format!(
                                "GPU node by its labels, but 0 {resource} allocatable"
                            )),
                    );
            }
        }
    }

    fn node_count(&self) -> String {
        let plural = |n: u64| if n == 1 { "node" } else { "nodes" };
        match (self.segment.nodes, self.total_nodes) {
            (Some(n), Some(total)) => format!("{n} of {total} {}", plural(total)),
            (Some(n), None) => format!("{n} {}", plural(n)),
            (None, Some(total)) => format!("all {total} {}", plural(total)),
            (None, None) => "the nodes".to_string(),
        }
    }
}

fn is_gpu_resource(resource: &str) -> bool {
    resource.ends_with("/gpu")
        || resource.starts_with("nvidia.com/")
        || resource.starts_with("gpu.intel.com/")
}

/// A node its provider or Node Feature Discovery labels as having GPUs
/// (Polyaxon issue #605: such nodes without a device plugin advertise none).
fn looks_like_gpu_node(node: &NodeFact) -> bool {
    static GPU_INSTANCE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(p2|p3|p3dn|p4d|p4de|p5|p5e|g3|g3s|g4dn|g4ad|g5|g5g|g6|g6e|gr6)\.|^(a2|a3|g2)-|^Standard_N[CDV]").unwrap()
    });
    let labels = &node.labels;
    let flag = |key: &str| labels.get(key).is_some_and(|v| v == "true");
    flag("nvidia.com/gpu.present")
        || flag("feature.node.kubernetes.io/pci-10de.present")
        || flag("amd.com/gpu.present")
        || labels.contains_key("nvidia.com/gpu.product")
        || labels.contains_key("cloud.google.com/gke-accelerator")
        || labels.contains_key("k8s.amazonaws.com/accelerator")
        || [
            "node.kubernetes.io/instance-type",
            "beta.kubernetes.io/instance-type",
        ]
        .iter()
        .any(|key| labels.get(*key).is_some_and(|t| GPU_INSTANCE.is_match(t)))
}

/// The node's condition behind a label: NotReady is the Ready condition.
fn node_condition<'a>(
    node: &'a NodeFact,
    label: &str,
) -> Option<&'a crate::facts::NodeConditionFact> {
    let type_ = if label == "NotReady" { "Ready" } else { label };
    node.conditions.iter().find(|c| c.type_ == type_)
}

fn condition_is_bad(condition: &crate::facts::NodeConditionFact) -> bool {
    if condition.type_ == "Ready" {
        condition.status != "True"
    } else {
        condition.status == "True"
    }
}

impl FieldSource for SchedulingFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "subject" => Some(text(self.subject.label())),
            "namespace" => self.subject.namespace.as_deref().map(text),
            "pod" => Some(text(&self.subject.name)),
            "pending_seconds" => self.pending_seconds.map(|s| num(s as f64)),
            "pending_for" => Some(text(crate::facts::shared::duration::pending_for(
                self.pending_seconds,
            ))),
            "message" => Some(text(&*self.message)),
            "reason" => Some(text(&self.segment.text)),
            "nodes" => self.segment.nodes.map(|n| num(n as f64)),
            "total_nodes" => self.total_nodes.map(|n| num(n as f64)),
            "node_count" => Some(text(self.node_count())),
            "resource" => self.resource.as_deref().map(text),
            "requested" => self.requested.as_deref().map(text),
            "max_free" => self.max_free.as_deref().map(text),
            "max_free_node" => self.max_free_node.as_deref().map(text),
            "max_allocatable" => self.max_allocatable.as_deref().map(text),
            "never_fits" => Some(Value::Bool(self.never_fits)),
            "taint_key" => self.taint_key.as_deref().map(text),
            "taint" => self.taint.as_deref().map(text),
            "condition" => self.condition.map(text),
            "gpu_nodes_without_plugin" => (!self.plugin_missing_nodes.is_empty())
                .then(|| num(self.plugin_missing_nodes.len() as f64)),
            "plugin_missing_nodes" => (!self.plugin_missing_nodes.is_empty())
                .then(|| text(self.plugin_missing_nodes.name_some())),
            "affected_nodes" => {
                (!self.affected_nodes.is_empty()).then(|| text(self.affected_nodes.name_some()))
            }
            "source" => Some(text(match *self.verdict {
                Verdict::Event(_) => "event",
                Verdict::Condition(_) => "condition",
                Verdict::Fit(_) => "fit",
            })),
            _ => None,
        }
    }
}

impl Fact for SchedulingFact {
    fn subject(&self) -> Subject {
        self.subject.clone()
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut evidence = vec![match &*self.verdict {
            Verdict::Event(event) | Verdict::Condition(event) | Verdict::Fit(event) => {
                event.clone()
            }
        }];
        evidence.extend(self.node_evidence.iter().cloned());
        evidence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(message: &str) -> Vec<(String, Option<u64>)> {
        parse(message)
            .segments
            .into_iter()
            .map(|s| (s.text, s.nodes))
            .collect()
    }

    #[test]
    fn modern_message_with_preemption_tail() {
        let parsed = parse(
            "0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 4 Insufficient cpu. preemption: 0/5 nodes are available: 1 Preemption is not helpful for scheduling, 4 No preemption victims found for incoming pod.",
        );
        assert_eq!(parsed.total_nodes, Some(5));
        assert_eq!(
            parsed.segments,
            vec![
                Segment {
                    text: "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
                        .into(),
                    nodes: Some(1)
                },
                Segment {
                    text: "Insufficient cpu".into(),
                    nodes: Some(4)
                },
            ]
        );
    }

    #[test]
    fn taint_with_its_own_comma_stays_one_segment() {
        assert_eq!(
            segments("0/3 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate, 2 Insufficient memory."),
            vec![
                ("node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate".into(), Some(1)),
                ("Insufficient memory".into(), Some(2)),
            ]
        );
    }

    #[test]
    fn uncounted_segment_of_newer_schedulers() {
        let parsed = parse(
            "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..",
        );
        assert_eq!(parsed.total_nodes, Some(1));
        assert_eq!(
            parsed.segments,
            vec![Segment {
                text: "pod has unbound immediate PersistentVolumeClaims".into(),
                nodes: None
            }]
        );
    }

    #[test]
    fn predicate_generation_counts_in_parentheses() {
        assert_eq!(
            segments(
                "No nodes are available that match all of the following predicates:: Insufficient cpu (9), MatchNodeSelector (18)."
            ),
            vec![
                ("Insufficient cpu".into(), Some(9)),
                ("MatchNodeSelector".into(), Some(18))
            ]
        );
        assert_eq!(
            segments(
                "pod (train-1) failed to fit in any node\nfit failure summary on nodes : Insufficient cpu (2), PodToleratesNodeTaints (1)"
            ),
            vec![
                ("Insufficient cpu".into(), Some(2)),
                ("PodToleratesNodeTaints".into(), Some(1))
            ]
        );
    }

    #[test]
    fn anything_else_is_one_uncounted_segment() {
        assert_eq!(
            segments("persistentvolumeclaim \"data\" not found"),
            vec![("persistentvolumeclaim \"data\" not found".into(), None)]
        );
    }

    #[test]
    fn taint_and_resource_are_read_from_the_segment() {
        let facts = SchedulingFact::from_message(
            "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: infer}, 3 Insufficient nvidia.com/gpu.",
        );
        assert_eq!(facts[0].taint_key.as_deref(), Some("dedicated"));
        assert_eq!(facts[0].taint.as_deref(), Some("dedicated=infer"));
        assert_eq!(facts[1].resource.as_deref(), Some("nvidia.com/gpu"));
        assert_eq!(facts[1].field("node_count"), Some(text("3 of 4 nodes")));
    }

    #[test]
    fn condition_taints_point_at_the_condition() {
        let facts = SchedulingFact::from_message(
            "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }.",
        );
        assert_eq!(facts[0].condition, Some("DiskPressure"));
        let old =
            SchedulingFact::from_message("0/2 nodes are available: 2 node(s) had disk pressure.");
        assert_eq!(old[0].condition, Some("DiskPressure"));
        let gone = SchedulingFact::from_message(
            "0/12 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.",
        );
        assert_eq!(gone[0].condition, Some("NotReady"));
    }

    #[test]
    fn long_node_lists_are_shortened() {
        let mut names = NodeNames::default();
        for i in 1..=6 {
            names.push(&format!("n{i}"));
            if i == 4 {
                assert_eq!(names.name_some(), "n1, n2, n3, n4");
            }
        }
        assert_eq!(names.name_some(), "n1, n2, n3 and 3 more");
        assert_eq!(names.len(), 6);
    }
}
