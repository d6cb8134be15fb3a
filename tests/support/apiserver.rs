//! A Kubernetes API server simulator for the integration tests.
//!
//! It serves one scenario folder of `kubectl get -o json|yaml` snapshots the
//! way kube-apiserver 1.33 does: legacy discovery, LIST with pagination and
//! label/field selectors, GET, pod logs, WATCH (chunked streams of the
//! changes a test makes with `apply` and `delete`, replay from a
//! resourceVersion, BOOKMARKs, 410 Gone once `expire_watches` compacts),
//! SelfSubjectAccessReview, bearer
//! token authentication, RBAC denials, `Status` errors and injectable faults
//! (429, 500, dropped connections, truncated bodies, expired `continue`
//! tokens, latency, a server that never answers). It binds 127.0.0.1 only
//! and runs on its own tokio runtime, so sync and async tests can use it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};

/// The user every denial names, as a service account token would.
const USER: &str = "system:serviceaccount:polyaxon:pxdoctor";

/// How the simulator behaves; `Options::default()` is a healthy plain-HTTP
/// server that requires the token `pxdoctor-test-token`.
#[derive(Debug, Clone)]
pub struct Options {
    /// HTTPS with a fresh self-signed CA for 127.0.0.1 and localhost.
    pub tls: bool,
    /// With `tls`: which serving certificate, and what the kubeconfig
    /// trusts.
    pub serving: Serving,
    /// The bearer token every request must carry; otherwise 401. Empty
    /// means no authentication at all, like the old insecure port: kubectl
    /// never sends a kubeconfig token over plain HTTP (client-go sends user
    /// credentials on TLS connections only).
    pub token: String,
    /// With `tls`: the TLS handshake requires a client certificate signed
    /// by the simulator's CA (kube-apiserver's --client-ca-file), and the
    /// kubeconfig's user carries one (client-certificate-data,
    /// client-key-data). Use with an empty `token`.
    pub client_certs: bool,
    /// Requests matching any of these get 403; SSAR answers allowed=false.
    pub forbidden: Vec<Forbidden>,
    pub faults: Faults,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tls: false,
            serving: Serving::SignedByCa,
            token: "pxdoctor-test-token".to_string(),
            client_certs: false,
            forbidden: Vec::new(),
            faults: Faults::default(),
        }
    }
}

/// An RBAC denial. `"*"` matches any verb, resource or group. `namespace:
/// None` denies every namespace and the cluster scope; `Some(ns)` denies
/// requests in `ns` and also cluster-wide requests (all-namespaces lists),
/// because a user who lacks access to one namespace has no cluster-wide
/// grant either. Subresources are named `pods/log`.
#[derive(Debug, Clone)]
pub struct Forbidden {
    pub verb: String,
    pub resource: String,
    pub group: String,
    pub namespace: Option<String>,
}

/// Faults to inject. The LIST counters run in sequence over LIST requests
/// (GETs of a collection, not watches): the first `too_many_requests` get
/// 429, the next `server_errors` get 500, the next `drop_connections` are
/// dropped, the next `truncate_bodies` are truncated; later LISTs succeed.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Added before every response.
    pub latency: Duration,
    pub too_many_requests: u32,
    pub server_errors: u32,
    pub drop_connections: u32,
    pub truncate_bodies: u32,
    /// The first N requests that carry a `continue` token answer 410.
    pub expire_continue: u32,
    /// Accept connections, read requests and never answer.
    pub silent: bool,
    /// /version is refused (403), as a hardened cluster without
    /// system:public-info-viewer refuses it.
    pub version_forbidden: bool,
}

/// One request as the simulator served it; `status` is 0 for a dropped
/// connection or a request that a silent server never answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
}

/// The serving certificate over TLS, and the certificate the kubeconfig
/// names as its certificate-authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    /// Signed by a CA of its own; the kubeconfig trusts the CA.
    SignedByCa,
    /// Signed by a CA; the kubeconfig pins the serving certificate itself.
    PinnedLeaf,
    /// Self-signed with `CA:TRUE`, as `openssl req -x509` makes it; the
    /// kubeconfig trusts it.
    SelfSignedCa,
    /// Self-signed with `CA:TRUE` for another host name only.
    SelfSignedOtherHost,
    /// Signed by the CA, but for another host name only.
    OtherHost,
    /// Signed by the CA, expired a year ago.
    Expired,
}

