//! The official SARIF 2.1.0 schema (`schema/sarif-2.1.0.json`), compiled
//! for tests that validate pxdoctor's SARIF output.

/// Two patterns of the official schema (`language` of a run and of a tool
/// component) end in a bare `]`: a literal in ECMA-262 regexes, rejected by
/// the Rust regex engine the validator checks patterns with. With the `]`
/// escaped they mean the same; the checked-in file stays as published.
pub fn validator() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/sarif-2.1.0.json");
    let text = std::fs::read_to_string(path).expect("schema/sarif-2.1.0.json");
    let mut schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    assert_eq!(
        escape_bare_brackets(&mut schema),
        2,
        "the published patterns"
    );
    jsonschema::validator_for(&schema).expect("the SARIF schema compiles")
}

const PUBLISHED: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
const ESCAPED: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$";

fn escape_bare_brackets(value: &mut serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(map) => map
            .iter_mut()
            .map(|(key, value)| {
                if key == "pattern" && value == PUBLISHED {
                    *value = serde_json::json!(ESCAPED);
                    1
                } else {
                    escape_bare_brackets(value)
                }
            })
            .sum(),
        serde_json::Value::Array(items) => items.iter_mut().map(escape_bare_brackets).sum(),
        _ => 0,
    }
}

/// Panics with every violation, each with its place in the document.
pub fn assert_valid(log: &serde_json::Value, what: &str) {
    let validator = validator();
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: not valid SARIF 2.1.0: {errors:#?}"
    );
}
