//! A live cluster as a source: kubectl's flags and config, one paginated
//! LIST per resource and scope (never a request per object), run
//! concurrently, with the caller's access asked up front. Pages are decoded
//! by the same code as snapshot files, so a cluster and a snapshot of it give
//! the same facts. Forbidden or failed lists become collection gaps.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::error::{Error, Problem, Result};
use crate::facts::artifacts::agent_config;
use crate::facts::inventory::sieve::Sieve;
use crate::facts::{CollectionGap, Inventory, LogTail};

use super::fetch::{FetchError, Fetcher, Listing, encode};
use super::objects;
use super::resources::{POLYAXON, RESOURCES, Resource};
use crate::redact;

/// kubectl's flags, as given.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub as_user: Option<String>,
    pub as_groups: Vec<String>,
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub request_timeout: Duration,
    pub timeout: Duration,
    pub chunk_size: usize,
    pub verbose: bool,
    /// Which events are kept as pages are decoded.
    pub sieve: Sieve,
    /// `--run`: uuids or prefixes; only these runs' objects are fetched.
    pub runs: Vec<String>,
}

/// One list as collected: its objects, for a bundle (redacted).
pub struct RawList {
    pub path: String,
    pub kind: String,
    pub api_version: String,
    pub items: Vec<Value>,
}

/// What a cluster gave.
pub struct Gathered {
    pub inventory: Inventory,
    pub context: Option<String>,
    /// The namespaces checked; empty with -A.
    pub namespaces: Vec<String>,
    /// Present when asked for (collect): the lists, redacted.
    pub raw: Vec<RawList>,
    pub requests: usize,
    /// With `--run`: the full uuids the runs asked for resolved to (only
    /// their objects were fetched).
    pub runs: Option<Vec<String>>,
}

/// Reads the cluster. `keep_raw` keeps redacted objects for a bundle.
pub async fn gather(options: &ClusterOptions, keep_raw: bool) -> Result<Gathered> {
    let (client, context, server) = connect(options).await?;
    let progress = spinner(options.verbose);
    let deadline = Instant::now() + options.timeout;
    let fetcher = Arc::new(Fetcher::new(
        client.clone(),
        deadline,
        options.request_timeout,
        options.chunk_size,
        options.verbose,
        progress.clone(),
    ));
    fetcher.say(format!("contacting {server}"));
    if let Err(error) = fetcher.first_contact().await {
        return Err(unreachable(&server, &error, options.request_timeout));
    }
    fetcher.say("finding Polyaxon's namespaces".into());
    let (namespaces, early) =
        namespaces(options, &fetcher, client.default_namespace(), keep_raw).await;
    let scopes: Vec<Option<String>> = if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.iter().cloned().map(Some).collect()
    };

    fetcher.say("discovering Polyaxon's custom resources".into());
    let crds = polyaxon_crds(&fetcher).await;
    let polyaxon: Vec<&'static Resource> = POLYAXON
        .iter()
        .filter(|r| {
            crds.as_ref()
                .is_some_and(|found| found.contains(&r.full_name()))
        })
        .collect();

    let (outcomes, runs) = if options.runs.is_empty() {
        let outcomes = list_everything(
            &fetcher,
            &scopes,
            &polyaxon,
            early,
            keep_raw,
            &options.sieve,
        )
        .await;
        (outcomes, None)
    } else {
        let scoped = super::run_scope::collect(
            &fetcher,
            &scopes,
            &polyaxon,
            &options.runs,
            early,
            &options.sieve,
        )
        .await?;
        (scoped.outcomes, Some(scoped.uuids))
    };
    let mut inventory = Inventory {
        polyaxon_crds: crds,
        ..Inventory::default()
    };
    let mut raw = Vec::new();
    let mut problems = Vec::new();
    let mut failures = Vec::new();
    let mut succeeded = 0;
    for outcome in outcomes {
        match outcome.result {
            Ok(()) => {
                succeeded += 1;
                inventory.merge(outcome.inventory);
                raw.extend(outcome.raw);
                problems.extend(outcome.problems);
            }
            Err(error) => failures.push((outcome.resource, outcome.verb, outcome.namespace, error)),
        }
    }
    if succeeded == 0
        && let Some((_, _, _, error)) = failures.first()
    {
        return Err(unreachable(&server, error, options.request_timeout));
    }
    for (resource, verb, namespace, error) in failures {
        inventory.gaps.push(gap(resource, verb, namespace, &error));
    }
    if !namespaces.is_empty() {
        // Namespaced objects were read in these namespaces only.
        inventory.scope = Some(namespaces.iter().cloned().collect());
    }
    if !problems.is_empty() {
        // The server's own JSON did not decode: say so rather than guess.
        return Err(Error::Input(problems));
    }
    fetcher.say("reading the artifacts store's Secret".into());
    store_secrets(&fetcher, &mut inventory, keep_raw.then_some(&mut raw)).await;
    fetcher.say("reading the logs of failing Polyaxon containers".into());
    let logs = tails(&fetcher, &inventory, runs.as_ref()).await;
    inventory.logs.extend(logs);
    if let Some(progress) = progress {
        progress.finish_and_clear();
    }
    let (requests, _) = fetcher.counts();
    Ok(Gathered {
        inventory,
        context,
        namespaces,
        raw,
        requests,
        runs,
    })
}

