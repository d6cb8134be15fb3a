//! Who may do what: RBAC objects evaluated locally, what Polyaxon's service
//! accounts need, the refusals seen, and the permissions they lack.

pub mod forbidden;
pub mod matrix;
pub mod needs;
pub mod permission;
pub mod rbac;
