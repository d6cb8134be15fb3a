//! Tests of the Kubernetes API server simulator (tests/support/apiserver.rs):
//! pagination, selectors, auth, faults, TLS, and fidelity through the real
//! `kubectl`. Everything talks to 127.0.0.1 only.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::apiserver::{ApiServer, Faults, Forbidden, Options};
use support::testdata;

const TOKEN: &str = "pxdoctor-test-token";

// ---------------------------------------------------------------------------
// A small blocking HTTP/1.1 client: one request per connection.

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to `url` (http or https; https trusts `ca_pem` only)
/// and reads the answer until the server closes the connection.
fn send(
    url: &str,
    ca_pem: Option<&str>,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: Option<&Value>,
    timeout: Duration,
) -> std::io::Result<Reply> {
    let (tls, address) = match url.split_once("://") {
        Some(("https", address)) => (true, address),
        Some((_, address)) => (false, address),
        None => (false, url),
    };
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);

    let stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut raw = Vec::new();
    let read = if tls {
        let mut roots = rustls::RootCertStore::empty();
        let pem = ca_pem.expect("a CA for https");
        use rustls::pki_types::pem::PemObject;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA certificate");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = "127.0.0.1".try_into().expect("server name");
        let connection =
            rustls::ClientConnection::new(Arc::new(config), name).map_err(std::io::Error::other)?;
        let mut stream = rustls::StreamOwned::new(connection, stream);
        stream.write_all(request.as_bytes())?;
        stream.read_to_end(&mut raw)
    } else {
        let mut stream = stream;
        stream.write_all(request.as_bytes())?;
        stream.read_to_end(&mut raw)
    };
    let reply = parse_reply(&raw);
    match (read, reply) {
        (_, Some(reply)) => Ok(reply),
        (Err(error), None) => Err(error),
        (Ok(_), None) => Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("no HTTP response: {:?}", String::from_utf8_lossy(&raw)),
        )),
    }
}

fn parse_reply(raw: &[u8]) -> Option<Reply> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    };
    if reply
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        reply.body = dechunk(&reply.body);
    } else if let Some(length) = reply.header("content-length").and_then(|l| l.parse().ok()) {
        reply.body.truncate(length);
    }
    Some(reply)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        raw = &raw[end + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[(size + 2).min(raw.len())..];
    }
    body
}

fn get(server: &ApiServer, target: &str) -> Reply {
    try_get(server, target).unwrap_or_else(|e| panic!("GET {target}: {e}"))
}

fn try_get(server: &ApiServer, target: &str) -> std::io::Result<Reply> {
    send(
        &server.url(),
        None,
        "GET",
        target,
        Some(TOKEN),
        None,
        Duration::from_secs(10),
    )
}

/// Percent-encodes a query value.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `namespace/name` of every item of a list.
fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            let meta = &item["metadata"];
            match meta["namespace"].as_str() {
                Some(ns) => format!("{ns}/{}", meta["name"].as_str().unwrap_or("")),
                None => meta["name"].as_str().unwrap_or("").to_string(),
            }
        })
        .collect()
}

fn with_faults(faults: Faults) -> Options {
    Options {
        faults,
        ..Options::default()
    }
}

fn forbid(verb: &str, resource: &str, group: &str, namespace: Option<&str>) -> Forbidden {
    Forbidden {
        verb: verb.into(),
        resource: resource.into(),
        group: group.into(),
        namespace: namespace.map(str::to_string),
    }
}

// ---------------------------------------------------------------------------

