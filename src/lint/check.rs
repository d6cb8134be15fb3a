//! Lints one polyaxonfile: every document, every check, into lint facts.

use std::path::Path;

use crate::error::{Position, Problem};
use crate::facts::lint::LintFact;

use super::cluster::Cluster;
use super::params::{self, Call, Interfaces};
use super::sink::{Sink, t};
use super::spec::{self, Definition};
use super::yaml::{self, Node};
use super::{dag, fields, ignore, resources, schema, workload};

/// What the checks may look at besides the file.
#[derive(Default)]
pub struct Options<'a> {
    pub cluster: Option<&'a Cluster>,
    /// `-n`: where runs go when the file does not say.
    pub namespace: Option<&'a str>,
    /// Whether to look at the file's directory for `.polyaxonignore`.
    pub upload_dir: bool,
}

/// Lints the file at `path` (shown as `shown`) with content `text`. A file
/// that is not YAML, or not a polyaxonfile at all, is a problem (exit 2);
/// everything else is a fact for the rules.
pub fn file(
    path: &Path,
    shown: &str,
    text: &str,
    options: &Options,
) -> Result<Vec<LintFact>, Problem> {
    let documents = yaml::parse(Path::new(shown), text)?;
    if documents.is_empty() {
        return Err(Problem {
            position: Position::file(shown),
            message: "empty: a polyaxonfile is a YAML mapping with `kind: component` or `kind: operation`".into(),
        });
    }
    let mut sink = Sink::new(shown, text);
    for document in &documents {
        if !document.is_map() {
            return Err(Problem {
                position: Position::at(shown, document.pos.line, document.pos.column),
                message: "not a polyaxonfile: expected a mapping with `kind: component` or `kind: operation`".into(),
            });
        }
        self::document(document, options, &mut sink);
    }
    if options.upload_dir {
        ignore::check(path, &mut sink);
    }
    Ok(sink.facts)
}

fn document(document: &Node, options: &Options, sink: &mut Sink) {
    const KINDS: [&str; 2] = ["component", "operation"];
    let kind = document.str_at("kind");
    let is_operation = match kind.as_deref() {
        Some("component") => false,
        Some("operation") => true,
        written => {
            let at = document.get("kind").unwrap_or(document);
            let mut details = vec![
                ("field", t("kind")),
                ("allowed", t(KINDS.join(", "))),
                (
                    "message",
                    t(match written {
                        Some(other) => format!("`kind: {other}` is not a polyaxonfile kind"),
                        None => {
                            "a polyaxonfile says what it is: `kind: component` or `kind: operation`"
                                .into()
                        }
                    }),
                ),
            ];
            if let Some(other) = written {
                details.push(("value", t(other)));
                if let Some(suggestion) = schema::suggest(other, &KINDS) {
                    details.push(("suggestion", t(suggestion)));
                }
            }
            sink.add("invalid_value", at.pos, details);
            // Read it as what it looks like, to report the rest.
            document.get("run").is_none()
        }
    };
    if is_operation {
        fields::operation(document, sink);
        operation(document, sink);
    } else {
        fields::component(document, sink);
        dag::nested(document, sink);
    }
    let pods = workload::pods(document);
    resources::check(&pods, sink);
    if let Some(cluster) = options.cluster {
        super::cluster::check(&pods, cluster, options.namespace, sink);
    }
}

