//! Live rooms. Every unit has a standing room; a meeting runs in its host unit's room, and
//! only one meeting is live in a room at a time. The room admits participants that
//! [`crate::access`] let in, fans out room events (joined, left, mute, tracks) to every
//! member's connection, keeps the roll call of the meeting's invited units, and keeps the
//! session's floor and moderation state ([`moderation`]), which it tells the media plane as
//! the session's [`sfu::SessionPolicy`].
//!
//! A room's session opens when its first participant joins and ends when the last one
//! leaves; both are recorded with every participant's join and leave. The meeting goes live
//! with its first participant and ends when the chair ends it, or when its room empties after
//! the scheduled end.

mod live;
mod moderation;

use rusqlite::OptionalExtension;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sfu::{EndpointId, LinkStats, SessionId, SfuHandle};
use tokio::sync::{Mutex, mpsc};

pub use self::live::{LiveEndpoint, LiveSession};
pub use self::moderation::Moderation;
use self::moderation::SessionModeration;
use crate::access::{Admission, Credential};
use crate::auth::LoginLimiter;
use crate::db::{Db, now_ms};
use crate::directory::Directory;
use crate::meetings::{self, MeetingState};
use crate::protocol::{
    ByeReason, ErrorCode, IceServer, LeaveReason, MeetingRef, Participant, Presence,
    PublishedTrack, RecordingState, RecordingStatus, Role, RollCallEntry, ServerMessage, TrackKind,
    UnitRef,
};
use crate::retention::Retention;

/// The space recording leaves free on the archive's disk unless configured (2 GB, as
/// `--disk-reserve-mb`: room to finalise what was recorded, which copies each file once).
pub const DEFAULT_DISK_RESERVE: u64 = 2_000_000_000;
use crate::limits::{AddressCounts, Limits};
use crate::tokens::TokenKey;

/// How often chairs' roll calls are refreshed (when something changed).
pub const ROLL_CALL_INTERVAL: Duration = Duration::from_secs(2);

/// Everything a connection or an API call needs, shared by all of them.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

#[derive(Debug)]
struct HubInner {
    directory: RwLock<Arc<Directory>>,
    db: Db,
    sfu: SfuHandle,
    ice_servers: Vec<IceServer>,
    token_key: TokenKey,
    login_limiter: LoginLimiter,
    /// Rooms by host unit id.
    rooms: Mutex<HashMap<String, Room>>,
    next_endpoint: AtomicU64,
    /// Open websocket connections.
    websockets: AtomicUsize,
    /// Latest link statistics of every endpoint, refreshed by the roll-call task.
    link_stats: std::sync::Mutex<HashMap<EndpointId, LinkStats>>,
    /// Where recorded sessions are written (`DATA_DIR/recordings`); `None`: nothing is.
    recordings: Option<std::path::PathBuf>,
    /// Archive views being made (at most one per core at a time), by session.
    composites: Arc<Composites>,
    /// The meeting classes and how long each keeps its recordings.
    retention: RwLock<Arc<Retention>>,
    /// Recording stops when the archive's disk has less than this left (bytes).
    disk_reserve: Arc<AtomicU64>,
    /// Recordings stopped before their session ended: for low disk, and by a failure.
    stopped_disk_low: AtomicU64,
    stopped_failed: AtomicU64,
    /// Set when sessions are recorded by `cau-recorder` rather than in-process.
    remote_recorder: std::sync::OnceLock<Arc<crate::remote_recorder::RemoteRecorders>>,
    /// What clients may send and open.
    limits: std::sync::Mutex<Limits>,
    /// Websockets open per client address.
    connections: AddressCounts,
    /// Set once the hub is stopping: every connection says `bye` `server_shutdown` and goes.
    closing: tokio::sync::watch::Sender<bool>,
    /// The TURN servers clients may relay through, when configured.
    turn: std::sync::OnceLock<crate::turn::Turn>,
}

/// The archive views in the making: a permit per core, and each one's state.
#[derive(Debug)]
pub struct Composites {
    permits: tokio::sync::Semaphore,
    state: std::sync::Mutex<HashMap<i64, CompositeState>>,
}

/// Where an archive view stands while it is not in the manifest.
#[derive(Debug, Clone, PartialEq)]
pub enum CompositeState {
    /// Waiting for a core.
    Queued,
    /// Being made: the share done (0–1).
    Making(f64),
    Failed(String),
}

impl Composites {
    fn set(&self, session: i64, s: CompositeState) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session, s);
    }
}

#[derive(Debug)]
struct Room {
    meeting: MeetingRef,
    occurrence_end: i64,
    host: UnitRef,
    session: SessionId,
    /// When the session started (ms).
    started_at: i64,
    members: BTreeMap<String, Member>,
    /// Invited unit ids, in directory order.
    invited: Vec<String>,
    presence: HashMap<String, UnitPresence>,
    /// The roll call last sent to chairs (to send only changes).
    last_roll_call: Option<Vec<RollCallEntry>>,
    /// Floor, raised hands, lock, mutes by the chair, removed credentials.
    moderation: SessionModeration,
    /// The session's recorder, when its meeting is recorded.
    recorder: Option<RoomRecorder>,
}

/// A recorded session's recorder, as its room holds it: where the media plane sends the
/// session's packets, and where the room tells what happens. Dropped with the room, it
/// tells the recorder the session is over.
#[derive(Debug)]
struct RoomRecorder {
    packets: mpsc::UnboundedSender<sfu::RecordedPacket>,
    events: mpsc::UnboundedSender<recorder::session::RecorderEvent>,
}

impl Drop for RoomRecorder {
    fn drop(&mut self) {
        let _ = self
            .events
            .send(recorder::session::RecorderEvent::End { at: now_ms() });
    }
}

/// What a recorded session records: every microphone and shared screen, and the cameras of
/// the chairs, the floor holder and the dominant speaker.
const RECORD_POLICY: sfu::RecordPolicy = sfu::RecordPolicy {
    everyones_low_video: false,
};

#[derive(Debug, Default)]
struct UnitPresence {
    connected: usize,
    since: Option<i64>,
}

