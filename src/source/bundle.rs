//! `.tar.gz` snapshots: the same layout as a snapshot directory, packed.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;

use crate::error::{Error, Position, Result};

use super::snapshot::SnapshotFile;

/// Reads every regular file of the bundle at `path`.
pub fn read(path: &Path) -> Result<Vec<SnapshotFile>> {
    let name = path.to_string_lossy();
    if !(name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
        return Err(Error::input(
            Position::file(path),
            "a snapshot is a directory or a .tar.gz bundle",
        ));
    }
    let file = std::fs::File::open(path)
        .map_err(|error| Error::input(Position::file(path), format!("cannot open: {error}")))?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let broken = |error: std::io::Error| {
        Error::input(
            Position::file(path),
            format!("not a readable .tar.gz: {error}"),
        )
    };
    let mut files = Vec::new();
    for entry in archive.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let inner = entry.path().map_err(broken)?.into_owned();
        // Only plain relative paths: a bundle never reaches outside itself.
        let relative: PathBuf = inner
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(broken)?;
        files.push(SnapshotFile {
            shown: PathBuf::from(format!("{}!/{}", path.display(), relative.display())),
            relative,
            content,
            on_disk: false,
        });
    }
    strip_common_folder(&mut files);
    Ok(files)
}

/// `tar czf bundle.tar.gz snapshot/` puts everything under `snapshot/`; the
/// layout is read from inside that folder.
fn strip_common_folder(files: &mut [SnapshotFile]) {
    let first = |file: &SnapshotFile| {
        file.relative
            .components()
            .next()
            .map(|c| c.as_os_str().to_owned())
    };
    let Some(top) = files.first().and_then(first) else {
        return;
    };
    let shared = files
        .iter()
        .all(|file| file.relative.components().count() > 1 && first(file).as_ref() == Some(&top));
    if shared {
        for file in files.iter_mut() {
            file.relative = file
                .relative
                .strip_prefix(&top)
                .unwrap_or(&file.relative)
                .to_path_buf();
        }
    }
}

/// What a bundle says about itself: who wrote it, when, from where, and
/// what could not be collected (so a snapshot check reports the same gaps).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub tool: String,
    pub version: String,
    pub collected_at: String,
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub skipped: Vec<crate::facts::CollectionGap>,
    /// Polyaxon's custom resources discovery showed; absent when unknown.
    #[serde(default)]
    pub polyaxon_crds: Option<Vec<String>>,
}

/// Writes a bundle: the lists, log tails, probe results and the manifest,
/// every document redacted once more as it goes in (the lists and tails
/// were redacted when collected; a bundle is made to be sent to someone
/// else, so nothing enters it unredacted). Written beside `path` and
/// renamed into place, so an interrupted collect never leaves half a bundle
/// under the final name.
pub fn write(
    path: &Path,
    manifest: &Manifest,
    lists: &[super::cluster::RawList],
    logs: &[crate::facts::LogTail],
    probes: &[crate::facts::artifacts::probe::ProbeStep],
    api_probe: Option<&crate::facts::artifacts::polyaxon_api::ApiProbe>,
) -> Result<()> {
    use flate2::Compression;
    use flate2::write::GzEncoder;

    let failed = |error: std::io::Error| {
        Error::input(
            Position::file(path),
            format!("cannot write the bundle: {error}"),
        )
    };
    let partial = path.with_extension("partial");
    // sink: every document is redacted before `add` writes it.
    let file = std::fs::File::create(&partial).map_err(failed)?;
    let mut archive = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    // sink: every document below is redacted before `add` takes it.
    let mut add = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(jiff::Timestamp::now().as_second().max(0) as u64);
        header.set_cksum();
        archive.append_data(&mut header, name, bytes) // sink: redacted by the callers below
    };
    // pxdoctor's own records: their strings redacted as text.
    let json = |value: serde_json::Value| {
        let mut value = value;
        crate::redact::redact_strings(&mut value);
        serde_json::to_vec_pretty(&value).unwrap_or_default()
    };
    for list in lists {
        let mut items = list.items.clone();
        for item in &mut items {
            let listed = list.kind.strip_suffix("List").unwrap_or(&list.kind);
            let kind = item["kind"].as_str().unwrap_or(listed).to_string();
            crate::redact::redact_object(&kind, item);
        }
        let document = serde_json::json!({
            "apiVersion": list.api_version,
            "kind": list.kind,
            "metadata": {},
            "items": items,
        });
        add(
            &list.path,
            &serde_json::to_vec_pretty(&document).unwrap_or_default(),
        )
        .map_err(failed)?;
    }
    for log in logs {
        let mut text = String::new();
        for line in crate::redact::redact_lines(log.lines.iter().map(String::as_str)) {
            text.push_str(&line);
            text.push('\n');
        }
        let name = format!("logs/{}/{}/{}.log", log.namespace, log.pod, log.container);
        add(&name, text.as_bytes()).map_err(failed)?;
    }
    if !probes.is_empty() {
        // Probe steps hold masked keys and redacted messages only.
        add(
            "probes/s3.json",
            &json(serde_json::to_value(probes).unwrap_or_default()),
        )
        .map_err(failed)?;
    }
    if let Some(probe) = api_probe {
        // The probe holds no token: only where it came from and whether it
        // was sent (facts/polyaxon_api.rs).
        let name = format!(
            "probes/{}",
            crate::facts::artifacts::polyaxon_api::PROBE_FILE
        );
        add(
            &name,
            &json(serde_json::to_value(probe).unwrap_or_default()),
        )
        .map_err(failed)?;
    }
    add(
        "manifest.json",
        &json(serde_json::to_value(manifest).unwrap_or_default()),
    )
    .map_err(failed)?;
    archive
        .into_inner()
        .and_then(|encoder| encoder.finish())
        .and_then(|file| file.sync_all())
        .map_err(failed)?;
    std::fs::rename(&partial, path).map_err(failed)
}
