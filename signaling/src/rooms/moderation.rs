//! A live session's floor and moderation: who has the floor, the raised hands, the lock,
//! whether participants muted by the chair may unmute themselves, who the chair muted, who
//! shares a screen (and whether a second share may run), and whose credentials the chair
//! removed. Chairs change it with the protocol's moderation
//! messages ([`Hub::moderate`]); anyone raises a hand or chats. Every change reaches everyone
//! as `meeting_state`, and the media plane as the session's [`sfu::SessionPolicy`]; every
//! accepted moderation action is written to the moderation log (docs/protocol.md,
//! "Moderation").

use std::collections::HashSet;

use sfu::{EndpointId, SessionPolicy};

use super::{Hub, Room};
use crate::access::{Credential, Refusal};
use crate::db::now_ms;
use crate::moderation_log::{self, ModerationAction, NewEntry};
use crate::protocol::{
    ByeReason, ChairMute, ChatTo, ErrorCode, LeaveReason, RecordingState, RecordingStatus, Role,
    ServerMessage, TrackKind, TrackSource,
};

/// The moderation state of one live session.
#[derive(Debug)]
pub(super) struct SessionModeration {
    floor: Option<String>,
    /// Participant ids, in the order raised.
    hands: Vec<String>,
    locked: bool,
    self_unmute: bool,
    /// In the order muted.
    chair_muted: Vec<ChairMute>,
    /// Participants sharing a screen, in the order they started.
    screens: Vec<String>,
    /// Whether a second share may run beside the first.
    second_share: bool,
    removed: HashSet<Credential>,
    /// The session's recording, if its meeting is recorded.
    pub(super) recording: Option<RecordingState>,
}

/// The most screens shared at once (when the chair allows a second).
pub(super) const MAX_SHARES: usize = 2;

impl Default for SessionModeration {
    fn default() -> Self {
        SessionModeration {
            floor: None,
            hands: vec![],
            locked: false,
            self_unmute: true,
            chair_muted: vec![],
            screens: vec![],
            second_share: false,
            removed: HashSet::new(),
            recording: None,
        }
    }
}

impl SessionModeration {
    /// A session's moderation at its start; `recorded`: its recorder runs.
    pub(super) fn recorded(recorded: bool) -> Self {
        SessionModeration {
            recording: recorded.then_some(RecordingState {
                state: RecordingStatus::Recording,
                reason: None,
            }),
            ..SessionModeration::default()
        }
    }

    /// The state as `meeting_state` tells it.
    pub(super) fn message(&self) -> ServerMessage {
        ServerMessage::MeetingState {
            floor: self.floor.clone(),
            hands: self.hands.clone(),
            locked: self.locked,
            self_unmute: self.self_unmute,
            chair_muted: self.chair_muted.clone(),
            screens: self.screens.clone(),
            second_share: self.second_share,
            recording: self.recording.clone(),
        }
    }

    /// `id` starts sharing its screen: allowed to a chair (`is_chair`) or the floor holder,
    /// while no other share runs — or one, if the chair allows a second. Returns whether
    /// anything changed (sharing already is no change).
    pub(super) fn start_share(&mut self, id: &str, is_chair: bool) -> Result<bool, ErrorCode> {
        if self.screens.iter().any(|s| s == id) {
            return Ok(false);
        }
        if !is_chair && self.floor.as_deref() != Some(id) {
            return Err(ErrorCode::Forbidden);
        }
        let room_for = if self.second_share { MAX_SHARES } else { 1 };
        if self.screens.len() >= room_for {
            return Err(ErrorCode::ShareBusy);
        }
        self.screens.push(id.to_string());
        Ok(true)
    }

    /// `id` stops sharing (it asked, or the chair stopped it). Returns whether it shared.
    pub(super) fn stop_share(&mut self, id: &str) -> bool {
        let before = self.screens.len();
        self.screens.retain(|s| s != id);
        self.screens.len() != before
    }

