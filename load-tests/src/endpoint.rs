//! One simulated endpoint: what a browser on the meeting page does, without the browser.
//!
//! It opens the hub's websocket, joins with a real join token, offers audio and video send
//! m-lines as the web client does (always both; the camera may be off), connects with real
//! ICE, DTLS and SRTP through str0m on its own UDP socket, answers every offer the hub makes
//! (so it receives every stream the hub sends, as a browser would), publishes synthetic media,
//! and counts what arrives. Optionally its UDP traffic crosses an in-process [`Link`] that
//! loses, delays, reorders, caps or cuts it.
//!
//! Many endpoints share a thread: each is one tokio task; the runtime's worker threads carry
//! them all.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use signaling::protocol::{ClientMessage, Layer, ReceiveMode, ServerMessage, TrackKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpWrite};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::clip::Clip;
use crate::impair::{Impairment, Link, LinkCounters};
use crate::media::{
    AudioConfig, AudioSource, MediaPacket, RIDS, SimulcastCamera, TalkerPattern, VideoConfig,
};
use crate::payload::{self, Clock, StreamKind};
use crate::replay::{Camera, ClipAudioSource, ClipVideoSource, Mic};
use crate::stats::{Receiver, Sent, Window};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long an endpoint waits for the websocket and the welcome.
const SIGNALING_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a leaving endpoint waits for the hub to close the websocket.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_DATAGRAM: usize = 2_000;

/// A join link: a meeting and a token for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinLink {
    pub meeting: i64,
    pub token: String,
}

/// One endpoint of a run.
#[derive(Debug, Clone)]
pub struct EndpointPlan {
    /// Its number in the run (the sender id in its payloads).
    pub index: u32,
    pub name: String,
    pub link: JoinLink,
    /// A label the report breaks figures down by (e.g. `clean` and `impaired`).
    pub group: String,
    /// Whether its camera is on.
    pub video: bool,
    /// An impaired link (both directions) between it and the hub.
    pub impairment: Option<Impairment>,
    /// Leave after this long; `None`: stay until the run stops.
    pub lifetime: Option<Duration>,
    /// Vanish at the end of its lifetime (no `leave`, sockets dropped) instead of leaving.
    pub vanish: bool,
}

/// The groups a run's figures are broken down by (e.g. `clean` and `impaired`), and the
/// group of each endpoint, so a receiver can file a packet's delay under its sender's group.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    /// In name order.
    pub names: Vec<String>,
    /// Group number by endpoint index.
    of: Vec<u16>,
}

impl Groups {
    pub fn of_plans<'a>(plans: impl IntoIterator<Item = &'a EndpointPlan>) -> Self {
        let plans: Vec<&EndpointPlan> = plans.into_iter().collect();
        let mut names: Vec<String> = plans.iter().map(|p| p.group.clone()).collect();
        names.sort();
        names.dedup();
        let len = plans
            .iter()
            .map(|p| p.index as usize + 1)
            .max()
            .unwrap_or(0);
        let mut of = vec![0u16; len];
        for p in &plans {
            of[p.index as usize] = names.binary_search(&p.group).unwrap_or(0) as u16;
        }
        Groups { names, of }
    }

    /// How many endpoints the run has (one more than the highest index).
    pub fn endpoints(&self) -> u32 {
        self.of.len() as u32
    }

    /// The group number of endpoint `index` (0 for an index the run does not know).
    pub fn of(&self, index: u32) -> usize {
        self.of.get(index as usize).copied().unwrap_or(0).into()
    }
}

/// What every endpoint of a run shares.
#[derive(Debug)]
pub struct RunContext {
    /// The hub's websocket, `ws://host:port/ws`.
    pub ws_url: String,
    /// Address the endpoints' UDP sockets bind to (their ICE host candidate).
    pub bind_ip: IpAddr,
    pub clock: Clock,
    pub window: Window,
    pub talkers: TalkerPattern,
    pub audio: AudioConfig,
    pub video: VideoConfig,
    pub seed: u64,
    pub groups: Groups,
    /// A real clip every endpoint replays instead of synthetic media.
    pub clip: Option<Arc<Clip>>,
    /// What every endpoint asks the hub to send it.
    pub receive: ReceiveMode,
}

