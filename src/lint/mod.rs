//! `pxdoctor lint`: DAG and polyaxonfile mistakes caught before a run is
//! submitted.
//!
//! The file is read into a YAML tree with positions ([`yaml`]), seen as
//! Polyaxon sees it ([`spec`]), and checked: unknown fields ([`fields`]),
//! the DAG with Polyaxon's own edge semantics ([`dag`]), params against
//! inputs and outputs ([`params`]), container resources ([`resources`]),
//! and, with `--snapshot`, the cluster ([`cluster`]). Each problem becomes a
//! lint fact; the rules under `rules/dag/` explain them, and the report
//! renders them as it renders `check`'s findings ([`command`]).

pub mod check;
pub mod cluster;
pub mod command;
pub mod dag;
pub mod fields;
pub mod graph;
pub mod ignore;
pub mod model;
pub mod params;
pub mod resources;
pub mod schema;
pub mod sink;
pub mod spec;
pub mod workload;
pub mod yaml;

pub use command::run;
