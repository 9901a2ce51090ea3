//! The hub's side of a recorder in another process: one task per recorded session, fed what
//! the in-process recorder would be fed, that waits for the recorder to attach (its WHEP
//! offer) and then relays the session to it — each recorded stream as an SSRC of its own on
//! the m-line of its kind, the session's events as server-sent events.
//!
//! The relay's str0m is ICE-lite on a UDP socket of its own (an ephemeral port on the hub's
//! address): the recorder, a full ICE agent, connects to it. Every recorded stream is
//! announced ([`WireEvent::Stream`]) before its first packet; the recorder declares it, and
//! packets of streams it has not declared are dropped by its str0m (the exchange carries no
//! `mid` header extension, so nothing is mapped by guesswork). Sequence numbers start at 1
//! per stream, gaps kept; packets are written with the publisher's capture time as their
//! wallclock, so the relay's RTCP sender reports carry the publisher's clock on to the
//! recorder and lip sync survives the hop. Video can be repaired (NACK, RTX).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use sfu::{Codec, EndpointId, RecordedPacket, Source};
use str0m::change::SdpOffer;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, Ssrc};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::{WireEvent, codec_name};
use crate::session::{RecorderEvent, SessionInfo};

/// A recorder's WHEP offer for the session, and where its answer goes.
#[derive(Debug)]
pub struct Attach {
    pub offer: String,
    pub reply: oneshot::Sender<Result<Attached, RelayError>>,
}

/// The answer to a recorder's offer, and the session's events for it (the first is
/// [`WireEvent::Session`], then every event so far, then each as it happens).
#[derive(Debug)]
pub struct Attached {
    pub answer: String,
    pub events: mpsc::UnboundedReceiver<WireEvent>,
}

/// Why a recorder could not attach.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("bad SDP offer: {0}")]
    BadSdp(String),
    #[error("the session has a recorder already")]
    Busy,
    #[error("cannot open a media socket: {0}")]
    Socket(#[from] std::io::Error),
}

/// How a relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayEnd {
    /// The session ended with its recorder attached to the end.
    Done,
    /// The recorder went away (its events stream closed, its ICE timed out) mid-session.
    Lost,
    /// No recorder attached in time (or before the session ended).
    NoRecorder,
}

/// Settings of one relay.
#[derive(Debug, Clone, Copy)]
pub struct RelayConfig {
    /// The hub's address the relay's socket is bound to and offered at.
    pub ip: IpAddr,
    /// How long a session waits for its recorder before it is given up as unrecorded.
    pub attach_wait: Duration,
}

/// How long the relay stays up after the session's end, for repairs still in flight.
const LINGER: Duration = Duration::from_secs(2);

/// How long a new stream's packets are held after it is announced, so that the recorder has
/// declared it when they arrive (its first keyframe is not lost to the race).
const HOLD: Duration = Duration::from_millis(300);

/// SSRCs of relayed streams count up from here (their repairs take the odd ones).
const FIRST_SSRC: u32 = 0x4341_5500;

