//! What every command sets up before it reads anything: the config and the
//! rules it names, the event sieve the rules allow, the day ignores are
//! judged by.

use std::collections::BTreeSet;

use crate::config::Config;
use crate::engine::{self, Engine};
use crate::error::{Error, Result};
use crate::facts::FactKind;
use crate::facts::inventory::sieve::{DECIDED_EVENT_FIELDS, Sieve};

/// Ignores of the config whose expiry date has passed, as warnings on
/// stderr, not as findings: they are about the config file, not the
/// cluster, and what they silenced is reported again anyway.
pub fn warn_expired(config: &Config, today: jiff::civil::Date) {
    for expired in config.expired(today) {
        crate::sink::err(&format!(
            "pxdoctor: warning: {}: this ignore expired on {}; what it silenced is reported again (its reason: {})",
            expired.position,
            expired.expires.map(|d| d.to_string()).unwrap_or_default(),
            expired.reason
        ));
    }
}

/// Keeps the events some loaded rule could match (and those joins read):
/// the rest would only hold memory.
pub fn event_sieve(engine: &Engine) -> Sieve {
    let filter = engine.prefilter(FactKind::Event, DECIDED_EVENT_FIELDS);
    Sieve::events(move |event| filter.may_match(event))
}

/// Loads `.pxdoctor.yaml` (or `--config`), then the rules with its rule
/// directories; the config's problems and its unknown rule ids are reported
/// together.
pub fn configured_engine(
    config: Option<&std::path::Path>,
    dirs: &[std::path::PathBuf],
) -> Result<(Config, Engine)> {
    let (config, mut problems) = Config::load(config)?;
    let mut dirs = dirs.to_vec();
    dirs.extend(config.rule_dirs.iter().cloned());
    let engine = Engine::new(engine::load_rules(&dirs, true)?);
    let known: BTreeSet<&str> = engine.rules.iter().map(|rule| rule.id.as_str()).collect();
    config.check_rule_ids(&known, &mut problems);
    // A rule of the user's whose examples fail is refused as a rule without
    // examples is: it would match what its author did not mean. Built-in
    // rules are proven by pxdoctor's own tests.
    let (_, failures) = engine::examples::run(&engine, |rule| {
        dirs.iter().any(|dir| rule.path.starts_with(dir))
    });
    problems.extend(failures);
    if problems.is_empty() {
        crate::redact::add_patterns(config.redact.clone());
        Ok((config, engine))
    } else {
        Err(Error::Input(problems))
    }
}

/// The day ignore expiries are judged by: PXDOCTOR_NOW (tests), else
/// today (UTC). Not the snapshot's time: an expiry is a team's deadline.
pub fn today() -> Result<jiff::civil::Date> {
    let now = match std::env::var("PXDOCTOR_NOW") {
        Ok(text) => text.parse::<jiff::Timestamp>().map_err(|error| {
            Error::Usage(format!(
                "PXDOCTOR_NOW={text}: not an RFC 3339 time: {error}"
            ))
        })?,
        Err(_) => jiff::Timestamp::now(),
    };
    Ok(jiff::tz::Offset::UTC.to_datetime(now).date())
}
