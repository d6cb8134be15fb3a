//! Kubernetes RBAC, evaluated locally: may this user VERB this resource in
//! this namespace? Pure (no I/O), from compact records of Roles,
//! ClusterRoles, RoleBindings and ClusterRoleBindings, with the API server's
//! own semantics, so a snapshot can say which permission Polyaxon's service
//! accounts lack without asking the cluster:
//!
//! - rules match by verb, API group, resource (`pods/log` for a subresource,
//!   `*/scale` for one subresource of every resource), resourceNames, and
//!   `*` for any verb, group or resource
//!   (k/k pkg/apis/rbac/v1/evaluation_helpers.go: VerbMatches,
//!   APIGroupMatches, ResourceMatches, ResourceNameMatches);
//! - a RoleBinding grants its Role, or a ClusterRole, in its own namespace
//!   only; a ClusterRoleBinding grants its ClusterRole everywhere;
//! - a ServiceAccount subject without a namespace means the binding's
//!   namespace; service accounts are the users `system:serviceaccount:NS:NAME`
//!   in the groups `system:serviceaccounts`, `system:serviceaccounts:NS` and
//!   `system:authenticated` (plugin/pkg/auth/authorizer/rbac: appliesToUser);
//! - an aggregated ClusterRole holds the rules of every ClusterRole its
//!   `aggregationRule.clusterRoleSelectors` select, as the aggregation
//!   controller writes them (also before it has run).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::rbac::v1 as k8s;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// One rule of a Role or ClusterRole.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

/// A label selector requirement: In, NotIn, Exists, DoesNotExist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// A label selector as `clusterRoleSelectors` hold them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    pub match_labels: BTreeMap<String, String>,
    pub expressions: Vec<Requirement>,
}

impl Selector {
    /// metav1.LabelSelectorAsSelector: every requirement must hold; an
    /// empty selector selects everything; an unknown operator nothing.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
            && self.expressions.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.operator.as_str() {
                    "In" => value.is_some_and(|v| r.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !r.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

/// A Role (namespace set) or ClusterRole (namespace None).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleRecord {
    pub namespace: Option<String>,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub rules: Vec<PolicyRule>,
    /// ClusterRoles only: the selectors of an aggregated ClusterRole.
    pub aggregation: Option<Vec<Selector>>,
}

/// Who a binding names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SubjectRef {
    /// User, Group or ServiceAccount.
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

/// A RoleBinding (namespace set) or ClusterRoleBinding (namespace None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRecord {
    pub namespace: Option<String>,
    pub name: String,
    /// Role or ClusterRole.
    pub role_kind: String,
    pub role_name: String,
    pub subjects: Vec<SubjectRef>,
}

impl BindingRecord {
    /// "RoleBinding ml/x" or "ClusterRoleBinding x", as kubectl names them.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("RoleBinding {namespace}/{}", self.name),
            None => format!("ClusterRoleBinding {}", self.name),
        }
    }
}

/// How a request is granted (`pxdoctor access` names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'a> {
    pub binding: &'a BindingRecord,
    /// "Role ns/name" or "ClusterRole name": what the binding binds.
    pub role: String,
    /// For an aggregated ClusterRole, the ClusterRole whose rule it was.
    pub aggregated_from: Option<String>,
}

/// Someone asking: a user name and its groups, as the authenticator made them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

impl User {
    /// A service account's identity: its user name and its three groups.
    pub fn service_account(namespace: &str, name: &str) -> User {
        User {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }
}

/// What is asked: a verb on a resource of a group, maybe one object by
/// name, in a namespace (None: at cluster scope or across all namespaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    /// `pods`, or `pods/log` for a subresource.
    pub resource: &'a str,
    pub name: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

/// The RBAC objects of a cluster, as compact records.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub roles: Vec<RoleRecord>,
    pub bindings: Vec<BindingRecord>,
}

impl Policy {
    pub fn merge(&mut self, other: Policy) {
        self.roles.extend(other.roles);
        self.bindings.extend(other.bindings);
    }

    /// Whether `user` may do `request`. Kubernetes allows when any rule of
    /// any role bound to the user in scope allows: there are no deny rules.
    pub fn allows(&self, user: &User, request: &Request) -> bool {
        self.granted_by(user, request).is_some()
    }

