//! Facts: small typed records derived from raw Kubernetes objects.
//!
//! A source fills an [`Inventory`] object by object (raw objects are dropped
//! as soon as their record exists). [`Inventory::correlate`] then joins them
//! once — events to pods and runs, pods to nodes, scheduler verdicts to
//! causes — so rules only ever look at one record at a time.

pub mod agent_config;
pub mod claim;
pub mod container;
pub mod deployment;
pub mod duration;
pub mod event;
pub mod fit;
pub mod fit_fact;
pub mod forbidden;
pub mod gap;
pub mod kinds;
pub mod lint;
pub mod log;
pub mod name;
pub mod needs;
pub mod node;
pub mod operation;
pub mod permission;
pub mod platform;
pub mod pod;
pub mod polyaxon_api;
pub mod probe;
pub mod quantity;
pub mod rbac;
pub mod run;
pub mod scheduling;
pub mod sieve;
pub mod store;
pub mod subject;
pub mod value;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::Timestamp;

pub use event::EventFact;
pub use gap::CollectionGap;
pub use kinds::FactKind;
pub use log::LogTail;
pub use node::{NodeConditionFact, NodeFact};
pub use pod::PodFact;
pub use scheduling::SchedulingFact;
pub use subject::{Evidence, Location, RunRef, Subject};
pub use value::{FieldSource, Value};

/// Resource name → amount in milli-units.
pub type Resources = BTreeMap<String, i64>;

/// What every fact offers the engine besides its fields.
pub trait Fact: FieldSource {
    fn subject(&self) -> Subject;
    fn evidence(&self) -> Vec<Evidence>;
    /// Where in a file the fact comes from, when it comes from a file.
    fn location(&self) -> Option<Location> {
        None
    }
}

