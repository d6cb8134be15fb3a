//! Gathering: the cluster (live or a snapshot) and the probes of the
//! artifacts store and the Polyaxon API, each bounded by --timeout.

use crate::cli::{ClusterArgs, ProbeArgs};
use crate::error::{Error, Result};
use crate::facts::artifacts::polyaxon_api::ApiProbe;
use crate::facts::inventory::sieve::Sieve;
use crate::source::cluster::{self, ClusterOptions};
use crate::source::polyaxon_api::{self, CliConfig, ConfigSources};
use crate::source::resolver::Resolver;

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::Collection(format!("cannot start the async runtime: {error}")))
}

pub fn cluster_options(args: &ClusterArgs) -> ClusterOptions {
    ClusterOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        cluster: args.cluster.clone(),
        user: args.user.clone(),
        as_user: args.as_user.clone(),
        as_groups: args.as_groups.clone(),
        namespace: args.namespace.clone(),
        all_namespaces: args.all_namespaces,
        request_timeout: args.request_timeout,
        timeout: args.timeout,
        chunk_size: args.chunk_size as usize,
        verbose: args.verbose > 0,
        sieve: Sieve::default(),
        runs: Vec::new(),
    }
}

/// Reads the cluster within --timeout, whatever happens underneath.
/// `runs` (check's `--run`): only these runs' objects are fetched.
pub async fn gather(
    args: &ClusterArgs,
    keep_raw: bool,
    sieve: Sieve,
    runs: &[String],
) -> Result<cluster::Gathered> {
    let options = ClusterOptions {
        sieve,
        runs: runs.to_vec(),
        ..cluster_options(args)
    };
    // The fetcher stops at the deadline; this is the backstop.
    let bound = options.timeout + std::time::Duration::from_secs(2);
    match tokio::time::timeout(bound, cluster::gather(&options, keep_raw)).await {
        Ok(result) => result,
        Err(_) => Err(Error::Collection(format!(
            "nothing could be collected within --timeout {}s",
            options.timeout.as_secs()
        ))),
    }
}

/// The artifacts-store probe: `--s3-bucket`'s bucket, else (live) the
/// stores the agent names. None keeps what the source has (a snapshot's
/// recorded probe).
pub async fn probe_stores(
    args: &ProbeArgs,
    inventory: &crate::facts::Inventory,
    live: bool,
    cluster: &ClusterArgs,
    deadline: tokio::time::Instant,
) -> Result<Option<Vec<crate::facts::artifacts::probe::ProbeStep>>> {
    use crate::source::s3;
    if args.no_s3 {
        return Ok(Some(Vec::new()));
    }
    let targets = match &args.s3_bucket {
        Some(url) => vec![
            s3::flag_target(url, args.s3_endpoint.as_deref(), args.s3_region.as_deref())
                .await
                .map_err(Error::Usage)?,
        ],
        None if live => inventory.store_check().targets,
        None => return Ok(None),
    };
    let options = s3::ProbeOptions {
        step_timeout: cluster.request_timeout.min(PROBE_STEP_TIMEOUT),
        deadline,
        write: !args.no_write_probe,
        resolver: Resolver::System,
    };
    let mut steps = Vec::new();
    for target in &targets {
        let done = s3::probe(target, &options).await;
        if cluster.verbose > 0 {
            for step in &done {
                crate::sink::err(&format!(
                    "s3 {} {} {}: {} in {} ms{}",
                    step.step,
                    step.endpoint,
                    step.location(),
                    if step.ok { "ok" } else { "failed" },
                    step.latency_ms,
                    step.code
                        .as_ref()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default()
                ));
            }
        }
        steps.extend(done);
    }
    Ok(Some(steps))
}

/// The longest one probe step may take (less with --request-timeout).
const PROBE_STEP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The Polyaxon API, asked with the CLI's own configuration. None when the
/// CLI has no configuration at all (nothing to check), or an unreadable one
/// (said on stderr: it is the user's file, not the cluster).
pub async fn probe_api(args: &ClusterArgs, deadline: tokio::time::Instant) -> Option<ApiProbe> {
    let config = cli_config()?;
    // --timeout bounds the whole command: a probe that cannot start
    // before the deadline says nothing (as the S3 probe).
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    if left.is_zero() {
        return None;
    }
    // One slow step must not eat the run: at most 10s each.
    let step = args
        .request_timeout
        .min(std::time::Duration::from_secs(10))
        .min(left);
    Some(polyaxon_api::probe(&config, step, left, &Resolver::System).await)
}