    /// The binding that allows `request`, if one does.
    pub fn granted_by(&self, user: &User, request: &Request) -> Option<&BindingRecord> {
        self.bindings_in_scope(user, request.namespace)
            .into_iter()
            .find(|binding| {
                self.rules_of(binding)
                    .iter()
                    .any(|rule| rule_allows(rule, request))
            })
    }

    /// How `request` is granted, if it is: the binding, the role it binds
    /// and, for an aggregated ClusterRole, the ClusterRole whose own rule
    /// allows it. The same verdict as [`Policy::granted_by`].
    pub fn grant(&self, user: &User, request: &Request) -> Option<Grant<'_>> {
        self.bindings_in_scope(user, request.namespace)
            .into_iter()
            .find_map(|binding| match binding.role_kind.as_str() {
                "Role" => self
                    .rules_of(binding)
                    .iter()
                    .any(|rule| rule_allows(rule, request))
                    .then(|| Grant {
                        binding,
                        role: format!(
                            "Role {}/{}",
                            binding.namespace.as_deref().unwrap_or_default(),
                            binding.role_name
                        ),
                        aggregated_from: None,
                    }),
                "ClusterRole" => self
                    .rule_source(&binding.role_name, request, &mut BTreeSet::new())
                    .map(|source| Grant {
                        binding,
                        role: format!("ClusterRole {}", binding.role_name),
                        aggregated_from: (source != binding.role_name)
                            .then(|| format!("ClusterRole {source}")),
                    }),
                _ => None,
            })
    }

    /// The ClusterRole, `name` or one it aggregates, whose own rule allows
    /// `request`.
    fn rule_source(
        &self,
        name: &str,
        request: &Request,
        visiting: &mut BTreeSet<String>,
    ) -> Option<String> {
        let role = self
            .roles
            .iter()
            .find(|r| r.namespace.is_none() && r.name == name)?;
        let Some(selectors) = &role.aggregation else {
            return role
                .rules
                .iter()
                .any(|rule| rule_allows(rule, request))
                .then(|| name.to_string());
        };
        if !visiting.insert(name.to_string()) {
            return None;
        }
        let mut selected: Vec<&RoleRecord> = self
            .roles
            .iter()
            .filter(|r| {
                r.namespace.is_none()
                    && r.name != role.name
                    && selectors.iter().any(|s| s.matches(&r.labels))
            })
            .collect();
        selected.sort_by(|a, b| a.name.cmp(&b.name));
        let found = selected
            .into_iter()
            .find_map(|other| self.rule_source(&other.name, request, visiting));
        visiting.remove(name);
        found
    }

    /// The bindings that give `user` anything in `namespace` (None: only
    /// ClusterRoleBindings count, as for cluster-scoped requests).
    pub fn bindings_in_scope(&self, user: &User, namespace: Option<&str>) -> Vec<&BindingRecord> {
        self.bindings
            .iter()
            .filter(|binding| {
                let in_scope = match (&binding.namespace, namespace) {
                    (None, _) => true,
                    (Some(bound), Some(asked)) => bound == asked,
                    (Some(_), None) => false,
                };
                in_scope
                    && binding
                        .subjects
                        .iter()
                        .any(|s| applies_to(user, s, binding.namespace.as_deref()))
            })
            .collect()
    }

    /// Every binding that names `user` itself (not one of its groups),
    /// wherever it grants.
    pub fn bindings_naming(&self, user: &User) -> Vec<&BindingRecord> {
        self.bindings
            .iter()
            .filter(|binding| {
                binding
                    .subjects
                    .iter()
                    .any(|s| s.kind != "Group" && applies_to(user, s, binding.namespace.as_deref()))
            })
            .collect()
    }

    /// The rules a binding grants. A RoleBinding's Role lives in the
    /// binding's namespace; a missing role grants nothing (the API server
    /// logs it and carries on).
    fn rules_of(&self, binding: &BindingRecord) -> Vec<PolicyRule> {
        match binding.role_kind.as_str() {
            "Role" => self
                .roles
                .iter()
                .find(|r| {
                    binding.namespace.is_some()
                        && r.namespace == binding.namespace
                        && r.name == binding.role_name
                })
                .map(|r| r.rules.clone())
                .unwrap_or_default(),
            "ClusterRole" => self.cluster_role_rules(&binding.role_name, &mut BTreeSet::new()),
            _ => Vec::new(),
        }
    }

    /// A ClusterRole's rules; for an aggregated one, the union of the rules
    /// of the ClusterRoles its selectors pick (they may be aggregated
    /// themselves; `visiting` stops a cycle).
    fn cluster_role_rules(&self, name: &str, visiting: &mut BTreeSet<String>) -> Vec<PolicyRule> {
        let Some(role) = self
            .roles
            .iter()
            .find(|r| r.namespace.is_none() && r.name == name)
        else {
            return Vec::new();
        };
        let Some(selectors) = &role.aggregation else {
            return role.rules.clone();
        };
        if !visiting.insert(name.to_string()) {
            return Vec::new();
        }
        // The controller replaces the aggregated role's rules with the
        // union of the selected roles' rules, in name order, without
        // duplicates (clusterroleaggregation_controller.go).
        let mut selected: Vec<&RoleRecord> = self
            .roles
            .iter()
            .filter(|r| {
                r.namespace.is_none()
                    && r.name != role.name
                    && selectors.iter().any(|s| s.matches(&r.labels))
            })
            .collect();
        selected.sort_by(|a, b| a.name.cmp(&b.name));
        let mut rules: Vec<PolicyRule> = Vec::new();
        for other in selected {
            for rule in self.cluster_role_rules(&other.name, visiting) {
                if !rules.contains(&rule) {
                    rules.push(rule);
                }
            }
        }
        visiting.remove(name);
        rules
    }
}

