//! Polyaxon's polyaxonfile schema as data: `polyaxon-2.18.yaml`, generated
//! by `tools/polyaxon_schema.py` from the pydantic models of the published
//! `polyaxon` package, so that what `lint` accepts is what Polyaxon accepts
//! and a new Polyaxon version is a regenerated file, not hand edits.
//!
//! The file's header explains every key; [`fields`](super::fields) walks a
//! polyaxonfile along it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The Polyaxon versions whose schema is built in, newest first.
pub const VERSIONS: &[&str] = &["2.18"];

const SCHEMA_2_18: &str = include_str!("polyaxon-2.18.yaml");

#[derive(Debug, Deserialize)]
pub struct Model {
    pub version: String,
    /// `kind:` of the file → its section.
    pub top: BTreeMap<String, String>,
    /// The section of a file without `kind:`.
    pub top_default: String,
    /// With `kind:`, every top-level key must also be one of these.
    pub top_keys: Vec<String>,
    pub sections: BTreeMap<String, Section>,
}

#[derive(Debug, Deserialize)]
pub struct Section {
    pub extra: Extra,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub snake_ok: bool,
    /// A Kubernetes client type: Polyaxon checks its keys (where it builds
    /// one directly) but not the types of its values.
    #[serde(default)]
    pub kubernetes: bool,
    #[serde(default)]
    pub fields: BTreeMap<String, Field>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Extra {
    Forbid,
    Allow,
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    Scalar,
    Section,
    List,
    Map,
    Union,
    K8s,
    Any,
}

/// What a discriminator that is absent or not among the options does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    #[default]
    Error,
    Accepted,
}

#[derive(Debug, Deserialize)]
pub struct Field {
    #[serde(rename = "type")]
    pub shape: Shape,
    /// The model of a section, of a list's or map's items; `scalar`, `any`
    /// or `union` for items that are not one model.
    pub of: Option<String>,
    /// The type of a scalar: str, int, float, number, bool, datetime, ...
    pub scalar: Option<String>,
    #[serde(rename = "enum")]
    pub values: Option<Vec<String>>,
    pub pattern: Option<String>,
    pub snake: Option<String>,
    #[serde(default)]
    pub template: bool,
    #[serde(default)]
    pub or_scalar: bool,
    #[serde(default)]
    pub or_list: bool,
    #[serde(default)]
    pub or_map: bool,
    #[serde(default)]
    pub item_or_scalar: bool,
    #[serde(default)]
    pub item_template: bool,
    #[serde(default)]
    pub item_short_form: bool,
    /// The discriminating key of a union (always `kind` in 2.18).
    pub on: Option<String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub unknown: Verdict,
    #[serde(default)]
    pub missing: Verdict,
    pub default: Option<String>,
    #[serde(default)]
    pub untagged_map: bool,
    /// Polyaxon passes the value to Kubernetes without looking at it.
    #[serde(default)]
    pub unchecked: bool,
}

/// The schema of Polyaxon `version` (one of [`VERSIONS`]).
pub fn model(version: &str) -> Option<&'static Model> {
    static V2_18: OnceLock<Model> = OnceLock::new();
    match version {
        "2.18" => Some(V2_18.get_or_init(|| {
            // Built in and checked by a test: a failure here is a build bug.
            serde_saphyr::from_str(SCHEMA_2_18).expect("polyaxon-2.18.yaml is a valid schema")
        })),
        _ => None,
    }
}

/// The newest built-in schema.
pub fn current() -> &'static Model {
    model(VERSIONS[0]).expect("the newest version is built in")
}

impl Model {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.get(name)
    }

    /// The section for a top-level `kind:`, or the kind-less one.
    pub fn top_section(&self, kind: Option<&str>) -> Option<&Section> {
        match kind {
            Some(kind) => self.top.get(kind).and_then(|name| self.section(name)),
            None => self.section(&self.top_default),
        }
    }
}

impl Section {
    /// The field written as `key`: its alias, or its Python name where the
    /// model accepts that too.
    pub fn field(&self, key: &str) -> Option<(&str, &Field)> {
        if let Some((name, field)) = self.fields.get_key_value(key) {
            return Some((name, field));
        }
        if !self.snake_ok {
            return None;
        }
        self.fields
            .iter()
            .find(|(_, field)| field.snake.as_deref() == Some(key))
            .map(|(name, field)| (name.as_str(), field))
    }

    pub fn names(&self) -> Vec<&str> {
        self.fields.keys().map(String::as_str).collect()
    }
}

impl Field {
    /// The model each item of a list or map (or the value of a section)
    /// follows, when it is one model.
    pub fn model(&self) -> Option<&str> {
        self.of
            .as_deref()
            .filter(|of| !matches!(*of, "scalar" | "any" | "union"))
    }

    /// Whether the items (or the value) are a discriminated union.
    pub fn is_union(&self) -> bool {
        self.shape == Shape::Union || self.of.as_deref() == Some("union")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_schema_loads_and_every_model_it_names_is_defined() {
        let model = current();
        assert_eq!(model.version, "2.18.0");
        let mut named = vec![model.top_default.clone()];
        named.extend(model.top.values().cloned());
        for section in model.sections.values() {
            for field in section.fields.values() {
                named.extend(field.model().map(str::to_string));
                named.extend(field.options.values().cloned());
                named.extend(field.default.clone());
            }
        }
        for name in named {
            // A Kubernetes type deeper than Polyaxon looks is not described.
            if name.starts_with("CoreV1") {
                continue;
            }
            assert!(model.section(&name).is_some(), "{name} is not defined");
        }
    }

    #[test]
    fn both_spellings_are_fields_and_the_run_kinds_are_polyaxon_2_18_s() {
        let model = current();
        let environment = model.section("V1Environment").unwrap();
        assert!(environment.field("nodeSelector").is_some());
        assert_eq!(
            environment.field("node_selector").unwrap().0,
            "nodeSelector"
        );
        assert!(environment.field("nodeSelecter").is_none());
        let component = model.section("V1Component").unwrap();
        let (_, run) = component.field("run").unwrap();
        for kind in [
            "job",
            "service",
            "dag",
            "tfjob",
            "daskcluster",
            "raycluster",
        ] {
            assert!(run.options.contains_key(kind), "{kind}");
        }
        for removed in ["daskjob", "rayjob", "paddlejob", "mxjob", "xgbjob"] {
            assert!(!run.options.contains_key(removed), "{removed}");
        }
    }
}
