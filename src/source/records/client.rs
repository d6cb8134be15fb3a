//! Reading Polyaxon's records with the CLI's configuration: a run
//! (`GET /api/v1/orgs/{owner}/runs/{uuid}`), its status history
//! (`.../{owner}/{project}/runs/{uuid}/statuses`), its archived logs
//! (`/streams/v1/{namespace}/{owner}/{project}/runs/{uuid}/logs`), the
//! projects (`/api/v1/{owner}/projects/list`) and the runs of a window
//! (`/api/v1/{owner}/{project}/runs?query=...`). GETs only: nothing is
//! written to Polyaxon, and `/orgs/{owner}/agents/state` is never asked
//! (it schedules queued runs as a side effect). Pages are read with
//! `limit`/`offset` (the answers' `next` carries the server's own idea of
//! its host); several requests at once, never more than [`CONCURRENCY`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde_json::Value as Json;

use crate::facts::records::{ArchivedLogs, LogLine, RunRecord};
use crate::source::polyaxon_api::{Answer, CliConfig, outcome_of, request};
use crate::source::resolver::Resolver;

/// Requests in flight at once.
pub const CONCURRENCY: usize = 8;
/// Runs asked for per page.
const PAGE: usize = 100;
/// The most of one answer kept (a page of runs carries their specs).
const BODY_LIMIT: usize = 32 * 1024 * 1024;
/// The owner Polyaxon CE answers for (it ignores the owner).
pub const DEFAULT_OWNER: &str = "default";

/// Why a request gave no record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What was asked: `GET https://host/api/v1/...`.
    pub asked: String,
    pub kind: FailureKind,
    /// What happened, in words (redacted).
    pub said: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// DNS, connection, TLS or no answer in time.
    Unreachable,
    /// 401 or 403: the token (or its absence) was refused.
    Refused,
    /// An answer that is not Polyaxon's JSON.
    NotPolyaxon,
    /// Any other HTTP status.
    Status(u16),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.asked, self.said)
    }
}

/// A reader of one Polyaxon API.
pub struct Client<'a> {
    config: &'a CliConfig,
    step: Duration,
    resolver: &'a Resolver,
    pub owner: String,
    requests: AtomicUsize,
}

