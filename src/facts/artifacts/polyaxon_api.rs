//! What the Polyaxon API said to the CLI's own credentials, and where the
//! cluster says Polyaxon is reachable: one fact, so rules can tell a
//! rejected token from an expired one, a header a proxy dropped on the way,
//! a certificate nobody trusts, a host that does not answer, and a CLI that
//! still points at another Polyaxon than the one the kube context runs.
//!
//! [`ApiProbe`] is also the format of `probes/polyaxon-api.json` in a bundle,
//! so `check --snapshot` replays exactly what `collect` saw. It never holds
//! the token, only where it came from and whether it was sent.

use serde::{Deserialize, Serialize};

use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

/// The file name of the recorded probe, under `probes/` in a snapshot.
pub const PROBE_FILE: &str = "polyaxon-api.json";

/// One probe of the Polyaxon API with the CLI's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ApiProbe {
    /// The API's base URL as the CLI would use it, e.g. https://polyaxon.acme.io.
    pub host: String,
    /// Where the host came from: POLYAXON_HOST, a `.client` file, or the
    /// CLI's default.
    pub host_source: String,
    /// Whether a token was sent (`Authorization: Token ...`).
    pub token_sent: bool,
    /// Where the token came from (a variable's name or a file's path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_source: Option<String>,
    /// Whether the server's certificate was verified (POLYAXON_VERIFY_SSL).
    pub verify_ssl: bool,
    /// The path asked, e.g. /api/v1/users.
    pub endpoint: String,
    /// ok, unauthorized, token_expired, header_stripped, no_credentials,
    /// forbidden, project_forbidden, project_not_found, ca_unreadable, tls_untrusted, tls_error, dns,
    /// refused, timeout, unreachable, http_error.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The server's `detail`, or the start of its body (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// What failed underneath, when nothing usable came back (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// dns, connect, tls or response: the step that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// owner/name of the CLI's current project, when it was probed too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The answering server's `Server` header (nginx, envoy, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// Where the cluster exposes Polyaxon: an Ingress rule's host or a
/// Service's load balancer address, in Polyaxon's namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    /// Ingress or Service.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Host names and addresses it answers to.
    pub hosts: Vec<String>,
}

impl Endpoint {
    /// An Ingress that routes to Polyaxon (labelled part of polyaxon-core by
    /// the chart, or with a backend Service named like Polyaxon's).
    pub fn from_ingress(object: &serde_json::Value) -> Option<Endpoint> {
        let (namespace, name) = namespace_name(object)?;
        let part_of = object
            .pointer("/metadata/labels/app.kubernetes.io~1part-of")
            .and_then(|v| v.as_str())
            == Some("polyaxon-core");
        let rules = object
            .pointer("/spec/rules")
            .and_then(|r| r.as_array())
            .cloned()
            .unwrap_or_default();
        let to_polyaxon = rules.iter().any(|rule| {
            rule.pointer("/http/paths")
                .and_then(|p| p.as_array())
                .into_iter()
                .flatten()
                .any(|path| {
                    // networking.k8s.io/v1 and the old extensions/v1beta1 shape.
                    path.pointer("/backend/service/name")
                        .or_else(|| path.pointer("/backend/serviceName"))
                        .and_then(|n| n.as_str())
                        .is_some_and(|n| n.contains("polyaxon"))
                })
        });
        if !(part_of || to_polyaxon) {
            return None;
        }
        let mut hosts: Vec<String> = rules
            .iter()
            .filter_map(|rule| rule.get("host").and_then(|h| h.as_str()))
            .filter(|h| !h.is_empty())
            .map(|h| h.to_ascii_lowercase())
            .collect();
        hosts.extend(load_balancer(object));
        hosts.sort();
        hosts.dedup();
        Some(Endpoint {
            kind: "Ingress".into(),
            namespace,
            name,
            hosts,
        })
    }

