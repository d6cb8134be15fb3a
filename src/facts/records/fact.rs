//! One run as Polyaxon recorded it, as rules see it: where it stopped
//! (before Kubernetes, on it, done), the condition that says most, and
//! whether its logs were archived.

use jiff::Timestamp;

use super::record::{ArchivedLogs, RunRecord, StatusCondition};
use crate::facts::Fact;
use crate::facts::shared::duration::human;
use crate::facts::shared::subject::{Evidence, RunRef, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

/// Statuses of a run that has not reached Kubernetes yet.
pub const BEFORE_KUBERNETES: &[&str] =
    &["created", "resuming", "on_schedule", "compiled", "queued"];

#[derive(Debug, Clone)]
pub struct RunRecordFact {
    pub run: RunRef,
    pub status: String,
    pub namespace: String,
    pub done: bool,
    /// The record says the run reached Kubernetes (scheduled, or the
    /// operator reported on it).
    pub reached_kubernetes: bool,
    /// The record says its containers ran (a running condition, or a
    /// start time).
    pub ran: bool,
    /// Kubernetes still holds something of the run (pods, Job, resource).
    pub in_cluster: bool,
    /// When the run entered its current status.
    pub entered: Option<Timestamp>,
    /// Seconds since it entered its current status, when not done.
    pub status_seconds: Option<i64>,
    /// Set when facts are correlated: in its status longer than the grace
    /// period.
    pub past_grace: bool,
    /// What Polyaxon says the run waits for (approval, upload, build, ...).
    pub pending: Option<String>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    /// The condition that says most: the newest warning or failure, else
    /// the newest condition.
    pub condition: Option<StatusCondition>,
    /// "archived", "none" or "unknown".
    pub logs: &'static str,
    pub managed: bool,
    /// Runs Polyaxon has on Kubernetes now (names), when asked.
    pub active_runs: Option<Vec<String>>,
    pub history: Vec<StatusCondition>,
}

pub const FIELDS: &[FieldSpec] = &[
    field(
        "status",
        Text,
        "Polyaxon's status: failed, stopped, queued, ...",
    ),
    field(
        "done",
        Bool,
        "the status is final (succeeded, failed, stopped, ...)",
    ),
    field(
        "reached_kubernetes",
        Bool,
        "the record says the run reached Kubernetes (scheduled, or the operator reported on it)",
    ),
    field(
        "ran",
        Bool,
        "its containers ran (a running condition, or a start time)",
    ),
    field(
        "in_cluster",
        Bool,
        "Kubernetes still holds something of the run",
    ),
    field(
        "status_seconds",
        Number,
        "seconds since the run entered its current status (not done)",
    ),
    field("status_for", Text, "the same for people: 5h3m"),
    field(
        "past_grace",
        Bool,
        "in its status longer than the grace period (5m, `grace` in .pxdoctor.yaml)",
    ),
    field("since", Text, "when it entered its current status"),
    field(
        "pending",
        Text,
        "what Polyaxon says it waits for: approval, upload, build, cache",
    ),
    field("queue", Text, "the queue it was submitted to"),
    field("agent", Text, "the agent it was submitted to"),
    field(
        "condition_type",
        Text,
        "the condition that says most: warning, failed, ...",
    ),
    field(
        "condition_reason",
        Text,
        "its reason: AgentLogger, ContainersNotReady, ...",
    ),
    field("condition_message", Text, "its message"),
    field("condition_time", Text, "when it was written"),
    field("logs", Text, "archived, none or unknown"),
    field(
        "managed",
        Bool,
        "an agent runs it on Kubernetes (not a local or external run)",
    ),
    field(
        "active_runs",
        Number,
        "how many runs Polyaxon has on Kubernetes now",
    ),
    field("active_names", Text, "some of them, by name"),
    field("subject", Text, "the run as people name it"),
    field("run_uuid", Text, "the run's uuid"),
];

impl RunRecordFact {
    /// The fact for `record` as read at `read_at` (the records are judged
    /// at the time they were read, whatever the cluster's source);
    /// `in_cluster`: Kubernetes still holds the run.
    pub fn new(
        record: &RunRecord,
        reached_kubernetes: bool,
        ran: bool,
        in_cluster: bool,
        read_at: Timestamp,
    ) -> Self {
        let entered = record
            .conditions
            .iter()
            .rev()
            .find(|c| c.status && c.type_ == record.status)
            .and_then(|c| c.time)
            .or(record.created_at);
        let condition = record
            .conditions
            .iter()
            .rev()
            .find(|c| {
                c.status
                    && matches!(
                        c.type_.as_str(),
                        "warning" | "unschedulable" | "failed" | "upstream_failed" | "stopped"
                    )
            })
            .or(record.conditions.last())
            .cloned();
        RunRecordFact {
            run: record.run_ref(),
            status: record.status.clone(),
            namespace: record
                .namespace
                .clone()
                .unwrap_or_else(|| super::record::DEFAULT_NAMESPACE.to_string()),
            done: record.is_done(),
            reached_kubernetes,
            ran,
            in_cluster,
            entered,
            status_seconds: (!record.is_done())
                .then(|| entered.map(|t| (read_at - t).get_seconds()))
                .flatten(),
            past_grace: false,
            pending: record.pending.clone(),
            queue: record.queue.clone(),
            agent: record.agent.clone(),
            condition,
            logs: match &record.logs {
                ArchivedLogs::Lines(_) => "archived",
                ArchivedLogs::None => "none",
                ArchivedLogs::Unknown(_) => "unknown",
            },
            managed: record.is_managed,
            active_runs: None,
            history: record.conditions.clone(),
        }
    }

    /// Whether it has been in its status longer than `grace` seconds.
    pub fn judge(&mut self, grace: i64) {
        self.past_grace = self.status_seconds.is_some_and(|s| s >= grace);
    }
}

impl FieldSource for RunRecordFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        let condition = self.condition.as_ref();
        let part = |value: &str| (!value.is_empty()).then(|| text(value.to_string()));
        match name {
            "status" => Some(text(&self.status)),
            "done" => Some(Value::Bool(self.done)),
            "reached_kubernetes" => Some(Value::Bool(self.reached_kubernetes)),
            "ran" => Some(Value::Bool(self.ran)),
            "in_cluster" => Some(Value::Bool(self.in_cluster)),
            "status_seconds" => self.status_seconds.map(|s| num(s as f64)),
            "status_for" => self.status_seconds.map(|s| text(human(s))),
            "past_grace" => Some(Value::Bool(self.past_grace)),
            "since" => self.entered.map(|t| text(t.to_string())),
            "pending" => self.pending.as_deref().map(text),
            "queue" => self.queue.as_deref().map(text),
            "agent" => self.agent.as_deref().map(text),
            "condition_type" => condition.and_then(|c| part(&c.type_)),
            "condition_reason" => condition.and_then(|c| part(&c.reason)),
            "condition_message" => condition.and_then(|c| part(&c.message)),
            "condition_time" => condition.and_then(|c| c.time).map(|t| text(t.to_string())),
            "logs" => Some(text(self.logs)),
            "managed" => Some(Value::Bool(self.managed)),
            "active_runs" => self.active_runs.as_ref().map(|runs| num(runs.len() as f64)),
            "active_names" => self.active_runs.as_ref().and_then(|runs| {
                let shown: Vec<&str> = runs.iter().take(5).map(String::as_str).collect();
                (!shown.is_empty()).then(|| {
                    let more = runs.len().saturating_sub(shown.len());
                    text(if more > 0 {
                        format!("{} and {more} more", shown.join(", "))
                    } else {
                        shown.join(", ")
                    })
                })
            }),
            "subject" => Some(text(self.run.label())),
            "run_uuid" => Some(text(&self.run.uuid)),
            _ => None,
        }
    }
}

impl Fact for RunRecordFact {
    fn subject(&self) -> Subject {
        Subject {
            kind: "PolyaxonRun".into(),
            namespace: Some(self.namespace.clone()),
            name: format!(
                "{}.{}.runs.{}",
                self.run.owner.as_deref().unwrap_or("-"),
                self.run.project.as_deref().unwrap_or("-"),
                self.run.uuid
            ),
            run: Some(self.run.clone()),
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut evidence = vec![
            Evidence::new("PolyaxonRun")
                .name(self.run.uuid.clone())
                .reason(format!("status={}", self.status)),
        ];
        if let Some(condition) = &self.condition {
            let mut said = Evidence::new("PolyaxonCondition")
                .reason(if condition.reason.is_empty() {
                    condition.type_.clone()
                } else {
                    format!("{} {}", condition.type_, condition.reason)
                })
                .last_seen(condition.time.map(|t| t.to_string()));
            if !condition.message.is_empty() {
                said = said.message(crate::redact::redact_line(&condition.message));
            }
            evidence.push(said);
        }
        evidence
    }
}
