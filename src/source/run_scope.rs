//! `check --run`: only what the runs asked about need, fetched by selector,
//! so that one run on a cluster of 100,000 pods is checked in about a
//! second. The facts are those the full check has for these runs (the
//! comparison in tests/run_scope.rs holds it to that, scenario by scenario):
//!
//! - the runs' pods, Jobs and Polyaxon custom resources by label,
//!   `app.kubernetes.io/managed-by=polyaxon,app.kubernetes.io/instance in
//!   (…)`, as Polyaxon itself finds them (a prefix is first resolved from
//!   the uuids of what names runs, nothing else of them decoded);
//! - events by `involvedObject.name`, one request per object (field
//!   selectors have no `in`): each pod, claim, and `plx-operation-<uuid>`
//!   (the Job and custom resource), which also finds a run whose objects are
//!   gone but whose Job's failure events remain;
//! - the claims the pods mount, by name, and the StorageClasses;
//! - the nodes the pods are on, by name; every node, and every pod already
//!   on a node (kube-scheduler's own selector), when a pod waits for the
//!   scheduler or for a claim: free capacity and a claim's other users are
//!   what the fit and claim checks weigh;
//! - the agent's ConfigMap, as the full check reads it (the store probe).
//!
//! RBAC, Deployments, Services and Ingresses are not read: no finding about
//! a run comes from them.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use tokio::task::JoinSet;

use super::cluster::{Listed, Query, list};
use super::fetch::{FetchError, Fetcher};
use super::objects;
use super::resources::{RESOURCES, Resource};
use crate::error::{Error, Result};
use crate::facts::Inventory;
use crate::facts::inventory::sieve::Sieve;
use crate::facts::workloads::run::{INSTANCE, MANAGED_BY, uuid_in_name};

/// What `--run` collected, and the full uuids it resolved to.
pub(super) struct Scoped {
    pub outcomes: Vec<Listed>,
    pub uuids: Vec<String>,
}

/// kube-scheduler's selector for the pods that hold node capacity:
/// assigned to a node and not finished (kubernetes pkg/scheduler, the
/// informer of assigned non-terminal pods).
const ON_NODES: &str = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed";

