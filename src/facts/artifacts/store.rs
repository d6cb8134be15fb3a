//! The artifacts store: where Polyaxon's agent says runs upload to, the
//! Secret that holds its credentials, and what is wrong with that
//! configuration before any network call is made.
//!
//! The store comes from the agent ConfigMap (POLYAXON_AGENT_ARTIFACTS_STORE,
//! a connection as JSON; shared/polyaxon.md "Connections"). One
//! `artifacts_store` fact is made per problem found, so each has its own rule.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value as Json;

use super::agent_config::AgentConfig;
use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, text};
use crate::redact::redact_line;

/// The keys of a store Secret whose values the probe uses. Nothing else of
/// a Secret is kept, and these are never printed (see `Debug`).
pub const CREDENTIAL_KEYS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SECURITY_TOKEN",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
];

/// A Secret: its key names, and the values of the credential keys only.
#[derive(Clone, Default)]
pub struct SecretFact {
    pub namespace: String,
    pub name: String,
    pub keys: BTreeSet<String>,
    pub values: BTreeMap<String, String>,
}

impl fmt::Debug for SecretFact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretFact")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl SecretFact {
    pub fn from_json(object: &Json) -> Option<SecretFact> {
        let mut secret = SecretFact {
            namespace: str_at(object, "/metadata/namespace").unwrap_or("default".into()),
            name: str_at(object, "/metadata/name")?,
            ..SecretFact::default()
        };
        for (key, value) in object
            .get("data")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
        {
            secret.keys.insert(key.clone());
            if CREDENTIAL_KEYS.contains(&key.as_str())
                && let Some(decoded) = value.as_str().and_then(decode_base64)
            {
                secret.values.insert(key.clone(), decoded);
            }
        }
        for (key, value) in object
            .get("stringData")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
        {
            secret.keys.insert(key.clone());
            if CREDENTIAL_KEYS.contains(&key.as_str())
                && let Some(value) = value.as_str()
            {
                secret.values.insert(key.clone(), value.to_string());
            }
        }
        Some(secret)
    }

    /// A value that is really there: bundles mask values, and a masked
    /// value must not be used as a credential.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty() && !v.contains("****") && !v.contains("REDACTED"))
    }
}

fn decode_base64(text: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(bytes).ok().map(|s| s.trim().to_string())
}

fn str_at(object: &Json, pointer: &str) -> Option<String> {
    object
        .pointer(pointer)
        .and_then(Json::as_str)
        .map(str::to_string)
}

/// The store as the agent configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// The connection's name, e.g. "s3-artifacts".
    pub name: String,
    /// s3, gcs, wasb, volume_claim, host_path, ...
    pub kind: String,
    /// `s3://bucket/prefix` as configured (empty when missing).
    pub bucket: String,
    pub secret: Option<String>,
    /// Where the agent (and its Secret) live.
    pub namespace: String,
    /// The ConfigMap it came from.
    pub config_map: String,
}

impl Store {
    /// The agent's store, or why it could not be read.
    pub fn from_agent(config: &AgentConfig) -> Result<Store, String> {
        let text = config.artifacts_store.as_deref().unwrap_or("");
        let json: Json = serde_json::from_str(text)
            .map_err(|error| format!("POLYAXON_AGENT_ARTIFACTS_STORE is not JSON: {error}"))?;
        let schema = json
            .get("schema")
            .or_else(|| json.get("schemaV2"))
            .or_else(|| json.get("schema_"));
        let bucket = schema
            .and_then(|s| s.get("bucket"))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        Ok(Store {
            name: json
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or("artifacts-store")
                .to_string(),
            kind: json
                .get("kind")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string(),
            bucket,
            secret: json
                .pointer("/secret/name")
                .and_then(Json::as_str)
                .map(str::to_string),
            namespace: config.namespace.clone(),
            config_map: config.name.clone(),
        })
    }

    /// Bucket and prefix of an `s3://bucket[/prefix]` URL.
    pub fn s3_location(&self) -> Option<(String, String)> {
        let rest = self.bucket.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        valid.then(|| (bucket.to_string(), prefix.trim_matches('/').to_string()))
    }
}

/// One problem with the store's configuration.
#[derive(Debug, Clone)]
pub struct StoreFact {
    pub store: Store,
    /// not_probed, secret_missing, key_missing, bad_bucket,
    /// endpoint_no_scheme, no_region, path_style, secret_not_in_runs,
    /// bad_config.
    pub problem: &'static str,
    /// What exactly: the missing key, the endpoint, the pods, ...
    pub detail: String,
}

