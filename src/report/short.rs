//! `-o short`: exactly one line per finding, `SEVERITY RULE SUBJECT: title`,
//! for grep and CI logs, as compilers and kube-score's `ci` format print
//! them. The subject is what the table names: a run by namespace, short uuid
//! and op; an object by kind, namespace and name; a polyaxonfile by
//! `file:line:column`. Colour only on a terminal; no borders, no summary.

use owo_colors::{OwoColorize, Stream};

use super::finding::Finding;
use super::{Report, table};

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let severity = finding.severity.to_string();
        let style = table::severity_style(finding.severity);
        out.push_str(&format!(
            "{} {} {}: {}\n",
            severity.if_supports_color(Stream::Stdout, |text| text.style(style)),
            finding.rule,
            subject(finding),
            one_line(&finding.title)
        ));
    }
    out
}

fn subject(finding: &Finding) -> String {
    if let Some(at) = &finding.location {
        return format!("{}:{}:{}", at.file, at.line, at.column);
    }
    let subject = &finding.subject;
    let Some(run) = &subject.run else {
        return one_line(&subject.object_label());
    };
    let short: String = run.uuid.chars().take(8).collect();
    let mut words = match &subject.namespace {
        Some(namespace) => format!("{namespace}/{short}"),
        None => short,
    };
    if let Some(op) = &run.name {
        words.push_str(&format!(" (op {op})"));
    }
    one_line(&words)
}

/// A title or name with a line break would break the one-line promise.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
