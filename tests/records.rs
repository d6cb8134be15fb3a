//! Polyaxon's records as a source, against Polyaxon's own API server
//! (haupt[sandbox] 2.18.0, tests/support/haupt.rs): runs seeded as the agent
//! and operator leave them, with their conditions in Polyaxon's own wording
//! (polyaxon/mloperator controllers/managers/pods.go and controllers/job.go;
//! haupt 2.18's scheduler and agent status writers), and the cluster a
//! snapshot that holds none of them. The failure cases (refused token, an
//! answer that is not Polyaxon's, nothing listening) use loopback stand-ins:
//! CE has no authentication, so no real server can refuse a token.

mod support;

use std::process::Output;

use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};
use support::haupt::{condition, exclusive, haupt};
use support::{assert_valid_report, isolated_pxdoctor, stderr, stdout, testdata};

const TOKEN: &str = "pxtok-records-1f3a9c2e5b";
/// The scheduler's words for the 4-GPU run of testdata/gpu-shortage, which
/// the operator copies into a Warning ContainersNotReady condition.
const GPU_VERDICT: &str = "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: infer}, 3 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod.";

fn ago(minutes: i64) -> String {
    (Timestamp::now() - minutes.minutes()).to_string()
}

/// `pxdoctor check` with the CLI configured for `host`.
fn check(host: &str, args: &[&str]) -> Output {
    isolated_pxdoctor()
        .arg("check")
        .args(args)
        .env("POLYAXON_HOST", host)
        .env("POLYAXON_AUTH_TOKEN", TOKEN)
        .output()
        .expect("pxdoctor runs")
}

fn json_check(host: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let output = check(host, &all);
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "exit {code:?}: {}",
        stderr(&output)
    );
    assert!(
        !stdout(&output).contains(TOKEN) && !stderr(&output).contains(TOKEN),
        "the token leaked"
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_valid_report(&report);
    report
}

/// Rule ids of the findings about `uuid` (causes folded in included).
fn rules_of(report: &Value, uuid: &str) -> Vec<String> {
    let mut rules = Vec::new();
    for finding in report["findings"].as_array().unwrap() {
        if finding["subject"]["run"]["uuid"] == uuid {
            rules.push(finding["rule"].as_str().unwrap().to_string());
            for cause in finding["causes"].as_array().into_iter().flatten() {
                if let Some(rule) = cause["rule"].as_str() {
                    rules.push(rule.to_string());
                }
            }
        }
    }
    rules
}

fn uuid(n: u8, project: &str) -> String {
    // A uuid of its own per test project, so tests can share one server.
    let seed: u32 = project
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    format!("{seed:08x}{n:02x}c0ffee0ddba11f00dfeedb")
}

/// One run, its time line ending `minutes` ago.
fn run(
    uuid: &str,
    name: &str,
    status: &str,
    conditions: Vec<Value>,
    content: Option<Value>,
) -> Value {
    let created = conditions[0]["last_transition_time"].clone();
    let last = conditions.last().unwrap()["last_transition_time"].clone();
    let done = ["failed", "stopped", "succeeded", "upstream_failed"].contains(&status);
    let mut run = json!({
        "uuid": uuid, "name": name, "kind": "job", "status": status,
        "created_at": created,
        "status_conditions": conditions,
    });
    if done {
        run["finished_at"] = last;
    }
    if let Some(content) = content {
        run["content"] = content;
    }
    run
}

fn gpu_spec(gpus: u32) -> Value {
    json!({"version": 1.1, "kind": "compiled_operation", "run": {"kind": "job", "container": {
        "name": "polyaxon-main", "image": "registry.acme.io/train:4",
        "resources": {"limits": {"nvidia.com/gpu": gpus, "memory": "16Gi"}, "requests": {"cpu": "4"}}}}})
}

