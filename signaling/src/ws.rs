//! One client's websocket connection: the protocol's state machine, written over any
//! `Sink`/`Stream` of websocket messages so tests drive it with channels.
//!
//! States: waiting for `join` (10 s) → joined (room events flow) → media (after the client's
//! offer; str0m endpoint events flow). Every refusal is an `error` message; the connection
//! survives anything a client sends except what the protocol says closes it.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use sfu::{CloseReason, EndpointEvent, SfuError};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use crate::access;
use crate::auth::User;
use crate::limits::{FLOOD_GRACE, Limits, RateLimit};
use crate::protocol::{
    ByeReason, ClientMessage, ErrorCode, Layer, LeaveReason, PROTOCOL_VERSION, PublishedTrack,
    ServerMessage, Slot, SlotTrack, TrackKind, check_receive, clean_chat, clean_name_limited,
    decode_client_limited,
};
use crate::rooms::{Hub, Joined, Moderation};

/// Timing of a connection; tests shorten them.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionTimers {
    pub join_timeout: Duration,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
}

impl Default for ConnectionTimers {
    fn default() -> Self {
        ConnectionTimers {
            join_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
        }
    }
}

/// Close codes (RFC 6455 §7.4.1).
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_ERROR: u16 = 1011;

/// How a connection ended, for the room and the log.
enum End {
    Left,
    Disconnected,
    Failed,
    Refused,
    /// The room let go of us first (the meeting ended, or a chair removed us).
    Released,
    /// The hub is stopping.
    Shutdown,
}

struct Joinedstate {
    joined: Joined,
    has_media: bool,
    /// What the client asked to receive (`receive`), kept for when its media joins.
    receive: sfu::ReceivePrefs,
}

struct Connection<S> {
    hub: Hub,
    sink: S,
    /// What this client may send (the hub's limits when the connection opened).
    limits: Limits,
    /// Messages a second.
    rate: RateLimit,
    /// Since when messages have been refused for the rate, with no quiet second since.
    flooding_since: Option<std::time::Instant>,
    /// The last message refused for the rate.
    refused_at: Option<std::time::Instant>,
    /// When the client was last told (`rate_limited`, at most once a second).
    told_at: Option<std::time::Instant>,
    /// The staff login that came with the websocket upgrade, if any.
    staff: Option<User>,
    state: Option<Joinedstate>,
    /// Receivers created by a handler, picked up by the loop.
    new_room_rx: Option<mpsc::UnboundedReceiver<ServerMessage>>,
    new_media_rx: Option<mpsc::UnboundedReceiver<EndpointEvent>>,
}

/// Serve one websocket until it closes, inside a `connection` span that records the room,
/// session and participant once joined (ids only: no names or addresses in logs).
pub async fn serve<S, R>(
    hub: Hub,
    sink: S,
    stream: R,
    timers: ConnectionTimers,
    staff: Option<User>,
) where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let span = tracing::info_span!(
        "connection",
        room = tracing::field::Empty,
        session = tracing::field::Empty,
        participant = tracing::field::Empty,
    );
    serve_inner(hub, sink, stream, timers, staff)
        .instrument(span)
        .await
}