#[derive(Debug)]
struct Member {
    info: Participant,
    endpoint: EndpointId,
    /// What let it in (a chair's removal bars it from the session).
    credential: Credential,
    tx: mpsc::UnboundedSender<ServerMessage>,
    /// When it joined (ms).
    joined_at: i64,
    /// Since when it has been speaking (for the attendance record's speaking time).
    speaking_since: Option<i64>,
    /// Its link's quality, sampled with the roll call (for the statistics).
    quality: QualitySamples,
}

/// Round-trip time and loss samples of one endpoint, every [`ROLL_CALL_INTERVAL`]. Bounded:
/// when full, every other sample is dropped (the medians stay representative).
#[derive(Debug, Default)]
struct QualitySamples {
    rtt_ms: Vec<f32>,
    loss_pct: Vec<f32>,
}

/// Samples kept per endpoint (an hour at one every 2 s).
const MAX_QUALITY_SAMPLES: usize = 1_800;

impl QualitySamples {
    fn add(&mut self, s: &LinkStats) {
        for (v, sample) in [
            (&mut self.rtt_ms, s.rtt_ms),
            (&mut self.loss_pct, s.loss.map(|l| l * 100.0)),
        ] {
            let Some(x) = sample.filter(|x| x.is_finite()) else {
                continue;
            };
            if v.len() >= MAX_QUALITY_SAMPLES {
                let mut i = 0;
                v.retain(|_| {
                    i += 1;
                    i % 2 == 0
                });
            }
            v.push(x as f32);
        }
    }

    fn medians(&self) -> crate::db::LinkMedians {
        let median = |v: &[f32]| {
            let mut v = v.to_vec();
            if v.is_empty() {
                return None;
            }
            v.sort_by(f32::total_cmp);
            Some(f64::from(v[v.len() / 2]))
        };
        crate::db::LinkMedians {
            rtt_ms: median(&self.rtt_ms),
            loss_pct: median(&self.loss_pct),
        }
    }
}

impl Room {
    /// Tell the session's recorder, if it is recorded.
    fn tell_recorder(&self, event: recorder::session::RecorderEvent) {
        if let Some(r) = &self.recorder {
            let _ = r.events.send(event);
        }
    }

    /// Send `msg` to every member.
    fn broadcast(&self, msg: &ServerMessage) {
        for m in self.members.values() {
            let _ = m.tx.send(msg.clone());
        }
    }

    /// Shares whose sharer lost the floor (and is no chair) stop; returns whether any did.
    fn drop_unentitled_shares(&mut self) -> bool {
        let members = &self.members;
        self.moderation.drop_unentitled_shares(|id| {
            members.get(id).is_some_and(|m| m.info.role == Role::Chair)
        })
    }

    /// The session's forwarding priorities as the media plane takes them.
    fn policy(&self) -> sfu::SessionPolicy {
        let mut chairs: Vec<EndpointId> = self
            .members
            .values()
            .filter(|m| m.info.role == Role::Chair)
            .map(|m| m.endpoint)
            .collect();
        chairs.sort();
        self.moderation
            .policy(|id| self.members.get(id).map(|m| m.endpoint), chairs)
    }
}

/// A successful join: who we are, who is there, and our inbox of room events.
#[derive(Debug)]
pub struct Joined {
    pub participant: Participant,
    pub endpoint: EndpointId,
    pub session: SessionId,
    /// The host unit, whose room this is.
    pub room: UnitRef,
    pub meeting: MeetingRef,
    pub others: Vec<Participant>,
    /// Room events for this participant (taken by the connection that serves it).
    pub events: Option<mpsc::UnboundedReceiver<ServerMessage>>,
}

/// A live room, for the API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomSummary {
    pub host_unit: String,
    pub name: String,
    pub meeting_id: i64,
    pub participants: usize,
}

/// An open websocket connection, counted by the hub while it lives.
#[derive(Debug)]
pub struct WebsocketGuard {
    hub: Hub,
}