/// Relay one session to its recorder until the session ends (its [`RecorderEvent::End`]) or
/// the recorder is lost. `packets` and `events` are what [`crate::session::record_session`]
/// would take; `attach` brings recorders' offers.
pub async fn relay(
    info: SessionInfo,
    mut packets: mpsc::UnboundedReceiver<RecordedPacket>,
    mut events: mpsc::UnboundedReceiver<RecorderEvent>,
    mut attach: mpsc::Receiver<Attach>,
    config: RelayConfig,
) -> RelayEnd {
    let started = Instant::now();
    let session = info.session_id;
    let mut history = vec![WireEvent::Session { info }];
    let mut egress: Option<Egress> = None;
    let mut socket: Option<UdpSocket> = None;
    let mut sse: Option<mpsc::UnboundedSender<WireEvent>> = None;
    let mut ended: Option<Instant> = None;
    let (mut packets_open, mut events_open, mut attach_open) = (true, true, true);
    let mut buf = vec![0u8; 2000];
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        let timeout = match (&mut egress, &socket) {
            (Some(e), Some(s)) => {
                e.release(Instant::now());
                e.drain(s)
            }
            _ => Instant::now() + Duration::from_secs(1),
        };
        let received = async {
            match &socket {
                Some(s) => s.recv_from(&mut buf).await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            a = attach.recv(), if attach_open => match a {
                Some(a) => {
                    if egress.is_some() || ended.is_some() {
                        let _ = a.reply.send(Err(RelayError::Busy));
                        continue;
                    }
                    match Egress::accept(&a.offer, config.ip).await {
                        Ok((e, s, answer)) => {
                            let (tx, rx) = mpsc::unbounded_channel();
                            for w in &history {
                                let _ = tx.send(w.clone());
                            }
                            tracing::info!(session, recorder = %e.local, "a recorder attached");
                            if a.reply.send(Ok(Attached { answer, events: rx })).is_ok() {
                                egress = Some(e);
                                socket = Some(s);
                                sse = Some(tx);
                            }
                        }
                        Err(err) => {
                            let _ = a.reply.send(Err(err));
                        }
                    }
                }
                None => attach_open = false,
            },
            p = packets.recv(), if packets_open => match p {
                Some(p) => {
                    if let (Some(e), Some(tx)) = (&mut egress, &sse) {
                        e.write(Instant::now(), p, tx);
                    }
                }
                None => packets_open = false,
            },
            ev = events.recv(), if events_open => match ev {
                Some(ev) => {
                    let w = WireEvent::from_recorder(ev);
                    if matches!(w, WireEvent::End { .. }) {
                        ended = Some(Instant::now());
                    }
                    if let Some(tx) = &sse {
                        let _ = tx.send(w.clone());
                    }
                    history.push(w);
                }
                None => events_open = false,
            },
            r = received => {
                if let (Some((n, source)), Some(e), Some(s)) = (r, &mut egress, &socket)
                    && let Ok(local) = s.local_addr()
                    && let Ok(receive) = Receive::new(Protocol::Udp, source, local, &buf[..n])
                {
                    let _ = e.rtc.handle_input(Input::Receive(Instant::now(), receive));
                }
            }
            _ = tokio::time::sleep_until(timeout.into()) => {
                if let Some(e) = &mut egress {
                    let _ = e.rtc.handle_input(Input::Timeout(Instant::now()));
                }
            }
            _ = tick.tick() => {}
        }
        let attached = egress.is_some();
        let over = ended.is_some() || !events_open;
        if attached && (sse.as_ref().is_some_and(|s| s.is_closed()) || egress_lost(&egress)) {
            if over {
                return RelayEnd::Done;
            }
            tracing::error!(session, "the recorder went away mid-session");
            return RelayEnd::Lost;
        }
        if !attached && (over || started.elapsed() >= config.attach_wait) {
            tracing::error!(session, "no recorder attached to the session");
            return RelayEnd::NoRecorder;
        }
        if attached && (ended.is_some_and(|t| t.elapsed() >= LINGER) || !events_open) {
            return RelayEnd::Done;
        }
    }
}

fn egress_lost(e: &Option<Egress>) -> bool {
    e.as_ref().is_some_and(|e| e.lost)
}

/// A relayed stream: its SSRC, payload type and the number its first packet had.
#[derive(Debug, Clone, Copy)]
struct Out {
    ssrc: Ssrc,
    pt: Pt,
    first_seq: u64,
    announced: Instant,
    clock_rate: u32,
    /// The publisher's clock as last told the recorder: (RTP time, capture µs).
    clock: Option<(u32, i64)>,
}

/// The relay's str0m, sending to one recorder.
struct Egress {
    rtc: Rtc,
    local: SocketAddr,
    audio: Option<Mid>,
    video: Option<Mid>,
    connected: bool,
    lost: bool,
    streams: HashMap<(EndpointId, Source), Out>,
    /// Packets of streams announced less than [`HOLD`] ago, in arrival order.
    held: Vec<RecordedPacket>,
    next_ssrc: u32,
}

