//! Polyaxon's records in the pipeline: the runs asked of them (`--run` for
//! a run the cluster may have forgotten, `--since` for a window), read
//! within the deadline, replayed as the Kubernetes objects they describe
//! where the cluster holds nothing of a run, and told as a timeline.
//! What could not be read becomes a collection gap, never a silent "no
//! findings".

use std::collections::BTreeSet;

use futures::StreamExt;
use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::facts::records::fact::BEFORE_KUBERNETES;
use crate::facts::records::{RunRecord, RunRecordFact};
use crate::facts::{CollectionGap, Inventory};
use crate::report::history::History;
use crate::source::polyaxon_api::CliConfig;
use crate::source::records::client::{Client, Failure, FailureKind};
use crate::source::records::replay;
use crate::source::resolver::Resolver;

/// Statuses a window's report explains (besides runs that never reached
/// Kubernetes).
const TROUBLED: &[&str] = &[
    "failed",
    "stopped",
    "upstream_failed",
    "warning",
    "unschedulable",
];
/// Statuses of runs Polyaxon has on Kubernetes now.
const ACTIVE: &[&str] = &[
    "scheduled",
    "starting",
    "running",
    "processing",
    "warning",
    "unschedulable",
];

/// What to ask Polyaxon's records.
pub struct Wanted<'a> {
    /// `--run` values (uuids or prefixes).
    pub runs: &'a [String],
    /// `--since`: the window's start.
    pub since: Option<Timestamp>,
}

/// What the records gave, for the judge.
#[derive(Default)]
pub struct Remembered {
    /// Every run the records selected, by full uuid.
    pub selected: Vec<String>,
    /// Timelines for the report.
    pub histories: Vec<History>,
    /// `--run` values Polyaxon does not know, with where it was asked.
    pub unknown: Vec<String>,
    /// Why a `--run` could not be looked up, when the records could not be read.
    pub unreadable: Option<String>,
    pub requests: usize,
}

/// Reads what `wanted` asks, adds the records' facts (and, for runs the
/// cluster no longer holds, their replayed objects) to `inventory`.
pub async fn remember(
    config: &CliConfig,
    wanted: Wanted<'_>,
    inventory: &mut Inventory,
    step: std::time::Duration,
    resolver: &Resolver,
) -> Result<Remembered> {
    let client = Client::new(config, step, resolver);
    let held = held_runs(inventory);
    let mut remembered = Remembered::default();
    let mut records: Vec<RunRecord> = Vec::new();
    for wanted_run in wanted.runs {
        if let Some(uuid) = held.iter().find(|u| u.starts_with(wanted_run.as_str())) {
            // The cluster holds it; the records add its history.
            match client.run(uuid).await {
                Ok(Some(record)) => records.push(record),
                Ok(None) => {}
                Err(failure) => gap(inventory, "the run", &failure),
            }
            continue;
        }
        match find(&client, wanted_run).await {
            Ok(Some(record)) => records.push(record),
            Ok(None) => remembered.unknown.push(wanted_run.clone()),
            Err(failure) => {
                remembered.unreadable = Some(failure.to_string());
                gap(inventory, "the run", &failure);
            }
        }
    }
    if let Some(since) = wanted.since {
        let found = window(&client, since).await.map_err(|failure| {
            Error::Collection(format!(
                "--since: Polyaxon's records could not be read: {failure}{}",
                hint(&failure)
            ))
        })?;
        for record in found {
            if !records.iter().any(|r| r.uuid == record.uuid) {
                records.push(record);
            }
        }
    }
    // Each run's history, and what the cluster no longer holds of it.
    let held_ref = &held;
    let client_ref = &client;
    let read = client
        .for_each(records, |mut record| async move {
            let mut problems = Vec::new();
            if let Err(failure) = client_ref.history(&mut record).await {
                problems.push(("a run's statuses", failure));
            }
            if !held_ref.contains(&record.uuid) {
                // A list item carries no spec; the run itself does, read
                // only where a finding weighs it (a scheduler's verdict
                // against today's nodes, a container's limits).
                if record.content.is_none() && replay::needs_spec(&record) {
                    match client_ref.run(&record.uuid).await {
                        Ok(Some(full)) => record.content = full.content,
                        Ok(None) => {}
                        Err(failure) => problems.push(("the run", failure)),
                    }
                }
                // Logs exist only for a run whose containers ran.
                if replay::ran(&record) {
                    client_ref.logs(&mut record).await;
                } else {
                    record.logs = crate::facts::records::ArchivedLogs::None;
                }
            }
            (record, problems)
        })
        .await;
    let mut records = Vec::new();
    for (record, problems) in read {
        for (what, failure) in &problems {
            gap(inventory, what, failure);
        }
        records.push(record);
    }
    records.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    // A run that never reached Kubernetes waits for capacity other runs
    // may hold: they are named.
    let active = if records
        .iter()
        .any(|r| !r.is_done() && BEFORE_KUBERNETES.contains(&r.status.as_str()))
    {
        active_runs(&client).await
    } else {
        None
    };
    let read_at = super::judge::clock()?;
    for record in &records {
        let in_cluster = held.contains(&record.uuid);
        let reached = replay::reached_kubernetes(record);
        if !in_cluster {
            replay::replay(record, record.as_of(read_at), inventory);
        }
        let mut fact =
            RunRecordFact::new(record, reached, replay::ran(record), in_cluster, read_at);
        fact.active_runs = active.clone();
        inventory.records.push(fact);
        remembered.selected.push(record.uuid.clone());
        remembered.histories.push(History::of(record, in_cluster));
    }
    remembered.requests = client.requests();
    Ok(remembered)
}

