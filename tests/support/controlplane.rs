//! The real Kubernetes control plane for the controlplane test tier: etcd,
//! kube-apiserver, kube-scheduler and kube-controller-manager, built from
//! their Go modules by `tests/controlplane/build.sh` into
//! `target/controlplane/bin/`, started once per test binary on 127.0.0.1
//! with certificates, service-account keys and kubeconfigs of their own.
//! No kubelet: nodes are API objects whose status the tests write.
//!
//! Every process is started by one keeper thread that lives as long as the
//! test binary, with `PR_SET_PDEATHSIG`: when the test binary ends (passed,
//! panicked, killed), the kernel kills them. Run directories of test
//! binaries that are gone are removed at the next start.

#![allow(dead_code)]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::repo;

/// Where build.sh puts the binaries.
pub fn bin_dir() -> PathBuf {
    repo().join("target/controlplane/bin")
}

const COMPONENTS: [&str; 4] = [
    "etcd",
    "kube-apiserver",
    "kube-scheduler",
    "kube-controller-manager",
];

/// The admission plugins the tier turns on (on top of kube-apiserver's
/// defaults).
pub const ADMISSION: &str =
    "NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota,PodSecurity,DefaultStorageClass";

pub struct ControlPlane {
    /// The admin's kubeconfig (system:masters, client certificate).
    pub kubeconfig: PathBuf,
    /// https://127.0.0.1:PORT
    pub server: String,
    /// http://127.0.0.1:PORT of etcd (its JSON gateway serves /v3/kv/...).
    pub etcd: String,
    /// The Kubernetes version build.sh built (`v1.37.2`).
    pub version: String,
    /// This run's directory: certificates, kubeconfigs, etcd's data, logs.
    pub dir: PathBuf,
    /// From the first process started to every component healthy.
    pub started_in: Duration,
    /// The PEM of the CA every certificate is signed by.
    pub ca_pem: String,
    pids: Vec<(&'static str, u32)>,
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
}

/// An answer of the API server: its status and its JSON body (Null when
/// the body is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    /// The body as sent (a watch's is several JSON documents).
    pub text: String,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The control plane of this test binary, started on first use. Panics,
/// saying how to build it, when the binaries are missing.
pub fn control_plane() -> &'static ControlPlane {
    static PLANE: OnceLock<ControlPlane> = OnceLock::new();
    PLANE.get_or_init(ControlPlane::start)
}

