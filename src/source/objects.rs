//! Kubernetes objects as `kubectl get -o json|yaml` writes them, into facts.
//!
//! A document is a single object or a `List`/`*List` with `items`. JSON is
//! decoded item by item from borrowed slices of the file, so a list of
//! 100,000 pods never exists as a tree in memory; YAML documents (small, hand
//! made or exported) go through a generic value first. A snapshot
//! directory's lists are read from the file in pieces, one item at a time
//! ([`read_json_file`]), so that not even the file is held whole.

use std::borrow::Cow;
use std::path::Path;

use k8s_openapi::api::core::v1::{Event as CoreEvent, Node, Pod};
use k8s_openapi::api::events::v1::Event as NewEvent;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{Position, Problem};
use crate::facts::access::rbac::{BindingRecord, RoleRecord};
use crate::facts::artifacts::agent_config::AgentConfig;
use crate::facts::storage::claim::{Claim, StorageClass};
use crate::facts::workloads::deployment::DeploymentFact;
use crate::facts::workloads::job::JobFact;
use crate::facts::workloads::operation::OperationFact;
use crate::facts::{EventFact, Inventory, NodeFact, PodFact};

/// The kinds pxdoctor reads; anything else is skipped without complaint.
const KNOWN_KINDS: [&str; 16] = [
    "Pod",
    "ConfigMap",
    "Secret",
    "Event",
    "Node",
    "CustomResourceDefinition",
    "Deployment",
    "PersistentVolumeClaim",
    "StorageClass",
    "Service",
    "Ingress",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ServiceAccount",
];

/// RBAC's kinds; a CRD may reuse their names in another group.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io/";

/// An object's name and namespace, and nothing else of it.
#[derive(Deserialize)]
struct ObjectName {
    metadata: NameOnly,
}

#[derive(Deserialize)]
struct NameOnly {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "apiVersion")]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

/// Reads one JSON file into `inventory`; problems name the file and position.
pub fn read_json(
    path: &Path,
    content: &str,
    inventory: &mut Inventory,
    problems: &mut Vec<Problem>,
) {
    let envelope: Envelope = match serde_json::from_str(content) {
        Ok(envelope) => envelope,
        Err(error) => {
            problems.push(json_problem(path, content, 0, &error));
            return;
        }
    };
    match envelope.items {
        Some(items) => {
            let list_kind = envelope.kind.as_deref().unwrap_or("List");
            let item_kind = list_kind
                .strip_suffix("List")
                .filter(|kind| !kind.is_empty());
            if let Some(kind) = item_kind.filter(|kind| KNOWN_KINDS.contains(kind)) {
                inventory.kinds_seen.insert(kind.to_string());
            }
            for item in items {
                let offset = item.get().as_ptr() as usize - content.as_ptr() as usize;
                let own: Envelope = match serde_json::from_str(item.get()) {
                    Ok(own) => own,
                    Err(error) => {
                        problems.push(json_problem(path, content, offset, &error));
                        continue;
                    }
                };
                let kind = own.kind.as_deref().or(item_kind);
                let api_version = own
                    .api_version
                    .as_deref()
                    .or(envelope.api_version.as_deref());
                if let Some(kind) = kind {
                    let outcome = ingest(kind, api_version, item.get(), inventory);
                    if let Err(error) = outcome {
                        let mut problem = json_problem(path, content, offset, &error);
                        problem.message = explained(kind, api_version, item.get(), &error);
                        problems.push(problem);
                    }
                }
            }
        }
        None if envelope.kind.is_none() => inventory.skipped_files.push(format!(
            "{}: JSON without a Kubernetes `kind` or `items`",
            path.display()
        )),
        None => {
            if let Some(kind) = envelope.kind.as_deref()
                && let Err(error) =
                    ingest(kind, envelope.api_version.as_deref(), content, inventory)
            {
                let mut problem = json_problem(path, content, 0, &error);
                problem.message = explained(kind, envelope.api_version.as_deref(), content, &error);
                problems.push(problem);
            }
        }
    }
}

