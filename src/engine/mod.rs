//! The rule engine: rules loaded once, regexes of one fact kind compiled
//! into one `RegexSet` per field (so cost does not grow with the number of
//! rules), and a pure evaluation: facts in, findings out, no I/O.

pub mod examples;
pub mod fold;
pub mod matcher;
pub mod prefilter;
pub mod rule;
pub mod template;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use regex::RegexSet;

use crate::error::{Error, Position, Problem, Result};
use crate::facts::{Fact, FactKind, Facts, FieldSource, Value};
use crate::report::finding::{Fallback, Finding, FoldPart};

use matcher::Matcher;
pub use rule::Rule;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// The built-in rule and vocabulary files: (path under the repository,
/// text).
pub fn builtin_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    builtin::BUILTIN.iter().copied()
}

/// A vocabulary file (rules/vocabularies/, or a team's): its first key is
/// `vocabulary:`.
fn is_vocabulary(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .is_some_and(|line| line.starts_with("vocabulary:"))
}

/// Reads a vocabulary file, naming the file and position of a mistake.
fn parse_vocabulary(
    path: &Path,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Option<crate::facts::shared::words::VocabularyDoc> {
    match serde_saphyr::from_str::<crate::facts::shared::words::VocabularyDoc>(text) {
        Ok(doc) => {
            check_patterns(path, text, &doc, problems);
            Some(doc)
        }
        Err(error) => {
            let position = match error.location() {
                Some(at) => Position::at(path, at.line(), at.column()),
                None => Position::file(path),
            };
            problems.push(Problem {
                position,
                message: format!(
                    "not a vocabulary file: {}",
                    rule::error_message(&error.to_string())
                ),
            });
            None
        }
    }
}

/// A vocabulary's patterns must compile: each one that does not is named at
/// the line that holds it.
fn check_patterns(
    path: &Path,
    text: &str,
    doc: &crate::facts::shared::words::VocabularyDoc,
    problems: &mut Vec<Problem>,
) {
    if doc.kind != crate::facts::shared::words::TermKind::Pattern {
        return;
    }
    for entry in &doc.entries {
        if let Err(error) = regex::Regex::new(&entry.term) {
            let line = text
                .lines()
                .position(|line| line.contains("term:") && line.contains(entry.term.as_str()));
            problems.push(Problem {
                position: match line {
                    Some(line) => Position::at(path, line as u64 + 1, 1),
                    None => Position::file(path),
                },
                message: format!(
                    "pattern `{}` is not a regular expression: {}",
                    entry.term,
                    error.to_string().lines().last().unwrap_or("")
                ),
            });
        }
    }
}

/// A vocabulary's examples must hold: each one that fails is named at its
/// line.
fn check_vocabulary_examples(
    path: &Path,
    text: &str,
    doc: &crate::facts::shared::words::VocabularyDoc,
    all: &crate::facts::shared::words::Vocabulary,
    problems: &mut Vec<Problem>,
) {
    let example_lines: Vec<usize> = text
        .lines()
        .enumerate()
        .skip_while(|(_, line)| !line.starts_with("examples:"))
        .filter(|(_, line)| line.trim_start().starts_with("- "))
        .map(|(index, _)| index + 1)
        .collect();
    for (index, why) in doc.failing_examples(all) {
        problems.push(Problem {
            position: match example_lines.get(index) {
                Some(&line) => Position::at(path, line as u64, 1),
                None => Position::file(path),
            },
            message: format!("example {}: {why}", index + 1),
        });
    }
}

/// Loads the built-in rules plus every `*.yaml` under each of `dirs`, and
/// puts the vocabularies among them (built-in and the dirs') in force.
pub fn load_rules(dirs: &[PathBuf], include_builtin: bool) -> Result<Vec<Rule>> {
    let mut problems = Vec::new();
    let mut rules = Vec::new();
    let mut vocabularies = Vec::new();
    // Where each vocabulary was read, for its examples' positions.
    let mut examples_at: Vec<(PathBuf, String)> = Vec::new();
    let mut read = |path: &Path, text: &str, problems: &mut Vec<Problem>| {
        if is_vocabulary(text) {
            if let Some(doc) = parse_vocabulary(path, text, problems) {
                examples_at.push((path.to_path_buf(), text.to_string()));
                vocabularies.push(doc);
            }
        } else {
            rules.extend(rule::parse(path, text, problems));
        }
    };
    let mut from_dirs = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "--rules {}: not a directory of rule files",
                dir.display()
            )));
        }
        let mut files = Vec::new();
        rule_files(dir, &mut files);
        for file in files {
            match std::fs::read_to_string(&file) {
                Ok(text) => from_dirs.push((file, text)),
                Err(error) => problems.push(Problem {
                    position: Position::file(&file),
                    message: format!("cannot read: {error}"),
                }),
            }
        }
    }
    if include_builtin {
        // A directory's file identical to a built-in one is that rule read
        // from its own path (`rules test rules`, a copy of the built-ins
        // to edit), not a second rule with the same id.
        let copied: HashSet<&str> = from_dirs.iter().map(|(_, text)| text.as_str()).collect();
        for (path, text) in builtin::BUILTIN {
            if !copied.contains(text) {
                read(Path::new(path), text, &mut problems);
            }
        }
    }
    for (file, text) in &from_dirs {
        read(file, text, &mut problems);
    }
    let builtin_paths: HashSet<&Path> = builtin::BUILTIN
        .iter()
        .map(|(path, _)| Path::new(*path))
        .filter(|_| include_builtin)
        .collect();
    let vocabulary = crate::facts::shared::words::Vocabulary::build(&vocabularies);
    for (doc, (path, text)) in vocabularies.iter().zip(&examples_at) {
        check_vocabulary_examples(path, text, doc, &vocabulary, &mut problems);
    }
    crate::facts::shared::words::install(vocabulary);
    rule::check_unique_ids(&rules, &builtin_paths, &mut problems);
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    if problems.is_empty() {
        Ok(rules)
    } else {
        problems.sort_by(|a, b| {
            (&a.position.path, a.position.line, a.position.column).cmp(&(
                &b.position.path,
                b.position.line,
                b.position.column,
            ))
        });
        Err(Error::Input(problems))
    }
}

