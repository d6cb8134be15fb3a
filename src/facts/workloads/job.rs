//! A run's Kubernetes Job (batch/v1, named plx-operation-<uuid>): its own
//! durable account of a failure (status.conditions: Failed with
//! DeadlineExceeded, BackoffLimitExceeded, PodFailurePolicy,
//! MaxFailedIndexesExceeded; FailureTarget; Suspended) and its counters.
//!
//! The Job controller's events say the same in other words and expire after
//! an hour; the join adds them as evidence. When the Job itself was not
//! collected, its failure events stand in for it, so a failed run is
//! explained either way (reasons from kubernetes/api batch/v1 types.go,
//! `JobReason*`).

use jiff::Timestamp;
use serde_json::Value as Json;

use super::run::{run_of, uuid_in_name};
use crate::facts::EventFact;
use crate::facts::Fact;
use crate::facts::shared::duration::human;
use crate::facts::shared::subject::{Evidence, RunRef, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

/// The Job controller's reasons for a failed Job, as condition reasons and
/// as event reasons (kubernetes/api batch/v1 types.go).
pub const FAILURE_REASONS: &[&str] = &[
    "BackoffLimitExceeded",
    "DeadlineExceeded",
    "PodFailurePolicy",
    "MaxFailedIndexesExceeded",
    "FailedIndexes",
];

#[derive(Debug, Clone, Default)]
pub struct JobFact {
    /// A Job known only from Polyaxon's records: the moment the record
    /// describes. Its age runs to this, not to now.
    pub as_of: Option<Timestamp>,
    pub namespace: String,
    pub name: String,
    pub run: Option<RunRef>,
    pub created: Option<Timestamp>,
    /// The Failed condition (True), or FailureTarget while pods terminate.
    pub failed: bool,
    /// Why it failed: the condition's reason, or the event's when the Job
    /// was not collected.
    pub reason: Option<String>,
    pub message: Option<String>,
    /// Suspended=True (Kueue and other queues suspend Jobs they hold).
    pub suspended: bool,
    pub complete: bool,
    pub active: i64,
    pub failed_pods: i64,
    pub succeeded: i64,
    pub backoff_limit: Option<i64>,
    pub active_deadline_seconds: Option<i64>,
    /// No Job object was read: this fact stands in for it from its events.
    pub from_events: bool,
    /// Set when facts are correlated.
    pub age_seconds: Option<i64>,
    pub past_grace: bool,
    /// Whether any pod of the run exists; None when the pods of its
    /// namespace could not be read (a forbidden list is not "no pods").
    pub has_pods: Option<bool>,
    /// Set when facts are correlated: the Job's Warning events.
    pub events: Vec<Evidence>,
}

pub const FIELDS: &[FieldSpec] = &[
    field("namespace", Text, "the Job's namespace"),
    field("name", Text, "the Job's name: plx-operation-<uuid>"),
    field(
        "failed",
        Bool,
        "a Failed (or FailureTarget) condition, or a failure event",
    ),
    field(
        "reason",
        Text,
        "why: BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy, MaxFailedIndexesExceeded, ...",
    ),
    field("message", Text, "the condition's (or event's) message"),
    field(
        "suspended",
        Bool,
        "spec.suspend, or a Suspended=True condition (a queue such as Kueue holds it)",
    ),
    field("complete", Bool, "a Complete=True condition"),
    field("active", Number, "pods running now"),
    field(
        "failed_pods",
        Number,
        "pods that failed (status.failed and uncounted ones)",
    ),
    field(
        "succeeded",
        Number,
        "pods that succeeded (status.succeeded and uncounted ones)",
    ),
    field("backoff_limit", Number, "spec.backoffLimit"),
    field(
        "active_deadline_seconds",
        Number,
        "spec.activeDeadlineSeconds",
    ),
    field(
        "from_events",
        Bool,
        "the Job was not collected: its events speak for it",
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
];

impl JobFact {
    pub fn from_json(object: &Json) -> Option<JobFact> {
        let metadata = object.get("metadata")?;
        let name = metadata.get("name")?.as_str()?.to_string();
        let map = |key: &str| -> Option<std::collections::BTreeMap<String, String>> {
            serde_json::from_value(metadata.get(key)?.clone()).ok()
        };
        let conditions: &[Json] = object
            .pointer("/status/conditions")
            .and_then(Json::as_array)
            .map_or(&[], Vec::as_slice);
        let holds = |kind: &str| {
            conditions
                .iter()
                .find(|c| c["type"] == kind && c["status"] == "True")
        };
        let failure = holds("Failed").or_else(|| holds("FailureTarget"));
        let words = |c: &Json, key: &str| {
            c.get(key)
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let count = |key: &str| {
            object
                .pointer(&format!("/status/{key}"))
                .and_then(Json::as_i64)
                .unwrap_or(0)
        };
        let spec = |key: &str| {
            object
                .pointer(&format!("/spec/{key}"))
                .and_then(Json::as_i64)
        };
        Some(JobFact {
            namespace: metadata
                .get("namespace")
                .and_then(Json::as_str)
                .unwrap_or("default")
                .to_string(),
            run: run_of(map("labels").as_ref(), map("annotations").as_ref())
                .or_else(|| uuid_in_name(&name).map(RunRef::bare)),
            created: metadata
                .get("creationTimestamp")
                .and_then(Json::as_str)
                .and_then(|t| t.parse().ok()),
            failed: failure.is_some(),
            reason: failure.and_then(|c| words(c, "reason")),
            message: failure.and_then(|c| words(c, "message")),
            // A queue (Kueue) creates the Job with spec.suspend set; the
            // Suspended condition follows only once the controller saw it.
            suspended: holds("Suspended").is_some()
                || object.pointer("/spec/suspend").and_then(Json::as_bool) == Some(true),
            complete: holds("Complete").is_some() || holds("SuccessCriteriaMet").is_some(),
            active: count("active"),
            // Pods finished but not yet counted (the Job controller's
            // uncountedTerminatedPods) were created all the same.
            failed_pods: count("failed")
                + object
                    .pointer("/status/uncountedTerminatedPods/failed")
                    .and_then(Json::as_array)
                    .map_or(0, |pods| pods.len() as i64),
            succeeded: count("succeeded")
                + object
                    .pointer("/status/uncountedTerminatedPods/succeeded")
                    .and_then(Json::as_array)
                    .map_or(0, |pods| pods.len() as i64),
            backoff_limit: spec("backoffLimit"),
            active_deadline_seconds: spec("activeDeadlineSeconds"),
            name,
            ..JobFact::default()
        })
    }

    /// A stand-in from a failure event, for a Job that was not collected.
    pub fn from_event(event: &EventFact) -> JobFact {
        JobFact {
            namespace: event.namespace.to_string(),
            name: event.involved_name.clone(),
            run: event.run.as_deref().cloned(),
            failed: FAILURE_REASONS.contains(&&*event.reason),
            reason: Some(event.reason.to_string()),
            message: Some(event.message.clone()),
            from_events: true,
            ..JobFact::default()
        }
    }
}

impl FieldSource for JobFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "namespace" => Some(text(&self.namespace)),
            "name" => Some(text(&self.name)),
            "failed" => Some(Value::Bool(self.failed)),
            "reason" => self.reason.as_deref().map(text),
            "message" => self.message.as_deref().map(text),
            "suspended" => Some(Value::Bool(self.suspended)),
            "complete" => Some(Value::Bool(self.complete)),
            "active" => Some(num(self.active as f64)),
            "failed_pods" => Some(num(self.failed_pods as f64)),
            "succeeded" => Some(num(self.succeeded as f64)),
            "backoff_limit" => self.backoff_limit.map(|n| num(n as f64)),
            "active_deadline_seconds" => self.active_deadline_seconds.map(|n| num(n as f64)),
            "from_events" => Some(Value::Bool(self.from_events)),
            "has_pods" => self.has_pods.map(Value::Bool),
            "age_seconds" => self.age_seconds.map(|s| num(s as f64)),
            "age" => self.age_seconds.map(|s| text(human(s))),
            "past_grace" => Some(Value::Bool(self.past_grace)),
            "subject" => Some(text(Fact::subject(self).label())),
            _ => None,
        }
    }
}

