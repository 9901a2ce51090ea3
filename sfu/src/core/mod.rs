//! The sans-IO forwarding core: packets and `now` in, [`Decision`]s out.
//!
//! Only the shell ([`crate::shell`]) owns sockets, clocks and str0m instances; everything here is
//! plain data so it can be driven by tests with simulated endpoints, simulated time and a
//! seeded impaired network.

pub mod codec;
pub mod dominant;
pub mod policy;
pub mod red;
pub mod rewrite;
pub mod select;
pub mod session;
pub mod speaking;
pub mod throttle;

#[cfg(test)]
mod tests;

pub use codec::Codec;
pub use policy::{Layer, ReceiveMode, ReceivePrefs, SessionPolicy, SlotInfo, SlotReason, Source};
pub use rewrite::{DropReason, Vp8Out};
pub use session::{
    CoreConfig, CoreStats, Decision, Notice, RECORDER, RecordPolicy, Removal, RtpIn, SessionCore,
};
