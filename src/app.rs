//! The commands, wired onto the pipeline: source → facts → engine → report
//! → output. Errors become exit codes here and nowhere else.

use std::collections::BTreeSet;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{CheckArgs, Cli, ClusterArgs, CollectArgs, Command, ProbeArgs, RulesCommand};
use crate::config::Config;
use crate::config::matcher::PodMarks;
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::facts::FactKind;
use crate::facts::artifacts::polyaxon_api::ApiProbe;
use crate::facts::inventory::sieve::{DECIDED_EVENT_FIELDS, Sieve};
use crate::report::output::Destination;
use crate::report::{self, Collection, FailOn, Filter, Report, Skipped, Source};
use crate::report::{RenderContext, RuleInfo};
use crate::source::cluster::{self, ClusterOptions};
use crate::source::polyaxon_api::{self, CliConfig, ConfigSources};
use crate::source::resolver::Resolver;
use crate::source::{bundle, snapshot};

/// Runs pxdoctor as `invoked_as` ("pxdoctor" or "kubectl pxdoctor") and
/// returns the process exit code.
pub fn main(invoked_as: &str) -> u8 {
    let command = Cli::command().bin_name(invoked_as);
    let matches = match command.try_get_matches() {
        Ok(matches) => matches,
        Err(error) => {
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            return code;
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return 2;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            crate::sink::err(&format!("{invoked_as}: error: {error}"));
            error.exit_code()
        }
    }
}

pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Collect(args) => collect(&args),
        Command::Lint(args) => crate::lint::run(&args),
        Command::Access(args) => crate::access::run(&args),
        Command::Serve(args) => crate::serve::run(&args),
        Command::Rules { command } => rules(command),
        Command::Version => {
            crate::sink::out(&format!("pxdoctor {}", env!("CARGO_PKG_VERSION")));
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut command = Cli::command();
            // sink: generated completions, no data.
            clap_complete::generate(shell, &mut command, "pxdoctor", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man { dir } => man(dir.as_deref()),
    }
}

