//! The report: findings de-duplicated, folded, filtered and sorted, with a
//! summary and what could not be looked at. Renderers only format it.

pub mod finding;
pub mod history;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod output;
pub mod sarif;
pub mod schema;
pub mod short;
pub mod table;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use schemars::JsonSchema;
use serde::Serialize;

use crate::facts::Evidence;
use finding::{Category, Cause, Finding, Severity};

pub const SCHEMA_ID: &str = "pxdoctor.report/v1";

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Source {
    /// "snapshot" or "cluster".
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Every file `lint` read, one each (`path` joins them for people).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub namespaces: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    pub runs: usize,
    pub runs_with_findings: usize,
    /// Findings silenced by `.pxdoctor.yaml` or a `pxdoctor.io/ignore`
    /// annotation: not in `findings` and never in the exit code, but
    /// counted here so that nothing vanishes silently.
    #[serde(default)]
    pub suppressed: usize,
    /// Findings `--only` or `--run` left out of `findings` (they do count
    /// for nothing else either), so that a filtered "no findings" is never
    /// taken for a clean cluster.
    #[serde(default)]
    pub filtered: usize,
}

/// Something pxdoctor could not look at, and what that costs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Skipped {
    pub resource: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Collection {
    pub skipped: Vec<Skipped>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    pub schema: String,
    pub tool: Tool,
    pub source: Source,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub collection: Collection,
    /// The silenced findings, each with who silenced it and why. Present
    /// only with `--show-suppressed` (then always, even when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Vec<SuppressedFinding>>,
    /// Runs told from Polyaxon's records (`--run` of a run Kubernetes
    /// forgot, `--since`), each with its timeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub histories: Vec<history::History>,
}

/// Why a finding is not reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Suppression {
    /// The reason the ignore entry gives (or the annotation's meaning).
    pub reason: String,
    /// Where the silence comes from: `.pxdoctor.yaml:12:5` for an ignore
    /// entry, `Pod polyaxon/x annotation pxdoctor.io/ignore` for an
    /// annotation.
    pub by: String,
    /// The last day (UTC) the ignore entry holds, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A finding that was silenced, as it would have been reported.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SuppressedFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub suppression: Suppression,
}

/// What the user asked to see.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub only: Vec<Category>,
    /// Run uuids or prefixes of them.
    pub runs: Vec<String>,
    /// Only findings about `runs`, even when it is empty (`--since`).
    pub runs_only: bool,
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.only.is_empty() && self.runs.is_empty() && !self.runs_only
    }

    fn keeps(&self, finding: &Finding) -> bool {
        let category = self.only.is_empty() || self.only.contains(&finding.category);
        let run = (self.runs.is_empty() && !self.runs_only)
            || finding.subject.run.as_ref().is_some_and(|run| {
                self.runs
                    .iter()
                    .any(|wanted| run.uuid.starts_with(wanted.as_str()))
            });
        category && run
    }
}