/// What `serve` watches, decided once at start as `check` decides what it
/// lists: the same client, namespaces and Polyaxon resources, and which
/// (resource, scope) the caller may not list (SelfSubjectAccessReview).
pub struct Plan {
    pub client: kube::Client,
    pub context: Option<String>,
    /// The namespaces watched; empty with -A.
    pub namespaces: Vec<String>,
    pub scopes: Vec<Option<String>>,
    pub resources: Vec<&'static Resource>,
    pub crds: Option<BTreeSet<String>>,
    /// Each (resource, scope) the caller may not list, as a collection gap.
    pub denied: Vec<(&'static Resource, Option<String>, CollectionGap)>,
}

/// Connects and decides what to watch (see [`Plan`]).
pub async fn plan(options: &ClusterOptions) -> Result<Plan> {
    let (client, context, server) = connect(options).await?;
    let fetcher = Arc::new(setup_fetcher(&client, options));
    if let Err(error) = fetcher.first_contact().await {
        return Err(unreachable(&server, &error, options.request_timeout));
    }
    let (namespaces, _) = namespaces(options, &fetcher, client.default_namespace(), false).await;
    let scopes: Vec<Option<String>> = if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.iter().cloned().map(Some).collect()
    };
    let crds = polyaxon_crds(&fetcher).await;
    let resources: Vec<&'static Resource> = RESOURCES
        .iter()
        .chain(POLYAXON.iter().filter(|r| {
            crds.as_ref()
                .is_some_and(|found| found.contains(&r.full_name()))
        }))
        .collect();
    let mut denied = Vec::new();
    for resource in &resources {
        let scoped: Vec<Option<String>> = if resource.namespaced {
            scopes.clone()
        } else {
            vec![None]
        };
        for scope in scoped {
            if let Some(message) = self::denied(&fetcher, resource, scope.as_deref()).await {
                let gap = gap(
                    resource,
                    "list",
                    scope.clone(),
                    &FetchError::Forbidden(message),
                );
                denied.push((*resource, scope, gap));
            }
        }
    }
    Ok(Plan {
        client,
        context,
        namespaces,
        scopes,
        resources,
        crds,
        denied,
    })
}

/// A fetcher for the GETs around the watches (the store's Secret, logs),
/// bounded by --timeout from now.
pub fn setup_fetcher(client: &kube::Client, options: &ClusterOptions) -> Fetcher {
    Fetcher::new(
        client.clone(),
        Instant::now() + options.timeout,
        options.request_timeout,
        options.chunk_size,
        options.verbose,
        None,
    )
}

/// What is read beside the lists, for `inventory`: the store's Secret (with
/// the gaps in reading it) and the logs of failing Polyaxon containers.
pub async fn read_extras(fetcher: &Fetcher, inventory: &Inventory) -> Inventory {
    let mut extras = Inventory {
        agent_configs: inventory.agent_configs.clone(),
        ..Inventory::default()
    };
    store_secrets(fetcher, &mut extras, None).await;
    extras.agent_configs.clear();
    extras.logs = tails(fetcher, inventory, None).await;
    extras
}

