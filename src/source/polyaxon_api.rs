//! The Polyaxon API as the user's CLI sees it: the CLI's configuration read
//! the way the CLI reads it, then one authenticated request, classified.
//!
//! Configuration (polyaxon/cli `_managers/{auth,client,home}.py`,
//! `_contexts/paths.py`, `settings.py`): the home is POLYAXON_HOME, else the
//! path a `.home` file in ~/.polyaxon names, else ~/.polyaxon. `.client`
//! (POLYAXON_HOST, POLYAXON_VERIFY_SSL, POLYAXON_SSL_CA_CERT) and `.auth`
//! (POLYAXON_AUTH_TOKEN) are JSON read in order, later wins:
//! `/tmp/.polyaxon/<file>`, `<home>/<file>`, the environment, and for
//! `.auth` the run context `/plx-context/.configs/.auth`.
//!
//! The request is the CLI's own session check (`polyaxon login`/`whoami`
//! call `users_v1.get_user`: GET /api/v1/users) with
//! `Authorization: Token <token>`, then, when the CLI has a current project,
//! GET /api/v1/{owner}/{project}. DNS, TCP, TLS and the answer are driven by
//! hand on hyper's connection API, not a pooled client, so each step has its
//! own timeout and a failure names the step. The token is only ever written
//! into that one header.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::resolver::Resolver;
use crate::facts::artifacts::polyaxon_api::ApiProbe;
use crate::redact;

/// The CLI's default host when none is configured (polyaxon.api.LOCALHOST).
const DEFAULT_HOST: &str = "http://localhost:8000";
/// The session check the CLI makes.
const USERS: &str = "/api/v1/users";
/// The most of an answer body kept.
const BODY_LIMIT: usize = 64 * 1024;

/// The CLI's configuration, as far as the probe needs it. The token is
/// private and leaves this module only as a request header.
#[derive(Clone)]
pub struct CliConfig {
    pub host: String,
    pub host_source: String,
    token: Option<String>,
    pub token_source: Option<String>,
    pub verify_ssl: bool,
    pub ssl_ca_cert: Option<PathBuf>,
    /// owner/name of the CLI's current project (`.project`), when set.
    pub project: Option<(String, String)>,
}

impl std::fmt::Debug for CliConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliConfig")
            .field("host", &self.host)
            .field("host_source", &self.host_source)
            .field("token", &self.token.as_deref().map(redact::mask_value))
            .field("token_source", &self.token_source)
            .field("verify_ssl", &self.verify_ssl)
            .finish()
    }
}

/// Looks up an environment variable (a map in unit tests).
pub type EnvLookup = Box<dyn Fn(&str) -> Option<String>>;

/// Where the configuration is read from; `from_env` in real runs.
pub struct ConfigSources {
    pub env: EnvLookup,
    pub user_home: Option<PathBuf>,
    pub tmp_dir: PathBuf,
    pub context_root: PathBuf,
    pub work_dir: Option<PathBuf>,
}

impl ConfigSources {
    pub fn from_env() -> ConfigSources {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        ConfigSources {
            user_home: env("HOME").map(PathBuf::from),
            tmp_dir: PathBuf::from("/tmp"),
            context_root: PathBuf::from(
                env("POLYAXON_CONTEXT_ROOT").unwrap_or_else(|| "/plx-context".into()),
            ),
            work_dir: std::env::current_dir().ok(),
            env: Box::new(env),
        }
    }
}

/// A problem with the configuration itself (an unreadable file).
#[derive(Debug)]
pub struct ConfigProblem(pub String);

