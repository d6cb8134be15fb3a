//! `/`: the current findings as a plain page a data scientist can open,
//! grouped by run, worst first; server-rendered, no JavaScript. Every value
//! comes from the cluster (an event's message, a pod's name) and is escaped.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::report::Report;
use crate::report::finding::{Finding, Severity};

/// `text` safe inside an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn rank(severity: Severity) -> u8 {
    match severity {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    }
}

/// The page; `state` says whether the first evaluation is done.
pub fn render(report: Option<&Report>, state: &str) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"30\">\
         <title>pxdoctor</title>\
         <style>body{font-family:sans-serif;margin:2em;max-width:70em}\
         .error{color:#b00}.warning{color:#a60}.info{color:#06a}\
         section{border-top:1px solid #ccc;margin-top:1em}\
         pre{white-space:pre-wrap}</style></head><body>\n<h1>pxdoctor</h1>\n",
    );
    let Some(report) = report else {
        let _ = writeln!(html, "<p>{}</p></body></html>", escape(state));
        return html;
    };
    let summary = &report.summary;
    let _ = writeln!(
        html,
        "<p>{} run(s), {} with findings: {} error(s), {} warning(s), {} info. {}</p>",
        summary.runs,
        summary.runs_with_findings,
        summary.error,
        summary.warning,
        summary.info,
        escape(state)
    );
    let mut groups: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for finding in &report.findings {
        groups
            .entry(finding.subject.label())
            .or_default()
            .push(finding);
    }
    let mut groups: Vec<(String, Vec<&Finding>)> = groups.into_iter().collect();
    groups.sort_by_key(|(label, findings)| {
        let worst = findings.iter().map(|f| rank(f.severity)).min();
        (worst, label.clone())
    });
    if groups.is_empty() {
        html.push_str("<p>No findings.</p>\n");
    }
    for (label, findings) in groups {
        let _ = writeln!(html, "<section><h2>{}</h2>", escape(&label));
        for finding in findings {
            let severity = finding.severity.name();
            let _ = writeln!(
                html,
                "<h3><span class=\"{severity}\">{}</span> {} {}</h3>\n<p>{}</p>\n<p><b>Fix:</b> {}</p>",
                escape(&severity.to_uppercase()),
                escape(&finding.rule),
                escape(&finding.title),
                escape(&finding.explanation),
                escape(&finding.remediation)
            );
            if !finding.evidence.is_empty() {
                html.push_str("<ul>\n");
                for evidence in &finding.evidence {
                    let words: Vec<&str> = [
                        Some(evidence.kind.as_str()),
                        evidence.name.as_deref(),
                        evidence.reason.as_deref(),
                        evidence.message.as_deref(),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    let _ = writeln!(html, "<li><pre>{}</pre></li>", escape(&words.join(" ")));
                }
                html.push_str("</ul>\n");
            }
        }
        html.push_str("</section>\n");
    }
    if !report.collection.skipped.is_empty() {
        html.push_str("<section><h2>Not read</h2><ul>\n");
        for skipped in &report.collection.skipped {
            let _ = writeln!(
                html,
                "<li>{}: {}</li>",
                escape(&skipped.resource),
                escape(&skipped.reason)
            );
        }
        html.push_str("</ul></section>\n");
    }
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_values_is_inert() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