async fn serve_inner<S, R>(
    hub: Hub,
    sink: S,
    mut stream: R,
    timers: ConnectionTimers,
    staff: Option<User>,
) where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let limits = hub.limits();
    let mut conn = Connection {
        hub,
        sink,
        limits,
        rate: RateLimit::new(limits.messages_per_second, std::time::Instant::now()),
        flooding_since: None,
        refused_at: None,
        told_at: None,
        staff,
        state: None,
        new_room_rx: None,
        new_media_rx: None,
    };
    let mut room_rx: Option<mpsc::UnboundedReceiver<ServerMessage>> = None;
    let mut media_rx: Option<mpsc::UnboundedReceiver<EndpointEvent>> = None;
    let join_deadline = Instant::now() + timers.join_timeout;
    let mut last_heard = Instant::now();
    let mut ping =
        tokio::time::interval_at(Instant::now() + timers.ping_interval, timers.ping_interval);
    let closing = conn.hub.closing();
    tokio::pin!(closing);

    let end = loop {
        if let Some(rx) = conn.new_room_rx.take() {
            room_rx = Some(rx);
        }
        if let Some(rx) = conn.new_media_rx.take() {
            media_rx = Some(rx);
        }
        let joined = conn.state.is_some();
        tokio::select! {
            incoming = stream.next() => {
                last_heard = Instant::now();
                match incoming {
                    Some(Ok(msg)) => {
                        let end = match conn.within_rate(&msg).await {
                            Ok(true) => conn.on_message(msg).await,
                            Ok(false) => None,
                            Err(end) => Some(end),
                        };
                        if let Some(end) = end {
                            break end;
                        }
                    }
                    Some(Err(e)) if refused_as_too_large(&e) => {
                        tracing::warn!(error = %e, "websocket frame refused by the transport");
                        conn.refuse(ErrorCode::TooLarge, "frame refused by the transport", CLOSE_TOO_BIG).await;
                        break End::Disconnected;
                    }
                    Some(Err(e)) => {
                        // The peer went away without a close (a reset, a dead network): there
                        // is nobody left to tell.
                        tracing::debug!(error = %e, "websocket read error");
                        break End::Disconnected;
                    }
                    None => break End::Disconnected,
                }
            }
            event = recv(&mut room_rx), if room_rx.is_some() => match event {
                Some(ServerMessage::Bye { reason }) => {
                    // The meeting ended or a chair removed us: the room already let go of us.
                    conn.send(&ServerMessage::Bye { reason }).await;
                    let why = match reason {
                        ByeReason::Removed => "removed by the chair",
                        _ => "meeting ended",
                    };
                    conn.close(CLOSE_NORMAL, why).await;
                    break End::Released;
                }
                Some(event) => conn.send(&event).await,
                // The room let go of us (it cannot while we are a member): stop listening
                // rather than spin on a closed channel.
                None => room_rx = None,
            },
            event = recv(&mut media_rx), if media_rx.is_some() => {
                if let Some(end) = conn.on_media(event).await {
                    break end;
                }
            }
            () = &mut closing => {
                // The hub is stopping: the page rejoins by itself when it is back.
                conn.send(&ServerMessage::Bye { reason: ByeReason::ServerShutdown }).await;
                conn.close(CLOSE_GOING_AWAY, "server shutdown").await;
                break End::Shutdown;
            }
            _ = tokio::time::sleep_until(join_deadline), if !joined => {
                conn.refuse(ErrorCode::JoinTimeout, "no join message in time", CLOSE_POLICY).await;
                break End::Refused;
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= timers.idle_timeout {
                    tracing::info!("client silent too long; dropping it");
                    break End::Disconnected;
                }
                if conn.sink.send(Message::Ping(Default::default())).await.is_err() {
                    break End::Disconnected;
                }
            }
        }
    };
    conn.finish(end).await;
}

fn track_kind(kind: sfu::MediaKind) -> TrackKind {
    match kind {
        sfu::MediaKind::Audio => TrackKind::Audio,
        sfu::MediaKind::Video => TrackKind::Video,
    }
}

/// The message a media event becomes for the client, for the events passed on as they are
/// (the hub's offer with its receive slots, slots, layers, speaking, the dominant speaker).
fn media_message(event: EndpointEvent) -> Option<ServerMessage> {
    Some(match event {
        EndpointEvent::Offer { sdp, tracks } => ServerMessage::Offer {
            sdp,
            tracks: tracks
                .into_iter()
                .map(|t| SlotTrack {
                    mid: t.mid,
                    kind: track_kind(t.kind),
                })
                .collect(),
        },
        EndpointEvent::Slots(slots) => ServerMessage::Slots {
            slots: slots
                .into_iter()
                .map(|s| Slot {
                    mid: s.mid.to_string(),
                    kind: track_kind(s.kind),
                    participant_id: s.publisher.map(|p| p.to_string()),
                    source: s.source.map(Into::into),
                    reason: s.reason.map(Into::into),
                    layer: s.layer.map(Into::into),
                })
                .collect(),
        },
        // RIDs a client can pause; a publisher without simulcast has none.
        EndpointEvent::Layers(layers) => {
            let rids: Vec<Layer> = layers.into_iter().map(Layer::from).collect();
            if rids.contains(&Layer::Single) {
                return None;
            }
            ServerMessage::Layers { rids }
        }
        EndpointEvent::DominantSpeaker(endpoint) => ServerMessage::DominantSpeaker {
            participant_id: endpoint.map(|e| e.to_string()),
        },
        EndpointEvent::Speaking { endpoint, speaking } => ServerMessage::Speaking {
            participant_id: endpoint.to_string(),
            speaking,
        },
        EndpointEvent::Connected | EndpointEvent::Published { .. } | EndpointEvent::Closed(_) => {
            return None;
        }
    })
}

