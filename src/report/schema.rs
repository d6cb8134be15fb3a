//! The report's JSON Schema, generated from the report types themselves so
//! that the checked-in `schema/report.v1.json` cannot drift unnoticed.

use super::Report;

pub fn report_schema() -> String {
    let schema = schemars::schema_for!(Report);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
