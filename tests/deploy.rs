//! deploy/rbac.yaml against the code: every document is the Kubernetes
//! type it says it is, its ClusterRole grants every resource pxdoctor lists
//! (src/source/resources.rs) and nothing else, and every request a live
//! check, `--run` check, collect and access make against the API server
//! simulator is one the role allows, judged by RBAC's own rules
//! (src/facts/access/rbac.rs, the evaluator `check` judges Polyaxon by).

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use pxdoctor::facts::access::rbac::{BindingRecord, Policy, Request, RoleRecord, User};
use pxdoctor::source::resources::{POLYAXON, RESOURCES};
use serde_json::Value;
use support::apiserver::{ApiServer, Options};
use support::{repo, stderr, testdata};

/// The extra grants beyond listing RESOURCES, each with its reason in the
/// file: logs, the store's Secret by name, access reviews.
const EXTRA: [(&str, &str, &str); 3] = [
    ("", "pods/log", "get"),
    ("", "secrets", "get"),
    ("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
];

fn documents() -> Vec<Value> {
    let text = std::fs::read_to_string(repo().join("deploy/rbac.yaml")).unwrap();
    serde_saphyr::from_multiple(&text).expect("deploy/rbac.yaml is YAML")
}

fn policy() -> (Policy, User) {
    let mut policy = Policy::default();
    let mut user = None;
    for document in documents() {
        match document["kind"].as_str().unwrap() {
            "Namespace" => {
                serde_json::from_value::<Namespace>(document).expect("a Namespace");
            }
            "ServiceAccount" => {
                let account: ServiceAccount =
                    serde_json::from_value(document).expect("a ServiceAccount");
                user = Some(User::service_account(
                    account.metadata.namespace.as_deref().unwrap(),
                    account.metadata.name.as_deref().unwrap(),
                ));
            }
            "ClusterRole" => {
                let role: ClusterRole = serde_json::from_value(document).expect("a ClusterRole");
                policy.roles.extend(RoleRecord::from_cluster_role(role));
            }
            "ClusterRoleBinding" => {
                let binding: ClusterRoleBinding =
                    serde_json::from_value(document).expect("a ClusterRoleBinding");
                policy
                    .bindings
                    .extend(BindingRecord::from_cluster_role_binding(binding));
            }
            other => panic!("deploy/rbac.yaml: unexpected kind {other}"),
        }
    }
    (policy, user.expect("a ServiceAccount"))
}

fn ask<'a>(
    verb: &'a str,
    group: &'a str,
    resource: &'a str,
    namespace: Option<&'a str>,
) -> Request<'a> {
    Request {
        verb,
        group,
        resource,
        name: None,
        namespace,
    }
}

#[test]
fn the_cluster_role_grants_what_the_code_reads_and_nothing_else() {
    let (policy, user) = policy();
    let mut expected: BTreeSet<(String, String, String)> = BTreeSet::new();
    for resource in RESOURCES.iter().chain(POLYAXON) {
        for verb in ["get", "list", "watch"] {
            for namespace in [Some("ml-team"), None] {
                assert!(
                    policy.allows(
                        &user,
                        &ask(verb, resource.group, resource.plural, namespace)
                    ),
                    "{verb} {} not granted",
                    resource.full_name()
                );
            }
            expected.insert((resource.group.into(), resource.plural.into(), verb.into()));
        }
    }
    for (group, resource, verb) in EXTRA {
        assert!(policy.allows(&user, &ask(verb, group, resource, Some("polyaxon"))));
        expected.insert((group.into(), resource.into(), verb.into()));
    }
    // Nothing more: every (group, resource, verb) the role names is one of
    // those, and it writes nothing, lists no Secret.
    let role = &policy.roles[0];
    for rule in &role.rules {
        for group in &rule.api_groups {
            for resource in &rule.resources {
                for verb in &rule.verbs {
                    assert!(
                        expected.contains(&(group.clone(), resource.clone(), verb.clone())),
                        "deploy/rbac.yaml grants {verb} on {resource} in group {group:?}, which pxdoctor does not use"
                    );
                }
            }
        }
    }
    for forbidden in [
        ask("list", "", "secrets", Some("polyaxon")),
        ask("create", "", "pods", Some("polyaxon")),
        ask("delete", "batch", "jobs", Some("polyaxon")),
        ask("get", "", "pods/exec", Some("polyaxon")),
    ] {
        assert!(!policy.allows(&user, &forbidden), "{forbidden:?}");
    }
}

