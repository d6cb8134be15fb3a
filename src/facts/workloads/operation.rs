//! Polyaxon's custom resource for a run (Operation up to 2.11; Job,
//! Service, Cluster, KfJob of polyaxon.com from 2.12): the operator's own
//! account of the run, and whether the run has pods at all.

use jiff::Timestamp;
use serde_json::Value as Json;

use super::run::run_of;
use crate::facts::Fact;
use crate::facts::shared::duration::human;
use crate::facts::shared::subject::{Evidence, RunRef, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

#[derive(Debug, Clone, Default)]
pub struct OperationFact {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub created: Option<Timestamp>,
    pub run: Option<RunRef>,
    /// The newest condition: type, status, reason, message.
    pub condition: Option<(String, String, String, String)>,
    /// Set when facts are correlated.
    /// Whether any pod of the run exists; None when the pods of its
    /// namespace could not be read (a forbidden list is not "no pods").
    pub has_pods: Option<bool>,
    pub age_seconds: Option<i64>,
    /// Set when facts are correlated: older than the grace period.
    pub past_grace: bool,
}

pub const FIELDS: &[FieldSpec] = &[
    field(
        "kind",
        Text,
        "Operation (up to 2.11), or Job, Service, Cluster, KfJob (2.12+)",
    ),
    field("namespace", Text, "its namespace"),
    field("name", Text, "plx-operation-<uuid>"),
    field(
        "condition_type",
        Text,
        "the newest condition: Starting, Running, Warning, Succeeded, Failed, Stopped",
    ),
    field("condition_status", Text, "its status"),
    field(
        "condition_reason",
        Text,
        "its reason, e.g. OperatorCreateJob, ImagePullBackOff, PodPending",
    ),
    field("condition_message", Text, "its message"),
    field(
        "done",
        Bool,
        "the newest condition is Succeeded, Failed or Stopped",
    ),
    field("has_pods", Bool, "any pod of the run exists"),
    field("age_seconds", Number, "seconds since it was created"),
    field("age", Text, "the same for people: 12m"),
    field(
        "past_grace",
        Bool,
        "older than the grace period (5m, `grace` in .pxdoctor.yaml)",
    ),
    field("subject", Text, "the run as people name it"),
    field("run_uuid", Text, "the run's uuid"),
];

impl OperationFact {
    pub fn from_json(kind: &str, object: &Json) -> Option<OperationFact> {
        let metadata = object.get("metadata")?;
        let name = metadata.get("name")?.as_str()?.to_string();
        let map = |key: &str| -> Option<std::collections::BTreeMap<String, String>> {
            serde_json::from_value(metadata.get(key)?.clone()).ok()
        };
        let conditions = object
            .pointer("/status/conditions")
            .and_then(Json::as_array);
        let newest = conditions.and_then(|all| {
            all.iter().max_by_key(|c| {
                c.get("lastTransitionTime")
                    .or_else(|| c.get("lastUpdateTime"))
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string()
            })
        });
        let text_of =
            |c: &Json, key: &str| c.get(key).and_then(Json::as_str).unwrap_or("").to_string();
        Some(OperationFact {
            kind: kind.to_string(),
            namespace: metadata
                .get("namespace")
                .and_then(Json::as_str)
                .unwrap_or("default")
                .to_string(),
            created: metadata
                .get("creationTimestamp")
                .and_then(Json::as_str)
                .and_then(|t| t.parse().ok()),
            run: run_of(map("labels").as_ref(), map("annotations").as_ref())
                .or_else(|| super::run::uuid_in_name(&name).map(RunRef::bare)),
            condition: newest.map(|c| {
                (
                    text_of(c, "type"),
                    text_of(c, "status"),
                    text_of(c, "reason"),
                    text_of(c, "message"),
                )
            }),
            name,
            has_pods: None,
            age_seconds: None,
            past_grace: false,
        })
    }

    fn done(&self) -> bool {
        self.condition.as_ref().is_some_and(|(kind, status, _, _)| {
            status == "True" && matches!(kind.as_str(), "Succeeded" | "Failed" | "Stopped")
        })
    }
}

impl FieldSource for OperationFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        let condition = self.condition.as_ref();
        let part = |value: &'_ str| (!value.is_empty()).then(|| text(value.to_string()));
        match name {
            "kind" => Some(text(&self.kind)),
            "namespace" => Some(text(&self.namespace)),
            "name" => Some(text(&self.name)),
            "condition_type" => condition.and_then(|c| part(&c.0)),
            "condition_status" => condition.and_then(|c| part(&c.1)),
            "condition_reason" => condition.and_then(|c| part(&c.2)),
            "condition_message" => condition.and_then(|c| part(&c.3)),
            "done" => Some(Value::Bool(self.done())),
            "has_pods" => self.has_pods.map(Value::Bool),
            "age_seconds" => self.age_seconds.map(|s| num(s as f64)),
            "age" => self.age_seconds.map(|s| text(human(s))),
            "past_grace" => Some(Value::Bool(self.past_grace)),
            "subject" => Some(text(Fact::subject(self).label())),
            "run_uuid" => self.run.as_ref().map(|run| text(&run.uuid)),
            _ => None,
        }
    }
}

impl Fact for OperationFact {
    fn subject(&self) -> Subject {
        Subject {
            kind: self.kind.clone(),
            namespace: Some(self.namespace.clone()),
            name: self.name.clone(),
            run: self.run.clone(),
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut evidence = Evidence::new(&self.kind).name(self.name.clone());
        if let Some((kind, status, reason, message)) = &self.condition {
            evidence = evidence
                .reason(format!("{kind}={status} {reason}").trim().to_string())
                .message(message.clone());
        }
        vec![evidence]
    }
}
