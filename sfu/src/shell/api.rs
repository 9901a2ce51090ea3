//! The shell's public face: configuration, the handle the signaling server holds, and the
//! events it receives per endpoint.

use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::core::{
    Codec, CoreConfig, Layer, ReceivePrefs, RecordPolicy, SessionPolicy, SlotInfo, Source,
};
use crate::ids::{EndpointId, MediaKind, SessionId};

/// How the media plane is reached.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// Addresses put in host candidates; one UDP socket is bound on each, all on one port.
    pub candidate_ips: Vec<IpAddr>,
    /// The UDP port (0: the first socket picks one; the others then use the same).
    pub udp_port: u16,
    /// ICE over TCP: the port of the passive TCP candidates, one listener on each of
    /// `candidate_ips` (0: the first picks one); `None`: UDP only.
    pub tcp_port: Option<u16>,
    pub core: CoreConfig,
    /// How long a client may take to answer the hub's offer before its endpoint is failed
    /// (a browser answers in milliseconds; one that never does would otherwise be stuck
    /// without the tracks of anyone who joins later).
    pub offer_timeout: Duration,
    /// How long an endpoint whose ICE connection was lost (no consent checks from the peer)
    /// is kept for an ICE restart (`restart_ice`) before its media is closed.
    pub ice_grace: Duration,
}

/// The default time an endpoint that lost its ICE connection is kept for a restart.
pub const DEFAULT_ICE_GRACE: Duration = Duration::from_secs(20);

/// The default time a client has to answer an offer.
pub const DEFAULT_OFFER_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for SfuConfig {
    /// Loopback only, any free port: what tests and a single-machine trial want.
    fn default() -> Self {
        SfuConfig {
            candidate_ips: vec![IpAddr::from([127, 0, 0, 1])],
            udp_port: 0,
            tcp_port: None,
            core: CoreConfig::default(),
            offer_timeout: DEFAULT_OFFER_TIMEOUT,
            ice_grace: DEFAULT_ICE_GRACE,
        }
    }
}

/// An error answering a request from the signaling side.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SfuError {
    /// The SDP could not be parsed or applied.
    #[error("bad SDP: {0}")]
    BadSdp(String),
    /// No such endpoint (it left, failed, or never existed).
    #[error("no such endpoint")]
    NoEndpoint,
    /// The endpoint exists already (a second initial offer).
    #[error("endpoint exists")]
    EndpointExists,
    /// An answer arrived while no offer of ours was pending.
    #[error("no offer pending")]
    NoOfferPending,
    /// The media task has stopped.
    #[error("media plane stopped")]
    Stopped,
}

/// A receive slot (an m-line the hub sends on), as listed in an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo {
    pub mid: String,
    pub kind: MediaKind,
}

/// Why an endpoint's media ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The signaling side closed it (leave, socket closed).
    Closed,
    /// ICE lost the peer (consent expired) or DTLS closed.
    Disconnected,
    /// str0m reported an error, or our processing of this endpoint panicked.
    Failed,
}

/// What the media plane tells the signaling side about one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointEvent {
    /// A renegotiation: send this offer to the client; `tracks` lists every m-line we send on.
    Offer { sdp: String, tracks: Vec<TrackInfo> },
    /// ICE and DTLS are up (also after an ICE restart reconnected).
    Connected,
    /// This endpoint now publishes a track on its m-line `mid`: its microphone, its camera
    /// (its first video m-line) or its screen (its second).
    Published {
        mid: String,
        kind: MediaKind,
        source: Source,
    },
    /// Someone in the session started or stopped speaking.
    Speaking {
        endpoint: EndpointId,
        speaking: bool,
    },
    /// The session's dominant speaker changed (`None`: nobody has spoken for a while).
    DominantSpeaker(Option<EndpointId>),
    /// What this endpoint's receive slots carry now (every slot, on every change).
    Slots(Vec<SlotInfo>),
    /// The simulcast layers of this endpoint's camera that anyone receives; the client may
    /// pause the others (a screen's layers are always sent).
    Layers(Vec<Layer>),
    /// The endpoint's media is gone; no more events follow.
    Closed(CloseReason),
}

/// A packet of a recorded session, as the recorder takes it (decrypted, unaltered payload):
/// whose track it is, and its numbering on the recorder's own stream of that track —
/// continuous across the layer switches and pauses of the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPacket {
    pub endpoint: EndpointId,
    pub source: Source,
    pub codec: Codec,
    /// Extended sequence number.
    pub seq: u64,
    pub ts: u32,
    pub marker: bool,
    pub payload: Vec<u8>,
    /// When the hub received it.
    pub arrival: std::time::Instant,
    /// When the publisher captured it, by the publisher's clock (µs since the epoch), from
    /// its latest RTCP sender report; `None` before the first.
    pub sender_us: Option<i64>,
}

