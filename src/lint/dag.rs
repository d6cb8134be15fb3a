//! A DAG run, built as Polyaxon's DAG builder builds it
//! (`polyaxon/_flow/run/dag.py`, `polyaxon/_flow/dags`): an operation's
//! upstream is its `dependencies`, every op a param names with `ref:
//! ops.X`, and every op an event names; a ref alone is a valid edge.
//!
//! Checked here: cycles (named in order), edges to operations that do not
//! exist, duplicate names, operations without a definition, dagRefs to
//! missing components, triggers, dependencies a ref already implies, and a
//! DAG timeout shorter than its longest path. Params go to [`params`].

use std::collections::BTreeMap;

use super::graph;
use super::params::{self, Call, Interface, Interfaces};
use super::schema;
use super::sink::{Detail, Sink, n, t};
use super::spec::{self, Definition, Param, Upstream, Via};
use super::yaml::{Node, Pos};

/// One operation of the DAG.
struct Op<'a> {
    name: String,
    node: &'a Node,
    params: Vec<Param<'a>>,
    /// The component it runs, when this file defines it.
    component: Option<&'a Node>,
}

/// Checks a `kind: dag` run; `timeout` is the DAG's own
/// `termination.timeout` with where it is written.
pub fn check(run: &Node, timeout: Option<(f64, Pos)>, sink: &mut Sink) {
    let components = components(run, sink);
    let operations = run.get("operations").map(Node::items).unwrap_or_default();
    if operations.is_empty() {
        sink.add(
            "invalid_value",
            run.get("operations").unwrap_or(run).pos,
            vec![
                ("field", t("operations")),
                ("message", t("a dag needs at least one operation")),
                (
                    "polyaxon_error",
                    t("Pipeline is not valid, it has no ops to validate components."),
                ),
            ],
        );
        return;
    }

    let mut ops: Vec<Op> = Vec::new();
    for node in operations {
        let Some(name) = node.str_at("name") else {
            sink.add(
                "invalid_value",
                node.pos,
                vec![
                    ("field", t("name")),
                    (
                        "message",
                        t("every operation of a dag needs a `name`: the DAG's edges are names"),
                    ),
                ],
            );
            continue;
        };
        if ops.iter().any(|op| op.name == name) {
            let at = node.get("name").map_or(node.pos, |n| n.pos);
            sink.add(
                "duplicate_name",
                at,
                vec![
                    ("entity", t("operation")),
                    ("op", t(name.clone())),
                    (
                        "polyaxon_error",
                        t(format!(
                            "Pipeline has multiple ops with the same name `{name}`"
                        )),
                    ),
                ],
            );
            continue;
        }
        let component = definition(&name, node, &components, sink);
        ops.push(Op {
            params: spec::params(node),
            name,
            node,
            component,
        });
    }

    let upstream: Vec<Vec<Upstream>> = ops
        .iter()
        .map(|op| spec::upstream(op.node, &op.params))
        .collect();
    let index: BTreeMap<&str, usize> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| (op.name.as_str(), i))
        .collect();

    for (i, op) in ops.iter().enumerate() {
        orphans(op, &upstream[i], &index, sink);
        trigger(op, &upstream[i], sink);
        implied(op, &upstream[i], &index, sink);
    }
    let acyclic = cycles(&ops, &upstream, &index, sink);

    let interfaces: Interfaces = ops
        .iter()
        .filter_map(|op| Some((op.name.clone(), interface(&op.name, op.component?))))
        .collect();
    for op in &ops {
        let call = Call {
            op: &op.name,
            node: op.node,
            params: &op.params,
            interface: interfaces.get(&op.name),
            in_dag: true,
        };
        params::check(&call, &interfaces, sink);
    }

    if acyclic && let Some((limit, at)) = timeout {
        longest_path(&ops, &upstream, &index, limit, at, sink);
    }

    // A DAG can run DAGs.
    for op in &ops {
        if let Some(component) = op.component {
            nested(component, sink);
        }
    }
}

/// A component whose run is itself a DAG is checked the same way.
pub fn nested(component: &Node, sink: &mut Sink) {
    if let Some(run) = component.get("run")
        && run.str_at("kind").as_deref() == Some("dag")
    {
        let timeout = spec::timeout(component).map(|limit| (limit, timeout_pos(component)));
        check(run, timeout, sink);
    }
}

pub fn timeout_pos(component: &Node) -> Pos {
    component
        .get("termination")
        .and_then(|t| t.get("timeout"))
        .map_or(component.pos, |n| n.pos)
}

/// The interface an operation's component declares.
pub fn interface<'a>(fallback: &str, component: &'a Node) -> Interface<'a> {
    Interface {
        name: component
            .str_at("name")
            .unwrap_or_else(|| fallback.to_string()),
        inputs: spec::ios(component.get("inputs")),
        outputs: spec::ios(component.get("outputs")),
        strict: spec::strict(component),
    }
}

