//! The websocket protocol (version 2) between the hub and its clients. `docs/protocol.md` is
//! the prose form of this file; change both together.

use serde::{Deserialize, Serialize};

/// Protocol version spoken by this hub.
pub const PROTOCOL_VERSION: u32 = 2;
/// Largest message accepted from a client, in bytes, except `offer` and `answer`.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest `offer` or `answer` accepted from a client, in bytes. An answer lists every m-line
/// the hub offered, and while every participant receives every other participant's audio
/// and video that is two m-lines (about 0.7 KiB each as JSON) per other participant: some
/// 350 KiB for a meeting of 250.
pub const MAX_SDP_MESSAGE_BYTES: usize = 1024 * 1024;
/// Longest display name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 64;

/// Audio or video, as the protocol names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    Audio,
    Video,
}

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Join {
        v: u32,
        /// The meeting's id.
        meeting: i64,
        name: String,
        /// The unit's join token; `None` for a staff login named as the meeting's chair.
        #[serde(default)]
        token: Option<String>,
    },
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
    },
    Mute {
        kind: TrackKind,
        muted: bool,
    },
    /// Chair only: end the meeting for everyone.
    EndMeeting,
    Leave,
}

/// The `type` values of [`ClientMessage`], to tell "unknown type" from "malformed".
pub const CLIENT_MESSAGE_TYPES: &[&str] = &[
    "join",
    "offer",
    "answer",
    "candidate",
    "mute",
    "end_meeting",
    "leave",
];

/// A unit as messages name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRef {
    /// `TIER:CODE`.
    pub id: String,
    pub code: String,
    pub name: String,
    pub tier: String,
}

impl From<&crate::directory::AdminUnit> for UnitRef {
    fn from(u: &crate::directory::AdminUnit) -> Self {
        UnitRef {
            id: u.id.clone(),
            code: u.code.clone(),
            name: u.name.clone(),
            tier: u.tier.clone(),
        }
    }
}

/// What a participant may do in a meeting: carried by its join token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Official,
    Chair,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Official => "official",
            Role::Chair => "chair",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "official" => Some(Role::Official),
            "chair" => Some(Role::Chair),
            _ => None,
        }
    }
}

/// The meeting a participant joined, as `welcome` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingRef {
    pub id: i64,
    pub title: String,
    pub start: i64,
    pub end: i64,
    pub chair_person: String,
}

/// Where an invited unit stands in a live meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Connected,
    NotYet,
    Left,
}

/// One invited unit in the roll call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollCallEntry {
    pub unit_id: String,
    pub name: String,
    pub tier: String,
    pub parent: Option<String>,
    pub status: Presence,
    pub participants: usize,
    pub since: Option<i64>,
    pub rtt_ms: Option<f64>,
    pub loss: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub bitrate_kbps: Option<f64>,
}

/// A track a participant publishes: its m-line in the participant's own connection and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTrack {
    pub mid: String,
    pub kind: TrackKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: String,
    pub name: String,
    pub unit: UnitRef,
    pub role: Role,
    pub audio_muted: bool,
    pub video_muted: bool,
    /// What the participant publishes now (empty until its media connects).
    #[serde(default)]
    pub tracks: Vec<PublishedTrack>,
}

/// An `RTCIceServer`-shaped entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// A receive slot as the hub's `offer` lists it: an m-line the hub sends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotTrack {
    pub mid: String,
    pub kind: TrackKind,
}

/// Why a receive slot carries whom it carries (the wire form is the sfu's
/// [`sfu::SlotReason::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotReason {
    Floor,
    Chair,
    Speaker,
    Pinned,
    Recent,
    Other,
}

impl From<sfu::SlotReason> for SlotReason {
    fn from(r: sfu::SlotReason) -> Self {
        match r {
            sfu::SlotReason::Floor => SlotReason::Floor,
            sfu::SlotReason::Chair => SlotReason::Chair,
            sfu::SlotReason::Speaker => SlotReason::Speaker,
            sfu::SlotReason::Pinned => SlotReason::Pinned,
            sfu::SlotReason::Recent => SlotReason::Recent,
            sfu::SlotReason::Other => SlotReason::Other,
        }
    }
}