/// A running simulator; it stops when dropped.
pub struct ApiServer {
    state: Arc<State>,
    addr: SocketAddr,
    token: String,
    ca_pem: Option<String>,
    /// The client certificate and key (PEM) the kubeconfig's user presents.
    client_identity: Option<(String, String)>,
    log: Arc<Mutex<Vec<Request>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ApiServer {
    /// Loads `scenario` and serves it on 127.0.0.1 on a free port.
    pub fn start(scenario: &Path, options: Options) -> ApiServer {
        assert!(
            scenario.is_dir(),
            "apiserver simulator: scenario {} is not a directory",
            scenario.display()
        );
        let store = Store::load(scenario);
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .expect("apiserver simulator: bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("apiserver simulator: non-blocking listener");
        let addr = listener.local_addr().expect("apiserver simulator: address");
        let (acceptor, ca_pem, client_identity) = if options.tls {
            let (acceptor, ca_pem, identity) = tls_acceptor(options.serving, options.client_certs);
            (Some(acceptor), Some(ca_pem), identity)
        } else {
            (None, None, None)
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("apiserver-sim")
            .enable_all()
            .build()
            .expect("apiserver simulator: tokio runtime");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (changes, _) = tokio::sync::broadcast::channel(4096);
        let state = Arc::new(State {
            store: RwLock::new(store),
            changes,
            addr,
            token: options.token.clone(),
            forbidden: options.forbidden,
            faults: options.faults,
            counters: Mutex::new(Counters::default()),
            log: Arc::clone(&log),
        });
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)
                .expect("apiserver simulator: tokio listener")
        };
        runtime.spawn(accept_loop(listener, acceptor, Arc::clone(&state)));
        ApiServer {
            addr,
            token: options.token,
            ca_pem,
            client_identity,
            log,
            state,
            runtime: Some(runtime),
        }
    }

    /// Creates or replaces an object (`kubectl apply`): by its apiVersion,
    /// kind, namespace and name. Open watches hear ADDED or MODIFIED.
    pub fn apply(&self, object: Value) {
        let index = def_index(&object).unwrap_or_else(|| {
            panic!(
                "apiserver simulator: no resource serves {} {}",
                object["apiVersion"], object["kind"]
            )
        });
        let change = write(&self.state.store).apply(index, object);
        let _ = self.state.changes.send(Broadcast::Change(change));
    }

    /// Deletes an object; open watches hear DELETED.
    pub fn delete(&self, api_version: &str, kind: &str, namespace: &str, name: &str) {
        let index =
            def_index(&json!({"apiVersion": api_version, "kind": kind})).unwrap_or_else(|| {
                panic!("apiserver simulator: no resource serves {api_version} {kind}")
            });
        let change = write(&self.state.store).delete(index, namespace, name);
        if let Some(change) = change {
            let _ = self.state.changes.send(Broadcast::Change(change));
        }
    }

    /// Compacts the history (a watch resuming from before now gets 410
    /// Gone) and ends every open watch with a 410 ERROR event: what a
    /// client sees when its watch fell out of the watch cache's window.
    pub fn expire_watches(&self) {
        {
            let mut store = write(&self.state.store);
            store.history.clear();
            store.oldest = store.resource_version + 1;
        }
        let _ = self.state.changes.send(Broadcast::Expire);
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        read(&self.state.store).resource_version
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// Writes `dir/kubeconfig` (and `dir/sim-ca.pem` for TLS): cluster
    /// "sim", user "sim-user" with the token, context "sim" in namespace
    /// "polyaxon", current-context "sim". Returns the kubeconfig's path.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).expect("apiserver simulator: kubeconfig folder");
        let mut cluster = format!("    server: {}\n", yaml_string(&self.url()));
        if let Some(pem) = &self.ca_pem {
            let ca = dir.join("sim-ca.pem");
            std::fs::write(&ca, pem).expect("apiserver simulator: write CA");
            cluster.push_str(&format!(
                "    certificate-authority: {}\n",
                yaml_string(&ca.to_string_lossy())
            ));
        }
        let mut user = String::new();
        if !self.token.is_empty() {
            user.push_str(&format!("    token: {}\n", yaml_string(&self.token)));
        }
        if let Some((cert, key)) = &self.client_identity {
            use base64::Engine;
            let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
            user.push_str(&format!(
                "    client-certificate-data: {}\n    client-key-data: {}\n",
                b64(cert),
                b64(key)
            ));
        }
        let user = if user.is_empty() {
            "  user: {}\n".to_string()
        } else {
            format!("  user:\n{user}")
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\npreferences: {{}}\nclusters:\n- name: sim\n  cluster:\n{cluster}users:\n- name: sim-user\n{user}contexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim-user\n    namespace: polyaxon\ncurrent-context: sim\n"
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).expect("apiserver simulator: write kubeconfig");
        path
    }

    /// Every request served so far, in the order they were answered.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.log).clone()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Safe inside async tests too; drops every connection task.
            runtime.shutdown_background();
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The resource an object's apiVersion and kind name.
fn def_index(object: &Value) -> Option<usize> {
    let api_version = object["apiVersion"].as_str()?;
    let kind = object["kind"].as_str()?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    DEFS.iter()
        .position(|d| d.group == group && d.version == version && d.kind == kind)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A JSON string is a valid YAML double-quoted scalar.
fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

// ---------------------------------------------------------------------------
// Resources

struct ResourceDef {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    /// Served only when the scenario holds objects of its group (CRDs).
    optional: bool,
    /// False for SelfSubjectAccessReview, which can only be created.
    listable: bool,
}

const fn def(
    group: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> ResourceDef {
    ResourceDef {
        group,
        version: "v1",
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        categories: &[],
        optional: false,
        listable: true,
    }
}

const fn in_all(mut resource: ResourceDef) -> ResourceDef {
    resource.categories = &["all"];
    resource
}

const fn crd(mut resource: ResourceDef) -> ResourceDef {
    resource.optional = true;
    resource.categories = &["polyaxon"];
    resource
}

const SSAR_GROUP: &str = "authorization.k8s.io";

/// Built-in resources first, so that a kind without apiVersion maps to them.
const DEFS: &[ResourceDef] = &[
    in_all(def("", "pods", "pod", "Pod", true, &["po"])),
    def("", "events", "event", "Event", true, &["ev"]),
    def("", "nodes", "node", "Node", false, &["no"]),
    def("", "namespaces", "namespace", "Namespace", false, &["ns"]),
    def(
        "",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
    ),
    def(
        "",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        &["pv"],
    ),
    def("", "configmaps", "configmap", "ConfigMap", true, &["cm"]),
    def("", "secrets", "secret", "Secret", true, &[]),
    def(
        "",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
    ),
    in_all(def("", "services", "service", "Service", true, &["svc"])),
    in_all(def(
        "apps",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
    )),
    def("events.k8s.io", "events", "event", "Event", true, &["ev"]),
    ResourceDef {
        listable: false,
        ..def(
            SSAR_GROUP,
            "selfsubjectaccessreviews",
            "selfsubjectaccessreview",
            "SelfSubjectAccessReview",
            false,
            &[],
        )
    },
    in_all(def("batch", "jobs", "job", "Job", true, &[])),
    def(
        "rbac.authorization.k8s.io",
        "roles",
        "role",
        "Role",
        true,
        &[],
    ),
    def(
        "rbac.authorization.k8s.io",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        &[],
    ),
    def(
        "rbac.authorization.k8s.io",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        &[],
    ),
    def(
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        &[],
    ),
    def(
        "networking.k8s.io",
        "ingresses",
        "ingress",
        "Ingress",
        true,
        &["ing"],
    ),
    def(
        "storage.k8s.io",
        "storageclasses",
        "storageclass",
        "StorageClass",
        false,
        &["sc"],
    ),
    def(
        "storage.k8s.io",
        "csidrivers",
        "csidriver",
        "CSIDriver",
        false,
        &[],
    ),
    crd(def(
        "core.polyaxon.com",
        "operations",
        "operation",
        "Operation",
        true,
        &[],
    )),
    crd(def("polyaxon.com", "jobs", "job", "Job", true, &[])),
    crd(def(
        "polyaxon.com",
        "services",
        "service",
        "Service",
        true,
        &[],
    )),
    crd(def(
        "polyaxon.com",
        "clusters",
        "cluster",
        "Cluster",
        true,
        &[],
    )),
    crd(def("polyaxon.com", "kfjobs", "kfjob", "KFJob", true, &[])),
];

fn group_version(resource: &ResourceDef) -> String {
    if resource.group.is_empty() {
        resource.version.to_string()
    } else {
        format!("{}/{}", resource.group, resource.version)
    }
}

/// `pods` for core, `deployments.apps` otherwise, as the real messages say.
fn qualified(resource: &ResourceDef) -> String {
    if resource.group.is_empty() {
        resource.plural.to_string()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    }
}

// ---------------------------------------------------------------------------
// The scenario store

struct Object {
    namespace: String,
    name: String,
    value: Value,
}

struct Store {
    /// Objects per `DEFS` index, sorted by namespace then name.
    objects: Vec<Vec<Object>>,
    served: Vec<bool>,
    /// (namespace, pod, container) → log text.
    logs: HashMap<(String, String, String), String>,
    resource_version: u64,
    /// Every change since load or the last compaction, oldest first: what
    /// a watch resuming from a resourceVersion replays.
    history: Vec<Arc<Change>>,
    /// The oldest resourceVersion a watch may resume from (older ones are
    /// compacted away: 410 Gone).
    oldest: u64,
}

/// One change to a stored object, as a watch event tells it.
struct Change {
    resource_version: u64,
    index: usize,
    /// ADDED, MODIFIED or DELETED.
    kind: &'static str,
    namespace: String,
    object: Value,
    /// The object before a change, to tell a watch whose selector it
    /// leaves (the watch cache sends DELETED then).
    previous: Option<Value>,
}

/// How often a watch that allows them gets a BOOKMARK (the real server
/// sends one about every minute; tests wait less).
const BOOKMARK_EVERY: Duration = Duration::from_millis(500);

/// What a watch is about: one resource, maybe one namespace, selectors.
struct WatchFilter {
    index: usize,
    namespace: Option<String>,
    labels: Vec<LabelRequirement>,
    fields: Vec<FieldRequirement>,
}

impl WatchFilter {
    fn selects(&self, object: &Value) -> bool {
        let resource = &DEFS[self.index];
        self.labels.iter().all(|r| r.matches(object))
            && self.fields.iter().all(|field| {
                let value = field_value(resource, object, &field.field);
                (value.as_deref() == Some(field.value.as_str())) != field.negate
            })
    }

    /// The event this watch sends for a change, if any: an object that
    /// leaves the selector is DELETED for it, one that enters is ADDED.
    fn event(&self, change: &Change) -> Option<Value> {
        if change.index != self.index
            || self
                .namespace
                .as_deref()
                .is_some_and(|ns| ns != change.namespace)
        {
            return None;
        }
        let now = self.selects(&change.object);
        let before = change.previous.as_ref().is_some_and(|p| self.selects(p));
        let kind = match (change.kind, before, now) {
            ("DELETED", _, true) => "DELETED",
            ("ADDED", _, true) => "ADDED",
            ("MODIFIED", true, true) => "MODIFIED",
            ("MODIFIED", false, true) => "ADDED",
            ("MODIFIED", true, false) => "DELETED",
            _ => return None,
        };
        let resource = &DEFS[self.index];
        Some(json!({"type": kind, "object": with_kind(resource, &change.object)}))
    }
}

/// The ERROR event of a watch whose resourceVersion is gone (the watch
/// cache's words: "too old resource version: 5 (9)").
fn expired_event(asked: u64, oldest: u64) -> Value {
    json!({"type": "ERROR", "object": {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("too old resource version: {asked} ({oldest})"),
        "reason": "Expired",
        "code": 410,
    }})
}

/// What open watches hear.
#[derive(Clone)]
enum Broadcast {
    Change(Arc<Change>),
    /// Every open watch ends with a 410 ERROR event, as when the watch
    /// cache drops a watcher that fell too far behind.
    Expire,
}

impl Store {
    fn load(dir: &Path) -> Store {
        let mut files = Vec::new();
        walk(dir, &mut files);
        files.sort();
        let mut found: Vec<BTreeMap<(String, String), Value>> =
            (0..DEFS.len()).map(|_| BTreeMap::new()).collect();
        let mut logs = HashMap::new();
        let mut dump_logs = HashMap::new();
        for file in &files {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            match extension {
                "json" | "yaml" | "yml" if name != "expected.yaml" => {
                    for document in parse_documents(&text, extension == "json") {
                        add_document(&mut found, document);
                    }
                }
                "log" => {
                    let relative = file.strip_prefix(dir).unwrap_or(file);
                    let parts: Vec<String> = relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    if let [logs_dir, namespace, pod, container] = parts.as_slice()
                        && logs_dir == "logs"
                    {
                        let container = container.strip_suffix(".log").unwrap_or(container);
                        logs.insert(
                            (namespace.clone(), pod.clone(), container.to_string()),
                            text,
                        );
                    }
                }
                "txt" if name == "logs.txt" => parse_dump_logs(&text, &mut dump_logs),
                _ => {}
            }
        }
        for (key, text) in dump_logs {
            logs.entry(key).or_insert(text);
        }

        // Every namespace that objects live in exists as a Namespace.
        let namespaces_index = index_of("", "namespaces");
        let mut namespaces = BTreeSet::new();
        for (index, objects) in found.iter().enumerate() {
            if DEFS[index].namespaced {
                namespaces.extend(objects.keys().map(|(namespace, _)| namespace.clone()));
            }
        }
        for namespace in namespaces {
            found[namespaces_index]
                .entry((String::new(), namespace.clone()))
                .or_insert_with(|| {
                    json!({
                        "metadata": {
                            "name": namespace,
                            "resourceVersion": "1",
                            "labels": {"kubernetes.io/metadata.name": namespace},
                        },
                        "spec": {"finalizers": ["kubernetes"]},
                        "status": {"phase": "Active"},
                    })
                });
        }

        let resource_version = found
            .iter()
            .flat_map(|objects| objects.values())
            .filter_map(|value| value["metadata"]["resourceVersion"].as_str()?.parse().ok())
            .max()
            .unwrap_or(1);
        let groups_present: BTreeSet<&str> = found
            .iter()
            .enumerate()
            .filter(|(_, objects)| !objects.is_empty())
            .map(|(index, _)| DEFS[index].group)
            .collect();
        let served = DEFS
            .iter()
            .map(|d| !d.optional || groups_present.contains(d.group))
            .collect();
        let objects = found
            .into_iter()
            .map(|objects| {
                objects
                    .into_iter()
                    .map(|((namespace, name), value)| Object {
                        namespace,
                        name,
                        value,
                    })
                    .collect()
            })
            .collect();
        Store {
            objects,
            served,
            logs,
            resource_version,
            history: Vec::new(),
            oldest: resource_version,
        }
    }

    /// Creates or replaces an object; returns the change.
    fn apply(&mut self, index: usize, mut object: Value) -> Arc<Change> {
        self.resource_version += 1;
        let rv = self.resource_version;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let objects = &mut self.objects[index];
        let key = |o: &Object| (o.namespace.clone(), o.name.clone());
        let at = objects.binary_search_by(|o| key(o).cmp(&(namespace.clone(), name.clone())));
        let previous = match at {
            Ok(position) => Some(std::mem::replace(
                &mut objects[position].value,
                object.clone(),
            )),
            Err(position) => {
                objects.insert(
                    position,
                    Object {
                        namespace: namespace.clone(),
                        name,
                        value: object.clone(),
                    },
                );
                None
            }
        };
        let change = Arc::new(Change {
            resource_version: rv,
            index,
            kind: if previous.is_some() {
                "MODIFIED"
            } else {
                "ADDED"
            },
            namespace,
            object,
            previous,
        });
        self.history.push(Arc::clone(&change));
        change
    }

    /// Deletes an object; None when there was none.
    fn delete(&mut self, index: usize, namespace: &str, name: &str) -> Option<Arc<Change>> {
        let objects = &mut self.objects[index];
        let position = objects
            .iter()
            .position(|o| o.namespace == namespace && o.name == name)?;
        let removed = objects.remove(position);
        self.resource_version += 1;
        let mut object = removed.value;
        object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        let change = Arc::new(Change {
            resource_version: self.resource_version,
            index,
            kind: "DELETED",
            namespace: namespace.to_string(),
            object,
            previous: None,
        });
        self.history.push(Arc::clone(&change));
        Some(change)
    }

    fn find(&self, group: &str, plural: &str) -> Option<(usize, &'static ResourceDef)> {
        DEFS.iter()
            .enumerate()
            .find(|(index, d)| self.served[*index] && d.group == group && d.plural == plural)
    }

    fn serves_group_version(&self, group: &str, version: &str) -> bool {
        DEFS.iter()
            .enumerate()
            .any(|(index, d)| self.served[index] && d.group == group && d.version == version)
    }

    fn get(&self, index: usize, namespace: &str, name: &str) -> Option<&Object> {
        self.objects[index]
            .iter()
            .find(|o| o.namespace == namespace && o.name == name)
    }
}

fn index_of(group: &str, plural: &str) -> usize {
    DEFS.iter()
        .position(|d| d.group == group && d.plural == plural)
        .unwrap_or(0)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            walk(&entry.path(), files);
        } else if file_type.is_file() {
            files.push(entry.path());
        }
    }
}

/// JSON files may hold one or several concatenated documents; YAML files
/// one or several `---` documents. Unparseable files yield nothing.
fn parse_documents(text: &str, json_first: bool) -> Vec<Value> {
    if json_first {
        let documents: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .collect();
        if let Ok(documents) = documents {
            return documents;
        }
    }
    serde_saphyr::from_multiple::<Value>(text).unwrap_or_default()
}

fn add_document(found: &mut [BTreeMap<(String, String), Value>], document: Value) {
    let Some(kind) = document
        .get("kind")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    let api_version = document
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match document.get("items") {
        Some(Value::Array(items)) if kind.ends_with("List") => {
            let item_kind = kind.strip_suffix("List").unwrap_or("");
            for item in items {
                let kind = item
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or(item_kind)
                    .to_string();
                let api_version = match item.get("apiVersion").and_then(Value::as_str) {
                    Some(own) => own.to_string(),
                    None if !item_kind.is_empty() => api_version.clone(),
                    None => String::new(),
                };
                if !kind.is_empty() {
                    add_object(found, item.clone(), &kind, &api_version);
                }
            }
        }
        _ => add_object(found, document, &kind, &api_version),
    }
}

fn add_object(
    found: &mut [BTreeMap<(String, String), Value>],
    mut value: Value,
    kind: &str,
    api_version: &str,
) {
    let group = match api_version.split_once('/') {
        Some((group, _)) => Some(group),
        None if api_version.is_empty() => None,
        None => Some(""),
    };
    let Some(index) = DEFS.iter().position(|d| {
        d.listable && d.kind.eq_ignore_ascii_case(kind) && group.is_none_or(|g| g == d.group)
    }) else {
        return;
    };
    let resource = &DEFS[index];
    let Some(object) = value.as_object_mut() else {
        return;
    };
    object.remove("kind");
    object.remove("apiVersion");
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(name) = metadata
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    if !metadata
        .get("resourceVersion")
        .is_some_and(Value::is_string)
    {
        metadata.insert("resourceVersion".into(), json!("1"));
    }
    let namespace = if resource.namespaced {
        match metadata.get("namespace").and_then(Value::as_str) {
            Some(namespace) if !namespace.is_empty() => namespace.to_string(),
            _ => {
                metadata.insert("namespace".into(), json!("default"));
                "default".to_string()
            }
        }
    } else {
        String::new()
    };
    found[index].entry((namespace, name)).or_insert(value);
}

/// `kubectl cluster-info dump` writes every container's log between
/// `==== START logs for container C of pod NS/POD ====` and an END line.
fn parse_dump_logs(text: &str, logs: &mut HashMap<(String, String, String), String>) {
    let mut current: Option<((String, String, String), String)> = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if let Some(header) = trimmed
            .strip_prefix("==== START logs for container ")
            .and_then(|rest| rest.strip_suffix(" ===="))
            && let Some((container, pod)) = header.split_once(" of pod ")
            && let Some((namespace, pod)) = pod.split_once('/')
        {
            if let Some((key, text)) = current.take() {
                logs.entry(key).or_insert(text);
            }
            let key = (
                namespace.to_string(),
                pod.to_string(),
                container.to_string(),
            );
            current = Some((key, String::new()));
            continue;
        }
        if trimmed.starts_with("==== END logs for container ") {
            if let Some((key, text)) = current.take() {
                logs.entry(key).or_insert(text);
            }
            continue;
        }
        if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
        }
    }
    if let Some((key, text)) = current {
        logs.entry(key).or_insert(text);
    }
}