impl Drop for WebsocketGuard {
    fn drop(&mut self) {
        self.hub.inner.websockets.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    pub fn new(
        directory: Directory,
        db: Db,
        sfu: SfuHandle,
        ice_servers: Vec<IceServer>,
        token_key: TokenKey,
        recordings: Option<std::path::PathBuf>,
    ) -> Self {
        Hub {
            inner: Arc::new(HubInner {
                directory: RwLock::new(Arc::new(directory)),
                db,
                sfu,
                ice_servers,
                token_key,
                login_limiter: LoginLimiter::default(),
                rooms: Mutex::new(HashMap::new()),
                next_endpoint: AtomicU64::new(1),
                websockets: AtomicUsize::new(0),
                link_stats: std::sync::Mutex::new(HashMap::new()),
                recordings,
                composites: Arc::new(Composites {
                    permits: tokio::sync::Semaphore::new(
                        std::thread::available_parallelism().map_or(1, |n| n.get()),
                    ),
                    state: std::sync::Mutex::new(HashMap::new()),
                }),
                retention: RwLock::new(Arc::new(Retention::default())),
                disk_reserve: Arc::new(AtomicU64::new(DEFAULT_DISK_RESERVE)),
                stopped_disk_low: AtomicU64::new(0),
                stopped_failed: AtomicU64::new(0),
                remote_recorder: std::sync::OnceLock::new(),
                limits: std::sync::Mutex::new(Limits::default()),
                connections: AddressCounts::default(),
                closing: tokio::sync::watch::Sender::new(false),
                turn: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Start stopping: every websocket, joined or not, is told `bye` `server_shutdown` and
    /// closed, and new ones are at once; the participants leave as after a `leave`, so the
    /// last one out of a room ends its session and its recording. See
    /// [`crate::RunningHub::shutdown`] for the rest.
    pub fn begin_shutdown(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Resolves once [`Hub::begin_shutdown`] was called (at once if it already was).
    pub fn closing(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }

    /// The sessions being recorded now (their recordings' catalogue rows are `recording`).
    pub async fn recorded_sessions(&self) -> Vec<i64> {
        let rooms = self.inner.rooms.lock().await;
        rooms
            .values()
            .filter(|r| r.recorder.is_some())
            .map(|r| r.session.0 as i64)
            .collect()
    }

    /// Wait until none of `sessions`' recordings is still `recording` or `finalising` in the
    /// catalogue (finalised by the recorder in the hub, or by `cau-recorder`'s manifest), or
    /// until `limit`; whether they all were.
    pub async fn recordings_settled(&self, sessions: &[i64], limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let ids = sessions.to_vec();
            let open = self
                .inner
                .db
                .call(move |c| {
                    let mut open = 0;
                    for id in ids {
                        let state: Option<String> = c
                            .query_row(
                                "SELECT state FROM recordings WHERE session_id = ?1",
                                [id],
                                |r| r.get(0),
                            )
                            .optional()?;
                        if matches!(
                            state.as_deref(),
                            Some(crate::archive::RECORDING | crate::archive::FINALISING)
                        ) {
                            open += 1;
                        }
                    }
                    Ok(open)
                })
                .await;
            match open {
                Ok(0) => return true,
                Ok(_) if tokio::time::Instant::now() < deadline => {}
                Ok(open) => {
                    tracing::warn!(open, "recordings not finalised before the shutdown's limit");
                    return false;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the recordings' state");
                    return false;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Record sessions with a recorder process (`cau-recorder`) instead of in-process (set at
    /// start, from `--recorder remote`; once).
    pub fn set_remote_recorder(&self, remote: crate::remote_recorder::RemoteRecorders) {
        let _ = self.inner.remote_recorder.set(Arc::new(remote));
    }

    /// The remote recorder's side, when sessions are recorded by `cau-recorder`.
    pub fn remote_recorder(&self) -> Option<&Arc<crate::remote_recorder::RemoteRecorders>> {
        self.inner.remote_recorder.get()
    }

    /// `cau-recorder` finished a session (at its end, or at its own next start after a crash
    /// cut it short): catalogue its manifest and, for a whole session, make its archive view.
    /// `Ok(false)`: the catalogue has no such recording (or it was destroyed).
    pub async fn remote_recording_finished(
        &self,
        manifest: recorder::session::Manifest,
    ) -> Result<bool, crate::db::DbError> {
        let (meeting, session) = (manifest.session.meeting_id, manifest.session.session_id);
        let relative = format!("{meeting}/{session}");
        let (m, rel) = (manifest.clone(), relative.clone());
        let known = self
            .inner
            .db
            .call(move |c| {
                let known: Option<i64> = c
                    .query_row(
                        "SELECT meeting_id FROM recordings
                          WHERE session_id = ?1 AND deleted_at IS NULL",
                        [session],
                        |r| r.get(0),
                    )
                    .optional()?;
                if known != Some(meeting) {
                    return Ok(false);
                }
                crate::archive::finished(c, &m, &rel)?;
                Ok(true)
            })
            .await?;
        if !known {
            return Ok(false);
        }
        tracing::info!(
            meeting,
            session,
            files = manifest.files.len(),
            interrupted = manifest.interrupted,
            "the recorder finished a session"
        );
        if let Some(root) = &self.inner.recordings
            && !manifest.interrupted
        {
            let dir = root.join(meeting.to_string()).join(session.to_string());
            let (db, composites) = (self.inner.db.clone(), self.inner.composites.clone());
            tokio::spawn(make_composite(db, composites, dir, relative, manifest));
        }
        Ok(true)
    }

    /// What the database knows of a session a crash cut short (for `cau-recorder`, which
    /// finishes it); `None` for an unknown session.
    pub async fn interrupted_session(
        &self,
        session: i64,
    ) -> Result<Option<recorder::session::Interrupted>, crate::db::DbError> {
        crate::recordings::known_session(&self.inner.db, self.directory(), session).await
    }

    /// Recording stops when the archive's disk has less than `bytes` left (set at start, from
    /// the configuration; running recordings follow a change).
    pub fn set_disk_reserve(&self, bytes: u64) {
        self.inner.disk_reserve.store(bytes, Ordering::Relaxed);
    }

    /// Set what clients may send and open (`--max-…`).
    pub fn set_limits(&self, limits: Limits) {
        *self.inner.limits.lock().unwrap_or_else(|e| e.into_inner()) = limits;
    }

    /// What clients may send and open.
    pub fn limits(&self) -> Limits {
        *self.inner.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Websockets open per client address.
    pub fn connections(&self) -> &AddressCounts {
        &self.inner.connections
    }

    /// The space recording leaves free on the archive's disk (bytes).
    pub fn disk_reserve(&self) -> u64 {
        self.inner.disk_reserve.load(Ordering::Relaxed)
    }

    /// Recordings stopped before their session ended since the start: (for low disk, by a
    /// failure).
    pub fn recordings_stopped(&self) -> (u64, u64) {
        (
            self.inner.stopped_disk_low.load(Ordering::Relaxed),
            self.inner.stopped_failed.load(Ordering::Relaxed),
        )
    }

    /// A recording stopped before its session ended (`disk_low`, `failed`): the media plane
    /// stops feeding it, everyone in the session hears it in `meeting_state`, the chairs see
    /// why, and the metrics count it.
    async fn recording_stopped(&self, room_code: &str, session: SessionId, reason: &str) {
        let mut rooms = self.inner.rooms.lock().await;
        let Some(room) = rooms.get_mut(room_code).filter(|r| r.session == session) else {
            return;
        };
        let counter = if reason == recorder::session::STOPPED_DISK_LOW {
            &self.inner.stopped_disk_low
        } else {
            &self.inner.stopped_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.inner.sfu.set_recording(session, None);
        room.moderation.recording = Some(RecordingState {
            state: RecordingStatus::Stopped,
            reason: Some(reason.to_string()),
        });
        room.recorder = None;
        room.broadcast(&room.moderation.message());
    }

    /// The meeting classes in force.
    pub fn retention(&self) -> Arc<Retention> {
        self.inner
            .retention
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replace the meeting classes' periods (at start, from the configuration).
    pub fn set_retention(&self, retention: Retention) {
        *self
            .inner
            .retention
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(retention);
    }

    /// Counts a websocket connection as open until the returned guard is dropped.
    pub fn websocket_opened(&self) -> WebsocketGuard {
        self.inner.websockets.fetch_add(1, Ordering::Relaxed);
        WebsocketGuard { hub: self.clone() }
    }

    /// Websocket connections open now.
    pub fn websockets(&self) -> usize {
        self.inner.websockets.load(Ordering::Relaxed)
    }

    /// The directory now in force (a reload replaces it; holders keep their snapshot).
    pub fn directory(&self) -> Arc<Directory> {
        self.inner
            .directory
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn replace_directory(&self, directory: Directory) {
        *self
            .inner
            .directory
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(directory);
    }

    pub fn sfu(&self) -> &SfuHandle {
        &self.inner.sfu
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The ICE servers `participant` is told at its `welcome`: the fixed ones, and the TURN
    /// servers with credentials of its own.
    pub fn ice_servers_for(&self, participant: &str) -> Vec<IceServer> {
        let mut servers = self.inner.ice_servers.clone();
        if let Some(turn) = self.inner.turn.get() {
            servers.push(turn.ice_server(participant));
        }
        servers
    }

    /// Hand clients credentials for these TURN servers (set at start; once).
    pub fn set_turn(&self, turn: crate::turn::Turn) {
        let _ = self.inner.turn.set(turn);
    }

    /// Whether clients are handed TURN servers.
    pub fn has_turn(&self) -> bool {
        self.inner.turn.get().is_some()
    }

    pub fn token_key(&self) -> &TokenKey {
        &self.inner.token_key
    }

    /// Where a session's archive view stands, while it is not in its manifest.
    pub fn composite_state(&self, session: i64) -> Option<CompositeState> {
        self.inner
            .composites
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&session)
            .cloned()
    }

    /// Where recorded sessions are written, if anywhere.
    pub fn recordings_dir(&self) -> Option<&std::path::Path> {
        self.inner.recordings.as_deref()
    }

    pub fn login_limiter(&self) -> &LoginLimiter {
        &self.inner.login_limiter
    }

    /// Join the admitted participant to its meeting's room.
    pub async fn join(&self, admission: Admission, name: String) -> Result<Joined, ErrorCode> {
        let dir = self.directory();
        let meeting = &admission.meeting;
        let host_id = meeting.host_unit.clone();
        let Some(host) = dir.get(&host_id).map(UnitRef::from) else {
            tracing::warn!(
                meeting = meeting.id,
                "host unit is no longer in the directory"
            );
            return Err(ErrorCode::Forbidden);
        };
        let endpoint = EndpointId(self.inner.next_endpoint.fetch_add(1, Ordering::Relaxed));
        let participant = Participant {
            id: endpoint.to_string(),
            name,
            unit: admission.unit.clone(),
            role: admission.role,
            audio_muted: false,
            video_muted: false,
            tracks: vec![],
        };
        let internal = |what: &'static str| {
            move |e: crate::db::DbError| {
                tracing::error!(error = %e, "cannot record {what}");
                ErrorCode::Internal
            }
        };
        let (tx, events) = mpsc::unbounded_channel();
        let mut rooms = self.inner.rooms.lock().await;
        if let Some(room) = rooms.get(&host_id) {
            if room.meeting.id != meeting.id {
                return Err(ErrorCode::RoomBusy);
            }
            if room.moderation.is_barred(&admission.credential) {
                return Err(ErrorCode::Removed);
            }
            if room.moderation.locked() && admission.role != Role::Chair {
                return Err(ErrorCode::SessionLocked);
            }
            // The host's cap counts every endpoint, and so does the hub's own
            // (`--max-endpoints-per-session`); a chair always gets in.
            let hub_cap = self.limits().endpoints_per_session;
            let cap = meeting
                .max_endpoints
                .map_or(hub_cap, |c| (c as usize).min(hub_cap));
            if admission.role != Role::Chair && room.members.len() >= cap {
                let cap = u32::try_from(cap).unwrap_or(u32::MAX);
                tracing::info!(meeting = meeting.id, cap, unit = %admission.unit.id, "join refused: meeting full");
                let notice = ServerMessage::JoinRefused {
                    unit: admission.unit.clone(),
                    name: participant.name.clone(),
                    code: ErrorCode::MeetingFull,
                    max_endpoints: cap,
                };
                for m in room.members.values().filter(|m| m.info.role == Role::Chair) {
                    let _ = m.tx.send(notice.clone());
                }
                return Err(ErrorCode::MeetingFull);
            }
        }
        if !rooms.contains_key(&host_id) {
            let meeting_id = meeting.id;
            let was_planned = meeting.state == MeetingState::Planned;
            let room_code = host_id.clone();
            let (session, invited) = self
                .inner
                .db
                .call(move |c| {
                    if was_planned {
                        meetings::set_state(c, meeting_id, MeetingState::Live)?;
                        meetings::add_history(
                            c,
                            meeting_id,
                            "system",
                            "live",
                            serde_json::json!({}),
                            now_ms(),
                        )?;
                    }
                    let invited = meetings::invites(c, meeting_id)?;
                    c.execute(
                        "INSERT INTO sessions (room_code, started_at, meeting_id) VALUES (?1, ?2, ?3)",
                        rusqlite::params![room_code, now_ms(), meeting_id],
                    )?;
                    Ok((c.last_insert_rowid(), invited))
                })
                .await
                .map_err(internal("session start"))?;
            // Invited units in directory order; units gone from the directory are left out.
            let invited_set: std::collections::HashSet<String> = invited.into_iter().collect();
            let invited: Vec<String> = dir
                .units()
                .iter()
                .filter(|u| invited_set.contains(&u.id))
                .map(|u| u.id.clone())
                .collect();
            tracing::info!(room = %host_id, meeting = meeting.id, session, "session started");
            let recorder = if meeting.recorded {
                let info = recorder::session::SessionInfo {
                    meeting_id: meeting.id,
                    session_id: session,
                    title: meeting.title.clone(),
                    host_unit: host.id.clone(),
                    host_name: host.name.clone(),
                    invited: invited.clone(),
                    started_at: now_ms(),
                };
                self.start_recorder(SessionId(session as u64), info, &meeting.class)
            } else {
                None
            };
            rooms.insert(
                host_id.clone(),
                Room {
                    meeting: MeetingRef {
                        id: meeting.id,
                        title: meeting.title.clone(),
                        start: admission.occurrence.start,
                        end: admission.occurrence.end,
                        chair_person: meeting.chair_person.clone(),
                    },
                    occurrence_end: admission.occurrence.end,
                    host: host.clone(),
                    session: SessionId(session as u64),
                    started_at: now_ms(),
                    members: BTreeMap::new(),
                    invited,
                    presence: HashMap::new(),
                    last_roll_call: None,
                    moderation: SessionModeration::recorded(recorder.is_some()),
                    recorder,
                },
            );
        }
        let Some(room) = rooms.get_mut(&host_id) else {
            return Err(ErrorCode::Internal);
        };
        let (session_id, pid, pname, unit_id) = (
            room.session.0 as i64,
            participant.id.clone(),
            participant.name.clone(),
            participant.unit.id.clone(),
        );
        self.inner
            .db
            .participant_joined(session_id, pid, pname, unit_id)
            .await
            .map_err(internal("participant join"))?;
        let others: Vec<Participant> = room.members.values().map(|m| m.info.clone()).collect();
        for m in room.members.values() {
            let _ = m.tx.send(ServerMessage::ParticipantJoined {
                participant: participant.clone(),
            });
        }
        let presence = room
            .presence
            .entry(participant.unit.id.clone())
            .or_default();
        presence.connected += 1;
        if presence.connected == 1 {
            presence.since = Some(now_ms());
        }
        room.tell_recorder(recorder::session::RecorderEvent::Joined {
            endpoint,
            participant: recorder::session::ParticipantInfo {
                participant_id: participant.id.clone(),
                name: participant.name.clone(),
                unit_id: participant.unit.id.clone(),
                unit_name: participant.unit.name.clone(),
                role: participant.role.as_str().to_string(),
            },
            at: now_ms(),
        });
        room.members.insert(
            participant.id.clone(),
            Member {
                info: participant.clone(),
                endpoint,
                credential: admission.credential.clone(),
                tx,
                joined_at: now_ms(),
                speaking_since: None,
                quality: QualitySamples::default(),
            },
        );
        // Right after its welcome: the floor and moderation state, and for a chair the roll
        // call (a new chair also changes the media plane's priorities).
        if let Some(m) = room.members.get(&participant.id) {
            let _ = m.tx.send(room.moderation.message());
        }
        if participant.role == Role::Chair {
            let stats = self.stats_snapshot();
            let (msg, _) = roll_call(room, &dir, &stats);
            if let Some(m) = room.members.get(&participant.id) {
                let _ = m.tx.send(msg);
            }
            self.push_policy(room);
        }
        Ok(Joined {
            participant,
            endpoint,
            session: room.session,
            room: host,
            meeting: room.meeting.clone(),
            others,
            events: Some(events),
        })
    }

    /// The media plane says `participant_id` started or stopped speaking: its speaking time
    /// is added to its participation when it stops (or leaves while speaking).
    pub async fn speaking(&self, room_code: &str, participant_id: &str, speaking: bool) {
        let spoke = {
            let mut rooms = self.inner.rooms.lock().await;
            let Some(room) = rooms.get_mut(room_code) else {
                return;
            };
            let session = room.session.0 as i64;
            let Some(member) = room.members.get(participant_id) else {
                return;
            };
            let now = now_ms();
            room.tell_recorder(recorder::session::RecorderEvent::Speaking {
                endpoint: member.endpoint,
                speaking,
                at: now,
            });
            let Some(member) = room.members.get_mut(participant_id) else {
                return;
            };
            match (speaking, member.speaking_since) {
                (true, None) => {
                    member.speaking_since = Some(now);
                    None
                }
                (false, Some(since)) => {
                    member.speaking_since = None;
                    Some((session, now - since))
                }
                _ => None,
            }
        };
        if let Some((session, ms)) = spoke {
            let db = &self.inner.db;
            if let Err(e) = db.spoke(session, participant_id.to_string(), ms).await {
                tracing::error!(error = %e, "cannot record speaking time");
            }
        }
    }

    /// The participant left (or was dropped). Ends the session when the room empties, and
    /// the meeting too when that happens after its scheduled end.
    pub async fn leave(&self, room_code: &str, participant_id: &str, reason: LeaveReason) {
        let mut rooms = self.inner.rooms.lock().await;
        let Some(room) = rooms.get_mut(room_code) else {
            return;
        };
        if self.depart(room, participant_id, reason).await.is_none() {
            return;
        }
        if room.members.is_empty() {
            let session = room.session.0 as i64;
            let meeting = room.meeting.id;
            // A hub stopping ends the session, not the meeting: it goes on after the restart.
            let over = reason != LeaveReason::ServerShutdown && now_ms() >= room.occurrence_end;
            rooms.remove(room_code);
            let db = &self.inner.db;
            if let Err(e) = db.session_ended(session).await {
                tracing::error!(error = %e, "cannot record session end");
            }
            tracing::info!(room = room_code, session, "session ended");
            if over && let Err(e) = self.finish_meeting(meeting, "system").await {
                tracing::error!(error = %e, "cannot record meeting end");
            }
        }
    }

    /// Take a participant out of its room: the others hear its tracks are gone and that it
    /// left; its unit's presence, its hand, floor and mutes by the chair go (with a
    /// `meeting_state` and new priorities for the media plane when that changed anything);
    /// the database records the leave. `None` when it was not there.
    async fn depart(
        &self,
        room: &mut Room,
        participant_id: &str,
        reason: LeaveReason,
    ) -> Option<Member> {
        let gone = room.members.remove(participant_id)?;
        room.tell_recorder(recorder::session::RecorderEvent::Left {
            endpoint: gone.endpoint,
            at: now_ms(),
        });
        for m in room.members.values() {
            for track in &gone.info.tracks {
                let _ = m.tx.send(ServerMessage::TrackRemoved {
                    participant_id: participant_id.to_string(),
                    track: track.clone(),
                });
            }
            let _ = m.tx.send(ServerMessage::ParticipantLeft {
                participant_id: participant_id.to_string(),
                reason,
            });
        }
        if let Some(p) = room.presence.get_mut(&gone.info.unit.id) {
            p.connected = p.connected.saturating_sub(1);
            if p.connected == 0 {
                p.since = Some(now_ms());
            }
        }
        let changed = room.moderation.forget(participant_id);
        if changed {
            room.broadcast(&room.moderation.message());
        }
        if (changed || gone.info.role == Role::Chair) && !room.members.is_empty() {
            self.push_policy(room);
        }
        let session = room.session.0 as i64;
        self.record_leave(session, participant_id, &gone, reason.as_str())
            .await;
        Some(gone)
    }

    /// Write a member's leave to its participation: the speaking it was still doing, its
    /// link's quality medians, when and why it left.
    async fn record_leave(
        &self,
        session: i64,
        participant_id: &str,
        m: &Member,
        reason: &'static str,
    ) {
        let db = &self.inner.db;
        if let Some(since) = m.speaking_since
            && let Err(e) = db
                .spoke(session, participant_id.into(), now_ms() - since)
                .await
        {
            tracing::error!(error = %e, "cannot record speaking time");
        }
        let quality = m.quality.medians();
        if let Err(e) = db
            .participant_left(session, participant_id.into(), reason, quality)
            .await
        {
            tracing::error!(error = %e, "cannot record participant leave");
        }
    }

    /// Tell the media plane the session's priorities (floor, chairs, mutes by the chair,
    /// shared screens) and, for a recorded session, where its recorder takes packets.
    fn push_policy(&self, room: &Room) {
        self.inner.sfu.set_policy(room.session, room.policy());
        if let Some(r) = &room.recorder {
            self.inner
                .sfu
                .set_recording(room.session, Some((RECORD_POLICY, r.packets.clone())));
        }
    }

    /// Start recording a session into `RECORDINGS/MEETING/SESSION/` (see
    /// [`recorder::session`]); `None` when the hub records nothing.
    fn start_recorder(
        &self,
        session: SessionId,
        info: recorder::session::SessionInfo,
        class: &str,
    ) -> Option<RoomRecorder> {
        let root = self.inner.recordings.as_ref()?;
        let keep = crate::archive::Keep {
            class: class.to_string(),
            until: self.retention().keep_until(class, info.started_at),
        };
        let dir = root
            .join(info.meeting_id.to_string())
            .join(info.session_id.to_string());
        let (packets, packets_rx) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let sfu = self.inner.sfu.clone();
        let keyframe = move |endpoint, source| sfu.recorder_keyframe(session, endpoint, source);
        let origin = std::time::Instant::now();
        let (meeting, session_id) = (info.meeting_id, info.session_id);
        let relative = format!("{meeting}/{session_id}");
        tracing::info!(meeting, session = session_id, dir = %dir.display(), "recording the session");
        let db = self.inner.db.clone();
        let composites = self.inner.composites.clone();
        let directory = self.directory();
        let session_dir = dir.clone();
        let guard = recorder::disk::DiskGuard::of(&dir, self.inner.disk_reserve.clone());
        let (hub, room_code) = (self.clone(), info.host_unit.clone());
        let remote = self.remote_recorder().cloned();
        tokio::spawn(async move {
            let catalogue = |what: &'static str, r: Result<(), crate::db::DbError>| {
                if let Err(e) = r {
                    tracing::error!(session = session_id, error = %e, "cannot catalogue {what}");
                }
            };
            let (row, rel) = (info.clone(), relative.clone());
            let r = db
                .call(move |c| crate::archive::started(c, &row, &rel, &keep))
                .await;
            catalogue("a recording's start", r);
            let ending_db = db.clone();
            let ending = move |at| {
                tokio::spawn(async move {
                    let r = ending_db
                        .call(move |c| crate::archive::finalising(c, session_id, at))
                        .await;
                    if let Err(e) = r {
                        tracing::error!(session = session_id, error = %e, "cannot catalogue a recording's end");
                    }
                });
            };
            if let Some(remote) = remote {
                // Relayed to `cau-recorder`, which sends the manifest when it has finished
                // (`POST /api/recorder/sessions/{id}/manifest` catalogues it).
                use recorder::remote::relay::{RelayEnd, relay};
                let attach = remote.register(meeting, session_id, session);
                let end = relay(info, packets_rx, events_rx, attach, remote.relay_config()).await;
                remote.unregister(session_id);
                match end {
                    RelayEnd::Done => ending(now_ms()),
                    RelayEnd::Lost => {
                        let reason = recorder::remote::STOPPED_RECORDER_LOST;
                        hub.recording_stopped(&room_code, session, reason).await;
                    }
                    RelayEnd::NoRecorder => {
                        let reason = recorder::remote::STOPPED_NO_RECORDER;
                        hub.recording_stopped(&room_code, session, reason).await;
                        let r = db
                            .call(move |c| crate::archive::damaged(c, session_id, now_ms()))
                            .await;
                        catalogue("a recording no recorder came for", r);
                    }
                }
                return;
            }
            // The recorder runs as a task of its own: should it panic, the meeting goes on
            // (the media plane finds its packets refused and stops feeding it) and what it
            // wrote is finished here as after a crash.
            let recorded = tokio::spawn(recorder::session::record_session(
                dir, info, origin, packets_rx, events_rx, keyframe, ending, guard,
            ))
            .await;
            let stopped = match &recorded {
                Ok(Ok(m)) => m.stopped.clone(),
                _ => Some("failed".to_string()),
            };
            if let Some(reason) = stopped {
                hub.recording_stopped(&room_code, session, &reason).await;
            }
            match recorded {
                Err(panicked) => {
                    tracing::error!(meeting, session = session_id, error = %panicked, "the recorder stopped; finishing what it wrote");
                    crate::recordings::finish_interrupted(
                        &db,
                        directory,
                        meeting,
                        session_id,
                        session_dir,
                    )
                    .await;
                }
                Ok(Ok(m)) => {
                    tracing::info!(
                        meeting,
                        session = session_id,
                        files = m.files.len(),
                        bytes = m.files.iter().map(|f| f.bytes).sum::<u64>(),
                        problems = m.problems.len(),
                        "recording finalised"
                    );
                    let (m2, rel) = (m.clone(), relative.clone());
                    let r = db
                        .call(move |c| crate::archive::finished(c, &m2, &rel))
                        .await;
                    catalogue("a finished recording", r);
                    make_composite(db, composites, session_dir, relative, m).await;
                }
                Ok(Err(e)) => {
                    tracing::error!(meeting, session = session_id, error = %e, "recording failed");
                    let r = db
                        .call(move |c| crate::archive::damaged(c, session_id, now_ms()))
                        .await;
                    catalogue("a failed recording", r);
                }
            }
        });
        Some(RoomRecorder { packets, events })
    }

    /// Mark a meeting's occurrence over: `ended`, or `planned` again when another follows.
    async fn finish_meeting(&self, meeting: i64, by: &str) -> Result<(), crate::db::DbError> {
        let by = by.to_string();
        self.inner
            .db
            .call(move |c| {
                let Some(m) = meetings::get(c, meeting)? else {
                    return Ok(());
                };
                if !m.state.is_open() {
                    return Ok(());
                }
                let now = now_ms();
                let next = m.all_occurrences().into_iter().find(|o| o.start > now);
                let state = if next.is_some() {
                    MeetingState::Planned
                } else {
                    MeetingState::Ended
                };
                meetings::set_state(c, meeting, state)?;
                meetings::add_history(c, meeting, &by, "ended", serde_json::json!({}), now)?;
                Ok(())
            })
            .await
    }

    /// End a meeting now: everyone in its room gets `bye` `meeting_ended`, and the meeting's
    /// state moves on. Returns whether it was live in a room.
    pub async fn end_meeting(&self, meeting: i64, by: &str) -> Result<bool, crate::db::DbError> {
        let mut rooms = self.inner.rooms.lock().await;
        let code = rooms
            .iter()
            .find(|(_, r)| r.meeting.id == meeting)
            .map(|(code, _)| code.clone());
        let was_live = if let Some(code) = code
            && let Some(room) = rooms.remove(&code)
        {
            let session = room.session.0 as i64;
            for (id, m) in &room.members {
                let _ = m.tx.send(ServerMessage::Bye {
                    reason: ByeReason::MeetingEnded,
                });
                self.record_leave(session, id, m, "meeting_ended").await;
            }
            self.inner.db.session_ended(session).await?;
            tracing::info!(room = %code, meeting, session, by, "meeting ended by its chair or staff");
            true
        } else {
            false
        };
        drop(rooms);
        self.finish_meeting(meeting, by).await?;
        Ok(was_live)
    }

    /// Record a mute change and tell the others. Unmuting what the chair muted is refused
    /// (`forbidden`) unless the chair allows it or the participant has the floor; when
    /// allowed, the chair's mute is lifted.
    pub async fn set_mute(
        &self,
        room_code: &str,
        participant_id: &str,
        kind: TrackKind,
        muted: bool,
    ) -> Result<(), ErrorCode> {
        let mut rooms = self.inner.rooms.lock().await;
        let Some(room) = rooms.get_mut(room_code) else {
            return Ok(());
        };
        let mut lifted = false;
        if !muted && room.moderation.is_chair_muted(participant_id, kind) {
            if !room.moderation.may_unmute(participant_id) {
                return Err(ErrorCode::Forbidden);
            }
            lifted = room.moderation.lift(participant_id, kind);
        }
        if let Some(me) = room.members.get_mut(participant_id) {
            match kind {
                TrackKind::Audio => me.info.audio_muted = muted,
                TrackKind::Video => me.info.video_muted = muted,
            }
        }
        if let Some(me) = room.members.get(participant_id) {
            room.tell_recorder(recorder::session::RecorderEvent::Muted {
                endpoint: me.endpoint,
                kind: kind.as_str().to_string(),
                muted,
                at: now_ms(),
            });
        }
        for (id, m) in &room.members {
            if id != participant_id {
                let _ = m.tx.send(ServerMessage::MuteChanged {
                    participant_id: participant_id.to_string(),
                    kind,
                    muted,
                });
            }
        }
        if lifted {
            room.broadcast(&room.moderation.message());
            self.push_policy(room);
        }
        Ok(())
    }

    /// The participant's media now carries `track`: remember it and tell the others.
    pub async fn track_published(
        &self,
        room_code: &str,
        participant_id: &str,
        track: PublishedTrack,
    ) {
        let mut rooms = self.inner.rooms.lock().await;
        let Some(room) = rooms.get_mut(room_code) else {
            return;
        };
        let Some(me) = room.members.get_mut(participant_id) else {
            return;
        };
        if me.info.tracks.contains(&track) {
            return;
        }
        me.info.tracks.push(track.clone());
        for (id, m) in &room.members {
            if id != participant_id {
                let _ = m.tx.send(ServerMessage::TrackPublished {
                    participant_id: participant_id.to_string(),
                    track: track.clone(),
                });
            }
        }
    }

    /// Rooms with someone in them.
    pub async fn rooms(&self) -> Vec<RoomSummary> {
        let rooms = self.inner.rooms.lock().await;
        let mut list: Vec<RoomSummary> = rooms
            .iter()
            .map(|(code, r)| RoomSummary {
                host_unit: code.clone(),
                name: r.host.name.clone(),
                meeting_id: r.meeting.id,
                participants: r.members.len(),
            })
            .collect();
        list.sort_by(|a, b| a.host_unit.cmp(&b.host_unit));
        list
    }

    fn stats_snapshot(&self) -> HashMap<EndpointId, LinkStats> {
        self.inner
            .link_stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The roll call of a live meeting, or `None` when it is not live in any room.
    pub async fn roll_call_of(&self, meeting: i64) -> Option<ServerMessage> {
        let dir = self.directory();
        let stats = self.stats_snapshot();
        let rooms = self.inner.rooms.lock().await;
        rooms
            .values()
            .find(|r| r.meeting.id == meeting)
            .map(|r| roll_call(r, &dir, &stats).0)
    }

    /// Refresh link statistics and send each chair the roll call when it changed.
    pub async fn refresh_roll_calls(&self) {
        if let Ok(stats) = self.inner.sfu.link_stats().await {
            *self
                .inner
                .link_stats
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = stats;
        }
        let dir = self.directory();
        let stats = self.stats_snapshot();
        let mut rooms = self.inner.rooms.lock().await;
        for room in rooms.values_mut() {
            for m in room.members.values_mut() {
                if let Some(s) = stats.get(&m.endpoint) {
                    m.quality.add(s);
                }
            }
            if !room.members.values().any(|m| m.info.role == Role::Chair) {
                continue;
            }
            let (msg, entries) = roll_call(room, &dir, &stats);
            if room.last_roll_call.as_ref() == Some(&entries) {
                continue;
            }
            for m in room.members.values().filter(|m| m.info.role == Role::Chair) {
                let _ = m.tx.send(msg.clone());
            }
            room.last_roll_call = Some(entries);
        }
    }

    /// Run [`Hub::refresh_roll_calls`] every [`ROLL_CALL_INTERVAL`] until the hub is dropped.
    pub fn spawn_roll_call_task(&self) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(ROLL_CALL_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                Hub { inner }.refresh_roll_calls().await;
            }
        })
    }
}

/// Round to a sensible precision for display (and so tiny changes do not count as changes).
fn round(v: f64, step: f64) -> f64 {
    (v / step).round() * step
}

/// Build a room's roll call: every invited unit with its presence and the link quality of
/// its best-connected participant (the one sending the most).
fn roll_call(
    room: &Room,
    dir: &Directory,
    stats: &HashMap<EndpointId, LinkStats>,
) -> (ServerMessage, Vec<RollCallEntry>) {
    let mut best: HashMap<&str, &LinkStats> = HashMap::new();
    for m in room.members.values() {
        if let Some(s) = stats.get(&m.endpoint) {
            let e = best.entry(m.info.unit.id.as_str()).or_insert(s);
            if s.bitrate_kbps.unwrap_or(0.0) > e.bitrate_kbps.unwrap_or(0.0) {
                *e = s;
            }
        }
    }
    let mut units: Vec<&String> = room.invited.iter().collect();
    // Someone may be present for a unit that is not invited (a chair unit outside the
    // scope is always invited, so this is only after a directory change): list them too.
    for id in room.presence.keys() {
        if !room.invited.contains(id) {
            units.push(id);
        }
    }
    let entries: Vec<RollCallEntry> = units
        .into_iter()
        .map(|id| {
            let unit = dir.get(id);
            let presence = room.presence.get(id);
            let status = match presence {
                Some(p) if p.connected > 0 => Presence::Connected,
                Some(_) => Presence::Left,
                None => Presence::NotYet,
            };
            let quality = best
                .get(id.as_str())
                .filter(|_| status == Presence::Connected);
            RollCallEntry {
                unit_id: id.clone(),
                name: unit.map_or_else(|| id.clone(), |u| u.name.clone()),
                tier: unit.map(|u| u.tier.clone()).unwrap_or_default(),
                parent: unit.and_then(|u| u.parent.clone()),
                status,
                participants: presence.map_or(0, |p| p.connected),
                since: presence.and_then(|p| p.since),
                rtt_ms: quality.and_then(|q| q.rtt_ms).map(|v| round(v, 1.0)),
                loss: quality.and_then(|q| q.loss).map(|v| round(v, 0.001)),
                jitter_ms: quality.and_then(|q| q.jitter_ms).map(|v| round(v, 1.0)),
                bitrate_kbps: quality.and_then(|q| q.bitrate_kbps).map(|v| round(v, 1.0)),
            }
        })
        .collect();
    let connected = entries
        .iter()
        .filter(|e| e.status == Presence::Connected)
        .count();
    let msg = ServerMessage::RollCall {
        units: entries.clone(),
        connected,
        invited: room.invited.len(),
    };
    (msg, entries)
}

/// Make a finished session's archive view (once a core is free), then put it in the
/// manifest and the catalogue. A failure is logged and kept as the view's state; the
/// recording stays as it is.
async fn make_composite(
    db: Db,
    composites: Arc<Composites>,
    dir: std::path::PathBuf,
    relative: String,
    mut manifest: recorder::session::Manifest,
) {
    let session = manifest.session.session_id;
    composites.set(session, CompositeState::Queued);
    let Ok(_permit) = composites.permits.acquire().await else {
        return;
    };
    composites.set(session, CompositeState::Making(0.0));
    let (progress, m, d) = (composites.clone(), manifest.clone(), dir.clone());
    let made = tokio::task::spawn_blocking(move || {
        recorder::composite::make(&d, &m, |p| progress.set(session, CompositeState::Making(p)))
    })
    .await;
    match made {
        Ok(Ok(Some(view))) => {
            tracing::info!(session, bytes = view.bytes, "archive view made");
            manifest.composite = Some(view);
            let written = {
                let (d, m) = (dir.clone(), manifest.clone());
                tokio::task::spawn_blocking(move || recorder::session::write_manifest(&d, &m)).await
            };
            if !matches!(written, Ok(Ok(()))) {
                tracing::error!(session, "cannot write the manifest with the archive view");
            }
            if let Err(e) = db
                .call(move |c| crate::archive::finished(c, &manifest, &relative))
                .await
            {
                tracing::error!(session, error = %e, "cannot catalogue the archive view");
            }
            composites
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&session);
        }
        Ok(Ok(None)) => composites.set(session, CompositeState::Failed("nothing recorded".into())),
        Ok(Err(e)) => {
            tracing::warn!(session, error = %e, "no archive view");
            composites.set(session, CompositeState::Failed(e.to_string()));
        }
        Err(e) => {
            tracing::error!(session, error = %e, "making the archive view failed");
            composites.set(session, CompositeState::Failed(e.to_string()));
        }
    }
}
