//! The media plane without its I/O (see [`Engine`]): the tokio shell in `mod.rs` owns the
//! sockets and the clock and feeds it; benchmarks and tests feed it from a simulated network.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::SdpOffer;
use str0m::format::{Codec, CodecConfig, CodecSpec, FormatParams, PayloadParams};
use str0m::media::KeyframeRequestKind;
use str0m::media::{Frequency, Pt};
use str0m::net::{Protocol, Receive, TcpType, Transmit};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Vp8Descriptor};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::sync::mpsc;

use super::api::{
    CloseReason, EndpointEvent, LinkStats, RecordedPacket, SfuConfig, SfuError, SfuStats,
};
use super::endpoint::Endpoint;
use super::parse_untrusted;
use crate::core::red::{self, RedSource};
use crate::core::{
    Decision, Layer, Notice, RECORDER, ReceivePrefs, RecordPolicy, RtpIn, SessionCore,
    SessionPolicy, Source,
};
use crate::ids::{EndpointId, SessionId, TrackId};

/// How often str0m reports each endpoint's statistics (for the roll call).
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Opus's payload type in our offers (the one browsers use).
const OPUS_PT: u8 = 111;

/// What we ask of a browser's Opus encoder (our fmtp, kept in every answer and offer):
/// in-band FEC against loss, and DTX — a silent or muted microphone sends a comfort-noise
/// frame every 400 ms instead of 50 packets a second. In a province meeting nearly every
/// microphone is silent at any moment, so DTX divides the audio the hub receives and
/// forwards by ten or more.
fn opus_format() -> FormatParams {
    FormatParams {
        min_p_time: Some(10),
        use_inband_fec: Some(true),
        use_dtx: Some(true),
        ..FormatParams::default()
    }
}

/// The payload type of redundant audio (RFC 2198) wrapping Opus: Chromium's, and str0m's.
const RED_PT: u8 = 63;

/// Opus as we negotiate it: our fmtp, and RED folded onto it so that a browser that supports
/// redundant audio sends it (and gets it). str0m folds RED only onto its own Opus defaults
/// (`enable_opus(_, true)`, whose fmtp lacks DTX); payload parameters are plain serde data,
/// so RED's payload type is set there.
pub(crate) fn opus_params() -> PayloadParams {
    let spec = CodecSpec {
        codec: Codec::Opus,
        clock_rate: Frequency::FORTY_EIGHT_KHZ,
        channels: Some(2),
        format: opus_format(),
    };
    let mut value = serde_json::to_value(PayloadParams::new(OPUS_PT.into(), None, spec))
        .expect("payload parameters serialize");
    value["red"] = serde_json::json!(RED_PT);
    serde_json::from_value(value).expect("payload parameters with RED deserialize")
}

/// The bandwidth estimate towards a new endpoint before congestion control has measured
/// anything: room for the large tiles at half resolution and a row of thumbnails.
const INITIAL_ESTIMATE_KBPS: u64 = 1_000;
/// What the estimator probes for: two large tiles at full resolution and the thumbnails.
const DESIRED_KBPS: u64 = 4_500;
/// Packets kept per sent video stream for retransmission on NACK (str0m's default is 1000,
/// three seconds of a 720p stream; an SFU repairs losses within a few round trips, and
/// with eleven video slots per subscriber the cache is most of an endpoint's memory).
const SEND_BUFFER_VIDEO: usize = 300;
/// The same for audio (repaired by Opus FEC rather than retransmission, mostly).
const SEND_BUFFER_AUDIO: usize = 50;

/// How often speaking state is re-evaluated when no packet arrives.
const SPEAKING_POLL: Duration = Duration::from_millis(100);

