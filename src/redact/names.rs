//! Whether a key name says its value is a credential: `AWS_SECRET_ACCESS_KEY`,
//! `PGPASSWORD`, `secretKey`, `X-Amz-Security-Token`, `client_secret`,
//! `--db-password`. Names are split into words (at `_ . - /`, and where
//! camelCase turns), so `tokenizer`, `max_tokens` and `secretName` (a
//! reference to a Secret, not its value) stay readable.
//!
//! The families are those public secret scanners key on (gitleaks'
//! generic-api-key rule, detect-secrets' KeywordDetector, trufflehog's
//! keyword prefilters); the words here are ours.

/// Words that name a secret on their own.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pgpassword",
    "secret",
    "secrets",
    "token",
    "credential",
    "credentials",
    "creds",
    "apikey",
    "cookie",
    "signature",
    "sig",
    "bearer",
    "privatekey",
    "accountkey",
    "sas",
    "jwt",
    "auth",
];

/// Word pairs that name a secret together (`access key`, not `key`).
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("secret", "key"),
    ("private", "key"),
    ("account", "key"),
    ("session", "key"),
    ("session", "id"),
    ("encryption", "key"),
    ("signing", "key"),
    ("ssh", "key"),
    ("master", "key"),
    ("shared", "key"),
    ("storage", "key"),
    ("client", "key"),
    ("auth", "key"),
];

/// Last words that make the name a reference or a setting about a secret
/// (`secretName`, `token_url`, `password_file`, `token_ttl`), not its value.
const NOT_A_VALUE: &[&str] = &[
    "name",
    "names",
    "ref",
    "refs",
    "file",
    "path",
    "dir",
    "ttl",
    "type",
    "kind",
    "length",
    "size",
    "count",
    "version",
    "namespace",
    "mount",
    "volume",
    "provider",
    "url",
    "uri",
    "host",
    "endpoint",
    "server",
    "expiry",
    "expires",
    "expiration",
    "seconds",
    "format",
    "enabled",
    "required",
    "policy",
    "mode",
    "header",
    // A file's extension: `expired-token.yaml:3:5:` is a file and its
    // position, `auth.py:12` a source line, not a key and its value.
    "yaml",
    "yml",
    "json",
    "toml",
    "ini",
    "cfg",
    "conf",
    "txt",
    "log",
    "py",
    "rs",
    "go",
    "java",
    "js",
    "ts",
    "rb",
    "sh",
    "md",
];

/// The name's words, lower-cased: `AWS_SECRET_ACCESS_KEY` → aws secret
/// access key; `secretAccessKey` → secret access key.
pub fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '.' | '-' | '/' | ' ') {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Whether a value under this name is a credential.
pub fn is_secret_name(name: &str) -> bool {
    let trimmed = name.trim_matches(|c: char| c == '-' || c == '"' || c == '\'');
    // Python's and Java's exception names ("NoCredentialsError:") name a
    // failure, not a value.
    if ["Error", "Exception", "Exceeded", "Failed", "Expired"]
        .iter()
        .any(|end| trimmed.ends_with(end))
    {
        return false;
    }
    let words = words(trimmed);
    let Some(last) = words.last() else {
        return false;
    };
    if NOT_A_VALUE.contains(&last.as_str()) {
        return false;
    }
    // An id is a name for a key, not the key (access_key_id, client_id),
    // unless it is a secret's or a session's.
    if last == "id"
        && !words
            .iter()
            .rev()
            .nth(1)
            .is_some_and(|w| w == "secret" || w == "session")
    {
        return false;
    }
    let single = words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()));
    let paired = words
        .windows(2)
        .any(|pair| SECRET_PAIRS.contains(&(pair[0].as_str(), pair[1].as_str())));
    // Polyaxon names its init container polyaxon-init-auth: a name, not a
    // credential, where `auth` is the only secret word.
    let only_auth = !paired
        && words
            .iter()
            .filter(|w| SECRET_WORDS.contains(&w.as_str()))
            .all(|w| w == "auth");
    if only_auth && words.iter().any(|w| w == "polyaxon" || w == "init") {
        return false;
    }
    single || paired
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_split_into_words() {
        assert_eq!(
            words("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(words("secretAccessKey"), ["secret", "access", "key"]);
        assert_eq!(
            words("X-Amz-Security-Token"),
            ["x", "amz", "security", "token"]
        );
        assert_eq!(words("--db-password"), ["db", "password"]);
    }

    #[test]
    fn secret_names_and_their_look_alikes() {
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "PGPASSWORD",
            "secretKey",
            "POLYAXON_AUTH_TOKEN",
            "client_secret",
            "X-Amz-Security-Token",
            "api_key",
            "apiKey",
            "AccountKey",
            "sig",
            "auth",
            "password",
            "db.password",
            "vault_secret_id",
            "--password",
            "HF_TOKEN",
            "WANDB_API_KEY",
            "private_key",
        ] {
            assert!(is_secret_name(name), "{name} names a secret");
        }
        for name in [
            "secretName",
            "secret_name",
            "AWS_ACCESS_KEY_ID",
            "client_id",
            "max_tokens",
            "tokenizer",
            "token_url",
            "password_file",
            "NoCredentialsError",
            "polyaxon-init-auth",
            "key",
            "sort_key",
            "monkey",
            "author",
            "passage",
            "secretKeyRef",
            "expired-token.yaml",
            "rules/auth/api-token-expired.yaml",
            "auth.py",
        ] {
            assert!(!is_secret_name(name), "{name} does not name a secret value");
        }
    }
}
