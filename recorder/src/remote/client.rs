//! The recorder's side (`cau-recorder`): it follows the hub's feed of recorded sessions,
//! subscribes to each over WebRTC (a WHEP offer, then the resource's server-sent events) and
//! records it with [`record_session`] into `DIR/MEETING/SESSION/`, exactly as the hub's
//! in-process recorder would; when the session ends it sends the hub the manifest, which
//! catalogues the recording.
//!
//! At start, session directories that a crash of this process left unfinished (`.part`
//! files, no manifest) are finalised first — what the hub's database knows of the session is
//! asked for, the manifest is written marked `interrupted`, and the hub is sent it.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sfu::{EndpointId, RecordedPacket};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::rtp::Ssrc;
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{FeedEvent, KeyframeWanted, WireEvent, parse_codec, parse_source};
use crate::disk::DiskGuard;
use crate::session::{Interrupted, Manifest, record_session};

/// What a recorder process needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The hub's base URL (`http://hub:8080`).
    pub hub: String,
    /// The secret the hub was given (`--recorder-secret`).
    pub secret: String,
    /// Where sessions are written (`DIR/MEETING/SESSION/`).
    pub dir: PathBuf,
    /// The address media is received on; `None`: the one that routes to the hub.
    pub ip: Option<IpAddr>,
    /// Recording stops when less than this is left on the disk.
    pub disk_reserve: u64,
}

/// Why recording a session failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the hub: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the hub answered {status}: {body}")]
    Refused {
        status: reqwest::StatusCode,
        body: String,
    },
    #[error("the hub's answer: {0}")]
    Protocol(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The hub's HTTP API, with the recorder's secret.
#[derive(Debug, Clone)]
struct HubApi {
    base: String,
    secret: String,
    http: reqwest::Client,
}

impl HubApi {
    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base.trim_end_matches('/'))
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.secret)
    }

    async fn ok(r: reqwest::Response) -> Result<reqwest::Response, ClientError> {
        let status = r.status();
        if status.is_success() {
            Ok(r)
        } else {
            let body = r.text().await.unwrap_or_default();
            Err(ClientError::Refused { status, body })
        }
    }

    async fn post_json<T: serde::Serialize>(
        &self,
        path: &str,
        body: &T,
    ) -> Result<(), ClientError> {
        let r = self
            .request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await?;
        Self::ok(r).await.map(drop)
    }

    /// Send a finished session's manifest, trying again for up to an hour while the hub is
    /// away (it catalogues the recording when it comes).
    async fn send_manifest(&self, m: &Manifest) {
        let path = format!("/api/recorder/sessions/{}/manifest", m.session.session_id);
        let mut wait = Duration::from_secs(1);
        let deadline = Instant::now() + Duration::from_secs(3600);
        loop {
            match self.post_json(&path, m).await {
                Ok(()) => {
                    tracing::info!(
                        session = m.session.session_id,
                        "the hub catalogued the recording"
                    );
                    return;
                }
                Err(ClientError::Refused { status, body }) if status.is_client_error() => {
                    tracing::error!(session = m.session.session_id, %status, body, "the hub refused the manifest");
                    return;
                }
                Err(e) if Instant::now() < deadline => {
                    tracing::warn!(session = m.session.session_id, error = %e, "cannot send the manifest yet");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
                Err(e) => {
                    tracing::error!(session = m.session.session_id, error = %e, "the manifest was not sent");
                    return;
                }
            }
        }
    }
}

/// Server-sent events read from a response, one `data` payload at a time.
struct SseReader {
    response: reqwest::Response,
    buf: String,
}

impl SseReader {
    fn new(response: reqwest::Response) -> SseReader {
        SseReader {
            response,
            buf: String::new(),
        }
    }

    /// The next event's data (its `data:` lines joined); `None` when the stream ends.
    async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let data: Vec<&str> = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect();
                if data.is_empty() {
                    continue; // a comment (keep-alive)
                }
                return Some(data.join("\n"));
            }
            let chunk = self.response.chunk().await.ok()??;
            self.buf
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
            if self.buf.len() > 1 << 20 {
                return None; // no event is this large
            }
        }
    }
}

