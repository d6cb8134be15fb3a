//! A snapshot: a directory (or a `.tar.gz` of one) of objects as kubectl
//! writes them, pod logs, and recorded probe results.
//!
//! Layouts read: any tree of `kubectl get -o json|yaml` output; `kubectl
//! cluster-info dump --output-directory` (`<ns>/<pod>/logs.txt`, with its
//! "==== START logs for container ..." markers); `logs/<ns>/<pod>/<container>.log`.
//! Files are decoded on all cores; each worker fills its own inventory.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Position, Problem, Result};
use crate::facts::inventory::sieve::Sieve;
use crate::facts::{Inventory, LogTail};

use super::{bundle, objects};

/// One file of a snapshot: its path relative to the snapshot root, for
/// layout decisions, and the path to show in messages.
pub struct SnapshotFile {
    pub relative: PathBuf,
    pub shown: PathBuf,
    pub content: Vec<u8>,
    /// Not read yet: `content` is empty and the file is at `shown`. Lists
    /// are then decoded from the file item by item, never held whole.
    pub on_disk: bool,
}

/// Reads a snapshot directory or bundle into an inventory.
pub fn load(path: &Path) -> Result<Inventory> {
    load_sieved(path, &Sieve::default())
}

/// Reads a snapshot, keeping only the events `sieve` keeps.
pub fn load_sieved(path: &Path, sieve: &Sieve) -> Result<Inventory> {
    let metadata = std::fs::metadata(path).map_err(|error| {
        Error::input(
            Position::file(path),
            format!("cannot read snapshot: {error}"),
        )
    })?;
    let inventory = if metadata.is_dir() {
        let mut files = Vec::new();
        walk(path, path, &mut files)?;
        read_all(files, sieve, |(relative, full)| {
            Ok(SnapshotFile {
                relative,
                shown: full,
                content: Vec::new(),
                on_disk: true,
            })
        })?
    } else {
        let files = bundle::read(path)?;
        read_all(files, sieve, Ok)?
    };
    Ok(inventory)
}

/// Exit 3 when nothing at all was read from a snapshot (and no probe ran):
/// "no findings" would be a false all-clear.
pub fn require_something(path: &Path, inventory: &Inventory) -> Result<()> {
    let nothing = inventory.kinds_seen.is_empty()
        && inventory.logs.is_empty()
        && inventory.probes.is_empty()
        && inventory.polyaxon_api.is_none()
        && inventory.polyaxon_crds.is_none();
    if !nothing {
        return Ok(());
    }
    let skipped = match inventory.skipped_files.as_slice() {
        [] => "it holds no files".to_string(),
        files => format!("skipped {}", files.join("; ")),
    };
    Err(Error::Collection(format!(
        "--snapshot {}: nothing could be read: no Kubernetes object of a kind pxdoctor reads, no log, no probe ({skipped})",
        path.display()
    )))
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<(PathBuf, PathBuf)>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| Error::input(Position::file(dir), format!("cannot list: {error}")))?;
    let mut entries: Vec<_> = entries.filter_map(|entry| entry.ok()).collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(root, &path, files)?;
        } else if kind.is_file() {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            files.push((relative, path));
        }
    }
    Ok(())
}

/// Decodes every file on all cores and merges what the workers found.
fn read_all<T: Send>(
    files: Vec<T>,
    sieve: &Sieve,
    open: impl Fn(T) -> std::result::Result<SnapshotFile, Problem> + Sync,
) -> Result<Inventory> {
    let files: Vec<Mutex<Option<T>>> = files.into_iter().map(|f| Mutex::new(Some(f))).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    // Facts join the one inventory as they are read (every few thousand
    // items of a list, and at the end of each file): merging whole
    // per-worker inventories at the end held two copies of the largest
    // vectors (half a million events) at once.
    let shared = Mutex::new(Inventory::default());
    let results: Vec<Vec<Problem>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut problems = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = files.get(i) else { break };
                        let Some(file) = slot.lock().ok().and_then(|mut f| f.take()) else {
                            continue;
                        };
                        let mut part = Inventory::sieved(sieve.clone());
                        let mut flush = |part: &mut Inventory| {
                            let taken = std::mem::replace(part, Inventory::sieved(sieve.clone()));
                            if let Ok(mut inventory) = shared.lock() {
                                inventory.merge(taken);
                            }
                        };
                        match open(file) {
                            Ok(file) => read_file(&file, &mut part, &mut problems, &mut flush),
                            Err(problem) => problems.push(problem),
                        }
                        flush(&mut part);
                    }
                    problems
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_default())
            .collect()
    });
    let mut inventory = shared.into_inner().unwrap_or_default();
    inventory.skipped_files.sort();
    let mut problems: Vec<Problem> = results.into_iter().flatten().collect();
    if problems.is_empty() {
        Ok(inventory)
    } else {
        problems.sort_by(|a, b| {
            (&a.position.path, a.position.line).cmp(&(&b.position.path, b.position.line))
        });
        Err(Error::Input(problems))
    }
}