#[test]
fn pagination_follows_continue_tokens_to_the_full_list() {
    let server = ApiServer::start(&testdata("healthy"), Options::default());
    let all = get(&server, "/api/v1/pods").json();
    assert_eq!(all["kind"], "PodList");
    assert_eq!(all["apiVersion"], "v1");
    assert!(all["metadata"].get("continue").is_none());
    let expected = names(&all);
    assert_eq!(expected.len(), 14, "pods of testdata/healthy");
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(expected, sorted, "sorted by namespace, then name");

    let mut paged = Vec::new();
    let mut target = "/api/v1/pods?limit=2".to_string();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 20, "pagination does not end");
        let page = get(&server, &target).json();
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        assert!(
            items.iter().all(|i| i.get("kind").is_none()),
            "no kind on items"
        );
        paged.extend(names(&page));
        match page["metadata"]["continue"].as_str() {
            Some(token) => {
                assert_eq!(
                    page["metadata"]["remainingItemCount"],
                    json!(expected.len() - paged.len())
                );
                target = format!("/api/v1/pods?limit=2&continue={}", enc(token));
            }
            None => break,
        }
    }
    assert_eq!(paged, expected);
    assert_eq!(pages, 7);

    let bad = get(&server, "/api/v1/pods?limit=2&continue=not%2Ba%2Btoken");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["reason"], "BadRequest");

    let server = ApiServer::start(
        &testdata("healthy"),
        with_faults(Faults {
            expire_continue: 1,
            ..Faults::default()
        }),
    );
    let first = get(&server, "/api/v1/namespaces/ml-team-a/pods?limit=2").json();
    let token = enc(first["metadata"]["continue"]
        .as_str()
        .expect("a continue token"));
    let target = format!("/api/v1/namespaces/ml-team-a/pods?limit=2&continue={token}");
    let expired = get(&server, &target);
    assert_eq!(expired.status, 410);
    let status = expired.json();
    assert_eq!(status["reason"], "Expired");
    assert_eq!(status["code"], 410);
    let again = get(&server, &target);
    assert_eq!(again.status, 200, "only the first continue expires");
    assert_eq!(names(&again.json()).len(), 2);
}

/// A selected list is paginated as etcd paginates: each page reads on from
/// where the last stopped until it holds `limit` matches, so pages may be
/// short and the last one empty; together they are the unpaginated list.
#[test]
fn selected_lists_paginate_from_where_the_last_page_stopped() {
    let server = ApiServer::start(&testdata("healthy"), Options::default());
    let selector = enc("spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed");
    let whole = names(&get(&server, &format!("/api/v1/pods?fieldSelector={selector}")).json());
    assert!(whole.len() >= 3, "{whole:?}");
    let mut paged = Vec::new();
    let mut token = String::new();
    for _ in 0..50 {
        let mut target = format!("/api/v1/pods?fieldSelector={selector}&limit=2");
        if !token.is_empty() {
            target.push_str(&format!("&continue={}", enc(&token)));
        }
        let page = get(&server, &target).json();
        let items = names(&page);
        assert!(items.len() <= 2, "{items:?}");
        assert!(
            page["metadata"]["remainingItemCount"].is_null(),
            "no count under a selector"
        );
        paged.extend(items);
        token = page["metadata"]["continue"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if token.is_empty() {
            break;
        }
    }
    assert!(token.is_empty(), "the pages end");
    assert_eq!(paged, whole);
    // In one namespace, the same.
    let in_ns = names(&get(&server, "/api/v1/namespaces/polyaxon/pods?limit=1").json());
    assert_eq!(in_ns.len(), 1);
    assert!(in_ns[0].starts_with("polyaxon/"));
}

#[test]
fn label_and_field_selectors_filter_like_the_real_server() {
    let server = ApiServer::start(&testdata("healthy"), Options::default());
    let all = get(&server, "/api/v1/pods").json();
    let managed = |item: &Value| item["metadata"]["labels"]["app.kubernetes.io/managed-by"].clone();

    let selector = enc("app.kubernetes.io/managed-by=polyaxon");
    let runs = get(&server, &format!("/api/v1/pods?labelSelector={selector}")).json();
    let runs = runs["items"].as_array().expect("items").clone();
    let expected = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| managed(i) == "polyaxon")
        .count();
    assert_eq!(runs.len(), expected);
    assert!(runs.iter().all(|i| managed(i) == "polyaxon"));
    assert!(
        expected < names(&all).len(),
        "the helm-managed API pod is left out"
    );

    let selector = enc("app.kubernetes.io/managed-by in (helm),!batch.kubernetes.io/job-name");
    let core = get(&server, &format!("/api/v1/pods?labelSelector={selector}")).json();
    assert_eq!(
        names(&core),
        ["polyaxon/polyaxon-polyaxon-api-7d9c8b6f5-x2x8q"]
    );

    let on_node = get(&server, "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-4").json();
    assert!(!names(&on_node).is_empty());
    assert!(
        on_node["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["spec"]["nodeName"] == "node-4")
    );
    let unscheduled = get(&server, "/api/v1/pods?fieldSelector=spec.nodeName%3D").json();
    assert_eq!(
        names(&unscheduled),
        ["polyaxon/plx-operation-bc9b0a3b36510cfddeaf7b16c9701911-6de5a"]
    );

    let pod = "plx-operation-47daabbd07e6e0dc2c1bbd1e3c4cab98-d1d41";
    let events = get(
        &server,
        &format!("/api/v1/namespaces/ml-team-a/events?fieldSelector=involvedObject.name%3D{pod}"),
    )
    .json();
    let events = events["items"].as_array().expect("items").clone();
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e["involvedObject"]["name"] == pod));

    let unsupported = get(&server, "/api/v1/pods?fieldSelector=spec.foo%3Dbar");
    assert_eq!(unsupported.status, 400);
    assert_eq!(
        unsupported.json()["message"],
        "field label not supported: spec.foo"
    );
    let bad_label = get(&server, "/api/v1/pods?labelSelector=a%20in%20(b");
    assert_eq!(bad_label.status, 400);
}