/// Run the recorder: finish what a crash left, then record every session the hub offers,
/// following its feed again whenever it drops (the hub restarting). Runs until killed.
pub async fn run(config: ClientConfig) -> Result<(), ClientError> {
    std::fs::create_dir_all(&config.dir)?;
    let api = HubApi {
        base: config.hub.clone(),
        secret: config.secret.clone(),
        http: reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?,
    };
    let active: Arc<Mutex<HashSet<i64>>> = Arc::default();
    recover_unfinished(&api, &config.dir).await;
    let mut wait = Duration::from_secs(1);
    loop {
        match follow_feed(&api, &config, &active).await {
            Ok(()) => tracing::warn!("the hub's feed ended; following it again"),
            Err(e) => tracing::warn!(error = %e, "cannot follow the hub's feed"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(10));
    }
}

/// Session directories under `root` (`MEETING/SESSION`) without a manifest.
fn unfinished(root: &Path) -> Vec<(i64, i64, PathBuf)> {
    let numbered = |dir: &Path| -> Vec<(i64, PathBuf)> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path())))
            .filter(|(_, p): &(i64, PathBuf)| p.is_dir())
            .collect()
    };
    let mut found = vec![];
    for (meeting, mdir) in numbered(root) {
        for (session, sdir) in numbered(&mdir) {
            if !crate::session::is_finished(&sdir) {
                found.push((meeting, session, sdir));
            }
        }
    }
    found.sort();
    found
}

/// Finalise the sessions a crash of this process cut short, with what the hub knows of
/// them, and send the hub their manifests.
async fn recover_unfinished(api: &HubApi, root: &Path) {
    for (meeting, session, dir) in unfinished(root) {
        let known = async {
            let r = api
                .request(
                    reqwest::Method::GET,
                    &format!("/api/recorder/sessions/{session}/interrupted"),
                )
                .send()
                .await?;
            let known: Interrupted = HubApi::ok(r).await?.json().await?;
            Ok::<_, ClientError>(known)
        };
        let known = match known.await {
            Ok(k) if k.info.meeting_id == meeting => k,
            Ok(_) => {
                tracing::error!(
                    meeting,
                    session,
                    "the hub knows this session under another meeting; left alone"
                );
                continue;
            }
            Err(e) => {
                tracing::error!(meeting, session, error = %e, "cannot finish an interrupted session now; left for the next start");
                continue;
            }
        };
        match tokio::task::spawn_blocking(move || crate::session::recover(&dir, known)).await {
            Ok(Ok(m)) => {
                tracing::warn!(
                    meeting,
                    session,
                    files = m.files.len(),
                    "an interrupted recording was finalised"
                );
                api.send_manifest(&m).await;
            }
            Ok(Err(e)) => {
                tracing::error!(meeting, session, error = %e, "cannot finalise an interrupted recording")
            }
            Err(e) => tracing::error!(meeting, session, error = %e, "finalising failed"),
        }
    }
}

/// Follow the hub's feed, recording each session it offers (one task each).
async fn follow_feed(
    api: &HubApi,
    config: &ClientConfig,
    active: &Arc<Mutex<HashSet<i64>>>,
) -> Result<(), ClientError> {
    let r = api
        .request(reqwest::Method::GET, "/api/recorder/feed")
        .send()
        .await?;
    let mut feed = SseReader::new(HubApi::ok(r).await?);
    tracing::info!(hub = %api.base, "following the hub's recorded sessions");
    while let Some(data) = feed.next().await {
        let Ok(FeedEvent::Record { meeting, session }) = serde_json::from_str(&data) else {
            tracing::warn!(data, "an event of the feed not understood");
            continue;
        };
        if !active.lock().unwrap().insert(session) {
            continue;
        }
        let (api, config, active) = (api.clone(), config.clone(), active.clone());
        tokio::spawn(async move {
            match record(&api, &config, meeting, session).await {
                Ok(m) => api.send_manifest(&m).await,
                Err(e) => {
                    tracing::error!(meeting, session, error = %e, "the session was not recorded")
                }
            }
            active.lock().unwrap().remove(&session);
        });
    }
    Ok(())
}

/// Our address towards `hub` (the one a connected UDP socket is given).
async fn address_towards(hub: &str) -> Option<IpAddr> {
    let authority = hub.split("://").nth(1)?.split('/').next()?;
    let target = tokio::net::lookup_host(authority).await.ok()?.next()?;
    let probe = std::net::UdpSocket::bind(SocketAddr::new(
        if target.is_ipv4() {
            IpAddr::from([0, 0, 0, 0])
        } else {
            IpAddr::from([0u16; 8])
        },
        0,
    ))
    .ok()?;
    probe.connect(target).ok()?;
    Some(probe.local_addr().ok()?.ip())
}

