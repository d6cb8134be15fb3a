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
