//! SARIF 2.1.0 (`-o sarif`): the format code-scanning services and IDEs
//! ingest. Every rule is listed with its help text, so a viewer can explain
//! a result without pxdoctor. A finding about a file (lint) points at it
//! with a physical location; a finding about the cluster has no file, so it
//! names where it is with logical locations: namespace, object and run.
//! The test suite validates this output against the official schema in
//! `schema/sarif-2.1.0.json`.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serde_sarif::sarif;

use super::finding::{Finding, Severity};
use super::{RenderContext, Report, RuleInfo, Suppression};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Identifies a finding across runs (same rule, same subject), so that a
/// code-scanning service tracks one alert instead of opening a new one.
const FINGERPRINT: &str = "pxdoctor/subject/v1";

pub fn render(report: &Report, context: &RenderContext<'_>) -> String {
    let mut rules: Vec<RuleInfo> = context.rules.to_vec();
    // Findings of rules the catalogue does not hold (made in code, e.g. by
    // lint) still need a descriptor for `ruleIndex` to point at.
    let reported = report.findings.iter().chain(
        report
            .suppressed
            .iter()
            .flatten()
            .map(|suppressed| &suppressed.finding),
    );
    for finding in reported {
        if !rules.iter().any(|rule| rule.id == finding.rule) {
            rules.push(RuleInfo {
                id: finding.rule.clone(),
                title: finding.title.clone(),
                category: finding.category,
                severity: finding.severity,
                explanation: finding.explanation.clone(),
                remediation: finding.remediation.clone(),
                docs: finding.docs.clone(),
            });
        }
    }
    let index: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| (rule.id.as_str(), i))
        .collect();

    let mut results: Vec<sarif::Result> = report
        .findings
        .iter()
        .map(|finding| result(finding, index[finding.rule.as_str()], None))
        .collect();
    for suppressed in report.suppressed.iter().flatten() {
        let finding = &suppressed.finding;
        results.push(result(
            finding,
            index[finding.rule.as_str()],
            Some(&suppressed.suppression),
        ));
    }

    let driver = sarif::ToolComponent::builder()
        .name("pxdoctor")
        .version(report.tool.version.clone())
        .semantic_version(report.tool.version.clone())
        .rules(rules.iter().map(descriptor).collect::<Vec<_>>())
        .build();
    let notifications: Vec<sarif::Notification> = report
        .collection
        .skipped
        .iter()
        .map(|skipped| {
            sarif::Notification::builder()
                .level(json!("warning"))
                .message(text(format!(
                    "not checked: {}: {}",
                    skipped.resource, skipped.reason
                )))
                .build()
        })
        .chain(report.collection.errors.iter().map(|error| {
            sarif::Notification::builder()
                .level(json!("error"))
                .message(text(error.clone()))
                .build()
        }))
        .collect();
    let invocation = sarif::Invocation::builder()
        .execution_successful(true)
        .exit_code(i64::from(context.fail_on.exit_code(report)))
        .tool_execution_notifications(notifications)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("unicodeCodePoints"))
        .properties(bag(
            Vec::new(),
            [
                ("source", to_value(&report.source)),
                ("summary", to_value(&report.summary)),
            ],
        ))
        .build();
    let log = sarif::Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_else(|error| {
        // Plain data always serialises; never print half a document.
        format!("{{\"version\":\"2.1.0\",\"runs\":[],\"error\":\"{error}\"}}")
    });
    text.push('\n');
    text
}

fn descriptor(rule: &RuleInfo) -> sarif::ReportingDescriptor {
    let mut help = format!("{}\n\nFix: {}", rule.explanation, rule.remediation);
    let mut markdown = format!("{}\n\n**Fix:** {}", rule.explanation, rule.remediation);
    if let Some(docs) = &rule.docs {
        help.push_str(&format!("\n\nDocs: {docs}"));
        markdown.push_str(&format!("\n\n[Documentation]({docs})"));
    }
    let explain = format!(
        "\n\n`pxdoctor rules explain {}` prints the rule file.",
        rule.id
    );
    help.push_str(&explain);
    markdown.push_str(&explain);
    let builder = sarif::ReportingDescriptor::builder()
        .id(rule.id.clone())
        .short_description(multiformat(rule.title.clone(), None))
        .full_description(multiformat(rule.explanation.clone(), None))
        .help(multiformat(help, Some(markdown)))
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(json!(level(rule.severity)))
                .build(),
        )
        .properties(bag(
            vec!["pxdoctor".into(), rule.category.name().into()],
            [
                ("category", json!(rule.category.name())),
                ("severity", json!(rule.severity.name())),
            ],
        ));
    match &rule.docs {
        Some(docs) if is_uri(docs) => builder.help_uri(docs.clone()).build(),
        _ => builder.build(),
    }
}