// ---------------------------------------------------------------------------
// Serving

#[derive(Default)]
struct Counters {
    lists: u64,
    continues: u64,
}

struct State {
    store: RwLock<Store>,
    /// Changes for open watches.
    changes: tokio::sync::broadcast::Sender<Broadcast>,
    addr: SocketAddr,
    token: String,
    forbidden: Vec<Forbidden>,
    faults: Faults,
    counters: Mutex<Counters>,
    log: Arc<Mutex<Vec<Request>>>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<State>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(connection(stream, tls.clone(), Arc::clone(&state)));
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<State>,
) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = tls else {
        serve_http(stream, state).await;
        return;
    };
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1) => {}
        _ => return,
    }
    // A TLS handshake starts with record type 22; anything else is plain
    // HTTP, which Go's server (so kube-apiserver) answers with a 400.
    if first[0] != 0x16 {
        reject_plain_http(&stream).await;
        return;
    }
    if let Ok(stream) = acceptor.accept(stream).await {
        serve_http(stream, state).await;
    }
}

async fn serve_http<I>(io: I, state: Arc<State>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| handle(Arc::clone(&state), request));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

async fn reject_plain_http(stream: &tokio::net::TcpStream) {
    // Read the request head first so that closing does not reset the
    // connection before the client has read the answer.
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 65536 {
        match tokio::time::timeout_at(deadline, stream.readable()).await {
            Ok(Ok(())) => {}
            _ => break,
        }
        let mut buffer = [0u8; 4096];
        match stream.try_read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
    let answer =
        b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
    let mut written = 0;
    while written < answer.len() {
        if stream.writable().await.is_err() {
            return;
        }
        match stream.try_write(&answer[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

async fn handle(
    state: Arc<State>,
    request: hyper::Request<Incoming>,
) -> Result<Response<SimBody>, BoxError> {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    if state.faults.silent {
        state.record(&method, &path, &query, 0);
        return std::future::pending().await;
    }
    let authorization = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match Limited::new(request.into_body(), 8 << 20).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let reply = state.respond(&method, &path, &query, authorization.as_deref(), &body);
    if !state.faults.latency.is_zero() {
        tokio::time::sleep(state.faults.latency).await;
    }
    let status = match reply.mode {
        Mode::Drop => 0,
        _ => reply.status,
    };
    state.record(&method, &path, &query, status);
    reply.into_response()
}

enum Mode {
    Normal,
    Drop,
    Truncate,
    /// A watch stream fed as changes happen; it ends when the sender goes.
    Stream(tokio::sync::mpsc::UnboundedReceiver<Bytes>),
}

struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    retry_after: bool,
    mode: Mode,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_default(),
            retry_after: false,
            mode: Mode::Normal,
        }
    }

    /// A watch's chunked stream: each event as it is sent.
    fn stream(receiver: tokio::sync::mpsc::UnboundedReceiver<Bytes>) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            body: Vec::new(),
            retry_after: false,
            mode: Mode::Stream(receiver),
        }
    }

    fn text(status: u16, text: String) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            body: text.into_bytes(),
            retry_after: false,
            mode: Mode::Normal,
        }
    }

    fn into_response(self) -> Result<Response<SimBody>, BoxError> {
        let body = Bytes::from(self.body);
        let body = match self.mode {
            Mode::Drop => return Err("simulated dropped connection".into()),
            Mode::Normal => SimBody::Full(Some(body)),
            Mode::Truncate => SimBody::Truncated {
                full_len: body.len() as u64,
                half: Some(body.slice(..body.len() / 2)),
                pause: None,
            },
            Mode::Stream(receiver) => SimBody::Stream(receiver),
        };
        let mut response = Response::new(body);
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        if self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        Ok(response)
    }
}

