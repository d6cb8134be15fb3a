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

impl FieldSource for NodeConditionFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "node" => Some(text(&self.node)),
            "type" => Some(text(&self.type_)),
            "status" => Some(text(&self.status)),
            "reason" => Some(text(&self.reason)),
            "message" => Some(text(&self.message)),
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
