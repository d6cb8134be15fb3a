//! The artifacts store as a source: probes it step by step — DNS, TCP, TLS,
//! credentials, bucket, write — so a failure names the step that failed,
//! not just "upload failed". Every step is bounded by a timeout and by the
//! run's deadline; nothing is written except one small object under
//! `.pxdoctor/` that is deleted at once.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::facts::artifacts::probe::ProbeStep;
use crate::facts::artifacts::store::{S3Target, needs_path_style};
use crate::redact::mask_value;

use super::resolver::Resolver;

#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The longest one step may take.
    pub step_timeout: Duration,
    /// When the whole check must be done (--timeout).
    pub deadline: Instant,
    /// PutObject + DeleteObject of a probe object (off: --no-write-probe).
    pub write: bool,
    pub resolver: Resolver,
}

/// The endpoint a target talks to: its own, else AWS's for its region.
pub fn endpoint_of(target: &S3Target) -> String {
    match &target.endpoint {
        Some(endpoint) => endpoint.trim_end_matches('/').to_string(),
        None => match target.region.as_deref() {
            None | Some("us-east-1") => "https://s3.amazonaws.com".into(),
            Some(region) => format!("https://s3.{region}.amazonaws.com"),
        },
    }
}

/// The target `--s3-bucket` names, with the AWS chain's credentials
/// (environment variables, then the profile) and region. Only local
/// sources: never the instance metadata service.
pub async fn flag_target(
    url: &str,
    endpoint: Option<&str>,
    region: Option<&str>,
) -> Result<S3Target, String> {
    use aws_config::meta::credentials::CredentialsProviderChain;
    use aws_config::profile::ProfileFileRegionProvider;
    use aws_sdk_s3::config::ProvideCredentials;

    let store = crate::facts::artifacts::store::Store {
        name: url.to_string(),
        kind: "s3".into(),
        bucket: url.to_string(),
        secret: None,
        namespace: String::new(),
        config_map: String::new(),
    };
    let (bucket, prefix) = store.s3_location().ok_or_else(|| {
        format!("--s3-bucket {url}: not an s3://bucket[/prefix] URL with a valid bucket name")
    })?;
    if let Some(endpoint) = endpoint
        && !endpoint.contains("://")
    {
        return Err(format!(
            "--s3-endpoint {endpoint}: give the scheme too (https://{endpoint} or http://{endpoint})"
        ));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let region = match region
        .map(str::to_string)
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
    {
        Some(region) => Some(region),
        None => {
            use aws_config::meta::region::ProvideRegion;
            ProfileFileRegionProvider::builder()
                .build()
                .region()
                .await
                .map(|r| r.to_string())
        }
    };
    let chain = CredentialsProviderChain::first_try(
        "Environment",
        aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else(
        "Profile",
        aws_config::profile::ProfileFileCredentialsProvider::builder().build(),
    );
    let credentials = chain.provide_credentials().await.ok();
    Ok(S3Target {
        store: url.to_string(),
        bucket,
        prefix,
        endpoint: endpoint
            .map(str::to_string)
            .or_else(|| env("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env("AWS_ENDPOINT_URL")),
        region,
        access_key: credentials.as_ref().map(|c| c.access_key_id().to_string()),
        secret_key: credentials
            .as_ref()
            .map(|c| c.secret_access_key().to_string()),
        session_token: credentials
            .as_ref()
            .and_then(|c| c.session_token().map(str::to_string)),
        ..S3Target::default()
    })
}

/// Runs the steps in order and stops at the first that fails.
pub async fn probe(target: &S3Target, options: &ProbeOptions) -> Vec<ProbeStep> {
    // No time left (collection used --timeout up): saying nothing beats
    // blaming the store for a timeout of ours.
    if options.deadline <= Instant::now() {
        return Vec::new();
    }
    let mut run = Run {
        target,
        options,
        endpoint: endpoint_of(target),
        steps: Vec::new(),
    };
    run.all().await;
    run.steps
}

struct Run<'a> {
    target: &'a S3Target,
    options: &'a ProbeOptions,
    endpoint: String,
    steps: Vec<ProbeStep>,
}

/// How a step ended, before it becomes a fact.
#[derive(Default)]
struct Outcome {
    code: Option<String>,
    status: Option<u16>,
    message: Option<String>,
    skew_seconds: Option<i64>,
    bucket_region: Option<String>,
}

impl Outcome {
    fn failed(code: &str, message: impl Into<String>) -> Outcome {
        Outcome {
            code: Some(code.into()),
            message: Some(message.into()),
            ..Outcome::default()
        }
    }
}

impl Run<'_> {
    fn budget(&self) -> Duration {
        self.options.step_timeout.min(
            self.options
                .deadline
                .saturating_duration_since(Instant::now()),
        )
    }

    fn record(&mut self, step: &str, started: Instant, outcome: Result<(), Outcome>) -> bool {
        let ok = outcome.is_ok();
        let outcome = outcome.err().unwrap_or_default();
        self.steps.push(ProbeStep {
            store: self.target.store.clone(),
            namespace: self.target.namespace.clone(),
            secret: self.target.secret.clone(),
            // An endpoint may carry user:password@ (MinIO behind a proxy).
            endpoint: crate::redact::redact_line(&self.endpoint),
            bucket: self.target.bucket.clone(),
            prefix: self.target.prefix.clone(),
            step: step.into(),
            ok,
            code: outcome.code,
            status: outcome.status,
            message: outcome.message.map(|m| crate::redact::redact_line(&m)),
            latency_ms: started.elapsed().as_millis() as u64,
            access_key: self.target.access_key.as_deref().map(mask_value),
            skew_seconds: outcome.skew_seconds,
            bucket_region: outcome.bucket_region,
            region: self.target.region.clone(),
        });
        ok
    }

    async fn all(&mut self) {
        let uri: http::Uri = match self.endpoint.parse() {
            Ok(uri) => uri,
            Err(error) => {
                let message = format!("{} is not a URL: {error}", self.endpoint);
                self.record(
                    "dns",
                    Instant::now(),
                    Err(Outcome::failed("bad_endpoint", message)),
                );
                return;
            }
        };
        let https = uri.scheme_str() != Some("http");
        let host = uri.host().unwrap_or("").to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });

        let started = Instant::now();
        let resolved =
            match tokio::time::timeout(self.budget(), self.options.resolver.resolve(&host, port))
                .await
            {
                Ok(Ok(addresses)) => Ok(addresses),
                Ok(Err(message)) => Err(Outcome::failed("dns_failed", message)),
                Err(_) => Err(Outcome::failed(
                    "timeout",
                    format!("no answer resolving {host} within {:?}", self.budget()),
                )),
            };
        let addresses = match resolved {
            Ok(addresses) => {
                self.record("dns", started, Ok(()));
                addresses
            }
            Err(outcome) => {
                self.record("dns", started, Err(outcome));
                return;
            }
        };

        let started = Instant::now();
        let limit = self.budget();
        let stream = match tokio::time::timeout(limit, TcpStream::connect(addresses[0])).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                let code = match error.kind() {
                    std::io::ErrorKind::ConnectionRefused => "refused",
                    _ => "unreachable",
                };
                let message = format!("{}: {error}", addresses[0]);
                self.record("tcp", started, Err(Outcome::failed(code, message)));
                return;
            }
            Err(_) => {
                let message = format!("no TCP answer from {} within {limit:?}", addresses[0]);
                self.record("tcp", started, Err(Outcome::failed("timeout", message)));
                return;
            }
        };
        self.record("tcp", started, Ok(()));

        if https {
            let started = Instant::now();
            let outcome = tls_handshake(stream, &host, self.budget()).await;
            if !self.record("tls", started, outcome) {
                return;
            }
        } else {
            drop(stream);
        }

        let Some(client) = self.client() else {
            return;
        };
        self.objects(&client).await;
    }

    fn client(&mut self) -> Option<aws_sdk_s3::Client> {
        let (Some(key), Some(secret)) = (&self.target.access_key, &self.target.secret_key) else {
            let message = "no access key and secret key to sign with".to_string();
            self.record(
                "credentials",
                Instant::now(),
                Err(Outcome::failed("no_credentials", message)),
            );
            return None;
        };
        let credentials = Credentials::new(
            key,
            secret,
            self.target.session_token.clone(),
            None,
            "pxdoctor-probe",
        );
        let timeout = self.options.step_timeout;
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(
                self.target
                    .region
                    .clone()
                    .unwrap_or_else(|| "us-east-1".into()),
            ))
            .endpoint_url(self.endpoint.clone())
            .force_path_style(self.target.endpoint.is_some() && needs_path_style(&self.endpoint))
            .credentials_provider(credentials)
            .timeout_config(
                aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(timeout)
                    .read_timeout(timeout)
                    .operation_attempt_timeout(timeout)
                    .operation_timeout(timeout)
                    .build(),
            )
            // One attempt: a throttled or failing store is the answer, not
            // something to wait out.
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .build();
        Some(aws_sdk_s3::Client::from_conf(config))
    }

    async fn objects(&mut self, client: &aws_sdk_s3::Client) {
        let prefix = self.target.prefix.clone();
        let started = Instant::now();
        let listed = bounded(
            self.budget(),
            client
                .list_objects_v2()
                .bucket(&self.target.bucket)
                .prefix(&prefix)
                .max_keys(1)
                .send(),
        )
        .await;
        match listed {
            Ok(_) => {
                self.record("credentials", started, Ok(()));
                self.record("bucket", started, Ok(()));
            }
            Err(outcome) => {
                let step = if outcome.code.as_deref().is_some_and(is_credentials_code) {
                    "credentials"
                } else {
                    self.record("credentials", started, Ok(()));
                    "bucket"
                };
                self.record(step, started, Err(outcome));
                return;
            }
        }
        if !self.options.write {
            return;
        }
        let key = format!(
            "{}.pxdoctor/probe-{}",
            if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            nonce()
        );
        let started = Instant::now();
        let put = bounded(
            self.budget(),
            client
                .put_object()
                .bucket(&self.target.bucket)
                .key(&key)
                .body(aws_sdk_s3::primitives::ByteStream::from_static(
                    b"pxdoctor write probe; safe to delete\n",
                ))
                .send(),
        )
        .await;
        if !self.record("write", started, put.map(|_| ())) {
            return;
        }
        let started = Instant::now();
        let deleted = bounded(
            self.budget(),
            client
                .delete_object()
                .bucket(&self.target.bucket)
                .key(&key)
                .send(),
        )
        .await;
        self.record("delete", started, deleted.map(|_| ()));
    }
}

