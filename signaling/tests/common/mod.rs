//! Shared pieces of the hub's integration tests: a hub on loopback and simulated endpoints
//! (str0m peers that speak the hub's real websocket protocol and real ICE/DTLS/SRTP).

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use signaling::protocol::{ClientMessage, ServerMessage};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A hub on 127.0.0.1 with a fresh data directory.
pub async fn start_hub(name: &str) -> signaling::RunningHub {
    start_hub_with(name, sfu::shell::DEFAULT_OFFER_TIMEOUT).await
}

/// The same, with a given time for clients to answer the hub's offers.
pub async fn start_hub_with(name: &str, offer_timeout: Duration) -> signaling::RunningHub {
    let mut config = test_config(name);
    config.offer_timeout = offer_timeout;
    signaling::start(&config).await.expect("hub starts")
}

/// A hub on 127.0.0.1 whose sessions are recorded by a `cau-recorder` presenting `secret`.
pub async fn start_hub_remote_recorder(name: &str, secret: &str) -> signaling::RunningHub {
    let mut config = test_config(name);
    config.recorder = signaling::config::RecorderMode::Remote;
    config.recorder_secret = Some(secret.to_string());
    signaling::start(&config).await.expect("hub starts")
}

/// A test hub's configuration: loopback, any free ports, a fresh data directory named after
/// the test, and the defaults of every other key, as `cau` with no flags has them.
pub fn test_config(name: &str) -> signaling::Config {
    let data_dir = std::env::temp_dir().join(format!("cau-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut config = <signaling::Config as clap::Parser>::try_parse_from(["cau"]).unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.public_ips = vec!["127.0.0.1".parse().unwrap()];
    config.udp_port = 0;
    config.data_dir = data_dir;
    // Recordings stop below 100 MB free (a test machine may have less than the 2 GB default).
    config.disk_reserve_mb = 100;
    config
}

/// A hub's shared state without its HTTP server (for `oneshot` and channel-driven tests):
/// the built-in directory, a fresh database, and a media plane on 127.0.0.1.
pub async fn bare_hub(name: &str) -> signaling::rooms::Hub {
    let dir = std::env::temp_dir().join(format!("cau-bare-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = signaling::db::Db::open(&dir).unwrap();
    let sfu = sfu::start(sfu::SfuConfig::default()).await.unwrap();
    let directory =
        signaling::directory::Directory::from_json(signaling::directory::DEFAULT_DIRECTORY)
            .unwrap();
    let hub = signaling::rooms::Hub::new(
        directory,
        db,
        sfu,
        vec![],
        signaling::tokens::TokenKey::random(),
        Some(dir.join(signaling::RECORDINGS_DIR)),
    );
    hub.set_disk_reserve(100_000_000);
    hub
}

/// A meeting planned straight through the storage layer (the API's own tests plan through
/// the API), live from a minute ago for two hours, with a join token for each invited unit.
pub struct Planned {
    pub id: i64,
    /// Official tokens by unit id.
    pub tokens: HashMap<String, String>,
    /// The chair unit's chair token.
    pub chair_token: String,
}

impl Planned {
    pub fn token(&self, unit: &str) -> &str {
        self.tokens
            .get(unit)
            .unwrap_or_else(|| panic!("{unit} is not invited"))
    }

    /// The `join` message of an official of `unit`.
    pub fn join(&self, unit: &str, name: &str) -> ClientMessage {
        join_with_token(self.id, Some(self.token(unit)), name)
    }

    pub fn join_as_chair(&self, name: &str) -> ClientMessage {
        join_with_token(self.id, Some(&self.chair_token), name)
    }
}

pub fn join_with_token(meeting: i64, token: Option<&str>, name: &str) -> ClientMessage {
    ClientMessage::Join {
        v: signaling::protocol::PROTOCOL_VERSION,
        meeting,
        name: name.into(),
        token: token.map(String::from),
    }
}

/// Plan a meeting hosted (and chaired) by `host` inviting `units` (plus the host).
pub async fn plan_meeting(hub: &signaling::rooms::Hub, host: &str, units: &[&str]) -> Planned {
    plan_meeting_capped(hub, host, units, None).await
}

/// The same, with the host's cap on endpoints.
pub async fn plan_meeting_capped(
    hub: &signaling::rooms::Hub,
    host: &str,
    units: &[&str],
    max_endpoints: Option<u32>,
) -> Planned {
    plan_meeting_with(hub, host, units, |f| f.max_endpoints = max_endpoints).await
}

/// The same, marked "recorded".
pub async fn plan_recorded_meeting(
    hub: &signaling::rooms::Hub,
    host: &str,
    units: &[&str],
) -> Planned {
    plan_meeting_with(hub, host, units, |f| f.recorded = true).await
}

/// Plan a meeting whose form `edit` changes from the default above.
pub async fn plan_meeting_with(
    hub: &signaling::rooms::Hub,
    host: &str,
    units: &[&str],
    edit: impl FnOnce(&mut signaling::meetings::MeetingForm),
) -> Planned {
    use signaling::meetings::{self, MeetingForm, Scope};
    let now = signaling::db::now_ms();
    let dir = hub.directory();
    let mut form = MeetingForm {
        title: format!("Họp thử {host}"),
        agenda: String::new(),
        start: now - 60_000,
        end: now + 2 * 3_600_000,
        weekly_until: None,
        host_unit: host.into(),
        chair_unit: host.into(),
        chair_person: "Chủ trì".into(),
        chair_user: None,
        scope: Scope {
            root: host.into(),
            tiers: vec![dir.get(host).expect("host exists").tier.clone()],
            add: units.iter().map(|u| u.to_string()).collect(),
            remove: vec![],
        },
        recorded: false,
        max_endpoints: None,
        class: signaling::retention::DEFAULT_CLASS.into(),
        acknowledge_conflicts: true,
    };
    edit(&mut form);
    form.validate(&dir, &hub.retention())
        .expect("valid test meeting");
    let invited = meetings::invited(&dir, &form);
    let links = hub
        .db()
        .call(move |c| {
            let id = meetings::insert(c, &form, &invited, "test", now)?;
            let m = meetings::get(c, id)?.unwrap();
            meetings::sync_links(c, &m, &invited, "test", now)?;
            meetings::links(c, id)
        })
        .await
        .unwrap();
    let key = hub.token_key();
    let sign = |l: &meetings::LinkRow| {
        key.sign(&signaling::tokens::Claims {
            link: l.id,
            meeting: l.meeting_id,
            unit: l.unit_id.clone(),
            role: l.role,
            expires: l.expires_at / 1000,
        })
    };
    let mut tokens = HashMap::new();
    let mut chair_token = String::new();
    let mut id = 0;
    for l in &links {
        id = l.meeting_id;
        match l.role {
            signaling::protocol::Role::Official => {
                tokens.insert(l.unit_id.clone(), sign(l));
            }
            signaling::protocol::Role::Chair => chair_token = sign(l),
        }
    }
    Planned {
        id,
        tokens,
        chair_token,
    }
}

pub async fn connect(addr: SocketAddr) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("websocket connects");
    ws
}

/// One value of the hub's `/metrics` (`series` is the name with its labels, as written),
/// fetched over a plain HTTP/1.0 request.
#[allow(dead_code)]
pub async fn metric(addr: SocketAddr, series: &str) -> Option<f64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

pub async fn send(ws: &mut Ws, msg: &ClientMessage) {
    ws.send(Message::text(serde_json::to_string(msg).unwrap()))
        .await
        .unwrap();
}

/// Next protocol message (pings skipped), or None if the socket closed.
pub async fn recv(ws: &mut Ws) -> Option<ServerMessage> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")?;
        match msg {
            Ok(Message::Text(t)) => {
                return Some(serde_json::from_str(&t).expect("valid server message"));
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// What a simulated endpoint sends: Opus-sized audio, and video as VP8 or H.264.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Media {
    Audio,
    Vp8,
    H264,
    /// VP8 on the screen m-line.
    Screen,
}

impl Media {
    fn tag(self) -> &'static str {
        match self {
            Media::Audio => "audio",
            Media::Vp8 => "vp8",
            Media::H264 => "h264",
            Media::Screen => "screen",
        }
    }

    fn kind(self) -> MediaKind {
        match self {
            Media::Audio => MediaKind::Audio,
            Media::Vp8 | Media::H264 | Media::Screen => MediaKind::Video,
        }
    }
}

/// The payload endpoint `sender` puts in its `n`th packet of `media`: a tag, then filler that
/// depends on all three so a receiver can check every byte.
pub fn payload(sender: &str, media: Media, n: u32) -> Vec<u8> {
    let (prefix, size): (&[u8], usize) = match media {
        // VP8 descriptor S=1, PID=0, then a payload header with P=0: every packet a keyframe.
        Media::Vp8 | Media::Screen => (&[0x10, 0x00], 900),
        // H.264 single NAL unit of type 5 (IDR slice): every packet a keyframe.
        Media::H264 => (&[0x65], 900),
        // An Opus TOC byte (CELT, 20 ms, one frame): a muxer's Opus parser takes it.
        Media::Audio => (&[0x78], 120),
    };
    let mut p = prefix.to_vec();
    p.extend_from_slice(format!("cau|{sender}|{}|{n}|", media.tag()).as_bytes());
    let mut x = n.wrapping_mul(2_654_435_761) ^ sender.len() as u32;
    while p.len() < size {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        p.push((x >> 16) as u8);
    }
    p
}

/// Parse a payload made by [`payload`]: (sender, kind, n) if every byte is as sent.
pub fn check_payload(bytes: &[u8]) -> Option<(String, MediaKind, u32)> {
    check_media(bytes).map(|(sender, media, n)| (sender, media.kind(), n))
}

/// The same, telling a screen from a camera.
fn check_media(bytes: &[u8]) -> Option<(String, Media, u32)> {
    let start = bytes.windows(4).position(|w| w == b"cau|")?;
    let mut fields = bytes[start..].splitn(5, |b| *b == b'|').skip(1);
    let sender = String::from_utf8(fields.next()?.to_vec()).ok()?;
    let media = match fields.next()? {
        b"audio" => Media::Audio,
        b"vp8" => Media::Vp8,
        b"h264" => Media::H264,
        b"screen" => Media::Screen,
        _ => return None,
    };
    let n: u32 = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    (payload(&sender, media, n) == bytes).then_some((sender, media, n))
}

/// How a simulated endpoint behaves.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Probability that an RTP datagram from the hub is lost (seeded).
    pub downlink_loss: f64,
    pub seed: u64,
    /// Offer only H.264 for video, as some browsers do.
    pub h264_only: bool,
    /// Never answer the hub's offers (a broken client).
    pub ignore_offers: bool,
    /// Offer a third m-line, the screen (as the web client does), and send on it.
    pub screen: bool,
    /// Join with the meeting's chair link instead of the unit's.
    pub chair: bool,
    /// Send this real clip (VP8 and Opus) instead of tagged bytes, from when media connects.
    pub clip: Option<Arc<recorder::clip::Clip>>,
    /// With a clip: video leaves this long after its capture time (a slow encoder and
    /// pacer), while the sender reports keep mapping RTP time to the capture time.
    pub video_delay: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            downlink_loss: 0.0,
            seed: 1,
            h264_only: false,
            ignore_offers: false,
            screen: false,
            chair: false,
            clip: None,
            video_delay: Duration::ZERO,
        }
    }
}