impl Report {
    pub fn build(
        source: Source,
        mut findings: Vec<Finding>,
        runs: usize,
        filter: &Filter,
        collection: Collection,
    ) -> Report {
        // What the filter hides is counted as the user would have seen it.
        let filtered = if filter.is_empty() {
            0
        } else {
            let shown = findings
                .iter()
                .filter(|f| filter.keeps(f))
                .cloned()
                .collect();
            let all = assemble(findings.clone()).len();
            findings = shown;
            all - assemble(findings.clone()).len()
        };
        let mut findings = assemble(findings);
        findings.sort_by(order);
        Report {
            schema: SCHEMA_ID.into(),
            tool: Tool {
                name: "pxdoctor".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            source,
            summary: Summary {
                filtered,
                ..summarize(&findings, runs)
            },
            findings,
            collection,
            suppressed: None,
            histories: Vec::new(),
        }
    }

    /// Gives reported findings (and their causes) the severity
    /// `.pxdoctor.yaml` sets for their rule. After folding, so that a run's
    /// finding takes the severity set for the rule it shows, whatever its
    /// other causes; then re-sorted and re-counted.
    pub fn with_severities(mut self, severity_of: impl Fn(&str, Severity) -> Severity) -> Report {
        for finding in &mut self.findings {
            finding.severity = severity_of(&finding.rule, finding.severity);
            for cause in &mut finding.causes {
                cause.severity = severity_of(&cause.rule, cause.severity);
            }
        }
        self.findings.sort_by(order);
        self.summary = Summary {
            suppressed: self.summary.suppressed,
            filtered: self.summary.filtered,
            ..summarize(&self.findings, self.summary.runs)
        };
        self
    }

    /// Moves the findings `silencer` silences (`.pxdoctor.yaml`, the
    /// `pxdoctor.io/ignore` annotation) out of `findings`: they are counted
    /// in the summary, kept in `suppressed` when `show`
    /// (`--show-suppressed`), and never reach the exit code. It runs on
    /// reported findings, after folding, so an ignore silences what the
    /// user saw: a run's whole Pending finding, not one of its causes.
    pub fn suppress(
        mut self,
        silencer: impl Fn(&Finding) -> Option<Suppression>,
        show: bool,
    ) -> Report {
        let mut kept = Vec::new();
        let mut silenced = Vec::new();
        for finding in std::mem::take(&mut self.findings) {
            match silencer(&finding) {
                Some(suppression) => silenced.push(SuppressedFinding {
                    finding,
                    suppression,
                }),
                None => kept.push(finding),
            }
        }
        self.summary = Summary {
            suppressed: silenced.len(),
            filtered: self.summary.filtered,
            ..summarize(&kept, self.summary.runs)
        };
        self.findings = kept;
        self.suppressed = show.then_some(silenced);
        self
    }

    /// Every text from the cluster a renderer shows, redacted: evidence (an
    /// event's message, a condition, a log line) and what could not be
    /// collected. The findings' own words are the rules' templates, whose
    /// values the engine redacts as it fills them (`Engine::finding`), so
    /// the rules' prose ("rewrites Authorization: ...") stays whole.
    pub fn redact(&mut self) {
        let suppressed = self.suppressed.iter_mut().flatten().map(|s| &mut s.finding);
        for finding in self.findings.iter_mut().chain(suppressed) {
            redact_finding(finding);
        }
        for skipped in &mut self.collection.skipped {
            redact_text(&mut skipped.reason);
        }
        self.collection.errors.iter_mut().for_each(redact_text);
        for moment in self
            .histories
            .iter_mut()
            .flat_map(|h| h.timeline.iter_mut())
        {
            redact_text(&mut moment.message);
        }
    }

    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).min()
    }
}

fn redact_text(text: &mut String) {
    let redacted = crate::redact::redact_line(text);
    if redacted != *text {
        *text = redacted;
    }
}

fn redact_finding(finding: &mut Finding) {
    for evidence in &mut finding.evidence {
        let fields = [
            &mut evidence.name,
            &mut evidence.reason,
            &mut evidence.message,
        ];
        fields.into_iter().flatten().for_each(redact_text);
    }
}

/// Raw findings as reported: one per rule and subject, folded groups, and
/// fallbacks yielded to what explains them.
fn assemble(findings: Vec<Finding>) -> Vec<Finding> {
    let (folded, single): (Vec<Finding>, Vec<Finding>) =
        findings.into_iter().partition(|f| f.fold.is_some());
    let mut findings = dedupe(single);
    findings.extend(fold(folded));
    yield_fallbacks(findings)
}

/// Counts by severity, and the runs the findings are about.
fn summarize(findings: &[Finding], runs: usize) -> Summary {
    let count = |severity| findings.iter().filter(|f| f.severity == severity).count();
    let runs_with_findings = findings
        .iter()
        .filter_map(|f| f.subject.run.as_ref().map(|r| r.uuid.as_str()))
        .collect::<BTreeSet<_>>()
        .len();
    Summary {
        error: count(Severity::Error),
        warning: count(Severity::Warning),
        info: count(Severity::Info),
        runs,
        runs_with_findings,
        suppressed: 0,
        filtered: 0,
    }
}

