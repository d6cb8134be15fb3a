//! A finding: one rule's verdict on one subject, with what, why and fix.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;

use crate::facts::{Evidence, Location, Subject};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Error, Severity::Warning, Severity::Info];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    pub fn from_name(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Pending,
    Mount,
    Auth,
    Artifacts,
    Runtime,
    Node,
    Quota,
    Platform,
    Dag,
    Collection,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Pending,
        Category::Mount,
        Category::Auth,
        Category::Artifacts,
        Category::Runtime,
        Category::Node,
        Category::Quota,
        Category::Platform,
        Category::Dag,
        Category::Collection,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Pending => "pending",
            Category::Mount => "mount",
            Category::Auth => "auth",
            Category::Artifacts => "artifacts",
            Category::Runtime => "runtime",
            Category::Node => "node",
            Category::Quota => "quota",
            Category::Platform => "platform",
            Category::Dag => "dag",
            Category::Collection => "collection",
        }
    }

    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One cause inside a folded finding (e.g. each reason a run is Pending).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Cause {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub explanation: String,
    pub remediation: String,
}

/// How a finding joins others on the same subject into one (see
/// `engine::fold`): the group's header and this cause's phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldPart {
    pub group: String,
    pub header: String,
    pub phrase: String,
    /// Larger weighs more among causes of the same severity (node count).
    pub weight: u64,
    /// Breaks ties of weight: the rule's `priority`.
    pub priority: i64,
    /// The rule's `symptom`: dropped when a cause on the subject explains it.
    pub symptom: bool,
}

/// What a fallback rule's finding stands on, which decides who leads when
/// fallbacks of equal severity meet on one subject: the words of a current
/// event or log line say why, so they lead; the durable status (a pod's, a
/// container's, a Job's), which also stands when the words are gone,
/// becomes their evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fallback {
    Words,
    Durable,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub subject: Subject,
    pub explanation: String,
    pub remediation: String,
    pub evidence: Vec<Evidence>,
    /// A file position, for findings about files (polyaxonfiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// Present when several causes on one subject were folded into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    #[serde(skip)]
    #[schemars(skip)]
    pub fold: Option<FoldPart>,
    /// Set for an unfolded fallback rule's finding: it yields to a specific
    /// finding on the same subject (see `report::yield_fallbacks`).
    #[serde(skip)]
    #[schemars(skip)]
    pub fallback: Option<Fallback>,
}
