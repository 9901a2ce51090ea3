//! A simulated network around an [`Engine`]: real str0m clients (ICE, DTLS, SRTP) that reach
//! the engine through memory instead of sockets, on simulated time. The forwarding benchmarks
//! (`benches/forwarding.rs`) and engine tests use it; nothing in the hub does.
//!
//! A client behaves as the web client does towards the hub: it offers its own send-only
//! m-lines once, answers every offer the hub makes, and counts the RTP it receives.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::rtp::{ExtensionValues, RtpWrite, SeqNo};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::sync::mpsc;

use crate::core::{Layer, SlotInfo};
use crate::ids::{EndpointId, SessionId};
use crate::shell::{EndpointEvent, Engine, SfuConfig};

/// The engine's address on the simulated network.
pub const HUB_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 10_000);
/// The hub's ICE-TCP passive candidate: the same address and port number, over TCP.
pub const HUB_TCP_ADDR: SocketAddr = HUB_ADDR;

/// One simulated browser.
#[derive(Debug)]
pub struct SimClient {
    pub id: EndpointId,
    pub rtc: Rtc,
    pub addr: SocketAddr,
    events: mpsc::UnboundedReceiver<EndpointEvent>,
    /// Its own send m-lines, by kind.
    pub sending: Vec<(MediaKind, Mid)>,
    pub connected: bool,
    /// RTP packets received, by the m-line they arrived on.
    pub received: HashMap<Mid, u64>,
    /// RTP payload bytes received, by the m-line they arrived on.
    pub received_bytes: HashMap<Mid, u64>,
    /// Offers from the hub it answered.
    pub offers: u32,
    /// What its receive slots carry, by the hub's latest word.
    pub slots: Vec<SlotInfo>,
    /// The layers of its video the hub last said anyone needs.
    pub layers_needed: Option<Vec<Layer>>,
    /// The dominant speaker, by the hub's latest word.
    pub dominant: Option<EndpointId>,
    /// Keyframe requests from the hub not yet served, by RID (None: the m-line's one stream).
    pub keyframes_asked: Vec<Option<String>>,
    /// `Connected` events from the hub (the first connection, then each restored one).
    pub hub_connected: u32,
    /// How the hub closed its media, if it did.
    pub closed: Option<crate::shell::CloseReason>,
    /// Cut off: nothing it sends or is sent arrives.
    pub cut: bool,
    /// Its downlink, when capped: datagrams wait here for their delivery time.
    downlink: Option<Link>,
    /// Audio packets received (payload type, sequence number, timestamp, payload), kept
    /// only for clients that joined with [`SimNet::join_red`].
    pub audio_in: Option<Vec<AudioIn>>,
    /// Its audio goes out on the negotiated RED payload type (the test writes RED payloads).
    pub send_red: bool,
    /// How it reaches the hub: UDP, or ICE-TCP for one that joined with [`SimNet::join_tcp`]
    /// (its frames are delivered whole, as the shell's connection reader hands them over).
    pub proto: Protocol,
    /// What the hub sent it, by protocol: (UDP datagrams, TCP frames). One that came over the
    /// other protocol than its own is counted and not delivered (it could not arrive).
    pub from_hub: (u64, u64),
}

/// One audio packet as a client received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioIn {
    pub mid: Mid,
    pub pt: Pt,
    pub seq: u64,
    pub ts: u32,
    pub payload: Vec<u8>,
}

/// A capped link: a FIFO drained at `bps`; a datagram that finds more than `queue_bytes`
/// waiting is dropped (a router's tail drop).
#[derive(Debug)]
struct Link {
    bps: u64,
    queue_bytes: usize,
    queued: VecDeque<(Instant, SocketAddr, Vec<u8>)>,
    bytes: usize,
    /// When the link is free to start the next datagram.
    free_at: Instant,
    dropped: u64,
}

impl SimClient {
    /// The payload type it negotiated for `codec`.
    pub fn pt(&self, codec: Codec) -> Option<Pt> {
        self.rtc
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
    }

