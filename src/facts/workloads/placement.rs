//! Where a pod may go, as its spec asks it of a node: tolerations, node
//! selector and required node affinity. The fit check (scheduling/) judges
//! it against nodes; the pod only carries it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::PodSpec;

use crate::facts::shared::name::{Interner, Name};

/// Interned: every run pod carries the same few tolerations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Toleration {
    pub key: Name,
    pub operator: Name,
    pub value: Name,
    pub effect: Name,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// Where a pod may go: what it tolerates and what it requires of a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Placement {
    pub tolerations: Vec<Toleration>,
    pub node_selector: BTreeMap<String, String>,
    /// requiredDuringSchedulingIgnoredDuringExecution: any term may match,
    /// every requirement of a term must.
    pub required_terms: Vec<Vec<Requirement>>,
}

thread_local! {
    static PLACEMENTS: RefCell<Interner<Placement>> = RefCell::new(Interner::default());
}

impl Placement {
    /// The shared copy of the spec's placement: pods of one polyaxonfile
    /// (or preset) all have the same.
    pub fn shared(spec: &PodSpec) -> Arc<Placement> {
        let placement = Placement::from_spec(spec);
        PLACEMENTS.with(|interner| interner.borrow_mut().share(placement))
    }

    pub fn from_spec(spec: &PodSpec) -> Placement {
        let tolerations = spec
            .tolerations
            .iter()
            .flatten()
            .map(|t| Toleration {
                key: Name::intern(t.key.as_deref().unwrap_or_default()),
                operator: Name::intern(t.operator.as_deref().unwrap_or("Equal")),
                value: Name::intern(t.value.as_deref().unwrap_or_default()),
                effect: Name::intern(t.effect.as_deref().unwrap_or_default()),
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

    pub fn tolerates(&self, key: &str, value: &str, effect: &str) -> bool {
        self.tolerations.iter().any(|t| {
            let key_matches = (t.key.is_empty() && t.operator == "Exists") || t.key == key;
            let value_matches = t.operator == "Exists" || t.value == value;
            let effect_matches = t.effect.is_empty() || t.effect == effect;
            key_matches && value_matches && effect_matches
        })
    }

    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
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
