//! HTTP to the API server, through kube's client (which owns auth: tokens,
//! exec plugins, client certificates, impersonation), with the patience a
//! busy control plane needs: retries with backoff on 5xx and dropped or
//! truncated answers, Retry-After on 429, a timeout on every request, and a
//! deadline for the whole run. Every request is counted and, with -v, logged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{Request, StatusCode};
use indicatif::ProgressBar;
use serde::Deserialize;
use tokio::time::Instant;

/// Why a request did not give a usable answer.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchError {
    /// 401: the credentials were not accepted.
    Unauthorized(String),
    /// 403, with the API server's message.
    Forbidden(String),
    NotFound(String),
    /// 410 on a continue token: the list must start again.
    Expired,
    /// The deadline or the request timeout passed.
    Timeout,
    /// No answer at all (refused, reset, TLS, DNS), after retries.
    Unreachable(String),
    /// Any other status, after retries where they make sense.
    Status(u16, String),
}

impl FetchError {
    pub fn describe(&self) -> String {
        match self {
            FetchError::Unauthorized(m) => format!("401 Unauthorized: {m}"),
            FetchError::Forbidden(m) => format!("403 Forbidden: {m}"),
            FetchError::NotFound(m) => format!("404 Not Found: {m}"),
            FetchError::Expired => "410 Expired: the list changed while it was read".into(),
            FetchError::Timeout => "timed out".into(),
            FetchError::Unreachable(m) => m.clone(),
            FetchError::Status(code, m) => format!("{code}: {m}"),
        }
    }
}

/// The API server's error document.
#[derive(Deserialize, Default)]
struct Status {
    #[serde(default)]
    message: String,
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default)]
    metadata: ListMetadata,
    #[serde(default)]
    items: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize, Default)]
struct ListMetadata {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

/// What a LIST hands its caller.
pub enum Listing<'a> {
    Page(&'a str),
    Restart,
}

const ATTEMPTS: u32 = 6;

/// Tries of the first request when the server does not answer in time: a
/// silent server ends the run after about three request timeouts, as
/// kubectl's discovery does.
const FIRST_CONTACT_ATTEMPTS: u32 = 3;

/// Whether a request that got no answer got, in fact, an answer: a refused
/// connection, a name that does not resolve, a certificate that is not
/// trusted or an unreachable network say the same on every try (the
/// vocabularies classify kube's and hyper's words for them). Resets, cut
/// bodies and timeouts may pass.
pub fn is_final(message: &str) -> bool {
    crate::facts::shared::words::classify(message).is_some_and(|c| {
        c.cause == "connection-refused"
            || c.cause == "dns"
            || c.cause == "network-unreachable"
            || c.cause.starts_with("tls-")
    })
}

pub struct Fetcher {
    client: kube::Client,
    deadline: Instant,
    request_timeout: Duration,
    page_size: usize,
    verbose: bool,
    progress: Option<ProgressBar>,
    requests: AtomicUsize,
    answered: AtomicUsize,
}

impl Fetcher {
    pub fn new(
        client: kube::Client,
        deadline: Instant,
        request_timeout: Duration,
        page_size: usize,
        verbose: bool,
        progress: Option<ProgressBar>,
    ) -> Fetcher {
        Fetcher {
            client,
            deadline,
            request_timeout,
            page_size,
            verbose,
            progress,
            requests: AtomicUsize::new(0),
            answered: AtomicUsize::new(0),
        }
    }

    /// Requests sent, and requests the server answered (any status).
    pub fn counts(&self) -> (usize, usize) {
        (
            self.requests.load(Ordering::Relaxed),
            self.answered.load(Ordering::Relaxed),
        )
    }

    pub fn say(&self, message: String) {
        if let Some(progress) = &self.progress {
            // sink: the spinner's words, redacted.
            progress.set_message(crate::redact::redact_line(&message));
        }
    }

    /// Every page of a LIST, handed over as the server wrote it. A 410 on a
    /// continue token starts the list again: `Listing::Restart` tells the
    /// caller to drop what it took from the earlier pages.
    pub async fn list(
        &self,
        path: &str,
        mut on: impl FnMut(Listing<'_>),
    ) -> Result<usize, FetchError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut restarts = 0;
        let mut pages = 0;
        let mut token: Option<String> = None;
        loop {
            let mut url = format!("{path}{separator}limit={}", self.page_size);
            if let Some(token) = &token {
                url.push_str("&continue=");
                url.push_str(&encode(token));
            }
            let body = match self.get_page(&url).await {
                Ok(body) => body,
                Err(FetchError::Expired) if restarts < 3 => {
                    restarts += 1;
                    token = None;
                    on(Listing::Restart);
                    continue;
                }
                Err(error) => return Err(error),
            };
            let meta: ListMeta = serde_json::from_str(&body).unwrap_or_default();
            if self.verbose {
                self.note(format!("  {} items", meta.items.len()));
            }
            on(Listing::Page(&body));
            pages += 1;
            token = meta.metadata.continue_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(pages);
            }
        }
    }

