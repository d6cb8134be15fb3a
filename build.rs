//! Embeds every rule file under rules/ into the binary, so the built-in rule
//! set is exactly the data files in the repository.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("rules"), &mut files);
    files.sort();
    let mut out = String::from("pub const BUILTIN: &[(&str, &str)] = &[\n");
    for file in &files {
        let relative = file.strip_prefix(root).unwrap_or(file);
        writeln!(
            out,
            "    ({:?}, include_str!({:?})),",
            relative.to_string_lossy(),
            file.to_string_lossy()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("builtin_rules.rs");
    std::fs::write(target, out).unwrap();
    println!("cargo:rerun-if-changed=rules");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(&path, files);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(path);
        }
    }
}
