//! What Polyaxon's service accounts need in every namespace its runs go to,
//! written down from the RBAC templates of Polyaxon's Helm charts
//! (polyaxon/charts, templates agent-sa*.yaml, operator-sa*.yaml and
//! runs-sa*.yaml at tags v1.22.0, v2.0.0, v2.4.0, v2.11.1, v2.12.0 and
//! v2.15.1; rendered in testdata/charts/, and docs/wording/polyaxon-rbac.md
//! lists them). Needs come in two generations, by the custom resources the
//! install works with: `operations.core.polyaxon.com` up to chart 2.11,
//! `jobs|services|clusters|kfjobs.polyaxon.com` from 2.12.
//!
//! Only what every chart of a generation grants is required, so any of
//! them passes. Left out on purpose: metrics.k8s.io (an aggregated API that
//! exists only with metrics-server), the agent's `deletecollection` on pods
//! (2.12+ grants it in the single-namespace Role only), the runs' services
//! (charts before 2.4 do not grant it), the leader-election Role (off by
//! default), and the Kubeflow, Ray, Dask and Istio rules (chart values turn
//! them on). Verbs are sorted, as kubectl prints them.

use std::collections::BTreeSet;

/// One permission: these verbs on a resource (`pods/log` for a
/// subresource) of an API group ("" for core).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub group: &'static str,
    pub resource: &'static str,
    pub verbs: &'static [&'static str],
}

impl Need {
    /// `pods/log`, `jobs.batch`, `jobs.batch/status`: how kubectl names it.
    pub fn qualified(&self) -> String {
        qualified(self.group, self.resource)
    }

    /// The custom resource definition this need is about, if any:
    /// `operations.core.polyaxon.com`.
    fn crd(&self) -> Option<String> {
        self.group.ends_with("polyaxon.com").then(|| {
            let base = self.resource.split('/').next().unwrap_or(self.resource);
            format!("{base}.{}", self.group)
        })
    }
}

/// kubectl's name for a resource of a group: `pods/log`, `jobs.batch`,
/// `jobs.batch/status` (`kubectl create role --resource=...`).
pub fn qualified(group: &str, resource: &str) -> String {
    let (base, sub) = match resource.split_once('/') {
        Some((base, sub)) => (base, format!("/{sub}")),
        None => (resource, String::new()),
    };
    if group.is_empty() {
        format!("{base}{sub}")
    } else {
        format!("{base}.{group}{sub}")
    }
}

const fn need(group: &'static str, resource: &'static str, verbs: &'static [&'static str]) -> Need {
    Need {
        group,
        resource,
        verbs,
    }
}

const MANAGE: &[&str] = &["create", "delete", "get", "list", "patch", "watch"];
const READ: &[&str] = &["get", "list", "watch"];
const CONTROL: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const STATUS: &[&str] = &["get", "patch", "update"];

/// Which custom resources the install works with, which decides part of
/// what its accounts need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// `operations.core.polyaxon.com` (charts up to 2.11).
    Operations,
    /// `jobs|services|clusters|kfjobs.polyaxon.com` (charts from 2.12).
    PolyaxonCom,
}

impl Generation {
    /// The chart version that switched to polyaxon.com's resources.
    pub const SWITCH: (u64, u64) = (2, 12);

    pub fn of_version(version: (u64, u64)) -> Generation {
        if version >= Self::SWITCH {
            Generation::PolyaxonCom
        } else {
            Generation::Operations
        }
    }
}