/// Facts as collected, before they are joined.
#[derive(Debug, Default)]
pub struct Inventory {
    pub pods: Vec<PodFact>,
    pub events: Vec<EventFact>,
    pub nodes: Vec<NodeFact>,
    pub logs: Vec<LogTail>,
    pub gaps: Vec<CollectionGap>,
    pub operations: Vec<operation::OperationFact>,
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
    /// Namespaces of every event decoded, kept or not.
    pub event_namespaces: BTreeSet<name::Name>,
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
        if let Some(crds) = other.polyaxon_crds {
            self.polyaxon_crds.get_or_insert_default().extend(crds);
        }
        self.policy.merge(other.policy);
        self.service_accounts.extend(other.service_accounts);
        self.agent_configs.extend(other.agent_configs);
        self.event_namespaces.extend(other.event_namespaces);
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
        // RBAC objects stay (ClusterRoleBindings grant everywhere); only
        // these namespaces are judged.
        self.scope = Some(match self.scope.take() {
            Some(read) => read.intersection(namespaces).cloned().collect(),
            None => namespaces.clone(),
        });
    }

    /// Joins the facts, with `now` as the time pending durations run to.
    pub fn correlate(mut self, now: Timestamp) -> Facts {
        let pod_index: HashMap<(&str, &str), usize> = self
            .pods
            .iter()
            .enumerate()
            .map(|(i, pod)| ((pod.namespace.as_str(), pod.name.as_str()), i))
            .collect();

        // Newest FailedScheduling event per pod; older ones are history.
        let mut verdicts: HashMap<usize, usize> = HashMap::new();
        let mut scheduled_by_event: Vec<bool> = vec![false; self.pods.len()];
        let mut orphan_verdicts: Vec<usize> = Vec::new();
        // One shared copy of a run per pod: a run pod has a dozen events,
        // and half a million events each holding their own was 100 MiB.
        let pod_runs: Vec<Option<Arc<RunRef>>> =
            self.pods.iter().map(|pod| pod.run.clone()).collect();
        let mut event_runs: Vec<Option<Arc<RunRef>>> = vec![None; self.events.len()];
        let mut event_pending: Vec<bool> = vec![false; self.events.len()];
        let mut event_waiting: Vec<Option<Option<Timestamp>>> = vec![None; self.events.len()];
        let runs_by_uuid: HashMap<&str, &Arc<RunRef>> = pod_runs
            .iter()
            .flatten()
            .map(|run| (run.uuid.as_str(), run))
            .collect();
        for (e, event) in self.events.iter().enumerate() {
            if event.involved_kind != "Pod" {
                // Jobs and custom resources of a run are named plx-operation-<uuid>.
                if let Some(uuid) = run::uuid_in_name(&event.involved_name) {
                    event_runs[e] = Some(
                        runs_by_uuid
                            .get(uuid)
                            .map_or_else(|| Arc::new(RunRef::bare(uuid)), |run| (*run).clone()),
                    );
                }
                continue;
            }
            let pod = pod_index
                .get(&(event.namespace.as_str(), event.involved_name.as_str()))
                .copied();
            if let Some(p) = pod {
                event_runs[e] = pod_runs[p].clone();
                event_pending[e] = self.pods[p].is_unscheduled_pending();
                if self.pods[p].phase == "Pending" {
                    event_waiting[e] = Some(self.pods[p].created);
                }
            }
            if !is_scheduler_verdict(event) {
                continue;
            }
            match pod {
                Some(p) => {
                    scheduled_by_event[p] = true;
                    let newer = verdicts
                        .get(&p)
                        .is_none_or(|&old| self.events[old].last_seen <= event.last_seen);
                    if newer {
                        verdicts.insert(p, e);
                    }
                }
                // Without pods (not collected), the event alone still tells.
                None if !self.kinds_seen.contains("Pod") => orphan_verdicts.push(e),
                None => {}
            }
        }
        drop(runs_by_uuid);
        let waiting = event_pending.into_iter().zip(event_waiting);
        for ((event, run), (pending, waiting)) in
            self.events.iter_mut().zip(event_runs).zip(waiting)
        {
            event.run = run;
            event.pod_pending = pending;
            event.pod_waiting = waiting.is_some();
            event.pending_seconds = waiting
                .flatten()
                .map(|created| (now - created).get_seconds());
        }
        drop(pod_index);

        let mut nodes = std::mem::take(&mut self.nodes);
        let node_index: HashMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| (node.name.clone(), i))
            .collect();
        for pod in self.pods.iter().filter(|pod| pod.is_active()) {
            let Some(&n) = pod.node_name.as_ref().and_then(|name| node_index.get(name)) else {
                continue;
            };
            for (resource, milli) in pod.requests.iter() {
                *nodes[n].requested.entry(resource.clone()).or_default() += milli;
            }
            *nodes[n].requested.entry("pods".into()).or_default() += 1000;
        }

        let mut scheduling = Vec::new();
        let mut fits = Vec::new();
        let by_resource = scheduling::Nodes::new(&nodes);
        let table = fit::NodeTable::new(
            &nodes,
            self.pods.iter().filter(|pod| pod.is_unscheduled_pending()),
        );
        for (p, pod) in self.pods.iter_mut().enumerate() {
            if pod.phase == "Pending" {
                pod.pending_seconds = pod.created.map(|created| (now - created).get_seconds());
            }
            let condition_message = pod
                .scheduled
                .as_ref()
                .filter(|c| c.status == "False" && c.reason.as_deref() == Some("Unschedulable"))
                .and_then(|c| c.message.clone())
                .filter(|message| !message.trim().is_empty());
            pod.has_scheduling_event = scheduled_by_event[p] || condition_message.is_some();
            if !pod.is_unscheduled_pending() {
                continue;
            }
            let verdict_message = verdicts
                .get(&p)
                .map(|&e| self.events[e].message.clone())
                .or(condition_message.clone());
            let has_verdict = verdict_message.is_some();
            let verdict_checkable = verdict_message.as_deref().is_some_and(|message| {
                scheduling::parse(message)
                    .segments
                    .iter()
                    .all(|segment| fit_fact::fit_models(&segment.text))
            });
            let fit = (!nodes.is_empty() && pod.scheduling_gates.is_empty())
                .then(|| fit::fit(pod, &table));
            if let Some(&e) = verdicts.get(&p) {
                let event = &self.events[e];
                scheduling.extend(SchedulingFact::from_verdict(
                    pod,
                    &by_resource,
                    &event.message,
                    scheduling::Verdict::Event(event.evidence()),
                ));
            } else if let Some(message) = condition_message {
                let evidence = Evidence::new("Condition")
                    .name("PodScheduled=False")
                    .reason("Unschedulable")
                    .message(message.clone());
                scheduling.extend(SchedulingFact::from_verdict(
                    pod,
                    &by_resource,
                    &message,
                    scheduling::Verdict::Condition(evidence),
                ));
            } else if let Some(fit) = fit.as_ref().filter(|f| f.fitting_count() == 0) {
                // No word from the scheduler (expired events, a scheduler
                // that is down): pxdoctor's own check says why, once the
                // scheduler has had time to try.
                if pod.pending_seconds.is_none_or(|s| s >= FIT_AFTER_SECONDS) {
                    let evidence = Evidence::new("Fit")
                        .name("pxdoctor fit check")
                        .message(fit.message.clone());
                    scheduling.extend(SchedulingFact::from_verdict(
                        pod,
                        &by_resource,
                        &fit.message,
                        scheduling::Verdict::Fit(evidence),
                    ));
                }
            }
            if let Some(fit) = fit {
                fits.push(fit_fact::FitFact {
                    subject: pod.subject(),
                    pending_seconds: pod.pending_seconds,
                    fit,
                    has_verdict,
                    verdict_checkable,
                });
            }
        }
        drop(table);
        for e in orphan_verdicts {
            let event = &self.events[e];
            let stand_in = PodFact {
                namespace: event.namespace.to_string(),
                name: event.involved_name.clone(),
                phase: "Pending".into(),
                scheduler_name: "default-scheduler".into(),
                has_scheduling_event: true,
                ..PodFact::default()
            };
            scheduling.extend(SchedulingFact::from_verdict(
                &stand_in,
                &by_resource,
                &event.message,
                scheduling::Verdict::Event(event.evidence()),
            ));
        }

        let mut runs_by_pod: HashMap<(&str, &str), &RunRef> = HashMap::new();
        for pod in &self.pods {
            if let Some(run) = &pod.run {
                runs_by_pod.insert((&pod.namespace, &pod.name), run);
            }
        }
        let log_runs: Vec<Option<RunRef>> = self
            .logs
            .iter()
            .map(|log| {
                runs_by_pod
                    .get(&(log.namespace.as_str(), log.pod.as_str()))
                    .map(|r| (*r).clone())
            })
            .collect();
        drop(runs_by_pod);
        for (log, run) in self.logs.iter_mut().zip(log_runs) {
            log.run = run;
        }

        let mut containers: Vec<container::ContainerFact> = Vec::new();
        for pod in self.pods.iter_mut() {
            for mut fact in std::mem::take(&mut pod.unwell) {
                fact.run = pod.run.as_deref().cloned();
                containers.push(fact);
            }
        }
        let tails: HashMap<(&str, &str, &str), &LogTail> = self
            .logs
            .iter()
            .map(|log| {
                (
                    (
                        log.namespace.as_str(),
                        log.pod.as_str(),
                        log.container.as_str(),
                    ),
                    log,
                )
            })
            .collect();
        for fact in containers.iter_mut() {
            if let Some(tail) = tails.get(&(
                fact.namespace.as_str(),
                fact.pod.as_str(),
                fact.container.as_str(),
            )) {
                let start = tail.lines.len().saturating_sub(10);
                fact.log_tail = tail.lines[start..].to_vec();
            }
        }
        drop(tails);

        let claims = self.join_claims();
        let stores = self.store_check().facts;
        let refusals = self.refusals();
        let permissions = self.permissions();

        let node_conditions = nodes
            .iter()
            .flat_map(|node| node.conditions.iter().cloned())
            .collect();
        let platform = platform::PlatformFact {
            crds: self.polyaxon_crds.clone(),
            run_pods: self.pods.iter().filter(|p| p.run.is_some()).count(),
            platform_pods: self
                .pods
                .iter()
                .filter(|p| {
                    p.run.is_none()
                        && p.component
                            .as_deref()
                            .is_some_and(|c| c.starts_with("polyaxon-"))
                })
                .count(),
        };
        let run_pods: BTreeSet<&str> = self
            .pods
            .iter()
            .filter_map(|pod| pod.run.as_ref().map(|run| run.uuid.as_str()))
            .collect();
        for operation in self.operations.iter_mut() {
            operation.has_pods = operation
                .run
                .as_ref()
                .is_some_and(|run| run_pods.contains(run.uuid.as_str()));
            operation.age_seconds = operation
                .created
                .map(|created| (now - created).get_seconds());
        }
        drop(run_pods);
        let mut endpoints = std::mem::take(&mut self.endpoints);
        endpoints.sort();
        endpoints.dedup();
        let polyaxon_api = self
            .polyaxon_api
            .take()
            .map(|probe| polyaxon_api::PolyaxonApiFact { probe, endpoints })
            .into_iter()
            .collect();
        // Runs seen anywhere: by their pods, or only by their Job's events.
        let runs = self
            .pods
            .iter()
            .filter_map(|pod| pod.run.as_deref())
            .chain(self.events.iter().filter_map(|event| event.run.as_deref()))
            .chain(
                self.operations
                    .iter()
                    .filter_map(|operation| operation.run.as_ref()),
            )
            .map(|run| run.uuid.clone())
            .collect();
        Facts {
            now,
            pods: self.pods,
            events: self.events,
            nodes,
            node_conditions,
            scheduling,
            claims,
            refusals,
            permissions,
            fits,
            containers,
            logs: self.logs,
            gaps: self.gaps,
            operations: self.operations,
            deployments: self.deployments,
            platform,
            stores,
            probes: self.probes,
            lint: Vec::new(),
            polyaxon_api,
            runs,
        }
    }
}

