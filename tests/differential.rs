//! `pxdoctor lint` against Polyaxon's own validator, file by file, on the
//! corpus under testdata/polyaxonfiles/differential/ (valid files Polyaxon
//! 2.18.0 accepts, and files with one mistake each that it refuses).
//!
//! The default tier compares with the verdicts recorded from the real
//! validator (`polyaxon-2.18.0.tsv`), so plain `cargo test` needs no
//! Python; the ignored tier re-runs `polyaxon --offline check` on every file
//! and fails when the recording no longer matches it (`.ci/run` installs
//! polyaxon and runs it). Known disagreements, each with its reason, are in
//! `allowlist.tsv`; any other disagreement fails, and so does an allowlisted
//! one that no longer disagrees.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{assert_valid_report, pxdoctor, repo, stderr};

fn corpus() -> PathBuf {
    repo().join("testdata/polyaxonfiles/differential")
}

/// `file<TAB>a<TAB>b` lines, comments and the header left out.
fn table(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("file\t") && !line.is_empty())
        .map(|line| {
            let (file, rest) = line.split_once('\t').unwrap_or((line, ""));
            (file.to_string(), rest.to_string())
        })
        .collect()
}

/// Every file's error findings (rule, line), from one `lint` of the corpus.
fn pxdoctor_errors() -> BTreeMap<String, Vec<(String, u64)>> {
    let dir = corpus();
    let valid = dir.join("valid");
    let invalid = dir.join("invalid");
    let output = pxdoctor(&[
        "lint",
        "-o",
        "json",
        "--fail-on",
        "never",
        &valid.to_string_lossy(),
        &invalid.to_string_lossy(),
    ]);
    // The file that is not YAML makes it exit 2; the report is still whole.
    assert!(
        matches!(output.status.code(), Some(0 | 2)),
        "{}",
        stderr(&output)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_valid_report(&report);
    let mut errors: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for finding in report["findings"].as_array().unwrap() {
        if finding["severity"] != "error" {
            continue;
        }
        let location = &finding["location"];
        let file = location["file"]
            .as_str()
            .expect("a lint finding has a file");
        let relative = Path::new(file)
            .strip_prefix(&dir)
            .unwrap_or_else(|_| panic!("{file} is outside the corpus"))
            .to_string_lossy()
            .into_owned();
        errors.entry(relative).or_default().push((
            finding["rule"].as_str().unwrap().to_string(),
            location["line"].as_u64().unwrap_or(0),
        ));
    }
    errors
}

/// The line a file's first comment names: "(line 8)", "at line 4".
fn named_line(file: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let first = text.lines().next()?;
    let at = first.find("line ")?;
    let digits: String = first[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn lint_agrees_with_polyaxon_s_recorded_verdicts_but_for_the_allowlisted_reasons() {
    let dir = corpus();
    let recorded = table(&dir.join("polyaxon-2.18.0.tsv"));
    let allowlist = table(&dir.join("allowlist.tsv"));
    let errors = pxdoctor_errors();
    assert!(
        recorded.len() >= 80,
        "the corpus has {} files",
        recorded.len()
    );

    let mut counts = BTreeMap::<(&str, &str), usize>::new();
    let mut unexplained = Vec::new();
    let mut stale = Vec::new();
    let mut wrong_line = Vec::new();
    for (file, verdict) in &recorded {
        let polyaxon = if verdict.starts_with("pass") {
            "pass"
        } else {
            "fail"
        };
        let found = errors.get(file);
        let ours = if found.is_some() { "fail" } else { "pass" };
        *counts.entry((polyaxon, ours)).or_default() += 1;
        let allowed = allowlist.contains_key(file);
        match (polyaxon == ours, allowed) {
            (false, false) => unexplained.push(format!(
                "{file}: polyaxon {polyaxon}, pxdoctor {ours} {found:?} (polyaxon: {verdict})"
            )),
            (true, true) => stale.push(file.clone()),
            _ => {}
        }
        // A refused file is refused where its comment says the mistake is.
        if polyaxon == "fail"
            && ours == "fail"
            && let Some(line) = named_line(&dir.join(file))
        {
            let lines: Vec<u64> = found.unwrap().iter().map(|(_, l)| *l).collect();
            if !lines.contains(&line) {
                wrong_line.push(format!(
                    "{file}: the mistake is on line {line}, errors on {lines:?}"
                ));
            }
        }
    }
    for file in allowlist.keys() {
        assert!(
            recorded.contains_key(file),
            "allowlist.tsv names {file}, which is not in the corpus"
        );
    }

    println!(
        "agreement with polyaxon 2.18.0 --offline check, {} files:",
        recorded.len()
    );
    println!("  polyaxon  pxdoctor  files");
    for ((polyaxon, ours), count) in &counts {
        println!("  {polyaxon:<9} {ours:<9} {count}");
    }
    println!("  allowlisted disagreements: {}", allowlist.len());
    assert!(
        unexplained.is_empty(),
        "disagreements not in allowlist.tsv:\n{}",
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "allowlisted but agreeing now (drop them from allowlist.tsv): {stale:?}"
    );
    assert!(wrong_line.is_empty(), "{}", wrong_line.join("\n"));
}

/// The polyaxon CLI to record verdicts with: `$POLYAXON`, else on PATH.
fn polyaxon() -> String {
    std::env::var("POLYAXON").unwrap_or_else(|_| "polyaxon".into())
}

#[test]
#[ignore = "needs polyaxon 2.18.0 (PyPI): .ci/run installs it and runs the ignored tier"]
fn the_recorded_verdicts_are_what_polyaxon_itself_says() {
    let polyaxon = polyaxon();
    let version = Command::new(&polyaxon).arg("version").output();
    assert!(
        version.is_ok(),
        "no `{polyaxon}` to run: set POLYAXON to polyaxon 2.18.0's CLI (pip install polyaxon==2.18.0)"
    );
    let output = Command::new("bash")
        .arg(corpus().join("record.sh"))
        .arg("--check")
        .env("POLYAXON", &polyaxon)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "polyaxon's verdicts differ from polyaxon-2.18.0.tsv:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
}