/// Who in Polyaxon acts with a service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// Creates the runs' objects (`<release>-polyaxon-agent-sa`).
    Agent,
    /// Reconciles the custom resources into Jobs, Deployments, Services
    /// (`<release>-polyaxon-operator-sa`).
    Operator,
    /// The runs' own pods: sidecar and init containers
    /// (`<release>-polyaxon-runs-sa`).
    Runs,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Agent => "agent",
            Component::Operator => "operator",
            Component::Runs => "runs",
        }
    }

    /// The chart templates these needs come from.
    pub fn source(self) -> &'static str {
        match self {
            Component::Agent => {
                "polyaxon/charts polyaxon/templates/agent-sa.yaml and agent-sa-cluster.yaml"
            }
            Component::Operator => {
                "polyaxon/charts polyaxon/templates/operator-sa.yaml and operator-sa-cluster.yaml"
            }
            Component::Runs => {
                "polyaxon/charts polyaxon/templates/runs-sa.yaml and runs-sa-cluster.yaml"
            }
        }
    }

    /// Every permission it needs in a run namespace: what every chart
    /// grants, and, when the install's generation is known, what that
    /// generation grants on its custom resources (those whose definition
    /// exists in `crds`) and beside them.
    pub fn needs(self, generation: Option<Generation>, crds: &BTreeSet<String>) -> Vec<Need> {
        let (core, operations, polyaxon_com) = match self {
            Component::Agent => (AGENT, AGENT_OPERATIONS, AGENT_POLYAXON_COM),
            Component::Operator => (OPERATOR, OPERATOR_OPERATIONS, OPERATOR_POLYAXON_COM),
            Component::Runs => (RUNS, RUNS_OPERATIONS, RUNS_POLYAXON_COM),
        };
        let generation_needs: &[Need] = match generation {
            Some(Generation::Operations) => operations,
            Some(Generation::PolyaxonCom) => polyaxon_com,
            None => &[],
        };
        core.iter()
            .copied()
            .chain(
                generation_needs
                    .iter()
                    .copied()
                    .filter(|need| need.crd().is_none_or(|crd| crds.contains(&crd))),
            )
            .collect()
    }
}

const POLYAXON_COM: [&str; 4] = ["clusters", "jobs", "kfjobs", "services"];

/// The agent, at every tag read, in agent-sa.yaml (one namespace, a Role)
/// and agent-sa-cluster.yaml (agent.additionalNamespaces set, a ClusterRole).
const AGENT: &[Need] = &[
    need("", "pods", MANAGE),
    need("batch", "jobs", MANAGE),
    need(
        "",
        "configmaps",
        &["create", "delete", "get", "patch", "update"],
    ),
    need(
        "",
        "secrets",
        &["create", "delete", "get", "patch", "update"],
    ),
    need(
        "",
        "services",
        &["create", "delete", "get", "list", "patch"],
    ),
    need(
        "apps",
        "deployments",
        &["create", "delete", "get", "list", "patch"],
    ),
    need("", "events", READ),
    need("", "pods/status", READ),
    need("", "pods/log", READ),
    need("", "pods/exec", &["create", "get"]),
];

/// v1.22.0–v2.11.1: operations of core.polyaxon.com.
const AGENT_OPERATIONS: &[Need] = &[need("core.polyaxon.com", "operations", MANAGE)];

/// v2.12.0–v2.15.1: jobs, services, clusters and kfjobs of polyaxon.com.
const AGENT_POLYAXON_COM: &[Need] = &[
    need("polyaxon.com", POLYAXON_COM[0], MANAGE),
    need("polyaxon.com", POLYAXON_COM[1], MANAGE),
    need("polyaxon.com", POLYAXON_COM[2], MANAGE),
    need("polyaxon.com", POLYAXON_COM[3], MANAGE),
];

/// The operator, at every tag read (operator-sa.yaml, operator-sa-cluster.yaml).
const OPERATOR: &[Need] = &[
    need("apps", "deployments", CONTROL),
    need("apps", "deployments/status", STATUS),
    need("batch", "jobs", CONTROL),
    need("batch", "jobs/status", STATUS),
    need("", "pods", CONTROL),
    need("", "pods/status", STATUS),
    need("", "services", CONTROL),
    need("", "services/status", STATUS),
];

/// v1.22.0–v2.11.1: operations, their finalizers and status.
const OPERATOR_OPERATIONS: &[Need] = &[
    need("core.polyaxon.com", "operations", CONTROL),
    need("core.polyaxon.com", "operations/finalizers", &["update"]),
    need("core.polyaxon.com", "operations/status", STATUS),
];

