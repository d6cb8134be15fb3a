//! `pxdoctor serve` as a process against the API server simulator, which
//! serves watches (tests/simulator.rs proves them with kubectl): the first
//! report is check's, a run that goes Pending reaches /metrics and /report
//! and leaves when deleted, an expired watch relists without a gap, a kind
//! it may not read is a collection finding, and / escapes what the cluster
//! wrote.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::apiserver::{ApiServer, Forbidden, Options};
use support::served::{NOW, Served};
use support::testdata;

/// The Pending GPU run of gpu-shortage (PXD-PEND-002).
const PENDING_RUN: &str = "5200fc5c54e80b7c05f3c8f051545385";

fn simulator(scenario: &str, options: Options) -> (ApiServer, tempfile::TempDir, PathBuf) {
    let server = ApiServer::start(&testdata(scenario), options);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    (server, dir, kubeconfig)
}

/// `pxdoctor_findings{rule="RULE",...} N`: N, or 0 when the series is absent.
fn findings_gauge(metrics: &str, rule: &str) -> i64 {
    let prefix = format!("pxdoctor_findings{{rule=\"{rule}\",");
    metrics
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<i64>().ok())
        .sum()
}

/// gpu-shortage's Pending GPU pod as a new run: another uuid, and a
/// condition message with `extra` appended.
fn pending_gpu_pod(uuid: &str, extra: &str) -> Value {
    let text = std::fs::read_to_string(testdata("gpu-shortage").join("pods.json")).unwrap();
    let pods: Value = serde_json::from_str(&text).unwrap();
    let pod = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pod| {
            pod["metadata"]["name"]
                .as_str()
                .unwrap()
                .contains(PENDING_RUN)
        })
        .expect("gpu-shortage has its Pending GPU pod")
        .clone();
    let text = serde_json::to_string(&pod)
        .unwrap()
        .replace(PENDING_RUN, uuid);
    let mut pod: Value = serde_json::from_str(&text).unwrap();
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    pod["metadata"]["uid"] = json!(format!("uid-{uuid}"));
    let message = pod["status"]["conditions"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    pod["status"]["conditions"][0]["message"] = json!(format!("{message}{extra}"));
    pod
}

fn rule_subjects(report: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), support::subject(f)))
        .collect();
    found.sort();
    found
}