    /// A GET whose answer must be a whole JSON document: a truncated body
    /// is fetched again.
    async fn get_page(&self, path: &str) -> Result<String, FetchError> {
        let mut last = FetchError::Timeout;
        let attempts = ATTEMPTS;
        for attempt in 0..attempts {
            match self.get(path).await {
                Ok(body) if serde_json::from_str::<serde::de::IgnoredAny>(&body).is_ok() => {
                    return Ok(body);
                }
                Ok(_) => {
                    last = FetchError::Unreachable(format!("GET {path}: the answer was cut off"));
                    self.backoff(attempt, attempts).await?;
                }
                Err(error) => return Err(error),
            }
        }
        Err(last)
    }

    pub async fn get(&self, path: &str) -> Result<String, FetchError> {
        self.send("GET", path, None, ATTEMPTS).await
    }

    pub async fn post(&self, path: &str, body: String) -> Result<String, FetchError> {
        self.send("POST", path, Some(body), ATTEMPTS).await
    }

    /// One request before collection tells a reachable server from one
    /// that is not: refused, unresolvable, untrusted or 401 at once, a
    /// silent server after three request timeouts.
    pub async fn first_contact(&self) -> Result<(), FetchError> {
        match self
            .send("GET", "/version", None, FIRST_CONTACT_ATTEMPTS)
            .await
        {
            // Any other answer is a server that answers: a hardened one
            // may refuse /version (403) and still let the caller list pods.
            Err(
                error @ (FetchError::Unauthorized(_)
                | FetchError::Unreachable(_)
                | FetchError::Timeout),
            ) => Err(error),
            _ => Ok(()),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        attempts: u32,
    ) -> Result<String, FetchError> {
        let mut last = FetchError::Timeout;
        for attempt in 0..attempts {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(FetchError::Timeout);
            }
            let started = Instant::now();
            self.requests.fetch_add(1, Ordering::Relaxed);
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json")
                .body(body.clone().unwrap_or_default().into_bytes())
                .map_err(|error| FetchError::Status(0, error.to_string()))?;
            let outcome =
                tokio::time::timeout(self.request_timeout.min(left), self.exchange(request)).await;
            let elapsed = started.elapsed().as_millis();
            let (status, text, retry_after) = match outcome {
                Err(_) => {
                    self.log(method, path, "timeout", elapsed);
                    last = FetchError::Timeout;
                    self.backoff(attempt, attempts).await?;
                    continue;
                }
                Ok(Err(message)) => {
                    self.log(method, path, "no answer", elapsed);
                    if is_final(&message) {
                        return Err(FetchError::Unreachable(message));
                    }
                    last = FetchError::Unreachable(message);
                    self.backoff(attempt, attempts).await?;
                    continue;
                }
                Ok(Ok(answer)) => answer,
            };
            self.answered.fetch_add(1, Ordering::Relaxed);
            self.log(method, path, status.as_str(), elapsed);
            let message = || {
                serde_json::from_str::<Status>(&text)
                    .map(|s| s.message)
                    .ok()
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string())
            };
            match status.as_u16() {
                200..=299 => return Ok(text),
                401 => return Err(FetchError::Unauthorized(message())),
                403 => return Err(FetchError::Forbidden(message())),
                404 => return Err(FetchError::NotFound(message())),
                410 => return Err(FetchError::Expired),
                429 => {
                    last = FetchError::Status(429, message());
                    let wait = Duration::from_secs(retry_after.unwrap_or(1).min(10));
                    self.sleep(wait).await?;
                }
                500..=599 => {
                    last = FetchError::Status(status.as_u16(), message());
                    self.backoff(attempt, attempts).await?;
                }
                code => return Err(FetchError::Status(code, message())),
            }
        }
        Err(last)
    }

    /// One request and its whole answer; a body cut short is an error.
    async fn exchange(
        &self,
        request: Request<Vec<u8>>,
    ) -> Result<(StatusCode, String, Option<u64>), String> {
        let response = self
            .client
            .send(request.map(kube::client::Body::from))
            .await
            .map_err(|error| describe_client_error(&error))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let bytes = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|error| format!("the answer was cut off: {error}"))?;
        Ok((
            status,
            String::from_utf8_lossy(&bytes).into_owned(),
            retry_after,
        ))
    }

    async fn backoff(&self, attempt: u32, attempts: u32) -> Result<(), FetchError> {
        if attempt + 1 >= attempts {
            return Ok(());
        }
        self.sleep(Duration::from_millis(200 << attempt.min(5)))
            .await
    }

    async fn sleep(&self, wait: Duration) -> Result<(), FetchError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left <= wait {
            tokio::time::sleep(left).await;
            return Err(FetchError::Timeout);
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// With -v, a line saying what is fetched and why, in kubectl's words.
    pub fn explain(&self, line: String) {
        if self.verbose {
            self.note(line);
        }
    }

    fn log(&self, method: &str, path: &str, status: &str, millis: u128) {
        if self.verbose {
            self.note(format!("{method} {path} {status} {millis}ms"));
        }
    }

    fn note(&self, line: String) {
        match &self.progress {
            Some(progress) => crate::sink::progress(progress, &line),
            None => crate::sink::err(&line),
        }
    }
}

/// kube's errors, said the way an operator can act on them.
fn describe_client_error(error: &kube::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// Percent-encodes a query value (a continue token, a selector, a Polyaxon
/// query).
pub fn encode(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    for byte in token.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn continue_tokens_are_query_safe() {
        assert_eq!(super::encode("eyJ2Ijo=+/"), "eyJ2Ijo%3D%2B%2F");
    }
}