    /// Shares whose sharer may no longer share (it lost the floor and is no chair) stop;
    /// returns whether any did.
    pub(super) fn drop_unentitled_shares(&mut self, is_chair: impl Fn(&str) -> bool) -> bool {
        let floor = self.floor.clone();
        let before = self.screens.len();
        self.screens
            .retain(|s| is_chair(s) || floor.as_deref() == Some(s.as_str()));
        self.screens.len() != before
    }

    /// Whether a second share may start. Withdrawing it stops no share already running.
    pub(super) fn set_second_share(&mut self, allowed: bool) -> bool {
        std::mem::replace(&mut self.second_share, allowed) != allowed
    }

    /// Raise (at the end of the queue; a raised hand keeps its place) or lower a hand.
    /// Returns whether anything changed.
    pub(super) fn raise_hand(&mut self, id: &str, raised: bool) -> bool {
        let position = self.hands.iter().position(|h| h == id);
        match (raised, position) {
            (true, None) => self.hands.push(id.to_string()),
            (false, Some(i)) => {
                self.hands.remove(i);
            }
            _ => return false,
        }
        true
    }

    /// `id` has the floor (replacing any earlier holder); its hand is lowered.
    pub(super) fn give_floor(&mut self, id: &str) -> bool {
        let lowered = self.raise_hand(id, false);
        let changed = self.floor.as_deref() != Some(id);
        self.floor = Some(id.to_string());
        changed || lowered
    }

    /// Nobody has the floor; returns who had it.
    pub(super) fn take_floor(&mut self) -> Option<String> {
        self.floor.take()
    }

    pub(super) fn chair_mute(&mut self, id: &str, kind: TrackKind) -> bool {
        if self.is_chair_muted(id, kind) {
            return false;
        }
        self.chair_muted.push(ChairMute {
            participant_id: id.to_string(),
            kind,
        });
        true
    }

    pub(super) fn is_chair_muted(&self, id: &str, kind: TrackKind) -> bool {
        self.chair_muted
            .iter()
            .any(|m| m.participant_id == id && m.kind == kind)
    }

    /// Whether `id` may unmute what the chair muted: while the chair allows it, or while it
    /// has the floor.
    pub(super) fn may_unmute(&self, id: &str) -> bool {
        self.self_unmute || self.floor.as_deref() == Some(id)
    }

    /// Lift the chair's mute of `id`'s `kind`.
    pub(super) fn lift(&mut self, id: &str, kind: TrackKind) -> bool {
        let before = self.chair_muted.len();
        self.chair_muted
            .retain(|m| !(m.participant_id == id && m.kind == kind));
        self.chair_muted.len() != before
    }

    pub(super) fn set_self_unmute(&mut self, allowed: bool) -> bool {
        std::mem::replace(&mut self.self_unmute, allowed) != allowed
    }

    pub(super) fn set_locked(&mut self, locked: bool) -> bool {
        std::mem::replace(&mut self.locked, locked) != locked
    }

    pub(super) fn locked(&self) -> bool {
        self.locked
    }

    /// Bar a credential from the rest of the session.
    pub(super) fn bar(&mut self, credential: Credential) {
        self.removed.insert(credential);
    }

    pub(super) fn is_barred(&self, credential: &Credential) -> bool {
        self.removed.contains(credential)
    }

    /// `id` left: its hand, floor and mutes by the chair go. Returns whether anything changed.
    pub(super) fn forget(&mut self, id: &str) -> bool {
        let hand = self.raise_hand(id, false);
        let floor = self.floor.as_deref() == Some(id);
        if floor {
            self.floor = None;
        }
        let before = self.chair_muted.len();
        self.chair_muted.retain(|m| m.participant_id != id);
        let share = self.stop_share(id);
        hand || floor || share || self.chair_muted.len() != before
    }

