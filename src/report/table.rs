//! The terminal report: findings grouped by run (worst group first), each
//! saying what, why, the fix and the evidence, readable in 100 columns.
//! Colour only on a terminal that supports it; NO_COLOR is honoured.

use comfy_table::{ContentArrangement, Table, presets};
use owo_colors::{OwoColorize, Stream, Style};

use super::finding::{Finding, Severity};
use super::{Report, SuppressedFinding};

/// Width when stdout is not a terminal (pipes, CI logs, tests), or one that
/// reports a useless size (`script`, `docker exec -t` and some CI runners
/// say 0×0): COLUMNS when set, else this.
const DEFAULT_WIDTH: u16 = 100;

/// Narrower than this, a terminal's reported width is not believed.
const NARROWEST: u16 = 40;

/// Commands and URLs longer than this leave the cell for a numbered line
/// under the table, whole, so they can be copied.
const LONG: usize = 40;

fn fallback_width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.trim().parse::<u16>().ok())
        .filter(|&columns| columns >= NARROWEST)
        .unwrap_or(DEFAULT_WIDTH)
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let mut groups: Vec<(String, Vec<&Finding>)> = Vec::new();
    for finding in &report.findings {
        let key = group_label(finding);
        match groups.iter_mut().find(|(label, _)| *label == key) {
            Some((_, members)) => members.push(finding),
            None => groups.push((key, vec![finding])),
        }
    }
    // Findings arrive sorted by severity, so the first member is the worst.
    groups.sort_by_key(|(label, members)| (members[0].severity, label.clone()));
    let mut told: Vec<&str> = Vec::new();
    for (label, members) in &groups {
        let style = severity_style(members[0].severity).bold();
        out.push_str(&format!(
            "{}\n",
            label.if_supports_color(Stream::Stdout, |text| text.style(style))
        ));
        let run = members[0].subject.run.as_ref().map(|run| run.uuid.as_str());
        if let Some(history) = report
            .histories
            .iter()
            .find(|h| Some(h.run.uuid.as_str()) == run)
            && !told.contains(&history.run.uuid.as_str())
        {
            told.push(&history.run.uuid);
            out.push_str(&history_text(history));
        }
        let mut table = Table::new();
        table
            .load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(vec!["SEVERITY", "RULE", "FINDING"]);
        if !table.is_tty() || table.width().is_none_or(|width| width < NARROWEST) {
            table.set_width(fallback_width());
        }
        let mut notes = Vec::new();
        for finding in members {
            table.add_row(vec![
                finding.severity.to_string(),
                finding.rule.clone(),
                body(finding, &mut notes),
            ]);
        }
        out.push_str(&table.to_string());
        out.push('\n');
        for (n, note) in notes.iter().enumerate() {
            out.push_str(&format!("  [{}] {note}\n", n + 1));
        }
        out.push('\n');
    }
    for history in &report.histories {
        if !told.contains(&history.run.uuid.as_str()) {
            out.push_str(&format!("{}: no finding\n", history.run.label()));
            out.push_str(&history_text(history));
            out.push('\n');
        }
    }
    if let Some(suppressed) = &report.suppressed {
        out.push_str(&suppressed_table(suppressed));
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    for skipped in &report.collection.skipped {
        out.push_str(&format!(
            "not checked: {}: {}\n",
            skipped.resource, skipped.reason
        ));
    }
    out
}

/// Where a run's answer comes from, its status and its timeline.
fn history_text(history: &super::history::History) -> String {
    let mut text = format!(
        "  {} (status {}, logs {})\n",
        history.source, history.status, history.logs
    );
    for line in history.lines() {
        text.push_str(&format!("    {line}\n"));
    }
    text
}

fn group_label(finding: &Finding) -> String {
    let subject = &finding.subject;
    match &subject.run {
        Some(run) => format!("{}\n  {}", run.label(), subject.object_label()),
        None => subject.object_label(),
    }
}