impl Egress {
    /// Answer a recorder's offer on a socket of its own.
    async fn accept(offer: &str, ip: IpAddr) -> Result<(Egress, UdpSocket, String), RelayError> {
        let offer =
            SdpOffer::from_sdp_string(offer).map_err(|e| RelayError::BadSdp(e.to_string()))?;
        let socket = UdpSocket::bind((ip, 0)).await?;
        let local = socket.local_addr()?;
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .enable_h264(true)
            .set_send_buffer_video(2000)
            .build(now);
        let candidate =
            Candidate::host(local, "udp").map_err(|e| RelayError::BadSdp(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rtc.sdp_api().accept_offer(offer)
        }))
        .map_err(|_| RelayError::BadSdp("offer not accepted".into()))?
        .map_err(|e| RelayError::BadSdp(e.to_string()))?;
        let egress = Egress {
            rtc,
            local,
            audio: None,
            video: None,
            connected: false,
            lost: false,
            streams: HashMap::new(),
            held: vec![],
            next_ssrc: FIRST_SSRC,
        };
        Ok((egress, socket, answer.to_sdp_string()))
    }

    /// Send what str0m has to send; returns when it next wants time. A timeout already due
    /// (str0m asks for one to release packets just written) is given at once, so relayed
    /// packets leave in this drain however busy the task's other inputs keep it.
    fn drain(&mut self, socket: &UdpSocket) -> Instant {
        let mut timed_out = false;
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    let _ = socket.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Timeout(t)) if !timed_out && t <= Instant::now() => {
                    timed_out = true;
                    let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
                }
                Ok(Output::Timeout(t)) => return t,
                Ok(Output::Event(e)) => match e {
                    Event::Connected => self.connected = true,
                    Event::MediaAdded(m) if m.direction == Direction::SendOnly => match m.kind {
                        MediaKind::Audio => self.audio = self.audio.or(Some(m.mid)),
                        MediaKind::Video => self.video = self.video.or(Some(m.mid)),
                    },
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                    | Event::Closed => self.lost = true,
                    _ => {}
                },
                Err(e) => {
                    tracing::warn!(error = %e, "the recorder's connection failed");
                    self.lost = true;
                    return Instant::now() + Duration::from_secs(1);
                }
            }
        }
    }

    /// Send one recorded packet, announcing its stream first if it is new.
    fn write(
        &mut self,
        now: Instant,
        p: RecordedPacket,
        events: &mpsc::UnboundedSender<WireEvent>,
    ) {
        if !self.connected {
            return;
        }
        let key = (p.endpoint, p.source);
        let out = match self.streams.get(&key) {
            Some(out) => *out,
            None => {
                let Some(out) = self.declare(now, &p, events) else {
                    return;
                };
                self.streams.insert(key, out);
                out
            }
        };
        // A new clock is told first and the stream's packets held, as for a new stream:
        // none may reach the recorder before the clock it is to be read by.
        if let Some(us) = p.sender_us
            && out.clock.is_none_or(|(ts, at)| {
                let predicted = at
                    + i64::from(p.ts.wrapping_sub(ts) as i32) * 1_000_000
                        / i64::from(out.clock_rate);
                (predicted - us).abs() > 1000
            })
        {
            let _ = events.send(WireEvent::Clock {
                ssrc: *out.ssrc,
                ts: p.ts,
                sender_us: us,
            });
            if let Some(o) = self.streams.get_mut(&key) {
                o.clock = Some((p.ts, us));
                o.announced = now;
            }
            self.held.push(p);
            return;
        }
        if now < out.announced + HOLD {
            self.held.push(p);
            return;
        }
        self.send(out, p);
    }

    /// Send the held packets whose stream the recorder has had time to declare.
    fn release(&mut self, now: Instant) {
        if self.held.is_empty() {
            return;
        }
        let streams = &self.streams;
        let due = |p: &RecordedPacket| {
            streams
                .get(&(p.endpoint, p.source))
                .is_some_and(|o| now >= o.announced + HOLD)
        };
        let (ready, wait): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.held).into_iter().partition(due);
        self.held = wait;
        for p in ready {
            if let Some(out) = self.streams.get(&(p.endpoint, p.source)).copied() {
                self.send(out, p);
            }
        }
    }

    fn send(&mut self, out: Out, p: RecordedPacket) {
        let Some(seq) = p.seq.checked_sub(out.first_seq) else {
            return;
        };
        let write = RtpWrite::new(out.pt, (seq + 1).into(), p.ts, p.arrival, p.payload)
            .marker(p.marker)
            .nackable(p.codec.is_video());
        if let Some(stream) = self.rtc.direct_api().stream_tx(&out.ssrc) {
            stream.write_rtp(write);
        }
    }

    /// A new stream for the packet's participant and source: its SSRC declared on the
    /// m-line of its kind and announced to the recorder.
    fn declare(
        &mut self,
        now: Instant,
        p: &RecordedPacket,
        events: &mpsc::UnboundedSender<WireEvent>,
    ) -> Option<Out> {
        let (mid, codec) = match p.codec {
            Codec::Opus => (self.audio?, str0m::format::Codec::Opus),
            Codec::Vp8 => (self.video?, str0m::format::Codec::Vp8),
            Codec::H264 => (self.video?, str0m::format::Codec::H264),
            Codec::Other => return None,
        };
        let params = *self.rtc.codec_config().find(|c| c.spec().codec == codec)?;
        let ssrc = Ssrc::from(self.next_ssrc);
        let rtx = params
            .resend()
            .is_some()
            .then(|| Ssrc::from(self.next_ssrc + 1));
        // A RID of its own per stream: str0m paces by m-line and RID, and streams sharing
        // both would share one queue, of which only one stream's packets ever leave. (The
        // RID is ours alone: no header extension carries it.)
        let rid = Rid::from(format!("s{}", self.streams.len() + 1).as_str());
        self.next_ssrc += 2;
        self.rtc
            .direct_api()
            .declare_stream_tx(ssrc, rtx, mid, Some(rid));
        let _ = events.send(WireEvent::Stream {
            ssrc: *ssrc,
            rtx: rtx.map(|r| *r),
            endpoint: p.endpoint.0,
            source: p.source.as_str().to_string(),
            codec: codec_name(p.codec).to_string(),
        });
        Some(Out {
            ssrc,
            pt: params.pt(),
            first_seq: p.seq,
            announced: now,
            clock_rate: p.codec.clock_rate(),
            clock: None,
        })
    }
}