/// Decodes one object whose kind and apiVersion the caller knows (a
/// watched resource's), as a list item is decoded; what did not decode is
/// said as a list item's problem is (`Pod spec.containers[0].name: ...`).
pub fn read_object(
    kind: &str,
    api_version: &str,
    json: &str,
    inventory: &mut Inventory,
) -> Result<(), String> {
    ingest(kind, Some(api_version), json, inventory)
        .map_err(|error| explained(kind, Some(api_version), json, &error))
}

/// Decodes one object of `kind` from JSON text into its fact.
fn ingest(
    kind: &str,
    api_version: Option<&str>,
    json: &str,
    inventory: &mut Inventory,
) -> serde_json::Result<()> {
    match kind {
        "Pod" => {
            let pod: Pod = serde_json::from_str(json)?;
            inventory.saw_time(crate::facts::workloads::pod::newest_status_time(&pod));
            let fact = PodFact::from_pod(pod);
            if let Some(fact) = fact {
                inventory.saw_time(fact.created);
                inventory.pods.push(fact);
            }
        }
        "Node" => {
            let node: Node = serde_json::from_str(json)?;
            if let Some(fact) = NodeFact::from_node(node) {
                inventory.saw_time(fact.heartbeat);
                inventory.nodes.push(fact);
            }
        }
        "Event" => {
            let fact = match api_version.unwrap_or("v1") {
                "events.k8s.io/v1" => {
                    EventFact::from_events_v1(serde_json::from_str::<NewEvent>(json)?)
                }
                // v1beta1 has the v1 shape; the typed decoder insists on its
                // own apiVersion, so it is dropped first.
                "events.k8s.io/v1beta1" => {
                    let mut value: serde_json::Value = serde_json::from_str(json)?;
                    if let Some(object) = value.as_object_mut() {
                        object.remove("apiVersion");
                    }
                    EventFact::from_events_v1(serde_json::from_value(value)?)
                }
                _ => EventFact::from_core(serde_json::from_str::<CoreEvent>(json)?),
            };
            inventory.add_event(fact);
        }
        "CustomResourceDefinition" => {
            let crd: serde_json::Value = serde_json::from_str(json)?;
            let group = crd
                .pointer("/spec/group")
                .and_then(|g| g.as_str())
                .unwrap_or("");
            let plural = crd
                .pointer("/spec/names/plural")
                .and_then(|p| p.as_str())
                .unwrap_or("");
            // A snapshot with CRDs in it also tells when Polyaxon's are absent.
            let polyaxon = group == "core.polyaxon.com" || group == "polyaxon.com";
            inventory.saw_crd(polyaxon.then(|| format!("{plural}.{group}")).as_deref());
        }
        "PersistentVolumeClaim" => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory.claims.extend(Claim::from_json(&object));
        }
        "Secret" => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory
                .secrets
                .extend(crate::facts::artifacts::store::SecretFact::from_json(
                    &object,
                ));
        }
        "StorageClass" => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory
                .storage_classes
                .extend(StorageClass::from_json(&object));
        }
        // Where the cluster exposes Polyaxon, for the CLI host comparison.
        "Service" if api_version.is_none_or(|v| v == "v1") => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory
                .endpoints
                .extend(crate::facts::artifacts::polyaxon_api::Endpoint::from_service(&object));
        }
        "Ingress" => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory
                .endpoints
                .extend(crate::facts::artifacts::polyaxon_api::Endpoint::from_ingress(&object));
        }
        "Role" if api_version.is_none_or(|v| v.starts_with(RBAC_GROUP)) => {
            let role = serde_json::from_str(json)?;
            inventory.policy.roles.extend(RoleRecord::from_role(role));
        }
        "ClusterRole" if api_version.is_none_or(|v| v.starts_with(RBAC_GROUP)) => {
            let role = serde_json::from_str(json)?;
            inventory
                .policy
                .roles
                .extend(RoleRecord::from_cluster_role(role));
        }
        "RoleBinding" if api_version.is_none_or(|v| v.starts_with(RBAC_GROUP)) => {
            let binding = serde_json::from_str(json)?;
            inventory
                .policy
                .bindings
                .extend(BindingRecord::from_role_binding(binding));
        }
        "ClusterRoleBinding" if api_version.is_none_or(|v| v.starts_with(RBAC_GROUP)) => {
            let binding = serde_json::from_str(json)?;
            inventory
                .policy
                .bindings
                .extend(BindingRecord::from_cluster_role_binding(binding));
        }
        "ServiceAccount" if api_version.is_none_or(|v| v == "v1") => {
            let account: ObjectName = serde_json::from_str(json)?;
            if let Some(name) = account.metadata.name {
                let namespace = account
                    .metadata
                    .namespace
                    .unwrap_or_else(|| "default".into());
                inventory.service_accounts.insert((namespace, name));
            }
        }
        "ConfigMap" if api_version.is_none_or(|v| v == "v1") => {
            inventory
                .agent_configs
                .extend(AgentConfig::from_json(json)?);
        }
        "Job" if api_version.is_some_and(|v| v.starts_with("batch/")) => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory.saw_time(newest_time(&object));
            inventory.jobs.extend(JobFact::from_json(&object));
        }
        "Deployment" if api_version.is_some_and(|v| v.starts_with("apps/")) => {
            let object: serde_json::Value = serde_json::from_str(json)?;
            inventory.saw_time(newest_time(&object));
            for event in crate::facts::workloads::service::condition_events(&object) {
                inventory.add_event(event);
            }
            inventory
                .deployments
                .extend(DeploymentFact::from_json(&object));
        }
        _ => {
            if let Some(resource) = polyaxon_resource(kind, api_version) {
                inventory.saw_crd(Some(resource));
                let object: serde_json::Value = serde_json::from_str(json)?;
                inventory.saw_time(newest_time(&object));
                inventory
                    .operations
                    .extend(OperationFact::from_json(kind, &object));
            }
            return Ok(());
        }
    }
    inventory.kinds_seen.insert(kind.to_string());
    Ok(())
}

