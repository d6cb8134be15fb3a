//! The report: findings de-duplicated, folded, filtered and sorted, with a
//! summary and what could not be looked at. Renderers only format it.

pub mod finding;
pub mod json;
pub mod schema;
pub mod table;

use std::collections::{BTreeMap, BTreeSet};

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
}

/// What the user asked to see.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub only: Vec<Category>,
    /// Run uuids or prefixes of them.
    pub runs: Vec<String>,
}

impl Filter {
    fn keeps(&self, finding: &Finding) -> bool {
        let category = self.only.is_empty() || self.only.contains(&finding.category);
        let run = self.runs.is_empty()
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
        findings: Vec<Finding>,
        runs: usize,
        filter: &Filter,
        collection: Collection,
    ) -> Report {
        let findings: Vec<Finding> = findings.into_iter().filter(|f| filter.keeps(f)).collect();
        let (folded, single): (Vec<Finding>, Vec<Finding>) =
            findings.into_iter().partition(|f| f.fold.is_some());
        let mut findings = dedupe(single);
        findings.extend(fold(folded));
        findings.sort_by(|a, b| {
            (a.severity, a.category, &a.subject, &a.rule)
                .cmp(&(b.severity, b.category, &b.subject, &b.rule))
        });
        let count = |severity| findings.iter().filter(|f| f.severity == severity).count();
        let runs_with_findings = findings
            .iter()
            .filter_map(|f| f.subject.run.as_ref().map(|r| r.uuid.as_str()))
            .collect::<BTreeSet<_>>()
            .len();
        Report {
            schema: SCHEMA_ID.into(),
            tool: Tool {
                name: "pxdoctor".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            source,
            summary: Summary {
                error: count(Severity::Error),
                warning: count(Severity::Warning),
                info: count(Severity::Info),
                runs,
                runs_with_findings,
            },
            findings,
            collection,
        }
    }

    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).min()
    }
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
    let mut out: Vec<Finding> = Vec::new();
    let mut groups: BTreeMap<(String, crate::facts::Subject), Vec<Finding>> = BTreeMap::new();
    for finding in findings {
        match &finding.fold {
            Some(part) => groups
                .entry((part.group.clone(), finding.subject.clone()))
                .or_default()
                .push(finding),
            None => out.push(finding),
        }
    }
    for (_, mut members) in groups {
        members.sort_by_key(|f| {
            let (weight, priority) = f.fold.as_ref().map_or((0, 0), |p| (p.weight, p.priority));
            (
                f.severity,
                std::cmp::Reverse(weight),
                std::cmp::Reverse(priority),
                f.rule.clone(),
            )
        });
        let mut causes: Vec<Cause> = members
            .iter()
            .map(|f| Cause {
                rule: f.rule.clone(),
                title: f.title.clone(),
                severity: f.severity,
                explanation: f
                    .fold
                    .as_ref()
                    .map_or_else(|| f.explanation.clone(), |p| p.phrase.clone()),
                remediation: f.remediation.clone(),
            })
            .collect();
        // Two segments can say the same thing (old schedulers report pod
        // affinity twice); say it once.
        let mut seen = BTreeSet::new();
        causes.retain(|c| seen.insert((c.rule.clone(), c.explanation.clone())));
        let mut lead = members.remove(0);
        let header = lead
            .fold
            .as_ref()
            .map(|p| p.header.clone())
            .unwrap_or_default();
        lead.explanation = format!(
            "{header}: {}.",
            causes
                .iter()
                .map(|c| c.explanation.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
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
        lead.causes = causes;
        out.push(lead);
    }
    out
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
    pub fn exit_code(self, report: &Report) -> u8 {
        let threshold = match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
            FailOn::Never => return 0,
        };
        match report.worst() {
            Some(worst) if worst <= threshold => 1,
            _ => 0,
        }
    }
}