/// appliesToUser: does this subject of a binding in `namespace` mean `user`?
fn applies_to(user: &User, subject: &SubjectRef, namespace: Option<&str>) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => user.groups.contains(&subject.name),
        "ServiceAccount" => {
            // A subject without a namespace means the binding's own.
            let Some(sa_namespace) = subject
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .or(namespace)
            else {
                return false;
            };
            user.name == format!("system:serviceaccount:{sa_namespace}:{}", subject.name)
        }
        _ => false,
    }
}

/// RuleAllows for a resource request.
pub fn rule_allows(rule: &PolicyRule, request: &Request) -> bool {
    if rule.resources.is_empty() {
        // A non-resource rule (nonResourceURLs) never allows a resource.
        return false;
    }
    let (_, subresource) = match request.resource.split_once('/') {
        Some((base, sub)) => (base, sub),
        None => (request.resource, ""),
    };
    let verb = rule.verbs.iter().any(|v| v == "*" || v == request.verb);
    let group = rule
        .api_groups
        .iter()
        .any(|g| g == "*" || g == request.group);
    let resource = rule.resources.iter().any(|r| {
        r == "*"
            || r == request.resource
            || (!subresource.is_empty()
                && r.len() == subresource.len() + 2
                && r.starts_with("*/")
                && r.ends_with(subresource))
    });
    let name = rule.resource_names.is_empty()
        || request
            .name
            .is_some_and(|name| rule.resource_names.iter().any(|n| n == name));
    verb && group && resource && name
}

fn strings(list: Option<Vec<String>>) -> Vec<String> {
    list.unwrap_or_default()
}

fn selector(selector: LabelSelector) -> Selector {
    Selector {
        match_labels: selector.match_labels.unwrap_or_default(),
        expressions: selector
            .match_expressions
            .unwrap_or_default()
            .into_iter()
            .map(|e| Requirement {
                key: e.key,
                operator: e.operator,
                values: e.values.unwrap_or_default(),
            })
            .collect(),
    }
}

fn rules(list: Option<Vec<k8s::PolicyRule>>) -> Vec<PolicyRule> {
    list.unwrap_or_default()
        .into_iter()
        .map(|rule| PolicyRule {
            verbs: rule.verbs,
            api_groups: strings(rule.api_groups),
            resources: strings(rule.resources),
            resource_names: strings(rule.resource_names),
            non_resource_urls: strings(rule.non_resource_urls),
        })
        .collect()
}

fn subjects(list: Option<Vec<k8s::Subject>>) -> Vec<SubjectRef> {
    list.unwrap_or_default()
        .into_iter()
        .map(|s| SubjectRef {
            kind: s.kind,
            name: s.name,
            namespace: s.namespace.filter(|n| !n.is_empty()),
        })
        .collect()
}

impl RoleRecord {
    pub fn from_role(role: k8s::Role) -> Option<RoleRecord> {
        Some(RoleRecord {
            namespace: Some(role.metadata.namespace.unwrap_or_else(|| "default".into())),
            name: role.metadata.name?,
            labels: role.metadata.labels.unwrap_or_default(),
            rules: rules(role.rules),
            aggregation: None,
        })
    }