impl CliConfig {
    /// `text` with the token masked, for anything an answer carries.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = redact::redact_line(text);
        if let Some(token) = self.token.as_deref().filter(|t| t.len() >= 4) {
            text = text.replace(token, "****");
        }
        text
    }

    /// Whether a token is sent.
    pub(crate) fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The CLI's configuration; None when there is none at all (no files,
    /// no POLYAXON_HOST or POLYAXON_AUTH_TOKEN): then nothing is probed.
    pub fn load(sources: &ConfigSources) -> Result<Option<CliConfig>, ConfigProblem> {
        let env = &sources.env;
        let default_home = sources.user_home.as_ref().map(|h| h.join(".polyaxon"));
        // `polyaxon config set --home` writes the home into ~/.polyaxon/.home.
        let home_file = match &default_home {
            Some(home) => read_json(&home.join(".home"))?,
            None => None,
        };
        let home = env("POLYAXON_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                home_file
                    .as_ref()
                    .and_then(|v| string(v, &["POLYAXON_HOME", "path"]))
                    .map(PathBuf::from)
            })
            .or(default_home);
        let tmp = sources.tmp_dir.join(".polyaxon");

        // Each setting: (value, where it came from); later sources win.
        let mut host: Option<(String, String)> = None;
        let mut verify: Option<bool> = None;
        let mut ca: Option<String> = None;
        let mut token: Option<(String, String)> = None;
        let mut found = false;
        let mut files = vec![tmp.clone()];
        files.extend(home.clone());
        for dir in &files {
            let client = dir.join(".client");
            if let Some(doc) = read_json(&client)? {
                found = true;
                if let Some(h) = string(&doc, &["POLYAXON_HOST", "host"]) {
                    host = Some((h, client.display().to_string()));
                }
                if let Some(v) = boolean(&doc, &["POLYAXON_VERIFY_SSL", "verify_ssl"]) {
                    verify = Some(v);
                }
                if let Some(c) = string(&doc, &["POLYAXON_SSL_CA_CERT", "ssl_ca_cert"]) {
                    ca = Some(c);
                }
            }
            let auth = dir.join(".auth");
            if let Some(doc) = read_json(&auth)? {
                found = true;
                if let Some(t) = string(&doc, &["POLYAXON_AUTH_TOKEN", "token"]) {
                    token = Some((t, auth.display().to_string()));
                }
            }
        }
        if let Some(h) = env("POLYAXON_HOST") {
            found = true;
            host = Some((h, "POLYAXON_HOST".into()));
        }
        if let Some(v) = env("POLYAXON_VERIFY_SSL") {
            verify = to_bool(&v).or(verify);
        }
        if let Some(c) = env("POLYAXON_SSL_CA_CERT") {
            ca = Some(c);
        }
        if let Some(t) = env("POLYAXON_AUTH_TOKEN") {
            found = true;
            token = Some((t, "POLYAXON_AUTH_TOKEN".into()));
        }
        // Inside a run's pod, the run's own token wins (the CLI's order).
        let context_auth = sources.context_root.join(".configs").join(".auth");
        if let Some(doc) = read_json(&context_auth)?
            && let Some(t) = string(&doc, &["POLYAXON_AUTH_TOKEN", "token"])
        {
            found = true;
            token = Some((t, context_auth.display().to_string()));
        }
        if !found {
            return Ok(None);
        }
        let project = project(sources, home.as_deref())?;
        let (host, host_source) = host.unwrap_or_else(|| {
            (
                DEFAULT_HOST.to_string(),
                "the CLI's default (no POLYAXON_HOST)".to_string(),
            )
        });
        let host = clean_host(&host);
        let (token, token_source) = match token {
            Some((t, source)) => (Some(t.trim().to_string()), Some(source)),
            None => (None, None),
        };
        Ok(Some(CliConfig {
            host,
            host_source,
            token: token.filter(|t| !t.is_empty()),
            token_source,
            verify_ssl: verify.unwrap_or(true),
            ssl_ca_cert: ca.map(PathBuf::from),
            project,
        }))
    }
}

/// `.project` in ./.polyaxon (the project directory), else in the home.
fn project(
    sources: &ConfigSources,
    home: Option<&Path>,
) -> Result<Option<(String, String)>, ConfigProblem> {
    let mut dirs: Vec<PathBuf> = sources
        .work_dir
        .iter()
        .map(|d| d.join(".polyaxon"))
        .collect();
    dirs.extend(home.map(Path::to_path_buf));
    for dir in dirs {
        if let Some(doc) = read_json(&dir.join(".project"))? {
            let owner = string(&doc, &["owner"]);
            let name = string(&doc, &["name"]);
            if let (Some(owner), Some(name)) = (owner, name) {
                return Ok(Some((owner, name)));
            }
        }
    }
    Ok(None)
}

/// A JSON config file; None when it does not exist.
fn read_json(path: &Path) -> Result<Option<Value>, ConfigProblem> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) if error.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
        Err(error) => {
            return Err(ConfigProblem(format!(
                "{}: cannot read: {error}",
                path.display()
            )));
        }
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&text).map(Some).map_err(|error| {
        ConfigProblem(format!(
            "{}:{}:{}: not JSON as the Polyaxon CLI writes it: {error}",
            path.display(),
            error.line(),
            error.column()
        ))
    })
}

