//! Runs as Polyaxon's API records them, for the runs Kubernetes no longer
//! holds (cleaned up, events expired) and the causes that live only in
//! Polyaxon (a run that never reached Kubernetes, logs never archived).

pub mod fact;
pub mod record;

pub use fact::RunRecordFact;
pub use record::{ArchivedLogs, LogLine, RunRecord, StatusCondition};