/// Free port on 127.0.0.1 (the listener is dropped; the port is used a
/// moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .unwrap()
        .port()
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Starts `command` from the keeper thread, which never ends: the child
/// gets SIGKILL when the thread that forked it goes, that is when this
/// test binary ends, however it ends.
fn spawn_kept(command: Command) -> Child {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("controlplane-keeper".into())
            .spawn(move || {
                for (mut command, reply) in rx.iter() {
                    lifeline(&mut command);
                    let _ = reply.send(command.spawn());
                }
                // The sender is in a static: never reached, but the thread
                // must not end while children live.
                loop {
                    std::thread::park();
                }
            })
            .expect("the keeper thread starts");
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    keeper
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((command, reply))
        .expect("the keeper thread runs");
    answer
        .recv()
        .expect("the keeper thread answers")
        .expect("the component starts")
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn lifeline(command: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    let parent = std::process::id();
    // SAFETY: prctl, getppid and _exit are async-signal-safe; nothing else
    // runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have gone before prctl: then no signal comes.
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn lifeline(_command: &mut Command) {}

/// Removes the run directories of test binaries that have ended.
fn sweep(runs: &Path) {
    let Ok(entries) = std::fs::read_dir(runs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let alive = name
            .parse::<u32>()
            .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

struct Pki {
    ca_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "pxdoctor-controlplane-ca");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("CA certificate");
        Pki {
            ca_pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// (certificate PEM, key PEM) for `common_name` in `organization`,
    /// serving `names` (DNS names or IPs) when there are any, a client
    /// certificate otherwise.
    fn leaf(
        &self,
        common_name: &str,
        organization: Option<&str>,
        names: &[&str],
    ) -> (String, String) {
        use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose};
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("certificate params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        if let Some(organization) = organization {
            params
                .distinguished_name
                .push(DnType::OrganizationName, organization);
        }
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = if names.is_empty() {
            vec![ExtendedKeyUsagePurpose::ClientAuth]
        } else {
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ]
        };
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        (cert.pem(), key.serialize_pem())
    }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A kubeconfig for `server` as the user of (cert, key).
fn kubeconfig(server: &str, ca_pem: &str, user: &str, cert: &(String, String)) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: controlplane
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: {user}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: {user}@controlplane
  context:
    cluster: controlplane
    user: {user}
    namespace: default
current-context: {user}@controlplane
",
        ca = b64(ca_pem),
        cert = b64(&cert.0),
        key = b64(&cert.1),
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

impl ControlPlane {
    fn start() -> ControlPlane {
        let bin = bin_dir();
        for component in COMPONENTS {
            assert!(
                bin.join(component).is_file(),
                "{} is missing: build the control plane first with tests/controlplane/build.sh (.ci/run builds it)",
                bin.join(component).display()
            );
        }
        let version =
            std::fs::read_to_string(repo().join("target/controlplane/kubernetes-version"))
                .map(|v| v.trim().to_string())
                .unwrap_or_default();
        let runs = repo().join("target/controlplane/run");
        sweep(&runs);
        let dir = runs.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the run directory");
        let started = Instant::now();

        // Certificates and keys.
        let pki = Pki::new();
        write(&dir.join("ca.crt"), &pki.ca_pem);
        let serving = pki.leaf(
            "kube-apiserver",
            None,
            &[
                "127.0.0.1",
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ],
        );
        write(&dir.join("apiserver.crt"), &serving.0);
        write(&dir.join("apiserver.key"), &serving.1);
        let components_serving = pki.leaf("localhost", None, &["127.0.0.1", "localhost"]);
        write(&dir.join("component.crt"), &components_serving.0);
        write(&dir.join("component.key"), &components_serving.1);
        let sa = rcgen::KeyPair::generate().expect("service-account key");
        write(&dir.join("sa.key"), &sa.serialize_pem());
        write(&dir.join("sa.pub"), &sa.public_key_pem());

        let etcd_port = free_port();
        let peer_port = free_port();
        let api_port = free_port();
        let scheduler_port = free_port();
        let manager_port = free_port();
        let server = format!("https://127.0.0.1:{api_port}");
        let etcd = format!("http://127.0.0.1:{etcd_port}");
        let admin = pki.leaf("kubernetes-admin", Some("system:masters"), &[]);
        let admin_kubeconfig = dir.join("admin.kubeconfig");
        write(
            &admin_kubeconfig,
            &kubeconfig(&server, &pki.ca_pem, "kubernetes-admin", &admin),
        );
        for (file, user) in [
            ("scheduler.kubeconfig", "system:kube-scheduler"),
            (
                "controller-manager.kubeconfig",
                "system:kube-controller-manager",
            ),
        ] {
            let cert = pki.leaf(user, None, &[]);
            write(
                &dir.join(file),
                &kubeconfig(&server, &pki.ca_pem, user, &cert),
            );
        }

        let d = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let start = |name: &'static str, args: Vec<String>| (name, launch(&bin, &dir, name, args));
        let mut pids = Vec::new();
        pids.push(start(
            "etcd",
            vec![
                "--name=pxdoctor".into(),
                format!("--data-dir={}", d("etcd")),
                format!("--listen-client-urls={etcd}"),
                format!("--advertise-client-urls={etcd}"),
                format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"),
                format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"),
                format!("--initial-cluster=pxdoctor=http://127.0.0.1:{peer_port}"),
                "--unsafe-no-fsync".into(),
                "--log-level=warn".into(),
            ],
        ));
        pids.push(start(
            "kube-apiserver",
            vec![
                format!("--etcd-servers={etcd}"),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                format!("--secure-port={api_port}"),
                format!("--tls-cert-file={}", d("apiserver.crt")),
                format!("--tls-private-key-file={}", d("apiserver.key")),
                format!("--client-ca-file={}", d("ca.crt")),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
                format!("--service-account-key-file={}", d("sa.pub")),
                format!("--service-account-signing-key-file={}", d("sa.key")),
                "--service-cluster-ip-range=10.96.0.0/16".into(),
                "--authorization-mode=RBAC".into(),
                format!("--enable-admission-plugins={ADMISSION}"),
                // 127.0.0.1 is no endpoint the kubernetes Service may name.
                "--endpoint-reconciler-type=none".into(),
                // Compaction is the tests' to decide (compact_etcd); an
                // interval is still needed: with 0 the API server has no
                // compactor, its watch cache never learns of a compaction,
                // and continue tokens it serves from its snapshots never
                // expire.
                "--etcd-compaction-interval=1h".into(),
                "--profiling=false".into(),
                "--v=1".into(),
            ],
        ));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let client = runtime.block_on(client_for(&admin_kubeconfig, None));
        let mut plane = ControlPlane {
            kubeconfig: admin_kubeconfig,
            server,
            etcd,
            version,
            dir: dir.clone(),
            started_in: Duration::ZERO,
            ca_pem: pki.ca_pem.clone(),
            pids,
            runtime,
            client,
        };
        plane.wait_healthy("kube-apiserver", None, "/readyz");
        // The components read the API server's authentication ConfigMap
        // at start: they start once it serves.
        let component = |kubeconfig: &str, port: u16| {
            vec![
                format!("--kubeconfig={}", d(kubeconfig)),
                format!("--authentication-kubeconfig={}", d(kubeconfig)),
                format!("--authorization-kubeconfig={}", d(kubeconfig)),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={port}"),
                format!("--tls-cert-file={}", d("component.crt")),
                format!("--tls-private-key-file={}", d("component.key")),
                "--leader-elect=false".into(),
                "--profiling=false".into(),
                "--v=1".into(),
            ]
        };
        plane.pids.push(start(
            "kube-scheduler",
            component("scheduler.kubeconfig", scheduler_port),
        ));
        let mut manager = component("controller-manager.kubeconfig", manager_port);
        manager.extend([
            "--use-service-account-credentials=true".into(),
            format!("--service-account-private-key-file={}", d("sa.key")),
            format!("--root-ca-file={}", d("ca.crt")),
            // No kubelet renews the nodes' leases: the node lifecycle
            // controller would mark every node unreachable and taint it.
            "--controllers=*,-node-lifecycle-controller".into(),
        ]);
        plane.pids.push(start("kube-controller-manager", manager));

        let scheduler = format!("https://127.0.0.1:{scheduler_port}");
        let manager = format!("https://127.0.0.1:{manager_port}");
        plane.wait_healthy("kube-scheduler", Some(&scheduler), "/healthz");
        plane.wait_healthy("kube-controller-manager", Some(&manager), "/healthz");
        plane.started_in = started.elapsed();
        eprintln!(
            "control plane {} up in {:.1}s on {} ({}); memory: {}",
            plane.version,
            plane.started_in.as_secs_f64(),
            plane.server,
            plane.dir.display(),
            plane.memory()
        );
        plane
    }

    /// Waits until GET `path` of the component at `url` (the API server
    /// when None) answers 200 "ok"; panics with the component's log tail.
    fn wait_healthy(&self, name: &str, url: Option<&str>, path: &str) {
        let client = match url {
            Some(url) => self
                .runtime
                .block_on(client_for(&self.kubeconfig, Some(url))),
            None => self.client.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let answer = self.runtime.block_on(send(&client, "GET", path, None, ""));
            let last = match answer {
                Ok((200, text)) if text.trim() == "ok" => return,
                Ok((status, text)) => format!("{status}: {text}"),
                Err(error) => error,
            };
            let exited = self.pids.iter().find(|(_, pid)| !alive(*pid));
            if Instant::now() > deadline || exited.is_some() {
                let exited = exited
                    .map(|(name, _)| format!("{name} exited; "))
                    .unwrap_or_default();
                panic!(
                    "{exited}{name} is not healthy ({path}: {last}); its log ends:\n{}",
                    self.log_tail(name, 40)
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The last `lines` lines of a component's log.
    pub fn log_tail(&self, name: &str, lines: usize) -> String {
        let text =
            std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Resident memory of each component, e.g. "etcd 40 MB, ...".
    pub fn memory(&self) -> String {
        let mut total = 0;
        let mut parts = Vec::new();
        for (name, pid) in &self.pids {
            let kb = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                        l.split_whitespace()
                            .nth(1)
                            .and_then(|v| v.parse::<u64>().ok())
                    })
                })
                .unwrap_or(0);
            total += kb;
            parts.push(format!("{name} {} MB", kb / 1024));
        }
        format!("{} (total {} MB)", parts.join(", "), total / 1024)
    }

    /// The process ids this control plane started, by component.
    pub fn pids(&self) -> &[(&'static str, u32)] {
        &self.pids
    }

    /// One request as the admin; `body` is sent as JSON (or as a merge
    /// patch with PATCH).
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let content_type = if method == "PATCH" {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let (status, text) = self
            .runtime
            .block_on(send(&self.client, method, path, body, content_type))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    fn expect(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let answer = self.request(method, path, body);
        assert!(
            answer.ok(),
            "{method} {path}: {} {}",
            answer.status,
            answer.body
        );
        answer.body
    }

    pub fn get(&self, path: &str) -> Value {
        self.expect("GET", path, None)
    }

    pub fn create(&self, path: &str, object: &Value) -> Value {
        self.expect("POST", path, Some(object))
    }

    pub fn put(&self, path: &str, object: &Value) -> Value {
        self.expect("PUT", path, Some(object))
    }

    pub fn patch(&self, path: &str, patch: &Value) -> Value {
        self.expect("PATCH", path, Some(patch))
    }

    /// DELETE, with the garbage collector taking the dependents in the
    /// background; a missing object is fine.
    pub fn delete(&self, path: &str) {
        let answer = self.request(
            "DELETE",
            path,
            Some(&json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"})),
        );
        assert!(
            answer.ok() || answer.status == 404,
            "DELETE {path}: {} {}",
            answer.status,
            answer.body
        );
    }

    /// A fresh namespace (deleted first if an earlier run left it) with
    /// these labels, once its `default` ServiceAccount exists (the
    /// ServiceAccount admission refuses pods until then).
    pub fn namespace(&self, name: &str, labels: Value) -> String {
        let path = format!("/api/v1/namespaces/{name}");
        if self.request("GET", &path, None).ok() {
            self.delete(&path);
            self.wait_until(
                &format!("namespace {name} is gone"),
                Duration::from_secs(120),
                || (self.request("GET", &path, None).status == 404).then_some(()),
            );
        }
        self.create(
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name, "labels": labels}}),
        );
        self.wait_until(
            &format!("the default ServiceAccount of {name}"),
            Duration::from_secs(60),
            || {
                self.request("GET", &format!("{path}/serviceaccounts/default"), None)
                    .ok()
                    .then_some(())
            },
        );
        name.to_string()
    }

    /// Polls `check` every 250 ms until it gives something; panics after
    /// `timeout` naming `what`.
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = check() {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "waited {}s for {what}",
                timeout.as_secs()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The core/v1 Events of `namespace`.
    pub fn events(&self, namespace: &str) -> Vec<Value> {
        self.get(&format!("/api/v1/namespaces/{namespace}/events"))["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits for an Event with `reason` about the object named `name` in
    /// `namespace`; returns it.
    pub fn wait_for_event(
        &self,
        namespace: &str,
        name: &str,
        reason: &str,
        timeout: Duration,
    ) -> Value {
        self.wait_until(
            &format!("a {reason} event on {namespace}/{name}"),
            timeout,
            || {
                self.events(namespace)
                    .into_iter()
                    .find(|e| e["reason"] == reason && e["involvedObject"]["name"] == name)
            },
        )
    }

    /// A node as a kubelet would have registered it: created, then its
    /// taints set (admission's TaintNodesByCondition adds not-ready on
    /// create, which no node lifecycle controller removes here), then its
    /// status: `capacity` (allocatable the same), Ready, the usual
    /// pressure conditions false; and its CSINode.
    pub fn node(&self, name: &str, labels: Value, taints: Value, capacity: Value) {
        let mut labels = labels;
        labels["kubernetes.io/hostname"] = json!(name);
        labels["kubernetes.io/os"] = json!("linux");
        labels["kubernetes.io/arch"] = json!("amd64");
        let path = format!("/api/v1/nodes/{name}");
        let mut node = self.create(
            "/api/v1/nodes",
            &json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": labels}}),
        );
        node["spec"]["taints"] = taints;
        let mut node = self.put(&path, &node);
        let now = now_rfc3339();
        let condition = |kind: &str, status: &str, reason: &str| {
            json!({"type": kind, "status": status, "reason": reason, "message": reason,
                   "lastHeartbeatTime": now, "lastTransitionTime": now})
        };
        node["status"] = json!({
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID"),
                condition("Ready", "True", "KubeletReady"),
            ],
            "addresses": [{"type": "Hostname", "address": name}],
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                         "kubeletVersion": self.version, "containerRuntimeVersion": "none://0",
                         "kernelVersion": "", "osImage": "", "bootID": "", "machineID": "",
                         "systemUUID": "", "kubeProxyVersion": ""},
        });
        let node = self.put(&format!("{path}/status"), &node);
        // The CSINode a kubelet registers with its node (no CSI drivers).
        self.create(
            "/apis/storage.k8s.io/v1/csinodes",
            &json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSINode",
                    "metadata": {"name": name,
                                 "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name,
                                                      "uid": node["metadata"]["uid"]}]},
                    "spec": {"drivers": []}}),
        );
    }

    /// Deletes every node.
    pub fn delete_nodes(&self) {
        let nodes = self.get("/api/v1/nodes");
        for node in nodes["items"].as_array().into_iter().flatten() {
            let name = node["metadata"]["name"].as_str().unwrap_or_default();
            self.delete(&format!("/api/v1/nodes/{name}"));
        }
    }

    /// The current revision of etcd (its JSON gateway).
    pub fn etcd_revision(&self) -> i64 {
        let answer = etcd_post(
            &self.etcd,
            "/v3/kv/range",
            &json!({"key": b64("/"), "limit": 1}),
        );
        answer["header"]["revision"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .or_else(|| answer["header"]["revision"].as_i64())
            .unwrap_or_else(|| panic!("etcd's revision: {answer}"))
    }

    /// Compacts etcd up to its current revision, as another API server's
    /// compactor would (this one's runs hourly): it records the revision
    /// under `compact_rev_key`, which every API server watches, then
    /// compacts.
    /// Every resourceVersion and continue token older than now expires
    /// (the watch cache drops its snapshots within 15 s, its compactor's
    /// poll period). Returns the revision.
    pub fn compact_etcd(&self) -> i64 {
        let revision = self.etcd_revision();
        let put = etcd_post(
            &self.etcd,
            "/v3/kv/put",
            &json!({"key": b64("compact_rev_key"), "value": b64(&revision.to_string())}),
        );
        assert!(put.get("header").is_some(), "etcd put: {put}");
        let answer = etcd_post(
            &self.etcd,
            "/v3/kv/compaction",
            &json!({"revision": revision.to_string(), "physical": true}),
        );
        assert!(answer.get("header").is_some(), "etcd compaction: {answer}");
        revision
    }

    /// pxdoctor with the admin's kubeconfig (flag and KUBECONFIG), none of
    /// the machine's settings.
    pub fn pxdoctor(&self, args: &[&str]) -> Output {
        let mut command = crate::support::isolated_pxdoctor();
        command
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .env("KUBECONFIG", &self.kubeconfig)
            .output()
            .expect("pxdoctor runs")
    }
}

/// Starts component `name` of `bin` with `args`, its output to
/// `dir/NAME.log`, kept by the keeper thread; returns its pid.
fn launch(bin: &Path, dir: &Path, name: &str, args: Vec<String>) -> u32 {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("a log file");
    let mut command = Command::new(bin.join(name));
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(name);
    }
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    let child = spawn_kept(command);
    let pid = child.id();
    // Nobody waits for the child: it lives until the test binary ends,
    // and is killed with it.
    std::mem::forget(child);
    pid
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, never reaped) counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// now as RFC 3339, seconds.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap()
        .to_string()
}