/// Every resource in every scope, one paginated LIST each, concurrently;
/// `early` holds the lists namespace discovery already made.
async fn list_everything(
    fetcher: &Arc<Fetcher>,
    scopes: &[Option<String>],
    polyaxon: &[&'static Resource],
    early: Vec<Listed>,
    keep_raw: bool,
    sieve: &Sieve,
) -> Vec<Listed> {
    let mut jobs = JoinSet::new();
    for resource in RESOURCES.iter().chain(polyaxon.iter().copied()) {
        let scopes: Vec<Option<String>> = if resource.namespaced {
            scopes.to_vec()
        } else {
            vec![None]
        };
        for scope in scopes {
            let done = early.iter().any(|listed| {
                listed.resource.full_name() == resource.full_name() && listed.namespace == scope
            });
            if done {
                continue;
            }
            let fetcher = fetcher.clone();
            let sieve = sieve.clone();
            jobs.spawn(async move {
                list(&fetcher, resource, scope, Query::All, keep_raw, sieve).await
            });
        }
    }
    let mut outcomes = early;
    while let Some(joined) = jobs.join_next().await {
        let Ok(outcome) = joined else { continue };
        outcomes.push(outcome);
    }
    outcomes
}

/// A client from kubectl's flags: the kubeconfig (or KUBECONFIG's files,
/// merged), else the in-cluster service account.
/// Returns the client, the context's name and the server's URL (for
/// messages).
async fn connect(options: &ClusterOptions) -> Result<(kube::Client, Option<String>, String)> {
    let kubeconfig =
        match &options.kubeconfig {
            Some(path) => Some(Kubeconfig::read_from(path).map_err(|error| {
                Error::Usage(format!("--kubeconfig {}: {error}", path.display()))
            })?),
            None => Kubeconfig::read().ok(),
        };
    let selection = KubeConfigOptions {
        context: options.context.clone(),
        cluster: options.cluster.clone(),
        user: options.user.clone(),
    };
    let (mut config, context) = match kubeconfig {
        Some(kubeconfig) => {
            let context = options
                .context
                .clone()
                .or(kubeconfig.current_context.clone());
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &selection)
                .await
                .map_err(|error| Error::Usage(format!("{}: {error}", kubeconfig_words(options))))?;
            (config, context)
        }
        None => {
            let config = kube::Config::incluster().map_err(|error| {
                Error::Collection(format!(
                    "no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running in a cluster: {error}; \
                     pass --kubeconfig, or --snapshot to read a snapshot"
                ))
            })?;
            (config, None)
        }
    };
    if let Some(user) = &options.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !options.as_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(options.as_groups.clone());
    }
    check_credential_source(&config)?;
    trim_token_file(&mut config);
    // --request-timeout bounds each request whole (connect, TLS, headers,
    // body) in the fetcher: kube's per-read and per-connect timeouts would
    // cut in first with words of their own.
    config.read_timeout = None;
    config.connect_timeout = None;
    // Retries are ours: they honour Retry-After and the run's deadline.
    config.default_retry = false;
    let server = config.cluster_url.to_string();
    let built = if pinning_applies(&config) {
        client_trusting_pinned(config)
    } else {
        kube::Client::try_from(config)
    };
    let client = built.map_err(|error| credential_failure(&error))?;
    Ok((client, context, server))
}

/// What kubectl itself refuses before any request: an exec credential
/// plugin that is not installed (client-go: "exec: executable X not found
/// ... a client-go credential plugin that is not installed"), and the
/// `gcp` and `azure` auth-providers kubectl 1.26 removed.
fn check_credential_source(config: &kube::Config) -> Result<()> {
    if let Some(command) = config
        .auth_info
        .exec
        .as_ref()
        .and_then(|exec| exec.command.as_deref())
        && !installed(command)
    {
        return Err(Error::Collection(format!(
            "the kubeconfig's user gets its credentials from the plugin `{command}`, which is not \
             installed (kubectl needs it too): install it (EKS: the AWS CLI; GKE: `gcloud \
             components install gke-gcloud-auth-plugin`; AKS: kubelogin) or put it on PATH"
        )));
    }
    if let Some(provider) = &config.auth_info.auth_provider
        && matches!(provider.name.as_str(), "gcp" | "azure")
    {
        let plugin = if provider.name == "gcp" {
            "gke-gcloud-auth-plugin (`gcloud container clusters get-credentials` writes it)"
        } else {
            "kubelogin (`az aks get-credentials` then `kubelogin convert-kubeconfig`)"
        };
        return Err(Error::Collection(format!(
            "the kubeconfig's user uses the `{}` auth-provider, which kubectl removed in 1.26: \
             switch the user to the {plugin}",
            provider.name
        )));
    }
    Ok(())
}

