//! Markdown (`-o markdown`), for a pull-request or issue comment: a
//! summary line, one table row per finding, then the details of each in a
//! collapsed section, so a long report stays readable in a thread. Text
//! from the cluster is escaped: it is data, not markup.

use super::Report;
use super::finding::Finding;

pub fn render(report: &Report) -> String {
    let s = &report.summary;
    let mut out = format!(
        "### pxdoctor: {} error(s), {} warning(s), {} info\n\n",
        s.error, s.warning, s.info
    );
    let mut facts = vec![
        format!(
            "{} of {} Polyaxon run(s) with findings",
            s.runs_with_findings, s.runs
        ),
        source(report),
    ];
    if s.filtered > 0 {
        facts.push(format!("{} not shown (--only, --run)", s.filtered));
    }
    if s.suppressed > 0 {
        facts.push(format!("{} suppressed", s.suppressed));
    }
    out.push_str(&escape(&facts.join(" · ")));
    out.push_str("\n\n");

    if report.findings.is_empty() {
        out.push_str("No findings.\n\n");
    } else {
        out.push_str("| Severity | Rule | Subject | Finding |\n|---|---|---|---|\n");
        for finding in &report.findings {
            out.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                finding.severity,
                finding.rule,
                cell(&subject(finding)),
                cell(&finding.title)
            ));
        }
        out.push('\n');
        for finding in &report.findings {
            out.push_str(&details(finding));
        }
    }

    if !report.histories.is_empty() {
        out.push_str("#### From Polyaxon's records\n\n");
        for history in &report.histories {
            out.push_str(&format!(
                "- **{}**: {} (status {}, logs {})\n",
                escape(&history.run.label()),
                escape(&history.source),
                escape(&history.status),
                escape(&history.logs)
            ));
            for line in history.lines() {
                out.push_str(&format!("  - {}\n", escape(&line)));
            }
        }
        out.push('\n');
    }

    if let Some(suppressed) = &report.suppressed {
        out.push_str(&format!("#### Suppressed ({})\n\n", suppressed.len()));
        if !suppressed.is_empty() {
            out.push_str("| Rule | Subject | Reason | By |\n|---|---|---|---|\n");
            for entry in suppressed {
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    entry.finding.rule,
                    cell(&subject(&entry.finding)),
                    cell(&entry.suppression.reason),
                    cell(&entry.suppression.by)
                ));
            }
            out.push('\n');
        }
    } else if s.suppressed > 0 {
        out.push_str("Suppressed findings are listed with `--show-suppressed`.\n\n");
    }

    if !report.collection.skipped.is_empty() {
        out.push_str("**Not checked**\n\n");
        for skipped in &report.collection.skipped {
            out.push_str(&format!(
                "- {}: {}\n",
                escape(&skipped.resource),
                escape(&skipped.reason)
            ));
        }
        out.push('\n');
    }
    out
}

fn details(finding: &Finding) -> String {
    let mut out = format!(
        "<details><summary>{} <code>{}</code> · {}: {}</summary>\n\n",
        finding.severity,
        escape(&finding.rule),
        escape_html(&subject(finding)),
        html_code_spans(&finding.title)
    );
    // Rule authors write Markdown (`kubectl describe node`): keep it, but
    // never let the text open HTML.
    out.push_str(&format!("{}\n\n", escape_html(&finding.explanation)));
    for fix in finding.remediation.lines() {
        out.push_str(&format!("**Fix:** {}\n\n", escape_html(fix)));
    }
    if !finding.evidence.is_empty() {
        out.push_str("Evidence:\n\n");
        for evidence in &finding.evidence {
            let mut head = vec![evidence.kind.clone()];
            head.extend(evidence.name.clone());
            head.extend(evidence.reason.clone());
            if let Some(count) = evidence.count.filter(|&c| c > 1) {
                head.push(format!("×{count}"));
            }
            let line = match &evidence.message {
                Some(message) => format!("{}: {message}", head.join(" ")),
                None => head.join(" "),
            };
            out.push_str(&format!("- {}\n", escape(&line)));
        }
        out.push('\n');
    }
    if let Some(docs) = &finding.docs {
        // An autolink, unless the text could break out of it.
        if docs.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>')) {
            out.push_str(&format!("Docs: {}\n\n", escape(docs)));
        } else {
            out.push_str(&format!("Docs: <{docs}>\n\n"));
        }
    }
    out.push_str("</details>\n\n");
    out
}

fn subject(finding: &Finding) -> String {
    let subject = &finding.subject;
    match &subject.run {
        Some(run) => format!("{} · {}", run.label(), subject.object_label()),
        None => subject.object_label(),
    }
}

fn source(report: &Report) -> String {
    let source = &report.source;
    let from = match (&source.path, &source.context) {
        (Some(path), _) => format!("{} {path}", source.kind),
        (None, Some(context)) => format!("{} {context}", source.kind),
        (None, None) => source.kind.clone(),
    };
    match source.namespaces.len() {
        0 => from,
        1 => format!("{from} · namespace {}", source.namespaces[0]),
        n => format!("{from} · {n} namespaces"),
    }
}

/// Cluster text must not become markup: HTML and the characters Markdown
/// acts on are escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text for inside HTML (a `<summary>`), where Markdown is not read: its
/// `code` spans become `<code>` and nothing is backslash-escaped.
fn html_code_spans(text: &str) -> String {
    let pieces: Vec<&str> = text.split('`').collect();
    let mut out = String::with_capacity(text.len() + 16);
    for (i, piece) in pieces.iter().enumerate() {
        let code = i % 2 == 1;
        // An odd backtick out has nothing to close it: it stays one.
        if code && i + 1 == pieces.len() {
            out.push('`');
            out.push_str(&escape_html(piece));
        } else if code {
            out.push_str("<code>");
            out.push_str(&escape_html(piece));
            out.push_str("</code>");
        } else {
            out.push_str(&escape_html(piece));
        }
    }
    out
}

/// A table cell is one line.
fn cell(text: &str) -> String {
    escape(text).replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    #[test]
    fn cluster_text_is_not_markup() {
        assert_eq!(
            super::cell("a|b <script>\n*x*"),
            "a\\|b &lt;script&gt;<br>\\*x\\*"
        );
    }

    #[test]
    fn a_summary_shows_code_as_html_not_backslashes() {
        assert_eq!(
            super::html_code_spans("op: param `lr` is not an input of <train>"),
            "op: param <code>lr</code> is not an input of &lt;train&gt;"
        );
        assert_eq!(super::html_code_spans("a `b"), "a `b");
        assert_eq!(super::html_code_spans("a_b*c"), "a_b*c");
    }
}
