//! Kubernetes objects as `kubectl get -o json|yaml` writes them, into facts.
//!
//! A document is a single object or a `List`/`*List` with `items`. JSON is
//! decoded item by item from borrowed slices of the file, so a list of
//! 100,000 pods never exists as a tree in memory; YAML documents (small, hand
//! made or exported) go through a generic value first.

use std::borrow::Cow;
use std::path::Path;

use k8s_openapi::api::core::v1::{Event as CoreEvent, Node, Pod};
use k8s_openapi::api::events::v1::Event as NewEvent;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{Position, Problem};
use crate::facts::agent_config::AgentConfig;
use crate::facts::claim::{Claim, StorageClass};
use crate::facts::deployment::DeploymentFact;
use crate::facts::operation::OperationFact;
use crate::facts::rbac::{BindingRecord, RoleRecord};
use crate::facts::{EventFact, Inventory, NodeFact, PodFact};

/// The kinds pxdoctor reads; anything else is skipped without complaint.
const KNOWN_KINDS: [&str; 16] = [
    "Pod",
    "ConfigMap",
    "Secret",
    "Event",
    "Node",
    "CustomResourceDefinition",
    "Deployment",
    "PersistentVolumeClaim",
    "StorageClass",
    "Service",
    "Ingress",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ServiceAccount",
];

/// RBAC's kinds; a CRD may reuse their names in another group.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io/";

/// An object's name and namespace, and nothing else of it.
#[derive(Deserialize)]
struct ObjectName {
    metadata: NameOnly,
}

#[derive(Deserialize)]
struct NameOnly {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "apiVersion")]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

/// Reads one JSON file into `inventory`; problems name the file and position.
pub fn read_json(
    path: &Path,
    content: &str,
    inventory: &mut Inventory,
    problems: &mut Vec<Problem>,
) {
    let envelope: Envelope = match serde_json::from_str(content) {
        Ok(envelope) => envelope,
        Err(error) => {
            problems.push(json_problem(path, content, 0, &error));
            return;
        }
    };
    match envelope.items {
        Some(items) => {
            let list_kind = envelope.kind.as_deref().unwrap_or("List");
            let item_kind = list_kind
                .strip_suffix("List")
                .filter(|kind| !kind.is_empty());
            if let Some(kind) = item_kind.filter(|kind| KNOWN_KINDS.contains(kind)) {
                inventory.kinds_seen.insert(kind.to_string());
            }
            for item in items {
                let offset = item.get().as_ptr() as usize - content.as_ptr() as usize;
                let own: Envelope = match serde_json::from_str(item.get()) {
                    Ok(own) => own,
                    Err(error) => {
                        problems.push(json_problem(path, content, offset, &error));
                        continue;
                    }
                };
                let kind = own.kind.as_deref().or(item_kind);
                let api_version = own
                    .api_version
                    .as_deref()
                    .or(envelope.api_version.as_deref());
                if let Some(kind) = kind {
                    let outcome = ingest(kind, api_version, item.get(), inventory);
                    if let Err(error) = outcome {
                        problems.push(json_problem(path, content, offset, &error));
                    }
                }
            }
        }
        None => {
            if let Some(kind) = envelope.kind.as_deref()
                && let Err(error) =
                    ingest(kind, envelope.api_version.as_deref(), content, inventory)
            {
                problems.push(json_problem(path, content, 0, &error));
            }
        }
    }
}