/// The newest time an object states (created, started, completed, its
/// conditions' transitions): a snapshot's "now" comes from what it holds,
/// never from the clock, so one snapshot gives one report.
fn newest_time(object: &serde_json::Value) -> Option<jiff::Timestamp> {
    let at = |value: Option<&serde_json::Value>| {
        value
            .and_then(serde_json::Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    let conditions = object
        .pointer("/status/conditions")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    conditions
        .iter()
        .flat_map(|c| {
            [
                at(c.get("lastTransitionTime")),
                at(c.get("lastUpdateTime")),
                at(c.get("lastProbeTime")),
            ]
        })
        .chain([
            at(object.pointer("/metadata/creationTimestamp")),
            at(object.pointer("/status/startTime")),
            at(object.pointer("/status/completionTime")),
        ])
        .flatten()
        .max()
}

/// Polyaxon's own objects, in the ≤2.11 and ≥2.12 layouts (shared/polyaxon.md).
/// Their kinds clash with core Job and Service: the group tells them apart.
fn polyaxon_resource(kind: &str, api_version: Option<&str>) -> Option<&'static str> {
    let group = api_version?.split('/').next()?;
    match (group, kind) {
        ("core.polyaxon.com", "Operation") => Some("operations.core.polyaxon.com"),
        ("polyaxon.com", "Job") => Some("jobs.polyaxon.com"),
        ("polyaxon.com", "Service") => Some("services.polyaxon.com"),
        ("polyaxon.com", "Cluster") => Some("clusters.polyaxon.com"),
        ("polyaxon.com", "KfJob") => Some("kfjobs.polyaxon.com"),
        _ => None,
    }
}

/// The line and column of `field` (`spec.containers[0].name`) in a YAML
/// file's document (and list item), read again only for an object that
/// failed; as deep as the path can be followed.
fn yaml_position(
    path: &Path,
    content: &str,
    document: usize,
    item: Option<usize>,
    field: &str,
) -> Option<Position> {
    let documents = crate::lint::yaml::parse(path, content).ok()?;
    let mut node = documents.get(document)?;
    if let Some(item) = item {
        node = node.get("items")?.items().get(item)?;
    }
    for part in field.split('.') {
        let (key, indices) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            match node.get(key) {
                Some(next) => node = next,
                None => break,
            }
        }
        for index in indices
            .split('[')
            .filter_map(|i| i.trim_end_matches(']').parse().ok())
        {
            match node.items().get::<usize>(index) {
                Some(next) => node = next,
                None => break,
            }
        }
    }
    Some(Position::at(path, node.pos.line, node.pos.column))
}

