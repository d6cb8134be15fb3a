//! The JSON report (`-o json`), the document CI jobs gate on.

use super::Report;

pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|error| {
        // Serialising plain data cannot fail; say so loudly if it ever does.
        format!("{{\"schema\":\"pxdoctor.report/v1\",\"error\":\"{error}\"}}")
    });
    text.push('\n');
    text
}