/// Where an endpoint is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Joining,
    /// Welcomed into the meeting; media not connected yet.
    Welcomed,
    /// ICE and DTLS connected: media flows.
    Connected,
    Left,
    Failed,
}

/// What an endpoint did and saw; shared with the scenario while it runs.
#[derive(Debug, Default)]
pub struct EndpointStatus {
    pub phase: Phase,
    /// Why it failed, or anything else that went wrong (hub errors, unexpected goodbyes).
    pub errors: Vec<String>,
    /// From opening the websocket to the welcome, and to media connected.
    pub welcomed_after: Option<Duration>,
    pub connected_after: Option<Duration>,
    pub rx: Receiver,
    pub sent: Sent,
    pub offers: u32,
    /// Keyframe requests the hub sent for our video.
    pub keyframe_requests: u32,
    pub uplink: LinkCounters,
    pub downlink: LinkCounters,
    /// When media connected, and when the endpoint left or failed.
    pub connected_at: Option<Instant>,
    pub ended_at: Option<Instant>,
    /// Its participant id, from the welcome.
    pub participant_id: Option<String>,
    /// Every `slots` message with when it arrived: who the hub forwarded to this endpoint.
    pub assignments: Vec<(Instant, Vec<Assigned>)>,
}

/// The RID of a protocol layer (`None` for a publisher without simulcast).
fn rid_of(layer: Layer) -> Option<&'static str> {
    match layer {
        Layer::Quarter => Some(RIDS[0]),
        Layer::Half => Some(RIDS[1]),
        Layer::Full => Some(RIDS[2]),
        Layer::Single => None,
    }
}

/// The index our video streams carry for a protocol layer (a single stream is layer 0).
fn layer_index(layer: Layer) -> u8 {
    match layer {
        Layer::Quarter | Layer::Single => 0,
        Layer::Half => 1,
        Layer::Full => 2,
    }
}

/// One stream a receive slot carried, by a `slots` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub participant: String,
    pub video: bool,
    /// Video: the layer being forwarded (as our streams number them).
    pub layer: Option<u8>,
    /// Forwarded now (an audio slot always is; a video slot once its layer is set — it is
    /// unset while the switch waits for a keyframe and while the link cannot carry it).
    pub active: bool,
}

impl EndpointStatus {
    /// It failed, for `why` (its phase becomes `Failed`).
    pub fn fail(&mut self, why: String) {
        self.phase = Phase::Failed;
        self.errors.push(why);
        self.ended_at.get_or_insert_with(Instant::now);
    }

    /// Whether media was connected for the whole of `[from, to]`.
    pub fn connected_throughout(&self, from: Instant, to: Instant) -> bool {
        self.connected_at.is_some_and(|c| c <= from) && self.ended_at.is_none_or(|e| e >= to)
    }

    /// Whether `participant`'s stream of `kind` (audio, or video at that layer) was
    /// forwarded here, active, by every `slots` message from before `from` to after `to`.
    pub fn assigned_throughout(
        &self,
        participant: &str,
        kind: StreamKind,
        from: Instant,
        to: Instant,
    ) -> bool {
        let carries = |list: &[Assigned]| {
            list.iter().any(|a| {
                a.participant == participant
                    && a.active
                    && match kind {
                        StreamKind::Audio => !a.video,
                        StreamKind::Video { layer } => a.video && a.layer == Some(layer),
                    }
            })
        };
        let before = self.assignments.iter().rev().find(|(at, _)| *at <= from);
        before.is_some_and(|(_, list)| carries(list))
            && self
                .assignments
                .iter()
                .filter(|(at, _)| *at > from && *at <= to)
                .all(|(_, list)| carries(list))
    }

    /// Whether any `slots` message ever named `participant`'s stream.
    pub fn ever_assigned(&self, participant: &str, video: bool) -> bool {
        self.assignments.iter().any(|(_, list)| {
            list.iter()
                .any(|a| a.participant == participant && a.video == video)
        })
    }
}

