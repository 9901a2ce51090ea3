//! Cầu's media plane: forwards RTP between endpoints on one UDP port.
//!
//! - [`core`]: the sans-IO forwarding core (decisions as values, time as an argument);
//! - [`shell`]: the tokio task that owns the sockets and the clock, around the [`Engine`]
//!   (the str0m instances, routing, negotiation, forwarding — no I/O);
//! - [`ids`]: typed identifiers;
//! - [`testkit`]: a simulated network of str0m clients around an [`Engine`], for benchmarks
//!   and tests.
//!
//! The sfu knows sessions, endpoints, tracks and subscriptions — nothing of provinces,
//! meetings or people.

pub mod core;
pub mod ids;
pub mod shell;
pub mod testkit;

pub use core::{
    Codec, Layer, RECORDER, ReceiveMode, ReceivePrefs, RecordPolicy, SessionPolicy, SlotInfo,
    SlotReason, Source,
};
pub use ids::{EndpointId, MediaKind, Mid, SessionId, TrackId};
pub use shell::{
    CloseReason, EndpointEvent, Engine, Histogram, LinkStats, RecordedPacket, SfuConfig, SfuError,
    SfuHandle, SfuStats, TrackInfo, start,
};