/// Codes that mean the request's signature or key was refused, before the
/// bucket was looked at.
fn is_credentials_code(code: &str) -> bool {
    matches!(
        code,
        "InvalidAccessKeyId"
            | "InvalidAccessKeyID"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "TokenRefreshRequired"
            | "RequestTimeTooSkewed"
            | "AuthorizationHeaderMalformed"
            | "InvalidSecurity"
            | "no_credentials"
    )
}

/// One SDK call within `limit`, its failure classified.
async fn bounded<T, E>(
    limit: Duration,
    call: impl Future<Output = Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>>,
) -> Result<T, Outcome>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(classify(&error)),
        Err(_) => Err(Outcome::failed(
            "timeout",
            format!("no answer within {limit:?}"),
        )),
    }
}

fn classify<E>(error: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> Outcome
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let raw = error.raw_response();
    let status = raw.map(|r| r.status().as_u16());
    let header = |name: &str| raw.and_then(|r| r.headers().get(name)).map(str::to_string);
    let skew_seconds = header("date").and_then(|date| skew(&date));
    let bucket_region = header("x-amz-bucket-region");
    let (code, message) = match error {
        SdkError::ServiceError(_) => {
            let code = error.code().map(str::to_string).or_else(|| {
                // HEAD answers and some proxies have no body: the status tells.
                status.map(|s| match s {
                    301 => "PermanentRedirect".to_string(),
                    403 => "AccessDenied".to_string(),
                    404 => "NoSuchBucket".to_string(),
                    503 => "SlowDown".to_string(),
                    other => format!("http_{other}"),
                })
            });
            // Without a message, the SDK's own rendering is a dump of the raw
            // response (headers, date and all); the code and status are
            // the store's words then.
            let message = error.message().map(str::to_string).unwrap_or_else(|| {
                let status = status.map_or("no status".to_string(), |s| format!("HTTP {s}"));
                match &code {
                    Some(code) => format!("{code} ({status}, no message)"),
                    None => format!("{status}, no code and no message"),
                }
            });
            (code, message)
        }
        SdkError::TimeoutError(_) => (Some("timeout".into()), "no answer in time".into()),
        SdkError::DispatchFailure(failure) => {
            let code = if failure.is_timeout() {
                "timeout"
            } else {
                "unreachable"
            };
            (Some(code.into()), DisplayErrorContext(error).to_string())
        }
        _ => (
            Some("bad_response".into()),
            DisplayErrorContext(error).to_string(),
        ),
    };
    Outcome {
        code,
        status,
        message: Some(message),
        skew_seconds,
        bucket_region,
    }
}