/// Whether a credential plugin's command can be run: a path that exists,
/// or a name found on PATH.
fn installed(command: &str) -> bool {
    if command.contains('/') {
        return std::path::Path::new(command).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(command).is_file()))
}

/// A client that could not be built, said for the user. kube runs an exec
/// credential plugin while building the client: a plugin that ran and
/// failed is quoted by its own last words (redacted: a half-working plugin
/// may print credentials), not as kube's dump of its output.
fn credential_failure(error: &kube::Error) -> Error {
    if let kube::Error::Auth(kube::client::AuthError::AuthExecRun { cmd, out }) = error {
        let words = String::from_utf8_lossy(&out.stderr);
        // The first line says what failed; what follows is often advice
        // spread over lines.
        let first = words
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .map(|line| line.chars().take(400).collect::<String>())
            .unwrap_or_else(|| "(it printed nothing on stderr)".to_string());
        let program = cmd.rsplit(' ').next().unwrap_or(cmd).trim_matches('"');
        return Error::Collection(redact::redact_line(&format!(
            "the kubeconfig's exec credential plugin failed: `{program}` exited with {}: {first}; \
             run it by hand to see why (when cloud credentials expired: `aws sso login`, \
             `gcloud auth login`, `az login`)",
            out.status
        )));
    }
    Error::Collection(format!(
        "cannot build a client from the kubeconfig: {}",
        redact::redact_line(&error.to_string())
    ))
}

/// A kubeconfig's `tokenFile` as client-go reads it: trimmed (`echo TOKEN >
/// file` leaves a newline, which kube would send in the header and fail
/// on). Such a file is read once for the run; one without surrounding
/// space is left to kube, which re-reads it as it rotates.
fn trim_token_file(config: &mut kube::Config) {
    let Some(path) = config.auth_info.token_file.clone() else {
        return;
    };
    if config.auth_info.token.is_some() {
        return;
    }
    if let Ok(text) = std::fs::read_to_string(&path)
        && text.trim() != text
    {
        config.auth_info.token = Some(secrecy::SecretString::from(text.trim().to_string()));
        config.auth_info.token_file = None;
    }
}

/// Whether the kubeconfig's CA is to be trusted as kubectl trusts it
/// (src/source/pinned.rs): HTTPS with a CA of its own, verification on, and
/// no proxy (kube's own stack handles proxies, with webpki's trust).
fn pinning_applies(config: &kube::Config) -> bool {
    config.cluster_url.scheme_str() == Some("https")
        && config
            .root_cert
            .as_ref()
            .is_some_and(|roots| !roots.is_empty())
        && !config.accept_invalid_certs
        && config.proxy_url.is_none()
        && config.root_cert_file.is_none()
}

/// kube's client stack (base URI, credentials, impersonation headers) over
/// a TLS connector whose verifier also accepts a pinned serving certificate.
fn client_trusting_pinned(config: kube::Config) -> std::result::Result<kube::Client, kube::Error> {
    use kube::client::ConfigExt;
    // kube's TLS setup takes the process's provider, which kube's own
    // builder installs first: so do we (aws-lc-rs, as everywhere here).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let roots = config.root_cert.clone().unwrap_or_default();
    let verifier = super::pinned::PinnedOrWebPki::new(&roots)
        .map_err(|error| kube::Error::Service(error.to_string().into()))?;
    let mut tls = config.rustls_client_config()?;
    tls.dangerous()
        .set_certificate_verifier(std::sync::Arc::new(verifier));
    let mut builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = rustls::pki_types::ServerName::try_from(name.clone()).map_err(|error| {
            kube::Error::Service(format!("tls-server-name {name}: {error}").into())
        })?;
        builder =
            builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
    }
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    let https = builder.enable_http1().wrap_connector(http);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, kube::client::Body>(https);
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(|error: hyper_util::client::legacy::Error| {
            Box::new(error) as Box<dyn std::error::Error + Send + Sync>
        })
        .service(client);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// Which kubeconfig and selection an error is about, in the user's flags.
