//! deploy/ against the code: every document is the Kubernetes type it says
//! it is, the ClusterRole grants every resource pxdoctor lists
//! (src/source/resources.rs) and nothing else, and every request a live
//! check, `--run` check, collect, access and the Deployment's `serve` make
//! against the API server simulator is one the role allows, judged by RBAC's
//! own rules (src/facts/access/rbac.rs, the evaluator `check` judges
//! Polyaxon by). The Deployment's probes and port are serve's, and the
//! example alerts parse as PromQL over metrics and rules serve really has.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Namespace, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use promql_parser::parser::{Expr, VectorSelector};
use promql_parser::util::ExprVisitor;
use pxdoctor::facts::access::rbac::{BindingRecord, Policy, Request, RoleRecord, User};
use pxdoctor::source::resources::{POLYAXON, RESOURCES};
use serde::Deserialize;
use serde_json::Value;
use support::apiserver::{ApiServer, Options};
use support::served::Served;
use support::{repo, stderr, testdata};

/// The extra grants beyond listing RESOURCES, each with its reason in the
/// file: logs, the store's Secret by name, access reviews.
const EXTRA: [(&str, &str, &str); 3] = [
    ("", "pods/log", "get"),
    ("", "secrets", "get"),
    ("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
];

fn documents_of(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{file} is not YAML: {e}"))
}

fn documents() -> Vec<Value> {
    documents_of("deploy/rbac.yaml")
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
    support::isolated_pxdoctor()
        .args(args)
        .env("KUBECONFIG", kubeconfig)
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
        // serve as deploy/serve.yaml runs it, until every watch has read its
        // first list (ready): its lists, watches, logs and Secret reads.
        let args = serve_args_on_loopback();
        let served = Served::spawn(
            &kubeconfig,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        served.ready();
        drop(served);
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
        "watch pods",
        "watch events",
        "watch nodes",
        "list events",
        "get pods/log",
        "create selfsubjectaccessreviews",
    ] {
        assert!(kinds.contains(seen), "{seen} never asked: {kinds:?}");
    }
}

fn serve_manifests() -> (Deployment, Service) {
    let mut deployment = None;
    let mut service = None;
    for document in documents_of("deploy/serve.yaml") {
        match document["kind"].as_str().unwrap() {
            "Deployment" => {
                deployment = Some(serde_json::from_value(document).expect("a Deployment"))
            }
            "Service" => service = Some(serde_json::from_value(document).expect("a Service")),
            other => panic!("deploy/serve.yaml: unexpected kind {other}"),
        }
    }
    (
        deployment.expect("a Deployment"),
        service.expect("a Service"),
    )
}

fn serve_container(deployment: &Deployment) -> Container {
    let pod = deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(pod.containers.len(), 1);
    pod.containers[0].clone()
}

/// The container's args, listening on a free loopback port instead of
/// 0.0.0.0:9090.
fn serve_args_on_loopback() -> Vec<String> {
    let (deployment, _) = serve_manifests();
    let mut args = serve_container(&deployment).args.expect("args");
    let listen = args.iter().position(|a| a == "--listen").expect("--listen") + 1;
    args[listen] = "127.0.0.1:0".into();
    args
}

#[test]
fn the_deployment_runs_serve_read_only_on_the_port_its_probes_and_service_use() {
    let (deployment, service) = serve_manifests();
    let (_, account) = policy();
    let spec = deployment.spec.as_ref().unwrap();
    assert_eq!(
        spec.replicas,
        Some(1),
        "one replica: two would count every finding twice"
    );
    let pod = spec.template.spec.as_ref().unwrap();
    assert_eq!(
        User::service_account(
            deployment.metadata.namespace.as_deref().unwrap(),
            pod.service_account_name.as_deref().unwrap()
        ),
        account,
        "the Deployment runs as rbac.yaml's ServiceAccount"
    );

    // What serve listens on is the port the probes, the Service and the
    // ServiceMonitor name; the Deployment passes the default explicitly.
    let container = serve_container(&deployment);
    let args = container.args.clone().unwrap();
    assert_eq!(args[0], "serve");
    let listen: std::net::SocketAddr = args[args.iter().position(|a| a == "--listen").unwrap() + 1]
        .parse()
        .unwrap();
    let help = support::pxdoctor(&["serve", "--help"]);
    assert!(
        String::from_utf8_lossy(&help.stdout).contains(&format!("[default: {listen}]")),
        "the Deployment's --listen is serve's default"
    );
    let ports = container.ports.clone().unwrap();
    let port = &ports[0];
    assert_eq!(port.container_port, i32::from(listen.port()));
    let port_name = port.name.clone().unwrap();
    for (probe, path) in [
        (container.liveness_probe.clone(), "/healthz"),
        (container.readiness_probe.clone(), "/readyz"),
    ] {
        let get = probe.expect("a probe").http_get.expect("an HTTP probe");
        assert_eq!(get.path.as_deref(), Some(path));
        assert_eq!(get.port, IntOrString::String(port_name.clone()));
    }

    // Read-only, unprivileged, bounded.
    let security = container.security_context.clone().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(
        security.capabilities.unwrap().drop,
        Some(vec!["ALL".to_string()])
    );
    let pod_security = pod.security_context.clone().unwrap();
    assert_eq!(pod_security.run_as_non_root, Some(true));
    let user = pod_security.run_as_user.unwrap();
    assert_ne!(user, 0);
    let dockerfile = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("USER {user}:")),
        "deploy/Dockerfile runs as the Deployment's user {user}"
    );
    let resources = container.resources.clone().unwrap();
    for name in ["cpu", "memory"] {
        assert!(
            resources.requests.as_ref().unwrap().contains_key(name),
            "requests.{name}"
        );
    }
    assert!(resources.limits.as_ref().unwrap().contains_key("memory"));

    // The Service selects the pod and forwards to the named port.
    let labels = spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone()
        .unwrap();
    let service_spec = service.spec.unwrap();
    for (key, value) in service_spec.selector.unwrap() {
        assert_eq!(
            labels.get(&key),
            Some(&value),
            "the Service selects the pod by {key}"
        );
    }
    let service_port = &service_spec.ports.unwrap()[0];
    assert_eq!(
        service_port.target_port,
        Some(IntOrString::String(port_name.clone()))
    );
    assert_eq!(service.metadata.namespace, deployment.metadata.namespace);

    // The ServiceMonitor scrapes that Service's port.
    let monitor: ServiceMonitor =
        serde_json::from_value(documents_of("deploy/monitoring/servicemonitor.yaml").remove(0))
            .expect("a ServiceMonitor as the Prometheus Operator's CRD reads it");
    assert_eq!(monitor.kind, "ServiceMonitor");
    assert_eq!(monitor.api_version, "monitoring.coreos.com/v1");
    let service_labels = service.metadata.labels.unwrap();
    for (key, value) in monitor.spec.selector.match_labels.unwrap() {
        assert_eq!(
            service_labels.get(&key),
            Some(&value),
            "the ServiceMonitor selects the Service by {key}"
        );
    }
    assert!(
        monitor
            .spec
            .namespace_selector
            .match_names
            .contains(service.metadata.namespace.as_ref().unwrap())
    );
    assert_eq!(
        monitor.spec.endpoints[0].port,
        service_port.name.clone().unwrap()
    );
    assert_eq!(monitor.spec.endpoints[0].path.as_deref(), Some("/metrics"));
    let duration = |text: &Option<String>| {
        promql_parser::util::parse_duration(text.as_deref().unwrap()).expect("a duration")
    };
    assert!(
        duration(&monitor.spec.endpoints[0].scrape_timeout)
            <= duration(&monitor.spec.endpoints[0].interval),
        "Prometheus refuses a scrape timeout longer than the interval"
    );
}