/// What a simulated endpoint saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub participant_id: Option<String>,
    pub connected: bool,
    /// (sender name, kind) → packets received intact.
    pub received: HashMap<(String, MediaKind), u64>,
    /// (sender name, kind, packet number) of every intact packet, for loss accounting.
    pub unique: HashSet<(String, MediaKind, u32)>,
    /// RTP packets this endpoint's simulated downlink dropped.
    pub dropped_downlink: u64,
    pub corrupted: u64,
    pub sent: HashMap<MediaKind, u32>,
    pub offers: u32,
    pub participants_joined: Vec<String>,
    pub participants_left: Vec<String>,
    /// Tracks the others publish, from the welcome and `track_published`, and
    /// `track_removed` seen: (participant id, kind).
    pub tracks_published: Vec<(String, signaling::protocol::TrackKind)>,
    pub tracks_removed: Vec<(String, signaling::protocol::TrackKind)>,
    /// The session's recording as the last `meeting_state` told.
    pub recording: Option<signaling::protocol::RecordingState>,
    pub errors: Vec<String>,
    /// Keyframe requests (PLI/FIR) the hub sent us for our own video.
    pub keyframe_requests: u32,
    /// str0m's name of the codec of each received video packet's payload type.
    pub video_codecs: HashSet<String>,
    /// The `a=ice-ufrag` of every offer the hub made.
    pub offer_ufrags: Vec<String>,
    /// Set by a test: the audio it sends carries a loud RFC 6464 level (it speaks);
    /// otherwise silence.
    pub speaking: bool,
    /// Screen packets sent.
    pub screen_sent: u32,
    /// Screen packets received intact, by sender name.
    pub screens_received: HashMap<String, u64>,
    /// The latest `meeting_state`'s `screens`.
    pub screens: Vec<String>,
    /// The latest `slots`.
    pub slots: Vec<signaling::protocol::Slot>,
    /// The `bye` the hub sent, if it did.
    pub bye: Option<signaling::protocol::ByeReason>,
}

