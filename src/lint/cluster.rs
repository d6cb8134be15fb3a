//! Cross-checks of a polyaxonfile against a cluster snapshot (`--snapshot`,
//! read by the same loader `pxdoctor check` uses): requests no node can
//! ever hold, a nodeSelector no node matches, volume claims and service
//! accounts that do not exist.
//!
//! PersistentVolumeClaims, ServiceAccounts and the agent's connection
//! catalog have no fact kind yet, so this module reads just their names
//! from the snapshot's files; everything else comes from node facts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::Result;
use crate::facts::NodeFact;
use crate::facts::shared::quantity::format_milli;
use crate::report::Skipped;
use crate::source::{bundle, snapshot};

use super::resources::quantity;
use super::sink::{Detail, Sink, n, t};
use super::workload::Pod;
use super::yaml::{Node, Pos};

/// What the cross-checks need from a snapshot.
#[derive(Debug, Default)]
pub struct Cluster {
    pub nodes: Vec<NodeFact>,
    /// (namespace, name); None when the snapshot holds no claims at all.
    pub claims: Option<BTreeSet<(String, String)>>,
    pub service_accounts: Option<BTreeSet<(String, String)>>,
    /// Polyaxon connection → the claim it mounts, for `volume_claim`
    /// connections of the agent's catalog (POLYAXON_AGENT_CONNECTIONS).
    pub connections: BTreeMap<String, String>,
    /// Cross-checks the snapshot could not feed.
    pub skipped: Vec<Skipped>,
}

pub fn load(path: &Path) -> Result<Cluster> {
    let inventory = snapshot::load(path)?;
    let mut cluster = Cluster {
        nodes: inventory.nodes,
        ..Cluster::default()
    };
    let files: Vec<Vec<u8>> = if path.is_dir() {
        let mut paths = Vec::new();
        walk(path, &mut paths);
        paths
            .into_iter()
            .filter_map(|p| std::fs::read(p).ok())
            .collect()
    } else {
        bundle::read(path)?
            .into_iter()
            .map(|file| file.content)
            .collect()
    };
    for content in files {
        read(&content, &mut cluster);
    }
    let missing = [
        (
            cluster.nodes.is_empty(),
            "nodes",
            "largest-node and nodeSelector checks",
        ),
        (
            cluster.claims.is_none(),
            "persistentvolumeclaims",
            "volume claim checks",
        ),
        (
            cluster.service_accounts.is_none(),
            "serviceaccounts",
            "service account checks",
        ),
    ];
    for (absent, resource, checks) in missing {
        if absent {
            cluster.skipped.push(Skipped {
                resource: resource.into(),
                reason: format!("no {resource} in the snapshot; {checks} could not run"),
            });
        }
    }
    Ok(cluster)
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => walk(&path, out),
            Ok(kind)
                if kind.is_file()
                    && matches!(
                        path.extension().and_then(|e| e.to_str()),
                        Some("json" | "yaml" | "yml")
                    ) =>
            {
                out.push(path)
            }
            _ => {}
        }
    }
}

/// Names of claims, service accounts and connections in one file. Files
/// that mention none of them are not decoded (a snapshot may hold 100k
/// pods); undecodable ones were already reported by the snapshot loader.
fn read(content: &[u8], cluster: &mut Cluster) {
    const NEEDLES: [&str; 3] = [
        "PersistentVolumeClaim",
        "ServiceAccount",
        "POLYAXON_AGENT_CONNECTIONS",
    ];
    let Ok(text) = std::str::from_utf8(content) else {
        return;
    };
    if !NEEDLES.iter().any(|needle| text.contains(needle)) {
        return;
    }
    let documents: Vec<serde_json::Value> = match serde_json::from_str(text) {
        Ok(value) => vec![value],
        Err(_) => serde_saphyr::from_multiple(text).unwrap_or_default(),
    };
    for document in documents {
        let list_kind = document["kind"].as_str().unwrap_or_default().to_string();
        match document["items"].as_array() {
            Some(items) => {
                let item_kind = list_kind.strip_suffix("List").unwrap_or_default();
                seen(item_kind, cluster);
                for item in items {
                    object(item, item_kind, cluster);
                }
            }
            None => object(&document, "", cluster),
        }
    }
}

fn seen(kind: &str, cluster: &mut Cluster) {
    match kind {
        "PersistentVolumeClaim" => {
            cluster.claims.get_or_insert_default();
        }
        "ServiceAccount" => {
            cluster.service_accounts.get_or_insert_default();
        }
        _ => {}
    }
}

