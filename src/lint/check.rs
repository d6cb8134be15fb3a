//! Lints one polyaxonfile: every document, every check, into lint facts.

use std::path::Path;

use crate::error::{Position, Problem};
use crate::facts::lint::LintFact;

use super::cluster::Cluster;
use super::fields::Walk;
use super::model::Model;
use super::params::{self, Call, Interfaces};
use super::sink::{Sink, t};
use super::spec::{self, Definition};
use super::yaml::Pos;
use super::yaml::{self, Node};
use super::{dag, ignore, resources, schema, workload};

/// What the checks may look at besides the file.
#[derive(Default)]
pub struct Options<'a> {
    pub cluster: Option<&'a Cluster>,
    /// `-n`: where runs go when the file does not say.
    pub namespace: Option<&'a str>,
    /// Whether to look at the file's directory for `.polyaxonignore`.
    pub upload_dir: bool,
    /// The Polyaxon schema to check against (default: the newest).
    pub model: Option<&'static Model>,
}

/// What linting one file found: facts for the rules, and what it could not
/// check offline.
#[derive(Debug)]
pub struct Linted {
    pub facts: Vec<LintFact>,
    pub not_checked: Vec<crate::report::Skipped>,
}

/// Lints the file at `path` (shown as `shown`) with content `text`. A file
/// that is not YAML, or not a mapping, is a problem (exit 2); everything
/// else is a fact for the rules.
pub fn file(path: &Path, shown: &str, text: &str, options: &Options) -> Result<Linted, Problem> {
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
        self::document(document, path, options, &mut sink);
    }
    if options.upload_dir {
        ignore::check(path, &mut sink);
    }
    Ok(Linted {
        facts: sink.facts,
        not_checked: sink.not_checked,
    })
}

fn document(document: &Node, path: &Path, options: &Options, sink: &mut Sink) {
    let model = options.model.unwrap_or_else(super::model::current);
    if let Some(what) = not_a_polyaxonfile(document, model) {
        let at = document.get("kind").map_or(document.pos, |kind| kind.pos);
        sink.add("not_a_polyaxonfile", at, vec![("looks_like", t(what))]);
        return;
    }
    let kind = document.str_at("kind");
    let kinds: Vec<&str> = model.top.keys().map(String::as_str).collect();
    let is_operation = match kind.as_deref() {
        Some("component") => false,
        Some("operation") => true,
        written => {
            if let Some(other) = written {
                let at = document.get("kind").unwrap_or(document);
                let mut details = vec![
                    ("field", t("kind")),
                    ("allowed", t(kinds.join(", "))),
                    (
                        "message",
                        t(format!("`kind: {other}` is not a polyaxonfile kind")),
                    ),
                    ("value", t(other)),
                    (
                        "polyaxon_error",
                        t(format!(
                            "The Polyaxonfile with kind `{other}` is not a supported value."
                        )),
                    ),
                ];
                if let Some(suggestion) = schema::suggest(other, &kinds) {
                    details.push(("suggestion", t(suggestion)));
                }
                sink.add("invalid_value", at.pos, details);
            }
            // Without `kind` (valid since 2.x), or with a wrong one, it is
            // read as what it looks like.
            document.get("run").is_none()
        }
    };
    // A component says what it runs: `run`, or the 2.18 shortcuts.
    let runs = ["run", "container", "cmd", "ports"]
        .iter()
        .any(|key| document.get(key).is_some());
    if kind.as_deref() == Some("component") && !runs {
        sink.add(
            "invalid_value",
            document.pos,
            vec![
                ("field", t("run")),
                (
                    "message",
                    t("a component needs a `run` (a job, service, dag, ...) or a `container`"),
                ),
                (
                    "polyaxon_error",
                    t("Compile operation received an invalid configuration: the resolved Polyaxonfile has no run."),
                ),
            ],
        );
    }
    let online = Walk::new(model, path.parent(), sink).document(document);
    online_refs(&online, sink);
    if is_operation {
        operation(document, sink);
    } else {
        dag::nested(document, sink);
    }
    let pods = workload::pods(document);
    resources::check(&pods, sink);
    if let Some(cluster) = options.cluster {
        super::cluster::check(&pods, cluster, options.namespace, sink);
    }
}