/// The report's order: severity, then category, then subject.
fn order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (a.severity, a.category, &a.subject, &a.rule)
        .cmp(&(b.severity, b.category, &b.subject, &b.rule))
}

/// One finding per rule and subject: evidence merged, repeated events summed.
fn dedupe(findings: Vec<Finding>) -> Vec<Finding> {
    let mut merged: BTreeMap<(String, crate::facts::Subject), Finding> = BTreeMap::new();
    let mut order = Vec::new();
    for finding in findings {
        let key = (finding.rule.clone(), finding.subject.clone());
        match merged.get_mut(&key) {
            Some(existing) => {
                for evidence in finding.evidence {
                    add_evidence(&mut existing.evidence, evidence, true);
                }
            }
            None => {
                order.push(key.clone());
                merged.insert(key, finding);
            }
        }
    }
    order
        .into_iter()
        .filter_map(|key| merged.remove(&key))
        .collect()
}

/// A fallback finding says what no specific rule explained, in the
/// object's own words; it must never stand beside a finding that explains
/// the same thing. So each one yields to a finding at least as severe about
/// the same object (of its own category first) or, when it is about a run's
/// Job or custom resource, about the same run; its evidence joins that
/// finding. Fallbacks left on one object become one finding led by the
/// worst of them (an event's or log's words before the durable status they
/// explain), the others as its evidence.
fn yield_fallbacks(findings: Vec<Finding>) -> Vec<Finding> {
    let (mut loose, mut kept): (Vec<Finding>, Vec<Finding>) =
        findings.into_iter().partition(|f| f.fallback.is_some());
    if loose.is_empty() {
        return kept;
    }
    // The worst leads, so nothing is hidden under a milder finding; among
    // equals, current words (they say why) before durable status.
    loose.sort_by(|a, b| (a.severity, a.fallback, &a.rule).cmp(&(b.severity, b.fallback, &b.rule)));
    // Findings indexed once by object and by run: each fallback looks only
    // at its own object's and run's findings (scanning every finding for
    // each fallback was fallbacks x findings).
    let object = |f: &Finding| {
        (
            f.subject.kind.clone(),
            f.subject.namespace.clone(),
            f.subject.name.clone(),
        )
    };
    let mut by_object: HashMap<(String, Option<String>, String), Vec<usize>> = HashMap::new();
    let mut by_run: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, finding) in kept.iter().enumerate() {
        by_object.entry(object(finding)).or_default().push(i);
        if let Some(run) = &finding.subject.run {
            by_run.entry(run.uuid.clone()).or_default().push(i);
        }
    }
    let mut leads: Vec<Finding> = Vec::new();
    let mut lead_of: HashMap<(String, Option<String>, String), usize> = HashMap::new();
    for fallback in loose {
        // The worst finding among `candidates` (the first of equals) that
        // is at least as severe as the fallback and passes `tests`.
        let host = |candidates: Option<&Vec<usize>>, tests: &dyn Fn(&Finding) -> bool| {
            candidates?
                .iter()
                .copied()
                .filter(|&i| kept[i].severity <= fallback.severity && tests(&kept[i]))
                .min_by_key(|&i| kept[i].severity)
        };
        let own = by_object.get(&object(&fallback));
        // A run's Job or custom resource speaks for the run: any finding
        // about the same run may host it.
        let run = fallback
            .subject
            .run
            .as_ref()
            .filter(|_| !matches!(fallback.subject.kind.as_str(), "Pod" | "Node"))
            .and_then(|run| by_run.get(&run.uuid));
        let host = host(own, &|k| k.category == fallback.category)
            .or_else(|| host(own, &|_| true))
            .or_else(|| host(run, &|_| true));
        let target = match host {
            Some(i) => &mut kept[i],
            None => match lead_of.get(&object(&fallback)) {
                Some(&i) => &mut leads[i],
                None => {
                    lead_of.insert(object(&fallback), leads.len());
                    leads.push(fallback);
                    continue;
                }
            },
        };
        for evidence in fallback.evidence {
            add_evidence(&mut target.evidence, evidence, false);
        }
    }
    // Polyaxon's records of a run speak of the run, not of one object: a
    // lead of theirs joins any other lead about the same run.
    let (records, mut leads): (Vec<Finding>, Vec<Finding>) = leads
        .into_iter()
        .partition(|lead| lead.subject.kind == RECORD_KIND);
    for record in records {
        let run = |f: &Finding| f.subject.run.as_ref().map(|run| run.uuid.clone());
        match leads
            .iter_mut()
            .find(|l| run(l).is_some() && run(l) == run(&record))
        {
            Some(lead) => {
                for evidence in record.evidence {
                    add_evidence(&mut lead.evidence, evidence, false);
                }
            }
            None => leads.push(record),
        }
    }
    kept.extend(leads);
    kept
}

