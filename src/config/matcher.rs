//! Decides what silences a reported finding: its category turned off, an
//! ignore entry of `.pxdoctor.yaml`, or the `pxdoctor.io/ignore` annotation
//! of its pod. Nothing is dropped here: a silenced finding goes with what
//! silenced it, for the report to count and list.

use std::collections::{BTreeMap, HashMap};

use crate::facts::{PodFact, Subject};
use crate::report::Suppression;
use crate::report::finding::Finding;

use super::{Config, IGNORE_ANNOTATION, Ignore};

/// What the finding's own object says: the rule ids of its
/// `pxdoctor.io/ignore` annotation, and the labels selectors may read.
#[derive(Debug, Clone, Copy)]
pub struct ObjectMarks<'a> {
    pub ignore: &'a [String],
    pub labels: &'a BTreeMap<String, String>,
}

/// The marks of the pods findings may be about, by namespace and name.
pub struct PodMarks<'a> {
    by_pod: HashMap<(&'a str, &'a str), ObjectMarks<'a>>,
}

impl<'a> PodMarks<'a> {
    /// Every pod when selectors need labels (a pod without the label must
    /// still answer `env!=prod`), else only the annotated ones.
    pub fn new(pods: &'a [PodFact], config: &Config) -> PodMarks<'a> {
        let every_pod = !config.label_keys().is_empty();
        let by_pod = pods
            .iter()
            .filter(|pod| every_pod || !pod.pxdoctor_ignore.is_empty())
            .map(|pod| {
                let marks = ObjectMarks {
                    ignore: &pod.pxdoctor_ignore,
                    labels: &pod.selected_labels,
                };
                ((pod.namespace.as_str(), pod.name.as_str()), marks)
            })
            .collect();
        PodMarks { by_pod }
    }

    pub fn of(&self, subject: &Subject) -> Option<ObjectMarks<'a>> {
        let namespace = subject
            .namespace
            .as_deref()
            .filter(|_| subject.kind == "Pod")?;
        self.by_pod
            .get(&(namespace, subject.name.as_str()))
            .copied()
    }
}

impl Config {
    /// What silences `finding`, if anything: its category turned off, the
    /// first ignore entry that matches and has not expired by `today`, or
    /// its pod's annotation (`marks`: pods only, today).
    pub fn silencer(
        &self,
        finding: &Finding,
        marks: Option<ObjectMarks<'_>>,
        today: jiff::civil::Date,
    ) -> Option<Suppression> {
        if let Some(position) = self.categories_off.get(&finding.category) {
            return Some(Suppression {
                reason: format!("category `{}` is turned off", finding.category),
                by: position.to_string(),
                expires: None,
            });
        }
        let labels = marks.map(|m| m.labels);
        if let Some(ignore) = self
            .ignores
            .iter()
            .find(|ignore| !ignore.expired(today) && ignore.matches(finding, labels))
        {
            return Some(Suppression {
                reason: ignore.reason.clone(),
                by: ignore.position.to_string(),
                expires: ignore.expires.map(|date| date.to_string()),
            });
        }
        let subject = &finding.subject;
        marks
            .filter(|m| m.ignore.contains(&finding.rule))
            .map(|_| Suppression {
                reason: format!(
                    "the {} lists {} in {IGNORE_ANNOTATION}",
                    subject.kind, finding.rule
                ),
                by: format!("{} annotation {IGNORE_ANNOTATION}", subject.object_label()),
                expires: None,
            })
    }
}