#[test]
fn tokens_and_rbac_decide_access() {
    let server = ApiServer::start(
        &testdata("healthy"),
        Options {
            forbidden: vec![
                forbid("list", "nodes", "", None),
                forbid("list", "pods", "", Some("ml-team-b")),
            ],
            ..Options::default()
        },
    );
    let url = server.url();
    let timeout = Duration::from_secs(10);
    for token in [None, Some("wrong-token")] {
        let reply = send(&url, None, "GET", "/api/v1/pods", token, None, timeout).unwrap();
        assert_eq!(reply.status, 401);
        assert_eq!(
            reply.json(),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
        );
    }
    assert_eq!(
        get(&server, "/api/v1/namespaces/ml-team-a/pods").status,
        200
    );

    let nodes = get(&server, "/api/v1/nodes");
    assert_eq!(nodes.status, 403);
    assert_eq!(nodes.header("content-type"), Some("application/json"));
    let status = nodes.json();
    assert_eq!(
        status["message"],
        "nodes is forbidden: User \"system:serviceaccount:polyaxon:pxdoctor\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
    );
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(status["details"], json!({"kind": "nodes"}));
    let pods = get(&server, "/api/v1/namespaces/ml-team-b/pods").json();
    assert_eq!(
        pods["message"],
        "pods is forbidden: User \"system:serviceaccount:polyaxon:pxdoctor\" cannot list resource \"pods\" in API group \"\" in the namespace \"ml-team-b\""
    );

    let review = |verb: &str, resource: &str, namespace: &str| {
        let body = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": "", "namespace": namespace}},
        });
        let target = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
        let reply = send(
            &url,
            None,
            "POST",
            target,
            Some(TOKEN),
            Some(&body),
            timeout,
        )
        .unwrap();
        assert_eq!(reply.status, 201);
        let answer = reply.json();
        assert_eq!(answer["kind"], "SelfSubjectAccessReview");
        answer["status"]["allowed"].as_bool().expect("allowed")
    };
    assert!(!review("list", "nodes", ""));
    assert!(review("get", "nodes", ""));
    assert!(review("list", "pods", "ml-team-a"));
    assert!(!review("list", "pods", "ml-team-b"));

    // An empty token turns authentication off (kubectl over plain HTTP).
    let open = ApiServer::start(
        &testdata("healthy"),
        Options {
            token: String::new(),
            ..Options::default()
        },
    );
    let reply = send(
        &open.url(),
        None,
        "GET",
        "/api/v1/nodes",
        None,
        None,
        timeout,
    )
    .unwrap();
    assert_eq!(reply.status, 200);
}