/// serde's message for an object that failed to decode, led by the
/// object's kind and the path of the field at fault.
fn explained(
    kind: &str,
    api_version: Option<&str>,
    json: &str,
    error: &serde_json::Error,
) -> String {
    let message = strip_position(&error.to_string());
    match field_path(kind, api_version, json) {
        Some(field) => format!("{kind} {field}: {message}"),
        None => message,
    }
}

/// Where in an object of `kind` its decoding failed (`spec.containers[0].name`),
/// worked out again only for an object that failed: the line and column
/// say where, the path says what.
fn field_path(kind: &str, api_version: Option<&str>, json: &str) -> Option<String> {
    fn at<T: serde::de::DeserializeOwned>(json: &str) -> Option<String> {
        let mut decoder = serde_json::Deserializer::from_str(json);
        let error = serde_path_to_error::deserialize::<_, T>(&mut decoder).err()?;
        let path = error.path().to_string();
        (path != ".").then_some(path)
    }
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
    match kind {
        "Pod" => at::<Pod>(json),
        "Node" => at::<Node>(json),
        "Event" if api_version == Some("events.k8s.io/v1") => at::<NewEvent>(json),
        "Event" => at::<CoreEvent>(json),
        "Role" => at::<Role>(json),
        "ClusterRole" => at::<ClusterRole>(json),
        "RoleBinding" => at::<RoleBinding>(json),
        "ClusterRoleBinding" => at::<ClusterRoleBinding>(json),
        _ => None,
    }
}

fn json_problem(path: &Path, content: &str, offset: usize, error: &serde_json::Error) -> Problem {
    let (base_line, base_column) = line_column(content, offset);
    problem_at(path, base_line, base_column, error)
}

/// A problem with an error relative to a text that starts at this line
/// and column of the file.
fn problem_at(path: &Path, base_line: u64, base_column: u64, error: &serde_json::Error) -> Problem {
    let (line, column) = if error.line() <= 1 {
        (
            base_line,
            base_column + error.column().saturating_sub(1) as u64,
        )
    } else {
        (base_line + error.line() as u64 - 1, error.column() as u64)
    };
    Problem {
        position: Position::at(path, line, column.max(1)),
        message: strip_position(&error.to_string()),
    }
}

/// serde_json appends " at line L column C" relative to the item; the
/// problem carries the position in the file instead.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

