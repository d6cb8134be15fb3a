//! The shapes secrets take in text, by family. Learnt from public secret
//! scanners' rule sets — gitleaks (config/gitleaks.toml: provider token
//! prefixes, private-key, jwt, generic-api-key, curl-auth-header),
//! trufflehog (detectors' keyword prefilters and URI detector), Yelp's
//! detect-secrets (KeywordDetector's assignment syntaxes, PrivateKeyDetector,
//! BasicAuthDetector) — and written here:
//!
//! 1. a secret-like name with its value, in any syntax (shell, YAML, JSON,
//!    Python and Ruby reprs, INI, query strings, CLI flags, Kubernetes env);
//! 2. credentials in URLs, `Authorization`/`Proxy-Authorization` headers of
//!    every scheme, cookies;
//! 3. provider tokens by prefix and shape, JWTs, PEM private keys.
//!
//! Masking keeps what helps diagnosis: names, URL hosts, and an AWS access
//! key id's ends (`AKIA****WXYZ`).

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::names::is_secret_name;

pub const MASK: &str = "****";

/// A cheap test first: text without any of these cannot hold a secret the
/// patterns below find, and most text (scheduler messages) has none.
static TRIGGER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)pass|pwd|secret|token|key|cred|auth|cookie|sig|bearer|sas|session|jwt|://[^\s/]*@|-----BEGIN|-----END|\b(?:A[KSGIRNB]|AC)[A-Z]{2}[0-9A-Z]{12}|gh[pousr]_|github_pat_|\bgl[a-z]{1,5}-|xox[a-z]-|\b[sr]k_|\bsk-|AIza|ya29\.|\bhf_|npm_|pypi-|SG\.|\bSK[0-9a-f]{32}|do[opr]_v1_|\bdapi|dckr_pat|eyJ|Q~|hooks\.slack\.com",
    )
    .expect("trigger")
});

/// AWS access key ids (gitleaks aws-access-token): the ends stay.
static KEY_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA))[0-9A-Z]{12}([0-9A-Z]{4})\b")
        .expect("key id")
});

/// Provider tokens, whole (gitleaks' rules of the same names).
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(?:",
        r"gh[pousr]_[A-Za-z0-9]{36,255}", // github-pat, -oauth, -app-token
        r"|github_pat_[A-Za-z0-9_]{22,255}", // github-fine-grained-pat
        r"|gl(?:pat|ptt|dt|rt|soat|cbt|imt|ft|oas)-[A-Za-z0-9_-]{20,}", // gitlab-*
        r"|xox[baprse]-[A-Za-z0-9-]{10,}", // slack-*-token
        r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}", // stripe-access-token
        r"|AIza[0-9A-Za-z_-]{35}",        // gcp-api-key
        r"|ya29\.[0-9A-Za-z_-]{20,}",     // gcp oauth access token
        r"|hf_[A-Za-z0-9]{30,}",          // huggingface-access-token
        r"|sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", // openai, anthropic
        r"|npm_[A-Za-z0-9]{36}",          // npm-access-token
        r"|pypi-[A-Za-z0-9_-]{50,}",      // pypi-upload-token
        r"|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", // sendgrid-api-token
        r"|SK[0-9a-fA-F]{32}",            // twilio-api-key
        r"|do[opr]_v1_[a-f0-9]{64}",      // digitalocean-*
        r"|dapi[a-f0-9]{32}(?:-\d)?",     // databricks-api-token
        r"|dckr_pat_[A-Za-z0-9_-]{27,}",  // dockerhub pat
        r"|[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}", // azure-ad-client-secret
        r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", // jwt
        r")",
        r"|https://hooks\.slack\.com/services/[A-Za-z0-9/_+-]+", // slack-webhook-url
    ))
    .expect("tokens")
});

/// A PEM private key, the whole block (gitleaks private-key,
/// detect-secrets PrivateKeyDetector): RSA, EC, DSA, OPENSSH, ENCRYPTED,
/// PGP PRIVATE KEY BLOCK. An unterminated block is masked to the end.
static PEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?s)(-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)(.*?)(-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
    )
    .expect("pem")
});
pub static PEM_BEGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----").expect("pem begin")
});
/// Kubernetes env in YAML, line by line: a secret-like `name:` line, then
/// its `value:` line (see `redact_lines`).
pub static ENV_NAME_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*-?\s*name:\s*["']?([\w.-]+)["']?\s*$"#).expect("env name line")
});
pub static ENV_VALUE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s*value:[ \t]*)(\S.*)$").expect("env value line"));

