//! The websocket protocol (version 3) between the hub and its clients. `docs/protocol.md` is
//! the prose form of this file; change both together.

use serde::{Deserialize, Serialize};

/// Protocol version spoken by this hub.
pub const PROTOCOL_VERSION: u32 = 3;
/// Largest message accepted from a client, in bytes, except `offer` and `answer`.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest `offer` or `answer` accepted from a client, in bytes. An answer lists every m-line
/// the hub offered, and while every participant receives every other participant's audio
/// and video that is two m-lines (about 0.7 KiB each as JSON) per other participant: some
/// 350 KiB for a meeting of 250.
pub const MAX_SDP_MESSAGE_BYTES: usize = 1024 * 1024;
/// Longest display name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 64;
/// Longest chat text, in characters (after trimming).
pub const MAX_CHAT_CHARS: usize = 2000;
/// Most participants one `receive` may pin: above any sensible number of video slots (11 by
/// default); the media plane shows the first ones that fit.
pub const MAX_PINNED: usize = 25;
/// The range `receive` heights are clamped to, in pixels (4320: an 8K screen).
pub const MAX_TILE_HEIGHT: u32 = 4320;

/// Audio or video, as the protocol names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    Audio,
    Video,
}

impl TrackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Audio => "audio",
            TrackKind::Video => "video",
        }
    }
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
    /// The client's connection to the hub's media dropped (its ICE failed or disconnected):
    /// the hub answers with an offer carrying new ICE credentials.
    RestartIce,
    /// What this client wants to receive; a field left out keeps its previous value.
    Receive {
        #[serde(default)]
        mode: Option<ReceiveMode>,
        #[serde(default)]
        pinned: Option<Vec<String>>,
        #[serde(default)]
        large_height: Option<u32>,
        #[serde(default)]
        small_height: Option<u32>,
    },
    RaiseHand {
        raised: bool,
    },
    Chat {
        text: String,
        to: ChatTo,
    },
    /// Chair only: that participant has the floor.
    GiveFloor {
        participant_id: String,
    },
    /// Chair only: nobody has the floor.
    TakeFloor,
    /// Chair only: mute that participant's microphone or camera.
    MuteParticipant {
        participant_id: String,
        kind: TrackKind,
    },
    /// Chair only: mute every microphone but the chairs'.
    MuteAll,
    /// Chair only: whether participants muted by the chair may unmute themselves.
    AllowUnmute {
        allowed: bool,
    },
    /// Chair only: disconnect that participant and bar its join link from the session.
    RemoveParticipant {
        participant_id: String,
    },
    /// Chair only: refuse new joins (but chairs') while locked.
    Lock {
        locked: bool,
    },
    /// Chair only: end the meeting for everyone.
    EndMeeting,
    /// Start or stop sharing one's screen (the chair, or whoever has the floor).
    ShareScreen {
        sharing: bool,
    },
    /// Chair only: stop that participant's screen share.
    StopShare {
        participant_id: String,
    },
    /// Chair only: whether a second screen share may run beside the first.
    AllowSecondShare {
        allowed: bool,
    },
    Leave,
}

/// The `type` values of [`ClientMessage`], to tell "unknown type" from "malformed".
pub const CLIENT_MESSAGE_TYPES: &[&str] = &[
    "join",
    "offer",
    "answer",
    "candidate",
    "mute",
    "restart_ice",
    "receive",
    "raise_hand",
    "chat",
    "give_floor",
    "take_floor",
    "mute_participant",
    "mute_all",
    "allow_unmute",
    "remove_participant",
    "lock",
    "end_meeting",
    "share_screen",
    "stop_share",
    "allow_second_share",
    "leave",
];

/// How much video a client wants (`receive.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiveMode {
    /// Layers follow tile size and the link.
    Auto,
    /// Every video at its lowest layer.
    Low,
    /// No video at all.
    AudioOnly,
}

impl From<ReceiveMode> for sfu::ReceiveMode {
    fn from(m: ReceiveMode) -> Self {
        match m {
            ReceiveMode::Auto => sfu::ReceiveMode::Auto,
            ReceiveMode::Low => sfu::ReceiveMode::Low,
            ReceiveMode::AudioOnly => sfu::ReceiveMode::AudioOnly,
        }
    }
}

/// Whom a chat message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatTo {
    /// Everyone in the session.
    All,
    /// The chairs only (and the sender's own copy).
    Chair,
}

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

/// What a track carries: an endpoint's audio is its microphone, its first video m-line its
/// camera, its second its screen (the wire form is the sfu's [`sfu::Source::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    Microphone,
    Camera,
    Screen,
}

impl From<sfu::Source> for TrackSource {
    fn from(s: sfu::Source) -> Self {
        match s {
            sfu::Source::Microphone => TrackSource::Microphone,
            sfu::Source::Camera => TrackSource::Camera,
            sfu::Source::Screen => TrackSource::Screen,
        }
    }
}

/// A track a participant publishes: its m-line in the participant's own connection, its kind
/// and what it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTrack {
    pub mid: String,
    pub kind: TrackKind,
    pub source: TrackSource,
}

/// Where a recorded session's recording stands (`meeting_state.recording`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingState {
    pub state: RecordingStatus,
    /// Why it stopped: `disk_low` (the archive's disk space fell below the reserve) or
    /// `failed` (the recorder failed). What was recorded is kept either way.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingStatus {
    Recording,
    Stopped,
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
    Screen,
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
            sfu::SlotReason::Screen => SlotReason::Screen,
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
    /// Which of its tracks (`None` for an idle slot).
    pub source: Option<TrackSource>,
    pub reason: Option<SlotReason>,
    /// Video: the layer being sent; `None` while paused, idle, or for audio.
    pub layer: Option<Layer>,
}

