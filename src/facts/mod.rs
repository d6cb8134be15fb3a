//! Facts: small typed records derived from raw Kubernetes objects.
//!
//! A source fills an [`Inventory`] object by object (raw objects are dropped
//! as soon as their record exists). [`Inventory::correlate`] then joins them
//! once — events to pods and runs, pods to nodes, scheduler verdicts to
//! causes — so rules only ever look at one record at a time.
//!
//! The fact files are grouped by the part of the product they explain;
//! domains use `shared` and the inventory's types, never the other way round.

pub mod access;
pub mod artifacts;
pub mod event;
pub mod gap;
pub mod inventory;
pub mod kinds;
pub mod lint;
pub mod records;
pub mod scheduling;
pub mod shared;
pub mod storage;
pub mod workloads;

pub use artifacts::log::LogTail;
pub use event::EventFact;
pub use gap::CollectionGap;
pub use inventory::{Facts, Inventory};
pub use kinds::FactKind;
pub use scheduling::node::{NodeConditionFact, NodeFact};
pub use scheduling::verdict::SchedulingFact;
pub use shared::fact::{Fact, Resources};
pub use shared::subject::{Evidence, Location, RunRef, Subject};
pub use shared::value::{FieldSource, Value};
pub use workloads::pod::PodFact;
