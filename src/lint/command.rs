//! The `lint` command: files in, the same report `check` prints out, and
//! the exit code by `--fail-on`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use crate::cli::{LintArgs, OutputSpec};
use crate::engine::{self, Engine};
use crate::error::{Error, Position, Problem, Result};
use crate::facts::{FactKind, Inventory};
use crate::report::output::Destination;
use crate::report::{
    self, Collection, FailOn, Filter, Format, RenderContext, Report, RuleInfo, Source,
};

use super::check::{self, Options};
use super::cluster;

/// The files to lint: each file given, and the polyaxonfiles (*.yaml,
/// *.yml, *.json) of each directory given, in name order.
fn expand(paths: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        let Ok(entries) = std::fs::read_dir(path) else {
            files.push(path.clone());
            continue;
        };
        let mut found: Vec<std::path::PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
            })
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// A file that cannot be read or parsed, as a finding of its own: the
/// other files are still linted and reported, and the exit code is 2.
fn unreadable(problem: &Problem) -> crate::facts::lint::LintFact {
    crate::facts::lint::LintFact {
        check: "unreadable".into(),
        location: crate::facts::Location {
            file: problem.position.path.display().to_string(),
            line: problem.position.line.unwrap_or(1),
            column: problem.position.column.unwrap_or(1),
        },
        snippet: String::new(),
        details: [(
            "problem",
            crate::facts::Value::Str(problem.message.clone().into()),
        )]
        .into_iter()
        .collect(),
    }
}

/// The schema of `--polyaxon-version`: "2.18" or "2.18.0" (a patch release
/// has its minor's schema).
fn polyaxon_model(version: &str) -> Result<&'static super::model::Model> {
    let minor: Vec<&str> = version.trim_start_matches('v').split('.').take(2).collect();
    super::model::model(&minor.join(".")).ok_or_else(|| {
        Error::Usage(format!(
            "--polyaxon-version {version}: no schema for that version is built in; known: {}",
            super::model::VERSIONS.join(", ")
        ))
    })
}

pub fn run(args: &LintArgs) -> Result<u8> {
    let engine = Engine::new(engine::load_rules(&args.rules, true)?);
    let model = polyaxon_model(&args.polyaxon_version)?;
    let cluster = args.snapshot.as_deref().map(cluster::load).transpose()?;
    let mut problems = Vec::new();
    let mut facts = Vec::new();
    let mut upload_dirs = BTreeSet::new();
    let mut not_checked = Vec::new();
    let paths = expand(&args.files);
    for path in &paths {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                problems.push(Problem {
                    position: Position::file(path),
                    message: format!("cannot read: {error}"),
                });
                continue;
            }
        };
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let options = Options {
            cluster: cluster.as_ref(),
            namespace: args.namespace.as_deref(),
            // Files of one directory share one upload.
            upload_dir: upload_dirs.insert(dir),
            model: Some(model),
        };
        match check::file(path, &shown, &text, &options) {
            Ok(linted) => {
                facts.extend(linted.facts);
                not_checked.extend(linted.not_checked);
            }
            Err(problem) => problems.push(problem),
        }
    }
    facts.extend(problems.iter().map(unreadable));

    // Only lint facts go in, and only lint rules' findings come out.
    let mut all = Inventory::default().correlate(jiff::Timestamp::UNIX_EPOCH);
    all.lint = facts;
    let findings = engine
        .evaluate(&all)
        .into_iter()
        .filter(|finding| {
            engine
                .rule(&finding.rule)
                .is_some_and(|rule| rule.fact == FactKind::Lint)
        })
        .collect();
    let files: Vec<String> = paths.iter().map(|f| f.display().to_string()).collect();
    let source = Source {
        kind: "polyaxonfile".into(),
        path: Some(files.join(", ")),
        paths: files.clone(),
        context: None,
        namespaces: args.namespace.iter().cloned().collect(),
    };
    let mut skipped = cluster.map(|c| c.skipped).unwrap_or_default();
    skipped.extend(not_checked);
    let collection = Collection {
        skipped,
        errors: Vec::new(),
    };
    let mut report = Report::build(source, findings, 0, &Filter::default(), collection);
    let fail_on: FailOn = args.fail_on.into();
    let rules: Vec<RuleInfo> = engine
        .rules
        .iter()
        .filter(|rule| rule.fact == FactKind::Lint)
        .map(|rule| rule.info(rule.severity))
        .collect();
    let context = RenderContext {
        rules: &rules,
        fail_on,
    };
    write(&args.output, &mut report, &context, files.len())?;
    if !problems.is_empty() {
        // Every file was reported; the unreadable ones also end the run
        // with exit 2, named with their position.
        return Err(Error::Input(problems));
    }
    Ok(fail_on.exit_code(&report))
}

/// Renders the report to every `-o FORMAT[=PATH]`, as `check` does.
fn write(
    outputs: &[OutputSpec],
    report: &mut Report,
    context: &RenderContext<'_>,
    files: usize,
) -> Result<()> {
    // A polyaxonfile may hold a credential in an env value or a connection.
    report.redact();
    let report = &*report;
    let destinations: Vec<Destination> = outputs
        .iter()
        .map(|spec| Destination {
            format: spec.format.into(),
            path: spec.path.clone(),
        })
        .collect();
    report::output::validate(&destinations)?;
    let mut failures = Vec::new();
    for destination in &destinations {
        let text = match destination.format {
            Format::Table => table(report, files),
            format => report::render(format, report, context),
        };
        match &destination.path {
            // A closed pipe (`| head`) is not an error worth a panic.
            // sink: the report was redacted above.
            None => drop(std::io::stdout().lock().write_all(text.as_bytes())),
            Some(path) => {
                // sink: the report was redacted above.
                if let Err(error) = std::fs::write(path, text) {
                    failures.push(format!("-o {}: cannot write: {error}", path.display()));
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Usage(failures.join("\n")))
    }
}

/// The table `check` prints, closed by a summary that speaks of files, not
/// of runs and namespaces (the table's own summary counts runs).
fn table(report: &Report, files: usize) -> String {
    let rendered = report::table::render(report);
    let s = &report.summary;
    let summary = if report.findings.is_empty() {
        format!("No findings in {files} polyaxonfile(s).")
    } else {
        format!(
            "{} error(s), {} warning(s), {} info in {files} polyaxonfile(s)",
            s.error, s.warning, s.info
        )
    };
    let mut lines: Vec<String> = rendered.lines().map(str::to_string).collect();
    let is_summary = |line: &str| line.starts_with("No findings.") || line.contains(" error(s), ");
    match lines.iter().rposition(|line| is_summary(line)) {
        Some(i) => lines[i] = summary,
        None => lines.push(summary),
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}
