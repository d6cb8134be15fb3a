//! The commands, wired onto the pipeline: source → facts → engine → report
//! → output. Errors become exit codes here and nowhere else.

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{CheckArgs, Cli, CollectArgs, Command, RulesCommand};
use crate::config::Config;
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::facts::inventory::sieve::Sieve;
use crate::pipeline::gather::gather_and_ask;
use crate::pipeline::{
    self, Asked, configured_engine, event_sieve, judge, probe_stores, runtime, today, warn_expired,
};
use crate::report::output::Destination;
use crate::report::{self, FailOn};
use crate::report::{RenderContext, RuleInfo};
use crate::source::bundle;

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
    let mut collected = pipeline::gather::collect(
        &runtime,
        pipeline::Request {
            snapshot: args.snapshot.as_deref(),
            cluster: &args.cluster,
            probes: &args.probes,
            runs: &args.runs,
            sieve: event_sieve(&engine),
            deadline,
        },
    )?;
    collected.remembered =
        pipeline::records::for_check(&runtime, args, &mut collected.inventory, deadline)?;
    let today = today()?;
    warn_expired(&config, today);
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

/// The rules as renderers describe them, with the config's severities.
fn rule_infos(engine: &Engine, config: &Config) -> Vec<RuleInfo> {
    engine
        .rules
        .iter()
        .map(|rule| rule.info(config.severity_of(&rule.id, rule.severity)))
        .collect()
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