/// Server clock minus ours, from an HTTP Date header.
fn skew(date: &str) -> Option<i64> {
    let server = jiff::fmt::rfc2822::parse(date).ok()?.timestamp();
    Some((server - jiff::Timestamp::now()).get_seconds())
}

/// A name no two probes share.
fn nonce() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}{:x}", nanos, std::process::id())
}

async fn tls_handshake(stream: TcpStream, host: &str, limit: Duration) -> Result<(), Outcome> {
    let config = super::tls::verifying_client(Vec::new())
        .map_err(|error| Outcome::failed("tls_failed", error.to_string()))?;
    let name = rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
        .map_err(|error| Outcome::failed("tls_failed", format!("{host}: {error}")))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(limit, connector.connect(name, stream)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => {
            let code = tls_code(&error);
            Err(Outcome::failed(code, format!("{host}: {error}")))
        }
        Err(_) => Err(Outcome::failed(
            "timeout",
            format!("no TLS handshake from {host} within {limit:?}"),
        )),
    }
}

fn tls_code(error: &std::io::Error) -> &'static str {
    use rustls::{CertificateError, Error};
    let Some(inner) = error.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
        return "tls_failed";
    };
    match inner {
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "tls_name_mismatch",
        Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "tls_expired",
        Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => "tls_untrusted",
        Error::InvalidCertificate(_) => "tls_untrusted",
        _ => "tls_failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_endpoints_follow_the_region() {
        let mut target = S3Target::default();
        assert_eq!(endpoint_of(&target), "https://s3.amazonaws.com");
        target.region = Some("eu-west-1".into());
        assert_eq!(endpoint_of(&target), "https://s3.eu-west-1.amazonaws.com");
        target.endpoint = Some("http://minio:9000/".into());
        assert_eq!(endpoint_of(&target), "http://minio:9000");
    }

    #[test]
    fn the_date_header_gives_the_skew() {
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1200);
        let header =
            jiff::fmt::rfc2822::to_string(&later.to_zoned(jiff::tz::TimeZone::UTC)).unwrap();
        let skew = skew(&header).unwrap();
        assert!((1195..=1200).contains(&skew), "{skew}");
    }
}