    /// Its send m-line of `kind`.
    pub fn mid(&self, kind: MediaKind) -> Option<Mid> {
        self.sending
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, m)| *m)
    }

    /// Every RTP packet it received.
    pub fn received_total(&self) -> u64 {
        self.received.values().sum()
    }

    /// The slot that carries `publisher`'s media of `kind` now.
    pub fn slot_of(&self, publisher: EndpointId, kind: MediaKind) -> Option<SlotInfo> {
        self.slots
            .iter()
            .find(|s| s.kind == kind && s.publisher == Some(publisher))
            .copied()
    }

    /// Datagrams its capped downlink dropped.
    pub fn downlink_drops(&self) -> u64 {
        self.downlink.as_ref().map_or(0, |l| l.dropped)
    }
}

/// An engine and its clients on one simulated network with no loss and no delay: a datagram
/// is delivered at the `now` it was sent.
#[derive(Debug)]
pub struct SimNet {
    pub engine: Engine,
    pub now: Instant,
    pub clients: Vec<SimClient>,
    by_addr: HashMap<SocketAddr, usize>,
}

impl SimNet {
    pub fn new(config: SfuConfig) -> Self {
        let now = Instant::now();
        SimNet {
            engine: {
                let mut engine = Engine::new(config, vec![HUB_ADDR], now);
                engine.offer_tcp(vec![HUB_TCP_ADDR]);
                engine
            },
            now,
            clients: vec![],
            by_addr: HashMap::new(),
        }
    }

    /// A client joins `session` offering send-only m-lines of `kinds`, as the web client
    /// does (its microphone and camera). Returns its index in [`SimNet::clients`].
    pub fn join(&mut self, session: SessionId, kinds: &[MediaKind]) -> usize {
        let media: Vec<(MediaKind, Direction)> =
            kinds.iter().map(|k| (*k, Direction::SendOnly)).collect();
        self.join_with(session, &media, false, false)
    }

    /// As [`SimNet::join`], for a client whose UDP is blocked: its one candidate is an active
    /// TCP one, as a browser's is, so it can only pair with the hub's passive TCP candidate.
    pub fn join_tcp(&mut self, session: SessionId, kinds: &[MediaKind]) -> usize {
        let media: Vec<(MediaKind, Direction)> =
            kinds.iter().map(|k| (*k, Direction::SendOnly)).collect();
        self.join_over(session, &media, false, false, Protocol::Tcp)
    }

    /// As [`SimNet::join`], for a client that supports redundant audio (RED, RFC 2198) and
    /// keeps every audio packet it receives in [`SimClient::audio_in`].
    pub fn join_red(&mut self, session: SessionId, kinds: &[MediaKind]) -> usize {
        let media: Vec<(MediaKind, Direction)> =
            kinds.iter().map(|k| (*k, Direction::SendOnly)).collect();
        self.join_with(session, &media, false, true)
    }

    /// A client joins `session` as the web client does by default: a microphone, and a
    /// camera in three simulcast layers (RIDs `q`, `h`, `f`).
    pub fn join_simulcast(&mut self, session: SessionId) -> usize {
        self.join_with(
            session,
            &[
                (MediaKind::Audio, Direction::SendOnly),
                (MediaKind::Video, Direction::SendOnly),
            ],
            true,
            false,
        )
    }

    /// Cap client `i`'s downlink (hub → client) at `bps`, with a queue of `queue_bytes`.
    pub fn cap_downlink(&mut self, i: usize, bps: u64, queue_bytes: usize) {
        self.clients[i].downlink = Some(Link {
            bps,
            queue_bytes,
            queued: VecDeque::new(),
            bytes: 0,
            free_at: self.now,
            dropped: 0,
        });
    }

    /// A client that publishes nothing joins `session`: it offers one receive-only audio
    /// m-line (a peer connection needs one), so the hub only ever sends to it.
    pub fn join_viewer(&mut self, session: SessionId) -> usize {
        self.join_with(
            session,
            &[(MediaKind::Audio, Direction::RecvOnly)],
            false,
            false,
        )
    }

    fn join_with(
        &mut self,
        session: SessionId,
        media: &[(MediaKind, Direction)],
        simulcast: bool,
        red: bool,
    ) -> usize {
        self.join_over(session, media, simulcast, red, Protocol::Udp)
    }

