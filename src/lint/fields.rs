//! Every mapping of a polyaxonfile against the section of Polyaxon's schema
//! it stands for ([`model`](super::model)): unknown fields (with a "did you
//! mean"), missing required fields, union kinds (run, matrix, matrix
//! params, schedules, early stopping), fixed values, value types, and
//! `pathRef`s resolved next to the file.
//!
//! What Polyaxon refuses is an error; a field Polyaxon passes to Kubernetes
//! unchecked, where Kubernetes has no such field, is a warning (Kubernetes
//! drops it, so it never takes effect).

use std::path::Path;

use super::model::{Extra, Field, Model, Section, Shape, Verdict};
use super::schema;
use super::sink::{Detail, Sink, t};
use super::yaml::{Node, Pos, Yaml};

/// The references a file's operations use that only a server can resolve.
const ONLINE_REFS: [&str; 2] = ["hubRef", "urlRef"];

/// A walk over one document.
pub struct Walk<'w, 'a> {
    model: &'static Model,
    sink: &'w mut Sink<'a>,
    /// The file's directory, where `pathRef`s are resolved.
    dir: Option<&'w Path>,
    /// hubRef / urlRef values met, for the report's "not checked" list.
    online_refs: Vec<(String, String, Pos)>,
}

/// How a mapping is reached.
#[derive(Clone, Copy, Default)]
struct Reach {
    /// Through a field Polyaxon passes to Kubernetes as is.
    unchecked: bool,
    /// A patch or a preset: fields may be left out.
    partial: bool,
    /// Where the value is named: its key, or the list item. A finding about
    /// a whole mapping or list points here rather than at its first child.
    at: Pos,
}

impl<'w, 'a> Walk<'w, 'a> {
    pub fn new(model: &'static Model, dir: Option<&'w Path>, sink: &'w mut Sink<'a>) -> Self {
        Walk {
            model,
            sink,
            dir,
            online_refs: Vec::new(),
        }
    }

    /// A whole document: its top-level keys, then its section. Returns the
    /// references (hubRef, urlRef) only Polyaxon's API can resolve.
    pub fn document(mut self, document: &Node) -> Vec<(String, String, Pos)> {
        let kind = document.str_at("kind");
        let section = match kind.as_deref() {
            Some(kind) if self.model.top.contains_key(kind) => self.model.top[kind].clone(),
            // An unknown kind is reported by the caller; the rest is read
            // as a kind-less polyaxonfile to report what else is wrong.
            _ => self.model.top_default.clone(),
        };
        if kind.is_some() {
            self.top_keys(document);
        }
        let preset = document
            .get("isPreset")
            .or(document.get("is_preset"))
            .and_then(Node::as_bool)
            == Some(true);
        let reach = Reach {
            unchecked: false,
            partial: preset,
            at: document.pos,
        };
        self.section(document, &section, "", reach);
        self.shortcuts(document);
        self.online_refs
    }

    /// The 2.18 top-level shortcuts (`env`, `resources`) have validators
    /// of their own (V1Polyaxonfile): env values are strings, and the
    /// resources shortcut spells the GPU `gpu`.
    fn shortcuts(&mut self, document: &Node) {
        for (key, value) in document.get("env").map(Node::entries).unwrap_or_default() {
            if matches!(value.value, Yaml::Num(_) | Yaml::Bool(_)) {
                let written = value.text().unwrap_or_default();
                self.wrong(
                    value,
                    &format!("env.{}", key.name),
                    &format!("an env value is a string: `{written}` must be quoted"),
                    None,
                    Some(format!(
                        "env.{} must be a string; quote it: \"{written}\".",
                        key.name
                    )),
                );
            }
        }
        for (key, value) in document
            .get("resources")
            .map(Node::entries)
            .unwrap_or_default()
        {
            if key.name == "nvidia.com/gpu" {
                self.wrong(
                    value,
                    "resources",
                    "the resources shortcut spells the GPU `gpu` (it becomes nvidia.com/gpu in the container)",
                    None,
                    Some("resources.nvidia.com/gpu is spelled gpu.".into()),
                );
            }
        }
    }

