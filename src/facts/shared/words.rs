//! Vocabularies: the stable parts of failure messages (S3, GCS and Azure
//! error codes, HTTP statuses, errno and resolver words, TLS verifier
//! strings, Kubernetes' and registries' words), each mapped to one cause,
//! whatever client or version wraps them. A message is classified by the
//! terms it holds, not by the sentence around them: botocore's "An error
//! occurred (AccessDenied) when calling ...", Java's "Error Code:
//! AccessDenied", Go's "AccessDenied: Access Denied status code: 403" and
//! an XML `<Code>AccessDenied</Code>` are one cause.
//!
//! The vocabularies are data (rules/vocabularies/*.yaml, each with its
//! source), loaded with the rules; a team adds its own with `--rules`.
//! Precedence: an error code, then a phrase, then an HTTP status read with
//! what the text is about (the store, or else nothing).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use regex::{Regex, RegexSet};
use serde::Deserialize;

/// How a vocabulary's terms are found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermKind {
    /// A whole token, case-sensitive: `AccessDenied`, `ECONNREFUSED`.
    Code,
    /// A phrase anywhere, any case: "name or service not known".
    Phrase,
    /// An HTTP status number (`403`), read where a text gives a status.
    Status,
    /// A regular expression anywhere, as written (`(?i)` for any case):
    /// for words with a number in them, "Attempt 3/3 succeeded".
    Pattern,
}

/// One vocabulary file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VocabularyDoc {
    pub vocabulary: String,
    /// Where its terms come from (a URL).
    pub source: String,
    pub kind: TermKind,
    /// For statuses: what the text must be about for them to mean this
    /// (`store`: the artifacts store's clients; `kube`: the Kubernetes API).
    #[serde(default)]
    pub about: Option<About>,
    /// Phrases that say more than any code beside them (an Azure
    /// AuthenticationFailed whose detail says the SAS token expired).
    #[serde(default)]
    pub beats_codes: bool,
    pub entries: Vec<EntryDoc>,
    /// Real messages it classifies (`cause`) and look-alikes it must not
    /// (no `cause`), checked when the vocabularies are loaded.
    #[serde(default)]
    pub examples: Vec<ExampleDoc>,
}

/// One example of a vocabulary: a message and the cause it must show, or,
/// without a cause, a look-alike none of its terms may classify.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleDoc {
    pub text: String,
    #[serde(default)]
    pub cause: Option<String>,
}

impl VocabularyDoc {
    /// What is wrong with each example that fails, by the vocabularies in
    /// force (`all`): (example's index, why).
    pub fn failing_examples(&self, all: &Vocabulary) -> Vec<(usize, String)> {
        let mut failing = Vec::new();
        for (index, example) in self.examples.iter().enumerate() {
            let found = all.classify(&example.text);
            let ours = found.as_ref().filter(|c| c.vocabulary == self.vocabulary);
            let why = match (&example.cause, ours) {
                (Some(want), Some(got)) if got.cause == *want => continue,
                (Some(want), _) => format!(
                    "should show {want} by a term of {}, shows {}",
                    self.vocabulary,
                    found.map_or("nothing".to_string(), |c| format!(
                        "{} (\"{}\" of {})",
                        c.cause, c.term, c.vocabulary
                    ))
                ),
                (None, None) => continue,
                (None, Some(got)) => format!(
                    "a look-alike, but its term \"{}\" shows {}",
                    got.term, got.cause
                ),
            };
            failing.push((index, why));
        }
        failing
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryDoc {
    pub term: String,
    pub cause: String,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub source: Option<String>,
}

/// What a status-only text is about, by its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum About {
    Store,
    Kube,
    /// Pulling a container image (a registry, a manifest, a pull).
    Image,
    /// Polyaxon's own API, as its client, CLI and sidecar talk to it.
    PolyaxonApi,
}

impl About {
    fn holds(self, text: &str) -> bool {
        match self {
            About::Store => STORE.is_match(text),
            About::Kube => KUBE.is_match(text),
            About::Image => IMAGE.is_match(text),
            About::PolyaxonApi => POLYAXON_API.is_match(text),
        }
    }