    fn join_over(
        &mut self,
        session: SessionId,
        media: &[(MediaKind, Direction)],
        simulcast: bool,
        red: bool,
        proto: Protocol,
    ) -> usize {
        let index = self.clients.len();
        let n = u32::try_from(index).expect("fewer than 2^32 clients");
        let addr = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(10, 1, (n >> 8) as u8, n as u8)),
            5_000,
        );
        let mut builder = Rtc::builder().set_rtp_mode(true);
        if red {
            builder = builder.enable_opus(true, true);
        }
        let mut rtc = builder.build(self.now);
        rtc.direct_api().enable_twcc_feedback();
        let candidate = match proto {
            Protocol::Tcp => Candidate::builder()
                .tcp()
                .host(addr)
                .tcptype(TcpType::Active)
                .build(),
            _ => Candidate::host(addr, "udp"),
        };
        rtc.add_local_candidate(candidate.expect("a host candidate"));
        let mut api = rtc.sdp_api();
        let sending: Vec<(MediaKind, Mid)> = media
            .iter()
            .map(|(k, dir)| {
                let layers = (simulcast && *k == MediaKind::Video).then(|| {
                    let mut s = Simulcast::new();
                    for layer in Layer::SIMULCAST {
                        s.add_send_layer(SimulcastLayer::new(layer.as_str()));
                    }
                    s
                });
                (*k, api.add_media(*k, *dir, None, None, layers), *dir)
            })
            .filter(|(_, _, dir)| dir.is_sending())
            .map(|(k, mid, _)| (k, mid))
            .collect();
        let (offer, pending) = api.apply().expect("an offer");
        let id = EndpointId(u64::from(n) + 1);
        let (tx, events) = mpsc::unbounded_channel();
        let answer = self
            .engine
            .join(self.now, session, id, &offer.to_sdp_string(), tx)
            .expect("the engine accepts a client's offer");
        let answer = SdpAnswer::from_sdp_string(&answer).expect("the engine's answer parses");
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .expect("the client accepts the answer");
        self.clients.push(SimClient {
            id,
            rtc,
            addr,
            events,
            sending,
            connected: false,
            received: HashMap::new(),
            received_bytes: HashMap::new(),
            offers: 0,
            slots: vec![],
            layers_needed: None,
            dominant: None,
            keyframes_asked: vec![],
            hub_connected: 0,
            closed: None,
            cut: false,
            downlink: None,
            audio_in: red.then(Vec::new),
            send_red: false,
            proto,
            from_hub: (0, 0),
        });
        self.by_addr.insert(addr, index);
        index
    }

    /// Exchange everything that is due at `now`, until nothing moves: the engine's datagrams
    /// to the clients, the clients' to the engine, the hub's offers answered.
    pub fn pump(&mut self) {
        loop {
            let mut moved = false;
            self.engine.drive(self.now);
            let out: Vec<_> = self.engine.transmits().collect();
            for t in out {
                moved = true;
                if let Some(&i) = self.by_addr.get(&t.destination) {
                    let c = &mut self.clients[i];
                    match t.proto {
                        Protocol::Tcp => c.from_hub.1 += 1,
                        _ => c.from_hub.0 += 1,
                    }
                    if c.cut || t.proto != c.proto {
                        continue;
                    }
                    if let Some(link) = &mut c.downlink {
                        link.enqueue(self.now, t.source, t.contents.into());
                        continue;
                    }
                    deliver(c, self.now, t.source, &t.contents, &mut self.engine);
                    moved = true;
                }
            }
            for i in 0..self.clients.len() {
                let now = self.now;
                let c = &mut self.clients[i];
                while let Some((from, data)) = c.downlink.as_mut().and_then(|l| l.due(now)) {
                    deliver(c, now, from, &data, &mut self.engine);
                    moved = true;
                }
            }
            for i in 0..self.clients.len() {
                moved |= drain_client(&mut self.clients[i], self.now, &mut self.engine);
                moved |= self.answer_offers(i);
            }
            if !moved {
                return;
            }
        }
    }

    /// Answer whatever the hub offered client `i` and note what it said; true if it
    /// answered.
    fn answer_offers(&mut self, i: usize) -> bool {
        let mut answered = false;
        while let Ok(event) = self.clients[i].events.try_recv() {
            let sdp = match event {
                EndpointEvent::Offer { sdp, .. } => sdp,
                EndpointEvent::Slots(slots) => {
                    self.clients[i].slots = slots;
                    continue;
                }
                EndpointEvent::Layers(layers) => {
                    self.clients[i].layers_needed = Some(layers);
                    continue;
                }
                EndpointEvent::DominantSpeaker(d) => {
                    self.clients[i].dominant = d;
                    continue;
                }
                EndpointEvent::Connected => {
                    self.clients[i].hub_connected += 1;
                    continue;
                }
                EndpointEvent::Closed(reason) => {
                    self.clients[i].closed = Some(reason);
                    continue;
                }
                _ => continue,
            };
            let c = &mut self.clients[i];
            let offer = SdpOffer::from_sdp_string(&sdp).expect("the engine's offer parses");
            let answer = c
                .rtc
                .sdp_api()
                .accept_offer(offer)
                .expect("the client accepts the offer");
            c.offers += 1;
            self.engine
                .answer(self.now, c.id, &answer.to_sdp_string())
                .expect("the engine takes the answer");
            answered = true;
        }
        answered
    }

    /// Advance time by `dt`: everyone's timers run, then everything due is exchanged.
    pub fn advance(&mut self, dt: Duration) {
        self.now += dt;
        for c in &mut self.clients {
            let _ = c.rtc.handle_input(Input::Timeout(self.now));
        }
        // As the shell's run loop does: timeouts again while any is due (str0m's pacer
        // releases what it queued over several of them).
        for _ in 0..MAX_TIMEOUT_ROUNDS {
            self.engine.handle_timeout(self.now);
            self.pump();
            if self.engine.next_deadline() > self.now {
                break;
            }
        }
    }

    /// Advance in steps of `dt` until `done` holds (true) or `limit` of simulated time passed.
    pub fn run_until(
        &mut self,
        dt: Duration,
        limit: Duration,
        done: impl Fn(&SimNet) -> bool,
    ) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.advance(dt);
        }
        done(self)
    }

    /// Client `i` writes one RTP packet on its send m-line of `kind` (now, through its
    /// str0m: SRTP-protected) and returns the datagrams it produced, undelivered.
    pub fn write(
        &mut self,
        i: usize,
        kind: MediaKind,
        seq: u64,
        rtp_time: u32,
        payload: Vec<u8>,
        marker: bool,
    ) -> Vec<(SocketAddr, Vec<u8>)> {
        self.write_layer(i, kind, None, seq, rtp_time, payload, marker, None)
    }

    /// As [`SimNet::write`], on the simulcast layer `rid` (None: the m-line's one stream)
    /// and with an RFC 6464 audio level.
    #[allow(clippy::too_many_arguments)]
    pub fn write_layer(
        &mut self,
        i: usize,
        kind: MediaKind,
        rid: Option<&str>,
        seq: u64,
        rtp_time: u32,
        payload: Vec<u8>,
        marker: bool,
        audio_level: Option<i8>,
    ) -> Vec<(SocketAddr, Vec<u8>)> {
        let now = self.now;
        let c = &mut self.clients[i];
        let codec = if kind == MediaKind::Video {
            Codec::Vp8
        } else {
            Codec::Opus
        };
        let pt = if kind == MediaKind::Audio && c.send_red {
            c.rtc
                .codec_config()
                .find(|p| p.spec().codec == codec)
                .and_then(|p| p.red())
        } else {
            c.pt(codec)
        };
        let (Some(mid), Some(pt)) = (c.mid(kind), pt) else {
            return vec![];
        };
        let rid = rid.map(Rid::from);
        if let Some(stream) = c.rtc.direct_api().stream_tx_by_mid(mid, rid) {
            let exts = ExtensionValues {
                audio_level,
                voice_activity: audio_level.map(|l| l > -50),
                ..Default::default()
            };
            stream.write_rtp(
                RtpWrite::new(pt, SeqNo::from(seq), rtp_time, now, payload)
                    .marker(marker)
                    .ext_vals(exts)
                    .nackable(kind == MediaKind::Video),
            );
        }
        // The send queue releases packets on a timeout (str0m timestamps them there).
        let _ = c.rtc.handle_input(Input::Timeout(now));
        let mut out = vec![];
        loop {
            match c.rtc.poll_output() {
                Ok(Output::Transmit(t)) => out.push((t.source, t.contents.into())),
                Ok(Output::Event(e)) => note_event(c, e),
                Ok(Output::Timeout(_)) | Err(_) => return out,
            }
        }
    }
}

