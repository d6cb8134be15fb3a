//! Sources gather raw objects and hand them on as facts.
//!
//! Every source fills the same [`Inventory`](crate::facts::Inventory), so the
//! same data gives the same findings whatever it was read from.

pub mod bundle;
pub mod cluster;
pub mod fetch;
pub mod objects;
pub mod pinned;
pub mod polyaxon_api;
pub mod records;
pub mod resolver;
pub mod resources;
mod run_scope;
pub mod s3;
pub mod snapshot;
pub mod tls;