    /// What a text is about, for a status alone: an image pull first (a
    /// registry may sit on amazonaws.com), then Polyaxon's API (it may sit
    /// behind an elb.amazonaws.com name), then the store, then Kubernetes'.
    fn of(text: &str) -> Option<About> {
        [About::Image, About::PolyaxonApi, About::Store, About::Kube]
            .into_iter()
            .find(|about| about.holds(text))
    }
}

/// What a text was classified as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub cause: String,
    /// The term found, as the text has it.
    pub term: String,
    /// The vocabulary it comes from.
    pub vocabulary: String,
}

/// Every vocabulary, compiled for lookup.
#[derive(Debug, Default)]
pub struct Vocabulary {
    /// token → (cause, vocabulary, what the text must be about)
    codes: HashMap<String, (String, String, Option<About>)>,
    /// (phrase lowercased, or a pattern as written; cause; vocabulary)
    phrases: Vec<(String, String, String)>,
    /// For each phrase, its compiled pattern when it is one.
    patterns: Vec<Option<Regex>>,
    /// What the text must be about for each phrase to count.
    phrase_about: Vec<Option<About>>,
    phrase_set: Option<RegexSet>,
    /// Indexes of phrases checked before codes.
    details: Vec<bool>,
    /// (what the text is about, status) → cause.
    statuses: HashMap<(About, u16), (String, String)>,
}

impl Vocabulary {
    pub fn build(docs: &[VocabularyDoc]) -> Vocabulary {
        let mut vocabulary = Vocabulary::default();
        for doc in docs {
            for entry in &doc.entries {
                let value = (entry.cause.clone(), doc.vocabulary.clone());
                match doc.kind {
                    TermKind::Code => {
                        vocabulary
                            .codes
                            .entry(entry.term.clone())
                            .or_insert((value.0, value.1, doc.about));
                    }
                    TermKind::Phrase | TermKind::Pattern => {
                        let pattern = match doc.kind {
                            // A pattern that does not compile was refused
                            // when its file was read (check_patterns).
                            TermKind::Pattern => match Regex::new(&entry.term) {
                                Ok(pattern) => Some(pattern),
                                Err(_) => continue,
                            },
                            _ => None,
                        };
                        let term = match pattern {
                            Some(_) => entry.term.clone(),
                            None => entry.term.to_lowercase(),
                        };
                        vocabulary.phrases.push((
                            term,
                            entry.cause.clone(),
                            doc.vocabulary.clone(),
                        ));
                        vocabulary.patterns.push(pattern);
                        vocabulary.details.push(doc.beats_codes);
                        vocabulary.phrase_about.push(doc.about);
                    }
                    TermKind::Status => {
                        if let (Ok(status), Some(about)) = (entry.term.parse::<u16>(), doc.about) {
                            vocabulary.statuses.entry((about, status)).or_insert(value);
                        }
                    }
                }
            }
        }
        let patterns: Vec<String> = vocabulary
            .phrases
            .iter()
            .zip(&vocabulary.patterns)
            .map(|((phrase, _, _), pattern)| match pattern {
                Some(pattern) => pattern.as_str().to_string(),
                None => format!("(?i){}", regex::escape(phrase)),
            })
            .collect();
        vocabulary.phrase_set = RegexSet::new(&patterns).ok();
        vocabulary
    }

    /// The cause a text shows, if any vocabulary knows it. In a text about
    /// pulling an image, a network or TLS failure means the registry cannot
    /// be reached.
    pub fn classify(&self, text: &str) -> Option<Classified> {
        let mut classified = self.classify_words(text)?;
        let network = ["dns", "connection-", "network-", "tls-"]
            .iter()
            .any(|family| classified.cause.starts_with(family));
        if network && About::Image.holds(text) {
            classified.cause = "image-unreachable".into();
        } else if network && About::PolyaxonApi.holds(text) {
            classified.cause = "polyaxon-api-unreachable".into();
        }
        Some(classified)
    }