/// The DAG's reusable components, by name; a second one of a name is
/// reported, the first kept (as Polyaxon refuses the pipeline).
fn components<'a>(run: &'a Node, sink: &mut Sink) -> BTreeMap<String, &'a Node> {
    let mut by_name = BTreeMap::new();
    for component in run.get("components").map(Node::items).unwrap_or_default() {
        let Some(name) = component.str_at("name") else {
            continue;
        };
        if by_name.contains_key(&name) {
            let at = component.get("name").map_or(component.pos, |n| n.pos);
            sink.add(
                "duplicate_name",
                at,
                vec![
                    ("entity", t("component")),
                    ("component", t(name.clone())),
                    (
                        "polyaxon_error",
                        t(format!(
                            "Pipeline has multiple components with the same name `{name}`"
                        )),
                    ),
                ],
            );
            continue;
        }
        by_name.insert(name, component);
    }
    by_name
}

/// The component an operation runs, if it is in this file; reports an
/// operation without exactly one definition, or with a dagRef to nothing.
fn definition<'a>(
    name: &str,
    op: &'a Node,
    components: &BTreeMap<String, &'a Node>,
    sink: &mut Sink,
) -> Option<&'a Node> {
    let at = op.get("name").map_or(op.pos, |n| n.pos);
    match spec::definition(op) {
        Definition::Inline(component) => Some(component),
        Definition::DagRef(reference, node) => match components.get(&reference) {
            Some(component) => Some(component),
            None => {
                let mut details = vec![
                    ("op", t(name)),
                    ("component", t(reference.clone())),
                    (
                        "declared",
                        t(if components.is_empty() {
                            "none".to_string()
                        } else {
                            components.keys().cloned().collect::<Vec<_>>().join(", ")
                        }),
                    ),
                    (
                        "polyaxon_error",
                        t(format!(
                            "Pipeline op with name `{name}` requires a component with name `{reference}`, which is not defined on this pipeline."
                        )),
                    ),
                ];
                let names: Vec<&str> = components.keys().map(String::as_str).collect();
                if let Some(suggestion) = schema::suggest(&reference, &names) {
                    details.push(("suggestion", t(suggestion)));
                }
                sink.add("missing_dag_ref", node.pos, details);
                None
            }
        },
        Definition::External | Definition::Preset => None,
        Definition::Missing => {
            sink.add(
                "no_definition",
                at,
                vec![
                    ("op", t(name)),
                    (
                        "polyaxon_error",
                        t(format!("Pipeline op has no definition field `{name}`")),
                    ),
                ],
            );
            None
        }
        Definition::Several(found) => {
            ambiguous(name, at, &found, sink);
            None
        }
    }
}

pub fn ambiguous(name: &str, at: Pos, found: &[&str], sink: &mut Sink) {
    sink.add(
        "ambiguous_definition",
        at,
        vec![
            ("op", t(name)),
            ("value", t(found.join(", "))),
            (
                "polyaxon_error",
                t("One and only one reference must be specified: hub_ref, dag_ref, url_ref, path_ref, component."),
            ),
        ],
    );
}

/// Edges to operations the DAG does not have: Polyaxon's "orphan ops".
fn orphans(op: &Op, upstream: &[Upstream], index: &BTreeMap<&str, usize>, sink: &mut Sink) {
    for edge in upstream {
        if index.contains_key(edge.name.as_str()) {
            continue;
        }
        let names: Vec<&str> = index.keys().copied().collect();
        let mut details = vec![
            ("op", t(op.name.clone())),
            ("upstream", t(edge.name.clone())),
            ("via", t(via(edge))),
            (
                "polyaxon_error",
                t(format!(
                    "Pipeline has a non valid dag, the dag contains an orphan ops: `{{'{}'}}`, check if you are referencing this op in a parameter or a condition",
                    edge.name
                )),
            ),
        ];
        if let Some(suggestion) = schema::suggest(&edge.name, &names) {
            details.push(("suggestion", t(suggestion)));
        }
        sink.add("orphan_ref", edge.at, details);
    }
}

fn via(edge: &Upstream) -> String {
    match (edge.via, edge.param) {
        (Via::Param, Some(param)) => format!("param `{param}` (ref: ops.{})", edge.name),
        (via, _) => via.describe().to_string(),
    }
}