    /// With `kind:`, Polyaxon first checks the top-level keys against its
    /// list of sections, in camelCase only.
    fn top_keys(&mut self, document: &Node) {
        let known: Vec<&str> = self.model.top_keys.iter().map(String::as_str).collect();
        for (key, _) in document.entries() {
            if known.contains(&key.name.as_str()) {
                continue;
            }
            let mut details = vec![
                ("field", t(key.name.clone())),
                ("section", t("the top level")),
                ("allowed", t(known.join(", "))),
                ("refused", crate::facts::Value::Bool(true)),
                (
                    "effect",
                    t(format!(
                        "Polyaxon refuses the polyaxonfile: \"Unexpected section `{}` in Polyaxonfile\"",
                        key.name
                    )),
                ),
                ("polyaxon_version", t(&self.model.version)),
            ];
            if let Some(suggestion) = schema::suggest(&key.name, &known) {
                details.push(("suggestion", t(suggestion)));
            }
            self.sink.add("unknown_field", key.pos, details);
        }
    }

    fn section(&mut self, node: &Node, name: &str, path: &str, reach: Reach) {
        let model = self.model;
        let Some(section) = model.section(name) else {
            return;
        };
        for (key, value) in node.entries() {
            match section.field(&key.name) {
                Some((alias, field)) => {
                    let at = join(path, alias);
                    let reach = Reach {
                        at: key.pos,
                        ..reach
                    };
                    self.field(node, value, alias, field, &at, section, reach);
                }
                None => self.unknown(key, section, path, reach),
            }
        }
        if !reach.partial && !reach.unchecked {
            for required in &section.required {
                let snake = section
                    .fields
                    .get(required)
                    .and_then(|f| f.snake.as_deref());
                let present = node.get(required).is_some()
                    || snake.is_some_and(|snake| node.get(snake).is_some());
                if !present {
                    self.sink.add(
                        "missing_field",
                        reach.at,
                        vec![
                            ("field", t(required.clone())),
                            ("section", t(shown(path))),
                            (
                                "polyaxon_error",
                                t(format!("{} / Field required", join(path, required))),
                            ),
                            ("polyaxon_version", t(&model.version)),
                        ],
                    );
                }
            }
        }
        if !reach.partial {
            self.run_patch(node, path);
        }
    }

    fn unknown(&mut self, key: &super::yaml::Key, section: &Section, path: &str, reach: Reach) {
        let refused = section.extra == Extra::Forbid && !reach.unchecked;
        if !refused && !section.kubernetes {
            return;
        }
        let names = section.names();
        let effect = if refused {
            "Polyaxon refuses the polyaxonfile: its schema forbids unknown fields (\"Extra inputs are not permitted\")"
        } else {
            "Polyaxon passes it to Kubernetes as written, and Kubernetes has no such field there, so it is dropped and never takes effect"
        };
        let mut details: Vec<Detail> = vec![
            ("field", t(key.name.clone())),
            ("section", t(shown(path))),
            ("allowed", t(names.join(", "))),
            ("refused", crate::facts::Value::Bool(refused)),
            ("effect", t(effect)),
            ("polyaxon_version", t(&self.model.version)),
        ];
        if let Some(suggestion) = schema::suggest(&key.name, &names) {
            details.push(("suggestion", t(suggestion)));
        }
        self.sink.add("unknown_field", key.pos, details);
    }

