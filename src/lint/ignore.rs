//! A polyaxonfile whose directory holds large data and no `.polyaxonignore`:
//! `polyaxon run -u` uploads that directory, data and all, before the run
//! can start.

use std::path::Path;

use super::sink::{Sink, t};
use super::yaml::Pos;

/// Above this much data, an upload is slow enough to be worth a warning.
pub const LARGE: u64 = 50 * 1024 * 1024;
/// Entries at least this large are named as patterns to add.
const NOTABLE: u64 = 1024 * 1024;
/// A walk stops after this many entries: the point is made by then.
const MAX_ENTRIES: usize = 200_000;

pub fn check(file: &Path, sink: &mut Sink) {
    let dir = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if dir.join(".polyaxonignore").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut budget = MAX_ENTRIES;
    let mut sizes: Vec<(String, u64)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let size = if kind.is_dir() {
            size_of(&entry.path(), &mut budget)
        } else if kind.is_file() {
            entry.metadata().map_or(0, |m| m.len())
        } else {
            0
        };
        let shown = if kind.is_dir() {
            format!("{name}/")
        } else {
            name
        };
        sizes.push((shown, size));
    }
    let total: u64 = sizes.iter().map(|(_, size)| size).sum();
    if total < LARGE {
        return;
    }
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let largest: Vec<&(String, u64)> = sizes
        .iter()
        .filter(|(_, size)| *size >= NOTABLE)
        .take(5)
        .collect();
    let patterns: Vec<&str> = largest.iter().map(|(name, _)| name.as_str()).collect();
    let shares: Vec<String> = largest
        .iter()
        .map(|(name, size)| format!("{name} {}", human(*size)))
        .collect();
    sink.add(
        "missing_polyaxonignore",
        Pos { line: 1, column: 1 },
        vec![
            ("dir", t(dir.display().to_string())),
            ("size", t(human(total))),
            ("patterns", t(patterns.join(" "))),
            ("message", t(shares.join(", "))),
        ],
    );
}

fn size_of(dir: &Path, budget: &mut usize) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        match entry.file_type() {
            // Symlinks are not followed: they may point anywhere.
            Ok(kind) if kind.is_dir() => total += size_of(&entry.path(), budget),
            Ok(kind) if kind.is_file() => total += entry.metadata().map_or(0, |m| m.len()),
            _ => {}
        }
    }
    total
}

pub fn human(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            return format!("{:.1} {unit}", bytes as f64 / size as f64);
        }
    }
    format!("{bytes} B")
}
