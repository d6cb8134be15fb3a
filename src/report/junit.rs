//! JUnit XML (`-o junit`): CI systems (GitLab, Jenkins, Azure, GitHub
//! test reporters) show test results without a plugin, so a cluster check
//! appears there as tests. One suite per category; one test case per rule
//! and subject, failed when its finding is at or above `--fail-on`; a
//! passing case per rule that found nothing, so the report shows what was
//! checked; suppressed findings (with `--show-suppressed`) as skipped.

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::finding::{Category, Finding};
use super::{RenderContext, Report, Suppression};

pub fn render(report: &Report, context: &RenderContext<'_>) -> String {
    let mut junit = quick_junit::Report::new("pxdoctor");
    for category in Category::ALL {
        let mut cases = Vec::new();
        for finding in report.findings.iter().filter(|f| f.category == category) {
            cases.push(finding_case(finding, context));
        }
        for suppressed in report
            .suppressed
            .iter()
            .flatten()
            .filter(|s| s.finding.category == category)
        {
            cases.push(suppressed_case(
                &suppressed.finding,
                &suppressed.suppression,
            ));
        }
        let quiet_rules = context.rules.iter().filter(|rule| {
            rule.category == category
                && !report.findings.iter().any(|f| f.rule == rule.id)
                && !report
                    .suppressed
                    .iter()
                    .flatten()
                    .any(|s| s.finding.rule == rule.id)
        });
        for rule in quiet_rules {
            let mut case = TestCase::new(
                format!("{}: no finding", rule.title),
                TestCaseStatus::success(),
            );
            case.set_classname(rule.id.clone());
            cases.push(case);
        }
        if cases.is_empty() {
            continue;
        }
        let mut suite = TestSuite::new(format!("pxdoctor.{}", category.name()));
        suite.add_property(("fail_on", context.fail_on.name()));
        suite.add_property(("source", source(report).as_str()));
        suite.add_test_cases(cases);
        junit.add_test_suite(suite);
    }
    match junit.to_string() {
        Ok(mut xml) => {
            if !xml.ends_with('\n') {
                xml.push('\n');
            }
            xml
        }
        // Only an I/O error into a String could fail; say so in XML.
        Err(error) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pxdoctor\" tests=\"0\" failures=\"0\" errors=\"1\"><!-- {error} --></testsuites>\n"
        ),
    }
}

fn finding_case(finding: &Finding, context: &RenderContext<'_>) -> TestCase {
    let details = details(finding);
    let status = if context.fail_on.fails(finding.severity) {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_message(finding.title.clone())
            .set_type(finding.severity.name())
            .set_description(details.clone());
        status
    } else {
        TestCaseStatus::success()
    };
    let mut case = TestCase::new(case_name(finding), status);
    case.set_classname(finding.rule.clone());
    // Below the gate the finding still says something worth reading.
    if !context.fail_on.fails(finding.severity) {
        case.set_system_out(format!("{}: {}", finding.severity, details));
    }
    case
}

fn suppressed_case(finding: &Finding, suppression: &Suppression) -> TestCase {
    let mut status = TestCaseStatus::skipped();
    status
        .set_message(format!(
            "suppressed by {}: {}",
            suppression.by, suppression.reason
        ))
        .set_description(details(finding));
    let mut case = TestCase::new(case_name(finding), status);
    case.set_classname(finding.rule.clone());
    case
}

/// "run 5200fc5c… (acme/mnist, op train) · Pod polyaxon/plx-…": the
/// subject as people name it, unique per rule.
fn case_name(finding: &Finding) -> String {
    let subject = &finding.subject;
    match &subject.run {
        Some(run) => format!("{} · {}", run.label(), subject.object_label()),
        None => subject.object_label(),
    }
}

fn details(finding: &Finding) -> String {
    let mut lines = vec![finding.explanation.clone()];
    lines.extend(finding.remediation.lines().map(|fix| format!("Fix: {fix}")));
    for evidence in &finding.evidence {
        let mut head = vec![evidence.kind.clone()];
        head.extend(evidence.name.clone());
        head.extend(evidence.reason.clone());
        lines.push(match &evidence.message {
            Some(message) => format!("Evidence: {}: {message}", head.join(" ")),
            None => format!("Evidence: {}", head.join(" ")),
        });
    }
    if let Some(docs) = &finding.docs {
        lines.push(format!("Docs: {docs}"));
    }
    lines.join("\n")
}

fn source(report: &Report) -> String {
    let source = &report.source;
    match (&source.path, &source.context) {
        (Some(path), _) => format!("{} {path}", source.kind),
        (None, Some(context)) => format!("{} {context}", source.kind),
        (None, None) => source.kind.clone(),
    }
}
