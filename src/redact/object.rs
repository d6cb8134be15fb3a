//! Kubernetes objects before they go into a bundle: Secrets keep their
//! key names only, values under secret-like names are masked whatever their
//! shape, and every other string is redacted as text. A ConfigMap value
//! that holds JSON (Polyaxon's connections) stays JSON.

use serde_json::Value;

use super::names::is_secret_name;
use super::{mask_value, redact_line};

/// Redacts a Kubernetes object in place before it is written to a bundle.
pub fn redact_object(kind: &str, object: &mut Value) {
    if kind == "Secret" {
        // Name and key names only: what is there, never what it holds.
        for field in ["data", "stringData"] {
            if let Some(Value::Object(map)) = object.get_mut(field) {
                for value in map.values_mut() {
                    *value = Value::String(String::new());
                }
            }
        }
        if let Some(Value::Object(annotations)) = object.pointer_mut("/metadata/annotations") {
            annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    // A ConfigMap value holding JSON (Polyaxon's connections) is redacted
    // as JSON, so it still parses: a connection's `secret: {name}` is a
    // reference, not a secret.
    let data = (kind == "ConfigMap")
        .then(|| object.get_mut("data").map(Value::take))
        .flatten();
    walk(object);
    if let Some(mut data) = data {
        if let Value::Object(map) = &mut data {
            for (key, value) in map.iter_mut() {
                let parsed = value
                    .as_str()
                    .and_then(|text| serde_json::from_str::<Value>(text).ok())
                    .filter(|parsed| parsed.is_object() || parsed.is_array());
                match parsed {
                    Some(mut parsed) => {
                        walk(&mut parsed);
                        *value = Value::String(parsed.to_string());
                    }
                    None => {
                        let mut one = serde_json::json!({ key.as_str(): value.take() });
                        walk(&mut one);
                        *value = one[key.as_str()].take();
                    }
                }
            }
        }
        object["data"] = data;
    }
}

/// Every string in a document of pxdoctor's own (a probe's record, a
/// manifest) redacted as text; its field names are pxdoctor's, so a field
/// called `secret` holds a Secret's name, not its value.
pub fn redact_strings(value: &mut Value) {
    match value {
        Value::Object(map) => map.values_mut().for_each(redact_strings),
        Value::Array(items) => items.iter_mut().for_each(redact_strings),
        Value::String(text) => {
            let redacted = redact_line(text);
            if redacted != *text {
                *text = redacted;
            }
        }
        _ => {}
    }
}

fn walk(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // An env entry {name, value}: the name says whether the value is secret.
            let env_name = map.get("name").and_then(Value::as_str).map(str::to_string);
            if let (Some(name), Some(Value::String(text))) = (env_name, map.get_mut("value"))
                && is_secret_name(&name)
            {
                *text = mask_value(text);
            }
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(text) if is_secret_name(key) => *text = mask_value(text),
                    _ => walk(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        Value::String(text) => {
            let redacted = redact_line(text);
            if redacted != *text {
                *text = redacted;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn log_lines_lose_their_credentials() {
        let line =
            format!("export AWS_SECRET_ACCESS_KEY={SECRET} AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE");
        let redacted = redact_line(&line);
        assert!(!redacted.contains(SECRET), "{redacted}");
        assert!(!redacted.contains("AKIAIOSFODNN7EXAMPLE"), "{redacted}");
        assert_eq!(
            redact_line("GET /api with Authorization: Token 8a7b6c5d4e3f"),
            "GET /api with Authorization: Token ****"
        );
        assert_eq!(
            redact_line("s3://minio:miniopass@minio:9000/b"),
            "s3://minio:****@minio:9000/b"
        );
        assert_eq!(
            redact_line("{\"token\": \"abc123\"}"),
            "{\"token\": \"****\"}"
        );
        assert_eq!(
            redact_line("key id AKIAIOSFODNN7EXAMPLE"),
            "key id AKIA****MPLE"
        );
        assert_eq!(redact_line("epoch 3 loss=0.12"), "epoch 3 loss=0.12");
    }

    #[test]
    fn objects_keep_names_and_lose_values() {
        let mut pod = json!({"spec": {"containers": [{"name": "polyaxon-sidecar", "env": [
            {"name": "AWS_SECRET_ACCESS_KEY", "value": SECRET},
            {"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"},
            {"name": "POLYAXON_HOST", "value": "http://polyaxon-api"}],
            "volumes": [{"name": "s3", "secret": {"secretName": "s3-secret"}}]}]}});
        redact_object("Pod", &mut pod);
        let text = pod.to_string();
        assert!(!text.contains(SECRET));
        assert!(text.contains("AKIA****MPLE"), "{text}");
        assert!(text.contains("http://polyaxon-api"));
        assert!(text.contains("s3-secret"), "secret names stay: {text}");
        let mut secret = json!({"kind": "Secret", "metadata": {"name": "s3-secret"}, "data": {"AWS_SECRET_ACCESS_KEY": "d0phbHJY"}});
        redact_object("Secret", &mut secret);
        assert_eq!(secret["data"]["AWS_SECRET_ACCESS_KEY"], "");
    }

    #[test]
    fn connection_json_in_a_config_map_stays_json_with_its_secrets_masked() {
        let store = r#"{"name":"s3","kind":"s3","schema":{"bucket":"s3://plx"},"secret":{"name":"s3-secret"},"password":"hunter2hunter2"}"#;
        let mut config = json!({"kind": "ConfigMap", "data": {"POLYAXON_AGENT_ARTIFACTS_STORE": store, "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"}});
        redact_object("ConfigMap", &mut config);
        let kept = config["data"]["POLYAXON_AGENT_ARTIFACTS_STORE"]
            .as_str()
            .unwrap();
        let parsed: Value = serde_json::from_str(kept).expect("still JSON");
        assert_eq!(parsed["secret"]["name"], "s3-secret");
        assert!(!kept.contains("hunter2"));
        assert!(!config.to_string().contains("wJalrXUtnFEMI"));
    }

    #[test]
    fn python_exception_names_are_not_taken_for_credentials() {
        let line = "botocore.exceptions.NoCredentialsError: Unable to locate credentials";
        assert_eq!(redact_line(line), line);
        assert_eq!(
            redact_line("aws_secret_access_key: wJalrXUtnFEMI"),
            "aws_secret_access_key: ****"
        );
    }
}