    /// Polyaxon's gateway or api Service, with its in-cluster names and its
    /// load balancer's address when it has one.
    pub fn from_service(object: &serde_json::Value) -> Option<Endpoint> {
        let (namespace, name) = namespace_name(object)?;
        let part_of = object
            .pointer("/metadata/labels/app.kubernetes.io~1part-of")
            .and_then(|v| v.as_str())
            == Some("polyaxon-core");
        let named =
            name.contains("polyaxon") && (name.ends_with("-gateway") || name.ends_with("-api"));
        if !(named || part_of && (name.ends_with("-gateway") || name.ends_with("-api"))) {
            return None;
        }
        let mut hosts = vec![
            name.clone(),
            format!("{name}.{namespace}"),
            format!("{name}.{namespace}.svc"),
            format!("{name}.{namespace}.svc.cluster.local"),
        ];
        hosts.extend(load_balancer(object));
        hosts.extend(
            object
                .pointer("/spec/externalIPs")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|ip| ip.as_str().map(str::to_string)),
        );
        Some(Endpoint {
            kind: "Service".into(),
            namespace,
            name,
            hosts,
        })
    }
}

fn namespace_name(object: &serde_json::Value) -> Option<(String, String)> {
    let name = object.pointer("/metadata/name")?.as_str()?.to_string();
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(|n| n.as_str())
        .unwrap_or("default")
        .to_string();
    Some((namespace, name))
}