pub const FIELDS: &[FieldSpec] = &[
    field("store", Text, "the connection's name"),
    field("store_kind", Text, "s3, gcs, wasb, ..."),
    field("bucket", Text, "the store's bucket URL as configured"),
    field(
        "secret",
        Text,
        "the Secret with the store's credentials (namespace/name)",
    ),
    field(
        "config_map",
        Text,
        "the agent ConfigMap that names the store",
    ),
    field(
        "problem",
        Text,
        "not_probed | secret_missing | key_missing | bad_bucket | endpoint_no_scheme | no_region | path_style | secret_not_in_runs | bad_config",
    ),
    field("detail", Text, "what exactly: a key, an endpoint, pods"),
    field("subject", Text, "the store as people name it"),
];

impl FieldSource for StoreFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "store" => Some(text(self.store.name.as_str())),
            "store_kind" => Some(text(self.store.kind.as_str())),
            "bucket" => Some(text(self.store.bucket.as_str())),
            "secret" => self
                .store
                .secret
                .as_ref()
                .map(|s| text(format!("{}/{s}", self.store.namespace))),
            "config_map" => Some(text(format!(
                "{}/{}",
                self.store.namespace, self.store.config_map
            ))),
            "problem" => Some(text(self.problem)),
            "detail" => Some(text(self.detail.as_str())),
            "subject" => Some(text(self.subject().label())),
            _ => None,
        }
    }
}

impl Fact for StoreFact {
    fn subject(&self) -> Subject {
        store_subject(Some(&self.store.namespace), &self.store.name)
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut evidence = vec![
            Evidence::new("ConfigMap")
                .name(format!(
                    "{}/{}",
                    self.store.namespace, self.store.config_map
                ))
                .message(format!(
                    "POLYAXON_AGENT_ARTIFACTS_STORE: {} store `{}` at {}{}",
                    self.store.kind,
                    self.store.name,
                    if self.store.bucket.is_empty() {
                        "(no bucket)"
                    } else {
                        &self.store.bucket
                    },
                    self.store
                        .secret
                        .as_ref()
                        .map(|s| format!(", credentials in Secret {s}"))
                        .unwrap_or_default()
                )),
        ];
        if !self.detail.is_empty() {
            evidence.push(
                Evidence::new("Check")
                    .name(self.problem)
                    .message(self.detail.clone()),
            );
        }
        evidence
    }
}

pub fn store_subject(namespace: Option<&str>, name: &str) -> Subject {
    Subject {
        kind: "ArtifactsStore".into(),
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
        run: None,
    }
}

/// Where a probe goes and with what: the store's configuration joined with
/// its Secret (or the flags and the AWS chain outside a cluster).
#[derive(Clone, Default)]
pub struct S3Target {
    pub store: String,
    pub namespace: Option<String>,
    /// "namespace/name" of the Secret the credentials came from.
    pub secret: Option<String>,
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub session_token: Option<String>,
}

impl fmt::Debug for S3Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Target")
            .field("store", &self.store)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// What the configuration says, checked: the problems found, and the S3
/// targets that can be probed.
pub struct Checked {
    pub facts: Vec<StoreFact>,
    pub targets: Vec<S3Target>,
}

