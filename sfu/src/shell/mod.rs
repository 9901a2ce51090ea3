//! The tokio shell around the sans-IO core: owns the UDP sockets, the clock and every
//! endpoint's str0m instance, and applies the core's decisions.
//!
//! # The run loop
//!
//! One task runs everything, one input at a time (str0m's `chat.rs` model):
//!
//! 1. wait for the first of: a command from the signaling side, a datagram, the earliest timeout;
//! 2. feed that one input to the endpoint it concerns (datagrams are demultiplexed with
//!    `Rtc::accepts`, then remembered by source address);
//! 3. drain every touched endpoint's output until it returns a timeout: transmits go to the
//!    socket, events go to the core, and the core's decisions are written into other endpoints
//!    (which are then drained in turn);
//! 4. reap endpoints that closed, failed or panicked, and renegotiate those whose set of
//!    received tracks changed.

mod api;
mod endpoint;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::media::KeyframeRequestKind;
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use api::Command;
pub use api::{
    CloseReason, DEFAULT_OFFER_TIMEOUT, EndpointEvent, LinkStats, SfuConfig, SfuError, SfuHandle,
    SfuStats, TrackInfo,
};
use endpoint::{Endpoint, SlotState};

use crate::core::{Decision, RtpIn, SessionCore};
use crate::ids::{EndpointId, SessionId, TrackId};

/// How often str0m reports each endpoint's statistics (for the roll call).
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// How often speaking state is re-evaluated when no packet arrives.
const SPEAKING_POLL: Duration = Duration::from_millis(100);
/// Largest datagram we read.
const MAX_DATAGRAM: usize = 2000;
/// Datagrams queued between the socket readers and the run loop before we drop.
const DATAGRAM_QUEUE: usize = 4096;

struct Datagram {
    data: Vec<u8>,
    source: SocketAddr,
    destination: SocketAddr,
}

/// The shell's clock: the runtime's, so a paused test runtime pauses the media plane too.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Run a parser over client-supplied text. A panic in it (str0m's SDP or candidate parser
/// meeting input nobody foresaw) must not take the media task, and every meeting, down.
fn parse_untrusted<T, E: std::fmt::Display>(
    what: &str,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => {
            tracing::error!(what, "parser panicked on client input; input refused");
            Err(format!("{what} could not be parsed"))
        }
    }
}

/// Bind the sockets and start the media task. Returns the handle the signaling side uses.
pub async fn start(config: SfuConfig) -> std::io::Result<SfuHandle> {
    if config.candidate_ips.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no address for ICE candidates",
        ));
    }
    let mut port = config.udp_port;
    let mut sockets = HashMap::new();
    for ip in &config.candidate_ips {
        let socket = UdpSocket::bind(SocketAddr::new(*ip, port)).await?;
        let local = socket.local_addr()?;
        port = local.port();
        sockets.insert(local, Arc::new(socket));
    }
    let (dg_tx, dg_rx) = mpsc::channel(DATAGRAM_QUEUE);
    for (local, socket) in &sockets {
        tokio::spawn(read_socket(socket.clone(), *local, dg_tx.clone()));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let shell = Shell::new(config, sockets);
    tokio::spawn(shell.run(rx, dg_rx));
    tracing::info!(udp_port = port, "media plane started");
    Ok(SfuHandle { tx, udp_port: port })
}

async fn read_socket(socket: Arc<UdpSocket>, local: SocketAddr, out: mpsc::Sender<Datagram>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, source)) => {
                let dg = Datagram {
                    data: buf[..n].to_vec(),
                    source,
                    destination: local,
                };
                match out.try_send(dg) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!("media loop overloaded: datagram dropped");
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
            // ICMP port unreachable from a vanished peer surfaces here on Linux: not fatal.
            Err(e) => tracing::debug!(error = %e, "udp receive error"),
        }
    }
}

struct Shell {
    config: SfuConfig,
    sockets: HashMap<SocketAddr, Arc<UdpSocket>>,
    sessions: HashMap<SessionId, SessionCore>,
    endpoints: HashMap<EndpointId, Endpoint>,
    /// Source address → endpoint, learnt from accepted datagrams.
    routes: HashMap<SocketAddr, EndpointId>,
    dirty: BTreeSet<EndpointId>,
    renegotiate: BTreeSet<EndpointId>,
    decisions: Vec<Decision>,
    next_speaking_poll: Instant,
    packets_received: u64,
    packets_forwarded: u64,
}

