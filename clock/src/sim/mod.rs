//! Deterministic simulation: simulated clock, network and servers.

pub mod clock;
pub mod engine;
pub mod mesh;
pub mod network;
pub mod random;
pub mod scenario;
