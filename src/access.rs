//! `pxdoctor access`: the permission matrix (facts/access/matrix.rs) of a
//! cluster or a snapshot, as rakkess draws `kubectl auth can-i --list`: a
//! matrix per account and namespace (rows resources, columns verbs), or
//! JSON, or Markdown. Exit 0 when everything is granted, 1 when something
//! is missing, 3 when the RBAC objects could not be read at all.

use std::collections::BTreeSet;

use comfy_table::{ContentArrangement, Table, presets};
use owo_colors::{OwoColorize, Stream};
use serde_json::{Value, json};

use crate::cli::{AccessArgs, AccessOutput};
use crate::error::{Error, Result};
use crate::facts::Inventory;
use crate::facts::access::matrix::{Block, Row};
use crate::facts::access::permission::RBAC_KINDS;
use crate::facts::inventory::sieve::Sieve;
use crate::source::snapshot;

/// Verbs in the order kubectl prints a role's rules.
const VERB_ORDER: [&str; 8] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];

pub fn run(args: &AccessArgs) -> Result<u8> {
    let mut inventory = match &args.snapshot {
        Some(path) => {
            let inventory = snapshot::load_sieved(path, &Sieve::default())?;
            snapshot::require_something(path, &inventory)?;
            inventory
        }
        None => {
            let runtime = crate::pipeline::runtime()?;
            runtime
                .block_on(crate::pipeline::gather(
                    &args.cluster,
                    false,
                    Sieve::default(),
                    &[],
                ))?
                .inventory
        }
    };
    if let Some(namespace) = &args.cluster.namespace {
        inventory.retain_namespaces(&BTreeSet::from([namespace.clone()]));
    }
    unreadable(&inventory, args.snapshot.is_some())?;
    let blocks = inventory.access_matrix(&args.subjects);
    if blocks.is_empty() {
        crate::sink::err(
            "pxdoctor: no Polyaxon service account found (no agent or operator Deployment, no agent \
             ConfigMap): nothing to check; --subject system:serviceaccount:NS:NAME checks any account",
        );
    }
    let text = match args.output {
        AccessOutput::Table => table(&blocks),
        AccessOutput::Json => serde_json::to_string_pretty(&document(&blocks))
            .map_err(|error| Error::Collection(format!("cannot write the JSON: {error}")))?,
        AccessOutput::Markdown => markdown(&blocks),
    };
    crate::sink::out(text.trim_end());
    let missing = blocks
        .iter()
        .flat_map(|b| &b.rows)
        .any(|row| row.granted == Some(false));
    Ok(u8::from(missing))
}

/// Exit 3 when no verdict at all is possible, naming what would make one.
fn unreadable(inventory: &Inventory, from_snapshot: bool) -> Result<()> {
    let rbac_gaps: Vec<String> = inventory
        .gaps
        .iter()
        .filter(|gap| gap.group == "rbac.authorization.k8s.io")
        .map(|gap| match &gap.namespace {
            Some(namespace) => format!("{} {} in {namespace}", gap.verb, gap.resource),
            None => format!("{} {} at the cluster scope", gap.verb, gap.resource),
        })
        .collect();
    let cluster_wide = inventory.gaps.iter().any(|gap| {
        gap.group == "rbac.authorization.k8s.io"
            && (gap.namespace.is_none()
                || matches!(
                    gap.resource.as_str(),
                    "clusterroles" | "clusterrolebindings"
                ))
    });
    if cluster_wide {
        return Err(Error::Collection(format!(
            "the RBAC objects could not be read ({}): pxdoctor needs get, list on roles, \
             rolebindings, clusterroles and clusterrolebindings (group rbac.authorization.k8s.io): \
             kubectl create clusterrole pxdoctor-rbac-reader --verb=get,list,watch \
             --resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,\
             clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io, \
             and a clusterrolebinding of it to the user pxdoctor runs as",
            rbac_gaps.join("; ")
        )));
    }
    let absent: Vec<&str> = RBAC_KINDS
        .iter()
        .copied()
        .filter(|kind| !inventory.kinds_seen.contains(*kind))
        .collect();
    if from_snapshot && !absent.is_empty() {
        return Err(Error::Collection(format!(
            "the snapshot has no {} list: nothing can be said about access; add them with \
             `kubectl get roles,rolebindings -A -o json > rbac.json` and \
             `kubectl get clusterroles,clusterrolebindings -o json > cluster-rbac.json`",
            absent.join(", ")
        )));
    }
    Ok(())
}

/// The verbs a block's rows use, in kubectl's order.
fn verbs(rows: &[Row]) -> Vec<String> {
    let used: BTreeSet<&str> = rows.iter().map(|r| r.verb.as_str()).collect();
    let mut verbs: Vec<String> = VERB_ORDER
        .iter()
        .filter(|v| used.contains(*v))
        .map(|v| v.to_string())
        .collect();
    verbs.extend(
        used.iter()
            .filter(|v| !VERB_ORDER.contains(v))
            .map(|v| v.to_string()),
    );
    verbs
}

/// Resources in the order the needs list them.
fn resources(rows: &[Row]) -> Vec<String> {
    let mut resources: Vec<String> = Vec::new();
    for row in rows {
        if !resources.contains(&row.resource) {
            resources.push(row.resource.clone());
        }
    }
    resources
}

