//! Params against the inputs and outputs they feed, as Polyaxon validates
//! them (`polyaxon/_flow/params`): refs to upstream outputs that exist and
//! have a compatible type, required inputs that get a value, and params no
//! input or output declares.

use std::collections::BTreeMap;

use super::schema;
use super::sink::{Detail, Sink, t};
use super::spec::{Io, Param, ops_entity};
use super::yaml::{Node, Yaml};

/// The inputs and outputs of the component an operation runs.
pub struct Interface<'a> {
    /// The component's name, as Polyaxon's messages name it.
    pub name: String,
    pub inputs: Vec<Io<'a>>,
    pub outputs: Vec<Io<'a>>,
    pub strict: bool,
}

impl Interface<'_> {
    fn io(&self, section: &str, name: &str) -> Option<&Io<'_>> {
        let list = if section == "inputs" {
            &self.inputs
        } else {
            &self.outputs
        };
        list.iter().find(|io| io.name == name)
    }

    fn declared(&self, section: &str) -> String {
        let list = if section == "inputs" {
            &self.inputs
        } else {
            &self.outputs
        };
        if list.is_empty() {
            "none".to_string()
        } else {
            list.iter()
                .map(|io| io.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// An operation's params, with what they feed and what they read.
pub struct Call<'a, 'b> {
    pub op: &'b str,
    pub node: &'a Node,
    pub params: &'b [Param<'a>],
    pub interface: Option<&'b Interface<'a>>,
    /// Whether the operation sits in a DAG (ops refs resolve there).
    pub in_dag: bool,
}

/// The interfaces of a DAG's operations, by operation name (only those
/// whose component is in the file).
pub type Interfaces<'a> = BTreeMap<String, Interface<'a>>;

/// Checks one operation's params; `upstream` holds its sibling operations.
pub fn check<'a>(call: &Call<'a, '_>, upstream: &Interfaces<'a>, sink: &mut Sink) {
    for param in call.params {
        if call.in_dag {
            references(call, param, upstream, sink);
        }
        if let Some(interface) = call.interface {
            undeclared(call, interface, param, sink);
            literal(call, interface, param, sink);
        }
    }
    if let Some(interface) = call.interface {
        required(call, interface, sink);
    }
}

/// What a param reads from another operation: `ref: ops.X` with `value:
/// outputs.y` (or `{{ outputs.y }}`), or a template `{{ ops.X.outputs.y }}`.
fn read_of(param: &Param) -> Option<(String, String, String)> {
    let value = param.value()?.text()?;
    let inner = template_inner(&value);
    if let Some(reference) = param.reference() {
        let op = ops_entity(&reference)?.to_string();
        let (section, name) = inner.split_once('.')?;
        return Some((op, section.trim().into(), name.trim().into()));
    }
    let rest = inner.strip_prefix("ops.")?;
    let mut parts = rest.splitn(3, '.');
    let (op, section, name) = (parts.next()?, parts.next()?, parts.next()?);
    Some((op.trim().into(), section.trim().into(), name.trim().into()))
}

/// The expression of `{{ ... }}`, or the text itself.
fn template_inner(value: &str) -> &str {
    let trimmed = value.trim();
    trimmed
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
        .map_or(trimmed, str::trim)
}

fn references<'a>(
    call: &Call<'a, '_>,
    param: &Param<'a>,
    upstream: &Interfaces<'a>,
    sink: &mut Sink,
) {
    let Some((op, section, name)) = read_of(param) else {
        return;
    };
    // Only inputs and outputs are declared; artifacts are logged at run
    // time and globals always exist, as Polyaxon's own check allows.
    if section != "outputs" && section != "inputs" {
        return;
    }
    let Some(source) = upstream.get(&op) else {
        return;
    };
    let value = param.value().and_then(Node::text).unwrap_or_default();
    let reference = param.reference().unwrap_or_else(|| format!("ops.{op}"));
    let mut details: Vec<Detail> = vec![
        ("op", t(call.op)),
        ("param", t(param.name.clone())),
        ("upstream", t(op.clone())),
        ("ref", t(reference.clone())),
        ("value", t(value.clone())),
        ("section", t(section.clone())),
        ("output", t(name.clone())),
        ("component", t(source.name.clone())),
    ];
    let Some(io) = source.io(&section, &name) else {
        details.push(("declared", t(source.declared(&section))));
        let known: Vec<&str> = if section == "inputs" {
            source.inputs.iter().map(|io| io.name.as_str()).collect()
        } else {
            source.outputs.iter().map(|io| io.name.as_str()).collect()
        };
        if let Some(suggestion) = schema::suggest(&name, &known) {
            details.push(("suggestion", t(suggestion)));
        }
        details.push((
            "polyaxon_error",
            t(format!(
                "Param `{}` has a ref value `{value}`, but reference with name `{reference}` has no such information, please check that your polyaxonfile defines the correct template",
                param.name
            )),
        ));
        sink.add("missing_output", param.key.pos, details);
        return;
    };
    let input_type = call
        .interface
        .and_then(|interface| interface.io("inputs", &param.name))
        .and_then(|input| input.ty.clone());
    if let (Some(input_type), Some(output_type)) = (input_type, io.ty.clone())
        && !compatible(&input_type, &output_type)
    {
        details.push(("input_type", t(input_type.clone())));
        details.push(("output_type", t(output_type.clone())));
        details.push((
            "polyaxon_error",
            t(format!(
                "Param `{}` has a an input type `{input_type}` and it does not correspond to the type of the value `{value}` received from `{reference}` with type `{output_type}`",
                param.name
            )),
        ));
        sink.add("type_mismatch", param.key.pos, details);
    }
}

