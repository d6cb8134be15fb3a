//! Polyaxon's records as a source: the runs its API remembers, read with
//! the CLI's configuration, and the Kubernetes objects they describe
//! rebuilt for the runs the cluster no longer holds.

pub mod client;
pub mod replay;