/// Checks every agent store. `secrets_seen`: the source looked for Secrets
/// (so a missing one is really missing). `unreadable`: Secrets the caller
/// may not read, as "namespace/name".
pub fn check(
    configs: &[AgentConfig],
    secrets: &[SecretFact],
    secrets_seen: bool,
    unreadable: &BTreeSet<String>,
    run_pods: &[(String, String, Vec<String>)],
) -> Checked {
    let mut facts = Vec::new();
    let mut targets = Vec::new();
    let mut seen = BTreeSet::new();
    for config in configs.iter().filter(|c| c.artifacts_store.is_some()) {
        let store = match Store::from_agent(config) {
            Ok(store) => store,
            Err(message) => {
                let store = Store {
                    name: "artifacts-store".into(),
                    kind: String::new(),
                    bucket: String::new(),
                    secret: None,
                    namespace: config.namespace.clone(),
                    config_map: config.name.clone(),
                };
                facts.push(StoreFact {
                    store,
                    problem: "bad_config",
                    detail: message,
                });
                continue;
            }
        };
        if !seen.insert((store.namespace.clone(), store.name.clone())) {
            continue;
        }
        let mut problem = |problem: &'static str, detail: String| {
            facts.push(StoreFact {
                store: store.clone(),
                problem,
                detail,
            });
        };
        match store.kind.as_str() {
            "s3" => {}
            "gcs" | "wasb" => {
                problem(
                    "not_probed",
                    format!("{} stores are recognised but not probed", store.kind),
                );
                continue;
            }
            _ => continue,
        }
        let Some((bucket, prefix)) = store.s3_location() else {
            problem("bad_bucket", store.bucket.clone());
            continue;
        };
        let secret_id = store
            .secret
            .as_ref()
            .map(|name| format!("{}/{name}", store.namespace));
        let secret = store.secret.as_ref().and_then(|name| {
            secrets
                .iter()
                .find(|s| &s.name == name && s.namespace == store.namespace)
        });
        // An unreadable Secret hides the endpoint too (AWS_ENDPOINT_URL):
        // probing a guess would test some other store. The collection gap
        // says what permission would let pxdoctor look.
        let mut probeable = true;
        if let Some(id) = &secret_id {
            if unreadable.contains(id) {
                probeable = false;
            } else if secret.is_none() && secrets_seen {
                problem("secret_missing", id.clone());
                continue;
            }
        }
        if let Some(secret) = secret {
            let missing: Vec<&str> = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
                .into_iter()
                .filter(|key| !secret.keys.contains(*key))
                .collect();
            if !missing.is_empty() {
                problem("key_missing", missing.join(", "));
                continue;
            }
        }
        let endpoint = secret.and_then(|s| s.value("AWS_ENDPOINT_URL").map(str::to_string));
        let region = secret.and_then(|s| s.value("AWS_REGION").map(str::to_string));
        if let Some(endpoint) = &endpoint {
            if !endpoint.contains("://") {
                problem("endpoint_no_scheme", redact_line(endpoint));
                continue;
            }
            if needs_path_style(endpoint) {
                problem("path_style", redact_line(endpoint));
            }
        } else if secret.is_some_and(|s| !s.keys.contains("AWS_REGION")) {
            problem("no_region", String::new());
        }
        if let Some(secret_name) = &store.secret {
            let without: Vec<String> = run_pods
                .iter()
                .filter(|(namespace, _, refs)| {
                    namespace == &store.namespace && !refs.contains(secret_name)
                })
                .map(|(_, pod, _)| pod.clone())
                .collect();
            if !without.is_empty() {
                let shown: Vec<&str> = without.iter().take(3).map(String::as_str).collect();
                problem(
                    "secret_not_in_runs",
                    format!(
                        "{} run pod(s) without it, e.g. {}",
                        without.len(),
                        shown.join(", ")
                    ),
                );
            }
        }
        if !probeable {
            continue;
        }
        targets.push(S3Target {
            store: store.name.clone(),
            namespace: Some(store.namespace.clone()),
            secret: secret_id,
            bucket,
            prefix,
            endpoint,
            region,
            access_key: secret.and_then(|s| s.value("AWS_ACCESS_KEY_ID").map(str::to_string)),
            secret_key: secret.and_then(|s| s.value("AWS_SECRET_ACCESS_KEY").map(str::to_string)),
            session_token: secret.and_then(|s| {
                s.value("AWS_SESSION_TOKEN")
                    .or(s.value("AWS_SECURITY_TOKEN"))
                    .map(str::to_string)
            }),
        });
    }
    Checked { facts, targets }
}