/// Decodes one object of `kind` from JSON text into its fact.
fn ingest(
    kind: &str,
    api_version: Option<&str>,
    json: &str,
    inventory: &mut Inventory,
) -> serde_json::Result<()> {
    match kind {
        "Pod" => {
            let pod: Pod = serde_json::from_str(json)?;
            let fact = PodFact::from_pod(pod);
            if let Some(fact) = fact {
                inventory.saw_time(fact.created);
                inventory.pods.push(fact);
            }
        }
        "Node" => {
            let node: Node = serde_json::from_str(json)?;
            inventory.nodes.extend(NodeFact::from_node(node));
        }
        "Event" => {
            let fact = match api_version.unwrap_or("v1") {
                "events.k8s.io/v1" => {
                    EventFact::from_events_v1(serde_json::from_str::<NewEvent>(json)?)
                }
                // v1beta1 has the v1 shape; the typed decoder insists on its
                // own apiVersion, so it is dropped first.
                "events.k8s.io/v1beta1" => {
                    let mut value: serde_json::Value = serde_json::from_str(json)?;
                    if let Some(object) = value.as_object_mut() {
                        object.remove("apiVersion");
                    }
                    EventFact::from_events_v1(serde_json::from_value(value)?)
                }
                _ => EventFact::from_core(serde_json::from_str::<CoreEvent>(json)?),
            };
            inventory.saw_time(fact.last_seen);
            inventory.events.push(fact);
        }
        "CustomResourceDefinition" => {
            let crd: serde_json::Value = serde_json::from_str(json)?;
            let group = crd
                .pointer("/spec/group")
                .and_then(|g| g.as_str())
                .unwrap_or("");
            let plural = crd
                .pointer("/spec/names/plural")
                .and_then(|p| p.as_str())
                .unwrap_or("");
            // A snapshot with CRDs in it also tells when Polyaxon's are absent.
            let polyaxon = group == "core.polyaxon.com" || group == "polyaxon.com";
            inventory.saw_crd(polyaxon.then(|| format!("{plural}.{group}")).as_deref());
        }
        "PersistentVolumeClaim" => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory.claims.extend(Claim::from_json(&object));
        }
        "Secret" => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory
                .secrets
                .extend(crate::facts::store::SecretFact::from_json(&object));
        }
        "StorageClass" => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory
                .storage_classes
                .extend(StorageClass::from_json(&object));
        }
        // Where the cluster exposes Polyaxon, for the CLI host comparison.
        "Service" if api_version.is_none_or(|v| v == "v1") => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory
                .endpoints
                .extend(crate::facts::polyaxon_api::Endpoint::from_service(&object));
        }
        "Ingress" => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory
                .endpoints
                .extend(crate::facts::polyaxon_api::Endpoint::from_ingress(&object));
        }
        "Role" if api_version.is_none_or(|v| v.starts_with(RBAC_GROUP)) => {
            let role = serde_json::from_str(json)?;
            inventory.policy.roles.extend(RoleRecord::from_role(role));
        }
        "ClusterRole" if api_version.is_none_or(|v| v.starts_with(RBAC_GROUP)) => {
            let role = serde_json::from_str(json)?;
            inventory
                .policy
                .roles
                .extend(RoleRecord::from_cluster_role(role));
        }
        "RoleBinding" if api_version.is_none_or(|v| v.starts_with(RBAC_GROUP)) => {
            let binding = serde_json::from_str(json)?;
            inventory
                .policy
                .bindings
                .extend(BindingRecord::from_role_binding(binding));
        }
        "ClusterRoleBinding" if api_version.is_none_or(|v| v.starts_with(RBAC_GROUP)) => {
            let binding = serde_json::from_str(json)?;
            inventory
                .policy
                .bindings
                .extend(BindingRecord::from_cluster_role_binding(binding));
        }
        "ServiceAccount" if api_version.is_none_or(|v| v == "v1") => {
            let account: ObjectName = serde_json::from_str(json)?;
            if let Some(name) = account.metadata.name {
                let namespace = account
                    .metadata
                    .namespace
                    .unwrap_or_else(|| "default".into());
                inventory.service_accounts.insert((namespace, name));
            }
        }
        "ConfigMap" if api_version.is_none_or(|v| v == "v1") => {
            inventory
                .agent_configs
                .extend(AgentConfig::from_json(json)?);
        }
        "Deployment" if api_version.is_some_and(|v| v.starts_with("apps/")) => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory
                .deployments
                .extend(DeploymentFact::from_json(&object));
        }
        _ => {
            if let Some(resource) = polyaxon_resource(kind, api_version) {
                inventory.saw_crd(Some(resource));
                let object: serde_json::Value = serde_json::from_str(json)?;
                inventory
                    .operations
                    .extend(OperationFact::from_json(kind, &object));
            }
            return Ok(());
        }
    }
    inventory.kinds_seen.insert(kind.to_string());
    Ok(())
}

