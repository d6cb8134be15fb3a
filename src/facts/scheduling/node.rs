//! Node facts: conditions, taints, cordon, allocatable, and what the pods on
//! it already request (summed when facts are correlated).

use k8s_openapi::api::core::v1::Node;

use crate::facts::Fact;
use crate::facts::Resources;
use crate::facts::shared::quantity::{format_milli, parse_milli};
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, text};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

impl Taint {
    /// `key=value:Effect`, as `kubectl taint` takes it.
    pub fn display(&self) -> String {
        if self.value.is_empty() {
            format!("{}:{}", self.key, self.effect)
        } else {
            format!("{}={}:{}", self.key, self.value, self.effect)
        }
    }
}

#[derive(Debug, Clone)]
pub struct NodeFact {
    pub name: String,
    pub unschedulable: bool,
    pub taints: Vec<Taint>,
    pub labels: std::collections::BTreeMap<String, String>,
    pub allocatable: Resources,
    /// Set when facts are correlated: requests of the active pods bound here.
    pub requested: Resources,
    pub conditions: Vec<NodeConditionFact>,
    /// See `fit::unhealthy`: set once when the node is read.
    pub unhealthy: Option<String>,
    /// The newest lastHeartbeatTime of its conditions: a snapshot without
    /// events still knows when it was taken.
    pub heartbeat: Option<jiff::Timestamp>,
}

/// One node condition, a fact of its own so that rules can match each.
#[derive(Debug, Clone)]
pub struct NodeConditionFact {
    pub node: String,
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

pub const CONDITION_FIELDS: &[FieldSpec] = &[
    field("node", Text, "the node's name"),
    field(
        "type",
        Text,
        "Ready, DiskPressure, MemoryPressure, PIDPressure, ...",
    ),
    field("status", Text, "True, False or Unknown"),
    field(
        "reason",
        Text,
        "e.g. KubeletHasDiskPressure, NodeStatusUnknown",
    ),
    field("message", Text, "the condition's message"),
    field(
        "bad",
        Bool,
        "in its bad state: Ready not True, any other condition True (pressure, NetworkUnavailable, node-problem-detector's KernelDeadlock, ReadonlyFilesystem, ...)",
    ),
];

impl NodeFact {
    pub fn from_node(node: Node) -> Option<NodeFact> {
        let name = node.metadata.name?;
        let spec = node.spec.unwrap_or_default();
        let status = node.status.unwrap_or_default();
        let allocatable = status
            .allocatable
            .or(status.capacity)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(resource, quantity)| Some((resource, parse_milli(&quantity.0)?)))
            .collect();
        let heartbeat = status
            .conditions
            .iter()
            .flatten()
            .filter_map(|c| c.last_heartbeat_time.as_ref().map(|t| t.0))
            .max();
        let conditions = status
            .conditions
            .unwrap_or_default()
            .into_iter()
            .map(|condition| NodeConditionFact {
                node: name.clone(),
                type_: condition.type_,
                status: condition.status,
                reason: condition.reason.unwrap_or_default(),
                message: condition.message.unwrap_or_default(),
            })
            .collect();
        let mut fact = NodeFact {
            unschedulable: spec.unschedulable.unwrap_or(false),
            taints: spec
                .taints
                .unwrap_or_default()
                .into_iter()
                .map(|taint| Taint {
                    key: taint.key,
                    value: taint.value.unwrap_or_default(),
                    effect: taint.effect,
                })
                .collect(),
            labels: node.metadata.labels.unwrap_or_default(),
            allocatable,
            requested: Resources::new(),
            conditions,
            name,
            unhealthy: None,
            heartbeat,
        };
        fact.unhealthy = super::fit::unhealthy(&fact);
        Some(fact)
    }

