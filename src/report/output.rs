//! Where each `-o FORMAT[=PATH]` goes. One report is rendered to every
//! destination, so `-o json=report.json -o sarif=x.sarif -o table` runs the
//! checks once; at most one destination is stdout, or the documents would
//! interleave.

use std::io::Write;
use std::path::PathBuf;

use super::{Format, RenderContext, Report};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub format: Format,
    /// None is stdout.
    pub path: Option<PathBuf>,
}

/// Rejects what cannot be written sensibly, before any check runs.
pub fn validate(destinations: &[Destination]) -> Result<()> {
    let to_stdout: Vec<&Destination> = destinations.iter().filter(|d| d.path.is_none()).collect();
    if to_stdout.len() > 1 {
        return Err(Error::Usage(format!(
            "-o: {} outputs would go to stdout ({}); give all but one a file: -o FORMAT=PATH",
            to_stdout.len(),
            to_stdout
                .iter()
                .map(|d| name(d.format))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    for (i, destination) in destinations.iter().enumerate() {
        let Some(path) = &destination.path else {
            continue;
        };
        if destinations[..i]
            .iter()
            .any(|d| d.path.as_ref() == Some(path))
        {
            return Err(Error::Usage(format!(
                "-o: {} is given twice; each output needs its own file",
                path.display()
            )));
        }
        if path.is_dir() {
            return Err(Error::Usage(format!(
                "-o {}={}: is a directory; name a file",
                name(destination.format),
                path.display()
            )));
        }
    }
    Ok(())
}

/// Redacts the report, then renders and writes every destination. A file
/// that cannot be written is an error (exit 2), named with its path, after
/// the others are written.
pub fn write(
    destinations: &[Destination],
    report: &mut Report,
    context: &RenderContext<'_>,
) -> Result<()> {
    report.redact();
    let report = &*report;
    let mut failures = Vec::new();
    for destination in destinations {
        match &destination.path {
            None => {
                // sink: the report was redacted above.
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                // A closed pipe (`| head`) is not an error worth a panic.
                let _ = super::write(destination.format, report, context, &mut out)
                    .and_then(|()| out.flush());
            }
            Some(path) => {
                // sink: the report was redacted above.
                let written = std::fs::File::create(path).and_then(|file| {
                    let mut out = std::io::BufWriter::new(file);
                    super::write(destination.format, report, context, &mut out)?;
                    out.flush()
                });
                if let Err(error) = written {
                    failures.push(format!(
                        "-o {}={}: cannot write: {error}",
                        name(destination.format),
                        path.display()
                    ));
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Usage(failures.join("\n")))
    }
}

fn name(format: Format) -> &'static str {
    match format {
        Format::Table => "table",
        Format::Json => "json",
        Format::Sarif => "sarif",
        Format::Junit => "junit",
        Format::Markdown => "markdown",
        Format::Short => "short",
    }
}
