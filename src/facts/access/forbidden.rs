//! RBAC refusals, wherever they surface (events, log tails of Polyaxon's
//! agent and operator, the operator's conditions on a run's custom
//! resource), parsed into who may not do what, where — in every wording:
//! modern ('User "u" cannot create resource "pods" in API group "" in the
//! namespace "ml"'), cluster scope ('at the cluster scope'), old ('cannot
//! create pods in the namespace "ml"'), OpenShift ('in the project "ml"'),
//! GKE's '... requires one of ["container.pods.create"] permission(s).', and
//! escaped quotes as log lines print them. Quota, LimitRange and webhook
//! refusals also say "forbidden" but never "User ... cannot": they are not
//! read here, and their own rules explain them.

use std::sync::LazyLock;

use regex::Regex;

use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, text};

static MODERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"User "(?P<user>[^"]+)" cannot (?P<verb>[a-z]+) resource "(?P<resource>[^"]+)" in API group "(?P<group>[^"]*)"(?: (?:in the namespace|in the project) "(?P<namespace>[^"]+)"| at the cluster scope)?"#).unwrap()
});
static OLD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"User "(?P<user>[^"]+)" cannot (?P<verb>[a-z]+) (?P<resource>[a-z][a-z0-9./-]*)(?: in (?:the namespace|the project) "(?P<namespace>[^"]+)"| at the cluster scope)"#).unwrap()
});
static GKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"requires one of \[(?P<permissions>[^\]]*)\] permission"#).unwrap()
});

/// Who may not do what, where.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refusal {
    pub user: String,
    pub verb: String,
    pub resource: String,
    pub group: String,
    pub namespace: Option<String>,
    pub permissions: Option<String>,
}

/// Whether `message` may hold a refusal: the cheap test done on every
/// event and log line before [`parse`] (and by the event sieve, which must
/// keep whatever the join would read).
pub fn may_hold(message: &str) -> bool {
    message.contains("cannot")
}

/// The refusal in `message`, if it is an RBAC one.
pub fn parse(message: &str) -> Option<Refusal> {
    let message = message.replace("\\\"", "\"");
    let captures = MODERN
        .captures(&message)
        .or_else(|| OLD.captures(&message))?;
    let get = |name: &str| captures.name(name).map(|m| m.as_str().to_string());
    Some(Refusal {
        user: get("user")?,
        verb: get("verb")?,
        resource: get("resource")?,
        group: get("group").unwrap_or_default(),
        namespace: get("namespace"),
        permissions: GKE.captures(&message).map(|c| c["permissions"].to_string()),
    })
}

/// One refusal seen somewhere, about some subject.
#[derive(Debug, Clone)]
pub struct ForbiddenFact {
    pub subject: Subject,
    pub refusal: Refusal,
    /// event, log or condition.
    pub source: String,
    pub message: String,
}

pub const FIELDS: &[FieldSpec] = &[
    field(
        "subject",
        Text,
        "what the refusal was about (a run, the agent, ...)",
    ),
    field(
        "user",
        Text,
        "the refused identity, e.g. system:serviceaccount:polyaxon:polyaxon-polyaxon-agent",
    ),
    field(
        "service_account",
        Text,
        "NAMESPACE:NAME when the user is a service account",
    ),
    field("verb", Text, "create, get, list, watch, ..."),
    field("resource", Text, "pods, pods/log, jobs, operations, ..."),
    field("group", Text, "the API group, \"\" for core"),
    field("namespace", Text, "where; absent at cluster scope"),
    field("scope", Text, "\"in namespace X\" or \"at cluster scope\""),
    field(
        "permissions",
        Text,
        "GKE's IAM permissions, when it names them",
    ),
    field("grant", Text, "kubectl commands that grant exactly that"),
    field("source", Text, "event, log or condition"),
    field("message", Text, "the whole message"),
];

impl ForbiddenFact {
    fn service_account(&self) -> Option<(String, String)> {
        let rest = self.refusal.user.strip_prefix("system:serviceaccount:")?;
        let (namespace, name) = rest.split_once(':')?;
        Some((namespace.to_string(), name.to_string()))
    }