    fn classify_words(&self, text: &str) -> Option<Classified> {
        let found = |term: &str, (cause, vocabulary): &(String, String)| Classified {
            cause: cause.clone(),
            term: term.to_string(),
            vocabulary: vocabulary.clone(),
        };
        let lower = text.to_lowercase();
        let matched: Vec<usize> = self
            .phrase_set
            .as_ref()
            .map(|set| set.matches(text).iter().collect::<Vec<usize>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|&i| self.phrase_about[i].is_none_or(|about| about.holds(text)))
            .collect();
        // Where each matched phrase stands in the text, as it is written.
        let found_at = |i: usize| -> (usize, String) {
            match &self.patterns[i] {
                Some(pattern) => pattern
                    .find(text)
                    .map(|m| (m.start(), m.as_str().to_string()))
                    .unwrap_or_default(),
                None => {
                    let phrase = &self.phrases[i].0;
                    let at = lower.find(phrase.as_str()).unwrap_or(usize::MAX);
                    (at, as_written(text, &lower, phrase))
                }
            }
        };
        // The most specific phrase (the longest) wins; then the first.
        let phrase = |details: bool| {
            matched
                .iter()
                .copied()
                .filter(|&i| self.details[i] == details)
                .map(|i| (i, found_at(i)))
                .min_by_key(|(_, (at, term))| (std::cmp::Reverse(term.len()), *at))
                .map(|(i, (_, term))| {
                    let (_, cause, vocabulary) = &self.phrases[i];
                    Classified {
                        cause: cause.clone(),
                        term,
                        vocabulary: vocabulary.clone(),
                    }
                })
        };
        if let Some(detail) = phrase(true) {
            return Some(detail);
        }
        // The leftmost known code: `(AccessDenied)`, `<Code>X</Code>`,
        // `Error Code: X`, `X: ...`, `"Code":"X"`, `ErrorCode=X`.
        for token in TOKEN.find_iter(text) {
            if let Some((cause, vocabulary, about)) = self.codes.get(token.as_str())
                && about.is_none_or(|about| about.holds(text))
            {
                return Some(found(token.as_str(), &(cause.clone(), vocabulary.clone())));
            }
        }
        if let Some(phrase) = phrase(false) {
            return Some(phrase);
        }
        let status = status_of(text)?;
        // A 404 on a DELETE or HEAD is an object that is not there (a
        // cleanup of a path never written, a client's existence check),
        // not a missing bucket: GCS answers a DELETE so, S3 does not.
        if status == 404 && DELETE_OR_HEAD.is_match(text) {
            return Some(found(
                "404",
                &("none".to_string(), "http-status".to_string()),
            ));
        }
        let known = self.statuses.get(&(About::of(text)?, status))?;
        Some(found(&status.to_string(), known))
    }
}

/// A phrase as the text writes it ("code = NotFound", not the lowercase
/// form it was found by), where lowercasing kept the text's byte offsets.
fn as_written(text: &str, lower: &str, phrase: &str) -> String {
    lower
        .find(phrase)
        .filter(|_| lower.len() == text.len())
        .and_then(|at| text.get(at..at + phrase.len()))
        .unwrap_or(phrase)
        .to_string()
}

/// Identifier-like tokens: codes stand alone between punctuation.
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9]").expect("token"));

/// Where a text gives an HTTP status: "status code: 403", "StatusCode:
/// 403", "Status Code: 403", "(403)", "HTTP Error 503", "HTTP/1.1 403",
/// "403 Forbidden", "404 GET https://...", "Status 403", "403, message=",
/// a JSON body's `"code": 403`.
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:status[ _]?code[\s:=]*|\bstatus[\s:=]+|http error |http/\d(?:\.\d)? |\()([1-5]\d\d)\b|\b([1-5]\d\d) (?:forbidden|unauthorized|not found|service unavailable|slow down|moved permanently|temporary redirect|internal server error|too many requests|bad request|gone|get|put|post|head|delete|patch)\b|\b([1-5]\d\d), message=|"code"\s*:\s*([1-5]\d\d)\b"#,
    )
    .expect("status")
});