pub(super) async fn collect(
    fetcher: &Arc<Fetcher>,
    scopes: &[Option<String>],
    polyaxon: &[&'static Resource],
    wanted: &[String],
    early: Vec<Listed>,
    sieve: &Sieve,
) -> Result<Scoped> {
    let mut outcomes = early;
    let managed = format!("{MANAGED_BY}=polyaxon");
    let uuids = resolve(fetcher, scopes, polyaxon, wanted, &managed).await?;

    // The runs' objects, by label, and the agent's ConfigMap where
    // namespace discovery did not read it.
    let mut batch = Batch::new(fetcher, sieve);
    let runs = Query::Labels(selector(&managed, uuids.iter()));
    for scope in scopes {
        let listed = outcomes
            .iter()
            .any(|l| l.resource.kind == "ConfigMap" && &l.namespace == scope);
        if !listed {
            batch.list(resource("configmaps"), scope.clone(), Query::All);
        }
        // A service run is a Deployment: its conditions keep what its
        // ReplicaSet's events said.
        for &owned in polyaxon
            .iter()
            .chain([resource("jobs"), resource("pods"), resource("deployments")].iter())
        {
            batch.list(owned, scope.clone(), runs.clone());
        }
    }
    let first = batch.finish().await;
    let needs = Needs::of(&first, scopes, &uuids);
    outcomes.extend(first);

    // Last: what the pods call for.
    let mut batch = Batch::new(fetcher, sieve);
    for (namespace, name) in &needs.event_objects {
        let query = Query::Fields(format!("involvedObject.name={name}"));
        batch.list(resource("events"), namespace.clone(), query);
    }
    for (namespace, claim) in &needs.claims {
        batch.get(
            resource("persistentvolumeclaims"),
            Some(namespace.clone()),
            claim,
        );
    }
    if !needs.claims.is_empty() {
        batch.list(resource("storageclasses"), None, Query::All);
    }
    if needs.every_node {
        batch.list(resource("nodes"), None, Query::All);
    } else {
        for node in &needs.nodes {
            batch.get(resource("nodes"), None, node);
        }
    }
    if needs.node_load {
        for scope in scopes {
            let query = Query::Fields(ON_NODES.to_string());
            batch.list(resource("pods"), scope.clone(), query);
        }
    }
    for mut listed in batch.finish().await {
        // The runs' own pods are already there, from their label.
        listed.inventory.pods.retain(|pod| {
            !pod.run
                .as_ref()
                .is_some_and(|run| uuids.contains(&run.uuid))
        });
        outcomes.push(listed);
    }
    Ok(Scoped {
        outcomes,
        uuids: uuids.into_iter().collect(),
    })
}

/// What the runs' pods call for beyond themselves.
#[derive(Default)]
struct Needs {
    /// (namespace or None for every namespace, object name).
    event_objects: BTreeSet<(Option<String>, String)>,
    /// (namespace, claim).
    claims: BTreeSet<(String, String)>,
    nodes: BTreeSet<String>,
    /// A pod waits for the scheduler: every node.
    every_node: bool,
    /// A pod waits for the scheduler or for a claim: the pods on nodes.
    node_load: bool,
}

impl Needs {
    fn of(listed: &[Listed], scopes: &[Option<String>], uuids: &BTreeSet<String>) -> Needs {
        let mut needs = Needs::default();
        // The Job's and custom resource's events are where the run's
        // objects are; a run with none left is looked for everywhere.
        let mut homes: BTreeSet<(&str, &str)> = BTreeSet::new();
        for inventory in listed.iter().map(|l| &l.inventory) {
            let pods = inventory
                .pods
                .iter()
                .map(|p| (p.run.as_deref(), &p.namespace));
            let jobs = inventory
                .jobs
                .iter()
                .map(|j| (j.run.as_ref(), &j.namespace));
            let operations = inventory
                .operations
                .iter()
                .map(|o| (o.run.as_ref(), &o.namespace));
            for (run, namespace) in pods.chain(jobs).chain(operations) {
                if let Some(run) = run.filter(|run| uuids.contains(&run.uuid)) {
                    homes.insert((run.uuid.as_str(), namespace.as_str()));
                }
            }
        }
        for uuid in uuids {
            let name = format!("plx-operation-{uuid}");
            let mut found = homes.iter().filter(|(u, _)| u == uuid).peekable();
            if found.peek().is_none() {
                for scope in scopes {
                    needs.event_objects.insert((scope.clone(), name.clone()));
                }
            }
            for (_, namespace) in found {
                needs
                    .event_objects
                    .insert((Some(namespace.to_string()), name.clone()));
            }
        }
        for inventory in listed.iter().map(|l| &l.inventory) {
            for pod in &inventory.pods {
                needs
                    .event_objects
                    .insert((Some(pod.namespace.clone()), pod.name.clone()));
                for claim in &pod.claims {
                    needs
                        .event_objects
                        .insert((Some(pod.namespace.clone()), claim.clone()));
                    needs.claims.insert((pod.namespace.clone(), claim.clone()));
                }
                needs.nodes.extend(pod.node_name.clone());
                let waiting = pod.is_unscheduled_pending();
                needs.every_node |= waiting;
                needs.node_load |= waiting || (pod.phase == "Pending" && !pod.claims.is_empty());
            }
            for job in &inventory.jobs {
                needs
                    .event_objects
                    .insert((Some(job.namespace.clone()), job.name.clone()));
            }
            for operation in &inventory.operations {
                needs
                    .event_objects
                    .insert((Some(operation.namespace.clone()), operation.name.clone()));
            }
        }
        // A name asked for in every namespace needs no namespace of its own.
        let everywhere: BTreeSet<String> = needs
            .event_objects
            .iter()
            .filter(|(namespace, _)| namespace.is_none())
            .map(|(_, name)| name.clone())
            .collect();
        needs
            .event_objects
            .retain(|(namespace, name)| namespace.is_none() || !everywhere.contains(name));
        needs
    }
}

/// Concurrent requests of one step.
struct Batch {
    fetcher: Arc<Fetcher>,
    sieve: Sieve,
    jobs: JoinSet<Listed>,
}

impl Batch {
    fn new(fetcher: &Arc<Fetcher>, sieve: &Sieve) -> Batch {
        Batch {
            fetcher: fetcher.clone(),
            sieve: sieve.clone(),
            jobs: JoinSet::new(),
        }
    }

    fn list(&mut self, resource: &'static Resource, namespace: Option<String>, query: Query) {
        let fetcher = self.fetcher.clone();
        let sieve = self.sieve.clone();
        self.jobs
            .spawn(async move { list(&fetcher, resource, namespace, query, false, sieve).await });
    }

    fn get(&mut self, resource: &'static Resource, namespace: Option<String>, name: &str) {
        let fetcher = self.fetcher.clone();
        let sieve = self.sieve.clone();
        let name = name.to_string();
        self.jobs
            .spawn(async move { get(&fetcher, resource, namespace, &name, sieve).await });
    }

    async fn finish(mut self) -> Vec<Listed> {
        let mut done = Vec::new();
        while let Some(joined) = self.jobs.join_next().await {
            if let Ok(listed) = joined {
                done.push(listed);
            }
        }
        done
    }
}

/// One object by name; a 404 is an answer (the object does not exist), as
/// its absence from a list would be.
async fn get(
    fetcher: &Fetcher,
    resource: &'static Resource,
    namespace: Option<String>,
    name: &str,
    sieve: Sieve,
) -> Listed {
    let path = format!("{}/{name}", resource.path(namespace.as_deref()));
    fetcher.explain(format!("{} {name}, by name", resource.kind));
    let mut inventory = Inventory::sieved(sieve);
    let mut problems = Vec::new();
    let result = match fetcher.get(&path).await {
        Ok(body) => {
            let shown = PathBuf::from(format!("GET {path}"));
            objects::read_json(&shown, &body, &mut inventory, &mut problems);
            Ok(())
        }
        Err(FetchError::NotFound(_)) => Ok(()),
        Err(error) => Err(error),
    };
    inventory.kinds_seen.insert(resource.kind.to_string());
    Listed {
        resource,
        namespace,
        verb: "get",
        result,
        inventory,
        raw: Vec::new(),
        problems,
    }
}

/// The full uuids of the runs asked for. A prefix is looked up, by each
/// list's uuids only, in what names runs, cheapest first: Polyaxon's custom
/// resources (one per live run), its Jobs, its service runs' Deployments,
/// its pods' labels, then the Jobs' events (a run whose objects are gone,
/// whose Job's events remain).
async fn resolve(
    fetcher: &Fetcher,
    scopes: &[Option<String>],
    polyaxon: &[&'static Resource],
    wanted: &[String],
    managed: &str,
) -> Result<BTreeSet<String>> {
    let (full, prefixes): (Vec<&String>, Vec<&String>) =
        wanted.iter().partition(|want| is_full_uuid(want));
    let mut uuids: BTreeSet<String> = full.into_iter().cloned().collect();
    if prefixes.is_empty() {
        return Ok(uuids);
    }
    let labelled = Query::Labels(managed.to_string());
    let sources = polyaxon
        .iter()
        .map(|&custom| (custom, labelled.clone()))
        .chain([
            (resource("jobs"), labelled.clone()),
            (resource("deployments"), labelled.clone()),
            (resource("pods"), labelled.clone()),
            (
                resource("events"),
                Query::Fields("involvedObject.kind=Job".to_string()),
            ),
        ]);
    let mut named = BTreeSet::new();
    for (resource, query) in sources {
        for scope in scopes {
            named.extend(uuids_listed(fetcher, resource, scope.as_deref(), &query).await?);
        }
        let all_named = prefixes
            .iter()
            .all(|want| named.iter().any(|uuid| uuid.starts_with(want.as_str())));
        if all_named {
            break;
        }
    }
    for want in prefixes {
        let matched: Vec<&String> = named
            .iter()
            .filter(|u| u.starts_with(want.as_str()))
            .collect();
        if matched.is_empty() {
            // Kubernetes may have forgotten the run: Polyaxon's records
            // resolve the prefix, or the judge says where nothing was found.
            uuids.insert(want.clone());
            continue;
        }
        uuids.extend(matched.into_iter().cloned());
    }
    Ok(uuids)
}

/// The run uuids of a list's items: a pod's instance label, an event's
/// `plx-operation-<uuid>` object.
async fn uuids_listed(
    fetcher: &Fetcher,
    resource: &Resource,
    scope: Option<&str>,
    query: &Query,
) -> Result<BTreeSet<String>> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        items: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        metadata: Metadata,
        #[serde(default, rename = "involvedObject")]
        involved: Option<Involved>,
    }
    #[derive(Deserialize, Default)]
    struct Metadata {
        #[serde(default)]
        name: String,
        #[serde(default)]
        labels: Option<std::collections::BTreeMap<String, String>>,
    }
    #[derive(Deserialize)]
    struct Involved {
        #[serde(default)]
        name: String,
    }
    let scope_words = super::cluster::scope_words(scope);
    fetcher.explain(format!(
        "{} {scope_words}, {}: their runs' uuids only, to resolve --run",
        resource.plural,
        query.words()
    ));
    let path = format!("{}?{}", resource.path(scope), query.parameter());
    let mut found = BTreeSet::new();
    fetcher
        .list(&path, |listing| match listing {
            super::fetch::Listing::Page(body) => {
                let Ok(page) = serde_json::from_str::<Page>(body) else {
                    return;
                };
                for item in page.items {
                    let labelled = item
                        .metadata
                        .labels
                        .and_then(|mut labels| labels.remove(INSTANCE));
                    let object = item.involved.map_or(item.metadata.name, |o| o.name);
                    let named = uuid_in_name(&object).map(str::to_string);
                    found.extend(labelled.or(named));
                }
            }
            super::fetch::Listing::Restart => found.clear(),
        })
        .await
        .map_err(|error| {
            Error::Collection(format!(
                "--run: {} could not be listed {scope_words} to find the run: {}",
                resource.plural,
                error.describe()
            ))
        })?;
    Ok(found)
}