/// Response bodies: whole, cut in half (then the connection aborts), or a
/// watch stream fed as changes happen.
enum SimBody {
    Full(Option<Bytes>),
    Truncated {
        full_len: u64,
        half: Option<Bytes>,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    },
    Stream(tokio::sync::mpsc::UnboundedReceiver<Bytes>),
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            SimBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            SimBody::Truncated { half, pause, .. } => {
                if let Some(half) = half.take() {
                    // Let hyper flush the half before the connection aborts.
                    *pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(50))));
                    return Poll::Ready(Some(Ok(Frame::data(half))));
                }
                match pause {
                    Some(sleep) => match sleep.as_mut().poll(cx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(()) => {
                            Poll::Ready(Some(Err("simulated truncated body".into())))
                        }
                    },
                    None => Poll::Ready(Some(Err("simulated truncated body".into()))),
                }
            }
            SimBody::Stream(receiver) => receiver
                .poll_recv(cx)
                .map(|event| event.map(|bytes| Ok(Frame::data(bytes)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, SimBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Full(Some(data)) => SizeHint::with_exact(data.len() as u64),
            SimBody::Full(None) => SizeHint::with_exact(0),
            SimBody::Truncated { full_len, .. } => SizeHint::with_exact(*full_len),
            SimBody::Stream(_) => SizeHint::default(),
        }
    }
}

// ---------------------------------------------------------------------------
// Routing

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: &str) -> Query {
        Query(
            query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(key, true), percent_decode(value, true))
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }
}

fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Reply {
    let mut value = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(details) = details {
        value["details"] = details;
    }
    Reply::json(code, &value)
}

