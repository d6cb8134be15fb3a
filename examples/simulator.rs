//! Serves a snapshot directory with the tests' Kubernetes API server
//! simulator, for the benchmark (bench/run.sh) and for trying pxdoctor's live
//! path by hand:
//!
//! ```sh
//! cargo run --release --example simulator -- testdata/gpu-shortage \
//!     --kubeconfig-dir /tmp/sim --requests-file /tmp/sim/requests
//! pxdoctor check -A --kubeconfig /tmp/sim/kubeconfig
//! ```
//!
//! It prints the server's URL once the snapshot is loaded, then serves until
//! SIGTERM/SIGINT or `--seconds N`, and writes the requests served so far to
//! `--requests-file` on exit and on SIGUSR1 (`requests N`, `lists N`, then
//! one `list PATH COUNT` line per LIST path). `--token ""` turns
//! authentication off (kubectl sends tokens over TLS only); `--tls` serves
//! HTTPS with a fresh CA written next to the kubeconfig.
//!
//! `--changes-dir DIR` lets a script change the cluster while clients
//! watch it (bench/serve.sh): on SIGUSR2 every `*.json` file in DIR, in name
//! order, is applied (an object) or, named `*.delete.json`, deleted (the
//! object it names), then removed; the simulator says on stderr how many.

#[allow(dead_code)]
#[path = "../tests/support/apiserver.rs"]
mod apiserver;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

const SIGINT: i32 = 2;
const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;
const SIGTERM: i32 = 15;

static SIGNAL: AtomicI32 = AtomicI32::new(0);

unsafe extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
}

extern "C" fn on_signal(signum: i32) {
    SIGNAL.store(signum, Ordering::SeqCst);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut scenario, mut kubeconfig_dir, mut requests_file) = (None, None, None);
    let mut changes_dir: Option<PathBuf> = None;
    let mut options = apiserver::Options::default();
    let mut seconds = None;
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--kubeconfig-dir" => kubeconfig_dir = Some(PathBuf::from(value())),
            "--requests-file" => requests_file = Some(PathBuf::from(value())),
            "--changes-dir" => changes_dir = Some(PathBuf::from(value())),
            "--token" => options.token = value(),
            "--tls" => options.tls = true,
            "--seconds" => {
                seconds = Some(
                    value()
                        .parse::<u64>()
                        .unwrap_or_else(|_| usage("--seconds N")),
                )
            }
            _ if !arg.starts_with('-') && scenario.is_none() => scenario = Some(PathBuf::from(arg)),
            _ => usage(&format!("unexpected argument {arg}")),
        }
    }
    let scenario = scenario.unwrap_or_else(|| usage("missing SNAPSHOT_DIR"));
    let kubeconfig_dir = kubeconfig_dir.unwrap_or_else(|| usage("missing --kubeconfig-dir"));

    for signum in [SIGINT, SIGTERM, SIGUSR1, SIGUSR2] {
        // SAFETY: the handler only stores into an atomic (async-signal-safe).
        unsafe { signal(signum, on_signal) };
    }
    let server = apiserver::ApiServer::start(&scenario, options);
    let kubeconfig = server.write_kubeconfig(&kubeconfig_dir);
    println!("{}", server.url());
    eprintln!(
        "simulator: serving {} ({})",
        scenario.display(),
        kubeconfig.display()
    );
    std::io::stdout().flush().ok();

    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let signum = SIGNAL.swap(0, Ordering::SeqCst);
        if signum == SIGUSR2 {
            match &changes_dir {
                Some(dir) => apply_changes(&server, dir),
                None => eprintln!("simulator: SIGUSR2 without --changes-dir: nothing to apply"),
            }
            continue;
        }
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        if (signum != 0 || expired)
            && let Some(file) = &requests_file
        {
            write_counts(file, &server.requests());
        }
        if signum == SIGINT || signum == SIGTERM || expired {
            let requests = server.requests();
            eprintln!(
                "simulator: {} requests served, {} LISTs",
                requests.len(),
                requests.iter().filter(|r| is_list(r)).count()
            );
            return;
        }
    }
}

/// Applies or deletes what DIR holds, in name order, and removes each file.
fn apply_changes(server: &apiserver::ApiServer, dir: &std::path::Path) {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(error) => {
            eprintln!("simulator: {}: {error}", dir.display());
            return;
        }
    };
    files.sort();
    let (mut applied, mut deleted) = (0, 0);
    for file in files {
        let object: serde_json::Value = match std::fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        {
            Ok(object) => object,
            Err(error) => {
                eprintln!("simulator: {}: {error}", file.display());
                continue;
            }
        };
        if file.to_string_lossy().ends_with(".delete.json") {
            let field = |pointer: &str| {
                object
                    .pointer(pointer)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
            };
            server.delete(
                field("/apiVersion"),
                field("/kind"),
                field("/metadata/namespace"),
                field("/metadata/name"),
            );
            deleted += 1;
        } else {
            server.apply(object);
            applied += 1;
        }
        let _ = std::fs::remove_file(&file);
    }
    eprintln!("simulator: applied {applied}, deleted {deleted}");
}

/// A LIST: a GET of a collection (`/api/v1/pods`, `/apis/G/V/namespaces/NS/jobs`), not a watch.
fn is_list(request: &apiserver::Request) -> bool {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let rest = match segments.as_slice() {
        ["api", _, rest @ ..] => rest,
        ["apis", _, _, rest @ ..] => rest,
        _ => return false,
    };
    let watch = request
        .query
        .split('&')
        .any(|p| p == "watch=true" || p == "watch=1");
    request.method == "GET"
        && !watch
        && (rest.len() == 1 || (rest.len() == 3 && rest[0] == "namespaces"))
}

fn write_counts(file: &PathBuf, requests: &[apiserver::Request]) {
    let mut lists = BTreeMap::<&str, usize>::new();
    for request in requests.iter().filter(|r| is_list(r)) {
        *lists.entry(request.path.as_str()).or_default() += 1;
    }
    let mut text = format!(
        "requests {}\nlists {}\n",
        requests.len(),
        lists.values().sum::<usize>()
    );
    for (path, count) in &lists {
        text.push_str(&format!("list {path} {count}\n"));
    }
    let partial = file.with_extension("partial");
    if std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, file))
        .is_err()
    {
        eprintln!("simulator: cannot write {}", file.display());
    }
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "simulator: {problem}\nusage: simulator SNAPSHOT_DIR --kubeconfig-dir DIR \
         [--requests-file FILE] [--changes-dir DIR] [--token TOKEN] [--tls] [--seconds N]"
    );
    std::process::exit(2);
}