impl Link {
    fn enqueue(&mut self, now: Instant, from: SocketAddr, data: Vec<u8>) {
        if self.bytes + data.len() > self.queue_bytes {
            self.dropped += 1;
            return;
        }
        let start = self.free_at.max(now);
        let wire = Duration::from_secs_f64((data.len() as f64 + 28.0) * 8.0 / self.bps as f64);
        self.free_at = start + wire;
        self.bytes += data.len();
        self.queued.push_back((self.free_at, from, data));
    }

    fn due(&mut self, now: Instant) -> Option<(SocketAddr, Vec<u8>)> {
        if self.queued.front().is_some_and(|(at, _, _)| *at <= now) {
            let (_, from, data) = self.queued.pop_front()?;
            self.bytes -= data.len();
            return Some((from, data));
        }
        None
    }
}

/// A datagram from the hub reaches client `c`.
fn deliver(c: &mut SimClient, now: Instant, from: SocketAddr, data: &[u8], engine: &mut Engine) {
    if let Ok(r) = Receive::new(c.proto, from, c.addr, data) {
        // A client error is that client's problem: it simply stops answering.
        let _ = c.rtc.handle_input(Input::Receive(now, r));
        drain_client(c, now, engine);
    }
}

/// A client's datagram, or ICE-TCP frame, reaches the engine.
fn to_hub(engine: &mut Engine, now: Instant, t: &str0m::net::Transmit) {
    if t.proto == Protocol::Tcp {
        engine.handle_tcp_frame(now, t.source, t.destination, &t.contents);
    } else {
        engine.handle_datagram(now, t.source, t.destination, &t.contents);
    }
}