/// The seven kinds of cause of issue 32, seeded into `project`; returns
/// (uuid, the rule that must explain it) per cause, and the uuid of a run
/// that succeeded (never listed).
fn seed_seven(project: &str) -> (Vec<(String, &'static str)>, String) {
    let h = haupt();
    h.project(project);
    let lead = |m: i64| {
        vec![
            condition(
                "created",
                &ago(m + 30),
                "OperationServiceInit",
                "Run is created",
            ),
            condition(
                "compiled",
                &ago(m + 29),
                "SchedulerPrepare",
                "Run is compiled",
            ),
            condition("queued", &ago(m + 29), "SchedulerStart", "Run is queued"),
            condition(
                "scheduled",
                &ago(m + 28),
                "AgentController",
                "Operation is scheduled",
            ),
        ]
    };
    let with = |mut head: Vec<Value>, tail: Vec<Value>| {
        head.extend(tail);
        head
    };
    let mut seeded = Vec::new();

    // 1. Unschedulable for GPUs, then stopped by its user.
    let gpu = uuid(1, project);
    h.sync(
        project,
        &run(
            &gpu,
            "train-gpu",
            "stopped",
            with(
                lead(60),
                vec![
                    condition("warning", &ago(85), "ContainersNotReady", GPU_VERDICT),
                    condition(
                        "stopped",
                        &ago(60),
                        "EventHandler",
                        "User requested to stop the run.",
                    ),
                ],
            ),
            Some(gpu_spec(4)),
        ),
    );
    seeded.push((gpu, "PXD-PEND-002"));

    // 2. OOMKilled: the operator's `<Reason>ExitCode N` (pods.go).
    let oom = uuid(2, project);
    h.sync(
        project,
        &run(
            &oom,
            "train-oom",
            "failed",
            with(
                lead(120),
                vec![
                    condition(
                        "running",
                        &ago(145),
                        "OperatorRunning",
                        "Operation is running",
                    ),
                    condition("failed", &ago(120), "OOMKilledExitCode 137", ""),
                ],
            ),
            Some(gpu_spec(1)),
        ),
    );
    h.logs(
        &oom,
        &format!("plx-operation-{oom}-x7k2p"),
        &[(&ago(140), "polyaxon-main", "epoch 1/10")],
    );
    seeded.push((oom, "PXD-RUN-001"));

    // 3. The image could not be pulled (Warning ImagePullBackOff with the
    //    kubelet's message), then the run failed.
    let image = uuid(3, project);
    h.sync(
        project,
        &run(
            &image,
            "train-image",
            "failed",
            with(
                lead(200),
                vec![
                    condition(
                        "warning",
                        &ago(225),
                        "ImagePullBackOff",
                        "Back-off pulling image \"registry.acme.io/train:does-not-exist\"",
                    ),
                    condition(
                        "failed",
                        &ago(200),
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline",
                    ),
                ],
            ),
            None,
        ),
    );
    seeded.push((image, "PXD-RUN-098"));

    // 4. The sidecar was refused by the store (botocore's words in its log).
    let sidecar = uuid(4, project);
    let pod = format!("plx-operation-{sidecar}-q2w3e");
    h.sync(
        project,
        &run(
            &sidecar,
            "train-upload",
            "failed",
            with(
                lead(300),
                vec![
                    condition(
                        "running",
                        &ago(325),
                        "OperatorRunning",
                        "Operation is running",
                    ),
                    condition(
                        "failed",
                        &ago(300),
                        "ErrorExitCode 1",
                        "Container polyaxon-main failed",
                    ),
                ],
            ),
            None,
        ),
    );
    h.logs(&sidecar, &pod, &[
        (&ago(320), "polyaxon-main", "saving checkpoint"),
        (&ago(310), "polyaxon-sidecar", "Polyaxon sidecar error: An error occurred (AccessDenied) when calling the PutObject operation: Access Denied"),
    ]);
    seeded.push((sidecar, "PXD-ART-041"));

    // 5. The workload could not be created: a quota refused the Job.
    let quota = uuid(5, project);
    let refusal = format!(
        "jobs.batch \"plx-operation-{quota}\" is forbidden: exceeded quota: jobs, requested: count/jobs.batch=1, used: count/jobs.batch=20, limited: count/jobs.batch=20"
    );
    h.sync(
        project,
        &run(
            &quota,
            "train-quota",
            "failed",
            with(
                lead(400),
                vec![
                    condition("warning", &ago(425), "OperatorCreateJob", &refusal),
                    condition(
                        "failed",
                        &ago(400),
                        "HeartbeatWarningCleanup",
                        "Run is stopping after being in a warning state for too long.",
                    ),
                ],
            ),
            None,
        ),
    );
    seeded.push((quota, "PXD-PLAT-005"));

    // 6. Queued for hours: no agent took it.
    let queued = uuid(6, project);
    h.sync(
        project,
        &run(
            &queued,
            "train-queued",
            "queued",
            vec![
                condition(
                    "created",
                    &ago(300),
                    "OperationServiceInit",
                    "Run is created",
                ),
                condition("compiled", &ago(299), "SchedulerPrepare", "Run is compiled"),
                condition("queued", &ago(299), "SchedulerStart", "Run is queued"),
            ],
            None,
        ),
    );
    seeded.push((queued, "PXD-PLAT-010"));

    // 7. Finished without archived logs.
    let silent = uuid(7, project);
    h.sync(
        project,
        &run(
            &silent,
            "train-nologs",
            "failed",
            with(
                lead(500),
                vec![
                    condition(
                        "running",
                        &ago(525),
                        "OperatorRunning",
                        "Operation is running",
                    ),
                    condition("failed", &ago(500), "ErrorExitCode 2", ""),
                ],
            ),
            None,
        ),
    );
    seeded.push((silent, "PXD-ART-060"));

    let fine = uuid(8, project);
    h.sync(
        project,
        &run(
            &fine,
            "train-ok",
            "succeeded",
            with(
                lead(30),
                vec![
                    condition(
                        "running",
                        &ago(50),
                        "OperatorRunning",
                        "Operation is running",
                    ),
                    condition(
                        "succeeded",
                        &ago(30),
                        "OperatorSucceeded",
                        "Operation has succeeded",
                    ),
                ],
            ),
            None,
        ),
    );
    h.logs(
        &fine,
        &format!("plx-operation-{fine}-aaaaa"),
        &[(&ago(40), "polyaxon-main", "done")],
    );
    (seeded, fine)
}

#[test]
#[ignore = "needs haupt[sandbox]: .ci/run installs it and runs the ignored tier"]
fn check_run_names_each_cause_from_the_records_alone() {
    let _one = exclusive();
    let (seeded, _) = seed_seven("records-run");
    let host = haupt().url();
    let cluster = testdata("gpu-shortage");
    for (uuid, rule) in &seeded {
        let report = json_check(
            &host,
            &["--snapshot", cluster.to_str().unwrap(), "--run", uuid],
        );
        let rules = rules_of(&report, uuid);
        eprintln!("{uuid}: {rules:?}");
        assert!(
            rules.iter().any(|r| r == rule),
            "{uuid}: expected {rule} in {rules:?}"
        );
        let history = &report["histories"][0];
        assert_eq!(history["run"]["uuid"], uuid.as_str());
        assert_eq!(history["in_cluster"], false);
        assert!(
            history["timeline"].as_array().unwrap().len() >= 3,
            "{history}"
        );
    }
    // The table says where the answer comes from, with the run's times.
    let (gpu, _) = &seeded[0];
    let table = check(
        &host,
        &["--snapshot", cluster.to_str().unwrap(), "--run", &gpu[..12]],
    );
    let text = stdout(&table);
    assert!(
        text.contains("from Polyaxon's records: Kubernetes holds nothing of this run now"),
        "{text}"
    );
    assert!(
        text.contains("warning ContainersNotReady: 0/4 nodes are available"),
        "{text}"
    );
    let report = json_check(
        &host,
        &["--snapshot", cluster.to_str().unwrap(), "--run", gpu],
    );
    let explanation = report["findings"][0]["explanation"].as_str().unwrap();
    // The fit check reads today's nodes: the pool still lacks the GPUs.
    assert!(
        explanation.contains("the run requests 4, the most free is 2 on gpu-3"),
        "{explanation}"
    );
    // Judged at the record's time: it waited 28 minutes before it was
    // stopped, not the hours since.
    assert!(
        explanation.contains("has been Pending 28m"),
        "{explanation}"
    );
}

#[test]
#[ignore = "needs haupt[sandbox]: .ci/run installs it and runs the ignored tier"]
fn since_lists_every_troubled_run_and_no_succeeded_one() {
    let _one = exclusive();
    let (seeded, fine) = seed_seven("records-since");
    let host = haupt().url();
    let cluster = testdata("gpu-shortage");
    let report = json_check(
        &host,
        &["--snapshot", cluster.to_str().unwrap(), "--since", "24h"],
    );
    for (uuid, rule) in &seeded {
        let rules = rules_of(&report, uuid);
        assert!(
            rules.iter().any(|r| r == rule),
            "{uuid}: expected {rule} in {rules:?}"
        );
    }
    assert!(
        rules_of(&report, &fine).is_empty(),
        "a succeeded run is not listed"
    );
    let told: Vec<&str> = report["histories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["run"]["uuid"].as_str().unwrap())
        .collect();
    assert!(!told.contains(&fine.as_str()));
    // The cluster's own runs are not the window's.
    assert!(rules_of(&report, "2af43334aa172156f3b9a57fd315706b").is_empty());
    // Every format carries it.
    for format in ["table", "markdown", "sarif", "junit", "short"] {
        let output = check(
            &host,
            &[
                "--snapshot",
                cluster.to_str().unwrap(),
                "--since",
                "24h",
                "-o",
                format,
            ],
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{format}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).contains("PXD-PLAT-010"), "{format}");
    }
}

#[test]
#[ignore = "needs haupt[sandbox]: .ci/run installs it and runs the ignored tier"]
fn a_run_in_the_cluster_and_the_same_from_its_records_get_the_same_rule() {
    let _one = exclusive();
    let h = haupt();
    h.project("records-twin");
    let cluster = testdata("gpu-shortage");
    let in_cluster = "5200fc5c54e80b7c05f3c8f051545385";
    let twin = uuid(1, "records-twin");
    let story = |end: &str| {
        vec![
            condition(
                "created",
                &ago(70),
                "OperationServiceInit",
                "Run is created",
            ),
            condition("queued", &ago(69), "SchedulerStart", "Run is queued"),
            condition(
                "scheduled",
                &ago(68),
                "AgentController",
                "Operation is scheduled",
            ),
            condition("warning", &ago(66), "ContainersNotReady", GPU_VERDICT),
            condition(
                end,
                &ago(20),
                "EventHandler",
                "User requested to stop the run.",
            ),
        ]
    };
    h.sync(
        "records-twin",
        &run(
            in_cluster,
            "train",
            "warning",
            story("warning")[..4].to_vec(),
            Some(gpu_spec(4)),
        ),
    );
    h.sync(
        "records-twin",
        &run(
            &twin,
            "train",
            "stopped",
            story("stopped"),
            Some(gpu_spec(4)),
        ),
    );
    let live = json_check(
        &h.url(),
        &["--snapshot", cluster.to_str().unwrap(), "--run", in_cluster],
    );
    let remembered = json_check(
        &h.url(),
        &["--snapshot", cluster.to_str().unwrap(), "--run", &twin],
    );
    let lead = |report: &Value| report["findings"][0]["rule"].as_str().unwrap().to_string();
    assert_eq!(lead(&live), "PXD-PEND-002");
    assert_eq!(lead(&live), lead(&remembered));
    // The records add the history of the run the cluster still holds.
    assert_eq!(live["histories"][0]["in_cluster"], true);
    assert_eq!(remembered["histories"][0]["in_cluster"], false);
}

#[test]
#[ignore = "needs haupt[sandbox]: .ci/run installs it and runs the ignored tier"]
fn a_run_polyaxon_does_not_know_is_said_so() {
    let _one = exclusive();
    let host = haupt().url();
    let cluster = testdata("gpu-shortage");
    let output = check(
        &host,
        &[
            "--snapshot",
            cluster.to_str().unwrap(),
            "--run",
            "0123456789abcdef0123456789abcdef",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Polyaxon's records do not know it either"),
        "{}",
        stderr(&output)
    );
}

#[test]
#[ignore = "needs haupt[sandbox]: .ci/run installs it and runs the ignored tier"]
fn secrets_in_the_records_never_reach_the_output() {
    let _one = exclusive();
    let h = haupt();
    h.project("records-secrets");
    let leaky = uuid(1, "records-secrets");
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
    h.sync(
        "records-secrets",
        &run(
            &leaky,
            "train-leaky",
            "failed",
            vec![
                condition(
                    "created",
                    &ago(40),
                    "OperationServiceInit",
                    "Run is created",
                ),
                condition(
                    "scheduled",
                    &ago(39),
                    "AgentController",
                    "Operation is scheduled",
                ),
                condition(
                    "running",
                    &ago(38),
                    "OperatorRunning",
                    "Operation is running",
                ),
                condition(
                    "failed",
                    &ago(30),
                    "AgentLogger",
                    &format!(
                        "Agent failed deploying run.\nerror: env AWS_SECRET_ACCESS_KEY={secret}"
                    ),
                ),
            ],
            None,
        ),
    );
    h.logs(
        &leaky,
        &format!("plx-operation-{leaky}-zzzzz"),
        &[(
            &ago(35),
            "polyaxon-sidecar",
            &format!("aws_secret_access_key = {secret}"),
        )],
    );
    let cluster = testdata("gpu-shortage");
    for format in ["json", "table", "markdown", "sarif", "junit"] {
        let output = check(
            &h.url(),
            &[
                "--snapshot",
                cluster.to_str().unwrap(),
                "--run",
                &leaky,
                "-o",
                format,
            ],
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{format}: {}",
            stderr(&output)
        );
        let all = stdout(&output) + &stderr(&output);
        assert!(!all.contains(secret), "{format} leaked the secret: {all}");
        assert!(all.contains("PXD-RUN-090"), "{format}: {all}");
    }
}

#[test]
#[ignore = "needs haupt[sandbox]: .ci/run installs it and runs the ignored tier"]
fn a_live_cluster_that_forgot_the_run_is_answered_from_the_records_by_prefix() {
    let _one = exclusive();
    let h = haupt();
    h.project("records-live");
    let gone = uuid(1, "records-live");
    h.sync(
        "records-live",
        &run(
            &gone,
            "train-oom",
            "failed",
            vec![
                condition(
                    "created",
                    &ago(90),
                    "OperationServiceInit",
                    "Run is created",
                ),
                condition(
                    "scheduled",
                    &ago(88),
                    "AgentController",
                    "Operation is scheduled",
                ),
                condition(
                    "running",
                    &ago(80),
                    "OperatorRunning",
                    "Operation is running",
                ),
                condition("failed", &ago(70), "OOMKilledExitCode 137", ""),
            ],
            Some(gpu_spec(1)),
        ),
    );
    // The API server simulator serves a cluster that holds nothing of it.
    let server = support::apiserver::ApiServer::start(
        &testdata("gpu-shortage"),
        support::apiserver::Options::default(),
    );
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(home.path());
    let output = isolated_pxdoctor()
        .args(["check", "--run", &gone[..10], "--no-s3", "-o", "json"])
        .env("KUBECONFIG", &kubeconfig)
        .env("POLYAXON_HOST", h.url())
        .env("POLYAXON_AUTH_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_valid_report(&report);
    assert!(
        rules_of(&report, &gone).contains(&"PXD-RUN-001".to_string()),
        "{report}"
    );
    assert_eq!(report["histories"][0]["in_cluster"], false);
}

/// A loopback listener that answers every request with `answer` (raw HTTP).
fn stand_in(answer: &'static str) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        // A bounded number of requests: the test makes few.
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, handle)
}

#[test]
fn a_refused_token_is_a_clear_line_and_exit_3() {
    let api =
        support::polyaxon::PolyaxonApi::start(support::polyaxon::Mode::InvalidToken, TOKEN, false);
    let cluster = testdata("gpu-shortage");
    let output = check(
        &api.url(),
        &[
            "--snapshot",
            cluster.to_str().unwrap(),
            "--since",
            "24h",
            "--no-s3",
        ],
    );
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("Polyaxon's records could not be read"),
        "{said}"
    );
    assert!(said.contains("refused (401"), "{said}");
    assert!(said.contains("polyaxon login"), "{said}");
    assert!(!said.contains(TOKEN) && !stdout(&output).contains(TOKEN));
    // The token went only into the Authorization header.
    assert!(api.seen().iter().all(|seen| !seen.path.contains(TOKEN)));
    assert!(
        api.seen()
            .iter()
            .any(|seen| seen.authorization.as_deref() == Some(&format!("Token {TOKEN}")))
    );
}

#[test]
fn an_answer_that_is_not_polyaxons_is_a_clear_line() {
    let (url, _server) = stand_in(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 32\r\nConnection: close\r\n\r\n<html><body>Welcome</body></html",
    );
    let cluster = testdata("gpu-shortage");
    let output = check(
        &url,
        &[
            "--snapshot",
            cluster.to_str().unwrap(),
            "--since",
            "24h",
            "--no-s3",
        ],
    );
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(said.contains("not Polyaxon's JSON"), "{said}");
    assert!(
        said.contains("POLYAXON_HOST does not point at Polyaxon's API"),
        "{said}"
    );
}

#[test]
fn an_unreachable_api_is_a_clear_line_and_a_run_the_cluster_holds_still_answers() {
    // A closed loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let cluster = testdata("gpu-shortage");
    let output = check(
        &url,
        &[
            "--snapshot",
            cluster.to_str().unwrap(),
            "--since",
            "24h",
            "--no-s3",
        ],
    );
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("127.0.0.1:{port}")),
        "{}",
        stderr(&output)
    );
    // A run the cluster holds is explained from it; the records' gap is a
    // collection finding, not a failure.
    let report = json_check(
        &url,
        &[
            "--snapshot",
            cluster.to_str().unwrap(),
            "--run",
            "5200fc5c",
            "--no-s3",
        ],
    );
    assert_eq!(report["findings"][0]["rule"], "PXD-PEND-002");
    // --run shows that run's findings; what was not read is listed.
    let skipped = report["collection"]["skipped"].to_string();
    assert!(
        skipped.contains("Polyaxon's records (the run)") && skipped.contains("Connection refused"),
        "{skipped}"
    );
    // A run it does not hold cannot be looked up: exit 3, saying what was tried.
    let output = check(
        &url,
        &[
            "--snapshot",
            cluster.to_str().unwrap(),
            "--run",
            "0123456789abcdef0123456789abcdef",
            "--no-s3",
        ],
    );
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("could not be read"),
        "{}",
        stderr(&output)
    );
}