#[test]
fn odd_requests_get_answers_and_watches_stream() {
    let server = ApiServer::start(&testdata("healthy"), Options::default());
    let url = server.url();
    let timeout = Duration::from_secs(10);
    let odd = [
        ("GET", "/api/v1/namespaces//pods", 404),
        ("GET", "/api/v1/pods?limit=-1", 200),
        ("GET", "/api/v1/pods?limit=abc", 400),
        ("GET", "/api/v1/pods?continue=%", 400),
        ("GET", "/api/v1/pods?continue=e30", 400),
        ("GET", "/api/v1/pods?labelSelector=%28%29", 400),
        ("GET", "/api/v1/pods?labelSelector=a%20in%20()", 400),
        ("GET", "/api/v1/pods?fieldSelector=%3D", 400),
        ("GET", "/api/v1/pods?fieldSelector=nodeName", 400),
        ("GET", "/apis/%ZZ/v1/x", 404),
        ("GET", "/api/v1/namespaces/x/pods/y/log?tailLines=-5", 404),
        ("GET", "/api/v1/nodes/node-1/log", 404),
        ("GET", "/api/v1/pods/name", 404),
        ("GET", "/api/v1/namespaces/polyaxon/nodes", 404),
        (
            "GET",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            405,
        ),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            400,
        ),
        ("DELETE", "/api/v1/namespaces/polyaxon/pods/x", 405),
        ("PUT", "/api/v1", 405),
        ("GET", "/apis/core.polyaxon.com/v1/operations", 404),
    ];
    for (method, target, expected) in odd {
        let reply = send(&url, None, method, target, Some(TOKEN), None, timeout)
            .unwrap_or_else(|e| panic!("{method} {target}: {e}"));
        assert_eq!(
            reply.status,
            expected,
            "{method} {target}: {}",
            reply.text()
        );
        if expected >= 400 {
            assert_eq!(reply.json()["kind"], "Status", "{method} {target}");
        }
    }

    let watch = get(
        &server,
        "/api/v1/namespaces/ml-team-a/pods?watch=true&timeoutSeconds=1",
    );
    assert_eq!(watch.status, 200);
    let events: Vec<Value> = watch
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON event a line"))
        .collect();
    assert_eq!(events.len(), 4);
    assert!(
        events
            .iter()
            .all(|e| e["type"] == "ADDED" && e["object"]["kind"] == "Pod")
    );
}

#[test]
fn faults_come_in_order_and_then_the_server_recovers() {
    let server = ApiServer::start(
        &testdata("gpu-shortage"),
        with_faults(Faults {
            too_many_requests: 1,
            server_errors: 1,
            drop_connections: 1,
            truncate_bodies: 1,
            ..Faults::default()
        }),
    );
    assert_eq!(
        get(&server, "/version").status,
        200,
        "discovery is not a LIST"
    );

    let throttled = get(&server, "/api/v1/nodes");
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("1"));
    assert_eq!(throttled.json()["reason"], "TooManyRequests");

    let failed = get(&server, "/api/v1/nodes");
    assert_eq!(failed.status, 500);
    assert_eq!(failed.json()["reason"], "InternalError");

    assert!(
        try_get(&server, "/api/v1/nodes").is_err(),
        "dropped connection"
    );

    let truncated = get(&server, "/api/v1/nodes");
    assert_eq!(truncated.status, 200);
    let length: usize = truncated.header("content-length").unwrap().parse().unwrap();
    assert!(truncated.body.len() < length);
    assert!(serde_json::from_slice::<Value>(&truncated.body).is_err());

    let healthy = get(&server, "/api/v1/nodes").json();
    assert_eq!(names(&healthy), ["gpu-1", "gpu-2", "gpu-3", "infer-1"]);

    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 429, 500, 0, 200, 200]);
}

#[test]
fn latency_and_a_silent_server_make_clients_wait() {
    let slow = ApiServer::start(
        &testdata("healthy"),
        with_faults(Faults {
            latency: Duration::from_millis(300),
            ..Faults::default()
        }),
    );
    let started = Instant::now();
    assert_eq!(get(&slow, "/version").status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let silent = ApiServer::start(
        &testdata("healthy"),
        with_faults(Faults {
            silent: true,
            ..Faults::default()
        }),
    );
    let started = Instant::now();
    let url = silent.url();
    let error = send(
        &url,
        None,
        "GET",
        "/api/v1/pods",
        Some(TOKEN),
        None,
        Duration::from_secs(1),
    )
    .err()
    .expect("a silent server times the client out");
    assert!(
        matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let requests = silent.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].path.as_str(), requests[0].status),
        ("/api/v1/pods", 0)
    );
}

