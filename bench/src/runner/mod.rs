//! The runner behind `ntp-server-bench`: a private network namespace,
//! each server started in it in turn, stepped load, and the table.

pub mod ke_steps;
pub mod netns;
pub mod pki;
pub mod servers;
pub mod steps;
pub mod table;