impl Inventory {
    /// The artifacts store's configuration, checked: its problems and what
    /// can be probed.
    pub fn store_check(&self) -> store::Checked {
        let run_pods: Vec<(String, String, Vec<String>)> = self
            .pods
            .iter()
            .filter(|pod| pod.run.is_some() && pod.is_active())
            .map(|pod| {
                (
                    pod.namespace.clone(),
                    pod.name.clone(),
                    pod.secret_refs.clone(),
                )
            })
            .collect();
        store::check(
            &self.agent_configs,
            &self.secrets,
            self.kinds_seen.contains("Secret"),
            &self.secrets_unreadable,
            &run_pods,
        )
    }

    /// What Polyaxon's service accounts may not do where its runs go.
    fn permissions(&self) -> Vec<permission::PermissionFact> {
        let run_namespaces: BTreeSet<String> = self
            .pods
            .iter()
            .filter(|pod| pod.run.is_some())
            .map(|pod| pod.namespace.clone())
            .chain(self.operations.iter().map(|op| op.namespace.clone()))
            .collect();
        let crds = self.polyaxon_crds.clone().unwrap_or_default();
        permission::Inputs {
            policy: &self.policy,
            kinds_seen: &self.kinds_seen,
            gaps: &self.gaps,
            scope: self.scope.as_ref(),
            deployments: &self.deployments,
            configs: &self.agent_configs,
            service_accounts: &self.service_accounts,
            run_namespaces: &run_namespaces,
            crds: &crds,
        }
        .evaluate()
    }

