//! Rule files: the model, loading, and validation with file:line:column.
//!
//! Every problem in every file is collected before giving up, as cargo-deny
//! does, so one run shows the author everything to fix.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::{Position, Problem};
use crate::facts::FactKind;
use crate::facts::shared::value::{FieldType, Value};
use crate::report::finding::{Category, Severity};

use super::fold::{self, FoldGroup};
use super::matcher::Matcher;
use super::template::Template;

/// A rule as written in its YAML file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    id: Spanned<String>,
    title: Spanned<String>,
    category: Spanned<String>,
    severity: Spanned<String>,
    fact: Spanned<String>,
    #[serde(default)]
    fold: Option<Spanned<String>>,
    #[serde(default)]
    fallback: bool,
    #[serde(default)]
    priority: i64,
    #[serde(default)]
    symptom: bool,
    #[serde(rename = "match", default)]
    matchers: BTreeMap<String, Spanned<serde_json::Value>>,
    explain: Spanned<String>,
    remediation: Spanned<String>,
    #[serde(default)]
    docs: Option<String>,
    #[serde(default)]
    examples: Vec<Spanned<ExampleDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleDoc {
    fact: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    matches: Option<bool>,
    #[serde(default)]
    captures: BTreeMap<String, String>,
}

const FIELDS: &[&str] = &[
    "id",
    "title",
    "category",
    "severity",
    "fact",
    "fold",
    "fallback",
    "priority",
    "symptom",
    "match",
    "explain",
    "remediation",
    "docs",
    "examples",
];
const EXAMPLE_FIELDS: &[&str] = &["fact", "matches", "captures"];

fn unknown_keys(path: &Path, text: &str) -> Vec<Problem> {
    crate::lint::yaml::unknown_keys_in_file(
        path,
        text,
        FIELDS,
        "examples",
        EXAMPLE_FIELDS,
        " in an example",
    )
}

/// A rule example: a fact that must (or must not) match.
#[derive(Debug, Clone)]
pub struct Example {
    pub fact: BTreeMap<String, Value<'static>>,
    pub matches: bool,
    pub captures: BTreeMap<String, String>,
    pub line: u64,
}

/// A loaded, validated rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub title: Template,
    pub category: Category,
    pub severity: Severity,
    pub fact: FactKind,
    pub fold: Option<&'static FoldGroup>,
    pub fallback: bool,
    /// Among folded causes of equal severity and node count, the higher
    /// priority leads (a GPU shortage says more than a CPU one beside it).
    pub priority: i64,
    /// A symptom (a mount timeout) is left out of a folded finding when
    /// another cause on the same subject explains it; its evidence stays.
    pub symptom: bool,
    pub matchers: Vec<(String, Matcher)>,
    pub explain: Template,
    pub remediation: Template,
    pub docs: Option<String>,
    pub examples: Vec<Example>,
    pub path: PathBuf,
    /// The file's own text, which `rules explain` prints.
    pub source: String,
}

impl Rule {
    /// Names a rule's regexes capture, which templates may use.
    pub fn capture_names(&self) -> Vec<String> {
        self.matchers
            .iter()
            .flat_map(|(_, matcher)| matcher.capture_names())
            .collect()
    }
}

impl Rule {
    /// What renderers show of the rule (SARIF help, JUnit cases): its
    /// templates with the `{placeholders}` left in, at `severity` (the
    /// rule's own, or `.pxdoctor.yaml`'s override).
    pub fn info(&self, severity: Severity) -> crate::report::RuleInfo {
        let verbatim = |name: &str| Some(format!("{{{name}}}"));
        crate::report::RuleInfo {
            id: self.id.clone(),
            title: self.title.render(&verbatim),
            category: self.category,
            severity,
            explanation: self.explain.render(&verbatim),
            remediation: self.remediation.render(&verbatim),
            docs: self.docs.clone(),
        }
    }
}