/// The media plane without its I/O: every endpoint's str0m instance, the session cores, the
/// routing of datagrams to endpoints, negotiation and forwarding. It never reads a clock or
/// touches a socket: inputs come with `now`, and the datagrams to send collect in an outbox
/// the caller empties with [`Engine::transmits`] — the shell onto its UDP sockets, benchmarks
/// and tests into a simulated network.
///
/// Use: feed one input (`join`, `answer`, `candidate`, `close`, [`Engine::handle_datagram`],
/// [`Engine::handle_tcp_frame`], or [`Engine::handle_timeout`] once
/// [`Engine::next_deadline`] has passed), then call
/// [`Engine::drive`], then send what [`Engine::transmits`] yields.
pub struct Engine {
    config: SfuConfig,
    /// Our candidate addresses (the sockets' local addresses).
    local: Vec<SocketAddr>,
    /// Our ICE-TCP passive candidate addresses (the listeners' local addresses).
    local_tcp: Vec<SocketAddr>,
    sessions: HashMap<SessionId, SessionCore>,
    endpoints: HashMap<EndpointId, Endpoint>,
    /// Source (protocol and address) → endpoint, learnt from accepted datagrams and frames.
    routes: HashMap<(Protocol, SocketAddr), EndpointId>,
    dirty: BTreeSet<EndpointId>,
    renegotiate: BTreeSet<EndpointId>,
    decisions: Vec<Decision>,
    /// Redundant-audio state of each published audio track.
    red: HashMap<TrackId, RedSource>,
    next_speaking_poll: Instant,
    packets_received: u64,
    packets_forwarded: u64,
    red_packets_received: u64,
    red_packets_sent: u64,
    audio_packets_recovered: u64,
    /// The figures of [`SfuStats`] the fields above do not keep: bytes, link histograms, and
    /// the core counters of sessions that have ended.
    totals: SfuStats,
    /// Datagrams to send, in order.
    outbox: Vec<Transmit>,
    /// Where each recorded session's packets go.
    taps: HashMap<SessionId, mpsc::UnboundedSender<RecordedPacket>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("local", &self.local)
            .field("local_tcp", &self.local_tcp)
            .field("sessions", &self.sessions.len())
            .field("endpoints", &self.endpoints.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine whose endpoints offer `local` as their host candidates.
    pub fn new(config: SfuConfig, local: Vec<SocketAddr>, now: Instant) -> Self {
        Engine {
            config,
            local,
            local_tcp: vec![],
            sessions: HashMap::new(),
            endpoints: HashMap::new(),
            routes: HashMap::new(),
            dirty: BTreeSet::new(),
            renegotiate: BTreeSet::new(),
            decisions: Vec::with_capacity(64),
            red: HashMap::new(),
            next_speaking_poll: now,
            packets_received: 0,
            packets_forwarded: 0,
            red_packets_received: 0,
            red_packets_sent: 0,
            audio_packets_recovered: 0,
            totals: SfuStats::default(),
            outbox: Vec::with_capacity(256),
            taps: HashMap::new(),
        }
    }

    /// Offer ICE over TCP too: every endpoint from now on gets a passive TCP host candidate
    /// (RFC 6544) on each of `local` (the listeners' addresses), whose RFC 4571 frames come in
    /// through [`Engine::handle_tcp_frame`] and go out as [`Transmit`]s with
    /// [`Protocol::Tcp`]. Browsers rank them below UDP, so they are the fallback.
    pub fn offer_tcp(&mut self, local: Vec<SocketAddr>) {
        self.local_tcp = local;
    }

    /// When [`Engine::handle_timeout`] is next due.
    pub fn next_deadline(&self) -> Instant {
        let offer_timeout = self.config.offer_timeout;
        self.endpoints
            .values()
            .flat_map(|e| {
                [
                    Some(e.timeout),
                    e.offered_at.map(|t| t + offer_timeout),
                    e.ice_lost_at.map(|t| t + self.config.ice_grace),
                ]
            })
            .flatten()
            .fold(self.next_speaking_poll, Instant::min)
    }

    /// A trickled remote candidate (`candidate:...` line); invalid ones are ignored.
    pub fn candidate(&mut self, endpoint: EndpointId, candidate: &str) {
        let line = candidate.trim().trim_start_matches("a=");
        if line.is_empty() {
            return;
        }
        match parse_untrusted("candidate", || Candidate::from_sdp_string(line)) {
            Ok(c) => {
                if let Some(ep) = self.endpoints.get_mut(&endpoint) {
                    ep.guard(|rtc| {
                        rtc.add_remote_candidate(c);
                        Ok(())
                    });
                    self.dirty.insert(endpoint);
                }
            }
            Err(e) => tracing::debug!(%endpoint, error = %e, "ignored remote candidate"),
        }
    }

    /// Offer the endpoint new ICE credentials (see [`SfuHandle::restart_ice`]).
    ///
    /// [`SfuHandle::restart_ice`]: super::SfuHandle::restart_ice
    pub fn restart_ice(&mut self, endpoint: EndpointId) {
        if let Some(ep) = self.endpoints.get_mut(&endpoint) {
            ep.restart_wanted = true;
            self.renegotiate.insert(endpoint);
        }
    }

    /// The session's forwarding priorities (floor, chairs, who the chair muted).
    pub fn set_policy(&mut self, now: Instant, session: SessionId, policy: SessionPolicy) {
        if let Some(core) = self.sessions.get_mut(&session) {
            core.set_policy(policy);
            self.evaluate(now, session);
        }
    }

    /// Record `session` or stop (see [`SfuHandle::set_recording`]).
    ///
    /// [`SfuHandle::set_recording`]: super::SfuHandle::set_recording
    pub fn set_recording(
        &mut self,
        now: Instant,
        session: SessionId,
        recording: Option<(RecordPolicy, mpsc::UnboundedSender<RecordedPacket>)>,
    ) {
        let Some(core) = self.sessions.get_mut(&session) else {
            return;
        };
        match recording {
            Some((policy, tap)) => {
                core.set_recording(Some(policy));
                self.taps.insert(session, tap);
            }
            None => {
                core.set_recording(None);
                self.taps.remove(&session);
            }
        }
        self.evaluate(now, session);
    }

    /// Ask for a keyframe the recorder needs (throttled by the core).
    pub fn recorder_keyframe(
        &mut self,
        now: Instant,
        session: SessionId,
        endpoint: EndpointId,
        source: Source,
    ) {
        let asked = self
            .sessions
            .get_mut(&session)
            .and_then(|core| core.recorder_keyframe(now, endpoint, source));
        if let Some((track, layer)) = asked {
            self.request_keyframe(track, layer);
        }
    }

    /// Hand a packet to the session's recorder (numbered `seq`, `ts` on its stream, with its
    /// marker and the publisher's capture time); a recorder that is gone ends the recording.
    fn record(
        &mut self,
        now: Instant,
        session: SessionId,
        track: TrackId,
        codec: crate::core::Codec,
        (seq, ts, marker, sender_us): (u64, u32, bool, Option<i64>),
        payload: &[u8],
    ) {
        let Some(tap) = self.taps.get(&session) else {
            return;
        };
        let Some(source) = self.sessions.get(&session).and_then(|c| c.source_of(track)) else {
            return;
        };
        let packet = RecordedPacket {
            endpoint: track.endpoint,
            source,
            codec,
            seq,
            ts,
            marker,
            payload: payload.to_vec(),
            arrival: now,
            sender_us,
        };
        if tap.send(packet).is_err() {
            tracing::warn!(%session, "the recorder stopped taking packets: recording ends, the meeting goes on");
            self.taps.remove(&session);
            if let Some(core) = self.sessions.get_mut(&session) {
                core.set_recording(None);
            }
        }
    }

    /// What `endpoint` wants to receive.
    pub fn set_receive(&mut self, now: Instant, endpoint: EndpointId, prefs: ReceivePrefs) {
        let Some(session) = self.endpoints.get(&endpoint).map(|e| e.session) else {
            return;
        };
        if let Some(core) = self.sessions.get_mut(&session) {
            core.set_receive(endpoint, prefs);
            self.evaluate(now, session);
        }
    }

    /// End the endpoint's media (idempotent); it is reaped by the next [`Engine::drive`].
    pub fn close(&mut self, endpoint: EndpointId) {
        if let Some(ep) = self.endpoints.get_mut(&endpoint) {
            ep.closing.get_or_insert(CloseReason::Closed);
        }
    }

    /// Make the next call into this endpoint panic, as a bug in str0m or in our handling of
    /// it would.
    #[cfg(test)]
    pub(crate) fn inject_panic(&mut self, endpoint: EndpointId) {
        if let Some(ep) = self.endpoints.get_mut(&endpoint) {
            ep.guard(|_| -> Result<(), str0m::RtcError> { panic!("injected fault") });
        }
    }

    /// The link quality of every endpoint.
    pub fn link_stats(&self) -> HashMap<EndpointId, LinkStats> {
        self.endpoints
            .iter()
            .map(|(id, ep)| (*id, ep.link))
            .collect()
    }

    pub fn stats(&self) -> SfuStats {
        let (keyframe_requests, layer_switches) = self.sessions.values().fold(
            (self.totals.keyframe_requests, self.totals.layer_switches),
            |(k, l), core| {
                let s = core.stats();
                (k + s.keyframe_requests, l + s.layer_switches)
            },
        );
        SfuStats {
            sessions: self.sessions.len(),
            endpoints: self.endpoints.len(),
            tracks: self.sessions.values().map(|s| s.tracks().count()).sum(),
            packets_received: self.packets_received,
            packets_forwarded: self.packets_forwarded,
            // Counted by the shell's socket readers, before the engine sees anything.
            datagrams_dropped: 0,
            red_packets_received: self.red_packets_received,
            red_packets_sent: self.red_packets_sent,
            audio_packets_recovered: self.audio_packets_recovered,
            keyframe_requests,
            layer_switches,
            ..self.totals
        }
    }

    /// Create `id` in `session` from the client's one initial offer; returns the answer.
    /// Events for the endpoint go to `events` until [`EndpointEvent::Closed`].
    pub fn join(
        &mut self,
        now: Instant,
        session: SessionId,
        id: EndpointId,
        offer: &str,
        events: mpsc::UnboundedSender<EndpointEvent>,
    ) -> Result<String, SfuError> {
        if self.endpoints.contains_key(&id) {
            return Err(SfuError::EndpointExists);
        }
        let offer = parse_untrusted("offer", || SdpOffer::from_sdp_string(offer))
            .map_err(SfuError::BadSdp)?;
        let mut config = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .set_stats_interval(Some(STATS_INTERVAL))
            .clear_codecs();
        *config.codec_config() = CodecConfig::new_from_payload_params(vec![opus_params()]);
        let mut rtc = config
            .enable_vp8(true)
            .enable_h264(true)
            .enable_bwe(Some(Bitrate::kbps(INITIAL_ESTIMATE_KBPS)))
            .set_send_buffer_video(SEND_BUFFER_VIDEO)
            .set_send_buffer_audio(SEND_BUFFER_AUDIO)
            .build(now);
        // Probe towards what a full speaker layout needs, so layers can rise; no minimum rate
        // (str0m would pad every link up to it with retransmissions: half of a 350 kbit/s
        // commune's link carried no new video).
        rtc.bwe()
            .set_bitrate(Bitrate::kbps(0), Bitrate::kbps(DESIRED_KBPS));
        for addr in &self.local {
            if let Ok(c) = Candidate::host(*addr, "udp") {
                rtc.add_local_candidate(c);
            }
        }
        for addr in &self.local_tcp {
            // A passive candidate: browsers connect to it (the tcptype is what lets Firefox
            // pair it).
            let tcp = Candidate::builder()
                .tcp()
                .host(*addr)
                .tcptype(TcpType::Passive)
                .build();
            if let Ok(c) = tcp {
                rtc.add_local_candidate(c);
            }
        }
        let mut ep = Endpoint::new(id, session, rtc, now, events);
        let answer = ep
            .guard(|rtc| rtc.sdp_api().accept_offer(offer))
            .ok_or_else(|| SfuError::BadSdp("offer not accepted".into()))?;
        let core = self
            .sessions
            .entry(session)
            .or_insert_with(|| SessionCore::new(self.config.core));
        core.add_endpoint(id);
        tracing::info!(%session, endpoint = %id, "endpoint joined media");
        self.endpoints.insert(id, ep);
        self.dirty.insert(id);
        self.renegotiate.insert(id);
        Ok(answer.to_sdp_string())
    }

    /// The client's answer to our latest offer.
    pub fn answer(&mut self, now: Instant, id: EndpointId, sdp: &str) -> Result<(), SfuError> {
        let ep = self.endpoints.get_mut(&id).ok_or(SfuError::NoEndpoint)?;
        let opened = ep.accept_answer(sdp)?;
        let session = ep.session;
        self.dirty.insert(id);
        self.renegotiate.insert(id);
        let Some(core) = self.sessions.get_mut(&session) else {
            return Ok(());
        };
        let slots: Vec<_> = opened.iter().map(|s| (s.mid, s.kind)).collect();
        if !slots.is_empty() {
            core.add_slots(id, &slots);
            self.evaluate(now, session);
        }
        Ok(())
    }

    /// A datagram from `source` arrived on our address `destination`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.handle_receive(now, Protocol::Udp, source, destination, data);
    }

