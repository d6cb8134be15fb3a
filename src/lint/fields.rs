//! Unknown fields, with a "did you mean": every mapping of the file is
//! compared with the section of Polyaxon's schema it stands for.
//!
//! Distributed and cluster run kinds (tfjob, pytorchjob, rayjob, ...) are
//! recognised but their own fields are not checked; their replicas'
//! containers and environments are.

use super::schema::{self, Section};
use super::sink::{Sink, t};
use super::yaml::{Node, Yaml};

pub fn component(node: &Node, sink: &mut Sink) {
    section(node, &schema::COMPONENT, sink);
    for list in ["inputs", "outputs"] {
        for io in node.get(list).map(Node::items).unwrap_or_default() {
            section(io, &schema::IO, sink);
        }
    }
    termination(node, sink);
    match node.get("run") {
        Some(run) => self::run(run, sink),
        None if !node.is_null() => invalid(
            sink,
            node,
            "run",
            "a component needs a `run` section (a job, service, dag or another run kind)",
        ),
        None => {}
    }
}

pub fn operation(node: &Node, sink: &mut Sink) {
    section(node, &schema::OPERATION, sink);
    for (key, param) in node.get("params").map(Node::entries).unwrap_or_default() {
        let full = matches!(&param.value, Yaml::Map(entries)
            if entries.iter().any(|(k, _)| schema::PARAM.knows(&k.name)));
        if full {
            section_named(
                param,
                &schema::PARAM,
                &format!("param `{}`", key.name),
                sink,
            );
        }
    }
    for event in node.get("events").map(Node::items).unwrap_or_default() {
        section(event, &schema::EVENT, sink);
    }
    termination(node, sink);
    if let Some(inline) = node.get("component").filter(|c| c.is_map()) {
        component(inline, sink);
    }
    let kind = node
        .get("component")
        .and_then(|c| c.get("run"))
        .and_then(|r| r.str_at("kind"));
    if let (Some(patch), Some(kind)) = (node.get("runPatch"), kind) {
        run_fields(patch, &kind, sink);
    }
}

fn termination(node: &Node, sink: &mut Sink) {
    if let Some(termination) = node.get("termination") {
        section(termination, &schema::TERMINATION, sink);
    }
}

fn run(run: &Node, sink: &mut Sink) {
    let Some(kind) = run.str_at("kind") else {
        invalid(
            sink,
            run,
            "kind",
            "a run needs a `kind` (job, service, dag, tfjob, pytorchjob, ...)",
        );
        return;
    };
    if !schema::RUN_KINDS.contains(&kind.as_str()) {
        let at = run.get("kind").unwrap_or(run);
        let mut details = vec![
            ("field", t("kind")),
            ("value", t(kind.clone())),
            ("allowed", t(schema::RUN_KINDS.join(", "))),
            (
                "message",
                t(format!("`{kind}` is not a run kind Polyaxon knows")),
            ),
        ];
        if let Some(suggestion) = schema::suggest(&kind, schema::RUN_KINDS) {
            details.push(("suggestion", t(suggestion)));
        }
        sink.add("invalid_value", at.pos, details);
        return;
    }
    run_fields(run, &kind, sink);
}

/// The fields of a run (or a runPatch of a run) of `kind`.
fn run_fields(run: &Node, kind: &str, sink: &mut Sink) {
    match schema::run_section(kind) {
        Some(section) => {
            self::section(run, section, sink);
            pod(run, sink);
            if kind == "dag" {
                for op in run.get("operations").map(Node::items).unwrap_or_default() {
                    operation(op, sink);
                }
                for component in run.get("components").map(Node::items).unwrap_or_default() {
                    self::component(component, sink);
                }
            }
        }
        None => {
            for (_, replica) in replicas(run) {
                pod(replica, sink);
            }
        }
    }
}

/// The parts of a run that become a pod: environment, init, containers.
fn pod(run: &Node, sink: &mut Sink) {
    if let Some(environment) = run.get("environment") {
        section(environment, &schema::ENVIRONMENT, sink);
    }
    for init in run.get("init").map(Node::items).unwrap_or_default() {
        section(init, &schema::INIT, sink);
        if let Some(container) = init.get("container") {
            self::container(container, sink);
        }
    }
    for sidecar in run.get("sidecars").map(Node::items).unwrap_or_default() {
        container(sidecar, sink);
    }
    if let Some(container) = run.get("container") {
        self::container(container, sink);
    }
}

fn container(container: &Node, sink: &mut Sink) {
    section(container, &schema::CONTAINER, sink);
    if let Some(resources) = container.get("resources") {
        section(resources, &schema::RESOURCES, sink);
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

fn section(node: &Node, section: &Section, sink: &mut Sink) {
    section_named(node, section, section.name, sink);
}

fn section_named(node: &Node, section: &Section, name: &str, sink: &mut Sink) {
    for (key, _) in node.entries() {
        if section.knows(&key.name) {
            continue;
        }
        let effect = if section.polyaxon {
            "Polyaxon refuses the polyaxonfile: its schema forbids unknown fields (\"Extra inputs are not permitted\")"
        } else {
            "Kubernetes has no such field there, so it never takes effect"
        };
        let mut details = vec![
            ("field", t(key.name.clone())),
            ("section", t(name)),
            ("allowed", t(section.fields.join(", "))),
            ("effect", t(effect)),
        ];
        if let Some(suggestion) = section.suggest(&key.name) {
            details.push(("suggestion", t(suggestion)));
        }
        sink.add("unknown_field", key.pos, details);
    }
}

fn invalid(sink: &mut Sink, at: &Node, field: &str, message: &str) {
    sink.add(
        "invalid_value",
        at.pos,
        vec![("field", t(field)), ("message", t(message))],
    );
}