/// A simulcast layer by the RID the web client gives its encodings, or `single` for a
/// publisher without simulcast (the wire form is the sfu's [`sfu::Layer::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layer {
    #[serde(rename = "q")]
    Quarter,
    #[serde(rename = "h")]
    Half,
    #[serde(rename = "f")]
    Full,
    #[serde(rename = "single")]
    Single,
}

impl From<sfu::Layer> for Layer {
    fn from(l: sfu::Layer) -> Self {
        match l {
            sfu::Layer::Low => Layer::Quarter,
            sfu::Layer::Mid => Layer::Half,
            sfu::Layer::High => Layer::Full,
            sfu::Layer::Single => Layer::Single,
        }
    }
}

/// What one receive slot carries now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub mid: String,
    pub kind: TrackKind,
    /// Whose stream, or `None` for an idle slot.
    pub participant_id: Option<String>,
    pub reason: Option<SlotReason>,
    /// Video: the layer being sent; `None` while paused, idle, or for audio.
    pub layer: Option<Layer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Left,
    Disconnected,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ByeReason {
    Left,
    MediaFailed,
    ServerShutdown,
    Replaced,
    MeetingEnded,
}

/// Error codes; see docs/protocol.md for when each is sent and whether the connection closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Malformed,
    UnknownType,
    TooLarge,
    BinaryNotSupported,
    UnsupportedVersion,
    OutOfOrder,
    InvalidName,
    JoinTimeout,
    BadSdp,
    MediaFailed,
    Internal,
    Unauthenticated,
    InvalidToken,
    ExpiredToken,
    RevokedToken,
    WrongMeeting,
    NotFound,
    Forbidden,
    MeetingCancelled,
    MeetingEnded,
    MeetingNotStarted,
    RoomBusy,
}

impl ErrorCode {
    /// Whether the hub closes the connection after sending this error.
    pub fn closes(self) -> bool {
        matches!(
            self,
            ErrorCode::TooLarge
                | ErrorCode::UnsupportedVersion
                | ErrorCode::InvalidName
                | ErrorCode::JoinTimeout
                | ErrorCode::MediaFailed
                | ErrorCode::Internal
        ) || self.refuses_join()
    }

    /// Codes that refuse a `join` (access control); the connection closes after them.
    pub fn refuses_join(self) -> bool {
        matches!(
            self,
            ErrorCode::Unauthenticated
                | ErrorCode::InvalidToken
                | ErrorCode::ExpiredToken
                | ErrorCode::RevokedToken
                | ErrorCode::WrongMeeting
                | ErrorCode::NotFound
                | ErrorCode::MeetingCancelled
                | ErrorCode::MeetingEnded
                | ErrorCode::MeetingNotStarted
                | ErrorCode::RoomBusy
        )
    }

    /// The snake_case name, as on the wire.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }
}

/// Messages the hub sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        v: u32,
        participant_id: String,
        session_id: String,
        role: Role,
        unit: UnitRef,
        meeting: MeetingRef,
        room: UnitRef,
        participants: Vec<Participant>,
        ice_servers: Vec<IceServer>,
    },
    Answer {
        sdp: String,
    },
    Offer {
        sdp: String,
        /// Every receive slot.
        tracks: Vec<SlotTrack>,
    },
    ParticipantJoined {
        participant: Participant,
    },
    ParticipantLeft {
        participant_id: String,
        reason: LeaveReason,
    },
    MuteChanged {
        participant_id: String,
        kind: TrackKind,
        muted: bool,
    },
    TrackPublished {
        participant_id: String,
        track: PublishedTrack,
    },
    TrackRemoved {
        participant_id: String,
        track: PublishedTrack,
    },
    Speaking {
        participant_id: String,
        speaking: bool,
    },
    Slots {
        slots: Vec<Slot>,
    },
    /// Which of this client's simulcast layers anyone receives (`q`, `h`, `f` only).
    Layers {
        rids: Vec<Layer>,
    },
    DominantSpeaker {
        participant_id: Option<String>,
    },
    RollCall {
        units: Vec<RollCallEntry>,
        connected: usize,
        invited: usize,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Bye {
        reason: ByeReason,
    },
}

impl ServerMessage {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> String {
        // Serializing these plain structs cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"error\"}"))
    }
}

/// Why a client's text could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("malformed message: {0}")]
    Malformed(String),
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
            DecodeError::UnknownType(_) => ErrorCode::UnknownType,
            DecodeError::Malformed(_) => ErrorCode::Malformed,
        }
    }
}