    /// A frame (RFC 4571: one datagram's worth, its length prefix removed) came over the TCP
    /// connection from `source` to our passive candidate `destination`.
    pub fn handle_tcp_frame(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.handle_receive(now, Protocol::Tcp, source, destination, data);
    }

    fn handle_receive(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.totals.bytes_received += data.len() as u64;
        let Ok(receive) = Receive::new(proto, source, destination, data) else {
            return;
        };
        let input = Input::Receive(now, receive);
        let known = self.routes.get(&(proto, source)).copied().filter(|id| {
            self.endpoints
                .get(id)
                .is_some_and(|e| e.rtc.accepts(&input))
        });
        let target = known.or_else(|| {
            self.endpoints
                .values()
                .find(|e| e.closing.is_none() && e.rtc.accepts(&input))
                .map(|e| e.id)
        });
        let Some(id) = target else {
            tracing::trace!(source = %source, ?proto, "datagram for no endpoint");
            return;
        };
        self.routes.insert((proto, source), id);
        if let Some(ep) = self.endpoints.get_mut(&id) {
            ep.guard(|rtc| rtc.handle_input(input));
            // Drained at once: in RTP mode str0m holds one received packet until the next
            // poll, so a second datagram fed before draining would lose the first.
            self.drain(now, id);
        }
    }