fn string(doc: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| doc.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn boolean(doc: &Value, keys: &[&str]) -> Option<bool> {
    keys.iter().find_map(|k| match doc.get(*k)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => to_bool(s),
        _ => None,
    })
}

/// clipped's to_bool: the spellings the CLI accepts.
fn to_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" | "on" => Some(true),
        "false" | "f" | "0" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// clipped's clean_host: no trailing slash; a bare host gets http:// as
/// urllib3 would need one.
fn clean_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.contains("://") {
        host.to_string()
    } else {
        format!("http://{host}")
    }
}

/// What one request gave.
pub(crate) enum Answer {
    Http {
        status: u16,
        body: String,
        server: Option<String>,
    },
    Failed {
        outcome: &'static str,
        step: &'static str,
        error: String,
    },
}

/// Probes the API with the CLI's configuration; every step is bounded by
/// `step_timeout`, and the whole probe by a few of them and by `left` (what
/// remains of --timeout), whatever happens.
pub async fn probe(
    config: &CliConfig,
    step_timeout: Duration,
    left: Duration,
    resolver: &Resolver,
) -> ApiProbe {
    let bound = (step_timeout * 6).min(left);
    match tokio::time::timeout(bound, probe_steps(config, step_timeout, resolver)).await {
        Ok(probe) => probe,
        Err(_) => ApiProbe {
            outcome: "timeout".into(),
            step: Some("response".into()),
            error: Some(format!("no answer within {}s in all", bound.as_secs_f32())),
            ..unanswered(config)
        },
    }
}

/// What a probe says before any answer: where it went and with what. The
/// host is shown as the report and bundles show it, credentials masked
/// (`https://user:****@host`).
fn unanswered(config: &CliConfig) -> ApiProbe {
    ApiProbe {
        host: crate::redact::redact_line(&config.host),
        host_source: config.host_source.clone(),
        token_sent: config.token.is_some(),
        token_source: config.token_source.clone(),
        verify_ssl: config.verify_ssl,
        endpoint: USERS.to_string(),
        ..ApiProbe::default()
    }
}

async fn probe_steps(config: &CliConfig, step_timeout: Duration, resolver: &Resolver) -> ApiProbe {
    let mut probe = unanswered(config);
    let answer = request(config, USERS, step_timeout, resolver, BODY_LIMIT).await;
    classify(&mut probe, answer, config);
    if probe.outcome == "ok"
        && let Some((owner, name)) = &config.project
    {
        let path = format!("/api/v1/{owner}/{name}");
        let answer = request(config, &path, step_timeout, resolver, BODY_LIMIT).await;
        // Any answer but a success is about the project: the session
        // itself was just accepted.
        if !matches!(
            answer,
            Answer::Http {
                status: 200..=299,
                ..
            }
        ) {
            let status = match &answer {
                Answer::Http { status, .. } => Some(*status),
                Answer::Failed { .. } => None,
            };
            probe.endpoint = path;
            probe.project = Some(format!("{owner}/{name}"));
            classify(&mut probe, answer, config);
            match status {
                Some(403) if probe.outcome == "forbidden" => {
                    probe.outcome = "project_forbidden".into()
                }
                Some(404) => probe.outcome = "project_not_found".into(),
                _ => {}
            }
        }
    }
    probe
}

/// Fills outcome, status, detail and error from an answer.
fn classify(probe: &mut ApiProbe, answer: Answer, config: &CliConfig) {
    let scrub = |text: &str| config.scrub(text);
    match answer {
        Answer::Failed {
            outcome,
            step,
            error,
        } => {
            probe.outcome = outcome.into();
            probe.step = Some(step.into());
            probe.error = Some(scrub(&error));
            probe.status = None;
            probe.detail = None;
        }
        Answer::Http {
            status,
            body,
            server,
        } => {
            let detail = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_string))
                .or_else(|| {
                    let start: String = body.trim().chars().take(200).collect();
                    (!start.is_empty()).then_some(start)
                });
            let said = detail.as_deref().unwrap_or("");
            probe.outcome = outcome_of(status, said, probe.token_sent).into();
            probe.status = Some(status);
            probe.detail = detail.map(|d| scrub(&d));
            probe.server = server.map(|s| scrub(&s));
            probe.error = None;
            probe.step = None;
        }
    }
}

