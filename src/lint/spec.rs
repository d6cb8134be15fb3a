//! A polyaxonfile read as Polyaxon reads it: components with their inputs
//! and outputs, operations with their params, references and flow fields.
//!
//! These are views over the YAML tree, so every piece keeps its position.

use super::yaml::{Key, Node, Pos, Yaml};

/// One input or output a component declares (V1IO).
pub struct Io<'a> {
    pub name: String,
    pub ty: Option<String>,
    /// `isOptional: true`, or a `value` given (which makes it optional).
    pub optional: bool,
    /// `delayValidation: true` or `validation.delay: true`: resolved later.
    pub delayed: bool,
    pub node: &'a Node,
}

pub fn ios(list: Option<&Node>) -> Vec<Io<'_>> {
    let Some(list) = list else {
        return Vec::new();
    };
    list.items()
        .iter()
        .filter_map(|node| {
            let name = node.str_at("name")?;
            let flag = |key: &str| node.get(key).and_then(Node::as_bool);
            Some(Io {
                name,
                ty: node.str_at("type"),
                optional: flag("isOptional").or(flag("is_optional")) == Some(true)
                    || node.get("value").is_some(),
                delayed: flag("delayValidation").or(flag("delay_validation")) == Some(true)
                    || node
                        .get("validation")
                        .and_then(|v| v.get("delay"))
                        .and_then(Node::as_bool)
                        == Some(true),
                node,
            })
        })
        .collect()
}

/// A param passed by an operation (V1Param), short or full form.
pub struct Param<'a> {
    pub name: String,
    pub key: &'a Key,
    pub node: &'a Node,
    /// Full form: a mapping with any V1Param key (or empty).
    pub full: bool,
}

impl<'a> Param<'a> {
    pub fn field(&self, key: &str) -> Option<&'a Node> {
        if self.full { self.node.get(key) } else { None }
    }

    pub fn reference(&self) -> Option<String> {
        self.field("ref").and_then(Node::text)
    }

    /// The value: the `value` key in full form, the node itself otherwise.
    pub fn value(&self) -> Option<&'a Node> {
        if self.full {
            self.node.get("value")
        } else {
            Some(self.node)
        }
    }

    pub fn context_only(&self) -> Option<bool> {
        self.field("contextOnly")
            .or_else(|| self.field("context_only"))
            .and_then(Node::as_bool)
    }

    pub fn connection(&self) -> Option<&'a Node> {
        self.field("connection")
    }
}

pub fn params(op: &Node) -> Vec<Param<'_>> {
    let Some(params) = op.get("params") else {
        return Vec::new();
    };
    params
        .entries()
        .iter()
        .map(|(key, node)| {
            let full = match &node.value {
                Yaml::Map(entries) => {
                    entries.is_empty() || entries.iter().any(|(k, _)| is_param_key(&k.name))
                }
                Yaml::Null => true,
                _ => false,
            };
            Param {
                name: key.name.clone(),
                key,
                node,
                full,
            }
        })
        .collect()
}

/// A key of a param in full form (`value`, `ref`, `contextOnly`, ...), in
/// either spelling.
fn is_param_key(key: &str) -> bool {
    super::model::current()
        .section("V1Param")
        .is_some_and(|param| param.field(key).is_some())
}

/// What an operation runs (one of hubRef, dagRef, urlRef, pathRef,
/// component).
pub enum Definition<'a> {
    Inline(&'a Node),
    DagRef(String, &'a Node),
    /// hubRef, urlRef or pathRef: defined outside this file.
    External,
    /// `isPreset: true`: a patch for other operations, not run by itself.
    Preset,
    Missing,
    Several(Vec<&'static str>),
}

pub fn definition(op: &Node) -> Definition<'_> {
    if op
        .get("isPreset")
        .or(op.get("is_preset"))
        .and_then(Node::as_bool)
        == Some(true)
    {
        return Definition::Preset;
    }
    let refs: Vec<&'static str> = ["hubRef", "dagRef", "urlRef", "pathRef"]
        .into_iter()
        .filter(|key| op.get(key).is_some_and(|v| !v.is_null()))
        .collect();
    // Polyaxon counts `component` only when no reference is set (a
    // compiled operation carries both), and then reads the inline one.
    let inline = op.get("component").filter(|c| c.is_map());
    // In 2.18 an operation has every field of a component: one that says
    // what it runs (`run` with a kind) is its own definition.
    let own_run = op.get("run").is_some_and(|run| run.get("kind").is_some());
    match (refs.as_slice(), inline) {
        ([] | [_], Some(component)) => Definition::Inline(component),
        ([], None) if own_run => Definition::Inline(op),
        ([], None) => Definition::Missing,
        (["dagRef"], None) => {
            let node = op.get("dagRef").expect("present");
            Definition::DagRef(node.text().unwrap_or_default(), node)
        }
        ([_], None) => Definition::External,
        (_, _) => Definition::Several(refs),
    }
}

/// The operation an `ops.NAME` reference names.
pub fn ops_entity(reference: &str) -> Option<&str> {
    let mut parts = reference.trim().split('.');
    (parts.next()? == "ops").then_some(())?;
    parts.next().filter(|name| !name.is_empty())
}

/// Every upstream an operation names, as Polyaxon's DAG builder collects
/// them: `dependencies`, params with `ref: ops.X`, events with `ref: ops.X`.
pub struct Upstream<'a> {
    pub name: String,
    pub via: Via,
    /// Where the edge is written: the dependency entry, the param's key,
    /// the event's ref.
    pub at: Pos,
    pub param: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Dependency,
    Param,
    Event,
}