    /// Time has reached `now`: endpoints whose timeout passed are driven, unanswered offers
    /// fail their endpoint, speaking state is re-evaluated.
    pub fn handle_timeout(&mut self, now: Instant) {
        let (offer_timeout, ice_grace) = (self.config.offer_timeout, self.config.ice_grace);
        for ep in self.endpoints.values_mut() {
            if ep.closing.is_none() && ep.offered_at.is_some_and(|t| now >= t + offer_timeout) {
                tracing::warn!(endpoint = %ep.id, "offer not answered in time; closing the endpoint");
                ep.closing = Some(CloseReason::Failed);
                continue;
            }
            if ep.closing.is_none() && ep.ice_lost_at.is_some_and(|t| now >= t + ice_grace) {
                tracing::info!(endpoint = %ep.id, "ICE not restored in time; closing the endpoint");
                ep.closing = Some(CloseReason::Disconnected);
                continue;
            }
            if ep.timeout <= now {
                ep.guard(|rtc| rtc.handle_input(Input::Timeout(now)));
                self.dirty.insert(ep.id);
            }
        }
        if now >= self.next_speaking_poll {
            self.next_speaking_poll = now + SPEAKING_POLL;
            let sessions: Vec<SessionId> = self.sessions.keys().copied().collect();
            for session in sessions {
                self.evaluate(now, session);
            }
        }
    }