/// Counts for health checks, `/metrics` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SfuStats {
    pub sessions: usize,
    pub endpoints: usize,
    pub tracks: usize,
    /// RTP packets received from publishers (after SRTP), since the start.
    pub packets_received: u64,
    /// RTP packets written to subscribers, since the start.
    pub packets_forwarded: u64,
    /// Datagrams dropped on arrival because the media task was behind (its queue full).
    pub datagrams_dropped: u64,
    /// ICE-TCP connections open now.
    pub tcp_connections: u64,
    /// ICE-TCP frames dropped on the way out because their connection's queue was full.
    pub tcp_frames_dropped: u64,
    /// ICE-TCP connections refused because too many were open (in all, or from one address).
    pub tcp_connections_refused: u64,
    /// Redundant-audio (RED) packets received from publishers, and written to subscribers.
    pub red_packets_received: u64,
    pub red_packets_sent: u64,
    /// Audio packets lost on the way in and recovered from the next packet's redundancy.
    pub audio_packets_recovered: u64,
    /// Bytes of every datagram received on, and sent from, the media port (STUN, DTLS, SRTP).
    pub bytes_received: u64,
    pub bytes_sent: u64,
    /// Keyframes asked of publishers, and slots switched to another publisher or layer —
    /// summed over every session, ended ones included.
    pub keyframe_requests: u64,
    pub layer_switches: u64,
    /// Endpoints' round-trip times in seconds, one observation per endpoint per second.
    pub rtt_seconds: Histogram<RTT_BUCKETS>,
    /// Fractions of endpoints' media lost on the way to the hub, observed likewise.
    pub loss_ratio: Histogram<LOSS_BUCKETS>,
}

/// Bucket count of [`SfuStats::rtt_seconds`].
pub const RTT_BUCKETS: usize = 8;
/// Bucket count of [`SfuStats::loss_ratio`].
pub const LOSS_BUCKETS: usize = 7;

/// Observations counted into buckets by upper bound, as a Prometheus histogram is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Histogram<const N: usize> {
    /// Each bucket's upper bound (inclusive), ascending; `+Inf` is implied.
    pub bounds: [f64; N],
    /// Observations in each bucket alone (not cumulative); above the last bound only `count`
    /// has them.
    pub buckets: [u64; N],
    pub sum: f64,
    pub count: u64,
}

impl<const N: usize> Histogram<N> {
    pub const fn new(bounds: [f64; N]) -> Self {
        Histogram {
            bounds,
            buckets: [0; N],
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.buckets[i] += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    /// `(upper bound, observations at or below it)` for each bound, as Prometheus's `le`.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.bounds
            .iter()
            .zip(self.buckets.iter().scan(0, |total, n| {
                *total += n;
                Some(*total)
            }))
            .map(|(b, n)| (*b, n))
    }
}

impl Default for Histogram<RTT_BUCKETS> {
    /// From a LAN's 10 ms to a satellite link's 1.6 s.
    fn default() -> Self {
        Histogram::new([0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6])
    }
}

impl Default for Histogram<LOSS_BUCKETS> {
    /// From unnoticeable (0.1 %) to unusable (50 %).
    fn default() -> Self {
        Histogram::new([0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5])
    }
}

/// The quality of one endpoint's link, from str0m's statistics (refreshed every second);
/// each figure is `None` until measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkStats {
    /// Round-trip time, in milliseconds.
    pub rtt_ms: Option<f64>,
    /// Fraction (0–1) of the endpoint's media lost on its way to the hub.
    pub loss: Option<f64>,
    /// Interarrival jitter of the endpoint's media at the hub, in milliseconds.
    pub jitter_ms: Option<f64>,
    /// What the endpoint sends the hub, in kbit/s.
    pub bitrate_kbps: Option<f64>,
}

pub(crate) enum Command {
    Join {
        session: SessionId,
        endpoint: EndpointId,
        offer: String,
        events: mpsc::UnboundedSender<EndpointEvent>,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    Answer {
        endpoint: EndpointId,
        answer: String,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Candidate {
        endpoint: EndpointId,
        candidate: String,
    },
    Close {
        endpoint: EndpointId,
    },
    RestartIce {
        endpoint: EndpointId,
    },
    Policy {
        session: SessionId,
        policy: SessionPolicy,
    },
    Receive {
        endpoint: EndpointId,
        prefs: ReceivePrefs,
    },
    Record {
        session: SessionId,
        recording: Option<(RecordPolicy, mpsc::UnboundedSender<RecordedPacket>)>,
    },
    RecorderKeyframe {
        session: SessionId,
        endpoint: EndpointId,
        source: Source,
    },
    Stats {
        reply: oneshot::Sender<SfuStats>,
    },
    LinkStats {
        reply: oneshot::Sender<std::collections::HashMap<EndpointId, LinkStats>>,
    },
    /// Test-only: make the next call into this endpoint panic, as a bug in str0m or in our
    /// handling of it would.
    #[cfg(test)]
    InjectPanic {
        endpoint: EndpointId,
    },
}

/// Cloneable handle to the media plane task.
#[derive(Debug, Clone)]
pub struct SfuHandle {
    pub(crate) tx: mpsc::UnboundedSender<Command>,
    pub(crate) udp_port: u16,
    pub(crate) tcp_port: Option<u16>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Command::Join { .. } => "Join",
            Command::Answer { .. } => "Answer",
            Command::Candidate { .. } => "Candidate",
            Command::Close { .. } => "Close",
            Command::RestartIce { .. } => "RestartIce",
            Command::Policy { .. } => "Policy",
            Command::Receive { .. } => "Receive",
            Command::Record { .. } => "Record",
            Command::RecorderKeyframe { .. } => "RecorderKeyframe",
            Command::Stats { .. } => "Stats",
            Command::LinkStats { .. } => "LinkStats",
            #[cfg(test)]
            Command::InjectPanic { .. } => "InjectPanic",
        };
        f.write_str(name)
    }
}