/// A simulated endpoint: joins `room` as `name`, publishes audio (50/s) and video (30/s) once
/// connected, answers the hub's offers, and records what it receives.
pub struct SimEndpoint {
    pub name: String,
    pub seen: Arc<Mutex<Seen>>,
    /// Messages for the task to send on the websocket.
    outbox: tokio::sync::mpsc::UnboundedSender<ClientMessage>,
    stop: watch::Sender<bool>,
    pli: tokio::sync::mpsc::UnboundedSender<()>,
    restart: tokio::sync::mpsc::UnboundedSender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SimEndpoint {
    pub async fn join(hub: SocketAddr, meeting: &Planned, unit: &str, name: &str) -> SimEndpoint {
        Self::join_with(hub, meeting, unit, name, SimOptions::default()).await
    }

    /// Join with options: behind a lossy downlink (each RTP datagram from the hub dropped with
    /// the given probability, as on a weak rural link; STUN, DTLS and RTCP pass), or offering
    /// only H.264.
    pub async fn join_with(
        hub: SocketAddr,
        meeting: &Planned,
        unit: &str,
        name: &str,
        options: SimOptions,
    ) -> SimEndpoint {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (stop, stop_rx) = watch::channel(false);
        let mut ws = connect(hub).await;
        let join = if options.chair {
            meeting.join_as_chair(name)
        } else {
            meeting.join(unit, name)
        };
        send(&mut ws, &join).await;
        match recv(&mut ws).await {
            Some(ServerMessage::Welcome {
                participant_id,
                participants,
                ..
            }) => {
                let mut seen = seen.lock().unwrap();
                seen.participant_id = Some(participant_id);
                // What the others already publish comes in the welcome; later tracks come
                // one by one as `track_published`.
                for p in participants {
                    for track in p.tracks {
                        seen.tracks_published.push((p.id.clone(), track.kind));
                    }
                }
            }
            other => panic!("expected welcome, got {other:?}"),
        }
        let (pli, pli_rx) = tokio::sync::mpsc::unbounded_channel();
        let (restart, restart_rx) = tokio::sync::mpsc::unbounded_channel();
        let (outbox, outbox_rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(run(
            ws,
            name.to_string(),
            seen.clone(),
            stop_rx,
            (pli_rx, restart_rx, outbox_rx),
            options,
        ));
        SimEndpoint {
            name: name.to_string(),
            seen,
            outbox,
            stop,
            pli,
            restart,
            task,
        }
    }

    /// Packets of `kind` this endpoint has sent so far.
    pub fn sent(&self, kind: MediaKind) -> u32 {
        self.seen
            .lock()
            .unwrap()
            .sent
            .get(&kind)
            .copied()
            .unwrap_or(0)
    }

    pub fn received_from(&self, sender: &str, kind: MediaKind) -> u64 {
        let seen = self.seen.lock().unwrap();
        seen.received
            .get(&(sender.to_string(), kind))
            .copied()
            .unwrap_or(0)
    }

    /// Stop: `leave` politely, or just vanish (socket dropped, no goodbye).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Send a PLI (picture loss: "I need a keyframe") on every video m-line received.
    pub fn request_keyframes(&self) {
        let _ = self.pli.send(());
    }

    /// Send `msg` on its websocket.
    pub fn send(&self, msg: ClientMessage) {
        let _ = self.outbox.send(msg);
    }

    /// Its participant id.
    pub fn id(&self) -> String {
        self.seen.lock().unwrap().participant_id.clone().unwrap()
    }

    /// Ask the hub for an ICE restart (`restart_ice`), as a client whose connection dropped.
    pub fn restart_ice(&self) {
        let _ = self.restart.send(());
    }

    /// Vanish without a word: the task is aborted, sockets dropped mid-stream.
    pub fn vanish(self) {
        self.task.abort();
    }
}

async fn run(
    mut ws: Ws,
    name: String,
    seen: Arc<Mutex<Seen>>,
    mut stop: watch::Receiver<bool>,
    (mut pli, mut restart, mut outbox): (
        tokio::sync::mpsc::UnboundedReceiver<()>,
        tokio::sync::mpsc::UnboundedReceiver<()>,
        tokio::sync::mpsc::UnboundedReceiver<ClientMessage>,
    ),
    options: SimOptions,
) {
    // The video m-lines the hub sends us on, from its offers' track lists.
    let mut received_video: Vec<Mid> = vec![];
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(options.seed);
    let loss = options.downlink_loss;
    let video = if options.h264_only {
        Media::H264
    } else {
        Media::Vp8
    };
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = socket.local_addr().unwrap();
    let mut config = Rtc::builder().set_rtp_mode(true);
    if options.h264_only {
        config = config
            .clear_codecs()
            .enable_opus(true, false)
            .enable_h264(true);
    }
    let mut rtc = config.build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let mut api = rtc.sdp_api();
    let audio_mid = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let video_mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let screen_mid = options
        .screen
        .then(|| api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
    let (offer, pending) = api.apply().unwrap();
    send(
        &mut ws,
        &ClientMessage::Offer {
            sdp: offer.to_sdp_string(),
        },
    )
    .await;
    let mut pending: Option<SdpPendingOffer> = Some(pending);

    let mut buf = vec![0u8; 2000];
    let mut replay: Option<Replay> = None;
    let mut audio_tick = tokio::time::interval(Duration::from_millis(20));
    let mut video_tick = tokio::time::interval(Duration::from_millis(33));
    loop {
        // Drain everything str0m has for us.
        let timeout = loop {
            match rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination).await;
                }
                Ok(Output::Timeout(t)) => break t,
                Ok(Output::Event(e)) => {
                    if let Event::RtpPacket(p) = &e {
                        let codec = rtc
                            .codec_config()
                            .find(|c| c.pt() == p.header.payload_type)
                            .map(|c| c.spec().codec);
                        if let Some(codec) = codec.filter(|c| c.is_video()) {
                            seen.lock()
                                .unwrap()
                                .video_codecs
                                .insert(format!("{codec:?}"));
                        }
                    }
                    on_event(e, &seen)
                }
                Err(e) => {
                    seen.lock().unwrap().errors.push(format!("rtc: {e}"));
                    return;
                }
            }
        };
        let connected = seen.lock().unwrap().connected;
        if connected
            && replay.is_none()
            && let Some(clip) = &options.clip
        {
            replay = Some(Replay::new(
                clip.clone(),
                Instant::now(),
                options.video_delay,
            ));
        }
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { continue };
                if loss > 0.0 && is_rtp(&buf[..n]) && rng.random_bool(loss) {
                    seen.lock().unwrap().dropped_downlink += 1;
                    continue;
                }
                if let Ok(receive) = Receive::new(Protocol::Udp, source, local, &buf[..n]) {
                    let _ = rtc.handle_input(Input::Receive(Instant::now(), receive));
                }
            }
            msg = ws.next() => {
                let Some(Ok(Message::Text(text))) = msg else {
                    if matches!(msg, None | Some(Err(_)) | Some(Ok(Message::Close(_)))) { return; }
                    continue;
                };
                let msg: ServerMessage = serde_json::from_str(&text).unwrap();
                match msg {
                    ServerMessage::Answer { sdp } => {
                        let answer = SdpAnswer::from_sdp_string(&sdp).unwrap();
                        rtc.sdp_api().accept_answer(pending.take().unwrap(), answer).unwrap();
                    }
                    ServerMessage::Offer { .. } if options.ignore_offers => {}
                    ServerMessage::Offer { sdp, tracks } => {
                        received_video = tracks
                            .iter()
                            .filter(|t| t.kind == signaling::protocol::TrackKind::Video)
                            .map(|t| Mid::from(t.mid.as_str()))
                            .collect();
                        let ufrag = sdp
                            .lines()
                            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
                            .unwrap_or_default()
                            .to_string();
                        let offer = SdpOffer::from_sdp_string(&sdp).unwrap();
                        let answer = rtc.sdp_api().accept_offer(offer).unwrap();
                        {
                            let mut s = seen.lock().unwrap();
                            s.offers += 1;
                            s.offer_ufrags.push(ufrag);
                        }
                        send(&mut ws, &ClientMessage::Answer { sdp: answer.to_sdp_string() }).await;
                    }
                    ServerMessage::ParticipantJoined { participant } => {
                        seen.lock().unwrap().participants_joined.push(participant.name);
                    }
                    ServerMessage::TrackPublished { participant_id, track } => {
                        seen.lock().unwrap().tracks_published.push((participant_id, track.kind));
                    }
                    ServerMessage::TrackRemoved { participant_id, track } => {
                        seen.lock().unwrap().tracks_removed.push((participant_id, track.kind));
                    }
                    ServerMessage::ParticipantLeft { participant_id, .. } => {
                        seen.lock().unwrap().participants_left.push(participant_id);
                    }
                    ServerMessage::Error { code, message } => {
                        seen.lock().unwrap().errors.push(format!("{code:?}: {message}"));
                    }
                    ServerMessage::Bye { reason } => {
                        seen.lock().unwrap().bye = Some(reason);
                    }
                    ServerMessage::MeetingState { screens, recording, .. } => {
                        let mut seen = seen.lock().unwrap();
                        seen.screens = screens;
                        seen.recording = recording;
                    }
                    ServerMessage::Slots { slots } => {
                        seen.lock().unwrap().slots = slots;
                    }
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(timeout.into()) => {
                let _ = rtc.handle_input(Input::Timeout(Instant::now()));
            }
            _ = audio_tick.tick(), if connected => match &mut replay {
                Some(r) => r.pump(&mut rtc, (audio_mid, video_mid), Instant::now(), &seen),
                None => write_media(&mut rtc, &name, audio_mid, Media::Audio, &seen),
            },
            _ = video_tick.tick(), if connected => {
                match &mut replay {
                    Some(r) => r.pump(&mut rtc, (audio_mid, video_mid), Instant::now(), &seen),
                    None => write_media(&mut rtc, &name, video_mid, video, &seen),
                }
                if let Some(mid) = screen_mid {
                    write_media(&mut rtc, &name, mid, Media::Screen, &seen);
                }
            }
            Some(msg) = outbox.recv() => send(&mut ws, &msg).await,
            Some(()) = restart.recv() => {
                send(&mut ws, &ClientMessage::RestartIce).await;
            }
            Some(()) = pli.recv() => {
                let mut api = rtc.direct_api();
                for mid in &received_video {
                    if let Some(rx) = api.stream_rx_by_mid(*mid, None) {
                        rx.request_keyframe(str0m::media::KeyframeRequestKind::Pli);
                    }
                }
            }
            _ = stop.changed() => {
                send(&mut ws, &ClientMessage::Leave).await;
                // Read until the hub says goodbye and closes.
                while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                    if matches!(m, Message::Close(_)) { break; }
                }
                return;
            }
        }
        let _ = rtc.handle_input(Input::Timeout(Instant::now()));
    }
}

