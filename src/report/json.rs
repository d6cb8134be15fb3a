//! The JSON report (`-o json`), the document CI jobs gate on.

use std::io::{self, Write};

use super::Report;

/// Writes the report as it is serialised: at 100,000 pods the document is
/// tens of MiB, and holding it as one string doubled the peak memory.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|error| {
        // Serialising plain data cannot fail; say so loudly if it ever does.
        format!("{{\"schema\":\"pxdoctor.report/v1\",\"error\":\"{error}\"}}")
    });
    text.push('\n');
    text
}