impl SfuHandle {
    /// The UDP port every endpoint's media uses.
    pub fn udp_port(&self) -> u16 {
        self.udp_port
    }

    /// The TCP port of the ICE-TCP candidates, if they are offered.
    pub fn tcp_port(&self) -> Option<u16> {
        self.tcp_port
    }

    /// Create `endpoint` in `session` from the client's one initial offer; returns the answer.
    /// Events for the endpoint go to `events` until [`EndpointEvent::Closed`].
    pub async fn join(
        &self,
        session: SessionId,
        endpoint: EndpointId,
        offer: String,
        events: mpsc::UnboundedSender<EndpointEvent>,
    ) -> Result<String, SfuError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Join {
            session,
            endpoint,
            offer,
            events,
            reply,
        })?;
        rx.await.map_err(|_| SfuError::Stopped)?
    }

    /// The client's answer to our latest offer.
    pub async fn answer(&self, endpoint: EndpointId, answer: String) -> Result<(), SfuError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Answer {
            endpoint,
            answer,
            reply,
        })?;
        rx.await.map_err(|_| SfuError::Stopped)?
    }

    /// A trickled remote candidate (`candidate:...` line); invalid ones are ignored.
    pub fn candidate(&self, endpoint: EndpointId, candidate: String) {
        let _ = self.send(Command::Candidate {
            endpoint,
            candidate,
        });
    }

    /// End the endpoint's media (idempotent).
    pub fn close(&self, endpoint: EndpointId) {
        let _ = self.send(Command::Close { endpoint });
    }

    /// The client lost its connection to the hub (its ICE failed or disconnected): the hub
    /// makes an offer with new ICE credentials (an ICE restart), as soon as no other offer
    /// is pending. Media resumes when the client's answer lets ICE reconnect.
    pub fn restart_ice(&self, endpoint: EndpointId) {
        let _ = self.send(Command::RestartIce { endpoint });
    }

    /// The session's forwarding priorities (floor, chairs, who the chair muted), replacing
    /// the previous ones.
    pub fn set_policy(&self, session: SessionId, policy: SessionPolicy) {
        let _ = self.send(Command::Policy { session, policy });
    }

    /// What `endpoint` wants to receive, replacing its previous wishes.
    pub fn set_receive(&self, endpoint: EndpointId, prefs: ReceivePrefs) {
        let _ = self.send(Command::Receive { endpoint, prefs });
    }

    /// Record the session (`Some`: what to record, and where its packets go) or stop. Like
    /// the policy, it applies to a session the media plane has (one with an endpoint):
    /// send it again when a participant's media joins. A recorder that stops taking packets
    /// (its receiver dropped: it ended or panicked) ends the recording, never the meeting.
    pub fn set_recording(
        &self,
        session: SessionId,
        recording: Option<(RecordPolicy, mpsc::UnboundedSender<RecordedPacket>)>,
    ) {
        let _ = self.send(Command::Record { session, recording });
    }

    /// The recorder lost part of `endpoint`'s `source` video: ask its publisher for a
    /// keyframe (throttled with everyone else's requests).
    pub fn recorder_keyframe(&self, session: SessionId, endpoint: EndpointId, source: Source) {
        let _ = self.send(Command::RecorderKeyframe {
            session,
            endpoint,
            source,
        });
    }

    pub async fn stats(&self) -> Result<SfuStats, SfuError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Stats { reply })?;
        rx.await.map_err(|_| SfuError::Stopped)
    }

    /// The link quality of every endpoint with media.
    pub async fn link_stats(
        &self,
    ) -> Result<std::collections::HashMap<EndpointId, LinkStats>, SfuError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::LinkStats { reply })?;
        rx.await.map_err(|_| SfuError::Stopped)
    }

    fn send(&self, cmd: Command) -> Result<(), SfuError> {
        self.tx.send(cmd).map_err(|_| SfuError::Stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_each_observation_once_in_the_first_bucket_that_holds_it() {
        let mut h = Histogram::new([0.1, 0.5, 1.0]);
        for v in [0.05, 0.1, 0.3, 2.0, f64::NAN] {
            h.observe(v);
        }
        assert_eq!(h.buckets, [2, 1, 0]);
        assert_eq!(h.count, 4, "NaN is not an observation");
        assert!((h.sum - 2.45).abs() < 1e-9);
        let cumulative: Vec<(f64, u64)> = h.cumulative().collect();
        assert_eq!(cumulative, [(0.1, 2), (0.5, 3), (1.0, 3)]);
    }
}
