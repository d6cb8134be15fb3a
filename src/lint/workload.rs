//! The pods a polyaxonfile would create, as seen from the file: for each
//! operation (or the component itself), its containers with their resources
//! and the environment, volumes and connections that apply, after the
//! operation's `runPatch` and what a parent DAG passes down.
//!
//! The resource and cluster checks work on these, so a component shared by
//! several operations is judged with each operation's patch.

use std::collections::BTreeMap;

use super::spec::{self, Definition};
use super::yaml::Node;

/// One pod: its containers and what the run sets around them.
pub struct Pod<'a> {
    /// "op train", "component mnist", with the replica when distributed.
    pub label: String,
    pub containers: Vec<Container<'a>>,
    pub inits: Vec<Container<'a>>,
    /// Run-level sections, most specific first (runPatch, the run, then
    /// enclosing DAG runs): environment, volumes, connections come from
    /// these.
    pub layers: Vec<&'a Node>,
    /// The `namespace` the operation or component asks for.
    pub namespace: Option<String>,
}

/// A container, as layers from most specific (runPatch) to least.
pub struct Container<'a> {
    pub name: String,
    pub layers: Vec<&'a Node>,
}

impl<'a> Container<'a> {
    /// `resources.<kind>` merged over the layers: resource → its value node.
    pub fn resources(&self, kind: &str) -> BTreeMap<String, &'a Node> {
        let mut merged = BTreeMap::new();
        for layer in self.layers.iter().rev() {
            let Some(section) = layer.get("resources").and_then(|r| r.get(kind)) else {
                continue;
            };
            for (key, value) in section.entries() {
                merged.insert(key.name.clone(), value);
            }
        }
        merged
    }
}

impl<'a> Pod<'a> {
    /// The first of `environment.<key>` along the layers.
    pub fn environment(&self, key: &str) -> Option<&'a Node> {
        self.layers
            .iter()
            .find_map(|layer| layer.get("environment").and_then(|env| env.get(key)))
    }

    /// Every item of `<key>` (volumes, connections) along the layers.
    pub fn all(&self, key: &str) -> Vec<&'a Node> {
        self.layers
            .iter()
            .flat_map(|layer| layer.get(key).map(Node::items).unwrap_or_default())
            .collect()
    }
}

/// Every pod a document would create.
pub fn pods(document: &Node) -> Vec<Pod<'_>> {
    let mut found = Vec::new();
    let kind = document.str_at("kind");
    if kind.as_deref() == Some("operation") || (kind.is_none() && document.get("run").is_none()) {
        operation(document, &BTreeMap::new(), &[], &mut found);
    } else {
        let label = format!(
            "component {}",
            document
                .str_at("name")
                .unwrap_or_else(|| "(unnamed)".into())
        );
        component(document, None, &[], &label, None, &mut found);
    }
    found
}

fn operation<'a>(
    op: &'a Node,
    components: &BTreeMap<String, &'a Node>,
    parents: &[&'a Node],
    found: &mut Vec<Pod<'a>>,
) {
    let label = format!(
        "op {}",
        op.str_at("name").unwrap_or_else(|| "(unnamed)".into())
    );
    let namespace = op.str_at("namespace");
    let patch = op.get("runPatch");
    match spec::definition(op) {
        Definition::Inline(inline) => component(inline, patch, parents, &label, namespace, found),
        Definition::DagRef(name, _) => {
            if let Some(shared) = components.get(&name) {
                component(shared, patch, parents, &label, namespace, found);
            }
        }
        // Defined elsewhere: only what the patch itself sets is known.
        Definition::External => {
            if let Some(patch) = patch {
                run(patch, None, parents, &label, namespace, found);
            }
        }
        Definition::Preset | Definition::Missing | Definition::Several(_) => {}
    }
}

fn component<'a>(
    component: &'a Node,
    patch: Option<&'a Node>,
    parents: &[&'a Node],
    label: &str,
    namespace: Option<String>,
    found: &mut Vec<Pod<'a>>,
) {
    let Some(body) = component.get("run") else {
        return;
    };
    let namespace = namespace.or_else(|| component.str_at("namespace"));
    run(body, patch, parents, label, namespace, found);
}

fn run<'a>(
    body: &'a Node,
    patch: Option<&'a Node>,
    parents: &[&'a Node],
    label: &str,
    namespace: Option<String>,
    found: &mut Vec<Pod<'a>>,
) {
    let kind = body.str_at("kind").unwrap_or_default();
    let mut layers: Vec<&Node> = patch.into_iter().collect();
    layers.push(body);
    layers.extend_from_slice(parents);
    match kind.as_str() {
        "dag" => {
            let components: BTreeMap<String, &Node> = body
                .get("components")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|c| Some((c.str_at("name")?, c)))
                .collect();
            for op in body.get("operations").map(Node::items).unwrap_or_default() {
                operation(op, &components, &layers, found);
            }
        }
        "job" | "service" | "" => found.push(pod(label.to_string(), &layers, namespace)),
        _ => {
            // Distributed kinds: one pod shape per replica spec, patched by
            // the same replica of the runPatch.
            for (name, replica) in replicas(body) {
                let patched =
                    patch.and_then(|p| name.split('.').try_fold(p, |node, key| node.get(key)));
                let mut replica_layers: Vec<&Node> = patched.into_iter().collect();
                replica_layers.push(replica);
                replica_layers.extend_from_slice(parents);
                found.push(pod(
                    format!("{label} ({name})"),
                    &replica_layers,
                    namespace.clone(),
                ));
            }
        }
    }
}

fn pod<'a>(label: String, layers: &[&'a Node], namespace: Option<String>) -> Pod<'a> {
    // Containers come from the run and its patch only, never from a parent
    // DAG (whose environment, volumes and connections do apply).
    let own: Vec<&Node> = layers
        .iter()
        .copied()
        .filter(|layer| layer.get("kind").is_none_or(|k| k.as_str() != Some("dag")))
        .collect();
    let main = Container {
        name: "main".into(),
        layers: own.iter().filter_map(|l| l.get("container")).collect(),
    };
    let named = |key: &str| -> Vec<Container<'a>> {
        let mut list: Vec<Container<'a>> = Vec::new();
        for layer in own.iter().rev() {
            for (i, node) in layer
                .get(key)
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let node = if key == "init" {
                    node.get("container")
                } else {
                    Some(node)
                };
                let Some(node) = node else { continue };
                let name = node.str_at("name").unwrap_or_else(|| format!("{key}[{i}]"));
                match list.iter_mut().find(|c| c.name == name) {
                    Some(existing) => existing.layers.insert(0, node),
                    None => list.push(Container {
                        name,
                        layers: vec![node],
                    }),
                }
            }
        }
        list
    };
    let mut containers = Vec::new();
    if !main.layers.is_empty() {
        containers.push(main);
    }
    containers.extend(named("sidecars"));
    Pod {
        label,
        containers,
        inits: named("init"),
        layers: layers.to_vec(),
        namespace,
    }
}

/// The replica specs of a distributed or cluster run: mappings that carry
/// a container or an environment (rayjob's `workers` nests them by name).
pub fn replicas(run: &Node) -> Vec<(String, &Node)> {
    let is_replica =
        |node: &Node| node.get("container").is_some() || node.get("environment").is_some();
    let mut found = Vec::new();
    for (key, value) in run.entries() {
        if is_replica(value) {
            found.push((key.name.clone(), value));
        } else {
            for (inner, nested) in value.entries() {
                if is_replica(nested) {
                    found.push((format!("{}.{}", key.name, inner.name), nested));
                }
            }
        }
    }
    found
}