/// A participant's microphone or camera that the chair muted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChairMute {
    pub participant_id: String,
    pub kind: TrackKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Left,
    Disconnected,
    Failed,
    Removed,
    /// The hub is stopping (SIGTERM); the participant rejoins when it is back.
    ServerShutdown,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::Disconnected => "disconnected",
            LeaveReason::Failed => "failed",
            LeaveReason::Removed => "removed",
            LeaveReason::ServerShutdown => "server_shutdown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ByeReason {
    Left,
    MediaFailed,
    ServerShutdown,
    Replaced,
    MeetingEnded,
    Removed,
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
    SessionLocked,
    Removed,
    InvalidText,
    MeetingFull,
    ShareBusy,
    RateLimited,
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
                | ErrorCode::SessionLocked
                | ErrorCode::Removed
                | ErrorCode::MeetingFull
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
    MeetingState {
        floor: Option<String>,
        /// In the order raised.
        hands: Vec<String>,
        locked: bool,
        self_unmute: bool,
        chair_muted: Vec<ChairMute>,
        /// Participants sharing their screen, in the order they started.
        screens: Vec<String>,
        /// Whether the chair allows a second share beside the first.
        second_share: bool,
        /// The session's recording for the archive; `None`: the meeting is not recorded.
        recording: Option<RecordingState>,
    },
    MutedByChair {
        kind: TrackKind,
    },
    Chat {
        from: String,
        name: String,
        /// The sender's unit's name.
        unit: String,
        to: ChatTo,
        text: String,
        /// Milliseconds since the epoch.
        at: i64,
    },
    RollCall {
        units: Vec<RollCallEntry>,
        connected: usize,
        invited: usize,
    },
    /// To chairs: a unit was refused because the meeting reached the host's cap.
    JoinRefused {
        unit: UnitRef,
        name: String,
        code: ErrorCode,
        max_endpoints: u32,
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

/// Decode one client text frame within the protocol's default size limits.
pub fn decode_client(text: &str) -> Result<ClientMessage, DecodeError> {
    decode_client_limited(text, &crate::limits::Limits::default())
}

/// Decode one client text frame: `offer` and `answer` up to `limits.sdp_bytes`, every other
/// message up to `limits.message_bytes`.
pub fn decode_client_limited(
    text: &str,
    limits: &crate::limits::Limits,
) -> Result<ClientMessage, DecodeError> {
    let too_large = |limit: usize| DecodeError::TooLarge {
        size: text.len(),
        limit,
    };
    let most = limits.sdp_bytes.max(limits.message_bytes);
    if text.len() > most {
        return Err(too_large(most));
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
    let limit = if matches!(ty, "offer" | "answer") {
        limits.sdp_bytes
    } else {
        limits.message_bytes
    };
    if text.len() > limit {
        return Err(too_large(limit));
    }
    serde_json::from_value(value).map_err(|e| DecodeError::Malformed(e.to_string()))
}

/// Validate and normalise a display name: trimmed, 1–64 characters, no control characters.
pub fn clean_name(name: &str) -> Option<String> {
    clean_name_limited(name, MAX_NAME_CHARS)
}

/// Validate and normalise a display name: trimmed, 1–`max_chars` characters, no control
/// characters (nor the bidirectional-text overrides, which could make a name read as another).
pub fn clean_name_limited(name: &str, max_chars: usize) -> Option<String> {
    let name = name.trim();
    let count = name.chars().count();
    let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if count == 0 || count > max_chars || name.chars().any(|c| c.is_control() || bidi(c)) {
        return None;
    }
    Some(name.to_string())
}

/// Validate and normalise a chat text: trimmed, 1–2000 characters, no control characters but
/// the newline.
pub fn clean_chat(text: &str) -> Option<String> {
    let text = text.trim();
    let count = text.chars().count();
    if count == 0 || count > MAX_CHAT_CHARS || text.chars().any(|c| c.is_control() && c != '\n') {
        return None;
    }
    Some(text.to_string())
}

/// A `receive` checked: at most [`MAX_PINNED`] pinned (duplicates dropped, order kept),
/// heights clamped to `0..=`[`MAX_TILE_HEIGHT`]. Fields left out stay `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiveRequest {
    pub mode: Option<ReceiveMode>,
    pub pinned: Option<Vec<String>>,
    pub large_height: Option<u32>,
    pub small_height: Option<u32>,
}

/// Check a `receive`'s fields; `Err` says what is wrong (sent as `malformed`).
pub fn check_receive(
    mode: Option<ReceiveMode>,
    pinned: Option<Vec<String>>,
    large_height: Option<u32>,
    small_height: Option<u32>,
) -> Result<ReceiveRequest, String> {
    let pinned = match pinned {
        Some(list) if list.len() > MAX_PINNED => {
            return Err(format!(
                "pinned: at most {MAX_PINNED} participants, not {}",
                list.len()
            ));
        }
        Some(list) => {
            let mut unique: Vec<String> = Vec::with_capacity(list.len());
            for id in list {
                if !unique.contains(&id) {
                    unique.push(id);
                }
            }
            Some(unique)
        }
        None => None,
    };
    let clamp = |h: Option<u32>| h.map(|h| h.min(MAX_TILE_HEIGHT));
    Ok(ReceiveRequest {
        mode,
        pinned,
        large_height: clamp(large_height),
        small_height: clamp(small_height),
    })
}

#[cfg(test)]
mod tests;
