//! pxdoctor's own scheduling check: which nodes could take a Pending pod,
//! and why each other node cannot, as kube-scheduler's filters decide it
//! (NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit, in
//! that order, the first failing filter naming the node's reason).
//!
//! It explains a Pending pod when the scheduler's own verdict is missing
//! (events expire after an hour, a scheduler may be down) and names the
//! nearest node either way. Its verdict is written in the scheduler's modern
//! wording, so the same rules explain it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::node::{NodeFact, Taint};
use crate::facts::shared::quantity::format_milli;
use crate::facts::workloads::placement::Placement;
use crate::facts::workloads::pod::PodFact;

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
    if let Some(reason) = ruled_out(&pod.placement, node) {
        return reason.filtered();
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
    /// Nodes that could take the pod now, as positions in `names`.
    fitting: Vec<u32>,
    /// Every node's name, shared by the fits of all pods.
    names: Arc<[String]>,
    /// The closest node that cannot, and what it lacks.
    pub nearest: Option<(String, Misfit)>,
    /// The verdict in the scheduler's wording: "0/4 nodes are available: ...".
    pub message: String,
    /// Per reason, how many nodes: "3 nodes: Insufficient nvidia.com/gpu".
    pub groups: Vec<(String, usize)>,
}

impl Fit {
    /// Nodes that could take the pod now, in the nodes' order.
    pub fn fitting(&self) -> impl Iterator<Item = &str> {
        self.fitting
            .iter()
            .map(|&n| self.names[n as usize].as_str())
    }

    pub fn fitting_count(&self) -> usize {
        self.fitting.len()
    }
}

/// The nodes, prepared once for the fit checks of every Pending pod.
///
/// Checking 3,000 Pending pods against 5,000 nodes one pair at a time is
/// 15M checks. Most nodes are alike for the filters before capacity
/// (cordon, health, taints, the labels some pod's selector or affinity
/// reads), so those filters run once per pod and group of alike nodes;
/// capacity is compared per node, as integers by resource position.
pub struct NodeTable<'a> {
    nodes: &'a [NodeFact],
    names: Arc<[String]>,
    /// Resource names; a node's free amounts are in this order.
    resources: Vec<String>,
    /// nodes × resources, row by row: allocatable minus requested.
    free: Vec<i64>,
    /// Each node's position when the nodes are sorted by name: ties
    /// between equally near nodes go to the first name.
    rank: Vec<u32>,
    groups: Vec<Group>,
}

/// Nodes the filters before capacity cannot tell apart.
struct Group {
    /// Its first node, whose traits stand for all of them.
    first: usize,
    members: Vec<u32>,
    /// The member whose name sorts first.
    by_name: usize,
}

impl<'a> NodeTable<'a> {
    /// `pods`: the pods that will be checked; only the node labels their
    /// selectors and affinities read tell nodes apart.
    pub fn new<'p>(nodes: &'a [NodeFact], pods: impl Iterator<Item = &'p PodFact>) -> Self {
        let mut label_keys: BTreeSet<&str> = BTreeSet::new();
        for pod in pods {
            let placement = &pod.placement;
            label_keys.extend(placement.node_selector.keys().map(String::as_str));
            for term in &placement.required_terms {
                label_keys.extend(term.iter().map(|r| r.key.as_str()));
            }
        }
        let resources: Vec<String> = nodes
            .iter()
            .flat_map(|node| node.allocatable.keys().chain(node.requested.keys()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        let free = nodes
            .iter()
            .flat_map(|node| resources.iter().map(|resource| node.free(resource)))
            .collect();
        let mut by_name: Vec<usize> = (0..nodes.len()).collect();
        by_name.sort_by(|&a, &b| nodes[a].name.cmp(&nodes[b].name));
        let mut rank = vec![0u32; nodes.len()];
        for (r, &n) in by_name.iter().enumerate() {
            rank[n] = r as u32;
        }
        type Signature<'n> = (bool, Option<&'n str>, &'n [Taint], Vec<Option<&'n String>>);
        let mut index: HashMap<Signature, usize> = HashMap::new();
        let mut groups: Vec<Group> = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let signature = (
                node.unschedulable,
                node.unhealthy.as_deref(),
                node.taints.as_slice(),
                label_keys.iter().map(|key| node.labels.get(*key)).collect(),
            );
            let g = *index.entry(signature).or_insert_with(|| {
                groups.push(Group {
                    first: n,
                    members: Vec::new(),
                    by_name: n,
                });
                groups.len() - 1
            });
            let group = &mut groups[g];
            group.members.push(n as u32);
            if rank[n] < rank[group.by_name] {
                group.by_name = n;
            }
        }
        NodeTable {
            nodes,
            names: nodes.iter().map(|node| node.name.clone()).collect(),
            resources,
            free,
            rank,
            groups,
        }
    }
}

