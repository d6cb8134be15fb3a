//! What was collected: the [`Inventory`] every source fills, object by
//! object, before anything is joined.

mod join;
mod joined;
pub mod sieve;

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::facts::artifacts::{agent_config, polyaxon_api, probe, store};
use crate::facts::shared::name;
use crate::facts::workloads::{deployment, job, operation};
use crate::facts::{
    CollectionGap, EventFact, LogTail, NodeFact, PodFact, access::rbac, storage::claim,
};

pub use join::{DEFAULT_GRACE_SECONDS, is_scheduler_verdict};
pub use joined::Facts;

/// Facts as collected, before they are joined.
#[derive(Debug, Default, Clone)]
pub struct Inventory {
    pub pods: Vec<PodFact>,
    pub events: Vec<EventFact>,
    pub nodes: Vec<NodeFact>,
    pub logs: Vec<LogTail>,
    pub gaps: Vec<CollectionGap>,
    pub operations: Vec<operation::OperationFact>,
    /// The runs' Kubernetes Jobs (batch/v1).
    pub jobs: Vec<job::JobFact>,
    pub deployments: Vec<deployment::DeploymentFact>,
    pub claims: Vec<claim::Claim>,
    pub storage_classes: Vec<claim::StorageClass>,
    /// Secrets (key names; values of the store's credential keys only).
    pub secrets: Vec<store::SecretFact>,
    /// Secrets the caller may not read, as "namespace/name".
    pub secrets_unreadable: BTreeSet<String>,
    /// The artifacts-store probe's steps, live or as recorded.
    pub probes: Vec<probe::ProbeStep>,
    /// Kinds the source delivered (even when empty), e.g. "Pod", "Node".
    pub kinds_seen: BTreeSet<String>,
    /// The newest timestamp in the data: "now" for a snapshot.
    pub newest: Option<Timestamp>,
    /// When a bundle was collected: "now" for its findings.
    pub collected_at: Option<Timestamp>,
    /// Polyaxon's custom resources, when the source could tell.
    pub polyaxon_crds: Option<BTreeSet<String>>,
    /// What the Polyaxon API said to the CLI's credentials (live probe or
    /// a snapshot's probes/polyaxon-api.json); None when not probed.
    pub polyaxon_api: Option<polyaxon_api::ApiProbe>,
    /// Polyaxon's Ingresses and gateway/api Services.
    pub endpoints: Vec<polyaxon_api::Endpoint>,
    /// Roles, ClusterRoles and their bindings.
    pub policy: rbac::Policy,
    /// ServiceAccounts by (namespace, name).
    pub service_accounts: BTreeSet<(String, String)>,
    /// The Polyaxon agent's ConfigMaps.
    pub agent_configs: Vec<agent_config::AgentConfig>,
    /// The namespaces whose namespaced objects were read; None: every one
    /// (a snapshot, or -A).
    pub scope: Option<BTreeSet<String>>,
    /// Which events are kept as they are decoded (not merged: each
    /// inventory that is filled says its own).
    pub sieve: sieve::Sieve,
    /// Snapshot files not read, each with why (said with `-v`, and when
    /// nothing at all could be read).
    pub skipped_files: Vec<String>,
    /// How long a run may take to start before it is stuck (None: the
    /// default, 5 minutes).
    pub grace_seconds: Option<i64>,
    /// Namespaces of every event decoded, kept or not.
    pub event_namespaces: BTreeSet<name::Name>,
    /// Runs as Polyaxon's records tell them (check --run, --since).
    pub records: Vec<crate::facts::records::RunRecordFact>,
}

impl Inventory {
    /// An empty inventory that keeps only the events `sieve` keeps.
    pub fn sieved(sieve: sieve::Sieve) -> Inventory {
        Inventory {
            sieve,
            ..Inventory::default()
        }
    }

