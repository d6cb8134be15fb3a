//! The artifacts-store probe against real parts: s3s in process, moto_server
//! on loopback (SigV4 and IAM policies enforced after its first three
//! requests; see tests/support/moto_setup.py), the API server simulator serving the
//! agent ConfigMap and the store's Secret, loopback listeners for a closed
//! port, a silent peer and a TLS certificate for another name, and an
//! injected resolver for DNS failure. Codes moto cannot produce (SlowDown,
//! RequestTimeTooSkewed, PermanentRedirect) come from a loopback stub that
//! answers with AWS's documented status, headers and XML body.
//!
//! The tests that need a store run twice: against s3s in process (the
//! default tier: plain `cargo test` needs nothing but the Rust toolchain)
//! and against moto, `#[ignore]`d because moto must be installed; `.ci/run`
//! installs it and runs them with `--include-ignored` for AWS's own fidelity.

mod support;

#[path = "s3/in_process.rs"]
mod in_process;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::apiserver::{ApiServer, Forbidden, Options};
use support::{assert_valid_report, repo, stderr, stdout};

const NOW: &str = "2026-11-28T10:42:30Z";
const WRONG_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzWRONGKEY";

/// An S3-protocol server holding one bucket, with a key pair that may
/// write it and one that may only read it.
struct Store {
    endpoint: String,
    bucket: String,
    writer: (String, String),
    reader: (String, String),
}

/// Closed when this process ends, which stops moto's server.
struct MotoLife {
    _lifeline: std::process::ChildStdin,
    _child: ChildGuard,
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One moto_server for the whole test binary, prepared once.
fn moto() -> &'static Store {
    static MOTO: OnceLock<Store> = OnceLock::new();
    static LIFE: OnceLock<MotoLife> = OnceLock::new();
    MOTO.get_or_init(|| {
        let port = free_port();
        // Through moto_run.py, which stops when this process's end closes
        // its stdin: a static is never dropped, so a plain moto_server
        // child would outlive the tests.
        let mut child = Command::new("python3")
            .arg(repo().join("tests/support/moto_run.py"))
            .arg(port.to_string())
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let lifeline = child.stdin.take().expect("a piped stdin");
        let mut child = ChildGuard(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.0.try_wait() {
                panic!(
                    "moto's server exited ({status}); is moto installed? .ci/run installs it: pip install 'moto[server]'"
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto's server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        let setup = Command::new("python3")
            .arg(repo().join("tests/support/moto_setup.py"))
            .arg(&endpoint)
            .output()
            .expect("python3 runs");
        assert!(setup.status.success(), "moto setup: {}", stderr(&setup));
        let made: Value = serde_json::from_slice(&setup.stdout).expect("setup prints JSON");
        let keys = |user: &str| {
            (
                made[user]["access_key"].as_str().unwrap().to_string(),
                made[user]["secret_key"].as_str().unwrap().to_string(),
            )
        };
        let _ = LIFE.set(MotoLife {
            _lifeline: lifeline,
            _child: child,
        });
        Store {
            endpoint,
            bucket: made["bucket"].as_str().unwrap().to_string(),
            writer: keys("writer"),
            reader: keys("reader"),
        }
    })
}

/// A test body run against both stores: s3s in the default tier, moto in
/// the ignored one.
macro_rules! against_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn s3s_in_process() {
                super::$name(super::in_process::store());
            }

            #[test]
            #[ignore = "needs moto_server: .ci/run installs it and runs the ignored tier"]
            fn moto() {
                super::$name(super::moto());
            }
        }
    )*};
}

against_both_stores!(
    a_wrong_secret_key_is_a_signature_mismatch_naming_the_connection_and_secret,
    an_unreadable_secret_is_a_collection_gap_and_no_guess_is_probed,
    the_right_keys_upload_and_clean_up_with_no_finding,
    read_allowed_but_write_denied_means_runs_cannot_upload,
    an_unknown_access_key_and_a_missing_bucket_are_told_apart,
);

fn masked(key: &str) -> String {
    format!("{}****{}", &key[..4], &key[key.len() - 4..])
}