fn kubeconfig_words(options: &ClusterOptions) -> String {
    let mut words = match &options.kubeconfig {
        Some(path) => format!("--kubeconfig {}", path.display()),
        None => match std::env::var("KUBECONFIG") {
            Ok(paths) if !paths.is_empty() => format!("KUBECONFIG={paths}"),
            _ => "~/.kube/config".to_string(),
        },
    };
    for (flag, value) in [
        ("--context", &options.context),
        ("--cluster", &options.cluster),
        ("--user", &options.user),
    ] {
        if let Some(value) = value {
            words.push_str(&format!(" {flag} {value}"));
        }
    }
    words
}

/// Exit 3, with what to do about it: the cause in kubectl's words where
/// kubectl has some, and the next step.
fn unreachable(url: &str, error: &FetchError, request_timeout: Duration) -> Error {
    let cause = match error {
        FetchError::Unreachable(message) => crate::facts::shared::words::classify(message),
        _ => None,
    };
    let cause = cause.as_ref().map(|c| c.cause.as_str()).unwrap_or("");
    let hint = match error {
        FetchError::Unauthorized(_) => {
            "the API server rejected the credentials: refresh them (an expired token, a revoked \
             certificate; for EKS `aws eks update-kubeconfig`, for GKE `gcloud container clusters \
             get-credentials`, for AKS `az aks get-credentials`)"
                .to_string()
        }
        FetchError::Timeout => format!(
            "the API server did not answer within --request-timeout {}: check the server address, \
             the VPN or proxy, or raise --request-timeout",
            humantime(request_timeout)
        ),
        FetchError::Unreachable(message) if message.contains("exec") => {
            "the kubeconfig's exec credential plugin failed: run it by hand to see why".to_string()
        }
        FetchError::Unreachable(_) if cause == "connection-refused" => {
            "the connection to the server was refused - did you specify the right host or port? \
             Check the server address in the kubeconfig, that the cluster is up, and the VPN or \
             tunnel it needs"
                .to_string()
        }
        FetchError::Unreachable(_) if cause == "dns" => {
            "the server's name does not resolve: check the server address in the kubeconfig, the \
             VPN (a private cluster's name resolves only inside it) and the DNS"
                .to_string()
        }
        FetchError::Unreachable(_) if cause == "network-unreachable" => {
            "there is no route to the server: check the VPN and the network".to_string()
        }
        FetchError::Unreachable(_) if cause == "tls-client-certificate" => {
            "the API server refused the TLS handshake for want of a client certificate it trusts: \
             the kubeconfig's user needs client-certificate-data and client-key-data (or \
             client-certificate and client-key files) issued by the cluster's CA, in date; \
             `kubectl config view --minify` shows what the user has"
                .to_string()
        }
        FetchError::Unreachable(_) if cause.starts_with("tls-") => {
            "the server's TLS certificate was not accepted: the kubeconfig's \
             certificate-authority-data must be the CA that signed the server's certificate \
             (`kubectl config view --raw --minify` shows it), and the certificate must name the \
             server's address and be in date"
                .to_string()
        }
        FetchError::Forbidden(_) => {
            "the caller may not read anything pxdoctor needs: see `kubectl auth can-i --list`"
                .to_string()
        }
        _ => "check the server address in the kubeconfig, and that the cluster is up".to_string(),
    };
    let at = if url.is_empty() {
        String::new()
    } else {
        format!(" at {url}")
    };
    Error::Collection(format!(
        "nothing could be collected from the cluster{at}: {}; {hint}",
        error.describe()
    ))
}