/// An HTTP method that may meet a 404 without anything being wrong.
static DELETE_OR_HEAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:DELETE|HEAD)\b").expect("delete or head"));

/// A status said in words only: "Forbidden", "NOT_FOUND", "TooManyRequests".
static STATUS_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:(Unauthorized)|(Forbidden)|(Not Found|NOT_FOUND|NotFound)|(TooManyRequests|Too Many Requests)|(Internal Server Error)|(Service Unavailable|ServiceUnavailable))\b")
        .expect("status word")
});

/// The status a text gives, in numbers or in words.
fn status_of(text: &str) -> Option<u16> {
    if let Some(number) = STATUS
        .captures(text)
        .and_then(|c| c.iter().skip(1).flatten().next().map(|m| m.as_str()))
        .and_then(|s| s.parse::<u16>().ok())
    {
        return Some(number);
    }
    let words = STATUS_WORD.captures(text)?;
    [401, 403, 404, 429, 500, 503]
        .into_iter()
        .zip(words.iter().skip(1))
        .find_map(|(status, group)| group.map(|_| status))
}

/// A text about the artifacts store: its clients and endpoints.
static STORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)s3|amazonaws\.com|botocore|boto3|\bbucket|minio|\bmc: |rclone|googleapis|google\.cloud\.storage|\bgcs|gs://|resumablesession|blob\.core\.windows\.net|azure|wasbs?://|\b(?:put|get|head|list|delete)object|\bupload|\bartifacts?\b",
    )
    .expect("store")
});

/// A text about pulling an image: the kubelet's, the runtimes' and docker's
/// words for it.
static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)pull(?:ing)? (?:access|image|rate)|image pull|imagepull|failed to pull|pull image|pulling image|manifests?\b|registry|docker\.io|ghcr\.io|gcr\.io|\.dkr\.ecr\.|docker\.pkg\.dev|quay\.io|image (?:tag|reference)|image reference|/v2/|docker login|error response from daemon|repository tags|bearer token")
        .expect("image")
});

/// A text about Polyaxon's API: its client's and CLI's words, and its
/// paths (`/api/v1/<owner>/<project>/runs/...`, `/api/v1/users/`), which
/// Kubernetes' `/api/v1/namespaces/...` are not (polyaxon/polyaxon
/// `cli/polyaxon/_client`, `_cli/errors.py`; docs/wording/polyaxon-api.md).
static POLYAXON_API: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)polyaxon server|polyaxon login|polyaxon\.client|polyaxon_sdk|polyaxon(?:client)?(?:http)?exception|/api/v1/(?:users|version|versions|compatibility|orgs|installation|log_handler)\b|/api/v1/[\w<>.-]+/[\w<>.-]+/(?:runs|experiments|projects|searches|agents|queues|groups|jobs|builds)\b|fetch (?:installation|compatibility|log handler)|\buser info\b")
        .expect("polyaxon api")
});

/// A text about the Kubernetes API: its clients and paths.
static KUBE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)kube|k8s|client-go|apiserver|/api/v1/|/apis/|serviceaccount|reflector\.go")
        .expect("kube")
});

/// The vocabularies in force: the built-in ones until the rules are loaded
/// (`install`), then those with a team's additions.
static INSTALLED: LazyLock<RwLock<Arc<Vocabulary>>> =
    LazyLock::new(|| RwLock::new(Arc::new(Vocabulary::build(&builtin_docs()))));

/// The built-in vocabulary files, parsed.
pub fn builtin_docs() -> Vec<VocabularyDoc> {
    crate::engine::builtin_files()
        .filter(|(path, _)| path.contains("vocabularies/"))
        .filter_map(|(_, text)| serde_saphyr::from_str::<VocabularyDoc>(text).ok())
        .collect()
}

