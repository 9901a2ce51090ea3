//! Cầu's media plane: forwards RTP between endpoints on one UDP port.
//!
//! - [`core`]: the sans-IO forwarding core (decisions as values, time as an argument);
//! - [`shell`]: the tokio task that owns the sockets, the clock and the str0m instances;
//! - [`ids`]: typed identifiers.
//!
//! The sfu knows sessions, endpoints, tracks and subscriptions — nothing of provinces,
//! meetings or people.

pub mod core;
pub mod ids;
pub mod shell;

pub use ids::{EndpointId, MediaKind, Mid, SessionId, TrackId};
pub use shell::{
    CloseReason, EndpointEvent, LinkStats, SfuConfig, SfuError, SfuHandle, SfuStats, TrackInfo,
    start,
};