/// A running endpoint.
#[derive(Debug)]
pub struct Endpoint {
    pub plan: EndpointPlan,
    pub status: Arc<Mutex<EndpointStatus>>,
    task: tokio::task::JoinHandle<()>,
}

impl Endpoint {
    /// Start the endpoint; it joins at once and runs until `stop` turns true or its lifetime
    /// ends.
    pub fn spawn(plan: EndpointPlan, ctx: Arc<RunContext>, stop: watch::Receiver<bool>) -> Self {
        let status = Arc::new(Mutex::new(EndpointStatus::default()));
        let task = tokio::spawn(run(plan.clone(), ctx, status.clone(), stop));
        Endpoint { plan, status, task }
    }

    pub fn phase(&self) -> Phase {
        lock(&self.status).phase
    }

    /// A handle to cancel the endpoint's task.
    pub fn abort_handle(&self) -> tokio::task::AbortHandle {
        self.task.abort_handle()
    }

    /// Wait for the task to end (after a stop or its lifetime).
    pub async fn finished(self) -> Arc<Mutex<EndpointStatus>> {
        if let Err(e) = self.task.await {
            lock(&self.status).fail(format!("endpoint task ended abnormally: {e}"));
        }
        self.status
    }
}

pub(crate) fn lock(s: &Mutex<EndpointStatus>) -> std::sync::MutexGuard<'_, EndpointStatus> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

async fn run(
    plan: EndpointPlan,
    ctx: Arc<RunContext>,
    status: Arc<Mutex<EndpointStatus>>,
    mut stop: watch::Receiver<bool>,
) {
    let opened = tokio::select! {
        opened = Session::open(&plan, &ctx, &status) => opened,
        _ = stop.changed() => Err("stopped before the hub welcomed it".to_string()),
    };
    match opened {
        Ok(session) => {
            if let Err(e) = session.run(&plan, &ctx, &status, stop).await {
                lock(&status).fail(e);
            }
        }
        Err(e) => lock(&status).fail(e),
    }
}

/// A datagram in flight on an impaired link: its bytes and where it goes (uplink) or came
/// from (downlink).
type Datagram = (Vec<u8>, SocketAddr);

/// The endpoint once it has been welcomed: its websocket, str0m instance, socket, links and
/// media sources.
struct Session {
    ws: Ws,
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    audio_mid: Mid,
    video_mid: Mid,
    /// Payload types, known once the hub answered.
    opus: Option<Pt>,
    vp8: Option<Pt>,
    /// Whether the hub's answer asked for Opus DTX (`usedtx=1`).
    dtx_asked: bool,
    /// The hub's latest `layers`: which simulcast layers anyone receives.
    layers: Option<Vec<&'static str>>,
    /// When str0m next wants `Input::Timeout` (what the last drain returned).
    rtc_due: Instant,
    started: Instant,
    uplink: Option<Link<Datagram>>,
    downlink: Option<Link<Datagram>>,
    /// The microphone and camera, started once media is connected.
    audio: Option<Mic>,
    video: Option<Camera>,
}

async fn send(ws: &mut Ws, msg: &ClientMessage) -> Result<(), String> {
    let text = serde_json::to_string(msg).map_err(|e| e.to_string())?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("websocket send failed: {e}"))
}

/// Whether `sdp` asks the sender of Opus on payload type `pt` for DTX: its `a=fmtp:PT` line
/// has `usedtx=1` (RFC 7587 §6.1), which a browser obeys.
fn asks_for_dtx(sdp: &str, pt: u8) -> bool {
    let prefix = format!("a=fmtp:{pt} ");
    sdp.lines()
        .filter_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .flat_map(|params| params.split(';'))
        .any(|p| p.trim() == "usedtx=1")
}

/// Why the hub closed or broke the websocket.
fn closed(frame: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> String {
    format!(
        "hub closed the websocket{}",
        frame
            .map(|f| format!(": {} {}", f.code, f.reason))
            .unwrap_or_default()
    )
}

/// The next protocol message; `Err` when the socket closed or broke.
async fn next_message(ws: &mut Ws) -> Result<ServerMessage, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(&t).map_err(|e| format!("bad server message: {e}"));
            }
            Some(Ok(Message::Close(frame))) => return Err(closed(frame)),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("websocket error: {e}")),
            None => return Err("websocket closed".into()),
        }
    }
}