pub static PEM_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----").expect("pem end")
});

/// `Authorization` and `Proxy-Authorization` of any scheme (Bearer, Basic,
/// Token, Digest, AWS4-HMAC-SHA256, Polyaxon's InternalToken): the scheme
/// stays, the rest of the value goes.
static AUTHORIZATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b((?:proxy-)?authorization\\?["']?\s*[:=]\s*\\?["']?(?:(?:bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256|internaltoken|ephemeraltoken|apikey|key)\s+)?)([^"'\\\r\n]+)"#,
    )
    .expect("authorization")
});

/// `Cookie:` and `Set-Cookie:` headers: every value.
static COOKIE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b((?:set-)?cookie\\?["']?\s*:\s*)([^"'\\\r\n]+)"#).expect("cookie")
});

/// Credentials in a URL of any scheme: `scheme://user:password@host`, or a
/// long token as the user (`https://TOKEN@github.com`).
static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z][A-Za-z0-9+.-]*://)([^/\s:@"']*):([^/\s@"']+)@"#).expect("url")
});
static URL_TOKEN_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z][A-Za-z0-9+.-]*://)([A-Za-z0-9_-]{20,})@"#).expect("url token")
});

/// Kubernetes env as JSON or a Python repr: `{"name": "X_TOKEN", "value":
/// "..."}`, and as YAML (`- name: X_TOKEN` then `value: ...`).
static ENV_JSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(\\?["']name\\?["']\s*:\s*\\?["']([^"'\\]+)\\?["']\s*,\s*\\?["']value\\?["']\s*:\s*)(\\"(?:[^"\\]|\\[^"])*\\"|"(?:[^"\\]|\\.)*"|'[^']*')"#,
    )
    .expect("env json")
});
static ENV_YAML: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)(\bname:\s*["']?([\w.-]+)["']?[ \t]*\r?\n[ \t]*value:[ \t]*)(\S[^\r\n]*)$"#)
        .expect("env yaml")
});

/// A name and its value in any assignment syntax: `K=V` (shell, INI,
/// query strings, `--k=v`), `K: V` (YAML, headers), `"K": "V"` (JSON),
/// `'K': 'V'` (Python), `K => V` (Ruby), `K := V`. The name decides.
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"([A-Za-z_][\w.-]*)(\\?["']?[ \t]*(?:=>|:=|:|=)[ \t]*)(\\"(?:[^"\\]|\\[^"])*\\"|"(?:[^"\\]|\\.)*"|'[^'\r\n]*'|(?:[^\s"'\\,;&}\]\)<>]|\\[^"'])+)"#,
    )
    .expect("assignment")
});

/// A CLI flag with its value after a space: `--password VALUE`, `-p` is too
/// short to know.
static FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(--[A-Za-z][\w-]*)([ \t]+)([^\s"'-][^\s"']*|"[^"]*"|'[^']*')"#).expect("flag")
});

/// `.netrc`'s `machine H login U password P`, and `docker login -p P`
/// (also `helm registry login`, `oc login`): a password without `=` or
/// `--`.
static NETRC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\blogin[ \t]+\S+[ \t]+password[ \t]+)(\S+)").expect("netrc")
});
static LOGIN_P: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\blogin\b[^\r\n]*?[ \t]-p[ \t]+)([^\s-]\S*)").expect("login -p")
});

/// An XML element with a secret-like name: `<password>P</password>`.
static XML: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<([A-Za-z][\w.:-]*)>([^<\r\n]{1,512})</([A-Za-z][\w.:-]*)>").expect("xml")
});

/// Masks a value, keeping the quotes it came in.
fn masked(value: &str) -> String {
    for quote in ["\\\"", "\"", "'"] {
        if value.len() >= 2 * quote.len() && value.starts_with(quote) && value.ends_with(quote) {
            return format!("{quote}{MASK}{quote}");
        }
    }
    MASK.to_string()
}

/// Values that say nothing secret (`password: null`, `auth: false`).
fn says_nothing(value: &str) -> bool {
    let bare = value.trim_matches(|c| c == '"' || c == '\'' || c == '\\');
    bare.is_empty()
        || bare.contains(MASK)
        || matches!(
            bare.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "none" | "nil" | "yes" | "no" | "{" | "["
        )
}

