//! Containers that are not well: waiting for a reason, terminated with a
//! failure, or restarted. Healthy containers are not kept (at 100k pods they
//! would be most of the memory and none of the findings).

use k8s_openapi::api::core::v1::{Container, ContainerStatus};

use super::run::is_polyaxon_container;
use crate::facts::Fact;
use crate::facts::shared::quantity::{format_milli, parse_milli};
use crate::facts::shared::subject::{Evidence, RunRef, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

#[derive(Debug, Clone, Default)]
pub struct ContainerFact {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub init: bool,
    /// waiting, running or terminated.
    pub state: String,
    pub reason: String,
    pub message: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub restarts: i32,
    pub last_reason: Option<String>,
    pub last_exit_code: Option<i32>,
    pub memory_limit: Option<String>,
    pub image: String,
    /// Set when facts are correlated.
    pub run: Option<RunRef>,
    /// Set when facts are correlated: the last lines of its log, if read.
    pub log_tail: Vec<String>,
}

pub const FIELDS: &[FieldSpec] = &[
    field("namespace", Text, "the pod's namespace"),
    field("pod", Text, "the pod's name"),
    field("container", Text, "the container's name"),
    field("init", Bool, "an init container"),
    field(
        "polyaxon_container",
        Bool,
        "polyaxon-main, -sidecar or -init-*",
    ),
    field(
        "polyaxon_init",
        Bool,
        "one of Polyaxon's init containers (polyaxon-init-*)",
    ),
    field("state", Text, "waiting, running or terminated"),
    field(
        "reason",
        Text,
        "CrashLoopBackOff, ImagePullBackOff, OOMKilled, Error, ...",
    ),
    field("message", Text, "the state's message"),
    field(
        "cause",
        Text,
        "the cause its message shows, by the vocabularies (rules/vocabularies/): image-auth, dns, ...",
    ),
    field("cause_term", Text, "the term that showed it"),
    field(
        "failing",
        Bool,
        "failing now: waiting for a reason other than ContainerCreating or PodInitializing, or terminated with a non-zero exit code or OOMKilled",
    ),
    field(
        "signal",
        Number,
        "the signal that ended it, when the runtime says",
    ),
    field("exit_code", Number, "exit code of the current termination"),
    field("restarts", Number, "restart count"),
    field("last_reason", Text, "reason of the previous termination"),
    field(
        "last_exit_code",
        Number,
        "exit code of the previous termination",
    ),
    field(
        "last_exit_meaning",
        Text,
        "what that exit code usually means: 126 not executable, 127 command not found, 128+N signal N, ...",
    ),
    field("memory_limit", Text, "the container's memory limit"),
    field("image", Text, "the image"),
    field(
        "log_tail",
        Text,
        "the last 3 lines of its log, when collected, joined with \" / \"",
    ),
    field("subject", Text, "the run (or pod) as people name it"),
];

impl ContainerFact {
    /// The fact for one status, or None when the container is well.
    pub fn from_status(
        namespace: &str,
        pod: &str,
        init: bool,
        status: &ContainerStatus,
        spec: Option<&Container>,
    ) -> Option<ContainerFact> {
        let state = status.state.as_ref();
        let last = status
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref());
        let (state_name, reason, message, exit_code, signal) =
            if let Some(waiting) = state.and_then(|s| s.waiting.as_ref()) {
                (
                    "waiting",
                    waiting.reason.clone().unwrap_or_default(),
                    waiting.message.clone().unwrap_or_default(),
                    None,
                    None,
                )
            } else if let Some(terminated) = state.and_then(|s| s.terminated.as_ref()) {
                (
                    "terminated",
                    terminated.reason.clone().unwrap_or_default(),
                    terminated.message.clone().unwrap_or_default(),
                    Some(terminated.exit_code),
                    terminated.signal,
                )
            } else {
                ("running", String::new(), String::new(), None, None)
            };
        let well = match state_name {
            "waiting" => matches!(
                reason.as_str(),
                "ContainerCreating" | "PodInitializing" | ""
            ),
            "terminated" => exit_code == Some(0) && reason != "OOMKilled",
            _ => true,
        };
        if well && status.restart_count == 0 {
            return None;
        }
        let memory_limit = spec
            .and_then(|c| c.resources.as_ref())
            .and_then(|r| r.limits.as_ref())
            .and_then(|l| l.get("memory"))
            .and_then(|q| parse_milli(&q.0))
            .map(|milli| format_milli("memory", milli));
        Some(ContainerFact {
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            container: status.name.clone(),
            init,
            state: state_name.to_string(),
            reason,
            message: message.trim().to_string(),
            exit_code,
            signal,
            restarts: status.restart_count,
            last_reason: last.and_then(|t| t.reason.clone()),
            last_exit_code: last.map(|t| t.exit_code),
            memory_limit,
            image: status.image.clone(),
            run: None,
            log_tail: Vec::new(),
        })
    }

    /// Failing now, not only restarted once.
    pub fn is_failing(&self) -> bool {
        match self.state.as_str() {
            "waiting" => !matches!(
                self.reason.as_str(),
                "ContainerCreating" | "PodInitializing" | ""
            ),
            "terminated" => self.exit_code != Some(0) || self.reason == "OOMKilled",
            _ => false,
        }
    }

    fn subject(&self) -> Subject {
        Subject {
            kind: "Pod".into(),
            namespace: Some(self.namespace.clone()),
            name: self.pod.clone(),
            run: self.run.clone(),
        }
    }
}

