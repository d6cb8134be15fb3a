//! What a finding is about (a pod, a node, a run) and the evidence behind it.
//!
//! Both are built in the facts step and carried unchanged into the report, so
//! they are serialisable as the JSON report's `subject` and `evidence`.

use schemars::JsonSchema;
use serde::Serialize;

/// The Polyaxon run a Kubernetes object belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
pub struct RunRef {
    pub uuid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl RunRef {
    /// A run known only by its uuid (from an object's name).
    pub fn bare(uuid: &str) -> RunRef {
        RunRef {
            uuid: uuid.to_string(),
            owner: None,
            project: None,
            name: None,
            kind: None,
        }
    }

    /// "run 8f3c2a1b… (acme/mnist, op train)": how people name a run.
    pub fn label(&self) -> String {
        let short: String = self.uuid.chars().take(8).collect();
        let ellipsis = if self.uuid.chars().count() > 8 {
            "…"
        } else {
            ""
        };
        let mut parts = Vec::new();
        match (&self.owner, &self.project) {
            (Some(owner), Some(project)) => parts.push(format!("{owner}/{project}")),
            (None, Some(project)) => parts.push(project.clone()),
            _ => {}
        }
        if let Some(name) = &self.name {
            parts.push(format!("op {name}"));
        }
        if parts.is_empty() {
            format!("run {short}{ellipsis}")
        } else {
            format!("run {short}{ellipsis} ({})", parts.join(", "))
        }
    }
}

/// The Kubernetes object a finding is about, and its run when it has one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
pub struct Subject {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunRef>,
}

impl Subject {
    /// The run's label when there is a run, else "Pod ns/name".
    pub fn label(&self) -> String {
        match &self.run {
            Some(run) => run.label(),
            None => self.object_label(),
        }
    }

    /// "Pod ns/name" or "Node name", whatever the run.
    pub fn object_label(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{} {namespace}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// A place in a file a finding points at (polyaxonfiles, for `lint`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
pub struct Location {
    pub file: String,
    pub line: u64,
    pub column: u64,
}

/// One observation that supports a finding, as the user would see it with
/// kubectl (an event, a condition, a node's free capacity, a log line).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
pub struct Evidence {
    /// Event, Condition, Node, Log, ...
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

impl Evidence {
    pub fn new(kind: &str) -> Self {
        Evidence {
            kind: kind.to_string(),
            name: None,
            reason: None,
            message: None,
            count: None,
            last_seen: None,
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    pub fn count(mut self, count: Option<u64>) -> Self {
        self.count = count;
        self
    }

    pub fn last_seen(mut self, last_seen: Option<String>) -> Self {
        self.last_seen = last_seen;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_label_names_project_and_operation() {
        let run = RunRef {
            uuid: "8f3c2a1b9d7e4c5fa0b1c2d3e4f5a6b7".into(),
            owner: Some("acme".into()),
            project: Some("mnist".into()),
            name: Some("train".into()),
            kind: Some("job".into()),
        };
        assert_eq!(run.label(), "run 8f3c2a1b… (acme/mnist, op train)");
        let bare = RunRef {
            uuid: "abc".into(),
            owner: None,
            project: None,
            name: None,
            kind: None,
        };
        assert_eq!(bare.label(), "run abc");
    }
}