impl Via {
    pub fn describe(self) -> &'static str {
        match self {
            Via::Dependency => "dependencies",
            Via::Param => "param ref",
            Via::Event => "event ref",
        }
    }
}

pub fn upstream<'a>(op: &'a Node, params: &'a [Param<'a>]) -> Vec<Upstream<'a>> {
    let mut found = Vec::new();
    for dependency in op.get("dependencies").map(Node::items).unwrap_or_default() {
        if let Some(name) = dependency.text() {
            found.push(Upstream {
                name,
                via: Via::Dependency,
                at: dependency.pos,
                param: None,
            });
        }
    }
    for param in params {
        if let Some(name) = param.reference().as_deref().and_then(ops_entity) {
            found.push(Upstream {
                name: name.to_string(),
                via: Via::Param,
                at: param.key.pos,
                param: Some(&param.name),
            });
        }
    }
    for event in op.get("events").map(Node::items).unwrap_or_default() {
        if let Some(reference) = event.get("ref")
            && let Some(name) = reference.text().as_deref().and_then(ops_entity)
        {
            found.push(Upstream {
                name: name.to_string(),
                via: Via::Event,
                at: reference.pos,
                param: None,
            });
        }
    }
    found
}

/// `termination.timeout` in seconds, when written as a number.
pub fn timeout(node: &Node) -> Option<f64> {
    node.get("termination")?.get("timeout")?.as_number()
}

/// `strictParams: true` on this component or operation.
pub fn strict(node: &Node) -> bool {
    node.get("strictParams")
        .or(node.get("strict_params"))
        .and_then(Node::as_bool)
        == Some(true)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::lint::yaml::parse;

    fn op(text: &str) -> Node {
        parse(Path::new("t.yaml"), text).unwrap().remove(0)
    }

    #[test]
    fn upstream_is_dependencies_param_refs_and_event_refs() {
        let node = op(
            "name: train\ndependencies: [clean]\nparams:\n  data: {ref: ops.preprocess, value: outputs.dataset}\n  lr: 0.1\n  other: {ref: runs.0f3a, value: outputs.x}\nevents:\n  - ref: ops.watch\n    kinds: [run_status_running]\n",
        );
        let params = params(&node);
        let names: Vec<(String, Via)> = upstream(&node, &params)
            .into_iter()
            .map(|u| (u.name, u.via))
            .collect();
        assert_eq!(
            names,
            vec![
                ("clean".to_string(), Via::Dependency),
                ("preprocess".to_string(), Via::Param),
                ("watch".to_string(), Via::Event)
            ]
        );
    }

    #[test]
    fn short_form_params_are_values_and_full_form_has_param_keys() {
        let node = op(
            "params:\n  lr: 0.1\n  config: {optimizer: adam}\n  data: {value: x, toInit: true}\n",
        );
        let params = params(&node);
        assert!(!params[0].full && !params[1].full && params[2].full);
        assert_eq!(
            params[1].value().unwrap().str_at("optimizer").as_deref(),
            Some("adam")
        );
    }

    #[test]
    fn one_and_only_one_definition() {
        assert!(matches!(
            definition(&op("hubRef: x\n")),
            Definition::External
        ));
        assert!(
            matches!(definition(&op("dagRef: x\n")), Definition::DagRef(name, _) if name == "x")
        );
        assert!(matches!(definition(&op("name: x\n")), Definition::Missing));
        assert!(matches!(
            definition(&op("hubRef: x\ndagRef: y\n")),
            Definition::Several(_)
        ));
        assert!(matches!(
            definition(&op("hubRef: x\ncomponent: {run: {kind: job}}\n")),
            Definition::Inline(_)
        ));
        assert!(matches!(
            definition(&op("isPreset: true\n")),
            Definition::Preset
        ));
    }
}
