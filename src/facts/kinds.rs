//! The fact kinds rules can name, with their fields and how a rule example
//! of each kind becomes something to match.

use std::collections::BTreeMap;

use crate::facts::access::forbidden;
use crate::facts::access::permission;
use crate::facts::artifacts::log;
use crate::facts::artifacts::polyaxon_api;
use crate::facts::artifacts::probe;
use crate::facts::artifacts::store;
use crate::facts::event;
use crate::facts::gap;
use crate::facts::lint;
use crate::facts::records;
use crate::facts::scheduling::fit_fact;
use crate::facts::scheduling::node;
use crate::facts::scheduling::verdict;
use crate::facts::shared::value::{FieldSource, FieldSpec, Value};
use crate::facts::storage::claim;
use crate::facts::workloads::container;
use crate::facts::workloads::deployment;
use crate::facts::workloads::job;
use crate::facts::workloads::operation;
use crate::facts::workloads::platform;
use crate::facts::workloads::pod;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FactKind {
    Pod,
    Event,
    NodeCondition,
    SchedulingReason,
    LogLine,
    CollectionGap,
    Platform,
    Fit,
    Container,
    Operation,
    Deployment,
    Claim,
    Forbidden,
    Permission,
    Lint,
    ArtifactsStore,
    Probe,
    PolyaxonApi,
    Job,
    RunRecord,
}

impl FactKind {
    pub const ALL: [FactKind; 20] = [
        FactKind::Pod,
        FactKind::Event,
        FactKind::NodeCondition,
        FactKind::SchedulingReason,
        FactKind::LogLine,
        FactKind::CollectionGap,
        FactKind::Platform,
        FactKind::Fit,
        FactKind::Container,
        FactKind::Operation,
        FactKind::Deployment,
        FactKind::Claim,
        FactKind::Forbidden,
        FactKind::Permission,
        FactKind::Lint,
        FactKind::ArtifactsStore,
        FactKind::Probe,
        FactKind::PolyaxonApi,
        FactKind::Job,
        FactKind::RunRecord,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FactKind::Pod => "pod",
            FactKind::Event => "event",
            FactKind::NodeCondition => "node_condition",
            FactKind::SchedulingReason => "scheduling_reason",
            FactKind::LogLine => "log_line",
            FactKind::CollectionGap => "collection_gap",
            FactKind::Platform => "platform",
            FactKind::Fit => "fit",
            FactKind::Container => "container",
            FactKind::Operation => "polyaxon_operation",
            FactKind::Deployment => "platform_deployment",
            FactKind::Claim => "claim",
            FactKind::Forbidden => "forbidden",
            FactKind::Permission => "permission",
            FactKind::Lint => "lint",
            FactKind::ArtifactsStore => "artifacts_store",
            FactKind::Probe => "s3_probe",
            FactKind::PolyaxonApi => "polyaxon_api",
            FactKind::Job => "job",
            FactKind::RunRecord => "run_record",
        }
    }

    pub fn from_name(name: &str) -> Option<FactKind> {
        FactKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            FactKind::Pod => pod::FIELDS,
            FactKind::Event => event::FIELDS,
            FactKind::NodeCondition => node::CONDITION_FIELDS,
            FactKind::SchedulingReason => verdict::FIELDS,
            FactKind::LogLine => log::FIELDS,
            FactKind::CollectionGap => gap::FIELDS,
            FactKind::Platform => platform::FIELDS,
            FactKind::Fit => fit_fact::FIELDS,
            FactKind::Container => container::FIELDS,
            FactKind::Operation => operation::FIELDS,
            FactKind::Deployment => deployment::FIELDS,
            FactKind::Claim => claim::FIELDS,
            FactKind::Forbidden => forbidden::FIELDS,
            FactKind::Permission => permission::FIELDS,
            FactKind::Lint => lint::FIELDS,
            FactKind::ArtifactsStore => store::FIELDS,
            FactKind::Probe => probe::FIELDS,
            FactKind::PolyaxonApi => polyaxon_api::FIELDS,
            FactKind::Job => job::FIELDS,
            FactKind::RunRecord => records::fact::FIELDS,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|spec| spec.name == name)
    }

    /// What a rule example of this kind stands for. A scheduling example
    /// that gives only the scheduler's `message` is parsed as a real one
    /// would be, one fact per cause, so examples test the parser too.
    pub fn example_facts(
        self,
        given: BTreeMap<String, Value<'static>>,
    ) -> Vec<Box<dyn FieldSource>> {
        if self == FactKind::SchedulingReason
            && !given.contains_key("reason")
            && let Some(Value::Str(message)) = given.get("message")
        {
            return verdict::SchedulingFact::from_message(message)
                .into_iter()
                .map(|fact| {
                    Box::new(Overlay {
                        given: given.clone(),
                        base: fact,
                    }) as Box<dyn FieldSource>
                })
                .collect();
        }
        vec![Box::new(given)]
    }
}

/// Example fields on top of a parsed fact: the example's word wins.
struct Overlay<T> {
    given: BTreeMap<String, Value<'static>>,
    base: T,
}

impl<T: FieldSource> FieldSource for Overlay<T> {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        self.given
            .get(name)
            .cloned()
            .or_else(|| self.base.field(name))
    }
}