    /// The media plane's priorities: the floor and the mutes by the chair as endpoints
    /// (`endpoint_of` maps a participant id), and the chairs' endpoints.
    pub(super) fn policy(
        &self,
        endpoint_of: impl Fn(&str) -> Option<EndpointId>,
        chairs: Vec<EndpointId>,
    ) -> SessionPolicy {
        let silenced = |kind: TrackKind| {
            self.chair_muted
                .iter()
                .filter(|m| m.kind == kind)
                .filter_map(|m| endpoint_of(&m.participant_id))
                .collect()
        };
        SessionPolicy {
            floor: self.floor.as_deref().and_then(&endpoint_of),
            chairs,
            silenced_audio: silenced(TrackKind::Audio),
            silenced_video: silenced(TrackKind::Video),
            screens: self.screens.iter().filter_map(|s| endpoint_of(s)).collect(),
        }
    }
}

/// A moderation message, as the connection hands it to the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moderation {
    GiveFloor {
        participant_id: String,
    },
    TakeFloor,
    MuteParticipant {
        participant_id: String,
        kind: TrackKind,
    },
    MuteAll,
    AllowUnmute {
        allowed: bool,
    },
    RemoveParticipant {
        participant_id: String,
    },
    Lock {
        locked: bool,
    },
    StopShare {
        participant_id: String,
    },
    AllowSecondShare {
        allowed: bool,
    },
    EndMeeting,
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// `participant_id` must be in the room.
fn present(room: &Room, participant_id: &str) -> Result<(), Refusal> {
    if room.members.contains_key(participant_id) {
        Ok(())
    } else {
        Err(refuse(
            ErrorCode::NotFound,
            format!("no participant {participant_id:.40} in this session"),
        ))
    }
}