/// The subject kind of what Polyaxon's records say of a run.
const RECORD_KIND: &str = "PolyaxonRun";

/// Adds `evidence` unless the same observation is there; with `sum`, the
/// same event seen again from another object adds its count.
fn add_evidence(list: &mut Vec<Evidence>, evidence: Evidence, sum: bool) {
    if list.contains(&evidence) {
        return;
    }
    let same_event = list.iter_mut().find(|e| {
        e.kind == "Event"
            && evidence.kind == "Event"
            && e.reason == evidence.reason
            && e.message == evidence.message
    });
    match same_event {
        Some(existing) if sum => {
            existing.count = Some(existing.count.unwrap_or(1) + evidence.count.unwrap_or(1));
            existing.last_seen = existing.last_seen.clone().max(evidence.last_seen);
        }
        Some(_) => {}
        None => list.push(evidence),
    }
}

/// Joins the findings of one fold group on one subject into one finding:
/// the worst cause leads, every cause is named, worst first.
fn fold(findings: Vec<Finding>) -> Vec<Finding> {
    // Grouped by position, the keys borrowing the findings: a hundred
    // thousand raw findings (ten copies of the rules, thousands of Pending
    // runs) are moved once, never cloned.
    let mut by_key: BTreeMap<(&str, &crate::facts::Subject), Vec<usize>> = BTreeMap::new();
    for (i, finding) in findings.iter().enumerate() {
        if let Some(part) = &finding.fold {
            by_key
                .entry((part.group.as_str(), &finding.subject))
                .or_default()
                .push(i);
        }
    }
    let mut groups: Vec<Vec<usize>> = by_key.into_values().collect();
    for positions in &mut groups {
        positions.sort_by(|&a, &b| lead_order(&findings[a], &findings[b]));
    }
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    let mut out: Vec<Finding> = slots
        .iter_mut()
        .filter(|slot| slot.as_ref().is_some_and(|f| f.fold.is_none()))
        .filter_map(Option::take)
        .collect();
    for positions in groups {
        let mut members: Vec<Finding> = positions
            .into_iter()
            .filter_map(|i| slots[i].take())
            .collect();
        // Root cause over symptom: a timeout is dropped when a sibling cause
        // explains it, and its evidence joins the cause's.
        let explained = members
            .iter()
            .any(|f| f.fold.as_ref().is_some_and(|p| !p.symptom));
        let mut symptom_evidence = Vec::new();
        if explained {
            members.retain_mut(|f| {
                let symptom = f.fold.as_ref().is_some_and(|p| p.symptom);
                if symptom {
                    symptom_evidence.append(&mut f.evidence);
                }
                !symptom
            });
        }
        let mut causes: Vec<Cause> = members
            .iter_mut()
            .enumerate()
            .map(|(i, f)| {
                // The lead keeps its own; the others give theirs up.
                let take = |text: &mut String| {
                    if i == 0 {
                        text.clone()
                    } else {
                        std::mem::take(text)
                    }
                };
                Cause {
                    rule: take(&mut f.rule),
                    title: take(&mut f.title),
                    severity: f.severity,
                    explanation: match f.fold.as_mut() {
                        Some(part) => take(&mut part.phrase),
                        None => take(&mut f.explanation),
                    },
                    remediation: take(&mut f.remediation),
                }
            })
            .collect();
        // Two segments can say the same thing (old schedulers report pod
        // affinity twice); say it once.
        let keep: Vec<bool> = {
            let mut seen = std::collections::HashSet::new();
            causes
                .iter()
                .map(|c| seen.insert((c.rule.as_str(), c.explanation.as_str())))
                .collect()
        };
        let mut keep = keep.into_iter();
        causes.retain(|_| keep.next().unwrap_or(true));
        let mut lead = members.remove(0);
        let header = lead
            .fold
            .as_ref()
            .map(|p| p.header.clone())
            .unwrap_or_default();
        let phrases = causes
            .iter()
            .map(|c| c.explanation.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let stop = if phrases.ends_with(['.', '!', '?']) {
            ""
        } else {
            "."
        };
        lead.explanation = format!("{header}: {phrases}{stop}");
        let mut remediations: Vec<&str> = Vec::new();
        for cause in &causes {
            if !remediations.contains(&cause.remediation.as_str()) {
                remediations.push(&cause.remediation);
            }
        }
        lead.remediation = remediations.join("\n");
        for member in members {
            for evidence in member.evidence {
                add_evidence(&mut lead.evidence, evidence, false);
            }
        }
        for evidence in symptom_evidence {
            add_evidence(&mut lead.evidence, evidence, false);
        }
        lead.causes = causes;
        out.push(lead);
    }
    out
}

/// Which member of a fold group leads: the most severe, then the cause on
/// most nodes, then the higher priority, then by rule id.
fn lead_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    let rank = |f: &Finding| f.fold.as_ref().map_or((0, 0), |p| (p.weight, p.priority));
    let ((weight_a, priority_a), (weight_b, priority_b)) = (rank(a), rank(b));
    a.severity
        .cmp(&b.severity)
        .then(weight_b.cmp(&weight_a))
        .then(priority_b.cmp(&priority_a))
        .then_with(|| a.rule.cmp(&b.rule))
}

