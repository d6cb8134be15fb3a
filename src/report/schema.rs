//! JSON Schemas generated from the code, so that the checked-in copies
//! under `schema/` cannot drift unnoticed (tests compare them): the report
//! (`report.v1.json`), `.pxdoctor.yaml` (`config.v1.json`) and rule files
//! (`rule.v1.json`). Editors use the last two for completion and checks.
//!
//! The rule loader reads spanned values that schemars cannot describe, so
//! rule files are described by [`RuleFile`], which mirrors the loader's
//! model; a test compares its keys with the keys the loader accepts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde_json::{Value, json};

use super::Report;
use super::finding::{Category, Severity};
use crate::engine::fold::GROUPS;
use crate::facts::FactKind;

pub fn report_schema() -> String {
    pretty(&schemars::schema_for!(Report))
}

pub fn config_schema() -> String {
    pretty(&schemars::schema_for!(crate::config::ConfigDoc))
}

pub fn rule_schema() -> String {
    let mut schema = schemars::schema_for!(RuleFile);
    // The fact kinds and fold groups are defined in code, not as types:
    // list them here so the schema names exactly what the loader accepts.
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        if let Some(Value::Object(fact)) = properties.get_mut("fact") {
            fact.insert("enum".into(), json!(FactKind::ALL.map(FactKind::name)));
        }
        if let Some(Value::Object(fold)) = properties.get_mut("fold") {
            let groups: Vec<&str> = GROUPS.iter().map(|g| g.name).collect();
            fold.insert("enum".into(), json!(groups));
        }
    }
    pretty(&schema)
}

fn pretty(schema: &schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// A rule file (`rules/<category>/*.yaml`, or one under `--rules DIR`).
#[derive(JsonSchema)]
#[schemars(title = "pxdoctor rule file", deny_unknown_fields)]
#[allow(dead_code)]
pub struct RuleFile {
    /// A stable id, one word: PXD-PEND-002, TEAM-001.
    #[schemars(regex(pattern = r"^\S+$"))]
    id: String,
    /// A template: `{name}` is a capture or a field of the fact.
    title: String,
    category: Category,
    severity: Severity,
    /// The kind of fact the rule matches.
    fact: String,
    /// Findings of one fold group on one subject become one finding.
    fold: Option<String>,
    /// Matches only where no other rule of its kind and fold group did.
    #[serde(default)]
    fallback: bool,
    /// Which folded cause leads when severity and node count tie.
    #[serde(default)]
    priority: i64,
    /// A symptom is left out of a folded finding when another cause on the
    /// same subject explains it; its evidence stays.
    #[serde(default)]
    symptom: bool,
    /// Field → matcher; all must hold. A string is a regex (named groups
    /// are captures), a number or true/false is equality, a list is
    /// one-of, a map names operators.
    #[serde(rename = "match", default)]
    matchers: BTreeMap<String, MatcherFile>,
    /// A template; `[[ ... ]]` is left out when a value inside is unknown.
    explain: String,
    /// A template.
    remediation: String,
    docs: Option<String>,
    /// Facts that must match (with the captures expected) and look-alikes
    /// that must not (`matches: false`); `pxdoctor rules test` runs them.
    #[serde(default)]
    examples: Vec<ExampleFile>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum MatcherFile {
    Regex(String),
    Number(f64),
    Flag(bool),
    OneOf(Vec<Scalar>),
    Operators(Operators),
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Scalar {
    Text(String),
    Number(f64),
    Flag(bool),
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct Operators {
    equals: Option<Scalar>,
    regex: Option<String>,
    not_regex: Option<String>,
    one_of: Option<Vec<Scalar>>,
    not_one_of: Option<Vec<Scalar>>,
    gt: Option<f64>,
    gte: Option<f64>,
    lt: Option<f64>,
    lte: Option<f64>,
    present: Option<bool>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct ExampleFile {
    /// Field values of the fact; a scheduling example may give only the
    /// scheduler's `message`, parsed as a real event would be.
    fact: BTreeMap<String, Scalar>,
    /// false for a look-alike (default true).
    matches: Option<bool>,
    /// Captures the match must yield.
    #[serde(default)]
    captures: BTreeMap<String, String>,
}