impl Hub {
    /// Apply a chair's moderation message. Refused with `forbidden` unless `actor_id` is a
    /// chair in the room, and with `not_found` when it names a participant who is not there.
    /// An accepted action changes the session, tells everyone (`meeting_state` when it
    /// changed), tells the media plane, and is logged (database row; tracing, ids only).
    pub async fn moderate(
        &self,
        room_code: &str,
        actor_id: &str,
        request: Moderation,
    ) -> Result<(), Refusal> {
        let mut rooms = self.inner.rooms.lock().await;
        let room = rooms
            .get_mut(room_code)
            .filter(|r| {
                r.members
                    .get(actor_id)
                    .is_some_and(|m| m.info.role == Role::Chair)
            })
            .ok_or_else(|| refuse(ErrorCode::Forbidden, "only a chair may do this"))?;
        let actor = room.members[actor_id].info.clone();
        let (action, target, detail) = match request {
            Moderation::GiveFloor { participant_id } => {
                present(room, &participant_id)?;
                let changed = room.moderation.give_floor(&participant_id);
                // The former floor holder's share ends with its floor.
                let shares = room.drop_unentitled_shares();
                if changed || shares {
                    room.broadcast(&room.moderation.message());
                }
                (ModerationAction::GiveFloor, Some(participant_id), None)
            }
            Moderation::TakeFloor => {
                let had = room.moderation.take_floor();
                room.drop_unentitled_shares();
                if had.is_some() {
                    room.broadcast(&room.moderation.message());
                }
                (ModerationAction::TakeFloor, had, None)
            }
            Moderation::StopShare { participant_id } => {
                present(room, &participant_id)?;
                if room.moderation.stop_share(&participant_id) {
                    room.broadcast(&room.moderation.message());
                }
                (ModerationAction::StopShare, Some(participant_id), None)
            }
            Moderation::AllowSecondShare { allowed } => {
                if room.moderation.set_second_share(allowed) {
                    room.broadcast(&room.moderation.message());
                }
                let detail = serde_json::json!({ "allowed": allowed });
                (ModerationAction::AllowSecondShare, None, Some(detail))
            }
            Moderation::MuteParticipant {
                participant_id,
                kind,
            } => {
                present(room, &participant_id)?;
                let changed = self.chair_mute(room, &participant_id, kind);
                if changed {
                    room.broadcast(&room.moderation.message());
                }
                let detail = serde_json::json!({ "kind": kind });
                (
                    ModerationAction::MuteParticipant,
                    Some(participant_id),
                    Some(detail),
                )
            }
            Moderation::MuteAll => {
                let targets: Vec<String> = room
                    .members
                    .iter()
                    .filter(|(_, m)| m.info.role != Role::Chair)
                    .map(|(id, _)| id.clone())
                    .collect();
                let mut changed = false;
                for id in &targets {
                    changed |= self.chair_mute(room, id, TrackKind::Audio);
                }
                if changed {
                    room.broadcast(&room.moderation.message());
                }
                let detail = serde_json::json!({ "participants": targets });
                (ModerationAction::MuteAll, None, Some(detail))
            }
            Moderation::AllowUnmute { allowed } => {
                if room.moderation.set_self_unmute(allowed) {
                    room.broadcast(&room.moderation.message());
                }
                let detail = serde_json::json!({ "allowed": allowed });
                (ModerationAction::AllowUnmute, None, Some(detail))
            }
            Moderation::Lock { locked } => {
                if room.moderation.set_locked(locked) {
                    room.broadcast(&room.moderation.message());
                }
                let detail = serde_json::json!({ "locked": locked });
                (ModerationAction::Lock, None, Some(detail))
            }
            Moderation::RemoveParticipant { participant_id } => {
                present(room, &participant_id)?;
                if participant_id == actor_id {
                    return Err(refuse(
                        ErrorCode::Forbidden,
                        "a chair does not remove itself; leave instead",
                    ));
                }
                if let Some(gone) = self
                    .depart(room, &participant_id, LeaveReason::Removed)
                    .await
                {
                    room.moderation.bar(gone.credential);
                    // Its connection sends this on and closes (the room let go of it).
                    let _ = gone.tx.send(ServerMessage::Bye {
                        reason: ByeReason::Removed,
                    });
                }
                (
                    ModerationAction::RemoveParticipant,
                    Some(participant_id),
                    None,
                )
            }
            Moderation::EndMeeting => (ModerationAction::EndMeeting, None, None),
        };
        if action != ModerationAction::EndMeeting {
            self.push_policy(room);
        }
        let (meeting, session) = (room.meeting.id, room.session.0 as i64);
        tracing::info!(
            meeting,
            session,
            actor = actor_id,
            action = action.as_str(),
            target = target.as_deref(),
            "moderation"
        );
        let entry = NewEntry {
            meeting_id: meeting,
            session_id: session,
            at: now_ms(),
            actor_id: actor.id,
            actor_name: actor.name,
            actor_unit: actor.unit.id,
            action,
            target_id: target,
            detail,
        };
        if let Err(e) = self
            .inner
            .db
            .call(move |c| moderation_log::insert(c, &entry))
            .await
        {
            tracing::error!(error = %e, "cannot write the moderation log");
        }
        if action == ModerationAction::EndMeeting {
            drop(rooms);
            if let Err(e) = self.end_meeting(meeting, "chair").await {
                tracing::error!(error = %e, "cannot record the meeting's end");
            }
        }
        Ok(())
    }

    /// The chair mutes `id`'s `kind`: its client is told to stop sending it, everyone sees
    /// the mute. Returns whether the moderation state changed.
    fn chair_mute(&self, room: &mut Room, id: &str, kind: TrackKind) -> bool {
        let changed = room.moderation.chair_mute(id, kind);
        if let Some(m) = room.members.get(id) {
            room.tell_recorder(recorder::session::RecorderEvent::Muted {
                endpoint: m.endpoint,
                kind: kind.as_str().to_string(),
                muted: true,
                at: now_ms(),
            });
        }
        if let Some(m) = room.members.get_mut(id) {
            match kind {
                TrackKind::Audio => m.info.audio_muted = true,
                TrackKind::Video => m.info.video_muted = true,
            }
            let _ = m.tx.send(ServerMessage::MutedByChair { kind });
        }
        room.broadcast(&ServerMessage::MuteChanged {
            participant_id: id.to_string(),
            kind,
            muted: true,
        });
        changed
    }