/// What a file is, by where it sits and how it is named.
/// `flush` moves what `inventory` holds so far where it is kept; called
/// every few thousand items of a long list.
fn read_file(
    file: &SnapshotFile,
    inventory: &mut Inventory,
    problems: &mut Vec<Problem>,
    flush: &mut dyn FnMut(&mut Inventory),
) {
    let parts: Vec<String> = file
        .relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let name = parts.last().map(String::as_str).unwrap_or("");
    if file.on_disk {
        let manifest = parts.len() == 1 && name == "manifest.json";
        let probe = parts.first().map(String::as_str) == Some("probes");
        if name.ends_with(".json")
            && !manifest
            && !probe
            && objects::read_json_file(&file.shown, inventory, problems, flush)
        {
            return;
        }
        // Not a list (or not one the streaming reader takes): read whole.
        match std::fs::read(&file.shown) {
            Ok(content) => {
                let loaded = SnapshotFile {
                    relative: file.relative.clone(),
                    shown: file.shown.clone(),
                    content,
                    on_disk: false,
                };
                read_file(&loaded, inventory, problems, flush);
            }
            Err(error) => problems.push(Problem {
                position: Position::file(&file.shown),
                message: format!("cannot read: {error}"),
            }),
        }
        return;
    }
    let mut text = || match std::str::from_utf8(&file.content) {
        Ok(text) => Some(text),
        Err(error) => {
            problems.push(Problem {
                position: Position::file(&file.shown),
                message: format!("not UTF-8 text: {error}"),
            });
            None
        }
    };
    if parts.len() == 1 && name == "manifest.json" {
        read_manifest(file, inventory, problems);
        return;
    }
    // Recorded probe results, replayed as if the probes ran now.
    if parts.first().map(String::as_str) == Some("probes") {
        if name == "s3.json" {
            read_s3_probe(file, inventory, problems);
        }
        if parts.len() == 2 && name == crate::facts::artifacts::polyaxon_api::PROBE_FILE {
            read_api_probe(file, inventory, problems);
        }
        return;
    }
    if let Some((namespace, pod, container)) = log_location(&parts) {
        let content = String::from_utf8_lossy(&file.content);
        inventory
            .logs
            .push(LogTail::from_text(namespace, pod, container, &content));
        return;
    }
    if name == "logs.txt" && parts.len() >= 3 {
        let content = String::from_utf8_lossy(&file.content);
        let (namespace, pod) = (&parts[parts.len() - 3], &parts[parts.len() - 2]);
        inventory.logs.extend(dump_logs(namespace, pod, &content));
        return;
    }
    if name.ends_with(".json") {
        if let Some(text) = text() {
            objects::read_json(&file.shown, text, inventory, problems);
        }
    } else if name.ends_with(".yaml") || name.ends_with(".yml") {
        if let Some(text) = text() {
            objects::read_yaml(&file.shown, text, inventory, problems);
        }
    } else {
        // Any file name (product.md): `kubectl get pods -o json > pods.txt`
        // is read by what it holds.
        match sniff(&file.content) {
            Some(Sniffed::Json) => {
                if let Some(text) = text() {
                    objects::read_json(&file.shown, text, inventory, problems);
                }
            }
            Some(Sniffed::Yaml) => {
                if let Some(text) = text() {
                    objects::read_yaml(&file.shown, text, inventory, problems);
                }
            }
            None => inventory.skipped_files.push(format!(
                "{}: neither JSON nor YAML of Kubernetes objects, nor a log under logs/",
                file.shown.display()
            )),
        }
    }
}

enum Sniffed {
    Json,
    Yaml,
}

/// What a file without a telling extension holds, by how it starts.
fn sniff(content: &[u8]) -> Option<Sniffed> {
    let start = &content[..content.len().min(4096)];
    let text = String::from_utf8_lossy(start);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('{') {
        return Some(Sniffed::Json);
    }
    let yaml = text.lines().find(|line| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with('#')
    });
    yaml.filter(|line| {
        ["apiVersion:", "kind:", "items:", "---"]
            .iter()
            .any(|start| line.starts_with(start))
    })
    .map(|_| Sniffed::Yaml)
}