/// Polyaxon's types that carry the same kind of value (`types.are_compatible`:
/// str with path and the object-store paths, float with metric). Only
/// plain named types are compared; anything else (List[...], Dict[...],
/// custom) is left to Polyaxon.
/// A string Polyaxon reads as a boolean, in any case: pydantic's words
/// (fields) and Polyaxon's param parser agree on them; `polyaxon --offline
/// check` 2.18.0 passes "on", "off", "Y", "True" for a bool param and
/// refuses "2" (testdata/polyaxonfiles/differential/valid/61).
pub fn is_bool_word(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "1" | "0" | "t" | "f" | "y" | "n"
    )
}

pub fn compatible(a: &str, b: &str) -> bool {
    const GROUPS: [&[&str]; 2] = [&["str", "path", "s3", "gcs", "wasb"], &["float", "metric"]];
    const PLAIN: &[&str] = &[
        "int",
        "float",
        "bool",
        "str",
        "dict",
        "list",
        "uri",
        "auth",
        "gcs",
        "s3",
        "wasb",
        "dockerfile",
        "git",
        "image",
        "event",
        "artifacts",
        "path",
        "metric",
        "metadata",
        "date",
        "datetime",
        "uuid",
        "file",
        "tensorboard",
    ];
    let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    if a == b || !PLAIN.contains(&a.as_str()) || !PLAIN.contains(&b.as_str()) {
        return true;
    }
    GROUPS
        .iter()
        .any(|group| group.contains(&a.as_str()) && group.contains(&b.as_str()))
}

