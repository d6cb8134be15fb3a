//! `.pxdoctor.yaml`: what a team decided about pxdoctor's findings, kept
//! in their repository — ignores (each with a reason, optionally until a
//! date), severity overrides per rule, categories turned off, and extra rule
//! directories.
//!
//! Like rule files, the file is read into spanned values and validated as a
//! whole, so one run names every problem with file, line and column (exit
//! 2), as cargo-deny does for its configuration. Applying the decisions to
//! findings is [`matcher`]'s job.

pub mod matcher;
pub mod selector;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::engine::rule::{compile_regex, error_message};
use crate::error::{Error, Position, Problem, Result};
use crate::report::finding::{Category, Severity};
use selector::Selector;

/// Read from the working directory when `--config` is not given.
pub const FILE_NAME: &str = ".pxdoctor.yaml";

/// `pxdoctor.io/ignore: "PXD-PEND-002,PXD-NODE-001"` on a pod silences
/// those rules for that pod.
pub const IGNORE_ANNOTATION: &str = "pxdoctor.io/ignore";

// The file as written; `schema/config.v1.json` is generated from these
// types, and their doc comments are its descriptions.

/// pxdoctor's configuration: ignores (each with a reason), severity
/// overrides, categories on/off and more rule directories.
// Unknown keys are found on the YAML tree first (all of them, each with
// its position), so serde need not stop at the first; the schema still
// refuses them.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "pxdoctor configuration (.pxdoctor.yaml)")]
pub struct ConfigDoc {
    /// More directories of rule files (as `--rules`), relative to this file.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    rules: Vec<Spanned<String>>,
    /// Categories turned on (`true`) or off (`false`); all are on by
    /// default. Findings of a category that is off are counted as
    /// suppressed, not dropped.
    #[serde(default)]
    #[schemars(with = "BTreeMap<Category, bool>")]
    categories: HashMap<Spanned<String>, bool>,
    /// A severity per rule id, replacing the rule's own.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Severity>")]
    severity: HashMap<Spanned<String>, Spanned<String>>,
    /// Findings to silence. Every condition given must hold; at least one
    /// is required, and so is a reason.
    #[serde(default)]
    #[schemars(with = "Vec<IgnoreDoc>")]
    ignore: Vec<Spanned<IgnoreDoc>>,
    /// How long a run may take to start (containers creating, a Job or
    /// custom resource without pods) before it is reported as stuck, as a
    /// duration kubectl takes: `10m`, `90s`. Default 5m.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    grace: Option<Spanned<String>>,
    /// More secrets to mask in everything pxdoctor prints or bundles:
    /// regexes; each masks its `secret` group, else its first group, else
    /// the whole match. E.g. `'acme-key-[0-9a-f]{32}'`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    redact: Vec<Spanned<String>>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct IgnoreDoc {
    /// A rule id, e.g. PXD-PEND-002.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    rule: Option<Spanned<String>>,
    /// The namespace of the finding's object.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    namespace: Option<Spanned<String>>,
    /// A run uuid, or a prefix of it (as `--run`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    run: Option<Spanned<String>>,
    /// The run's project: `project` or `owner/project`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    project: Option<Spanned<String>>,
    /// A label selector over the labels of the finding's pod, as
    /// `kubectl get -l` takes it: `team=ml,env!=prod`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    labels: Option<Spanned<String>>,
    /// A regex searched in the finding's title, explanation and evidence.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    message: Option<Spanned<String>>,
    // An Option only so that a missing reason is reported at the entry.
    /// Why this is silenced (required): the next reader needs it.
    #[schemars(with = "String")]
    reason: Option<Spanned<String>>,
    /// The last day (YYYY-MM-DD, UTC) this holds; after it the findings are
    /// reported again and pxdoctor warns.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    expires: Option<Spanned<String>>,
}

/// One validated ignore entry.
#[derive(Debug, Clone)]
pub struct Ignore {
    /// Where the entry starts: named in the report as what silenced a finding.
    pub position: Position,
    pub rule: Option<(String, Position)>,
    pub namespace: Option<String>,
    pub run: Option<String>,
    pub project: Option<String>,
    pub labels: Option<Selector>,
    pub message: Option<Regex>,
    pub reason: String,
    pub expires: Option<jiff::civil::Date>,
}

impl Ignore {
    pub fn expired(&self, today: jiff::civil::Date) -> bool {
        self.expires.is_some_and(|last_day| today > last_day)
    }
}

