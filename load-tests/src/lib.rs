//! Cầu's load tests: hundreds of simulated endpoints in one process, speaking the hub's real
//! websocket protocol (the types in [`signaling::protocol`]) and real WebRTC (str0m: ICE,
//! DTLS, SRTP), and the scenarios that measure what a province meeting costs and how it feels.
//!
//! - [`endpoint`]: one simulated endpoint (a browser without the browser);
//! - [`media`]: synthetic audio and VP8 video at realistic sizes and rates, no encoder;
//! - [`clip`] (from the recorder crate) and [`replay`]: a real VP8/Opus clip (made by
//!   ffmpeg) replayed instead, so browsers in the same meeting decode what the simulated
//!   endpoints send;
//! - [`payload`]: the measurement tag in every payload (sender, stream, sequence, send time);
//! - [`stats`]: loss, duplicates and one-way delay over the measurement window;
//! - [`impair`]: an in-process impaired link (loss, jitter, reordering, caps, outages);
//! - [`hub`]: the hub under test (started here or already running), through its API;
//! - [`procstat`]: CPU and memory of a process from `/proc`;
//! - [`scenarios`] and [`run`]: province, tiers, churn, impaired;
//! - [`report`]: the table and the JSON report.
//!
//! The `cau-load` binary (`src/main.rs`) is the command line over all this; see
//! `docs/benchmarks.md`.

/// The clip readers live with the recorder, which archives what replaying endpoints send.
pub use recorder::clip;
pub mod endpoint;
pub mod hub;
pub mod impair;
pub mod media;
pub mod payload;
pub mod procstat;
pub mod replay;
pub mod report;
pub mod run;
pub mod scenarios;
pub mod stats;

pub use signaling::protocol;
