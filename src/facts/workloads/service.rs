//! A service run's Deployment (notebooks, tensorboards, streamlit: Polyaxon
//! runs them as a Deployment and its ReplicaSet): its durable status says
//! what the ReplicaSet's events said and outlives them. The Deployment
//! controller copies the ReplicaSet's FailedCreate into `ReplicaFailure=True`
//! (reason FailedCreate, the API server's refusal as message) and writes
//! `Progressing=False ProgressDeadlineExceeded` ("ReplicaSet \"X\" has timed
//! out progressing."): kubernetes pkg/controller/deployment/sync.go and
//! util/deployment_util.go. Both are read as the events they stand for, on
//! the ReplicaSet they name, so the rules that explain a Job's FailedCreate
//! (quota, LimitRange, Pod Security, webhooks, a missing service account)
//! explain a service run's, with or without its events.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value as Json;

use crate::facts::EventFact;
use crate::facts::shared::name::Name;

/// The ReplicaSet a condition's message names: `pods "<rs>-" is
/// forbidden`, `ReplicaSet "<rs>" has timed out progressing`.
static REPLICA_SET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:pods|ReplicaSet) "(plx-operation-[0-9a-f]{32}-[a-z0-9]+)-?""#).expect("rs")
});

/// The events a run's Deployment's conditions stand for; none for a
/// Deployment that is not a Polyaxon run's.
pub fn condition_events(object: &Json) -> Vec<EventFact> {
    let labels = object.pointer("/metadata/labels");
    let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Json::as_str);
    if label(super::run::MANAGED_BY) != Some("polyaxon") || label(super::run::INSTANCE).is_none() {
        return Vec::new();
    }
    let name = object
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Json::as_str)
        .unwrap_or("default");
    let conditions = object
        .pointer("/status/conditions")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let text = |c: &Json, key: &str| c.get(key).and_then(Json::as_str).unwrap_or("").to_string();
    let mut events = Vec::new();
    for condition in conditions {
        let (type_, status, reason) = (
            text(condition, "type"),
            text(condition, "status"),
            text(condition, "reason"),
        );
        let failure = (type_ == "ReplicaFailure" && status == "True")
            || (type_ == "Progressing"
                && status == "False"
                && reason == "ProgressDeadlineExceeded");
        if !failure {
            continue;
        }
        let message = text(condition, "message");
        let replica_set = REPLICA_SET.captures(&message).map(|c| c[1].to_string());
        let (kind, involved) = match replica_set {
            Some(replica_set) => ("ReplicaSet", replica_set),
            None => ("Deployment", name.to_string()),
        };
        // The ReplicaSet controller's event says "Error creating: <error>";
        // the condition keeps the error alone.
        let message = if reason == "FailedCreate" && !message.starts_with("Error creating") {
            format!("Error creating: {message}")
        } else {
            message
        };
        events.push(EventFact {
            namespace: Name::from(namespace),
            involved_kind: Name::from(kind),
            involved_name: involved,
            reason: Name::from(if reason.is_empty() {
                type_.as_str()
            } else {
                reason.as_str()
            }),
            message,
            type_: Name::from("Warning"),
            count: 1,
            last_seen: condition
                .get("lastTransitionTime")
                .or_else(|| condition.get("lastUpdateTime"))
                .and_then(Json::as_str)
                .and_then(|t| t.parse().ok()),
            source: Name::from("deployment-controller"),
            ..EventFact::default()
        });
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const UUID: &str = "7e57c0de7e57c0de7e57c0de7e57c0de";

    fn deployment(conditions: Json, labels: Json) -> Json {
        json!({"metadata": {"name": format!("plx-operation-{UUID}"), "namespace": "ml", "labels": labels},
               "status": {"conditions": conditions}})
    }

    fn run_labels() -> Json {
        json!({"app.kubernetes.io/managed-by": "polyaxon", "app.kubernetes.io/instance": UUID})
    }

    #[test]
    fn a_replica_failure_is_the_replica_sets_failed_create() {
        let object = deployment(
            json!([
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
                {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                 "message": format!("pods \"plx-operation-{UUID}-5d4f8b7c9-\" is forbidden: exceeded quota: compute"),
                 "lastTransitionTime": "2026-12-07T10:00:01Z"},
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                 "message": format!("ReplicaSet \"plx-operation-{UUID}-5d4f8b7c9\" has timed out progressing.")}
            ]),
            run_labels(),
        );
        let events = condition_events(&object);
        assert_eq!(events.len(), 2);
        assert_eq!(&*events[0].involved_kind, "ReplicaSet");
        assert_eq!(
            events[0].involved_name,
            format!("plx-operation-{UUID}-5d4f8b7c9")
        );
        assert_eq!(&*events[0].reason, "FailedCreate");
        assert!(events[0].message.starts_with("Error creating: pods"));
        assert_eq!(&*events[1].reason, "ProgressDeadlineExceeded");
    }

    #[test]
    fn a_rolled_out_service_and_a_platform_deployment_say_nothing() {
        let healthy = deployment(
            json!([{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]),
            run_labels(),
        );
        assert!(condition_events(&healthy).is_empty());
        let platform = deployment(
            json!([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "x"}]),
            json!({"app.kubernetes.io/part-of": "polyaxon-core"}),
        );
        assert!(condition_events(&platform).is_empty());
    }
}
