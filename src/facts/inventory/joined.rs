//! The joined facts the engine reads, one list per fact kind.

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::facts::access::{forbidden, permission};
use crate::facts::artifacts::{log, polyaxon_api, probe, store};
use crate::facts::scheduling::fit_fact;
use crate::facts::storage::claim;
use crate::facts::workloads::{container, deployment, job, operation, platform};
use crate::facts::{
    CollectionGap, EventFact, Fact, FactKind, LogTail, NodeConditionFact, NodeFact, PodFact,
    SchedulingFact, lint,
};

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
    pub jobs: Vec<job::JobFact>,
    pub deployments: Vec<deployment::DeploymentFact>,
    pub platform: platform::PlatformFact,
    pub stores: Vec<store::StoreFact>,
    pub probes: Vec<probe::ProbeStep>,
    /// Problems `pxdoctor lint` found in polyaxonfiles (empty for `check`).
    pub lint: Vec<lint::LintFact>,
    /// The Polyaxon API probe, joined with the cluster's endpoints (0 or 1).
    pub polyaxon_api: Vec<polyaxon_api::PolyaxonApiFact>,
    /// Runs as Polyaxon's records tell them.
    pub records: Vec<crate::facts::records::RunRecordFact>,
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
            FactKind::Job => self.jobs.iter().for_each(|f| visit(f)),
            FactKind::RunRecord => self.records.iter().for_each(|f| visit(f)),
            FactKind::Claim => self.claims.iter().for_each(|f| visit(f)),
            FactKind::Forbidden => self.refusals.iter().for_each(|f| visit(f)),
            FactKind::Permission => self.permissions.iter().for_each(|f| visit(f)),
            FactKind::Deployment => self.deployments.iter().for_each(|f| visit(f)),
            FactKind::PolyaxonApi => self.polyaxon_api.iter().for_each(|f| visit(f)),
            FactKind::LogLine => {
                for tail in &self.logs {
                    let recovered = tail.recovered_records();
                    for (index, line) in tail.lines.iter().enumerate() {
                        visit(&log::LogLine {
                            tail,
                            line,
                            recovered: index < recovered,
                        });
                    }
                }
            }
        }
    }
}