fn mark(row: Option<&Row>) -> &'static str {
    match row.map(|r| r.granted) {
        None => "",
        Some(Some(true)) => "✓",
        Some(Some(false)) => "✗",
        Some(None) => "?",
    }
}

fn heading(block: &Block) -> String {
    let who = match block.component {
        Some(component) => format!("{component} {}", block.subject),
        None => block.subject.clone(),
    };
    format!("{who} in {} ({})", block.namespace, block.reason)
}

/// "RoleBinding ns/x → ClusterRole y (rule from ClusterRole z)".
fn via_words(row: &Row) -> Option<String> {
    let via = row.via.as_ref()?;
    let mut words = format!("{} → {}", via.binding, via.role);
    if let Some(from) = &via.aggregated_from {
        words.push_str(&format!(" (aggregated from {from})"));
    }
    Some(words)
}

fn table(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        out.push_str(&format!(
            "{}\n",
            heading(block).if_supports_color(Stream::Stdout, |t| t.bold())
        ));
        let verbs = verbs(&block.rows);
        let mut table = Table::new();
        table
            .load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        let mut header = vec!["RESOURCE".to_string()];
        header.extend(verbs.iter().map(|v| v.to_uppercase()));
        table.set_header(header);
        for resource in resources(&block.rows) {
            let mut line = vec![resource.clone()];
            for verb in &verbs {
                let row = block
                    .rows
                    .iter()
                    .find(|r| r.resource == resource && &r.verb == verb);
                let mark = mark(row);
                let painted = match mark {
                    "✓" => mark
                        .if_supports_color(Stream::Stdout, |t| t.green())
                        .to_string(),
                    "✗" => mark
                        .if_supports_color(Stream::Stdout, |t| t.red())
                        .to_string(),
                    other => other.to_string(),
                };
                line.push(painted);
            }
            table.add_row(line);
        }
        out.push_str(&table.to_string());
        out.push('\n');
        let vias: BTreeSet<String> = block.rows.iter().filter_map(via_words).collect();
        for via in &vias {
            out.push_str(&format!("  ✓ via {via}\n"));
        }
        if block.rows.iter().any(|r| r.granted.is_none()) {
            out.push_str("  ? the RBAC objects of this namespace could not be read\n");
        }
        if let Some(grant) = &block.grant {
            out.push_str("  ✗ missing; to grant exactly that:\n");
            for line in grant.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
        out.push('\n');
    }
    out.push_str(&summary(blocks));
    out
}

fn summary(blocks: &[Block]) -> String {
    let rows = blocks.iter().flat_map(|b| &b.rows);
    let (mut granted, mut missing, mut unknown) = (0, 0, 0);
    for row in rows {
        match row.granted {
            Some(true) => granted += 1,
            Some(false) => missing += 1,
            None => unknown += 1,
        }
    }
    let subjects: BTreeSet<&str> = blocks.iter().map(|b| b.subject.as_str()).collect();
    let namespaces: BTreeSet<&str> = blocks.iter().map(|b| b.namespace.as_str()).collect();
    format!(
        "{missing} missing, {granted} granted, {unknown} unknown: {} account(s) in {} namespace(s)\n",
        subjects.len(),
        namespaces.len()
    )
}

fn document(blocks: &[Block]) -> Value {
    let rows: Vec<Value> = blocks
        .iter()
        .flat_map(|b| &b.rows)
        .map(|row| {
            json!({
                "namespace": row.namespace,
                "subject": row.subject,
                "component": row.component,
                "resource": row.resource,
                "verb": row.verb,
                "granted": row.granted,
                "via": row.via.as_ref().map(|via| json!({
                    "binding": via.binding,
                    "role": via.role,
                    "aggregated_from": via.aggregated_from,
                })),
            })
        })
        .collect();
    let grants: Vec<Value> = blocks
        .iter()
        .filter_map(|b| {
            b.grant.as_ref().map(|grant| {
                json!({
                    "namespace": b.namespace,
                    "subject": b.subject,
                    "commands": grant.lines().collect::<Vec<_>>(),
                })
            })
        })
        .collect();
    json!({
        "schema": "pxdoctor.access/v1",
        "rows": rows,
        "grants": grants,
    })
}

fn markdown(blocks: &[Block]) -> String {
    let mut out = String::from("# Polyaxon's service accounts: access\n\n");
    for block in blocks {
        out.push_str(&format!("## {}\n\n", heading(block)));
        let verbs = verbs(&block.rows);
        out.push_str(&format!("| resource | {} |\n", verbs.join(" | ")));
        out.push_str(&format!("|---|{}\n", "---|".repeat(verbs.len())));
        for resource in resources(&block.rows) {
            let marks: Vec<&str> = verbs
                .iter()
                .map(|verb| {
                    mark(
                        block
                            .rows
                            .iter()
                            .find(|r| r.resource == resource && &r.verb == verb),
                    )
                })
                .collect();
            out.push_str(&format!("| `{resource}` | {} |\n", marks.join(" | ")));
        }
        out.push('\n');
        let vias: BTreeSet<String> = block.rows.iter().filter_map(via_words).collect();
        for via in &vias {
            out.push_str(&format!("- ✓ via {via}\n"));
        }
        if let Some(grant) = &block.grant {
            out.push_str(&format!(
                "\nMissing; to grant exactly that:\n\n```sh\n{grant}\n```\n"
            ));
        }
        out.push('\n');
    }
    out.push_str(&summary(blocks));
    out
}
