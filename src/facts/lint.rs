//! One problem `pxdoctor lint` found in a polyaxonfile, as a fact.
//!
//! The lint checks parse the file and build the DAG with Polyaxon's own
//! semantics; each problem becomes one of these, named by `check` and with
//! its details as fields, so that a rule file (rules/dag/) explains it and
//! says the fix, exactly as rules explain cluster facts.

use std::collections::BTreeMap;

use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, Location, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

#[derive(Debug, Clone, PartialEq)]
pub struct LintFact {
    /// Which check found it: cycle, orphan_ref, missing_output, ...
    pub check: String,
    pub location: Location,
    /// The line of the file the location points at, trimmed.
    pub snippet: String,
    /// The check's details, named as in [`FIELDS`].
    pub details: BTreeMap<&'static str, Value<'static>>,
}

pub const FIELDS: &[FieldSpec] = &[
    field("check", Text, "the lint check that found it, e.g. cycle"),
    field(
        "problem",
        Text,
        "why a file could not be read or parsed (check: unreadable)",
    ),
    field("file", Text, "the polyaxonfile"),
    field("line", Number, "the line the finding points at"),
    field("column", Number, "the column the finding points at"),
    field("snippet", Text, "that line of the file"),
    field(
        "polyaxon_error",
        Text,
        "what Polyaxon itself says when it meets this",
    ),
    field(
        "api_error",
        Text,
        "what the Kubernetes API server answers when it meets this",
    ),
    field("op", Text, "the operation concerned"),
    field("ops", Text, "operations in order, e.g. a cycle: a → b → a"),
    field("edges", Text, "how each edge of a cycle or path is formed"),
    field("component", Text, "the component concerned"),
    field("entity", Text, "operation or component"),
    field("param", Text, "the param concerned"),
    field("section", Text, "outputs or inputs; or where a field sits"),
    field("output", Text, "the output (or input) a param reads"),
    field("declared", Text, "what the upstream component declares"),
    field("upstream", Text, "the operation a ref or dependency names"),
    field("ref", Text, "the param's ref, e.g. ops.preprocess"),
    field("value", Text, "the value as written"),
    field("input_type", Text, "the type the input declares"),
    field("output_type", Text, "the type the upstream output declares"),
    field("field", Text, "a field name as written"),
    field("suggestion", Text, "the name it was probably meant to be"),
    field("allowed", Text, "the values or fields accepted there"),
    field("effect", Text, "what Polyaxon or Kubernetes does with it"),
    field("trigger", Text, "the trigger policy"),
    field("strict", Bool, "strictParams or contextOnly: false applies"),
    field("resource", Text, "a resource name, e.g. nvidia.com/gpu"),
    field("container", Text, "the container concerned"),
    field("request", Text, "the request as written"),
    field("limit", Text, "the limit as written"),
    field("largest", Text, "the most any node offers"),
    field("largest_node", Text, "the node that offers it"),
    field("nodes", Number, "how many nodes were considered"),
    field("selector", Text, "a nodeSelector, as key=value pairs"),
    field("claim", Text, "a PersistentVolumeClaim name"),
    field("service_account", Text, "a ServiceAccount name"),
    field("namespace", Text, "the namespace looked in"),
    field(
        "via",
        Text,
        "how the file refers to it (volume, connection)",
    ),
    field("timeout", Number, "the DAG's termination.timeout, seconds"),
    field(
        "path_timeout",
        Number,
        "the sum of timeouts along the longest path, seconds",
    ),
    field("size", Text, "how much data the directory holds"),
    field("dir", Text, "the directory concerned"),
    field("patterns", Text, ".polyaxonignore patterns to add"),
    field("message", Text, "what is wrong, in one sentence"),
    field(
        "refused",
        Bool,
        "Polyaxon refuses the field (else Kubernetes drops it)",
    ),
    field(
        "polyaxon_version",
        Text,
        "the Polyaxon schema the file was checked against",
    ),
    field("resolved", Text, "a pathRef resolved next to the file"),
    field("looks_like", Text, "what a file that is no polyaxonfile is"),
];

impl FieldSource for LintFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "check" => Some(text(&self.check)),
            "file" => Some(text(&self.location.file)),
            "line" => Some(num(self.location.line as f64)),
            "column" => Some(num(self.location.column as f64)),
            "snippet" => Some(text(&self.snippet)),
            _ => self.details.get(name).cloned(),
        }
    }
}

impl Fact for LintFact {
    /// One subject per place in a file, so that two problems of one kind in
    /// one file stay two findings.
    fn subject(&self) -> Subject {
        Subject {
            kind: "Polyaxonfile".into(),
            namespace: None,
            name: format!(
                "{}:{}:{}",
                self.location.file, self.location.line, self.location.column
            ),
            run: None,
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        vec![
            Evidence::new("Line")
                .name(self.location.line.to_string())
                .message(self.snippet.clone()),
        ]
    }

    fn location(&self) -> Option<Location> {
        Some(self.location.clone())
    }
}
