//! What Polyaxon's service accounts need in every namespace its runs go to,
//! written down from the RBAC templates of Polyaxon's Helm charts
//! (polyaxon/charts; docs/wording/polyaxon-rbac.md names each file and
//! commit). Only what every version read agrees on is required, so a cluster
//! set up by any of those charts passes; metrics.k8s.io is left out (an
//! aggregated API that exists only with metrics-server), and so are the
//! optional Kubeflow, Ray, Dask and Istio rules (chart values turn them on).
//! Verbs are sorted, as kubectl prints them.

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

    /// Every permission it needs in a run namespace, given the Polyaxon
    /// custom resources the cluster has (e.g. operations.core.polyaxon.com).
    pub fn needs(self, crds: &BTreeSet<String>) -> Vec<Need> {
        let (core, custom) = match self {
            Component::Agent => (AGENT, AGENT_CUSTOM),
            Component::Operator => (OPERATOR, OPERATOR_CUSTOM),
            Component::Runs => (RUNS, RUNS_CUSTOM),
        };
        core.iter()
            .copied()
            .chain(
                custom
                    .iter()
                    .copied()
                    .filter(|need| need.crd().is_some_and(|crd| crds.contains(&crd))),
            )
            .collect()
    }
}

/// The agent: the same rules in agent-sa.yaml (one namespace, a Role) and
/// agent-sa-cluster.yaml (agent.additionalNamespaces set, a ClusterRole).
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

/// Up to 2.11 the agent writes operations.core.polyaxon.com (agent-sa.yaml);
/// from 2.12, jobs, services, clusters and kfjobs of polyaxon.com
/// (agent-sa-cluster.yaml @3db83ac).
const AGENT_CUSTOM: &[Need] = &[
    need("core.polyaxon.com", "operations", MANAGE),
    need("polyaxon.com", "jobs", MANAGE),
    need("polyaxon.com", "services", MANAGE),
    need("polyaxon.com", "clusters", MANAGE),
    need("polyaxon.com", "kfjobs", MANAGE),
];

/// The operator (operator-sa.yaml, operator-sa-cluster.yaml).
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

/// The operator's rules on Polyaxon's custom resource. The charts read
/// grant it on operations.core.polyaxon.com only.
const OPERATOR_CUSTOM: &[Need] = &[
    need("core.polyaxon.com", "operations", CONTROL),
    need("core.polyaxon.com", "operations/status", STATUS),
];

/// The runs' service account (runs-sa.yaml, runs-sa-cluster.yaml; the
/// cluster variant also reads services).
const RUNS: &[Need] = &[
    need("", "pods", READ),
    need("", "events", READ),
    need("", "pods/status", READ),
    need("", "pods/log", READ),
];

const RUNS_CUSTOM: &[Need] = &[need("core.polyaxon.com", "operations", READ)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_resources_are_needed_only_where_their_definition_exists() {
        let old = BTreeSet::from(["operations.core.polyaxon.com".to_string()]);
        let agent = Component::Agent.needs(&old);
        assert!(
            agent
                .iter()
                .any(|n| n.qualified() == "operations.core.polyaxon.com")
        );
        assert!(!agent.iter().any(|n| n.group == "polyaxon.com"));
        let new = BTreeSet::from(["jobs.polyaxon.com".to_string()]);
        let agent = Component::Agent.needs(&new);
        assert!(agent.iter().any(|n| n.qualified() == "jobs.polyaxon.com"));
        assert!(
            !agent
                .iter()
                .any(|n| n.qualified() == "services.polyaxon.com")
        );
        let operator = Component::Operator.needs(&old);
        assert!(
            operator
                .iter()
                .any(|n| n.qualified() == "operations.core.polyaxon.com/status")
        );
        assert_eq!(Component::Runs.needs(&BTreeSet::new()).len(), RUNS.len());
    }

    #[test]
    fn the_table_is_well_formed() {
        for need in AGENT
            .iter()
            .chain(AGENT_CUSTOM)
            .chain(OPERATOR)
            .chain(OPERATOR_CUSTOM)
            .chain(RUNS)
            .chain(RUNS_CUSTOM)
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