/// What a YAML mapping that is not a polyaxonfile looks like, when it is
/// not one: a Kubernetes manifest, or a mapping (Helm values, a config)
/// where most top-level keys are no polyaxonfile field. One finding says
/// so, instead of one unknown field per key.
fn not_a_polyaxonfile(document: &Node, model: &Model) -> Option<String> {
    let kind = document.str_at("kind");
    if kind.as_deref().is_some_and(|k| model.top.contains_key(k)) {
        return None;
    }
    if let (Some(api_version), Some(kind)) = (document.str_at("apiVersion"), &kind) {
        return Some(format!(
            "a Kubernetes manifest (apiVersion: {api_version}, kind: {kind})"
        ));
    }
    let section = model.top_section(None)?;
    let keys = document.entries();
    let known = keys
        .iter()
        .filter(|(key, _)| section.field(&key.name).is_some())
        .count();
    if known * 2 >= keys.len() {
        return None;
    }
    let mut shown: Vec<&str> = keys.iter().map(|(k, _)| k.name.as_str()).take(6).collect();
    if keys.len() > shown.len() {
        shown.push("…");
    }
    Some(format!(
        "a YAML mapping{} whose top-level keys ({}) are mostly not polyaxonfile fields (Helm values, or another tool's configuration?)",
        if kind.is_none() {
            " without `kind`"
        } else {
            ""
        },
        shown.join(", ")
    ))
}