    /// RBAC refusals in events, log tails and the operator's conditions.
    /// Call after events, logs and operations know their runs.
    fn refusals(&self) -> Vec<forbidden::ForbiddenFact> {
        let mut facts = Vec::new();
        let mut seen = BTreeSet::new();
        let mut add = |subject: Subject, source: &str, message: &str| {
            if !forbidden::may_hold(message) {
                return;
            }
            if let Some(refusal) = forbidden::parse(message) {
                // The same refusal logged a hundred times is one fact.
                if seen.insert((
                    subject.clone(),
                    refusal.user.clone(),
                    refusal.verb.clone(),
                    refusal.resource.clone(),
                    refusal.namespace.clone(),
                )) {
                    facts.push(forbidden::ForbiddenFact {
                        subject,
                        refusal,
                        source: source.to_string(),
                        message: message.to_string(),
                    });
                }
            }
        };
        for event in &self.events {
            add(Fact::subject(event), "event", &event.message);
        }
        for tail in &self.logs {
            let subject = Subject {
                kind: "Pod".into(),
                namespace: Some(tail.namespace.clone()),
                name: tail.pod.clone(),
                run: tail.run.clone(),
            };
            for line in &tail.lines {
                add(subject.clone(), "log", line);
            }
        }
        for operation in &self.operations {
            if let Some((_, _, _, message)) = &operation.condition {
                add(Fact::subject(operation), "condition", message);
            }
        }
        facts
    }