fn line_column(content: &str, offset: usize) -> (u64, u64) {
    let before = &content[..offset.min(content.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) as u64 + 1;
    (line, column)
}

/// Reads a JSON list (`{"kind": "PodList", "items": [...]}`) from the file
/// at `path` into `inventory`, one item at a time; true when it did. False
/// when the file is not a list or not one this reader takes (a syntax
/// error, text that is not UTF-8, a repeated key): the caller then reads
/// the file whole with [`read_json`], which says what is wrong exactly as
/// it always did, and adds none of this reader's problems. Items read
/// before such a problem stay in `inventory`, which is harmless only
/// because this reader gives up on nothing the whole-file reader accepts:
/// a file with a problem fails the whole snapshot, and a file that is not
/// a list has no items. Problems name the file, line and column.
///
/// Every [`BATCH`] items `flush` is called with `inventory`, to move the
/// facts so far where they are kept: a worker's own vectors then stay
/// small instead of growing to a whole file's facts.
pub fn read_json_file(
    path: &Path,
    inventory: &mut Inventory,
    problems: &mut Vec<Problem>,
    flush: &mut dyn FnMut(&mut Inventory),
) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut scanner = Scanner {
        file,
        buf: Vec::new(),
        start: 0,
        pos: 0,
        eof: false,
    };
    let mut list = StreamedList {
        path,
        inventory,
        flush,
        batched: 0,
        problems: Vec::new(),
        kind: None,
        api_version: None,
        deferred: Vec::new(),
    };
    if list.read(&mut scanner) != Some(true) {
        return false;
    }
    let item_kind = list.item_kind();
    if let Some(kind) = item_kind
        .as_deref()
        .filter(|kind| KNOWN_KINDS.contains(kind))
    {
        list.inventory.kinds_seen.insert(kind.to_string());
    }
    // Items that needed the list's kind or apiVersion, which come after
    // `items` in kubectl's key order.
    for (offset, item) in std::mem::take(&mut list.deferred) {
        if !list.item(offset, &item, true) {
            return false;
        }
    }
    problems.extend(list.problems);
    true
}

/// A file read in pieces: `buf[start..]` holds what is not consumed yet
/// (and the value being cut out); `buf` never holds more than one item.
struct Scanner {
    file: std::fs::File,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    start: u64,
    pos: usize,
    eof: bool,
}

impl Scanner {
    /// Reads more of the file; false at its end.
    fn fill(&mut self) -> bool {
        use std::io::Read;
        if self.eof {
            return false;
        }
        let old = self.buf.len();
        self.buf.resize(old + (1 << 16), 0);
        match self.file.read(&mut self.buf[old..]) {
            Ok(n) if n > 0 => {
                self.buf.truncate(old + n);
                true
            }
            _ => {
                self.buf.truncate(old);
                self.eof = true;
                false
            }
        }
    }

    /// Forgets what was consumed, so the buffer stays one item long.
    fn drop_consumed(&mut self) {
        self.buf.drain(..self.pos);
        self.start += self.pos as u64;
        self.pos = 0;
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                if !b.is_ascii_whitespace() {
                    return Some(b);
                }
                self.pos += 1;
            }
            self.drop_consumed();
            if !self.fill() {
                return None;
            }
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// Cuts out the next value: its file offset and its bytes. Brackets are
    /// balanced and strings skipped; serde_json checks the rest.
    fn value(&mut self) -> Option<(u64, std::ops::Range<usize>)> {
        self.peek()?;
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        let mut i = self.pos;
        loop {
            let Some(&b) = self.buf.get(i) else {
                // Moving the value to the front only when more must be
                // read keeps the copying to about once per byte.
                i -= self.pos;
                self.drop_consumed();
                if !self.fill() {
                    // A scalar may end the file; anything else is cut short.
                    return (depth == 0 && !in_string && i > 0).then_some((self.start, 0..i));
                }
                continue;
            };
            if in_string {
                if escaped {
                    escaped = false;
                    i += 1;
                    continue;
                }
                // Straight to the next quote or backslash: most of a file
                // is inside strings.
                let Some(k) = self.buf[i..].iter().position(|&b| b == b'"' || b == b'\\') else {
                    i = self.buf.len();
                    continue;
                };
                i += k;
                if self.buf[i] == b'\\' {
                    escaped = true;
                } else {
                    in_string = false;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth == 0 => break,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    b',' | b':' if depth == 0 => break,
                    b if depth == 0 && b.is_ascii_whitespace() => break,
                    _ => {}
                }
            }
            i += 1;
        }
        let begin = self.pos;
        self.pos = i;
        (i > begin).then_some((self.start + begin as u64, begin..i))
    }
}

/// What one streamed list has given so far.
/// Items between two calls of `read_json_file`'s `flush`.
pub const BATCH: usize = 4096;

