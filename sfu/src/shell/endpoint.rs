//! One endpoint's str0m instance and its negotiation state, behind a panic guard: a panic
//! inside str0m or our handling of one endpoint fails that endpoint, never the process.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::PayloadParams;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::rtp::Ssrc;
use str0m::{Rtc, RtcError};
use tokio::sync::mpsc;

use super::api::{CloseReason, EndpointEvent, LinkStats, SfuError, TrackInfo};
use crate::core::{Codec, Layer};
use crate::ids::{EndpointId, SessionId};

/// State of an m-line the hub sends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// In an offer that awaits its answer.
    Negotiating,
    Open,
}

/// One receive slot: an m-line the hub sends on, whatever publisher it carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub mid: Mid,
    pub kind: MediaKind,
    pub state: SlotState,
}

/// What a received payload type carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    /// The primary codec's negotiated parameters.
    pub params: PayloadParams,
    pub codec: Codec,
    /// The payload is RED (RFC 2198) wrapping `codec`.
    pub red: bool,
}

pub(crate) struct Endpoint {
    pub id: EndpointId,
    pub session: SessionId,
    pub rtc: Rtc,
    pub events: mpsc::UnboundedSender<EndpointEvent>,
    /// Next time str0m wants `Input::Timeout`.
    pub timeout: Instant,
    /// Set when the endpoint must be removed, with the reason.
    pub closing: Option<CloseReason>,
    pub pending: Option<SdpPendingOffer>,
    /// When the pending offer was sent (answers are due within the offer timeout).
    pub offered_at: Option<Instant>,
    /// When ICE lost the peer, if it has not come back (closed after the ICE grace).
    pub ice_lost_at: Option<Instant>,
    /// An ICE restart asked for while another offer was pending.
    pub restart_wanted: bool,
    pub slots: Vec<Slot>,
    /// Receive-side caches: SSRC → (mid, simulcast layer), payload type → codec.
    ssrc_source: HashMap<Ssrc, (Mid, Layer)>,
    codecs: HashMap<Pt, Received>,
    /// Link quality, from str0m's statistics.
    pub link: LinkStats,
    /// Bytes received by the last statistics, and when (for the bitrate).
    last_rx: Option<(Instant, u64)>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("session", &self.session)
            .field("slots", &self.slots)
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    pub fn new(
        id: EndpointId,
        session: SessionId,
        rtc: Rtc,
        now: Instant,
        events: mpsc::UnboundedSender<EndpointEvent>,
    ) -> Self {
        Endpoint {
            id,
            session,
            rtc,
            events,
            timeout: now,
            closing: None,
            pending: None,
            offered_at: None,
            ice_lost_at: None,
            restart_wanted: false,
            slots: vec![],
            ssrc_source: HashMap::new(),
            codecs: HashMap::new(),
            link: LinkStats::default(),
            last_rx: None,
        }
    }