fn on_event(e: Event, seen: &Arc<Mutex<Seen>>) {
    let mut seen = seen.lock().unwrap();
    match e {
        Event::Connected => seen.connected = true,
        Event::KeyframeRequest(_) => seen.keyframe_requests += 1,
        Event::RtpPacket(pkt) => match check_media(&pkt.payload) {
            Some((sender, Media::Screen, _)) => {
                *seen.screens_received.entry(sender).or_default() += 1;
            }
            Some((sender, media, n)) => {
                let kind = media.kind();
                *seen.received.entry((sender.clone(), kind)).or_default() += 1;
                seen.unique.insert((sender, kind, n));
            }
            None => seen.corrupted += 1,
        },
        _ => {}
    }
}

/// RTP (not RTCP) by RFC 5761's demultiplexing: version 2, payload type outside 64–95.
fn is_rtp(datagram: &[u8]) -> bool {
    matches!(datagram, [b0, b1, ..] if (128..192).contains(b0) && !(192..=223).contains(b1))
}

fn write_media(rtc: &mut Rtc, name: &str, mid: Mid, media: Media, seen: &Arc<Mutex<Seen>>) {
    let kind = media.kind();
    let mut seen = seen.lock().unwrap();
    let speaking = seen.speaking;
    let n = if media == Media::Screen {
        &mut seen.screen_sent
    } else {
        seen.sent.entry(kind).or_default()
    };
    let codec = match media {
        Media::Audio => str0m::format::Codec::Opus,
        Media::Vp8 | Media::Screen => str0m::format::Codec::Vp8,
        Media::H264 => str0m::format::Codec::H264,
    };
    let Some(pt) = rtc
        .codec_config()
        .find(|p| p.spec().codec == codec)
        .map(|p| p.pt())
    else {
        return;
    };
    let (ts_step, seq) = match kind {
        MediaKind::Audio => (960u32, *n as u64 + 1),
        MediaKind::Video => (3000u32, *n as u64 + 1),
    };
    let mut api = rtc.direct_api();
    let Some(stream) = api.stream_tx_by_mid(mid, None) else {
        return;
    };
    let data = payload(name, media, *n);
    let level = if speaking { -20 } else { -127 };
    let exts = str0m::rtp::ExtensionValues {
        audio_level: (kind == MediaKind::Audio).then_some(level),
        voice_activity: (kind == MediaKind::Audio).then_some(speaking),
        ..Default::default()
    };
    stream.write_rtp(
        RtpWrite::new(
            pt,
            seq.into(),
            n.wrapping_mul(ts_step),
            Instant::now(),
            data,
        )
        .marker(true)
        .ext_vals(exts)
        .nackable(kind == MediaKind::Video),
    );
    *n += 1;
}