impl Session {
    /// Connect, join, offer; returns once the hub welcomed us (its answer comes later).
    async fn open(
        plan: &EndpointPlan,
        ctx: &RunContext,
        status: &Mutex<EndpointStatus>,
    ) -> Result<Session, String> {
        let started = Instant::now();
        let opening = async {
            let (mut ws, _) = tokio_tungstenite::connect_async(ctx.ws_url.as_str())
                .await
                .map_err(|e| format!("websocket connect failed: {e}"))?;
            send(
                &mut ws,
                &ClientMessage::Join {
                    v: signaling::protocol::PROTOCOL_VERSION,
                    meeting: plan.link.meeting,
                    name: plan.name.clone(),
                    token: Some(plan.link.token.clone()),
                },
            )
            .await?;
            loop {
                match next_message(&mut ws).await? {
                    ServerMessage::Welcome { participant_id, .. } => {
                        let mut s = lock(status);
                        s.participant_id = Some(participant_id);
                        s.phase = Phase::Welcomed;
                        s.welcomed_after = Some(started.elapsed());
                        return Ok(ws);
                    }
                    ServerMessage::Error { code, message } => {
                        return Err(format!("join refused: {} ({message})", code.as_str()));
                    }
                    _ => continue,
                }
            }
        };
        let mut ws = tokio::time::timeout(SIGNALING_TIMEOUT, opening)
            .await
            .map_err(|_| format!("no welcome within {} s", SIGNALING_TIMEOUT.as_secs()))??;

        let socket = UdpSocket::bind(SocketAddr::new(ctx.bind_ip, 0))
            .await
            .map_err(|e| format!("udp bind failed: {e}"))?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .set_stats_interval(None)
            .build(now);
        let candidate = Candidate::host(local, "udp").map_err(|e| e.to_string())?;
        rtc.add_local_candidate(candidate);
        // As the web client: both kinds, always, send-only; the camera may stay off.
        let mut api = rtc.sdp_api();
        let audio_mid = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        // The synthetic camera publishes three simulcast layers, as the web client does; a
        // replayed clip is one stream.
        let simulcast = ctx.clip.is_none().then(|| {
            let mut s = Simulcast::new();
            for rid in RIDS {
                s.add_send_layer(SimulcastLayer::new(rid));
            }
            s
        });
        let video_mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, simulcast);
        let (offer, pending) = api.apply().ok_or("str0m made no offer")?;
        send(
            &mut ws,
            &ClientMessage::Offer {
                sdp: offer.to_sdp_string(),
            },
        )
        .await?;
        for (kind, muted) in [(TrackKind::Audio, false), (TrackKind::Video, !plan.video)] {
            send(&mut ws, &ClientMessage::Mute { kind, muted }).await?;
        }
        if ctx.receive != ReceiveMode::Auto {
            let receive = ClientMessage::Receive {
                mode: Some(ctx.receive),
                pinned: None,
                large_height: None,
                small_height: None,
            };
            send(&mut ws, &receive).await?;
        }
        let seed = ctx.seed ^ (u64::from(plan.index) << 20);
        Ok(Session {
            ws,
            rtc,
            socket,
            local,
            pending: Some(pending),
            audio_mid,
            video_mid,
            opus: None,
            vp8: None,
            dtx_asked: false,
            layers: None,
            rtc_due: now,
            started,
            uplink: plan.impairment.map(|i| Link::new(i, seed, now)),
            downlink: plan.impairment.map(|i| Link::new(i, seed ^ 0x5eed, now)),
            audio: None,
            video: None,
        })
    }

    /// The run loop (str0m's model): one input, then drain str0m's output until it asks for
    /// a timeout. Every datagram is fed on its own and drained at once: in RTP mode str0m
    /// holds a single received packet until the next `poll_output`.
    async fn run(
        mut self,
        plan: &EndpointPlan,
        ctx: &RunContext,
        status: &Mutex<EndpointStatus>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), String> {
        let leave_at = plan.lifetime.map(|l| self.started + l);
        let mut packets: Vec<MediaPacket> = Vec::with_capacity(64);
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let run_start = ctx.clock.epoch();
        let talking = |at: Instant| {
            ctx.talkers
                .talking(plan.index, at.saturating_duration_since(run_start))
        };

        loop {
            self.drain(plan, ctx, status).await?;
            self.flush_uplink(Instant::now()).await;

            // Sleep until the first of: a datagram, a message, str0m's timeout, media due,
            // the links' next release, the end of our lifetime, the stop.
            let wake = [
                self.audio.as_ref().map(Mic::next_at),
                self.video.as_ref().map(Camera::next_at),
                self.uplink.as_ref().and_then(Link::next_release),
                self.downlink.as_ref().and_then(Link::next_release),
                leave_at,
            ]
            .into_iter()
            .flatten()
            .fold(self.rtc_due, Instant::min);
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => {
                    if let Ok((n, source)) = r {
                        self.receive(&buf[..n], source, plan, ctx, status).await?;
                        // Take whatever else is queued on the socket in one go.
                        while let Ok((n, source)) = self.socket.try_recv_from(&mut buf) {
                            self.receive(&buf[..n], source, plan, ctx, status).await?;
                        }
                    }
                }
                msg = self.ws.next() => self.on_message(msg, status).await?,
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = stop.changed() => return self.leave(plan, status).await,
            }

            // Whatever is due now.
            let now = Instant::now();
            if leave_at.is_some_and(|t| now >= t) {
                return self.leave(plan, status).await;
            }
            while let Some((data, source)) = self.downlink.as_mut().and_then(|l| l.poll(now)) {
                self.feed(now, &data, source)?;
                self.drain(plan, ctx, status).await?;
            }
            // Only when due: a datagram's wake-up needs no timeout pass (its drain said when).
            if now >= self.rtc_due {
                self.rtc
                    .handle_input(Input::Timeout(now))
                    .map_err(|e| format!("str0m: {e}"))?;
            }
            packets.clear();
            if let Some(a) = &mut self.audio {
                a.poll(now, &ctx.clock, talking, &mut packets);
            }
            if let Some(v) = &mut self.video {
                v.poll(now, &ctx.clock, &mut packets);
            }
            if !packets.is_empty() {
                self.write_media(&mut packets, ctx, status);
            }
            if let (Some(up), Some(down)) = (&self.uplink, &self.downlink) {
                let mut s = lock(status);
                s.uplink = up.counters;
                s.downlink = down.counters;
            }
        }
    }

    /// Poll str0m until it asks for a timeout: transmits go out (through the uplink when
    /// impaired), events are handled. Notes when str0m next wants `Input::Timeout`.
    async fn drain(
        &mut self,
        plan: &EndpointPlan,
        ctx: &RunContext,
        status: &Mutex<EndpointStatus>,
    ) -> Result<(), String> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.rtc_due = t;
                    return Ok(());
                }
                Ok(Output::Transmit(t)) => match &mut self.uplink {
                    Some(link) => {
                        let len = t.contents.len();
                        link.send(Instant::now(), (t.contents.into(), t.destination), len);
                    }
                    None => {
                        let _ = self.socket.send_to(&t.contents, t.destination).await;
                    }
                },
                Ok(Output::Event(e)) => self.on_event(e, plan, ctx, status)?,
                Err(e) => return Err(format!("str0m: {e}")),
            }
        }
    }

    /// Send what has crossed the impaired uplink by `now`.
    async fn flush_uplink(&mut self, now: Instant) {
        while let Some((data, to)) = self.uplink.as_mut().and_then(|l| l.poll(now)) {
            let _ = self.socket.send_to(&data, to).await;
        }
    }

    /// A datagram from the socket: into the downlink if impaired, else straight to str0m.
    async fn receive(
        &mut self,
        data: &[u8],
        source: SocketAddr,
        plan: &EndpointPlan,
        ctx: &RunContext,
        status: &Mutex<EndpointStatus>,
    ) -> Result<(), String> {
        let now = Instant::now();
        match &mut self.downlink {
            Some(link) => link.send(now, (data.to_vec(), source), data.len()),
            None => {
                self.feed(now, data, source)?;
                self.drain(plan, ctx, status).await?;
            }
        }
        Ok(())
    }

    /// One datagram into str0m (drain right after: see [`Session::run`]).
    fn feed(&mut self, now: Instant, data: &[u8], source: SocketAddr) -> Result<(), String> {
        let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, data) else {
            return Ok(());
        };
        self.rtc
            .handle_input(Input::Receive(now, receive))
            .map_err(|e| format!("str0m: {e}"))
    }

    fn on_event(
        &mut self,
        event: Event,
        plan: &EndpointPlan,
        ctx: &RunContext,
        status: &Mutex<EndpointStatus>,
    ) -> Result<(), String> {
        match event {
            Event::RtpPacket(pkt) => {
                let now_us = ctx.clock.us(Instant::now());
                let mut s = lock(status);
                match payload::read(&pkt.payload) {
                    Ok(tag) => {
                        let group = ctx.groups.of(tag.stream.sender);
                        s.rx.on_packet(&tag, group, now_us, &ctx.window)
                    }
                    Err(payload::Damage::Filler) => s.rx.damaged += 1,
                    // A replayed clip tags only the last packet of a frame.
                    Err(payload::Damage::NoTag) => s.rx.untagged += 1,
                }
            }
            Event::Connected => {
                let now = Instant::now();
                {
                    let mut s = lock(status);
                    s.phase = Phase::Connected;
                    s.connected_at = Some(now);
                    s.connected_after = Some(now - self.started);
                }
                // Media starts now, as a browser's does once DTLS is up.
                let dtx = ctx.audio.silence.dtx(self.dtx_asked);
                self.audio = Some(match &ctx.clip {
                    Some(clip) => Mic::Clip(ClipAudioSource::new(plan.index, clip.clone(), now)),
                    None => Mic::Synthetic(AudioSource::new(plan.index, ctx.audio, dtx, now)),
                });
                if plan.video {
                    self.video = Some(match &ctx.clip {
                        Some(clip) => {
                            Camera::Clip(ClipVideoSource::new(plan.index, 0, clip.clone(), now))
                        }
                        None => {
                            let mut cam = SimulcastCamera::new(plan.index, ctx.video, now);
                            if let Some(rids) = &self.layers {
                                cam.set_active(rids);
                            }
                            Camera::Simulcast(cam)
                        }
                    });
                }
            }
            Event::KeyframeRequest(req) if req.mid == self.video_mid => {
                lock(status).keyframe_requests += 1;
                if let Some(v) = &mut self.video {
                    v.request_keyframe(req.rid.as_ref().map(|r| r.as_ref()));
                }
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                return Err("ICE disconnected".into());
            }
            _ => {}
        }
        Ok(())
    }

    async fn on_message(
        &mut self,
        msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        status: &Mutex<EndpointStatus>,
    ) -> Result<(), String> {
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(frame))) => return Err(closed(frame)),
            Some(Ok(_)) => return Ok(()),
            Some(Err(e)) => return Err(format!("websocket error: {e}")),
            None => return Err("websocket closed".into()),
        };
        let msg: ServerMessage =
            serde_json::from_str(&text).map_err(|e| format!("bad server message: {e}"))?;
        match msg {
            ServerMessage::Answer { sdp } => {
                let answer =
                    SdpAnswer::from_sdp_string(&sdp).map_err(|e| format!("bad answer: {e}"))?;
                let pending = self.pending.take().ok_or("an answer nobody asked for")?;
                self.rtc
                    .sdp_api()
                    .accept_answer(pending, answer)
                    .map_err(|e| format!("answer not accepted: {e}"))?;
                let pt_of = |rtc: &Rtc, codec: Codec| {
                    rtc.codec_config()
                        .find(|p| p.spec().codec == codec)
                        .map(|p| p.pt())
                };
                self.opus = pt_of(&self.rtc, Codec::Opus);
                self.vp8 = pt_of(&self.rtc, Codec::Vp8);
                self.dtx_asked = self.opus.is_some_and(|pt| asks_for_dtx(&sdp, *pt));
            }
            ServerMessage::Offer { sdp, .. } => {
                let offer =
                    SdpOffer::from_sdp_string(&sdp).map_err(|e| format!("bad offer: {e}"))?;
                let answer = self
                    .rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .map_err(|e| format!("offer not accepted: {e}"))?;
                lock(status).offers += 1;
                let answer = ClientMessage::Answer {
                    sdp: answer.to_sdp_string(),
                };
                send(&mut self.ws, &answer).await?;
            }
            ServerMessage::Layers { rids } => {
                // As the web client: only the layers someone receives are sent — from the
                // camera's first frame if the hub said so before media connected.
                let rids: Vec<&'static str> = rids.iter().filter_map(|l| rid_of(*l)).collect();
                if let Some(Camera::Simulcast(cam)) = &mut self.video {
                    cam.set_active(&rids);
                }
                self.layers = Some(rids);
            }
            ServerMessage::Slots { slots } => {
                let list = slots
                    .into_iter()
                    .filter_map(|s| {
                        let video = s.kind == TrackKind::Video;
                        Some(Assigned {
                            participant: s.participant_id?,
                            video,
                            active: !video || s.layer.is_some(),
                            layer: s.layer.map(layer_index),
                        })
                    })
                    .collect();
                lock(status).assignments.push((Instant::now(), list));
            }
            ServerMessage::Error { code, message } => {
                lock(status)
                    .errors
                    .push(format!("hub error {}: {message}", code.as_str()));
            }
            ServerMessage::Bye { reason } => {
                return Err(format!("hub said bye: {reason:?}"));
            }
            _ => {}
        }
        Ok(())
    }

    fn write_media(
        &mut self,
        packets: &mut Vec<MediaPacket>,
        ctx: &RunContext,
        status: &Mutex<EndpointStatus>,
    ) {
        let simulcast = matches!(self.video, Some(Camera::Simulcast(_)));
        let mut api = self.rtc.direct_api();
        let mut s = lock(status);
        for p in packets.drain(..) {
            let (mid, pt) = if p.stream.kind.is_video() {
                (self.video_mid, self.vp8)
            } else {
                (self.audio_mid, self.opus)
            };
            // A simulcast camera's layer goes out under its RID.
            let rid = match (p.stream.kind, simulcast) {
                (StreamKind::Video { layer }, true) => {
                    RIDS.get(usize::from(layer)).map(|r| Rid::from(*r))
                }
                _ => None,
            };
            let (Some(pt), Some(stream)) = (pt, api.stream_tx_by_mid(mid, rid)) else {
                continue;
            };
            let exts = ExtensionValues {
                audio_level: p.audio_level,
                voice_activity: p.voice_activity,
                ..Default::default()
            };
            stream.write_rtp(
                RtpWrite::new(pt, (u64::from(p.seq) + 1).into(), p.ts, p.at, p.payload)
                    .marker(p.marker)
                    .ext_vals(exts)
                    .nackable(p.stream.kind.is_video()),
            );
            if p.tagged {
                s.sent.on_packet(p.stream, ctx.clock.us(p.at), &ctx.window);
            }
        }
    }

    /// Say goodbye (or vanish) and wait for the hub to close.
    async fn leave(
        mut self,
        plan: &EndpointPlan,
        status: &Mutex<EndpointStatus>,
    ) -> Result<(), String> {
        if !plan.vanish {
            let _ = send(&mut self.ws, &ClientMessage::Leave).await;
            let closing = async {
                while let Some(Ok(m)) = self.ws.next().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(LEAVE_TIMEOUT, closing).await;
        }
        let mut s = lock(status);
        if s.phase != Phase::Failed {
            s.phase = Phase::Left;
        }
        s.ended_at.get_or_insert_with(Instant::now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtx_is_read_from_the_opus_fmtp_line() {
        let sdp = "v=0\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\na=fmtp:96 usedtx=1\r\n";
        assert!(asks_for_dtx(sdp, 111));
        assert!(!asks_for_dtx(
            "a=fmtp:111 minptime=10;useinbandfec=1\r\n",
            111
        ));
        assert!(!asks_for_dtx("a=fmtp:111 usedtx=0\r\n", 111));
        assert!(!asks_for_dtx("a=fmtp:96 usedtx=1\r\n", 111));
    }
}