/// A duration as the flags take it: 2s, 1m30s.
fn humantime(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

fn spinner(verbose: bool) -> Option<ProgressBar> {
    use std::io::IsTerminal;
    if verbose || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

/// -n, else -A, else where Polyaxon runs (plus its agent's additional
/// namespaces), else the context's namespace. The ConfigMap lists that
/// name the additional namespaces are returned too: they are the same
/// lists the check needs, so they are not made twice.
async fn namespaces(
    options: &ClusterOptions,
    fetcher: &Arc<Fetcher>,
    context_namespace: &str,
    keep_raw: bool,
) -> (Vec<String>, Vec<Listed>) {
    if let Some(namespace) = &options.namespace {
        return (vec![namespace.clone()], Vec::new());
    }
    if options.all_namespaces {
        return (Vec::new(), Vec::new());
    }
    let mut found = BTreeSet::new();
    let platform =
        "/api/v1/pods?labelSelector=app.kubernetes.io%2Fpart-of%3Dpolyaxon-core&limit=100";
    if let Ok(body) = fetcher.get(platform).await {
        let list: Value = serde_json::from_str(&body).unwrap_or_default();
        for item in list["items"].as_array().into_iter().flatten() {
            if let Some(namespace) = item.pointer("/metadata/namespace").and_then(Value::as_str) {
                found.insert(namespace.to_string());
            }
        }
    }
    if found.is_empty() {
        found.insert(context_namespace.to_string());
    }
    let config_maps = RESOURCES
        .iter()
        .find(|resource| resource.kind == "ConfigMap")
        .expect("ConfigMaps are among the resources");
    let mut jobs = JoinSet::new();
    for namespace in found.clone() {
        let fetcher = fetcher.clone();
        jobs.spawn(async move {
            list(
                &fetcher,
                config_maps,
                Some(namespace),
                Query::All,
                keep_raw,
                Sieve::default(),
            )
            .await
        });
    }
    let mut early = Vec::new();
    while let Some(joined) = jobs.join_next().await {
        let Ok(listed) = joined else { continue };
        for config in &listed.inventory.agent_configs {
            found.extend(config.additional_namespaces.iter().cloned());
        }
        early.push(listed);
    }
    (found.into_iter().collect(), early)
}

/// Polyaxon's custom resources the API server offers, from discovery; None
/// when discovery itself failed (then nothing is claimed either way).
async fn polyaxon_crds(fetcher: &Fetcher) -> Option<BTreeSet<String>> {
    let groups: Value = serde_json::from_str(&fetcher.get("/apis").await.ok()?).ok()?;
    let mut found = BTreeSet::new();
    for group in groups["groups"].as_array().into_iter().flatten() {
        let name = group["name"].as_str().unwrap_or("");
        if name != "core.polyaxon.com" && name != "polyaxon.com" {
            continue;
        }
        let Ok(body) = fetcher.get(&format!("/apis/{name}/v1")).await else {
            continue;
        };
        let resources: Value = serde_json::from_str(&body).unwrap_or_default();
        for resource in resources["resources"].as_array().into_iter().flatten() {
            if let Some(plural) = resource["name"].as_str().filter(|p| !p.contains('/')) {
                found.insert(format!("{plural}.{name}"));
            }
        }
    }
    Some(found)
}

pub(super) struct Listed {
    pub resource: &'static Resource,
    pub namespace: Option<String>,
    /// "list", or "get" for one object by name.
    pub verb: &'static str,
    pub result: std::result::Result<(), FetchError>,
    pub inventory: Inventory,
    pub raw: Vec<RawList>,
    pub problems: Vec<Problem>,
}

/// Which objects of a resource a LIST asks for.
#[derive(Debug, Clone)]
pub(super) enum Query {
    All,
    /// A label selector, as kubectl's `-l` takes it.
    Labels(String),
    /// A field selector, as kubectl's `--field-selector` takes it.
    Fields(String),
}

impl Query {
    /// As -v says it: `labelled app=x`, `where involvedObject.name=y`.
    pub(super) fn words(&self) -> String {
        match self {
            Query::All => "all".to_string(),
            Query::Labels(selector) => format!("labelled {selector}"),
            Query::Fields(selector) => format!("where {selector}"),
        }
    }

    pub(super) fn parameter(&self) -> String {
        match self {
            Query::All => String::new(),
            Query::Labels(selector) => format!("labelSelector={}", encode(selector)),
            Query::Fields(selector) => format!("fieldSelector={}", encode(selector)),
        }
    }
}

/// One resource in one scope, listed page by page. A whole list is asked
/// about first (SelfSubjectAccessReview: its answer names the missing
/// permission); a selected one is small, and its own 403 says as much.
pub(super) async fn list(
    fetcher: &Fetcher,
    resource: &'static Resource,
    namespace: Option<String>,
    query: Query,
    keep_raw: bool,
    sieve: Sieve,
) -> Listed {
    let mut listed = Listed {
        resource,
        namespace: namespace.clone(),
        verb: "list",
        result: Ok(()),
        inventory: Inventory::default(),
        raw: Vec::new(),
        problems: Vec::new(),
    };
    if matches!(query, Query::All)
        && let Some(message) = denied(fetcher, resource, namespace.as_deref()).await
    {
        listed.result = Err(FetchError::Forbidden(message));
        return listed;
    }
    let mut path = resource.path(namespace.as_deref());
    match &query {
        Query::All => {}
        Query::Labels(_) | Query::Fields(_) => {
            fetcher.explain(format!(
                "{} {}, {}",
                resource.plural,
                scope_words(namespace.as_deref()),
                query.words()
            ));
            path.push('?');
            path.push_str(&query.parameter());
        }
    }
    // Decoding problems name the request, as a file would be named.
    let shown = PathBuf::from(format!("GET {path}"));
    fetcher.say(format!(
        "listing {} {}",
        resource.plural,
        scope_words(namespace.as_deref())
    ));
    let mut items: Vec<Value> = Vec::new();
    let mut list_kind = format!("{}List", resource.kind);
    let mut inventory = Inventory::sieved(sieve.clone());
    let mut problems = Vec::new();
    let outcome = fetcher
        .list(&path, |listing| match listing {
            Listing::Page(body) => {
                objects::read_json(&shown, body, &mut inventory, &mut problems);
                if keep_raw && let Ok(mut page) = serde_json::from_str::<Value>(body) {
                    if let Some(kind) = page["kind"].as_str() {
                        list_kind = kind.to_string();
                    }
                    if let Value::Array(page_items) = page["items"].take() {
                        for mut item in page_items {
                            if resource.kind == "ConfigMap" {
                                // Only the agent's, and only what is read of it.
                                let Some(slim) = agent_config::bundle_form(&item) else {
                                    continue;
                                };
                                item = slim;
                            }
                            redact::redact_object(resource.kind, &mut item);
                            items.push(item);
                        }
                    }
                }
            }
            Listing::Restart => {
                inventory = Inventory::sieved(sieve.clone());
                items.clear();
            }
        })
        .await;
    inventory.kinds_seen.insert(resource.kind.to_string());
    listed.inventory = inventory;
    listed.problems = problems;
    listed.result = outcome.map(|_| ());
    if keep_raw && listed.result.is_ok() {
        let api_version = if resource.group.is_empty() {
            resource.version.to_string()
        } else {
            format!("{}/{}", resource.group, resource.version)
        };
        listed.raw.push(RawList {
            path: resource.bundle_path(namespace.as_deref()),
            kind: list_kind,
            api_version,
            items,
        });
    }
    listed
}

pub(super) fn scope_words(namespace: Option<&str>) -> String {
    match namespace {
        Some(namespace) => format!("in {namespace}"),
        None => "in all namespaces".into(),
    }
}

/// Asks the API server whether the caller may list `resource` there
/// (SelfSubjectAccessReview). Some(reason) when it may not; None when it
/// may, or when the question itself could not be asked (then the LIST
/// will tell).
async fn denied(fetcher: &Fetcher, resource: &Resource, namespace: Option<&str>) -> Option<String> {
    let review = json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {
            "verb": "list",
            "group": resource.group,
            "resource": resource.plural,
            "namespace": namespace.filter(|_| resource.namespaced).unwrap_or(""),
        }}
    });
    let answer = fetcher
        .post(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            review.to_string(),
        )
        .await
        .ok()?;
    let answer: Value = serde_json::from_str(&answer).ok()?;
    if answer.pointer("/status/allowed").and_then(Value::as_bool) != Some(false) {
        return None;
    }
    let reason = answer
        .pointer("/status/reason")
        .and_then(Value::as_str)
        .unwrap_or("");
    let scope = match namespace.filter(|_| resource.namespaced) {
        Some(namespace) => format!("in the namespace \"{namespace}\""),
        None => "at the cluster scope".into(),
    };
    let mut message = format!(
        "SelfSubjectAccessReview: not allowed to list resource \"{}\" in API group \"{}\" {scope}",
        resource.plural, resource.group
    );
    if !reason.is_empty() {
        message.push_str(&format!(" ({reason})"));
    }
    Some(message)
}