/// A real clip sent as a browser sends it: Opus packets every 20 ms, VP8 frames at the clip's
/// rate cut into packets of at most 1000 bytes with Chromium's payload descriptor (a 15-bit
/// picture ID). Each packet is written with its capture time, which str0m's sender reports
/// map RTP time to; video leaves `video_delay` after capture. The clip loops.
struct Replay {
    clip: Arc<recorder::clip::Clip>,
    start: Instant,
    video_delay: Duration,
    audio_sent: usize,
    audio_samples: u64,
    frames_sent: usize,
    video_seq: u64,
}

impl Replay {
    fn new(clip: Arc<recorder::clip::Clip>, start: Instant, video_delay: Duration) -> Replay {
        Replay {
            clip,
            start,
            video_delay,
            audio_sent: 0,
            audio_samples: 0,
            frames_sent: 0,
            video_seq: 0,
        }
    }

    /// Write everything due by `now`.
    fn pump(
        &mut self,
        rtc: &mut Rtc,
        (audio, video): (Mid, Mid),
        now: Instant,
        seen: &Arc<Mutex<Seen>>,
    ) {
        let pt = |rtc: &Rtc, codec| {
            rtc.codec_config()
                .find(|p| p.spec().codec == codec)
                .map(|p| p.pt())
        };
        let (Some(opus), Some(vp8)) = (
            pt(rtc, str0m::format::Codec::Opus),
            pt(rtc, str0m::format::Codec::Vp8),
        ) else {
            return;
        };
        let mut seen = seen.lock().unwrap();
        let speaking = seen.speaking;
        let mut api = rtc.direct_api();
        let packets = &self.clip.audio.packets;
        while !packets.is_empty() {
            let capture =
                self.start + Duration::from_micros(self.audio_samples * 1_000_000 / 48_000);
            if capture > now {
                break;
            }
            let p = &packets[self.audio_sent % packets.len()];
            let Some(stream) = api.stream_tx_by_mid(audio, None) else {
                break;
            };
            let exts = str0m::rtp::ExtensionValues {
                audio_level: Some(if speaking { -20 } else { -127 }),
                voice_activity: Some(speaking),
                ..Default::default()
            };
            stream.write_rtp(
                RtpWrite::new(
                    opus,
                    (self.audio_sent as u64 + 1).into(),
                    self.audio_samples as u32,
                    capture,
                    p.data.clone(),
                )
                .ext_vals(exts),
            );
            self.audio_sent += 1;
            self.audio_samples += u64::from(p.samples);
            *seen.sent.entry(MediaKind::Audio).or_default() += 1;
        }
        let (frames, fps) = (&self.clip.video.frames, u64::from(self.clip.video.fps));
        while !frames.is_empty() {
            let i = self.frames_sent as u64;
            let capture = self.start + Duration::from_micros(i * 1_000_000 / fps);
            if capture + self.video_delay > now {
                break;
            }
            let Some(stream) = api.stream_tx_by_mid(video, None) else {
                break;
            };
            let frame = &frames[self.frames_sent % frames.len()];
            let parts: Vec<&[u8]> = frame.data.chunks(1000).collect();
            let picture_id = (i as u16 & 0x7fff) | 0x8000;
            for (k, part) in parts.iter().enumerate() {
                let mut payload = vec![if k == 0 { 0x90 } else { 0x80 }, 0x80];
                payload.extend_from_slice(&picture_id.to_be_bytes());
                payload.extend_from_slice(part);
                self.video_seq += 1;
                stream.write_rtp(
                    RtpWrite::new(
                        vp8,
                        self.video_seq.into(),
                        (i * 90_000 / fps) as u32,
                        capture,
                        payload,
                    )
                    .marker(k + 1 == parts.len())
                    .nackable(true),
                );
            }
            self.frames_sent += 1;
            *seen.sent.entry(MediaKind::Video).or_default() += 1;
        }
    }
}

