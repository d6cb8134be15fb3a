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
    /// Check a snapshot of a cluster and explain what keeps runs from running.
    Check(CheckArgs),
    /// The rule catalogue: list, explain and self-test rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Print the version.
    Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CategoryArg {
    Pending,
    Mount,
    Auth,
    Artifacts,
    Runtime,
    Node,
    Quota,
    Platform,
    Dag,
    Collection,
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

    /// Only report on this run (its uuid, or a prefix of it). Repeatable.
    #[arg(long = "run", value_name = "UUID")]
    pub runs: Vec<String>,

    /// Only report findings of this category. Repeatable.
    #[arg(long = "only", value_name = "CATEGORY")]
    pub only: Vec<CategoryArg>,

    /// Output format. Repeatable: each is printed in turn.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT",
        default_value = "table"
    )]
    pub output: Vec<Output>,

    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "LEVEL", default_value = "error")]
    pub fail_on: FailOnArg,

    /// Only check this namespace.
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