fn check(args: &CheckArgs) -> Result<u8> {
    // --timeout bounds the whole check: collection and probes together.
    let deadline = tokio::time::Instant::now() + args.cluster.timeout;
    let destinations: Vec<Destination> = args
        .output
        .iter()
        .map(|spec| Destination {
            format: spec.format.into(),
            path: spec.path.clone(),
        })
        .collect();
    report::output::validate(&destinations)?;
    let (config, engine) = configured_engine(args.config.as_deref(), &args.rules)?;
    crate::facts::workloads::pod::select_label_keys(config.label_keys());
    let runtime = runtime()?;
    let sieve = event_sieve(&engine);
    // With --run, live: the runs the cluster was asked about, by full uuid.
    let mut scoped_runs: Option<Vec<String>> = None;
    let (mut inventory, source, live) = match &args.snapshot {
        Some(path) => {
            let inventory = snapshot::load_sieved(path, &sieve)?;
            if args.cluster.verbose > 0 {
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
                &args.cluster,
                false,
                args.probes.no_api,
                sieve,
                &args.runs,
                deadline,
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
    let looked_in = scope_words(&source.namespaces);
    let probes = runtime.block_on(probe_stores(
        &args.probes,
        &inventory,
        live,
        &args.cluster,
        deadline,
    ))?;
    if let Some(probes) = probes {
        inventory.probes = probes;
    }
    if let Some(path) = &args.snapshot {
        snapshot::require_something(path, &inventory)?;
    }
    let today = today()?;
    warn_expired(&config, today);
    let collected = Collected {
        inventory,
        source,
        live,
        scoped_runs,
        looked_in,
    };
    let mut report = judge(collected, &Asked::of(args), &config, &engine, today)?.report;
    let rules = rule_infos(&engine, &config);
    let fail_on: FailOn = args.fail_on.into();
    let context = RenderContext {
        rules: &rules,
        fail_on,
    };
    report::output::write(&destinations, &mut report, &context)?;
    Ok(fail_on.exit_code(&report))
}

/// What a source gave, before it is judged.
pub(crate) struct Collected {
    pub inventory: crate::facts::Inventory,
    pub source: Source,
    pub live: bool,
    /// With `--run`, live: the full uuids the cluster was asked about.
    pub scoped_runs: Option<Vec<String>>,
    /// Where a cluster was looked at, for a `--run` that matched nothing.
    pub looked_in: String,
}

/// What the user asked to see, of what was collected (check's flags;
/// serve asks for everything).
#[derive(Default)]
pub(crate) struct Asked {
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub runs: Vec<String>,
    pub only: Vec<crate::report::finding::Category>,
    pub show_suppressed: bool,
}

impl Asked {
    fn of(args: &CheckArgs) -> Asked {
        Asked {
            namespace: args.cluster.namespace.clone(),
            all_namespaces: args.cluster.all_namespaces,
            runs: args.runs.clone(),
            only: args.only.clone(),
            show_suppressed: args.show_suppressed,
        }
    }
}

/// Ignores of the config whose expiry date has passed, as warnings on
/// stderr, not as findings: they are about the config file, not the
/// cluster, and what they silenced is reported again anyway.
pub(crate) fn warn_expired(config: &Config, today: jiff::civil::Date) {
    for expired in config.expired(today) {
        crate::sink::err(&format!(
            "pxdoctor: warning: {}: this ignore expired on {}; what it silenced is reported again (its reason: {})",
            expired.position,
            expired.expires.map(|d| d.to_string()).unwrap_or_default(),
            expired.reason
        ));
    }
}

/// From what was collected to the report: joined, evaluated, filtered,
/// severities and suppressions applied. One path for every command that
/// judges a cluster.
pub(crate) fn judge(
    collected: Collected,
    asked: &Asked,
    config: &Config,
    engine: &Engine,
    today: jiff::civil::Date,
) -> Result<Judged> {
    let Collected {
        mut inventory,
        mut source,
        live,
        scoped_runs,
        looked_in,
    } = collected;
    if let Some(namespace) = &asked.namespace {
        let only = BTreeSet::from([namespace.clone()]);
        inventory.retain_namespaces(&only);
        source.namespaces = vec![namespace.clone()];
    }
    if source.namespaces.is_empty() {
        source.namespaces = inventory
            .pods
            .iter()
            .map(|pod| pod.namespace.clone())
            .chain(inventory.event_namespaces.iter().map(|ns| ns.to_string()))
            .filter(|ns| !ns.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    // A snapshot may lack a kind; a cluster's missing kind is a gap (and
    // `--run` asks for nodes only when its pods need them).
    let expected: &[(&str, &str)] = if live {
        &[]
    } else {
        &[("Pod", "pods"), ("Event", "events"), ("Node", "nodes")]
    };
    let mut skipped: Vec<Skipped> = expected
        .iter()
        .copied()
        .filter(|(kind, _)| !inventory.kinds_seen.contains(*kind))
        .filter(|(_, resource)| !inventory.gaps.iter().any(|g| g.resource == *resource))
        .map(|(_, resource)| Skipped {
            resource: resource.into(),
            reason: format!("no {resource} in the snapshot; checks that need them could not run"),
        })
        .collect();
    skipped.extend(inventory.gaps.iter().map(|gap| Skipped {
        resource: match &gap.namespace {
            Some(namespace) => format!("{} in {namespace}", gap.resource),
            None => gap.resource.clone(),
        },
        reason: gap.message.clone(),
    }));
    let now = now(&inventory, live)?;
    let mut inventory = inventory;
    inventory.grace_seconds = config.grace_seconds;
    let mut facts = inventory.correlate(now);
    if let Some(uuids) = &scoped_runs {
        // Pods of other runs were read for the capacity they hold on
        // nodes; the runs checked are those asked about.
        facts.runs.retain(|uuid| uuids.contains(uuid));
    }
    for wanted in &asked.runs {
        if !facts
            .runs
            .iter()
            .any(|uuid| uuid.starts_with(wanted.as_str()))
        {
            if scoped_runs.is_some() {
                // What could not be read may be why nothing was found.
                let unread: Vec<String> = skipped
                    .iter()
                    .map(|s| format!("{}: {}", s.resource, s.reason))
                    .collect();
                return Err(Error::Usage(format!(
                    "--run {wanted}: nothing {looked_in} belongs to this run: no pod, Job or \
                     Polyaxon resource labelled {}={wanted}, no event about \
                     plx-operation-{wanted}{}{}",
                    crate::facts::workloads::run::INSTANCE,
                    if asked.all_namespaces {
                        ""
                    } else {
                        " (-A looks in every namespace)"
                    },
                    if unread.is_empty() {
                        String::new()
                    } else {
                        format!("; not read: {}", unread.join("; "))
                    }
                )));
            }
            let known: Vec<String> = facts
                .runs
                .iter()
                .take(5)
                .map(|u| format!("{}…", &u[..u.len().min(8)]))
                .collect();
            return Err(Error::Usage(format!(
                "--run {wanted}: no run matches it among the {} run(s) checked{}",
                facts.runs.len(),
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" (e.g. {})", known.join(", "))
                }
            )));
        }
    }
    let findings = engine.evaluate(&facts);
    let filter = Filter {
        only: asked.only.clone(),
        runs: asked.runs.clone(),
    };
    let collection = Collection {
        skipped,
        errors: Vec::new(),
    };
    let marks = PodMarks::new(&facts.pods, config);
    let runs_by_namespace = runs_by_namespace(&facts);
    let report = Report::build(source, findings, facts.runs.len(), &filter, collection)
        .with_severities(|rule, severity| config.severity_of(rule, severity))
        .suppress(
            |finding| config.silencer(finding, marks.of(&finding.subject), today),
            asked.show_suppressed,
        );
    Ok(Judged {
        report,
        runs_by_namespace,
    })
}

/// A report, and how many runs each namespace holds (serve's metrics).
pub(crate) struct Judged {
    pub report: Report,
    pub runs_by_namespace: std::collections::BTreeMap<String, usize>,
}

/// Each run counted once, in the namespace of its pods, Jobs or Polyaxon
/// resource.
fn runs_by_namespace(facts: &crate::facts::Facts) -> std::collections::BTreeMap<String, usize> {
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    let pods = facts
        .pods
        .iter()
        .filter_map(|pod| Some((pod.namespace.as_str(), pod.run.as_ref()?.uuid.as_str())));
    let jobs = facts
        .jobs
        .iter()
        .filter_map(|job| Some((job.namespace.as_str(), job.run.as_ref()?.uuid.as_str())));
    let operations = facts.operations.iter().filter_map(|operation| {
        Some((
            operation.namespace.as_str(),
            operation.run.as_ref()?.uuid.as_str(),
        ))
    });
    for (namespace, uuid) in pods.chain(jobs).chain(operations) {
        if facts.runs.contains(uuid) {
            seen.insert((namespace, uuid));
        }
    }
    let mut counts = std::collections::BTreeMap::new();
    for (namespace, _) in seen {
        *counts.entry(namespace.to_string()).or_insert(0) += 1;
    }
    counts
}

/// "in ml, polyaxon", or "in any namespace" (-A).
fn scope_words(namespaces: &[String]) -> String {
    if namespaces.is_empty() {
        "in any namespace".to_string()
    } else {
        format!("in {}", namespaces.join(", "))
    }
}

/// Keeps the events some loaded rule could match (and those joins read):
/// the rest would only hold memory.
pub(crate) fn event_sieve(engine: &Engine) -> Sieve {
    let filter = engine.prefilter(FactKind::Event, DECIDED_EVENT_FIELDS);
    Sieve::events(move |event| filter.may_match(event))
}

/// Loads `.pxdoctor.yaml` (or `--config`), then the rules with its rule
/// directories; the config's problems and its unknown rule ids are reported
/// together.
pub(crate) fn configured_engine(
    config: Option<&std::path::Path>,
    dirs: &[std::path::PathBuf],
) -> Result<(Config, Engine)> {
    let (config, mut problems) = Config::load(config)?;
    let mut dirs = dirs.to_vec();
    dirs.extend(config.rule_dirs.iter().cloned());
    let engine = Engine::new(engine::load_rules(&dirs, true)?);
    let known: BTreeSet<&str> = engine.rules.iter().map(|rule| rule.id.as_str()).collect();
    config.check_rule_ids(&known, &mut problems);
    // A rule of the user's whose examples fail is refused as a rule without
    // examples is: it would match what its author did not mean. Built-in
    // rules are proven by pxdoctor's own tests.
    let (_, failures) = engine::examples::run(&engine, |rule| {
        dirs.iter().any(|dir| rule.path.starts_with(dir))
    });
    problems.extend(failures);
    if problems.is_empty() {
        crate::redact::add_patterns(config.redact.clone());
        Ok((config, engine))
    } else {
        Err(Error::Input(problems))
    }
}

/// The rules as renderers describe them, with the config's severities.
fn rule_infos(engine: &Engine, config: &Config) -> Vec<RuleInfo> {
    engine
        .rules
        .iter()
        .map(|rule| rule.info(config.severity_of(&rule.id, rule.severity)))
        .collect()
}

/// The day ignore expiries are judged by: PXDOCTOR_NOW (tests), else
/// today (UTC). Not the snapshot's time: an expiry is a team's deadline.
pub(crate) fn today() -> Result<jiff::civil::Date> {
    let now = match std::env::var("PXDOCTOR_NOW") {
        Ok(text) => text.parse::<jiff::Timestamp>().map_err(|error| {
            Error::Usage(format!(
                "PXDOCTOR_NOW={text}: not an RFC 3339 time: {error}"
            ))
        })?,
        Err(_) => jiff::Timestamp::now(),
    };
    Ok(jiff::tz::Offset::UTC.to_datetime(now).date())
}

/// `pxdoctor man`: the roff page on stdout, or every command's page in DIR.
/// The pages of commands that exit with a verdict (and the top page) end
/// with EXIT STATUS and FILES, which clap does not know.
fn man(dir: Option<&std::path::Path>) -> Result<u8> {
    let command = Cli::command();
    let written = match dir {
        // sink: generated man pages, no data.
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .and_then(|()| {
                for page in [
                    "pxdoctor.1",
                    "pxdoctor-check.1",
                    "pxdoctor-lint.1",
                    "pxdoctor-collect.1",
                ] {
                    let path = dir.join(page);
                    if path.is_file() {
                        let mut text = std::fs::read_to_string(&path)?;
                        text.push_str(MAN_SECTIONS);
                        // sink: generated man pages, no data.
                        std::fs::write(&path, text)?;
                    }
                }
                Ok(())
            })
            .map_err(|error| Error::Usage(format!("man --dir {}: {error}", dir.display()))),
        None => {
            let mut page = Vec::new();
            let rendered = clap_mangen::Man::new(command).render(&mut page);
            if rendered.is_ok() {
                page.extend_from_slice(MAN_SECTIONS.as_bytes());
                // sink: the generated man page, no data.
                crate::sink::out_document(&String::from_utf8_lossy(&page));
            }
            Ok(())
        }
    };
    written.map(|()| 0)
}

/// The exit codes of product.md, and the files pxdoctor reads, in roff.
const MAN_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
The checks ran and no finding is at or above \fB\-\-fail\-on\fR (default: error).
.TP
\fB1\fR
The checks ran and at least one finding is at or above \fB\-\-fail\-on\fR.
.TP
\fB2\fR
Usage or input error: a bad flag, an unreadable snapshot, an invalid rule or configuration file (the message names the file, line and column), a \fB\-\-run\fR that matches no run.
.TP
\fB3\fR
Nothing could be collected: the cluster is unreachable, or the credentials were rejected for every request.
.SH FILES
.TP
\fI.pxdoctor.yaml\fR
The configuration in the current directory (or \fB\-\-config\fR FILE): ignores with their reasons, severity overrides, categories, more rule directories, grace, redaction patterns.
.TP
\fIrules/\fR
The built-in rules are compiled in; \fB\-\-rules\fR DIR adds YAML rule files and vocabularies.
.TP
\fI$KUBECONFIG\fR, \fI~/.kube/config\fR
The cluster, user and namespace, as kubectl reads them.
.TP
\fI~/.polyaxon/\fR
The Polyaxon CLI's host and token, for the API probe (also POLYAXON_HOST, POLYAXON_AUTH_TOKEN).
"#;

/// The moment pending durations run to: PXDOCTOR_NOW (for reproducible
/// reports and tests), a bundle's collection time, a snapshot's newest
/// timestamp, or the clock for a live cluster.
fn now(inventory: &crate::facts::Inventory, live: bool) -> Result<jiff::Timestamp> {
    if let Ok(text) = std::env::var("PXDOCTOR_NOW") {
        return text.parse().map_err(|error| {
            Error::Usage(format!(
                "PXDOCTOR_NOW={text}: not an RFC 3339 time: {error}"
            ))
        });
    }
    let recorded = inventory
        .collected_at
        .or(if live { None } else { inventory.newest });
    Ok(recorded.unwrap_or_else(jiff::Timestamp::now))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::Collection(format!("cannot start the async runtime: {error}")))
}

pub(crate) fn cluster_options(args: &ClusterArgs) -> ClusterOptions {
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
pub(crate) async fn gather(
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
pub(crate) async fn probe_stores(
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
pub(crate) async fn probe_api(
    args: &ClusterArgs,
    deadline: tokio::time::Instant,
) -> Option<ApiProbe> {
    let config = match CliConfig::load(&ConfigSources::from_env()) {
        Ok(Some(config)) => config,
        Ok(None) => return None,
        Err(problem) => {
            crate::sink::err(&format!(
                "pxdoctor: warning: the Polyaxon CLI's configuration: {}; the Polyaxon API was not checked",
                problem.0
            ));
            return None;
        }
    };
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

/// The cluster, then the Polyaxon API (unless --no-api).
async fn gather_and_ask(
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

fn collect(args: &CollectArgs) -> Result<u8> {
    let deadline = tokio::time::Instant::now() + args.cluster.timeout;
    let (config, problems) = Config::load(args.config.as_deref())?;
    if !problems.is_empty() {
        return Err(Error::Input(problems));
    }
    crate::redact::add_patterns(config.redact);
    let runtime = runtime()?;
    let (mut gathered, probe) = runtime.block_on(gather_and_ask(
        &args.cluster,
        true,
        args.probes.no_api,
        Sieve::default(),
        &[],
        deadline,
    ))?;
    let probes = runtime
        .block_on(probe_stores(
            &args.probes,
            &gathered.inventory,
            true,
            &args.cluster,
            deadline,
        ))?
        .unwrap_or_default();
    gathered.inventory.probes = probes;
    let manifest = bundle::Manifest {
        tool: "pxdoctor".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        collected_at: jiff::Timestamp::now().to_string(),
        context: gathered.context.clone(),
        namespaces: gathered.namespaces.clone(),
        skipped: gathered.inventory.gaps.clone(),
        polyaxon_crds: gathered
            .inventory
            .polyaxon_crds
            .as_ref()
            .map(|crds| crds.iter().cloned().collect()),
    };
    bundle::write(
        &args.output,
        &manifest,
        &gathered.raw,
        &gathered.inventory.logs,
        &gathered.inventory.probes,
        probe.as_ref(),
    )?;
    let objects: usize = gathered.raw.iter().map(|list| list.items.len()).sum();
    crate::sink::err(&format!(
        "wrote {}: {objects} objects in {} lists, {} log tails, {} requests",
        args.output.display(),
        gathered.raw.len(),
        gathered.inventory.logs.len(),
        gathered.requests
    ));
    if let Some(probe) = &probe {
        crate::sink::err(&format!(
            "Polyaxon API at {}: {} (probes/{})",
            probe.host,
            probe.outcome,
            crate::facts::artifacts::polyaxon_api::PROBE_FILE
        ));
    }
    for gap in &gathered.inventory.gaps {
        crate::sink::err(&format!(
            "not collected: {} {}: {}",
            gap.verb, gap.resource, gap.message
        ));
    }
    Ok(0)
}

fn rules(command: RulesCommand) -> Result<u8> {
    match command {
        RulesCommand::List { rules } => {
            // As `check` sees them: with .pxdoctor.yaml's rule directories
            // and severities.
            let (config, engine) = configured_engine(None, &rules)?;
            let mut table = comfy_table::Table::new();
            table
                .load_style(comfy_table::presets::NOTHING)
                .set_header(vec!["ID", "CATEGORY", "SEVERITY", "TITLE", "FILE"]);
            for rule in &engine.rules {
                table.add_row(vec![
                    rule.id.clone(),
                    rule.category.to_string(),
                    config.severity_of(&rule.id, rule.severity).to_string(),
                    rule.title.render(&|name| Some(format!("{{{name}}}"))),
                    rule.path.display().to_string(),
                ]);
            }
            crate::sink::out(&table.to_string());
            Ok(0)
        }
        RulesCommand::Explain { id, rules } => {
            let (_, engine) = configured_engine(None, &rules)?;
            // Ids are upper case; `pxd-pend-002` means the same rule.
            let found = engine
                .rules
                .iter()
                .find(|rule| rule.id.eq_ignore_ascii_case(id.trim()));
            let Some(rule) = found else {
                let similar: Vec<&str> = engine
                    .rules
                    .iter()
                    .map(|r| r.id.as_str())
                    .filter(|known| {
                        known.eq_ignore_ascii_case(&id) || known.starts_with(&id[..id.len().min(8)])
                    })
                    .collect();
                return Err(Error::Usage(format!(
                    "no rule `{id}`{}; `pxdoctor rules list` shows them all",
                    if similar.is_empty() {
                        String::new()
                    } else {
                        format!(" (similar: {})", similar.join(", "))
                    }
                )));
            };
            let fields: Vec<String> = rule
                .fact
                .fields()
                .iter()
                .map(|field| format!("#   {:<24} {}", field.name, field.doc))
                .collect();
            crate::sink::out_document(&format!(
                "# {}\n{}\n\n# Fields of fact `{}` its match and templates may use:\n{}",
                rule.path.display(),
                rule.source.trim_end(),
                rule.fact.name(),
                fields.join("\n")
            ));
            Ok(0)
        }
        RulesCommand::Test { dirs } => {
            let engine = Engine::new(engine::load_rules(&dirs, true)?);
            let from_dirs = |rule: &engine::Rule| {
                if dirs.is_empty() {
                    rule.path.starts_with("rules")
                } else {
                    dirs.iter().any(|dir| rule.path.starts_with(dir))
                }
            };
            let (ran, failures) = engine::examples::run(&engine, from_dirs);
            for failure in &failures {
                crate::sink::out(&format!("FAIL {failure}"));
            }
            crate::sink::out(&format!(
                "{} passed, {} failed",
                ran - failures.len(),
                failures.len()
            ));
            Ok(if failures.is_empty() { 0 } else { 1 })
        }
    }
}
