//! pxdoctor's own scheduling check: which nodes could take a Pending pod,
//! and why each other node cannot, as kube-scheduler's filters decide it
//! (NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit, in
//! that order, the first failing filter naming the node's reason).
//!
//! It explains a Pending pod when the scheduler's own verdict is missing
//! (events expire after an hour, a scheduler may be down) and names the
//! nearest node either way. Its verdict is written in the scheduler's modern
//! wording, so the same rules explain it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;

use super::node::NodeFact;
use super::pod::PodFact;
use super::quantity::format_milli;

#[derive(Debug, Clone, Default)]
pub struct Toleration {
    pub key: String,
    pub operator: String,
    pub value: String,
    pub effect: String,
}

#[derive(Debug, Clone)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// Where a pod may go: what it tolerates and what it requires of a node.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub tolerations: Vec<Toleration>,
    pub node_selector: BTreeMap<String, String>,
    /// requiredDuringSchedulingIgnoredDuringExecution: any term may match,
    /// every requirement of a term must.
    pub required_terms: Vec<Vec<Requirement>>,
}

impl Placement {
    pub fn from_spec(spec: &PodSpec) -> Placement {
        let tolerations = spec
            .tolerations
            .iter()
            .flatten()
            .map(|t| Toleration {
                key: t.key.clone().unwrap_or_default(),
                operator: t.operator.clone().unwrap_or_else(|| "Equal".into()),
                value: t.value.clone().unwrap_or_default(),
                effect: t.effect.clone().unwrap_or_default(),
            })
            .collect();
        let required_terms = spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .map(|selector| {
                selector
                    .node_selector_terms
                    .iter()
                    .map(|term| {
                        term.match_expressions
                            .iter()
                            .flatten()
                            .map(|e| Requirement {
                                key: e.key.clone(),
                                operator: e.operator.clone(),
                                values: e.values.clone().unwrap_or_default(),
                            })
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Placement {
            tolerations,
            node_selector: spec.node_selector.clone().unwrap_or_default(),
            required_terms,
        }
    }

    fn tolerates(&self, key: &str, value: &str, effect: &str) -> bool {
        self.tolerations.iter().any(|t| {
            let key_matches = (t.key.is_empty() && t.operator == "Exists") || t.key == key;
            let value_matches = t.operator == "Exists" || t.value == value;
            let effect_matches = t.effect.is_empty() || t.effect == effect;
            key_matches && value_matches && effect_matches
        })
    }

    fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        let selector = self
            .node_selector
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v));
        let affinity = self.required_terms.is_empty()
            || self
                .required_terms
                .iter()
                .any(|term| term.iter().all(|r| requirement_holds(r, labels)));
        selector && affinity
    }
}

fn requirement_holds(requirement: &Requirement, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&requirement.key);
    match requirement.operator.as_str() {
        "In" => value.is_some_and(|v| requirement.values.contains(v)),
        "NotIn" => value.is_none_or(|v| !requirement.values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(limit)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                requirement
                    .values
                    .first()
                    .and_then(|l| l.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if requirement.operator == "Gt" {
                v > limit
            } else {
                v < limit
            }
        }
        _ => false,
    }
}

/// Why one node cannot take the pod: the first failing filter's reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Misfit {
    Cordoned,
    /// NotReady, DiskPressure, MemoryPressure, PIDPressure without the
    /// taint newer clusters add for it (older clusters filtered on the
    /// condition itself).
    Condition(String),
    Taint {
        key: String,
        value: String,
        effect: String,
    },
    Selector,
    /// Every resource the node lacks, with how much is missing.
    Insufficient(Vec<(String, i64)>),
}

impl Misfit {
    /// The scheduler's modern wording for this reason.
    fn scheduler_words(&self) -> Vec<String> {
        match self {
            Misfit::Cordoned => vec!["node(s) were unschedulable".into()],
            Misfit::Condition(label) => vec![match label.as_str() {
                "NotReady" => "node(s) were not ready".into(),
                "DiskPressure" => "node(s) had disk pressure".into(),
                "MemoryPressure" => "node(s) had memory pressure".into(),
                _ => "node(s) had pid pressure".into(),
            }],
            Misfit::Taint { key, value, .. } => {
                vec![format!("node(s) had untolerated taint {{{key}: {value}}}")]
            }
            Misfit::Selector => vec!["node(s) didn't match Pod's node affinity/selector".into()],
            Misfit::Insufficient(resources) => resources
                .iter()
                .map(|(resource, _)| {
                    if resource == "pods" {
                        "Too many pods".to_string()
                    } else {
                        format!("Insufficient {resource}")
                    }
                })
                .collect(),
        }
    }

