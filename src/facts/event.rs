//! Event facts from both Event APIs (core/v1 as kubectl prints it, and
//! events.k8s.io/v1), reduced to what explains a pod: reason, message, count,
//! when it was last seen, and the object it is about.

use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as NewEvent;

use crate::facts::Fact;
use crate::facts::shared::name::Name;
use crate::facts::shared::subject::{Evidence, RunRef, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

#[derive(Debug, Clone, Default)]
pub struct EventFact {
    pub namespace: Name,
    pub involved_kind: Name,
    pub involved_name: String,
    pub reason: Name,
    pub message: String,
    pub type_: Name,
    pub count: u64,
    pub last_seen: Option<Timestamp>,
    pub source: Name,
    /// Set when facts are correlated: the run of the involved pod (or of
    /// the Job or custom resource named plx-operation-<uuid>).
    pub run: Option<Arc<RunRef>>,
    /// Set when facts are correlated: the involved pod is still Pending
    /// without a node (so the event is not history).
    pub pod_pending: bool,
    /// Set when facts are correlated: the involved pod's phase is Pending
    /// (unscheduled, or scheduled and still creating its containers).
    pub pod_waiting: bool,
    /// Set when facts are correlated: how long that pod has been Pending.
    pub pending_seconds: Option<i64>,
    /// Set when facts are correlated: the object it is about is not healthy
    /// now (a pod neither Succeeded nor Running and ready; objects other
    /// than pods, and pods that were not collected, count as unwell).
    pub object_unwell: bool,
}

pub const FIELDS: &[FieldSpec] = &[
    field("namespace", Text, "namespace of the event"),
    field(
        "involved_kind",
        Text,
        "kind of the object the event is about",
    ),
    field(
        "involved_name",
        Text,
        "name of the object the event is about",
    ),
    field(
        "reason",
        Text,
        "FailedScheduling, FailedMount, BackOff, ...",
    ),
    field("message", Text, "the event's message, as kubectl shows it"),
    field("type", Text, "Normal or Warning"),
    field("count", Number, "how many times it was seen"),
    field("source", Text, "the component that reported it"),
    field("subject", Text, "the run (or object) as people name it"),
    field(
        "pod_pending",
        Bool,
        "the pod it is about is still Pending without a node",
    ),
    field("is_run", Bool, "it is about a Polyaxon run"),
    field(
        "pod_waiting",
        Bool,
        "the pod it is about is still Pending (scheduled or not)",
    ),
    field(
        "pending_for",
        Text,
        "how long that pod has been Pending: 42m",
    ),
    field(
        "cause",
        Text,
        "the cause its words show, by the vocabularies (rules/vocabularies/): store-permission, dns, tls-untrusted, kube-forbidden, ...",
    ),
    field(
        "cause_term",
        Text,
        "the term that showed it: AccessDenied, 403, ...",
    ),
    field(
        "image",
        Text,
        "the image its message names: Failed to pull image \"X\", Back-off pulling image \"X\"",
    ),
    field(
        "object_unwell",
        Bool,
        "the object it is about is not healthy now (a pod neither Succeeded nor Running and ready)",
    ),
];

/// The image a kubelet message names (`image "X"`).
fn image_in(message: &str) -> Option<&str> {
    let start = message.find("image \"")? + "image \"".len();
    let len = message[start..].find('"')?;
    Some(&message[start..start + len]).filter(|image| !image.is_empty())
}

impl EventFact {
    pub fn from_core(event: CoreEvent) -> EventFact {
        let involved = event.involved_object;
        let last_seen = event
            .series
            .as_ref()
            .and_then(|series| series.last_observed_time.as_ref().map(|t| t.0))
            .or(event.last_timestamp.as_ref().map(|t| t.0))
            .or(event.event_time.as_ref().map(|t| t.0))
            .or(event.first_timestamp.as_ref().map(|t| t.0))
            .or(event.metadata.creation_timestamp.as_ref().map(|t| t.0));
        let count = event
            .series
            .as_ref()
            .and_then(|series| series.count)
            .or(event.count)
            .unwrap_or(1)
            .max(1) as u64;
        EventFact {
            namespace: Name::from(
                involved
                    .namespace
                    .or(event.metadata.namespace)
                    .unwrap_or_default(),
            ),
            involved_kind: Name::from(involved.kind.unwrap_or_default()),
            involved_name: involved.name.unwrap_or_default(),
            reason: Name::from(event.reason.unwrap_or_default()),
            message: event.message.unwrap_or_default().trim().to_string(),
            type_: Name::from(event.type_.as_deref().unwrap_or("Normal")),
            count,
            last_seen,
            source: Name::from(
                event
                    .source
                    .and_then(|source| source.component)
                    .or(event.reporting_component)
                    .unwrap_or_default(),
            ),
            // The rest is set when facts are joined.
            ..EventFact::default()
        }
    }

    pub fn from_events_v1(event: NewEvent) -> EventFact {
        let regarding = event.regarding.unwrap_or_default();
        let last_seen = event
            .series
            .as_ref()
            .map(|series| series.last_observed_time.0)
            .or(event.deprecated_last_timestamp.as_ref().map(|t| t.0))
            .or(event.event_time.as_ref().map(|t| t.0));
        let count = event
            .series
            .as_ref()
            .map(|series| series.count)
            .or(event.deprecated_count)
            .unwrap_or(1)
            .max(1) as u64;
        EventFact {
            namespace: Name::from(
                regarding
                    .namespace
                    .or(event.metadata.namespace)
                    .unwrap_or_default(),
            ),
            involved_kind: Name::from(regarding.kind.unwrap_or_default()),
            involved_name: regarding.name.unwrap_or_default(),
            reason: Name::from(event.reason.unwrap_or_default()),
            message: event.note.unwrap_or_default().trim().to_string(),
            type_: Name::from(event.type_.as_deref().unwrap_or("Normal")),
            count,
            last_seen,
            source: Name::from(event.reporting_controller.unwrap_or_default()),
            // The rest is set when facts are joined.
            ..EventFact::default()
        }
    }

    pub fn evidence(&self) -> Evidence {
        Evidence::new("Event")
            .reason(self.reason.clone())
            .message(self.message.clone())
            .count(Some(self.count))
            .last_seen(self.last_seen.map(|t| t.to_string()))
    }
}

impl FieldSource for EventFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "namespace" => Some(text(&self.namespace)),
            "involved_kind" => Some(text(&self.involved_kind)),
            "involved_name" => Some(text(&self.involved_name)),
            "reason" => Some(text(&self.reason)),
            "message" => Some(text(&self.message)),
            "type" => Some(text(&self.type_)),
            "count" => Some(num(self.count as f64)),
            "source" => Some(text(&self.source)),
            "subject" => Some(text(Fact::subject(self).label())),
            "pod_pending" => Some(Value::Bool(self.pod_pending)),
            "pod_waiting" => Some(Value::Bool(self.pod_waiting)),
            "pending_for" => Some(text(crate::facts::shared::duration::pending_for(
                self.pending_seconds,
            ))),
            "is_run" => Some(Value::Bool(self.run.is_some())),
            "object_unwell" => Some(Value::Bool(self.object_unwell)),
            "cause" => crate::facts::shared::words::classify(&self.message).map(|c| text(c.cause)),
            "image" => image_in(&self.message).map(text),
            "cause_term" => {
                crate::facts::shared::words::classify(&self.message).map(|c| text(c.term))
            }
            _ => None,
        }
    }
}

impl Fact for EventFact {
    fn subject(&self) -> Subject {
        Subject {
            kind: self.involved_kind.to_string(),
            namespace: (!self.namespace.is_empty()).then(|| self.namespace.to_string()),
            name: self.involved_name.clone(),
            run: self.run.as_deref().cloned(),
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        vec![EventFact::evidence(self)]
    }
}
