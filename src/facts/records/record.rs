//! A run as Polyaxon's API records it: the run, its status conditions
//! (oldest first) and its archived logs. Decoded leniently, as haupt 2.18
//! answers: a condition's `status` is "True" or a JSON boolean, times carry
//! milli- or microseconds, fields may be null.

use jiff::Timestamp;
use serde_json::Value as Json;

/// One entry of a run's status history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCondition {
    /// Polyaxon's status, lower case: created, queued, scheduled, warning, ...
    pub type_: String,
    pub status: bool,
    pub reason: String,
    pub message: String,
    /// When it came about (last_transition_time, else last_update_time).
    pub time: Option<Timestamp>,
}

/// One archived log line (`{uuid}/plxlogs/*`, served by the streams API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub time: Option<Timestamp>,
    pub node: String,
    pub pod: String,
    pub container: String,
    pub value: String,
}

/// What is known of a run's archived logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchivedLogs {
    /// Not asked for, or the answer could not be read (said why).
    Unknown(String),
    /// Polyaxon holds none for the run.
    None,
    Lines(Vec<LogLine>),
}

/// A run's record.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub uuid: String,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub project: Option<String>,
    /// job, service, tfjob, ..., dag, matrix.
    pub kind: Option<String>,
    pub status: String,
    pub created_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub namespace: Option<String>,
    pub agent: Option<String>,
    pub queue: Option<String>,
    pub artifacts_store: Option<String>,
    /// Whether an agent runs it on Kubernetes (false: a local or external run).
    pub is_managed: bool,
    /// What the run waits for before it can be scheduled (approval,
    /// upload, build, cache), when Polyaxon says.
    pub pending: Option<String>,
    /// The compiled polyaxonfile (`content`), as Polyaxon stored it.
    pub content: Option<Json>,
    pub conditions: Vec<StatusCondition>,
    pub logs: ArchivedLogs,
}

/// Where Polyaxon runs a run when its record does not say (the chart's
/// default namespace).
pub const DEFAULT_NAMESPACE: &str = "polyaxon";

/// Polyaxon's final statuses (V1Statuses' done set).
pub const DONE: &[&str] = &[
    "succeeded",
    "failed",
    "upstream_failed",
    "stopped",
    "skipped",
    "done",
];

impl RunRecord {
    /// A run from `GET /api/v1/{owner}/{project}/runs/{uuid}` (or a list
    /// item), with no history yet. None when it carries no uuid.
    pub fn from_api(run: &Json) -> Option<RunRecord> {
        let uuid = normal_uuid(string(run, "uuid")?.as_str());
        let settings = run.get("settings");
        let setting = |key: &str| settings.and_then(|s| setting_name(s.get(key)?));
        Some(RunRecord {
            uuid,
            name: string(run, "name"),
            owner: string(run, "owner"),
            project: string(run, "project"),
            kind: string(run, "kind"),
            status: string(run, "status").unwrap_or_else(|| "unknown".into()),
            created_at: time(run.get("created_at")),
            started_at: time(run.get("started_at")),
            finished_at: time(run.get("finished_at")),
            updated_at: time(run.get("updated_at")),
            namespace: setting("namespace"),
            agent: setting("agent"),
            queue: setting("queue"),
            artifacts_store: setting("artifacts_store"),
            is_managed: run
                .get("is_managed")
                .and_then(Json::as_bool)
                .unwrap_or(true),
            pending: string(run, "pending"),
            content: run
                .get("content")
                .and_then(Json::as_str)
                .and_then(|text| serde_json::from_str(text).ok())
                .or_else(|| run.get("content").filter(|c| c.is_object()).cloned()),
            conditions: Vec::new(),
            logs: ArchivedLogs::Unknown("not read".into()),
        })
    }

    /// The history of `GET .../runs/{uuid}/statuses`, oldest first.
    pub fn set_conditions(&mut self, statuses: &Json) {
        let list = statuses
            .get("status_conditions")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut conditions: Vec<StatusCondition> = list.iter().filter_map(condition).collect();
        // Kept in the server's order when times tie or are missing.
        conditions.sort_by_key(|c| c.time);
        self.conditions = conditions;
    }

    /// The run as findings name it.
    pub fn run_ref(&self) -> crate::facts::RunRef {
        crate::facts::RunRef {
            uuid: self.uuid.clone(),
            owner: self.owner.clone(),
            project: self.project.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
        }
    }

    /// Done: succeeded, failed, stopped, ...
    pub fn is_done(&self) -> bool {
        DONE.contains(&self.status.as_str())
    }

