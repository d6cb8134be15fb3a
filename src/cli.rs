//! Command-line definitions (clap). Flag names follow kubectl where they
//! overlap, so `kubectl pxdoctor` feels like kubectl.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "pxdoctor",
    version,
    about = "Explains why Polyaxon runs on Kubernetes do not run: what, why, evidence, fix.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a cluster (or a snapshot of one) and explain what keeps runs from running.
    Check(CheckArgs),
    /// Write a redacted snapshot bundle of the cluster for offline analysis.
    Collect(CollectArgs),
    /// Check polyaxonfiles before submitting them: DAG, params, fields, resources.
    Lint(LintArgs),
    /// Who may do what: every permission Polyaxon's service accounts need,
    /// in every namespace its runs go to, granted (by which binding) or missing.
    Access(AccessArgs),
    /// Run in the cluster: watch what `check` reads, re-check on change,
    /// and serve /metrics (Prometheus), /report (JSON), /healthz, /readyz
    /// and / (a page of current findings).
    Serve(ServeArgs),
    /// The rule catalogue: list, explain and self-test rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Print the version.
    Version,
    /// Print a shell completion script: `source <(pxdoctor completions bash)`.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command to --dir.
    Man {
        /// Write pxdoctor.1, pxdoctor-check.1, ... into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    Sarif,
    Junit,
    Markdown,
    /// One line per finding: SEVERITY RULE SUBJECT: title.
    Short,
}

/// One `-o FORMAT[=PATH]`: a format, and the file it goes to (stdout when
/// there is no path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: Output,
    pub path: Option<PathBuf>,
}

/// Parses `FORMAT[=PATH]`, offering the formats to help and completions.
#[derive(Debug, Clone, Copy)]
pub struct OutputParser;

impl clap::builder::TypedValueParser for OutputParser {
    type Value = OutputSpec;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<OutputSpec, clap::Error> {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        let text = value.to_string_lossy();
        let (name, path) = match text.split_once('=') {
            Some((name, path)) => (name, Some(path)),
            None => (text.as_ref(), None),
        };
        let invalid = |value: &str, valid: Vec<String>| {
            let mut error = clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd);
            if let Some(arg) = arg {
                error.insert(
                    ContextKind::InvalidArg,
                    ContextValue::String(arg.to_string()),
                );
            }
            error.insert(
                ContextKind::InvalidValue,
                ContextValue::String(value.to_string()),
            );
            error.insert(ContextKind::ValidValue, ContextValue::Strings(valid));
            error
        };
        let Ok(format) = Output::from_str(name, true) else {
            let formats = Output::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value())
                .map(|v| v.get_name().to_string())
                .collect();
            return Err(invalid(name, formats));
        };
        match path {
            Some("") => Err(invalid(&text, vec![format!("{name}=PATH"), name.into()])),
            Some(path) => Ok(OutputSpec {
                format,
                path: Some(PathBuf::from(path)),
            }),
            None => Ok(OutputSpec { format, path: None }),
        }
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            Output::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value()),
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A snapshot to analyse: a directory of `kubectl get -o json|yaml`
    /// output (or a `kubectl cluster-info dump` directory), or a .tar.gz of one.
    #[arg(long, value_name = "PATH")]
    pub snapshot: Option<PathBuf>,

    /// Also load the rule files (*.yaml) under this directory. Repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,

    /// Only report on this run: its uuid or a prefix of it, in any case,
    /// with or without dashes (as Polyaxon prints it). Repeatable, or
    /// comma-separated.
    #[arg(long = "run", value_name = "UUID", value_delimiter = ',', value_parser = parse_run)]
    pub runs: Vec<String>,

    /// Every run that failed, stopped or sat in warning in this window
    /// (e.g. 24h, 7d), or never reached Kubernetes, from Polyaxon's records
    /// (the CLI's host and token), each explained from the cluster where it
    /// still holds the run, else from the records.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<std::time::Duration>,

    /// Only report findings of this category. Repeatable, or
    /// comma-separated (`--only quota,auth`).
    #[arg(long = "only", value_name = "CATEGORY", value_delimiter = ',')]
    pub only: Vec<crate::report::finding::Category>,

    /// Output format, to stdout or, as FORMAT=PATH, to a file. Repeatable
    /// (`-o json=report.json -o table`); the checks run once; at most one
    /// goes to stdout.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT[=PATH]",
        default_value = "table",
        value_parser = OutputParser
    )]
    pub output: Vec<OutputSpec>,

    /// The configuration file (default: .pxdoctor.yaml in the working
    /// directory, when there is one): ignores, severity overrides,
    /// categories on/off, more rule directories.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Also list the findings that .pxdoctor.yaml or a pxdoctor.io/ignore
    /// annotation silenced, with who silenced them and why.
    #[arg(long)]
    pub show_suppressed: bool,

    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "LEVEL", default_value = "error")]
    pub fail_on: FailOnArg,

    #[command(flatten)]
    pub probes: ProbeArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to serve HTTP: /metrics, /report, /healthz, /readyz and /.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9090")]
    pub listen: std::net::SocketAddr,

    /// Also load the rule files (*.yaml) under this directory. Repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,

    /// The configuration file (default: .pxdoctor.yaml in the working
    /// directory, when there is one), as `check` reads it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// How often the artifacts store and the Polyaxon API are probed (and
    /// the store's Secret and failing containers' logs read again).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub probe_interval: std::time::Duration,

    #[command(flatten)]
    pub probes: ProbeArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct AccessArgs {
    /// A snapshot to read the RBAC objects from, instead of the cluster.
    #[arg(long, value_name = "PATH")]
    pub snapshot: Option<PathBuf>,

    /// Also check this service account against every permission Polyaxon's
    /// accounts need: system:serviceaccount:NAMESPACE:NAME. Repeatable.
    #[arg(long = "subject", value_name = "USER", value_parser = parse_subject)]
    pub subjects: Vec<(String, String)>,

    /// table (a matrix per account: resources × verbs, ✓ granted, ✗
    /// missing, ? unknown), json or markdown.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT",
        default_value = "table"
    )]
    pub output: AccessOutput,

    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessOutput {
    Table,
    Json,
    Markdown,
}