/// pxdoctor with no AWS configuration of the machine's own in sight.
fn pxdoctor(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pxdoctor"));
    command
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env("PXDOCTOR_NOW", NOW)
        .env("AWS_CONFIG_FILE", "/nonexistent/aws/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws/credentials",
        )
        .env_remove("KUBERNETES_SERVICE_HOST");
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "KUBECONFIG",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("pxdoctor runs")
}

fn report(output: &Output) -> Value {
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {} stderr {}", stdout(output), stderr(output)));
    assert_valid_report(&report);
    report
}

/// The artifacts findings that are problems (not the info that an IP
/// endpoint is addressed path-style).
fn artifacts(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == "artifacts" && f["severity"] != "info")
        .cloned()
        .collect()
}

fn rules(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

/// `check --s3-bucket` on an empty snapshot, with these AWS keys.
fn probe_bucket(bucket_url: &str, endpoint: &str, keys: (&str, &str), extra: &[&str]) -> Value {
    let empty = tempfile::tempdir().unwrap();
    let snapshot = empty.path().to_string_lossy().into_owned();
    let mut args = vec![
        "check",
        "--snapshot",
        &snapshot,
        "--s3-bucket",
        bucket_url,
        "--s3-endpoint",
        endpoint,
        "--s3-region",
        "us-east-1",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let output = pxdoctor(
        &args,
        &[
            ("AWS_ACCESS_KEY_ID", keys.0),
            ("AWS_SECRET_ACCESS_KEY", keys.1),
        ],
    );
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr(&output)
    );
    assert!(!stdout(&output).contains(keys.1) && !stderr(&output).contains(keys.1));
    report(&output)
}

/// A cluster where the agent's store is this store's bucket, with this secret key.
fn cluster_with_store(dir: &Path, store: &Store, secret_key: &str) {
    use base64::Engine;
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let connection = json!({
        "name": "s3-artifacts",
        "kind": "s3",
        "schema": {"bucket": format!("s3://{}/runs", store.bucket)},
        "secret": {"name": "s3-secret"},
    });
    let objects = json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "polyaxon-polyaxon-agent-config", "namespace": "polyaxon"},
                "data": {"POLYAXON_AGENT_ARTIFACTS_STORE": connection.to_string()},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s3-secret", "namespace": "polyaxon"},
                "type": "Opaque",
                "data": {
                    "AWS_ACCESS_KEY_ID": b64(&store.writer.0),
                    "AWS_SECRET_ACCESS_KEY": b64(secret_key),
                    "AWS_ENDPOINT_URL": b64(&store.endpoint),
                    "AWS_REGION": b64("us-east-1"),
                },
            },
        ],
    });
    std::fs::write(
        dir.join("polyaxon.json"),
        serde_json::to_vec_pretty(&objects).unwrap(),
    )
    .unwrap();
}

fn a_wrong_secret_key_is_a_signature_mismatch_naming_the_connection_and_secret(store: &Store) {
    let cluster = tempfile::tempdir().unwrap();
    cluster_with_store(cluster.path(), store, WRONG_SECRET);
    let server = ApiServer::start(cluster.path(), Options::default());
    let work = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(work.path());
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let env = [("KUBECONFIG", kubeconfig.as_str())];

    let output = pxdoctor(&["check", "-n", "polyaxon", "-o", "json"], &env);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let live = report(&output);
    let findings = artifacts(&live);
    assert_eq!(rules(&findings), ["PXD-ART-001"], "{findings:#?}");
    let finding = &findings[0];
    let text = finding.to_string();
    assert_eq!(finding["subject"]["name"], "s3-artifacts");
    assert!(
        finding["explanation"]
            .as_str()
            .unwrap()
            .contains("signature does not match")
    );
    assert!(text.contains("polyaxon/s3-secret"), "{text}");
    // The store's words, never the SDK's dump of the raw response.
    assert!(
        !text.contains("SdkBody") && !text.contains("ServiceError"),
        "{text}"
    );
    assert!(text.contains(&masked(&store.writer.0)), "{text}");
    assert!(
        !text.contains(&store.writer.0),
        "the access key is masked: {text}"
    );
    assert!(
        finding["remediation"]
            .as_str()
            .unwrap()
            .contains("AWS_SECRET_ACCESS_KEY")
    );

    let table = pxdoctor(&["check", "-n", "polyaxon", "-v"], &env);
    for shown in [
        stdout(&output),
        stderr(&output),
        stdout(&table),
        stderr(&table),
    ] {
        assert!(
            !shown.contains(WRONG_SECRET),
            "the secret key leaked: {shown}"
        );
    }

    // collect records the probe; the bundle replays it and holds no secret.
    let bundle = work.path().join("bundle.tar.gz");
    let collected = pxdoctor(
        &["collect", "-n", "polyaxon", "-o", &bundle.to_string_lossy()],
        &env,
    );
    assert!(collected.status.success(), "{}", stderr(&collected));
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&bundle).unwrap())
        .read_to_end(&mut unpacked)
        .unwrap();
    let unpacked = String::from_utf8_lossy(&unpacked);
    assert!(unpacked.contains("probes/s3.json"));
    assert!(!unpacked.contains(WRONG_SECRET));
    use base64::Engine;
    assert!(!unpacked.contains(&base64::engine::general_purpose::STANDARD.encode(WRONG_SECRET)));
    let replayed = artifacts(&replay(&bundle));
    assert_eq!(rules(&replayed), ["PXD-ART-001"]);
    assert_eq!(replayed[0]["explanation"], finding["explanation"]);
}