impl FieldSource for ContainerFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "namespace" => Some(text(&self.namespace)),
            "pod" => Some(text(&self.pod)),
            "container" => Some(text(&self.container)),
            "init" => Some(Value::Bool(self.init)),
            "polyaxon_container" => Some(Value::Bool(is_polyaxon_container(&self.container))),
            "polyaxon_init" => Some(Value::Bool(
                self.init && self.container.starts_with("polyaxon-init-"),
            )),
            "state" => Some(text(&self.state)),
            "reason" => (!self.reason.is_empty()).then(|| text(&self.reason)),
            "message" => (!self.message.is_empty()).then(|| text(&self.message)),
            "failing" => Some(Value::Bool(self.is_failing())),
            "signal" => self.signal.map(num),
            "cause" => crate::facts::shared::words::classify(&self.message).map(|c| text(c.cause)),
            "cause_term" => {
                crate::facts::shared::words::classify(&self.message).map(|c| text(c.term))
            }
            "exit_code" => self.exit_code.map(num),
            "restarts" => Some(num(self.restarts)),
            "last_reason" => self.last_reason.as_deref().map(text),
            "last_exit_code" => self.last_exit_code.map(num),
            "last_exit_meaning" => self
                .last_exit_code
                .and_then(|code| exit_meaning(i64::from(code)))
                .map(text),
            "memory_limit" => self.memory_limit.as_deref().map(text),
            "image" => Some(text(&self.image)),
            "log_tail" => (!self.log_tail.is_empty()).then(|| {
                let start = self.log_tail.len().saturating_sub(3);
                text(self.log_tail[start..].join(" / "))
            }),
            "subject" => Some(text(self.subject().label())),
            _ => None,
        }
    }
}

impl Fact for ContainerFact {
    fn subject(&self) -> Subject {
        ContainerFact::subject(self)
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut state = Evidence::new("Container")
            .name(self.container.clone())
            .reason(format!("{} {}", self.state, self.reason).trim().to_string());
        let mut details = Vec::new();
        if !self.message.is_empty() {
            details.push(self.message.clone());
        }
        if let Some(code) = self.exit_code {
            details.push(format!("exit code {code}"));
        }
        if self.restarts > 0 {
            details.push(format!("{} restarts", self.restarts));
        }
        if let (Some(reason), Some(code)) = (&self.last_reason, self.last_exit_code) {
            details.push(format!("last terminated: {reason}, exit code {code}"));
        }
        if !details.is_empty() {
            state = state.message(details.join("; "));
        }
        let mut evidence = vec![state];
        for line in self.log_tail.iter().rev().take(5).rev() {
            evidence.push(
                Evidence::new("Log")
                    .name(self.container.clone())
                    .message(line.clone()),
            );
        }
        evidence
    }
}

/// What an exit code conventionally says, by the shell's rules (Bash
/// manual, "Exit Status": 126 found but not executable, 127 not found,
/// 128+N fatal signal N) and Python's (2 for a command-line usage error,
/// argparse); None where the code is the program's own.
fn exit_meaning(code: i64) -> Option<String> {
    let signal = |n: i64| match n {
        1 => Some("SIGHUP"),
        2 => Some("SIGINT"),
        6 => Some("SIGABRT, an abort (a failed assertion, a C library's own check)"),
        9 => Some(
            "SIGKILL, killed from outside (the OOM killer, a failed liveness probe, a deletion)",
        ),
        11 => Some("SIGSEGV, a crash in native code"),
        15 => Some("SIGTERM, asked to stop"),
        _ => None,
    };
    match code {
        1 => Some("an error the program reported itself (its log says which)".into()),
        2 => Some(
            "a usage error: the command's arguments were wrong (Python's argparse, shell builtins)"
                .into(),
        ),
        126 => Some("the command was found but is not executable".into()),
        127 => Some("the command was not found in the image".into()),
        129..=192 => Some(match signal(code - 128) {
            Some(name) => format!("it was ended by signal {} ({name})", code - 128),
            None => format!("it was ended by signal {}", code - 128),
        }),
        _ => None,
    }
}