/// A validated configuration; the default one decides nothing.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it came from, when there was one.
    pub path: Option<PathBuf>,
    /// Resolved against the file's directory.
    pub rule_dirs: Vec<PathBuf>,
    /// Categories turned off, with where that was said.
    pub categories_off: BTreeMap<Category, Position>,
    /// Rule id → (severity, where that was said).
    pub severity: BTreeMap<String, (Severity, Position)>,
    pub ignores: Vec<Ignore>,
    /// `grace`: seconds a run may take to start; None for the default.
    pub grace_seconds: Option<i64>,
    /// `redact`: a team's own secret patterns.
    pub redact: Vec<Regex>,
}

impl Config {
    /// Reads `explicit` (`--config`), else `.pxdoctor.yaml` in the working
    /// directory when there is one. A file that does not parse is an
    /// error; the problems of a file that parses are returned, to be
    /// reported with those [`Config::check_rule_ids`] finds once the rules
    /// are loaded.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Vec<Problem>)> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None if Path::new(FILE_NAME).is_file() => PathBuf::from(FILE_NAME),
            None => return Ok((Config::default(), Vec::new())),
        };
        let text = std::fs::read_to_string(&path).map_err(|error| match explicit {
            Some(_) => Error::Usage(format!("--config {}: cannot read: {error}", path.display())),
            None => Error::input(Position::file(&path), format!("cannot read: {error}")),
        })?;
        Config::parse(&path, &text)
    }

    /// Parses and validates the text of a configuration file at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<(Config, Vec<Problem>)> {
        let mut config = Config {
            path: Some(path.to_path_buf()),
            ..Config::default()
        };
        // A file of comments only is a valid, empty configuration.
        if text
            .lines()
            .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
        {
            return Ok((config, Vec::new()));
        }
        let doc: ConfigDoc = serde_saphyr::from_str(text).map_err(|error| {
            let position = match error.location() {
                Some(location) => Position::at(path, location.line(), location.column()),
                None => Position::file(path),
            };
            Error::input(position, error_message(&error.to_string()))
        })?;
        let mut problems = unknown_keys(path, text);
        let at = |line: u64, column: u64| Position::at(path, line, column);
        let base = path.parent().unwrap_or(Path::new(""));

        if let Some(grace) = &doc.grace {
            // "0" is no grace at all (for request timeouts kubectl reads
            // it as no limit).
            let parsed = match grace.value.trim() {
                "0" => Ok(std::time::Duration::ZERO),
                text => crate::cli::parse_duration(text),
            };
            match parsed {
                Ok(duration) => config.grace_seconds = Some(duration.as_secs() as i64),
                Err(error) => problems.push(Problem {
                    position: at(grace.referenced.line(), grace.referenced.column()),
                    message: format!("grace: {error}"),
                }),
            }
        }

        for pattern in &doc.redact {
            match compile_regex(&pattern.value) {
                Ok(regex) => config.redact.push(regex),
                Err(message) => problems.push(Problem {
                    position: at(pattern.referenced.line(), pattern.referenced.column()),
                    message: format!("redact: {message}"),
                }),
            }
        }

        for dir in &doc.rules {
            let resolved = base.join(&dir.value);
            if resolved.is_dir() {
                config.rule_dirs.push(resolved);
            } else {
                problems.push(Problem {
                    position: at(dir.referenced.line(), dir.referenced.column()),
                    message: format!(
                        "rules: `{}` is not a directory (looked for {})",
                        dir.value,
                        resolved.display()
                    ),
                });
            }
        }

        for (name, on) in &doc.categories {
            let position = at(name.referenced.line(), name.referenced.column());
            match Category::from_name(&name.value) {
                Some(category) if !on => {
                    config.categories_off.insert(category, position);
                }
                Some(_) => {}
                None => problems.push(Problem {
                    position,
                    message: format!(
                        "categories: unknown category `{}`; expected one of: {}",
                        name.value,
                        Category::ALL.map(Category::name).join(", ")
                    ),
                }),
            }
        }

        for (rule, severity) in &doc.severity {
            match Severity::from_name(&severity.value) {
                Some(level) => {
                    config.severity.insert(
                        rule.value.clone(),
                        (level, at(rule.referenced.line(), rule.referenced.column())),
                    );
                }
                None => problems.push(Problem {
                    position: at(severity.referenced.line(), severity.referenced.column()),
                    message: format!(
                        "severity of {}: `{}` is not error, warning or info",
                        rule.value, severity.value
                    ),
                }),
            }
        }

        for entry in &doc.ignore {
            if let Some(ignore) = ignore_entry(path, entry, &mut problems) {
                config.ignores.push(ignore);
            }
        }
        problems.sort_by_key(|p| (p.position.line, p.position.column));
        Ok((config, problems))
    }

    /// Adds a problem for every rule id the configuration names that no
    /// loaded rule has: a typo there would silence nothing, silently.
    pub fn check_rule_ids(&self, known: &BTreeSet<&str>, problems: &mut Vec<Problem>) {
        let named = self
            .severity
            .iter()
            .map(|(id, (_, position))| (id, position))
            .chain(
                self.ignores
                    .iter()
                    .filter_map(|i| i.rule.as_ref().map(|(id, position)| (id, position))),
            );
        for (id, position) in named {
            if !known.contains(id.as_str()) {
                // `PXD-PEND-02` is PXD-PEND-002 written short, not one of
                // the six ids one edit away.
                let same_number: Vec<&str> = known
                    .iter()
                    .copied()
                    .filter(|k| same_rule_number(k, id))
                    .collect();
                let similar: Vec<&str> = if same_number.is_empty() {
                    known
                        .iter()
                        .copied()
                        .filter(|k| k.eq_ignore_ascii_case(id) || close(k, id))
                        .collect()
                } else {
                    same_number
                };
                problems.push(Problem {
                    position: position.clone(),
                    message: format!(
                        "unknown rule `{id}`{}; `pxdoctor rules list` shows them all",
                        if similar.is_empty() {
                            String::new()
                        } else {
                            format!(" (did you mean {}?)", similar.join(", "))
                        }
                    ),
                });
            }
        }
        problems.sort_by_key(|p| (p.position.line, p.position.column));
    }

    /// The label keys ignore entries select on: all that facts need to keep.
    pub fn label_keys(&self) -> BTreeSet<String> {
        self.ignores
            .iter()
            .filter_map(|i| i.labels.as_ref())
            .flat_map(|s| s.keys().map(str::to_string))
            .collect()
    }

    /// A rule's severity once overrides apply.
    pub fn severity_of(&self, rule: &str, default: Severity) -> Severity {
        self.severity.get(rule).map_or(default, |(s, _)| *s)
    }

    /// Entries whose last day is before `today`: they no longer silence
    /// anything, and the caller warns about each.
    pub fn expired(&self, today: jiff::civil::Date) -> impl Iterator<Item = &Ignore> {
        self.ignores.iter().filter(move |i| i.expired(today))
    }
}