    /// Let the session's core re-evaluate who receives what; apply its keyframe requests and
    /// tell the endpoints what changed.
    fn evaluate(&mut self, now: Instant, session: SessionId) {
        let Some(core) = self.sessions.get_mut(&session) else {
            return;
        };
        let mut decisions = std::mem::take(&mut self.decisions);
        decisions.clear();
        let notices = core.evaluate(now, &mut decisions);
        for d in decisions.drain(..) {
            if let Decision::RequestKeyframe { track, layer } = d {
                self.request_keyframe(track, layer);
            }
        }
        self.decisions = decisions;
        if notices.is_empty() {
            return;
        }
        let members: Vec<EndpointId> = self
            .sessions
            .get(&session)
            .map(|c| c.endpoints().collect())
            .unwrap_or_default();
        for notice in notices {
            match notice {
                Notice::Speaking { endpoint, speaking } => {
                    self.broadcast(&members, EndpointEvent::Speaking { endpoint, speaking })
                }
                Notice::Dominant(d) => self.broadcast(&members, EndpointEvent::DominantSpeaker(d)),
                Notice::Slots { endpoint, slots } => {
                    if let Some(ep) = self.endpoints.get(&endpoint) {
                        ep.notify(EndpointEvent::Slots(slots));
                    }
                }
                Notice::Layers { endpoint, layers } => {
                    if let Some(ep) = self.endpoints.get(&endpoint) {
                        ep.notify(EndpointEvent::Layers(layers));
                    }
                }
            }
        }
    }

    fn broadcast(&self, members: &[EndpointId], event: EndpointEvent) {
        for m in members {
            if let Some(ep) = self.endpoints.get(m) {
                ep.notify(event.clone());
            }
        }
    }

    /// Drain outputs until every endpoint waits for a timeout; then reap and renegotiate.
    /// Datagrams to send collect in the outbox ([`Engine::transmits`]).
    pub fn drive(&mut self, now: Instant) {
        loop {
            while let Some(id) = self.dirty.pop_first() {
                self.drain(now, id);
            }
            self.reap(now);
            let pending: Vec<EndpointId> =
                std::mem::take(&mut self.renegotiate).into_iter().collect();
            let (audio, video) = (self.config.core.audio_slots, self.config.core.video_slots);
            for id in pending {
                if let Some(ep) = self.endpoints.get_mut(&id) {
                    if ep.restart_wanted {
                        ep.restart_ice(now);
                    }
                    ep.negotiate_slots(now, audio, video);
                    self.dirty.insert(id);
                }
            }
            if self.dirty.is_empty() {
                break;
            }
        }
    }

    fn drain(&mut self, now: Instant, id: EndpointId) {
        let mut events = vec![];
        {
            let Some(ep) = self.endpoints.get_mut(&id) else {
                return;
            };
            let mut timed_out = false;
            loop {
                let Some(output) = ep.guard(|rtc| rtc.poll_output()) else {
                    break;
                };
                match output {
                    // A timeout already due — str0m asks for one to release packets just
                    // written into its send queues — is given here and now, rather than on
                    // the run loop's next turn: the forwarded packets leave in this drain,
                    // and the timeout pass over every endpoint is spared. Once per drain, so
                    // a peer that keeps asking cannot hold the loop.
                    Output::Timeout(t) if t <= now && !timed_out => {
                        timed_out = true;
                        ep.guard(|rtc| rtc.handle_input(Input::Timeout(now)));
                    }
                    Output::Timeout(t) => {
                        ep.timeout = t;
                        break;
                    }
                    Output::Transmit(t) => {
                        self.totals.bytes_sent += t.contents.len() as u64;
                        self.outbox.push(t);
                    }
                    Output::Event(e) => events.push(e),
                }
            }
        }
        for event in events {
            self.handle_event(now, id, event);
        }
    }