    /// Runs `f` on the str0m instance. A panic or an error closes the endpoint.
    pub fn guard<T>(&mut self, f: impl FnOnce(&mut Rtc) -> Result<T, RtcError>) -> Option<T> {
        if self.closing.is_some() {
            return None;
        }
        let _span =
            tracing::debug_span!("endpoint", session = self.session.0, endpoint = self.id.0)
                .entered();
        match catch_unwind(AssertUnwindSafe(|| f(&mut self.rtc))) {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(endpoint = %self.id, error = %e, "endpoint failed");
                self.closing = Some(CloseReason::Failed);
                None
            }
            Err(_) => {
                tracing::error!(endpoint = %self.id, "panic while processing endpoint; closing it");
                self.closing = Some(CloseReason::Failed);
                None
            }
        }
    }

    /// Fold str0m's peer statistics into [`Endpoint::link`].
    pub fn peer_stats(&mut self, s: &str0m::stats::PeerStats) {
        if let Some(rtt) = s.rtt {
            self.link.rtt_ms = Some(rtt.as_secs_f64() * 1000.0);
        }
        if let Some(loss) = s.ingress_loss_fraction {
            self.link.loss = Some(f64::from(loss).clamp(0.0, 1.0));
        }
        if let Some((then, bytes)) = self.last_rx {
            let secs = s.timestamp.saturating_duration_since(then).as_secs_f64();
            if secs > 0.0 {
                let bits = s.peer_bytes_rx.saturating_sub(bytes) as f64 * 8.0;
                self.link.bitrate_kbps = Some(bits / secs / 1000.0);
            }
        }
        self.last_rx = Some((s.timestamp, s.peer_bytes_rx));
    }

    pub fn notify(&self, event: EndpointEvent) {
        // The receiver is gone only when the signaling side dropped the participant already.
        let _ = self.events.send(event);
    }

    /// The m-line and simulcast layer a received SSRC belongs to (`None` for a RID that is
    /// not one of ours).
    pub fn source_for(&mut self, ssrc: Ssrc) -> Option<(Mid, Layer)> {
        if let Some(source) = self.ssrc_source.get(&ssrc) {
            return Some(*source);
        }
        let mut api = self.rtc.direct_api();
        let stream = api.stream_rx(&ssrc)?;
        let (mid, rid) = (stream.mid(), stream.rid());
        let source = (mid, Layer::from_rid(rid.as_deref())?);
        self.ssrc_source.insert(ssrc, source);
        Some(source)
    }

    /// Fold str0m's per-stream receive statistics into [`Endpoint::link`] (the jitter of the
    /// endpoint's audio, in milliseconds).
    pub fn ingress_stats(&mut self, s: &str0m::stats::MediaIngressStats) {
        let audio = self
            .rtc
            .media(s.mid)
            .is_some_and(|m| m.kind() == MediaKind::Audio);
        if audio {
            self.link.jitter_ms = Some(f64::from(s.jitter) / 48.0);
        }
    }

    /// The codec of a received payload type, and whether it is RED wrapping that codec.
    pub fn codec_for(&mut self, pt: Pt) -> Option<Received> {
        if let Some(c) = self.codecs.get(&pt) {
            return Some(*c);
        }
        let params = *self
            .rtc
            .codec_config()
            .find(|p| p.pt() == pt || p.red() == Some(pt))?;
        let codec = match params.spec().codec {
            str0m::format::Codec::Opus => Codec::Opus,
            str0m::format::Codec::Vp8 => Codec::Vp8,
            str0m::format::Codec::H264 => Codec::H264,
            _ => Codec::Other,
        };
        let received = Received {
            params,
            codec,
            red: params.pt() != pt,
        };
        self.codecs.insert(pt, received);
        Some(received)
    }

    /// Our negotiated parameters (payload type, RED's if any) for a codec received from
    /// another endpoint.
    pub fn local_params(&self, params: PayloadParams) -> Option<PayloadParams> {
        self.rtc.codec_config().match_params(params).copied()
    }

    /// Whether the receive slot `mid` is negotiated and open.
    pub fn is_open(&self, mid: Mid) -> bool {
        self.slots
            .iter()
            .any(|s| s.mid == mid && s.state == SlotState::Open)
    }

    /// Offer the receive slots — `audio` audio and `video` video m-lines the hub sends on —
    /// once, when the endpoint has none yet. Who fills them later changes inside the hub,
    /// never by renegotiating.
    pub fn negotiate_slots(&mut self, now: Instant, audio: usize, video: usize) {
        if self.pending.is_some() || self.closing.is_some() || !self.slots.is_empty() {
            return;
        }
        let kinds: Vec<MediaKind> = std::iter::repeat_n(MediaKind::Audio, audio)
            .chain(std::iter::repeat_n(MediaKind::Video, video))
            .collect();
        if kinds.is_empty() {
            return;
        }
        let id = self.id;
        let result = self.guard(|rtc| {
            let mut change = rtc.sdp_api();
            let mut added = vec![];
            for (n, kind) in kinds.iter().enumerate() {
                let mid = change.add_media(
                    *kind,
                    Direction::SendOnly,
                    Some("cau".to_string()),
                    Some(format!("slot{n}")),
                    None,
                );
                added.push(Slot {
                    mid,
                    kind: *kind,
                    state: SlotState::Negotiating,
                });
            }
            Ok(change
                .apply()
                .map(|(offer, pending)| (offer, pending, added)))
        });
        let Some(Some((offer, pending, added))) = result else {
            return;
        };
        self.slots = added;
        self.pending = Some(pending);
        self.offered_at = Some(now);
        let tracks = self
            .slots
            .iter()
            .map(|s| TrackInfo {
                mid: s.mid.to_string(),
                kind: s.kind,
            })
            .collect();
        tracing::debug!(endpoint = %id, audio, video, "slots offered");
        self.notify(EndpointEvent::Offer {
            sdp: offer.to_sdp_string(),
            tracks,
        });
    }

    /// Offer new ICE credentials (an ICE restart), now or after the pending offer's answer.
    pub fn restart_ice(&mut self, now: Instant) {
        if self.pending.is_some() {
            self.restart_wanted = true;
            return;
        }
        if self.closing.is_some() {
            return;
        }
        self.restart_wanted = false;
        let result = self.guard(|rtc| {
            let mut change = rtc.sdp_api();
            change.ice_restart(true);
            Ok(change.apply())
        });
        let Some(Some((offer, pending))) = result else {
            return;
        };
        self.pending = Some(pending);
        self.offered_at = Some(now);
        tracing::info!(endpoint = %self.id, "ICE restart offered");
        let tracks = self
            .slots
            .iter()
            .map(|s| TrackInfo {
                mid: s.mid.to_string(),
                kind: s.kind,
            })
            .collect();
        self.notify(EndpointEvent::Offer {
            sdp: offer.to_sdp_string(),
            tracks,
        });
    }

    /// Apply the client's answer to our pending offer. Returns the slots that just opened.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<Vec<Slot>, SfuError> {
        let answer = super::parse_untrusted("answer", || SdpAnswer::from_sdp_string(sdp))
            .map_err(SfuError::BadSdp)?;
        let pending = self.pending.take().ok_or(SfuError::NoOfferPending)?;
        self.offered_at = None;
        self.guard(|rtc| rtc.sdp_api().accept_answer(pending, answer))
            .ok_or_else(|| SfuError::BadSdp("answer not accepted".into()))?;
        let mut opened = vec![];
        for s in &mut self.slots {
            if s.state == SlotState::Negotiating {
                s.state = SlotState::Open;
                opened.push(*s);
            }
        }
        Ok(opened)
    }
}
