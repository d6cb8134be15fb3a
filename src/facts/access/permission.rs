//! Permissions Polyaxon's service accounts lack, found by evaluating the
//! cluster's RBAC objects (rbac.rs) against what Polyaxon's charts grant
//! (needs.rs), in every namespace its runs go to: one fact per service
//! account and namespace, naming every missing verb per resource, with the
//! Role and RoleBinding that grant exactly that.
//!
//! Silence is the rule when the data cannot tell: no fact unless Roles,
//! ClusterRoles and both kinds of bindings were all delivered, none of
//! their lists failed in the namespace asked about, and the namespace was
//! read at all. A snapshot without RBAC objects never yields "missing".

use std::collections::{BTreeMap, BTreeSet};

use super::needs::{Component, Generation};
use super::rbac::{Policy, Request, User};
use crate::facts::Fact;
use crate::facts::artifacts::agent_config::AgentConfig;
use crate::facts::gap::CollectionGap;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};
use crate::facts::workloads::deployment::DeploymentFact;

/// The kinds a verdict needs, all of them.
pub const RBAC_KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// Verbs missing on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub group: String,
    pub resource: String,
    pub verbs: Vec<String>,
}

impl Missing {
    fn qualified(&self) -> String {
        super::needs::qualified(&self.group, &self.resource)
    }
}

#[derive(Debug, Clone)]
pub struct PermissionFact {
    pub component: Component,
    /// The service account's namespace and name.
    pub account_namespace: String,
    pub account: String,
    /// Where it lacks them.
    pub namespace: String,
    /// Why runs go to that namespace.
    pub reason: String,
    pub missing: Vec<Missing>,
    /// Bindings that name the account itself, wherever they grant.
    pub bindings: Vec<String>,
    /// Bindings that grant part of what it needs in `namespace` (by name or
    /// by one of its groups).
    pub partial: Vec<String>,
    /// Whether the account exists; None when ServiceAccounts were not read.
    pub account_exists: Option<bool>,
}

pub const FIELDS: &[FieldSpec] = &[
    field("component", Text, "agent, operator or runs"),
    field(
        "user",
        Text,
        "the service account as the API server names it: system:serviceaccount:NS:NAME",
    ),
    field(
        "service_account",
        Text,
        "NAMESPACE:NAME of the service account",
    ),
    field(
        "namespace",
        Text,
        "the run namespace it lacks permissions in",
    ),
    field(
        "reason",
        Text,
        "why runs go to that namespace (the agent's own, POLYAXON_ADDITIONAL_NAMESPACES, runs found there)",
    ),
    field(
        "missing",
        Text,
        "the missing verbs and the resources they are missing on, as kubectl names them: \"get, list, watch on pods/log, jobs.batch; ...\"",
    ),
    field("resources", Text, "the resources with missing verbs"),
    field("verbs", Text, "the distinct missing verbs"),
    field("missing_count", Number, "missing (resource, verb) pairs"),
    field(
        "partial",
        Bool,
        "some binding grants part of what it needs in that namespace",
    ),
    field(
        "bindings",
        Text,
        "the bindings that name the account itself, wherever they grant",
    ),
    field(
        "coverage",
        Text,
        "what the bindings that grant part of it there amount to, in words",
    ),
    field(
        "account_exists",
        Bool,
        "the service account exists; absent when ServiceAccounts were not read",
    ),
    field(
        "missing_account",
        Text,
        "NAMESPACE:NAME of the service account, when it is known not to exist",
    ),
    field(
        "create_account",
        Text,
        "kubectl command that creates the service account, when it is missing",
    ),
    field(
        "rbac_rules",
        Text,
        "the missing rules as a Role's rules, YAML flow",
    ),
    field(
        "grant",
        Text,
        "kubectl commands that grant exactly what is missing (Roles and RoleBindings in that namespace)",
    ),
    field("needed_by", Text, "the chart templates the needs come from"),
];