/// The references only Polyaxon's API can resolve, for the report's "not
/// checked" list.
fn online_refs(refs: &[(String, String, Pos)], sink: &mut Sink) {
    for (key, value, at) in refs {
        let resource = format!("{key} `{value}` ({}:{})", sink.file, at.line);
        if sink.not_checked.iter().any(|s| s.resource == resource) {
            continue;
        }
        let reason = match key.as_str() {
            "urlRef" => {
                "the component is fetched from that URL when the operation is submitted; lint reads no network"
            }
            _ => {
                "the component is resolved by Polyaxon's API when the operation is submitted; lint reads no network"
            }
        };
        sink.not_checked.push(crate::report::Skipped {
            resource,
            reason: reason.into(),
        });
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
        Definition::Several(found) => {
            // The reference written last is the one too many.
            let extra = found
                .iter()
                .filter_map(|key| op.get(key).map(|n| n.pos))
                .max()
                .unwrap_or(at);
            dag::ambiguous(&name, extra, &found, sink)
        }
        Definition::External | Definition::Preset => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::shared::value::Value;

    /// (check, line) of what linting `text` finds.
    fn lint(text: &str) -> Vec<(String, u64)> {
        let facts = file(Path::new("t.yaml"), "t.yaml", text, &Options::default())
            .unwrap()
            .facts;
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
        let facts = file(Path::new("t"), "t", &text, &Options::default())
            .unwrap()
            .facts;
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

    const JOB: &str = "run:\n  kind: job\n  container:\n    image: x\n";

    #[test]
    fn the_2_18_run_kinds_pass_and_the_removed_ones_are_refused_at_their_line() {
        let dask = "kind: component\nrun:\n  kind: daskcluster\n  worker: {replicas: 2, container: {image: x}}\n  scheduler: {container: {image: x}}\n";
        assert_eq!(lint(dask), vec![]);
        let ray = "kind: component\nrun:\n  kind: raycluster\n  head: {container: {image: x}}\n  workers:\n    small: {replicas: 2, container: {image: x}}\n";
        assert_eq!(lint(ray), vec![]);
        let old = "kind: component\nrun:\n  kind: daskjob\n";
        assert_eq!(lint(old), vec![("invalid_value".to_string(), 3)]);
        let facts = file(Path::new("t"), "t", old, &Options::default())
            .unwrap()
            .facts;
        let said = format!("{:?}", facts[0].details["polyaxon_error"]);
        assert!(
            said.contains("Unsupported run.kind: 'daskjob'") && said.contains("daskcluster"),
            "{said}"
        );
    }

    #[test]
    fn a_tfjob_replica_misnamed_and_a_matrix_param_of_no_kind_are_errors_at_their_line() {
        let tfjob = "kind: component\nrun:\n  kind: tfjob\n  chief: {container: {image: x}}\n  workers: {replicas: 2, container: {image: x}}\n";
        assert_eq!(lint(tfjob), vec![("unknown_field".to_string(), 5)]);
        let matrix = format!(
            "kind: operation\nmatrix:\n  kind: random\n  numRuns: 4\n  params:\n    lr:\n      kind: activation\n      value: [relu]\ncomponent:\n  {}",
            JOB.replace('\n', "\n  ")
        );
        assert_eq!(lint(&matrix), vec![("invalid_value".to_string(), 7)]);
        let no_runs = matrix
            .replace("  numRuns: 4\n", "")
            .replace("activation", "choice");
        assert_eq!(lint(&no_runs), vec![("missing_field".to_string(), 2)]);
    }

    #[test]
    fn what_polyaxon_passes_to_kubernetes_unchecked_is_a_warning_not_a_refusal() {
        let typo = JOB.replace(
            "    image: x\n",
            "    image: x\n    resources: {limts: {cpu: 1}}\n",
        );
        let facts = file(
            Path::new("t"),
            "t",
            &format!("kind: component\n{typo}"),
            &Options::default(),
        )
        .unwrap()
        .facts;
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].check, "unknown_field");
        assert_eq!(facts[0].details["refused"], Value::Bool(false));
        assert_eq!(facts[0].details["suggestion"], Value::Str("limits".into()));
        // The container itself is Polyaxon's to build: a typo there is refused.
        let refused = JOB.replace("    image: x\n", "    image: x\n    comand: [python]\n");
        let facts = file(
            Path::new("t"),
            "t",
            &format!("kind: component\n{refused}"),
            &Options::default(),
        )
        .unwrap()
        .facts;
        assert_eq!(facts[0].details["refused"], Value::Bool(true));
    }

    #[test]
    fn the_2_18_shapes_polyaxon_accepts_lint_clean() {
        // No kind; top-level shortcuts; an operation that runs its own `run`.
        assert_eq!(lint(JOB), vec![]);
        assert_eq!(
            lint(
                "kind: component\ncontainer: {image: x}\ncmd: python train.py\nresources: {cpu: 1, gpu: 1}\nenvironment: {nodeSelector: {pool: gpu}}\n"
            ),
            vec![]
        );
        assert_eq!(
            lint(&format!(
                "kind: operation\nname: op\ninputs: [{{name: lr, type: float, value: 0.1}}]\n{JOB}"
            )),
            vec![]
        );
        // With `kind:`, top-level keys are camelCase only.
        assert_eq!(
            lint(&format!("kind: component\nis_approved: true\n{JOB}")),
            vec![("unknown_field".to_string(), 2)]
        );
    }

    #[test]
    fn a_kubernetes_manifest_or_helm_values_get_one_finding() {
        let manifest =
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 1}\n";
        assert_eq!(lint(manifest), vec![("not_a_polyaxonfile".to_string(), 2)]);
        let values = "api:\n  enabled: true\nui:\n  enabled: true\npostgresql:\n  enabled: false\nartifactsStore: {name: s3}\n";
        assert_eq!(lint(values), vec![("not_a_polyaxonfile".to_string(), 1)]);
    }

    #[test]
    fn a_path_ref_is_resolved_next_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("train.yaml"),
            format!("kind: component\n{JOB}"),
        )
        .unwrap();
        let op = dir.path().join("op.yaml");
        let text = "kind: operation\npathRef: ./train.yaml\n";
        let found = |text: &str| {
            file(&op, "op.yaml", text, &Options::default())
                .unwrap()
                .facts
                .into_iter()
                .map(|f| (f.check, f.location.line))
                .collect::<Vec<_>>()
        };
        assert_eq!(found(text), vec![]);
        assert_eq!(
            found(&text.replace("train.yaml", "trian.yaml")),
            vec![("missing_path_ref".to_string(), 2)]
        );
    }

    #[test]
    fn a_string_command_is_one_item_so_spaces_in_it_break_the_container() {
        let one = |command: &str| {
            lint(&format!(
                "kind: component\nrun:\n  kind: job\n  container:\n    image: x\n    command: {command}\n    args: \"echo hi\"\n"
            ))
        };
        assert_eq!(one("echo"), vec![]);
        assert_eq!(one("[python, train.py]"), vec![]);
        assert_eq!(
            one("python train.py"),
            vec![("invalid_value".to_string(), 6)]
        );
        // And a component must run something.
        assert_eq!(
            lint("kind: component\nname: idle\n"),
            vec![("invalid_value".to_string(), 1)]
        );
    }
}