#[test]
fn serve_reports_what_check_reports_and_follows_a_run_that_goes_pending() {
    let (server, _dir, kubeconfig) = simulator("gpu-shortage", Options::default());
    let served = Served::start(&kubeconfig, &["-A"]);
    served.ready();

    // One path for both: the first report is check's, finding for finding.
    let (status, body) = served.get("/report");
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    support::assert_valid_report(&report);
    let check = support::isolated_pxdoctor()
        .args(["check", "-A", "--no-s3", "--no-api", "-o", "json"])
        .env("KUBECONFIG", &kubeconfig)
        .env("PXDOCTOR_NOW", NOW)
        .output()
        .unwrap();
    let checked: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(rule_subjects(&report), rule_subjects(&checked));
    assert_eq!(report["summary"], checked["summary"]);

    let (_, metrics) = served.get("/metrics");
    assert_eq!(findings_gauge(&metrics, "PXD-PEND-002"), 1, "{metrics}");
    assert!(
        metrics.contains(
            "pxdoctor_findings{rule=\"PXD-PEND-002\",category=\"pending\",severity=\"error\",namespace=\"polyaxon\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("pxdoctor_runs{namespace=\"polyaxon\"} 7"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pxdoctor_build_info{version=\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("pxdoctor_evaluation_duration_seconds_count"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pxdoctor_last_evaluation_timestamp_seconds "),
        "{metrics}"
    );
    assert!(
        metrics.contains("pxdoctor_watch_errors_total{resource=\"pods\"} 0"),
        "{metrics}"
    );
    // A run's uuid is never a label.
    assert!(!metrics.contains(PENDING_RUN), "{metrics}");

    // A new run goes Pending for want of GPUs.
    let uuid = "7e57a11ce0ddba11c0ffee0000000001";
    let started = Instant::now();
    server.apply(pending_gpu_pod(uuid, ""));
    let metrics = served.wait_for("/metrics", Duration::from_secs(10), |_, body| {
        findings_gauge(body, "PXD-PEND-002") == 2
    });
    let seen_after = started.elapsed();
    assert!(
        metrics.contains("pxdoctor_runs{namespace=\"polyaxon\"} 8"),
        "{metrics}"
    );
    let (_, body) = served.get("/report");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert!(
        report["findings"].as_array().unwrap().iter().any(|f| {
            f["rule"] == "PXD-PEND-002" && f["subject"]["run"]["uuid"].as_str() == Some(uuid)
        }),
        "the new run is in /report: {body}"
    );
    eprintln!("the new Pending run reached /metrics in {seen_after:?}");

    // Deleted, it leaves.
    server.delete(
        "v1",
        "Pod",
        "polyaxon",
        &format!("plx-operation-{uuid}-06724"),
    );
    let metrics = served.wait_for("/metrics", Duration::from_secs(10), |_, body| {
        findings_gauge(body, "PXD-PEND-002") == 1
    });
    assert!(
        metrics.contains("pxdoctor_runs{namespace=\"polyaxon\"} 7"),
        "{metrics}"
    );
    let (_, body) = served.get("/report");
    assert!(!body.contains(uuid), "{body}");
}

#[test]
fn an_expired_watch_relists_without_a_gap() {
    let (server, _dir, kubeconfig) = simulator("gpu-shortage", Options::default());
    let served = Served::start(&kubeconfig, &["-A"]);
    served.ready();
    let lists_before = server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/pods" && !r.query.contains("watch"))
        .count();

    // Every watch ends with 410 Gone, and resuming from its version is
    // refused: the watcher must list again.
    server.expire_watches();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let (_, metrics) = served.get("/metrics");
        assert_eq!(
            findings_gauge(&metrics, "PXD-PEND-002"),
            1,
            "the finding held through the relist: {metrics}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let metrics = served.wait_for("/metrics", Duration::from_secs(10), |_, body| {
        !body.contains("pxdoctor_watch_errors_total{resource=\"pods\"} 0")
    });
    assert!(
        metrics.contains("pxdoctor_watch_errors_total{resource=\"pods\"} "),
        "{metrics}"
    );
    let relisted = || {
        server
            .requests()
            .iter()
            .filter(|r| r.path == "/api/v1/pods" && !r.query.contains("watch"))
            .count()
            > lists_before
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !relisted() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(relisted(), "pods were listed again after the 410");

    // The watch goes on after the relist: a change still arrives.
    server.apply(pending_gpu_pod("7e57a11ce0ddba11c0ffee0000000002", ""));
    served.wait_for("/metrics", Duration::from_secs(15), |_, body| {
        findings_gauge(body, "PXD-PEND-002") == 2
    });
    let (_, report) = served.get("/report");
    assert!(
        !report.contains("PXD-COLL"),
        "a relist is not a collection gap: {report}"
    );
}

#[test]
fn a_kind_serve_may_not_read_is_a_collection_finding() {
    let options = Options {
        forbidden: vec![
            Forbidden {
                verb: "list".into(),
                resource: "nodes".into(),
                group: String::new(),
                namespace: None,
            },
            // Listing is allowed, watching is not: a ClusterRole with
            // get and list only.
            Forbidden {
                verb: "watch".into(),
                resource: "persistentvolumeclaims".into(),
                group: String::new(),
                namespace: None,
            },
        ],
        ..Options::default()
    };
    let (_server, _dir, kubeconfig) = simulator("gpu-shortage", options);
    let served = Served::start(&kubeconfig, &["-A"]);
    served.ready();
    let body = served.wait_for("/report", Duration::from_secs(20), |status, body| {
        status == 200 && body.contains("persistentvolumeclaims")
    });
    let report: Value = serde_json::from_str(&body).unwrap();
    let collection: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == "collection")
        .collect();
    let words = serde_json::to_string(&collection).unwrap();
    assert!(words.contains("nodes"), "{words}");
    assert!(words.contains("persistentvolumeclaims"), "{words}");
    let skipped = serde_json::to_string(&report["collection"]["skipped"]).unwrap();
    assert!(
        skipped.contains("watch"),
        "the refused verb is named: {skipped}"
    );
    let (_, metrics) = served.get("/metrics");
    assert!(
        !metrics.contains("pxdoctor_watch_errors_total{resource=\"persistentvolumeclaims\"} 0"),
        "{metrics}"
    );
}

#[test]
fn the_page_escapes_what_the_cluster_wrote() {
    let (server, _dir, kubeconfig) = simulator("gpu-shortage", Options::default());
    let served = Served::start(&kubeconfig, &["-A"]);
    served.ready();
    let (status, page) = served.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("PXD-PEND-002"), "{page}");
    server.apply(pending_gpu_pod(
        "7e57a11ce0ddba11c0ffee0000000003",
        " <script>alert('pwned')</script>",
    ));
    let page = served.wait_for("/", Duration::from_secs(10), |_, body| {
        body.contains("7e57a11c")
    });
    assert!(
        page.contains("&lt;script&gt;alert(&#39;pwned&#39;)"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "{page}");
    let (status, _) = served.get("/healthz");
    assert_eq!(status, 200);
    let (status, _) = served.get("/nothing-here");
    assert_eq!(status, 404);
}

#[test]
fn serve_is_not_ready_until_it_has_read_the_cluster() {
    // A server that never answers: serve is alive, not ready, and says why.
    let options = Options {
        faults: support::apiserver::Faults {
            silent: true,
            ..Default::default()
        },
        ..Options::default()
    };
    let (_server, _dir, kubeconfig) = simulator("gpu-shortage", options);
    let served = Served::start(&kubeconfig, &["-A", "--request-timeout", "30s"]);
    let (status, _) = served.get("/healthz");
    assert_eq!(status, 200);
    let (status, body) = served.get("/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready"), "{body}");
    let (status, _) = served.get("/report");
    assert_eq!(status, 503);
}

#[test]
fn a_pod_that_does_not_decode_is_a_collection_finding_until_it_does() {
    let (server, _dir, kubeconfig) = simulator("gpu-shortage", Options::default());
    let served = Served::start(&kubeconfig, &["-A"]);
    served.ready();
    let uuid = "badc0ffee0ddba11c0ffee0000000002";
    let pod_name = format!("plx-operation-{uuid}-06724");

    // A pod the API server holds with a field of a shape no Kubernetes
    // writes (a webhook's or a custom API server's doing): check would stop
    // at it (exit 2); serve keeps watching and says which object and field.
    let mut broken = pending_gpu_pod(uuid, "");
    broken["spec"]["containers"] = json!("main");
    server.apply(broken);
    let body = served.wait_for("/report", Duration::from_secs(10), |_, body| {
        body.contains("PXD-COLL-003")
    });
    let report: Value = serde_json::from_str(&body).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "PXD-COLL-003")
        .expect("a PXD-COLL-003 finding");
    let explanation = finding["explanation"].as_str().unwrap();
    assert!(
        explanation.contains(&format!("Pod polyaxon/{pod_name} does not decode")),
        "{explanation}"
    );
    assert!(explanation.contains("spec.containers"), "{explanation}");
    // The rest of the cluster is still judged.
    assert!(body.contains("PXD-PEND-002"), "{body}");
    served.wait_for("/metrics", Duration::from_secs(10), |_, body| {
        findings_gauge(body, "PXD-COLL-003") == 1
    });

    // Fixed, the object is a run again and the gap is gone.
    server.apply(pending_gpu_pod(uuid, ""));
    let body = served.wait_for("/report", Duration::from_secs(10), |_, body| {
        !body.contains("PXD-COLL-003")
    });
    let report: Value = serde_json::from_str(&body).unwrap();
    assert!(
        report["findings"].as_array().unwrap().iter().any(|f| {
            f["rule"] == "PXD-PEND-002" && f["subject"]["run"]["uuid"].as_str() == Some(uuid)
        }),
        "{body}"
    );
}