/// A bundle's manifest: its collection time is "now" for the bundle's
/// findings, and what it could not collect is reported again.
fn read_manifest(file: &SnapshotFile, inventory: &mut Inventory, problems: &mut Vec<Problem>) {
    match serde_json::from_slice::<super::bundle::Manifest>(&file.content) {
        Ok(manifest) => {
            inventory.collected_at = manifest.collected_at.parse().ok();
            inventory.gaps.extend(manifest.skipped);
            if let Some(crds) = manifest.polyaxon_crds {
                inventory.polyaxon_crds = Some(crds.into_iter().collect());
            }
            // Collected from these namespaces only (empty: all of them).
            if !manifest.namespaces.is_empty() {
                inventory.scope = Some(manifest.namespaces.into_iter().collect());
            }
        }
        Err(error) => problems.push(Problem {
            position: Position::at(&file.shown, error.line() as u64, error.column() as u64),
            message: format!("not a pxdoctor bundle manifest: {error}"),
        }),
    }
}

fn read_s3_probe(file: &SnapshotFile, inventory: &mut Inventory, problems: &mut Vec<Problem>) {
    match serde_json::from_slice::<Vec<crate::facts::artifacts::probe::ProbeStep>>(&file.content) {
        Ok(steps) => inventory.probes.extend(steps),
        Err(error) => problems.push(Problem {
            position: Position::at(&file.shown, error.line() as u64, error.column() as u64),
            message: format!("not a recorded S3 probe (a list of probe steps): {error}"),
        }),
    }
}

/// The Polyaxon API probe `collect` recorded (the same JSON the live probe
/// gives), replayed instead of calling the API.
fn read_api_probe(file: &SnapshotFile, inventory: &mut Inventory, problems: &mut Vec<Problem>) {
    match serde_json::from_slice::<crate::facts::artifacts::polyaxon_api::ApiProbe>(&file.content) {
        Ok(probe) => inventory.polyaxon_api = Some(probe),
        Err(error) => problems.push(Problem {
            position: Position::at(&file.shown, error.line() as u64, error.column() as u64),
            message: format!("not a pxdoctor Polyaxon API probe: {error}"),
        }),
    }
}

/// `.../logs/<namespace>/<pod>/<container>.log`
fn log_location(parts: &[String]) -> Option<(&str, &str, &str)> {
    let n = parts.len();
    if n < 4 || parts[n - 4] != "logs" {
        return None;
    }
    let container = parts[n - 1].strip_suffix(".log")?;
    Some((&parts[n - 3], &parts[n - 2], container))
}

/// Splits a cluster-info dump `logs.txt` into one tail per container.
fn dump_logs(namespace: &str, pod: &str, content: &str) -> Vec<LogTail> {
    const START: &str = "==== START logs for container ";
    let mut tails = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in content.lines() {
        if let Some(rest) = line.strip_prefix(START) {
            if let Some((container, text)) = current.take() {
                tails.push(LogTail::from_text(namespace, pod, &container, &text));
            }
            let container = rest.split(" of pod ").next().unwrap_or(rest).to_string();
            current = Some((container, String::new()));
        } else if line.starts_with("==== END logs for container ") {
            if let Some((container, text)) = current.take() {
                tails.push(LogTail::from_text(namespace, pod, &container, &text));
            }
        } else if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    if let Some((container, text)) = current {
        tails.push(LogTail::from_text(namespace, pod, &container, &text));
    }
    tails
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_info_dump_logs_split_per_container() {
        let text = "==== START logs for container polyaxon-main of pod ml/train ====\nepoch 1\nepoch 2\n==== END logs for container polyaxon-main of pod ml/train ====\n==== START logs for container polyaxon-sidecar of pod ml/train ====\nupload failed\n==== END logs for container polyaxon-sidecar of pod ml/train ====\n";
        let tails = dump_logs("ml", "train", text);
        assert_eq!(tails.len(), 2);
        assert_eq!(tails[0].container, "polyaxon-main");
        assert_eq!(tails[0].lines, vec!["epoch 1", "epoch 2"]);
        assert_eq!(tails[1].container, "polyaxon-sidecar");
        assert_eq!(tails[1].lines, vec!["upload failed"]);
    }

    #[test]
    fn logs_layout_names_namespace_pod_and_container() {
        let parts: Vec<String> = ["x", "logs", "ml", "train-0", "polyaxon-sidecar.log"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            log_location(&parts),
            Some(("ml", "train-0", "polyaxon-sidecar"))
        );
        let not_logs: Vec<String> = ["ml", "train-0", "a.log"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(log_location(&not_logs), None);
    }
}
