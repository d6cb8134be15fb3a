//! The fit check's verdict on one Pending pod, as a fact rules can explain:
//! the nearest node and what it lacks, and whether some node fits now.

use super::fit::Fit;
use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

#[derive(Debug, Clone)]
pub struct FitFact {
    pub subject: Subject,
    pub pending_seconds: Option<i64>,
    pub fit: Fit,
    /// The scheduler (an event or the PodScheduled condition) said why.
    pub has_verdict: bool,
    /// Every cause the scheduler gave is one the fit check models
    /// (capacity, taints, cordons, selectors); volumes, ports and pod
    /// affinity are not, so "fits now" cannot be said against them.
    pub verdict_checkable: bool,
}

/// Whether the fit check models a scheduler cause.
pub fn fit_models(segment: &str) -> bool {
    segment.starts_with("Insufficient ")
        || segment == "Too many pods"
        || segment.contains("taint")
        || segment.contains("unschedulable")
        || segment.contains("node selector")
        || segment.contains("node affinity")
        || segment.contains("pressure")
        || segment.contains("not ready")
}

pub const FIELDS: &[FieldSpec] = &[
    field("subject", Text, "the run (or pod) as people name it"),
    field(
        "pending_for",
        Text,
        "how long it has been Pending: 42m, 3h5m",
    ),
    field("pending_seconds", Number, "the same in seconds"),
    field("nodes", Number, "nodes checked"),
    field("fitting_nodes", Number, "nodes that could take it now"),
    field("fitting_node", Text, "the first of those"),
    field("nearest_node", Text, "the node closest to fitting"),
    field(
        "nearest_lacks",
        Text,
        "what that node lacks: \"2 nvidia.com/gpu\", a toleration, ...",
    ),
    field("groups", Text, "per reason, how many nodes"),
    field(
        "has_verdict",
        Bool,
        "the scheduler said why (event or condition)",
    ),
    field(
        "verdict_checkable",
        Bool,
        "every cause the scheduler gave is one the fit check models",
    ),
];

impl FitFact {
    fn groups(&self) -> String {
        self.fit
            .groups
            .iter()
            .map(|(reason, n)| format!("{n} {}: {reason}", if *n == 1 { "node" } else { "nodes" }))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl FieldSource for FitFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "subject" => Some(text(self.subject.label())),
            "pending_for" => Some(text(crate::facts::shared::duration::pending_for(
                self.pending_seconds,
            ))),
            "pending_seconds" => self.pending_seconds.map(|s| num(s as f64)),
            "nodes" => Some(num(self.fit.nodes as f64)),
            "fitting_nodes" => Some(num(self.fit.fitting_count() as f64)),
            "fitting_node" => self.fit.fitting().next().map(text),
            "nearest_node" => self.fit.nearest.as_ref().map(|(node, _)| text(node)),
            "nearest_lacks" => self
                .fit
                .nearest
                .as_ref()
                .map(|(_, misfit)| text(misfit.describe())),
            "groups" => (!self.fit.groups.is_empty()).then(|| text(self.groups())),
            "has_verdict" => Some(Value::Bool(self.has_verdict)),
            "verdict_checkable" => Some(Value::Bool(self.verdict_checkable)),
            _ => None,
        }
    }
}

impl Fact for FitFact {
    fn subject(&self) -> Subject {
        self.subject.clone()
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut message = if self.fit.fitting_count() == 0 {
            format!("no node fits: {}", self.groups())
        } else {
            format!(
                "fits now on {}",
                self.fit.fitting().collect::<Vec<_>>().join(", ")
            )
        };
        if let Some((node, misfit)) = &self.fit.nearest {
            message.push_str(&format!("; nearest: {node}, lacks {}", misfit.describe()));
        }
        vec![
            Evidence::new("Fit")
                .name("pxdoctor fit check")
                .message(message),
        ]
    }
}