/// A long command (a `code span`, or a line that is a command) or URL,
/// moved to `notes` and referred to as [n], so no cell wraps it mid-word.
fn set_aside(text: &str, notes: &mut Vec<String>) -> String {
    let trimmed = text.trim();
    let command = ["kubectl ", "polyaxon ", "helm ", "aws ", "curl ", "gcloud "]
        .iter()
        .any(|start| trimmed.starts_with(start));
    if command && trimmed.len() > LONG {
        notes.push(trimmed.to_string());
        return format!("[{}]", notes.len());
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        let Some(len) = rest[start + 1..].find('`') else {
            break;
        };
        let span = &rest[start + 1..start + 1 + len];
        out.push_str(&rest[..start]);
        if span.len() > LONG {
            notes.push(span.to_string());
            out.push_str(&format!("[{}]", notes.len()));
        } else {
            out.push_str(&rest[start..start + len + 2]);
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

fn body(finding: &Finding, notes: &mut Vec<String>) -> String {
    let mut lines = vec![finding.title.clone(), finding.explanation.clone()];
    lines.extend(
        finding
            .remediation
            .lines()
            .map(|fix| format!("Fix: {}", set_aside(fix, notes))),
    );
    for evidence in &finding.evidence {
        let mut parts = vec![evidence.kind.clone()];
        parts.extend(evidence.name.clone());
        parts.extend(evidence.reason.clone());
        if let Some(count) = evidence.count.filter(|&c| c > 1) {
            parts.push(format!("×{count}"));
        }
        let head = parts.join(" ");
        lines.push(match &evidence.message {
            Some(message) => format!("↳ {head}: {message}"),
            None => format!("↳ {head}"),
        });
    }
    if let Some(docs) = &finding.docs {
        if docs.len() > LONG {
            notes.push(docs.clone());
            lines.push(format!("Docs: [{}]", notes.len()));
        } else {
            lines.push(format!("Docs: {docs}"));
        }
    }
    lines.join("\n")
}

pub(super) fn severity_style(severity: Severity) -> Style {
    match severity {
        Severity::Error => Style::new().red(),
        Severity::Warning => Style::new().yellow(),
        Severity::Info => Style::new().cyan(),
    }
}

/// What was silenced, by whom and why (`--show-suppressed`).
fn suppressed_table(suppressed: &[SuppressedFinding]) -> String {
    let mut out = format!("suppressed ({})\n", suppressed.len());
    if suppressed.is_empty() {
        return out;
    }
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["RULE", "SUBJECT", "SUPPRESSED"]);
    if !table.is_tty() {
        table.set_width(DEFAULT_WIDTH);
    }
    for entry in suppressed {
        let finding = &entry.finding;
        let mut why = vec![
            format!("{}: {}", finding.severity, finding.title),
            format!("Reason: {}", entry.suppression.reason),
            format!("By: {}", entry.suppression.by),
        ];
        if let Some(expires) = &entry.suppression.expires {
            why.push(format!("Until: {expires}"));
        }
        table.add_row(vec![
            finding.rule.clone(),
            group_label(finding),
            why.join("\n"),
        ]);
    }
    out.push_str(&table.to_string());
    out.push_str("\n\n");
    out
}

fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    // On a line of its own: silenced findings must be seen, and the
    // summary line stays within 100 columns.
    let suppressed = match (s.suppressed, &report.suppressed) {
        (0, _) => String::new(),
        (n, Some(_)) => format!("\n{n} finding(s) suppressed (listed above)."),
        (n, None) => format!("\n{n} finding(s) suppressed; --show-suppressed lists them."),
    };
    let suppressed = match s.filtered {
        0 => suppressed,
        n => format!("{suppressed}\n{n} finding(s) not shown: --only or --run left them out."),
    };
    if report.findings.is_empty() {
        return format!(
            "No findings. {} Polyaxon run(s) checked in {}.{suppressed}",
            s.runs,
            namespaces(report)
        );
    }
    format!(
        "{} error(s), {} warning(s), {} info · {} of {} Polyaxon run(s) with findings · {}{suppressed}",
        s.error,
        s.warning,
        s.info,
        s.runs_with_findings,
        s.runs,
        namespaces(report)
    )
}

fn namespaces(report: &Report) -> String {
    match report.source.namespaces.len() {
        0 => "no namespace".into(),
        1 => format!("namespace {}", report.source.namespaces[0]),
        n => format!("{n} namespaces"),
    }
}
