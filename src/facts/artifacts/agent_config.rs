//! The Polyaxon agent's ConfigMap (`<release>-polyaxon-agent-config`),
//! reduced to the keys that say where runs go, as whom, and where they
//! upload: POLYAXON_ADDITIONAL_NAMESPACES (the namespaces besides its own),
//! POLYAXON_AGENT_RUNS_SA (the service account of the runs' pods; the
//! chart sets it to `<release>-polyaxon-runs-sa` when rbac.enabled,
//! polyaxon/charts polyaxon/templates/agent-cm.yaml) and
//! POLYAXON_AGENT_ARTIFACTS_STORE (the artifacts store's connection as
//! JSON: names, never credentials). Nothing else of any ConfigMap is kept.

use serde::Deserialize;

pub const ADDITIONAL_NAMESPACES: &str = "POLYAXON_ADDITIONAL_NAMESPACES";
pub const RUNS_SA: &str = "POLYAXON_AGENT_RUNS_SA";
pub const ARTIFACTS_STORE: &str = "POLYAXON_AGENT_ARTIFACTS_STORE";
pub const CONNECTIONS: &str = "POLYAXON_AGENT_CONNECTIONS";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentConfig {
    pub namespace: String,
    pub name: String,
    pub additional_namespaces: Vec<String>,
    pub runs_service_account: Option<String>,
    /// The artifacts store's connection, as JSON text.
    pub artifacts_store: Option<String>,
    /// The claims runs mount through the catalog: the artifacts store and
    /// the connections of kind volume_claim (`schema.volumeClaim`).
    pub connection_claims: Vec<String>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

/// Only the keys pxdoctor reads are decoded; the rest of `data` is skipped.
#[derive(Deserialize, Default)]
struct Keys {
    #[serde(default, rename = "POLYAXON_ADDITIONAL_NAMESPACES")]
    additional: Option<String>,
    #[serde(default, rename = "POLYAXON_AGENT_RUNS_SA")]
    runs_sa: Option<String>,
    #[serde(default, rename = "POLYAXON_AGENT_ARTIFACTS_STORE")]
    artifacts_store: Option<String>,
    #[serde(default, rename = "POLYAXON_AGENT_CONNECTIONS")]
    connections: Option<String>,
}

#[derive(Deserialize)]
struct ConfigMap {
    metadata: Metadata,
    #[serde(default)]
    data: Option<Keys>,
}

impl AgentConfig {
    /// The agent's configuration in a ConfigMap's JSON; None for any other
    /// ConfigMap.
    pub fn from_json(json: &str) -> serde_json::Result<Option<AgentConfig>> {
        let map: ConfigMap = serde_json::from_str(json)?;
        let keys = map.data.unwrap_or_default();
        if keys.additional.is_none()
            && keys.runs_sa.is_none()
            && keys.artifacts_store.is_none()
            && keys.connections.is_none()
        {
            return Ok(None);
        }
        let Some(name) = map.metadata.name else {
            return Ok(None);
        };
        Ok(Some(AgentConfig {
            namespace: map.metadata.namespace.unwrap_or_else(|| "default".into()),
            name,
            additional_namespaces: keys
                .additional
                .as_deref()
                .map(additional_namespaces)
                .unwrap_or_default(),
            runs_service_account: keys
                .runs_sa
                .map(|sa| sa.trim().to_string())
                .filter(|sa| !sa.is_empty()),
            connection_claims: volume_claims(
                keys.artifacts_store.as_deref(),
                keys.connections.as_deref(),
            ),
            artifacts_store: keys.artifacts_store,
        }))
    }
}

/// What a bundle keeps of a ConfigMap: the agent's, with its name,
/// namespace and the keys above; None for any other ConfigMap.
pub fn bundle_form(object: &serde_json::Value) -> Option<serde_json::Value> {
    let data = object.get("data")?.as_object()?;
    let kept: serde_json::Map<String, serde_json::Value> =
        [ADDITIONAL_NAMESPACES, RUNS_SA, ARTIFACTS_STORE, CONNECTIONS]
            .iter()
            .filter_map(|key| data.get(*key).map(|v| (key.to_string(), v.clone())))
            .collect();
    if kept.is_empty() {
        return None;
    }
    let metadata = object.get("metadata")?;
    Some(serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": metadata.get("name"), "namespace": metadata.get("namespace")},
        "data": kept,
    }))
}

/// The claims of the catalog's connections of kind volume_claim (the
/// artifacts store's one object, the connections' list), in the chart's
/// shape: `{"name": "data", "kind": "volume_claim", "schema":
/// {"volumeClaim": "my-pvc", "mountPath": "/data"}}`.
fn volume_claims(store: Option<&str>, connections: Option<&str>) -> Vec<String> {
    let mut connections_found: Vec<serde_json::Value> = Vec::new();
    if let Some(Ok(value)) = store.map(serde_json::from_str::<serde_json::Value>) {
        connections_found.push(value);
    }
    if let Some(Ok(serde_json::Value::Array(list))) =
        connections.map(serde_json::from_str::<serde_json::Value>)
    {
        connections_found.extend(list);
    }
    let mut claims: Vec<String> = connections_found
        .iter()
        .filter(|c| c.get("kind").and_then(|k| k.as_str()) == Some("volume_claim"))
        .filter_map(|c| {
            let schema = c.get("schema")?;
            schema
                .get("volumeClaim")
                .or_else(|| schema.get("volume_claim"))?
                .as_str()
                .map(str::to_string)
        })
        .filter(|claim| !claim.is_empty())
        .collect();
    claims.sort();
    claims.dedup();
    claims
}