fn path_not_found() -> Reply {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

fn method_not_allowed() -> Reply {
    status(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        Some(json!({})),
    )
}

fn bad_request(message: &str) -> Reply {
    status(400, "BadRequest", message, None)
}

fn object_not_found(resource: &ResourceDef, name: &str) -> Reply {
    let mut details = json!({"name": name, "kind": resource.plural});
    if !resource.group.is_empty() {
        details["group"] = json!(resource.group);
    }
    status(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", qualified(resource)),
        Some(details),
    )
}

fn forbidden(
    resource: &ResourceDef,
    subresource: Option<&str>,
    verb: &str,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Reply {
    let subject = match name {
        Some(name) => format!("{} \"{name}\"", qualified(resource)),
        None => qualified(resource),
    };
    let target = match subresource {
        Some(sub) => format!("{}/{sub}", resource.plural),
        None => resource.plural.to_string(),
    };
    let scope = match namespace {
        Some(namespace) => format!("in the namespace \"{namespace}\""),
        None => "at the cluster scope".to_string(),
    };
    let message = format!(
        "{subject} is forbidden: User \"{USER}\" cannot {verb} resource \"{target}\" in API group \"{}\" {scope}",
        resource.group
    );
    let mut details = json!({"kind": resource.plural});
    if let Some(name) = name {
        details["name"] = json!(name);
    }
    if !resource.group.is_empty() {
        details["group"] = json!(resource.group);
    }
    status(403, "Forbidden", &message, Some(details))
}

enum ListFault {
    None,
    Reply(Reply),
    Truncate,
}

impl State {
    fn record(&self, method: &str, path: &str, query: &str, status: u16) {
        lock(&self.log).push(Request {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            status,
        });
    }

    fn authenticated(&self, authorization: Option<&str>) -> bool {
        if self.token.is_empty() {
            return true;
        }
        let Some(value) = authorization else {
            return false;
        };
        let mut parts = value.splitn(2, ' ');
        let scheme = parts.next().unwrap_or("");
        let token = parts.next().unwrap_or("").trim();
        scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token == self.token
    }

    fn forbids(&self, verb: &str, resource: &str, group: &str, namespace: Option<&str>) -> bool {
        let matches = |rule: &str, actual: &str| rule == "*" || rule == actual;
        self.forbidden.iter().any(|f| {
            matches(&f.verb, verb)
                && matches(&f.resource, resource)
                && matches(&f.group, group)
                && match (&f.namespace, namespace) {
                    (None, _) | (Some(_), None) => true,
                    (Some(denied), Some(asked)) => denied == asked,
                }
        })
    }

    fn respond(
        &self,
        method: &str,
        path: &str,
        query: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Reply {
        if !self.authenticated(authorization) {
            return status(401, "Unauthorized", "Unauthorized", None);
        }
        let query = Query::parse(query);
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s, false))
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let get = method == "GET";
        match segments.as_slice() {
            ["version"] if get && self.faults.version_forbidden => status(
                403,
                "Forbidden",
                &format!("forbidden: User \"{USER}\" cannot get path \"/version\""),
                None,
            ),
            ["version"] if get => Reply::json(
                200,
                &json!({
                    "major": "1",
                    "minor": "33",
                    "emulationMajor": "1",
                    "emulationMinor": "33",
                    "minCompatibilityMajor": "1",
                    "minCompatibilityMinor": "32",
                    "gitVersion": "v1.33.0",
                    "gitCommit": "60a317eadfcb839692a68eab88b2096f4d708f4f",
                    "gitTreeState": "clean",
                    "buildDate": "2025-04-23T13:07:52Z",
                    "goVersion": "go1.24.2",
                    "compiler": "gc",
                    "platform": "linux/amd64",
                }),
            ),
            ["healthz" | "livez" | "readyz"] if get => Reply::text(200, "ok".to_string()),
            ["api"] if get => Reply::json(
                200,
                &json!({
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": self.addr.to_string()}
                    ],
                }),
            ),
            ["api", "v1"] if get => self.resource_list(""),
            ["apis"] if get => self.group_list(),
            ["apis", group] if get => match self.group(group) {
                Some(mut group) => {
                    group["kind"] = json!("APIGroup");
                    group["apiVersion"] = json!("v1");
                    Reply::json(200, &group)
                }
                None => path_not_found(),
            },
            ["apis", group, version] if get => {
                if !group.is_empty() && read(&self.store).serves_group_version(group, version) {
                    self.resource_list(group)
                } else {
                    path_not_found()
                }
            }
            ["api" | "apis", ..] if !get && segments.len() <= 3 && path_is_discovery(&segments) => {
                method_not_allowed()
            }
            ["api", "v1", rest @ ..] => self.resource("", rest, method, &query, body),
            ["apis", group, version, rest @ ..]
                if !group.is_empty() && read(&self.store).serves_group_version(group, version) =>
            {
                self.resource(group, rest, method, &query, body)
            }
            _ => path_not_found(),
        }
    }

    fn group(&self, name: &str) -> Option<Value> {
        let resource = DEFS
            .iter()
            .enumerate()
            .find(|(index, d)| {
                read(&self.store).served[*index] && d.group == name && !name.is_empty()
            })?
            .1;
        let version = json!({"groupVersion": group_version(resource), "version": resource.version});
        Some(json!({
            "name": name,
            "versions": [version.clone()],
            "preferredVersion": version,
        }))
    }

    fn group_list(&self) -> Reply {
        let mut names: Vec<&str> = Vec::new();
        for (index, d) in DEFS.iter().enumerate() {
            if read(&self.store).served[index] && !d.group.is_empty() && !names.contains(&d.group) {
                names.push(d.group);
            }
        }
        let groups: Vec<Value> = names.iter().filter_map(|name| self.group(name)).collect();
        Reply::json(
            200,
            &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
        )
    }

    fn resource_list(&self, group: &str) -> Reply {
        let mut resources = Vec::new();
        let mut group_version_text = String::from("v1");
        for (index, d) in DEFS.iter().enumerate() {
            if !read(&self.store).served[index] || d.group != group {
                continue;
            }
            group_version_text = group_version(d);
            let verbs = if d.listable {
                json!(["get", "list", "watch"])
            } else {
                json!(["create"])
            };
            let mut entry = json!({
                "name": d.plural,
                "singularName": d.singular,
                "namespaced": d.namespaced,
                "kind": d.kind,
                "verbs": verbs,
            });
            if !d.short_names.is_empty() {
                entry["shortNames"] = json!(d.short_names);
            }
            if !d.categories.is_empty() {
                entry["categories"] = json!(d.categories);
            }
            resources.push(entry);
            if group.is_empty() && d.plural == "pods" {
                resources.push(json!({
                    "name": "pods/log",
                    "singularName": "",
                    "namespaced": true,
                    "kind": "Pod",
                    "verbs": ["get"],
                }));
            }
        }
        Reply::json(
            200,
            &json!({
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": group_version_text,
                "resources": resources,
            }),
        )
    }

    /// `rest` is what follows `/api/v1` or `/apis/{group}/{version}`.
    fn resource(
        &self,
        group: &str,
        rest: &[&str],
        method: &str,
        query: &Query,
        body: &[u8],
    ) -> Reply {
        let (namespace, rest) = match rest {
            ["namespaces", namespace, tail @ ..] if !tail.is_empty() => (Some(*namespace), tail),
            _ => (None, rest),
        };
        let Some((plural, tail)) = rest.split_first() else {
            return path_not_found();
        };
        let Some((index, resource)) = read(&self.store).find(group, plural) else {
            return path_not_found();
        };
        if namespace.is_some() && !resource.namespaced {
            return path_not_found();
        }
        if !resource.listable {
            return match (method, tail, namespace) {
                ("POST", [], None) => self.access_review(resource, body),
                (_, [], None) => method_not_allowed(),
                _ => path_not_found(),
            };
        }
        if resource.namespaced && namespace.is_none() && !tail.is_empty() {
            return path_not_found();
        }
        match (tail, method) {
            ([], "GET") => self.list(index, resource, namespace, query),
            ([name], "GET") => self.get(index, resource, namespace, name),
            ([name, "log"], "GET") if group.is_empty() && *plural == "pods" => {
                self.logs(index, resource, namespace.unwrap_or(""), name, query)
            }
            ([] | [_], _) => method_not_allowed(),
            ([_, "log"], _) if group.is_empty() && *plural == "pods" => method_not_allowed(),
            _ => path_not_found(),
        }
    }

    fn list_fault(&self) -> ListFault {
        let n = {
            let mut counters = lock(&self.counters);
            counters.lists += 1;
            counters.lists - 1
        };
        let f = &self.faults;
        let mut bound = u64::from(f.too_many_requests);
        if n < bound {
            let mut reply = status(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
                Some(json!({"retryAfterSeconds": 1})),
            );
            reply.retry_after = true;
            return ListFault::Reply(reply);
        }
        bound += u64::from(f.server_errors);
        if n < bound {
            return ListFault::Reply(status(
                500,
                "InternalError",
                "Internal error occurred: simulated",
                Some(json!({"causes": [{"message": "simulated"}]})),
            ));
        }
        bound += u64::from(f.drop_connections);
        if n < bound {
            let mut reply = Reply::text(0, String::new());
            reply.mode = Mode::Drop;
            return ListFault::Reply(reply);
        }
        bound += u64::from(f.truncate_bodies);
        if n < bound {
            return ListFault::Truncate;
        }
        ListFault::None
    }

    fn list(
        &self,
        index: usize,
        resource: &ResourceDef,
        namespace: Option<&str>,
        query: &Query,
    ) -> Reply {
        let watch = query.flag("watch");
        let mut truncate = false;
        if !watch {
            match self.list_fault() {
                ListFault::None => {}
                ListFault::Truncate => truncate = true,
                ListFault::Reply(reply) => return reply,
            }
        }
        let verb = if watch { "watch" } else { "list" };
        if self.forbids(verb, resource.plural, resource.group, namespace) {
            return forbidden(resource, None, verb, namespace, None);
        }
        let labels = match parse_label_selector(query.get("labelSelector").unwrap_or("")) {
            Ok(labels) => labels,
            Err(message) => return bad_request(&message),
        };
        let fields = match parse_field_selector(query.get("fieldSelector").unwrap_or("")) {
            Ok(fields) => fields,
            Err(message) => return bad_request(&message),
        };
        for field in &fields {
            if field_value(resource, &Value::Null, &field.field).is_none() {
                return bad_request(&format!("field label not supported: {}", field.field));
            }
        }
        // Objects are sorted by namespace, then name: a namespace's are a
        // run of them, as its keys are a range in etcd.
        let store = read(&self.store);
        let objects = &store.objects[index];
        let range = match namespace {
            Some(ns) => {
                let start = objects.partition_point(|o| o.namespace.as_str() < ns);
                let end = objects.partition_point(|o| o.namespace.as_str() <= ns);
                start..end
            }
            None => 0..objects.len(),
        };
        let selects = |object: &Object| {
            labels.iter().all(|r| r.matches(&object.value))
                && fields.iter().all(|field| {
                    let value = field_value(resource, &object.value, &field.field);
                    (value.as_deref() == Some(field.value.as_str())) != field.negate
                })
        };
        if watch {
            let selected: Vec<&Object> = objects[range].iter().filter(|o| selects(o)).collect();
            let filter = WatchFilter {
                index,
                namespace: namespace.map(str::to_string),
                labels,
                fields,
            };
            return self.watch(&store, filter, &selected, query);
        }

        // The continue token is a position among the kind's objects, as
        // etcd's is a key: a page reads on from there until it holds
        // `limit` matches (so a filtered page costs what it reads, not the
        // whole list, and may come back short or empty, as the real
        // server's can).
        let mut offset = range.start;
        if let Some(token) = query.get("continue").filter(|t| !t.is_empty()) {
            let expired = {
                let mut counters = lock(&self.counters);
                counters.continues += 1;
                counters.continues <= u64::from(self.faults.expire_continue)
            };
            if expired {
                return status(410, "Expired", EXPIRED_MESSAGE, None);
            }
            match decode_continue(token) {
                Ok(start) => offset = start.clamp(range.start, range.end),
                Err(message) => return bad_request(&message),
            }
        }
        let limit = match query.get("limit").filter(|l| !l.is_empty()) {
            None => 0,
            Some(text) => match text.parse::<i64>() {
                Ok(limit) => usize::try_from(limit.max(0)).unwrap_or(usize::MAX),
                Err(_) => {
                    return bad_request(&format!(
                        "limit: Invalid value: \"{text}\": must be an integer"
                    ));
                }
            },
        };
        let mut items: Vec<Value> = Vec::new();
        let mut position = offset;
        while position < range.end && (limit == 0 || items.len() < limit) {
            let object = &objects[position];
            position += 1;
            if selects(object) {
                items.push(object.value.clone());
            }
        }
        let mut metadata = json!({"resourceVersion": store.resource_version.to_string()});
        if position < range.end {
            metadata["continue"] = json!(encode_continue(store.resource_version, position));
            // Like the real server: no count when a selector filtered the list.
            if labels.is_empty() && fields.is_empty() {
                metadata["remainingItemCount"] = json!(range.end - position);
            }
        }
        let list = json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": group_version(resource),
            "metadata": metadata,
            "items": items,
        });
        let mut reply = Reply::json(200, &list);
        if truncate {
            reply.mode = Mode::Truncate;
        }
        reply
    }

    /// A watch, as the watch cache serves one: from no resourceVersion
    /// (or "0"), ADDED for every object first; from a resourceVersion, the
    /// changes since (410 Gone when they are compacted away); then every
    /// change as it happens, BOOKMARKs when asked for, until timeoutSeconds.
    fn watch(
        &self,
        store: &Store,
        filter: WatchFilter,
        selected: &[&Object],
        query: &Query,
    ) -> Reply {
        let resource = &DEFS[filter.index];
        // Subscribed while the store is read-locked: no change slips
        // between what is replayed and what is heard.
        let mut heard = self.changes.subscribe();
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        // `type` before `object`, as kube-apiserver writes metav1.WatchEvent
        // (a JSON map here would sort `object` first).
        let line = |value: Value| {
            let text = format!(
                "{{\"type\":{},\"object\":{}}}\n",
                value["type"], value["object"]
            );
            Bytes::from(text)
        };
        let since = query
            .get("resourceVersion")
            .filter(|rv| !rv.is_empty() && *rv != "0")
            .map(|rv| rv.parse::<u64>().unwrap_or(0));
        match since {
            None => {
                for object in selected {
                    let event =
                        json!({"type": "ADDED", "object": with_kind(resource, &object.value)});
                    let _ = sender.send(line(event));
                }
            }
            Some(rv) if rv + 1 < store.oldest => {
                let _ = sender.send(line(expired_event(rv, store.oldest)));
                drop(sender);
                return Reply::stream(receiver);
            }
            Some(rv) => {
                for change in store.history.iter().filter(|c| c.resource_version > rv) {
                    if let Some(event) = filter.event(change) {
                        let _ = sender.send(line(event));
                    }
                }
            }
        }
        let mut last = store.resource_version;
        let bookmarks = query.get("allowWatchBookmarks") == Some("true");
        let seconds = query
            .get("timeoutSeconds")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(60)
            .min(600);
        tokio::spawn(async move {
            let end = tokio::time::sleep(Duration::from_secs(seconds));
            tokio::pin!(end);
            let mut ticks = tokio::time::interval(BOOKMARK_EVERY);
            ticks.tick().await;
            loop {
                tokio::select! {
                    () = &mut end => break,
                    _ = ticks.tick(), if bookmarks => {
                        let resource = &DEFS[filter.index];
                        let event = json!({"type": "BOOKMARK", "object": {
                            "kind": resource.kind,
                            "apiVersion": group_version(resource),
                            "metadata": {"resourceVersion": last.to_string()},
                        }});
                        if sender.send(line(event)).is_err() {
                            break;
                        }
                    }
                    got = heard.recv() => match got {
                        Ok(Broadcast::Change(change)) => {
                            if change.resource_version <= last {
                                continue;
                            }
                            last = change.resource_version;
                            if let Some(event) = filter.event(&change)
                                && sender.send(line(event)).is_err()
                            {
                                break;
                            }
                        }
                        // Fallen behind, or expired on purpose: 410, then
                        // the stream ends and the client lists again.
                        Ok(Broadcast::Expire) | Err(_) => {
                            let _ = sender.send(line(expired_event(last, last + 1)));
                            break;
                        }
                    },
                }
            }
        });
        Reply::stream(receiver)
    }

    fn get(
        &self,
        index: usize,
        resource: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
    ) -> Reply {
        if self.forbids("get", resource.plural, resource.group, namespace) {
            return forbidden(resource, None, "get", namespace, Some(name));
        }
        match read(&self.store).get(index, namespace.unwrap_or(""), name) {
            Some(object) => Reply::json(200, &with_kind(resource, &object.value)),
            None => object_not_found(resource, name),
        }
    }

    fn logs(
        &self,
        index: usize,
        resource: &ResourceDef,
        namespace: &str,
        pod: &str,
        query: &Query,
    ) -> Reply {
        if self.forbids("get", "pods/log", "", Some(namespace)) {
            return forbidden(resource, Some("log"), "get", Some(namespace), Some(pod));
        }
        let store = read(&self.store);
        let Some(object) = store.get(index, namespace, pod) else {
            return object_not_found(resource, pod);
        };
        let container = match query.get("container").filter(|c| !c.is_empty()) {
            Some(container) => container.to_string(),
            None => {
                let names: Vec<&str> = object.value["spec"]["containers"]
                    .as_array()
                    .map(|cs| cs.iter().filter_map(|c| c["name"].as_str()).collect())
                    .unwrap_or_default();
                match names.as_slice() {
                    [only] => only.to_string(),
                    _ => {
                        return bad_request(&format!(
                            "a container name must be specified for pod {pod}, choose one of: [{}]",
                            names.join(" ")
                        ));
                    }
                }
            }
        };
        if query.flag("previous") {
            return bad_request(&format!(
                "previous terminated container \"{container}\" in pod \"{pod}\" not found"
            ));
        }
        let key = (namespace.to_string(), pod.to_string(), container.clone());
        let Some(text) = store.logs.get(&key) else {
            return bad_request(&format!("container {container} is not valid for pod {pod}"));
        };
        let text = match query.get("tailLines").and_then(|n| n.parse::<i64>().ok()) {
            Some(n) => tail_lines(text, usize::try_from(n.max(0)).unwrap_or(0)),
            None => text.clone(),
        };
        Reply::text(200, text)
    }

    fn access_review(&self, resource: &ResourceDef, body: &[u8]) -> Reply {
        if self.forbids("create", resource.plural, resource.group, None) {
            return forbidden(resource, None, "create", None, None);
        }
        let mut review: Value = match serde_json::from_slice(body) {
            Ok(review @ Value::Object(_)) => review,
            _ => {
                return bad_request(
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
                );
            }
        };
        let attributes = &review["spec"]["resourceAttributes"];
        let (allowed, reason) = if attributes.is_object() {
            let text = |key: &str| attributes[key].as_str().unwrap_or("").to_string();
            let (verb, group, namespace) = (text("verb"), text("group"), text("namespace"));
            let mut target = text("resource");
            let subresource = text("subresource");
            if !subresource.is_empty() {
                target = format!("{target}/{subresource}");
            }
            let namespace = Some(namespace.as_str()).filter(|ns| !ns.is_empty());
            if self.forbids(&verb, &target, &group, namespace) {
                (false, String::new())
            } else {
                (
                    true,
                    "RBAC: allowed by ClusterRoleBinding \"pxdoctor\" of ClusterRole \"pxdoctor\" to ServiceAccount \"pxdoctor/polyaxon\"".to_string(),
                )
            }
        } else {
            (true, "non-resource access is allowed".to_string())
        };
        review["kind"] = json!(resource.kind);
        review["apiVersion"] = json!(group_version(resource));
        if !review["metadata"].is_object() {
            review["metadata"] = json!({});
        }
        review["metadata"]["creationTimestamp"] = Value::Null;
        review["status"] = json!({"allowed": allowed, "reason": reason});
        Reply::json(201, &review)
    }
}