    /// One fact per claim of each Pending pod, with its claim, class, the
    /// provisioner's complaint and the nodes of every active pod using it.
    fn join_claims(&self) -> Vec<claim::ClaimFact> {
        let classes: BTreeMap<String, claim::StorageClass> = self
            .storage_classes
            .iter()
            .map(|c| (c.name.clone(), c.clone()))
            .collect();
        let found: HashMap<(&str, &str), &claim::Claim> = self
            .claims
            .iter()
            .map(|c| ((c.namespace.as_str(), c.name.as_str()), c))
            .collect();
        let mut complaints: HashMap<(&str, &str), &EventFact> = HashMap::new();
        for event in self.events.iter().filter(|e| {
            e.involved_kind == "PersistentVolumeClaim" && e.reason == "ProvisioningFailed"
        }) {
            let key = (event.namespace.as_str(), event.involved_name.as_str());
            if complaints
                .get(&key)
                .is_none_or(|old| old.last_seen <= event.last_seen)
            {
                complaints.insert(key, event);
            }
        }
        let mut users: HashMap<(&str, &str), BTreeSet<String>> = HashMap::new();
        for pod in self.pods.iter().filter(|p| p.is_active()) {
            for claim in &pod.claims {
                let nodes = users
                    .entry((pod.namespace.as_str(), claim.as_str()))
                    .or_default();
                nodes.extend(pod.node_name.clone());
            }
        }
        let mut facts = Vec::new();
        for pod in self.pods.iter().filter(|p| p.phase == "Pending") {
            for claim in &pod.claims {
                let key = (pod.namespace.as_str(), claim.as_str());
                facts.push(claim::ClaimFact::join(
                    pod.subject(),
                    pod.pending_seconds,
                    claim,
                    found.get(&key).copied(),
                    &classes,
                    complaints.get(&key).map(|e| e.message.clone()),
                    users.get(&key).cloned().unwrap_or_default(),
                ));
            }
        }
        facts
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

/// How long a pod may wait for the scheduler's word before pxdoctor's own
/// fit check explains it.
const FIT_AFTER_SECONDS: i64 = 60;

/// The scheduler's "cannot place this pod" event, from any scheduler.
fn is_scheduler_verdict(event: &EventFact) -> bool {
    // Karpenter reports FailedScheduling too, about its NodePools, not nodes.
    event.reason == "FailedScheduling"
        && event.source != "karpenter"
        && !event.message.contains("incompatible with nodepool")
        && !event.message.contains("incompatible with provisioner")
}

/// Joined facts, ready for the engine.
#[derive(Debug)]
pub struct Facts {
    pub now: Timestamp,
    pub pods: Vec<PodFact>,
    pub events: Vec<EventFact>,
    pub nodes: Vec<NodeFact>,
    pub node_conditions: Vec<NodeConditionFact>,
    pub scheduling: Vec<SchedulingFact>,
    pub fits: Vec<fit_fact::FitFact>,
    pub claims: Vec<claim::ClaimFact>,
    pub refusals: Vec<forbidden::ForbiddenFact>,
    pub permissions: Vec<permission::PermissionFact>,
    pub containers: Vec<container::ContainerFact>,
    pub logs: Vec<LogTail>,
    pub gaps: Vec<CollectionGap>,
    pub operations: Vec<operation::OperationFact>,
    pub deployments: Vec<deployment::DeploymentFact>,
    pub platform: platform::PlatformFact,
    pub stores: Vec<store::StoreFact>,
    pub probes: Vec<probe::ProbeStep>,
    /// Problems `pxdoctor lint` found in polyaxonfiles (empty for `check`).
    pub lint: Vec<lint::LintFact>,
    /// The Polyaxon API probe, joined with the cluster's endpoints (0 or 1).
    pub polyaxon_api: Vec<polyaxon_api::PolyaxonApiFact>,
    /// Distinct Polyaxon runs that have pods.
    pub runs: BTreeSet<String>,
}

impl Facts {
    /// Calls `visit` with every fact of one kind.
    pub fn for_each(&self, kind: FactKind, mut visit: impl FnMut(&dyn Fact)) {
        match kind {
            FactKind::Pod => self.pods.iter().for_each(|f| visit(f)),
            FactKind::Event => self.events.iter().for_each(|f| visit(f)),
            FactKind::NodeCondition => self.node_conditions.iter().for_each(|f| visit(f)),
            FactKind::SchedulingReason => self.scheduling.iter().for_each(|f| visit(f)),
            FactKind::CollectionGap => self.gaps.iter().for_each(|f| visit(f)),
            FactKind::Platform => visit(&self.platform),
            FactKind::Lint => self.lint.iter().for_each(|f| visit(f)),
            FactKind::ArtifactsStore => self.stores.iter().for_each(|f| visit(f)),
            FactKind::Probe => self.probes.iter().for_each(|f| visit(f)),
            FactKind::Fit => self.fits.iter().for_each(|f| visit(f)),
            FactKind::Container => self.containers.iter().for_each(|f| visit(f)),
            FactKind::Operation => self.operations.iter().for_each(|f| visit(f)),
            FactKind::Claim => self.claims.iter().for_each(|f| visit(f)),
            FactKind::Forbidden => self.refusals.iter().for_each(|f| visit(f)),
            FactKind::Permission => self.permissions.iter().for_each(|f| visit(f)),
            FactKind::Deployment => self.deployments.iter().for_each(|f| visit(f)),
            FactKind::PolyaxonApi => self.polyaxon_api.iter().for_each(|f| visit(f)),
            FactKind::LogLine => {
                for tail in &self.logs {
                    for line in &tail.lines {
                        visit(&log::LogLine { tail, line });
                    }
                }
            }
        }
    }
}
