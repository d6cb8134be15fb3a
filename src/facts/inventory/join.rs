//! The join: how collected facts are tied to each other and to runs
//! (events to pods and runs, pods to nodes, scheduler verdicts to causes,
//! claims to classes), once, so rules only look at one record at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::Timestamp;

use super::{Facts, Inventory};
use crate::facts::access::{forbidden, matrix, permission};
use crate::facts::artifacts::{polyaxon_api, store};
use crate::facts::scheduling::{fit, fit_fact, verdict};
use crate::facts::storage::claim;
use crate::facts::workloads::{container, job, platform, run};
use crate::facts::{
    CollectionGap, EventFact, Evidence, Fact, LogTail, PodFact, RunRef, SchedulingFact, Subject,
};

impl Inventory {
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
        // The waiting pod's creation, and the moment it is judged at.
        let mut event_waiting: Vec<Option<(Option<Timestamp>, Option<Timestamp>)>> =
            vec![None; self.events.len()];
        // Whether the event's object is still unwell: durable state judges
        // an event, so a healthy pod's old warnings are history.
        let mut event_unwell: Vec<bool> = vec![true; self.events.len()];
        let pods_collected = self.kinds_seen.contains("Pod");
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
            event_unwell[e] = match pod {
                Some(p) => !self.pods[p].is_healthy(),
                None => !pods_collected,
            };
            if let Some(p) = pod {
                event_runs[e] = pod_runs[p].clone();
                event_pending[e] = self.pods[p].is_unscheduled_pending();
                if self.pods[p].phase == "Pending" {
                    event_waiting[e] = Some((self.pods[p].created, self.pods[p].as_of));
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
        for (((event, run), (pending, waiting)), unwell) in self
            .events
            .iter_mut()
            .zip(event_runs)
            .zip(waiting)
            .zip(event_unwell)
        {
            event.object_unwell = unwell;
            event.run = run;
            event.pod_pending = pending;
            event.pod_waiting = waiting.is_some();
            event.pending_seconds = waiting.and_then(|(created, as_of)| {
                created.map(|created| (as_of.unwrap_or(now) - created).get_seconds())
            });
        }
        drop(pod_index);

        let mut nodes = std::mem::take(&mut self.nodes);
        let node_index: HashMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| (node.name.clone(), i))
            .collect();
        let grace = self.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
        for pod in self.pods.iter_mut() {
            let at = pod.as_of.unwrap_or(now);
            pod.age_seconds = pod.created.map(|created| (at - created).get_seconds());
            pod.past_grace = pod.age_seconds.is_some_and(|age| age >= grace);
            let node = pod.node_name.as_ref().and_then(|name| node_index.get(name));
            pod.node_problem = node
                .and_then(|&n| nodes[n].not_ready())
                .map(String::into_boxed_str);
        }
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
        let by_resource = verdict::Nodes::new(&nodes);
        let table = fit::NodeTable::new(
            &nodes,
            self.pods.iter().filter(|pod| pod.is_unscheduled_pending()),
        );
        for (p, pod) in self.pods.iter_mut().enumerate() {
            if pod.phase == "Pending" {
                let at = pod.as_of.unwrap_or(now);
                pod.pending_seconds = pod.created.map(|created| (at - created).get_seconds());
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
                verdict::parse(message)
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
                    verdict::Verdict::Event(event.evidence()),
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
                    verdict::Verdict::Condition(evidence),
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
                        verdict::Verdict::Fit(evidence),
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
                verdict::Verdict::Event(event.evidence()),
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
            run_objects: self.events.iter().filter(|e| e.run.is_some()).count()
                + self.jobs.iter().filter(|j| j.run.is_some()).count()
                + self.operations.iter().filter(|o| o.run.is_some()).count()
                + self.records.len(),
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
        let pods_unread = pods_unread(&self.gaps);
        for operation in self.operations.iter_mut() {
            let found = operation
                .run
                .as_ref()
                .is_some_and(|run| run_pods.contains(run.uuid.as_str()));
            operation.has_pods = (found || !pods_unread(&operation.namespace)).then_some(found);
            operation.age_seconds = operation
                .created
                .map(|created| (now - created).get_seconds());
            operation.past_grace = operation.age_seconds.is_some_and(|age| age >= grace);
        }
        drop(pods_unread);
        let collected_jobs = std::mem::take(&mut self.jobs);
        let jobs = self.join_jobs(collected_jobs, now, grace, &run_pods);
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
        let mut records = std::mem::take(&mut self.records);
        for record in records.iter_mut() {
            record.judge(grace);
        }
        // Runs seen anywhere: by their pods, or only by their Job's events
        // (or in Polyaxon's records).
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
            .chain(jobs.iter().filter_map(|job| job.run.as_ref()))
            .chain(records.iter().map(|record| &record.run))
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
            jobs,
            deployments: self.deployments,
            platform,
            stores,
            probes: self.probes,
            lint: Vec::new(),
            polyaxon_api,
            records,
            runs,
        }
    }

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
        self.with_access(|inputs| inputs.evaluate())
    }