fn ignore_entry(
    path: &Path,
    entry: &Spanned<IgnoreDoc>,
    problems: &mut Vec<Problem>,
) -> Option<Ignore> {
    let at = |s: &Spanned<String>| Position::at(path, s.referenced.line(), s.referenced.column());
    let position = Position::at(path, entry.referenced.line(), entry.referenced.column());
    let doc = &entry.value;
    let before = problems.len();
    let mut problem =
        |position: Position, message: String| problems.push(Problem { position, message });
    let text = |s: &Option<Spanned<String>>| s.as_ref().map(|s| s.value.trim().to_string());

    let reason = match &doc.reason {
        Some(reason) if !reason.value.trim().is_empty() => reason.value.trim().to_string(),
        Some(reason) => {
            problem(
                at(reason),
                "ignore: the reason is empty; say why this is silenced".into(),
            );
            String::new()
        }
        None => {
            problem(
                position.clone(),
                "ignore: an entry needs a `reason` (why this is silenced, for the next reader)"
                    .into(),
            );
            String::new()
        }
    };
    let conditions = [
        &doc.rule,
        &doc.namespace,
        &doc.run,
        &doc.project,
        &doc.labels,
        &doc.message,
    ];
    if conditions.iter().all(|c| c.is_none()) {
        problem(
            position.clone(),
            "ignore: an entry needs at least one of rule, namespace, run, project, labels, message (else it would silence everything)".into(),
        );
    }
    for field in conditions.into_iter().flatten() {
        if field.value.trim().is_empty() {
            problem(
                at(field),
                "ignore: an empty condition matches nothing".into(),
            );
        }
    }
    let labels = doc.labels.as_ref().and_then(|labels| {
        Selector::parse(&labels.value)
            .map_err(|message| problem(at(labels), format!("ignore: {message}")))
            .ok()
    });
    let message = doc.message.as_ref().and_then(|regex| {
        compile_regex(&regex.value)
            .map_err(|message| problem(at(regex), format!("ignore: message: {message}")))
            .ok()
    });
    let expires = doc.expires.as_ref().and_then(|date| {
        date.value
            .trim()
            .parse::<jiff::civil::Date>()
            .map_err(|_| {
                problem(
                    at(date),
                    format!(
                        "ignore: expires: `{}` is not a date (YYYY-MM-DD)",
                        date.value
                    ),
                )
            })
            .ok()
    });
    (problems.len() == before).then(|| Ignore {
        position,
        rule: doc
            .rule
            .as_ref()
            .map(|rule| (rule.value.trim().to_string(), at(rule))),
        namespace: text(&doc.namespace),
        run: text(&doc.run),
        project: text(&doc.project),
        labels,
        message,
        reason,
        expires,
    })
}