/// Wait (up to 20 s) until every one of `endpoints` has its media connected.
pub async fn all_connected(endpoints: &[&SimEndpoint]) -> bool {
    wait_until(Duration::from_secs(20), || {
        endpoints.iter().all(|e| e.seen.lock().unwrap().connected)
    })
    .await
}

/// Poll `f` every 50 ms until it is true or `limit` passes.
pub async fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

/// A client on the websocket without media, for the protocol's signalling: joined, with its
/// `welcome` and the `meeting_state` after it read.
pub struct Client {
    pub ws: Ws,
    pub id: String,
    pub role: signaling::protocol::Role,
}

impl Client {
    /// Join with `msg`; panics unless `welcome` and then `meeting_state` arrive.
    pub async fn join(hub: SocketAddr, msg: &ClientMessage) -> Client {
        let mut ws = connect(hub).await;
        send(&mut ws, msg).await;
        let (id, role) = match recv(&mut ws).await {
            Some(ServerMessage::Welcome {
                participant_id,
                role,
                ..
            }) => (participant_id, role),
            other => panic!("expected welcome, got {other:?}"),
        };
        let mut client = Client { ws, id, role };
        assert!(
            matches!(client.next().await, ServerMessage::MeetingState { .. }),
            "meeting_state follows welcome"
        );
        client
    }