/// Exit code policy, decided here only: 1 when a finding reaches `fail_on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    /// Whether a finding of `severity` fails the gate. Suppressed findings
    /// are not in `findings`, so they never do.
    pub fn fails(self, severity: Severity) -> bool {
        let threshold = match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
            FailOn::Never => return false,
        };
        severity <= threshold
    }

    pub fn exit_code(self, report: &Report) -> u8 {
        match report.worst() {
            Some(worst) if self.fails(worst) => 1,
            _ => 0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FailOn::Error => "error",
            FailOn::Warning => "warning",
            FailOn::Info => "info",
            FailOn::Never => "never",
        }
    }
}

/// The formats a report renders to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Junit,
    Markdown,
    Short,
}

/// A rule as the renderers describe it: SARIF lists every rule with its
/// help, JUnit shows the rules that found nothing as passing cases. The
/// texts are the rule's templates with their `{placeholders}` left in.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub category: Category,
    /// After `.pxdoctor.yaml`'s severity overrides.
    pub severity: Severity,
    pub explanation: String,
    pub remediation: String,
    pub docs: Option<String>,
}

/// What a renderer needs besides the report.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    pub rules: &'a [RuleInfo],
    /// JUnit marks findings at or above it as failures.
    pub fail_on: FailOn,
}

/// Renders `report` as `format`; every output of one run goes through here,
/// from the same report, so the checks run once.
/// Writes one rendering to `out`; JSON is streamed, the others are small.
pub fn write(
    format: Format,
    report: &Report,
    context: &RenderContext<'_>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => json::write(report, out),
        other => out.write_all(render(other, report, context).as_bytes()),
    }
}

