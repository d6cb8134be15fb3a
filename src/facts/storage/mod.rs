//! Volumes: claims, their classes and volumes, and what binds them.

pub mod claim;
