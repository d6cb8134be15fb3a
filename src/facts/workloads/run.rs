//! Which Polyaxon run a Kubernetes object belongs to.
//!
//! Polyaxon labels every object of a run with `app.kubernetes.io/managed-by:
//! polyaxon` and `app.kubernetes.io/instance: <uuid>`, and annotates owner,
//! project, name and kind (see shared/polyaxon.md, from polyaxon/cli's
//! converter). Findings speak of the run, so the mapping lives in one place.

use std::collections::BTreeMap;

use crate::facts::shared::subject::RunRef;

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
const ANNOTATION_PREFIX: &str = "operation.polyaxon.com/";

/// The run of an object with these labels and annotations, if it has one.
pub fn run_of(
    labels: Option<&BTreeMap<String, String>>,
    annotations: Option<&BTreeMap<String, String>>,
) -> Option<RunRef> {
    let labels = labels?;
    if labels.get(MANAGED_BY).map(String::as_str) != Some("polyaxon") {
        return None;
    }
    let uuid = labels.get(INSTANCE)?.trim();
    if uuid.is_empty() {
        return None;
    }
    let annotation = |key: &str| {
        annotations
            .and_then(|all| all.get(&format!("{ANNOTATION_PREFIX}{key}")))
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    Some(RunRef {
        uuid: uuid.to_string(),
        owner: annotation("owner"),
        project: annotation("project"),
        name: annotation("name"),
        kind: annotation("kind"),
    })
}

/// The run uuid in a name Polyaxon gives a run's objects:
/// `plx-operation-<32 hex>` (Job, custom resource) or `plx-cleaner-<uuid>`.
pub fn uuid_in_name(name: &str) -> Option<&str> {
    let rest = name
        .strip_prefix("plx-operation-")
        .or_else(|| name.strip_prefix("plx-cleaner-"))?;
    let uuid = rest.get(..32)?;
    uuid.chars().all(|c| c.is_ascii_hexdigit()).then_some(uuid)
}

/// True for the containers Polyaxon adds around the user's code.
pub fn is_polyaxon_container(name: &str) -> bool {
    name == "polyaxon-main" || name == "polyaxon-sidecar" || name.starts_with("polyaxon-init-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_polyaxon_pod_maps_to_its_run() {
        let labels = map(&[(MANAGED_BY, "polyaxon"), (INSTANCE, "8f3c")]);
        let annotations = map(&[
            ("operation.polyaxon.com/owner", "acme"),
            ("operation.polyaxon.com/project", "mnist"),
            ("operation.polyaxon.com/name", "train"),
            ("operation.polyaxon.com/kind", "job"),
        ]);
        let run = run_of(Some(&labels), Some(&annotations)).unwrap();
        assert_eq!(run.uuid, "8f3c");
        assert_eq!(run.project.as_deref(), Some("mnist"));
        assert_eq!(run.kind.as_deref(), Some("job"));
    }

    #[test]
    fn helm_managed_or_unlabelled_pods_are_not_runs() {
        let helm = map(&[(MANAGED_BY, "helm"), (INSTANCE, "polyaxon")]);
        assert_eq!(run_of(Some(&helm), None), None);
        let no_instance = map(&[(MANAGED_BY, "polyaxon")]);
        assert_eq!(run_of(Some(&no_instance), None), None);
        assert_eq!(run_of(None, None), None);
    }

    #[test]
    fn run_objects_carry_the_uuid_in_their_name() {
        assert_eq!(
            uuid_in_name("plx-operation-8f3c2a1b9d7e4c5fa0b1c2d3e4f5a6b7"),
            Some("8f3c2a1b9d7e4c5fa0b1c2d3e4f5a6b7")
        );
        assert_eq!(
            uuid_in_name("plx-operation-8f3c2a1b9d7e4c5fa0b1c2d3e4f5a6b7-x2x8q"),
            Some("8f3c2a1b9d7e4c5fa0b1c2d3e4f5a6b7")
        );
        assert_eq!(uuid_in_name("plx-operation-short"), None);
        assert_eq!(uuid_in_name("polyaxon-api"), None);
    }

    #[test]
    fn polyaxon_containers_are_recognised_by_name() {
        assert!(is_polyaxon_container("polyaxon-init-git-repo"));
        assert!(is_polyaxon_container("polyaxon-sidecar"));
        assert!(!is_polyaxon_container("tensorflow"));
    }
}