fn gap(
    resource: &Resource,
    verb: &str,
    namespace: Option<String>,
    error: &FetchError,
) -> CollectionGap {
    let reason = match error {
        FetchError::Forbidden(_) | FetchError::Unauthorized(_) => "forbidden",
        FetchError::Timeout => "timeout",
        _ => "error",
    };
    CollectionGap {
        verb: verb.into(),
        resource: resource.plural.into(),
        group: resource.group.into(),
        namespace: namespace.filter(|_| resource.namespaced),
        reason: reason.into(),
        message: error.describe(),
        skipped_checks: resource.needed_for.into(),
    }
}

/// The Secret of each artifacts store the agent names: one GET each, never
/// a list of every Secret. Its values stay in memory for the probe; a
/// bundle gets the key names only.
async fn store_secrets(
    fetcher: &Fetcher,
    inventory: &mut Inventory,
    raw: Option<&mut Vec<RawList>>,
) {
    use crate::facts::artifacts::store::{SecretFact, Store};
    let wanted: BTreeSet<(String, String)> = inventory
        .agent_configs
        .iter()
        .filter_map(|config| Store::from_agent(config).ok())
        .filter_map(|store| store.secret.map(|name| (store.namespace, name)))
        .collect();
    let mut items = Vec::new();
    let mut looked = false;
    for (namespace, name) in wanted {
        let path = format!("/api/v1/namespaces/{namespace}/secrets/{name}");
        match fetcher.get(&path).await {
            Ok(body) => {
                looked = true;
                let mut object: Value = serde_json::from_str(&body).unwrap_or_default();
                inventory.secrets.extend(SecretFact::from_json(&object));
                redact::redact_object("Secret", &mut object);
                items.push(object);
            }
            Err(FetchError::NotFound(_)) => looked = true,
            Err(error) => {
                if matches!(error, FetchError::Forbidden(_)) {
                    inventory
                        .secrets_unreadable
                        .insert(format!("{namespace}/{name}"));
                }
                inventory.gaps.push(CollectionGap {
                    verb: "get".into(),
                    resource: "secrets".into(),
                    group: String::new(),
                    namespace: Some(namespace.clone()),
                    reason: match error {
                        FetchError::Forbidden(_) => "forbidden",
                        FetchError::Timeout => "timeout",
                        _ => "error",
                    }
                    .into(),
                    message: format!("Secret {namespace}/{name}: {}", error.describe()),
                    skipped_checks: "the artifacts store's endpoint and credentials (so the store was not probed)"
                        .into(),
                });
            }
        }
    }
    if looked {
        inventory.kinds_seen.insert("Secret".into());
        if let Some(raw) = raw {
            raw.push(RawList {
                path: "store-secrets.json".into(),
                kind: "SecretList".into(),
                api_version: "v1".into(),
                items,
            });
        }
    }
}