/// `system:serviceaccount:NS:NAME`, as the API server names the account.
pub fn parse_subject(text: &str) -> Result<(String, String), String> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    match parts.as_slice() {
        ["system", "serviceaccount", namespace, name]
            if !namespace.is_empty() && !name.is_empty() =>
        {
            Ok((namespace.to_string(), name.to_string()))
        }
        _ => Err(format!(
            "`{text}` is not a service account: write system:serviceaccount:NAMESPACE:NAME"
        )),
    }
}

/// What is probed besides the cluster: the Polyaxon API and the artifacts
/// store. `check` and `collect` take the same flags.
#[derive(Debug, Args, Clone, Default)]
pub struct ProbeArgs {
    /// Do not call the Polyaxon API with the CLI's configuration
    /// (POLYAXON_HOME or ~/.polyaxon, POLYAXON_HOST, POLYAXON_AUTH_TOKEN).
    /// A snapshot's checks never call it; they read its recorded probe.
    #[arg(long)]
    pub no_api: bool,

    /// Do not probe the artifacts store (nor read a snapshot's recorded
    /// probe).
    #[arg(long)]
    pub no_s3: bool,

    /// Probe reading only: no PutObject and DeleteObject of a probe object
    /// under `.pxdoctor/`.
    #[arg(long)]
    pub no_write_probe: bool,

    /// Probe this bucket (s3://bucket[/prefix]) with the AWS credentials
    /// chain (environment, then profile), whatever the cluster source.
    #[arg(long, value_name = "URL")]
    pub s3_bucket: Option<String>,

    /// The S3 endpoint for --s3-bucket (MinIO, Ceph, ...; default: AWS,
    /// or AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL", requires = "s3_bucket")]
    pub s3_endpoint: Option<String>,

    /// The region for --s3-bucket (default: AWS_REGION, then the profile's).
    #[arg(long, value_name = "REGION", requires = "s3_bucket")]
    pub s3_region: Option<String>,
}

