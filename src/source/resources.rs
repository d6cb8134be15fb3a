//! The resources a check reads from a cluster, and what each one is for.
//!
//! A new fact kind adds its resource here; a forbidden resource is reported
//! with `needed_for`, so the user knows what a missing permission costs.

pub struct Resource {
    pub kind: &'static str,
    pub plural: &'static str,
    /// "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub namespaced: bool,
    pub needed_for: &'static str,
}

pub const RESOURCES: &[Resource] = &[
    Resource {
        kind: "Pod",
        plural: "pods",
        group: "",
        version: "v1",
        namespaced: true,
        needed_for: "which runs exist, their phase, requests and scheduling state",
    },
    Resource {
        kind: "Event",
        plural: "events",
        group: "",
        version: "v1",
        namespaced: true,
        needed_for: "the scheduler's and the kubelet's messages about runs",
    },
    Resource {
        kind: "Job",
        plural: "jobs",
        group: "batch",
        version: "v1",
        namespaced: true,
        needed_for: "the runs' Jobs: a failure (deadline, backoff limit) recorded after its events expired",
    },
    Resource {
        kind: "Deployment",
        plural: "deployments",
        group: "apps",
        version: "v1",
        namespaced: true,
        needed_for: "whether Polyaxon's api, agent and operator are up",
    },
    Resource {
        kind: "PersistentVolumeClaim",
        plural: "persistentvolumeclaims",
        group: "",
        version: "v1",
        namespaced: true,
        needed_for: "whether the runs' volume claims exist and are bound",
    },
    Resource {
        kind: "StorageClass",
        plural: "storageclasses",
        group: "storage.k8s.io",
        version: "v1",
        namespaced: false,
        needed_for: "whether the classes the runs' claims ask for exist",
    },
    Resource {
        kind: "Service",
        plural: "services",
        group: "",
        version: "v1",
        namespaced: true,
        needed_for: "whether the Polyaxon CLI's host is the Polyaxon this cluster runs",
    },
    Resource {
        kind: "Ingress",
        plural: "ingresses",
        group: "networking.k8s.io",
        version: "v1",
        namespaced: true,
        needed_for: "whether the Polyaxon CLI's host is the Polyaxon this cluster runs, and which Ingress the API's requests pass",
    },
    Resource {
        kind: "Node",
        plural: "nodes",
        group: "",
        version: "v1",
        namespaced: false,
        needed_for: "free capacity, taints, cordons and node conditions",
    },
    Resource {
        kind: "Role",
        plural: "roles",
        group: "rbac.authorization.k8s.io",
        version: "v1",
        namespaced: true,
        needed_for: "whether Polyaxon's service accounts may do their work in each run namespace",
    },
    Resource {
        kind: "RoleBinding",
        plural: "rolebindings",
        group: "rbac.authorization.k8s.io",
        version: "v1",
        namespaced: true,
        needed_for: "whether Polyaxon's service accounts may do their work in each run namespace",
    },
    Resource {
        kind: "ClusterRole",
        plural: "clusterroles",
        group: "rbac.authorization.k8s.io",
        version: "v1",
        namespaced: false,
        needed_for: "whether Polyaxon's service accounts may do their work in any run namespace",
    },
    Resource {
        kind: "ClusterRoleBinding",
        plural: "clusterrolebindings",
        group: "rbac.authorization.k8s.io",
        version: "v1",
        namespaced: false,
        needed_for: "whether Polyaxon's service accounts may do their work in any run namespace",
    },
    Resource {
        kind: "ServiceAccount",
        plural: "serviceaccounts",
        group: "",
        version: "v1",
        namespaced: true,
        needed_for: "whether the service accounts Polyaxon's runs use exist",
    },
    Resource {
        kind: "ConfigMap",
        plural: "configmaps",
        group: "",
        version: "v1",
        namespaced: true,
        needed_for: "the namespaces Polyaxon's agent sends runs to (POLYAXON_ADDITIONAL_NAMESPACES) and its artifacts store",
    },
];

/// Polyaxon's custom resources, listed when discovery shows them.
pub const POLYAXON: &[Resource] = &[
    Resource {
        kind: "Operation",
        plural: "operations",
        group: "core.polyaxon.com",
        version: "v1",
        namespaced: true,
        needed_for: "the state Polyaxon's operator records for each run (up to 2.11)",
    },
    Resource {
        kind: "Job",
        plural: "jobs",
        group: "polyaxon.com",
        version: "v1",
        namespaced: true,
        needed_for: "the state Polyaxon's operator records for job runs (2.12+)",
    },
    Resource {
        kind: "Service",
        plural: "services",
        group: "polyaxon.com",
        version: "v1",
        namespaced: true,
        needed_for: "the state Polyaxon's operator records for service runs (2.12+)",
    },
    Resource {
        kind: "Cluster",
        plural: "clusters",
        group: "polyaxon.com",
        version: "v1",
        namespaced: true,
        needed_for: "the state Polyaxon's operator records for Ray and Dask runs (2.12+)",
    },
    Resource {
        kind: "KfJob",
        plural: "kfjobs",
        group: "polyaxon.com",
        version: "v1",
        namespaced: true,
        needed_for: "the state Polyaxon's operator records for Kubeflow runs (2.12+)",
    },
];

impl Resource {
    /// `operations.core.polyaxon.com`: how kubectl and CRDs name it.
    pub fn full_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The LIST path, in one namespace or across all of them.
    pub fn path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace.filter(|_| self.namespaced) {
            Some(namespace) => format!("{base}/namespaces/{namespace}/{}", self.plural),
            None => format!("{base}/{}", self.plural),
        }
    }

    /// Where a collected bundle keeps this list.
    pub fn bundle_path(&self, namespace: Option<&str>) -> String {
        match namespace.filter(|_| self.namespaced) {
            Some(namespace) => format!("namespaces/{namespace}/{}.json", self.full_name()),
            None => format!("cluster/{}.json", self.full_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_api_layout() {
        assert_eq!(RESOURCES[0].path(Some("ml")), "/api/v1/namespaces/ml/pods");
        assert_eq!(RESOURCES[0].path(None), "/api/v1/pods");
        let nodes = RESOURCES.iter().find(|r| r.plural == "nodes").unwrap();
        assert_eq!(nodes.path(Some("ml")), "/api/v1/nodes");
        assert_eq!(nodes.bundle_path(Some("ml")), "cluster/nodes.json");
    }

    #[test]
    fn each_resource_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for resource in RESOURCES.iter().chain(POLYAXON) {
            assert!(
                seen.insert(resource.full_name()),
                "{} twice",
                resource.full_name()
            );
        }
    }
}
