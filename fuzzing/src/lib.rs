//! Cầu's fuzz targets, as plain functions: each takes any bytes, feeds them to code of ours
//! that reads what a client, a file or a peer controls, and checks what is cheap to check —
//! no panic, round trips that must hold, lengths within their limits. A broken invariant is a
//! panic, which is what libFuzzer reports as a crash.
//!
//! The same functions run twice: under libFuzzer (`fuzz/`, one one-line target each, through
//! `scripts/fuzz`, nightly) and over every file of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` in the ordinary test suite (`tests/corpora.rs`, stable). See
//! `docs/fuzzing.md`.
//!
//! No RTP header-extension parsing is ours: str0m parses the extensions and the hub only
//! reads the values it found (audio level, voice activity, orientation), so there is no
//! `rtp_extensions` target.

mod directory;
mod join_token;
mod manifest;
mod red;
mod sdp;
mod vp8_descriptor;
mod ws_message;

pub use directory::directory;
pub use join_token::{TOKEN_KEY, join_token};
pub use manifest::manifest;
pub use red::red;
pub use sdp::sdp;
pub use vp8_descriptor::vp8_descriptor;
pub use ws_message::ws_message;

/// A fuzz target: any bytes in; a panic is a finding.
pub type Target = fn(&[u8]);

/// Every target by name: the name of its `fuzz/fuzz_targets/<name>.rs`, of its corpus
/// directory and of its function here.
pub const TARGETS: &[(&str, Target)] = &[
    ("ws_message", ws_message),
    ("sdp", sdp),
    ("vp8_descriptor", vp8_descriptor),
    ("red", red),
    ("directory", directory),
    ("join_token", join_token),
    ("manifest", manifest),
];