    /// `<owner>.<project>.runs.<uuid>`, as Polyaxon names a run in full.
    pub fn full_name(&self) -> String {
        format!(
            "{}.{}.runs.{}",
            self.owner.as_deref().unwrap_or("?"),
            self.project.as_deref().unwrap_or("?"),
            self.uuid
        )
    }

    /// When the run reached Kubernetes: its first scheduled (or later)
    /// condition. None when it never did.
    pub fn scheduled_at(&self) -> Option<Timestamp> {
        self.conditions
            .iter()
            .find(|c| {
                c.status
                    && matches!(
                        c.type_.as_str(),
                        "scheduled"
                            | "starting"
                            | "running"
                            | "processing"
                            | "warning"
                            | "unschedulable"
                    )
            })
            .and_then(|c| c.time)
            .or(self.started_at)
    }

    /// The moment the record describes, judged at `read_at`: a finished
    /// run's end (its last condition, else finished_at), or the time it
    /// was read for a run still going.
    pub fn as_of(&self, read_at: Timestamp) -> Timestamp {
        if !self.is_done() {
            return read_at;
        }
        self.conditions
            .iter()
            .filter_map(|c| c.time)
            .max()
            .or(self.finished_at)
            .unwrap_or(read_at)
    }
}

/// One condition; None when it has no type.
fn condition(value: &Json) -> Option<StatusCondition> {
    let type_ = string(value, "type")?.to_ascii_lowercase();
    let status = match value.get("status") {
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => s.eq_ignore_ascii_case("true"),
        // A condition without a status is Polyaxon saying it happened.
        _ => true,
    };
    Some(StatusCondition {
        type_,
        status,
        reason: string(value, "reason").unwrap_or_default(),
        message: string(value, "message").unwrap_or_default(),
        time: time(value.get("last_transition_time")).or(time(value.get("last_update_time"))),
    })
}

/// A uuid as Polyaxon labels pods with it: 32 lower-case hex digits.
pub fn normal_uuid(uuid: &str) -> String {
    uuid.chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase()
}

fn string(value: &Json, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Json::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A setting that is a name, or an object with a name (agent, queue).
fn setting_name(value: &Json) -> Option<String> {
    match value {
        Json::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Json::Object(_) => string(value, "name").or_else(|| string(value, "uuid")),
        _ => None,
    }
}

/// An ISO 8601 time as haupt writes it: `Z` or `+00:00`, with or without
/// fractions; a time without an offset is UTC (Django's naive times).
pub fn time(value: Option<&Json>) -> Option<Timestamp> {
    let text = value?.as_str()?.trim();
    text.parse::<Timestamp>().ok().or_else(|| {
        text.parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_run_and_its_history_are_read_as_haupt_writes_them() {
        let mut run = RunRecord::from_api(&json!({
            "uuid": "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9", "name": "train", "kind": "job",
            "status": "failed", "owner": "acme", "project": "mnist",
            "created_at": "2026-12-08T00:03:23Z", "finished_at": "2026-12-08T00:23:23.709789Z",
            "settings": {"namespace": "polyaxon", "agent": null, "queue": {"name": "gpu"}},
            "content": "{\"kind\": \"compiled_operation\"}"
        }))
        .unwrap();
        assert_eq!(run.uuid, "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
        assert_eq!(run.namespace.as_deref(), Some("polyaxon"));
        assert_eq!(run.queue.as_deref(), Some("gpu"));
        assert_eq!(run.agent, None);
        assert!(run.is_done());
        assert_eq!(
            run.full_name(),
            "acme.mnist.runs.0a1b2c3d4e5f60718293a4b5c6d7e8f9"
        );
        assert!(run.content.is_some());
        run.set_conditions(&json!({"status_conditions": [
            {"type": "failed", "status": true, "reason": "PodFailed", "message": "x",
             "last_transition_time": "2026-12-08T00:23:23.709Z"},
            {"type": "created", "status": "True", "reason": "PolyaxonRunCreated",
             "last_transition_time": "2026-12-08T00:03:23.123456+00:00"},
            {"type": "queued", "status": "False", "last_update_time": "2026-12-08T00:04:00"}
        ]}));
        let types: Vec<&str> = run.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["created", "queued", "failed"]);
        assert!(!run.conditions[1].status, "\"False\" is false");
        assert!(run.conditions[2].status, "a JSON true is true");
        let read_at: Timestamp = "2026-12-09T00:00:00Z".parse().unwrap();
        assert_eq!(run.as_of(read_at).to_string(), "2026-12-08T00:23:23.709Z");
        run.status = "queued".into();
        assert_eq!(
            run.as_of(read_at),
            read_at,
            "a run still going is judged when read"
        );
    }

    #[test]
    fn a_record_without_a_uuid_is_none() {
        assert!(RunRecord::from_api(&json!({"name": "x"})).is_none());
    }
}