    /// How close the node is: cordons and taints are further than a
    /// selector, and that further than missing capacity.
    fn distance(&self) -> (u8, usize, i64) {
        match self {
            Misfit::Cordoned | Misfit::Condition(_) => (3, 0, 0),
            Misfit::Taint { .. } => (2, 0, 0),
            Misfit::Selector => (2, 0, 0),
            Misfit::Insufficient(missing) => {
                (1, missing.len(), missing.iter().map(|(_, m)| m).sum())
            }
        }
    }

    /// What the node lacks, for people.
    pub fn describe(&self) -> String {
        match self {
            Misfit::Cordoned => "it is cordoned".into(),
            Misfit::Condition(label) => format!("health: it reports {label}"),
            Misfit::Taint { key, value, effect } => {
                let taint = if value.is_empty() {
                    key.clone()
                } else {
                    format!("{key}={value}")
                };
                format!("a toleration for its taint {taint}:{effect}")
            }
            Misfit::Selector => "the labels the run's node selector or affinity asks for".into(),
            Misfit::Insufficient(missing) => missing
                .iter()
                .map(|(resource, milli)| format!("{} {resource}", format_milli(resource, *milli)))
                .collect::<Vec<_>>()
                .join(" and "),
        }
    }
}

/// A node condition that keeps pods off the node and that no taint stands
/// for (older clusters filtered on the condition itself). It depends on the
/// node only, so it is worked out once per node, not per pod and node.
pub fn unhealthy(node: &NodeFact) -> Option<String> {
    let tainted = |key: &str| node.taints.iter().any(|t| t.key == key);
    node.conditions.iter().find_map(|condition| {
        let label = match (condition.type_.as_str(), condition.status.as_str()) {
            ("Ready", "False" | "Unknown")
                if !tainted("node.kubernetes.io/not-ready")
                    && !tainted("node.kubernetes.io/unreachable") =>
            {
                "NotReady"
            }
            ("DiskPressure", "True") if !tainted("node.kubernetes.io/disk-pressure") => {
                "DiskPressure"
            }
            ("MemoryPressure", "True") if !tainted("node.kubernetes.io/memory-pressure") => {
                "MemoryPressure"
            }
            ("PIDPressure", "True") if !tainted("node.kubernetes.io/pid-pressure") => "PIDPressure",
            _ => return None,
        };
        Some(label.to_string())
    })
}

/// The first reason `node` cannot take `pod`, or None when it can.
pub fn misfit(pod: &PodFact, node: &NodeFact) -> Option<Misfit> {
    if node.unschedulable {
        return Some(Misfit::Cordoned);
    }
    let placement = &pod.placement;
    if let Some(label) = &node.unhealthy {
        return Some(Misfit::Condition(label.clone()));
    }
    let untolerated = node.taints.iter().find(|taint| {
        matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
            && !placement.tolerates(&taint.key, &taint.value, &taint.effect)
    });
    if let Some(taint) = untolerated {
        return Some(Misfit::Taint {
            key: taint.key.clone(),
            value: taint.value.clone(),
            effect: taint.effect.clone(),
        });
    }
    if !placement.selects(&node.labels) {
        return Some(Misfit::Selector);
    }
    let mut missing = Vec::new();
    for (resource, need) in pod
        .requests
        .iter()
        .chain(std::iter::once((&"pods".to_string(), &1000)))
    {
        let free = node.free(resource);
        if *need > 0 && free < *need {
            missing.push((resource.clone(), need - free.max(0)));
        }
    }
    (!missing.is_empty()).then_some(Misfit::Insufficient(missing))
}

/// The fit of one pod against every node.
#[derive(Debug, Clone)]
pub struct Fit {
    pub nodes: usize,
    /// Nodes that could take the pod now.
    pub fitting: Vec<String>,
    /// The closest node that cannot, and what it lacks.
    pub nearest: Option<(String, Misfit)>,
    /// The verdict in the scheduler's wording: "0/4 nodes are available: ...".
    pub message: String,
    /// Per reason, how many nodes: "3 nodes: Insufficient nvidia.com/gpu".
    pub groups: Vec<(String, usize)>,
}