/// A request's RBAC attributes, as kube-apiserver's request info reads
/// them; None for discovery and /version (non-resource URLs every
/// authenticated user may get).
fn attributes(
    method: &str,
    path: &str,
    query: &str,
) -> Option<(String, String, String, Option<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", namespace, rest @ ..] if !rest.is_empty() => {
            (Some(namespace.to_string()), rest)
        }
        _ => (None, rest),
    };
    let (resource, verb) = match (rest, method) {
        ([], _) => return None,
        ([plural], "POST") => (plural.to_string(), "create"),
        ([plural], _) if query.contains("watch=") => (plural.to_string(), "watch"),
        ([plural], _) => (plural.to_string(), "list"),
        ([plural, _name], _) => (plural.to_string(), "get"),
        ([plural, _name, sub], _) => (format!("{plural}/{sub}"), "get"),
        _ => return None,
    };
    Some((group.to_string(), resource, verb.to_string(), namespace))
}

fn pxdoctor(args: &[&str], kubeconfig: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pxdoctor"))
        .args(args)
        .current_dir(repo())
        .env("KUBECONFIG", kubeconfig)
        .env("NO_COLOR", "1")
        .env("POLYAXON_HOME", "/nonexistent/polyaxon-home")
        .env_remove("POLYAXON_HOST")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("pxdoctor runs")
}

#[test]
fn every_request_pxdoctor_makes_is_one_the_role_allows() {
    let (policy, user) = policy();
    let mut judged = 0;
    let mut kinds = BTreeSet::new();
    for scenario in [
        "gpu-shortage",
        "missing-rolebinding",
        "runtime-failures",
        "never-silent",
    ] {
        let server = ApiServer::start(&testdata(scenario), Options::default());
        let home = tempfile::tempdir().unwrap();
        let kubeconfig = server.write_kubeconfig(home.path());
        let bundle = home.path().join("bundle.tar.gz");
        let runs: Vec<String> = {
            let text = std::fs::read_to_string(testdata(scenario).join("pods.json"))
                .or_else(|_| {
                    std::fs::read_to_string(testdata(scenario).join("namespaces/ml-team/pods.json"))
                })
                .unwrap_or_default();
            let pods: Value = serde_json::from_str(&text).unwrap_or_default();
            pods["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["metadata"]["labels"]["app.kubernetes.io/instance"].as_str())
                .map(str::to_string)
                .take(2)
                .collect()
        };
        let mut commands: Vec<Vec<String>> = vec![
            vec!["check".into(), "-A".into(), "--no-s3".into()],
            vec!["check".into()],
            vec![
                "collect".into(),
                "-o".into(),
                bundle.to_string_lossy().into_owned(),
            ],
            vec!["access".into()],
        ];
        if let Some(run) = runs.first() {
            commands.push(vec![
                "check".into(),
                "-A".into(),
                "--run".into(),
                run[..8].to_string(),
            ]);
        }
        for command in &commands {
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            let output = pxdoctor(&args, &kubeconfig);
            assert!(
                matches!(output.status.code(), Some(0 | 1)),
                "{scenario} {command:?}: {}",
                stderr(&output)
            );
        }
        for request in server.requests() {
            let Some((group, resource, verb, namespace)) =
                attributes(&request.method, &request.path, &request.query)
            else {
                continue;
            };
            let asked = ask(&verb, &group, &resource, namespace.as_deref());
            assert!(
                policy.allows(&user, &asked),
                "{scenario}: deploy/rbac.yaml does not allow {} {}?{} ({verb} {resource} in group {group:?})",
                request.method,
                request.path,
                request.query
            );
            kinds.insert(format!("{verb} {resource}"));
            judged += 1;
        }
    }
    assert!(judged > 100, "{judged}");
    for seen in [
        "list pods",
        "list events",
        "get pods/log",
        "create selfsubjectaccessreviews",
    ] {
        assert!(kinds.contains(seen), "{seen} never asked: {kinds:?}");
    }
}