/// v2.12.0–v2.15.1: events, and full control of polyaxon.com's resources,
/// their finalizers and status.
const OPERATOR_POLYAXON_COM: &[Need] = &[
    need("", "events", READ),
    need("polyaxon.com", "clusters", CONTROL),
    need("polyaxon.com", "jobs", CONTROL),
    need("polyaxon.com", "kfjobs", CONTROL),
    need("polyaxon.com", "services", CONTROL),
    need("polyaxon.com", "clusters/finalizers", &["update"]),
    need("polyaxon.com", "jobs/finalizers", &["update"]),
    need("polyaxon.com", "kfjobs/finalizers", &["update"]),
    need("polyaxon.com", "services/finalizers", &["update"]),
    need("polyaxon.com", "clusters/status", STATUS),
    need("polyaxon.com", "jobs/status", STATUS),
    need("polyaxon.com", "kfjobs/status", STATUS),
    need("polyaxon.com", "services/status", STATUS),
];

/// The runs' service account, at every tag read (runs-sa.yaml,
/// runs-sa-cluster.yaml).
const RUNS: &[Need] = &[
    need("", "pods", READ),
    need("", "events", READ),
    need("", "pods/status", READ),
    need("", "pods/log", READ),
];

/// v1.22.0–v2.11.1.
const RUNS_OPERATIONS: &[Need] = &[need("core.polyaxon.com", "operations", READ)];

/// v2.12.0–v2.15.1: services too, and polyaxon.com's resources.
const RUNS_POLYAXON_COM: &[Need] = &[
    need("", "services", READ),
    need("polyaxon.com", "clusters", READ),
    need("polyaxon.com", "jobs", READ),
    need("polyaxon.com", "kfjobs", READ),
    need("polyaxon.com", "services", READ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_resources_are_needed_by_generation_and_where_their_definition_exists() {
        let old = BTreeSet::from(["operations.core.polyaxon.com".to_string()]);
        let agent = Component::Agent.needs(Some(Generation::Operations), &old);
        assert!(
            agent
                .iter()
                .any(|n| n.qualified() == "operations.core.polyaxon.com")
        );
        assert!(!agent.iter().any(|n| n.group == "polyaxon.com"));
        // A leftover operations CRD on a 2.12+ install is not its workload API.
        let both = BTreeSet::from([
            "operations.core.polyaxon.com".to_string(),
            "jobs.polyaxon.com".to_string(),
        ]);
        let agent = Component::Agent.needs(Some(Generation::PolyaxonCom), &both);
        assert!(agent.iter().any(|n| n.qualified() == "jobs.polyaxon.com"));
        assert!(!agent.iter().any(|n| n.group == "core.polyaxon.com"));
        assert!(
            !agent
                .iter()
                .any(|n| n.qualified() == "services.polyaxon.com"),
            "no definition, no need"
        );
        let operator = Component::Operator.needs(Some(Generation::Operations), &old);
        assert!(
            operator
                .iter()
                .any(|n| n.qualified() == "operations.core.polyaxon.com/finalizers")
        );
        let operator = Component::Operator.needs(Some(Generation::PolyaxonCom), &both);
        assert!(operator.iter().any(|n| n.qualified() == "events"));
        assert!(
            operator
                .iter()
                .any(|n| n.qualified() == "jobs.polyaxon.com/finalizers")
        );
        assert_eq!(Component::Runs.needs(None, &both).len(), RUNS.len());
        assert_eq!(Generation::of_version((2, 11)), Generation::Operations);
        assert_eq!(Generation::of_version((2, 15)), Generation::PolyaxonCom);
    }

    #[test]
    fn the_table_is_well_formed() {
        for need in AGENT
            .iter()
            .chain(AGENT_OPERATIONS)
            .chain(AGENT_POLYAXON_COM)
            .chain(OPERATOR)
            .chain(OPERATOR_OPERATIONS)
            .chain(OPERATOR_POLYAXON_COM)
            .chain(RUNS)
            .chain(RUNS_OPERATIONS)
            .chain(RUNS_POLYAXON_COM)
        {
            let mut sorted = need.verbs.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted, need.verbs, "{need:?}: verbs sorted, once each");
            assert!(!need.resource.contains('*'), "{need:?}: no wildcard");
        }
        assert_eq!(
            Need {
                group: "batch",
                resource: "jobs/status",
                verbs: STATUS
            }
            .qualified(),
            "jobs.batch/status"
        );
    }
}