/// Timeout rounds given to the engine per [`SimNet::advance`], at most.
const MAX_TIMEOUT_ROUNDS: usize = 64;

/// Poll a client until it waits: its datagrams go to the engine. True if any did.
fn drain_client(c: &mut SimClient, now: Instant, engine: &mut Engine) -> bool {
    let mut moved = false;
    loop {
        match c.rtc.poll_output() {
            Ok(Output::Transmit(t)) => {
                moved = true;
                if !c.cut {
                    to_hub(engine, now, &t);
                }
            }
            Ok(Output::Event(e)) => note_event(c, e),
            Ok(Output::Timeout(_)) | Err(_) => return moved,
        }
    }
}

fn note_event(c: &mut SimClient, e: Event) {
    match e {
        Event::Connected => c.connected = true,
        Event::KeyframeRequest(req) => c.keyframes_asked.push(req.rid.map(|r| r.to_string())),
        Event::RtpPacket(p) => {
            let mid = c
                .rtc
                .direct_api()
                .stream_rx(&p.header.ssrc)
                .map(|s| s.mid());
            if let Some(mid) = mid {
                *c.received.entry(mid).or_default() += 1;
                *c.received_bytes.entry(mid).or_default() += p.payload.len() as u64;
                let audio = c.rtc.media(mid).map(|m| m.kind()) == Some(MediaKind::Audio);
                if let (true, Some(kept)) = (audio, &mut c.audio_in) {
                    kept.push(AudioIn {
                        mid,
                        pt: p.header.payload_type,
                        seq: *p.seq_no,
                        ts: p.header.timestamp,
                        payload: p.payload.to_vec(),
                    });
                }
            }
        }
        _ => {}
    }
}