/// What a status and Django REST Framework's `detail` mean for the CLI.
/// DRF answers 401 or 403 (403 when the first authenticator gives no
/// WWW-Authenticate header) for missing and for rejected credentials.
pub(crate) fn outcome_of(status: u16, detail: &str, token_sent: bool) -> &'static str {
    let lower = detail.to_ascii_lowercase();
    match status {
        200..=299 => "ok",
        401 | 403 if lower.contains("authentication credentials were not provided") => {
            if token_sent {
                "header_stripped"
            } else {
                "no_credentials"
            }
        }
        401 | 403 if lower.contains("expired") => "token_expired",
        401 => "unauthorized",
        403 if lower.contains("invalid token") || lower.contains("incorrect authentication") => {
            "unauthorized"
        }
        403 => "forbidden",
        _ => "http_error",
    }
}

/// Anything a TLS or TCP stream can be.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// One GET: resolve, connect, TLS when https, then the answer (at most
/// `limit` bytes of it, unpacked when the server gzipped it, as Polyaxon
/// does with lists even unasked); each step with its own timeout and
/// diagnosis.
pub(crate) async fn request(
    config: &CliConfig,
    path: &str,
    step_timeout: Duration,
    resolver: &Resolver,
    limit: usize,
) -> Answer {
    let failed = |outcome, step, error: String| Answer::Failed {
        outcome,
        step,
        error,
    };
    let base = config.host.trim_end_matches('/');
    let url = format!("{base}{path}");
    let uri: hyper::Uri = match url.parse() {
        Ok(uri) => uri,
        Err(error) => {
            return failed(
                "unreachable",
                "dns",
                format!("the host is not a URL ({base}): {error}"),
            );
        }
    };
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        other => {
            return failed(
                "unreachable",
                "dns",
                format!("unsupported scheme {} in {base}", other.unwrap_or("(none)")),
            );
        }
    };
    let Some(host) = uri.host().map(|h| h.trim_matches(['[', ']']).to_string()) else {
        return failed("unreachable", "dns", format!("no host in {base}"));
    };
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });

    let addresses = match tokio::time::timeout(step_timeout, resolver.resolve(&host, port)).await {
        Err(_) => {
            return failed(
                "timeout",
                "dns",
                format!(
                    "resolving {host} took longer than {}s",
                    step_timeout.as_secs_f32()
                ),
            );
        }
        Ok(Err(error)) => return failed("dns", "dns", error),
        Ok(Ok(addresses)) => addresses,
    };
    let mut last_error = format!("{host} resolved to no address");
    let mut tcp = None;
    let mut refused = false;
    let mut timed_out = false;
    for address in addresses {
        match tokio::time::timeout(step_timeout, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                tcp = Some(stream);
                break;
            }
            Ok(Err(error)) => {
                refused |= error.kind() == std::io::ErrorKind::ConnectionRefused;
                last_error = format!("connecting to {address}: {error}");
            }
            Err(_) => {
                timed_out = true;
                last_error = format!(
                    "connecting to {address} took longer than {}s",
                    step_timeout.as_secs_f32()
                );
            }
        }
    }
    let Some(tcp) = tcp else {
        let outcome = if refused {
            "refused"
        } else if timed_out {
            "timeout"
        } else {
            "unreachable"
        };
        return failed(outcome, "connect", last_error);
    };

    let stream: Box<dyn Stream> = if https {
        let tls = match tls_config(config) {
            Ok(tls) => tls,
            Err(TlsSetup::CaFile(error)) => return failed("ca_unreadable", "tls", error),
            Err(TlsSetup::Other(error)) => return failed("tls_error", "tls", error),
        };
        let Ok(name) = ServerName::try_from(host.clone()) else {
            return failed(
                "tls_error",
                "tls",
                format!("{host} is not a TLS server name"),
            );
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
        match tokio::time::timeout(step_timeout, connector.connect(name, tcp)).await {
            Err(_) => {
                return failed(
                    "timeout",
                    "tls",
                    format!(
                        "the TLS handshake with {host}:{port} took longer than {}s",
                        step_timeout.as_secs_f32()
                    ),
                );
            }
            Ok(Err(error)) => {
                let (outcome, words) = tls_failure(&error);
                return failed(outcome, "tls", format!("TLS with {host}:{port}: {words}"));
            }
            Ok(Ok(stream)) => Box::new(stream),
        }
    } else {
        Box::new(tcp)
    };

    let exchange = async {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(connection);
        let authority = match uri.port_u16() {
            Some(port) => format!("{}:{port}", uri.host().unwrap_or_default()),
            None => uri.host().unwrap_or_default().to_string(),
        };
        let target = uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.as_str().to_string());
        let mut builder = hyper::Request::get(target)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::ACCEPT, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("pxdoctor/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(token) = &config.token {
            builder = builder.header(hyper::header::AUTHORIZATION, format!("Token {token}"));
        }
        let request = builder
            .body(Empty::<Bytes>::new())
            .map_err(|error| Exchange::Build(error.to_string()))?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let server = response
            .headers()
            .get(hyper::header::SERVER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let gzipped = response
            .headers()
            .get(hyper::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let bytes = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body = if gzipped {
            gunzip(&bytes, limit)
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        driver.abort();
        Ok::<_, Exchange>(Answer::Http {
            status,
            body,
            server,
        })
    };
    match tokio::time::timeout(step_timeout, exchange).await {
        Err(_) => failed(
            "timeout",
            "response",
            format!(
                "{host}:{port} accepted the connection but did not answer within {}s",
                step_timeout.as_secs_f32()
            ),
        ),
        Ok(Err(error)) => failed("unreachable", "response", error.to_string()),
        Ok(Ok(answer)) => answer,
    }
}

/// A gzipped body, unpacked up to `limit` bytes; what cannot be unpacked
/// is kept as it came (the caller then says it is not Polyaxon's JSON).
fn gunzip(bytes: &[u8], limit: usize) -> String {
    use std::io::Read;
    let mut text = Vec::new();
    let unpacked = flate2::read::GzDecoder::new(bytes)
        .take(limit as u64)
        .read_to_end(&mut text);
    match unpacked {
        Ok(_) => String::from_utf8_lossy(&text).into_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

enum Exchange {
    Http(hyper::Error),
    Build(String),
}

impl From<hyper::Error> for Exchange {
    fn from(error: hyper::Error) -> Self {
        Exchange::Http(error)
    }
}

impl std::fmt::Display for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exchange::Http(error) => {
                write!(f, "the connection failed before an answer: {error}")?;
                let mut source = std::error::Error::source(error);
                while let Some(inner) = source {
                    write!(f, ": {inner}")?;
                    source = inner.source();
                }
                Ok(())
            }
            Exchange::Build(error) => write!(f, "cannot build the request: {error}"),
        }
    }
}

/// The certificate problem in words, or another TLS failure.
fn tls_failure(error: &std::io::Error) -> (&'static str, String) {
    use rustls::CertificateError as C;
    let inner = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(certificate)) => {
            let words = match certificate {
                C::UnknownIssuer => {
                    "the certificate is signed by an authority this machine does not trust (self-signed or a private CA)".to_string()
                }
                C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_string(),
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "the certificate is not valid for this host name".to_string()
                }
                other => format!("the certificate was rejected: {other:?}"),
            };
            (
                "tls_untrusted",
                format!("certificate verify failed: {words}"),
            )
        }
        Some(other) => ("tls_error", other.to_string()),
        None => ("tls_error", error.to_string()),
    }
}