/// Parses one rule file; every problem found is pushed to `problems`.
pub fn parse(path: &Path, text: &str, problems: &mut Vec<Problem>) -> Option<Rule> {
    let doc: RuleDoc = match serde_saphyr::from_str(text) {
        Ok(doc) => doc,
        Err(error) => {
            // serde stops at the first unknown key; the tree names them all.
            let unknown = unknown_keys(path, text);
            if !unknown.is_empty() {
                problems.extend(unknown);
                return None;
            }
            let position = match error.location() {
                Some(location) => Position::at(path, location.line(), location.column()),
                None => Position::file(path),
            };
            problems.push(Problem {
                position,
                message: error_message(&error.to_string()),
            });
            return None;
        }
    };
    let before = problems.len();
    let at =
        |spanned_line: u64, spanned_column: u64| Position::at(path, spanned_line, spanned_column);
    let mut report =
        |position: Position, message: String| problems.push(Problem { position, message });

    let category = Category::from_name(&doc.category.value);
    if category.is_none() {
        report(
            at(
                doc.category.referenced.line(),
                doc.category.referenced.column(),
            ),
            format!(
                "unknown category `{}`; expected one of: {}",
                doc.category.value,
                Category::ALL.map(Category::name).join(", ")
            ),
        );
    }
    let severity = Severity::from_name(&doc.severity.value);
    if severity.is_none() {
        report(
            at(
                doc.severity.referenced.line(),
                doc.severity.referenced.column(),
            ),
            format!(
                "unknown severity `{}`; expected error, warning or info",
                doc.severity.value
            ),
        );
    }
    let fact = FactKind::from_name(&doc.fact.value);
    if fact.is_none() {
        report(
            at(doc.fact.referenced.line(), doc.fact.referenced.column()),
            format!(
                "unknown fact kind `{}`; expected one of: {}",
                doc.fact.value,
                FactKind::ALL.map(FactKind::name).join(", ")
            ),
        );
    }
    let fold = doc.fold.as_ref().and_then(|name| {
        let group = fold::group(&name.value);
        if group.is_none() {
            report(
                at(name.referenced.line(), name.referenced.column()),
                format!(
                    "unknown fold group `{}`; expected one of: {}",
                    name.value,
                    fold::GROUPS
                        .iter()
                        .map(|g| g.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        group
    });
    if doc.id.value.trim().is_empty() || doc.id.value.contains(char::is_whitespace) {
        report(
            at(doc.id.referenced.line(), doc.id.referenced.column()),
            "a rule id is one word, such as PXD-PEND-001".into(),
        );
    }

    let mut matchers = Vec::new();
    for (field, spanned) in &doc.matchers {
        let position = at(spanned.referenced.line(), spanned.referenced.column());
        let spec = fact.and_then(|kind| kind.field(field));
        if let Some(kind) = fact
            && spec.is_none()
        {
            report(
                position.clone(),
                format!(
                    "fact kind `{}` has no field `{field}`; its fields are: {}",
                    kind.name(),
                    kind.fields()
                        .iter()
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            continue;
        }
        match Matcher::parse_all(
            &spanned.value,
            spec.map(|s| s.ty).unwrap_or(FieldType::Text),
        ) {
            Ok(parsed) => matchers.extend(parsed.into_iter().map(|m| (field.clone(), m))),
            Err(message) => report(position, format!("`{field}`: {message}")),
        }
    }
    if doc.matchers.is_empty() && !doc.fallback {
        report(
            Position::at(path, doc.id.referenced.line(), 1),
            "a rule needs at least one matcher under `match:`".into(),
        );
    }

    let mut template = |spanned: &Spanned<String>| match Template::parse(&spanned.value) {
        Ok(template) => Some(template),
        Err(error) => {
            report(
                at(spanned.referenced.line(), spanned.referenced.column()),
                format!(
                    "{} (at character {} of the template)",
                    error.message,
                    error.offset + 1
                ),
            );
            None
        }
    };
    let title = template(&doc.title);
    let explain = template(&doc.explain);
    let remediation = template(&doc.remediation);

    let mut examples = Vec::new();
    for spanned in &doc.examples {
        let line = spanned.referenced.line();
        let mut fact_values = BTreeMap::new();
        for (field, value) in &spanned.value.fact {
            if let Some(kind) = fact
                && kind.field(field).is_none()
            {
                report(
                    at(line, spanned.referenced.column()),
                    format!(
                        "example fact: fact kind `{}` has no field `{field}`",
                        kind.name()
                    ),
                );
            }
            match json_to_value(value) {
                Some(value) => {
                    fact_values.insert(field.clone(), value);
                }
                None => report(
                    at(line, spanned.referenced.column()),
                    format!("example fact: `{field}` must be text, a number or true/false"),
                ),
            }
        }
        examples.push(Example {
            fact: fact_values,
            matches: spanned.value.matches.unwrap_or(true),
            captures: spanned.value.captures.clone(),
            line,
        });
    }
    if !examples.iter().any(|e| e.matches) || !examples.iter().any(|e| !e.matches) {
        report(
            Position::at(path, doc.id.referenced.line(), 1),
            "a rule needs examples that match and look-alikes that must not (`matches: false`)"
                .into(),
        );
    }

    if let Some(fact) = fact {
        let mut known: Vec<String> = matchers
            .iter()
            .flat_map(|(_, m)| m.capture_names())
            .collect();
        known.extend(fact.fields().iter().map(|f| f.name.to_string()));
        for (name, spanned, template) in [
            ("title", &doc.title, &title),
            ("explain", &doc.explain, &explain),
            ("remediation", &doc.remediation, &remediation),
        ] {
            for placeholder in template.iter().flat_map(|t| t.placeholders()) {
                if !known.iter().any(|k| k == placeholder) {
                    problems.push(Problem {
                        position: at(spanned.referenced.line(), spanned.referenced.column()),
                        message: format!(
                            "{name}: placeholder `{{{placeholder}}}` is neither a capture of this rule nor a field of `{}`",
                            fact.name()
                        ),
                    });
                }
            }
        }
        if let Some(group) = fold {
            let header = Template::parse(group.header).expect("built-in fold headers parse");
            for placeholder in header.placeholders() {
                if fact.field(placeholder).is_none() {
                    problems.push(Problem {
                        position: at(doc.fold.as_ref().map_or(1, |f| f.referenced.line()), 1),
                        message: format!(
                            "fold group `{}` needs field `{placeholder}`, which `{}` facts do not have",
                            group.name,
                            fact.name()
                        ),
                    });
                }
            }
        }
    }
    let (Some(category), Some(severity), Some(fact), Some(title), Some(explain), Some(remediation)) =
        (category, severity, fact, title, explain, remediation)
    else {
        return None;
    };
    let rule = Rule {
        id: doc.id.value.clone(),
        title,
        category,
        severity,
        fact,
        fold,
        fallback: doc.fallback,
        priority: doc.priority,
        symptom: doc.symptom,
        matchers,
        explain,
        remediation,
        docs: doc.docs,
        examples,
        path: path.to_path_buf(),
        source: text.to_string(),
    };
    let rule_is_sound = problems.len() == before;
    for example in rule.examples.iter().filter(|_| rule_is_sound) {
        for name in example.captures.keys() {
            if !rule.capture_names().contains(name) {
                problems.push(Problem {
                    position: at(example.line, 1),
                    message: format!(
                        "example expects capture `{name}`, which no regex of this rule defines"
                    ),
                });
            }
        }
    }
    (problems.len() == before).then_some(rule)
}

/// Rejects a second rule with an id already taken, naming both files.
/// A clash with a built-in rule is reported at the user's file, and the
/// built-in is named as compiled into pxdoctor, not as a file of theirs.
pub fn check_unique_ids(rules: &[Rule], builtin: &HashSet<&Path>, problems: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, &Rule> = HashMap::new();
    for rule in rules {
        let Some(first) = seen.insert(&rule.id, rule) else {
            continue;
        };
        let (user, other) = if builtin.contains(rule.path.as_path()) {
            (first, rule)
        } else {
            (rule, first)
        };
        let where_ = if builtin.contains(other.path.as_path()) {
            format!(
                "a built-in rule ({}, compiled into pxdoctor); give yours another id",
                other.path.display()
            )
        } else {
            other.path.display().to_string()
        };
        problems.push(Problem {
            position: Position::at(&user.path, id_line(&user.source), 5),
            message: format!(
                "duplicate rule id `{}`: already defined by {where_}",
                rule.id
            ),
        });
    }
}

fn id_line(source: &str) -> u64 {
    source
        .lines()
        .position(|line| line.starts_with("id:"))
        .map_or(1, |i| i as u64 + 1)
}

fn json_to_value(value: &serde_json::Value) -> Option<Value<'static>> {
    match value {
        serde_json::Value::String(text) => Some(Value::Str(text.clone().into())),
        serde_json::Value::Number(number) => number.as_f64().map(Value::Num),
        serde_json::Value::Bool(flag) => Some(Value::Bool(*flag)),
        _ => None,
    }
}

/// saphyr's message may carry a rendered snippet; the position is reported
/// separately, so the first line is enough.
pub fn error_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    let without_position = first
        .strip_prefix("error: ")
        .unwrap_or(first)
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("line ") && head.contains(" column "))
        .map_or(first, |(_, rest)| rest);
    without_position.to_string()
}

/// Compiles a regex, with the regex crate's own explanation on failure.
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|error| {
        let text = error.to_string();
        let detail = text
            .lines()
            .rev()
            .find(|line| line.starts_with("error:"))
            .map(|line| line.trim_start_matches("error:").trim().to_string())
            .unwrap_or(text);
        format!("invalid regex `{pattern}`: {detail}")
    })
}