/// The agent's additional namespaces: a JSON list or a comma-separated one.
pub fn additional_namespaces(value: &str) -> Vec<String> {
    let value = value.trim();
    let list: Vec<String> = serde_json::from_str(value).unwrap_or_else(|_| {
        value
            .trim_matches(['[', ']'])
            .split(',')
            .map(str::to_string)
            .collect()
    });
    list.into_iter()
        .map(|n| n.trim().trim_matches(['"', '\'']).to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additional_namespaces_read_both_spellings() {
        assert_eq!(
            additional_namespaces(r#"["ml-a", "ml-b"]"#),
            vec!["ml-a", "ml-b"]
        );
        assert_eq!(additional_namespaces("ml-a, ml-b"), vec!["ml-a", "ml-b"]);
        assert!(additional_namespaces("").is_empty());
    }

    #[test]
    fn only_config_maps_with_the_agents_keys_are_kept_and_only_those_keys() {
        let agent = r#"{"apiVersion":"v1","kind":"ConfigMap",
            "metadata":{"name":"plx-polyaxon-agent-config","namespace":"polyaxon"},
            "data":{"POLYAXON_ADDITIONAL_NAMESPACES":"[\"ml-team\"]",
                    "POLYAXON_AGENT_RUNS_SA":"plx-polyaxon-runs-sa",
                    "POLYAXON_AGENT_ARTIFACTS_STORE":"{\"name\":\"s3\",\"kind\":\"s3\"}",
                    "POLYAXON_AGENT_CONNECTIONS":"[{\"name\":\"data\"}]"}}"#;
        let config = AgentConfig::from_json(agent).unwrap().unwrap();
        assert_eq!(
            config.artifacts_store.as_deref(),
            Some(r#"{"name":"s3","kind":"s3"}"#)
        );
        assert_eq!(config.additional_namespaces, vec!["ml-team"]);
        assert_eq!(
            config.runs_service_account.as_deref(),
            Some("plx-polyaxon-runs-sa")
        );
        let other = r#"{"metadata":{"name":"x","namespace":"ml"},"data":{"a":"b"}}"#;
        assert_eq!(AgentConfig::from_json(other).unwrap(), None);
        let empty = r#"{"metadata":{"name":"x"}}"#;
        assert_eq!(AgentConfig::from_json(empty).unwrap(), None);
        assert!(AgentConfig::from_json(r#"{"metadata":1}"#).is_err());
    }

    #[test]
    fn a_bundle_keeps_the_agents_keys_and_drops_every_other_config_map() {
        let agent: serde_json::Value = serde_json::from_str(
            r#"{"metadata":{"name":"plx-polyaxon-agent-config","namespace":"polyaxon","annotations":{"a":"b"}},
                "data":{"POLYAXON_ADDITIONAL_NAMESPACES":"ml","POLYAXON_AGENT_CONNECTIONS":"[]"}}"#,
        )
        .unwrap();
        let kept = bundle_form(&agent).unwrap();
        // The connections stay: a bundle is judged as the cluster is, and
        // their claims are checked before a run mounts them.
        assert_eq!(kept["data"].as_object().unwrap().len(), 2);
        assert_eq!(kept["metadata"]["namespace"], "polyaxon");
        assert!(kept["metadata"].get("annotations").is_none());
        let read = AgentConfig::from_json(&kept.to_string()).unwrap().unwrap();
        assert_eq!(read.additional_namespaces, vec!["ml"]);
        let other: serde_json::Value =
            serde_json::from_str(r#"{"metadata":{"name":"x"},"data":{"k":"v"}}"#).unwrap();
        assert_eq!(bundle_form(&other), None);
    }

    /// The store's connection is kept for bundles; a credential someone put
    /// into it is still masked by the redaction every bundled object gets.
    #[test]
    fn a_bundled_store_connection_keeps_its_names_and_loses_credentials() {
        let store = r#"{"name":"s3","kind":"s3","schema":{"bucket":"s3://plx"},"secret":{"name":"s3-secret"},"aws_secret_access_key":"wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"}"#;
        let agent = serde_json::json!({
            "metadata": {"name": "plx-polyaxon-agent-config", "namespace": "polyaxon"},
            "data": {ARTIFACTS_STORE: store, "POLYAXON_AGENT_CONNECTIONS": "[]"},
        });
        let mut kept = bundle_form(&agent).unwrap();
        crate::redact::redact_object("ConfigMap", &mut kept);
        let text = kept["data"][ARTIFACTS_STORE].as_str().unwrap();
        let parsed: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(parsed["secret"]["name"], "s3-secret");
        assert!(!kept.to_string().contains("wJalrXUtnFEMI"), "{kept}");
        assert_eq!(kept["data"]["POLYAXON_AGENT_CONNECTIONS"], "[]");
    }

    #[test]
    fn the_catalogs_volume_claims_are_the_store_and_the_connections_of_that_kind() {
        let store = r#"{"name":"store","kind":"volume_claim","schema":{"volumeClaim":"plx-artifacts","mountPath":"/plx"}}"#;
        let connections = r#"[{"name":"data","kind":"volume_claim","schema":{"volumeClaim":"datasets","mountPath":"/data"}},
            {"name":"repo","kind":"git","schema":{"url":"https://github.com/acme/train"}},
            {"name":"host","kind":"host_path","schema":{"hostPath":"/mnt","mountPath":"/mnt"}}]"#;
        let agent = serde_json::json!({
            "metadata": {"name": "plx-polyaxon-agent-config", "namespace": "polyaxon"},
            "data": {ARTIFACTS_STORE: store, CONNECTIONS: connections},
        });
        let read = AgentConfig::from_json(&agent.to_string()).unwrap().unwrap();
        assert_eq!(read.connection_claims, vec!["datasets", "plx-artifacts"]);
    }
}