/// rustls with aws-lc-rs (as kube uses it), the platform's roots plus
/// POLYAXON_SSL_CA_CERT, or no verification with POLYAXON_VERIFY_SSL=false.
fn tls_config(config: &CliConfig) -> Result<rustls::ClientConfig, TlsSetup> {
    if !config.verify_ssl {
        let provider = super::tls::provider();
        return Ok(
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|error| TlsSetup::Other(format!("TLS setup: {error}")))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
                .with_no_client_auth(),
        );
    }
    let extra: Vec<CertificateDer<'static>> = match &config.ssl_ca_cert {
        Some(path) => {
            let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect())
                .map_err(|error| {
                    TlsSetup::CaFile(format!(
                        "POLYAXON_SSL_CA_CERT {}: not a readable PEM file: {error}",
                        path.display()
                    ))
                })?;
            if certificates.is_empty() {
                return Err(TlsSetup::CaFile(format!(
                    "POLYAXON_SSL_CA_CERT {}: holds no certificate (no -----BEGIN CERTIFICATE----- block)",
                    path.display()
                )));
            }
            certificates
        }
        None => Vec::new(),
    };
    super::tls::verifying_client(extra)
        .map_err(|error| TlsSetup::Other(format!("TLS setup: {error}")))
}

/// Why no TLS client could be set up: the user's CA file (their side, said
/// as such), or anything else.
enum TlsSetup {
    CaFile(String),
    Other(String),
}