impl Shell {
    fn new(config: SfuConfig, sockets: HashMap<SocketAddr, Arc<UdpSocket>>) -> Self {
        Shell {
            config,
            sockets,
            sessions: HashMap::new(),
            endpoints: HashMap::new(),
            routes: HashMap::new(),
            dirty: BTreeSet::new(),
            renegotiate: BTreeSet::new(),
            decisions: Vec::with_capacity(64),
            next_speaking_poll: now(),
            packets_received: 0,
            packets_forwarded: 0,
        }
    }

    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut datagrams: mpsc::Receiver<Datagram>,
    ) {
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.handle_command(now(), cmd),
                    None => break,
                },
                Some(dg) = datagrams.recv() => self.handle_datagram(now(), dg),
                _ = tokio::time::sleep_until(deadline.into()) => self.handle_timeouts(now()),
            }
            self.drive(now());
        }
        tracing::info!("media plane stopped");
    }

    fn next_deadline(&self) -> Instant {
        let offer_timeout = self.config.offer_timeout;
        self.endpoints
            .values()
            .flat_map(|e| [Some(e.timeout), e.offered_at.map(|t| t + offer_timeout)])
            .flatten()
            .fold(self.next_speaking_poll, Instant::min)
    }

    fn handle_command(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::Join {
                session,
                endpoint,
                offer,
                events,
                reply,
            } => {
                let _ = reply.send(self.join(now, session, endpoint, &offer, events));
            }
            Command::Answer {
                endpoint,
                answer,
                reply,
            } => {
                let _ = reply.send(self.answer(now, endpoint, &answer));
            }
            Command::Candidate {
                endpoint,
                candidate,
            } => {
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
            Command::Close { endpoint } => {
                if let Some(ep) = self.endpoints.get_mut(&endpoint) {
                    ep.closing.get_or_insert(CloseReason::Closed);
                }
            }
            #[cfg(test)]
            Command::InjectPanic { endpoint } => {
                if let Some(ep) = self.endpoints.get_mut(&endpoint) {
                    ep.guard(|_| -> Result<(), str0m::RtcError> { panic!("injected fault") });
                }
            }
            Command::LinkStats { reply } => {
                let _ = reply.send(
                    self.endpoints
                        .iter()
                        .map(|(id, ep)| (*id, ep.link))
                        .collect(),
                );
            }
            Command::Stats { reply } => {
                let _ = reply.send(SfuStats {
                    sessions: self.sessions.len(),
                    endpoints: self.endpoints.len(),
                    tracks: self.sessions.values().map(|s| s.tracks().count()).sum(),
                    packets_received: self.packets_received,
                    packets_forwarded: self.packets_forwarded,
                });
            }
        }
    }

    fn join(
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
        let mut rtc = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .set_stats_interval(Some(STATS_INTERVAL))
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .build(now);
        for addr in self.sockets.keys() {
            if let Ok(c) = Candidate::host(*addr, "udp") {
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

    fn answer(&mut self, now: Instant, id: EndpointId, sdp: &str) -> Result<(), SfuError> {
        let ep = self.endpoints.get_mut(&id).ok_or(SfuError::NoEndpoint)?;
        let opened = ep.accept_answer(sdp)?;
        let session = ep.session;
        self.dirty.insert(id);
        self.renegotiate.insert(id);
        let Some(core) = self.sessions.get_mut(&session) else {
            return Ok(());
        };
        let mut asks = vec![];
        for slot in opened {
            asks.extend(core.subscribe(now, slot.track, id, slot.mid));
        }
        for d in asks {
            if let Decision::RequestKeyframe { track } = d {
                self.request_keyframe(track);
            }
        }
        Ok(())
    }

    fn handle_datagram(&mut self, now: Instant, dg: Datagram) {
        let Ok(receive) = Receive::new(Protocol::Udp, dg.source, dg.destination, &dg.data) else {
            return;
        };
        let input = Input::Receive(now, receive);
        let known = self.routes.get(&dg.source).copied().filter(|id| {
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
            tracing::trace!(source = %dg.source, "datagram for no endpoint");
            return;
        };
        self.routes.insert(dg.source, id);
        if let Some(ep) = self.endpoints.get_mut(&id) {
            ep.guard(|rtc| rtc.handle_input(input));
            self.dirty.insert(id);
        }
    }

    fn handle_timeouts(&mut self, now: Instant) {
        let offer_timeout = self.config.offer_timeout;
        for ep in self.endpoints.values_mut() {
            if ep.closing.is_none() && ep.offered_at.is_some_and(|t| now >= t + offer_timeout) {
                tracing::warn!(endpoint = %ep.id, "offer not answered in time; closing the endpoint");
                ep.closing = Some(CloseReason::Failed);
                continue;
            }
            if ep.timeout <= now {
                ep.guard(|rtc| rtc.handle_input(Input::Timeout(now)));
                self.dirty.insert(ep.id);
            }
        }
        if now >= self.next_speaking_poll {
            self.next_speaking_poll = now + SPEAKING_POLL;
            self.poll_speaking(now);
        }
    }

    fn poll_speaking(&mut self, now: Instant) {
        for core in self.sessions.values_mut() {
            let changes = core.poll_speaking(now);
            if changes.is_empty() {
                continue;
            }
            for member in core.endpoints() {
                if let Some(ep) = self.endpoints.get(&member) {
                    for c in &changes {
                        ep.notify(EndpointEvent::Speaking {
                            endpoint: c.endpoint,
                            speaking: c.speaking,
                        });
                    }
                }
            }
        }
    }

    /// Drain outputs until every endpoint waits for a timeout; then reap and renegotiate.
    fn drive(&mut self, now: Instant) {
        loop {
            while let Some(id) = self.dirty.pop_first() {
                self.drain(now, id);
            }
            self.reap();
            let pending: Vec<EndpointId> =
                std::mem::take(&mut self.renegotiate).into_iter().collect();
            for id in pending {
                let Some(session) = self.endpoints.get(&id).map(|e| e.session) else {
                    continue;
                };
                let wanted = self
                    .sessions
                    .get(&session)
                    .map(|c| c.tracks_for(id))
                    .unwrap_or_default();
                if let Some(ep) = self.endpoints.get_mut(&id) {
                    ep.negotiate(now, &wanted);
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
            loop {
                let Some(output) = ep.guard(|rtc| rtc.poll_output()) else {
                    break;
                };
                match output {
                    Output::Timeout(t) => {
                        ep.timeout = t;
                        break;
                    }
                    Output::Transmit(t) => {
                        if let Some(socket) = self.sockets.get(&t.source)
                            && let Err(e) = socket.try_send_to(&t.contents, t.destination)
                        {
                            tracing::debug!(error = %e, "udp send failed; packet dropped");
                        }
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
                if let Some(track) = track {
                    self.request_keyframe(track);
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
                if let Some(core) = self.sessions.get_mut(&ep.session) {
                    tracing::debug!(%track, kind = ?added.kind, "track published");
                    self.renegotiate.extend(core.publish(track, added.kind));
                    ep.notify(EndpointEvent::Published {
                        mid: added.mid.to_string(),
                        kind: added.kind,
                    });
                }
            }
            Event::IceConnectionStateChange(state) => {
                tracing::debug!(endpoint = %id, ?state, "ice state");
                if state == IceConnectionState::Disconnected
                    && let Some(ep) = self.endpoints.get_mut(&id)
                {
                    ep.closing.get_or_insert(CloseReason::Disconnected);
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
        let (Some(mid), Some((params, codec))) = (
            ep.mid_for(pkt.header.ssrc),
            ep.codec_for(pkt.header.payload_type),
        ) else {
            return;
        };
        let Some(core) = self.sessions.get_mut(&ep.session) else {
            return;
        };
        let rtp = RtpIn {
            ssrc: *pkt.header.ssrc,
            seq: *pkt.seq_no,
            ts: pkt.header.timestamp,
            codec,
            payload: &pkt.payload,
            audio_level: pkt.header.ext_vals.audio_level,
        };
        let mut decisions = std::mem::take(&mut self.decisions);
        decisions.clear();
        core.handle_rtp(
            now,
            TrackId {
                endpoint: from,
                mid,
            },
            &rtp,
            &mut decisions,
        );
        // Only what the subscriber needs is carried over; transport-level extensions
        // (TWCC, abs-send-time, mid) are the subscriber's own str0m's to write.
        let exts = ExtensionValues {
            audio_level: pkt.header.ext_vals.audio_level,
            voice_activity: pkt.header.ext_vals.voice_activity,
            video_orientation: pkt.header.ext_vals.video_orientation,
            ..Default::default()
        };
        for d in decisions.drain(..) {
            match d {
                Decision::Forward { to, mid, seq, ts } => {
                    let Some(sub) = self.endpoints.get_mut(&to) else {
                        continue;
                    };
                    if sub.open_slot(mid).is_none() {
                        continue;
                    }
                    let Some(pt) = sub.local_pt(params) else {
                        continue;
                    };
                    let write =
                        RtpWrite::new(pt, seq.into(), ts, pkt.timestamp, pkt.payload.clone())
                            .marker(pkt.header.marker)
                            .ext_vals(exts.clone())
                            .nackable(codec.is_video());
                    let written = sub.guard(|rtc| {
                        if let Some(stream) = rtc.direct_api().stream_tx_by_mid(mid, None) {
                            stream.write_rtp(write);
                        }
                        Ok(())
                    });
                    if written.is_some() {
                        self.packets_forwarded += 1;
                        self.dirty.insert(to);
                    }
                }
                Decision::RequestKeyframe { track } => self.request_keyframe(track),
                Decision::Drop { .. } => {}
            }
        }
        self.decisions = decisions;
    }

    /// Ask the publisher of `track` for a keyframe (the core has throttled it already).
    fn request_keyframe(&mut self, track: TrackId) {
        if let Some(publisher) = self.endpoints.get_mut(&track.endpoint) {
            publisher.guard(|rtc| {
                if let Some(stream) = rtc.direct_api().stream_rx_by_mid(track.mid, None) {
                    stream.request_keyframe(KeyframeRequestKind::Pli);
                }
                Ok(())
            });
            self.dirty.insert(track.endpoint);
        }
    }

    /// Remove endpoints that closed, failed or panicked; their tracks leave the session and the
    /// others renegotiate.
    fn reap(&mut self) {
        let closing: Vec<(EndpointId, CloseReason)> = self
            .endpoints
            .values()
            .filter_map(|e| e.closing.map(|r| (e.id, r)))
            .collect();
        for (id, reason) in closing {
            let Some(mut ep) = self.endpoints.remove(&id) else {
                continue;
            };
            // Best effort: tell the peer we are going (DTLS close), ignoring a broken instance.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ep.rtc.disconnect()));
            self.routes.retain(|_, e| *e != id);
            self.dirty.remove(&id);
            self.renegotiate.remove(&id);
            if let Some(core) = self.sessions.get_mut(&ep.session) {
                let removal = core.remove_endpoint(id);
                for (sub, _) in removal.stopped {
                    self.renegotiate.insert(sub);
                }
                // Subscribers whose m-lines for this endpoint are still being negotiated.
                for other in self.endpoints.values() {
                    if other.session == ep.session
                        && other
                            .slots
                            .iter()
                            .any(|s| s.track.endpoint == id && s.state != SlotState::Stopping)
                    {
                        self.renegotiate.insert(other.id);
                    }
                }
                if core.is_empty() {
                    self.sessions.remove(&ep.session);
                }
            }
            tracing::info!(endpoint = %id, ?reason, "endpoint left media");
            ep.notify(EndpointEvent::Closed(reason));
        }
    }
}

/// Address candidates default to: the given one, or the machine's outbound address.
pub fn default_candidate_ip(listen: IpAddr) -> IpAddr {
    if !listen.is_unspecified() {
        return listen;
    }
    // Connecting a UDP socket sends nothing; it only asks the kernel which source address
    // it would use for that destination (TEST-NET-2, never reached).
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("198.51.100.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}