/// Puts these vocabularies in force (the rule loader does, with every
/// vocabulary file it read).
pub fn install(vocabulary: Vocabulary) {
    if let Ok(mut installed) = INSTALLED.write() {
        *installed = Arc::new(vocabulary);
    }
}

/// The cause a text shows, by the vocabularies in force.
pub fn classify(text: &str) -> Option<Classified> {
    let vocabulary = INSTALLED.read().ok()?.clone();
    vocabulary.classify(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_vocabulary_file_parses() {
        let files = crate::engine::builtin_files()
            .filter(|(path, _)| path.contains("vocabularies/"))
            .count();
        assert!(files >= 8);
        assert_eq!(builtin_docs().len(), files);
    }

    #[test]
    fn the_same_code_through_different_clients_is_one_cause() {
        let wrapped = [
            "An error occurred (AccessDenied) when calling the PutObject operation: Access Denied",
            "AccessDenied: Access Denied\n\tstatus code: 403, request id: 4B6",
            "operation error S3: PutObject, https response error StatusCode: 403, RequestID: X, api error AccessDenied: Access Denied",
            "Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: X)",
            "S3 operation failed; code: AccessDenied, message: Access Denied",
            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
        ];
        for text in wrapped {
            let classified = classify(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(classified.cause, "store-permission", "{text}");
            assert_eq!(classified.term, "AccessDenied");
        }
    }

    #[test]
    fn a_missing_object_on_delete_or_head_is_no_store_problem() {
        let vocabulary = Vocabulary::build(&builtin_docs());
        assert_eq!(
            vocabulary
                .classify("Error: Connection error: 404 DELETE https://storage.googleapis.com/storage/v1/b/plx/o/x%2Fuploads")
                .map(|c| c.cause),
            Some("none".to_string())
        );
        assert_eq!(
            vocabulary
                .classify("Error: 404 GET https://storage.googleapis.com/storage/v1/b/plx/o/x")
                .map(|c| c.cause),
            Some("store-bucket".to_string())
        );
    }

    #[test]
    fn a_status_alone_counts_when_the_text_is_about_the_store() {
        let status_only = "botocore.exceptions.ClientError: An error occurred (403) when calling the HeadObject operation: Forbidden";
        assert_eq!(
            classify(status_only).map(|c| c.cause).as_deref(),
            Some("store-permission")
        );
        assert_eq!(classify("epoch 403: loss 0.12"), None);
    }

    #[test]
    fn a_retry_that_succeeded_is_recovered_and_a_retry_notice_keeps_its_cause() {
        // urllib3's notice is followed by success or by "Max retries
        // exceeded": alone, it is not evidence of either.
        let notice = "WARNING requests.packages.urllib3.connectionpool Retrying (9 attempts remain) after connection broken by 'ReadTimeoutError(\"HTTPSConnectionPool(host='bucketname.s3.amazonaws.com', port=443): Read timed out. (read timeout=20)\",)': /path";
        assert!(classify(notice).is_some_and(|c| c.cause != "none" && c.cause != "recovered"));
        let succeeded = classify("2025/05/29 19:56:29 ERROR : Attempt 3/3 succeeded").unwrap();
        assert_eq!(succeeded.cause, "recovered");
        assert_eq!(succeeded.term, "Attempt 3/3 succeeded");
        assert_eq!(
            classify("ERROR : Attempt 3/3 failed with 2 errors and: AccessDenied: Access Denied")
                .map(|c| c.cause)
                .as_deref(),
            Some("store-permission")
        );
    }

    #[test]
    fn a_pattern_is_matched_as_written_and_gives_its_text_as_the_term() {
        let doc: VocabularyDoc = serde_saphyr::from_str(
            "vocabulary: t\nsource: https://x\nkind: pattern\nentries:\n  - {term: 'quota \\d+ exhausted', cause: store-throttling}\n",
        )
        .unwrap();
        let vocabulary = Vocabulary::build(&[doc]);
        let found = vocabulary.classify("tenant quota 42 exhausted").unwrap();
        assert_eq!(
            (found.cause.as_str(), found.term.as_str()),
            ("store-throttling", "quota 42 exhausted")
        );
        // As written: no `(?i)`, so case counts.
        assert!(vocabulary.classify("QUOTA 42 EXHAUSTED").is_none());
    }

    #[test]
    fn every_code_of_s3s_error_reference_is_known() {
        // The "List of error codes" of
        // https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
        // (2026-12-03), also s3-server's S3ErrorCode.
        let reference = "AccessControlListNotSupported AccessDenied AccessPointAlreadyOwnedByYou AccountProblem AllAccessDisabled AmbiguousGrantByEmailAddress AuthorizationHeaderMalformed AuthorizationQueryParametersError BadDigest BucketAlreadyExists BucketAlreadyOwnedByYou BucketHasAccessPointsAttached BucketNotEmpty ClientTokenConflict ConditionalRequestConflict ConnectionClosedByRequester CredentialsNotSupported CrossLocationLoggingProhibited DeviceNotActiveError EndpointNotFound EntityTooSmall EntityTooLarge ExpiredToken IllegalLocationConstraintException IllegalVersioningConfigurationException IncompleteBody IncorrectEndpoint IncorrectNumberOfFilesInPostRequest InlineDataTooLarge InternalError InvalidAccessKeyId InvalidAccessPoint InvalidAccessPointAliasError InvalidAddressingHeader InvalidArgument InvalidBucketAclWithObjectOwnership InvalidBucketName InvalidBucketOwnerAWSAccountID InvalidBucketState InvalidDigest InvalidEncryptionAlgorithmError InvalidLocationConstraint InvalidObjectState InvalidPart InvalidPartOrder InvalidPayer InvalidPolicyDocument InvalidRange InvalidRequest InvalidSecurity InvalidSOAPRequest InvalidStorageClass InvalidTargetBucketForLogging InvalidToken InvalidURI KeyTooLongError KMS.DisabledException KMS.InvalidKeyUsageException KMS.KMSInvalidStateException KMS.NotFoundException MalformedACLError MalformedPOSTRequest MalformedXML MaxMessageLengthExceeded MaxPostPreDataLengthExceededError MetadataTooLarge MethodNotAllowed MissingAttachment MissingContentLength MissingRequestBodyError MissingSecurityElement MissingSecurityHeader NoLoggingStatusForKey NoSuchAccessPoint NoSuchAsyncRequest NoSuchBucket NoSuchBucketPolicy NoSuchCORSConfiguration NoSuchKey NoSuchLifecycleConfiguration NoSuchMultiRegionAccessPoint NoSuchObjectLockConfiguration NoSuchTagSet NoSuchUpload NoSuchVersion NoSuchWebsiteConfiguration NotDeviceOwnerError NotImplemented NotModified NotSignedUp OperationAborted OwnershipControlsNotFoundError PermanentRedirect PreconditionFailed Redirect RequestHeaderSectionTooLarge RequestIsNotMultiPartContent RequestTimeout RequestTimeTooSkewed RequestTorrentOfBucketError RestoreAlreadyInProgress ServerSideEncryptionConfigurationNotFoundError ServiceUnavailable SignatureDoesNotMatch SlowDown TemporaryRedirect TokenRefreshRequired TooManyAccessPoints TooManyBuckets TooManyMultiRegionAccessPoints UnexpectedContent UnresolvableGrantByEmailAddress UserKeyMustBeSpecified";
        let unknown: Vec<&str> = reference
            .split_whitespace()
            .filter(|code| {
                classify(&format!(
                    "An error occurred ({code}) when calling the PutObject operation"
                ))
                .is_none_or(|c| c.term != *code)
            })
            .collect();
        assert_eq!(reference.split_whitespace().count(), 113);
        assert!(
            unknown.is_empty(),
            "not in s3-error-codes.yaml: {unknown:?}"
        );
    }
}
