//! From what the sources gave to a report: joined, evaluated, filtered,
//! severities and suppressions applied. One path for every command.

use std::collections::BTreeSet;

use crate::config::Config;
use crate::config::matcher::PodMarks;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::report::{Collection, Filter, Report, Skipped, Source};

/// What a source gave, before it is judged.
pub struct Collected {
    pub inventory: crate::facts::Inventory,
    pub source: Source,
    pub live: bool,
    /// With `--run`, live: the full uuids the cluster was asked about.
    pub scoped_runs: Option<Vec<String>>,
    /// Where a cluster was looked at, for a `--run` that matched nothing.
    pub looked_in: String,
    /// What Polyaxon's records added (check's `--run` and `--since`).
    pub remembered: Option<super::records::Remembered>,
}

/// What the user asked to see, of what was collected (check's flags;
/// serve asks for everything).
#[derive(Default)]
pub struct Asked {
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub runs: Vec<String>,
    pub only: Vec<crate::report::finding::Category>,
    pub show_suppressed: bool,
    /// `--since`: only the runs Polyaxon's records selected, even none.
    pub since: bool,
}

impl Asked {
    pub fn of(args: &crate::cli::CheckArgs) -> Asked {
        Asked {
            namespace: args.cluster.namespace.clone(),
            all_namespaces: args.cluster.all_namespaces,
            runs: args.runs.clone(),
            only: args.only.clone(),
            show_suppressed: args.show_suppressed,
            since: args.since.is_some(),
        }
    }
}

/// From what was collected to the report: joined, evaluated, filtered,
/// severities and suppressions applied. One path for every command that
/// judges a cluster.
pub fn judge(
    collected: Collected,
    asked: &Asked,
    config: &Config,
    engine: &Engine,
    today: jiff::civil::Date,
) -> Result<Judged> {
    let Collected {
        mut inventory,
        mut source,
        live,
        scoped_runs,
        looked_in,
        remembered,
    } = collected;
    let remembered = remembered.unwrap_or_default();
    if let Some(namespace) = &asked.namespace {
        let only = BTreeSet::from([namespace.clone()]);
        inventory.retain_namespaces(&only);
        source.namespaces = vec![namespace.clone()];
    }
    if source.namespaces.is_empty() {
        source.namespaces = inventory
            .pods
            .iter()
            .map(|pod| pod.namespace.clone())
            .chain(inventory.event_namespaces.iter().map(|ns| ns.to_string()))
            .filter(|ns| !ns.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    // A snapshot may lack a kind; a cluster's missing kind is a gap (and
    // `--run` asks for nodes only when its pods need them).
    let expected: &[(&str, &str)] = if live {
        &[]
    } else {
        &[("Pod", "pods"), ("Event", "events"), ("Node", "nodes")]
    };
    let mut skipped: Vec<Skipped> = expected
        .iter()
        .copied()
        .filter(|(kind, _)| !inventory.kinds_seen.contains(*kind))
        .filter(|(_, resource)| !inventory.gaps.iter().any(|g| g.resource == *resource))
        .map(|(_, resource)| Skipped {
            resource: resource.into(),
            reason: format!("no {resource} in the snapshot; checks that need them could not run"),
        })
        .collect();
    skipped.extend(inventory.gaps.iter().map(|gap| Skipped {
        resource: match &gap.namespace {
            Some(namespace) => format!("{} in {namespace}", gap.resource),
            None => gap.resource.clone(),
        },
        reason: gap.message.clone(),
    }));
    let now = now(&inventory, live)?;
    let mut inventory = inventory;
    inventory.grace_seconds = config.grace_seconds;
    let mut facts = inventory.correlate(now);
    if let Some(uuids) = &scoped_runs {
        // Pods of other runs were read for the capacity they hold on
        // nodes; the runs checked are those asked about.
        facts
            .runs
            .retain(|uuid| uuids.contains(uuid) || remembered.selected.iter().any(|r| r == uuid));
    }
    for wanted in &asked.runs {
        if !facts
            .runs
            .iter()
            .any(|uuid| uuid.starts_with(wanted.as_str()))
        {
            if let Some(why) = &remembered.unreadable {
                return Err(Error::Collection(format!(
                    "--run {wanted}: nothing {looked_in} belongs to this run, and Polyaxon's \
                     records could not be read: {why}"
                )));
            }
            let records = if remembered.unknown.contains(wanted) {
                "; Polyaxon's records do not know it either"
            } else {
                ""
            };
            if scoped_runs.is_some() {
                // What could not be read may be why nothing was found.
                let unread: Vec<String> = skipped
                    .iter()
                    .map(|s| format!("{}: {}", s.resource, s.reason))
                    .collect();
                return Err(Error::Usage(format!(
                    "--run {wanted}: nothing {looked_in} belongs to this run: no pod, Job or \
                     Polyaxon resource labelled {}={wanted}, no event about \
                     plx-operation-{wanted}{}{}{records}",
                    crate::facts::workloads::run::INSTANCE,
                    if asked.all_namespaces {
                        ""
                    } else {
                        " (-A looks in every namespace)"
                    },
                    if unread.is_empty() {
                        String::new()
                    } else {
                        format!("; not read: {}", unread.join("; "))
                    },
                )));
            }
            let known: Vec<String> = facts
                .runs
                .iter()
                .take(5)
                .map(|u| format!("{}…", &u[..u.len().min(8)]))
                .collect();
            return Err(Error::Usage(format!(
                "--run {wanted}: no run matches it among the {} run(s) checked{}{records}",
                facts.runs.len(),
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" (e.g. {})", known.join(", "))
                }
            )));
        }
    }
    let findings = engine.evaluate(&facts);
    let mut runs = asked.runs.clone();
    if asked.since {
        runs.extend(remembered.selected.iter().cloned());
    }
    let filter = Filter {
        only: asked.only.clone(),
        runs,
        runs_only: asked.since,
    };
    let collection = Collection {
        skipped,
        errors: Vec::new(),
    };
    let marks = PodMarks::new(&facts.pods, config);
    let runs_by_namespace = runs_by_namespace(&facts);
    let mut report = Report::build(source, findings, facts.runs.len(), &filter, collection)
        .with_severities(|rule, severity| config.severity_of(rule, severity))
        .suppress(
            |finding| config.silencer(finding, marks.of(&finding.subject), today),
            asked.show_suppressed,
        );
    report.histories = remembered.histories;
    Ok(Judged {
        report,
        runs_by_namespace,
    })
}

