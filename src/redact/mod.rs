//! The one redactor for everything that leaves the process: log lines as
//! they are read, objects before they go into a bundle, and every report,
//! message and log pxdoctor writes (through `crate::sink`). No Secret value,
//! token or key is shown; at most an AWS access key id's ends
//! (`AKIA****WXYZ`), so a user can tell keys apart.
//!
//! What it covers, by family, is in `patterns`; which names say "secret" in
//! `names`. Teams add their own patterns with `redact:` in .pxdoctor.yaml.

mod names;
mod object;
mod patterns;

use std::sync::OnceLock;

use regex::Regex;

pub use names::is_secret_name;
pub use object::{redact_object, redact_strings};
pub use patterns::{MASK, mask_value};

/// A team's own patterns (`redact:` in .pxdoctor.yaml), set once at start.
static EXTRA: OnceLock<Vec<Regex>> = OnceLock::new();

/// Adds a team's patterns: each masks its `secret` group, else its first
/// group, else the whole match. Only the first call counts.
pub fn add_patterns(patterns: Vec<Regex>) {
    let _ = EXTRA.set(patterns);
}

/// A line, message or value with every secret in it masked.
pub fn redact_line(text: &str) -> String {
    let mut text = patterns::redact(text);
    for pattern in EXTRA.get().map_or(&[][..], Vec::as_slice) {
        text = pattern
            .replace_all(&text, |c: &regex::Captures| {
                let part = c.name("secret").or_else(|| c.get(1));
                match part {
                    Some(part) => {
                        let whole = c.get(0).expect("match");
                        let start = part.start() - whole.start();
                        let end = part.end() - whole.start();
                        let matched = whole.as_str();
                        format!("{}{MASK}{}", &matched[..start], &matched[end..])
                    }
                    None => MASK.to_string(),
                }
            })
            .into_owned();
    }
    text
}

/// The lines of one log, redacted: a private key printed over several lines
/// is masked whole, also when the tail starts inside it.
pub fn redact_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_key = false;
    let mut secret_env_value_next = false;
    for line in lines {
        // `- name: X_TOKEN` then `value: ...` (an env printed as YAML).
        let after_secret_name = std::mem::take(&mut secret_env_value_next);
        if let Some(name) = patterns::ENV_NAME_LINE.captures(line) {
            secret_env_value_next = is_secret_name(&name[1]);
        } else if after_secret_name && let Some(value) = patterns::ENV_VALUE_LINE.captures(line) {
            out.push(format!("{}{MASK}", &value[1]));
            continue;
        }
        if in_key {
            match patterns::PEM_END.find(line) {
                Some(end) => {
                    in_key = false;
                    out.push(format!("{MASK}{}", redact_line(&line[end.start()..])));
                }
                None => out.push(MASK.to_string()),
            }
            continue;
        }
        if let Some(begin) = patterns::PEM_BEGIN.find(line)
            && !patterns::PEM_END.is_match(&line[begin.end()..])
        {
            in_key = true;
            out.push(format!("{}{MASK}", redact_line(&line[..begin.end()])));
            continue;
        }
        if let Some(end) = patterns::PEM_END.find(line)
            && !patterns::PEM_BEGIN.is_match(&line[..end.start()])
        {
            // The tail began inside a key: its body lines are above.
            for earlier in out.iter_mut().rev() {
                if !looks_like_key_body(earlier) {
                    break;
                }
                *earlier = MASK.to_string();
            }
            out.push(format!("{MASK}{}", redact_line(&line[end.start()..])));
            continue;
        }
        out.push(redact_line(line));
    }
    out
}

/// A line of a PEM body: base64 only, as wide as PEM writes it.
fn looks_like_key_body(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 16
        && line
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_key_over_several_log_lines_is_masked_whole() {
        let log = "starting\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAvQ0HkDkjD1bDxs8sKVHtXUPl2rM0a5yC\nl8sN0Qx7hGq2Vf9wP1aT3cU6eR8bY4dZ0kJmLnOpQrStUvWx\n-----END RSA PRIVATE KEY-----\ndone";
        let out = redact_lines(log.lines());
        let text = out.join("\n");
        assert!(!text.contains("MIIEpAIBAAKCAQEA"), "{text}");
        assert!(!text.contains("l8sN0Qx7hGq2"), "{text}");
        assert!(text.contains("starting") && text.contains("done"));
        assert!(text.contains("-----BEGIN RSA PRIVATE KEY-----"));
    }

    #[test]
    fn a_tail_that_starts_inside_a_key_loses_the_body_too() {
        let log = "l8sN0Qx7hGq2Vf9wP1aT3cU6eR8bY4dZ0kJmLnOpQrStUvWx\nq2Vf9wP1aT3cU6eR8bY4dZ0kJmLnOpQrStUvWxl8sN0Qx7hG\n-----END OPENSSH PRIVATE KEY-----\nnext";
        let text = redact_lines(log.lines()).join("\n");
        assert!(!text.contains("l8sN0Qx7hGq2"), "{text}");
        assert!(!text.contains("q2Vf9wP1aT3c"), "{text}");
        assert!(text.ends_with("next"));
    }

    #[test]
    fn a_file_position_in_an_error_stays_readable() {
        for line in [
            "/work/rules/artifacts/expired-token.yaml:3:5: duplicate rule id `PXD-ART-009`",
            "  File \"/usr/lib/python3/site-packages/polyaxon/auth.py:12\", in login",
        ] {
            assert_eq!(redact_lines([line].into_iter()).join(""), line);
        }
    }
}