/// Polyaxon's own objects, in the ≤2.11 and ≥2.12 layouts (shared/polyaxon.md).
/// Their kinds clash with core Job and Service: the group tells them apart.
fn polyaxon_resource(kind: &str, api_version: Option<&str>) -> Option<&'static str> {
    let group = api_version?.split('/').next()?;
    match (group, kind) {
        ("core.polyaxon.com", "Operation") => Some("operations.core.polyaxon.com"),
        ("polyaxon.com", "Job") => Some("jobs.polyaxon.com"),
        ("polyaxon.com", "Service") => Some("services.polyaxon.com"),
        ("polyaxon.com", "Cluster") => Some("clusters.polyaxon.com"),
        ("polyaxon.com", "KfJob") => Some("kfjobs.polyaxon.com"),
        _ => None,
    }
}

fn json_problem(path: &Path, content: &str, offset: usize, error: &serde_json::Error) -> Problem {
    let (base_line, base_column) = line_column(content, offset);
    let (line, column) = if error.line() <= 1 {
        (
            base_line,
            base_column + error.column().saturating_sub(1) as u64,
        )
    } else {
        (base_line + error.line() as u64 - 1, error.column() as u64)
    };
    Problem {
        position: Position::at(path, line, column.max(1)),
        message: strip_position(&error.to_string()),
    }
}

/// serde_json appends " at line L column C" relative to the item; the
/// problem carries the position in the file instead.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

fn line_column(content: &str, offset: usize) -> (u64, u64) {
    let before = &content[..offset.min(content.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) as u64 + 1;
    (line, column)
}

/// Reads one YAML file (one or more documents) into `inventory`.
pub fn read_yaml(
    path: &Path,
    content: &str,
    inventory: &mut Inventory,
    problems: &mut Vec<Problem>,
) {
    let documents: Vec<serde_json::Value> = match serde_saphyr::from_multiple(content) {
        Ok(documents) => documents,
        Err(error) => {
            let position = match error.location() {
                Some(location) => Position::at(path, location.line(), location.column()),
                None => Position::file(path),
            };
            problems.push(Problem {
                position,
                message: crate::engine::rule::error_message(&error.to_string()),
            });
            return;
        }
    };
    for (number, mut document) in documents.into_iter().enumerate() {
        let kind = document
            .get("kind")
            .and_then(|k| k.as_str())
            .map(str::to_string);
        let api_version = document
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let items = match document.get_mut("items").map(serde_json::Value::take) {
            Some(serde_json::Value::Array(items)) => Some(items),
            _ => None,
        };
        let mut yaml_problem = |what: String, error: serde_json::Error| {
            problems.push(Problem {
                position: Position::file(path),
                message: format!("document {}{what}: {error}", number + 1),
            });
        };
        match items {
            Some(items) => {
                let list_kind = kind.as_deref().unwrap_or("List");
                let item_kind = list_kind.strip_suffix("List").filter(|k| !k.is_empty());
                if let Some(kind) = item_kind.filter(|kind| KNOWN_KINDS.contains(kind)) {
                    inventory.kinds_seen.insert(kind.to_string());
                }
                for (i, item) in items.into_iter().enumerate() {
                    let own_kind = item
                        .get("kind")
                        .and_then(|k| k.as_str())
                        .map(str::to_string);
                    let own_version = item
                        .get("apiVersion")
                        .and_then(|k| k.as_str())
                        .map(str::to_string);
                    let Some(kind) = own_kind.as_deref().or(item_kind) else {
                        continue;
                    };
                    let version = own_version.as_deref().or(api_version.as_deref());
                    let json = item.to_string();
                    if let Err(error) = ingest(kind, version, &json, inventory) {
                        yaml_problem(format!(", item {}", i + 1), error);
                    }
                }
            }
            None => {
                let Some(kind) = kind.as_deref() else {
                    continue;
                };
                let json = document.to_string();
                if let Err(error) = ingest(kind, api_version.as_deref(), &json, inventory) {
                    yaml_problem(String::new(), error);
                }
            }
        }
    }
}