/// The last lines of failing Polyaxon containers, and of the agent and
/// operator: what they printed is often the explanation. With `--run`,
/// only those runs' containers: nothing else is reported.
async fn tails(
    fetcher: &Fetcher,
    inventory: &Inventory,
    runs: Option<&Vec<String>>,
) -> Vec<LogTail> {
    const MAX_LOGS: usize = 50;
    let mut wanted = Vec::new();
    for pod in &inventory.pods {
        if let Some(runs) = runs
            && !pod.run.as_ref().is_some_and(|run| runs.contains(&run.uuid))
        {
            continue;
        }
        let platform = matches!(
            pod.component.as_deref(),
            Some("polyaxon-agent" | "polyaxon-operator")
        );
        let containers: Vec<&String> = if platform {
            pod.containers.iter().collect()
        } else if pod.run.is_some() {
            pod.failing_containers
                .iter()
                .filter(|c| crate::facts::workloads::run::is_polyaxon_container(c))
                .collect()
        } else {
            Vec::new()
        };
        for container in containers {
            wanted.push((pod.namespace.clone(), pod.name.clone(), container.clone()));
        }
    }
    let mut tails = Vec::new();
    for (namespace, pod, container) in wanted.into_iter().take(MAX_LOGS) {
        let path = format!(
            "/api/v1/namespaces/{namespace}/pods/{pod}/log?container={container}&tailLines=200"
        );
        if let Ok(text) = fetcher.get(&path).await {
            tails.push(LogTail::from_text(&namespace, &pod, &container, &text));
        }
    }
    tails
}