/// The Polyaxon CLI's configuration; None when there is none, or an
/// unreadable one (said on stderr: it is the user's file, not the cluster).
pub fn cli_config() -> Option<CliConfig> {
    match CliConfig::load(&ConfigSources::from_env()) {
        Ok(config) => config,
        Err(problem) => {
            crate::sink::err(&format!(
                "pxdoctor: warning: the Polyaxon CLI's configuration: {}; the Polyaxon API was not checked",
                problem.0
            ));
            None
        }
    }
}

/// The cluster, then the Polyaxon API (unless --no-api).
pub async fn gather_and_ask(
    args: &ClusterArgs,
    keep_raw: bool,
    no_api: bool,
    sieve: Sieve,
    runs: &[String],
    deadline: tokio::time::Instant,
) -> Result<(cluster::Gathered, Option<ApiProbe>)> {
    let gathered = gather(args, keep_raw, sieve, runs).await?;
    let probe = if no_api {
        None
    } else {
        probe_api(args, deadline).await
    };
    Ok((gathered, probe))
}

/// What a command asks the sources for.
pub struct Request<'a> {
    /// A snapshot to read instead of the cluster.
    pub snapshot: Option<&'a std::path::Path>,
    pub cluster: &'a ClusterArgs,
    pub probes: &'a ProbeArgs,
    /// check's `--run`: only these runs' objects are fetched.
    pub runs: &'a [String],
    pub sieve: Sieve,
    pub deadline: tokio::time::Instant,
}

/// Reads the snapshot or the cluster, then probes the stores (and, live,
/// the Polyaxon API), all within the request's deadline.
pub fn collect(
    runtime: &tokio::runtime::Runtime,
    request: Request<'_>,
) -> Result<crate::pipeline::Collected> {
    use crate::report::Source;
    use crate::source::snapshot;
    // With --run, live: the runs the cluster was asked about, by full uuid.
    let mut scoped_runs: Option<Vec<String>> = None;
    let (mut inventory, source, live) = match request.snapshot {
        Some(path) => {
            let inventory = snapshot::load_sieved(path, &request.sieve)?;
            if request.cluster.verbose > 0 {
                for skipped in &inventory.skipped_files {
                    crate::sink::err(&format!("pxdoctor: skipped {skipped}"));
                }
            }
            let source = Source {
                kind: "snapshot".into(),
                path: Some(path.display().to_string()),
                paths: Vec::new(),
                context: None,
                namespaces: Vec::new(),
            };
            (inventory, source, false)
        }
        None => {
            let (mut gathered, probe) = runtime.block_on(gather_and_ask(
                request.cluster,
                false,
                request.probes.no_api,
                request.sieve,
                request.runs,
                request.deadline,
            ))?;
            gathered.inventory.polyaxon_api = probe;
            scoped_runs = gathered.runs.take();
            let source = Source {
                kind: "cluster".into(),
                path: None,
                paths: Vec::new(),
                context: gathered.context,
                namespaces: gathered.namespaces,
            };
            (gathered.inventory, source, true)
        }
    };
    // Where a cluster was looked at, before -A's namespaces are filled
    // in from what was found.
    let looked_in = crate::pipeline::judge::scope_words(&source.namespaces);
    let probes = runtime.block_on(probe_stores(
        request.probes,
        &inventory,
        live,
        request.cluster,
        request.deadline,
    ))?;
    if let Some(probes) = probes {
        inventory.probes = probes;
    }
    if let Some(path) = request.snapshot {
        snapshot::require_something(path, &inventory)?;
    }
    Ok(crate::pipeline::Collected {
        inventory,
        source,
        live,
        scoped_runs,
        looked_in,
        remembered: None,
    })
}