/// Decode one client text frame.
pub fn decode_client(text: &str) -> Result<ClientMessage, DecodeError> {
    let too_large = |limit: usize| DecodeError::TooLarge {
        size: text.len(),
        limit,
    };
    if text.len() > MAX_SDP_MESSAGE_BYTES {
        return Err(too_large(MAX_SDP_MESSAGE_BYTES));
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    let ty = value
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or_else(|| DecodeError::Malformed("missing string field `type`".into()))?;
    if !CLIENT_MESSAGE_TYPES.contains(&ty) {
        let shown: String = ty.chars().take(40).collect();
        return Err(DecodeError::UnknownType(shown));
    }
    if text.len() > MAX_MESSAGE_BYTES && !matches!(ty, "offer" | "answer") {
        return Err(too_large(MAX_MESSAGE_BYTES));
    }
    serde_json::from_value(value).map_err(|e| DecodeError::Malformed(e.to_string()))
}

/// Validate and normalise a display name: trimmed, 1–64 characters, no control characters.
pub fn clean_name(name: &str) -> Option<String> {
    let name = name.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return None;
    }
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_client_message() {
        let cases = [
            (
                r#"{"type":"join","v":2,"meeting":7,"name":"An","token":"v1.a.b"}"#,
                ClientMessage::Join {
                    v: 2,
                    meeting: 7,
                    name: "An".into(),
                    token: Some("v1.a.b".into()),
                },
            ),
            (
                r#"{"type":"join","v":2,"meeting":7,"name":"An","token":null}"#,
                ClientMessage::Join {
                    v: 2,
                    meeting: 7,
                    name: "An".into(),
                    token: None,
                },
            ),
            (r#"{"type":"end_meeting"}"#, ClientMessage::EndMeeting),
            (
                r#"{"type":"offer","sdp":"v=0"}"#,
                ClientMessage::Offer { sdp: "v=0".into() },
            ),
            (
                r#"{"type":"answer","sdp":"v=0"}"#,
                ClientMessage::Answer { sdp: "v=0".into() },
            ),
            (
                r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdp_mid":"0"}"#,
                ClientMessage::Candidate {
                    candidate: "candidate:1 1 udp 1 1.2.3.4 5 typ host".into(),
                    sdp_mid: Some("0".into()),
                },
            ),
            (
                r#"{"type":"mute","kind":"video","muted":true}"#,
                ClientMessage::Mute {
                    kind: TrackKind::Video,
                    muted: true,
                },
            ),
            (r#"{"type":"leave"}"#, ClientMessage::Leave),
        ];
        for (text, expected) in cases {
            assert_eq!(decode_client(text).unwrap(), expected, "{text}");
            // and the Rust form encodes back to something that decodes the same
            let again = serde_json::to_string(&expected).unwrap();
            assert_eq!(decode_client(&again).unwrap(), expected);
        }
    }

    #[test]
    fn tells_garbage_unknown_and_oversized_apart() {
        assert_eq!(
            decode_client("not json").unwrap_err().code(),
            ErrorCode::Malformed
        );
        assert_eq!(
            decode_client(r#"{"type":"join","v":1"#).unwrap_err().code(),
            ErrorCode::Malformed
        );
        assert_eq!(
            decode_client(r#"{"v":1}"#).unwrap_err().code(),
            ErrorCode::Malformed
        );
        assert_eq!(
            decode_client(r#"{"type":7}"#).unwrap_err().code(),
            ErrorCode::Malformed
        );
        assert_eq!(
            decode_client(r#"[1,2]"#).unwrap_err().code(),
            ErrorCode::Malformed
        );
        assert_eq!(
            decode_client(r#"{"type":"join","v":"one","meeting":1,"name":"x"}"#)
                .unwrap_err()
                .code(),
            ErrorCode::Malformed
        );
        assert_eq!(
            decode_client(r#"{"type":"launch_missiles"}"#).unwrap_err(),
            DecodeError::UnknownType("launch_missiles".into())
        );
        // SDP may be large (an answer grows with the meeting); anything else may not.
        let sdp = |n: usize| format!(r#"{{"type":"answer","sdp":"{}"}}"#, "a".repeat(n));
        assert!(decode_client(&sdp(MAX_MESSAGE_BYTES * 4)).is_ok());
        assert_eq!(
            decode_client(&sdp(MAX_SDP_MESSAGE_BYTES)).unwrap_err(),
            DecodeError::TooLarge {
                size: MAX_SDP_MESSAGE_BYTES + r#"{"type":"answer","sdp":""}"#.len(),
                limit: MAX_SDP_MESSAGE_BYTES
            }
        );
        let name = format!(
            r#"{{"type":"candidate","candidate":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(
            decode_client(&name).unwrap_err().code(),
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn server_messages_have_the_documented_shape() {
        let m = ServerMessage::ParticipantLeft {
            participant_id: "e3".into(),
            reason: LeaveReason::Disconnected,
        };
        assert_eq!(
            m.to_json(),
            r#"{"type":"participant_left","participant_id":"e3","reason":"disconnected"}"#
        );
        let t = ServerMessage::TrackPublished {
            participant_id: "e3".into(),
            track: PublishedTrack {
                mid: "1".into(),
                kind: TrackKind::Video,
            },
        };
        assert_eq!(
            t.to_json(),
            r#"{"type":"track_published","participant_id":"e3","track":{"mid":"1","kind":"video"}}"#
        );
        let e = ServerMessage::error(ErrorCode::WrongMeeting, "x");
        assert_eq!(
            e.to_json(),
            r#"{"type":"error","code":"wrong_meeting","message":"x"}"#
        );
        assert_eq!(ErrorCode::MeetingNotStarted.as_str(), "meeting_not_started");
        assert!(ErrorCode::RevokedToken.closes() && !ErrorCode::Forbidden.refuses_join());
        let e = ServerMessage::error(ErrorCode::UnknownType, "x");
        assert_eq!(
            e.to_json(),
            r#"{"type":"error","code":"unknown_type","message":"x"}"#
        );
        let slots = ServerMessage::Slots {
            slots: vec![
                Slot {
                    mid: "3".into(),
                    kind: TrackKind::Video,
                    participant_id: Some("e2".into()),
                    reason: Some(SlotReason::Floor),
                    layer: Some(Layer::Full),
                },
                Slot {
                    mid: "4".into(),
                    kind: TrackKind::Audio,
                    participant_id: None,
                    reason: None,
                    layer: None,
                },
            ],
        };
        assert_eq!(
            slots.to_json(),
            r#"{"type":"slots","slots":[{"mid":"3","kind":"video","participant_id":"e2","reason":"floor","layer":"f"},{"mid":"4","kind":"audio","participant_id":null,"reason":null,"layer":null}]}"#
        );
        let layers = ServerMessage::Layers {
            rids: vec![Layer::Quarter, Layer::Half],
        };
        assert_eq!(layers.to_json(), r#"{"type":"layers","rids":["q","h"]}"#);
        assert_eq!(
            ServerMessage::DominantSpeaker {
                participant_id: None
            }
            .to_json(),
            r#"{"type":"dominant_speaker","participant_id":null}"#
        );
        let offer = ServerMessage::Offer {
            sdp: "v=0".into(),
            tracks: vec![SlotTrack {
                mid: "2".into(),
                kind: TrackKind::Audio,
            }],
        };
        assert_eq!(
            offer.to_json(),
            r#"{"type":"offer","sdp":"v=0","tracks":[{"mid":"2","kind":"audio"}]}"#
        );
    }

    #[test]
    fn slot_reasons_and_layers_are_the_sfus_words() {
        use sfu::{Layer as L, SlotReason as R};
        for r in [
            R::Floor,
            R::Chair,
            R::Speaker,
            R::Pinned,
            R::Recent,
            R::Other,
        ] {
            assert_eq!(
                serde_json::to_value(SlotReason::from(r)).unwrap(),
                r.as_str()
            );
        }
        for l in [L::Low, L::Mid, L::High, L::Single] {
            assert_eq!(serde_json::to_value(Layer::from(l)).unwrap(), l.as_str());
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Nguyễn Văn An "), Some("Nguyễn Văn An".into()));
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name("a\u{0007}b"), None);
        assert_eq!(
            clean_name(&"Đ".repeat(64)).map(|n| n.chars().count()),
            Some(64)
        );
        assert_eq!(clean_name(&"Đ".repeat(65)), None);
    }
}