    pub fn from_cluster_role(role: k8s::ClusterRole) -> Option<RoleRecord> {
        Some(RoleRecord {
            namespace: None,
            name: role.metadata.name?,
            labels: role.metadata.labels.unwrap_or_default(),
            rules: rules(role.rules),
            aggregation: role.aggregation_rule.map(|a| {
                a.cluster_role_selectors
                    .unwrap_or_default()
                    .into_iter()
                    .map(selector)
                    .collect()
            }),
        })
    }
}

impl BindingRecord {
    pub fn from_role_binding(binding: k8s::RoleBinding) -> Option<BindingRecord> {
        Some(BindingRecord {
            namespace: Some(
                binding
                    .metadata
                    .namespace
                    .unwrap_or_else(|| "default".into()),
            ),
            name: binding.metadata.name?,
            role_kind: binding.role_ref.kind,
            role_name: binding.role_ref.name,
            subjects: subjects(binding.subjects),
        })
    }

    pub fn from_cluster_role_binding(binding: k8s::ClusterRoleBinding) -> Option<BindingRecord> {
        Some(BindingRecord {
            namespace: None,
            name: binding.metadata.name?,
            role_kind: binding.role_ref.kind,
            role_name: binding.role_ref.name,
            subjects: subjects(binding.subjects),
        })
    }
}

#[cfg(test)]
mod tests {
    //! Cases with known answers, each from a passage of
    //! https://kubernetes.io/docs/reference/access-authn-authz/rbac/ (the
    //! section is named above the case), read as the API server's
    //! authorizer decides them.