    fn handle_event(&mut self, now: Instant, id: EndpointId, event: Event) {
        match event {
            Event::RtpPacket(pkt) => self.forward(now, id, pkt),
            Event::KeyframeRequest(req) => {
                let Some(session) = self.endpoints.get(&id).map(|e| e.session) else {
                    return;
                };
                let track = self
                    .sessions
                    .get_mut(&session)
                    .and_then(|core| core.handle_keyframe_request(now, id, req.mid));
                if let Some((track, layer)) = track {
                    self.request_keyframe(track, layer);
                }
            }
            Event::MediaAdded(added) if added.direction.is_receiving() => {
                let Some(ep) = self.endpoints.get(&id) else {
                    return;
                };
                let track = TrackId {
                    endpoint: id,
                    mid: added.mid,
                };
                let session = ep.session;
                if let Some(core) = self.sessions.get_mut(&session) {
                    let simulcast = added.simulcast.is_some();
                    let source = core.publish(track, added.kind, simulcast);
                    tracing::debug!(%track, kind = ?added.kind, simulcast, ?source, "track published");
                    ep.notify(EndpointEvent::Published {
                        mid: added.mid.to_string(),
                        kind: added.kind,
                        source,
                    });
                    self.evaluate(now, session);
                }
            }
            Event::EgressBitrateEstimate(kind) => {
                let estimate = match kind {
                    BweKind::Twcc { estimate, .. } | BweKind::Remb { estimate, .. } => estimate,
                    _ => return,
                };
                let Some(session) = self.endpoints.get(&id).map(|e| e.session) else {
                    return;
                };
                if let Some(core) = self.sessions.get_mut(&session) {
                    core.set_estimate(id, estimate.as_u64());
                }
            }
            Event::MediaIngressStats(s) => {
                if let Some(ep) = self.endpoints.get_mut(&id) {
                    ep.ingress_stats(&s);
                }
            }
            Event::IceConnectionStateChange(state) => {
                tracing::debug!(endpoint = %id, ?state, "ice state");
                let Some(ep) = self.endpoints.get_mut(&id) else {
                    return;
                };
                match state {
                    // Kept for an ICE restart, closed if none restores it within the grace.
                    IceConnectionState::Disconnected => {
                        ep.ice_lost_at.get_or_insert(now);
                    }
                    IceConnectionState::Connected | IceConnectionState::Completed
                        if ep.ice_lost_at.take().is_some() =>
                    {
                        tracing::info!(endpoint = %id, "ICE restored");
                        ep.notify(EndpointEvent::Connected);
                    }
                    _ => {}
                }
            }
            Event::Connected => {
                if let Some(ep) = self.endpoints.get(&id) {
                    tracing::info!(endpoint = %id, "media connected");
                    ep.notify(EndpointEvent::Connected);
                }
            }
            Event::Closed => {
                if let Some(ep) = self.endpoints.get_mut(&id) {
                    ep.closing.get_or_insert(CloseReason::Disconnected);
                }
            }
            Event::PeerStats(s) => {
                if let Some(ep) = self.endpoints.get_mut(&id) {
                    ep.peer_stats(&s);
                    if let Some(rtt) = ep.link.rtt_ms {
                        self.totals.rtt_seconds.observe(rtt / 1000.0);
                    }
                    if let Some(loss) = ep.link.loss {
                        self.totals.loss_ratio.observe(loss);
                    }
                }
            }
            Event::MediaEgressStats(s) => {
                // The RTT from receiver reports, when the peer-level one is missing.
                if let (Some(ep), Some(rtt)) = (self.endpoints.get_mut(&id), s.rtt)
                    && ep.link.rtt_ms.is_none()
                {
                    ep.link.rtt_ms = Some(rtt.as_secs_f64() * 1000.0);
                }
            }
            _ => {}
        }
    }