/// kubectl's flags, with kubectl's names.
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// The kubeconfig cluster to use.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// The kubeconfig user to use.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Username to impersonate.
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,

    /// Group to impersonate. Repeatable.
    #[arg(long = "as-group", value_name = "GROUP")]
    pub as_groups: Vec<String>,

    /// Only check this namespace (default: where Polyaxon runs, and its
    /// agent's additional namespaces; else the context's namespace).
    #[arg(
        short = 'n',
        long,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,

    /// Check every namespace (the default for a snapshot).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// How long one request may take, as kubectl takes it: 30s, 1m, 0 (no limit).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: std::time::Duration,

    /// Items per LIST page, as kubectl's --chunk-size.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub chunk_size: u32,

    /// How long the whole collection may take.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Log every request to stderr (method, path, status, duration).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The polyaxonfiles to check.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Also check against this cluster snapshot: requests no node can hold,
    /// nodeSelectors no node matches, missing claims and service accounts.
    #[arg(long, value_name = "PATH")]
    pub snapshot: Option<PathBuf>,

    /// The namespace runs go to, for the claim and service account checks
    /// (default: the file's `namespace`, else any namespace of the snapshot).
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Also load the rule files (*.yaml) under this directory. Repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,

    /// Output format, to stdout or, as FORMAT=PATH, to a file. Repeatable.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT[=PATH]",
        default_value = "table",
        value_parser = OutputParser
    )]
    pub output: Vec<OutputSpec>,

    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "LEVEL", default_value = "error")]
    pub fail_on: FailOnArg,

    /// The Polyaxon version whose polyaxonfile schema the files are checked
    /// against (the schemas built in: 2.18).
    #[arg(long, value_name = "VERSION", default_value = "2.18")]
    pub polyaxon_version: String,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Where to write the bundle (.tar.gz).
    #[arg(short = 'o', long = "output", value_name = "BUNDLE.tar.gz")]
    pub output: PathBuf,

    /// The configuration file (default: .pxdoctor.yaml in the working
    /// directory, when there is one): its `redact` patterns mask more
    /// secrets in the bundle.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub probes: ProbeArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// A run uuid or prefix as pxdoctor compares it: lower case, no dashes
/// (`5200FC5C`, `5200fc5c-54e8-...` and `5200fc5c54e8...` are one run).
pub fn parse_run(text: &str) -> Result<String, String> {
    let uuid: String = text
        .trim()
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if uuid.is_empty() || uuid.len() > 32 || !uuid.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{text}` is not a run uuid or a prefix of one (hexadecimal, up to 32 digits, dashes allowed)"
        ));
    }
    Ok(uuid)
}

/// Go-style durations as kubectl accepts them: "30s", "1m30s", "500ms",
/// "2h"; a bare number is seconds; "0" means no limit.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    use std::time::Duration;
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(if seconds == 0 {
            Duration::from_secs(24 * 3600)
        } else {
            Duration::from_secs(seconds)
        });
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (e.g. 30s, 1m, 2h)"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let seconds = match unit {
            "ns" => number / 1e9,
            "us" | "µs" => number / 1e6,
            "ms" => number / 1e3,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            "d" => number * 86_400.0,
            _ => {
                return Err(format!(
                    "`{text}` is not a duration: unknown unit `{unit}` (use ms, s, m, h or d)"
                ));
            }
        };
        total += Duration::from_secs_f64(seconds);
    }
    if total.is_zero() {
        return Ok(Duration::from_secs(24 * 3600));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(super::parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(super::parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(
            super::parse_duration("500ms"),
            Ok(Duration::from_millis(500))
        );
        assert_eq!(super::parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(super::parse_duration("5 minutes").is_err());
    }
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules (built-in, plus --rules directories).
    List {
        #[arg(long = "rules", value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// Print a rule's own file: what it matches, why, the fix, its examples.
    Explain {
        id: String,
        #[arg(long = "rules", value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// Run rule examples: the built-in rules, or those under each DIR.
    Test { dirs: Vec<PathBuf> },
}

impl From<Output> for crate::report::Format {
    fn from(output: Output) -> Self {
        use crate::report::Format;
        match output {
            Output::Table => Format::Table,
            Output::Json => Format::Json,
            Output::Sarif => Format::Sarif,
            Output::Junit => Format::Junit,
            Output::Markdown => Format::Markdown,
            Output::Short => Format::Short,
        }
    }
}

impl From<FailOnArg> for crate::report::FailOn {
    fn from(arg: FailOnArg) -> Self {
        use crate::report::FailOn;
        match arg {
            FailOnArg::Error => FailOn::Error,
            FailOnArg::Warning => FailOn::Warning,
            FailOnArg::Info => FailOn::Info,
            FailOnArg::Never => FailOn::Never,
        }
    }
}
