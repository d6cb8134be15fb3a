//! One step of the artifacts-store probe (dns, tcp, tls, credentials,
//! bucket, write, delete), with how long it took and how it failed.
//!
//! Steps are recorded as they ran: `collect` writes them to `probes/s3.json`
//! and `check --snapshot` reads them back, so a bundle is explained like the
//! live store was.

use serde::{Deserialize, Serialize};

use super::store::store_subject;
use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeStep {
    /// The connection's name, e.g. "s3-artifacts".
    pub store: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// "namespace/name" of the Secret the credentials came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The endpoint as configured, or AWS's for the region.
    pub endpoint: String,
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    /// dns | tcp | tls | credentials | bucket | write | delete
    pub step: String,
    pub ok: bool,
    /// An S3 error code (SignatureDoesNotMatch, ...) or pxdoctor's own word
    /// for a network failure (dns_failed, refused, timeout, tls_untrusted,
    /// tls_name_mismatch, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub latency_ms: u64,
    /// The access key, masked (AKIA****WXYZ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// Server clock minus ours, from the answer's Date header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew_seconds: Option<i64>,
    /// The region the server says the bucket is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

pub const FIELDS: &[FieldSpec] = &[
    field("store", Text, "the connection's name"),
    field("secret", Text, "namespace/name of the credentials' Secret"),
    field("endpoint", Text, "the S3 endpoint probed"),
    field("bucket", Text, "the bucket"),
    field("location", Text, "s3://bucket/prefix"),
    field(
        "step",
        Text,
        "dns | tcp | tls | credentials | bucket | write | delete",
    ),
    field("ok", Bool, "the step succeeded"),
    field(
        "code",
        Text,
        "the S3 error code, or dns_failed | refused | timeout | tls_untrusted | tls_name_mismatch | tls_failed | unreachable",
    ),
    field("status", Number, "the HTTP status of the answer"),
    field(
        "message",
        Text,
        "the error as the server or the network gave it",
    ),
    field("latency_ms", Number, "how long the step took"),
    field("access_key", Text, "the access key used, masked"),
    field(
        "skew_seconds",
        Number,
        "server clock minus ours, in seconds",
    ),
    field(
        "bucket_region",
        Text,
        "the bucket's region as the server says",
    ),
    field("region", Text, "the region the probe signed for"),
    field("subject", Text, "the store as people name it"),
];

impl ProbeStep {
    pub fn location(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

impl FieldSource for ProbeStep {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "store" => Some(text(self.store.as_str())),
            "secret" => self.secret.as_deref().map(text),
            "endpoint" => Some(text(self.endpoint.as_str())),
            "bucket" => Some(text(self.bucket.as_str())),
            "location" => Some(text(self.location())),
            "step" => Some(text(self.step.as_str())),
            "ok" => Some(Value::Bool(self.ok)),
            "code" => self.code.as_deref().map(text),
            "status" => self.status.map(num),
            "message" => self.message.as_deref().map(text),
            "latency_ms" => Some(num(self.latency_ms as f64)),
            "access_key" => self.access_key.as_deref().map(text),
            "skew_seconds" => self.skew_seconds.map(|s| num(s as f64)),
            "bucket_region" => self.bucket_region.as_deref().map(text),
            "region" => self.region.as_deref().map(text),
            "subject" => Some(text(self.subject().label())),
            _ => None,
        }
    }
}

impl Fact for ProbeStep {
    fn subject(&self) -> Subject {
        store_subject(self.namespace.as_deref(), &self.store)
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut said = format!(
            "{} {} at {} for {} in {} ms",
            self.step,
            if self.ok { "succeeded" } else { "failed" },
            self.endpoint,
            self.location(),
            self.latency_ms
        );
        if let Some(code) = &self.code {
            said.push_str(&format!(": {code}"));
        }
        if let Some(status) = self.status {
            said.push_str(&format!(" (HTTP {status})"));
        }
        if let Some(message) = &self.message {
            said.push_str(&format!(": {message}"));
        }
        if let Some(key) = &self.access_key {
            said.push_str(&format!(" [access key {key}]"));
        }
        vec![
            Evidence::new("Probe")
                .name(format!("s3 {}", self.step))
                .message(said),
        ]
    }
}