/// Record one session: subscribe, write, finalise. Returns the manifest written.
async fn record(
    api: &HubApi,
    config: &ClientConfig,
    meeting: i64,
    session: i64,
) -> Result<Manifest, ClientError> {
    let ip = match config.ip {
        Some(ip) => ip,
        None => address_towards(&api.base)
            .await
            .ok_or_else(|| ClientError::Protocol("no address towards the hub".into()))?,
    };
    let socket = UdpSocket::bind((ip, 0)).await?;
    let local = socket.local_addr()?;
    // No header extensions: streams are known by SSRC alone, as the hub announces them.
    let mut rtc = Rtc::builder()
        .set_rtp_mode(true)
        .clear_extension_map()
        .enable_h264(true)
        .build(Instant::now());
    rtc.add_local_candidate(
        Candidate::host(local, "udp").map_err(|e| ClientError::Protocol(e.to_string()))?,
    );
    let mut sdp = rtc.sdp_api();
    let audio = sdp.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let video = sdp.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, pending) = sdp
        .apply()
        .ok_or_else(|| ClientError::Protocol("no offer to make".into()))?;
    let r = api
        .request(
            reqwest::Method::POST,
            &format!("/api/recorder/sessions/{session}/whep"),
        )
        .header(reqwest::header::CONTENT_TYPE, "application/sdp")
        .body(offer.to_sdp_string())
        .send()
        .await?;
    let r = HubApi::ok(r).await?;
    let resource = r
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| ClientError::Protocol("no Location for the WHEP resource".into()))?
        .to_string();
    let answer = SdpAnswer::from_sdp_string(&r.text().await?)
        .map_err(|e| ClientError::Protocol(format!("answer: {e}")))?;
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .map_err(|e| ClientError::Protocol(format!("answer: {e}")))?;
    let r = api
        .request(reqwest::Method::GET, &format!("{resource}/events"))
        .send()
        .await?;
    let mut events = SseReader::new(HubApi::ok(r).await?);
    let info = match events.next().await.map(|d| serde_json::from_str(&d)) {
        Some(Ok(WireEvent::Session { info })) => info,
        other => {
            return Err(ClientError::Protocol(format!(
                "expected the session first, got {other:?}"
            )));
        }
    };
    if (info.meeting_id, info.session_id) != (meeting, session) {
        return Err(ClientError::Protocol("the hub sent another session".into()));
    }
    let dir = config
        .dir
        .join(meeting.to_string())
        .join(session.to_string());
    std::fs::create_dir_all(&dir)?;
    tracing::info!(meeting, session, dir = %dir.display(), "recording the session");
    // The session's time origin, as an instant of ours.
    let since_start = (crate::now_ms() - info.started_at).max(0) as u64;
    let origin = Instant::now()
        .checked_sub(Duration::from_millis(since_start))
        .unwrap_or_else(Instant::now);
    let (packets_tx, packets_rx) = mpsc::unbounded_channel();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (keyframe_tx, mut keyframe_rx) = mpsc::unbounded_channel();
    let keyframe = move |endpoint: EndpointId, source: sfu::Source| {
        let _ = keyframe_tx.send(KeyframeWanted {
            endpoint: endpoint.0,
            source: source.as_str().to_string(),
        });
    };
    let guard = DiskGuard::of(
        &dir,
        Arc::new(std::sync::atomic::AtomicU64::new(config.disk_reserve)),
    );
    let recording = tokio::spawn(record_session(
        dir,
        info,
        origin,
        packets_rx,
        events_rx,
        keyframe,
        |_| {},
        guard,
    ));

    let mut streams: HashMap<Ssrc, (EndpointId, sfu::Source, sfu::Codec)> = HashMap::new();
    let mut clocks: HashMap<Ssrc, (u32, i64)> = HashMap::new();
    let mut received: std::collections::BTreeMap<u32, u64> = Default::default();
    let mut buf = vec![0u8; 2000];
    let end_now = |tx: &mpsc::UnboundedSender<_>| {
        let _ = tx.send(crate::session::RecorderEvent::End {
            at: crate::now_ms(),
        });
    };
    loop {
        let mut timed_out = false;
        let timeout = loop {
            match rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    let _ = socket.try_send_to(&t.contents, t.destination);
                }
                // Due already: given now (feedback and NACKs leave without waiting a turn).
                Ok(Output::Timeout(t)) if !timed_out && t <= Instant::now() => {
                    timed_out = true;
                    let _ = rtc.handle_input(Input::Timeout(Instant::now()));
                }
                Ok(Output::Timeout(t)) => break Some(t),
                Ok(Output::Event(Event::RtpPacket(p))) => {
                    *received.entry(*p.header.ssrc).or_insert(0u64) += 1;
                    let Some(&(endpoint, source, codec)) = streams.get(&p.header.ssrc) else {
                        continue;
                    };
                    // The publisher's capture time, by the clock the hub passed on.
                    let sender_us = clocks.get(&p.header.ssrc).map(|&(ts, at)| {
                        let ticks = i64::from(p.header.timestamp.wrapping_sub(ts) as i32);
                        at + ticks * 1_000_000 / i64::from(codec.clock_rate())
                    });
                    let _ = packets_tx.send(RecordedPacket {
                        endpoint,
                        source,
                        codec,
                        seq: *p.seq_no,
                        ts: p.header.timestamp,
                        marker: p.header.marker,
                        payload: p.payload.to_vec(),
                        arrival: p.timestamp,
                        sender_us,
                    });
                }
                Ok(Output::Event(
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                    | Event::Closed,
                )) => {
                    tracing::error!(session, "the hub's media went away: the recording ends");
                    end_now(&events_tx);
                    break None;
                }
                Ok(Output::Event(Event::Connected)) => {
                    tracing::info!(session, "media from the hub connected");
                }
                Ok(Output::Event(_)) => {}
                Err(e) => {
                    tracing::error!(session, error = %e, "the connection to the hub failed");
                    end_now(&events_tx);
                    break None;
                }
            }
        };
        let Some(timeout) = timeout else { break };
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                if let Ok((n, source)) = r
                    && let Ok(receive) = Receive::new(Protocol::Udp, source, local, &buf[..n])
                {
                    let _ = rtc.handle_input(Input::Receive(Instant::now(), receive));
                }
            }
            e = events.next() => {
                let Some(data) = e else {
                    tracing::error!(session, "the hub's events stopped: the recording ends");
                    end_now(&events_tx);
                    break;
                };
                match serde_json::from_str::<WireEvent>(&data) {
                    Ok(WireEvent::Stream { ssrc, rtx, endpoint, source, codec }) => {
                        let (Some(source), Some(codec)) = (parse_source(&source), parse_codec(&codec)) else {
                            continue;
                        };
                        let mid = if codec.is_video() { video } else { audio };
                        tracing::debug!(session, ssrc, endpoint, ?source, ?codec, "a stream announced");
                        rtc.direct_api().expect_stream_rx(ssrc.into(), rtx.map(Ssrc::from), mid, None);
                        streams.insert(ssrc.into(), (EndpointId(endpoint), source, codec));
                    }
                    Ok(WireEvent::Clock { ssrc, ts, sender_us }) => {
                        clocks.insert(ssrc.into(), (ts, sender_us));
                    }
                    Ok(w) => {
                        let end = matches!(w, WireEvent::End { .. });
                        if let Some(e) = w.into_recorder() {
                            let _ = events_tx.send(e);
                        }
                        if end {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!(session, error = %e, "an event not understood"),
                }
            }
            k = keyframe_rx.recv() => {
                if let Some(k) = k {
                    let (api, path) = (api.clone(), format!("{resource}/keyframe"));
                    tokio::spawn(async move {
                        if let Err(e) = api.post_json(&path, &k).await {
                            tracing::debug!(error = %e, "a keyframe request was not delivered");
                        }
                    });
                }
            }
            _ = tokio::time::sleep_until(timeout.into()) => {
                let _ = rtc.handle_input(Input::Timeout(Instant::now()));
            }
        }
    }
    tracing::info!(session, ?received, "packets received per SSRC");
    drop(packets_tx);
    let manifest = recording.await.map_err(std::io::Error::other)??;
    let _ = api.request(reqwest::Method::DELETE, &resource).send().await;
    Ok(manifest)
}
