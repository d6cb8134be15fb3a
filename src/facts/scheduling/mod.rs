//! Where a pod can run: nodes, the scheduler's verdict, and pxdoctor's own
//! fit check.

pub mod fit;
pub mod fit_fact;
pub mod node;
pub mod verdict;
