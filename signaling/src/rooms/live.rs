//! The live sessions as operators see them (`GET /api/status`): each room's meeting, when its
//! session started, its recording, and every connected endpoint with its unit, role and the
//! link quality the media plane last measured (refreshed with the roll call, every
//! [`super::ROLL_CALL_INTERVAL`]).

use serde::Serialize;

use super::{Hub, round};
use crate::protocol::{MeetingRef, RecordingState, Role, UnitRef};

/// One live session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveSession {
    pub session_id: i64,
    pub meeting: MeetingRef,
    /// The host unit, whose room this is.
    pub room: UnitRef,
    pub started_at: i64,
    /// Invited units, and those with at least one endpoint connected.
    pub units_invited: usize,
    pub units_connected: usize,
    pub locked: bool,
    /// `null` when the meeting is not recorded.
    pub recording: Option<RecordingState>,
    /// Chairs first, then in the order they joined.
    pub endpoints: Vec<LiveEndpoint>,
}

/// One connected endpoint of a live session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveEndpoint {
    pub participant_id: String,
    pub name: String,
    pub unit: UnitRef,
    pub role: Role,
    pub joined_at: i64,
    /// Tracks it publishes now.
    pub tracks: usize,
    pub audio_muted: bool,
    pub video_muted: bool,
    /// The media plane's figures for its link, `null` until measured (as in the roll call).
    pub rtt_ms: Option<f64>,
    /// Fraction (0–1) of its media lost on the way to the hub.
    pub loss: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub bitrate_kbps: Option<f64>,
}

impl Hub {
    /// Every live session, oldest first.
    pub async fn live_sessions(&self) -> Vec<LiveSession> {
        let stats = self.stats_snapshot();
        let rooms = self.inner.rooms.lock().await;
        let mut sessions: Vec<LiveSession> = rooms
            .values()
            .map(|room| {
                let mut endpoints: Vec<LiveEndpoint> = room
                    .members
                    .values()
                    .map(|m| {
                        let q = stats.get(&m.endpoint);
                        LiveEndpoint {
                            participant_id: m.info.id.clone(),
                            name: m.info.name.clone(),
                            unit: m.info.unit.clone(),
                            role: m.info.role,
                            joined_at: m.joined_at,
                            tracks: m.info.tracks.len(),
                            audio_muted: m.info.audio_muted,
                            video_muted: m.info.video_muted,
                            rtt_ms: q.and_then(|q| q.rtt_ms).map(|v| round(v, 1.0)),
                            loss: q.and_then(|q| q.loss).map(|v| round(v, 0.001)),
                            jitter_ms: q.and_then(|q| q.jitter_ms).map(|v| round(v, 1.0)),
                            bitrate_kbps: q.and_then(|q| q.bitrate_kbps).map(|v| round(v, 1.0)),
                        }
                    })
                    .collect();
                endpoints.sort_by_key(|e| (e.role != Role::Chair, e.joined_at));
                let units_connected = room.presence.values().filter(|p| p.connected > 0).count();
                LiveSession {
                    session_id: room.session.0 as i64,
                    meeting: room.meeting.clone(),
                    room: room.host.clone(),
                    started_at: room.started_at,
                    units_invited: room.invited.len(),
                    units_connected,
                    locked: room.moderation.locked(),
                    recording: room.moderation.recording.clone(),
                    endpoints,
                }
            })
            .collect();
        sessions.sort_by_key(|s| (s.started_at, s.session_id));
        sessions
    }
}