/// Receive from an optional channel; pending forever while there is none.
async fn recv<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Whether a read error is the transport refusing a frame or message over its size limit
/// (tungstenite's `CapacityError`, "Space limit exceeded: …"), rather than the peer going away.
fn refused_as_too_large(e: &axum::Error) -> bool {
    e.to_string().starts_with("Space limit exceeded")
}

impl<S: Sink<Message> + Unpin> Connection<S> {
    async fn send(&mut self, msg: &ServerMessage) {
        let _ = self.sink.send(Message::Text(msg.to_json().into())).await;
    }

    async fn error(&mut self, code: ErrorCode, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(?code, %message, "refused client message");
        crate::metrics::count_ws_error(code);
        self.send(&ServerMessage::error(code, message)).await;
    }

    /// Send an error that ends the connection, then close it.
    async fn refuse(&mut self, code: ErrorCode, message: &str, close_code: u16) {
        self.error(code, message).await;
        self.close(close_code, &format!("{code:?}")).await;
    }

    async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.sink.send(Message::Close(Some(frame))).await;
    }

    /// Whether `msg` is within the client's rate (pings, pongs and the close always are).
    /// Past it the message is dropped and the client told, at most once a second; a client
    /// that goes on exceeding it — no second without a refusal — for [`FLOOD_GRACE`] is
    /// closed (`Err`).
    async fn within_rate(&mut self, msg: &Message) -> Result<bool, End> {
        if !matches!(msg, Message::Text(_) | Message::Binary(_)) {
            return Ok(true);
        }
        let now = std::time::Instant::now();
        let second = Duration::from_secs(1);
        if self.rate.allow(now) {
            // A client that sends faster than its rate gets a message through now and then;
            // it has calmed down only after a second without a refusal.
            if self
                .refused_at
                .is_some_and(|t| now.saturating_duration_since(t) >= second)
            {
                self.flooding_since = None;
            }
            return Ok(true);
        }
        self.refused_at = Some(now);
        let since = *self.flooding_since.get_or_insert(now);
        let rate = self.limits.messages_per_second;
        if now.saturating_duration_since(since) >= FLOOD_GRACE {
            tracing::warn!(rate, "client over its message rate for too long; closing");
            self.refuse(
                ErrorCode::RateLimited,
                &format!(
                    "more than {rate} messages a second for {} s",
                    FLOOD_GRACE.as_secs()
                ),
                CLOSE_POLICY,
            )
            .await;
            return Err(End::Refused);
        }
        if self
            .told_at
            .is_none_or(|t| now.saturating_duration_since(t) >= second)
        {
            self.told_at = Some(now);
            self.error(
                ErrorCode::RateLimited,
                format!("more than {rate} messages a second: this one and the next are dropped until the rate falls"),
            )
            .await;
        }
        Ok(false)
    }

    /// Handle one websocket message; `Some` ends the connection.
    async fn on_message(&mut self, msg: Message) -> Option<End> {
        let text = match msg {
            Message::Text(t) => t,
            Message::Binary(_) => {
                self.error(
                    ErrorCode::BinaryNotSupported,
                    "binary frames are not part of the protocol",
                )
                .await;
                return None;
            }
            Message::Close(_) => return Some(End::Disconnected),
            Message::Ping(_) | Message::Pong(_) => return None,
        };
        let msg = match decode_client_limited(text.as_str(), &self.limits) {
            Ok(m) => m,
            Err(e) => {
                let code = e.code();
                if code.closes() {
                    self.refuse(code, &e.to_string(), CLOSE_TOO_BIG).await;
                    return Some(End::Refused);
                }
                self.error(code, e.to_string()).await;
                return None;
            }
        };
        match (msg, self.state.is_some()) {
            (
                ClientMessage::Join {
                    v,
                    meeting,
                    name,
                    token,
                },
                false,
            ) => self.on_join(v, meeting, &name, token).await,
            (ClientMessage::Join { .. }, true) => {
                self.error(ErrorCode::OutOfOrder, "already joined").await;
                None
            }
            (_, false) => {
                self.error(ErrorCode::OutOfOrder, "join first").await;
                None
            }
            (ClientMessage::Offer { sdp }, true) => {
                self.on_offer(sdp).await;
                None
            }
            (ClientMessage::Answer { sdp }, true) => {
                self.on_answer(sdp).await;
                None
            }
            (ClientMessage::Candidate { candidate, .. }, true) => {
                if let Some(s) = &self.state {
                    if s.has_media {
                        self.hub.sfu().candidate(s.joined.endpoint, candidate);
                    } else {
                        tracing::debug!("candidate before offer ignored");
                    }
                }
                None
            }
            (ClientMessage::RestartIce, true) => {
                match &self.state {
                    Some(s) if s.has_media => self.hub.sfu().restart_ice(s.joined.endpoint),
                    _ => {
                        self.error(ErrorCode::OutOfOrder, "no media to restart")
                            .await
                    }
                }
                None
            }
            (ClientMessage::Mute { kind, muted }, true) => {
                self.on_mute(kind, muted).await;
                None
            }
            (
                ClientMessage::Receive {
                    mode,
                    pinned,
                    large_height,
                    small_height,
                },
                true,
            ) => {
                self.on_receive(mode, pinned, large_height, small_height)
                    .await;
                None
            }
            (ClientMessage::RaiseHand { raised }, true) => {
                if let Some((room, id)) = self.ids() {
                    self.hub.raise_hand(&room, &id, raised).await;
                }
                None
            }
            (ClientMessage::Chat { text, to }, true) => {
                let Some(text) = clean_chat(&text) else {
                    self.error(
                        ErrorCode::InvalidText,
                        "chat text must be 1-2000 characters without control characters but newlines",
                    )
                    .await;
                    return None;
                };
                if let Some((room, id)) = self.ids() {
                    self.hub.chat(&room, &id, to, text).await;
                }
                None
            }
            (ClientMessage::GiveFloor { participant_id }, true) => {
                self.moderate(Moderation::GiveFloor { participant_id })
                    .await
            }
            (ClientMessage::TakeFloor, true) => self.moderate(Moderation::TakeFloor).await,
            (
                ClientMessage::MuteParticipant {
                    participant_id,
                    kind,
                },
                true,
            ) => {
                self.moderate(Moderation::MuteParticipant {
                    participant_id,
                    kind,
                })
                .await
            }
            (ClientMessage::MuteAll, true) => self.moderate(Moderation::MuteAll).await,
            (ClientMessage::AllowUnmute { allowed }, true) => {
                self.moderate(Moderation::AllowUnmute { allowed }).await
            }
            (ClientMessage::RemoveParticipant { participant_id }, true) => {
                self.moderate(Moderation::RemoveParticipant { participant_id })
                    .await
            }
            (ClientMessage::Lock { locked }, true) => {
                self.moderate(Moderation::Lock { locked }).await
            }
            (ClientMessage::EndMeeting, true) => self.moderate(Moderation::EndMeeting).await,
            (ClientMessage::ShareScreen { sharing }, true) => {
                if let Some((room, id)) = self.ids()
                    && let Err(refusal) = self.hub.share_screen(&room, &id, sharing).await
                {
                    self.error(refusal.code, refusal.message).await;
                }
                None
            }
            (ClientMessage::StopShare { participant_id }, true) => {
                self.moderate(Moderation::StopShare { participant_id })
                    .await
            }
            (ClientMessage::AllowSecondShare { allowed }, true) => {
                self.moderate(Moderation::AllowSecondShare { allowed })
                    .await
            }
            (ClientMessage::Leave, true) => {
                self.send(&ServerMessage::Bye {
                    reason: ByeReason::Left,
                })
                .await;
                self.close(CLOSE_NORMAL, "left").await;
                Some(End::Left)
            }
        }
    }

    async fn on_join(
        &mut self,
        v: u32,
        meeting: i64,
        name: &str,
        token: Option<String>,
    ) -> Option<End> {
        if v != PROTOCOL_VERSION {
            self.refuse(
                ErrorCode::UnsupportedVersion,
                &format!("this hub speaks protocol version {PROTOCOL_VERSION}"),
                CLOSE_POLICY,
            )
            .await;
            return Some(End::Refused);
        }
        let Some(name) = clean_name_limited(name, self.limits.name_chars) else {
            let most = self.limits.name_chars;
            self.refuse(
                ErrorCode::InvalidName,
                &format!("name must be 1-{most} printable characters"),
                CLOSE_POLICY,
            )
            .await;
            return Some(End::Refused);
        };
        // Access control: nothing about media exists until this passes.
        let admission = match access::admit(
            &self.hub,
            Some(meeting),
            token.as_deref(),
            self.staff.as_ref(),
        )
        .await
        {
            Ok(a) => a,
            Err(refusal) => {
                self.refuse(refusal.code, &refusal.message, CLOSE_POLICY)
                    .await;
                return Some(End::Refused);
            }
        };
        let role = admission.role;
        let unit = admission.unit.clone();
        let mut joined = match self.hub.join(admission, name).await {
            Ok(j) => j,
            Err(code) => {
                let message = match code {
                    ErrorCode::SessionLocked => "the chair locked the session",
                    ErrorCode::MeetingFull => {
                        "the meeting has reached the host's limit of endpoints"
                    }
                    ErrorCode::Removed => "the chair removed this join link from the session",
                    ErrorCode::RoomBusy => "another meeting is live in the host unit's room",
                    _ => "cannot join this meeting's room",
                };
                self.refuse(code, message, CLOSE_POLICY).await;
                return Some(End::Refused);
            }
        };
        let span = tracing::Span::current();
        span.record("room", joined.room.id.as_str());
        span.record("session", joined.session.0);
        span.record("participant", joined.participant.id.as_str());
        tracing::info!("participant joined");
        let welcome = ServerMessage::Welcome {
            v: PROTOCOL_VERSION,
            participant_id: joined.participant.id.clone(),
            session_id: joined.session.to_string(),
            role,
            unit,
            meeting: joined.meeting.clone(),
            room: joined.room.clone(),
            participants: joined.others.clone(),
            ice_servers: self.hub.ice_servers_for(&joined.participant.id),
        };
        self.new_room_rx = joined.events.take();
        self.state = Some(Joinedstate {
            joined,
            has_media: false,
            receive: sfu::ReceivePrefs::default(),
        });
        self.send(&welcome).await;
        None
    }

    /// The room and participant ids of a joined connection.
    fn ids(&self) -> Option<(String, String)> {
        self.state
            .as_ref()
            .map(|s| (s.joined.room.id.clone(), s.joined.participant.id.clone()))
    }

    async fn on_mute(&mut self, kind: TrackKind, muted: bool) {
        let Some((room, id)) = self.ids() else {
            return;
        };
        match self.hub.set_mute(&room, &id, kind, muted).await {
            Ok(()) => {
                if let Some(s) = &mut self.state {
                    let p = &mut s.joined.participant;
                    match kind {
                        TrackKind::Audio => p.audio_muted = muted,
                        TrackKind::Video => p.video_muted = muted,
                    }
                }
            }
            Err(code) => {
                self.error(
                    code,
                    "the chair muted this; it may be unmuted only when the chair allows it or with the floor",
                )
                .await;
            }
        }
    }

    async fn on_receive(
        &mut self,
        mode: Option<crate::protocol::ReceiveMode>,
        pinned: Option<Vec<String>>,
        large_height: Option<u32>,
        small_height: Option<u32>,
    ) {
        let request = match check_receive(mode, pinned, large_height, small_height) {
            Ok(r) => r,
            Err(why) => {
                self.error(ErrorCode::Malformed, why).await;
                return;
            }
        };
        let Some((room, id)) = self.ids() else {
            return;
        };
        let pinned = match &request.pinned {
            Some(ids) => Some(self.hub.endpoints_of(&room, &id, ids).await),
            None => None,
        };
        let Some(s) = &mut self.state else {
            return;
        };
        let prefs = &mut s.receive;
        if let Some(mode) = request.mode {
            prefs.mode = mode.into();
        }
        if let Some(pinned) = pinned {
            prefs.pinned = pinned;
        }
        if let Some(h) = request.large_height {
            prefs.large_height = h;
        }
        if let Some(h) = request.small_height {
            prefs.small_height = h;
        }
        if s.has_media {
            self.hub
                .sfu()
                .set_receive(s.joined.endpoint, s.receive.clone());
        }
    }

    /// A moderation message: the hub checks the role; a refusal leaves the connection open.
    async fn moderate(&mut self, request: Moderation) -> Option<End> {
        let (room, id) = self.ids()?;
        if let Err(refusal) = self.hub.moderate(&room, &id, request).await {
            self.error(refusal.code, refusal.message).await;
        }
        // A `bye` of our own (end_meeting) arrives through the room channel like everyone's.
        None
    }

    async fn on_offer(&mut self, sdp: String) {
        let Some(state) = &self.state else {
            return;
        };
        if state.has_media {
            self.error(
                ErrorCode::OutOfOrder,
                "the client offers once; later offers come from the hub",
            )
            .await;
            return;
        }
        let m_lines = sdp.lines().filter(|l| l.starts_with("m=")).count();
        if m_lines > self.limits.offer_m_lines {
            let most = self.limits.offer_m_lines;
            self.error(
                ErrorCode::BadSdp,
                format!("the offer has {m_lines} m-lines; at most {most} are accepted"),
            )
            .await;
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let result = self
            .hub
            .sfu()
            .join(state.joined.session, state.joined.endpoint, sdp, tx)
            .await;
        match result {
            Ok(answer) => {
                let mut room = None;
                if let Some(s) = &mut self.state {
                    s.has_media = true;
                    // What the client asked for before its media existed, and the
                    // session's priorities (the media plane may have just created it).
                    self.hub
                        .sfu()
                        .set_receive(s.joined.endpoint, s.receive.clone());
                    room = Some(s.joined.room.id.clone());
                }
                if let Some(room) = room {
                    self.hub.media_joined(&room).await;
                }
                self.new_media_rx = Some(rx);
                self.send(&ServerMessage::Answer { sdp: answer }).await;
            }
            Err(SfuError::BadSdp(detail)) => self.error(ErrorCode::BadSdp, detail).await,
            Err(e) => self.error(ErrorCode::OutOfOrder, e.to_string()).await,
        }
    }

    async fn on_answer(&mut self, sdp: String) {
        let Some(endpoint) = self
            .state
            .as_ref()
            .filter(|s| s.has_media)
            .map(|s| s.joined.endpoint)
        else {
            self.error(ErrorCode::OutOfOrder, "no offer of the hub is pending")
                .await;
            return;
        };
        match self.hub.sfu().answer(endpoint, sdp).await {
            Ok(()) => {}
            Err(SfuError::BadSdp(detail)) => self.error(ErrorCode::BadSdp, detail).await,
            Err(e) => self.error(ErrorCode::OutOfOrder, e.to_string()).await,
        }
    }

    async fn on_media(&mut self, event: Option<EndpointEvent>) -> Option<End> {
        match event {
            Some(EndpointEvent::Connected) => None,
            Some(EndpointEvent::Published { mid, kind, source }) => {
                if let Some(s) = &self.state {
                    let track = PublishedTrack {
                        mid,
                        kind: track_kind(kind),
                        source: source.into(),
                    };
                    let (room, id) = (s.joined.room.id.clone(), s.joined.participant.id.clone());
                    self.hub.track_published(&room, &id, track).await;
                }
                None
            }
            Some(EndpointEvent::Speaking { endpoint, speaking })
                if self
                    .state
                    .as_ref()
                    .is_some_and(|s| s.joined.endpoint == endpoint) =>
            {
                // Our own speaking: the room counts the time for the attendance record.
                if let Some(s) = &self.state {
                    let (room, id) = (s.joined.room.id.clone(), s.joined.participant.id.clone());
                    self.hub.speaking(&room, &id, speaking).await;
                }
                let msg = media_message(EndpointEvent::Speaking { endpoint, speaking });
                if let Some(msg) = msg {
                    self.send(&msg).await;
                }
                None
            }
            Some(EndpointEvent::Closed(CloseReason::Closed)) => None,
            Some(EndpointEvent::Closed(_)) | None => {
                self.error(ErrorCode::MediaFailed, "the media connection failed")
                    .await;
                self.send(&ServerMessage::Bye {
                    reason: ByeReason::MediaFailed,
                })
                .await;
                self.close(CLOSE_ERROR, "media failed").await;
                Some(End::Failed)
            }
            Some(event) => {
                if let Some(msg) = media_message(event) {
                    self.send(&msg).await;
                }
                None
            }
        }
    }

    async fn finish(mut self, end: End) {
        let Some(state) = self.state.take() else {
            return;
        };
        let reason = match end {
            End::Left => LeaveReason::Left,
            End::Disconnected | End::Refused => LeaveReason::Disconnected,
            End::Failed => LeaveReason::Failed,
            End::Shutdown => LeaveReason::ServerShutdown,
            End::Released => {
                // The room already let go of us (and told the others why).
                self.hub.sfu().close(state.joined.endpoint);
                tracing::info!("participant let go by the room");
                return;
            }
        };
        let joined = state.joined;
        self.hub.sfu().close(joined.endpoint);
        self.hub
            .leave(&joined.room.id, &joined.participant.id, reason)
            .await;
        tracing::info!(?reason, "participant left");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // The same errors axum's websocket yields (it wraps tungstenite's; the wording is the
    // same in the version axum uses).
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};

    #[test]
    fn media_events_become_the_documented_messages() {
        use crate::protocol::{SlotReason, TrackSource};
        use sfu::{EndpointId, MediaKind, Mid, SlotInfo};
        let slots = EndpointEvent::Slots(vec![
            SlotInfo {
                mid: Mid::from("4"),
                kind: MediaKind::Video,
                publisher: Some(EndpointId(7)),
                source: Some(sfu::Source::Screen),
                reason: Some(sfu::SlotReason::Screen),
                layer: Some(sfu::Layer::Mid),
            },
            SlotInfo {
                mid: Mid::from("5"),
                kind: MediaKind::Video,
                publisher: Some(EndpointId(8)),
                source: Some(sfu::Source::Camera),
                reason: Some(sfu::SlotReason::Other),
                layer: None,
            },
            SlotInfo {
                mid: Mid::from("a0"),
                kind: MediaKind::Audio,
                publisher: None,
                source: None,
                reason: None,
                layer: None,
            },
        ]);
        assert_eq!(
            media_message(slots),
            Some(ServerMessage::Slots {
                slots: vec![
                    Slot {
                        mid: "4".into(),
                        kind: TrackKind::Video,
                        participant_id: Some("e7".into()),
                        source: Some(TrackSource::Screen),
                        reason: Some(SlotReason::Screen),
                        layer: Some(Layer::Half),
                    },
                    Slot {
                        mid: "5".into(),
                        kind: TrackKind::Video,
                        participant_id: Some("e8".into()),
                        source: Some(TrackSource::Camera),
                        reason: Some(SlotReason::Other),
                        layer: None,
                    },
                    Slot {
                        mid: "a0".into(),
                        kind: TrackKind::Audio,
                        participant_id: None,
                        source: None,
                        reason: None,
                        layer: None,
                    },
                ]
            })
        );
        let layers = EndpointEvent::Layers(vec![sfu::Layer::Low, sfu::Layer::High]);
        assert_eq!(
            media_message(layers).map(|m| m.to_json()),
            Some(r#"{"type":"layers","rids":["q","f"]}"#.to_string())
        );
        assert_eq!(
            media_message(EndpointEvent::Layers(vec![])),
            Some(ServerMessage::Layers { rids: vec![] }),
            "nobody receives any layer: all may pause"
        );
        assert_eq!(
            media_message(EndpointEvent::Layers(vec![sfu::Layer::Single])),
            None,
            "nothing to pause by RID without simulcast"
        );
        assert_eq!(
            media_message(EndpointEvent::DominantSpeaker(Some(EndpointId(3)))),
            Some(ServerMessage::DominantSpeaker {
                participant_id: Some("e3".into())
            })
        );
        assert_eq!(
            media_message(EndpointEvent::DominantSpeaker(None)),
            Some(ServerMessage::DominantSpeaker {
                participant_id: None
            })
        );
        let offer = EndpointEvent::Offer {
            sdp: "v=0".into(),
            tracks: vec![sfu::TrackInfo {
                mid: "2".into(),
                kind: MediaKind::Audio,
            }],
        };
        assert_eq!(
            media_message(offer),
            Some(ServerMessage::Offer {
                sdp: "v=0".into(),
                tracks: vec![SlotTrack {
                    mid: "2".into(),
                    kind: TrackKind::Audio
                }]
            }),
            "the offer lists slots, not publishers"
        );
        assert_eq!(media_message(EndpointEvent::Connected), None);
    }

    #[test]
    fn an_oversized_frame_is_told_from_a_vanished_peer() {
        let big = axum::Error::new(WsError::Capacity(CapacityError::MessageTooLong {
            size: 10 << 20,
            max_size: 2 << 20,
        }));
        assert!(refused_as_too_large(&big), "{big}");
        let reset = axum::Error::new(WsError::Protocol(
            ProtocolError::ResetWithoutClosingHandshake,
        ));
        assert!(!refused_as_too_large(&reset), "{reset}");
        let io = axum::Error::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(!refused_as_too_large(&io));
    }
}