#[test]
fn objects_logs_and_discovery_are_served() {
    let server = ApiServer::start(&testdata("healthy"), Options::default());
    let pod = "plx-operation-47daabbd07e6e0dc2c1bbd1e3c4cab98-d1d41";
    let one = get(&server, &format!("/api/v1/namespaces/ml-team-a/pods/{pod}")).json();
    assert_eq!(
        (one["kind"].as_str(), one["apiVersion"].as_str()),
        (Some("Pod"), Some("v1"))
    );
    assert_eq!(one["metadata"]["name"], pod);

    let missing = get(&server, "/api/v1/namespaces/ml-team-a/pods/nope");
    assert_eq!(missing.status, 404);
    let status = missing.json();
    assert_eq!(status["message"], "pods \"nope\" not found");
    assert_eq!(status["details"], json!({"name": "nope", "kind": "pods"}));
    assert_eq!(
        get(&server, "/api/v1/nonsense").json()["reason"],
        "NotFound"
    );

    let log = testdata("healthy").join(format!("logs/ml-team-a/{pod}/polyaxon-sidecar.log"));
    let log = std::fs::read_to_string(log).expect("sidecar log");
    let last = log.lines().last().expect("a line");
    let tail = get(
        &server,
        &format!(
            "/api/v1/namespaces/ml-team-a/pods/{pod}/log?container=polyaxon-sidecar&tailLines=1"
        ),
    );
    assert_eq!(tail.status, 200);
    assert_eq!(tail.text().trim_end(), last);
    let invalid = get(
        &server,
        &format!("/api/v1/namespaces/ml-team-a/pods/{pod}/log?container=nope"),
    );
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.json()["message"],
        format!("container nope is not valid for pod {pod}")
    );

    let namespaces = get(&server, "/api/v1/namespaces").json();
    assert_eq!(names(&namespaces), ["ml-team-a", "ml-team-b", "polyaxon"]);
    let v1_events = get(&server, "/apis/events.k8s.io/v1/events").json();
    assert_eq!(v1_events["kind"], "EventList");
    assert_eq!(names(&v1_events).len(), 1);

    let groups = get(&server, "/apis").json();
    let groups: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(groups.contains(&"rbac.authorization.k8s.io"));
    // healthy holds jobs.polyaxon.com objects (the 2.12+ layout) and no
    // Operation: only the group with objects is served.
    assert!(groups.contains(&"polyaxon.com"), "{groups:?}");
    assert!(
        !groups.contains(&"core.polyaxon.com"),
        "no group without objects"
    );
    let core = get(&server, "/api/v1").json();
    let pods = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods")
        .expect("pods resource")
        .clone();
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert_eq!(pods["namespaced"], true);

    // Other layouts: cluster-info dump logs, YAML lists.
    let dump = ApiServer::start(&testdata("cordoned-pool"), Options::default());
    let pod = "plx-operation-1868b7c921116d36ca94f02a56ba63da-9607d";
    let main = get(
        &dump,
        &format!("/api/v1/namespaces/polyaxon/pods/{pod}/log?container=polyaxon-main"),
    );
    assert_eq!(main.text(), "loading shard 1/12\nloading shard 2/12\n");
    let yaml = ApiServer::start(&testdata("node-pressure"), Options::default());
    assert_eq!(names(&get(&yaml, "/api/v1/nodes").json()).len(), 3);
}

#[test]
fn tls_serves_https_with_the_written_ca_and_refuses_plain_http() {
    let server = ApiServer::start(
        &testdata("gpu-shortage"),
        Options {
            tls: true,
            ..Options::default()
        },
    );
    let url = server.url();
    assert!(url.starts_with("https://127.0.0.1:"));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = std::fs::read_to_string(server.write_kubeconfig(dir.path())).unwrap();
    let config: Value = serde_saphyr::from_str(&kubeconfig).expect("kubeconfig is YAML");
    let cluster = &config["clusters"][0]["cluster"];
    assert_eq!(cluster["server"], url.as_str());
    let ca = std::fs::read_to_string(cluster["certificate-authority"].as_str().unwrap()).unwrap();

    let timeout = Duration::from_secs(10);
    let nodes = send(
        &url,
        Some(&ca),
        "GET",
        "/api/v1/nodes",
        Some(TOKEN),
        None,
        timeout,
    )
    .expect("HTTPS with the written CA");
    assert_eq!(nodes.status, 200);
    assert_eq!(names(&nodes.json()).len(), 4);

    let plain = url.replace("https://", "http://");
    match send(
        &plain,
        None,
        "GET",
        "/api/v1/nodes",
        Some(TOKEN),
        None,
        timeout,
    ) {
        Ok(reply) => {
            assert_eq!(reply.status, 400);
            assert!(reply.text().contains("HTTP request to an HTTPS server"));
        }
        Err(error) => eprintln!("plain HTTP failed at the transport: {error}"),
    }
}