fn trigger(op: &Op, upstream: &[Upstream], sink: &mut Sink) {
    let Some(node) = op.node.get("trigger") else {
        return;
    };
    let Some(value) = node.text() else {
        return;
    };
    if value.contains("{{") {
        return;
    }
    if !schema::TRIGGERS.contains(&value.as_str()) {
        let mut details = vec![
            ("op", t(op.name.clone())),
            ("trigger", t(value.clone())),
            ("allowed", t(schema::TRIGGERS.join(", "))),
        ];
        if let Some(suggestion) = schema::suggest(&value, schema::TRIGGERS) {
            details.push(("suggestion", t(suggestion)));
        }
        sink.add("bad_trigger", node.pos, details);
    } else if upstream.is_empty() {
        sink.add(
            "trigger_without_upstream",
            node.pos,
            vec![("op", t(op.name.clone())), ("trigger", t(value))],
        );
    }
}

/// A `dependencies` entry that a param or event ref already makes (an
/// edge to nothing is reported as an orphan instead).
fn implied(op: &Op, upstream: &[Upstream], index: &BTreeMap<&str, usize>, sink: &mut Sink) {
    for dependency in upstream
        .iter()
        .filter(|u| u.via == Via::Dependency && index.contains_key(u.name.as_str()))
    {
        let Some(other) = upstream
            .iter()
            .find(|u| u.via != Via::Dependency && u.name == dependency.name)
        else {
            continue;
        };
        sink.add(
            "implied_dependency",
            dependency.at,
            vec![
                ("op", t(op.name.clone())),
                ("upstream", t(dependency.name.clone())),
                ("via", t(via(other))),
            ],
        );
    }
}

/// Reports every cycle (one per group of operations that wait for each
/// other), named in the order they would wait; says whether the DAG is
/// acyclic.
fn cycles(
    ops: &[Op],
    upstream: &[Vec<Upstream>],
    index: &BTreeMap<&str, usize>,
    sink: &mut Sink,
) -> bool {
    let downstream = downstream(upstream, index);
    let found = graph::cycles(&downstream);
    for path in &found {
        let start = path[0];
        let names: Vec<&str> = path.iter().map(|&i| ops[i].name.as_str()).collect();
        let order = format!("{} → {}", names.join(" → "), names[0]);
        let mut edges = Vec::new();
        let mut closing = ops[start].node.pos;
        for (k, &u) in path.iter().enumerate() {
            let v = path[(k + 1) % path.len()];
            let &(_, e) = downstream[u]
                .iter()
                .find(|&&(w, _)| w == v)
                .expect("edge on the cycle");
            let edge = &upstream[v][e];
            edges.push(format!(
                "{} waits for {} ({})",
                ops[v].name,
                ops[u].name,
                via(edge)
            ));
            if v == start {
                closing = edge.at;
            }
        }
        let details: Vec<Detail> = vec![
            ("op", t(ops[start].name.clone())),
            ("ops", t(order)),
            ("edges", t(edges.join("; "))),
            ("nodes", n(path.len() as f64)),
            ("polyaxon_error", t("Pipeline's graph is not acyclic.")),
        ];
        sink.add("cycle", closing, details);
    }
    found.is_empty()
}

/// For each operation, the operations that wait for it, with the index of
/// the edge (in the waiting operation's upstream list) that makes them.
fn downstream(
    upstream: &[Vec<Upstream>],
    index: &BTreeMap<&str, usize>,
) -> Vec<Vec<(usize, usize)>> {
    let mut downstream: Vec<Vec<(usize, usize)>> = vec![Vec::new(); upstream.len()];
    for (v, edges) in upstream.iter().enumerate() {
        for (e, edge) in edges.iter().enumerate() {
            if let Some(&u) = index.get(edge.name.as_str())
                && !downstream[u].iter().any(|&(w, _)| w == v)
            {
                downstream[u].push((v, e));
            }
        }
    }
    downstream
}

/// The sum of operation timeouts along the DAG's slowest chain, against the
/// DAG's own timeout. Operations without a timeout count as 0, so the sum
/// is a lower bound and a finding is certain.
fn longest_path(
    ops: &[Op],
    upstream: &[Vec<Upstream>],
    index: &BTreeMap<&str, usize>,
    limit: f64,
    at: Pos,
    sink: &mut Sink,
) {
    let own: Vec<f64> = ops
        .iter()
        .map(|op| {
            spec::timeout(op.node)
                .or_else(|| op.component.and_then(spec::timeout))
                .unwrap_or(0.0)
        })
        .collect();
    let before: Vec<Vec<usize>> = upstream
        .iter()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|edge| index.get(edge.name.as_str()).copied())
                .collect()
        })
        .collect();
    let (total, path) = graph::longest_path(&before, &own);
    if total <= limit {
        return;
    }
    let chain = path
        .iter()
        .map(|&i| format!("{} ({}s)", ops[i].name, own[i]))
        .collect::<Vec<_>>()
        .join(" → ");
    sink.add(
        "timeout_shorter_than_path",
        at,
        vec![
            ("timeout", n(limit)),
            ("path_timeout", n(total)),
            ("ops", t(chain)),
        ],
    );
}
