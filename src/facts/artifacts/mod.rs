//! Where runs upload and what they talk to: the agent's config, the
//! artifacts store and its probe, log lines, and the Polyaxon API.

pub mod agent_config;
pub mod log;
pub mod polyaxon_api;
pub mod probe;
pub mod store;