/// The runs the cluster holds something of: pods, Jobs, custom resources,
/// events about `plx-operation-<uuid>`.
fn held_runs(inventory: &Inventory) -> BTreeSet<String> {
    use crate::facts::workloads::run::uuid_in_name;
    inventory
        .pods
        .iter()
        .filter_map(|p| p.run.as_ref().map(|r| r.uuid.clone()))
        .chain(
            inventory
                .jobs
                .iter()
                .filter_map(|j| j.run.as_ref().map(|r| r.uuid.clone())),
        )
        .chain(
            inventory
                .operations
                .iter()
                .filter_map(|o| o.run.as_ref().map(|r| r.uuid.clone())),
        )
        .chain(
            inventory
                .events
                .iter()
                .filter_map(|e| uuid_in_name(&e.involved_name).map(str::to_string)),
        )
        .collect()
}

/// A run by its uuid, or by a prefix among the runs of every project.
async fn find(
    client: &Client<'_>,
    wanted: &str,
) -> std::result::Result<Option<RunRecord>, Failure> {
    if wanted.len() == 32 {
        return client.run(wanted).await;
    }
    let mut found = Vec::new();
    for project in client.projects().await? {
        found.extend(
            client
                .runs(&project, &format!("uuid:{wanted}%,created_at:_any_"))
                .await?
                .into_iter()
                .filter(|r| r.uuid.starts_with(wanted)),
        );
    }
    Ok(if found.len() == 1 { found.pop() } else { None })
}

/// The runs of the window: troubled ones updated since `since`, and the
/// ones still waiting before Kubernetes.
async fn window(
    client: &Client<'_>,
    since: Timestamp,
) -> std::result::Result<Vec<RunRecord>, Failure> {
    let since_text = since.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let troubled = format!("status:{},updated_at:>{since_text}", TROUBLED.join("|"));
    let waiting = format!("status:{}", BEFORE_KUBERNETES.join("|"));
    let projects = client.projects().await?;
    let mut found: Vec<RunRecord> = Vec::new();
    let lists: Vec<std::result::Result<Vec<RunRecord>, Failure>> = futures::stream::iter(
        projects
            .iter()
            .flat_map(|p| [(p.clone(), troubled.clone()), (p.clone(), waiting.clone())]),
    )
    .map(|(project, query)| async move { client.runs(&project, &query).await })
    .buffer_unordered(crate::source::records::client::CONCURRENCY)
    .collect()
    .await;
    for list in lists {
        for record in list? {
            if !found.iter().any(|r| r.uuid == record.uuid) {
                found.push(record);
            }
        }
    }
    Ok(found)
}

