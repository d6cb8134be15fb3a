//! pxdoctor explains why Polyaxon runs on Kubernetes do not run.
//!
//! Data flows one way: a [`source`] gathers raw objects, [`facts`] turns them
//! into small correlated records, the [`engine`] matches declarative rules
//! against those records, and the [`report`] sorts, folds and renders the
//! findings. [`pipeline`] runs those steps for every command; [`app`] wires
//! the commands of [`cli`] onto it.

pub mod access;
pub mod app;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod facts;
pub mod lint;
pub mod pipeline;
pub mod redact;
pub mod report;
pub mod serve;
pub mod sink;
pub mod source;