impl PermissionFact {
    pub fn user(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.account_namespace, self.account
        )
    }

    /// Resources grouped by their missing verbs, as kubectl names them
    /// (`jobs.batch`: the group follows the resource).
    fn by_verbs(&self) -> BTreeMap<&[String], Vec<String>> {
        let mut by_verbs: BTreeMap<&[String], Vec<String>> = BTreeMap::new();
        for missing in &self.missing {
            by_verbs
                .entry(missing.verbs.as_slice())
                .or_default()
                .push(missing.qualified());
        }
        by_verbs
    }

    fn missing_words(&self) -> String {
        self.by_verbs()
            .into_iter()
            .map(|(verbs, resources)| format!("{} on {}", verbs.join(", "), resources.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn coverage(&self) -> String {
        if self.partial.is_empty() {
            "No Role or ClusterRole bound to it grants any of that there".to_string()
        } else {
            format!(
                "What {} grant{} it there falls short",
                self.partial.join(" and "),
                if self.partial.len() == 1 { "s" } else { "" }
            )
        }
    }

    fn verbs(&self) -> String {
        let verbs: BTreeSet<&str> = self
            .missing
            .iter()
            .flat_map(|m| m.verbs.iter().map(String::as_str))
            .collect();
        verbs.into_iter().collect::<Vec<_>>().join(", ")
    }

    fn rbac_rules(&self) -> String {
        let rules: Vec<String> = self
            .missing
            .iter()
            .map(|m| {
                format!(
                    "{{apiGroups: [\"{}\"], resources: [\"{}\"], verbs: [{}]}}",
                    m.group,
                    m.resource,
                    m.verbs
                        .iter()
                        .map(|v| format!("\"{v}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        format!("[{}]", rules.join(", "))
    }

    /// One Role per distinct verb set (kubectl grants every verb on every
    /// resource it is given, so resources that need different verbs cannot
    /// share one), each bound to the account by a RoleBinding of the same
    /// name, in the namespace that lacks them.
    pub fn grant(&self) -> String {
        let namespace = &self.namespace;
        let mut commands = Vec::new();
        for (verbs, resources) in self.by_verbs() {
            let name = format!("pxdoctor-{}-{}", self.account, verbs.join("-"));
            commands.push(format!(
                "kubectl create role {name} -n {namespace} --verb={} --resource={}",
                verbs.join(","),
                resources.join(",")
            ));
            commands.push(format!(
                "kubectl create rolebinding {name} -n {namespace} --role={name} --serviceaccount={}:{}",
                self.account_namespace, self.account
            ));
        }
        // One command a line: each is copied on its own.
        commands.join("\n")
    }

    fn create_account(&self) -> Option<String> {
        (self.account_exists == Some(false)).then(|| {
            format!(
                "kubectl create serviceaccount {} -n {}",
                self.account, self.account_namespace
            )
        })
    }
}

impl FieldSource for PermissionFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "component" => Some(text(self.component.name())),
            "user" => Some(text(self.user())),
            "service_account" => Some(text(format!("{}:{}", self.account_namespace, self.account))),
            "namespace" => Some(text(&self.namespace)),
            "reason" => Some(text(&self.reason)),
            "missing" => Some(text(self.missing_words())),
            "resources" => Some(text(
                self.missing
                    .iter()
                    .map(Missing::qualified)
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
            "verbs" => Some(text(self.verbs())),
            "missing_count" => Some(num(
                self.missing.iter().map(|m| m.verbs.len()).sum::<usize>() as f64,
            )),
            "partial" => Some(Value::Bool(!self.partial.is_empty())),
            "bindings" => (!self.bindings.is_empty()).then(|| text(self.bindings.join(", "))),
            "coverage" => Some(text(self.coverage())),
            "account_exists" => self.account_exists.map(Value::Bool),
            "missing_account" => (self.account_exists == Some(false))
                .then(|| text(format!("{}:{}", self.account_namespace, self.account))),
            "create_account" => self.create_account().map(text),
            "rbac_rules" => Some(text(self.rbac_rules())),
            "grant" => Some(text(self.grant())),
            "needed_by" => Some(text(self.component.source())),
            _ => None,
        }
    }
}

impl Fact for PermissionFact {
    fn subject(&self) -> Subject {
        // One finding per account and namespace: the namespace is part of
        // the subject, so two namespaces are never merged into one.
        Subject {
            kind: "Access".into(),
            namespace: Some(self.namespace.clone()),
            name: self.user(),
            run: None,
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut evidence: Vec<Evidence> = self
            .missing
            .iter()
            .map(|m| {
                Evidence::new("RBAC")
                    .name(m.qualified())
                    .reason("NotGranted")
                    .message(format!(
                        "{} may not {} {} in API group \"{}\" in namespace {}",
                        self.user(),
                        m.verbs.join(", "),
                        m.resource,
                        m.group,
                        self.namespace
                    ))
            })
            .collect();
        let list = |bindings: &[String]| {
            if bindings.is_empty() {
                "none".to_string()
            } else {
                bindings.join(", ")
            }
        };
        evidence.push(
            Evidence::new("Bindings")
                .name(format!("{}:{}", self.account_namespace, self.account))
                .message(format!(
                    "bindings that name the account: {}; bindings that grant part of it in {}: {}",
                    list(&self.bindings),
                    self.namespace,
                    list(&self.partial)
                )),
        );
        evidence
    }
}

/// What the permission check reads from an inventory.
pub struct Inputs<'a> {
    pub policy: &'a Policy,
    pub kinds_seen: &'a BTreeSet<String>,
    pub gaps: &'a [CollectionGap],
    /// Namespaces whose namespaced objects were read; None: all.
    pub scope: Option<&'a BTreeSet<String>>,
    pub deployments: &'a [DeploymentFact],
    pub configs: &'a [AgentConfig],
    pub service_accounts: &'a BTreeSet<(String, String)>,
    /// Namespaces that hold runs (pods or custom resources).
    pub run_namespaces: &'a BTreeSet<String>,
    /// Polyaxon's custom resource definitions known to exist.
    pub crds: &'a BTreeSet<String>,
}

/// One service account, where it acts.
#[derive(PartialEq)]
pub(super) struct Account {
    pub component: Component,
    pub namespace: String,
    pub name: String,
}

impl Inputs<'_> {
    /// Every permission fact: silent unless the RBAC data can tell.
    pub fn evaluate(&self) -> Vec<PermissionFact> {
        if !self.rbac_known() {
            return Vec::new();
        }
        let mut facts = Vec::new();
        let accounts = self.accounts();
        let homes: BTreeSet<&str> = accounts.keys().map(String::as_str).collect();
        for (home, accounts) in &accounts {
            for (namespace, reason) in self.run_namespaces_of(home, &homes) {
                if !self.readable(&namespace, &["roles", "rolebindings"]) {
                    continue;
                }
                for account in accounts {
                    let account_namespace = match account.component {
                        // The runs' pods use the service account of that
                        // name in their own namespace.
                        Component::Runs => namespace.clone(),
                        _ => account.namespace.clone(),
                    };
                    if let Some(fact) = self.check(account, &account_namespace, &namespace, &reason)
                    {
                        facts.push(fact);
                    }
                }
            }
        }
        facts
    }

    /// Whether every RBAC kind was delivered and no cluster-wide list of
    /// them failed: otherwise every verdict is open.
    pub(super) fn rbac_known(&self) -> bool {
        let cluster_gap = self.gaps.iter().any(|gap| {
            matches!(
                gap.resource.as_str(),
                "clusterroles" | "clusterrolebindings"
            ) || (matches!(gap.resource.as_str(), "roles" | "rolebindings")
                && gap.namespace.is_none())
        });
        RBAC_KINDS
            .iter()
            .all(|kind| self.kinds_seen.contains(*kind))
            && !cluster_gap
    }

    /// The install's generation: from the custom resources the cluster
    /// serves, and when it serves both (a leftover CRD after an upgrade, or
    /// none was read) from the version its platform Deployments run. None
    /// when nothing tells: then only what every chart grants is checked.
    pub(super) fn generation(&self) -> Option<Generation> {
        let operations = self.crds.contains("operations.core.polyaxon.com");
        let polyaxon_com = self
            .crds
            .iter()
            .any(|crd| crd.ends_with(".polyaxon.com") && !crd.ends_with(".core.polyaxon.com"));
        let version = self.deployments.iter().filter_map(|d| d.version).max();
        match (operations, polyaxon_com) {
            (true, false) => Some(Generation::Operations),
            (false, true) => Some(Generation::PolyaxonCom),
            _ => version.map(Generation::of_version),
        }
    }

    /// Whether `namespace` was read and none of these lists failed there.
    pub(super) fn readable(&self, namespace: &str, resources: &[&str]) -> bool {
        self.scope.is_none_or(|scope| scope.contains(namespace))
            && !self.gaps.iter().any(|gap| {
                resources.contains(&gap.resource.as_str())
                    && gap.namespace.as_deref().is_none_or(|n| n == namespace)
            })
    }

    /// Polyaxon's service accounts, by the namespace the agent runs in: the
    /// agent's and operator's from their Deployments (pod template's
    /// serviceAccountName), else, when Deployments were not read, from the
    /// chart's naming of the agent's ConfigMap; the runs' from
    /// POLYAXON_AGENT_RUNS_SA.
    pub(super) fn accounts(&self) -> BTreeMap<String, Vec<Account>> {
        let mut by_home: BTreeMap<String, Vec<Account>> = BTreeMap::new();
        for deployment in self.deployments {
            let Some(component) = component_of(deployment) else {
                continue;
            };
            let accounts = by_home.entry(deployment.namespace.clone()).or_default();
            let account = Account {
                component,
                namespace: deployment.namespace.clone(),
                name: deployment.service_account.clone(),
            };
            // The api and the agent share the agent's account in the chart.
            if !accounts.contains(&account) {
                accounts.push(account);
            }
        }
        if !self.kinds_seen.contains("Deployment") {
            for config in self.configs {
                // <release>-polyaxon-agent-config → <release>-polyaxon-agent-sa
                if let Some(release) = config.name.strip_suffix("-agent-config") {
                    by_home
                        .entry(config.namespace.clone())
                        .or_default()
                        .push(Account {
                            component: Component::Agent,
                            namespace: config.namespace.clone(),
                            name: format!("{release}-agent-sa"),
                        });
                }
            }
        }
        for (home, accounts) in by_home.iter_mut() {
            let runs = self
                .configs
                .iter()
                .filter(|c| &c.namespace == home)
                .find_map(|c| c.runs_service_account.clone());
            if let Some(name) = runs {
                accounts.push(Account {
                    component: Component::Runs,
                    namespace: home.clone(),
                    name,
                });
            }
        }
        by_home
    }

    /// The namespaces runs of the agent in `home` go to, and why.
    ///
    /// Run pods do not say which Polyaxon started them, so with several
    /// releases in one cluster a namespace is claimed by the release whose
    /// home it is or whose POLYAXON_ADDITIONAL_NAMESPACES lists it; runs
    /// found elsewhere are given to the agent only when it is the only one.
    pub(super) fn run_namespaces_of(
        &self,
        home: &str,
        homes: &BTreeSet<&str>,
    ) -> BTreeMap<String, String> {
        let mut found = BTreeMap::new();
        found.insert(
            home.to_string(),
            "the namespace Polyaxon's agent runs in".to_string(),
        );
        for config in self.configs.iter().filter(|c| c.namespace == home) {
            for namespace in &config.additional_namespaces {
                found.entry(namespace.clone()).or_insert_with(|| {
                    format!(
                        "listed in POLYAXON_ADDITIONAL_NAMESPACES of ConfigMap {}/{}",
                        config.namespace, config.name
                    )
                });
            }
        }
        if homes.len() > 1 {
            return found;
        }
        let claimed_elsewhere = |namespace: &str| {
            self.configs.iter().any(|config| {
                config.namespace != home
                    && (config.namespace == namespace
                        || config.additional_namespaces.iter().any(|n| n == namespace))
            })
        };
        for namespace in self.run_namespaces {
            if claimed_elsewhere(namespace) {
                continue;
            }
            found
                .entry(namespace.clone())
                .or_insert_with(|| "a namespace Polyaxon runs were found in".to_string());
        }
        found
    }

    fn check(
        &self,
        account: &Account,
        account_namespace: &str,
        namespace: &str,
        reason: &str,
    ) -> Option<PermissionFact> {
        let user = User::service_account(account_namespace, &account.name);
        let mut missing = Vec::new();
        // The bindings that grant part of what is needed there.
        let mut partial = BTreeSet::new();
        for need in account.component.needs(self.generation(), self.crds) {
            let mut verbs = Vec::new();
            for verb in need.verbs {
                let request = Request {
                    verb,
                    group: need.group,
                    resource: need.resource,
                    name: None,
                    namespace: Some(namespace),
                };
                match self.policy.granted_by(&user, &request) {
                    Some(binding) => {
                        partial.insert(binding.label());
                    }
                    None => verbs.push(verb.to_string()),
                }
            }
            if !verbs.is_empty() {
                missing.push(Missing {
                    group: need.group.to_string(),
                    resource: need.resource.to_string(),
                    verbs,
                });
            }
        }
        if missing.is_empty() {
            return None;
        }
        let account_exists = (self.kinds_seen.contains("ServiceAccount")
            && self.readable(account_namespace, &["serviceaccounts"]))
        .then(|| {
            self.service_accounts
                .contains(&(account_namespace.to_string(), account.name.clone()))
        });
        Some(PermissionFact {
            component: account.component,
            account_namespace: account_namespace.to_string(),
            account: account.name.clone(),
            namespace: namespace.to_string(),
            reason: reason.to_string(),
            missing,
            bindings: self
                .policy
                .bindings_naming(&user)
                .iter()
                .map(|b| b.label())
                .collect(),
            partial: partial.into_iter().collect(),
            account_exists,
        })
    }
}

/// Which of Polyaxon's components a platform Deployment's account serves,
/// the way the chart names them: its service account
/// (`<fullname>-operator-sa`, `<fullname>-agent-sa`), else the Deployment's
/// name (`<fullname>-operator`, `<fullname>-agent`). Labels are no guide:
/// every chart version labels the operator's Deployment
/// `component: polyaxon-agent` and the agent's `polyaxon-workers`
/// (templates/partials/_labels.tpl), so only the one no chart sets,
/// `polyaxon-operator`, is read. None when nothing tells: no guess.
fn component_of(deployment: &DeploymentFact) -> Option<Component> {
    let account = deployment.service_account.as_str();
    if account.ends_with("-operator-sa") {
        return Some(Component::Operator);
    }
    if account.ends_with("-agent-sa") {
        return Some(Component::Agent);
    }
    if deployment.name.ends_with("-operator") || deployment.component == "polyaxon-operator" {
        return Some(Component::Operator);
    }
    deployment
        .name
        .ends_with("-agent")
        .then_some(Component::Agent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::access::rbac::{BindingRecord, PolicyRule, RoleRecord, SubjectRef};

    /// An agent in polyaxon with everything granted there by a Role, and
    /// ml-team listed in its ConfigMap with nothing granted.
    struct World {
        policy: Policy,
        kinds: BTreeSet<String>,
        gaps: Vec<CollectionGap>,
        deployments: Vec<DeploymentFact>,
        configs: Vec<AgentConfig>,
        accounts: BTreeSet<(String, String)>,
        runs: BTreeSet<String>,
        crds: BTreeSet<String>,
    }

    impl World {
        fn new() -> World {
            let all = PolicyRule {
                verbs: vec!["*".into()],
                api_groups: vec!["*".into()],
                resources: vec!["*".into()],
                ..PolicyRule::default()
            };
            World {
                policy: Policy {
                    roles: vec![RoleRecord {
                        namespace: Some("polyaxon".into()),
                        name: "agent".into(),
                        rules: vec![all],
                        ..RoleRecord::default()
                    }],
                    bindings: vec![BindingRecord {
                        namespace: Some("polyaxon".into()),
                        name: "agent".into(),
                        role_kind: "Role".into(),
                        role_name: "agent".into(),
                        subjects: vec![SubjectRef {
                            kind: "ServiceAccount".into(),
                            name: "plx-polyaxon-agent-sa".into(),
                            namespace: Some("polyaxon".into()),
                        }],
                    }],
                },
                kinds: RBAC_KINDS
                    .iter()
                    .chain(&["Deployment", "ServiceAccount"])
                    .map(|k| k.to_string())
                    .collect(),
                gaps: Vec::new(),
                deployments: vec![DeploymentFact {
                    namespace: "polyaxon".into(),
                    name: "plx-polyaxon-agent".into(),
                    component: "polyaxon-workers".into(),
                    service_account: "plx-polyaxon-agent-sa".into(),
                    ..DeploymentFact::default()
                }],
                configs: vec![AgentConfig {
                    namespace: "polyaxon".into(),
                    name: "plx-polyaxon-agent-config".into(),
                    additional_namespaces: vec!["ml-team".into()],
                    ..AgentConfig::default()
                }],
                accounts: BTreeSet::from([(
                    "polyaxon".to_string(),
                    "plx-polyaxon-agent-sa".to_string(),
                )]),
                runs: BTreeSet::new(),
                crds: BTreeSet::new(),
            }
        }

        fn facts(&self, scope: Option<&BTreeSet<String>>) -> Vec<PermissionFact> {
            Inputs {
                policy: &self.policy,
                kinds_seen: &self.kinds,
                gaps: &self.gaps,
                scope,
                deployments: &self.deployments,
                configs: &self.configs,
                service_accounts: &self.accounts,
                run_namespaces: &self.runs,
                crds: &self.crds,
            }
            .evaluate()
        }
    }

    fn gap(resource: &str, namespace: Option<&str>) -> CollectionGap {
        CollectionGap {
            verb: "list".into(),
            resource: resource.into(),
            group: "rbac.authorization.k8s.io".into(),
            namespace: namespace.map(str::to_string),
            reason: "forbidden".into(),
            message: String::new(),
            skipped_checks: String::new(),
        }
    }

    #[test]
    fn the_additional_namespace_lacks_everything_and_the_home_nothing() {
        let facts = World::new().facts(None);
        assert_eq!(facts.len(), 1, "{facts:#?}");
        let fact = &facts[0];
        assert_eq!(fact.namespace, "ml-team");
        assert_eq!(fact.component, Component::Agent);
        assert_eq!(
            fact.field("missing_count"),
            Some(num(Component::Agent
                .needs(None, &BTreeSet::new())
                .iter()
                .map(|n| n.verbs.len())
                .sum::<usize>() as f64))
        );
        assert_eq!(fact.account_exists, Some(true));
        assert_eq!(fact.field("partial"), Some(Value::Bool(false)));
        assert_eq!(fact.bindings, vec!["RoleBinding polyaxon/agent"]);
    }

    #[test]
    fn gaps_and_scope_leave_namespaces_unjudged() {
        let mut world = World::new();
        world.gaps = vec![gap("rolebindings", Some("ml-team"))];
        assert!(world.facts(None).is_empty());
        world.gaps = vec![gap("roles", Some("other"))];
        assert_eq!(world.facts(None).len(), 1);
        world.gaps = vec![gap("clusterrolebindings", None)];
        assert!(world.facts(None).is_empty());
        world.gaps = vec![gap("roles", None)];
        assert!(world.facts(None).is_empty());
        world.gaps.clear();
        let polyaxon = BTreeSet::from(["polyaxon".to_string()]);
        assert!(world.facts(Some(&polyaxon)).is_empty());
        world.kinds.remove("ClusterRoleBinding");
        assert!(world.facts(None).is_empty());
    }

    #[test]
    fn without_service_accounts_read_their_existence_is_not_claimed() {
        let mut world = World::new();
        world.kinds.remove("ServiceAccount");
        let facts = world.facts(None);
        assert_eq!(facts[0].account_exists, None);
        assert_eq!(facts[0].field("create_account"), None);
        world.kinds.insert("ServiceAccount".into());
        world.accounts.clear();
        let facts = world.facts(None);
        assert_eq!(
            facts[0].field("create_account"),
            Some(text(
                "kubectl create serviceaccount plx-polyaxon-agent-sa -n polyaxon"
            ))
        );
    }

    #[test]
    fn the_agent_is_found_by_the_charts_naming_when_deployments_were_not_read() {
        let mut world = World::new();
        world.deployments.clear();
        assert!(world.facts(None).is_empty(), "Deployments read: no agent");
        world.kinds.remove("Deployment");
        let facts = world.facts(None);
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].account, "plx-polyaxon-agent-sa");
    }

    #[test]
    fn runs_namespaces_and_the_operator_and_runs_accounts_are_judged_too() {
        let mut world = World::new();
        world.runs.insert("team-b".into());
        world.deployments.push(DeploymentFact {
            namespace: "polyaxon".into(),
            name: "plx-polyaxon-operator".into(),
            service_account: "plx-polyaxon-operator-sa".into(),
            ..DeploymentFact::default()
        });
        world.configs[0].runs_service_account = Some("plx-polyaxon-runs-sa".into());
        world.crds.insert("operations.core.polyaxon.com".into());
        let facts = world.facts(None);
        let who: BTreeSet<(&str, &str, &str)> = facts
            .iter()
            .map(|f| {
                (
                    f.component.name(),
                    f.account_namespace.as_str(),
                    f.namespace.as_str(),
                )
            })
            .collect();
        assert_eq!(
            who,
            BTreeSet::from([
                ("agent", "polyaxon", "ml-team"),
                ("agent", "polyaxon", "team-b"),
                ("operator", "polyaxon", "ml-team"),
                ("operator", "polyaxon", "polyaxon"),
                ("operator", "polyaxon", "team-b"),
                ("runs", "ml-team", "ml-team"),
                ("runs", "polyaxon", "polyaxon"),
                ("runs", "team-b", "team-b"),
            ])
        );
        let operator = facts
            .iter()
            .find(|f| f.component == Component::Operator && f.namespace == "polyaxon")
            .unwrap();
        let grant = operator.grant();
        assert!(
            grant.contains("--verb=get,patch,update --resource=deployments.apps/status,jobs.batch/status,pods/status,services/status,operations.core.polyaxon.com/status"),
            "{grant}"
        );
        let team_b = facts
            .iter()
            .find(|f| f.namespace == "team-b" && f.component == Component::Agent)
            .unwrap();
        assert_eq!(team_b.reason, "a namespace Polyaxon runs were found in");
    }

    #[test]
    fn two_releases_each_answer_for_their_own_namespaces_only() {
        let mut world = World::new();
        // A second Polyaxon in "research", with everything granted there.
        let mut second = world.policy.roles[0].clone();
        second.namespace = Some("research".into());
        world.policy.roles.push(second);
        let mut binding = world.policy.bindings[0].clone();
        binding.namespace = Some("research".into());
        binding.subjects[0].name = "rs-polyaxon-agent-sa".into();
        binding.subjects[0].namespace = Some("research".into());
        world.policy.bindings.push(binding);
        world.deployments.push(DeploymentFact {
            namespace: "research".into(),
            name: "rs-polyaxon-agent".into(),
            component: "polyaxon-workers".into(),
            service_account: "rs-polyaxon-agent-sa".into(),
            ..DeploymentFact::default()
        });
        world.configs.push(AgentConfig {
            namespace: "research".into(),
            name: "rs-polyaxon-agent-config".into(),
            ..AgentConfig::default()
        });
        world
            .accounts
            .insert(("research".into(), "rs-polyaxon-agent-sa".into()));
        // Runs of both, and runs in a namespace neither release lists.
        world.runs = BTreeSet::from([
            "polyaxon".to_string(),
            "research".to_string(),
            "ml-team".to_string(),
            "elsewhere".to_string(),
        ]);
        let facts = world.facts(None);
        let judged: BTreeSet<(&str, &str)> = facts
            .iter()
            .map(|f| (f.account.as_str(), f.namespace.as_str()))
            .collect();
        // Only the first release's own additional namespace lacks a grant:
        // neither agent is blamed for the other's home, and "elsewhere"
        // cannot be given to either.
        assert_eq!(
            judged,
            BTreeSet::from([("plx-polyaxon-agent-sa", "ml-team")]),
            "{facts:#?}"
        );
        // With one release, runs found anywhere are its own.
        let mut single = World::new();
        single.runs.insert("elsewhere".into());
        let namespaces: BTreeSet<String> = single
            .facts(None)
            .into_iter()
            .map(|f| f.namespace)
            .collect();
        assert_eq!(
            namespaces,
            BTreeSet::from(["elsewhere".to_string(), "ml-team".to_string()])
        );
    }
}