    /// Why the node is not Ready, as its Ready condition says: "NotReady
    /// (NodeStatusUnknown: Kubelet stopped posting node status.)".
    pub fn not_ready(&self) -> Option<String> {
        let ready = self.conditions.iter().find(|c| c.type_ == "Ready")?;
        if ready.status == "True" {
            return None;
        }
        let state = if ready.status == "Unknown" {
            "unreachable"
        } else {
            "NotReady"
        };
        let words = [ready.reason.as_str(), ready.message.as_str()]
            .into_iter()
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
        Some(if words.is_empty() {
            format!("{} is {state}", self.name)
        } else {
            format!("{} is {state} ({words})", self.name)
        })
    }

    /// Allocatable minus what active pods already request.
    pub fn free(&self, resource: &str) -> i64 {
        let allocatable = self.allocatable.get(resource).copied().unwrap_or(0);
        let requested = self.requested.get(resource).copied().unwrap_or(0);
        allocatable - requested
    }

    pub fn describe_capacity(&self, resource: &str) -> String {
        format!(
            "{} free of {} allocatable {resource}",
            format_milli(resource, self.free(resource).max(0)),
            format_milli(
                resource,
                self.allocatable.get(resource).copied().unwrap_or(0)
            ),
        )
    }
}

impl NodeConditionFact {
    /// In its bad state, as the condition itself says. Most conditions name
    /// a problem (DiskPressure, KernelDeadlock, ReadonlyFilesystem: bad when
    /// True); some name health (Ready, and vendors' KernelReady,
    /// ContainerRuntimeHealthy, ...: bad when False, and Ready also when
    /// Unknown). A reason that says all is well (node-problem-detector's
    /// KernelHasNoDeadlock, FilesystemIsNotReadOnly, NoFrequentKubeletRestart)
    /// wins over the name.
    pub fn is_bad(&self) -> bool {
        let healthy_name = ["Ready", "Available", "Healthy", "OK"]
            .iter()
            .any(|end| self.type_.ends_with(end))
            || self.type_.starts_with("Correct");
        let says_well = ["HasNo", "IsNot", "NoFrequent", "NoProblem", "Sufficient"]
            .iter()
            .any(|words| self.reason.contains(words));
        if self.type_ == "Ready" {
            return self.status != "True";
        }
        if says_well {
            return false;
        }
        if healthy_name {
            self.status == "False"
        } else {
            self.status == "True"
        }
    }
}

impl FieldSource for NodeConditionFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "node" => Some(text(&self.node)),
            "type" => Some(text(&self.type_)),
            "status" => Some(text(&self.status)),
            "reason" => Some(text(&self.reason)),
            "message" => Some(text(&self.message)),
            "bad" => Some(Value::Bool(self.is_bad())),
            _ => None,
        }
    }
}

impl Fact for NodeConditionFact {
    fn subject(&self) -> Subject {
        Subject {
            kind: "Node".into(),
            namespace: None,
            name: self.node.clone(),
            run: None,
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        vec![
            Evidence::new("Condition")
                .name(format!("{}={}", self.type_, self.status))
                .reason(self.reason.clone())
                .message(self.message.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(type_: &str, status: &str, reason: &str) -> NodeConditionFact {
        NodeConditionFact {
            node: "n".into(),
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
        }
    }

    #[test]
    fn a_condition_is_bad_by_its_own_sense() {
        // Problems are bad when True.
        assert!(condition("DiskPressure", "True", "KubeletHasDiskPressure").is_bad());
        assert!(condition("KernelDeadlock", "True", "DockerHung").is_bad());
        assert!(!condition("KernelDeadlock", "False", "KernelHasNoDeadlock").is_bad());
        assert!(!condition("OutOfDisk", "False", "KubeletHasSufficientDisk").is_bad());
        // Health is bad when False; Ready also when Unknown.
        assert!(condition("Ready", "Unknown", "NodeStatusUnknown").is_bad());
        assert!(!condition("KernelReady", "True", "KernelHasNoDeadlock").is_bad());
        assert!(condition("ContainerRuntimeHealthy", "False", "RuntimeDown").is_bad());
        // A reason that says all is well wins.
        assert!(!condition("ReadonlyFilesystem", "True", "FilesystemIsNotReadOnly").is_bad());
    }
}