/// The Prometheus Operator's ServiceMonitor, the fields deploy/ uses;
/// unknown fields are refused, as a typo would be lost on the cluster.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServiceMonitor {
    api_version: String,
    kind: String,
    #[allow(dead_code)]
    metadata: ObjectMeta,
    spec: ServiceMonitorSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServiceMonitorSpec {
    namespace_selector: NamespaceSelector,
    selector: LabelSelector,
    endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NamespaceSelector {
    match_names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Endpoint {
    port: String,
    path: Option<String>,
    interval: Option<String>,
    scrape_timeout: Option<String>,
}

/// The Prometheus Operator's PrometheusRule, the fields deploy/ uses.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PrometheusRule {
    api_version: String,
    kind: String,
    #[allow(dead_code)]
    metadata: ObjectMeta,
    spec: PrometheusRuleSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrometheusRuleSpec {
    groups: Vec<RuleGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleGroup {
    #[allow(dead_code)]
    name: String,
    rules: Vec<AlertRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertRule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    hold: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

/// One sample line of the exposition: metric name, labels, value.
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of a Prometheus text (or OpenMetrics) exposition.
fn samples(exposition: &str) -> Vec<Sample> {
    let mut found = Vec::new();
    for line in exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut map = BTreeMap::new();
        let mut rest = labels;
        while let Some((key, after)) = rest.split_once("=\"") {
            let mut value = String::new();
            let mut chars = after.char_indices();
            let mut end = after.len();
            while let Some((at, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(if escaped == 'n' { '\n' } else { escaped });
                        }
                    }
                    '"' => {
                        end = at + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            map.insert(key.trim_start_matches(',').to_string(), value);
            rest = &after[end..];
        }
        found.push(Sample {
            name: name.to_string(),
            labels: map,
            value: value.parse().expect("a number"),
        });
    }
    found
}

/// Every vector selector of an expression.
struct Selectors(Vec<VectorSelector>);

impl ExprVisitor for Selectors {
    type Error = ();
    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, ()> {
        match expr {
            Expr::VectorSelector(selector) => self.0.push(selector.clone()),
            Expr::MatrixSelector(matrix) => self.0.push(matrix.vs.clone()),
            _ => {}
        }
        Ok(true)
    }
}

fn selects(selector: &VectorSelector, sample: &Sample) -> bool {
    selector.name.as_deref() == Some(sample.name.as_str())
        && selector.matchers.matchers.iter().all(|matcher| {
            matcher.name == "__name__"
                || matcher.is_match(sample.labels.get(&matcher.name).map_or("", String::as_str))
        })
}

#[test]
fn the_example_alerts_are_promql_over_what_serve_exposes_and_fire_where_they_should() {
    let document = documents_of("deploy/monitoring/prometheusrule.yaml").remove(0);
    let rules: PrometheusRule =
        serde_json::from_value(document).expect("a PrometheusRule as the operator's CRD reads it");
    assert_eq!(rules.kind, "PrometheusRule");
    assert_eq!(rules.api_version, "monitoring.coreos.com/v1");
    let known: BTreeSet<String> = pxdoctor::engine::load_rules(&[], true)
        .expect("built-in rules")
        .into_iter()
        .map(|rule| rule.id)
        .collect();
    let id = regex::Regex::new(r"PXD-[A-Z]+-\d{3}").unwrap();

    // What serve exposes, from serve itself: gpu-shortage has a Pending GPU
    // run, platform-trouble an agent that is not ready.
    let mut exposed = BTreeMap::new();
    for scenario in ["gpu-shortage", "platform-trouble"] {
        let server = ApiServer::start(&testdata(scenario), Options::default());
        let home = tempfile::tempdir().unwrap();
        let kubeconfig = server.write_kubeconfig(home.path());
        let served = Served::start(&kubeconfig, &["-A"]);
        served.ready();
        let metrics = served.wait_for(
            "/metrics",
            std::time::Duration::from_secs(30),
            |status, body| {
                status == 200 && body.contains("pxdoctor_last_evaluation_timestamp_seconds ")
            },
        );
        exposed.insert(scenario, samples(&metrics));
    }
    let every: Vec<&Sample> = exposed.values().flatten().collect();

    let mut alerts = BTreeMap::new();
    for rule in rules.spec.groups.iter().flat_map(|g| &g.rules) {
        let expr = promql_parser::parser::parse(&rule.expr)
            .unwrap_or_else(|e| panic!("{}: not PromQL: {e}", rule.alert));
        if let Some(hold) = &rule.hold {
            promql_parser::util::parse_duration(hold)
                .unwrap_or_else(|e| panic!("{}: for: {hold}: {e}", rule.alert));
        }
        assert!(rule.labels.contains_key("severity"), "{}", rule.alert);
        assert!(rule.annotations.contains_key("summary"), "{}", rule.alert);
        let mut selectors = Selectors(Vec::new());
        promql_parser::util::walk_expr(&mut selectors, &expr).unwrap();
        assert!(!selectors.0.is_empty(), "{}", rule.alert);
        for selector in &selectors.0 {
            let name = selector.name.clone().expect("a metric name");
            let series: Vec<&&Sample> = every.iter().filter(|s| s.name == name).collect();
            assert!(
                !series.is_empty(),
                "{}: serve exposes no {name}",
                rule.alert
            );
            for matcher in &selector.matchers.matchers {
                assert!(
                    series.iter().any(|s| s.labels.contains_key(&matcher.name)),
                    "{}: {name} has no label {}",
                    rule.alert,
                    matcher.name
                );
                if matcher.name == "rule" {
                    let named: Vec<&str> =
                        id.find_iter(&matcher.value).map(|m| m.as_str()).collect();
                    assert!(!named.is_empty(), "{}: name rule ids", rule.alert);
                    for rule_id in named {
                        assert!(known.contains(rule_id), "{}: no rule {rule_id}", rule.alert);
                        assert!(
                            matcher.is_match(rule_id),
                            "{}: {} misses {rule_id}",
                            rule.alert,
                            matcher.value
                        );
                    }
                }
            }
        }
        alerts.insert(rule.alert.clone(), selectors.0);
    }

    // The alerts meant for these scenarios would fire on them, and no
    // other finding alert would (gpu-shortage's store and agent are fine).
    let fires = |alert: &str, scenario: &str| {
        alerts[alert].iter().all(|selector| {
            exposed[scenario]
                .iter()
                .any(|sample| selects(selector, sample) && sample.value > 0.0)
        })
    };
    assert!(fires("PolyaxonRunPendingForGPU", "gpu-shortage"));
    assert!(fires("PolyaxonPlatformNotReady", "platform-trouble"));
    for quiet in [
        "PolyaxonPlatformNotReady",
        "PolyaxonArtifactsStoreUnreachable",
        "PolyaxonArtifactsStoreRefuses",
    ] {
        assert!(!fires(quiet, "gpu-shortage"), "{quiet} on gpu-shortage");
    }
    assert!(!fires("PolyaxonRunPendingForGPU", "platform-trouble"));
    assert!(alerts.contains_key("PxdoctorStale"));
}
