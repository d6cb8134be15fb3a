//! What runs: pods and their containers, runs, Jobs, Polyaxon's operations
//! and its platform Deployments.

pub mod container;
pub mod deployment;
pub mod job;
pub mod operation;
pub mod placement;
pub mod platform;
pub mod pod;
pub mod run;
pub mod service;
