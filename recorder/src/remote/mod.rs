//! The recorder in a process of its own (`cau-recorder`), for an archive on another machine.
//!
//! The hub offers each recorded session to the recorder, which subscribes over WebRTC the way
//! WHEP (RFC 9725's egress twin, draft-ietf-wish-whep) describes: it POSTs a receive-only
//! offer (one audio and one video m-line) and gets the answer and a resource; the session's
//! facts come as server-sent events on that resource, as WHEP's event extension does.
//!
//! - [`relay`] is the hub's side: fed what the in-process recorder would be fed (the media
//!   plane's recorded packets and the room's events), it sends each recorded stream as an
//!   SSRC of its own on the matching m-line, announcing it (participant, source, codec)
//!   before its first packet, and replays the session's events to the recorder;
//! - [`client`] is the recorder's side: it receives those streams and events and hands them
//!   to the same [`crate::session::record_session`] the hub runs in-process, so the files
//!   and the manifest are the same byte for byte in form.
//!
//! The wire types are here; `docs/recording.md` ("A recorder of its own") describes the
//! exchange and `docs/api.md` the routes.

pub mod client;
pub mod relay;

use serde::{Deserialize, Serialize};
use sfu::{Codec, EndpointId, Source};

use crate::session::{ParticipantInfo, RecorderEvent, SessionInfo};

/// The `Link` relation of a WHEP resource's server-sent events.
pub const EVENTS_REL: &str = "urn:ietf:params:whep:ext:core:server-sent-events";

/// [`crate::session::Manifest::stopped`] when the recorder process was lost mid-session.
pub const STOPPED_RECORDER_LOST: &str = "recorder_lost";
/// [`crate::session::Manifest::stopped`] when no recorder came for the session.
pub const STOPPED_NO_RECORDER: &str = "recorder_unavailable";

/// What the hub's recorder feed says: a recorded session is live and waits for a recorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedEvent {
    Record { meeting: i64, session: i64 },
}

/// One server-sent event of a session's recorder resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireEvent {
    /// First, always: the meeting the session belongs to.
    Session {
        info: SessionInfo,
    },
    /// A recorded stream starts on SSRC `ssrc` (repairs on `rtx`).
    Stream {
        ssrc: u32,
        rtx: Option<u32>,
        endpoint: u64,
        source: String,
        codec: String,
    },
    /// The publisher's clock for a stream: RTP time `ts` was captured at `sender_us` (µs
    /// since the epoch, from the publisher's latest RTCP sender report). Sent with the first
    /// packet that has one and whenever a new report moves it.
    Clock {
        ssrc: u32,
        ts: u32,
        sender_us: i64,
    },
    Joined {
        endpoint: u64,
        participant: ParticipantInfo,
        at: i64,
    },
    Left {
        endpoint: u64,
        at: i64,
    },
    Speaking {
        endpoint: u64,
        speaking: bool,
        at: i64,
    },
    Muted {
        endpoint: u64,
        kind: String,
        muted: bool,
        at: i64,
    },
    /// The session is over.
    End {
        at: i64,
    },
}

impl WireEvent {
    pub fn from_recorder(e: RecorderEvent) -> WireEvent {
        match e {
            RecorderEvent::Joined {
                endpoint,
                participant,
                at,
            } => WireEvent::Joined {
                endpoint: endpoint.0,
                participant,
                at,
            },
            RecorderEvent::Left { endpoint, at } => WireEvent::Left {
                endpoint: endpoint.0,
                at,
            },
            RecorderEvent::Speaking {
                endpoint,
                speaking,
                at,
            } => WireEvent::Speaking {
                endpoint: endpoint.0,
                speaking,
                at,
            },
            RecorderEvent::Muted {
                endpoint,
                kind,
                muted,
                at,
            } => WireEvent::Muted {
                endpoint: endpoint.0,
                kind,
                muted,
                at,
            },
            RecorderEvent::End { at } => WireEvent::End { at },
        }
    }

    /// The recorder's event this carries (`None` for the session and stream events).
    pub fn into_recorder(self) -> Option<RecorderEvent> {
        Some(match self {
            WireEvent::Session { .. } | WireEvent::Stream { .. } | WireEvent::Clock { .. } => {
                return None;
            }
            WireEvent::Joined {
                endpoint,
                participant,
                at,
            } => RecorderEvent::Joined {
                endpoint: EndpointId(endpoint),
                participant,
                at,
            },
            WireEvent::Left { endpoint, at } => RecorderEvent::Left {
                endpoint: EndpointId(endpoint),
                at,
            },
            WireEvent::Speaking {
                endpoint,
                speaking,
                at,
            } => RecorderEvent::Speaking {
                endpoint: EndpointId(endpoint),
                speaking,
                at,
            },
            WireEvent::Muted {
                endpoint,
                kind,
                muted,
                at,
            } => RecorderEvent::Muted {
                endpoint: EndpointId(endpoint),
                kind,
                muted,
                at,
            },
            WireEvent::End { at } => RecorderEvent::End { at },
        })
    }
}

/// A keyframe the recorder asks for (`POST …/keyframe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyframeWanted {
    pub endpoint: u64,
    pub source: String,
}

pub fn parse_source(s: &str) -> Option<Source> {
    Some(match s {
        "microphone" => Source::Microphone,
        "camera" => Source::Camera,
        "screen" => Source::Screen,
        _ => return None,
    })
}

pub fn codec_name(c: Codec) -> &'static str {
    match c {
        Codec::Opus => "opus",
        Codec::Vp8 => "vp8",
        Codec::H264 => "h264",
        Codec::Other => "other",
    }
}

pub fn parse_codec(s: &str) -> Option<Codec> {
    Some(match s {
        "opus" => Codec::Opus,
        "vp8" => Codec::Vp8,
        "h264" => Codec::H264,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_cross_the_wire_unchanged() {
        let joined = RecorderEvent::Joined {
            endpoint: EndpointId(7),
            participant: ParticipantInfo {
                participant_id: "p7".into(),
                name: "Chủ tọa".into(),
                unit_id: "province:19".into(),
                unit_name: "Thái Nguyên".into(),
                role: "chair".into(),
            },
            at: 1_700_000_000_000,
        };
        let wire = WireEvent::from_recorder(joined.clone());
        let text = serde_json::to_string(&wire).unwrap();
        assert!(
            text.starts_with(r#"{"type":"joined","endpoint":7"#),
            "{text}"
        );
        let back: WireEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(back.into_recorder(), Some(joined));
        for s in [Source::Microphone, Source::Camera, Source::Screen] {
            assert_eq!(parse_source(s.as_str()), Some(s));
        }
        for c in [Codec::Opus, Codec::Vp8, Codec::H264] {
            assert_eq!(parse_codec(codec_name(c)), Some(c));
        }
        assert_eq!(parse_codec("other"), None);
    }
}