fn object(item: &serde_json::Value, list_kind: &str, cluster: &mut Cluster) {
    let kind = item["kind"].as_str().unwrap_or(list_kind);
    let metadata = &item["metadata"];
    let name = metadata["name"].as_str().unwrap_or_default().to_string();
    let namespace = metadata["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    seen(kind, cluster);
    match kind {
        "PersistentVolumeClaim" => {
            cluster
                .claims
                .get_or_insert_default()
                .insert((namespace, name));
        }
        "ServiceAccount" => {
            cluster
                .service_accounts
                .get_or_insert_default()
                .insert((namespace, name));
        }
        "ConfigMap" => {
            let Some(catalog) = item["data"]["POLYAXON_AGENT_CONNECTIONS"].as_str() else {
                return;
            };
            let Ok(serde_json::Value::Array(connections)) = serde_json::from_str(catalog) else {
                return;
            };
            for connection in connections {
                let schema = ["schema", "schemaV1", "schema_"]
                    .iter()
                    .map(|key| &connection[key])
                    .find(|s| s.is_object());
                let claim = schema.and_then(|s| {
                    s["volumeClaim"]
                        .as_str()
                        .or_else(|| s["volume_claim"].as_str())
                });
                if connection["kind"].as_str() == Some("volume_claim")
                    && let (Some(name), Some(claim)) = (connection["name"].as_str(), claim)
                {
                    cluster.connections.insert(name.into(), claim.into());
                }
            }
        }
        _ => {}
    }
}

/// Runs the cross-checks on every pod; `namespace` is `-n`, used when the
/// polyaxonfile does not name one.
pub fn check(pods: &[Pod], cluster: &Cluster, namespace: Option<&str>, sink: &mut Sink) {
    for pod in pods {
        let namespace = pod.namespace.as_deref().or(namespace);
        let (candidates, selected) = placement(pod, cluster, sink);
        fit(pod, &candidates, selected, sink);
        claims(pod, cluster, namespace, sink);
        service_account(pod, cluster, namespace, sink);
    }
}

/// The nodes the pod may go to by its nodeSelector, and whether the
/// selector narrowed them; reports a selector no node matches (and then
/// judges requests against every node).
fn placement<'c>(pod: &Pod, cluster: &'c Cluster, sink: &mut Sink) -> (Vec<&'c NodeFact>, bool) {
    let all: Vec<&NodeFact> = cluster.nodes.iter().collect();
    let Some(selector) = pod.environment("nodeSelector") else {
        return (all, false);
    };
    let wanted: Vec<(String, String)> = selector
        .entries()
        .iter()
        .filter_map(|(key, value)| Some((key.name.clone(), value.text()?)))
        .collect();
    if wanted.is_empty() || all.is_empty() {
        return (all, false);
    }
    let matching: Vec<&NodeFact> = all
        .iter()
        .copied()
        .filter(|node| {
            wanted
                .iter()
                .all(|(k, v)| node.labels.get(k).is_some_and(|have| have == v))
        })
        .collect();
    if !matching.is_empty() {
        return (matching, true);
    }
    // What the nodes carry under the same keys, to show the near miss.
    let mut offered: BTreeMap<String, usize> = BTreeMap::new();
    for node in &all {
        for (key, _) in &wanted {
            if let Some(value) = node.labels.get(key) {
                *offered.entry(format!("{key}={value}")).or_default() += 1;
            }
        }
    }
    let mut details: Vec<Detail> = vec![
        ("op", t(pod.label.clone())),
        ("selector", t(pairs(&wanted))),
        ("nodes", n(all.len() as f64)),
    ];
    if !offered.is_empty() {
        let list: Vec<String> = offered
            .into_iter()
            .map(|(pair, count)| format!("{pair} ({count} node{})", plural(count)))
            .collect();
        details.push(("allowed", t(list.join(", "))));
    }
    sink.add("node_selector_matches_no_node", selector.pos, details);
    (all, false)
}

