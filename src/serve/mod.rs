//! `pxdoctor serve`: `check`, kept current inside the cluster. Watches
//! (kube-runtime) keep the facts of what `check` lists; a change re-judges
//! them, debounced, by the same path as `check` (`pipeline::judge`: rules,
//! config, suppressions); the result is served as Prometheus metrics, the
//! JSON report and a page. Kubernetes runs it, Prometheus stores and
//! alerts: no scheduler or database of its own.

mod http;
pub mod metrics;
pub mod page;
mod raw;
mod store;
mod watch;

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pipeline::{self, Asked, Collected};
use crate::report::{Report, Source};
use crate::source::cluster;

use store::Stores;
use watch::{Shared, lock};

/// How long changes are let gather before they are judged: a burst (a
/// relist, a run's pods starting together) is judged once.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Judged again this often without a change: a run's grace period ends
/// with no event, and the page's ages move on.
const REJUDGE: Duration = Duration::from_secs(60);

/// ... or, on a cluster whose evaluation takes long, this many times an
/// evaluation's duration, so a quiet cluster costs at most about 1% of a
/// core (bench/serve.sh: 1.8 s an evaluation at 100k pods was 3.4%).
const IDLE_SHARE: u32 = 100;

pub fn run(args: &ServeArgs) -> Result<u8> {
    let (config, engine) = pipeline::configured_engine(args.config.as_deref(), &args.rules)?;
    crate::facts::workloads::pod::select_label_keys(config.label_keys());
    pipeline::warn_expired(&config, pipeline::today()?);
    let runtime = pipeline::runtime()?;
    runtime.block_on(serve(args, config, engine))
}

async fn serve(args: &ServeArgs, config: Config, engine: Engine) -> Result<u8> {
    // Listening first: the liveness probe answers while the watches start.
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|error| Error::Usage(format!("--listen {}: {error}", args.listen)))?;
    let address = listener.local_addr().unwrap_or(args.listen);
    let metrics = Arc::new(metrics::Metrics::new());
    let state = Arc::new(http::State {
        current: RwLock::new(http::Current {
            page: http::Packed::new(&page::render(None, "starting: reading the cluster")),
            waiting: "reading the cluster".into(),
            ..http::Current::default()
        }),
        metrics: metrics.clone(),
    });
    tokio::spawn(http::serve(listener, state.clone()));
    crate::sink::err(&format!("pxdoctor: serving on http://{address}"));

    let options = pipeline::cluster_options(&args.cluster);
    let plan = cluster::plan(&options).await?;
    let mut stores = Stores::default();
    stores.crds = plan.crds.clone();
    stores.scope = (!plan.namespaces.is_empty()).then(|| plan.namespaces.iter().cloned().collect());
    let stores = Arc::new(Mutex::new(stores));
    let shared = Shared {
        client: plan.client.clone(),
        stores: stores.clone(),
        changed: Arc::new(Notify::new()),
        metrics: metrics.clone(),
        sieve: pipeline::event_sieve(&engine),
        page_size: args.cluster.chunk_size,
        verbose: args.cluster.verbose > 0,
    };
    let mut watches = 0;
    for resource in &plan.resources {
        let scopes: Vec<Option<String>> = if resource.namespaced {
            plan.scopes.clone()
        } else {
            vec![None]
        };
        for scope in scopes {
            let key = watch::shard_key(resource, &scope);
            let refused = plan
                .denied
                .iter()
                .find(|(denied, at, _)| denied.full_name() == resource.full_name() && *at == scope);
            match refused {
                Some((_, _, gap)) => lock(&stores).refuse(key, resource.kind, gap.clone()),
                None => {
                    lock(&stores).expect(key, resource.kind);
                    tokio::spawn(watch::watch(shared.clone(), resource, scope));
                    watches += 1;
                }
            }
        }
    }
    crate::sink::err(&format!(
        "pxdoctor: {watches} watches {}",
        if plan.namespaces.is_empty() {
            "in all namespaces".to_string()
        } else {
            format!("in {}", plan.namespaces.join(", "))
        }
    ));
    let judge = Judge::start()?;
    tokio::spawn(probe_loop(
        judge.clone(),
        args.probes.clone(),
        args.cluster.clone(),
        options,
        plan.client.clone(),
        stores.clone(),
        shared.changed.clone(),
        args.probe_interval,
    ));
    let judging = Judging {
        stores: stores.clone(),
        config,
        engine,
        source: Source {
            kind: "cluster".into(),
            path: None,
            paths: Vec::new(),
            context: plan.context,
            namespaces: plan.namespaces,
        },
        asked: Asked {
            namespace: args.cluster.namespace.clone(),
            all_namespaces: args.cluster.all_namespaces,
            ..Asked::default()
        },
    };
    let judging = Arc::new(judging);
    let mut rejudge = REJUDGE;
    loop {
        tokio::select! {
            _ = shared.changed.notified() => {}
            _ = tokio::time::sleep(rejudge) => {}
        }
        tokio::time::sleep(DEBOUNCE).await;
        let waiting = {
            let stores = lock(&stores);
            let mut waiting = stores.waiting();
            if !stores.probed.done {
                waiting.push("the first probe of the artifacts store and the Polyaxon API".into());
            }
            waiting
        };
        if !waiting.is_empty() {
            let mut current = state
                .current
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            current.waiting = format!("waiting for {}", waiting.join(", "));
            if current.report.is_none() {
                current.page = http::Packed::new(&page::render(None, &current.waiting));
            }
            continue;
        }
        let started = std::time::Instant::now();
        let judged = judging.clone();
        let judged = match judge.run(move || judged.judge()).await {
            Ok(judged) => judged,
            Err(error) => {
                crate::sink::err(&format!("pxdoctor: evaluation failed: {error}"));
                continue;
            }
        };
        rejudge = REJUDGE.max(started.elapsed() * IDLE_SHARE);
        let seconds = started.elapsed().as_secs_f64();
        let at = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
        let (report, runs_by_namespace) = judged;
        metrics.evaluated(&report, &runs_by_namespace, seconds, at);
        let json = http::Packed::new(&crate::report::json::render(&report));
        let shown = format!(
            "Updated {}.",
            jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_default()
        );
        let page = http::Packed::new(&page::render(Some(&report), &shown));
        drop(report);
        let mut current = state
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        current.report = Some(json);
        current.page = page;
        current.ready = true;
        current.waiting.clear();
        drop(current);
        release_freed_memory();
    }
}

