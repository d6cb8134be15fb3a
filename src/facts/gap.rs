//! What could not be collected, and which permission would fix it.
//!
//! A forbidden or failed LIST does not stop a check: it becomes a fact, so a
//! rule can say which checks were skipped and which RBAC rule grants access.

use serde::{Deserialize, Serialize};

use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, text};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionGap {
    pub verb: String,
    pub resource: String,
    /// API group; "" for the core group.
    pub group: String,
    /// None for a cluster-scoped or all-namespaces request.
    pub namespace: Option<String>,
    /// forbidden, timeout, error, or undecodable (an object the API server
    /// sent that pxdoctor could not read).
    pub reason: String,
    pub message: String,
    /// What pxdoctor could not check without it.
    pub skipped_checks: String,
}

pub const FIELDS: &[FieldSpec] = &[
    field("verb", Text, "list, get, create"),
    field("resource", Text, "the resource, e.g. nodes"),
    field("group", Text, "its API group, \"\" for core"),
    field(
        "namespace",
        Text,
        "the namespace asked for; absent at cluster scope",
    ),
    field("scope", Text, "\"at cluster scope\" or \"in namespace X\""),
    field("reason", Text, "forbidden, timeout, error or undecodable"),
    field("message", Text, "the API server's own words"),
    field(
        "skipped_checks",
        Text,
        "what could not be checked without it",
    ),
    field(
        "rbac_rule",
        Text,
        "the Role/ClusterRole rule that grants it, as YAML flow",
    ),
    field("grant", Text, "a kubectl command that grants exactly that"),
];

impl CollectionGap {
    fn scope(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("in namespace {namespace}"),
            None => "at cluster scope".into(),
        }
    }

    fn rbac_rule(&self) -> String {
        format!(
            "{{apiGroups: [\"{}\"], resources: [\"{}\"], verbs: [\"{}\"]}}",
            self.group, self.resource, self.verb
        )
    }

    fn grant(&self) -> String {
        let resource = if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        match &self.namespace {
            Some(namespace) => format!(
                "kubectl create role pxdoctor-{verb}-{res} -n {namespace} --verb={verb} --resource={resource} && kubectl create rolebinding pxdoctor-{verb}-{res} -n {namespace} --role=pxdoctor-{verb}-{res} --user=YOU",
                verb = self.verb,
                res = self.resource,
            ),
            None => format!(
                "kubectl create clusterrole pxdoctor-{verb}-{res} --verb={verb} --resource={resource} && kubectl create clusterrolebinding pxdoctor-{verb}-{res} --clusterrole=pxdoctor-{verb}-{res} --user=YOU",
                verb = self.verb,
                res = self.resource,
            ),
        }
    }
}

impl FieldSource for CollectionGap {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "verb" => Some(text(&self.verb)),
            "resource" => Some(text(&self.resource)),
            "group" => Some(text(&self.group)),
            "namespace" => self.namespace.as_deref().map(text),
            "scope" => Some(text(self.scope())),
            "reason" => Some(text(&self.reason)),
            "message" => Some(text(&self.message)),
            "skipped_checks" => Some(text(&self.skipped_checks)),
            "rbac_rule" => Some(text(self.rbac_rule())),
            "grant" => Some(text(self.grant())),
            _ => None,
        }
    }
}

impl Fact for CollectionGap {
    fn subject(&self) -> Subject {
        Subject {
            kind: "Access".into(),
            namespace: self.namespace.clone(),
            name: format!("{} {}", self.verb, self.resource),
            run: None,
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        vec![
            Evidence::new("Request")
                .reason(self.reason.clone())
                .message(self.message.clone()),
        ]
    }
}