struct StreamedList<'p> {
    path: &'p Path,
    inventory: &'p mut Inventory,
    flush: &'p mut dyn FnMut(&mut Inventory),
    /// Items since the last flush.
    batched: usize,
    problems: Vec<Problem>,
    kind: Option<String>,
    api_version: Option<String>,
    /// Items without their own kind or apiVersion, by file offset.
    deferred: Vec<(u64, Vec<u8>)>,
}

impl StreamedList<'_> {
    /// The top-level object. Some(true): a list, read; Some(false): not a
    /// list; None: not one this reader takes.
    fn read(&mut self, scanner: &mut Scanner) -> Option<bool> {
        scanner.expect(b'{')?;
        let mut seen: Vec<String> = Vec::new();
        let mut first = true;
        loop {
            if scanner.peek()? == b'}' {
                scanner.pos += 1;
                break;
            }
            if !first {
                scanner.expect(b',')?;
            }
            first = false;
            let (_, range) = scanner.value()?;
            let key: String = serde_json::from_slice(&scanner.buf[range]).ok()?;
            // Only the keys the whole-file reader decodes may not repeat
            // (serde refuses a duplicate field and ignores unknown ones).
            // Giving up on any other repeat would hand the file, items
            // already taken, to the whole-file reader, which would take
            // them again without a word.
            let decoded = matches!(key.as_str(), "items" | "kind" | "apiVersion");
            if decoded && seen.contains(&key) {
                return None;
            }
            scanner.expect(b':')?;
            match key.as_str() {
                "items" if scanner.peek()? == b'[' => {
                    scanner.pos += 1;
                    self.items(scanner)?;
                }
                "items" => return None,
                "kind" | "apiVersion" => {
                    let (_, range) = scanner.value()?;
                    let value: Option<String> = serde_json::from_slice(&scanner.buf[range]).ok()?;
                    if key == "kind" {
                        self.kind = value;
                    } else {
                        self.api_version = value;
                    }
                }
                _ => {
                    let (_, range) = scanner.value()?;
                    serde_json::from_slice::<serde::de::IgnoredAny>(&scanner.buf[range]).ok()?;
                }
            }
            seen.push(key);
        }
        // Nothing may follow the object.
        if scanner.peek().is_some() {
            return None;
        }
        Some(seen.iter().any(|key| key == "items"))
    }

    fn items(&mut self, scanner: &mut Scanner) -> Option<()> {
        if scanner.peek()? == b']' {
            scanner.pos += 1;
            return Some(());
        }
        loop {
            let (offset, range) = scanner.value()?;
            let item = &scanner.buf[range];
            if !self.item(offset, item, false) {
                return None;
            }
            self.batched += 1;
            if self.batched == BATCH {
                (self.flush)(self.inventory);
                self.batched = 0;
            }
            match scanner.peek()? {
                b',' => scanner.pos += 1,
                b']' => {
                    scanner.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn item_kind(&self) -> Option<String> {
        let list_kind = self.kind.as_deref().unwrap_or("List");
        list_kind
            .strip_suffix("List")
            .filter(|kind| !kind.is_empty())
            .map(str::to_string)
    }

    /// Decodes one item at `offset` of the file. `last`: the whole list is
    /// read, so its kind and apiVersion are final. False: the item is not
    /// valid JSON, which [`read_json`] reports.
    fn item(&mut self, offset: u64, item: &[u8], last: bool) -> bool {
        let Ok(text) = std::str::from_utf8(item) else {
            return false;
        };
        let own: Envelope = match serde_json::from_str(text) {
            Ok(own) => own,
            Err(error) if error.is_data() => {
                self.problem(offset, &error);
                return true;
            }
            Err(_) => return false,
        };
        if !last && (own.kind.is_none() || own.api_version.is_none()) {
            self.deferred.push((offset, item.to_vec()));
            return true;
        }
        let item_kind = self.item_kind();
        let kind = own.kind.as_deref().or(item_kind.as_deref());
        let api_version = own.api_version.as_deref().or(self.api_version.as_deref());
        if let Some(kind) = kind
            && let Err(error) = ingest(kind, api_version, text, self.inventory)
        {
            let message = explained(kind, api_version, text, &error);
            self.problem(offset, &error);
            if let Some(problem) = self.problems.last_mut() {
                problem.message = message;
            }
        }
        true
    }

    fn problem(&mut self, offset: u64, error: &serde_json::Error) {
        let (line, column) = file_line_column(self.path, offset);
        self.problems
            .push(problem_at(self.path, line, column, error));
    }
}

/// Line and column (in characters, as [`line_column`] counts) of a byte
/// offset of a file, read again for it: only when an item is wrong.
fn file_line_column(path: &Path, offset: u64) -> (u64, u64) {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return (1, 1);
    };
    let mut reader = std::io::BufReader::new(file).take(offset);
    let (mut line, mut column) = (1u64, 1u64);
    let mut chunk = [0u8; 1 << 16];
    while let Ok(n) = reader.read(&mut chunk) {
        if n == 0 {
            break;
        }
        for &b in &chunk[..n] {
            if b == b'\n' {
                line += 1;
                column = 1;
            } else if b & 0xC0 != 0x80 {
                column += 1;
            }
        }
    }
    (line, column)
}

/// Reads one YAML file (one or more documents) into `inventory`.
pub fn read_yaml(
    path: &Path,
    content: &str,
    inventory: &mut Inventory,
    problems: &mut Vec<Problem>,
) {
    let documents: Vec<serde_json::Value> = match serde_saphyr::from_multiple(content) {
        Ok(documents) => documents,
        Err(error) => {
            let position = match error.location() {
                Some(location) => Position::at(path, location.line(), location.column()),
                None => Position::file(path),
            };
            problems.push(Problem {
                position,
                message: crate::engine::rule::error_message(&error.to_string()),
            });
            return;
        }
    };
    for (number, mut document) in documents.into_iter().enumerate() {
        let kind = document
            .get("kind")
            .and_then(|k| k.as_str())
            .map(str::to_string);
        let api_version = document
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let items = match document.get_mut("items").map(serde_json::Value::take) {
            Some(serde_json::Value::Array(items)) => Some(items),
            _ => None,
        };
        // The document was turned into JSON to decode it: serde's line and
        // column are of that text, not the file's, so the field's path says
        // where instead.
        let mut yaml_problem = |what: String, item: Option<usize>, message: String| {
            let field = message
                .split_once(": ")
                .and_then(|(lead, _)| lead.split_once(' '));
            let position = field
                .and_then(|(_, field)| yaml_position(path, content, number, item, field))
                .unwrap_or_else(|| Position::file(path));
            problems.push(Problem {
                position,
                message: format!("document {}{what}: {message}", number + 1),
            });
        };
        match items {
            Some(items) => {
                let list_kind = kind.as_deref().unwrap_or("List");
                let item_kind = list_kind.strip_suffix("List").filter(|k| !k.is_empty());
                if let Some(kind) = item_kind.filter(|kind| KNOWN_KINDS.contains(kind)) {
                    inventory.kinds_seen.insert(kind.to_string());
                }
                for (i, item) in items.into_iter().enumerate() {
                    let own_kind = item
                        .get("kind")
                        .and_then(|k| k.as_str())
                        .map(str::to_string);
                    let own_version = item
                        .get("apiVersion")
                        .and_then(|k| k.as_str())
                        .map(str::to_string);
                    let Some(kind) = own_kind.as_deref().or(item_kind) else {
                        continue;
                    };
                    let version = own_version.as_deref().or(api_version.as_deref());
                    let json = item.to_string();
                    if let Err(error) = ingest(kind, version, &json, inventory) {
                        let message = explained(kind, version, &json, &error);
                        yaml_problem(format!(", item {}", i + 1), Some(i), message);
                    }
                }
            }
            None => {
                let Some(kind) = kind.as_deref() else {
                    inventory.skipped_files.push(format!(
                        "{}: document {} has no Kubernetes `kind` or `items`",
                        path.display(),
                        number + 1
                    ));
                    continue;
                };
                let json = document.to_string();
                if let Err(error) = ingest(kind, api_version.as_deref(), &json, inventory) {
                    let message = explained(kind, api_version.as_deref(), &json, &error);
                    yaml_problem(String::new(), None, message);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streamed reader and the whole-file reader agree on what a list
    /// holds and on where its problems are: file, line and column.
    /// The file read item by item: whether the streamed reader took it,
    /// with what it found.
    fn read_streamed(path: &Path) -> (bool, Inventory, Vec<Problem>) {
        let (mut inventory, mut problems) = (Inventory::default(), Vec::new());
        let took = read_json_file(path, &mut inventory, &mut problems, &mut |_| {});
        (took, inventory, problems)
    }

    /// The same text read whole.
    fn read_whole(path: &Path, text: &str) -> (Inventory, Vec<Problem>) {
        let (mut inventory, mut problems) = (Inventory::default(), Vec::new());
        read_json(path, text, &mut inventory, &mut problems);
        (inventory, problems)
    }

    #[test]
    fn streamed_lists_name_the_same_positions_as_whole_files() {
        let text = concat!(
            "{\"apiVersion\": \"v1\", \"items\": [\n",
            "  {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"ok\"}},\n",
            "  {\"apiVersion\": \"v1\", \"kind\": \"Node\", \"metadata\": {\"name\": \"é\"}}, ",
            "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}, ",
            "\"spec\": {\"containers\": \"oops\"}},\n",
            // Quotes, brackets and backslashes inside a string end nothing.
            "  {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"q\\\"}]\\\\\"}},\n",
            "  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"later\"}}\n",
            "], \"kind\": \"List\", \"metadata\": {\"resourceVersion\": \"\"}}\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.json");
        std::fs::write(&path, text).unwrap();

        let (whole, whole_problems) = read_whole(&path, text);
        let (took, streamed, streamed_problems) = read_streamed(&path);
        assert!(took);

        let position = |problems: &[Problem]| {
            problems
                .iter()
                .map(|p| (p.position.to_string(), p.message.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(position(&streamed_problems), position(&whole_problems));
        assert_eq!(streamed_problems.len(), 1);
        let shown = streamed_problems[0].position.to_string();
        // Line 3, after an "é": columns count characters, not bytes.
        assert!(shown.ends_with("pods.json:3:159"), "{shown}");
        let names = |inventory: &Inventory| {
            let mut names: Vec<String> = inventory.pods.iter().map(|p| p.name.clone()).collect();
            names.sort();
            names
        };
        assert_eq!(names(&streamed), ["later", "ok", "q\"}]\\"]);
        assert_eq!(names(&streamed), names(&whole));
        assert_eq!(streamed.nodes.len(), 1);
        assert_eq!(streamed.kinds_seen, whole.kinds_seen);

        // Not valid JSON: left to the whole-file reader, without problems.
        std::fs::write(&path, text.replacen("\"ok\"}}", "\"ok\"}", 1)).unwrap();
        let (took, _, problems) = read_streamed(&path);
        assert!(!took);
        assert!(problems.is_empty());
    }

    /// A repeated key the whole-file reader ignores must not make the
    /// streamed reader give up after it took the items: they would be
    /// taken twice.
    #[test]
    fn a_repeated_unknown_key_after_the_items_takes_each_item_once() {
        let text = concat!(
            "{\"apiVersion\": \"v1\", \"items\": [\n",
            "  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"a\"}},\n",
            "  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"b\"}}\n",
            "], \"kind\": \"List\", \"metadata\": {}, \"metadata\": {}}\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.json");
        std::fs::write(&path, text).unwrap();
        let (took, inventory, problems) = read_streamed(&path);
        assert!(took);
        assert!(problems.is_empty());
        assert_eq!(inventory.pods.len(), 2);
        let (whole, whole_problems) = read_whole(&path, text);
        assert!(whole_problems.is_empty());
        assert_eq!(whole.pods.len(), 2);
    }
}