/// POLYAXON_VERIFY_SSL=false: accept any certificate, as the CLI then does
/// (urllib3 with cert_reqs=CERT_NONE); signatures are still checked.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sources(dir: &Path, env: &[(&str, &str)]) -> ConfigSources {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConfigSources {
            env: Box::new(move |name| env.get(name).cloned()),
            user_home: Some(dir.join("user")),
            tmp_dir: dir.join("tmp"),
            context_root: dir.join("plx-context"),
            work_dir: Some(dir.join("work")),
        }
    }

    #[test]
    fn files_are_read_in_the_clis_order_and_the_environment_wins() {
        let dir = tempfile_dir();
        let home = dir.join("user/.polyaxon");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(
            home.join(".client"),
            r#"{"POLYAXON_HOST": "https://px.acme.io/", "POLYAXON_VERIFY_SSL": "false"}"#,
        )
        .unwrap();
        std::fs::write(
            home.join(".auth"),
            r#"{"POLYAXON_AUTH_TOKEN": "file-token-1234"}"#,
        )
        .unwrap();
        let config = CliConfig::load(&sources(&dir, &[])).unwrap().unwrap();
        assert_eq!(config.host, "https://px.acme.io");
        assert!(config.host_source.ends_with(".polyaxon/.client"));
        assert!(!config.verify_ssl);
        assert_eq!(config.token.as_deref(), Some("file-token-1234"));
        assert!(!format!("{config:?}").contains("file-token-1234"));

        let env = [
            ("POLYAXON_HOST", "http://127.0.0.1:9"),
            ("POLYAXON_AUTH_TOKEN", "env-token-5678"),
        ];
        let config = CliConfig::load(&sources(&dir, &env)).unwrap().unwrap();
        assert_eq!(config.host, "http://127.0.0.1:9");
        assert_eq!(config.host_source, "POLYAXON_HOST");
        assert_eq!(config.token_source.as_deref(), Some("POLYAXON_AUTH_TOKEN"));

        let elsewhere = dir.join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let env = [("POLYAXON_HOME", elsewhere.to_str().unwrap())];
        assert!(
            CliConfig::load(&sources(&dir, &env)).unwrap().is_none(),
            "POLYAXON_HOME replaces ~/.polyaxon"
        );
        std::fs::write(elsewhere.join(".client"), "{not json").unwrap();
        let problem = CliConfig::load(&sources(&dir, &env)).unwrap_err();
        assert!(problem.0.contains(".client:1:2"), "{}", problem.0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_configuration_at_all_is_none() {
        let dir = tempfile_dir();
        assert!(CliConfig::load(&sources(&dir, &[])).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_host_that_does_not_resolve_is_a_dns_failure_and_nothing_is_sent() {
        let dir = tempfile_dir();
        let env = [
            ("POLYAXON_HOST", "https://polyaxon.acme.invalid:8443"),
            ("POLYAXON_AUTH_TOKEN", "env-token-5678"),
        ];
        let config = CliConfig::load(&sources(&dir, &env)).unwrap().unwrap();
        // The injected resolver knows no name: no query leaves the machine.
        let nowhere = Resolver::Static(Default::default());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let step = Duration::from_secs(2);
        let probe = runtime.block_on(probe(&config, step, step * 2, &nowhere));
        assert_eq!(probe.outcome, "dns");
        assert_eq!(probe.step.as_deref(), Some("dns"));
        let error = probe.error.unwrap_or_default();
        assert!(
            error.contains("polyaxon.acme.invalid does not resolve"),
            "{error}"
        );
        assert_eq!(probe.status, None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn drf_answers_are_told_apart() {
        let missing = "Authentication credentials were not provided.";
        assert_eq!(outcome_of(403, missing, true), "header_stripped");
        assert_eq!(outcome_of(401, missing, true), "header_stripped");
        assert_eq!(outcome_of(403, missing, false), "no_credentials");
        assert_eq!(outcome_of(403, "Token expired", true), "token_expired");
        assert_eq!(outcome_of(401, "Invalid token.", true), "unauthorized");
        assert_eq!(
            outcome_of(
                403,
                "You do not have permission to perform this action.",
                true
            ),
            "forbidden"
        );
        assert_eq!(outcome_of(200, "", true), "ok");
        assert_eq!(outcome_of(502, "Bad Gateway", true), "http_error");
    }

    fn tempfile_dir() -> PathBuf {
        // Kept for the test's life: the TempDir is leaked on purpose and
        // removed by each test at its end.
        tempfile::tempdir().unwrap().keep()
    }
}