    /// Start or stop sharing `participant_id`'s screen (see
    /// [`SessionModeration::start_share`]); everyone sees `meeting_state` change and the media
    /// plane forwards the screen to everyone (or stops). A participant whose offer had no
    /// screen m-line cannot share (`out_of_order`).
    pub async fn share_screen(
        &self,
        room_code: &str,
        participant_id: &str,
        sharing: bool,
    ) -> Result<(), Refusal> {
        let mut rooms = self.inner.rooms.lock().await;
        let Some(room) = rooms.get_mut(room_code) else {
            return Ok(());
        };
        let Some(member) = room.members.get(participant_id) else {
            return Ok(());
        };
        let changed = if sharing {
            if !member
                .info
                .tracks
                .iter()
                .any(|t| t.source == TrackSource::Screen)
            {
                return Err(refuse(
                    ErrorCode::OutOfOrder,
                    "no screen track: the offer had no second video m-line (or media is not set up yet)",
                ));
            }
            let is_chair = member.info.role == Role::Chair;
            room.moderation
                .start_share(participant_id, is_chair)
                .map_err(|code| {
                    refuse(
                        code,
                        match code {
                            ErrorCode::ShareBusy => "another screen is shared already",
                            _ => "only the chair or the floor holder may share a screen",
                        },
                    )
                })?
        } else {
            room.moderation.stop_share(participant_id)
        };
        if changed {
            tracing::info!(
                meeting = room.meeting.id,
                participant = participant_id,
                sharing,
                "screen share"
            );
            room.broadcast(&room.moderation.message());
            self.push_policy(room);
        }
        Ok(())
    }

    /// Raise or lower a hand; everyone sees the queue change.
    pub async fn raise_hand(&self, room_code: &str, participant_id: &str, raised: bool) {
        let mut rooms = self.inner.rooms.lock().await;
        let Some(room) = rooms.get_mut(room_code) else {
            return;
        };
        if room.members.contains_key(participant_id)
            && room.moderation.raise_hand(participant_id, raised)
        {
            room.broadcast(&room.moderation.message());
        }
    }

    /// A chat message (`text` already checked) to everyone, or to the chairs and the sender.
    pub async fn chat(&self, room_code: &str, from: &str, to: ChatTo, text: String) {
        let rooms = self.inner.rooms.lock().await;
        let Some(room) = rooms.get(room_code) else {
            return;
        };
        let Some(sender) = room.members.get(from) else {
            return;
        };
        let msg = ServerMessage::Chat {
            from: from.to_string(),
            name: sender.info.name.clone(),
            unit: sender.info.unit.name.clone(),
            to,
            text,
            at: now_ms(),
        };
        for (id, m) in &room.members {
            if to == ChatTo::All || m.info.role == Role::Chair || id == from {
                let _ = m.tx.send(msg.clone());
            }
        }
    }

    /// A participant's media joined the media plane: tell it the session's priorities (the
    /// media plane creates the session with its first endpoint and drops a policy sent
    /// before that).
    pub async fn media_joined(&self, room_code: &str) {
        let rooms = self.inner.rooms.lock().await;
        if let Some(room) = rooms.get(room_code) {
            self.push_policy(room);
        }
    }

