//! A meeting's attendance and its record: for one occurrence, every invited unit with its
//! first join, last leave, time present, reconnections and whether it spoke — computed from
//! the participations the rooms write as people join, speak and leave — and the chair's notes
//! and decisions, typed in during the meeting. The API serves both as JSON and CSV, and the
//! web client's printable record (`record.html`) lays them out.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::directory::Directory;
use crate::meetings::{Meeting, Occurrence};
use crate::protocol::UnitRef;

/// A unit that spoke at least this long (in total) counts as having spoken.
pub const SPOKE_MIN_MS: i64 = 2_000;
/// Most characters of the chair's notes.
pub const MAX_NOTES_CHARS: usize = 20_000;
/// Most decisions, and characters per decision.
pub const MAX_DECISIONS: usize = 100;
pub const MAX_DECISION_CHARS: usize = 2_000;

/// One endpoint's stay in a session, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    pub unit: String,
    pub name: String,
    pub joined_at: i64,
    /// `None` while it is still there.
    pub left_at: Option<i64>,
    /// `left`, `disconnected`, `failed`, `removed` or `interrupted` (the hub stopped).
    pub leave_reason: Option<String>,
    pub spoke_ms: i64,
}

impl Stay {
    /// Ended by the link or the hub, not by the person: the unit dropped out.
    fn dropped(&self) -> bool {
        matches!(
            self.leave_reason.as_deref(),
            Some("disconnected" | "failed" | "interrupted")
        )
    }
}

/// One unit's attendance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitAttendance {
    pub unit: UnitRef,
    pub invited: bool,
    /// Present at any time.
    pub attended: bool,
    pub first_join: Option<i64>,
    /// `None` when it never joined or is still there (`present_now`).
    pub last_leave: Option<i64>,
    pub present_now: bool,
    /// Time with at least one endpoint of the unit there (overlaps counted once).
    pub present_ms: i64,
    /// Joins that followed a drop-out of the unit (its link or the hub failed).
    pub reconnections: u32,
    /// Drop-outs: stays ended by the link or the hub rather than by leaving.
    pub drops: u32,
    pub spoke: bool,
    pub spoke_ms: i64,
    /// The names its endpoints joined with, in order of first appearance.
    pub names: Vec<String>,
}

/// Totals over the units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub invited: usize,
    pub attended: usize,
    pub absent: usize,
    /// Units that joined without being invited (a chair's or staff's own unit, say).
    pub uninvited_attended: usize,
    pub spoke: usize,
    pub reconnections: u32,
}

/// Attendance of one occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attendance {
    pub occurrence: Occurrence,
    /// When the first session of the occurrence started and the last ended (`None` while
    /// live or before it started).
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub live: bool,
    pub units: Vec<UnitAttendance>,
    pub totals: Totals,
}

/// Compute every invited unit's attendance (in `invited` order), then units that came
/// uninvited, from the stays of one occurrence. `now` closes stays still open.
pub fn compute(invited: &[UnitRef], stays: &[Stay], now: i64) -> Vec<UnitAttendance> {
    let mut by_unit: BTreeMap<&str, Vec<&Stay>> = BTreeMap::new();
    for s in stays {
        by_unit.entry(s.unit.as_str()).or_default().push(s);
    }
    for list in by_unit.values_mut() {
        list.sort_by_key(|s| (s.joined_at, s.left_at.unwrap_or(i64::MAX)));
    }
    let mut out: Vec<UnitAttendance> = invited
        .iter()
        .map(|u| of_unit(u.clone(), true, by_unit.remove(u.id.as_str()), now))
        .collect();
    for (id, list) in by_unit {
        let unit = UnitRef {
            id: id.to_string(),
            code: id.split_once(':').map_or(id, |(_, c)| c).to_string(),
            name: list.first().map_or(id.to_string(), |s| s.name.clone()),
            tier: id.split_once(':').map_or("", |(t, _)| t).to_string(),
        };
        out.push(of_unit(unit, false, Some(list), now));
    }
    out
}