/// A standalone operation: exactly one definition, and params that fit the
/// inline component.
fn operation(op: &Node, sink: &mut Sink) {
    let name = op.str_at("name").unwrap_or_else(|| "(unnamed)".into());
    let at = op.get("name").map_or(op.pos, |n| n.pos);
    match spec::definition(op) {
        Definition::Inline(component) => {
            let interface = dag::interface(&name, component);
            let params = spec::params(op);
            let call = Call {
                op: &name,
                node: op,
                params: &params,
                interface: Some(&interface),
                in_dag: false,
            };
            params::check(&call, &Interfaces::new(), sink);
            dag::nested(component, sink);
        }
        Definition::DagRef(reference, node) => sink.add(
            "missing_dag_ref",
            node.pos,
            vec![
                ("op", t(name.clone())),
                ("component", t(reference.clone())),
                (
                    "declared",
                    t("none (a dagRef resolves only inside a dag's `components`)"),
                ),
                (
                    "polyaxon_error",
                    t(format!(
                        "Pipeline op with name `{name}` requires a component with name `{reference}`, which is not defined on this pipeline."
                    )),
                ),
            ],
        ),
        Definition::Missing => sink.add(
            "no_definition",
            at,
            vec![
                ("op", t(name)),
                (
                    "polyaxon_error",
                    t("One and only one reference must be specified: hub_ref, dag_ref, url_ref, path_ref, component."),
                ),
            ],
        ),
        Definition::Several(found) => dag::ambiguous(&name, at, &found, sink),
        Definition::External | Definition::Preset => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (check, line) of what linting `text` finds.
    fn lint(text: &str) -> Vec<(String, u64)> {
        let facts = file(Path::new("t.yaml"), "t.yaml", text, &Options::default()).unwrap();
        facts
            .into_iter()
            .map(|f| (f.check, f.location.line))
            .collect()
    }

    fn dag(operations: &str) -> String {
        format!("kind: component\nrun:\n  kind: dag\n  operations:\n{operations}")
    }

    #[test]
    fn an_operation_waiting_for_itself_is_a_cycle_of_one() {
        let text = dag("    - name: a\n      hubRef: x\n      dependencies: [a]\n");
        assert_eq!(lint(&text), vec![("cycle".to_string(), 7)]);
        let facts = file(Path::new("t"), "t", &text, &Options::default()).unwrap();
        assert_eq!(
            facts[0].details["ops"],
            crate::facts::shared::value::Value::Str("a → a".into())
        );
    }

    #[test]
    fn a_diamond_is_no_cycle_and_separate_cycles_are_each_reported() {
        let diamond = dag(
            "    - {name: a, hubRef: x}\n    - {name: b, hubRef: x, dependencies: [a]}\n    - {name: c, hubRef: x, dependencies: [a]}\n    - {name: d, hubRef: x, dependencies: [b, c]}\n",
        );
        assert_eq!(lint(&diamond), vec![]);
        let two = dag(
            "    - {name: a, hubRef: x, dependencies: [b]}\n    - {name: b, hubRef: x, dependencies: [a]}\n    - {name: c, hubRef: x, dependencies: [d]}\n    - {name: d, hubRef: x, dependencies: [c]}\n",
        );
        let checks: Vec<String> = lint(&two).into_iter().map(|(c, _)| c).collect();
        assert_eq!(checks, vec!["cycle", "cycle"]);
    }

    #[test]
    fn events_make_edges_like_polyaxon() {
        let ok = dag(
            "    - {name: train, hubRef: x}\n    - name: board\n      hubRef: tensorboard\n      events:\n        - {ref: ops.train, kinds: [run_status_running]}\n",
        );
        assert_eq!(lint(&ok), vec![]);
        let orphan = ok.replace("ref: ops.train", "ref: ops.trian");
        assert_eq!(lint(&orphan), vec![("orphan_ref".to_string(), 9)]);
    }

    #[test]
    fn a_template_reading_an_undeclared_output_is_reported() {
        let text = dag(
            "    - name: a\n      component:\n        outputs: [{name: model, type: path}]\n        run: {kind: job, container: {image: x}}\n    - name: b\n      dependencies: [a]\n      params:\n        path: {value: '{{ ops.a.outputs.modle }}', contextOnly: true}\n      hubRef: y\n",
        );
        assert_eq!(lint(&text), vec![("missing_output".to_string(), 12)]);
    }

    #[test]
    fn a_standalone_operation_checks_its_params_against_its_component() {
        let text = "kind: operation\nname: op\nparams:\n  lr: 0.1\ncomponent:\n  inputs:\n    - {name: learning_rate, type: float}\n  run: {kind: job, container: {image: x}}\n";
        let mut found = lint(text);
        found.sort();
        assert_eq!(
            found,
            vec![
                ("missing_required_input".to_string(), 2),
                ("unknown_param".to_string(), 4)
            ]
        );
    }

    #[test]
    fn not_a_polyaxonfile_is_a_problem_not_a_finding() {
        let problem = file(Path::new("t"), "t", "- a\n", &Options::default()).unwrap_err();
        assert_eq!(problem.position.line, Some(1));
        assert!(file(Path::new("t"), "t", "", &Options::default()).is_err());
        assert_eq!(
            lint("kind: componnet\nrun: {kind: job, container: {image: x}}\n"),
            vec![("invalid_value".to_string(), 1)]
        );
    }
}