fn an_unreadable_secret_is_a_collection_gap_and_no_guess_is_probed(store: &Store) {
    let cluster = tempfile::tempdir().unwrap();
    cluster_with_store(cluster.path(), store, WRONG_SECRET);
    let options = Options {
        forbidden: vec![Forbidden {
            verb: "get".into(),
            resource: "secrets".into(),
            group: String::new(),
            namespace: None,
        }],
        ..Options::default()
    };
    let server = ApiServer::start(cluster.path(), options);
    let work = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(work.path());
    let bundle = work.path().join("bundle.tar.gz");
    let env = [("KUBECONFIG", kubeconfig.to_string_lossy().into_owned())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = pxdoctor(&["check", "-n", "polyaxon", "-o", "json"], &env);
    let live = report(&output);
    let gaps: Vec<&Value> = live["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "PXD-COLL-001")
        .collect();
    assert_eq!(gaps.len(), 1, "{live:#}");
    let gap = gaps[0].to_string();
    assert!(
        gap.contains("get secrets") && gap.contains("s3-secret"),
        "{gap}"
    );
    // The endpoint is in the Secret too: nothing is probed, nothing guessed.
    assert!(gap.contains("not probed"), "{gap}");
    assert!(artifacts(&live).is_empty(), "{live:#}");
    let collected = pxdoctor(
        &["collect", "-n", "polyaxon", "-o", &bundle.to_string_lossy()],
        &env,
    );
    assert!(collected.status.success(), "{}", stderr(&collected));
    let unpacked = unpack(&bundle);
    assert!(walk_find(unpacked.path(), "s3.json").is_none());
    assert!(walk_find(unpacked.path(), "store-secrets.json").is_none());
}

fn the_right_keys_upload_and_clean_up_with_no_finding(store: &Store) {
    let cluster = tempfile::tempdir().unwrap();
    cluster_with_store(cluster.path(), store, &store.writer.1);
    let server = ApiServer::start(cluster.path(), Options::default());
    let work = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(work.path());
    let bundle = work.path().join("bundle.tar.gz");
    let output = pxdoctor(
        &["collect", "-n", "polyaxon", "-o", &bundle.to_string_lossy()],
        &[("KUBECONFIG", &kubeconfig.to_string_lossy())],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let unpacked = unpack(&bundle);
    let probes = walk_find(unpacked.path(), "s3.json").expect("probes/s3.json in the bundle");
    let steps: Vec<Value> = serde_json::from_slice(&std::fs::read(probes).unwrap()).unwrap();
    let ran: BTreeMap<String, bool> = steps
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_string(),
                s["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<String, bool> =
        ["dns", "tcp", "credentials", "bucket", "write", "delete"]
            .into_iter()
            .map(|s| (s.to_string(), true))
            .collect();
    assert_eq!(ran, expected);
    assert!(artifacts(&replay(&bundle)).is_empty());
}

/// `check --snapshot` on a bundle, as a validated report.
fn replay(bundle: &Path) -> Value {
    let output = pxdoctor(
        &[
            "check",
            "--snapshot",
            &bundle.to_string_lossy(),
            "-o",
            "json",
        ],
        &[],
    );
    report(&output)
}

fn unpack(bundle: &Path) -> tempfile::TempDir {
    let unpacked = tempfile::tempdir().unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(bundle).unwrap(),
    ))
    .unpack(unpacked.path())
    .unwrap();
    unpacked
}

fn walk_find(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(found) = walk_find(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

fn read_allowed_but_write_denied_means_runs_cannot_upload(store: &Store) {
    let url = format!("s3://{}/runs", store.bucket);
    let keys = (store.reader.0.as_str(), store.reader.1.as_str());
    let findings = artifacts(&probe_bucket(&url, &store.endpoint, keys, &[]));
    assert_eq!(rules(&findings), ["PXD-ART-003"], "{findings:#?}");
    assert!(
        findings[0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Runs cannot upload artifacts")
    );
    // Without the write probe, reading is all that is asked, and it works.
    let read_only = artifacts(&probe_bucket(
        &url,
        &store.endpoint,
        keys,
        &["--no-write-probe"],
    ));
    assert!(read_only.is_empty(), "{read_only:#?}");
}

fn an_unknown_access_key_and_a_missing_bucket_are_told_apart(store: &Store) {
    let unknown = artifacts(&probe_bucket(
        &format!("s3://{}", store.bucket),
        &store.endpoint,
        (
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        &[],
    ));
    assert_eq!(rules(&unknown), ["PXD-ART-002"]);
    assert!(unknown[0].to_string().contains("AKIA****MPLE"));
    let keys = (store.writer.0.as_str(), store.writer.1.as_str());
    let missing = artifacts(&probe_bucket(
        "s3://no-such-bucket",
        &store.endpoint,
        keys,
        &[],
    ));
    assert_eq!(rules(&missing), ["PXD-ART-005"]);
    let fine = artifacts(&probe_bucket(
        &format!("s3://{}", store.bucket),
        &store.endpoint,
        keys,
        &[],
    ));
    assert!(fine.is_empty(), "{fine:#?}");
}

/// A loopback stub answering every request with one S3 error document:
/// the codes a local S3 server cannot be made to produce.
fn stub(status: u16, code: &str, message: &str, date: String, headers: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
    );
    let response = format!(
        "HTTP/1.1 {status} Stub\r\nContent-Type: application/xml\r\nDate: {date}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(8) {
            let mut stream = stream;
            let mut buffer = [0u8; 8192];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn http_date(offset_seconds: i64) -> String {
    let when = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(offset_seconds);
    jiff::fmt::rfc2822::to_string(&when.to_zoned(jiff::tz::TimeZone::UTC))
        .unwrap()
        .replace("+0000", "GMT")
}

#[test]
fn throttling_clock_skew_and_wrong_region_come_from_the_store_s_own_words() {
    let keys = (
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    let slow = stub(
        503,
        "SlowDown",
        "Please reduce your request rate.",
        http_date(0),
        "",
    );
    assert_eq!(
        rules(&artifacts(&probe_bucket("s3://plx", &slow, keys, &[]))),
        ["PXD-ART-007"]
    );

    let skewed = stub(
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
        http_date(1800),
        "",
    );
    let findings = artifacts(&probe_bucket("s3://plx", &skewed, keys, &[]));
    assert_eq!(rules(&findings), ["PXD-ART-008"]);
    let title = findings[0]["title"].as_str().unwrap();
    let seconds: i64 = title
        .split_whitespace()
        .find_map(|w| w.strip_suffix('s').and_then(|n| n.parse().ok()))
        .expect("the title gives the skew");
    assert!((1790..=1800).contains(&seconds), "{title}");

    let moved = stub(
        301,
        "PermanentRedirect",
        "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
        http_date(0),
        "x-amz-bucket-region: eu-west-1\r\n",
    );
    let findings = artifacts(&probe_bucket("s3://plx", &moved, keys, &[]));
    assert_eq!(rules(&findings), ["PXD-ART-006"]);
    assert!(
        findings[0]["explanation"]
            .as_str()
            .unwrap()
            .contains("eu-west-1")
    );
}

#[test]
fn a_closed_port_and_a_silent_peer_end_within_their_timeouts() {
    let keys = (
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    let closed = format!("http://127.0.0.1:{}", free_port());
    let findings = artifacts(&probe_bucket("s3://plx", &closed, keys, &[]));
    assert_eq!(rules(&findings), ["PXD-ART-012"]);
    assert!(
        findings[0]["explanation"]
            .as_str()
            .unwrap()
            .contains("refused")
    );

    // Accepts connections and never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let streams: Vec<_> = silent.incoming().take(2).collect();
        std::thread::sleep(Duration::from_secs(8));
        drop(streams);
    });
    let started = Instant::now();
    let findings = artifacts(&probe_bucket(
        "s3://plx",
        &endpoint,
        keys,
        &["--request-timeout", "2s", "--timeout", "5s"],
    ));
    let took = started.elapsed();
    assert_eq!(rules(&findings), ["PXD-ART-012"], "{findings:#?}");
    assert!(
        findings[0]["explanation"]
            .as_str()
            .unwrap()
            .contains("timeout")
    );
    assert!(took < Duration::from_secs(6), "took {took:?}");
    drop(held);
}

#[test]
fn a_certificate_for_another_name_fails_at_the_tls_step() {
    // A CA the probe trusts (SSL_CERT_FILE), and a server certificate it
    // signed for "localhost" only, served on 127.0.0.1.
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();

    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let config = std::sync::Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(4) {
            let mut connection = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
            let _ = connection.complete_io(&mut stream);
        }
    });
    let output = pxdoctor(
        &[
            "check",
            "--snapshot",
            &tempfile::tempdir().unwrap().path().to_string_lossy(),
            "--s3-bucket",
            "s3://plx",
            "--s3-endpoint",
            &format!("https://127.0.0.1:{port}"),
            "-o",
            "json",
        ],
        &[
            ("SSL_CERT_FILE", &ca_file.to_string_lossy()),
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
        ],
    );
    let findings = artifacts(&report(&output));
    assert_eq!(rules(&findings), ["PXD-ART-010"], "{findings:#?}");
    assert!(
        findings[0]["title"]
            .as_str()
            .unwrap()
            .contains("tls_name_mismatch")
    );
}

#[test]
fn a_name_that_does_not_resolve_stops_at_the_dns_step() {
    use pxdoctor::facts::artifacts::store::S3Target;
    let target = S3Target {
        store: "minio".into(),
        bucket: "plx".into(),
        endpoint: Some("http://minio.minio:9000".into()),
        access_key: Some("AKIAIOSFODNN7EXAMPLE".into()),
        secret_key: Some("x".into()),
        ..S3Target::default()
    };
    let steps = probe_directly(&target);
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].step, "dns");
    assert_eq!(steps[0].code.as_deref(), Some("dns_failed"));
    assert!(steps[0].message.as_deref().unwrap().contains("minio.minio"));
}

#[test]
fn credentials_in_the_endpoint_url_are_masked_in_every_step() {
    use pxdoctor::facts::artifacts::store::S3Target;
    let target = S3Target {
        store: "minio".into(),
        bucket: "plx".into(),
        endpoint: Some(format!(
            "http://minio:hunter2secret@127.0.0.1:{}",
            free_port()
        )),
        ..S3Target::default()
    };
    let steps = probe_directly(&target);
    assert_eq!(steps.last().unwrap().code.as_deref(), Some("refused"));
    let shown = serde_json::to_string(&steps).unwrap();
    assert!(!shown.contains("hunter2secret"), "{shown}");
    assert!(shown.contains("minio:****@127.0.0.1"), "{shown}");
}

/// The probe called as a library, with an injected resolver under which
/// nothing resolves: no query leaves the machine.
fn probe_directly(
    target: &pxdoctor::facts::artifacts::store::S3Target,
) -> Vec<pxdoctor::facts::artifacts::probe::ProbeStep> {
    use pxdoctor::source::resolver::Resolver;
    use pxdoctor::source::s3::{ProbeOptions, probe};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let options = ProbeOptions {
            step_timeout: Duration::from_secs(2),
            deadline: tokio::time::Instant::now() + Duration::from_secs(5),
            write: true,
            resolver: Resolver::Static(BTreeMap::new()),
        };
        probe(target, &options).await
    })
}