    pub async fn send(&mut self, msg: &ClientMessage) {
        send(&mut self.ws, msg).await;
    }

    /// The next message but roll calls (chairs get them every 2 s while anything changes);
    /// panics if the socket closed.
    pub async fn next(&mut self) -> ServerMessage {
        loop {
            match recv(&mut self.ws).await {
                Some(ServerMessage::RollCall { .. }) => continue,
                Some(m) => return m,
                None => panic!("{}: the hub closed the connection", self.id),
            }
        }
    }

    /// Skip messages until `f` picks one.
    pub async fn until<T>(&mut self, mut f: impl FnMut(ServerMessage) -> Option<T>) -> T {
        loop {
            if let Some(t) = f(self.next().await) {
                return t;
            }
        }
    }

    /// The next message must be this error.
    pub async fn expect_error(&mut self, code: signaling::protocol::ErrorCode) {
        match self.next().await {
            ServerMessage::Error { code: got, message } => {
                assert_eq!(got, code, "{}: {message}", self.id)
            }
            other => panic!("{}: expected error {code:?}, got {other:?}", self.id),
        }
    }

    /// Skip to the next `meeting_state`.
    pub async fn meeting_state(&mut self) -> MeetingState {
        self.until(|m| match m {
            ServerMessage::MeetingState {
                floor,
                hands,
                locked,
                self_unmute,
                chair_muted,
                screens,
                second_share,
                recording,
            } => Some(MeetingState {
                floor,
                hands,
                locked,
                self_unmute,
                screens,
                second_share,
                recording,
                chair_muted: chair_muted
                    .into_iter()
                    .map(|c| (c.participant_id, c.kind))
                    .collect(),
            }),
            _ => None,
        })
        .await
    }

