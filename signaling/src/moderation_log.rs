//! The moderation log: every moderation action a chair took in a live session (floor given or
//! taken, mutes, removals, lock, end), in the `moderation_log` table, and read back for the
//! meeting's staff (`GET /api/meetings/{id}/moderation-log`, docs/api.md).

use rusqlite::{Connection, params};
use serde::Serialize;

/// A moderation action, named as the protocol's message that asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationAction {
    GiveFloor,
    TakeFloor,
    MuteParticipant,
    MuteAll,
    AllowUnmute,
    RemoveParticipant,
    Lock,
    StopShare,
    AllowSecondShare,
    EndMeeting,
}

impl ModerationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ModerationAction::GiveFloor => "give_floor",
            ModerationAction::TakeFloor => "take_floor",
            ModerationAction::MuteParticipant => "mute_participant",
            ModerationAction::MuteAll => "mute_all",
            ModerationAction::AllowUnmute => "allow_unmute",
            ModerationAction::RemoveParticipant => "remove_participant",
            ModerationAction::Lock => "lock",
            ModerationAction::StopShare => "stop_share",
            ModerationAction::AllowSecondShare => "allow_second_share",
            ModerationAction::EndMeeting => "end_meeting",
        }
    }
}

/// A row to write.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub meeting_id: i64,
    pub session_id: i64,
    /// Milliseconds since the epoch.
    pub at: i64,
    pub actor_id: String,
    pub actor_name: String,
    /// The actor's unit id (`TIER:CODE`).
    pub actor_unit: String,
    pub action: ModerationAction,
    pub target_id: Option<String>,
    /// What else the action said (`{"kind": "audio"}`, `{"locked": true}`…).
    pub detail: Option<serde_json::Value>,
}

pub fn insert(c: &Connection, e: &NewEntry) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO moderation_log
           (meeting_id, session_id, at, actor_id, actor_name, actor_unit, action, target_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            e.meeting_id,
            e.session_id,
            e.at,
            e.actor_id,
            e.actor_name,
            e.actor_unit,
            e.action.as_str(),
            e.target_id,
            e.detail.as_ref().map(|d| d.to_string()),
        ],
    )?;
    Ok(())
}

/// A participant as a log entry names it: the id it had in the session, its display name and
/// its unit id (`null` when the session kept no record of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub participant_id: String,
    pub name: Option<String>,
    pub unit: Option<String>,
}

/// A row read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub id: i64,
    pub session_id: i64,
    pub at: i64,
    pub action: String,
    pub actor: Person,
    pub target: Option<Person>,
    pub detail: Option<serde_json::Value>,
}

/// Every entry of a meeting's sessions, oldest first; the target's name and unit come from
/// its participation in the session.
pub fn of_meeting(c: &Connection, meeting_id: i64) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = c.prepare(
        "SELECT l.id, l.session_id, l.at, l.action, l.actor_id, l.actor_name, l.actor_unit,
                l.target_id, p.display_name, p.unit_code, l.detail
         FROM moderation_log l
         LEFT JOIN participations p
           ON p.session_id = l.session_id AND p.participant_id = l.target_id
         WHERE l.meeting_id = ?1 ORDER BY l.id",
    )?;
    let rows = stmt.query_map([meeting_id], |r| {
        let target_id: Option<String> = r.get(7)?;
        let detail: Option<String> = r.get(10)?;
        Ok(Entry {
            id: r.get(0)?,
            session_id: r.get(1)?,
            at: r.get(2)?,
            action: r.get(3)?,
            actor: Person {
                participant_id: r.get(4)?,
                name: Some(r.get(5)?),
                unit: Some(r.get(6)?),
            },
            target: match target_id {
                Some(participant_id) => Some(Person {
                    participant_id,
                    name: r.get(8)?,
                    unit: r.get(9)?,
                }),
                None => None,
            },
            detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_written_and_read_back_with_the_targets_name() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate_for_tests(&mut c);
        c.execute_batch(
            "INSERT INTO meetings (id, title, agenda, start_ms, end_ms, last_end_ms, host_unit,
               chair_unit, chair_person, scope, recorded, state, created_by, created_at,
               updated_by, updated_at)
             VALUES (7, 't', '', 0, 1, 1, 'province:19', 'province:19', 'c', '{}', 0, 'live',
               'x', 0, 'x', 0);
             INSERT INTO sessions (id, room_code, started_at, meeting_id) VALUES (3, 'province:19', 0, 7);
             INSERT INTO participations (session_id, participant_id, display_name, unit_code, joined_at)
               VALUES (3, 'e2', 'Bình', 'district:164', 0);",
        )
        .unwrap();
        let entry = |action, target: Option<&str>, detail| NewEntry {
            meeting_id: 7,
            session_id: 3,
            at: 1000,
            actor_id: "e1".into(),
            actor_name: "Chủ trì".into(),
            actor_unit: "province:19".into(),
            action,
            target_id: target.map(String::from),
            detail,
        };
        insert(
            &c,
            &entry(
                ModerationAction::MuteParticipant,
                Some("e2"),
                Some(serde_json::json!({"kind": "audio"})),
            ),
        )
        .unwrap();
        insert(&c, &entry(ModerationAction::TakeFloor, None, None)).unwrap();
        let rows = of_meeting(&c, 7).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].action, "mute_participant");
        assert_eq!(rows[0].actor.name.as_deref(), Some("Chủ trì"));
        assert_eq!(
            rows[0].target,
            Some(Person {
                participant_id: "e2".into(),
                name: Some("Bình".into()),
                unit: Some("district:164".into()),
            })
        );
        assert_eq!(rows[0].detail, Some(serde_json::json!({"kind": "audio"})));
        assert_eq!(
            (rows[1].action.as_str(), &rows[1].target),
            ("take_floor", &None)
        );
        assert!(of_meeting(&c, 8).unwrap().is_empty());
    }
}