/// A report, and how many runs each namespace holds (serve's metrics).
pub struct Judged {
    pub report: Report,
    pub runs_by_namespace: std::collections::BTreeMap<String, usize>,
}

/// Each run counted once, in the namespace of its pods, Jobs or Polyaxon
/// resource.
fn runs_by_namespace(facts: &crate::facts::Facts) -> std::collections::BTreeMap<String, usize> {
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    let pods = facts
        .pods
        .iter()
        .filter_map(|pod| Some((pod.namespace.as_str(), pod.run.as_ref()?.uuid.as_str())));
    let jobs = facts
        .jobs
        .iter()
        .filter_map(|job| Some((job.namespace.as_str(), job.run.as_ref()?.uuid.as_str())));
    let operations = facts.operations.iter().filter_map(|operation| {
        Some((
            operation.namespace.as_str(),
            operation.run.as_ref()?.uuid.as_str(),
        ))
    });
    for (namespace, uuid) in pods.chain(jobs).chain(operations) {
        if facts.runs.contains(uuid) {
            seen.insert((namespace, uuid));
        }
    }
    let mut counts = std::collections::BTreeMap::new();
    for (namespace, _) in seen {
        *counts.entry(namespace.to_string()).or_insert(0) += 1;
    }
    counts
}

/// "in ml, polyaxon", or "in any namespace" (-A).
pub fn scope_words(namespaces: &[String]) -> String {
    if namespaces.is_empty() {
        "in any namespace".to_string()
    } else {
        format!("in {}", namespaces.join(", "))
    }
}

/// The moment pending durations run to: PXDOCTOR_NOW (for reproducible
/// reports and tests), a bundle's collection time, a snapshot's newest
/// timestamp, or the clock for a live cluster.
fn now(inventory: &crate::facts::Inventory, live: bool) -> Result<jiff::Timestamp> {
    if std::env::var_os("PXDOCTOR_NOW").is_some() {
        return clock();
    }
    let recorded = inventory
        .collected_at
        .or(if live { None } else { inventory.newest });
    Ok(recorded.unwrap_or_else(jiff::Timestamp::now))
}

/// PXDOCTOR_NOW (tests), else the clock.
pub fn clock() -> Result<jiff::Timestamp> {
    match std::env::var("PXDOCTOR_NOW") {
        Ok(text) => text.parse().map_err(|error| {
            Error::Usage(format!(
                "PXDOCTOR_NOW={text}: not an RFC 3339 time: {error}"
            ))
        }),
        Err(_) => Ok(jiff::Timestamp::now()),
    }
}
