//! Polyaxon's own API server for the records tests: `haupt[sandbox]`
//! (2.18.0, from PyPI; .ci/run installs it in target/ci-haupt-venv), started
//! once per test binary on loopback with its own HOME and roots, stopped
//! when the test process ends (tests/support/haupt_run.py holds it by its
//! stdin). Runs are seeded as they really look with
//! `POST /api/v1/{owner}/{project}/runs/sync` (uuid, times, status and the
//! whole status_conditions list), logs written under the sandbox's
//! artifacts store as `{uuid}/plxlogs/{pod}.jsonl`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Haupt {
    pub port: u16,
    /// The sandbox's artifacts store.
    pub store: PathBuf,
    root: PathBuf,
}

/// Closed when this process ends, which stops haupt.
struct Life {
    _lifeline: ChildStdin,
    _child: Child,
}

/// The `haupt` executable: $HAUPT, else .ci/run's venv.
fn executable() -> PathBuf {
    std::env::var_os("HAUPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::repo().join("target/ci-haupt-venv/bin/haupt"))
}

/// One test at a time against the server: haupt 2.18's sandbox (API and
/// streams in one process) misroutes a POST that arrives while a streams
/// read is served ("Method Not Allowed (POST)" in its log, even for its own
/// agents/cron), so a test's seeding must not meet another test's reads.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static ONE_TEST: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_TEST.lock().unwrap_or_else(|e| e.into_inner())
}

/// The one server of this test binary.
pub fn haupt() -> &'static Haupt {
    static HAUPT: OnceLock<Haupt> = OnceLock::new();
    static LIFE: OnceLock<Life> = OnceLock::new();
    HAUPT.get_or_init(|| {
        let haupt = executable();
        assert!(
            haupt.is_file(),
            "{} is missing: .ci/run installs haupt[sandbox]==2.18.0 there (or set HAUPT)",
            haupt.display()
        );
        // The port is free when picked and taken by haupt seconds later:
        // another test's listener may take it first. Then haupt exits (or
        // someone else answers), and another port is tried.
        let mut attempt = 0;
        let (server, child, lifeline, started) = loop {
            attempt += 1;
            let root = tempfile::tempdir().expect("temp dir").keep();
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new("python3")
                .arg(super::repo().join("tests/support/haupt_run.py"))
                .arg(&haupt)
                .arg(port.to_string())
                .arg(&root)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 runs");
            let lifeline = child.stdin.take().expect("a piped stdin");
            let server = Haupt {
                port,
                store: root.join("sandbox"),
                root,
            };
            let started = Instant::now();
            let ready = loop {
                // haupt's own answer, not another listener's.
                if let Ok((200, body)) = server.request("GET", "/api/v1/installation", None)
                    && body.contains("\"dist\"")
                {
                    break true;
                }
                if server.log().contains("Address already in use")
                    || started.elapsed() > Duration::from_secs(90)
                {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(200));
            };
            if ready {
                break (server, child, lifeline, started);
            }
            drop(lifeline);
            let _ = child.wait();
            assert!(attempt < 3, "haupt did not start: {}", server.log());
        };
        eprintln!(
            "haupt sandbox ready on 127.0.0.1:{} in {:.1} s",
            server.port,
            started.elapsed().as_secs_f32()
        );
        let _ = LIFE.set(Life {
            _lifeline: lifeline,
            _child: child,
        });
        server
    })
}

impl Haupt {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("haupt.log")).unwrap_or_default()
    }

    /// One HTTP/1.1 request with `Connection: close`: (status, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: application/json\r\n\
             Accept-Encoding: identity\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    fn post(&self, path: &str, body: &Value) -> (u16, String) {
        self.request("POST", path, Some(body))
            .expect("haupt answers")
    }

    /// A project of its own for one test.
    pub fn project(&self, name: &str) {
        let (status, body) = self.post(
            "/api/v1/acme/projects/create",
            &json!({"name": name, "description": "pxdoctor records test"}),
        );
        assert!(status == 201, "creating project {name}: {status} {body}");
    }

    /// Seeds a whole run (uuid, times, status, status_conditions) as the
    /// agent would have left it. A managed run needs its specs.
    pub fn sync(&self, project: &str, run: &Value) {
        let mut run = run.clone();
        let content = run
            .get("content")
            .cloned()
            .unwrap_or_else(|| json!({"version": 1.1, "kind": "compiled_operation", "run": {"kind": "job", "container": {"name": "polyaxon-main", "image": "python:3.11-slim"}}}));
        run["content"] = json!(content.to_string());
        run["raw_content"] =
            json!(json!({"version": 1.1, "kind": "operation", "component": {"version": 1.1, "kind": "component", "run": content["run"]}}).to_string());
        run["is_managed"] = json!(true);
        run["managed_by"] = json!("agent");
        let (status, body) = self.post(&format!("/api/v1/acme/{project}/runs/sync"), &run);
        assert!(
            status == 201 || status == 200,
            "seeding {run}: {status} {body}"
        );
    }

    /// Archived logs, as the sidecar writes them: `{uuid}/plxlogs/{pod}.jsonl`,
    /// each record `{"timestamp", "node", "pod", "container", "value"}`.
    pub fn logs(&self, uuid: &str, pod: &str, lines: &[(&str, &str, &str)]) {
        let dir = self.store.join(uuid).join("plxlogs");
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::new();
        for (time, container, value) in lines {
            text.push('\n');
            text.push_str(
                &json!({"timestamp": time, "node": "gpu-1", "pod": pod, "container": container, "value": value})
                    .to_string(),
            );
        }
        std::fs::write(dir.join(format!("{pod}.jsonl")), text).unwrap();
    }
}

/// A Polyaxon status condition as the agent and operator write them.
pub fn condition(type_: &str, time: &str, reason: &str, message: &str) -> Value {
    json!({
        "type": type_, "status": "True", "reason": reason, "message": message,
        "last_update_time": time, "last_transition_time": time,
    })
}