/// The runs Polyaxon has on Kubernetes now, by name (None when unread).
async fn active_runs(client: &Client<'_>) -> Option<Vec<String>> {
    let query = format!("status:{}", ACTIVE.join("|"));
    let mut names = Vec::new();
    for project in client.projects().await.ok()? {
        for record in client.runs(&project, &query).await.ok()? {
            names.push(format!(
                "{}/{} ({}, {})",
                record.project.as_deref().unwrap_or(&project),
                record.name.as_deref().unwrap_or(&record.uuid[..8]),
                &record.uuid[..8.min(record.uuid.len())],
                record.status
            ));
        }
    }
    Some(names)
}

/// A record read that failed, as a collection gap.
fn gap(inventory: &mut Inventory, what: &str, failure: &Failure) {
    let gap = CollectionGap {
        verb: "get".into(),
        resource: format!("Polyaxon's records ({what})"),
        group: String::new(),
        namespace: None,
        reason: "records".into(),
        message: failure.to_string(),
        skipped_checks: "what Polyaxon's records say of runs Kubernetes no longer holds".into(),
    };
    if !inventory.gaps.contains(&gap) {
        inventory.gaps.push(gap);
    }
}

/// What to do about a failure, in a few words.
pub fn hint(failure: &Failure) -> &'static str {
    match failure.kind {
        FailureKind::Unreachable => {
            " (is POLYAXON_HOST right, and the API reachable from here? `polyaxon config show`)"
        }
        FailureKind::Refused => " (log in again: `polyaxon login`)",
        FailureKind::NotPolyaxon => " (POLYAXON_HOST does not point at Polyaxon's API)",
        FailureKind::Status(_) => "",
    }
}

/// check's `--run` and `--since`: what Polyaxon's records add, within the
/// deadline. None when nothing is asked of them (or `--run` alone with no
/// CLI configuration, as before records existed).
pub fn for_check(
    runtime: &tokio::runtime::Runtime,
    args: &crate::cli::CheckArgs,
    inventory: &mut Inventory,
    deadline: tokio::time::Instant,
) -> Result<Option<Remembered>> {
    if args.since.is_none() && args.runs.is_empty() {
        return Ok(None);
    }
    if args.since.is_some() && args.probes.no_api {
        return Err(Error::Usage(
            "--since reads Polyaxon's records through its API; it cannot go with --no-api".into(),
        ));
    }
    let config = match super::gather::cli_config() {
        Some(config) => config,
        None if args.since.is_some() => {
            return Err(Error::Usage(
                "--since reads Polyaxon's records, and the Polyaxon CLI has no configuration \
                 here: set POLYAXON_HOST (and POLYAXON_AUTH_TOKEN), or `polyaxon config set \
                 --host=...` and `polyaxon login`"
                    .into(),
            ));
        }
        None => return Ok(None),
    };
    if args.probes.no_api {
        return Ok(None);
    }
    let since = match args.since {
        Some(window) => {
            let now = super::judge::clock()?;
            let window = jiff::SignedDuration::try_from(window)
                .map_err(|_| Error::Usage("--since: the window is too long".into()))?;
            Some(now.checked_sub(window).map_err(|_| {
                Error::Usage("--since: the window reaches before any time Polyaxon knows".into())
            })?)
        }
        None => None,
    };
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let step = args
        .cluster
        .request_timeout
        .min(std::time::Duration::from_secs(10))
        .min(left.max(std::time::Duration::from_millis(1)));
    let wanted = Wanted {
        runs: &args.runs,
        since,
    };
    let read = runtime.block_on(async {
        tokio::time::timeout(
            left,
            remember(&config, wanted, inventory, step, &Resolver::System),
        )
        .await
    });
    let remembered = match read {
        Ok(remembered) => remembered?,
        Err(_) => {
            return Err(Error::Collection(format!(
                "Polyaxon's records at {} could not be read within --timeout {}s",
                crate::redact::redact_line(&config.host),
                args.cluster.timeout.as_secs()
            )));
        }
    };
    if args.cluster.verbose > 0 {
        crate::sink::err(&format!(
            "pxdoctor: Polyaxon's records: {} run(s) in {} request(s)",
            remembered.selected.len(),
            remembered.requests
        ));
    }
    Ok(Some(remembered))
}