fn pairs(wanted: &[(String, String)]) -> String {
    wanted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// What the pod asks of one node, per resource, with where it is written:
/// its containers' requests summed (a limit alone stands for the request,
/// as Kubernetes defaults it), or its largest init container if larger.
fn requests(pod: &Pod) -> BTreeMap<String, (i64, Pos)> {
    let of = |container: &super::workload::Container| {
        let mut wanted: BTreeMap<String, (i64, Pos)> = BTreeMap::new();
        let requests = container.resources("requests");
        let mut all = container.resources("limits");
        all.extend(requests);
        for (resource, node) in all {
            if let Some((_, milli)) = quantity(node) {
                wanted.insert(resource, (milli, node.pos));
            }
        }
        wanted
    };
    let mut total: BTreeMap<String, (i64, Pos)> = BTreeMap::new();
    for container in &pod.containers {
        for (resource, (milli, at)) in of(container) {
            let entry = total.entry(resource).or_insert((0, at));
            entry.0 += milli;
        }
    }
    for init in &pod.inits {
        for (resource, (milli, at)) in of(init) {
            let entry = total.entry(resource).or_insert((0, at));
            if milli > entry.0 {
                *entry = (milli, at);
            }
        }
    }
    total
}

fn fit(pod: &Pod, candidates: &[&NodeFact], selected: bool, sink: &mut Sink) {
    if candidates.is_empty() {
        return;
    }
    for (resource, (wanted, at)) in requests(pod) {
        if wanted <= 0 {
            continue;
        }
        let largest = candidates
            .iter()
            .map(|node| (node.allocatable.get(&resource).copied().unwrap_or(0), node))
            // The first node by name among equals, so reports are stable.
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.name.cmp(&a.1.name)));
        let Some((most, node)) = largest else {
            continue;
        };
        if wanted <= most {
            continue;
        }
        let mut details: Vec<Detail> = vec![
            ("op", t(pod.label.clone())),
            ("resource", t(resource.clone())),
            ("request", t(format_milli(&resource, wanted))),
            ("largest", t(format_milli(&resource, most))),
            ("nodes", n(candidates.len() as f64)),
        ];
        if most > 0 {
            details.push(("largest_node", t(node.name.clone())));
        }
        if let Some(selector) = pod.environment("nodeSelector").filter(|_| selected) {
            let wanted: Vec<(String, String)> = selector
                .entries()
                .iter()
                .filter_map(|(k, v)| Some((k.name.clone(), v.text()?)))
                .collect();
            details.push(("selector", t(pairs(&wanted))));
        }
        sink.add("exceeds_largest_node", at, details);
    }
}

fn claims(pod: &Pod, cluster: &Cluster, namespace: Option<&str>, sink: &mut Sink) {
    let Some(known) = &cluster.claims else {
        return;
    };
    let mut wanted: Vec<(String, String, &Node)> = Vec::new();
    for volume in pod.all("volumes") {
        if let Some(claim) = volume
            .get("persistentVolumeClaim")
            .and_then(|c| c.get("claimName"))
            && let Some(name) = claim.text()
        {
            let volume_name = volume.str_at("name").unwrap_or_default();
            wanted.push((name, format!("volume `{volume_name}`"), claim));
        }
    }
    for connection in pod.all("connections") {
        if let Some(name) = connection.text()
            && let Some(claim) = cluster.connections.get(&name)
        {
            wanted.push((claim.clone(), format!("connection `{name}`"), connection));
        }
    }
    for (claim, via, node) in wanted {
        let exists = known
            .iter()
            .any(|(ns, name)| *name == claim && namespace.is_none_or(|want| want == ns));
        if exists {
            continue;
        }
        sink.add(
            "claim_missing",
            node.pos,
            vec![
                ("op", t(pod.label.clone())),
                ("claim", t(claim)),
                ("via", t(via)),
                (
                    "namespace",
                    t(namespace.unwrap_or("any namespace of the snapshot")),
                ),
            ],
        );
    }
}

fn service_account(pod: &Pod, cluster: &Cluster, namespace: Option<&str>, sink: &mut Sink) {
    let (Some(known), Some(node)) = (
        &cluster.service_accounts,
        pod.environment("serviceAccountName"),
    ) else {
        return;
    };
    let Some(name) = node.text() else {
        return;
    };
    let exists = known
        .iter()
        .any(|(ns, sa)| *sa == name && namespace.is_none_or(|want| want == ns));
    if !exists {
        sink.add(
            "service_account_missing",
            node.pos,
            vec![
                ("op", t(pod.label.clone())),
                ("service_account", t(name)),
                (
                    "namespace",
                    t(namespace.unwrap_or("any namespace of the snapshot")),
                ),
            ],
        );
    }
}