fn rule_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rule_files(&path, files);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(path);
        }
    }
}

/// Where one rule's regex sits in its kind's sets.
#[derive(Clone, Copy)]
struct Slot {
    set: usize,
    pattern: usize,
}

/// Everything needed to evaluate the rules of one fact kind.
struct KindPlan {
    kind: FactKind,
    rules: Vec<usize>,
    /// Distinct fields the rules read, fetched once per fact.
    fields: Vec<String>,
    /// One RegexSet per field that has regex matchers, by index in `fields`.
    sets: Vec<(usize, RegexSet)>,
    /// For rules[i], matcher j: its regex's slot, if it is a regex.
    slots: Vec<Vec<Option<Slot>>>,
    /// For rules[i], matcher j: its field's index in `fields`.
    field_of: Vec<Vec<usize>>,
}

pub struct Engine {
    pub rules: Vec<Rule>,
    plans: Vec<KindPlan>,
    /// Each fold group's header, parsed once (not once per finding).
    fold_headers: Vec<(&'static str, template::Template)>,
}

/// A rule that matched, with what its regexes captured.
pub struct Match {
    pub rule: usize,
    pub captures: BTreeMap<String, String>,
}

impl Engine {
    pub fn new(rules: Vec<Rule>) -> Engine {
        let plans = FactKind::ALL
            .into_iter()
            .map(|kind| plan(kind, &rules))
            .filter(|plan| !plan.rules.is_empty())
            .collect();
        let fold_headers = fold::GROUPS
            .iter()
            .map(|group| {
                let header =
                    template::Template::parse(group.header).expect("built-in fold headers parse");
                (group.name, header)
            })
            .collect();
        Engine {
            rules,
            plans,
            fold_headers,
        }
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == id)
    }