    fn grant(&self) -> String {
        let r = &self.refusal;
        let qualified = super::needs::qualified(&r.group, &r.resource);
        let resource = r.resource.split('/').next().unwrap_or(&r.resource);
        let subject = match self.service_account() {
            Some((namespace, name)) => format!("--serviceaccount={namespace}:{name}"),
            None => format!("--user={}", r.user),
        };
        let name = format!("pxdoctor-{}-{}", r.verb, resource.replace('.', "-"));
        match &r.namespace {
            Some(namespace) => format!(
                "kubectl create role {name} -n {namespace} --verb={} --resource={qualified} && kubectl create rolebinding {name} -n {namespace} --role={name} {subject}",
                r.verb
            ),
            None => format!(
                "kubectl create clusterrole {name} --verb={} --resource={qualified} && kubectl create clusterrolebinding {name} --clusterrole={name} {subject}",
                r.verb
            ),
        }
    }
}

impl FieldSource for ForbiddenFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        let r = &self.refusal;
        match name {
            "subject" => Some(text(self.subject.label())),
            "user" => Some(text(&r.user)),
            "service_account" => self
                .service_account()
                .map(|(ns, n)| text(format!("{ns}:{n}"))),
            "verb" => Some(text(&r.verb)),
            "resource" => Some(text(&r.resource)),
            "group" => Some(text(&r.group)),
            "namespace" => r.namespace.as_deref().map(text),
            "scope" => Some(text(match &r.namespace {
                Some(namespace) => format!("in namespace {namespace}"),
                None => "at cluster scope".to_string(),
            })),
            "permissions" => r.permissions.as_deref().map(text),
            "grant" => Some(text(self.grant())),
            "source" => Some(text(&self.source)),
            "message" => Some(text(&self.message)),
            _ => None,
        }
    }
}

impl Fact for ForbiddenFact {
    fn subject(&self) -> Subject {
        self.subject.clone()
    }

    fn evidence(&self) -> Vec<Evidence> {
        let kind = match self.source.as_str() {
            "log" => "Log",
            "condition" => "Condition",
            _ => "Event",
        };
        vec![
            Evidence::new(kind)
                .reason("Forbidden")
                .message(self.message.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wording_gives_who_what_where() {
        let modern = parse(r#"pods is forbidden: User "system:serviceaccount:polyaxon:polyaxon-polyaxon-agent" cannot create resource "pods" in API group "" in the namespace "ml""#).unwrap();
        assert_eq!(
            modern.user,
            "system:serviceaccount:polyaxon:polyaxon-polyaxon-agent"
        );
        assert_eq!(
            (
                modern.verb.as_str(),
                modern.resource.as_str(),
                modern.group.as_str()
            ),
            ("create", "pods", "")
        );
        assert_eq!(modern.namespace.as_deref(), Some("ml"));
        let cluster = parse(r#"nodes is forbidden: User "alice@acme.io" cannot list resource "nodes" in API group "" at the cluster scope"#).unwrap();
        assert_eq!(cluster.namespace, None);
        let old = parse(r#"User "system:serviceaccount:polyaxon:agent" cannot create pods in the namespace "ml""#).unwrap();
        assert_eq!(
            (old.verb.as_str(), old.resource.as_str()),
            ("create", "pods")
        );
        let escaped = parse(r#"HTTP response body: {"kind":"Status","message":"jobs.batch is forbidden: User \"system:serviceaccount:polyaxon:op\" cannot create resource \"jobs\" in API group \"batch\" in the namespace \"ml\""}"#).unwrap();
        assert_eq!(
            (escaped.resource.as_str(), escaped.group.as_str()),
            ("jobs", "batch")
        );
        let openshift = parse(r#"pods is forbidden: User "developer" cannot list resource "pods" in API group "" in the project "ml""#).unwrap();
        assert_eq!(openshift.namespace.as_deref(), Some("ml"));
        let gke = parse(r#"pods is forbidden: User "sa@proj.iam.gserviceaccount.com" cannot create resource "pods" in API group "" in the namespace "ml": requires one of ["container.pods.create"] permission(s)."#).unwrap();
        assert_eq!(
            gke.permissions.as_deref(),
            Some("\"container.pods.create\"")
        );
    }

    #[test]
    fn quota_limit_range_and_webhook_refusals_are_not_rbac() {
        assert_eq!(
            parse(
                r#"Error creating: pods "x" is forbidden: exceeded quota: q, requested: cpu=4, used: cpu=8, limited: cpu=8"#
            ),
            None
        );
        assert_eq!(
            parse(
                r#"Error creating: pods "x" is forbidden: maximum cpu usage per Container is 16, but limit is 32"#
            ),
            None
        );
        assert_eq!(
            parse(
                r#"admission webhook "validate.kyverno.svc" denied the request: policy require-labels"#
            ),
            None
        );
        assert_eq!(
            parse(
                r#"Error creating: pods "x" is forbidden: error looking up service account ml/runs: serviceaccount "runs" not found"#
            ),
            None
        );
    }
}