/// The first filter before capacity that rules the node out, without
/// building the reason's text.
fn ruled_out<'n>(placement: &Placement, node: &'n NodeFact) -> Option<Reason<'n>> {
    if node.unschedulable {
        return Some(Reason::Cordoned);
    }
    if let Some(label) = &node.unhealthy {
        return Some(Reason::Condition(label));
    }
    let untolerated = node.taints.iter().find(|taint| {
        matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
            && !placement.tolerates(&taint.key, &taint.value, &taint.effect)
    });
    if let Some(taint) = untolerated {
        return Some(Reason::Taint(taint));
    }
    if !placement.selects(&node.labels) {
        return Some(Reason::Selector);
    }
    None
}

/// A reason counted by key; worded once per pod, at the end.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reason<'n> {
    Cordoned,
    Condition(&'n str),
    Taint(&'n super::node::Taint),
    Selector,
    /// The pod's n-th resource request.
    Insufficient(usize),
}

impl Reason<'_> {
    /// The reason as a [`Misfit`], for the filters before capacity (the
    /// capacity reason needs the pod's requests to be told).
    fn filtered(self) -> Option<Misfit> {
        Some(match self {
            Reason::Cordoned => Misfit::Cordoned,
            Reason::Condition(label) => Misfit::Condition(label.to_string()),
            Reason::Taint(taint) => Misfit::Taint {
                key: taint.key.clone(),
                value: taint.value.clone(),
                effect: taint.effect.clone(),
            },
            Reason::Selector => Misfit::Selector,
            Reason::Insufficient(_) => return None,
        })
    }
}

/// The taint kubeadm puts on control-plane nodes (`master` before 1.24).
fn is_control_plane(key: &str) -> bool {
    matches!(
        key,
        "node-role.kubernetes.io/control-plane" | "node-role.kubernetes.io/master"
    )
}