    /// The endpoints of `ids` among the room's participants, other than `me`, in order;
    /// unknown ids are left out.
    pub async fn endpoints_of(&self, room_code: &str, me: &str, ids: &[String]) -> Vec<EndpointId> {
        let rooms = self.inner.rooms.lock().await;
        let Some(room) = rooms.get(room_code) else {
            return vec![];
        };
        ids.iter()
            .filter(|id| id.as_str() != me)
            .filter_map(|id| room.members.get(id).map(|m| m.endpoint))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(m: &SessionModeration) -> (Option<String>, Vec<String>, bool, bool, Vec<ChairMute>) {
        match m.message() {
            ServerMessage::MeetingState {
                floor,
                hands,
                locked,
                self_unmute,
                chair_muted,
                ..
            } => (floor, hands, locked, self_unmute, chair_muted),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hands_queue_in_the_order_raised_and_the_floor_lowers_one() {
        let mut m = SessionModeration::default();
        assert_eq!(state(&m), (None, vec![], false, true, vec![]));
        assert!(m.raise_hand("e3", true));
        assert!(m.raise_hand("e1", true));
        assert!(m.raise_hand("e2", true));
        assert!(!m.raise_hand("e3", true), "a raised hand keeps its place");
        assert_eq!(state(&m).1, ["e3", "e1", "e2"]);
        assert!(m.give_floor("e1"));
        assert_eq!(state(&m).0.as_deref(), Some("e1"));
        assert_eq!(state(&m).1, ["e3", "e2"]);
        assert!(!m.give_floor("e1"));
        assert!(m.give_floor("e2"), "the floor moves on");
        assert_eq!(state(&m).1, ["e3"]);
        assert_eq!(m.take_floor().as_deref(), Some("e2"));
        assert_eq!(m.take_floor(), None);
        assert!(!m.raise_hand("e9", false));
    }

    #[test]
    fn a_chair_mute_is_lifted_only_when_allowed() {
        let mut m = SessionModeration::default();
        assert!(m.chair_mute("e4", TrackKind::Audio));
        assert!(!m.chair_mute("e4", TrackKind::Audio));
        assert!(m.is_chair_muted("e4", TrackKind::Audio));
        assert!(!m.is_chair_muted("e4", TrackKind::Video));
        assert!(m.may_unmute("e4"), "self unmute is allowed at first");
        assert!(m.set_self_unmute(false));
        assert!(!m.may_unmute("e4"));
        m.give_floor("e4");
        assert!(m.may_unmute("e4"), "the floor holder may speak");
        assert!(m.lift("e4", TrackKind::Audio));
        assert!(!m.lift("e4", TrackKind::Audio));
        assert!(state(&m).4.is_empty());
    }

    #[test]
    fn a_leaver_takes_its_hand_floor_and_mutes_along() {
        let mut m = SessionModeration::default();
        m.raise_hand("e5", true);
        m.raise_hand("e6", true);
        m.give_floor("e6");
        m.chair_mute("e6", TrackKind::Video);
        m.chair_mute("e5", TrackKind::Audio);
        assert!(m.forget("e6"));
        assert_eq!(
            state(&m),
            (
                None,
                vec!["e5".to_string()],
                false,
                true,
                vec![ChairMute {
                    participant_id: "e5".into(),
                    kind: TrackKind::Audio
                }]
            )
        );
        assert!(!m.forget("e7"));
    }

    #[test]
    fn the_policy_names_endpoints() {
        let mut m = SessionModeration::default();
        m.give_floor("e2");
        m.chair_mute("e3", TrackKind::Audio);
        m.chair_mute("e3", TrackKind::Video);
        m.chair_mute("e4", TrackKind::Audio);
        m.chair_mute("gone", TrackKind::Audio);
        let p = m.policy(|id| id.parse().ok(), vec![EndpointId(1)]);
        assert_eq!(p.floor, Some(EndpointId(2)));
        assert_eq!(p.chairs, vec![EndpointId(1)]);
        assert_eq!(
            p.silenced_audio,
            [EndpointId(3), EndpointId(4)].into_iter().collect()
        );
        assert_eq!(p.silenced_video, [EndpointId(3)].into_iter().collect());
    }

    #[test]
    fn a_rooms_policy_has_its_chairs_in_join_order_the_floor_and_the_mutes() {
        use crate::protocol::{MeetingRef, Participant, UnitRef};
        let unit = UnitRef {
            id: "province:19".into(),
            code: "19".into(),
            name: "Tỉnh Thái Nguyên".into(),
            tier: "province".into(),
        };
        let mut room = Room {
            meeting: MeetingRef {
                id: 1,
                title: "t".into(),
                start: 0,
                end: 1,
                chair_person: "c".into(),
            },
            occurrence_end: 1,
            host: unit.clone(),
            session: sfu::SessionId(1),
            started_at: 0,
            members: Default::default(),
            invited: vec![],
            presence: Default::default(),
            last_roll_call: None,
            moderation: SessionModeration::default(),
            recorder: None,
        };
        for (n, role) in [
            (10, Role::Chair),
            (2, Role::Chair),
            (3, Role::Official),
            (4, Role::Official),
        ] {
            let endpoint = EndpointId(n);
            room.members.insert(
                endpoint.to_string(),
                super::super::Member {
                    info: Participant {
                        id: endpoint.to_string(),
                        name: format!("p{n}"),
                        unit: unit.clone(),
                        role,
                        audio_muted: false,
                        video_muted: false,
                        tracks: vec![],
                    },
                    endpoint,
                    credential: Credential::Link(n as i64),
                    tx: tokio::sync::mpsc::unbounded_channel().0,
                    joined_at: 0,
                    speaking_since: None,
                    quality: Default::default(),
                },
            );
        }
        room.moderation.give_floor("e3");
        room.moderation.chair_mute("e4", TrackKind::Audio);
        room.moderation.chair_mute("e3", TrackKind::Video);
        let p = room.policy();
        assert_eq!(
            p.chairs,
            [EndpointId(2), EndpointId(10)],
            "by endpoint, not by text"
        );
        assert_eq!(p.floor, Some(EndpointId(3)));
        assert_eq!(p.silenced_audio, [EndpointId(4)].into_iter().collect());
        assert_eq!(p.silenced_video, [EndpointId(3)].into_iter().collect());
    }

    #[test]
    fn shares_are_for_the_chair_and_the_floor_one_at_a_time_unless_allowed() {
        let mut m = SessionModeration::default();
        assert_eq!(m.start_share("e3", false), Err(ErrorCode::Forbidden));
        assert_eq!(m.start_share("e1", true), Ok(true), "a chair shares");
        assert_eq!(m.start_share("e1", true), Ok(false), "already sharing");
        m.give_floor("e3");
        assert_eq!(m.start_share("e3", false), Err(ErrorCode::ShareBusy));
        assert!(m.set_second_share(true));
        assert_eq!(m.start_share("e3", false), Ok(true));
        m.give_floor("e4");
        assert_eq!(
            m.start_share("e4", false),
            Err(ErrorCode::ShareBusy),
            "never three"
        );
        // The floor moved on: e3's share ends, the chair's stays.
        assert!(m.drop_unentitled_shares(|id| id == "e1"));
        assert!(!m.drop_unentitled_shares(|id| id == "e1"));
        assert_eq!(m.start_share("e4", false), Ok(true));
        // Withdrawing the second share stops nobody; a third is refused.
        assert!(m.set_second_share(false));
        assert_eq!(m.start_share("e2", true), Err(ErrorCode::ShareBusy));
        assert!(m.stop_share("e1"));
        assert!(!m.stop_share("e1"));
        assert!(m.forget("e4"), "a leaver's share ends");
        let p = m.policy(|id| id.parse().ok(), vec![]);
        assert!(p.screens.is_empty());
        assert_eq!(m.start_share("e1", true), Ok(true));
        let p = m.policy(|id| id.parse().ok(), vec![]);
        assert_eq!(p.screens, [EndpointId(1)]);
        match m.message() {
            ServerMessage::MeetingState {
                screens,
                second_share,
                ..
            } => assert_eq!((screens, second_share), (vec!["e1".to_string()], false)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn removed_credentials_are_barred_and_lock_toggles() {
        let mut m = SessionModeration::default();
        m.bar(Credential::Link(4));
        assert!(m.is_barred(&Credential::Link(4)));
        assert!(!m.is_barred(&Credential::Link(5)));
        assert!(!m.is_barred(&Credential::Staff("quan".into())));
        assert!(m.set_locked(true));
        assert!(!m.set_locked(true));
        assert!(m.locked());
    }
}
