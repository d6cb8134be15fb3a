//! Log tails of containers, one fact per line, so rules can match what
//! Polyaxon's sidecar and init containers print.

use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, RunRef, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, text};
use crate::facts::shared::words::classify;
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
    /// The tail of a log, one entry per record: a line with the lines that
    /// continue it (a multi-line JSON body, an indented traceback frame, a
    /// "Caused by:"), so a code and its status are read together.
    pub fn from_text(namespace: &str, pod: &str, container: &str, content: &str) -> LogTail {
        let all: Vec<&str> = content.lines().collect();
        let start = all.len().saturating_sub(TAIL_LINES);
        // Credentials in a log line never get further than this.
        let lines = crate::redact::redact_lines(all[start..].iter().copied());
        LogTail {
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            container: container.to_string(),
            lines: records(lines),
            run: None,
        }
    }

    /// How many of its first records a later one recovers from: a client
    /// that says it retried and succeeded ("Attempt 3/3 succeeded", the
    /// vocabularies' cause `recovered`) makes the errors before it history.
    pub fn recovered_records(&self) -> usize {
        self.lines
            .iter()
            .rposition(|line| classify(line).is_some_and(|c| c.cause == RECOVERED))
            .map_or(0, |last| last + 1)
    }
}

/// The vocabularies' cause for a client's word that it recovered.
const RECOVERED: &str = "recovered";

/// Joins continuation lines to the record they continue.
fn records(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        let continues = line.starts_with([' ', '\t', '}', ']', ')'])
            || line.starts_with("Caused by")
            || line.starts_with("During handling of");
        match out.last_mut() {
            Some(record) if continues && !line.trim().is_empty() => {
                record.push('\n');
                record.push_str(&line);
            }
            _ => out.push(line),
        }
    }
    out
}

/// A log level a line states: glog's `I1128`/`W1128`/`E1128`, or a word
/// such as INFO, `s3.INFO`, `[DEBUG]`. None when it states none.
pub fn level(line: &str) -> Option<&'static str> {
    static GLOG: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"^([IWEF])\d{4} ").expect("glog"));
    static WORD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL)\b")
            .expect("level")
    });
    if let Some(glog) = GLOG.captures(line) {
        return Some(match &glog[1] {
            "I" => "INFO",
            "W" => "WARNING",
            "E" => "ERROR",
            _ => "FATAL",
        });
    }
    let head = &line[..line.len().min(120)];
    WORD.captures(head).map(|c| match &c[1] {
        "TRACE" => "TRACE",
        "DEBUG" => "DEBUG",
        "INFO" => "INFO",
        "WARN" | "WARNING" => "WARNING",
        "ERROR" => "ERROR",
        "FATAL" => "FATAL",
        _ => "CRITICAL",
    })
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
        "level",
        Text,
        "the log level the line states: DEBUG, INFO, WARNING, ERROR, ... (absent when it states none)",
    ),
    field(
        "recovered",
        Bool,
        "a later line of the same log says the client retried and succeeded (its cause is then none)",
    ),
];

/// One line of one tail, as rules see it.
pub struct LogLine<'a> {
    pub tail: &'a LogTail,
    pub line: &'a str,
    /// A later line says the client recovered (LogTail::recovered_records).
    pub recovered: bool,
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
            // What a client recovered from is no cause.
            "cause" if self.recovered => Some(text("none")),
            "cause" => classify(self.line).map(|c| text(c.cause)),
            "cause_term" => classify(self.line).map(|c| text(c.term)),
            "level" => level(self.line).map(text),
            "recovered" => Some(Value::Bool(self.recovered)),
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