impl<'a> Client<'a> {
    pub fn new(config: &'a CliConfig, step: Duration, resolver: &'a Resolver) -> Client<'a> {
        let owner = config
            .project
            .as_ref()
            .map_or(DEFAULT_OWNER.to_string(), |(owner, _)| owner.clone());
        Client {
            config,
            step,
            resolver,
            owner,
            requests: AtomicUsize::new(0),
        }
    }

    /// How many requests were made.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// The API's base URL, as reports show it (credentials masked).
    pub fn host(&self) -> String {
        crate::redact::redact_line(&self.config.host)
    }

    /// One GET, as JSON; None for Polyaxon's 404 ("No Run matches the
    /// given query.", "No Project matches the given query.").
    async fn get(&self, path: &str) -> Result<Option<Json>, Failure> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let asked = format!("GET {}{path}", self.host().trim_end_matches('/'));
        let fail = |kind, said: String| Failure {
            asked: asked.clone(),
            kind,
            said,
        };
        match request(self.config, path, self.step, self.resolver, BODY_LIMIT).await {
            Answer::Failed { step, error, .. } => Err(fail(
                FailureKind::Unreachable,
                format!("{} ({step})", self.config.scrub(&error)),
            )),
            Answer::Http { status, body, .. } => {
                let json: Option<Json> = serde_json::from_str(&body).ok();
                let detail = json
                    .as_ref()
                    .and_then(|j| j.get("detail"))
                    .and_then(Json::as_str)
                    .map(str::to_string);
                let start = || {
                    let start: String = body.trim().chars().take(160).collect();
                    self.config.scrub(&start)
                };
                match status {
                    200..=299 => match json {
                        Some(json) if json.is_object() => Ok(Some(json)),
                        _ => Err(fail(
                            FailureKind::NotPolyaxon,
                            format!("{status} but not Polyaxon's JSON: {:?}", start()),
                        )),
                    },
                    // Polyaxon's own "No Run matches the given query." (DRF's
                    // get_object_or_404); any other 404 is not an answer
                    // about the run (a proxy's, a misrouted request's).
                    404 if detail
                        .as_deref()
                        .is_some_and(|d| d.contains("matches the given query")) =>
                    {
                        Ok(None)
                    }
                    401 | 403 => {
                        let said = detail.map_or_else(start, |d| self.config.scrub(&d));
                        let outcome = outcome_of(status, &said, self.config.has_token());
                        Err(fail(
                            FailureKind::Refused,
                            format!("refused ({status}, {}): {said}", outcome.replace('_', " ")),
                        ))
                    }
                    _ => Err(fail(
                        FailureKind::Status(status),
                        format!(
                            "answered {status}: {}",
                            detail.map_or_else(start, |d| self.config.scrub(&d))
                        ),
                    )),
                }
            }
        }
    }

    /// A run by its full uuid; None when Polyaxon does not know it.
    pub async fn run(&self, uuid: &str) -> Result<Option<RunRecord>, Failure> {
        let path = format!("/api/v1/orgs/{}/runs/{uuid}", self.owner);
        let Some(json) = self.get(&path).await? else {
            return Ok(None);
        };
        RunRecord::from_api(&json).map(Some).ok_or_else(|| Failure {
            asked: format!("GET {}{path}", self.host()),
            kind: FailureKind::NotPolyaxon,
            said: "the answer is not a run (no uuid)".into(),
        })
    }

    /// Fills the run's status history.
    pub async fn history(&self, record: &mut RunRecord) -> Result<(), Failure> {
        let path = format!("{}/statuses", run_path(record, &self.owner));
        match self.get(&path).await? {
            Some(json) => record.set_conditions(&json),
            None => record.conditions.clear(),
        }
        Ok(())
    }

    /// Fills the run's archived logs (`force`: the streams service caches
    /// what it read first, so a run read while it ran would look empty).
    pub async fn logs(&self, record: &mut RunRecord) {
        let namespace = record
            .namespace
            .clone()
            .unwrap_or_else(|| crate::facts::records::record::DEFAULT_NAMESPACE.into());
        let path = format!(
            "/streams/v1/{namespace}/{}/{}/runs/{}/logs?force=true",
            record.owner.as_deref().unwrap_or(&self.owner),
            record.project.as_deref().unwrap_or("-"),
            record.uuid
        );
        record.logs = match self.get(&path).await {
            Ok(Some(json)) => match json.get("logs").and_then(Json::as_array) {
                Some(lines) if lines.is_empty() => ArchivedLogs::None,
                Some(lines) => ArchivedLogs::Lines(lines.iter().map(log_line).collect()),
                None => ArchivedLogs::Unknown("the answer holds no `logs`".into()),
            },
            Ok(None) => ArchivedLogs::None,
            Err(failure) => ArchivedLogs::Unknown(failure.to_string()),
        };
    }

    /// Every project the token can see.
    pub async fn projects(&self) -> Result<Vec<String>, Failure> {
        let path = format!("/api/v1/{}/projects/list", self.owner);
        let items = self.pages(&path, "").await?;
        Ok(items
            .iter()
            .filter_map(|p| p.get("name").and_then(Json::as_str).map(str::to_string))
            .collect())
    }

    /// The runs of `project` that `query` selects (Polyaxon's query
    /// language: `status:failed|stopped,updated_at:>2026-12-07T10:00`).
    pub async fn runs(&self, project: &str, query: &str) -> Result<Vec<RunRecord>, Failure> {
        let path = format!("/api/v1/{}/{project}/runs", self.owner);
        let query = format!("query={}", crate::source::fetch::encode(query));
        let items = self.pages(&path, &query).await?;
        // List items may leave out where they belong: it is where they
        // were listed.
        Ok(items
            .iter()
            .filter_map(RunRecord::from_api)
            .map(|mut record| {
                record.project.get_or_insert_with(|| project.to_string());
                record.owner.get_or_insert_with(|| self.owner.clone());
                record
            })
            .collect())
    }

    /// Every item of a paginated list, page by page.
    async fn pages(&self, path: &str, query: &str) -> Result<Vec<Json>, Failure> {
        let mut items = Vec::new();
        loop {
            let mut page = format!("{path}?limit={PAGE}&offset={}", items.len());
            if !query.is_empty() {
                page.push('&');
                page.push_str(query);
            }
            let Some(json) = self.get(&page).await? else {
                return Ok(items);
            };
            let results = json
                .get("results")
                .and_then(Json::as_array)
                .cloned()
                .ok_or_else(|| Failure {
                    asked: format!("GET {}{page}", self.host()),
                    kind: FailureKind::NotPolyaxon,
                    said: "a list without `results`".into(),
                })?;
            let count = json.get("count").and_then(Json::as_u64).map(|c| c as usize);
            let got = results.len();
            items.extend(results);
            let more = got == PAGE && count.is_none_or(|count| items.len() < count);
            if !more {
                return Ok(items);
            }
        }
    }

    /// Runs `each` on every item, at most [`CONCURRENCY`] at once.
    pub async fn for_each<T, U, F, Fut>(&self, items: Vec<T>, each: F) -> Vec<U>
    where
        F: Fn(T) -> Fut,
        Fut: std::future::Future<Output = U>,
    {
        stream::iter(items.into_iter().map(each))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await
    }
}

/// `/api/v1/{owner}/{project}/runs/{uuid}`.
fn run_path(record: &RunRecord, owner: &str) -> String {
    format!(
        "/api/v1/{}/{}/runs/{}",
        record.owner.as_deref().unwrap_or(owner),
        record.project.as_deref().unwrap_or("-"),
        record.uuid
    )
}

fn log_line(value: &Json) -> LogLine {
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    LogLine {
        time: crate::facts::records::record::time(value.get("timestamp")),
        node: text("node"),
        pod: text("pod"),
        container: text("container"),
        value: text("value"),
    }
}