/// A POST of JSON to etcd's gateway over plain HTTP on loopback.
fn etcd_post(etcd: &str, path: &str, body: &Value) -> Value {
    use std::io::Read as _;
    let address = etcd.trim_start_matches("http://");
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(address).expect("etcd answers");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("etcd's answer");
    let (_, body) = raw.split_once("\r\n\r\n").unwrap_or(("", ""));
    // Chunked or not, the JSON is the one {...} in the body.
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map(|e| e + 1).unwrap_or(body.len());
    serde_json::from_str(&body[start..end]).unwrap_or_else(|e| panic!("etcd {path}: {e}: {raw}"))
}

/// A kube client from `kubeconfig`, at `url` instead of its server when
/// given, with no proxy.
async fn client_for(kubeconfig: &Path, url: Option<&str>) -> kube::Client {
    let file = kube::config::Kubeconfig::read_from(kubeconfig).expect("the kubeconfig reads");
    let mut config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .expect("the kubeconfig loads");
    config.proxy_url = None;
    if let Some(url) = url {
        config.cluster_url = url.parse().expect("a URL");
    }
    config.read_timeout = Some(Duration::from_secs(60));
    kube::Client::try_from(config).expect("a kube client")
}

async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
    content_type: &str,
) -> Result<(u16, String), String> {
    let mut request = http::Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header(http::header::CONTENT_TYPE, content_type);
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let request = request
        .body(kube::client::Body::from(body))
        .map_err(|e| e.to_string())?;
    let response = client.send(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect_bytes()
        .await
        .map_err(|e| e.to_string())?;
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

// ---------------------------------------------------------------------------
// A TLS-terminating proxy in front of the API server, for what only the
// order of requests decides: a continue token that expires between two
// pages of one LIST, watches cut and held while the server's history moves
// on. It forwards every request as the admin; its kubeconfig carries a
// token it ignores.

/// One request as the proxy forwarded it. `expired`: a watch whose stream
/// began with the server's 410 (an ERROR event; the HTTP status is 200).
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub method: String,
    pub target: String,
    pub status: u16,
    pub expired: bool,
}

type ContinueHook = Box<dyn FnOnce(&str) + Send>;

#[derive(Default)]
struct ProxyState {
    log: Vec<Forwarded>,
    /// Called (blocking) with the request target before the first request
    /// that carries a continue token on a path ending with the suffix is
    /// forwarded.
    on_continue: Option<(String, ContinueHook)>,
    /// Watches are held (not forwarded) while set.
    hold_watches: bool,
    /// Bumped to end every watch stream open at the time.
    generation: u64,
}

pub struct Proxy {
    pub url: String,
    pub kubeconfig: PathBuf,
    state: std::sync::Arc<Mutex<ProxyState>>,
    _runtime: tokio::runtime::Runtime,
    _dir: PathBuf,
}

impl Proxy {
    pub fn requests(&self) -> Vec<Forwarded> {
        self.state.lock().unwrap().log.clone()
    }

    /// Runs `hook` with the target of the first request with a continue
    /// token whose path ends with `suffix`, before forwarding it.
    pub fn on_first_continue(&self, suffix: &str, hook: impl FnOnce(&str) + Send + 'static) {
        self.state.lock().unwrap().on_continue = Some((suffix.to_string(), Box::new(hook)));
    }

    /// Ends every open watch stream and holds new watches until
    /// [`Proxy::release_watches`]: a client that lost its connection.
    pub fn cut_watches(&self) {
        let mut state = self.state.lock().unwrap();
        state.hold_watches = true;
        state.generation += 1;
    }

    pub fn release_watches(&self) {
        self.state.lock().unwrap().hold_watches = false;
    }
}

/// A response body fed from a channel.
struct ChannelBody(tokio::sync::mpsc::Receiver<hyper::body::Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = hyper::body::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|bytes| bytes.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

impl ControlPlane {
    /// A proxy on a free 127.0.0.1 port, serving the components' loopback
    /// certificate (signed by this control plane's CA).
    pub fn proxy(&self) -> Proxy {
        use rustls::pki_types::pem::PemObject;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let certs: Vec<_> =
            rustls::pki_types::CertificateDer::pem_file_iter(self.dir.join("component.crt"))
                .expect("the certificate")
                .map(|c| c.expect("a certificate"))
                .collect();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(self.dir.join("component.key"))
            .expect("the key");
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the serving certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let url = format!("https://{}", listener.local_addr().unwrap());
        let upstream = runtime.block_on(client_for(&self.kubeconfig, None));
        let state = std::sync::Arc::new(Mutex::new(ProxyState::default()));
        let shared = state.clone();
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let upstream = upstream.clone();
                let state = shared.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request| {
                        forward(upstream.clone(), state.clone(), request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        let dir = self
            .dir
            .join(format!("proxy-{}", url.rsplit(':').next().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = dir.join("kubeconfig");
        write(
            &kubeconfig,
            &format!(
                "apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster:
    server: {url}
    certificate-authority-data: {ca}
users:
- name: proxied
  user:
    token: forwarded-as-the-admin
contexts:
- name: proxied
  context:
    cluster: proxy
    user: proxied
    namespace: default
current-context: proxied
",
                ca = b64(&self.ca_pem)
            ),
        );
        Proxy {
            url,
            kubeconfig,
            state,
            _runtime: runtime,
            _dir: dir,
        }
    }
}

async fn forward(
    upstream: kube::Client,
    state: std::sync::Arc<Mutex<ProxyState>>,
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<ChannelBody>, std::convert::Infallible> {
    use http_body_util::BodyExt as _;
    let method = request.method().clone();
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let watch = query
        .split('&')
        .any(|p| p == "watch=1" || p == "watch=true");
    let hook = {
        let mut state = state.lock().unwrap();
        let wants = state.on_continue.as_ref().is_some_and(|(suffix, _)| {
            path.ends_with(suffix.as_str()) && query.contains("continue=")
        });
        if wants {
            state.on_continue.take()
        } else {
            None
        }
    };
    if let Some((_, hook)) = hook {
        let target = target.clone();
        let _ = tokio::task::spawn_blocking(move || hook(&target)).await;
    }
    while watch && state.lock().unwrap().hold_watches {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let generation = state.lock().unwrap().generation;
    let mut builder = http::Request::builder().method(method.clone()).uri(&target);
    for name in [http::header::ACCEPT, http::header::CONTENT_TYPE] {
        if let Some(value) = request.headers().get(&name) {
            builder = builder.header(name, value);
        }
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let answer = upstream
        .send(builder.body(kube::client::Body::from(body)).unwrap())
        .await;
    let index = {
        let mut state = state.lock().unwrap();
        state.log.push(Forwarded {
            method: method.to_string(),
            target: target.clone(),
            status: answer.as_ref().map(|r| r.status().as_u16()).unwrap_or(0),
            expired: false,
        });
        state.log.len() - 1
    };
    let response = match answer {
        Ok(response) => response,
        Err(error) => {
            let _ = tx.try_send(hyper::body::Bytes::from(error.to_string()));
            return Ok(http::Response::builder()
                .status(502)
                .body(ChannelBody(rx))
                .unwrap());
        }
    };
    let mut out = http::Response::builder().status(response.status());
    if let Some(value) = response.headers().get(http::header::CONTENT_TYPE) {
        out = out.header(http::header::CONTENT_TYPE, value);
    }
    let mut body = response.into_body();
    tokio::spawn(async move {
        // The first event of a watch (it may come in several frames).
        let mut head = String::new();
        loop {
            let frame = tokio::select! {
                frame = body.frame() => frame,
                _ = async {
                    while state.lock().unwrap().generation == generation {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }, if watch => None,
            };
            let Some(Ok(frame)) = frame else {
                break;
            };
            if let Ok(data) = frame.into_data() {
                if watch && !head.contains('\n') && head.len() < 4096 {
                    head.push_str(&String::from_utf8_lossy(&data));
                    if head.contains("\"type\":\"ERROR\"") && head.contains("\"code\":410") {
                        state.lock().unwrap().log[index].expired = true;
                    }
                }
                if tx.send(data).await.is_err() {
                    break;
                }
            }
        }
    });
    Ok(out.body(ChannelBody(rx)).unwrap())
}

/// `pxdoctor serve` against `kubeconfig` on a free loopback port, without
/// the store and API probes, at the real time; killed when dropped (and,
/// like the components, when the test binary ends).
pub struct Serve {
    child: Child,
    pub url: String,
    stderr: std::sync::Arc<Mutex<String>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    pub fn start(kubeconfig: &Path, extra: &[&str]) -> Serve {
        use std::io::BufRead as _;
        let mut command = crate::support::isolated_pxdoctor();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--no-s3", "--no-api"])
            .args(extra)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .env("KUBECONFIG", kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Killed when dropped, and with the test binary however it ends.
        let mut child = spawn_kept(command);
        let stderr = std::sync::Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let kept = stderr.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("pxdoctor: serving on ") {
                    let _ = tx.send(url.to_string());
                }
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("serve said no address: {}", stderr.lock().unwrap()));
        Serve { child, url, stderr }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// GET `path` over plain HTTP/1.1: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        use std::io::Read as _;
        let address = self.url.trim_start_matches("http://");
        let Ok(mut stream) = std::net::TcpStream::connect(address) else {
            return (0, String::new());
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let _ = write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        );
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default();
        (status, body)
    }
}