/// Virtual-hosted addressing puts the bucket in the host name, which an IP
/// address or a single MinIO host cannot serve.
pub fn needs_path_style(endpoint: &str) -> bool {
    let uri: Option<http::Uri> = endpoint.parse().ok();
    let host = uri.as_ref().and_then(http::Uri::host).unwrap_or("");
    host.trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .is_ok()
        || host.contains("minio")
        || !host.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agent(store: &str) -> AgentConfig {
        AgentConfig {
            namespace: "polyaxon".into(),
            name: "polyaxon-polyaxon-agent-config".into(),
            artifacts_store: Some(store.into()),
            ..AgentConfig::default()
        }
    }

    fn secret(keys: &[(&str, &str)]) -> SecretFact {
        let data: serde_json::Map<String, Json> = keys
            .iter()
            .map(|(k, v)| {
                use base64::Engine;
                (
                    k.to_string(),
                    json!(base64::engine::general_purpose::STANDARD.encode(v)),
                )
            })
            .collect();
        SecretFact::from_json(&json!({
            "metadata": {"namespace": "polyaxon", "name": "s3-secret"},
            "data": data,
        }))
        .unwrap()
    }

    const S3: &str = r#"{"name":"s3-artifacts","kind":"s3","schema":{"bucket":"s3://plx/runs"},"secret":{"name":"s3-secret"}}"#;

    fn problems(checked: &Checked) -> Vec<&str> {
        checked.facts.iter().map(|f| f.problem).collect()
    }

    #[test]
    fn a_complete_store_becomes_a_target_with_its_credentials() {
        let s = secret(&[
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
            ("AWS_ENDPOINT_URL", "https://s3.eu-west-1.amazonaws.com"),
        ]);
        let checked = check(&[agent(S3)], &[s], true, &BTreeSet::new(), &[]);
        assert!(problems(&checked).is_empty(), "{:?}", problems(&checked));
        let target = &checked.targets[0];
        assert_eq!(
            (target.bucket.as_str(), target.prefix.as_str()),
            ("plx", "runs")
        );
        assert_eq!(target.secret_key.as_deref(), Some("s3cr3t"));
        assert!(!format!("{target:?}").contains("s3cr3t"));
    }

    #[test]
    fn configuration_problems_are_named_before_any_probe() {
        let none = BTreeSet::new();
        let missing = check(&[agent(S3)], &[], true, &none, &[]);
        assert_eq!(problems(&missing), ["secret_missing"]);
        assert!(missing.targets.is_empty());
        let unknown = check(&[agent(S3)], &[], false, &none, &[]);
        assert!(
            problems(&unknown).is_empty(),
            "secrets not looked at: no claim"
        );
        let no_key = check(
            &[agent(S3)],
            &[secret(&[("AWS_ACCESS_KEY_ID", "A")])],
            true,
            &none,
            &[],
        );
        assert_eq!(problems(&no_key), ["key_missing"]);
        assert_eq!(no_key.facts[0].detail, "AWS_SECRET_ACCESS_KEY");
        let scheme = check(
            &[agent(S3)],
            &[secret(&[
                ("AWS_ACCESS_KEY_ID", "A"),
                ("AWS_SECRET_ACCESS_KEY", "B"),
                ("AWS_ENDPOINT_URL", "minio.ml:9000"),
            ])],
            true,
            &none,
            &[],
        );
        assert_eq!(problems(&scheme), ["endpoint_no_scheme"]);
        let bad_bucket = check(
            &[agent(
                r#"{"name":"a","kind":"s3","schema":{"bucket":"plx"}}"#,
            )],
            &[],
            true,
            &none,
            &[],
        );
        assert_eq!(problems(&bad_bucket), ["bad_bucket"]);
        let gcs = check(
            &[agent(
                r#"{"name":"g","kind":"gcs","schema":{"bucket":"gs://plx"}}"#,
            )],
            &[],
            true,
            &none,
            &[],
        );
        assert_eq!(problems(&gcs), ["not_probed"]);
    }

    #[test]
    fn ip_and_minio_endpoints_need_path_style_and_aws_does_not() {
        assert!(needs_path_style("http://10.0.0.5:9000"));
        assert!(needs_path_style("http://minio.minio.svc:9000"));
        assert!(needs_path_style("http://127.0.0.1:5000"));
        assert!(needs_path_style("http://[::1]:9000"));
        assert!(needs_path_style("http://localhost:9000"));
        assert!(!needs_path_style("https://s3.eu-west-1.amazonaws.com"));
    }

    #[test]
    fn run_pods_without_the_secret_are_named() {
        let s = secret(&[
            ("AWS_ACCESS_KEY_ID", "A"),
            ("AWS_SECRET_ACCESS_KEY", "B"),
            ("AWS_REGION", "eu-west-1"),
        ]);
        let pods = vec![
            (
                "polyaxon".to_string(),
                "plx-operation-1".to_string(),
                vec!["s3-secret".to_string()],
            ),
            (
                "polyaxon".to_string(),
                "plx-operation-2".to_string(),
                vec![],
            ),
        ];
        let checked = check(&[agent(S3)], &[s], true, &BTreeSet::new(), &pods);
        assert_eq!(problems(&checked), ["secret_not_in_runs"]);
        assert!(checked.facts[0].detail.contains("plx-operation-2"));
        assert!(!checked.facts[0].detail.contains("plx-operation-1"));
    }
}