pub fn fit<'n>(pod: &PodFact, table: &NodeTable<'n>) -> Fit {
    // The pod's requests as (resource, position in the table, amount), in
    // the order `misfit` checks them.
    let pods = "pods".to_string();
    let requests: Vec<(&String, Option<usize>, i64)> = pod
        .requests
        .iter()
        .chain(std::iter::once((&pods, &1000)))
        .map(|(resource, need)| {
            let position = table.resources.binary_search(resource).ok();
            (resource, position, *need)
        })
        .collect();
    let width = table.resources.len();
    let mut counts: Vec<(Reason<'n>, usize)> = Vec::new();
    let mut count =
        |reason: Reason<'n>, n: usize| match counts.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, total)) => *total += n,
            None => counts.push((reason, n)),
        };
    let mut fitting = Vec::new();
    // The nearest node by (distance, name rank), as `Misfit::distance` ranks.
    let mut nearest: Option<((u8, usize, i64), u32, usize)> = None;
    let mut consider = |distance: (u8, usize, i64), rank: u32, n: usize| {
        if nearest
            .as_ref()
            .is_none_or(|(d, r, _)| (distance, rank) < (*d, *r))
        {
            nearest = Some((distance, rank, n));
        }
    };
    for group in &table.groups {
        let first: &'n NodeFact = &table.nodes[group.first];
        if let Some(reason) = ruled_out(&pod.placement, first) {
            count(reason, group.members.len());
            // How close a node is: cordons and bad conditions are further
            // than taints and selectors, and those further than missing
            // capacity (then by how many resources, then how much).
            let distance = match reason {
                // Never the smallest fix: runs do not belong on the nodes
                // that run Kubernetes itself (PXD-PEND-022).
                Reason::Taint(taint) if is_control_plane(&taint.key) => {
                    continue;
                }
                Reason::Cordoned | Reason::Condition(_) => (3, 0, 0),
                _ => (2, 0, 0),
            };
            consider(distance, table.rank[group.by_name], group.by_name);
            continue;
        }
        for &m in &group.members {
            let n = m as usize;
            let free = &table.free[n * width..(n + 1) * width];
            let (mut missing, mut short) = (0usize, 0i64);
            for (i, &(_, position, need)) in requests.iter().enumerate() {
                let available = position.map_or(0, |p| free[p]);
                if need > 0 && available < need {
                    missing += 1;
                    short += need - available.max(0);
                    count(Reason::Insufficient(i), 1);
                }
            }
            if missing == 0 {
                fitting.push(m);
            } else {
                consider((1, missing, short), table.rank[n], n);
            }
        }
    }
    fitting.sort_unstable();
    // The scheduler's words per reason; distinct reasons may share words.
    let mut words: BTreeMap<String, usize> = BTreeMap::new();
    for (reason, n) in counts {
        let text = match reason {
            Reason::Insufficient(i) => {
                Misfit::Insufficient(vec![(requests[i].0.clone(), 0)]).scheduler_words()
            }
            filtered => filtered
                .filtered()
                .map(|misfit| misfit.scheduler_words())
                .unwrap_or_default(),
        };
        for text in text {
            *words.entry(text).or_default() += n;
        }
    }
    let nodes = table.nodes.len();
    // The scheduler's order: "<count> <reason>" sorted as strings.
    let mut histogram: Vec<String> = words
        .iter()
        .map(|(reason, n)| format!("{n} {reason}"))
        .collect();
    histogram.sort();
    let message = format!("0/{nodes} nodes are available: {}.", histogram.join(", "));
    let mut groups: Vec<(String, usize)> = words.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let nearest = nearest.and_then(|(_, _, n)| {
        let node = &table.nodes[n];
        misfit(pod, node).map(|reason| (node.name.clone(), reason))
    });
    Fit {
        nodes,
        fitting,
        names: table.names.clone(),
        nearest,
        message,
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::workloads::placement::{Requirement, Toleration};

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
            heartbeat: None,
        }
    }

    fn pod(gpus: i64) -> PodFact {
        PodFact {
            name: "train".into(),
            phase: "Pending".into(),
            requests: Arc::new(BTreeMap::from([
                ("cpu".into(), 4000),
                ("nvidia.com/gpu".into(), gpus * 1000),
            ])),
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
        let fit = fit(&pod(4), &NodeTable::new(&nodes, std::iter::empty()));
        assert_eq!(
            fit.message,
            "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: infer}, 2 Insufficient nvidia.com/gpu."
        );
        assert_eq!(fit.fitting_count(), 0);
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
        Arc::make_mut(&mut run.placement)
            .tolerations
            .push(Toleration {
                key: "dedicated".into(),
                operator: "Equal".into(),
                value: "infer".into(),
                effect: "NoSchedule".into(),
            });
        assert_eq!(misfit(&run, &tainted), None);
        Arc::make_mut(&mut run.placement)
            .node_selector
            .insert("pool".into(), "train".into());
        assert_eq!(misfit(&run, &tainted), Some(Misfit::Selector));
        Arc::make_mut(&mut run.placement).node_selector.clear();
        Arc::make_mut(&mut run.placement).required_terms = vec![vec![Requirement {
            key: "pool".into(),
            operator: "In".into(),
            values: vec!["infer".into(), "train".into()],
        }]];
        assert_eq!(misfit(&run, &tainted), None);
        tainted.unschedulable = true;
        assert_eq!(misfit(&run, &tainted), Some(Misfit::Cordoned));
    }

    /// The grouped check gives what checking each node on its own gives:
    /// the same counts, fitting nodes, nearest node and wording.
    #[test]
    fn grouping_alike_nodes_changes_no_verdict() {
        let taint = |key: &str, value: &str| Taint {
            key: key.into(),
            value: value.into(),
            effect: "NoSchedule".into(),
        };
        let mut nodes = Vec::new();
        for i in 0..24 {
            // Names out of order, so that ties go by name, not position.
            let mut n = node(&format!("n{:02}", (i * 7) % 24), 8, (i % 9) as i64);
            n.labels
                .insert("pool".into(), ["a", "b", "c"][i % 3].into());
            n.labels
                .insert("kubernetes.io/hostname".into(), format!("host-{i}"));
            n.requested.insert("cpu".into(), (i as i64 % 5) * 8_000);
            match i % 6 {
                0 => n.unschedulable = true,
                1 => n.taints.push(taint("dedicated", "infer")),
                2 => n.taints.push(taint("nvidia.com/gpu", "true")),
                3 => n.unhealthy = Some("DiskPressure".into()),
                _ => {}
            }
            nodes.push(n);
        }
        let mut pods = vec![pod(1), pod(4), pod(9)];
        let mut picky = pod(2);
        Arc::make_mut(&mut picky.placement)
            .node_selector
            .insert("pool".into(), "b".into());
        Arc::make_mut(&mut picky.placement)
            .tolerations
            .push(Toleration {
                key: "nvidia.com/gpu".into(),
                operator: "Exists".into(),
                ..Toleration::default()
            });
        pods.push(picky);
        let mut affine = pod(0);
        Arc::make_mut(&mut affine.placement).required_terms = vec![vec![Requirement {
            key: "pool".into(),
            operator: "NotIn".into(),
            values: vec!["a".into()],
        }]];
        pods.push(affine);
        let table = NodeTable::new(&nodes, pods.iter());
        for pod in &pods {
            let grouped = fit(pod, &table);
            let mut words: BTreeMap<String, usize> = BTreeMap::new();
            let mut fitting = Vec::new();
            let mut nearest: Option<((u8, usize, i64), &str, Misfit)> = None;
            for node in &nodes {
                let Some(reason) = misfit(pod, node) else {
                    fitting.push(node.name.as_str());
                    continue;
                };
                for text in reason.scheduler_words() {
                    *words.entry(text).or_default() += 1;
                }
                let distance = match &reason {
                    Misfit::Cordoned | Misfit::Condition(_) => (3, 0, 0),
                    Misfit::Taint { .. } | Misfit::Selector => (2, 0, 0),
                    Misfit::Insufficient(missing) => {
                        (1, missing.len(), missing.iter().map(|(_, m)| m).sum())
                    }
                };
                if nearest
                    .as_ref()
                    .is_none_or(|(d, name, _)| (distance, node.name.as_str()) < (*d, *name))
                {
                    nearest = Some((distance, &node.name, reason));
                }
            }
            let mut groups: Vec<(String, usize)> = words.into_iter().collect();
            groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            assert_eq!(grouped.groups, groups);
            assert_eq!(grouped.fitting().collect::<Vec<_>>(), fitting);
            assert_eq!(
                grouped.nearest,
                nearest.map(|(_, name, reason)| (name.to_string(), reason))
            );
        }
    }
}
