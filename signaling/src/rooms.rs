//! Live rooms: which participants are in each unit's standing room right now, and the
//! fan-out of room events (joined, left, mute) to every member's connection.
//!
//! A room's session opens when its first participant joins and ends when the last one leaves;
//! both are recorded in the database with every participant's join and leave.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sfu::{EndpointId, SessionId, SfuHandle};
use tokio::sync::{Mutex, mpsc};

use crate::db::Db;
use crate::directory::Directory;
use crate::protocol::{
    ErrorCode, IceServer, LeaveReason, Participant, PublishedTrack, ServerMessage, TrackKind,
    UnitRef,
};

/// Everything a connection needs, shared by all of them.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

#[derive(Debug)]
struct HubInner {
    directory: Directory,
    db: Db,
    sfu: SfuHandle,
    ice_servers: Vec<IceServer>,
    rooms: Mutex<HashMap<String, Room>>,
    next_endpoint: AtomicU64,
}

#[derive(Debug)]
struct Room {
    name: String,
    session: SessionId,
    members: BTreeMap<String, Member>,
}

#[derive(Debug)]
struct Member {
    info: Participant,
    tx: mpsc::UnboundedSender<ServerMessage>,
}

/// A successful join: who we are, who is there, and our inbox of room events.
#[derive(Debug)]
pub struct Joined {
    pub participant: Participant,
    pub endpoint: EndpointId,
    pub session: SessionId,
    pub room: UnitRef,
    pub others: Vec<Participant>,
    /// Room events for this participant (taken by the connection that serves it).
    pub events: Option<mpsc::UnboundedReceiver<ServerMessage>>,
}

/// A live room, for the start page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomSummary {
    pub code: String,
    pub name: String,
    pub participants: usize,
}

impl Hub {
    pub fn new(directory: Directory, db: Db, sfu: SfuHandle, ice_servers: Vec<IceServer>) -> Self {
        Hub {
            inner: Arc::new(HubInner {
                directory,
                db,
                sfu,
                ice_servers,
                rooms: Mutex::new(HashMap::new()),
                next_endpoint: AtomicU64::new(1),
            }),
        }
    }

    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    pub fn sfu(&self) -> &SfuHandle {
        &self.inner.sfu
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn ice_servers(&self) -> &[IceServer] {
        &self.inner.ice_servers
    }

    /// Join the standing room of unit `room_code`, speaking for unit `unit_code`.
    pub async fn join(
        &self,
        room_code: &str,
        unit_code: &str,
        name: String,
    ) -> Result<Joined, ErrorCode> {
        let dir = &self.inner.directory;
        let (Some(room_unit), Some(unit)) = (dir.get(room_code), dir.get(unit_code)) else {
            return Err(ErrorCode::UnknownUnit);
        };
        let endpoint = EndpointId(self.inner.next_endpoint.fetch_add(1, Ordering::Relaxed));
        let participant = Participant {
            id: endpoint.to_string(),
            name,
            unit: UnitRef {
                code: unit.code.clone(),
                name: unit.name.clone(),
            },
            audio_muted: false,
            video_muted: false,
            tracks: vec![],
        };
        let (tx, events) = mpsc::unbounded_channel();
        let mut rooms = self.inner.rooms.lock().await;
        if !rooms.contains_key(room_code) {
            let id = self
                .inner
                .db
                .session_started(room_code.to_string())
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot record session start");
                    ErrorCode::Internal
                })?;
            tracing::info!(room = room_code, session = id, "session started");
            rooms.insert(
                room_code.to_string(),
                Room {
                    name: room_unit.name.clone(),
                    session: SessionId(id as u64),
                    members: BTreeMap::new(),
                },
            );
        }
        let Some(room) = rooms.get_mut(room_code) else {
            return Err(ErrorCode::Internal);
        };
        if let Err(e) = self
            .inner
            .db
            .participant_joined(
                room.session.0 as i64,
                participant.id.clone(),
                participant.name.clone(),
                unit.code.clone(),
            )
            .await
        {
            tracing::error!(error = %e, "cannot record participant join");
            return Err(ErrorCode::Internal);
        }
        let others: Vec<Participant> = room.members.values().map(|m| m.info.clone()).collect();
        for m in room.members.values() {
            let _ = m.tx.send(ServerMessage::ParticipantJoined {
                participant: participant.clone(),
            });
        }
        room.members.insert(
            participant.id.clone(),
            Member {
                info: participant.clone(),
                tx,
            },
        );
        Ok(Joined {
            participant,
            endpoint,
            session: room.session,
            room: UnitRef {
                code: room_code.to_string(),
                name: room.name.clone(),
            },
            others,
            events: Some(events),
        })
    }

    /// The participant left (or was dropped). Ends the session when the room empties.
    pub async fn leave(&self, room_code: &str, participant_id: &str, reason: LeaveReason) {
        let mut rooms = self.inner.rooms.lock().await;
        let Some(room) = rooms.get_mut(room_code) else {
            return;
        };
        let Some(gone) = room.members.remove(participant_id) else {
            return;
        };
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
        let session = room.session.0 as i64;
        let db = &self.inner.db;
        let reason_text = match reason {
            LeaveReason::Left => "left",
            LeaveReason::Disconnected => "disconnected",
            LeaveReason::Failed => "failed",
        };
        if let Err(e) = db
            .participant_left(session, participant_id.to_string(), reason_text)
            .await
        {
            tracing::error!(error = %e, "cannot record participant leave");
        }
        if room.members.is_empty() {
            rooms.remove(room_code);
            if let Err(e) = db.session_ended(session).await {
                tracing::error!(error = %e, "cannot record session end");
            }
            tracing::info!(room = room_code, session, "session ended");
        }
    }

    /// Record a mute change and tell the others.
    pub async fn set_mute(
        &self,
        room_code: &str,
        participant_id: &str,
        kind: TrackKind,
        muted: bool,
    ) {
        let mut rooms = self.inner.rooms.lock().await;
        let Some(room) = rooms.get_mut(room_code) else {
            return;
        };
        if let Some(me) = room.members.get_mut(participant_id) {
            match kind {
                TrackKind::Audio => me.info.audio_muted = muted,
                TrackKind::Video => me.info.video_muted = muted,
            }
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
                code: code.clone(),
                name: r.name.clone(),
                participants: r.members.len(),
            })
            .collect();
        list.sort_by(|a, b| a.code.cmp(&b.code));
        list
    }
}