/// A param's own value against the declared type of its input, as
/// Polyaxon parses it (`polyaxon._flow.io` → `parser.parse`): only int,
/// float and bool are judged; templates and refs are left to run time.
fn literal(call: &Call, interface: &Interface, param: &Param, sink: &mut Sink) {
    if param.reference().is_some() {
        return;
    }
    let Some(declared) = interface
        .io("inputs", &param.name)
        .and_then(|input| input.ty.clone())
    else {
        return;
    };
    let Some(value) = param.value() else {
        return;
    };
    let parses = match (declared.trim(), &value.value) {
        (_, Yaml::Null) => true,
        (_, Yaml::Str(text)) if text.contains("{{") => true,
        ("int", Yaml::Num(n)) => n.fract() == 0.0,
        ("int", Yaml::Str(text)) => text.trim().parse::<i64>().is_ok(),
        ("float", Yaml::Num(_)) => true,
        ("float", Yaml::Str(text)) => text.trim().parse::<f64>().is_ok(),
        ("bool", Yaml::Bool(_)) => true,
        ("bool", Yaml::Num(n)) => *n == 0.0 || *n == 1.0,
        ("bool", Yaml::Str(text)) => is_bool_word(text.trim()),
        ("int" | "float" | "bool", _) => false,
        _ => true,
    };
    if parses {
        return;
    }
    let written = match &value.value {
        Yaml::Map(_) => "a mapping".to_string(),
        Yaml::Seq(_) => "a list".to_string(),
        _ => format!("`{}`", value.text().unwrap_or_default()),
    };
    sink.add(
        "bad_param_value",
        value.pos,
        vec![
            ("op", t(call.op)),
            ("param", t(param.name.clone())),
            ("input_type", t(declared.clone())),
            ("value", t(written.clone())),
            (
                "polyaxon_error",
                t(format!(
                    "Could not parse value {written} for `{}` … Cannot convert value to `{declared}`",
                    param.name
                )),
            ),
        ],
    );
}

fn undeclared(call: &Call, interface: &Interface, param: &Param, sink: &mut Sink) {
    let declared = interface.inputs.iter().chain(&interface.outputs);
    if declared.clone().any(|io| io.name == param.name) {
        return;
    }
    let context_only = param.context_only();
    if context_only == Some(true) {
        return;
    }
    let strict = context_only == Some(false) || interface.strict || super::spec::strict(call.node);
    let names: Vec<&str> = declared.map(|io| io.name.as_str()).collect();
    let mut details: Vec<Detail> = vec![
        ("op", t(call.op)),
        ("param", t(param.name.clone())),
        ("component", t(interface.name.clone())),
        ("strict", crate::facts::shared::value::Value::Bool(strict)),
        (
            "declared",
            t(if names.is_empty() {
                "no inputs or outputs".to_string()
            } else {
                names.join(", ")
            }),
        ),
    ];
    if let Some(suggestion) = schema::suggest(&param.name, &names) {
        details.push(("suggestion", t(suggestion)));
    }
    let error = if context_only == Some(false) {
        format!(
            "Param `{}` requires a matching input/output declaration.",
            param.name
        )
    } else {
        format!(
            "Received undeclared param `{}`; declare an input/output or set `contextOnly: true`.",
            param.name
        )
    };
    if strict {
        details.push(("polyaxon_error", t(error)));
    }
    sink.add("unknown_param", param.key.pos, details);
}

fn required(call: &Call, interface: &Interface, sink: &mut Sink) {
    // A matrix or joins may supply the value; Polyaxon checks those itself.
    if call.node.get("matrix").is_some() || call.node.get("joins").is_some() {
        return;
    }
    for input in &interface.inputs {
        if input.optional || input.delayed || call.params.iter().any(|p| p.name == input.name) {
            continue;
        }
        let at = call.node.get("name").unwrap_or(call.node);
        sink.add(
            "missing_required_input",
            at.pos,
            vec![
                ("op", t(call.op)),
                ("param", t(input.name.clone())),
                ("component", t(interface.name.clone())),
                (
                    "input_type",
                    t(input.ty.clone().unwrap_or_else(|| "any".into())),
                ),
                (
                    "polyaxon_error",
                    t(format!(
                        "Input {} is required, no param was passed. Please check: <op {}>.<component {}>",
                        input.name, call.op, interface.name
                    )),
                ),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatible_types_follow_polyaxon() {
        assert!(compatible("str", "path"));
        assert!(compatible("float", "metric"));
        assert!(compatible("List[int]", "str"));
        assert!(!compatible("int", "str"));
        assert!(!compatible("bool", "float"));
    }

    #[test]
    fn template_values_are_unwrapped() {
        assert_eq!(template_inner("{{ outputs.model }}"), "outputs.model");
        assert_eq!(template_inner("outputs.model"), "outputs.model");
    }
}
