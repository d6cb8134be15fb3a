//! A run's timeline from Polyaxon's records, for the runs the records were
//! asked about: what Kubernetes forgot (or never saw), in order, with the
//! words Polyaxon kept.

use schemars::JsonSchema;
use serde::Serialize;

use crate::facts::RunRef;
use crate::facts::records::{ArchivedLogs, RunRecord};

/// What the report says of a run known from Polyaxon's records.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct History {
    pub run: RunRef,
    /// Polyaxon's status now: failed, stopped, queued, ...
    pub status: String,
    /// Whether Kubernetes still holds something of the run; when not, the
    /// findings come from the records alone.
    pub in_cluster: bool,
    /// The sentence that says where the answer comes from.
    pub source: String,
    /// archived, none or unknown.
    pub logs: String,
    /// The status conditions, oldest first.
    pub timeline: Vec<Moment>,
}

/// One status condition.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Moment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl History {
    pub fn of(record: &RunRecord, in_cluster: bool) -> History {
        History {
            run: record.run_ref(),
            status: record.status.clone(),
            in_cluster,
            source: if in_cluster {
                "Polyaxon's records add the history the cluster no longer holds".into()
            } else {
                "from Polyaxon's records: Kubernetes holds nothing of this run now".into()
            },
            logs: match &record.logs {
                ArchivedLogs::Lines(lines) => format!("archived ({} lines)", lines.len()),
                ArchivedLogs::None => "none archived".into(),
                ArchivedLogs::Unknown(_) if in_cluster => {
                    "not read (the cluster holds the run)".into()
                }
                ArchivedLogs::Unknown(why) => format!("not read: {why}"),
            },
            timeline: record
                .conditions
                .iter()
                .filter(|c| c.status)
                .map(|c| Moment {
                    time: c.time.map(|t| t.to_string()),
                    status: c.type_.clone(),
                    reason: c.reason.clone(),
                    message: crate::redact::redact_line(c.message.lines().next().unwrap_or("")),
                })
                .collect(),
        }
    }

    /// The timeline as lines for people: `2026-12-07 10:02 warning ContainersNotReady: 0/3 nodes ...`.
    pub fn lines(&self) -> Vec<String> {
        self.timeline
            .iter()
            .map(|m| {
                let time = m
                    .time
                    .as_deref()
                    .map(|t| t.get(..16).unwrap_or(t).replace('T', " "))
                    .unwrap_or_else(|| "(no time)".into());
                let mut line = format!("{time} {}", m.status);
                if !m.reason.is_empty() {
                    line.push(' ');
                    line.push_str(&m.reason);
                }
                if !m.message.is_empty() {
                    line.push_str(": ");
                    line.push_str(&m.message);
                }
                line
            })
            .collect()
    }
}
