//! One fact about the Polyaxon installation as a whole: whether its custom
//! resources exist (in either layout: operations.core.polyaxon.com up to
//! 2.11, jobs|services|clusters|kfjobs.polyaxon.com from 2.12), and how many
//! run and platform pods were seen.

use std::collections::BTreeSet;

use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

#[derive(Debug, Clone)]
pub struct PlatformFact {
    /// None when the source could not tell (a snapshot without CRDs or
    /// Polyaxon objects); Some(empty) when it looked and found none.
    pub crds: Option<BTreeSet<String>>,
    pub run_pods: usize,
    pub platform_pods: usize,
    /// A run's other objects: Jobs, custom resources, events about a
    /// run's objects, Polyaxon's records of runs.
    pub run_objects: usize,
}

pub const FIELDS: &[FieldSpec] = &[
    field(
        "polyaxon_crds",
        Text,
        "Polyaxon's custom resources found, comma-separated",
    ),
    field(
        "crds_checked",
        Bool,
        "the source could tell whether they exist",
    ),
    field("run_pods", Number, "pods of Polyaxon runs"),
    field(
        "platform_pods",
        Number,
        "pods of Polyaxon's platform (api, agent, operator, ...)",
    ),
    field(
        "polyaxon_seen",
        Bool,
        "any run or platform pod was seen, or another object of a run (a Job, a Deployment's or Job's events, a record)",
    ),
];

impl FieldSource for PlatformFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "polyaxon_crds" => self
                .crds
                .as_ref()
                .filter(|crds| !crds.is_empty())
                .map(|crds| text(crds.iter().cloned().collect::<Vec<_>>().join(", "))),
            "crds_checked" => Some(Value::Bool(self.crds.is_some())),
            "run_pods" => Some(num(self.run_pods as f64)),
            "platform_pods" => Some(num(self.platform_pods as f64)),
            "polyaxon_seen" => Some(Value::Bool(
                self.run_pods + self.platform_pods + self.run_objects > 0,
            )),
            _ => None,
        }
    }
}

impl Fact for PlatformFact {
    fn subject(&self) -> Subject {
        Subject {
            kind: "Cluster".into(),
            namespace: None,
            name: "polyaxon".into(),
            run: None,
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        let crds = match &self.crds {
            Some(crds) if crds.is_empty() => "none".to_string(),
            Some(crds) => crds.iter().cloned().collect::<Vec<_>>().join(", "),
            None => "not known".to_string(),
        };
        vec![Evidence::new("Discovery").message(format!(
            "Polyaxon custom resources: {crds}; run pods: {}; platform pods: {}",
            self.run_pods, self.platform_pods
        ))]
    }
}
