//! Cầu's recorder: turns a session's media into archive files.
//!
//! What is here is the recording core, below any policy of what to record:
//!
//! - [`track`]: one stream's RTP packets (reordered by [`jitter`], timestamps unwrapped) into
//!   whole frames on the session's timeline — Opus packets, VP8 frames gathered from their
//!   packets ([`vp8`]), video started and resumed at keyframes with a keyframe asked for;
//! - [`webm`] over [`ebml`]: a live WebM file, crash-safe (unknown-size segment and clusters,
//!   a cluster at each keyframe or every 2 s, flushed as each cluster starts);
//! - [`file`]: one participant's file, audio and video, written as `….webm.part`;
//! - [`finalise`]: the file remuxed with cues and duration (ffmpeg `-c copy`), renamed, and
//!   its SHA-256; the same for `.part` files a crash left;
//! - [`session`]: one recorded session — the task the hub starts, fed the session's packets
//!   by the media plane and its facts (who joined, spoke, muted) by the hub, a file per
//!   participant and per shared screen, finalised with the session's manifest at its end;
//! - [`composite`]: the archive view made after the session (ffmpeg: tiles and a mix);
//! - [`clip`]: IVF/Ogg readers and an ffmpeg clip maker, shared with the load tests.
//!
//! The file format is described in `docs/recording.md`. Still to come (the recorder issue):
//! the in-process subscriber fed by the sfu, the recording policy, the manifest, the
//! composite view, the catalogue and the archive.

pub mod clip;
pub mod composite;
pub mod disk;
pub mod ebml;
pub mod file;
pub mod finalise;
pub mod h264;
pub mod jitter;
pub mod remote;
pub mod session;
pub mod track;
pub mod vp8;
pub mod webm;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