/// `managed-by=polyaxon,instance in (a,b)`: several runs in one request.
fn selector<'a>(managed: &str, uuids: impl Iterator<Item = &'a String>) -> String {
    let uuids: Vec<&str> = uuids.map(String::as_str).collect();
    format!("{managed},{INSTANCE} in ({})", uuids.join(","))
}

/// A Polyaxon run uuid in full: 32 hex digits (`uuid4().hex`).
fn is_full_uuid(text: &str) -> bool {
    text.len() == 32 && text.chars().all(|c| c.is_ascii_hexdigit())
}

fn resource(plural: &str) -> &'static Resource {
    RESOURCES
        .iter()
        .find(|r| r.plural == plural)
        .expect("a resource of the built-in list")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resources_it_names_are_the_built_in_ones() {
        for plural in [
            "configmaps",
            "jobs",
            "pods",
            "events",
            "persistentvolumeclaims",
            "storageclasses",
            "nodes",
        ] {
            assert_eq!(resource(plural).plural, plural);
        }
        assert_eq!(resource("jobs").group, "batch");
    }

    #[test]
    fn several_runs_share_one_selector() {
        let uuids = ["a".repeat(32), "b".repeat(32)];
        assert_eq!(
            selector("app.kubernetes.io/managed-by=polyaxon", uuids.iter()),
            format!(
                "app.kubernetes.io/managed-by=polyaxon,app.kubernetes.io/instance in ({},{})",
                uuids[0], uuids[1]
            )
        );
    }

    #[test]
    fn only_32_hex_digits_are_a_full_uuid() {
        assert!(is_full_uuid("923a7369c4e14f0e9f4b5ed0a9a7c3d1"));
        assert!(!is_full_uuid("923a7369"));
        assert!(!is_full_uuid("923a7369c4e14f0e9f4b5ed0a9a7c3dz"));
    }
}