// ---------------------------------------------------------------------------
// Fidelity through the real kubectl.

const KUBECTL: &str = "/usr/bin/kubectl";

fn kubectl(server: &ApiServer, home: &Path, args: &[&str]) -> Output {
    let kubeconfig = server.write_kubeconfig(&home.join("kube"));
    Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--request-timeout=10s")
        .args(args)
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs")
}

/// Names of the objects in a testdata file, read independently of the
/// simulator.
fn testdata_names(scenario: &str, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(testdata(scenario).join(file)).unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn kubectl_gets_pods_events_and_nodes_over_http_and_https() {
    if !Path::new(KUBECTL).exists() {
        eprintln!("skipped: {KUBECTL} is not installed");
        return;
    }
    let pods = testdata_names("gpu-shortage", "pods.json");
    let nodes = testdata_names("gpu-shortage", "nodes.json");
    for tls in [false, true] {
        // client-go sends kubeconfig tokens over TLS only, so the plain
        // HTTP server runs without authentication.
        let token = if tls { TOKEN } else { "" };
        let server = ApiServer::start(
            &testdata("gpu-shortage"),
            Options {
                tls,
                token: token.to_string(),
                ..Options::default()
            },
        );
        let home = tempfile::tempdir().unwrap();
        let output = kubectl(&server, home.path(), &["get", "pods,events,nodes", "-A"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "tls={tls}: {stderr}");
        for name in pods.iter().chain(&nodes) {
            assert!(
                stdout.contains(name.as_str()),
                "tls={tls}: {name} missing in:\n{stdout}"
            );
        }
    }
}

#[test]
fn kubectl_paginates_with_chunk_size() {
    if !Path::new(KUBECTL).exists() {
        eprintln!("skipped: {KUBECTL} is not installed");
        return;
    }
    let tls = Options {
        tls: true,
        ..Options::default()
    };
    let server = ApiServer::start(&testdata("gpu-shortage"), tls);
    let home = tempfile::tempdir().unwrap();
    let output = kubectl(
        &server,
        home.path(),
        &["get", "pods", "-A", "-o", "json", "--chunk-size=2"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list: Value = serde_json::from_slice(&output.stdout).expect("kubectl printed JSON");
    let mut got: Vec<String> = names(&list)
        .into_iter()
        .map(|n| n.trim_start_matches("polyaxon/").to_string())
        .collect();
    let mut expected = testdata_names("gpu-shortage", "pods.json");
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    let continued = server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/pods" && r.query.contains("continue="))
        .count();
    assert_eq!(continued, 3, "7 pods in pages of 2");
}

#[test]
fn kubectl_reports_forbidden_nodes() {
    if !Path::new(KUBECTL).exists() {
        eprintln!("skipped: {KUBECTL} is not installed");
        return;
    }
    let server = ApiServer::start(
        &testdata("gpu-shortage"),
        Options {
            tls: true,
            forbidden: vec![forbid("list", "nodes", "", None)],
            ..Options::default()
        },
    );
    let home = tempfile::tempdir().unwrap();
    let output = kubectl(&server, home.path(), &["get", "nodes"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Error from server (Forbidden): nodes is forbidden: User \"system:serviceaccount:polyaxon:pxdoctor\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"),
        "{stderr}"
    );
}

/// An open watch over plain HTTP: its events as they arrive.
struct Watching {
    stream: TcpStream,
    raw: Vec<u8>,
    head_done: bool,
    data: Vec<u8>,
}

impl Watching {
    fn open(server: &ApiServer, target: &str) -> Watching {
        let url = server.url();
        let address = url.trim_start_matches("http://").to_string();
        let mut stream = TcpStream::connect(&address).expect("connect");
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).expect("send");
        Watching {
            stream,
            raw: Vec::new(),
            head_done: false,
            data: Vec::new(),
        }
    }

    /// The next event within `timeout`, or None when the stream ended or
    /// nothing came.
    fn next(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.data.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.data.drain(..=end).collect();
                return Some(serde_json::from_slice(&line).expect("one JSON event a line"));
            }
            if self.parse_chunks() {
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut buffer = [0u8; 65536];
            match self.stream.read(&mut buffer) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.raw.extend_from_slice(&buffer[..n]),
            }
        }
    }

    /// Moves whole chunks from `raw` to `data`; true if any moved.
    fn parse_chunks(&mut self) -> bool {
        if !self.head_done {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return false;
            };
            let head = String::from_utf8_lossy(&self.raw[..end]).to_string();
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            assert!(
                head.to_lowercase().contains("transfer-encoding: chunked"),
                "{head}"
            );
            self.raw.drain(..end + 4);
            self.head_done = true;
        }
        let mut moved = false;
        loop {
            let Some(line_end) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return moved;
            };
            let size_text = String::from_utf8_lossy(&self.raw[..line_end]).to_string();
            let size = usize::from_str_radix(size_text.trim(), 16).expect("chunk size");
            if self.raw.len() < line_end + 2 + size + 2 {
                return moved;
            }
            let start = line_end + 2;
            self.data.extend_from_slice(&self.raw[start..start + size]);
            self.raw.drain(..start + size + 2);
            moved = true;
        }
    }

    /// The next event that is not a BOOKMARK.
    fn next_change(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.next(left)?;
            if event["type"] != "BOOKMARK" {
                return Some(event);
            }
        }
    }
}

