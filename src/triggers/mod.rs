//! Native trigger functions: `set_updated_at` and the audit trail.

pub mod audit;
pub mod updated_at;