fn result(
    finding: &Finding,
    rule_index: usize,
    suppression: Option<&Suppression>,
) -> sarif::Result {
    let message = sarif::Message::builder()
        .text(format!(
            "{}\n{}\nFix: {}",
            finding.title, finding.explanation, finding.remediation
        ))
        .markdown(format!(
            "**{}**\n\n{}\n\n**Fix:** {}",
            finding.title, finding.explanation, finding.remediation
        ))
        .build();
    let mut properties = vec![
        ("category", json!(finding.category.name())),
        ("severity", json!(finding.severity.name())),
        ("subject", to_value(&finding.subject)),
        ("evidence", to_value(&finding.evidence)),
    ];
    if !finding.causes.is_empty() {
        properties.push(("causes", to_value(&finding.causes)));
    }
    let fingerprint = BTreeMap::from([(FINGERPRINT.to_string(), fingerprint(finding))]);
    let builder = sarif::Result::builder()
        .rule_id(finding.rule.clone())
        .level(result_level(finding.severity))
        .message(message)
        .locations(vec![location(finding)])
        .rule_index(rule_index as i64)
        .partial_fingerprints(fingerprint)
        .properties(bag(Vec::new(), properties));
    match suppression {
        Some(suppression) => builder
            .suppressions(vec![
                sarif::Suppression::builder()
                    // An annotation sits on the object itself, like a
                    // comment in source; the config file is outside it.
                    .kind(json!(if suppression.by.contains("annotation") {
                        "inSource"
                    } else {
                        "external"
                    }))
                    .status(json!("accepted"))
                    .justification(suppression.reason.clone())
                    .properties(bag(Vec::new(), [("by", json!(suppression.by))]))
                    .build(),
            ])
            .build(),
        None => builder.build(),
    }
}