    /// Every permission of Polyaxon's accounts (and of `extra`, as
    /// (namespace, name)) where its runs go, granted or not: `access`.
    pub fn access_matrix(&self, extra: &[(String, String)]) -> Vec<matrix::Block> {
        self.with_access(|inputs| inputs.matrix(extra))
    }

    /// The permission check's inputs, from what was collected.
    fn with_access<T>(&self, evaluate: impl FnOnce(&permission::Inputs) -> T) -> T {
        let run_namespaces: BTreeSet<String> = self
            .pods
            .iter()
            .filter(|pod| pod.run.is_some())
            .map(|pod| pod.namespace.clone())
            .chain(self.operations.iter().map(|op| op.namespace.clone()))
            .collect();
        let crds = self.polyaxon_crds.clone().unwrap_or_default();
        let inputs = permission::Inputs {
            policy: &self.policy,
            kinds_seen: &self.kinds_seen,
            gaps: &self.gaps,
            scope: self.scope.as_ref(),
            deployments: &self.deployments,
            configs: &self.agent_configs,
            service_accounts: &self.service_accounts,
            run_namespaces: &run_namespaces,
            crds: &crds,
        };
        evaluate(&inputs)
    }

    /// The runs' Jobs with their Warning events as evidence; a Job that was
    /// not collected stands in from its failure events. Call after events
    /// know their runs.
    fn join_jobs(
        &self,
        mut jobs: Vec<job::JobFact>,
        now: Timestamp,
        grace: i64,
        run_pods: &BTreeSet<&str>,
    ) -> Vec<job::JobFact> {
        let mut index: HashMap<(String, String), usize> = jobs
            .iter()
            .enumerate()
            .map(|(i, job)| ((job.namespace.clone(), job.name.clone()), i))
            .collect();
        let mut events: Vec<&EventFact> = self
            .events
            .iter()
            .filter(|e| e.involved_kind == "Job" && e.type_ == "Warning")
            .collect();
        events.sort_by_key(|e| e.last_seen);
        for event in events {
            let key = (event.namespace.to_string(), event.involved_name.clone());
            let failure = job::FAILURE_REASONS.contains(&&*event.reason);
            let j = match index.get(&key) {
                Some(&j) => j,
                None if failure => {
                    jobs.push(job::JobFact::from_event(event));
                    index.insert(key, jobs.len() - 1);
                    jobs.len() - 1
                }
                None => continue,
            };
            let job = &mut jobs[j];
            // A stand-in says what its newest failure event says.
            if job.from_events && failure {
                *job = job::JobFact {
                    events: std::mem::take(&mut job.events),
                    ..job::JobFact::from_event(event)
                };
            }
            job.events.push(event.evidence());
        }
        let pods_unread = pods_unread(&self.gaps);
        for job in jobs.iter_mut() {
            let found = job
                .run
                .as_ref()
                .is_some_and(|run| run_pods.contains(run.uuid.as_str()));
            job.has_pods = (found || !pods_unread(&job.namespace)).then_some(found);
            let at = job.as_of.unwrap_or(now);
            job.age_seconds = job.created.map(|created| (at - created).get_seconds());
            job.past_grace = job.age_seconds.is_some_and(|age| age >= grace);
        }
        jobs
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
            e.involved_kind == "PersistentVolumeClaim"
                && matches!(&*e.reason, "ProvisioningFailed" | "FailedBinding")
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
        let classes_collected = self.kinds_seen.contains("StorageClass");
        // One claim of `namespace`, as `subject` (a Pending pod, or the
        // claim itself) depends on it.
        let fact_of = |subject: Subject, pending: Option<i64>, namespace: &str, claim: &str| {
            let key = (namespace, claim);
            let mut fact = claim::ClaimFact::join(
                subject,
                pending,
                claim,
                found.get(&key).copied(),
                &classes,
                complaints
                    .get(&key)
                    .map(|e| (e.reason.to_string(), e.message.clone())),
                users.get(&key).cloned().unwrap_or_default(),
            );
            fact.classes_collected |= classes_collected;
            fact
        };
        let mut facts = Vec::new();
        for pod in self.pods.iter().filter(|p| p.phase == "Pending") {
            for claim in &pod.claims {
                facts.push(fact_of(
                    pod.subject(),
                    pod.pending_seconds,
                    &pod.namespace,
                    claim,
                ));
            }
        }
        // The claims runs depend on through the agent's catalog are judged
        // before a run mounts them: where the agent runs runs, and wherever
        // else the claim exists.
        let judged: BTreeSet<(String, String)> = facts
            .iter()
            .filter_map(|f| Some((f.subject.namespace.clone()?, f.claim.clone())))
            .collect();
        let mut catalog: BTreeSet<(String, String)> = BTreeSet::new();
        for config in &self.agent_configs {
            for claim in &config.connection_claims {
                catalog.insert((config.namespace.clone(), claim.clone()));
                for namespace in &config.additional_namespaces {
                    if found.contains_key(&(namespace.as_str(), claim.as_str())) {
                        catalog.insert((namespace.clone(), claim.clone()));
                    }
                }
            }
        }
        for (namespace, claim) in catalog {
            if judged.iter().any(|(n, c)| *n == namespace && *c == claim) {
                continue;
            }
            let subject = Subject {
                kind: claim::CATALOG_KIND.into(),
                namespace: Some(namespace.clone()),
                name: claim.clone(),
                run: None,
            };
            facts.push(fact_of(subject, None, &namespace, &claim));
        }
        facts
    }
}

/// Whether the pods of a namespace could not be listed there (a failed
/// list there or across all namespaces): then "no pod of the run" is not
/// known, and nothing may be claimed from it.
fn pods_unread(gaps: &[CollectionGap]) -> impl Fn(&str) -> bool + '_ {
    move |namespace| {
        gaps.iter().any(|gap| {
            gap.resource == "pods"
                && gap.group.is_empty()
                && gap.namespace.as_deref().is_none_or(|n| n == namespace)
        })
    }
}

/// How long a run may take to start (containers creating, a Job or
/// operation without pods) before it is reported as stuck; `grace` in
/// .pxdoctor.yaml changes it.
pub const DEFAULT_GRACE_SECONDS: i64 = 300;

/// How long a pod may wait for the scheduler's word before pxdoctor's own
/// fit check explains it.
const FIT_AFTER_SECONDS: i64 = 60;

/// The scheduler's "cannot place this pod" event, from any scheduler.
pub fn is_scheduler_verdict(event: &EventFact) -> bool {
    // Karpenter reports FailedScheduling too, about its NodePools, not nodes.
    event.reason == "FailedScheduling"
        && event.source != "karpenter"
        && !event.message.contains("incompatible with nodepool")
        && !event.message.contains("incompatible with provisioner")
}