    /// The socket closes now (anything still queued is skipped).
    pub async fn expect_closed(&mut self) {
        while let Some(m) = recv(&mut self.ws).await {
            assert!(
                !matches!(m, ServerMessage::Welcome { .. }),
                "{}: still served",
                self.id
            );
        }
    }
}

/// A `meeting_state`, flattened for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingState {
    pub floor: Option<String>,
    pub hands: Vec<String>,
    pub locked: bool,
    pub self_unmute: bool,
    pub chair_muted: Vec<(String, signaling::protocol::TrackKind)>,
    pub screens: Vec<String>,
    pub second_share: bool,
    pub recording: Option<signaling::protocol::RecordingState>,
}

/// The staff password the HTTP tests give every account they make.
pub const STAFF_PASSWORD: &str = "mật khẩu đủ dài";

/// One request to the hub's HTTP app through `oneshot`: a POST of `body` as JSON, or a GET
/// without one, with `bearer` as the Authorization token; the status and the JSON answer
/// (`Null` if it is not JSON).
pub async fn api_call(
    state: &signaling::http::AppState,
    uri: &str,
    bearer: Option<&str>,
    body: Option<serde_json::Value>,
) -> (axum::http::StatusCode, serde_json::Value) {
    use axum::body::Body;
    use axum::http::{Request, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let mut req = Request::builder()
        .method(if body.is_some() { "POST" } else { "GET" })
        .uri(uri);
    if let Some(t) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let response = signaling::http::app(state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// Make the staff accounts (password [`STAFF_PASSWORD`]) and sign each in over the API:
/// their bearer tokens, in the same order.
pub async fn sign_in(
    state: &signaling::http::AppState,
    accounts: &[(&'static str, signaling::auth::StaffRole)],
) -> Vec<String> {
    let mut tokens = vec![];
    for &(user, role) in accounts {
        state
            .hub
            .db()
            .call(move |c| {
                signaling::auth::create_user(c, user, user, STAFF_PASSWORD, &[role], 0)
                    .map(|_| ())
                    .map_err(|e| rusqlite::Error::InvalidParameterName(e.to_string()))
            })
            .await
            .unwrap();
        let body =
            serde_json::json!({"username": user, "password": STAFF_PASSWORD, "bearer": true});
        let (status, body) = api_call(state, "/api/login", None, Some(body)).await;
        assert_eq!(status, axum::http::StatusCode::OK, "{body}");
        tokens.push(body["token"].as_str().unwrap().to_string());
    }
    tokens
}