    use super::*;

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
        PolicyRule {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            api_groups: groups.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..PolicyRule::default()
        }
    }

    fn role(namespace: Option<&str>, name: &str, rules: Vec<PolicyRule>) -> RoleRecord {
        RoleRecord {
            namespace: namespace.map(str::to_string),
            name: name.into(),
            rules,
            ..RoleRecord::default()
        }
    }

    fn subject(kind: &str, name: &str, namespace: Option<&str>) -> SubjectRef {
        SubjectRef {
            kind: kind.into(),
            name: name.into(),
            namespace: namespace.map(str::to_string),
        }
    }

    fn binding(
        namespace: Option<&str>,
        name: &str,
        role_kind: &str,
        role_name: &str,
        subjects: Vec<SubjectRef>,
    ) -> BindingRecord {
        BindingRecord {
            namespace: namespace.map(str::to_string),
            name: name.into(),
            role_kind: role_kind.into(),
            role_name: role_name.into(),
            subjects,
        }
    }

    fn user(name: &str, groups: &[&str]) -> User {
        User {
            name: name.into(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn ask<'a>(
        verb: &'a str,
        group: &'a str,
        resource: &'a str,
        name: Option<&'a str>,
        namespace: Option<&'a str>,
    ) -> Request<'a> {
        Request {
            verb,
            group,
            resource,
            name,
            namespace,
        }
    }

    /// One case: who asks what, and whether the documented answer is yes.
    struct Case<'a> {
        section: &'a str,
        user: User,
        request: Request<'a>,
        allowed: bool,
    }

    fn check(policy: &Policy, cases: &[Case]) {
        for case in cases {
            assert_eq!(
                policy.allows(&case.user, &case.request),
                case.allowed,
                "{}: {} {:?}",
                case.section,
                case.user.name,
                case.request
            );
        }
    }

    #[test]
    fn the_documented_examples_decide_as_the_docs_say() {
        let jane = user("jane", &["system:authenticated"]);
        let dave = user("dave", &["system:authenticated"]);
        let manager = user("bob", &["manager", "system:authenticated"]);
        let policy = Policy {
            roles: vec![
                // "Role example": pod-reader in "default".
                role(
                    Some("default"),
                    "pod-reader",
                    vec![rule(&[""], &["pods"], &["get", "watch", "list"])],
                ),
                // "ClusterRole example": secret-reader.
                role(
                    None,
                    "secret-reader",
                    vec![rule(&[""], &["secrets"], &["get", "watch", "list"])],
                ),
            ],
            bindings: vec![
                // "RoleBinding examples": read-pods grants pod-reader to jane in default.
                binding(
                    Some("default"),
                    "read-pods",
                    "Role",
                    "pod-reader",
                    vec![subject("User", "jane", None)],
                ),
                // read-secrets: a RoleBinding to a ClusterRole, in development only.
                binding(
                    Some("development"),
                    "read-secrets",
                    "ClusterRole",
                    "secret-reader",
                    vec![subject("User", "dave", None)],
                ),
                // "ClusterRoleBinding example": group manager reads secrets everywhere.
                binding(
                    None,
                    "read-secrets-global",
                    "ClusterRole",
                    "secret-reader",
                    vec![subject("Group", "manager", None)],
                ),
            ],
        };
        check(
            &policy,
            &[
                Case {
                    section: "Role example: jane may read pods in default",
                    user: jane.clone(),
                    request: ask("list", "", "pods", None, Some("default")),
                    allowed: true,
                },
                Case {
                    section: "Role and ClusterRole: a Role grants within its namespace only",
                    user: jane.clone(),
                    request: ask("list", "", "pods", None, Some("kube-system")),
                    allowed: false,
                },
                Case {
                    section: "Role and ClusterRole: no verb beyond the rule's (permissions are purely additive)",
                    user: jane.clone(),
                    request: ask("delete", "", "pods", Some("web"), Some("default")),
                    allowed: false,
                },
                Case {
                    section: "RoleBinding and ClusterRoleBinding: dave reads secrets in development",
                    user: dave.clone(),
                    request: ask("get", "", "secrets", Some("db"), Some("development")),
                    allowed: true,
                },
                Case {
                    section: "RoleBinding and ClusterRoleBinding: ... and only there, though the role is a ClusterRole",
                    user: dave.clone(),
                    request: ask("get", "", "secrets", Some("db"), Some("production")),
                    allowed: false,
                },
                Case {
                    section: "RoleBinding and ClusterRoleBinding: a RoleBinding gives nothing across all namespaces",
                    user: dave,
                    request: ask("list", "", "secrets", None, None),
                    allowed: false,
                },
                Case {
                    section: "RoleBinding and ClusterRoleBinding: the manager group reads secrets in any namespace",
                    user: manager.clone(),
                    request: ask("list", "", "secrets", None, Some("anywhere")),
                    allowed: true,
                },
                Case {
                    section: "RoleBinding and ClusterRoleBinding: ... and across all namespaces",
                    user: manager,
                    request: ask("list", "", "secrets", None, None),
                    allowed: true,
                },
                Case {
                    section: "Referring to subjects: names are case sensitive",
                    user: user("Jane", &[]),
                    request: ask("list", "", "pods", None, Some("default")),
                    allowed: false,
                },
            ],
        );
    }

    #[test]
    fn resources_subresources_names_and_wildcards() {
        let user = user("alice", &[]);
        let policy = Policy {
            roles: vec![
                // "Referring to resources": pods and pods/log, get and list.
                role(
                    Some("default"),
                    "pod-and-pod-logs-reader",
                    vec![rule(&[""], &["pods", "pods/log"], &["get", "list"])],
                ),
                // "Referring to resources": one configmap by name.
                role(
                    Some("default"),
                    "configmap-updater",
                    vec![PolicyRule {
                        resource_names: vec!["my-configmap".into()],
                        ..rule(&[""], &["configmaps"], &["update", "get"])
                    }],
                ),
                // "Referring to resources": any verb on any resource of example.com.
                role(
                    Some("default"),
                    "example.com-superuser",
                    vec![rule(&["example.com"], &["*"], &["*"])],
                ),
                // The scale subresource of every resource of apps.
                role(
                    Some("default"),
                    "scaler",
                    vec![rule(&["apps"], &["*/scale"], &["update"])],
                ),
            ],
            bindings: [
                "pod-and-pod-logs-reader",
                "configmap-updater",
                "example.com-superuser",
                "scaler",
            ]
            .iter()
            .map(|r| {
                binding(
                    Some("default"),
                    r,
                    "Role",
                    r,
                    vec![subject("User", "alice", None)],
                )
            })
            .collect(),
        };
        let in_default = Some("default");
        check(
            &policy,
            &[
                Case {
                    section: "Referring to resources: pods/log is a subresource the rule names",
                    user: user.clone(),
                    request: ask("get", "", "pods/log", Some("web-0"), in_default),
                    allowed: true,
                },
                Case {
                    section: "Referring to resources: naming pods does not grant its other subresources",
                    user: user.clone(),
                    request: ask("create", "", "pods/exec", Some("web-0"), in_default),
                    allowed: false,
                },
                Case {
                    section: "Referring to resources: resourceNames restricts get to that object",
                    user: user.clone(),
                    request: ask("get", "", "configmaps", Some("my-configmap"), in_default),
                    allowed: true,
                },
                Case {
                    section: "Referring to resources: ... and no other",
                    user: user.clone(),
                    request: ask("get", "", "configmaps", Some("other"), in_default),
                    allowed: false,
                },
                Case {
                    section: "Referring to resources: create cannot be restricted by name, so a named rule never allows it",
                    user: user.clone(),
                    request: ask("create", "", "configmaps", None, in_default),
                    allowed: false,
                },
                Case {
                    section: "Referring to resources: the wildcard * stands for every resource and verb of the group",
                    user: user.clone(),
                    request: ask(
                        "deletecollection",
                        "example.com",
                        "widgets",
                        None,
                        in_default,
                    ),
                    allowed: true,
                },
                Case {
                    section: "Referring to resources: ... including subresources",
                    user: user.clone(),
                    request: ask(
                        "patch",
                        "example.com",
                        "widgets/status",
                        Some("w"),
                        in_default,
                    ),
                    allowed: true,
                },
                Case {
                    section: "Referring to resources: ... but not other groups",
                    user: user.clone(),
                    request: ask("get", "example.org", "widgets", Some("w"), in_default),
                    allowed: false,
                },
                Case {
                    section: "Referring to resources: */scale matches the scale subresource of any resource",
                    user: user.clone(),
                    request: ask(
                        "update",
                        "apps",
                        "deployments/scale",
                        Some("web"),
                        in_default,
                    ),
                    allowed: true,
                },
                Case {
                    section: "Referring to resources: ... not the resource itself",
                    user,
                    request: ask("update", "apps", "deployments", Some("web"), in_default),
                    allowed: false,
                },
            ],
        );
    }

    #[test]
    fn service_accounts_and_their_groups() {
        let sa = User::service_account("polyaxon", "agent");
        let other_ns = User::service_account("ml", "agent");
        let view = role(
            None,
            "view",
            vec![rule(&[""], &["pods"], &["get", "list", "watch"])],
        );
        let cases = |binding_ns: Option<&str>, subject: SubjectRef| Policy {
            roles: vec![view.clone()],
            bindings: vec![binding(
                binding_ns,
                "b",
                "ClusterRole",
                "view",
                vec![subject],
            )],
        };
        // "Referring to subjects": the default service account in kube-system.
        let named = cases(
            Some("polyaxon"),
            subject("ServiceAccount", "agent", Some("polyaxon")),
        );
        assert!(named.allows(&sa, &ask("list", "", "pods", None, Some("polyaxon"))));
        assert!(!named.allows(&other_ns, &ask("list", "", "pods", None, Some("polyaxon"))));
        // A ServiceAccount subject without a namespace is the binding's namespace's.
        let local = cases(Some("polyaxon"), subject("ServiceAccount", "agent", None));
        assert!(local.allows(&sa, &ask("list", "", "pods", None, Some("polyaxon"))));
        // ... and in a ClusterRoleBinding, without one it names nobody.
        let nowhere = cases(None, subject("ServiceAccount", "agent", None));
        assert!(!nowhere.allows(&sa, &ask("list", "", "pods", None, Some("polyaxon"))));
        // "All service accounts in the qa namespace": system:serviceaccounts:qa.
        let qa = cases(
            None,
            subject("Group", "system:serviceaccounts:polyaxon", None),
        );
        assert!(qa.allows(&sa, &ask("list", "", "pods", None, Some("anywhere"))));
        assert!(!qa.allows(&other_ns, &ask("list", "", "pods", None, Some("anywhere"))));
        // "All service accounts everywhere": system:serviceaccounts.
        let all = cases(None, subject("Group", "system:serviceaccounts", None));
        assert!(all.allows(&other_ns, &ask("list", "", "pods", None, Some("ml"))));
        assert!(!all.allows(
            &user("alice", &["system:authenticated"]),
            &ask("list", "", "pods", None, Some("ml"))
        ));
        // "All authenticated users": system:authenticated.
        let authenticated = cases(None, subject("Group", "system:authenticated", None));
        assert!(authenticated.allows(&sa, &ask("get", "", "pods", Some("x"), Some("ml"))));
        // A service account is also the User system:serviceaccount:NS:NAME.
        let as_user = cases(
            Some("ml"),
            subject("User", "system:serviceaccount:polyaxon:agent", None),
        );
        assert!(as_user.allows(&sa, &ask("watch", "", "pods", None, Some("ml"))));
        assert!(!as_user.allows(&sa, &ask("watch", "", "pods", None, Some("polyaxon"))));
    }

    #[test]
    fn aggregated_cluster_roles_hold_the_rules_of_the_roles_they_select() {
        // "Aggregated ClusterRoles": monitoring selects
        // rbac.example.com/aggregate-to-monitoring=true; its own rules are
        // filled in by the controller.
        let labels = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let policy = Policy {
            roles: vec![
                RoleRecord {
                    aggregation: Some(vec![Selector {
                        match_labels: labels(&[(
                            "rbac.example.com/aggregate-to-monitoring",
                            "true",
                        )]),
                        ..Selector::default()
                    }]),
                    ..role(None, "monitoring", Vec::new())
                },
                RoleRecord {
                    labels: labels(&[("rbac.example.com/aggregate-to-monitoring", "true")]),
                    ..role(
                        None,
                        "monitoring-endpoints",
                        vec![rule(
                            &[""],
                            &["services", "endpoints", "pods"],
                            &["get", "list", "watch"],
                        )],
                    )
                },
                // "User-facing roles": a CRD's rules added to edit by label.
                RoleRecord {
                    aggregation: Some(vec![Selector {
                        expressions: vec![Requirement {
                            key: "rbac.authorization.k8s.io/aggregate-to-edit".into(),
                            operator: "In".into(),
                            values: vec!["true".into()],
                        }],
                        ..Selector::default()
                    }]),
                    ..role(None, "edit", vec![rule(&[""], &["configmaps"], &["*"])])
                },
                RoleRecord {
                    labels: labels(&[("rbac.authorization.k8s.io/aggregate-to-edit", "true")]),
                    ..role(
                        None,
                        "aggregate-cron-tabs-edit",
                        vec![rule(
                            &["stable.example.com"],
                            &["crontabs"],
                            &[
                                "get", "list", "watch", "create", "update", "patch", "delete",
                            ],
                        )],
                    )
                },
                RoleRecord {
                    labels: labels(&[("rbac.authorization.k8s.io/aggregate-to-edit", "false")]),
                    ..role(None, "not-selected", vec![rule(&["*"], &["*"], &["*"])])
                },
            ],
            bindings: vec![
                binding(
                    None,
                    "mon",
                    "ClusterRole",
                    "monitoring",
                    vec![subject("User", "prom", None)],
                ),
                binding(
                    Some("ml"),
                    "edit",
                    "ClusterRole",
                    "edit",
                    vec![subject("User", "dev", None)],
                ),
            ],
        };
        let prom = user("prom", &[]);
        let dev = user("dev", &[]);
        assert!(policy.allows(&prom, &ask("list", "", "endpoints", None, None)));
        assert!(!policy.allows(&prom, &ask("delete", "", "pods", Some("x"), Some("ml"))));
        assert!(policy.allows(
            &dev,
            &ask("create", "stable.example.com", "crontabs", None, Some("ml"))
        ));
        // The selector picks by label value: the "false" role adds nothing.
        assert!(!policy.allows(&dev, &ask("get", "", "secrets", Some("s"), Some("ml"))));
        // The controller writes the union of the selected roles' rules:
        // the aggregated role's own, stale rules are not kept.
        assert!(!policy.allows(&dev, &ask("get", "", "configmaps", Some("c"), Some("ml"))));
        // Granted through the RoleBinding: in ml only.
        assert!(!policy.allows(
            &dev,
            &ask("create", "stable.example.com", "crontabs", None, Some("qa"))
        ));
        // `access` names the binding, the role it binds and the role the
        // rule came from; the same verdicts as `allows`.
        let crontabs = ask("create", "stable.example.com", "crontabs", None, Some("ml"));
        let grant = policy.grant(&dev, &crontabs).expect("granted");
        assert_eq!(grant.binding.label(), "RoleBinding ml/edit");
        assert_eq!(grant.role, "ClusterRole edit");
        assert_eq!(
            grant.aggregated_from.as_deref(),
            Some("ClusterRole aggregate-cron-tabs-edit")
        );
        let endpoints = ask("list", "", "endpoints", None, None);
        let grant = policy.grant(&prom, &endpoints).expect("granted");
        assert_eq!(grant.binding.label(), "ClusterRoleBinding mon");
        assert_eq!(
            grant.aggregated_from.as_deref(),
            Some("ClusterRole monitoring-endpoints")
        );
        for request in [
            ask("delete", "", "pods", Some("x"), Some("ml")),
            ask("get", "", "configmaps", Some("c"), Some("ml")),
            ask("get", "", "secrets", Some("s"), Some("ml")),
        ] {
            assert_eq!(policy.grant(&dev, &request), None);
            assert_eq!(
                policy.grant(&prom, &request).is_some(),
                policy.allows(&prom, &request)
            );
        }
    }

    #[test]
    fn aggregation_cycles_and_missing_roles_grant_nothing_and_end() {
        let selector = |key: &str| Selector {
            expressions: vec![Requirement {
                key: key.into(),
                operator: "Exists".into(),
                values: Vec::new(),
            }],
            ..Selector::default()
        };
        let labels = |key: &str| BTreeMap::from([(key.to_string(), "x".to_string())]);
        let policy = Policy {
            roles: vec![
                RoleRecord {
                    labels: labels("b"),
                    aggregation: Some(vec![selector("a")]),
                    ..role(None, "a", Vec::new())
                },
                RoleRecord {
                    labels: labels("a"),
                    aggregation: Some(vec![selector("b")]),
                    ..role(None, "b", Vec::new())
                },
            ],
            bindings: vec![
                binding(
                    None,
                    "x",
                    "ClusterRole",
                    "a",
                    vec![subject("User", "u", None)],
                ),
                binding(
                    Some("ml"),
                    "y",
                    "Role",
                    "absent",
                    vec![subject("User", "u", None)],
                ),
            ],
        };
        assert!(!policy.allows(
            &user("u", &[]),
            &ask("get", "", "pods", Some("p"), Some("ml"))
        ));
    }

    #[test]
    fn a_role_binding_finds_its_role_in_its_own_namespace_only() {
        let policy = Policy {
            roles: vec![role(
                Some("polyaxon"),
                "agent",
                vec![rule(&[""], &["pods"], &["*"])],
            )],
            bindings: vec![binding(
                Some("ml"),
                "agent",
                "Role",
                "agent",
                vec![subject("ServiceAccount", "agent", Some("polyaxon"))],
            )],
        };
        let sa = User::service_account("polyaxon", "agent");
        assert!(!policy.allows(&sa, &ask("create", "", "pods", None, Some("ml"))));
        assert!(!policy.allows(&sa, &ask("create", "", "pods", None, Some("polyaxon"))));
    }

    #[test]
    fn kubectl_json_decodes_into_records() {
        let role: k8s::ClusterRole = serde_json::from_str(
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
                "metadata":{"name":"monitoring","labels":{"a":"b"}},
                "aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"rbac.example.com/aggregate-to-monitoring":"true"}}]},
                "rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]},{"nonResourceURLs":["/healthz"],"verbs":["get"]}]}"#,
        )
        .unwrap();
        let record = RoleRecord::from_cluster_role(role).unwrap();
        assert_eq!(record.rules.len(), 2);
        assert_eq!(record.rules[1].non_resource_urls, vec!["/healthz"]);
        assert_eq!(record.aggregation.as_ref().map(Vec::len), Some(1));
        let binding: k8s::RoleBinding = serde_json::from_str(
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding",
                "metadata":{"name":"b","namespace":"ml"},
                "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r"},
                "subjects":[{"kind":"ServiceAccount","name":"agent","namespace":"polyaxon"}]}"#,
        )
        .unwrap();
        let record = BindingRecord::from_role_binding(binding).unwrap();
        assert_eq!(record.label(), "RoleBinding ml/b");
        assert_eq!(record.subjects[0].namespace.as_deref(), Some("polyaxon"));
        // A nonResourceURLs rule never allows a resource request.
        let non_resource = PolicyRule {
            verbs: vec!["*".into()],
            non_resource_urls: vec!["*".into()],
            ..PolicyRule::default()
        };
        assert!(!rule_allows(
            &non_resource,
            &ask("get", "", "pods", Some("p"), Some("ml"))
        ));
    }
}