/// An evaluation assembles a second copy of the watched facts and frees
/// it; glibc keeps freed memory for reuse, so without this the pod's RSS
/// would stay at every evaluation's peak between evaluations (bench/serve.sh
/// measured 2.2x check's peak at 20k pods).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it
    // takes no pointer and is thread-safe in glibc.
    unsafe {
        libc::malloc_trim(0);
    }
}

type Judged = (Report, std::collections::BTreeMap<String, usize>);

/// The one thread that copies the watched facts, for an evaluation or for
/// the probes: glibc gives it an arena of its own, so those copies, made
/// and freed again and again, never lie between the facts the watches keep,
/// and go back to the system whole (see [`release_freed_memory`]). On
/// tokio's threads each copy could land in another arena, and every arena
/// kept the pages of its last one.
#[derive(Clone)]
struct Judge {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl Judge {
    fn start() -> Result<Judge> {
        let (jobs, queued) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        std::thread::Builder::new()
            .name("pxdoctor-judge".into())
            .spawn(move || {
                for job in queued {
                    // A bug in one evaluation must not end serve: the last
                    // report stays up and the next change is judged again.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .map_err(|error| Error::Usage(format!("serve: cannot start a thread: {error}")))?;
        Ok(Judge { jobs })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        // The job panicked (its message is on stderr) or the thread is gone.
        let gone = || Error::Collection("the judge thread's work panicked".into());
        self.jobs
            .send(Box::new(move || {
                let _ = answer.send(work());
            }))
            .map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

/// What an evaluation needs, owned by the thread that runs it.
struct Judging {
    stores: Arc<Mutex<Stores>>,
    config: Config,
    engine: Engine,
    source: Source,
    asked: Asked,
}

impl Judging {
    /// The watched facts, judged as `check` judges a cluster's; the report
    /// redacted, and the runs counted by namespace.
    fn judge(&self) -> Result<Judged> {
        let inventory = lock(&self.stores).inventory();
        let collected = Collected {
            inventory,
            source: self.source.clone(),
            live: true,
            scoped_runs: None,
            looked_in: String::new(),
            remembered: None,
        };
        let judged = pipeline::judge(
            collected,
            &self.asked,
            &self.config,
            &self.engine,
            pipeline::today()?,
        )?;
        let mut report = judged.report;
        report.redact();
        Ok((report, judged.runs_by_namespace))
    }
}

/// Every `interval`: the store's Secret and failing containers' logs read
/// again, then the artifacts store and the Polyaxon API probed, as `check`
/// does once. The first round waits for the watches' first lists.
#[allow(clippy::too_many_arguments)]
async fn probe_loop(
    judge: Judge,
    probes: crate::cli::ProbeArgs,
    cluster_args: crate::cli::ClusterArgs,
    options: cluster::ClusterOptions,
    client: kube::Client,
    stores: Arc<Mutex<Stores>>,
    changed: Arc<Notify>,
    interval: Duration,
) {
    loop {
        while !lock(&stores).settled() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let copied = stores.clone();
        let inventory = match judge.run(move || Ok(lock(&copied).inventory())).await {
            Ok(inventory) => inventory,
            Err(error) => {
                crate::sink::err(&format!("pxdoctor: the probes: {error}"));
                tokio::time::sleep(interval).await;
                continue;
            }
        };
        let fetcher = cluster::setup_fetcher(&client, &options);
        let extras = cluster::read_extras(&fetcher, &inventory).await;
        let mut probed_inventory = inventory;
        probed_inventory.merge(extras.clone());
        let deadline = tokio::time::Instant::now() + options.timeout;
        let steps =
            match pipeline::probe_stores(&probes, &probed_inventory, true, &cluster_args, deadline)
                .await
            {
                Ok(steps) => steps,
                Err(error) => {
                    crate::sink::err(&format!("pxdoctor: the artifacts store probe: {error}"));
                    None
                }
            };
        let api = if probes.no_api {
            None
        } else {
            pipeline::probe_api(&cluster_args, deadline).await
        };
        {
            let mut stores = lock(&stores);
            stores.probed = store::Probed {
                extras,
                probes: steps,
                polyaxon_api: api,
                done: true,
            };
        }
        changed.notify_one();
        tokio::time::sleep(interval).await;
    }
}
