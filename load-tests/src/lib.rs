//! Cầu's load tests: hundreds of simulated endpoints in one process, speaking the hub's real
//! websocket protocol (the types in [`signaling::protocol`]) and real WebRTC.
//!
//! The load-test issue builds the `cau-load` tool here. Until then the simulated endpoint
//! lives with the hub's integration tests (`signaling/tests/common/mod.rs`), from which it will
//! move here.

pub use signaling::protocol;