fn path_is_discovery(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["api"] | ["api", "v1"] | ["apis"] | ["apis", _] | ["apis", _, _]
    )
}

const EXPIRED_MESSAGE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

fn with_kind(resource: &ResourceDef, value: &Value) -> Value {
    let mut object = Map::new();
    object.insert("kind".into(), json!(resource.kind));
    object.insert("apiVersion".into(), json!(group_version(resource)));
    if let Some(fields) = value.as_object() {
        for (key, field) in fields {
            object.insert(key.clone(), field.clone());
        }
    }
    Value::Object(object)
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    lines[lines.len().saturating_sub(n)..].concat()
}

// ---------------------------------------------------------------------------
// Continue tokens: base64url (no padding) of a small JSON document, like
// the real server's `{"v":"meta.k8s.io/v1","rv":N,"start":KEY}`.

fn encode_continue(resource_version: u64, offset: usize) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": resource_version, "offset": offset});
    base64url_encode(token.to_string().as_bytes())
}

fn decode_continue(token: &str) -> Result<usize, String> {
    let invalid = |why: &str| format!("continue key is not valid: {why}");
    let bytes = base64url_decode(token).map_err(|e| invalid(&e))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| invalid(&e.to_string()))?;
    if value["v"] != "meta.k8s.io/v1" {
        return Err(invalid(
            "incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    value["offset"]
        .as_u64()
        .and_then(|o| usize::try_from(o).ok())
        .ok_or_else(|| invalid("missing offset"))
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(BASE64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn base64url_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for (position, byte) in text.bytes().enumerate() {
        let Some(value) = BASE64URL.iter().position(|c| *c == byte) else {
            return Err(format!("illegal base64 data at input byte {position}"));
        };
        buffer = (buffer << 6) | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    if text.len() % 4 == 1 {
        return Err(format!(
            "illegal base64 data at input byte {}",
            text.len() - 1
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Selectors

enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    GreaterThan(String, i64),
    LessThan(String, i64),
}

impl LabelRequirement {
    fn matches(&self, object: &Value) -> bool {
        let label = |key: &str| -> Option<String> {
            match &object["metadata"]["labels"][key] {
                Value::Null => None,
                Value::String(text) => Some(text.clone()),
                other => Some(other.to_string()),
            }
        };
        match self {
            LabelRequirement::Equals(key, value) => label(key).as_ref() == Some(value),
            LabelRequirement::NotEquals(key, value) => label(key).as_ref() != Some(value),
            LabelRequirement::In(key, values) => label(key).is_some_and(|l| values.contains(&l)),
            LabelRequirement::NotIn(key, values) => {
                !label(key).is_some_and(|l| values.contains(&l))
            }
            LabelRequirement::Exists(key) => label(key).is_some(),
            LabelRequirement::NotExists(key) => label(key).is_none(),
            LabelRequirement::GreaterThan(key, bound) => label(key)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|v| v > *bound),
            LabelRequirement::LessThan(key, bound) => label(key)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|v| v < *bound),
        }
    }
}

fn valid_label_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_label_value(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Splits at commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_label_selector(selector: &str) -> Result<Vec<LabelRequirement>, String> {
    if selector.trim().is_empty() {
        return Ok(Vec::new());
    }
    let fail = |why: String| {
        Err(format!(
            "unable to parse requirement: {why} (in label selector \"{selector}\")"
        ))
    };
    let mut requirements = Vec::new();
    for part in split_top_level(selector) {
        let part = part.trim();
        let requirement = if let Some(open) = part.find('(') {
            let head: Vec<&str> = part[..open].split_whitespace().collect();
            let Some(inner) = part[open + 1..].trim_end().strip_suffix(')') else {
                return fail(format!("found '{part}', expected: ')'"));
            };
            let values: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
            if values.iter().any(|v| !valid_label_value(v)) || inner.trim().is_empty() {
                return fail(format!("invalid values in '{part}'"));
            }
            match head.as_slice() {
                [key, "in"] if valid_label_key(key) => {
                    LabelRequirement::In(key.to_string(), values)
                }
                [key, "notin"] if valid_label_key(key) => {
                    LabelRequirement::NotIn(key.to_string(), values)
                }
                _ => return fail(format!("found '{part}', expected: in, notin")),
            }
        } else if let Some(key) = part.strip_prefix('!') {
            let key = key.trim();
            if !valid_label_key(key) {
                return fail(format!("invalid label key \"{key}\""));
            }
            LabelRequirement::NotExists(key.to_string())
        } else {
            let (key, operator, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, "!=", v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, "=", v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, "=", v)
            } else if let Some((k, v)) = part.split_once('>') {
                (k, ">", v)
            } else if let Some((k, v)) = part.split_once('<') {
                (k, "<", v)
            } else {
                (part, "exists", "")
            };
            let (key, value) = (key.trim(), value.trim());
            if !valid_label_key(key) {
                return fail(format!("invalid label key \"{key}\""));
            }
            match operator {
                "exists" => LabelRequirement::Exists(key.to_string()),
                ">" | "<" => {
                    let Ok(bound) = value.parse::<i64>() else {
                        return fail(format!(
                            "for 'Gt', 'Lt' operators, the value must be an integer: \"{value}\""
                        ));
                    };
                    if operator == ">" {
                        LabelRequirement::GreaterThan(key.to_string(), bound)
                    } else {
                        LabelRequirement::LessThan(key.to_string(), bound)
                    }
                }
                _ if !valid_label_value(value) => {
                    return fail(format!("invalid label value: \"{value}\""));
                }
                "!=" => LabelRequirement::NotEquals(key.to_string(), value.to_string()),
                _ => LabelRequirement::Equals(key.to_string(), value.to_string()),
            }
        };
        requirements.push(requirement);
    }
    Ok(requirements)
}

struct FieldRequirement {
    field: String,
    value: String,
    negate: bool,
}

fn parse_field_selector(selector: &str) -> Result<Vec<FieldRequirement>, String> {
    if selector.trim().is_empty() {
        return Ok(Vec::new());
    }
    selector
        .split(',')
        .map(|term| {
            let (field, value, negate) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, v, false)
            } else {
                return Err(format!(
                    "invalid selector: '{selector}'; can't understand '{term}'"
                ));
            };
            Ok(FieldRequirement {
                field: field.trim().to_string(),
                value: value.trim().to_string(),
                negate,
            })
        })
        .collect()
}

/// The value of a supported field label, or None when the real server
/// would answer "field label not supported".
fn field_value(resource: &ResourceDef, object: &Value, field: &str) -> Option<String> {
    let path = match (resource.group, resource.plural, field) {
        (_, _, "metadata.name") => "metadata.name",
        (_, _, "metadata.namespace") if resource.namespaced => "metadata.namespace",
        (
            "",
            "pods",
            f @ ("spec.nodeName"
            | "spec.restartPolicy"
            | "spec.schedulerName"
            | "spec.serviceAccountName"
            | "spec.hostNetwork"
            | "status.phase"
            | "status.podIP"
            | "status.nominatedNodeName"),
        ) => f,
        (
            "",
            "events",
            f @ ("involvedObject.kind"
            | "involvedObject.namespace"
            | "involvedObject.name"
            | "involvedObject.uid"
            | "involvedObject.apiVersion"
            | "involvedObject.resourceVersion"
            | "involvedObject.fieldPath"
            | "reason"
            | "reportingComponent"
            | "type"),
        ) => f,
        ("", "events", "source") => "source.component",
        ("events.k8s.io", "events", f) => match f {
            "regarding.kind"
            | "regarding.namespace"
            | "regarding.name"
            | "regarding.uid"
            | "regarding.apiVersion"
            | "regarding.resourceVersion"
            | "regarding.fieldPath"
            | "reason"
            | "type"
            | "reportingController" => f,
            "involvedObject.kind" => "regarding.kind",
            "involvedObject.namespace" => "regarding.namespace",
            "involvedObject.name" => "regarding.name",
            "involvedObject.uid" => "regarding.uid",
            "reportingComponent" => "reportingController",
            "source" => "deprecatedSource.component",
            _ => return None,
        },
        ("", "nodes", "spec.unschedulable") => "spec.unschedulable",
        ("", "namespaces", "status.phase") => "status.phase",
        ("", "secrets", "type") => "type",
        _ => return None,
    };
    let mut value = object;
    for key in path.split('.') {
        value = &value[key];
    }
    Some(match value {
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::Null if matches!(path, "spec.unschedulable" | "spec.hostNetwork") => {
            "false".to_string()
        }
        _ => String::new(),
    })
}

// ---------------------------------------------------------------------------
// TLS

/// A serving certificate as `serving` says (for 127.0.0.1 and localhost
/// unless it names another host); returns the acceptor and the PEM the
/// kubeconfig is to trust.
#[allow(clippy::type_complexity)]
fn tls_acceptor(
    serving: Serving,
    client_certs: bool,
) -> (tokio_rustls::TlsAcceptor, String, Option<(String, String)>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = KeyPair::generate().expect("apiserver simulator: CA key");
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).expect("apiserver simulator: CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pxdoctor-simulator-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .expect("apiserver simulator: CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let names = match serving {
        Serving::SelfSignedOtherHost | Serving::OtherHost => vec!["other.example".to_string()],
        _ => vec!["localhost".to_string(), "127.0.0.1".to_string()],
    };
    let server_key = KeyPair::generate().expect("apiserver simulator: server key");
    let mut server_params =
        CertificateParams::new(names).expect("apiserver simulator: server params");
    server_params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    server_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    if serving == Serving::Expired {
        server_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        server_params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let self_signed = matches!(
        serving,
        Serving::SelfSignedCa | Serving::SelfSignedOtherHost
    );
    if self_signed {
        server_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        server_params.key_usages.push(KeyUsagePurpose::KeyCertSign);
    }
    let server_cert = if self_signed {
        server_params.self_signed(&server_key)
    } else {
        server_params.signed_by(&server_key, &issuer)
    }
    .expect("apiserver simulator: server certificate");
    let trusted = match serving {
        Serving::PinnedLeaf | Serving::SelfSignedCa | Serving::SelfSignedOtherHost => {
            server_cert.pem()
        }
        _ => ca_cert.pem(),
    };

    // A client certificate as kubeadm issues one: CN the user, O the group.
    let client_identity = client_certs.then(|| {
        let client_key = KeyPair::generate().expect("apiserver simulator: client key");
        let mut params = CertificateParams::new(Vec::<String>::new())
            .expect("apiserver simulator: client params");
        params
            .distinguished_name
            .push(DnType::CommonName, "kubernetes-admin");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "kubeadm:cluster-admins");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params
            .signed_by(&client_key, &issuer)
            .expect("apiserver simulator: client certificate");
        (cert.pem(), client_key.serialize_pem())
    });

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("apiserver simulator: TLS versions");
    let builder = if client_certs {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(ca_cert.der().clone())
            .expect("apiserver simulator: client CA");
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("apiserver simulator: client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(vec![server_cert.der().clone()], key)
        .expect("apiserver simulator: TLS config");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        trusted,
        client_identity,
    )
}