    /// One incoming RTP packet: ask the core, apply its decisions.
    fn forward(&mut self, now: Instant, from: EndpointId, pkt: RtpPacket) {
        self.packets_received += 1;
        let Some(ep) = self.endpoints.get_mut(&from) else {
            return;
        };
        let (Some((mid, layer)), Some(received)) = (
            ep.source_for(pkt.header.ssrc),
            ep.codec_for(pkt.header.payload_type),
        ) else {
            return;
        };
        let track = TrackId {
            endpoint: from,
            mid,
        };
        let incoming = Incoming {
            session: ep.session,
            track,
            layer,
            params: received.params,
            codec: received.codec,
            pkt: &pkt,
        };
        if received.codec != crate::core::Codec::Opus {
            let (seq, ts) = (*pkt.seq_no, pkt.header.timestamp);
            self.forward_payload(now, &incoming, seq, ts, &pkt.payload, None);
            return;
        }
        // Opus, plain or redundant (RED): forwarded frame by frame, a frame lost on the way
        // in first when the packet's redundancy repeats it.
        if received.red {
            self.red_packets_received += 1;
        }
        let mut source = self.red.remove(&track).unwrap_or_default();
        match source.receive(
            *pkt.seq_no,
            pkt.header.timestamp,
            &pkt.payload,
            received.red,
        ) {
            Ok(frames) => {
                self.audio_packets_recovered +=
                    frames.iter().filter(|f| f.recovered).count() as u64;
                for frame in &frames {
                    let red = RedFrame {
                        source: &source,
                        frame,
                    };
                    self.forward_payload(
                        now,
                        &incoming,
                        frame.seq,
                        frame.ts,
                        &frame.payload,
                        Some(red),
                    );
                }
            }
            Err(e) => tracing::debug!(endpoint = %from, error = %e, "malformed RED packet dropped"),
        }
        self.red.insert(track, source);
    }

