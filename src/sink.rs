//! Where pxdoctor's words leave the process: every line for the user on
//! stdout or stderr (messages, warnings, `-v` logs, errors) goes through
//! here, redacted, so that no credential in an error, a server's message or
//! a log reaches a terminal or a CI log. Reports are redacted as a whole
//! before they are rendered (`Report::redact`); bundles as they are
//! written (`source::bundle`). tests/redaction.rs fails when a new writer
//! bypasses these.

use std::io::Write;

/// One line on stdout.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock(); // sink: redacted below
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = writeln!(stdout, "{}", crate::redact::redact_line(text));
}

/// pxdoctor's own documents (a rule file for `rules explain`): text it
/// ships, not anything collected, printed as written so that the examples a
/// user copies stay whole.
pub fn out_document(text: &str) {
    let mut stdout = std::io::stdout().lock(); // sink: our own text, not data
    let _ = writeln!(stdout, "{text}");
}

/// One line on stderr.
pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock(); // sink: redacted below
    let _ = writeln!(stderr, "{}", crate::redact::redact_line(text));
}

/// Text for a progress bar's line (indicatif prints it above the bar).
pub fn progress(progress: &indicatif::ProgressBar, text: &str) {
    progress.println(crate::redact::redact_line(text)); // sink: redacted
}
