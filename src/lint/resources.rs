//! Container resources the API server refuses: an extended resource (a GPU)
//! or hugepages requested without a limit or with a request different from
//! the limit, and a request above its limit
//! (`ValidateResourceRequirements` in Kubernetes' pkg/apis/core/validation).
//! Polyaxon creates the run, then the pod is rejected.

use crate::facts::shared::quantity::parse_milli;

use super::sink::{Sink, t};
use super::workload::{Container, Pod};
use super::yaml::Node;

/// Kubernetes lets requests be below limits only for its native resources
/// other than hugepages (`IsOvercommitAllowed`).
pub fn overcommit_allowed(resource: &str) -> bool {
    let native = !resource.contains('/') || resource.contains("kubernetes.io/");
    native && !resource.starts_with("hugepages-")
}

/// A quantity as written, and its value; None for templates such as
/// `{{ gpus }}` that Polyaxon fills in later.
pub fn quantity(node: &Node) -> Option<(String, i64)> {
    let text = node.text()?;
    if text.contains("{{") {
        return None;
    }
    let milli = parse_milli(&text)?;
    Some((text, milli))
}

pub fn check(pods: &[Pod], sink: &mut Sink) {
    for pod in pods {
        for container in pod.containers.iter().chain(&pod.inits) {
            self::container(&pod.label, container, sink);
        }
    }
}

fn container(label: &str, container: &Container, sink: &mut Sink) {
    let limits = container.resources("limits");
    for (resource, node) in container.resources("requests") {
        let Some((request, request_milli)) = quantity(node) else {
            continue;
        };
        let details = |extra: Vec<(&'static str, crate::facts::shared::value::Value<'static>)>| {
            let mut all = vec![
                ("op", t(label)),
                ("container", t(container.name.clone())),
                ("resource", t(resource.clone())),
                ("request", t(request.clone())),
            ];
            all.extend(extra);
            all
        };
        let limit = limits.get(&resource).and_then(|n| quantity(n));
        match limit {
            None if !overcommit_allowed(&resource) && !limits.contains_key(&resource) => sink.add(
                "gpu_without_limits",
                node.pos,
                details(vec![(
                    "api_error",
                    t(format!(
                        "resources.limits[{resource}]: Required value: Limit must be set for non overcommitable resources"
                    )),
                )]),
            ),
            Some((limit, limit_milli))
                if !overcommit_allowed(&resource) && limit_milli != request_milli =>
            {
                sink.add(
                    "gpu_request_ne_limit",
                    node.pos,
                    details(vec![
                        ("limit", t(limit.clone())),
                        (
                            "api_error",
                            t(format!(
                                "resources.requests[{resource}]: Invalid value: \"{request}\": must be equal to {resource} limit of {limit}"
                            )),
                        ),
                    ]),
                )
            }
            Some((limit, limit_milli)) if request_milli > limit_milli => sink.add(
                "request_above_limit",
                node.pos,
                details(vec![
                    ("limit", t(limit.clone())),
                    (
                        "api_error",
                        t(format!(
                            "resources.requests[{resource}]: Invalid value: \"{request}\": must be less than or equal to {resource} limit of {limit}"
                        )),
                    ),
                ]),
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_native_resources_but_hugepages_may_overcommit() {
        assert!(overcommit_allowed("cpu"));
        assert!(overcommit_allowed("memory"));
        assert!(overcommit_allowed("ephemeral-storage"));
        assert!(!overcommit_allowed("nvidia.com/gpu"));
        assert!(!overcommit_allowed("hugepages-2Mi"));
        assert!(overcommit_allowed("kubernetes.io/something"));
    }
}