    #[allow(clippy::too_many_arguments)]
    fn field(
        &mut self,
        parent: &Node,
        value: &Node,
        alias: &str,
        field: &Field,
        path: &str,
        section: &Section,
        reach: Reach,
    ) {
        if value.is_null() {
            return;
        }
        let inner = Reach {
            unchecked: reach.unchecked || field.unchecked,
            ..reach
        };
        if alias == "pathRef" {
            self.path_ref(value);
        }
        if ONLINE_REFS.contains(&alias)
            && let Some(text) = value.text()
        {
            self.online_refs.push((alias.to_string(), text, value.pos));
        }
        let template = is_template(value);
        match field.shape {
            Shape::Any => {}
            Shape::Scalar => {
                if section.kubernetes || inner.unchecked {
                    return;
                }
                self.scalar(value, field, path);
            }
            Shape::Section | Shape::K8s => match &value.value {
                Yaml::Map(_) => {
                    if let Some(model) = field.model() {
                        self.section(value, model, path, inner);
                    }
                }
                Yaml::Str(_) if template && field.template => {}
                Yaml::Seq(_) if field.or_list => {}
                // A value type (a matrix Range, "0:10:1") parses a string;
                // a section's string must be a template.
                Yaml::Bool(_) | Yaml::Num(_) | Yaml::Str(_)
                    if field.or_scalar && !self.is_section(field) => {}
                _ if inner.unchecked => {}
                _ => self.shape(value, inner.at, path, "a mapping"),
            },
            Shape::Union => self.union(parent, value, field, path, inner),
            Shape::List => match &value.value {
                Yaml::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let at = format!("{path}[{i}]");
                        if field.of.as_deref() == Some("scalar") {
                            // Polyaxon's own lists of values (ports, tags,
                            // event kinds) are typed; Kubernetes' are not
                            // checked by Polyaxon.
                            if !section.kubernetes && !inner.unchecked {
                                self.scalar(item, field, &at);
                            }
                            continue;
                        }
                        let inner = Reach {
                            at: item.pos,
                            ..inner
                        };
                        self.item(parent, item, field, &at, inner);
                    }
                }
                Yaml::Str(_) if template && field.template => {}
                Yaml::Map(_) if field.or_map => {}
                Yaml::Bool(_) | Yaml::Num(_) | Yaml::Str(_) if field.or_scalar => {}
                // Polyaxon makes a container's string `command` or `args`
                // a list of that one string.
                Yaml::Str(text) if section.kubernetes => {
                    if alias == "command" && text.split_whitespace().nth(1).is_some() && !template {
                        self.wrong(
                            value,
                            path,
                            &format!(
                                "Polyaxon passes a string `command` as one item, so the container runs an executable named `{text}`, which does not exist (\"executable file not found\"); write it as a list, `[{}]`",
                                text.split_whitespace().collect::<Vec<_>>().join(", ")
                            ),
                            None,
                            None,
                        );
                    }
                }
                _ if inner.unchecked => {}
                _ => self.shape(value, inner.at, path, "a list"),
            },
            Shape::Map => match &value.value {
                Yaml::Map(entries) => {
                    for (key, item) in entries {
                        let at = join(path, &key.name);
                        if field.item_short_form && !self.is_full_form(item, field) {
                            continue;
                        }
                        let inner = Reach {
                            at: key.pos,
                            ..inner
                        };
                        self.item(parent, item, field, &at, inner);
                    }
                }
                Yaml::Str(_) if template && field.template => {}
                Yaml::Seq(_) if field.or_list => {}
                Yaml::Bool(_) | Yaml::Num(_) | Yaml::Str(_) if field.or_scalar => {}
                _ if inner.unchecked => {}
                _ => self.shape(value, inner.at, path, "a mapping"),
            },
        }
    }

    /// One item of a list or map field.
    fn item(&mut self, parent: &Node, item: &Node, field: &Field, path: &str, reach: Reach) {
        if item.is_null() {
            return;
        }
        if field.is_union() {
            self.union(parent, item, field, path, reach);
            return;
        }
        let Some(model) = field.model() else {
            return;
        };
        match &item.value {
            Yaml::Map(_) => self.section(item, model, path, reach),
            Yaml::Str(_) if is_template(item) && (field.item_template || field.template) => {}
            Yaml::Bool(_) | Yaml::Num(_) | Yaml::Str(_) if field.item_or_scalar => {}
            _ if reach.unchecked => {}
            _ => self.shape(item, reach.at, path, "a mapping"),
        }
    }

    /// Whether the field's model is one of Polyaxon's sections (V1…), whose
    /// string form is only a template, rather than a value type (a matrix
    /// `Range`, `LinSpace`) that parses its own string form ("0:10:1").
    fn is_section(&self, field: &Field) -> bool {
        field
            .model()
            .is_some_and(|model| model.starts_with("V1") && self.model.section(model).is_some())
    }

    /// A param written as a mapping with at least one of the param's own
    /// keys is the full form; anything else is a value (short form).
    fn is_full_form(&self, item: &Node, field: &Field) -> bool {
        let Some(section) = field.model().and_then(|m| self.model.section(m)) else {
            return false;
        };
        item.entries()
            .iter()
            .any(|(key, _)| section.field(&key.name).is_some())
    }

    fn union(&mut self, parent: &Node, value: &Node, field: &Field, path: &str, reach: Reach) {
        let on = field.on.as_deref().unwrap_or("kind");
        if !value.is_map() {
            let accepted = (is_template(value) && field.template)
                || (field.or_scalar && !value.is_map() && matches!(value.value, Yaml::Str(_)))
                || reach.unchecked;
            if !accepted {
                self.shape(value, reach.at, path, "a mapping");
            }
            return;
        }
        let options: Vec<&str> = field.options.keys().map(String::as_str).collect();
        match value.str_at(on) {
            // A templated kind is only known at run time.
            Some(_) if value.get(on).is_some_and(is_template) => {}
            Some(kind) => match field.options.get(&kind) {
                Some(model) => self.section(value, model, path, reach),
                None if field.unknown == Verdict::Accepted => {}
                None => {
                    let at = value.get(on).unwrap_or(value);
                    let mut details = vec![
                        ("field", t(join(path, on))),
                        ("value", t(kind.clone())),
                        ("allowed", t(options.join(", "))),
                        (
                            "message",
                            t(format!(
                                "`{kind}` is not a kind Polyaxon {} accepts in `{}`",
                                self.model.version,
                                shown(path)
                            )),
                        ),
                        ("polyaxon_version", t(&self.model.version)),
                    ];
                    if let Some(suggestion) = schema::suggest(&kind, &options) {
                        details.push(("suggestion", t(suggestion)));
                    }
                    if let Some(note) = removed_kind(&kind) {
                        details.push(("polyaxon_error", t(note)));
                    }
                    self.sink.add("invalid_value", at.pos, details);
                }
            },
            None if field.untagged_map => {
                let referenced = ["component", "hubRef", "pathRef", "urlRef", "dagRef"]
                    .iter()
                    .any(|key| parent.get(key).is_some())
                    || ["hub_ref", "path_ref", "url_ref", "dag_ref"]
                        .iter()
                        .any(|key| parent.get(key).is_some());
                if !referenced && !reach.partial {
                    self.sink.add(
                        "invalid_value",
                        value.pos,
                        vec![
                            ("field", t(join(path, on))),
                            ("allowed", t(options.join(", "))),
                            ("message", t(format!("`{}` has no `{on}`, and nothing else (a component or a hubRef, pathRef, urlRef) says what it runs", shown(path)))),
                            ("polyaxon_error", t("run.kind must be provided locally or by a referenced base.")),
                            ("polyaxon_version", t(&self.model.version)),
                        ],
                    );
                }
            }
            None if field.missing == Verdict::Accepted => {
                if let Some(default) = &field.default {
                    self.section(value, default, path, reach);
                }
            }
            None if reach.partial || reach.unchecked => {}
            None => self.sink.add(
                "invalid_value",
                value.pos,
                vec![
                    ("field", t(join(path, on))),
                    ("allowed", t(options.join(", "))),
                    ("message", t(format!("`{}` needs a `{on}`", shown(path)))),
                    (
                        "polyaxon_error",
                        t("Unable to extract tag using discriminator 'kind'"),
                    ),
                    ("polyaxon_version", t(&self.model.version)),
                ],
            ),
        }
    }

    /// A scalar field of Polyaxon's own models: its fixed values, pattern
    /// and type, as pydantic checks them.
    fn scalar(&mut self, value: &Node, field: &Field, path: &str) {
        let name = path.rsplit('.').next().unwrap_or(path);
        if matches!(value.value, Yaml::Map(_) | Yaml::Seq(_)) {
            if !field.or_list && !field.or_map {
                self.shape(value, value.pos, path, "a single value");
            }
            return;
        }
        if is_template(value) {
            if !field.template && field.scalar.as_deref() != Some("str") {
                self.wrong(
                    value,
                    path,
                    "a template (`{{ … }}`) is not accepted here",
                    None,
                    None,
                );
            }
            return;
        }
        // An operation's trigger has a check of its own (bad_trigger).
        if name == "trigger"
            && field
                .values
                .as_ref()
                .is_some_and(|values| values.iter().eq(schema::TRIGGERS.iter()))
        {
            return;
        }
        if let (Some(values), Some(text)) = (&field.values, value.text())
            && !values.contains(&text)
        {
            let allowed: Vec<&str> = values.iter().map(String::as_str).collect();
            let suggestion = schema::suggest(&text, &allowed);
            self.wrong(
                value,
                path,
                &format!("`{text}` is not one of the values `{}` takes", shown(path)),
                Some((allowed.join(", "), suggestion)),
                None,
            );
            return;
        }
        // Polyaxon's matrix validators want these above 0.
        let positive = ["numRuns", "concurrency", "maxIterations"];
        if path.starts_with("matrix.")
            && positive.contains(&name)
            && value.as_number().is_some_and(|n| n <= 0.0)
        {
            let written = value.text().unwrap_or_default();
            self.wrong(
                value,
                path,
                &format!("`{name}` must be above 0, not {written}"),
                None,
                Some(format!("{path}: Input should be greater than 0")),
            );
            return;
        }
        let fits = match (field.scalar.as_deref(), &value.value) {
            (Some("str"), Yaml::Str(_)) => true,
            (Some("str"), _) => false,
            (Some("int"), Yaml::Num(n)) => n.fract() == 0.0,
            (Some("float" | "number"), Yaml::Num(_)) => true,
            (Some("int" | "float" | "number"), _) => false,
            (Some("bool"), Yaml::Bool(_)) => true,
            (Some("bool"), Yaml::Num(n)) => *n == 0.0 || *n == 1.0,
            (Some("bool"), Yaml::Str(text)) => super::params::is_bool_word(text),
            (Some("bool"), _) => false,
            _ => true,
        };
        if !fits {
            let expected = match field.scalar.as_deref() {
                Some("str") => "a string (quote it)",
                Some("int") => "a whole number",
                Some("float" | "number") => "a number",
                Some("bool") => "true or false",
                _ => "another type",
            };
            let written = value.text().unwrap_or_default();
            self.wrong(
                value,
                path,
                &format!("`{written}` is not {expected}"),
                None,
                None,
            );
            return;
        }
        if let (Some(pattern), Some(text)) = (&field.pattern, value.as_str()) {
            // Python's `\z` is Rust's `\z` too; a pattern Rust cannot read
            // is not checked rather than guessed.
            if regex::Regex::new(pattern).is_ok_and(|re| !re.is_match(text)) {
                self.wrong(
                    value,
                    path,
                    &format!("`{text}` does not match the pattern `{pattern}`"),
                    None,
                    None,
                );
            }
        }
    }

    fn wrong(
        &mut self,
        value: &Node,
        path: &str,
        message: &str,
        allowed: Option<(String, Option<&str>)>,
        polyaxon_error: Option<String>,
    ) {
        self.wrong_at(value, value.pos, path, message, allowed, polyaxon_error);
    }

    fn wrong_at(
        &mut self,
        value: &Node,
        at: Pos,
        path: &str,
        message: &str,
        allowed: Option<(String, Option<&str>)>,
        polyaxon_error: Option<String>,
    ) {
        let mut details = vec![
            ("field", t(shown(path))),
            ("message", t(message)),
            ("polyaxon_version", t(&self.model.version)),
        ];
        if let Some(text) = value.text() {
            details.push(("value", t(text)));
        }
        if let Some((allowed, suggestion)) = allowed {
            details.push(("allowed", t(allowed)));
            if let Some(suggestion) = suggestion {
                details.push(("suggestion", t(suggestion)));
            }
        }
        if let Some(said) = polyaxon_error {
            details.push(("polyaxon_error", t(said)));
        }
        self.sink.add("invalid_value", at, details);
    }

    fn shape(&mut self, value: &Node, at: Pos, path: &str, expected: &str) {
        let written = match &value.value {
            Yaml::Map(_) => "a mapping",
            Yaml::Seq(_) => "a list",
            Yaml::Str(_) => "a string",
            Yaml::Num(_) => "a number",
            Yaml::Bool(_) => "a boolean",
            Yaml::Null => "empty",
        };
        let at = if matches!(value.value, Yaml::Map(_) | Yaml::Seq(_)) {
            at
        } else {
            value.pos
        };
        self.wrong_at(
            value,
            at,
            path,
            &format!("`{}` takes {expected}, not {written}", shown(path)),
            None,
            None,
        );
    }

    /// A `pathRef` names a file next to the polyaxonfile.
    fn path_ref(&mut self, value: &Node) {
        let (Some(dir), Some(reference)) = (self.dir, value.as_str()) else {
            return;
        };
        if is_template(value) {
            return;
        }
        let target = dir.join(reference);
        if !target.is_file() {
            self.sink.add(
                "missing_path_ref",
                value.pos,
                vec![
                    ("ref", t(reference)),
                    ("resolved", t(target.display().to_string())),
                    (
                        "polyaxon_error",
                        t(format!(
                            "Path ref `{}` does not exist or is not a file.",
                            target.display()
                        )),
                    ),
                ],
            );
        }
    }

    /// A `runPatch` is checked against the kind of the run it patches, when
    /// the file says it.
    fn run_patch(&mut self, node: &Node, path: &str) {
        let Some(patch) = node.get("runPatch").or(node.get("run_patch")) else {
            return;
        };
        let kind = node
            .get("component")
            .and_then(|c| c.get("run"))
            .or(node.get("run"))
            .and_then(|run| run.str_at("kind"));
        let Some(model) = kind.and_then(|kind| {
            let component = self.model.section(&self.model.top_default)?;
            component.field("run")?.1.options.get(&kind).cloned()
        }) else {
            return;
        };
        if patch.is_map() {
            let reach = Reach {
                unchecked: false,
                partial: true,
                at: patch.pos,
            };
            self.section(patch, &model, &join(path, "runPatch"), reach);
        }
    }
}

/// Run kinds Polyaxon once had and 2.18 refuses, with what replaced them.
fn removed_kind(kind: &str) -> Option<&'static str> {
    match kind {
        "daskjob" => {
            Some("Unsupported run.kind: 'daskjob'. (Polyaxon 2.x runs Dask as `daskcluster`)")
        }
        "rayjob" => Some("Unsupported run.kind: 'rayjob'. (Polyaxon 2.x runs Ray as `raycluster`)"),
        "paddlejob" | "mxjob" | "xgbjob" => Some("this run kind was removed from Polyaxon 2.x"),
        _ => None,
    }
}

/// A string holding a `{{ … }}` template, anywhere in it (Polyaxon's
/// RefField).
fn is_template(node: &Node) -> bool {
    node.as_str().is_some_and(|text| {
        text.find("{{")
            .is_some_and(|open| text[open..].contains("}}"))
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn shown(path: &str) -> String {
    if path.is_empty() {
        "the top level".to_string()
    } else {
        path.to_string()
    }
}
