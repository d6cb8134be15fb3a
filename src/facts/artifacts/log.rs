//! Log tails of containers, one fact per line, so rules can match what
//! Polyaxon's sidecar and init containers print.

use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, RunRef, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, text};
use crate::facts::workloads::run::is_polyaxon_container;

/// How many lines of each container's log are kept: the end is what explains.
pub const TAIL_LINES: usize = 200;

#[derive(Debug, Clone)]
pub struct LogTail {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub lines: Vec<String>,
    /// Set when facts are correlated.
    pub run: Option<RunRef>,
}

impl LogTail {
    pub fn from_text(namespace: &str, pod: &str, container: &str, content: &str) -> LogTail {
        let all: Vec<&str> = content.lines().collect();
        let start = all.len().saturating_sub(TAIL_LINES);
        LogTail {
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            container: container.to_string(),
            // Credentials in a log line never get further than this.
            lines: crate::redact::redact_lines(all[start..].iter().copied()),
            run: None,
        }
    }
}

pub const FIELDS: &[FieldSpec] = &[
    field("namespace", Text, "the pod's namespace"),
    field("pod", Text, "the pod's name"),
    field("container", Text, "the container's name"),
    field("line", Text, "one line of the container's log tail"),
    field(
        "polyaxon_container",
        Bool,
        "polyaxon-main, -sidecar or -init-*",
    ),
    field("subject", Text, "the run (or pod) as people name it"),
];

/// One line of one tail, as rules see it.
pub struct LogLine<'a> {
    pub tail: &'a LogTail,
    pub line: &'a str,
}

impl FieldSource for LogLine<'_> {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "namespace" => Some(text(&self.tail.namespace)),
            "pod" => Some(text(&self.tail.pod)),
            "container" => Some(text(&self.tail.container)),
            "line" => Some(text(self.line)),
            "polyaxon_container" => Some(Value::Bool(is_polyaxon_container(&self.tail.container))),
            "subject" => Some(text(self.subject().label())),
            _ => None,
        }
    }
}

impl Fact for LogLine<'_> {
    fn subject(&self) -> Subject {
        Subject {
            kind: "Pod".into(),
            namespace: Some(self.tail.namespace.clone()),
            name: self.tail.pod.clone(),
            run: self.tail.run.clone(),
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        vec![
            Evidence::new("Log")
                .name(format!("{}/{}", self.tail.pod, self.tail.container))
                .message(self.line.to_string()),
        ]
    }
}