fn of_unit(unit: UnitRef, invited: bool, stays: Option<Vec<&Stay>>, now: i64) -> UnitAttendance {
    let stays = stays.unwrap_or_default();
    let present_now = stays.iter().any(|s| s.left_at.is_none());
    // Time present: the union of the stays' intervals.
    let mut present_ms = 0;
    let mut current: Option<(i64, i64)> = None;
    for s in &stays {
        let (start, end) = (s.joined_at, s.left_at.unwrap_or(now).max(s.joined_at));
        current = match current {
            Some((a, b)) if start <= b => Some((a, b.max(end))),
            Some((a, b)) => {
                present_ms += b - a;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((a, b)) = current {
        present_ms += b - a;
    }
    // A reconnection: a stay that began after one of the unit's stays began that then
    // dropped out — usually the page rejoining, sometimes before the hub noticed the old link
    // was gone. Each drop-out is answered by at most one later stay.
    let mut answered = vec![false; stays.len()];
    let mut reconnections = 0;
    let mut dropped: Vec<&Stay> = stays.iter().copied().filter(|s| s.dropped()).collect();
    dropped.sort_by_key(|s| s.left_at);
    for d in dropped {
        let next = (0..stays.len()).find(|&i| !answered[i] && stays[i].joined_at > d.joined_at);
        if let Some(i) = next {
            answered[i] = true;
            reconnections += 1;
        }
    }
    let spoke_ms: i64 = stays.iter().map(|s| s.spoke_ms).sum();
    let mut names: Vec<String> = vec![];
    for s in &stays {
        if !names.contains(&s.name) {
            names.push(s.name.clone());
        }
    }
    UnitAttendance {
        unit,
        invited,
        attended: !stays.is_empty(),
        first_join: stays.iter().map(|s| s.joined_at).min(),
        last_leave: if present_now {
            None
        } else {
            stays.iter().filter_map(|s| s.left_at).max()
        },
        present_now,
        present_ms,
        reconnections,
        drops: stays.iter().filter(|s| s.dropped()).count() as u32,
        spoke: spoke_ms >= SPOKE_MIN_MS,
        spoke_ms,
        names,
    }
}

pub fn totals(units: &[UnitAttendance]) -> Totals {
    let invited = units.iter().filter(|u| u.invited).count();
    let attended = units.iter().filter(|u| u.invited && u.attended).count();
    Totals {
        invited,
        attended,
        absent: invited - attended,
        uninvited_attended: units.iter().filter(|u| !u.invited && u.attended).count(),
        spoke: units.iter().filter(|u| u.spoke).count(),
        reconnections: units.iter().map(|u| u.reconnections).sum(),
    }
}

/// The occurrence of `meeting` that `at` (a time in ms) names: the one containing it, else
/// the latest one that has started by now (the default for "this meeting's attendance").
pub fn occurrence_of(meeting: &Meeting, at: Option<i64>, now: i64) -> Option<Occurrence> {
    let all = meeting.all_occurrences();
    match at {
        Some(t) => all
            .into_iter()
            .find(|o| o.start <= t && t < o.end.max(o.start + 1)),
        None => all
            .iter()
            .rev()
            .find(|o| o.start - crate::meetings::EARLY_JOIN_MS <= now)
            .or(all.first())
            .copied(),
    }
}

/// Sessions of `meeting` that started within `occurrence`'s join window, and their stays.
pub fn load(
    c: &Connection,
    dir: &Directory,
    meeting: &Meeting,
    occurrence: Occurrence,
    now: i64,
) -> rusqlite::Result<Attendance> {
    let from = occurrence.start - crate::meetings::EARLY_JOIN_MS;
    let to = occurrence.end + crate::meetings::LATE_JOIN_MS;
    let mut stmt = c.prepare(
        "SELECT id, started_at, ended_at FROM sessions
         WHERE meeting_id = ?1 AND started_at >= ?2 AND started_at < ?3 ORDER BY id",
    )?;
    let sessions: Vec<(i64, i64, Option<i64>)> = stmt
        .query_map(params![meeting.id, from, to], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stays = vec![];
    let mut stmt = c.prepare(
        "SELECT unit_code, display_name, joined_at, left_at, leave_reason, spoke_ms
         FROM participations WHERE session_id = ?1",
    )?;
    for (id, _, _) in &sessions {
        let rows = stmt.query_map([id], |r| {
            Ok(Stay {
                unit: r.get(0)?,
                name: r.get(1)?,
                joined_at: r.get(2)?,
                left_at: r.get(3)?,
                leave_reason: r.get(4)?,
                spoke_ms: r.get(5)?,
            })
        })?;
        for row in rows {
            stays.push(row?);
        }
    }
    let invited_ids: std::collections::HashSet<String> = crate::meetings::invites(c, meeting.id)?
        .into_iter()
        .collect();
    // Directory order (province, then its districts and communes as the data lists them).
    let invited: Vec<UnitRef> = dir
        .units()
        .iter()
        .filter(|u| invited_ids.contains(&u.id))
        .map(UnitRef::from)
        .collect();
    let mut units = compute(&invited, &stays, now);
    for u in &mut units {
        if let Some(known) = dir.get(&u.unit.id) {
            u.unit = UnitRef::from(known);
        }
    }
    let live = sessions.iter().any(|(_, _, ended)| ended.is_none());
    Ok(Attendance {
        occurrence,
        started_at: sessions.iter().map(|s| s.1).min(),
        ended_at: if live || sessions.is_empty() {
            None
        } else {
            sessions.iter().filter_map(|s| s.2).max()
        },
        live,
        totals: totals(&units),
        units,
    })
}

/// The chair's notes and decisions for one occurrence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub notes: String,
    pub decisions: Vec<String>,
    pub updated_by: Option<String>,
    pub updated_at: Option<i64>,
}

impl Record {
    /// Trim and check a record sent by a chair or staff member.
    pub fn validate(&mut self) -> Result<(), String> {
        self.notes = self.notes.trim_end().to_string();
        if self.notes.chars().count() > MAX_NOTES_CHARS {
            return Err(format!("notes: at most {MAX_NOTES_CHARS} characters"));
        }
        self.decisions = self
            .decisions
            .iter()
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect();
        if self.decisions.len() > MAX_DECISIONS {
            return Err(format!("decisions: at most {MAX_DECISIONS}"));
        }
        if self
            .decisions
            .iter()
            .any(|d| d.chars().count() > MAX_DECISION_CHARS)
        {
            return Err(format!(
                "decisions: at most {MAX_DECISION_CHARS} characters each"
            ));
        }
        let control = |s: &str| {
            s.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        };
        if control(&self.notes) || self.decisions.iter().any(|d| control(d)) {
            return Err("notes and decisions: control characters are not allowed".into());
        }
        Ok(())
    }
}

pub fn record(c: &Connection, meeting: i64, occurrence_start: i64) -> rusqlite::Result<Record> {
    let row = c
        .query_row(
            "SELECT notes, decisions, updated_by, updated_at FROM meeting_records
             WHERE meeting_id = ?1 AND occurrence_start = ?2",
            params![meeting, occurrence_start],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    Ok(match row {
        None => Record::default(),
        Some((notes, decisions, by, at)) => Record {
            notes,
            decisions: serde_json::from_str(&decisions).unwrap_or_default(),
            updated_by: Some(by),
            updated_at: Some(at),
        },
    })
}

pub fn save_record(
    c: &Connection,
    meeting: i64,
    occurrence_start: i64,
    record: &Record,
    by: &str,
    at: i64,
) -> rusqlite::Result<()> {
    let decisions = serde_json::to_string(&record.decisions).unwrap_or_else(|_| "[]".into());
    c.execute(
        "INSERT INTO meeting_records (meeting_id, occurrence_start, notes, decisions, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (meeting_id, occurrence_start) DO UPDATE SET
           notes = excluded.notes, decisions = excluded.decisions,
           updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        params![meeting, occurrence_start, record.notes, decisions, by, at],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn unit(id: &str, name: &str) -> UnitRef {
        let (tier, code) = id.split_once(':').unwrap();
        UnitRef {
            id: id.into(),
            code: code.into(),
            name: name.into(),
            tier: tier.into(),
        }
    }

    fn stay(unit: &str, from: i64, to: Option<i64>, reason: &str, spoke_ms: i64) -> Stay {
        Stay {
            unit: unit.into(),
            name: format!("Điểm cầu {unit}"),
            joined_at: from,
            left_at: to,
            leave_reason: to.map(|_| reason.to_string()),
            spoke_ms,
        }
    }

    #[test]
    fn a_unit_that_dropped_and_came_back_counts_one_reconnection_and_the_time_between_is_absent() {
        let invited = [unit("commune:1", "Xã A")];
        let stays = [
            stay("commune:1", 0, Some(20 * MIN), "disconnected", 0),
            stay("commune:1", 22 * MIN, Some(60 * MIN), "left", 5_000),
        ];
        let a = &compute(&invited, &stays, 90 * MIN)[0];
        assert!(a.attended && a.invited && !a.present_now);
        assert_eq!(a.first_join, Some(0));
        assert_eq!(a.last_leave, Some(60 * MIN));
        assert_eq!(a.present_ms, 58 * MIN);
        assert_eq!((a.reconnections, a.drops), (1, 1));
        assert!(a.spoke);
    }

    #[test]
    fn a_rejoin_before_the_old_link_timed_out_is_one_reconnection_and_no_double_time() {
        // The page rejoins at 10 min; the hub notices the old link's loss at 10.5 min.
        let invited = [unit("commune:1", "Xã A")];
        let stays = [
            stay("commune:1", 0, Some(10 * MIN + MIN / 2), "disconnected", 0),
            stay("commune:1", 10 * MIN, Some(30 * MIN), "left", 0),
        ];
        let a = &compute(&invited, &stays, 40 * MIN)[0];
        assert_eq!(a.present_ms, 30 * MIN, "overlap counted once");
        assert_eq!((a.reconnections, a.drops), (1, 1));
    }

    #[test]
    fn leaving_and_coming_back_is_not_a_reconnection() {
        let invited = [unit("commune:1", "Xã A")];
        let stays = [
            stay("commune:1", 0, Some(10 * MIN), "left", 0),
            stay("commune:1", 30 * MIN, Some(40 * MIN), "left", 0),
        ];
        let a = &compute(&invited, &stays, 50 * MIN)[0];
        assert_eq!((a.reconnections, a.drops), (0, 0));
        assert_eq!(a.present_ms, 20 * MIN);
        assert_eq!(a.last_leave, Some(40 * MIN));
    }

    #[test]
    fn two_endpoints_of_one_unit_at_once_count_their_time_once() {
        let invited = [unit("district:2", "Huyện B")];
        let stays = [
            stay("district:2", 0, Some(30 * MIN), "left", 1_000),
            stay("district:2", 5 * MIN, Some(20 * MIN), "left", 1_500),
        ];
        let a = &compute(&invited, &stays, 50 * MIN)[0];
        assert_eq!(a.present_ms, 30 * MIN);
        assert_eq!(a.spoke_ms, 2_500);
        assert!(a.spoke, "the unit's endpoints spoke 2.5 s together");
        assert_eq!(a.names, vec!["Điểm cầu district:2".to_string()]);
    }

    #[test]
    fn a_unit_still_there_is_present_until_now_and_has_no_last_leave() {
        let invited = [unit("commune:1", "Xã A"), unit("commune:3", "Xã C")];
        let stays = [stay("commune:1", 10 * MIN, None, "", 0)];
        let units = compute(&invited, &stays, 25 * MIN);
        assert!(units[0].present_now);
        assert_eq!(units[0].last_leave, None);
        assert_eq!(units[0].present_ms, 15 * MIN);
        assert!(!units[0].spoke);
        // The one that never came: absent.
        assert!(!units[1].attended);
        assert_eq!((units[1].first_join, units[1].present_ms), (None, 0));
        let t = totals(&units);
        assert_eq!((t.invited, t.attended, t.absent), (2, 1, 1));
    }

    #[test]
    fn a_hub_restart_interrupts_every_stay_and_the_rejoins_are_reconnections() {
        let invited = [unit("commune:1", "Xã A"), unit("commune:2", "Xã B")];
        let stays = [
            stay("commune:1", 0, Some(10 * MIN), "interrupted", 0),
            stay("commune:2", 0, Some(10 * MIN), "interrupted", 0),
            stay("commune:1", 11 * MIN, Some(20 * MIN), "left", 0),
            stay("commune:2", 11 * MIN, Some(12 * MIN), "failed", 0),
            stay("commune:2", 13 * MIN, Some(20 * MIN), "left", 0),
        ];
        let units = compute(&invited, &stays, 30 * MIN);
        assert_eq!((units[0].reconnections, units[0].drops), (1, 1));
        assert_eq!((units[1].reconnections, units[1].drops), (2, 2));
        assert_eq!(totals(&units).reconnections, 3);
    }

    #[test]
    fn uninvited_units_that_came_are_listed_after_the_invited() {
        let invited = [unit("commune:1", "Xã A")];
        let stays = [stay("province:19", 0, Some(MIN), "left", 0)];
        let units = compute(&invited, &stays, 2 * MIN);
        assert_eq!(units.len(), 2);
        assert_eq!(units[1].unit.id, "province:19");
        assert!(!units[1].invited && units[1].attended);
        let t = totals(&units);
        assert_eq!((t.invited, t.attended, t.uninvited_attended), (1, 0, 1));
    }

    #[test]
    fn a_record_is_trimmed_and_bounded() {
        let mut r = Record {
            notes: "Khai mạc lúc 8 giờ.\n\n".into(),
            decisions: vec!["  Giao Sở Y tế báo cáo ".into(), "   ".into()],
            ..Record::default()
        };
        r.validate().unwrap();
        assert_eq!(r.notes, "Khai mạc lúc 8 giờ.");
        assert_eq!(r.decisions, vec!["Giao Sở Y tế báo cáo".to_string()]);
        let mut long = Record {
            notes: "x".repeat(MAX_NOTES_CHARS + 1),
            ..Record::default()
        };
        assert!(long.validate().is_err());
        let mut control = Record {
            notes: "a\u{0}b".into(),
            ..Record::default()
        };
        assert!(control.validate().is_err());
    }
}