pub fn render(format: Format, report: &Report, context: &RenderContext<'_>) -> String {
    match format {
        Format::Table => table::render(report),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report, context),
        Format::Junit => junit::render(report, context),
        Format::Markdown => markdown::render(report),
        Format::Short => short::render(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{RunRef, Subject};
    use finding::Fallback;

    fn finding(rule: &str, severity: Severity, kind: &str, name: &str) -> Finding {
        Finding {
            rule: rule.into(),
            title: rule.into(),
            category: Category::Runtime,
            severity,
            subject: Subject {
                kind: kind.into(),
                namespace: Some("polyaxon".into()),
                name: name.into(),
                run: Some(RunRef::bare("8f3c2a1b9d7e4c5fa0b1c2d3e4f5a6b7")),
            },
            explanation: String::new(),
            remediation: String::new(),
            evidence: vec![Evidence::new("Event").reason(rule.to_string())],
            location: None,
            docs: None,
            causes: Vec::new(),
            fold: None,
            fallback: None,
        }
    }

    fn fallback(rule: &str, severity: Severity, kind: &str, name: &str, on: Fallback) -> Finding {
        Finding {
            fallback: Some(on),
            ..finding(rule, severity, kind, name)
        }
    }

    fn rules(findings: &[Finding]) -> Vec<&str> {
        let mut rules: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
        rules.sort();
        rules
    }

    #[test]
    fn a_fallback_yields_to_a_specific_finding_on_its_object_and_gives_it_its_evidence() {
        let out = yield_fallbacks(vec![
            finding("PXD-RUN-007", Severity::Error, "Pod", "p"),
            fallback(
                "PXD-RUN-098",
                Severity::Error,
                "Pod",
                "p",
                Fallback::Durable,
            ),
        ]);
        assert_eq!(rules(&out), ["PXD-RUN-007"]);
        assert!(
            out[0]
                .evidence
                .iter()
                .any(|e| e.reason.as_deref() == Some("PXD-RUN-098"))
        );
    }

    #[test]
    fn a_fallback_never_hides_under_a_milder_finding() {
        let out = yield_fallbacks(vec![
            finding("PXD-RUN-095", Severity::Warning, "Pod", "p"),
            fallback(
                "PXD-RUN-098",
                Severity::Error,
                "Pod",
                "p",
                Fallback::Durable,
            ),
        ]);
        assert_eq!(rules(&out), ["PXD-RUN-095", "PXD-RUN-098"]);
    }

    #[test]
    fn a_fallback_about_a_runs_job_yields_to_any_finding_on_the_run() {
        let out = yield_fallbacks(vec![
            finding("PXD-RUN-004", Severity::Error, "Pod", "p"),
            fallback(
                "PXD-PLAT-099",
                Severity::Error,
                "Operation",
                "op",
                Fallback::Durable,
            ),
            // About another pod: pods stand for themselves.
            fallback(
                "PXD-RUN-098",
                Severity::Error,
                "Pod",
                "other",
                Fallback::Durable,
            ),
        ]);
        assert_eq!(rules(&out), ["PXD-RUN-004", "PXD-RUN-098"]);
    }

    #[test]
    fn fallbacks_on_one_object_become_one_led_by_the_words() {
        let out = yield_fallbacks(vec![
            fallback(
                "PXD-QUOTA-098",
                Severity::Error,
                "Job",
                "j",
                Fallback::Durable,
            ),
            fallback(
                "PXD-QUOTA-099",
                Severity::Error,
                "Job",
                "j",
                Fallback::Words,
            ),
            fallback(
                "PXD-NODE-099",
                Severity::Warning,
                "Node",
                "n",
                Fallback::Durable,
            ),
        ]);
        assert_eq!(rules(&out), ["PXD-NODE-099", "PXD-QUOTA-099"]);
        let job = out.iter().find(|f| f.rule == "PXD-QUOTA-099").unwrap();
        assert_eq!(job.evidence.len(), 2);
    }
}