impl Fact for JobFact {
    fn subject(&self) -> Subject {
        Subject {
            kind: "Job".into(),
            namespace: Some(self.namespace.clone()),
            name: self.name.clone(),
            run: self.run.clone(),
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut evidence = Vec::new();
        if !self.from_events {
            let mut own = Evidence::new("Job").name(self.name.clone());
            if let Some(reason) = &self.reason {
                own = own.reason(format!("Failed={reason}"));
            } else if self.suspended {
                own = own.reason("Suspended".to_string());
            }
            if let Some(message) = &self.message {
                own = own.message(message.clone());
            }
            evidence.push(own);
        }
        evidence.extend(self.events.iter().cloned());
        evidence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_failed_condition_and_counters() {
        // As the Job controller writes it (kubectl get job -o json).
        let job: Json = serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "plx-operation-8f3c2a1b9d7e4c5fa0b1c2d3e4f5a6b7", "namespace": "polyaxon"},
            "spec": {"backoffLimit": 0, "activeDeadlineSeconds": 3600},
            "status": {"failed": 1, "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded",
                 "message": "Job was active longer than specified deadline"},
                {"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                 "message": "Job was active longer than specified deadline"}]}
        });
        let fact = JobFact::from_json(&job).expect("a job");
        assert!(fact.failed);
        assert_eq!(fact.reason.as_deref(), Some("DeadlineExceeded"));
        assert_eq!(fact.failed_pods, 1);
        assert_eq!(fact.active_deadline_seconds, Some(3600));
        assert_eq!(
            fact.run.map(|r| r.uuid).as_deref(),
            Some("8f3c2a1b9d7e4c5fa0b1c2d3e4f5a6b7")
        );
    }

    #[test]
    fn a_job_a_queue_holds_is_suspended_before_its_condition_and_uncounted_pods_count() {
        // Kueue creates the Job with spec.suspend; the Job controller adds
        // Suspended=True later. Finished pods not yet counted sit in
        // uncountedTerminatedPods (the Job controller's tracking finalizer).
        let held: Json = serde_json::json!({
            "metadata": {"name": "plx-operation-1", "namespace": "ml"},
            "spec": {"suspend": true},
            "status": {}
        });
        assert!(JobFact::from_json(&held).unwrap().suspended);
        let finishing: Json = serde_json::json!({
            "metadata": {"name": "plx-operation-1", "namespace": "ml"},
            "spec": {"suspend": false},
            "status": {"uncountedTerminatedPods": {"failed": ["a1b2"], "succeeded": ["c3d4", "e5f6"]}}
        });
        let fact = JobFact::from_json(&finishing).unwrap();
        assert!(!fact.suspended);
        assert_eq!((fact.failed_pods, fact.succeeded), (1, 2));
    }

    #[test]
    fn a_running_job_has_not_failed() {
        let job: Json = serde_json::json!({
            "metadata": {"name": "j", "namespace": "ml"},
            "status": {"active": 1, "conditions": [
                {"type": "Failed", "status": "False", "reason": "BackoffLimitExceeded"}]}
        });
        let fact = JobFact::from_json(&job).expect("a job");
        assert!(!fact.failed);
        assert_eq!(fact.reason, None);
        assert_eq!(fact.active, 1);
    }
}