pub fn fit(pod: &PodFact, nodes: &[NodeFact]) -> Fit {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut fitting = Vec::new();
    let mut nearest: Option<(&NodeFact, Misfit)> = None;
    for node in nodes {
        match misfit(pod, node) {
            None => fitting.push(node.name.clone()),
            Some(reason) => {
                for words in reason.scheduler_words() {
                    *counts.entry(words).or_default() += 1;
                }
                let closer = nearest.as_ref().is_none_or(|(best, best_reason)| {
                    (reason.distance(), node.name.as_str())
                        < (best_reason.distance(), best.name.as_str())
                });
                if closer {
                    nearest = Some((node, reason));
                }
            }
        }
    }
    // The scheduler's order: "<count> <reason>" sorted as strings.
    let mut histogram: Vec<String> = counts
        .iter()
        .map(|(reason, n)| format!("{n} {reason}"))
        .collect();
    histogram.sort();
    let message = format!(
        "0/{} nodes are available: {}.",
        nodes.len(),
        histogram.join(", ")
    );
    let mut groups: Vec<(String, usize)> = counts.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Fit {
        nodes: nodes.len(),
        fitting,
        nearest: nearest.map(|(node, reason)| (node.name.clone(), reason)),
        message,
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::node::Taint;

    fn node(name: &str, gpu: i64, used: i64) -> NodeFact {
        NodeFact {
            name: name.into(),
            unschedulable: false,
            taints: Vec::new(),
            labels: BTreeMap::new(),
            allocatable: BTreeMap::from([
                ("cpu".into(), 32_000),
                ("nvidia.com/gpu".into(), gpu * 1000),
                ("pods".into(), 110_000),
            ]),
            requested: BTreeMap::from([("nvidia.com/gpu".into(), used * 1000)]),
            conditions: Vec::new(),
            unhealthy: None,
        }
    }

    fn pod(gpus: i64) -> PodFact {
        PodFact {
            name: "train".into(),
            phase: "Pending".into(),
            requests: BTreeMap::from([
                ("cpu".into(), 4000),
                ("nvidia.com/gpu".into(), gpus * 1000),
            ]),
            ..PodFact::default()
        }
    }

    #[test]
    fn the_verdict_reads_like_the_scheduler_and_names_the_nearest_node() {
        let mut infer = node("infer-1", 0, 0);
        infer.taints.push(Taint {
            key: "dedicated".into(),
            value: "infer".into(),
            effect: "NoSchedule".into(),
        });
        let nodes = vec![node("gpu-1", 8, 8), node("gpu-2", 8, 6), infer];
        let fit = fit(&pod(4), &nodes);
        assert_eq!(
            fit.message,
            "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: infer}, 2 Insufficient nvidia.com/gpu."
        );
        assert!(fit.fitting.is_empty());
        let (name, reason) = fit.nearest.unwrap();
        assert_eq!(name, "gpu-2", "2 GPUs free: the closest");
        assert_eq!(reason.describe(), "2 nvidia.com/gpu");
    }

    #[test]
    fn tolerations_selectors_and_affinity_decide_like_the_scheduler() {
        let mut tainted = node("infer-1", 8, 0);
        tainted.taints.push(Taint {
            key: "dedicated".into(),
            value: "infer".into(),
            effect: "NoSchedule".into(),
        });
        tainted.labels.insert("pool".into(), "infer".into());
        let mut run = pod(1);
        assert!(matches!(misfit(&run, &tainted), Some(Misfit::Taint { .. })));
        run.placement.tolerations.push(Toleration {
            key: "dedicated".into(),
            operator: "Equal".into(),
            value: "infer".into(),
            effect: "NoSchedule".into(),
        });
        assert_eq!(misfit(&run, &tainted), None);
        run.placement
            .node_selector
            .insert("pool".into(), "train".into());
        assert_eq!(misfit(&run, &tainted), Some(Misfit::Selector));
        run.placement.node_selector.clear();
        run.placement.required_terms = vec![vec![Requirement {
            key: "pool".into(),
            operator: "In".into(),
            values: vec!["infer".into(), "train".into()],
        }]];
        assert_eq!(misfit(&run, &tainted), None);
        tainted.unschedulable = true;
        assert_eq!(misfit(&run, &tainted), Some(Misfit::Cordoned));
    }
}
