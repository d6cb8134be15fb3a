//! Which decoded events are kept: those a join reads, and those some
//! loaded rule could match. The rest are counted (their time and namespace)
//! and let go, so memory follows what can explain a run, not the
//! cluster's chatter ("Pulled", "Created", "Started" for every pod).

use std::fmt;
use std::sync::Arc;

use crate::facts::EventFact;
use crate::facts::shared::value::FieldSource;

/// The event fields known at decoding, before the join adds the run and
/// the pod's state. A field missing here is only judged later, so
/// forgetting one keeps more, never less.
pub const DECIDED_EVENT_FIELDS: &[&str] = &[
    "namespace",
    "involved_kind",
    "involved_name",
    "reason",
    "message",
    "type",
    "count",
    "source",
];

type Judge = dyn Fn(&dyn FieldSource) -> bool + Send + Sync;

/// Keeps every event unless built with [`Sieve::events`].
#[derive(Clone, Default)]
pub struct Sieve {
    may_match: Option<Arc<Judge>>,
}

impl Sieve {
    /// Keeps the events the joins read and those `may_match` admits.
    pub fn events(may_match: impl Fn(&dyn FieldSource) -> bool + Send + Sync + 'static) -> Sieve {
        Sieve {
            may_match: Some(Arc::new(may_match)),
        }
    }

    pub fn keeps(&self, event: &EventFact) -> bool {
        match &self.may_match {
            None => true,
            Some(may_match) => joined(event) || may_match(event),
        }
    }
}

/// Events the joins read, whatever the rules say.
fn joined(event: &EventFact) -> bool {
    // Runs seen only through their Job's or custom resource's events, and
    // claims' provisioning complaints, are about objects other than pods.
    event.involved_kind != "Pod"
        || super::is_scheduler_verdict(event)
        || crate::facts::access::forbidden::may_hold(&event.message)
}

impl fmt::Debug for Sieve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.may_match.is_some() {
            "Sieve(events)"
        } else {
            "Sieve(all)"
        })
    }
}