    /// Records a decoded event; keeps it if the sieve does.
    pub fn add_event(&mut self, event: EventFact) {
        self.saw_time(event.last_seen);
        if !self.event_namespaces.contains(&*event.namespace) {
            self.event_namespaces.insert(event.namespace.clone());
        }
        if self.sieve.keeps(&event) {
            self.events.push(event);
        }
    }

    pub fn merge(&mut self, other: Inventory) {
        // Merged a few thousand items at a time: growth by an eighth, not
        // by doubling, for the big vectors (half a million events), so at
        // most an eighth of them is unused.
        grow(&mut self.pods, other.pods.len());
        grow(&mut self.events, other.events.len());
        self.pods.extend(other.pods);
        self.events.extend(other.events);
        self.nodes.extend(other.nodes);
        self.logs.extend(other.logs);
        self.gaps.extend(other.gaps);
        self.operations.extend(other.operations);
        self.jobs.extend(other.jobs);
        self.deployments.extend(other.deployments);
        self.claims.extend(other.claims);
        self.storage_classes.extend(other.storage_classes);
        self.secrets.extend(other.secrets);
        self.secrets_unreadable.extend(other.secrets_unreadable);
        self.probes.extend(other.probes);
        self.polyaxon_api = self.polyaxon_api.take().or(other.polyaxon_api);
        self.endpoints.extend(other.endpoints);
        self.kinds_seen.extend(other.kinds_seen);
        self.saw_time(other.newest);
        self.collected_at = self.collected_at.or(other.collected_at);
        self.grace_seconds = self.grace_seconds.or(other.grace_seconds);
        self.skipped_files.extend(other.skipped_files);
        if let Some(crds) = other.polyaxon_crds {
            self.polyaxon_crds.get_or_insert_default().extend(crds);
        }
        self.policy.merge(other.policy);
        self.service_accounts.extend(other.service_accounts);
        self.agent_configs.extend(other.agent_configs);
        self.event_namespaces.extend(other.event_namespaces);
        self.records.extend(other.records);
        if let Some(scope) = other.scope {
            self.scope.get_or_insert_default().extend(scope);
        }
    }

    /// Records that a Polyaxon custom resource exists (or, with None, only
    /// that the source looked).
    pub fn saw_crd(&mut self, resource: Option<&str>) {
        let crds = self.polyaxon_crds.get_or_insert_default();
        if let Some(resource) = resource {
            crds.insert(resource.to_string());
        }
    }

    pub fn saw_time(&mut self, time: Option<Timestamp>) {
        if let Some(time) = time {
            self.newest = Some(self.newest.map_or(time, |newest| newest.max(time)));
        }
    }

    /// Keeps only the namespaced facts of these namespaces.
    pub fn retain_namespaces(&mut self, namespaces: &BTreeSet<String>) {
        self.pods.retain(|pod| namespaces.contains(&pod.namespace));
        self.events.retain(|event| {
            event.namespace.is_empty() || namespaces.contains(event.namespace.as_str())
        });
        self.event_namespaces
            .retain(|namespace| namespaces.contains(namespace.as_str()));
        self.logs.retain(|log| namespaces.contains(&log.namespace));
        self.jobs.retain(|job| namespaces.contains(&job.namespace));
        // A run's custom resource lives with its pods: checked where they are.
        self.operations
            .retain(|operation| namespaces.contains(&operation.namespace));
        // RBAC objects stay (ClusterRoleBindings grant everywhere); only
        // these namespaces are judged.
        self.scope = Some(match self.scope.take() {
            Some(read) => read.intersection(namespaces).cloned().collect(),
            None => namespaces.clone(),
        });
    }
}

/// Makes room for `more` items, growing by at least an eighth (so that
/// many small merges still copy each item a bounded number of times).
fn grow<T>(items: &mut Vec<T>, more: usize) {
    let needed = items.len() + more;
    if needed > items.capacity() {
        items.reserve_exact((needed - items.len()).max(items.capacity() / 8));
    }
}