impl Ignore {
    /// Every condition given holds. A label selector only ever matches a
    /// finding whose object's labels are known (pods), so that `env!=prod`
    /// does not silence findings about nodes.
    pub fn matches(&self, finding: &Finding, labels: Option<&BTreeMap<String, String>>) -> bool {
        let subject = &finding.subject;
        let run = subject.run.as_ref();
        let rule = self.rule.as_ref().is_none_or(|(id, _)| *id == finding.rule);
        let namespace = self
            .namespace
            .as_ref()
            .is_none_or(|ns| subject.namespace.as_ref() == Some(ns));
        let run_uuid = self
            .run
            .as_ref()
            .is_none_or(|uuid| run.is_some_and(|r| r.uuid.starts_with(uuid.as_str())));
        let project = self.project.as_ref().is_none_or(|wanted| {
            run.is_some_and(|r| {
                let project = r.project.as_deref().unwrap_or_default();
                let owned = format!("{}/{project}", r.owner.as_deref().unwrap_or_default());
                !project.is_empty() && (wanted == project || *wanted == owned)
            })
        });
        let selected = self
            .labels
            .as_ref()
            .is_none_or(|selector| labels.is_some_and(|labels| selector.matches(labels)));
        let message = self.message.as_ref().is_none_or(|regex| {
            regex.is_match(&finding.title)
                || regex.is_match(&finding.explanation)
                || finding
                    .evidence
                    .iter()
                    .filter_map(|e| e.message.as_deref())
                    .any(|m| regex.is_match(m))
        });
        rule && namespace && run_uuid && project && selected && message
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::facts::{Evidence, RunRef};
    use crate::report::finding::{Category, Severity};

    fn finding(rule: &str, namespace: &str, name: &str) -> Finding {
        Finding {
            rule: rule.into(),
            title: "Pending: not enough nvidia.com/gpu".into(),
            category: Category::Pending,
            severity: Severity::Error,
            subject: Subject {
                kind: "Pod".into(),
                namespace: Some(namespace.into()),
                name: name.into(),
                run: Some(RunRef {
                    uuid: "5200fc5c54e8".into(),
                    owner: Some("acme".into()),
                    project: Some("mnist".into()),
                    name: Some("train".into()),
                    kind: Some("job".into()),
                }),
            },
            explanation: "3 of 4 nodes: not enough free nvidia.com/gpu".into(),
            remediation: "Lower the request".into(),
            evidence: vec![Evidence::new("Event").message("0/4 nodes are available")],
            location: None,
            docs: None,
            causes: Vec::new(),
            fold: None,
            fallback: None,
        }
    }

    fn config(text: &str) -> Config {
        let (config, problems) = Config::parse(Path::new(".pxdoctor.yaml"), text).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        config
    }

    fn today() -> jiff::civil::Date {
        "2026-01-15".parse().unwrap()
    }

    #[test]
    fn each_condition_narrows_the_ignore() {
        let cases = [
            ("rule: PXD-PEND-002", true),
            ("rule: PXD-PEND-003", false),
            ("namespace: polyaxon", true),
            ("namespace: other", false),
            ("run: 5200fc", true),
            ("run: 6200fc", false),
            ("project: mnist", true),
            ("project: acme/mnist", true),
            ("project: other/mnist", false),
            ("message: 'nodes are available'", true),
            ("message: 'cpu'", false),
            ("labels: team=ml", true),
            ("labels: team=web", false),
            ("rule: PXD-PEND-002\n    namespace: other", false),
        ];
        let labels = BTreeMap::from([("team".to_string(), "ml".to_string())]);
        let marks = ObjectMarks {
            ignore: &[],
            labels: &labels,
        };
        for (condition, silenced) in cases {
            let config = config(&format!("ignore:\n  - {condition}\n    reason: test\n"));
            let finding = finding("PXD-PEND-002", "polyaxon", "p");
            let verdict = config.silencer(&finding, Some(marks), today());
            assert_eq!(verdict.is_some(), silenced, "{condition}");
        }
        // Without known labels a selector selects nothing, `!=` included.
        let config = config("ignore:\n  - labels: team!=web\n    reason: test\n");
        let finding = finding("PXD-PEND-002", "polyaxon", "p");
        assert!(config.silencer(&finding, None, today()).is_none());
    }

    #[test]
    fn expired_entries_silence_nothing() {
        let config = config(
            "severity:\n  PXD-PEND-002: warning\nignore:\n  - rule: PXD-PEND-002\n    reason: old\n    expires: 2026-01-14\n",
        );
        let finding = finding("PXD-PEND-002", "polyaxon", "p");
        assert_eq!(
            config.severity_of(&finding.rule, finding.severity),
            Severity::Warning
        );
        assert!(config.silencer(&finding, None, today()).is_none());
        assert_eq!(config.expired(today()).count(), 1);
    }

    #[test]
    fn the_annotation_silences_its_rules_on_its_pod() {
        let ignore = vec!["PXD-PEND-002".to_string()];
        let labels = BTreeMap::new();
        let marks = ObjectMarks {
            ignore: &ignore,
            labels: &labels,
        };
        let config = Config::default();
        let annotated = finding("PXD-PEND-002", "polyaxon", "annotated");
        let why = config.silencer(&annotated, Some(marks), today()).unwrap();
        assert_eq!(
            why.by,
            "Pod polyaxon/annotated annotation pxdoctor.io/ignore"
        );
        let other_rule = finding("PXD-PEND-005", "polyaxon", "annotated");
        assert!(config.silencer(&other_rule, Some(marks), today()).is_none());
    }

    #[test]
    fn a_category_turned_off_silences_with_its_position() {
        let config = config("categories:\n  pending: false\n");
        let finding = finding("PXD-PEND-002", "polyaxon", "p");
        let why = config.silencer(&finding, None, today()).unwrap();
        assert_eq!(why.by, ".pxdoctor.yaml:2:3");
    }
}