    /// Every finding the facts give, unsorted and unfolded.
    pub fn evaluate(&self, facts: &Facts) -> Vec<Finding> {
        let mut findings = Vec::new();
        for plan in &self.plans {
            facts.for_each(plan.kind, |fact| {
                let found = self.matches(plan, fact);
                if found.is_empty() {
                    return;
                }
                let fields = FieldMemo::new(fact);
                for found in found {
                    findings.push(self.finding(
                        &self.rules[found.rule],
                        fact,
                        &fields,
                        &found.captures,
                    ));
                }
            });
        }
        findings
    }

    /// The rules of `kind` that match `source`, fallbacks included.
    pub fn matches_of(&self, kind: FactKind, source: &dyn FieldSource) -> Vec<Match> {
        match self.plans.iter().find(|plan| plan.kind == kind) {
            Some(plan) => self.matches(plan, source),
            None => Vec::new(),
        }
    }

    fn matches(&self, plan: &KindPlan, source: &dyn FieldSource) -> Vec<Match> {
        let (values, hits) = read_fields(&plan.fields, &plan.sets, source);
        let passes = |i: usize| {
            let rule = &self.rules[plan.rules[i]];
            rule.matchers.iter().enumerate().all(|(j, (_, matcher))| {
                let value = values[plan.field_of[i][j]].as_ref();
                match plan.slots[i][j] {
                    Some(slot) => hits[slot.set]
                        .as_ref()
                        .is_some_and(|h| h.matched(slot.pattern)),
                    None => matcher.test(value),
                }
            })
        };
        let mut matched: Vec<usize> = (0..plan.rules.len())
            .filter(|&i| !self.rules[plan.rules[i]].fallback && passes(i))
            .collect();
        let fallbacks: Vec<usize> = (0..plan.rules.len())
            .filter(|&i| {
                let rule = &self.rules[plan.rules[i]];
                rule.fallback
                    && !matched.iter().any(|&m| {
                        self.rules[plan.rules[m]].fold.map(|g| g.name) == rule.fold.map(|g| g.name)
                    })
                    && passes(i)
            })
            .collect();
        matched.extend(fallbacks);
        matched
            .into_iter()
            .map(|i| {
                let rule = &self.rules[plan.rules[i]];
                let mut captures = BTreeMap::new();
                for (j, (_, matcher)) in rule.matchers.iter().enumerate() {
                    if let (Matcher::Regex(regex), Some(value)) =
                        (matcher, &values[plan.field_of[i][j]])
                    {
                        let text = value.as_text();
                        if let Some(found) = regex.captures(&text) {
                            for name in regex.capture_names().flatten() {
                                if let Some(m) = found.name(name) {
                                    captures.insert(name.to_string(), m.as_str().to_string());
                                }
                            }
                        }
                    }
                }
                Match {
                    rule: plan.rules[i],
                    captures,
                }
            })
            .collect()
    }

    fn finding(
        &self,
        rule: &Rule,
        fact: &dyn Fact,
        fields: &FieldMemo<'_>,
        captures: &BTreeMap<String, String>,
    ) -> Finding {
        // Values come from the cluster: redacted as they fill a template,
        // so that no finding's words carry a credential (the evidence is
        // redacted with the report).
        let lookup = |name: &str| {
            captures
                .get(name)
                .cloned()
                .or_else(|| fields.text(name))
                .map(|value| crate::redact::redact_line(&value))
        };
        let phrase = rule.explain.render(&lookup);
        let fold = rule.fold.map(|group| {
            let header = self
                .fold_headers
                .iter()
                .find(|(name, _)| *name == group.name)
                .map(|(_, header)| header.render(&lookup))
                .unwrap_or_default();
            FoldPart {
                group: group.name.to_string(),
                header,
                phrase: phrase.clone(),
                priority: rule.priority,
                symptom: rule.symptom,
                weight: fact
                    .field("nodes")
                    .and_then(|v| v.as_number())
                    .map_or(0, |n| n as u64),
            }
        });
        // A folded finding's explanation is written when its group is
        // folded (header, then every cause's phrase); one per raw finding
        // was most of the memory with many Pending runs.
        let explanation = match &fold {
            Some(_) => String::new(),
            None => phrase,
        };
        Finding {
            rule: rule.id.clone(),
            title: rule.title.render(&lookup),
            category: rule.category,
            severity: rule.severity,
            subject: fact.subject(),
            explanation,
            remediation: rule.remediation.render(&lookup),
            evidence: fact.evidence(),
            location: fact.location(),
            docs: rule.docs.clone(),
            causes: Vec::new(),
            fallback: (rule.fallback && rule.fold.is_none()).then_some(match rule.fact {
                FactKind::Event | FactKind::LogLine => Fallback::Words,
                _ => Fallback::Durable,
            }),
            fold,
        }
    }
}