/// One edit apart (a typo): worth suggesting.
const FIELDS: &[&str] = &[
    "rules",
    "categories",
    "severity",
    "ignore",
    "grace",
    "redact",
];
const IGNORE_FIELDS: &[&str] = &[
    "rule",
    "namespace",
    "run",
    "project",
    "labels",
    "message",
    "reason",
    "expires",
];

/// Every unknown key of the file and of its ignore entries.
fn unknown_keys(path: &Path, text: &str) -> Vec<Problem> {
    crate::lint::yaml::unknown_keys_in_file(
        path,
        text,
        FIELDS,
        "ignore",
        IGNORE_FIELDS,
        " in an ignore entry",
    )
}

/// `PXD-PEND-002` and `pxd-pend-2`: the same family and number.
fn same_rule_number(known: &str, written: &str) -> bool {
    let split = |id: &str| {
        id.rsplit_once('-')
            .map(|(family, number)| (family.to_ascii_uppercase(), number.parse::<u32>().ok()))
    };
    match (split(known), split(written)) {
        (Some((a, Some(x))), Some((b, Some(y)))) => a == b && x == y,
        _ => false,
    }
}

fn close(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    a.len().max(b.len()) - prefix - suffix <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Config, Vec<Problem>) {
        Config::parse(Path::new("team/.pxdoctor.yaml"), text).expect("parses")
    }

    #[test]
    fn a_full_configuration_reads() {
        let (config, problems) = parse(
            "categories:\n  runtime: false\n  node: true\nseverity:\n  PXD-NODE-002: info\nignore:\n  - rule: PXD-PEND-002\n    namespace: polyaxon\n    labels: team=ml\n    message: 'nvidia\\.com/gpu'\n    reason: GPU pool grows in May\n    expires: 2030-05-31\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert!(config.categories_off.contains_key(&Category::Runtime));
        assert!(!config.categories_off.contains_key(&Category::Node));
        assert_eq!(
            config.severity_of("PXD-NODE-002", Severity::Warning),
            Severity::Info
        );
        let ignore = &config.ignores[0];
        assert_eq!(ignore.position.line, Some(7));
        assert_eq!(ignore.reason, "GPU pool grows in May");
        assert_eq!(config.label_keys(), BTreeSet::from(["team".to_string()]));
        assert!(!ignore.expired("2030-05-31".parse().unwrap()));
        assert!(ignore.expired("2030-06-01".parse().unwrap()));
    }

    #[test]
    fn every_problem_is_named_with_its_position() {
        let (_, problems) = parse(
            "categories:\n  runtim: false\nseverity:\n  PXD-NODE-002: fatal\nignore:\n  - rule: PXD-PEND-002\n  - namespace: x\n    reason: ok\n    labels: 'env in (a'\n    message: '(unclosed'\n    expires: soon\n",
        );
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text[0].starts_with("team/.pxdoctor.yaml:2:3: categories: unknown category `runtim`"),
            "{text:?}"
        );
        assert!(
            text[1].contains(":4:17: severity of PXD-NODE-002: `fatal`"),
            "{text:?}"
        );
        assert!(
            text[2].contains(":6:5: ignore: an entry needs a `reason`"),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains(":9:13: ignore: label selector")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains(":10:14: ignore: message: invalid regex")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains(":11:14: ignore: expires: `soon`")),
            "{text:?}"
        );
    }

    #[test]
    fn unknown_rule_ids_are_problems_with_a_suggestion() {
        let (config, _) = parse("ignore:\n  - rule: PXD-PEND-02\n    reason: x\n");
        let mut problems = Vec::new();
        config.check_rule_ids(
            &BTreeSet::from(["PXD-PEND-002", "PXD-NODE-001"]),
            &mut problems,
        );
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .to_string()
                .contains(":2:11: unknown rule `PXD-PEND-02` (did you mean PXD-PEND-002?)"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn comments_only_is_an_empty_configuration() {
        let (config, problems) = parse("# nothing decided yet\n");
        assert!(problems.is_empty() && config.ignores.is_empty());
    }
}
