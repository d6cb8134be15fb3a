//! What every fact offers the engine, whatever its domain.

use super::subject::{Evidence, Location, Subject};
use super::value::FieldSource;

/// Resource name → amount in milli-units.
pub type Resources = std::collections::BTreeMap<String, i64>;

/// What every fact offers the engine besides its fields.
pub trait Fact: FieldSource {
    fn subject(&self) -> Subject;
    fn evidence(&self) -> Vec<Evidence>;
    /// Where in a file the fact comes from, when it comes from a file.
    fn location(&self) -> Option<Location> {
        None
    }
}