    /// Ask the core about one packet's payload and write it to each subscriber it names:
    /// rewritten numbering, VP8 descriptor patched, and for subscribers that negotiated
    /// redundant audio, wrapped in RED with the previous frame.
    fn forward_payload(
        &mut self,
        now: Instant,
        incoming: &Incoming,
        seq: u64,
        ts: u32,
        payload: &[u8],
        red: Option<RedFrame>,
    ) {
        // The payload's own timestamp (the decisions below carry each subscriber's).
        let incoming_ts = ts;
        let Incoming {
            session,
            track,
            layer,
            params,
            codec,
            pkt,
        } = *incoming;
        let Some(core) = self.sessions.get_mut(&session) else {
            return;
        };
        let rtp = RtpIn {
            ssrc: *pkt.header.ssrc,
            seq,
            ts,
            codec,
            payload,
            audio_level: pkt.header.ext_vals.audio_level,
        };
        let mut decisions = std::mem::take(&mut self.decisions);
        decisions.clear();
        core.handle_rtp(now, track, layer, &rtp, &mut decisions);
        // Only what the subscriber needs is carried over; transport-level extensions
        // (TWCC, abs-send-time, mid) are the subscriber's own str0m's to write.
        let exts = ExtensionValues {
            audio_level: pkt.header.ext_vals.audio_level,
            voice_activity: pkt.header.ext_vals.voice_activity,
            video_orientation: pkt.header.ext_vals.video_orientation,
            ..Default::default()
        };
        // The incoming VP8 descriptor, parsed once for every subscriber's patch.
        let vp8_descriptor = (codec == crate::core::Codec::Vp8)
            .then(|| Vp8Descriptor::parse(payload).ok())
            .flatten();
        // The RED payload, made once per block payload type for every subscriber with RED.
        let mut red_payload: Option<(Pt, Vec<u8>)> = None;
        for d in decisions.drain(..) {
            match d {
                Decision::Forward {
                    to,
                    mid,
                    seq,
                    ts,
                    vp8,
                    continues,
                } => {
                    if to == RECORDER {
                        let marker = pkt.header.marker;
                        // The publisher's capture time of this payload (its own timestamp:
                        // a recovered RED frame's differs from the packet's).
                        let sender_us = pkt.last_sender_info.map(|sr| {
                            let ntp_us = sr
                                .ntp_time
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| d.as_micros() as i64);
                            let ticks = i64::from(
                                incoming_ts.wrapping_sub(sr.rtp_time.numer() as u32) as i32,
                            );
                            ntp_us + ticks * 1_000_000 / i64::from(sr.rtp_time.denom().max(1))
                        });
                        let r = (seq, ts, marker, sender_us);
                        self.record(now, session, track, codec, r, payload);
                        continue;
                    }
                    let Some(sub) = self.endpoints.get_mut(&to) else {
                        continue;
                    };
                    if !sub.is_open(mid) {
                        continue;
                    }
                    let Some(local) = sub.local_params(params) else {
                        continue;
                    };
                    let (pt, data, is_red) = match (red, local.red()) {
                        (Some(red), Some(red_pt)) if continues => {
                            let primary_pt = local.pt();
                            if red_payload.as_ref().is_none_or(|(p, _)| *p != primary_pt) {
                                let mut out = Vec::with_capacity(payload.len() * 2 + 5);
                                let previous = red.source.previous_of(red.frame);
                                red::encode(&mut out, *primary_pt, previous, payload);
                                red_payload = Some((primary_pt, out));
                            }
                            let data = red_payload.as_ref().map(|(_, d)| d.clone());
                            (red_pt, data.unwrap_or_default(), true)
                        }
                        // No RED with this subscriber, or its slot just switched to this
                        // source (whose previous frame is not the previous packet it got).
                        _ => (local.pt(), payload.to_vec(), false),
                    };
                    let mut write = RtpWrite::new(pt, seq.into(), ts, pkt.timestamp, data)
                        .marker(pkt.header.marker)
                        .ext_vals(exts.clone())
                        .nackable(codec.is_video());
                    if let (Some(out), Some(descriptor)) = (vp8, vp8_descriptor) {
                        let mut patch = descriptor.patch();
                        if let Some(pid) = out.picture_id {
                            patch = patch.picture_id(pid);
                        }
                        if let Some(tl0) = out.tl0_pic_idx {
                            patch = patch.tl0_pic_idx(tl0);
                        }
                        // A descriptor str0m cannot patch goes out as it came.
                        if let Ok(patch) = patch.build() {
                            write = write.vp8_patch(patch);
                        }
                    }
                    let written = sub.guard(|rtc| {
                        if let Some(stream) = rtc.direct_api().stream_tx_by_mid(mid, None) {
                            stream.write_rtp(write);
                        }
                        Ok(())
                    });
                    if written.is_some() {
                        self.packets_forwarded += 1;
                        self.red_packets_sent += u64::from(is_red);
                        self.dirty.insert(to);
                    }
                }
                Decision::RequestKeyframe { track, layer } => self.request_keyframe(track, layer),
                Decision::Drop { .. } => {}
            }
        }
        self.decisions = decisions;
    }

    /// Ask the publisher of `track` for a keyframe of `layer` (the core has throttled it).
    fn request_keyframe(&mut self, track: TrackId, layer: Layer) {
        let rid = match layer {
            Layer::Single => None,
            simulcast => Some(simulcast.as_str().into()),
        };
        if let Some(publisher) = self.endpoints.get_mut(&track.endpoint) {
            publisher.guard(|rtc| {
                if let Some(stream) = rtc.direct_api().stream_rx_by_mid(track.mid, rid) {
                    stream.request_keyframe(KeyframeRequestKind::Pli);
                }
                Ok(())
            });
            self.dirty.insert(track.endpoint);
        }
    }

    /// Remove endpoints that closed, failed or panicked; their tracks leave the session and the
    /// others renegotiate.
    fn reap(&mut self, now: Instant) {
        let closing: Vec<(EndpointId, CloseReason)> = self
            .endpoints
            .values()
            .filter_map(|e| e.closing.map(|r| (e.id, r)))
            .collect();
        let mut reevaluate = BTreeSet::new();
        for (id, reason) in closing {
            let Some(mut ep) = self.endpoints.remove(&id) else {
                continue;
            };
            // Best effort: tell the peer we are going (DTLS close), ignoring a broken instance.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ep.rtc.disconnect()));
            self.routes.retain(|_, e| *e != id);
            self.red.retain(|track, _| track.endpoint != id);
            self.dirty.remove(&id);
            self.renegotiate.remove(&id);
            if let Some(core) = self.sessions.get_mut(&ep.session) {
                let _ = core.remove_endpoint(id);
                if core.is_empty() {
                    let ended = core.stats();
                    self.totals.keyframe_requests += ended.keyframe_requests;
                    self.totals.layer_switches += ended.layer_switches;
                    self.sessions.remove(&ep.session);
                    // The recorder's channel closes: its session's media is over.
                    self.taps.remove(&ep.session);
                } else {
                    reevaluate.insert(ep.session);
                }
            }
            tracing::info!(endpoint = %id, ?reason, "endpoint left media");
            ep.notify(EndpointEvent::Closed(reason));
        }
        for session in reevaluate {
            self.evaluate(now, session);
        }
    }

    /// The datagrams to send since the last call, in order.
    pub fn transmits(&mut self) -> std::vec::Drain<'_, Transmit> {
        self.outbox.drain(..)
    }
}

/// An incoming packet's source and codec, as [`Engine::forward_payload`] needs them.
#[derive(Clone, Copy)]
struct Incoming<'a> {
    session: SessionId,
    track: TrackId,
    layer: Layer,
    params: PayloadParams,
    codec: crate::core::Codec,
    pkt: &'a RtpPacket,
}

/// An Opus frame with its source's RED history (for the redundancy sent with it).
#[derive(Clone, Copy)]
struct RedFrame<'a> {
    source: &'a RedSource,
    frame: &'a red::Frame,
}