/// Replaces the matches `decide` masks. A match it keeps is passed over
/// only up to the end of its name (group 1), so that a secret inside its
/// value is still found: `"msg": "{\"token\": \"...\"}"`, `url=https://h/p?token=...`.
fn replace_decided(
    pattern: &Regex,
    text: &str,
    decide: impl Fn(&Captures) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(c) = pattern.captures_at(text, from) {
        let whole = c.get(0).expect("a match");
        match decide(&c) {
            Some(replacement) => {
                out.push_str(&text[copied..whole.start()]);
                out.push_str(&replacement);
                copied = whole.end();
                from = whole.end().max(whole.start() + 1);
            }
            None => {
                from = c
                    .get(1)
                    .map_or(whole.end(), |name| name.end())
                    .max(whole.start() + 1)
            }
        }
        while from < text.len() && !text.is_char_boundary(from) {
            from += 1;
        }
        if from >= text.len() {
            break;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Every family applied to one text (a line, a message, a value).
pub fn redact(text: &str) -> String {
    if !TRIGGER.is_match(text) {
        return text.to_string();
    }
    let text = PEM.replace_all(text, |c: &Captures| {
        let end = c.get(3).map_or("", |m| m.as_str());
        format!("{}{MASK}{end}", &c[1])
    });
    let text = KEY_ID.replace_all(&text, |c: &Captures| format!("{}{MASK}{}", &c[1], &c[2]));
    let text = TOKENS.replace_all(&text, MASK);
    let text = AUTHORIZATION.replace_all(&text, |c: &Captures| format!("{}{MASK}", &c[1]));
    let text = COOKIE.replace_all(&text, |c: &Captures| format!("{}{MASK}", &c[1]));
    let text =
        URL_USERINFO.replace_all(&text, |c: &Captures| format!("{}{}:{MASK}@", &c[1], &c[2]));
    let text = URL_TOKEN_USER.replace_all(&text, |c: &Captures| format!("{}{MASK}@", &c[1]));
    let text = ENV_JSON.replace_all(&text, |c: &Captures| {
        if is_secret_name(&c[2]) && !says_nothing(&c[3]) {
            format!("{}{}", &c[1], masked(&c[3]))
        } else {
            c[0].to_string()
        }
    });
    let text = ENV_YAML.replace_all(&text, |c: &Captures| {
        if is_secret_name(&c[2]) && !says_nothing(&c[3]) {
            format!("{}{}", &c[1], masked(c[3].trim_end()))
        } else {
            c[0].to_string()
        }
    });
    let text = replace_decided(&ASSIGNMENT, &text, |c: &Captures| {
        // "failed to fetch anonymous token: unexpected status" is prose: an
        // unquoted word after a colon is a value only when it looks like one.
        let prose = c[2].trim_end().ends_with(':')
            && !c[3].starts_with(['"', '\'', '\\'])
            && c[3].chars().all(|ch| ch.is_ascii_lowercase());
        (is_secret_name(&c[1]) && !says_nothing(&c[3]) && !prose)
            .then(|| format!("{}{}{}", &c[1], &c[2], masked(&c[3])))
    });
    let text = NETRC.replace_all(&text, |c: &Captures| format!("{}{MASK}", &c[1]));
    let text = LOGIN_P.replace_all(&text, |c: &Captures| format!("{}{MASK}", &c[1]));
    let text = XML.replace_all(&text, |c: &Captures| {
        if c[1] == c[3] && is_secret_name(&c[1]) && !says_nothing(&c[2]) {
            format!("<{}>{MASK}</{}>", &c[1], &c[3])
        } else {
            c[0].to_string()
        }
    });
    let text = FLAG.replace_all(&text, |c: &Captures| {
        if is_secret_name(&c[1]) && !says_nothing(&c[3]) {
            format!("{}{}{}", &c[1], &c[2], masked(&c[3]))
        } else {
            c[0].to_string()
        }
    });
    text.into_owned()
}

/// An access key id's ends, or the mask.
pub fn mask_value(value: &str) -> String {
    if value.is_empty() || value.contains(MASK) {
        return value.to_string();
    }
    match KEY_ID.captures(value) {
        Some(c) if c[0].len() == value.trim().len() => format!("{}{MASK}{}", &c[1], &c[2]),
        _ => MASK.to_string(),
    }
}