fn load_balancer(object: &serde_json::Value) -> Vec<String> {
    object
        .pointer("/status/loadBalancer/ingress")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .flat_map(|entry| {
            ["ip", "hostname"]
                .into_iter()
                .filter_map(|key| entry.get(key).and_then(|v| v.as_str()))
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The probe, joined with where the cluster says Polyaxon is.
#[derive(Debug, Clone)]
pub struct PolyaxonApiFact {
    pub probe: ApiProbe,
    /// Polyaxon's Ingresses and Services the source saw; empty when none
    /// were seen (or none were collected).
    pub endpoints: Vec<Endpoint>,
}

pub const FIELDS: &[FieldSpec] = &[
    field("host", Text, "the API's base URL the CLI uses"),
    field(
        "host_name",
        Text,
        "the host name (or address) of that URL, without scheme or port",
    ),
    field(
        "host_source",
        Text,
        "where the host came from: POLYAXON_HOST, a .client file, or the CLI's default",
    ),
    field(
        "outcome",
        Text,
        "ok, unauthorized, token_expired, header_stripped, no_credentials, forbidden, project_forbidden, project_not_found, ca_unreadable, tls_untrusted, tls_error, dns, refused, timeout, unreachable, http_error",
    ),
    field("status", Number, "the HTTP status, when one came back"),
    field(
        "detail",
        Text,
        "the API's `detail` (or the start of its body)",
    ),
    field("error", Text, "what failed underneath, when no answer came"),
    field(
        "step",
        Text,
        "dns, connect, tls or response: where it failed",
    ),
    field(
        "token_sent",
        Bool,
        "whether the request carried Authorization: Token ...",
    ),
    field(
        "token_source",
        Text,
        "where the token came from (variable or file), never the token",
    ),
    field("verify_ssl", Bool, "whether the certificate was verified"),
    field("endpoint", Text, "the path asked, e.g. /api/v1/users"),
    field(
        "project",
        Text,
        "owner/name of the CLI's project, when probed",
    ),
    field("server", Text, "the answering server's Server header"),
    field(
        "cluster_hosts",
        Text,
        "the hosts the cluster exposes Polyaxon on (Ingress hosts, load balancers, Service names)",
    ),
    field(
        "host_in_cluster",
        Bool,
        "whether the CLI's host is one of them; absent when that cannot be told (no endpoints seen, or a loopback port-forward)",
    ),
    field(
        "ingress_check",
        Text,
        "a kubectl command that shows Polyaxon's Ingress annotations",
    ),
    field(
        "direct_check",
        Text,
        "commands that ask the API past the Ingress (port-forward, then curl)",
    ),
];

impl PolyaxonApiFact {
    /// "polyaxon.acme.io" from "https://polyaxon.acme.io:443/prefix".
    pub fn host_name(&self) -> String {
        host_name(&self.probe.host)
    }

    fn cluster_hosts(&self) -> Vec<&str> {
        let mut hosts: Vec<&str> = self
            .endpoints
            .iter()
            .flat_map(|e| e.hosts.iter().map(String::as_str))
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// None when it cannot be told: nothing seen in the cluster, or the CLI
    /// talks to a loopback address (a `polyaxon port-forward` or kubectl
    /// port-forward, which reaches whatever the tunnel leads to).
    pub fn host_in_cluster(&self) -> Option<bool> {
        let name = self.host_name();
        if self.endpoints.is_empty() || name.is_empty() || is_loopback(&name) {
            return None;
        }
        Some(self.cluster_hosts().contains(&name.as_str()))
    }

    fn ingress_check(&self) -> String {
        let ingresses: Vec<&Endpoint> = self
            .endpoints
            .iter()
            .filter(|e| e.kind == "Ingress")
            .collect();
        if ingresses.is_empty() {
            return "kubectl get ingress -A -o custom-columns='NAMESPACE:.metadata.namespace,NAME:.metadata.name,HOSTS:.spec.rules[*].host,ANNOTATIONS:.metadata.annotations'".into();
        }
        ingresses
            .iter()
            .map(|e| {
                format!(
                    "kubectl get ingress {} -n {} -o jsonpath='{{.metadata.annotations}}'",
                    e.name, e.namespace
                )
            })
            .collect::<Vec<_>>()
            .join(" ; ")
    }

    fn direct_check(&self) -> String {
        let service = self.endpoints.iter().find(|e| e.kind == "Service");
        let (namespace, name) = match service {
            Some(s) => (s.namespace.as_str(), s.name.as_str()),
            None => ("polyaxon", "polyaxon-polyaxon-gateway"),
        };
        format!(
            "kubectl port-forward -n {namespace} svc/{name} 8000:80, then curl -sS -H \"Authorization: Token $POLYAXON_AUTH_TOKEN\" http://localhost:8000{}",
            self.probe.endpoint
        )
    }
}

/// The host part of a URL (lowercase, no port, no brackets).
pub fn host_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if let Some(inner) = authority.strip_prefix('[') {
        inner.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host.to_ascii_lowercase()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl FieldSource for PolyaxonApiFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        let p = &self.probe;
        match name {
            "host" => Some(text(&p.host)),
            "host_name" => Some(text(self.host_name())),
            "host_source" => Some(text(&p.host_source)),
            "outcome" => Some(text(&p.outcome)),
            "status" => p.status.map(num),
            "detail" => p.detail.as_deref().map(text),
            "error" => p.error.as_deref().map(text),
            "step" => p.step.as_deref().map(text),
            "token_sent" => Some(Value::Bool(p.token_sent)),
            "token_source" => p.token_source.as_deref().map(text),
            "verify_ssl" => Some(Value::Bool(p.verify_ssl)),
            "endpoint" => Some(text(&p.endpoint)),
            "project" => p.project.as_deref().map(text),
            "server" => p.server.as_deref().map(text),
            "cluster_hosts" => {
                let hosts = self.cluster_hosts();
                (!hosts.is_empty()).then(|| text(hosts.join(", ")))
            }
            "host_in_cluster" => self.host_in_cluster().map(Value::Bool),
            "ingress_check" => Some(text(self.ingress_check())),
            "direct_check" => Some(text(self.direct_check())),
            _ => None,
        }
    }
}

impl Fact for PolyaxonApiFact {
    fn subject(&self) -> Subject {
        Subject {
            kind: "PolyaxonAPI".into(),
            namespace: None,
            name: self.probe.host.clone(),
            run: None,
        }
    }

    fn evidence(&self) -> Vec<Evidence> {
        let p = &self.probe;
        let mut said = match (p.status, &p.detail, &p.error) {
            (Some(status), Some(detail), _) => format!("HTTP {status}: {detail}"),
            (Some(status), None, _) => format!("HTTP {status}"),
            (None, _, Some(error)) => error.clone(),
            (None, _, None) => p.outcome.clone(),
        };
        let token = if p.token_sent {
            format!(
                "Authorization: Token **** (from {})",
                p.token_source
                    .as_deref()
                    .unwrap_or("the CLI's configuration")
            )
        } else {
            "no token".to_string()
        };
        said = format!(
            "GET {}{} with {token}: {said}",
            p.host.trim_end_matches('/'),
            p.endpoint
        );
        let mut evidence = vec![
            Evidence::new("Probe")
                .name("Polyaxon API")
                .reason(p.outcome.clone())
                .message(said),
        ];
        if let Some(server) = &p.server {
            evidence.push(
                Evidence::new("Probe")
                    .name("Server header")
                    .message(server.clone()),
            );
        }
        for endpoint in &self.endpoints {
            evidence.push(
                Evidence::new(&endpoint.kind)
                    .name(format!("{}/{}", endpoint.namespace, endpoint.name))
                    .message(format!("exposes Polyaxon as {}", endpoint.hosts.join(", "))),
            );
        }
        evidence
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn host_names_drop_scheme_port_and_path() {
        assert_eq!(
            host_name("https://Polyaxon.acme.io:8443/x"),
            "polyaxon.acme.io"
        );
        assert_eq!(host_name("http://[::1]:8000"), "::1");
        assert_eq!(host_name("localhost:8000"), "localhost");
    }

    #[test]
    fn the_cli_host_is_compared_with_the_ingress_unless_it_is_a_port_forward() {
        let ingress = Endpoint::from_ingress(&json!({
            "metadata": {"name": "polyaxon-polyaxon-ingress", "namespace": "polyaxon",
                         "labels": {"app.kubernetes.io/part-of": "polyaxon-core"}},
            "spec": {"rules": [{"host": "polyaxon.acme.io"}]}
        }))
        .unwrap();
        let fact = |host: &str| PolyaxonApiFact {
            probe: ApiProbe {
                host: host.into(),
                ..ApiProbe::default()
            },
            endpoints: vec![ingress.clone()],
        };
        assert_eq!(
            fact("https://polyaxon.acme.io").host_in_cluster(),
            Some(true)
        );
        assert_eq!(
            fact("https://polyaxon.old-cluster.io").host_in_cluster(),
            Some(false)
        );
        assert_eq!(fact("http://localhost:8000").host_in_cluster(), None);
        let unseen = PolyaxonApiFact {
            probe: ApiProbe {
                host: "https://x.io".into(),
                ..ApiProbe::default()
            },
            endpoints: Vec::new(),
        };
        assert_eq!(unseen.host_in_cluster(), None);
    }

    #[test]
    fn only_polyaxons_ingresses_and_services_count() {
        let other = json!({"metadata": {"name": "grafana", "namespace": "monitoring"},
            "spec": {"rules": [{"host": "grafana.acme.io", "http": {"paths": [
                {"backend": {"service": {"name": "grafana"}}}]}}]}});
        assert_eq!(Endpoint::from_ingress(&other), None);
        let routed = json!({"metadata": {"name": "px", "namespace": "ml"},
            "spec": {"rules": [{"host": "px.acme.io", "http": {"paths": [
                {"backend": {"service": {"name": "polyaxon-polyaxon-gateway"}}}]}}]}});
        assert_eq!(
            Endpoint::from_ingress(&routed).unwrap().hosts,
            vec!["px.acme.io"]
        );
        let gateway = json!({"metadata": {"name": "polyaxon-polyaxon-gateway", "namespace": "polyaxon"},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}});
        let service = Endpoint::from_service(&gateway).unwrap();
        assert!(service.hosts.contains(&"203.0.113.7".to_string()));
        assert!(
            service
                .hosts
                .contains(&"polyaxon-polyaxon-gateway.polyaxon.svc.cluster.local".to_string())
        );
        let run = json!({"metadata": {"name": "plx-operation-8f3c", "namespace": "polyaxon"}});
        assert_eq!(Endpoint::from_service(&run), None);
    }
}