/// A physical location for a finding in a file; logical ones for the
/// cluster object and the run it belongs to (a file has no object).
fn location(finding: &Finding) -> sarif::Location {
    let subject = &finding.subject;
    let mut logical = Vec::new();
    let about_object = finding.location.is_none();
    if let Some(namespace) = subject.namespace.as_ref().filter(|_| about_object) {
        logical.push(
            sarif::LogicalLocation::builder()
                .name(namespace.clone())
                .fully_qualified_name(namespace.clone())
                .kind("namespace")
                .build(),
        );
    }
    let qualified = match &subject.namespace {
        Some(namespace) => format!("{namespace}/{}/{}", subject.kind, subject.name),
        None => format!("{}/{}", subject.kind, subject.name),
    };
    if about_object {
        logical.push(
            sarif::LogicalLocation::builder()
                .name(subject.name.clone())
                .fully_qualified_name(qualified)
                .kind("resource")
                .properties(bag(Vec::new(), [("kind", json!(subject.kind))]))
                .build(),
        );
    }
    if let Some(run) = &subject.run {
        logical.push(
            sarif::LogicalLocation::builder()
                .name(run.label())
                .fully_qualified_name(format!("run/{}", run.uuid))
                .kind("object")
                .build(),
        );
    }
    let physical = finding.location.as_ref().map(|file| {
        sarif::PhysicalLocation::builder()
            .artifact_location(
                sarif::ArtifactLocation::builder()
                    .uri(uri_reference(&file.file))
                    .build(),
            )
            .region(
                sarif::Region::builder()
                    .start_line(file.line.max(1) as i64)
                    .start_column(file.column.max(1) as i64)
                    .build(),
            )
            .build()
    });
    let mut location = sarif::Location::builder().build();
    location.physical_location = physical;
    location.logical_locations = (!logical.is_empty()).then_some(logical);
    location
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn result_level(severity: Severity) -> sarif::ResultLevel {
    match severity {
        Severity::Error => sarif::ResultLevel::Error,
        Severity::Warning => sarif::ResultLevel::Warning,
        Severity::Info => sarif::ResultLevel::Note,
    }
}

fn text(message: String) -> sarif::Message {
    sarif::Message::builder().text(message).build()
}

fn multiformat(text: String, markdown: Option<String>) -> sarif::MultiformatMessageString {
    match markdown {
        Some(markdown) => sarif::MultiformatMessageString::builder()
            .text(text)
            .markdown(markdown)
            .build(),
        None => sarif::MultiformatMessageString::builder()
            .text(text)
            .build(),
    }
}

fn bag<'a>(
    tags: Vec<String>,
    properties: impl IntoIterator<Item = (&'a str, Value)>,
) -> sarif::PropertyBag {
    let additional: BTreeMap<String, Value> = properties
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    if tags.is_empty() {
        sarif::PropertyBag::builder()
            .additional_properties(additional)
            .build()
    } else {
        sarif::PropertyBag::builder()
            .tags(tags)
            .additional_properties(additional)
            .build()
    }
}

fn to_value(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// FNV-1a over rule and subject: stable across runs and platforms, which
/// std's hasher does not promise.
fn fingerprint(finding: &Finding) -> String {
    let subject = &finding.subject;
    let key = format!(
        "{}|{}|{}|{}|{}",
        finding.rule,
        subject.kind,
        subject.namespace.as_deref().unwrap_or(""),
        subject.name,
        subject.run.as_ref().map_or("", |run| run.uuid.as_str())
    );
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn is_uri(text: &str) -> bool {
    let scheme = text.split_once(':').map_or("", |(scheme, _)| scheme);
    !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !text.contains(char::is_whitespace)
}

/// A file path as a URI reference: separators kept, anything outside
/// RFC 3986's unreserved set percent-encoded (spaces in paths are common).
fn uri_reference(path: &str) -> String {
    let mut out = String::new();
    for byte in path.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::facts::{Location, Subject};
    use crate::report::finding::{Category, Finding, Severity};
    use crate::report::{Collection, FailOn, Filter, RenderContext, Report, Source};

    /// A finding about a file (as lint makes) gets a physical location, and
    /// the document stays valid SARIF.
    #[test]
    fn a_file_finding_points_at_its_line_and_column() {
        let finding = Finding {
            rule: "PXD-DAG-001".into(),
            title: "A cycle".into(),
            category: Category::Dag,
            severity: Severity::Error,
            subject: Subject {
                kind: "Polyaxonfile".into(),
                namespace: None,
                name: "my pipeline.yaml".into(),
                run: None,
            },
            explanation: "a -> b -> a".into(),
            remediation: "Break the cycle.".into(),
            evidence: Vec::new(),
            location: Some(Location {
                file: "flows/my pipeline.yaml".into(),
                line: 12,
                column: 7,
            }),
            docs: None,
            causes: Vec::new(),
            fold: None,
            fallback: None,
        };
        let source = Source {
            kind: "files".into(),
            path: None,
            paths: Vec::new(),
            context: None,
            namespaces: Vec::new(),
        };
        let report = Report::build(
            source,
            vec![finding],
            0,
            &Filter::default(),
            Collection::default(),
        );
        let context = RenderContext {
            rules: &[],
            fail_on: FailOn::Error,
        };
        let log: serde_json::Value =
            serde_json::from_str(&super::render(&report, &context)).unwrap();
        let physical = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
        assert_eq!(
            physical["artifactLocation"]["uri"],
            "flows/my%20pipeline.yaml"
        );
        assert_eq!(physical["region"]["startLine"], 12);
        assert_eq!(physical["region"]["startColumn"], 7);
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"][0]["id"],
            "PXD-DAG-001"
        );
        let schema_text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/sarif-2.1.0.json"
        ))
        .unwrap();
        let mut schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
        // Two published `language` patterns end in a bare `]`, which the
        // Rust regex engine rejects; escaped, they mean the same (see
        // tests/sarif/mod.rs).
        let escaped = serde_json::json!("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$");
        for owner in ["run", "toolComponent"] {
            schema["definitions"][owner]["properties"]["language"]["pattern"] = escaped.clone();
        }
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(super::uri_reference("a b/c.yaml"), "a%20b/c.yaml");
        assert_eq!(super::uri_reference("dir\\x.yaml"), "dir/x.yaml");
        assert!(super::is_uri("https://kubernetes.io/docs/"));
        assert!(!super::is_uri("see the docs"));
    }
}
