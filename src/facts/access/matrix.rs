//! The whole picture behind the permission check, for `pxdoctor access`:
//! for each of Polyaxon's service accounts (and any `--subject`), in each
//! namespace its runs go to, every permission it needs, granted (by which
//! binding and role) or missing, or unknown where the RBAC objects could not
//! be read. The same evaluation `check` judges by (permission.rs), shown
//! whole, as rakkess shows `kubectl auth can-i --list`.

use std::collections::BTreeSet;

use super::needs::{Component, Need};
use super::permission::{Account, Inputs, Missing, PermissionFact};
use super::rbac::{Request, User};

/// One permission of one account in one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub namespace: String,
    /// `system:serviceaccount:NS:NAME`.
    pub subject: String,
    /// agent, operator, runs; None for a `--subject`.
    pub component: Option<&'static str>,
    /// As kubectl names it: `pods/log`, `jobs.batch`.
    pub resource: String,
    pub group: String,
    /// The resource without its group: `pods/log`, `jobs`.
    pub plain_resource: String,
    pub verb: String,
    /// None: the RBAC objects there could not be read.
    pub granted: Option<bool>,
    pub via: Option<Via>,
}

/// What grants a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// "RoleBinding ns/name" or "ClusterRoleBinding name".
    pub binding: String,
    /// "Role ns/name" or "ClusterRole name".
    pub role: String,
    /// The ClusterRole an aggregated role took the rule from.
    pub aggregated_from: Option<String>,
}

/// One account in one namespace, with why runs go there.
#[derive(Debug, Clone)]
pub struct Block {
    pub namespace: String,
    pub subject: String,
    pub component: Option<&'static str>,
    pub reason: String,
    pub rows: Vec<Row>,
    /// `kubectl create role|rolebinding` lines for what is missing.
    pub grant: Option<String>,
}

impl Inputs<'_> {
    /// Every account's needs in every namespace, as blocks; `extra` are
    /// other service accounts (namespace, name), checked against every
    /// need of Polyaxon's accounts, in every namespace runs go to.
    pub fn matrix(&self, extra: &[(String, String)]) -> Vec<Block> {
        let known = self.rbac_known();
        let generation = self.generation();
        let accounts = self.accounts();
        let homes: BTreeSet<&str> = accounts.keys().map(String::as_str).collect();
        let mut blocks = Vec::new();
        let mut every_namespace: Vec<(String, String)> = Vec::new();
        for (home, accounts) in &accounts {
            for (namespace, reason) in self.run_namespaces_of(home, &homes) {
                if !every_namespace.iter().any(|(n, _)| *n == namespace) {
                    every_namespace.push((namespace.clone(), reason.clone()));
                }
                for account in accounts {
                    let account_namespace = match account.component {
                        Component::Runs => namespace.clone(),
                        _ => account.namespace.clone(),
                    };
                    let needs = account.component.needs(generation, self.crds);
                    blocks.push(self.block(
                        Some(account),
                        (&account_namespace, &account.name),
                        &namespace,
                        &reason,
                        &needs,
                        known,
                    ));
                }
            }
        }
        let mut all_needs: Vec<Need> = [Component::Agent, Component::Operator, Component::Runs]
            .into_iter()
            .flat_map(|component| component.needs(generation, self.crds))
            .collect();
        all_needs.sort();
        all_needs.dedup();
        for (account_namespace, name) in extra {
            for (namespace, reason) in &every_namespace {
                blocks.push(self.block(
                    None,
                    (account_namespace, name),
                    namespace,
                    reason,
                    &all_needs,
                    known,
                ));
            }
        }
        blocks
    }

    fn block(
        &self,
        account: Option<&Account>,
        (account_namespace, name): (&str, &str),
        namespace: &str,
        reason: &str,
        needs: &[Need],
        known: bool,
    ) -> Block {
        let user = User::service_account(account_namespace, name);
        let readable = known && self.readable(namespace, &["roles", "rolebindings"]);
        let component = account.map(|a| a.component.name());
        let mut rows = Vec::new();
        for need in needs {
            for verb in need.verbs {
                let request = Request {
                    verb,
                    group: need.group,
                    resource: need.resource,
                    name: None,
                    namespace: Some(namespace),
                };
                let grant = readable
                    .then(|| self.policy.grant(&user, &request))
                    .flatten();
                let row = Row {
                    namespace: namespace.to_string(),
                    subject: user.name.clone(),
                    component,
                    resource: need.qualified(),
                    group: need.group.to_string(),
                    plain_resource: need.resource.to_string(),
                    verb: verb.to_string(),
                    granted: readable.then_some(grant.is_some()),
                    via: grant.map(|grant| Via {
                        binding: grant.binding.label(),
                        role: grant.role,
                        aggregated_from: grant.aggregated_from,
                    }),
                };
                // A need listed by two components is one row.
                if !rows.contains(&row) {
                    rows.push(row);
                }
            }
        }
        let grant = grant_lines(account, (account_namespace, name), namespace, &rows);
        Block {
            namespace: namespace.to_string(),
            subject: user.name,
            component,
            reason: reason.to_string(),
            rows,
            grant,
        }
    }
}

/// The `kubectl create role|rolebinding` lines `check` proposes, for what
/// is missing here.
fn grant_lines(
    account: Option<&Account>,
    (account_namespace, name): (&str, &str),
    namespace: &str,
    rows: &[Row],
) -> Option<String> {
    let mut missing: Vec<Missing> = Vec::new();
    for row in rows.iter().filter(|row| row.granted == Some(false)) {
        match missing
            .iter_mut()
            .find(|m| m.group == row.group && m.resource == row.plain_resource)
        {
            Some(m) => m.verbs.push(row.verb.clone()),
            None => missing.push(Missing {
                group: row.group.clone(),
                resource: row.plain_resource.clone(),
                verbs: vec![row.verb.clone()],
            }),
        }
    }
    if missing.is_empty() {
        return None;
    }
    let fact = PermissionFact {
        component: account.map_or(Component::Agent, |a| a.component),
        account_namespace: account_namespace.to_string(),
        account: name.to_string(),
        namespace: namespace.to_string(),
        reason: String::new(),
        missing,
        bindings: Vec::new(),
        partial: Vec::new(),
        account_exists: None,
    };
    Some(fact.grant())
}
