//! Deployments of Polyaxon's platform (api, agent, operator, scheduler,
//! worker, ...): are they up? Only Deployments labelled
//! app.kubernetes.io/part-of=polyaxon-core (the Helm chart's labels) are kept.

use serde_json::Value as Json;

use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

#[derive(Debug, Clone, Default)]
pub struct DeploymentFact {
    pub namespace: String,
    pub name: String,
    pub component: String,
    pub replicas: i64,
    pub ready: i64,
    /// The Available or Progressing condition that is not True, if any.
    pub problem: Option<(String, String)>,
    /// The service account its pods run as (`default` when the pod
    /// template names none, as Kubernetes fills it in).
    pub service_account: String,
    /// Polyaxon's version (major, minor), from the chart's
    /// `app.kubernetes.io/version` label or the first container's image tag.
    pub version: Option<(u64, u64)>,
}

/// `2.15.1`, `v2.4.0`, `2.0.0-rc5` → (2, 15), (2, 4), (2, 0).
pub fn major_minor(text: &str) -> Option<(u64, u64)> {
    let text = text.trim().trim_start_matches('v');
    let mut parts = text.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

pub const FIELDS: &[FieldSpec] = &[
    field("namespace", Text, "its namespace"),
    field("name", Text, "e.g. polyaxon-polyaxon-agent"),
    field(
        "component",
        Text,
        "polyaxon-api, polyaxon-agent, polyaxon-operator, ...",
    ),
    field("replicas", Number, "desired replicas"),
    field("ready", Number, "ready replicas"),
    field(
        "problem_reason",
        Text,
        "reason of a failing Available/Progressing condition",
    ),
    field("problem_message", Text, "its message"),
    field(
        "service_account",
        Text,
        "the service account its pods run as",
    ),
];

impl DeploymentFact {
    pub fn from_json(object: &Json) -> Option<DeploymentFact> {
        let labels = object.pointer("/metadata/labels")?;
        if labels
            .get("app.kubernetes.io/part-of")
            .and_then(Json::as_str)
            != Some("polyaxon-core")
        {
            return None;
        }
        let number = |pointer: &str| object.pointer(pointer).and_then(Json::as_i64);
        let problem = object
            .pointer("/status/conditions")
            .and_then(Json::as_array)
            .and_then(|all| {
                all.iter().find(|c| {
                    matches!(
                        c.get("type").and_then(Json::as_str),
                        Some("Available" | "Progressing")
                    ) && c.get("status").and_then(Json::as_str) != Some("True")
                })
            })
            .map(|c| {
                let get = |key: &str| c.get(key).and_then(Json::as_str).unwrap_or("").to_string();
                (get("reason"), get("message"))
            });
        Some(DeploymentFact {
            namespace: object
                .pointer("/metadata/namespace")
                .and_then(Json::as_str)
                .unwrap_or("default")
                .to_string(),
            name: object
                .pointer("/metadata/name")
                .and_then(Json::as_str)?
                .to_string(),
            component: labels
                .get("app.kubernetes.io/component")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string(),
            service_account: [
                "/spec/template/spec/serviceAccountName",
                "/spec/template/spec/serviceAccount",
            ]
            .iter()
            .find_map(|pointer| object.pointer(pointer).and_then(Json::as_str))
            .filter(|name| !name.is_empty())
            .unwrap_or("default")
            .to_string(),
            version: labels
                .get("app.kubernetes.io/version")
                .and_then(Json::as_str)
                .and_then(major_minor)
                .or_else(|| {
                    object
                        .pointer("/spec/template/spec/containers/0/image")
                        .and_then(Json::as_str)
                        .and_then(|image| image.rsplit_once(':'))
                        .and_then(|(_, tag)| major_minor(tag))
                }),
            replicas: number("/spec/replicas").unwrap_or(1),
            ready: number("/status/readyReplicas").unwrap_or(0),
            problem,
        })
    }
}

impl FieldSource for DeploymentFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "namespace" => Some(text(&self.namespace)),
            "name" => Some(text(&self.name)),
            "component" => Some(text(&self.component)),
            "replicas" => Some(num(self.replicas as f64)),
            "ready" => Some(num(self.ready as f64)),
            "problem_reason" => self.problem.as_ref().map(|p| text(p.0.clone())),
            "problem_message" => self.problem.as_ref().map(|p| text(p.1.clone())),
            "service_account" => Some(text(&self.service_account)),
            _ => None,
        }
    }
}

impl Fact for DeploymentFact {
    fn subject(&self) -> Subject {
        Subject {
            kind: "Deployment".into(),
            namespace: Some(self.namespace.clone()),
            name: self.name.clone(),
            run: None,
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut evidence = Evidence::new("Deployment")
            .name(self.name.clone())
            .reason(format!("{}/{} ready", self.ready, self.replicas));
        if let Some((reason, message)) = &self.problem {
            evidence = evidence.message(format!("{reason}: {message}"));
        }
        vec![evidence]
    }
}