/// A fact's fields as text, each worked out once however many rules
/// matched the fact (some are phrases built from several values).
struct FieldMemo<'f> {
    fact: &'f dyn Fact,
    known: std::cell::RefCell<Vec<(String, Option<String>)>>,
}

impl<'f> FieldMemo<'f> {
    fn new(fact: &'f dyn Fact) -> Self {
        FieldMemo {
            fact,
            known: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        if let Some((_, value)) = self.known.borrow().iter().find(|(known, _)| known == name) {
            return value.clone();
        }
        let value = self.fact.field(name).map(|v| v.as_text().into_owned());
        self.known
            .borrow_mut()
            .push((name.to_string(), value.clone()));
        value
    }
}

/// The values of `fields` in `source`, each read once, and which patterns
/// of each field's set they match.
fn read_fields<'a>(
    fields: &[String],
    sets: &[(usize, RegexSet)],
    source: &'a dyn FieldSource,
) -> (Vec<Option<Value<'a>>>, Vec<Option<regex::SetMatches>>) {
    let values: Vec<Option<Value<'a>>> = fields.iter().map(|f| source.field(f)).collect();
    let hits = sets
        .iter()
        .map(|(field, set)| values[*field].as_ref().map(|v| set.matches(&v.as_text())))
        .collect();
    (values, hits)
}

fn plan(kind: FactKind, rules: &[Rule]) -> KindPlan {
    let members: Vec<usize> = (0..rules.len())
        .filter(|&i| rules[i].fact == kind)
        .collect();
    let mut fields: Vec<String> = Vec::new();
    let mut patterns: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut slots = Vec::new();
    let mut field_of = Vec::new();
    for &r in &members {
        let mut rule_slots = Vec::new();
        let mut rule_fields = Vec::new();
        for (field, matcher) in &rules[r].matchers {
            let f = match fields.iter().position(|known| known == field) {
                Some(f) => f,
                None => {
                    fields.push(field.clone());
                    fields.len() - 1
                }
            };
            rule_fields.push(f);
            rule_slots.push(match matcher {
                Matcher::Regex(regex) => {
                    let list = patterns.entry(f).or_default();
                    list.push(regex.as_str().to_string());
                    Some(Slot {
                        set: f,
                        pattern: list.len() - 1,
                    })
                }
                _ => None,
            });
        }
        slots.push(rule_slots);
        field_of.push(rule_fields);
    }
    // Slots were keyed by field index; renumber them to set positions.
    let set_index: BTreeMap<usize, usize> =
        patterns.keys().enumerate().map(|(i, f)| (*f, i)).collect();
    for rule_slots in &mut slots {
        for slot in rule_slots.iter_mut().flatten() {
            slot.set = set_index[&slot.set];
        }
    }
    let mut sets = Vec::new();
    for (position, (field, list)) in patterns.into_iter().enumerate() {
        match RegexSet::new(list) {
            Ok(set) => sets.push((field, set)),
            // Too big to combine: those regexes are tested one by one.
            Err(_) => {
                for slot in slots.iter_mut().flatten() {
                    if slot.is_some_and(|s| s.set == position) {
                        *slot = None;
                    }
                }
            }
        }
    }
    // Sets that failed left gaps; renumber the slots to the kept sets.
    let kept: Vec<usize> = sets.iter().map(|(field, _)| set_index[field]).collect();
    for slot in slots.iter_mut().flatten().flatten() {
        slot.set = kept.iter().position(|&p| p == slot.set).expect("kept set");
    }
    KindPlan {
        kind,
        rules: members,
        fields,
        sets,
        slots,
        field_of,
    }
}