fn pod(namespace: &str, name: &str, labels: Value, phase: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": namespace, "name": name, "labels": labels},
        "spec": {"containers": [{"name": "polyaxon-main", "image": "python:3.12"}]},
        "status": {"phase": phase},
    })
}

fn rv_of(event: &Value) -> u64 {
    event["object"]["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or_else(|| panic!("no resourceVersion: {event}"))
}

#[test]
fn watches_stream_changes_as_they_happen_with_selectors_and_bookmarks() {
    let server = ApiServer::start(&testdata("healthy"), Options::default());
    let listed = get(&server, "/api/v1/namespaces/ml-team-a/pods").json();
    let rv: u64 = listed["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let selector = enc("app.kubernetes.io/managed-by=polyaxon");
    let mut watch = Watching::open(
        &server,
        &format!(
            "/api/v1/namespaces/ml-team-a/pods?watch=true&resourceVersion={rv}\
             &allowWatchBookmarks=true&timeoutSeconds=30&labelSelector={selector}"
        ),
    );
    let wait = Duration::from_secs(10);
    let managed = json!({"app.kubernetes.io/managed-by": "polyaxon"});
    server.apply(pod("ml-team-a", "run-new", managed.clone(), "Pending"));
    // Neither another namespace nor a pod outside the selector is heard.
    server.apply(pod(
        "ml-team-b",
        "run-elsewhere",
        managed.clone(),
        "Pending",
    ));
    server.apply(pod("ml-team-a", "not-a-run", json!({}), "Running"));
    server.apply(pod("ml-team-a", "run-new", managed, "Running"));
    server.apply(pod("ml-team-a", "run-new", json!({"app": "x"}), "Running"));
    server.delete("v1", "Pod", "ml-team-a", "not-a-run");

    let added = watch.next_change(wait).expect("ADDED");
    assert_eq!(added["type"], "ADDED", "{added}");
    assert_eq!(added["object"]["metadata"]["name"], "run-new");
    assert_eq!(added["object"]["kind"], "Pod");
    assert!(rv_of(&added) > rv);
    let modified = watch.next_change(wait).expect("MODIFIED");
    assert_eq!(modified["type"], "MODIFIED", "{modified}");
    assert_eq!(modified["object"]["status"]["phase"], "Running");
    assert!(rv_of(&modified) > rv_of(&added));
    // Its label gone, it leaves the selector: DELETED for this watch.
    let left = watch.next_change(wait).expect("DELETED");
    assert_eq!(left["type"], "DELETED", "{left}");
    assert_eq!(left["object"]["metadata"]["name"], "run-new");
    let bookmark = watch.next(wait).expect("a BOOKMARK");
    assert_eq!(bookmark["type"], "BOOKMARK", "{bookmark}");
    assert_eq!(rv_of(&bookmark), server.resource_version());
    assert_eq!(
        watch.next_change(Duration::from_millis(1500)),
        None,
        "nothing else"
    );

    // A list sees the changes; a watch from before them replays them.
    let names = names(&get(&server, "/api/v1/namespaces/ml-team-a/pods").json());
    assert!(names.contains(&"ml-team-a/run-new".to_string()));
    assert!(!names.contains(&"ml-team-a/not-a-run".to_string()));
    let mut replay = Watching::open(
        &server,
        &format!("/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=5"),
    );
    let mut seen = Vec::new();
    while let Some(event) = replay.next(Duration::from_secs(2)) {
        seen.push(format!(
            "{} {}",
            event["type"].as_str().unwrap(),
            event["object"]["metadata"]["name"].as_str().unwrap()
        ));
    }
    assert_eq!(
        seen,
        [
            "ADDED run-new",
            "ADDED run-elsewhere",
            "ADDED not-a-run",
            "MODIFIED run-new",
            "MODIFIED run-new",
            "DELETED not-a-run"
        ]
    );
}

#[test]
fn an_expired_watch_ends_with_410_and_a_compacted_version_is_gone() {
    let server = ApiServer::start(&testdata("healthy"), Options::default());
    let rv = server.resource_version();
    let mut watch = Watching::open(
        &server,
        &format!("/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=30"),
    );
    server.apply(pod("ml-team-a", "before", json!({}), "Pending"));
    let added = watch.next_change(Duration::from_secs(10)).expect("ADDED");
    assert_eq!(added["object"]["metadata"]["name"], "before");
    server.expire_watches();
    let error = watch.next(Duration::from_secs(10)).expect("an ERROR event");
    assert_eq!(error["type"], "ERROR", "{error}");
    assert_eq!(error["object"]["code"], 410);
    assert_eq!(error["object"]["reason"], "Expired");
    assert_eq!(
        watch.next(Duration::from_secs(2)),
        None,
        "then the stream ends"
    );

    // Resuming from before the compaction: 410 at once.
    let mut late = Watching::open(
        &server,
        &format!("/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=30"),
    );
    let error = late.next(Duration::from_secs(10)).expect("an ERROR event");
    assert_eq!(error["object"]["code"], 410, "{error}");
    assert!(
        error["object"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too old resource version:")
    );
    // From now on, watching works again.
    let now = server.resource_version();
    let mut fresh = Watching::open(
        &server,
        &format!("/api/v1/pods?watch=true&resourceVersion={now}&timeoutSeconds=30"),
    );
    server.apply(pod("ml-team-a", "after", json!({}), "Pending"));
    let added = fresh.next_change(Duration::from_secs(10)).expect("ADDED");
    assert_eq!(added["object"]["metadata"]["name"], "after");
}

#[test]
fn kubectl_get_watch_sees_what_the_simulator_changes() {
    if !Path::new(KUBECTL).exists() {
        eprintln!("skipped: {KUBECTL} is not installed");
        return;
    }
    let server = ApiServer::start(
        &testdata("healthy"),
        Options {
            token: String::new(),
            ..Options::default()
        },
    );
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(&home.path().join("kube"));
    let mut child = Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["get", "pods", "-n", "ml-team-a", "--watch", "-o", "name"])
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    let stdout = child.stdout.take().unwrap();
    let (lines, heard) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |name: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Ok(line) = heard.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if line == name {
                return true;
            }
        }
        false
    };
    let pods = get(&server, "/api/v1/namespaces/ml-team-a/pods").json();
    let listed = names(&pods).into_iter().next().expect("a pod in ml-team-a");
    let first = format!("pod/{}", listed.trim_start_matches("ml-team-a/"));
    let listed_ok = wait_for(&first);
    server.apply(pod("ml-team-a", "watched-run", json!({}), "Pending"));
    let watched_ok = wait_for("pod/watched-run");
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(listed_ok, "kubectl listed first: {stderr}");
    assert!(watched_ok, "kubectl's watch heard the new pod: {stderr}");
}
