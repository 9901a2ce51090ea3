//! What the signaling side tells the forwarding core: the session's priorities (floor, chairs,
//! who the chair muted) and each subscriber's wishes (receive mode, pinned publishers, tile
//! sizes). Plain data; the core turns it into slot assignments and layer choices.

use std::collections::BTreeSet;

use crate::ids::EndpointId;

/// A session's forwarding priorities, set as a whole by the signaling side on every change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionPolicy {
    /// The endpoint that has the floor: seen and heard by everyone, shown large.
    pub floor: Option<EndpointId>,
    /// The chairs' endpoints: seen and heard by everyone, shown large.
    pub chairs: Vec<EndpointId>,
    /// Endpoints whose audio the chair muted: never forwarded until lifted.
    pub silenced_audio: BTreeSet<EndpointId>,
    /// Endpoints whose camera the chair turned off: never forwarded until lifted.
    pub silenced_video: BTreeSet<EndpointId>,
    /// Endpoints sharing their screen now, in the order they started: their screen tracks
    /// go to everyone before any camera.
    pub screens: Vec<EndpointId>,
}

/// What a published track carries. An endpoint's audio is its microphone; its first video
/// m-line is its camera and its second its screen (shown only while the session's policy
/// lists it in [`SessionPolicy::screens`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Microphone,
    Camera,
    Screen,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Microphone => "microphone",
            Source::Camera => "camera",
            Source::Screen => "screen",
        }
    }
}

/// How much video a subscriber wants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReceiveMode {
    /// Layers follow tile size and the bandwidth estimate.
    #[default]
    Auto,
    /// Every video at its lowest layer.
    Low,
    /// No video at all.
    AudioOnly,
}

/// One subscriber's wishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivePrefs {
    pub mode: ReceiveMode,
    /// Publishers the subscriber wants to see, in its order of preference.
    pub pinned: Vec<EndpointId>,
    /// Height in pixels of the subscriber's large tiles (floor, chair).
    pub large_height: u32,
    /// Height in pixels of its thumbnails.
    pub small_height: u32,
}

impl Default for ReceivePrefs {
    fn default() -> Self {
        ReceivePrefs {
            mode: ReceiveMode::Auto,
            pinned: vec![],
            large_height: 720,
            small_height: 180,
        }
    }
}

/// Why a receive slot carries the publisher it carries (in order of precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SlotReason {
    /// A shared screen.
    Screen,
    Floor,
    Chair,
    Speaker,
    Pinned,
    Recent,
    Other,
}

impl SlotReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SlotReason::Screen => "screen",
            SlotReason::Floor => "floor",
            SlotReason::Chair => "chair",
            SlotReason::Speaker => "speaker",
            SlotReason::Pinned => "pinned",
            SlotReason::Recent => "recent",
            SlotReason::Other => "other",
        }
    }

    /// Shown large (the speaker layout's floor and chair, the presentation layout's screen).
    pub fn is_large(self) -> bool {
        matches!(
            self,
            SlotReason::Screen | SlotReason::Floor | SlotReason::Chair
        )
    }
}

/// A simulcast layer, named by the RID the web client gives its encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// Quarter resolution (`q`).
    Low,
    /// Half resolution (`h`).
    Mid,
    /// Full resolution (`f`).
    High,
    /// A publisher without simulcast: its one stream.
    Single,
}

impl Layer {
    pub const SIMULCAST: [Layer; 3] = [Layer::Low, Layer::Mid, Layer::High];

    /// The RID (`q`, `h`, `f`), or `single`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Low => "q",
            Layer::Mid => "h",
            Layer::High => "f",
            Layer::Single => "single",
        }
    }

    pub fn from_rid(rid: Option<&str>) -> Option<Layer> {
        match rid {
            None => Some(Layer::Single),
            Some("q") => Some(Layer::Low),
            Some("h") => Some(Layer::Mid),
            Some("f") => Some(Layer::High),
            Some(_) => None,
        }
    }
}

/// What one receive slot of a subscriber carries now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotInfo {
    pub mid: crate::ids::Mid,
    pub kind: crate::ids::MediaKind,
    pub publisher: Option<EndpointId>,
    /// Which of the publisher's tracks (`None` while idle).
    pub source: Option<Source>,
    pub reason: Option<SlotReason>,
    /// Video: the layer being sent; `None` while paused or idle.
    pub layer: Option<Layer>,
}
