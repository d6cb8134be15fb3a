//! The pipeline every command that judges a cluster runs: gather from the
//! sources, then judge what was gathered. `check`, `serve` and `access` call
//! it; it never calls back into the commands, so a new source (Polyaxon's
//! records) plugs in here once for all of them.

pub mod gather;
pub mod judge;
pub mod records;
pub mod setup;

pub use gather::{Request, cluster_options, gather, probe_api, probe_stores, runtime};
pub use judge::{Asked, Collected, Judged, judge};
pub use setup::{configured_engine, event_sieve, today, warn_expired};
